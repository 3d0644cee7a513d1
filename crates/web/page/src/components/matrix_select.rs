//! The matrix selector in the header: the shipped matrices, the opened STIX bundle, and
//! "Open a STIX bundle…"; with the progress (and Cancel) of a bundle's technique vectors.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use crate::state::AppState;
use crate::matrices::MatrixChoice;

/// The selector's value that opens the file dialog rather than choosing a matrix.
const OPEN: &str = "open";

#[component]
pub fn MatrixSelect() -> impl IntoView {
    let state = expect_context::<AppState>();
    let file_input = NodeRef::<leptos::html::Input>::new();

    let on_select = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        if value == OPEN {
            // Back to the matrix in use until a bundle is read and its vectors are ready.
            state.matrix_choice.notify();
            if let Some(input) = file_input.get_untracked() {
                input.click();
            }
        } else if let Some(choice) = MatrixChoice::parse(&value) {
            state.choose_matrix(choice);
        }
    };

    let on_file = move |ev: leptos::ev::Event| {
        if let Some(file) = super::picked_file(&ev) {
            spawn_local(async move {
                let name = file.name();
                match JsFuture::from(file.array_buffer()).await {
                    Ok(buffer) => {
                        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                        state.open_bundle(name, &bytes);
                    }
                    Err(e) => state
                        .notice
                        .set(Some(format!("{name} could not be read: {e:?}"))),
                }
            });
        }
    };

    let progress = move || {
        state.vectors_progress.get().map(|p| {
            let text = match p.model {
                Some((loaded, total)) => format!(
                    "{}: loading the model ({} of {} MB)…",
                    p.name,
                    loaded / 1_000_000,
                    total / 1_000_000
                ),
                None => format!(
                    "{}: technique vectors {} / {} texts",
                    p.name, p.done, p.total
                ),
            };
            view! {
                <div class="vectors-progress" data-testid="vectors-progress" data-done=p.done data-total=p.total role="status">
                    <progress max=p.total.max(1) value=p.done></progress>
                    <span>{text}</span>
                    <button type="button" data-testid="cancel-vectors" on:click=move |_| state.cancel_vectors()>
                        "Cancel"
                    </button>
                </div>
            }
        })
    };

    view! {
        <div class="matrix-select">
            <label for="matrix-select">"Matrix"</label>
            <select
                id="matrix-select"
                data-testid="matrix-select"
                prop:value=move || state.matrix_choice.get().as_str()
                on:change=on_select
            >
                {MatrixChoice::SHIPPED
                    .into_iter()
                    .map(|c| view! { <option value=c.as_str()>{c.label()}</option> })
                    .collect_view()}
                {move || {
                    state.bundle_name.get().map(|name| {
                        view! { <option value=MatrixChoice::Bundle.as_str()>{name}</option> }
                    })
                }}
                <option value=OPEN>"Open a STIX bundle…"</option>
            </select>
            <input
                type="file"
                class="visually-hidden"
                data-testid="open-bundle"
                aria-label="Open an ATT&CK-compatible STIX 2.1 bundle"
                accept=".json,application/json"
                node_ref=file_input
                on:change=on_file
            />
            {progress}
        </div>
    }
}
