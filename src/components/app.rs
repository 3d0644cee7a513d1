//! The root component: owns the app's state and lays out the page.

use std::sync::Arc;

use leptos::logging::error;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ttpmap_attack::Matrix;

use super::heatmap::Heatmap;
use super::report::ReportPanel;
use crate::columns::{columns, Column};
use crate::fetch::fetch_text;
use crate::state::MapState;
use crate::storage;

/// Relative on purpose: the site must work from any static host and sub-path.
const MATRIX_URL: &str = "matrices/enterprise.json";

/// A matrix ready to draw: its title and its tactic columns.
#[derive(Debug, PartialEq)]
pub struct LoadedMatrix {
    pub title: String,
    pub columns: Vec<Column>,
}

/// Where loading the matrix stands.
#[derive(Clone, Debug, PartialEq)]
pub enum MatrixLoad {
    Loading,
    /// Shared, not cloned: the columns are built once and only read afterwards.
    Ready(Arc<LoadedMatrix>),
    Failed(String),
}

async fn load_matrix(url: &str) -> Result<LoadedMatrix, String> {
    let json = fetch_text(url).await?;
    let matrix = Matrix::from_compact_json(&json).map_err(|e| format!("{url}: {e}"))?;
    Ok(LoadedMatrix {
        title: format!("{} v{}", matrix.name, matrix.version),
        columns: columns(&matrix),
    })
}

#[component]
pub fn App() -> impl IntoView {
    let report = RwSignal::new(storage::load_report());
    let map_state = RwSignal::new(MapState::Idle);
    let notice = RwSignal::new(None::<String>);

    // A plain signal filled by a spawned task rather than a Resource + Suspense: the
    // heatmap must expose every stage (loading, ready, failed) as attributes that tests
    // and users can see, not a fallback that replaces the whole section.
    let matrix = RwSignal::new(MatrixLoad::Loading);
    spawn_local(async move {
        let loaded = match load_matrix(MATRIX_URL).await {
            Ok(m) => MatrixLoad::Ready(Arc::new(m)),
            Err(e) => {
                error!("could not load the matrix: {e}");
                MatrixLoad::Failed(e)
            }
        };
        matrix.set(loaded);
    });

    // Classification is not wired in yet: say so instead of pretending.
    let on_map = Callback::new(move |()| {
        notice.set(Some(
            "Mapping is not available in this build yet: the model is not bundled.".into(),
        ));
    });

    let subtitle = move || match matrix.get() {
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
        </header>
        <main class="layout">
            <ReportPanel report=report on_map=on_map notice=notice />
            <Heatmap matrix=matrix map_state=map_state />
        </main>
        <footer class="app-footer">
            "ATT&CK® is a registered trademark of The MITRE Corporation. Matrix data © The MITRE Corporation, used under the ATT&CK Terms of Use."
        </footer>
    }
}
