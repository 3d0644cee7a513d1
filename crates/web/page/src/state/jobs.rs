//! Mapping the report: Map, Cancel, Clear, the worker's answers about the mapping job,
//! and [`AppState::reset_mapping`], the one sequence that takes a mapping off the page.

use leptos::logging::error;
use leptos::prelude::*;
use ttpmap_mapper::ReportMapping;
use ttpmap_web_protocol::{JobEvent, ModelEvent, Shard, Task, ToWorker};

use super::{AppState, Progress};
use crate::decisions::Decisions;
use crate::map_state::MapState;
use crate::storage::{self, Session, Source};
use crate::text::report_title;
use crate::wording;

impl AppState {
    /// Maps the report text: starts the workers if needed and sends them the job.
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
        self.reset_mapping();
        self.notice.set(None);
        let job = self.new_job();
        self.active_job.set(Some(job));
        self.map_state.set(MapState::LoadingModel);
        self.send_job(ToWorker::Run { job, shard: Shard::default(), task: Task::Map { text } });
    }

    /// Stops the running job; the worker answers `Cancelled` after its current chunk.
    pub fn cancel(&self) {
        if let Some(job) = self.active_job.get_untracked() {
            self.send(ToWorker::Cancel { job });
        }
    }

    /// Takes the mapping off the page (here and in localStorage): the running job is
    /// cancelled and no longer awaited, the evidence closed, errors and progress cleared.
    /// The text, the notice and the matrix stay.
    pub(super) fn reset_mapping(&self) {
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

    /// Forgets the text, the mapping and the decisions (here and in localStorage).
    pub fn clear(&self) {
        self.reset_mapping();
        storage::save_report("");
        self.report.set(String::new());
        self.file_name.set(None);
        self.notice.set(None);
    }

    /// Mapping failed (the model, the worker, the text): the report panel says why.
    pub(super) fn fail(&self, message: String) {
        error!("{message}");
        self.active_job.set(None);
        self.error.set(Some(message));
        self.map_state.set(MapState::Error);
    }

    /// The model is loading for the report being mapped.
    pub(super) fn on_model_for_map(&self, event: ModelEvent) {
        match event {
            ModelEvent::Progress { loaded, total, source } => {
                self.map_state.set(MapState::LoadingModel);
                self.progress.set(Progress::Model { loaded, total, source });
            }
            ModelEvent::Verifying => self.progress.set(Progress::Preparing),
            ModelEvent::Ready { .. } | ModelEvent::Failed { .. } => {}
        }
    }

    /// The workers answered about the mapping job.
    pub(super) fn on_map_event(&self, event: JobEvent) {
        match event {
            JobEvent::MapProgress { done, total } => {
                self.map_state.set(MapState::Mapping);
                self.progress.set(Progress::Sentences { done, total });
            }
            JobEvent::Partial { mapping } => self.show_mapping(mapping),
            JobEvent::Done { mapping, ms } => {
                let sentences = mapping.sentences;
                leptos::logging::log!("ttpmap: mapped {sentences} sentences in {ms:.0} ms");
                self.show_mapping(mapping);
                self.active_job.set(None);
                self.progress.set(Progress::Done { sentences, ms });
                self.map_state.set(MapState::Done);
                self.persist();
            }
            JobEvent::Cancelled => {
                self.active_job.set(None);
                let (done, total) = match self.progress.get_untracked() {
                    Progress::Sentences { done, total } => (done, total),
                    _ => (0, 0),
                };
                self.progress.set(Progress::Cancelled { done, total });
                self.map_state.set(MapState::Idle);
            }
            JobEvent::Failed { error } => self.fail(wording::job_error(&error)),
            // An encoding's events never name a mapping job.
            JobEvent::EncodeProgress { .. } | JobEvent::Encoded { .. } => {}
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
}
