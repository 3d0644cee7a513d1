//! Keeps the report text in this browser's localStorage, so a reload does not lose it.
//! The text stays on this machine; failures (storage disabled, quota) are logged, never fatal.

use leptos::logging::warn;

const REPORT_KEY: &str = "ttpmap.report";

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
