//! The page's state: every signal in one place ([`AppState`], shared with the components
//! by context), and what the analyst does with it, by use case:
//!
//! - [`jobs`]: mapping the report (Map, Cancel, the worker's answers) and the one reset;
//! - [`matrices`]: the matrix shown and mapped onto (shipped matrices, the saved choice);
//! - [`bundles`]: a user's STIX bundle, its technique vectors computed by the workers;
//! - [`export`]: layers and images out (Navigator layer, SVG), layers in;
//! - [`persist`]: the report text, the session and the decisions kept in localStorage;
//! - [`workers`]: the one way to the worker pool (start, send, route its answers).

mod bundles;
mod export;
mod jobs;
mod matrices;
mod persist;
mod workers;

use std::sync::Arc;

use leptos::prelude::*;
use ttpmap_attack::Matrix;
use ttpmap_mapper::ReportMapping;
use ttpmap_web_protocol::{BackendChoice, BackendStatus, JobId, ModelSource, SimilarityTarget};

use crate::columns::{columns, Column};
use crate::decisions::apply_decisions;
use crate::heat::{ScoreIndex, ViewOptions};
use crate::map_state::MapState;
use crate::matrices::MatrixChoice;
use crate::pool::ModelWorker;
use crate::storage::{self, Session, Source};

pub use bundles::VectorsProgress;

/// A matrix ready to draw: the matrix itself, its title and its tactic columns.
#[derive(Debug, PartialEq)]
pub struct LoadedMatrix {
    pub matrix: Matrix,
    pub title: String,
    pub columns: Vec<Column>,
}

impl LoadedMatrix {
    fn new(matrix: Matrix) -> Self {
        LoadedMatrix {
            title: if matrix.version.is_empty() {
                matrix.name.clone()
            } else {
                format!("{} v{}", matrix.name, matrix.version)
            },
            columns: columns(&matrix),
            matrix,
        }
    }
}

/// Where loading the matrix stands.
#[derive(Clone, Debug, PartialEq)]
pub enum MatrixLoad {
    Loading,
    /// Shared, not cloned: the columns are built once and only read afterwards.
    Ready(Arc<LoadedMatrix>),
    Failed(String),
}

impl MatrixLoad {
    pub fn ready(&self) -> Option<Arc<LoadedMatrix>> {
        match self {
            MatrixLoad::Ready(m) => Some(m.clone()),
            _ => None,
        }
    }
}

/// A value shared by reference; equal only to itself, so a memo holding one notifies
/// its readers whenever it is recomputed, without comparing whole mappings.
#[derive(Debug)]
pub struct Shared<T>(pub Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// What the progress line shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Progress {
    None,
    Model {
        loaded: u64,
        total: u64,
        source: ModelSource,
    },
    Preparing,
    Sentences {
        done: usize,
        total: usize,
    },
    Done {
        sentences: usize,
        ms: f64,
    },
    Cancelled {
        done: usize,
        total: usize,
    },
}

/// The app's state, shared by context. Signals only, so it is `Copy`.
#[derive(Clone, Copy)]
pub struct AppState {
    pub report: RwSignal<String>,
    /// The name of the file the report came from, until the text is edited.
    pub file_name: RwSignal<Option<String>>,
    pub matrix: RwSignal<MatrixLoad>,
    pub map_state: RwSignal<MapState>,
    pub progress: RwSignal<Progress>,
    /// Why mapping failed; the report panel offers a retry.
    pub error: RwSignal<Option<String>>,
    /// A message about the input or an import (not a mapping failure).
    pub notice: RwSignal<Option<String>>,
    /// The shown mapping with its source and decisions (threshold and view live apart,
    /// so moving the slider does not touch the mapping).
    pub session: RwSignal<Option<Session>>,
    /// The threshold, 0..1.
    pub threshold: RwSignal<f32>,
    pub view: RwSignal<ViewOptions>,
    /// The technique whose evidence is open.
    pub selected: RwSignal<Option<String>>,
    /// The session's mapping with the decisions applied: what is shown and exported.
    pub effective: Memo<Option<Shared<ReportMapping>>>,
    /// Cells at the current threshold.
    pub index: Memo<Shared<ScoreIndex>>,
    /// The mapping job whose answers are awaited.
    active_job: RwSignal<Option<JobId>>,
    /// The last job id handed out (mappings and encodings share the numbering).
    last_job: StoredValue<JobId>,
    /// Whether the session's saved form left the mapped text out (it equalled the report).
    saved_lean: StoredValue<bool>,
    worker: StoredValue<Option<ModelWorker>, LocalStorage>,
    /// GPU or CPU, as the analyst chose (saved) and as the worker reports it.
    pub backend_choice: RwSignal<BackendChoice>,
    pub backend: RwSignal<Option<BackendStatus>>,
    /// The matrix mapped onto, as the analyst chose it (saved).
    pub matrix_choice: RwSignal<MatrixChoice>,
    /// The file name of the opened STIX bundle, while it is the matrix.
    pub bundle_name: RwSignal<Option<String>>,
    /// Technique vectors being computed for an opened bundle.
    pub vectors_progress: RwSignal<Option<VectorsProgress>>,
    pending_bundle: StoredValue<Option<bundles::PendingBundle>, LocalStorage>,
    /// What the workers map onto (`None`: Enterprise, the classifier).
    target: StoredValue<Option<SimilarityTarget>>,
}

impl AppState {
    pub fn new() -> Self {
        let report = RwSignal::new(storage::load_report());
        let saved = report.with_untracked(|r| storage::load_session(r));
        let threshold = RwSignal::new(saved.as_ref().map_or(0.5, |s| s.threshold));
        let view = RwSignal::new(saved.as_ref().map(|s| s.view).unwrap_or_default());
        let map_state = RwSignal::new(if saved.is_some() {
            MapState::Done
        } else {
            MapState::Idle
        });
        let saved_lean = saved.as_ref().is_some_and(|s| {
            matches!(&s.source, Source::Mapped { text: Some(t) } if report.with_untracked(|r| r == t))
        });
        let session = RwSignal::new(saved);
        let matrix = RwSignal::new(MatrixLoad::Loading);

        let effective = Memo::new(move |_| {
            let m = matrix.with(MatrixLoad::ready);
            session.with(|s| {
                s.as_ref().map(|s| {
                    let name_of = |id: &str| {
                        m.as_ref()
                            .and_then(|m| m.matrix.technique(id).map(|t| t.name.clone()))
                    };
                    Shared(Arc::new(apply_decisions(&s.mapping, &s.decisions, name_of)))
                })
            })
        });
        let index = Memo::new(move |_| {
            let t = threshold.get();
            let added = session.with(|s| {
                s.as_ref()
                    .map(|s| s.decisions.added.clone())
                    .unwrap_or_default()
            });
            Shared(Arc::new(effective.with(|e| match e {
                Some(m) => ScoreIndex::new(m, t, &added),
                None => ScoreIndex::default(),
            })))
        });

        AppState {
            report,
            file_name: RwSignal::new(None),
            matrix,
            map_state,
            progress: RwSignal::new(Progress::None),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            session,
            threshold,
            view,
            selected: RwSignal::new(None),
            effective,
            index,
            active_job: RwSignal::new(None),
            last_job: StoredValue::new(JobId::default()),
            saved_lean: StoredValue::new(saved_lean),
            worker: StoredValue::new_local(None),
            backend_choice: RwSignal::new(storage::load_backend_choice()),
            backend: RwSignal::new(None),
            matrix_choice: RwSignal::new(MatrixChoice::Enterprise),
            bundle_name: RwSignal::new(None),
            vectors_progress: RwSignal::new(None),
            pending_bundle: StoredValue::new_local(None),
            target: StoredValue::new(None),
        }
    }

    /// A new job id (mappings and encodings share the numbering).
    fn new_job(&self) -> JobId {
        let job = self.last_job.get_value().next();
        self.last_job.set_value(job);
        job
    }

    /// Whether the model is being loaded or a report mapped.
    pub fn busy(&self) -> bool {
        matches!(
            self.map_state.get(),
            MapState::LoadingModel | MapState::Mapping
        )
    }

    /// The ID of the matrix in use (`""` while none is loaded).
    fn matrix_id(&self) -> String {
        self.matrix.with_untracked(|m| m.ready().map(|m| m.matrix.id.clone()).unwrap_or_default())
    }
}
