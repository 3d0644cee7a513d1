//! Everything the page keeps in this browser's localStorage, and every key it uses: the
//! report text, the mapping with the analyst's decisions (so a reload does not lose them;
//! Clear removes them), the matrix and backend choices, and a switch for tests.
//! Everything stays on this machine. Failures (storage disabled, quota) are logged and
//! reported to the caller, never fatal.
//!
//! (The worker keeps the model files elsewhere: the Cache API or IndexedDB, see
//! `ttpmap-web-worker`'s `model_store`.)

use std::collections::BTreeMap;

use leptos::logging::warn;
use serde::{Deserialize, Serialize};
use ttpmap_mapper::ReportMapping;

use ttpmap_web_protocol::BackendChoice;

use crate::decisions::Decisions;
use crate::heat::ViewOptions;
use crate::matrices::MatrixChoice;

/// The report text.
const REPORT_KEY: &str = "ttpmap.report";
/// The shown mapping, its threshold, view and decisions ([`Session`], JSON).
const SESSION_KEY: &str = "ttpmap.session";
/// The matrix chosen ([`MatrixChoice::as_str`]).
const MATRIX_KEY: &str = "ttpmap.matrix";
/// GPU, CPU or automatic ([`BackendChoice::as_str`]).
const BACKEND_KEY: &str = "ttpmap.backend";
/// Tests of the GPU fallback: the worker destroys its GPU device after this many batches.
const DEBUG_LOSE_GPU_KEY: &str = "ttpmap.debug.lose-gpu-after";

/// Where the shown mapping came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// The model mapped `text` (the evidence offsets point into it). Saved as `None`
    /// when it equals the report input, which is saved anyway.
    Mapped { text: Option<String> },
    /// A Navigator layer opened by the analyst, with its technique comments.
    Imported { comments: BTreeMap<String, String> },
}

/// What the heatmap shows and what the analyst decided about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The ID of the matrix the mapping is in (`""` in sessions saved before there was a
    /// choice: Enterprise).
    #[serde(default)]
    pub matrix: String,
    pub title: String,
    pub source: Source,
    /// The mapping as the model (or the layer) gave it; decisions are applied on top.
    pub mapping: ReportMapping,
    pub decisions: Decisions,
    /// The analyst's threshold, 0..1.
    pub threshold: f32,
    #[serde(default)]
    pub view: ViewOptions,
}

impl Session {
    /// The ID of the matrix the mapping is in.
    pub fn matrix_id(&self) -> &str {
        if self.matrix.is_empty() {
            "enterprise"
        } else {
            &self.matrix
        }
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The saved report text, or an empty string.
pub fn load_report() -> String {
    local_storage()
        .and_then(|s| s.get_item(REPORT_KEY).ok().flatten())
        .unwrap_or_default()
}

/// Saves the report text; an empty text removes the entry.
pub fn save_report(text: &str) {
    let Some(storage) = local_storage() else {
        return;
    };
    let result = if text.is_empty() {
        storage.remove_item(REPORT_KEY)
    } else {
        storage.set_item(REPORT_KEY, text)
    };
    if let Err(e) = result {
        warn!("could not save the report text in localStorage: {e:?}");
    }
}

/// The saved session, with a mapped text saved as "same as the report" filled in from
/// `report`. A session that cannot be read (an older format) is dropped.
pub fn load_session(report: &str) -> Option<Session> {
    let json = local_storage()?.get_item(SESSION_KEY).ok().flatten()?;
    let mut session: Session = match serde_json::from_str(&json) {
        Ok(s) => s,
        Err(e) => {
            warn!("dropping a saved mapping that cannot be read: {e}");
            clear_session();
            return None;
        }
    };
    if let Source::Mapped { text } = &mut session.source {
        text.get_or_insert_with(|| report.to_string());
    }
    Some(session)
}

/// Saves `session`; its mapped text is left out when it equals `report` (saved apart).
/// Returns whether it was saved.
pub fn save_session(session: &Session, report: &str) -> bool {
    let Some(storage) = local_storage() else {
        return false;
    };
    let json = match &session.source {
        Source::Mapped { text: Some(t) } if t == report => {
            let mut lean = session.clone();
            lean.source = Source::Mapped { text: None };
            serde_json::to_string(&lean)
        }
        _ => serde_json::to_string(session),
    };
    let Ok(json) = json else { return false };
    match storage.set_item(SESSION_KEY, &json) {
        Ok(()) => true,
        Err(e) => {
            warn!("could not save the mapping in localStorage: {e:?}");
            let _ = storage.remove_item(SESSION_KEY);
            false
        }
    }
}

/// Removes the saved session.
pub fn clear_session() {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(SESSION_KEY);
    }
}

fn get(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

fn set(key: &str, value: &str, what: &str) {
    if let Some(s) = local_storage() {
        if s.set_item(key, value).is_err() {
            warn!("ttpmap: could not keep the {what}");
        }
    }
}

/// The matrix chosen on an earlier visit (Enterprise by default).
pub fn load_matrix_choice() -> MatrixChoice {
    get(MATRIX_KEY).and_then(|v| MatrixChoice::parse(&v)).unwrap_or_default()
}

/// Keeps the matrix choice for the next visit.
pub fn save_matrix_choice(choice: MatrixChoice) {
    set(MATRIX_KEY, choice.as_str(), "matrix choice");
}

/// The analyst's saved backend choice (Auto when none is saved or storage is unavailable).
pub fn load_backend_choice() -> BackendChoice {
    get(BACKEND_KEY).and_then(|v| BackendChoice::parse(&v)).unwrap_or_default()
}

pub fn save_backend_choice(choice: BackendChoice) {
    set(BACKEND_KEY, choice.as_str(), "backend choice");
}

/// For tests of the fallback in the browser: with `ttpmap.debug.lose-gpu-after` = N in
/// localStorage, the worker destroys its GPU device after N batches.
pub fn debug_lose_gpu_after() -> Option<usize> {
    get(DEBUG_LOSE_GPU_KEY)?.parse().ok()
}
