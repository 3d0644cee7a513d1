//! The map job: maps a text (or this worker's shard of it) chunk by chunk, with the
//! classifier (on the GPU while it works) or, for a matrix chosen by the page, by
//! similarity; streams progress and partial mappings, and the final one.
//!
//! Chunks are sized to take about [`chunk::TARGET_MS`]; between two, the job yields to the
//! event loop ([`crate::engine::Engine::still_wanted`]) so a Cancel is read within a
//! fraction of a second without restarting the worker and reloading the model.

use std::rc::Rc;

use ttpmap_attack::Matrix;
use ttpmap_mapper::segment;
use ttpmap_mapper::similarity::{SimilarityConfig, SimilarityMapper, TechniqueVectors};
use ttpmap_mapper::{AggregateConfig, BatchConfig, Classifier, MappingBuilder};
use ttpmap_web_protocol::{deal, FromWorker, JobError, JobEvent, JobId, Shard, SimilarityTarget};

use crate::engine::Engine;

/// Least time between two partial mappings sent to the page.
const PARTIAL_EVERY_MS: f64 = 400.0;
/// Sentences tokenized (to deal a shared report) between two looks at the message queue.
const TOKENIZE_SLICE: usize = 1024;

/// How many sentences to score between two looks at the message queue.
///
/// Small chunks are also the fastest: in the browser, scoring a few sentences at a time
/// (little padding) beat larger length-sorted batches. On the 5,000-word fixture, chunks
/// of about 150 ms mapped in 17 s and chunks of 1.2 s in 25.7 s (tests/e2e/bench.mjs,
/// one run each, back to back on the 2-core development machine).
pub mod chunk {
    /// Aimed-for time per chunk: how long a Cancel may wait.
    pub const TARGET_MS: f64 = 150.0;
    pub const MIN: usize = 1;
    pub const MAX: usize = 64;
    /// The first chunk, before any timing is known.
    pub const FIRST: usize = 8;

    /// The next chunk size after `done` sentences took `ms`: scaled towards
    /// [`TARGET_MS`], at most doubling per step so one fast chunk of short sentences does
    /// not make the next one huge.
    pub fn next(current: usize, done: usize, ms: f64) -> usize {
        if done == 0 || !ms.is_finite() || ms <= 0.0 {
            return (current * 2).clamp(MIN, MAX);
        }
        let per_sentence = ms / done as f64;
        let ideal = (TARGET_MS / per_sentence).floor() as usize;
        ideal.min(current * 2).clamp(MIN, MAX)
    }
}

/// A matrix mapped by similarity, ready to use.
pub struct Similarity {
    matrix: Matrix,
    vectors: TechniqueVectors,
    config: SimilarityConfig,
}

impl Similarity {
    pub fn parse(target: SimilarityTarget) -> Result<Similarity, JobError> {
        let json = String::from_utf8(target.vectors)
            .map_err(|e| JobError::Vectors { detail: e.to_string() })?;
        let vectors = TechniqueVectors::from_json(&json).map_err(|e| JobError::Vectors { detail: e.to_string() })?;
        let config = SimilarityConfig::for_vectors(&vectors);
        Ok(Similarity { matrix: target.matrix, vectors, config })
    }
}

impl Engine {
    /// The sentences of `shard`, in text order: all of them for a whole report; else the
    /// deal by token count that every worker sharing the report computes alike.
    async fn my_sentences(
        &self,
        classifier: &Classifier,
        job: JobId,
        text: &str,
        sentences: &[segment::Sentence],
        shard: Shard,
    ) -> Result<Option<Vec<usize>>, JobError> {
        if shard.is_whole() {
            return Ok(Some((0..sentences.len()).collect()));
        }
        let mut tokens = vec![0usize; sentences.len()];
        for from in (0..sentences.len()).step_by(TOKENIZE_SLICE) {
            if !self.still_wanted(job).await {
                return Ok(None);
            }
            let to = (from + TOKENIZE_SLICE).min(sentences.len());
            let texts: Vec<&str> = sentences[from..to].iter().map(|s| s.text(text)).collect();
            let windows = classifier
                .windows(&texts)
                .map_err(|e| JobError::Text { detail: e.to_string() })?;
            for w in windows {
                tokens[from + w.sentence] += w.ids.len();
            }
        }
        let owner = deal(&tokens, shard.count);
        Ok(Some(
            (0..sentences.len())
                .filter(|&s| owner[s] == shard.index)
                .collect(),
        ))
    }

    /// Maps the sentences of `shard` of `text` for `job`, chunk by chunk, until done,
    /// cancelled or replaced. Progress counts this worker's sentences of the report's total.
    pub async fn map(&self, classifier: &Classifier, job: JobId, text: &str, shard: Shard) {
        let started = self.now();
        let sentences = segment::sentences(text);
        let total = sentences.len();
        let similarity: Option<Rc<Similarity>> = match &*self.similarity.borrow() {
            Ok(s) => s.clone(),
            Err(error) => {
                self.post_job(job, JobEvent::Failed { error: error.clone() });
                return;
            }
        };
        // Similarity runs on the CPU encoder (its pooled vectors); the classifier may use the GPU.
        let mapper = similarity
            .as_ref()
            .map(|s| SimilarityMapper::new(classifier, &s.vectors, &s.matrix, s.config));
        let (mut builder, threshold) = match &mapper {
            Some(m) => (
                MappingBuilder::new(m.labels(), AggregateConfig::default()),
                m.config().threshold,
            ),
            None => (
                classifier.mapping_builder(AggregateConfig::default()),
                classifier.manifest.threshold,
            ),
        };
        // The GPU while it works; on a GPU error the CPU scores that chunk again and the rest.
        let gpu = self.gpu.encoder();
        let mut scorer = ttpmap_gpu::Scorer::new(classifier, gpu.as_deref());
        let mut fell_back = false;
        self.post_job(job, JobEvent::MapProgress { done: 0, total });
        let mut mine = match self
            .my_sentences(classifier, job, text, &sentences, shard)
            .await
        {
            Ok(Some(mine)) => mine,
            Ok(None) => return,
            Err(error) => {
                self.post_job(job, JobEvent::Failed { error });
                return;
            }
        };
        // Shortest first: a chunk (a few sentences, ~150 ms) is one or two encoder batches,
        // padded to its longest sentence, so chunks of sentences in text order padded the
        // fixture report to about twice its real tokens. The mapping does not depend on the
        // order (evidence is ordered by score, then offset).
        mine.sort_by_key(|&s| sentences[s].end - sentences[s].start);
        let mut last_partial = started;
        let mut size = chunk::FIRST;
        let mut at = 0;
        while at < mine.len() {
            if !self.still_wanted(job).await {
                return;
            }
            let end = (at + size).min(mine.len());
            let texts: Vec<&str> = mine[at..end]
                .iter()
                .map(|&s| sentences[s].text(text))
                .collect();
            let t0 = self.now();
            let scored = match &mapper {
                Some(m) => m.sentence_scores(&texts, BatchConfig::default()).map_err(|e| e.to_string()),
                None => scorer.sentence_probs(&texts, BatchConfig::default()).await.map_err(|e| e.to_string()),
            };
            let probs = match scored {
                Ok(p) => p,
                Err(detail) => {
                    self.post_job(job, JobEvent::Failed { error: JobError::Text { detail } });
                    return;
                }
            };
            for (&s, p) in mine[at..end].iter().zip(&probs) {
                builder.add(sentences[s].start, sentences[s].end, p);
            }
            if let (false, Some(f)) = (fell_back, scorer.fallback()) {
                fell_back = true;
                web_sys::console::warn_1(&format!("ttpmap: GPU failed, continuing on the CPU: {}", f.error).into());
                let status = self.gpu.fell_back(f);
                self.post(FromWorker::Backend { status });
            }
            size = chunk::next(size, end - at, self.now() - t0);
            at = end;
            self.post_job(job, JobEvent::MapProgress { done: at, total });
            if at < mine.len() && self.now() - last_partial >= PARTIAL_EVERY_MS {
                last_partial = self.now();
                self.post_job(job, JobEvent::Partial { mapping: builder.snapshot(threshold) });
            }
        }
        self.post_job(
            job,
            JobEvent::Done {
                mapping: builder.snapshot(threshold),
                ms: self.now() - started,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::chunk;

    #[test]
    fn chunks_aim_at_the_target_time() {
        // 50 ms per sentence: 3 sentences fill 150 ms.
        assert_eq!(chunk::next(8, 8, 400.0), 3);
    }

    #[test]
    fn chunks_grow_at_most_twofold_and_stay_in_bounds() {
        assert_eq!(chunk::next(8, 8, 8.0), 16);
        assert_eq!(chunk::next(64, 64, 1.0), chunk::MAX);
        assert_eq!(chunk::next(8, 8, 100_000.0), chunk::MIN);
        assert_eq!(chunk::next(8, 0, 0.0), 16);
        assert_eq!(chunk::next(8, 8, f64::NAN), 16);
    }
}
