//! A mapping run: the one loop "segment, score in chunks, aggregate, snapshot" as a state
//! machine that scores nothing itself.
//!
//! A [`MappingRun`] holds one report's sentences still to score. Its caller asks it for
//! the next chunk of sentence texts ([`MappingRun::next_chunk`]), scores them however it
//! likes (candle on the CPU, the GPU encoder, the similarity mapping), gives the scores
//! back ([`MappingRun::add_scores`]), and may read [`MappingRun::progress`] or take a
//! [`MappingRun::snapshot`] (a [`ReportMapping`]) at any point. So the CLI drives it
//! synchronously ([`MappingRun::drive`]), and the GPU crate and the browser worker drive it
//! asynchronously with an `.await` between chunks, all through the same code.
//!
//! A report may be shared by several workers: each makes the same run, keeps only its
//! shard of the sentences ([`MappingRun::keep_shard`], the deal of [`deal`]), and
//! [`crate::mapping::merge_shards`] joins their mappings into what one run over all the
//! sentences gives. The order in which sentences are scored never changes the mapping
//! (evidence is ordered by score, then offset), so a run may score the shortest first
//! ([`MappingRun::shortest_first`]: less padding per chunk).

use crate::mapping::{AggregateConfig, MappingBuilder, ReportMapping};
use crate::manifest::Label;
use crate::segment::{self, Sentence};

/// A run was driven out of order or fed scores that do not fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// Scores were given while no chunk was handed out.
    #[error("scores were given but no chunk of sentences was handed out")]
    NoChunk,
    /// The scores have another number of rows than the chunk has sentences.
    #[error("the chunk has {expected} sentences but {got} rows of scores were given")]
    ScoreCount { expected: usize, got: usize },
    /// A shard was chosen after scoring had begun.
    #[error("a run's shard must be chosen before any sentence is handed out")]
    Started,
    /// The token counts given for the deal are not one per sentence.
    #[error("the report has {expected} sentences but {got} token counts were given")]
    TokenCount { expected: usize, got: usize },
    /// Shard `index` of `count` does not exist.
    #[error("there is no shard {index} of {count}")]
    NoShard { index: usize, count: usize },
}

/// How far a run is: `done` of the sentences it scores are scored; `total` is every
/// sentence of the report (a shard's run scores only some of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// One report's mapping in progress (see the module's documentation).
#[derive(Debug, Clone)]
pub struct MappingRun<'t> {
    text: &'t str,
    sentences: Vec<Sentence>,
    /// Indices into `sentences` this run scores, in scoring order.
    queue: Vec<usize>,
    /// Where in `queue` the chunk handed out starts, while its scores are awaited.
    handed: Option<usize>,
    /// Where in `queue` the next chunk starts.
    next: usize,
    builder: MappingBuilder,
    threshold: f32,
}

impl<'t> MappingRun<'t> {
    /// A run over every sentence of `text`, in text order, aggregating scores over
    /// `labels` (one column each) by `agg`; its mappings say `threshold` is the default.
    pub fn new(text: &'t str, labels: &[Label], threshold: f32, agg: AggregateConfig) -> Self {
        Self::with_builder(text, MappingBuilder::new(labels, agg), threshold)
    }

    /// [`MappingRun::new`] with a builder made elsewhere (`Classifier::mapping_builder`
    /// carries the model's rule).
    pub fn with_builder(text: &'t str, builder: MappingBuilder, threshold: f32) -> Self {
        let sentences = segment::sentences(text);
        let queue = (0..sentences.len()).collect();
        Self { text, sentences, queue, handed: None, next: 0, builder, threshold }
    }

    /// The report text.
    pub fn text(&self) -> &'t str {
        self.text
    }

    /// Every sentence of the report, in text order (also those another shard scores).
    pub fn sentences(&self) -> &[Sentence] {
        &self.sentences
    }

    /// Keeps only the sentences [`deal`] gives to shard `index` of `count`, given each
    /// sentence's token count (`tokens[i]` for `sentences()[i]`); every worker sharing the
    /// report computes the same deal. Only before the first chunk is handed out.
    pub fn keep_shard(&mut self, tokens: &[usize], index: usize, count: usize) -> Result<(), RunError> {
        if self.next > 0 || self.handed.is_some() {
            return Err(RunError::Started);
        }
        if tokens.len() != self.sentences.len() {
            return Err(RunError::TokenCount { expected: self.sentences.len(), got: tokens.len() });
        }
        if index >= count.max(1) {
            return Err(RunError::NoShard { index, count });
        }
        let owner = deal(tokens, count);
        self.queue.retain(|&s| owner[s] == index);
        Ok(())
    }

    /// Scores the sentences still to score shortest first (by bytes; ties in their
    /// current order): a chunk is padded to its longest sentence, so text order about
    /// doubled the tokens the browser worker's encoder saw. The mapping is the same.
    pub fn shortest_first(&mut self) {
        let sentences = &self.sentences;
        let from = self.handed.unwrap_or(self.next);
        self.queue[from..].sort_by_key(|&s| sentences[s].end - sentences[s].start);
    }

    /// The texts of the next chunk of at most `max` sentences (at least one), or `None`
    /// when every sentence is scored. Until its scores are given, the same chunk is handed
    /// out again (a caller that failed to score it may retry).
    pub fn next_chunk(&mut self, max: usize) -> Option<Vec<&'t str>> {
        let from = match self.handed {
            Some(from) => from,
            None => {
                if self.next >= self.queue.len() {
                    return None;
                }
                let from = self.next;
                self.next = (from + max.max(1)).min(self.queue.len());
                self.handed = Some(from);
                from
            }
        };
        let text = self.text;
        Some(self.queue[from..self.next].iter().map(|&s| self.sentences[s].text(text)).collect())
    }

    /// The scores of the chunk handed out, one row (a score per label) per sentence in
    /// the chunk's order.
    pub fn add_scores(&mut self, scores: &[Vec<f32>]) -> Result<Progress, RunError> {
        let from = self.handed.ok_or(RunError::NoChunk)?;
        let chunk = &self.queue[from..self.next];
        if scores.len() != chunk.len() {
            return Err(RunError::ScoreCount { expected: chunk.len(), got: scores.len() });
        }
        for (&s, row) in chunk.iter().zip(scores) {
            let sentence = self.sentences[s];
            self.builder.add(sentence.start, sentence.end, row);
        }
        self.handed = None;
        Ok(self.progress())
    }

    /// Sentences scored so far, of the report's.
    pub fn progress(&self) -> Progress {
        Progress { done: self.builder.sentences(), total: self.sentences.len() }
    }

    /// Sentences this run has still to score (a chunk handed out counts until scored).
    pub fn remaining(&self) -> usize {
        self.queue.len() - self.handed.unwrap_or(self.next)
    }

    /// Whether every sentence of the run is scored.
    pub fn is_done(&self) -> bool {
        self.remaining() == 0
    }

    /// The mapping of the sentences scored so far.
    pub fn snapshot(&self) -> ReportMapping {
        self.builder.snapshot(self.threshold)
    }

    /// The synchronous driver: scores every remaining sentence with `score`, `chunk`
    /// sentences at a time, calling `progress(done, total)` after each chunk, and returns
    /// the mapping. The first error of `score` ends the run.
    pub fn drive<E: From<RunError>>(
        mut self,
        chunk: usize,
        progress: &mut dyn FnMut(usize, usize),
        score: &mut dyn FnMut(&[&str]) -> Result<Vec<Vec<f32>>, E>,
    ) -> Result<ReportMapping, E> {
        while let Some(texts) = self.next_chunk(chunk) {
            let p = self.add_scores(&score(&texts)?)?;
            progress(p.done, p.total);
        }
        Ok(self.snapshot())
    }
}

/// The shard of each sentence, given each sentence's token count: longest first (ties in
/// text order), each to the shard with the fewest tokens so far (ties to the lowest index).
/// Deterministic, so every worker sharing a report computes the same deal.
pub fn deal(tokens: &[usize], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by(|&a, &b| tokens[b].cmp(&tokens[a]).then(a.cmp(&b)));
    let mut load = vec![0usize; count];
    let mut out = vec![0; tokens.len()];
    for s in order {
        let mut shard = 0;
        for (i, &l) in load.iter().enumerate() {
            if l < load[shard] {
                shard = i;
            }
        }
        out[s] = shard;
        load[shard] += tokens[s];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{merge_shards, Aggregation};

    const TEXT: &str = "The actor sent spearphishing emails with macro documents. \
        The macro ran PowerShell to download a loader from 203.0.113.7. \
        A scheduled task kept the loader running after reboots. \
        Credentials were dumped from LSASS memory with a renamed tool. \
        The attackers moved laterally over SMB using the stolen credentials. \
        Data was compressed with 7-Zip and exfiltrated over HTTPS. \
        They cleared the Windows event logs. \
        d41d8cd98f00b204e9800998ecf8427e. \
        The loader was signed with a stolen certificate. \
        Finally, the ransomware encrypted the file servers.";

    fn labels() -> Vec<Label> {
        (0..6).map(|i| Label { id: format!("T{}", 1000 + i), name: format!("Technique {i}") }).collect()
    }

    /// Deterministic scores from a sentence's text: what a model would give, without one.
    fn fake_scores(texts: &[&str]) -> Vec<Vec<f32>> {
        texts
            .iter()
            .map(|t| {
                let mut h = t.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                (0..labels().len())
                    .map(|_| {
                        h ^= h << 13;
                        h ^= h >> 7;
                        h ^= h << 17;
                        ((h >> 40) as f32 / (1u64 << 24) as f32).powi(2)
                    })
                    .collect()
            })
            .collect()
    }

    fn cfg(rule: Aggregation) -> AggregateConfig {
        AggregateConfig { floor: 0.05, max_evidence: 3, rule }
    }

    fn run(rule: Aggregation) -> MappingRun<'static> {
        MappingRun::new(TEXT, &labels(), 0.4, cfg(rule))
    }

    fn one_shot(rule: Aggregation) -> ReportMapping {
        run(rule).drive(usize::MAX, &mut |_, _| {}, &mut |t| Ok::<_, RunError>(fake_scores(t))).unwrap()
    }

    #[test]
    fn chunk_by_chunk_gives_the_one_shot_mapping() {
        for rule in [Aggregation::BestSentence, Aggregation::MeanOfBestTwo] {
            let want = one_shot(rule);
            assert_eq!(want.sentences, segment::sentences(TEXT).len());
            assert!(!want.techniques.is_empty());
            for size in [1, 2, 3, 7] {
                let mut r = run(rule);
                while let Some(texts) = r.next_chunk(size) {
                    assert!(texts.len() <= size);
                    r.add_scores(&fake_scores(&texts)).unwrap();
                }
                assert_eq!(r.snapshot(), want, "chunks of {size}, {rule:?}");
            }
            // Shortest first, in chunks that change size as the browser worker's do.
            let mut r = run(rule);
            r.shortest_first();
            let mut size = 1;
            let mut lengths = Vec::new();
            while let Some(texts) = r.next_chunk(size) {
                lengths.extend(texts.iter().map(|t| t.len()));
                r.add_scores(&fake_scores(&texts)).unwrap();
                size += 1;
            }
            assert!(lengths.windows(2).all(|w| w[0] <= w[1]), "{lengths:?}");
            assert_eq!(r.snapshot(), want, "shortest first, {rule:?}");
        }
    }

    #[test]
    fn progress_counts_scored_sentences_of_the_report() {
        let total = segment::sentences(TEXT).len();
        let mut r = run(Aggregation::BestSentence);
        assert_eq!((r.progress(), r.remaining(), r.is_done()), (Progress { done: 0, total }, total, false));
        let texts = r.next_chunk(4).unwrap();
        // Handed out but not scored: still remaining, not done.
        assert_eq!((r.progress().done, r.remaining()), (0, total));
        assert_eq!(r.add_scores(&fake_scores(&texts)).unwrap(), Progress { done: 4, total });
        assert_eq!(r.remaining(), total - 4);
        let mut seen = Vec::new();
        let m = r.drive(3, &mut |d, t| seen.push((d, t)), &mut |t| Ok::<_, RunError>(fake_scores(t))).unwrap();
        let want: Vec<(usize, usize)> = (4..total).step_by(3).map(|d| ((d + 3).min(total), total)).collect();
        assert_eq!(seen, want);
        assert_eq!(m.sentences, total);
    }

    #[test]
    fn a_chunk_is_handed_out_again_until_scored() {
        let mut r = run(Aggregation::BestSentence);
        let first = r.next_chunk(2).unwrap();
        assert_eq!(r.next_chunk(5).unwrap(), first);
        r.add_scores(&fake_scores(&first)).unwrap();
        assert_ne!(r.next_chunk(2).unwrap(), first);
    }

    #[test]
    fn scores_that_do_not_fit_are_refused() {
        let mut r = run(Aggregation::BestSentence);
        assert_eq!(r.add_scores(&[]), Err(RunError::NoChunk));
        let texts = r.next_chunk(3).unwrap();
        assert_eq!(r.add_scores(&fake_scores(&texts[..2])), Err(RunError::ScoreCount { expected: 3, got: 2 }));
        // The refused scores changed nothing: the chunk is still out.
        assert_eq!(r.progress().done, 0);
        assert_eq!(r.add_scores(&fake_scores(&texts)).map(|p| p.done), Ok(3));
        let tokens = vec![1; r.sentences().len()];
        assert_eq!(r.keep_shard(&tokens, 0, 2), Err(RunError::Started));
        let mut r = run(Aggregation::BestSentence);
        assert_eq!(r.keep_shard(&tokens[1..], 0, 2), Err(RunError::TokenCount { expected: tokens.len(), got: tokens.len() - 1 }));
        assert_eq!(r.keep_shard(&tokens, 2, 2), Err(RunError::NoShard { index: 2, count: 2 }));
        // And a scorer's wrong answer ends a driven run with the error.
        let err = run(Aggregation::BestSentence).drive(4, &mut |_, _| {}, &mut |_| Ok::<_, RunError>(Vec::new()));
        assert_eq!(err, Err(RunError::ScoreCount { expected: 4, got: 0 }));
    }

    #[test]
    fn merged_shards_equal_one_run_over_all_sentences() {
        for rule in [Aggregation::BestSentence, Aggregation::MeanOfBestTwo] {
            let want = one_shot(rule);
            let r = run(rule);
            let tokens: Vec<usize> = r.sentences().iter().map(|s| s.end - s.start).collect();
            for count in 1..=4 {
                let parts: Vec<ReportMapping> = (0..count)
                    .map(|index| {
                        let mut r = run(rule);
                        r.keep_shard(&tokens, index, count).unwrap();
                        r.shortest_first();
                        let total = r.sentences().len();
                        let mine = r.remaining();
                        let m = r.drive(2, &mut |_, t| assert_eq!(t, total), &mut |t| Ok::<_, RunError>(fake_scores(t))).unwrap();
                        assert_eq!(m.sentences, mine);
                        m
                    })
                    .collect();
                let refs: Vec<&ReportMapping> = parts.iter().collect();
                // The merge reads the rule from the parts, whatever the caller's config says.
                assert_eq!(merge_shards(&refs, cfg(Aggregation::BestSentence)), want, "{count} shards, {rule:?}");
            }
        }
    }

    #[test]
    fn the_deal_balances_tokens_and_covers_every_sentence() {
        let tokens: Vec<usize> = (0..421).map(|i| 3 + (i * 53) % 120).collect();
        let total: usize = tokens.iter().sum();
        for count in 1..=4 {
            let owner = deal(&tokens, count);
            assert_eq!(owner.len(), tokens.len());
            let mut load = vec![0usize; count];
            for (s, &o) in owner.iter().enumerate() {
                assert!(o < count);
                load[o] += tokens[s];
            }
            assert_eq!(load.iter().sum::<usize>(), total);
            let (min, max) = (load.iter().min().unwrap(), load.iter().max().unwrap());
            // Longest-first dealing: shards differ by at most the longest sentence.
            assert!(max - min <= *tokens.iter().max().unwrap(), "{load:?}");
        }
        assert_eq!(deal(&tokens, 3), deal(&tokens, 3));
        assert_eq!(deal(&[], 2), Vec::<usize>::new());
        assert_eq!(deal(&[4, 9, 1], 1), vec![0, 0, 0]);
        assert_eq!(deal(&[4, 9, 1, 4], 2), vec![1, 0, 1, 1]);
    }
}
