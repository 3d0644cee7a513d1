//! The report input: a textarea kept in localStorage, the map button and the clear button.

use leptos::prelude::*;

use crate::storage;

#[component]
pub fn ReportPanel(
    report: RwSignal<String>,
    on_map: Callback<()>,
    notice: RwSignal<Option<String>>,
) -> impl IntoView {
    let is_empty = move || report.with(|t| t.trim().is_empty());

    // Saved in the input handler, not in an Effect on `report`: only what the user typed
    // is written, and the initial load from storage does not write it straight back.
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        storage::save_report(&text);
        notice.set(None);
        report.set(text);
    };
    let on_clear = move |_| {
        storage::save_report("");
        notice.set(None);
        report.set(String::new());
    };

    view! {
        <section class="report-panel" aria-labelledby="report-label">
            <label id="report-label" for="report-input">"Threat report"</label>
            // The text is only ever a property of the textarea, never parsed as HTML.
            <textarea
                id="report-input"
                data-testid="report-input"
                placeholder="Paste the text of a threat-intelligence report…"
                spellcheck="false"
                prop:value=move || report.get()
                on:input=on_input
            ></textarea>
            <div class="actions">
                <button
                    type="button"
                    class="primary"
                    data-testid="map-button"
                    aria-describedby="map-hint"
                    disabled=is_empty
                    on:click=move |_| on_map.run(())
                >
                    "Map techniques"
                </button>
                <button
                    type="button"
                    data-testid="clear-button"
                    disabled=move || report.with(String::is_empty)
                    on:click=on_clear
                >
                    "Clear"
                </button>
                <span id="map-hint" class="hint" data-testid="map-hint">
                    {move || {
                        if is_empty() {
                            "Paste or type a report to map it."
                        } else {
                            "The text is kept in this browser only."
                        }
                    }}
                </span>
                <span class="char-count">
                    {move || format!("{} characters", report.with(|t| t.chars().count()))}
                </span>
            </div>
            <Show when=move || notice.with(Option::is_some)>
                <p class="notice" role="status" data-testid="notice">
                    {move || notice.get().unwrap_or_default()}
                </p>
            </Show>
        </section>
    }
}
