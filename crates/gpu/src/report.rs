//! The classifier's sentence scoring and report mapping with the GPU encoder in place of the
//! CPU one: the GPU computes the pooled vectors, the classifier's head and the mapping core
//! do the rest exactly as on the CPU (`Classifier::sentence_probs`, `ttpmap_mapper::map_report`);
//! both mapping functions drive the mapper's `MappingRun`, as the CPU path does.
//!
//! [`Scorer`] is what the CLI and the browser worker use: the GPU while it works, the CPU
//! from its first error on, re-scoring the failed sentences so that a report never loses
//! a sentence to a GPU failure.

use ttpmap_mapper::{AggregateConfig, BatchConfig, Classifier, ModelError, ReportMapping, Scoring, CHUNK_SENTENCES};

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
/// Fails on the first GPU error; [`map_report_with_fallback`] finishes on the CPU instead.
pub async fn map_report(
    gpu: &GpuEncoder,
    classifier: &Classifier,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ReportMapping, GpuError> {
    let mut run = classifier.mapping_run(text, agg);
    while let Some(texts) = run.next_chunk(CHUNK_SENTENCES) {
        let probs = sentence_probs(gpu, classifier, &texts, batch).await?;
        let p = run.add_scores(&probs).map_err(ModelError::from)?;
        progress(p.done, p.total);
    }
    Ok(run.snapshot())
}

/// Which encoder a [`Scorer`] uses now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The wgpu encoder (WebGPU in the browser, Vulkan natively).
    Gpu,
    /// candle on the CPU.
    Cpu,
}

/// The GPU failure that made a [`Scorer`] switch to the CPU.
#[derive(Debug)]
pub struct Fallback {
    /// Sentences the scorer had scored (on the GPU) before the failure; the sentences of
    /// the failed call were scored again on the CPU.
    pub after_sentences: usize,
    pub error: GpuError,
}

/// Scores sentences on the GPU while it works, and on the CPU from its first error on
/// (device loss, validation, out of memory, anything): the failed call is scored again on
/// the CPU, so callers get every sentence's scores either way. Once it has fallen back it
/// never returns to the GPU (a lost device stays lost). The GPU runs only the plain
/// classifier ([`Scoring::plain_classifier`]); the similarity and release mappings score
/// on the CPU.
pub struct Scorer<'a> {
    scoring: Scoring<'a>,
    gpu: Option<&'a GpuEncoder>,
    scored: usize,
    fallback: Option<Fallback>,
}

impl<'a> Scorer<'a> {
    /// A scorer of the classifier on `gpu`, or on the CPU when it is `None`.
    pub fn new(classifier: &'a Classifier, gpu: Option<&'a GpuEncoder>) -> Self {
        Self::with_scoring(Scoring::Classifier(classifier), gpu)
    }

    /// A scorer of any mapping, on `gpu` where it can run it (the plain classifier).
    pub fn with_scoring(scoring: Scoring<'a>, gpu: Option<&'a GpuEncoder>) -> Self {
        let gpu = gpu.filter(|_| scoring.plain_classifier().is_some());
        Self { scoring, gpu, scored: 0, fallback: None }
    }

    /// What it scores.
    pub fn scoring(&self) -> &Scoring<'a> {
        &self.scoring
    }

    pub fn backend(&self) -> Backend {
        if self.gpu.is_some() {
            Backend::Gpu
        } else {
            Backend::Cpu
        }
    }

    /// The GPU failure that made it switch to the CPU, if one did.
    pub fn fallback(&self) -> Option<&Fallback> {
        self.fallback.as_ref()
    }

    /// Like [`Scoring::sentence_scores`] (`Classifier::sentence_probs` for the classifier).
    /// An error is the CPU's own (the tokenizer or the candle encoder failed), never the GPU's.
    pub async fn sentence_probs<S: AsRef<str>>(&mut self, sentences: &[S], batch: BatchConfig) -> Result<Vec<Vec<f32>>, ModelError> {
        if let (Some(gpu), Some(classifier)) = (self.gpu, self.scoring.plain_classifier()) {
            match sentence_probs(gpu, classifier, sentences, batch).await {
                Ok(p) => {
                    self.scored += sentences.len();
                    return Ok(p);
                }
                Err(error) => {
                    self.gpu = None;
                    self.fallback = Some(Fallback { after_sentences: self.scored, error });
                }
            }
        }
        let p = self.scoring.sentence_scores(sentences, batch)?;
        self.scored += sentences.len();
        Ok(p)
    }
}

/// `ttpmap_mapper::map_report` on `gpu` when given, finishing on the CPU if the GPU fails
/// part-way (the returned [`Fallback`] says when and why). The mapping is complete either way.
pub async fn map_report_with_fallback(
    gpu: Option<&GpuEncoder>,
    classifier: &Classifier,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(ReportMapping, Option<Fallback>), ModelError> {
    map_with_fallback(gpu, Scoring::Classifier(classifier), text, agg, batch, progress).await
}

/// Maps `text` with `scoring` ([`Scoring::map`]), the classifier's encoder on `gpu` when
/// given and while it works (see [`Scorer`]); `progress(done, total)` after each chunk.
pub async fn map_with_fallback(
    gpu: Option<&GpuEncoder>,
    scoring: Scoring<'_>,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(ReportMapping, Option<Fallback>), ModelError> {
    let mut run = scoring.mapping_run(text, agg);
    let mut scorer = Scorer::with_scoring(scoring, gpu);
    while let Some(texts) = run.next_chunk(CHUNK_SENTENCES) {
        let probs = scorer.sentence_probs(&texts, batch).await?;
        let p = run.add_scores(&probs)?;
        progress(p.done, p.total);
    }
    Ok((run.snapshot(), scorer.fallback))
}
