//! The parts of the toolbar ([`super::toolbar::Toolbar`]): adding a technique by hand,
//! the exports and opening a layer, and the analyst's decisions as chips with an undo.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen_futures::JsFuture;

use crate::state::AppState;

/// Finds the technique an "add technique" entry means: an ID at its start
/// (`"t1059.001"`, `"T1059.001 PowerShell"`) or an exact name. Returns the ID.
pub fn find_technique<'a>(
    query: &str,
    techniques: impl Iterator<Item = (&'a str, &'a str)> + Clone,
) -> Option<String> {
    let query = query.trim();
    let first = query.split_whitespace().next()?.to_ascii_uppercase();
    if let Some((id, _)) = techniques.clone().find(|(id, _)| *id == first) {
        return Some(id.to_string());
    }
    let name = query.to_lowercase();
    let mut by_name = techniques.filter(|(_, n)| n.to_lowercase() == name);
    match (by_name.next(), by_name.next()) {
        (Some((id, _)), None) => Some(id.to_string()),
        _ => None,
    }
}

/// "Add technique": an ID or a name (with the matrix's techniques as suggestions).
#[component]
pub fn AddTechnique() -> impl IntoView {
    let state = expect_context::<AppState>();
    let has_mapping = move || state.session.with(Option::is_some);
    let add_query = RwSignal::new(String::new());

    let add = move || {
        let query = add_query.get_untracked();
        if query.trim().is_empty() {
            return;
        }
        let Some(m) = state.matrix.get_untracked().ready() else {
            return;
        };
        let found = find_technique(
            &query,
            m.matrix
                .techniques
                .iter()
                .map(|t| (t.id.as_str(), t.name.as_str())),
        );
        match found {
            Some(id) => {
                state.decide(|d| d.add(&id));
                state.selected.set(Some(id));
                state.notice.set(None);
                add_query.set(String::new());
            }
            None => state.notice.set(Some(format!(
                "No technique matches “{}”: type an ID such as T1059.001 or pick a name from the list.",
                query.trim()
            ))),
        }
    };

    let options = move || {
        state.matrix.with(|m| {
            m.ready().map(|m| {
                m.matrix
                    .techniques
                    .iter()
                    .map(|t| {
                        let value = format!("{} {}", t.id, t.name);
                        view! { <option value=value></option> }
                    })
                    .collect_view()
            })
        })
    };

    view! {
            <form
                class="tool-group add-technique"
                on:submit=move |ev| {
                    ev.prevent_default();
                    add();
                }
            >
                <input
                    type="search"
                    list="technique-list"
                    data-testid="add-technique"
                    aria-label="Add a technique by ID or name"
                    placeholder="Add technique: ID or name"
                    disabled=move || !has_mapping()
                    prop:value=move || add_query.get()
                    on:input=move |ev| add_query.set(event_target_value(&ev))
                />
                <datalist id="technique-list">{options}</datalist>
                <button type="submit" data-testid="add-technique-button" disabled=move || !has_mapping()>
                    "Add"
                </button>
            </form>
    }
}

/// Layer and SVG export, and opening a layer.
#[component]
pub fn Exports() -> impl IntoView {
    let state = expect_context::<AppState>();
    let has_mapping = move || state.session.with(Option::is_some);

    let on_open_layer = move |ev: leptos::ev::Event| {
        if let Some(file) = super::picked_file(&ev) {
            spawn_local(async move {
                match JsFuture::from(file.text()).await {
                    Ok(text) => state.open_layer(&text.as_string().unwrap_or_default()),
                    Err(e) => state
                        .notice
                        .set(Some(format!("{} could not be read: {e:?}", file.name()))),
                }
            });
        }
    };

    view! {
            <div class="tool-group exports">
                <button
                    type="button"
                    data-testid="export-layer"
                    disabled=move || !has_mapping()
                    on:click=move |_| state.export_layer()
                    title="Download an ATT&CK Navigator layer (JSON) of the techniques shown"
                >
                    "Export layer"
                </button>
                <button
                    type="button"
                    data-testid="export-svg"
                    disabled=move || !has_mapping()
                    on:click=move |_| state.export_svg()
                    title="Download the heatmap as an SVG image"
                >
                    "Export SVG"
                </button>
                <label class="button file-button" title="View an ATT&CK Navigator layer as a heatmap">
                    "Open layer…"
                    <input
                        type="file"
                        data-testid="import-layer"
                        accept=".json,application/json"
                        on:change=on_open_layer
                    />
                </label>
            </div>
    }
}

/// The analyst's decisions, each a chip that opens the technique or undoes the decision.
#[component]
pub fn DecisionChips() -> impl IntoView {
    let state = expect_context::<AppState>();

    let decisions = move || {
        state
            .session
            .with(|s| s.as_ref().map(|s| s.decisions.clone()).unwrap_or_default())
    };

    view! {
            <Show when=move || !decisions().is_empty()>
                <div class="decisions" data-testid="decisions">
                    {move || {
                        let d = decisions();
                        let chip = move |id: String, kind: &'static str| {
                            let label = format!("{kind} {id}");
                            let undo = format!("Undo: {label}");
                            let target = id.clone();
                            view! {
                                <span class=format!("chip {}", kind.to_lowercase())>
                                    <button
                                        type="button"
                                        class="link"
                                        on:click=move |_| state.selected.set(Some(target.clone()))
                                    >
                                        {label}
                                    </button>
                                    <button
                                        type="button"
                                        class="chip-undo"
                                        aria-label=undo.clone()
                                        title=undo
                                        on:click=move |_| state.decide(|d| d.reset(&id))
                                    >
                                        "×"
                                    </button>
                                </span>
                            }
                        };
                        d.dismissed
                            .into_iter()
                            .map(|id| chip(id, "Dismissed"))
                            .chain(d.added.into_iter().map(|id| chip(id, "Added")))
                            .collect_view()
                    }}
                </div>
            </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::find_technique;

    const TECHNIQUES: [(&str, &str); 3] = [
        ("T1059", "Command and Scripting Interpreter"),
        ("T1059.001", "PowerShell"),
        ("T1546.013", "PowerShell Profile"),
    ];

    #[test]
    fn finds_by_id_in_any_case_and_with_the_name_after_it() {
        let t = TECHNIQUES.iter().copied();
        assert_eq!(
            find_technique("t1059.001", t.clone()).as_deref(),
            Some("T1059.001")
        );
        assert_eq!(
            find_technique(" T1059 Command and Scripting Interpreter", t).as_deref(),
            Some("T1059")
        );
    }

    #[test]
    fn finds_by_exact_name_only() {
        let t = TECHNIQUES.iter().copied();
        assert_eq!(
            find_technique("powershell", t.clone()).as_deref(),
            Some("T1059.001")
        );
        assert_eq!(find_technique("Power", t.clone()), None);
        assert_eq!(find_technique("T9999", t.clone()), None);
        assert_eq!(find_technique("  ", t), None);
    }
}
