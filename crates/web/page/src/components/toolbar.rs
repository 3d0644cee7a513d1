//! The heatmap's controls: threshold, detected-only, sort by score, adding a technique by
//! hand, the analyst's decisions, layer and SVG export, and opening a layer.

use leptos::prelude::*;

use super::toolbar_parts::{AddTechnique, DecisionChips, Exports};
use crate::state::AppState;
use crate::heat::ViewOptions;

#[component]
pub fn Toolbar() -> impl IntoView {
    let state = expect_context::<AppState>();
    let has_mapping = move || state.session.with(Option::is_some);
    let percent = move || (state.threshold.get() * 100.0).round() as u32;

    let set_view = move |change: fn(&mut ViewOptions, bool), on: bool| {
        state.view.update(|v| change(v, on));
        state.persist();
    };

    view! {
        <section class="toolbar" aria-label="Heatmap options">
            <div class="tool-group">
                <label class="threshold" for="threshold">
                    "Threshold "
                    <output data-testid="threshold-value">{percent}</output>
                </label>
                <input
                    id="threshold"
                    type="range"
                    min="0"
                    max="100"
                    step="1"
                    data-testid="threshold"
                    disabled=move || !has_mapping()
                    prop:value=move || percent().to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<f32>() {
                            state.threshold.set((v / 100.0).clamp(0.0, 1.0));
                        }
                    }
                    on:change=move |_| state.persist()
                />
            </div>
            <label class="check">
                <input
                    type="checkbox"
                    data-testid="detected-only"
                    prop:checked=move || state.view.get().detected_only
                    on:change=move |ev| set_view(|v, on| v.detected_only = on, event_target_checked(&ev))
                />
                "Detected only"
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    data-testid="sort-by-score"
                    prop:checked=move || state.view.get().sort_by_score
                    on:change=move |ev| set_view(|v, on| v.sort_by_score = on, event_target_checked(&ev))
                />
                "Sort by score"
            </label>
            <AddTechnique />
            <Exports />
            <DecisionChips />
        </section>
    }
}
