//! The root component: owns the app's state ([`AppState`], shared with the components by
//! context), talks to the inference worker, and lays out the page.

use std::sync::Arc;

use leptos::logging::error;
use leptos::prelude::*;
use leptos::task::spawn_local;
use ttpmap_attack::{load_bundle_with_examples, LoadOptions, Matrix};
use ttpmap_mapper::export::{report_layer, LayerOptions};
use ttpmap_mapper::similarity::{
    from_base64, prototype_plan, PrototypeConfig, TechniqueVectors, VectorsMeta,
};
use ttpmap_mapper::{Label, Manifest, ReportMapping};

use super::backend::BackendControl;
use super::evidence::EvidencePanel;
use super::heatmap::Heatmap;
use super::matrix_select::MatrixSelect;
use super::report::ReportPanel;
use super::toolbar::Toolbar;
use crate::backend::{self, BackendChoice, BackendStatus};
use crate::client::{ModelWorker, WorkerEvent};
use crate::columns::{columns, Column};
use crate::download::download;
use crate::fetch::fetch_text;
use crate::heat::{apply_decisions, report_title, Decisions, ScoreIndex, ViewOptions};
use crate::import::import_layer;
use crate::matrices::{self, prototype_config, MatrixChoice};
use crate::protocol::{FromWorker, JobId, ModelSource, SimilarityTarget, ToWorker};
use crate::state::MapState;
use crate::storage::{self, Session, Source};
use crate::svg::{heatmap_svg, SvgOptions};

/// The shipped model's manifest: the page checks that technique vectors were computed
/// with this model before it maps with them.
const MANIFEST_JSON: &str = include_str!("../../public/model/manifest.json");

/// Evidence sentences quoted per technique in an exported layer.
const LAYER_TOP_EVIDENCE: usize = 3;

/// A matrix ready to draw: the matrix itself, its title and its tactic columns.
#[derive(Debug, PartialEq)]
pub struct LoadedMatrix {
    pub matrix: Matrix,
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

impl MatrixLoad {
    pub fn ready(&self) -> Option<Arc<LoadedMatrix>> {
        match self {
            MatrixLoad::Ready(m) => Some(m.clone()),
            _ => None,
        }
    }
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

/// sha256 of the shipped model's weights, as technique vectors are stamped with.
fn model_sha256() -> String {
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
            Some(SimilarityTarget { matrix: json, vectors })
        }
    };
    Ok((LoadedMatrix::new(matrix), target))
}

/// A user's bundle whose technique vectors the workers are computing.
struct PendingBundle {
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
    /// The job whose answers are awaited.
    active_job: RwSignal<Option<JobId>>,
    next_job: StoredValue<JobId>,
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
    pending_bundle: StoredValue<Option<PendingBundle>, LocalStorage>,
    /// What the workers map onto (`None`: Enterprise, the classifier).
    target: StoredValue<Option<SimilarityTarget>>,
}

impl AppState {
    fn new() -> Self {
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
            next_job: StoredValue::new(0),
            saved_lean: StoredValue::new(saved_lean),
            worker: StoredValue::new_local(None),
            backend_choice: RwSignal::new(backend::load_choice()),
            backend: RwSignal::new(None),
            matrix_choice: RwSignal::new(MatrixChoice::Enterprise),
            bundle_name: RwSignal::new(None),
            vectors_progress: RwSignal::new(None),
            pending_bundle: StoredValue::new_local(None),
            target: StoredValue::new(None),
        }
    }

    /// Loads the matrix saved as the analyst's choice (Enterprise by default) at start.
    /// A saved mapping of another matrix is dropped. An opened bundle is not kept across
    /// a reload: Enterprise is shown instead, with a notice.
    async fn load_initial_matrix(&self) {
        let mut choice = matrices::load_choice();
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
    fn install_matrix(&self, m: LoadedMatrix, target: Option<SimilarityTarget>, choice: MatrixChoice) {
        self.matrix.set(MatrixLoad::Ready(Arc::new(m)));
        self.matrix_choice.set(choice);
        matrices::save_choice(choice);
        self.target.set_value(target.clone());
        self.worker.with_value(|w| {
            if let Some(w) = w {
                w.send(&ToWorker::SetMatrix { target });
            }
        });
    }

    /// The mapping shown belongs to the matrix being replaced: it goes (the text stays).
    fn drop_mapping_for_new_matrix(&self) {
        if self.busy() {
            self.cancel();
        }
        self.active_job.set(None);
        self.session.set(None);
        storage::clear_session();
        self.selected.set(None);
        self.error.set(None);
        self.progress.set(Progress::None);
        self.map_state.set(MapState::Idle);
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
                    state.drop_mapping_for_new_matrix();
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

    /// The analyst opened a STIX bundle: read it here (a clear message if it is not an
    /// ATT&CK-compatible bundle; the report text and the matrix in use stay), then have
    /// the workers compute its technique vectors, with progress.
    pub fn open_bundle(&self, file_name: String, bytes: &[u8]) {
        let previous = self.matrix_choice.get_untracked();
        let (matrix, examples) = match load_bundle_with_examples(bytes, &LoadOptions::default()) {
            Ok(x) => x,
            Err(e) => {
                self.matrix_choice.set(previous);
                self.notice.set(Some(format!(
                    "{file_name} could not be opened as a matrix: {e}. Open an ATT&CK-compatible STIX 2.1 bundle (an x-mitre-matrix with its tactics and techniques)."
                )));
                return;
            }
        };
        self.cancel_vectors();
        let config = prototype_config(matrix.techniques.len());
        let plan = prototype_plan(&matrix, &examples, &config);
        let job = self.next_job.get_value() + 1;
        self.next_job.set_value(job);
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
        if !self.ensure_worker() {
            return;
        }
        self.worker.with_value(|w| {
            if let Some(w) = w {
                w.send(&ToWorker::Encode { job, texts: plan.texts, shard: Default::default() });
            }
        });
    }

    fn encoding_job(&self) -> Option<JobId> {
        self.pending_bundle.with_value(|p| p.as_ref().map(|p| p.job))
    }

    /// Stops computing a bundle's technique vectors; the matrix in use stays.
    pub fn cancel_vectors(&self) {
        let Some(job) = self.encoding_job() else { return };
        self.worker.with_value(|w| {
            if let Some(w) = w {
                w.send(&ToWorker::Cancel { job });
            }
        });
        self.pending_bundle.set_value(None);
        self.vectors_progress.set(None);
        self.matrix_choice.set(self.matrix_choice.get_untracked());
    }

    /// The workers answered for the bundle's encoding job.
    fn on_encoding(&self, msg: FromWorker) {
        match msg {
            FromWorker::EncodeProgress { done, .. } => self.vectors_progress.update(|p| {
                if let Some(p) = p {
                    p.done = done.min(p.total);
                    p.model = None;
                }
            }),
            FromWorker::Encoded { dim, rows, .. } => {
                let Some(b) = self.pending_bundle.try_update_value(Option::take).flatten() else { return };
                self.vectors_progress.set(None);
                match bundle_target(&b, dim, &rows) {
                    Ok(target) => {
                        self.drop_mapping_for_new_matrix();
                        self.bundle_name.set(Some(b.file_name.clone()));
                        self.install_matrix(LoadedMatrix::new(b.matrix), Some(target), MatrixChoice::Bundle);
                    }
                    Err(e) => self.notice.set(Some(format!("The technique vectors of {} could not be made: {e}", b.file_name))),
                }
            }
            FromWorker::Failed { message, .. } => {
                self.pending_bundle.set_value(None);
                self.vectors_progress.set(None);
                self.matrix_choice.set(self.matrix_choice.get_untracked());
                self.notice.set(Some(format!("The technique vectors could not be computed: {message}")));
            }
            FromWorker::Cancelled { .. } => {
                self.pending_bundle.set_value(None);
                self.vectors_progress.set(None);
            }
            _ => {}
        }
    }

    /// Whether the model is being loaded or a report mapped.
    pub fn busy(&self) -> bool {
        matches!(
            self.map_state.get(),
            MapState::LoadingModel | MapState::Mapping
        )
    }

    /// Saves the session (with the current threshold and view) in localStorage.
    ///
    /// Not while the model runs: a partial mapping is not kept (the finished one is saved
    /// when it arrives), and re-saving a large text on every view change would cost the page.
    pub fn persist(&self) {
        if self.map_state.get_untracked() == MapState::Mapping
            || self.map_state.get_untracked() == MapState::LoadingModel
        {
            return;
        }
        let report = self.report.get_untracked();
        let saved = self.session.with_untracked(|s| {
            s.as_ref().map(|s| {
                let mut s = s.clone();
                s.threshold = self.threshold.get_untracked();
                s.view = self.view.get_untracked();
                let lean = matches!(&s.source, Source::Mapped { text: Some(t) } if *t == report);
                (storage::save_session(&s, &report), lean)
            })
        });
        match saved {
            Some((true, lean)) => self.saved_lean.set_value(lean),
            Some((false, _)) => self.notice.set(Some(
                "This mapping is too large to keep in this browser: it will be gone after a reload."
                    .into(),
            )),
            None => storage::clear_session(),
        }
    }

    /// The report text changed (typed, pasted, opened): keep it, and keep the saved
    /// mapping readable (its evidence points into the text that was mapped).
    pub fn set_report(&self, text: String, file_name: Option<String>) {
        storage::save_report(&text);
        self.report.set(text);
        self.file_name.set(file_name);
        if self.saved_lean.get_value() {
            self.persist();
        }
    }

    /// Maps the report text: starts the worker if needed and sends it the job.
    pub fn map(&self) {
        let text = self.report.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        if self.encoding_job().is_some() {
            self.notice.set(Some(
                "The opened bundle's technique vectors are still being computed: map once they are ready, or cancel them.".into(),
            ));
            return;
        }
        if self.busy() {
            self.cancel();
        }
        let job = self.next_job.get_value() + 1;
        self.next_job.set_value(job);
        self.active_job.set(Some(job));
        self.error.set(None);
        self.notice.set(None);
        self.selected.set(None);
        self.session.set(None);
        storage::clear_session();
        self.map_state.set(MapState::LoadingModel);
        self.progress.set(Progress::None);
        if !self.ensure_worker() {
            return;
        }
        self.worker.with_value(|w| {
            if let Some(w) = w {
                w.send(&ToWorker::Map {
                    job,
                    text,
                    shard: Default::default(),
                });
            }
        });
    }

    /// Stops the running job; the worker answers `Cancelled` after its current chunk.
    pub fn cancel(&self) {
        if let Some(job) = self.active_job.get_untracked() {
            self.worker.with_value(|w| {
                if let Some(w) = w {
                    w.send(&ToWorker::Cancel { job });
                }
            });
        }
    }

    fn ensure_worker(&self) -> bool {
        if self.worker.with_value(Option::is_some) {
            return true;
        }
        let state = *self;
        match ModelWorker::spawn(move |ev| state.on_worker(ev)) {
            Ok(w) => {
                w.send(&self.backend_message());
                w.send(&ToWorker::SetMatrix { target: self.target.get_value() });
                self.worker.set_value(Some(w));
                true
            }
            Err(e) => {
                self.fail(e);
                false
            }
        }
    }

    /// The analyst chose GPU, CPU or automatic: kept, and applied from the next job on.
    pub fn set_backend_choice(&self, choice: BackendChoice) {
        backend::save_choice(choice);
        self.backend_choice.set(choice);
        let msg = self.backend_message();
        self.worker.with_value(|w| {
            if let Some(w) = w {
                w.send(&msg);
            }
        });
    }

    fn backend_message(&self) -> ToWorker {
        ToWorker::SetBackend {
            choice: self.backend_choice.get_untracked(),
            lose_gpu_after: backend::debug_lose_gpu_after(),
        }
    }

    fn fail(&self, message: String) {
        error!("{message}");
        self.active_job.set(None);
        self.error.set(Some(message));
        self.map_state.set(MapState::Error);
    }

    fn on_worker(&self, ev: WorkerEvent) {
        let msg = match ev {
            WorkerEvent::Message(msg) => msg,
            WorkerEvent::Crashed(message) => {
                // Start a fresh worker on the next try.
                self.worker.set_value(None);
                if self.encoding_job().is_some() {
                    self.on_encoding(FromWorker::Failed { job: 0, message: message.clone() });
                }
                self.fail(format!("The mapping stopped unexpectedly: {message}"));
                return;
            }
        };
        let encoding = self.encoding_job();
        let for_encoding = match &msg {
            FromWorker::EncodeProgress { job, .. }
            | FromWorker::Encoded { job, .. }
            | FromWorker::Failed { job, .. }
            | FromWorker::Cancelled { job } => encoding == Some(*job),
            _ => false,
        };
        if for_encoding {
            self.on_encoding(msg);
            return;
        }
        let active = self.active_job.get_untracked();
        let is_active = |job: JobId| active == Some(job);
        match msg {
            // The model loads for a bundle's vectors (no report is being mapped).
            FromWorker::ModelProgress { loaded, total, .. } if active.is_none() && encoding.is_some() => {
                self.vectors_progress.update(|p| {
                    if let Some(p) = p {
                        p.model = Some((loaded, total));
                    }
                });
            }
            FromWorker::ModelFailed { message } if active.is_none() && encoding.is_some() => {
                self.on_encoding(FromWorker::Failed { job: 0, message });
            }
            FromWorker::Started => {}
            FromWorker::Backend { status } => self.backend.set(Some(status)),
            FromWorker::ModelProgress {
                loaded,
                total,
                source,
            } if active.is_some() => {
                self.map_state.set(MapState::LoadingModel);
                self.progress.set(Progress::Model {
                    loaded,
                    total,
                    source,
                });
            }
            FromWorker::ModelVerifying if active.is_some() => {
                self.progress.set(Progress::Preparing);
            }
            FromWorker::ModelReady {
                labels,
                attack_version,
                load_ms,
                ..
            } => {
                leptos::logging::log!(
                    "ttpmap: model ready ({labels} labels, ATT&CK {attack_version}) in {load_ms:.0} ms"
                );
            }
            FromWorker::ModelFailed { message } if active.is_some() => self.fail(message),
            FromWorker::MapProgress { job, done, total } if is_active(job) => {
                self.map_state.set(MapState::Mapping);
                self.progress.set(Progress::Sentences { done, total });
            }
            FromWorker::Partial { job, mapping } if is_active(job) => {
                self.show_mapping(mapping);
            }
            FromWorker::Done { job, mapping, ms } if is_active(job) => {
                let sentences = mapping.sentences;
                leptos::logging::log!("ttpmap: mapped {sentences} sentences in {ms:.0} ms");
                self.show_mapping(mapping);
                self.active_job.set(None);
                self.progress.set(Progress::Done { sentences, ms });
                self.map_state.set(MapState::Done);
                self.persist();
            }
            FromWorker::Cancelled { job } if is_active(job) => {
                self.active_job.set(None);
                let (done, total) = match self.progress.get_untracked() {
                    Progress::Sentences { done, total } => (done, total),
                    _ => (0, 0),
                };
                self.progress.set(Progress::Cancelled { done, total });
                self.map_state.set(MapState::Idle);
            }
            FromWorker::Failed { job, message } if is_active(job) => self.fail(message),
            // Answers of a job that was cancelled or replaced.
            _ => {}
        }
    }

    /// Shows a (partial or final) mapping of the report being mapped.
    fn show_mapping(&self, mapping: ReportMapping) {
        let first = self.session.with_untracked(Option::is_none);
        if first {
            self.threshold.set(mapping.threshold);
            let text = self.report.get_untracked();
            let title = report_title(&text, self.file_name.get_untracked().as_deref());
            self.session.set(Some(Session {
                matrix: self.matrix_id(),
                title,
                source: Source::Mapped { text: Some(text) },
                mapping,
                decisions: Decisions::default(),
                threshold: self.threshold.get_untracked(),
                view: self.view.get_untracked(),
            }));
        } else {
            self.session.update(|s| {
                if let Some(s) = s {
                    s.mapping = mapping;
                }
            });
        }
    }

    /// The ID of the matrix in use (`""` while none is loaded).
    fn matrix_id(&self) -> String {
        self.matrix.with_untracked(|m| m.ready().map(|m| m.matrix.id.clone()).unwrap_or_default())
    }

    /// Forgets the text, the mapping and the decisions (here and in localStorage).
    pub fn clear(&self) {
        if self.busy() {
            self.cancel();
        }
        self.active_job.set(None);
        storage::save_report("");
        storage::clear_session();
        self.report.set(String::new());
        self.file_name.set(None);
        self.session.set(None);
        self.selected.set(None);
        self.error.set(None);
        self.notice.set(None);
        self.progress.set(Progress::None);
        self.map_state.set(MapState::Idle);
    }

    /// Applies a decision about one technique and saves it.
    pub fn decide(&self, change: impl FnOnce(&mut Decisions)) {
        self.session.update(|s| {
            if let Some(s) = s {
                change(&mut s.decisions);
            }
        });
        self.persist();
    }

    /// Opens a Navigator layer file to view it as the heatmap.
    pub fn open_layer(&self, json: &str) {
        let Some(m) = self.matrix.get_untracked().ready() else {
            self.notice.set(Some(
                "The matrix is not loaded yet: try again in a moment.".into(),
            ));
            return;
        };
        match import_layer(json, &m.matrix) {
            Ok(layer) => {
                if self.busy() {
                    self.cancel();
                    self.active_job.set(None);
                }
                self.selected.set(None);
                self.error.set(None);
                self.threshold.set(layer.mapping.threshold);
                self.session.set(Some(Session {
                    matrix: m.matrix.id.clone(),
                    title: layer.name,
                    source: Source::Imported {
                        comments: layer.comments,
                    },
                    mapping: layer.mapping,
                    decisions: Decisions::default(),
                    threshold: 0.0,
                    view: self.view.get_untracked(),
                }));
                self.notice
                    .set((!layer.notes.is_empty()).then(|| layer.notes.join(" ")));
                self.progress.set(Progress::None);
                self.map_state.set(MapState::Done);
                self.persist();
            }
            Err(e) => self.notice.set(Some(format!(
                "This file could not be opened as a layer: {e}"
            ))),
        }
    }

    /// The report title and the text the evidence offsets point into.
    fn title_and_text(&self) -> Option<(String, String)> {
        self.session.with_untracked(|s| {
            s.as_ref().map(|s| {
                let text = match &s.source {
                    Source::Mapped { text } => text.clone().unwrap_or_default(),
                    Source::Imported { .. } => String::new(),
                };
                (s.title.clone(), text)
            })
        })
    }

    /// Downloads the shown mapping as a Navigator layer.
    pub fn export_layer(&self) {
        let (Some(m), Some(mapping), Some((title, text))) = (
            self.matrix.get_untracked().ready(),
            self.effective.get_untracked(),
            self.title_and_text(),
        ) else {
            return;
        };
        let opts = LayerOptions {
            name: title.clone(),
            threshold: self.threshold.get_untracked(),
            top_evidence: LAYER_TOP_EVIDENCE,
        };
        match report_layer(&m.matrix, &mapping, &text, &opts) {
            Ok(layer) => download(
                &format!("{}.layer.json", file_stem(&title)),
                "application/json",
                &layer.to_json_pretty(),
            ),
            Err(e) => self
                .notice
                .set(Some(format!("The layer could not be made: {e}"))),
        }
    }

    /// Downloads the heatmap as an SVG image.
    pub fn export_svg(&self) {
        let (Some(m), Some(mapping), Some((title, _))) = (
            self.matrix.get_untracked().ready(),
            self.effective.get_untracked(),
            self.title_and_text(),
        ) else {
            return;
        };
        let threshold = self.threshold.get_untracked();
        let detected = self.index.get_untracked().detected;
        let opts = SvgOptions {
            subtitle: format!(
                "{} · {} technique{} detected at threshold {:.0}",
                m.title,
                detected,
                if detected == 1 { "" } else { "s" },
                threshold * 100.0
            ),
            title: title.clone(),
            view: self.view.get_untracked(),
            threshold,
        };
        let svg = heatmap_svg(&m.columns, &mapping, &opts);
        download(&format!("{}.svg", file_stem(&title)), "image/svg+xml", &svg);
    }
}

/// The similarity target of a bundle from the workers' rows: the vectors (stamped with
/// the shipped model) and the matrix, as the workers read them.
fn bundle_target(b: &PendingBundle, dim: usize, rows: &str) -> Result<SimilarityTarget, String> {
    let meta = VectorsMeta {
        matrix: b.matrix.id.clone(),
        model_sha256: model_sha256(),
        source_sha256: String::new(),
        prototypes: b.config,
        examples: b.examples,
        built_by: "ttpmap web app".into(),
    };
    let labels = b.matrix.techniques.iter().map(|t| Label { id: t.id.clone(), name: t.name.clone() }).collect();
    let bytes = from_base64(rows).map_err(|e| e.to_string())?;
    let vectors = TechniqueVectors::from_row_bytes(meta, labels, &b.counts, dim, &bytes).map_err(|e| e.to_string())?;
    Ok(SimilarityTarget { matrix: b.matrix.to_compact_json(), vectors: vectors.to_json() })
}

/// A file name for a report title: letters, digits and dashes, at most 60 characters.
pub fn file_stem(title: &str) -> String {
    let mut stem = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            stem.extend(c.to_lowercase());
        } else if !stem.ends_with('-') && !stem.is_empty() {
            stem.push('-');
        }
        if stem.chars().count() >= 60 {
            break;
        }
    }
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() {
        "ttpmap".into()
    } else {
        format!("ttpmap-{stem}")
    }
}

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

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn file_stems_are_safe_and_short() {
        assert_eq!(
            file_stem("APT29: Cozy Bear / 2024"),
            "ttpmap-apt29-cozy-bear-2024"
        );
        assert_eq!(file_stem("../../etc"), "ttpmap-etc");
        assert_eq!(file_stem("   "), "ttpmap");
        assert!(file_stem(&"x".repeat(500)).len() <= 7 + 60);
    }
}
