//! The map job: maps a text (or this worker's shard of it) chunk by chunk, with the
//! classifier (on the GPU while it works) or, for a matrix chosen by the page, by
//! similarity; streams progress and partial mappings, and the final one.
//!
//! Chunks are sized to take about [`chunk::TARGET_MS`]; between two, the job yields to the
//! event loop ([`crate::engine::Engine::still_wanted`]) so a Cancel is read within a
//! fraction of a second without restarting the worker and reloading the model.

use std::rc::Rc;

use ttpmap_attack::Matrix;
use ttpmap_mapper::similarity::{SimilarityConfig, TechniqueVectors};
use ttpmap_mapper::{AggregateConfig, BatchConfig, Classifier, MappingRun, Scoring};
use ttpmap_web_protocol::{FromWorker, JobError, JobEvent, JobId, Shard, SimilarityTarget};

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
    /// Keeps in `run` only the sentences of `shard`: nothing to do for a whole report;
    /// else each sentence's token count, tokenized a slice at a time between looks at the
    /// message queue, for the deal every worker sharing the report computes alike
    /// ([`MappingRun::keep_shard`]). `Ok(false)` when the job is no longer wanted.
    async fn keep_shard(&self, classifier: &Classifier, job: JobId, run: &mut MappingRun<'_>, shard: Shard) -> Result<bool, JobError> {
        if shard.is_whole() {
            return Ok(true);
        }
        let text = run.text();
        let sentences = run.sentences();
        let mut tokens = vec![0usize; sentences.len()];
        for from in (0..sentences.len()).step_by(TOKENIZE_SLICE) {
            if !self.still_wanted(job).await {
                return Ok(false);
            }
            let to = (from + TOKENIZE_SLICE).min(sentences.len());
            let texts: Vec<&str> = sentences[from..to].iter().map(|s| s.text(text)).collect();
            let windows = classifier.windows(&texts).map_err(|e| JobError::Text { detail: e.to_string() })?;
            for w in windows {
                tokens[from + w.sentence] += w.ids.len();
            }
        }
        run.keep_shard(&tokens, shard.index, shard.count).map_err(|e| JobError::Text { detail: e.to_string() })?;
        Ok(true)
    }

    /// Maps the sentences of `shard` of `text` for `job` ([`MappingRun`], driven a chunk
    /// at a time), until done, cancelled or replaced. Progress counts this worker's
    /// sentences of the report's total.
    pub async fn map(&self, classifier: &Classifier, job: JobId, text: &str, shard: Shard) {
        let started = self.now();
        let similarity: Option<Rc<Similarity>> = match &*self.similarity.borrow() {
            Ok(s) => s.clone(),
            Err(error) => {
                self.post_job(job, JobEvent::Failed { error: error.clone() });
                return;
            }
        };
        // The choice classifier-or-similarity is the mapper's (Scoring); the scorer runs
        // the plain classifier on the GPU while it works, the CPU on a GPU error (that
        // chunk again, then the rest), and similarity on the CPU encoder.
        let scoring = Scoring::new(classifier, similarity.as_deref().map(|s| (&s.vectors, &s.matrix, s.config)));
        let mut run = scoring.mapping_run(text, AggregateConfig::default());
        let gpu = self.gpu.encoder();
        let mut scorer = ttpmap_gpu::Scorer::with_scoring(scoring, gpu.as_deref());
        let mut fell_back = false;
        self.post_job(job, JobEvent::MapProgress { done: 0, total: run.progress().total });
        match self.keep_shard(classifier, job, &mut run, shard).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                self.post_job(job, JobEvent::Failed { error });
                return;
            }
        }
        // Shortest first: a chunk (a few sentences, ~150 ms) is one or two encoder batches,
        // padded to its longest sentence, so chunks of sentences in text order padded the
        // fixture report to about twice its real tokens. The mapping is the same.
        run.shortest_first();
        let mut last_partial = started;
        let mut size = chunk::FIRST;
        while !run.is_done() {
            if !self.still_wanted(job).await {
                return;
            }
            let Some(texts) = run.next_chunk(size) else { break };
            let t0 = self.now();
            let progress = match scorer.sentence_probs(&texts, BatchConfig::default()).await {
                Ok(scores) => run.add_scores(&scores).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            let progress = match progress {
                Ok(p) => p,
                Err(detail) => {
                    self.post_job(job, JobEvent::Failed { error: JobError::Text { detail } });
                    return;
                }
            };
            if let (false, Some(f)) = (fell_back, scorer.fallback()) {
                fell_back = true;
                web_sys::console::warn_1(&format!("ttpmap: GPU failed, continuing on the CPU: {}", f.error).into());
                let status = self.gpu.fell_back(f);
                self.post(FromWorker::Backend { status });
            }
            size = chunk::next(size, texts.len(), self.now() - t0);
            self.post_job(job, JobEvent::MapProgress { done: progress.done, total: progress.total });
            if !run.is_done() && self.now() - last_partial >= PARTIAL_EVERY_MS {
                last_partial = self.now();
                self.post_job(job, JobEvent::Partial { mapping: run.snapshot() });
            }
        }
        self.post_job(job, JobEvent::Done { mapping: run.snapshot(), ms: self.now() - started });
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
