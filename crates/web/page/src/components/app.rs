//! The root component: creates the app's state ([`AppState`], shared with the components
//! by context), loads the matrix, and lays out the page.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::backend::BackendControl;
use super::evidence::EvidencePanel;
use super::heatmap::Heatmap;
use super::matrix_select::MatrixSelect;
use super::report::ReportPanel;
use super::toolbar::Toolbar;
use crate::state::{AppState, MatrixLoad};

#[component]
pub fn App() -> impl IntoView {
    let state = AppState::new();
    provide_context(state);

    // A plain signal filled by a spawned task rather than a Resource + Suspense: the
    // heatmap must expose every stage (loading, ready, failed) as attributes that tests
    // and users can see, not a fallback that replaces the whole section.
    spawn_local(async move { state.load_initial_matrix().await });

    let subtitle = move || match state.matrix.get() {
        MatrixLoad::Ready(m) => m.title.clone(),
        _ => String::new(),
    };

    view! {
        <header class="app-header">
            <div class="brand">
                <h1>"ttpmap"</h1>
                <p class="tagline">"Map threat-intelligence reports to MITRE ATT&CK techniques, privately: the text never leaves this browser."</p>
            </div>
            <span class="matrix-version" data-testid="matrix-version">{subtitle}</span>
            <MatrixSelect />
            <BackendControl />
        </header>
        <main class="layout" class:drawer-open=move || state.selected.with(Option::is_some)>
            <ReportPanel />
            <Toolbar />
            <Heatmap />
        </main>
        <EvidencePanel />
        <footer class="app-footer">
            "ATT&CK® is a registered trademark of The MITRE Corporation. Matrix data © The MITRE Corporation, used under the ATT&CK Terms of Use."
        </footer>
    }
}
