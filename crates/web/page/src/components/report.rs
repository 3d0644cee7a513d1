//! The report input: a textarea kept in localStorage (or a dropped / opened file), the
//! Map, Cancel and Clear buttons, the progress line, and errors with a retry.

use leptos::prelude::*;
use leptos::task::spawn_local;
use ttpmap_mapper::input::{extract_text, InputKind};
use wasm_bindgen_futures::JsFuture;

use crate::state::{AppState, Progress};
use ttpmap_web_protocol::ModelSource;
use crate::storage::Source;

/// Larger files are refused before reading them: no report is this long.
const MAX_FILE_BYTES: f64 = 25e6;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn seconds(ms: f64) -> String {
    if ms < 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        format!("{:.0} s", ms / 1000.0)
    }
}

/// Reads a dropped or opened file into the report, or says why it cannot be used.
async fn open_file(state: AppState, file: web_sys::File) {
    let name = file.name();
    if file.size() > MAX_FILE_BYTES {
        state.notice.set(Some(format!(
            "{name} is too large ({}) to be a report.",
            mb(file.size() as u64)
        )));
        return;
    }
    let bytes = match JsFuture::from(file.array_buffer()).await {
        Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
        Err(e) => {
            state
                .notice
                .set(Some(format!("{name} could not be read: {e:?}")));
            return;
        }
    };
    let kind = InputKind::detect(Some(&name), &bytes);
    match extract_text(&bytes, kind) {
        Ok(text) => {
            state.notice.set(None);
            state.set_report(text, Some(name));
        }
        Err(e) => state.notice.set(Some(format!("{name}: {e}"))),
    }
}

#[component]
pub fn ReportPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let is_empty = move || state.report.with(|t| t.trim().is_empty());
    let dragging = RwSignal::new(false);

    // Saved in the input handler, not in an Effect on `report`: only what the user typed
    // is written, and the initial load from storage does not write it straight back.
    let on_input = move |ev| {
        state.notice.set(None);
        state.set_report(event_target_value(&ev), None);
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        let file = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0));
        if let Some(file) = file {
            spawn_local(open_file(state, file));
        }
    };
    let on_pick = move |ev: leptos::ev::Event| {
        if let Some(file) = super::picked_file(&ev) {
            spawn_local(open_file(state, file));
        }
    };

    // The mapping shown was made from another text than the one in the box.
    let stale = move || {
        !state.busy()
            && state.session.with(|s| match s {
                Some(s) => match &s.source {
                    Source::Mapped { text: Some(t) } => state.report.with(|r| r != t),
                    _ => false,
                },
                None => false,
            })
    };

    view! {
        <section class="report-panel" aria-labelledby="report-label">
            <div class="panel-title">
                <label id="report-label" for="report-input">"Threat report"</label>
                <span class="char-count">
                    {move || {
                        let n = state.report.with(|t| t.chars().count());
                        format!("{n} characters")
                    }}
                </span>
            </div>
            // The text is only ever a property of the textarea, never parsed as HTML.
            <textarea
                id="report-input"
                data-testid="report-input"
                class:dragging=move || dragging.get()
                placeholder="Paste the text of a threat-intelligence report, or drop a .txt, .md or .html file here…"
                spellcheck="false"
                prop:value=move || state.report.get()
                on:input=on_input
                on:dragover=move |ev: web_sys::DragEvent| {
                    ev.prevent_default();
                    dragging.set(true);
                }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop
            ></textarea>
            <div class="actions">
                <Show
                    when=move || state.busy()
                    fallback=move || {
                        view! {
                            <button
                                type="button"
                                class="primary"
                                data-testid="map-button"
                                aria-describedby="map-hint"
                                disabled=is_empty
                                on:click=move |_| state.map()
                            >
                                "Map techniques"
                            </button>
                        }
                    }
                >
                    <button
                        type="button"
                        class="danger"
                        data-testid="cancel-button"
                        on:click=move |_| state.cancel()
                    >
                        "Cancel"
                    </button>
                </Show>
                <label class="button file-button">
                    "Open file…"
                    <input
                        type="file"
                        data-testid="open-file"
                        accept=".txt,.md,.markdown,.html,.htm,text/plain,text/markdown,text/html"
                        on:change=on_pick
                    />
                </label>
                <button
                    type="button"
                    data-testid="clear-button"
                    disabled=move || {
                        state.report.with(String::is_empty) && state.session.with(Option::is_none)
                    }
                    on:click=move |_| state.clear()
                >
                    "Clear"
                </button>
                <span id="map-hint" class="hint" data-testid="map-hint">
                    {move || {
                        if is_empty() {
                            "Paste or type a report, or drop a .txt, .md or .html file, to map it."
                        } else if stale() {
                            "The text changed since it was mapped: press Map to update the heatmap."
                        } else {
                            "The text is kept in this browser only."
                        }
                    }}
                </span>
            </div>
            <Status />
            <Show when=move || state.error.with(Option::is_some)>
                <div class="error-box" role="alert">
                    <p data-testid="map-error">{move || state.error.get().unwrap_or_default()}</p>
                    <button
                        type="button"
                        class="primary"
                        data-testid="retry-button"
                        on:click=move |_| state.map()
                    >
                        "Retry"
                    </button>
                </div>
            </Show>
            <Show when=move || state.notice.with(Option::is_some)>
                <p class="notice" role="status" data-testid="notice">
                    {move || state.notice.get().unwrap_or_default()}
                </p>
            </Show>
        </section>
    }
}

/// The progress line: model download, sentences mapped, or how the last run ended.
#[component]
fn Status() -> impl IntoView {
    let state = expect_context::<AppState>();
    let phase = move || match state.progress.get() {
        Progress::None if state.busy() => Some("starting"),
        Progress::None => None,
        Progress::Model { .. } => Some("model"),
        Progress::Preparing => Some("preparing"),
        Progress::Sentences { .. } => Some("mapping"),
        Progress::Done { .. } => Some("done"),
        Progress::Cancelled { .. } => Some("cancelled"),
    };
    let counts = move || match state.progress.get() {
        Progress::Model { loaded, total, .. } => Some((loaded, total)),
        Progress::Sentences { done, total } | Progress::Cancelled { done, total } => {
            Some((done as u64, total as u64))
        }
        Progress::Done { sentences, .. } => Some((sentences as u64, sentences as u64)),
        _ => None,
    };
    let label = move || match state.progress.get() {
        Progress::None => "Starting the model…".to_string(),
        Progress::Model {
            loaded,
            total,
            source: ModelSource::Network,
        } => format!("Downloading the model: {} of {}", mb(loaded), mb(total)),
        Progress::Model { .. } => "Loading the model from this browser's cache…".to_string(),
        Progress::Preparing => "Preparing the model…".to_string(),
        Progress::Sentences { done, total } => {
            format!("Mapping: {done} of {total} sentences")
        }
        Progress::Done { sentences, ms } => {
            format!("Mapped {sentences} sentences in {}.", seconds(ms))
        }
        Progress::Cancelled { done, total } => format!(
            "Cancelled after {done} of {total} sentences: the heatmap shows those mapped so far."
        ),
    };
    let running = move || {
        matches!(
            state.progress.get(),
            Progress::None
                | Progress::Model { .. }
                | Progress::Preparing
                | Progress::Sentences { .. }
        )
    };
    view! {
        <Show when=move || phase().is_some()>
            <div
                class="status"
                role="status"
                data-testid="progress"
                data-phase=phase
                data-done=move || counts().map(|c| c.0.to_string())
                data-total=move || counts().map(|c| c.1.to_string())
            >
                <span class="status-label">{label}</span>
                <Show when=running>
                    {move || match counts() {
                        Some((done, total)) if total > 0 => {
                            view! { <progress max=total.to_string() value=done.to_string()></progress> }
                                .into_any()
                        }
                        _ => view! { <progress></progress> }.into_any(),
                    }}
                </Show>
            </div>
        </Show>
    }
}
