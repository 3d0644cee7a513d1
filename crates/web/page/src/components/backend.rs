//! The backend indicator and choice in the header: what the model runs on (the worker's
//! own report, `data-backend="webgpu"` or `"cpu"`), and a select to force the GPU or the
//! CPU (kept in localStorage, applied from the next job on).

use leptos::prelude::*;

use crate::state::AppState;
use ttpmap_web_protocol::BackendChoice;

use crate::wording;

#[component]
pub fn BackendControl() -> impl IntoView {
    let state = expect_context::<AppState>();
    // Until the worker has loaded the model it has not asked for an adapter: no
    // data-backend yet, rather than a guess.
    let kind = move || state.backend.with(|b| b.as_ref().map(|b| b.kind.as_str()));
    let text = move || {
        state
            .backend
            .with(|b| b.as_ref().map_or_else(|| "chosen when the model loads".to_string(), wording::backend_status))
    };
    let options = BackendChoice::ALL.map(|c| {
        view! {
            <option value=c.as_str() selected=move || state.backend_choice.get() == c>
                {wording::backend_choice(c)}
            </option>
        }
    });
    view! {
        <div class="backend">
            <label>
                "Run on "
                <select
                    data-testid="backend-choice"
                    on:change=move |ev| {
                        if let Some(c) = BackendChoice::parse(&event_target_value(&ev)) {
                            state.set_backend_choice(c);
                        }
                    }
                >
                    {options}
                </select>
            </label>
            <span class="backend-status" data-testid="backend" data-backend=kind title=text>
                {text}
            </span>
        </div>
    }
}
