//! A user's STIX bundle as the matrix: read on the page, its prototype texts encoded by
//! the workers (an encoding job, with progress and Cancel), its technique vectors built
//! here from their rows, then installed like a shipped matrix.

use leptos::prelude::*;
use ttpmap_attack::{load_bundle_with_examples, LoadOptions, Matrix};
use ttpmap_mapper::similarity::{prototype_plan, PrototypeConfig, TechniqueVectors, VectorsMeta};
use ttpmap_mapper::Label;
use ttpmap_web_protocol::{JobEvent, JobId, ModelEvent, Shard, SimilarityTarget, Task, ToWorker};

use super::matrices::model_sha256;
use super::{AppState, LoadedMatrix};
use crate::matrices::{prototype_config, MatrixChoice};
use crate::wording;

/// A user's bundle whose technique vectors the workers are computing.
pub(super) struct PendingBundle {
    job: JobId,
    file_name: String,
    matrix: Matrix,
    config: PrototypeConfig,
    /// Prototype texts per technique.
    counts: Vec<usize>,
    examples: usize,
}

/// Where computing a bundle's technique vectors stands.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorsProgress {
    pub name: String,
    /// Prototype texts encoded, of `total`.
    pub done: usize,
    pub total: usize,
    /// The model is still being loaded (bytes so far, of all).
    pub model: Option<(u64, u64)>,
}

impl AppState {
    /// The analyst opened a STIX bundle: read it here (a clear message if it is not an
    /// ATT&CK-compatible bundle; the report text and the matrix in use stay), then have
    /// the workers compute its technique vectors, with progress.
    pub fn open_bundle(&self, file_name: String, bytes: &[u8]) {
        let (matrix, examples) = match load_bundle_with_examples(bytes, &LoadOptions::default()) {
            Ok(x) => x,
            Err(e) => {
                // The selector shows the matrix still in use again.
                self.matrix_choice.notify();
                self.notice.set(Some(format!(
                    "{file_name} could not be opened as a matrix: {e}. Open an ATT&CK-compatible STIX 2.1 bundle (an x-mitre-matrix with its tactics and techniques)."
                )));
                return;
            }
        };
        self.cancel_vectors();
        let config = prototype_config(matrix.techniques.len());
        let plan = prototype_plan(&matrix, &examples, &config);
        let job = self.new_job();
        self.notice.set(None);
        self.vectors_progress.set(Some(VectorsProgress {
            name: matrix.name.clone(),
            done: 0,
            total: plan.texts.len(),
            model: None,
        }));
        self.pending_bundle.set_value(Some(PendingBundle {
            job,
            file_name,
            matrix,
            config,
            counts: plan.counts,
            examples: plan.examples,
        }));
        self.send_job(ToWorker::Run { job, shard: Shard::default(), task: Task::Encode { texts: plan.texts } });
    }

    /// The encoding job under way, if any.
    pub(super) fn encoding_job(&self) -> Option<JobId> {
        self.pending_bundle.with_value(|p| p.as_ref().map(|p| p.job))
    }

    /// Stops computing a bundle's technique vectors; the matrix in use stays.
    pub fn cancel_vectors(&self) {
        let Some(job) = self.encoding_job() else { return };
        self.send(ToWorker::Cancel { job });
        self.forget_bundle();
    }

    /// No bundle is being encoded any more; the selector shows the matrix in use again.
    fn forget_bundle(&self) {
        self.pending_bundle.set_value(None);
        self.vectors_progress.set(None);
        self.matrix_choice.notify();
    }

    /// Computing the bundle's vectors failed (the model, the worker): the matrix in use stays.
    pub(super) fn bundle_failed(&self, message: &str) {
        if self.encoding_job().is_none() {
            return;
        }
        self.forget_bundle();
        self.notice.set(Some(format!("The technique vectors could not be computed: {message}")));
    }

    /// The model is loading for the bundle's encoding.
    pub(super) fn on_model_for_bundle(&self, event: ModelEvent) {
        if let ModelEvent::Progress { loaded, total, .. } = event {
            self.vectors_progress.update(|p| {
                if let Some(p) = p {
                    p.model = Some((loaded, total));
                }
            });
        }
    }

    /// The workers answered about the bundle's encoding job.
    pub(super) fn on_bundle_event(&self, event: JobEvent) {
        match event {
            JobEvent::EncodeProgress { done, .. } => self.vectors_progress.update(|p| {
                if let Some(p) = p {
                    p.done = done.min(p.total);
                    p.model = None;
                }
            }),
            JobEvent::Encoded { dim, rows } => {
                let Some(b) = self.pending_bundle.try_update_value(Option::take).flatten() else { return };
                self.vectors_progress.set(None);
                match bundle_target(&b, dim, &rows) {
                    Ok(target) => {
                        // The mapping shown belongs to the matrix being replaced: it goes (the text stays).
                        self.reset_mapping();
                        self.bundle_name.set(Some(b.file_name.clone()));
                        self.install_matrix(LoadedMatrix::new(b.matrix), Some(target), MatrixChoice::Bundle);
                    }
                    Err(e) => self.notice.set(Some(format!("The technique vectors of {} could not be made: {e}", b.file_name))),
                }
            }
            JobEvent::Failed { error } => self.bundle_failed(&wording::job_error(&error)),
            JobEvent::Cancelled => {
                self.pending_bundle.set_value(None);
                self.vectors_progress.set(None);
            }
            // A mapping's events never name an encoding job.
            JobEvent::MapProgress { .. } | JobEvent::Partial { .. } | JobEvent::Done { .. } => {}
        }
    }
}

/// The similarity target of a bundle from the workers' rows: the vectors (stamped with
/// the shipped model) and the matrix, as the workers read them.
fn bundle_target(b: &PendingBundle, dim: usize, rows: &[u8]) -> Result<SimilarityTarget, String> {
    let meta = VectorsMeta {
        matrix: b.matrix.id.clone(),
        model_sha256: model_sha256(),
        source_sha256: String::new(),
        prototypes: b.config,
        examples: b.examples,
        built_by: "ttpmap web app".into(),
    };
    let labels = b.matrix.techniques.iter().map(|t| Label { id: t.id.clone(), name: t.name.clone() }).collect();
    let vectors = TechniqueVectors::from_row_bytes(meta, labels, &b.counts, dim, rows).map_err(|e| e.to_string())?;
    Ok(SimilarityTarget { matrix: b.matrix.clone(), vectors: vectors.to_json().into_bytes() })
}
