//! ttpmap-web: the browser UI of ttpmap.
//!
//! The UI only: it loads static artifacts (the matrix, later the model) from the site's own
//! origin with relative URLs, and never sends the report text anywhere.
//! Pure view logic (`columns`) is kept apart from the components so it runs in native tests.

pub mod columns;
pub mod components;
pub mod fetch;
pub mod state;
pub mod storage;

pub use components::app::App;
