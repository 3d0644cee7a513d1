//! The mapping core of ttpmap: report text in, ATT&CK techniques with evidence out.
//!
//! Pure and deterministic: no file system, no network, no threads, no clocks; the same
//! code runs natively (CLI, tests) and in the browser (wasm32). Callers hand in bytes
//! (model, tokenizer, text) and get plain data back.

pub mod bert;
pub mod export;
pub mod input;
pub mod mapping;
pub mod model;
pub mod segment;
pub mod tokenize;

pub use mapping::{AggregateConfig, Evidence, MappingBuilder, ReportMapping, TechniqueMapping};
pub use model::{BatchConfig, Classifier, Label, Manifest, ModelError, WeightFormat};

/// Maps report text: segments it, scores every sentence, aggregates per technique.
/// `progress(done, total)` is called after each chunk of sentences.
pub fn map_report(
    classifier: &Classifier,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ReportMapping, ModelError> {
    let sentences = segment::sentences(text);
    let mut builder = MappingBuilder::new(classifier.labels(), agg);
    let total = sentences.len();
    // Chunks bound memory for huge inputs and give the caller regular progress.
    for chunk in sentences.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(|s| s.text(text)).collect();
        let probs = classifier.sentence_probs(&texts, batch)?;
        for (s, p) in chunk.iter().zip(&probs) {
            builder.add(s.start, s.end, p);
        }
        progress(builder.sentences(), total);
    }
    Ok(builder.snapshot(classifier.manifest.threshold))
}
