//! What scores a report's sentences, chosen in one place: the trained classifier over its
//! own labels, the similarity mapping over a matrix's technique vectors (a matrix the
//! classifier was not trained on), or the classifier carried onto another Enterprise
//! release. Callers (the CLI, the GPU path, the browser worker) read the labels, the
//! threshold, the aggregation rule and the sentence scores from a [`Scoring`] and drive a
//! [`MappingRun`] with them, instead of each matching on which mapping it is.

use ttpmap_attack::Matrix;

use crate::mapping::{AggregateConfig, ReportMapping};
use crate::model::{BatchConfig, Classifier, Label, ModelError};
use crate::release::ReleaseMapper;
use crate::run::MappingRun;
use crate::similarity::{SimilarityConfig, SimilarityMapper, TechniqueVectors};
use crate::CHUNK_SENTENCES;

/// How a report's sentences are scored (see the module's documentation).
pub enum Scoring<'a> {
    /// The classifier's probabilities over its labels.
    Classifier(&'a Classifier),
    /// Similarity with a matrix's technique vectors (and the classifier's linked labels).
    Similarity(SimilarityMapper<'a>),
    /// The classifier carried onto another Enterprise release, new techniques by similarity.
    Release(ReleaseMapper<'a>),
}

impl<'a> Scoring<'a> {
    /// The choice between the two mappings of a matrix: by similarity when its technique
    /// vectors are given (with the matrix, for its links, and the settings), else by the
    /// classifier.
    pub fn new(classifier: &'a Classifier, similarity: Option<(&'a TechniqueVectors, &Matrix, SimilarityConfig)>) -> Self {
        match similarity {
            Some((vectors, matrix, config)) => Scoring::Similarity(SimilarityMapper::new(classifier, vectors, matrix, config)),
            None => Scoring::Classifier(classifier),
        }
    }

    /// The classifier when it scores alone: what the GPU encoder can run in its place.
    pub fn plain_classifier(&self) -> Option<&'a Classifier> {
        match self {
            Scoring::Classifier(c) => Some(c),
            _ => None,
        }
    }

    /// The techniques scored, one score column each.
    pub fn labels(&self) -> &[Label] {
        match self {
            Scoring::Classifier(c) => c.labels(),
            Scoring::Similarity(m) => m.labels(),
            Scoring::Release(m) => m.plan().columns(),
        }
    }

    /// The default detection threshold of this mapping.
    pub fn threshold(&self) -> f32 {
        match self {
            Scoring::Classifier(c) => c.manifest.threshold,
            Scoring::Similarity(m) => m.config().threshold,
            Scoring::Release(m) => m.classifier().manifest.threshold,
        }
    }

    /// A [`MappingRun`] over `text` with this mapping's labels, rule and threshold (the
    /// classifier's rule where the classifier scores; `agg` as given for similarity).
    pub fn mapping_run<'t>(&self, text: &'t str, agg: AggregateConfig) -> MappingRun<'t> {
        match self {
            Scoring::Classifier(c) => c.mapping_run(text, agg),
            Scoring::Similarity(m) => m.mapping_run(text, agg),
            Scoring::Release(m) => m.mapping_run(text, agg),
        }
    }

    /// Scores per sentence, one per label (on the CPU).
    pub fn sentence_scores<S: AsRef<str>>(&self, sentences: &[S], batch: BatchConfig) -> Result<Vec<Vec<f32>>, ModelError> {
        match self {
            Scoring::Classifier(c) => c.sentence_probs(sentences, batch),
            Scoring::Similarity(m) => m.sentence_scores(sentences, batch),
            Scoring::Release(m) => m.sentence_scores(sentences, batch),
        }
    }

    /// Maps `text` on the CPU, [`CHUNK_SENTENCES`] at a time, calling `progress(done, total)`
    /// after each chunk.
    pub fn map(&self, text: &str, agg: AggregateConfig, batch: BatchConfig, progress: &mut dyn FnMut(usize, usize)) -> Result<ReportMapping, ModelError> {
        self.mapping_run(text, agg).drive(CHUNK_SENTENCES, progress, &mut |texts| self.sentence_scores(texts, batch))
    }
}
