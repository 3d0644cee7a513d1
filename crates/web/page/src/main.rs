//! The page of the ttpmap web app (trunk's main binary, index.html): the Leptos UI.
//!
//! It loads the matrix from the site's own origin with relative URLs, hands report text
//! to the inference workers ([`pool`], `ttpmap-web-worker`) by `ttpmap_web_protocol`
//! messages, and draws the [`ttpmap_mapper::ReportMapping`] it gets back. The report
//! text never leaves the browser. It never runs the model: it does not depend on candle
//! or ttpmap-gpu (scripts/check-web-layout.sh).
//!
//! - [`state`]: every signal ([`state::AppState`]) and the use cases (map jobs, matrices,
//!   bundles, export, persistence, the worker pool's answers);
//! - [`components`]: the UI, reading the state from context;
//! - [`pool`] and [`gather`]: the workers sharing a job, answering as one;
//! - [`storage`]: everything kept in localStorage, every key;
//! - [`wording`]: the worker's failures and backend, in words;
//! - pure view logic, tested natively: [`columns`], [`heat`], [`decisions`], [`text`],
//!   [`import`], [`matrices`], [`svg`];
//! - browser glue: [`fetch`], [`download`].

mod columns;
mod components;
mod decisions;
mod download;
mod fetch;
mod gather;
mod heat;
mod import;
mod map_state;
mod matrices;
mod pool;
mod state;
mod storage;
mod svg;
mod text;
#[cfg(test)]
mod test_support;
mod wording;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(components::app::App);
}
