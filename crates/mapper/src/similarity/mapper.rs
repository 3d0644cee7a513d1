//! The similarity mapping where it runs the model: prototype texts encoded to technique
//! vectors ([`compute_vectors`]) and sentences scored against them ([`SimilarityMapper`]),
//! with the classifier's linked labels. Behind the crate's `model` feature; the vectors and
//! settings are in the parent module.

use ttpmap_attack::{Examples, Matrix, Technique};

use super::{normalise, prototype_plan_of, keep_best, Pooling, PrototypeConfig, SimilarityConfig, TechniqueVectors, VectorsMeta};
use crate::mapping::{AggregateConfig, ReportMapping};
use crate::model::{BatchConfig, Classifier, Label, ModelError};

/// sha256 of the model's weights as its manifest records it ([`Manifest::weights_sha256`]).
///
/// [`Manifest::weights_sha256`]: crate::Manifest::weights_sha256
pub fn model_sha256(classifier: &Classifier) -> String {
    classifier.manifest.weights_sha256().to_string()
}

/// Encodes texts to L2-normalised vectors (a long text's windows are averaged), in chunks,
/// calling `progress(done, total)` after each.
pub fn encode_texts<S: AsRef<str>>(
    classifier: &Classifier,
    texts: &[S],
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<Vec<f32>>, ModelError> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(64) {
        let windows = classifier.windows(chunk)?;
        let pooled = classifier.pooled(&windows, batch)?;
        let dim = pooled.first().map_or(0, |v| v.len());
        let mut sums = vec![vec![0f32; dim]; chunk.len()];
        for (w, v) in windows.iter().zip(&pooled) {
            sums[w.sentence].iter_mut().zip(v).for_each(|(s, x)| *s += x);
        }
        for mut v in sums {
            normalise(&mut v);
            out.push(v);
        }
        progress(out.len(), texts.len());
    }
    Ok(out)
}

/// Computes the prototype vectors of every technique of `matrix`.
/// `progress(done, total)` counts prototype texts.
pub fn compute_vectors(
    classifier: &Classifier,
    matrix: &Matrix,
    examples: &Examples,
    cfg: &PrototypeConfig,
    source_sha256: &str,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<TechniqueVectors, ModelError> {
    compute_vectors_of(classifier, matrix, &matrix.techniques, examples, cfg, source_sha256, batch, progress)
}

/// [`compute_vectors`] for some of the matrix's techniques (e.g. only those new in a
/// release), in the given order.
#[allow(clippy::too_many_arguments)]
pub fn compute_vectors_of(
    classifier: &Classifier,
    matrix: &Matrix,
    techniques: &[Technique],
    examples: &Examples,
    cfg: &PrototypeConfig,
    source_sha256: &str,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<TechniqueVectors, ModelError> {
    let plan = prototype_plan_of(matrix, techniques, examples, cfg);
    let (texts, example_count) = (plan.texts, plan.examples);
    let mut offsets = vec![0];
    for c in &plan.counts {
        offsets.push(offsets.last().unwrap_or(&0) + c);
    }
    let encoded = encode_texts(classifier, &texts, batch, progress)?;
    let dim = encoded.first().map_or(0, |v| v.len());
    let meta = VectorsMeta {
        matrix: matrix.id.clone(),
        model_sha256: model_sha256(classifier),
        source_sha256: source_sha256.to_string(),
        prototypes: *cfg,
        examples: example_count,
        built_by: String::new(),
    };
    let techniques = techniques.iter().map(|t| Label { id: t.id.clone(), name: t.name.clone() }).collect();
    Ok(TechniqueVectors::new(meta, techniques, offsets, dim, encoded.concat()))
}

/// Scores sentences against a matrix's techniques: similarity, plus linked-technique
/// evidence from the classifier where the matrix has links.
pub struct SimilarityMapper<'a> {
    classifier: &'a Classifier,
    vectors: &'a TechniqueVectors,
    config: SimilarityConfig,
    /// For each technique, the classifier labels that are evidence for it.
    links: Vec<Vec<usize>>,
}

/// One sentence's raw scores, per technique (for evaluation and calibration).
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceScores {
    pub cosine: Vec<f32>,
    /// The classifier's best probability among linked labels; 0 without links.
    pub linked: Vec<f32>,
}

impl<'a> SimilarityMapper<'a> {
    /// `matrix` supplies the links (`Technique::links`); it must be the matrix the vectors
    /// were computed for.
    pub fn new(classifier: &'a Classifier, vectors: &'a TechniqueVectors, matrix: &Matrix, config: SimilarityConfig) -> Self {
        let labels = classifier.labels();
        let links = vectors
            .techniques
            .iter()
            .map(|t| {
                let Some(tech) = matrix.technique(&t.id).filter(|_| config.use_links) else { return Vec::new() };
                labels
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| tech.links.iter().any(|k| l.id == *k || l.id.strip_prefix(k.as_str()).is_some_and(|r| r.starts_with('.'))))
                    .map(|(i, _)| i)
                    .collect()
            })
            .collect();
        Self { classifier, vectors, config, links }
    }

    /// A [`MappingRun`](crate::MappingRun) over `text` with the matrix's techniques and
    /// this mapping's threshold, `agg` as given (the similarity mapping keeps the best sentence).
    pub fn mapping_run<'t>(&self, text: &'t str, agg: AggregateConfig) -> crate::MappingRun<'t> {
        crate::MappingRun::new(text, self.labels(), self.config.threshold, agg)
    }

    pub fn labels(&self) -> &[Label] {
        &self.vectors.techniques
    }

    pub fn config(&self) -> &SimilarityConfig {
        &self.config
    }

    /// Whether any technique has linked classifier labels.
    pub fn has_links(&self) -> bool {
        self.links.iter().any(|l| !l.is_empty())
    }

    /// Raw cosines and linked probabilities of each sentence.
    pub fn raw_scores<S: AsRef<str>>(&self, sentences: &[S], batch: BatchConfig) -> Result<Vec<SentenceScores>, ModelError> {
        Ok(self.raw_scores_pooled(sentences, batch, &[self.config.pooling])?.remove(0))
    }

    /// [`SimilarityMapper::raw_scores`] for several poolings from one encoder pass
    /// (calibration compares them); the outer vector follows `poolings`.
    pub fn raw_scores_pooled<S: AsRef<str>>(
        &self,
        sentences: &[S],
        batch: BatchConfig,
        poolings: &[Pooling],
    ) -> Result<Vec<Vec<SentenceScores>>, ModelError> {
        let windows = self.classifier.windows(sentences)?;
        let pooled = self.classifier.pooled(&windows, batch)?;
        let probs = if self.has_links() { Some(self.classifier.head_probs(&pooled)?) } else { None };
        let n = self.vectors.techniques.len();
        let mut all = vec![vec![SentenceScores { cosine: vec![-1.0; n], linked: vec![0.0; n] }; sentences.len()]; poolings.len()];
        for (i, (w, v)) in windows.iter().zip(&pooled).enumerate() {
            let mut v = v.clone();
            normalise(&mut v);
            for (out, &pooling) in all.iter_mut().zip(poolings) {
                let o = &mut out[w.sentence];
                for (c, x) in o.cosine.iter_mut().zip(self.vectors.cosines(&v, pooling)) {
                    *c = c.max(x);
                }
                if let Some(p) = &probs {
                    for (l, idx) in o.linked.iter_mut().zip(&self.links) {
                        *l = idx.iter().map(|&k| p[i][k]).fold(*l, f32::max);
                    }
                }
            }
        }
        Ok(all)
    }

    /// The 0..1 score of one technique from its raw parts.
    pub fn combine(&self, cosine: f32, linked: f32) -> f32 {
        let s = self.config.map.apply(cosine);
        1.0 - (1.0 - s) * (1.0 - linked)
    }

    /// 0..1 scores per sentence and technique, every technique scored (for ranking).
    pub fn ranked_scores<S: AsRef<str>>(&self, sentences: &[S], batch: BatchConfig) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(self
            .raw_scores(sentences, batch)?
            .into_iter()
            .map(|r| r.cosine.iter().zip(&r.linked).map(|(&c, &l)| self.combine(c, l)).collect())
            .collect())
    }

    /// 0..1 scores per sentence and technique as the report mapping uses them: outside a
    /// sentence's best [`SimilarityConfig::per_sentence`] techniques the score is 0.
    pub fn sentence_scores<S: AsRef<str>>(&self, sentences: &[S], batch: BatchConfig) -> Result<Vec<Vec<f32>>, ModelError> {
        Ok(self.ranked_scores(sentences, batch)?.into_iter().map(|s| keep_best(s, self.config.per_sentence)).collect())
    }
}

/// Maps report text onto the mapper's matrix: the similarity counterpart of
/// [`crate::map_report`], with the same aggregation and result type.
pub fn map_report_similarity(
    mapper: &SimilarityMapper,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ReportMapping, ModelError> {
    mapper.mapping_run(text, agg).drive(crate::CHUNK_SENTENCES, progress, &mut |texts| mapper.sentence_scores(texts, batch))
}
