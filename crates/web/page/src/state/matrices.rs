//! The matrix shown and mapped onto: the saved choice at start, the analyst's choice of
//! a shipped matrix, and telling the workers (`ToWorker::SetMatrix`).

use std::sync::Arc;

use leptos::logging::error;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ttpmap_attack::Matrix;
use ttpmap_mapper::similarity::TechniqueVectors;
use ttpmap_mapper::Manifest;
use ttpmap_web_protocol::{SimilarityTarget, ToWorker};

use super::{AppState, LoadedMatrix, MatrixLoad};
use crate::fetch::fetch_text;
use crate::map_state::MapState;
use crate::matrices::MatrixChoice;
use crate::storage;

/// The shipped model's manifest: the page checks that technique vectors were computed
/// with this model before it maps with them.
const MANIFEST_JSON: &str = include_str!("../../../../../public/model/manifest.json");

/// sha256 of the shipped model's weights, as technique vectors are stamped with.
pub(super) fn model_sha256() -> String {
    Manifest::from_json(MANIFEST_JSON)
        .ok()
        .and_then(|m| m.files.into_iter().find(|f| f.name == "model.gguf"))
        .map(|f| f.sha256)
        .unwrap_or_default()
}

/// A shipped matrix, with its technique vectors where it is mapped by similarity; the
/// vectors are checked against the matrix and the shipped model.
async fn load_shipped(choice: MatrixChoice) -> Result<(LoadedMatrix, Option<SimilarityTarget>), String> {
    let url = choice.matrix_url().ok_or("not a shipped matrix")?;
    let json = fetch_text(&url).await?;
    let matrix = Matrix::from_compact_json(&json).map_err(|e| format!("{url}: {e}"))?;
    let target = match choice.vectors_url() {
        None => None,
        Some(vurl) => {
            let vectors = fetch_text(&vurl).await?;
            let v = TechniqueVectors::from_json(&vectors).map_err(|e| format!("{vurl}: {e}"))?;
            v.check(&model_sha256(), &matrix).map_err(|e| format!("{vurl}: {e}"))?;
            Some(SimilarityTarget { matrix: matrix.clone(), vectors: vectors.into_bytes() })
        }
    };
    Ok((LoadedMatrix::new(matrix), target))
}

impl AppState {
    /// Loads the matrix saved as the analyst's choice (Enterprise by default) at start.
    /// A saved mapping of another matrix is dropped. An opened bundle is not kept across
    /// a reload: Enterprise is shown instead, with a notice.
    pub async fn load_initial_matrix(&self) {
        let mut choice = storage::load_matrix_choice();
        if choice == MatrixChoice::Bundle {
            choice = MatrixChoice::Enterprise;
            self.notice.set(Some(
                "The STIX bundle opened before the reload is not kept in this browser: open it again to map onto it.".into(),
            ));
        }
        let loaded = match load_shipped(choice).await {
            Ok(x) => Ok(x),
            // A shipped matrix that fails falls back to Enterprise rather than leaving no matrix.
            Err(e) if choice != MatrixChoice::Enterprise => {
                error!("could not load the {} matrix: {e}", choice.as_str());
                choice = MatrixChoice::Enterprise;
                load_shipped(choice).await
            }
            Err(e) => Err(e),
        };
        match loaded {
            Ok((m, target)) => {
                let id = m.matrix.id.clone();
                let stale = self.session.with_untracked(|s| s.as_ref().is_some_and(|s| s.matrix_id() != id));
                if stale {
                    self.session.set(None);
                    self.map_state.set(MapState::Idle);
                    storage::clear_session();
                }
                self.install_matrix(m, target, choice);
            }
            Err(e) => {
                error!("could not load the matrix: {e}");
                self.matrix.set(MatrixLoad::Failed(e));
            }
        }
    }

    /// Makes `m` the matrix shown and mapped onto, and tells the workers.
    pub(super) fn install_matrix(&self, m: LoadedMatrix, target: Option<SimilarityTarget>, choice: MatrixChoice) {
        self.matrix.set(MatrixLoad::Ready(Arc::new(m)));
        self.matrix_choice.set(choice);
        storage::save_matrix_choice(choice);
        self.target.set_value(target.clone());
        self.send(ToWorker::SetMatrix { target });
    }

    /// The analyst picked a shipped matrix. On failure the previous matrix stays.
    pub fn choose_matrix(&self, choice: MatrixChoice) {
        if choice == MatrixChoice::Bundle || (choice == self.matrix_choice.get_untracked() && self.bundle_name.get_untracked().is_none()) {
            return;
        }
        self.cancel_vectors();
        let state = *self;
        let previous = self.matrix_choice.get_untracked();
        spawn_local(async move {
            match load_shipped(choice).await {
                Ok((m, target)) => {
                    // The mapping shown belongs to the matrix being replaced: it goes (the text stays).
                    state.reset_mapping();
                    state.bundle_name.set(None);
                    state.notice.set(None);
                    state.install_matrix(m, target, choice);
                }
                Err(e) => {
                    // The selector goes back to the matrix still in use.
                    state.matrix_choice.set(previous);
                    state.notice.set(Some(format!("The {} matrix could not be loaded: {e}", choice.label())));
                }
            }
        });
    }
}
