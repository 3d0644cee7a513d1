//! The UI components. Each is small and reads the shared [`app::AppState`] from context.

pub mod app;
pub mod backend;
pub mod evidence;
pub mod heatmap;
pub mod matrix_select;
pub mod report;
pub mod toolbar;
