//! The inference Web Worker: trunk builds this binary as a second wasm module
//! (`<link data-trunk rel="rust" href="crates/web/worker/Cargo.toml" data-bin="worker"
//! data-type="worker">` in index.html: worker.js + worker_bg.wasm) and the page starts it
//! with `new Worker("worker-boot.js")`.
//!
//! It owns the model, maps texts in chunks of sentences, and streams progress and partial
//! mappings to the page. Why a worker: candle and the tokenizer stay out of the page's
//! bundle, and a report that takes minutes to map never blocks the page. By job:
//!
//! - [`engine`]: the message loop: which job runs, cancelling, yielding between chunks;
//! - [`map_job`]: mapping a text (or this worker's shard of it) chunk by chunk;
//! - [`encode_job`]: encoding a bundle's prototype texts;
//! - [`model`]: loading the model from verified files (the manifest is built in);
//! - [`model_store`]: where the files are kept across visits (Cache API or IndexedDB)
//!   and how they are downloaded;
//! - [`gpu`]: the WebGPU encoder's lifecycle (build, fall back, drop).

mod encode_job;
mod engine;
mod gpu;
mod map_job;
mod model;
mod model_store;

fn main() {
    console_error_panic_hook::set_once();
    engine::start();
}
