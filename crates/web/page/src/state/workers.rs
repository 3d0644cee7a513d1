//! The one way to the worker pool: starting it (on the first job), sending it messages,
//! and routing what it says: model events to whoever waits for the model (the report
//! being mapped, else the bundle being encoded), job events to the job they name.

use leptos::prelude::*;
use ttpmap_web_protocol::{BackendChoice, FromWorker, ModelError, ModelEvent, ToWorker};

use super::AppState;
use crate::pool::{ModelWorker, WorkerEvent};
use crate::storage;
use crate::wording;

/// Who is waiting for the model to load.
enum Waiting {
    /// A report's mapping (its progress line shows the model's loading).
    Map,
    /// A bundle's encoding, with no mapping running (the matrix selector shows it).
    Bundle,
    Nobody,
}

impl AppState {
    /// Sends `msg` to the pool if it is running. (Messages the pool must hear once it
    /// starts, the matrix and the backend, are sent by [`AppState::start_workers`].)
    pub(super) fn send(&self, msg: ToWorker) {
        self.worker.with_value(|w| {
            if let Some(w) = w {
                w.send(msg);
            }
        });
    }

    /// Sends a job, starting the pool first if needed. A pool that cannot start fails
    /// the mapping (`false`).
    pub(super) fn send_job(&self, msg: ToWorker) -> bool {
        if !self.start_workers() {
            return false;
        }
        self.send(msg);
        true
    }

    /// Starts the pool unless it runs, and tells it the backend choice and the matrix.
    fn start_workers(&self) -> bool {
        if self.worker.with_value(Option::is_some) {
            return true;
        }
        let state = *self;
        match ModelWorker::spawn(move |ev| state.on_worker(ev)) {
            Ok(w) => {
                w.send(self.backend_message());
                w.send(ToWorker::SetMatrix { target: self.target.get_value() });
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
        storage::save_backend_choice(choice);
        self.backend_choice.set(choice);
        self.send(self.backend_message());
    }

    fn backend_message(&self) -> ToWorker {
        ToWorker::SetBackend {
            choice: self.backend_choice.get_untracked(),
            lose_gpu_after: storage::debug_lose_gpu_after(),
        }
    }

    fn waiting_for_model(&self) -> Waiting {
        match (self.active_job.get_untracked(), self.encoding_job()) {
            (Some(_), _) => Waiting::Map,
            (None, Some(_)) => Waiting::Bundle,
            (None, None) => Waiting::Nobody,
        }
    }

    fn on_worker(&self, ev: WorkerEvent) {
        match ev {
            WorkerEvent::Message(msg) => self.on_message(msg),
            WorkerEvent::Crashed(message) => {
                // Start a fresh pool on the next try.
                self.worker.set_value(None);
                self.bundle_failed(&message);
                self.fail(format!("The mapping stopped unexpectedly: {message}"));
            }
        }
    }

    fn on_message(&self, msg: FromWorker) {
        match msg {
            FromWorker::Started => {}
            FromWorker::Backend { status } => self.backend.set(Some(status)),
            FromWorker::Model { event } => self.on_model(event),
            FromWorker::Job { job, event } => {
                if self.encoding_job() == Some(job) {
                    self.on_bundle_event(event);
                } else if self.active_job.get_untracked() == Some(job) {
                    self.on_map_event(event);
                }
                // Else the answer of a job that was cancelled or replaced.
            }
        }
    }

    fn on_model(&self, event: ModelEvent) {
        match (event, self.waiting_for_model()) {
            (ModelEvent::Ready { labels, attack_version, load_ms, .. }, _) => {
                leptos::logging::log!(
                    "ttpmap: model ready ({labels} labels, ATT&CK {attack_version}) in {load_ms:.0} ms"
                );
            }
            (ModelEvent::Failed { error }, waiting) => self.model_failed(&error, waiting),
            (event, Waiting::Map) => self.on_model_for_map(event),
            (event, Waiting::Bundle) => self.on_model_for_bundle(event),
            (_, Waiting::Nobody) => {}
        }
    }

    fn model_failed(&self, error: &ModelError, waiting: Waiting) {
        let message = wording::model_error(error);
        match waiting {
            Waiting::Map => self.fail(message),
            Waiting::Bundle => self.bundle_failed(&message),
            Waiting::Nobody => leptos::logging::error!("{message}"),
        }
    }
}
