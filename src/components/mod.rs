//! The UI components. Each is small and reads shared state passed in as signals.

pub mod app;
pub mod heatmap;
pub mod report;
