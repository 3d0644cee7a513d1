//! What the page keeps in localStorage as the analyst works: the report text, the
//! session (the mapping, its threshold, view and decisions). The storage itself (keys,
//! formats) is [`crate::storage`].

use leptos::prelude::*;

use super::AppState;
use crate::decisions::Decisions;
use crate::map_state::MapState;
use crate::storage::{self, Source};

impl AppState {
    /// Saves the session (with the current threshold and view) in localStorage.
    ///
    /// Not while the model runs: a partial mapping is not kept (the finished one is saved
    /// when it arrives), and re-saving a large text on every view change would cost the page.
    pub fn persist(&self) {
        if matches!(self.map_state.get_untracked(), MapState::Mapping | MapState::LoadingModel) {
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

    /// Applies a decision about one technique and saves it.
    pub fn decide(&self, change: impl FnOnce(&mut Decisions)) {
        self.session.update(|s| {
            if let Some(s) = s {
                change(&mut s.decisions);
            }
        });
        self.persist();
    }
}
