//! ttpmap-web: the browser app of ttpmap, and its inference worker.
//!
//! The page (`main.rs`, [`components`]) is UI only: it loads the matrix from the site's
//! own origin with relative URLs, hands report text to the inference Web Worker
//! ([`worker`], the `worker` binary) by [`protocol`] messages, and draws the
//! [`ttpmap_mapper::ReportMapping`] it gets back. The report text never leaves the browser.
//!
//! Pure view logic ([`columns`], [`heat`], [`import`], [`matrices`], [`svg`], [`protocol`], [`shard`]) is kept apart
//! from the components and the browser glue so it runs in native tests.

pub mod backend;
pub mod client;
pub mod columns;
pub mod components;
pub mod download;
pub mod fetch;
pub mod heat;
pub mod import;
pub mod matrices;
pub mod protocol;
pub mod shard;
pub mod state;
pub mod storage;
pub mod svg;
pub mod worker;

pub use components::app::App;
