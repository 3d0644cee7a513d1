//! The mapping core of ttpmap: report text in, ATT&CK techniques with evidence out.
//!
//! Pure and deterministic: no file system, no network, no threads, no clocks; the same
//! code runs natively (CLI, tests) and in the browser (wasm32). Callers hand in bytes
//! (model, tokenizer, text) and get plain data back.
//!
//! The model (the encoder over candle, the tokenizer, the classifier, the similarity and
//! release mappings that run it) is behind the default feature `model`. Without it the crate
//! is the plain part every side shares: report input, sentences, the mapping run and its
//! result types, shard merging, the manifest, technique vectors and the layer export; the
//! web page depends on it that way, so it never pulls in candle.

#[cfg(feature = "model")]
pub mod bert;
pub mod export;
pub mod input;
#[cfg(feature = "model")]
pub mod int8;
pub mod manifest;
pub mod mapping;
#[cfg(feature = "model")]
pub mod model;
#[cfg(feature = "model")]
pub mod release;
pub mod run;
#[cfg(feature = "model")]
pub mod scoring;
pub mod segment;
pub mod similarity;
pub mod tokenize;

pub use manifest::{BatchConfig, Label, Manifest, ModelError, ModelFiles, WeightFormat};
pub use mapping::{
    merge_shards, score_100, sort_evidence, sort_techniques, AggregateConfig, Aggregation, Evidence, MappingBuilder, ReportMapping,
    TechniqueMapping,
};
#[cfg(feature = "model")]
pub use model::{Classifier, LoadedModel};
pub use run::{MappingRun, Progress, RunError};
#[cfg(feature = "model")]
pub use scoring::Scoring;

/// Sentences scored per call: bounds memory for huge inputs and gives regular progress.
pub const CHUNK_SENTENCES: usize = 256;

/// Maps report text: segments it, scores every sentence, aggregates per technique.
/// `progress(done, total)` is called after each chunk of sentences.
#[cfg(feature = "model")]
pub fn map_report(
    classifier: &Classifier,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ReportMapping, ModelError> {
    classifier.mapping_run(text, agg).drive(CHUNK_SENTENCES, progress, &mut |texts| classifier.sentence_probs(texts, batch))
}

/// The synchronous mapping every sync caller shares: a [`MappingRun`] over `text`,
/// driven [`CHUNK_SENTENCES`] at a time with `score` (one row of per-label scores per
/// sentence), aggregated over `labels` into a `ReportMapping` detected at `threshold`.
pub fn map_sentences(
    text: &str,
    labels: &[Label],
    threshold: f32,
    agg: AggregateConfig,
    progress: &mut dyn FnMut(usize, usize),
    score: &mut dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>, ModelError>,
) -> Result<ReportMapping, ModelError> {
    MappingRun::new(text, labels, threshold, agg).drive(CHUNK_SENTENCES, progress, score)
}
