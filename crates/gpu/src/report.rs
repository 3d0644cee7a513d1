//! The classifier's sentence scoring and report mapping with the GPU encoder in place of the
//! CPU one: the GPU computes the pooled vectors, the classifier's head and the mapping core
//! do the rest exactly as on the CPU (`Classifier::sentence_probs`, `ttpmap_mapper::map_report`).

use ttpmap_mapper::segment;
use ttpmap_mapper::{AggregateConfig, BatchConfig, Classifier, MappingBuilder, ReportMapping};

use crate::{GpuEncoder, GpuError};

/// Label probabilities per sentence (the max over a sentence's windows), with the encoder on the GPU.
pub async fn sentence_probs<S: AsRef<str>>(
    gpu: &GpuEncoder,
    classifier: &Classifier,
    sentences: &[S],
    batch: BatchConfig,
) -> Result<Vec<Vec<f32>>, GpuError> {
    let windows = classifier.windows(sentences)?;
    let probs = classifier.head_probs(&gpu.pooled(&windows, batch).await?)?;
    let mut out = vec![vec![0f32; classifier.labels().len()]; sentences.len()];
    for (w, p) in windows.iter().zip(probs) {
        for (o, v) in out[w.sentence].iter_mut().zip(p) {
            *o = o.max(v);
        }
    }
    Ok(out)
}

/// `ttpmap_mapper::map_report` with the encoder on the GPU: segments the report, scores every
/// sentence, aggregates per technique; `progress(done, total)` after each chunk of sentences.
pub async fn map_report(
    gpu: &GpuEncoder,
    classifier: &Classifier,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ReportMapping, GpuError> {
    let sentences = segment::sentences(text);
    let mut builder = MappingBuilder::new(classifier.labels(), agg);
    let total = sentences.len();
    for chunk in sentences.chunks(256) {
        let texts: Vec<&str> = chunk.iter().map(|s| s.text(text)).collect();
        let probs = sentence_probs(gpu, classifier, &texts, batch).await?;
        for (s, p) in chunk.iter().zip(&probs) {
            builder.add(s.start, s.end, p);
        }
        progress(builder.sentences(), total);
    }
    Ok(builder.snapshot(classifier.manifest.threshold))
}
