//! The UI components. Each is small and reads the shared [`crate::state::AppState`] from context.

pub mod app;
pub mod backend;
pub mod evidence;
pub mod evidence_parts;
pub mod heatmap;
pub mod matrix_select;
pub mod report;
pub mod toolbar;
pub mod toolbar_parts;

use wasm_bindgen::JsCast;

/// The file an `<input type="file">` change event picked, if any. The input is cleared, so
/// that the same file can be picked again after it is edited (the `File` stays readable).
pub fn picked_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let file = input.files().and_then(|f| f.get(0));
    input.set_value("");
    file
}
