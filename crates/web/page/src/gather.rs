//! Gathering what the workers sharing one job answer into what one worker would have
//! answered: their mappings merged (the mapper's [`merge_shards`]: exactly what one worker
//! would have built from all sentences), their progress summed, their ends joined
//! ([`Gather`]); and a bundle's encoded rows joined in shard order ([`EncodeGather`]).
//!
//! Pure, so it runs in native tests.

use ttpmap_mapper::{merge_shards, AggregateConfig, ReportMapping};

/// How one worker's part of a job ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    Done { mapping: ReportMapping, ms: f64 },
    Cancelled,
}

/// What the page is told when a worker's part of a job ends.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Other workers are still at it.
    Waiting,
    /// Every worker finished: the merged mapping, and the longest worker's mapping time.
    Done { mapping: ReportMapping, ms: f64 },
    /// Every worker has stopped and at least one was cancelled.
    Cancelled,
}

/// The answers of the workers sharing one job, gathered for the page.
#[derive(Debug, Clone)]
pub struct Gather {
    done: Vec<usize>,
    total: usize,
    latest: Vec<Option<ReportMapping>>,
    ends: Vec<Option<End>>,
}

impl Gather {
    pub fn new(count: usize) -> Self {
        let count = count.max(1);
        Gather {
            done: vec![0; count],
            total: 0,
            latest: vec![None; count],
            ends: vec![None; count],
        }
    }

    /// A worker's progress (its own sentences done, of the report's `total`): the sum over workers.
    pub fn progress(&mut self, worker: usize, done: usize, total: usize) -> (usize, usize) {
        if let Some(d) = self.done.get_mut(worker) {
            *d = done;
        }
        self.total = total;
        (self.done.iter().sum::<usize>().min(total), total)
    }

    /// A worker's partial mapping: the merge of every worker's latest.
    pub fn partial(&mut self, worker: usize, mapping: ReportMapping) -> ReportMapping {
        if let Some(slot) = self.latest.get_mut(worker) {
            *slot = Some(mapping);
        }
        let parts: Vec<&ReportMapping> = self.latest.iter().flatten().collect();
        merge_shards(&parts, AggregateConfig::default())
    }

    /// A worker's part ended; says what the page is told, once every worker's has.
    pub fn end(&mut self, worker: usize, end: End) -> Outcome {
        if let Some(slot) = self.ends.get_mut(worker) {
            slot.get_or_insert(end);
        }
        if self.ends.iter().any(Option::is_none) {
            return Outcome::Waiting;
        }
        let mut parts = Vec::new();
        let mut ms = 0f64;
        for end in self.ends.iter().flatten() {
            match end {
                End::Done { mapping, ms: m } => {
                    parts.push(mapping);
                    ms = ms.max(*m);
                }
                End::Cancelled => return Outcome::Cancelled,
            }
        }
        Outcome::Done {
            mapping: merge_shards(&parts, AggregateConfig::default()),
            ms,
        }
    }
}


/// Gathers the workers' encoded rows of one encoding job: sums their progress and, once
/// every worker has answered, joins their rows in shard order.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeGather {
    done: Vec<usize>,
    /// Each worker's rows (file byte form), once it has finished.
    rows: Vec<Option<Vec<u8>>>,
    dim: usize,
}

/// All rows of an encoding job.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedRows {
    pub dim: usize,
    /// The rows in file byte form, in text order.
    pub rows: Vec<u8>,
}

impl EncodeGather {
    pub fn new(count: usize) -> Self {
        EncodeGather { done: vec![0; count.max(1)], rows: vec![None; count.max(1)], dim: 0 }
    }

    /// Worker `worker` has encoded `done` of its texts: the texts encoded by all.
    pub fn progress(&mut self, worker: usize, done: usize) -> usize {
        if let Some(d) = self.done.get_mut(worker) {
            *d = done;
        }
        self.done.iter().sum()
    }

    /// Worker `worker` finished with `rows` (file byte form, `dim` values a row): all
    /// rows once every worker has finished, else `None`; an error when the workers' rows
    /// do not fit together.
    pub fn finish(&mut self, worker: usize, dim: usize, rows: Vec<u8>) -> Result<Option<EncodedRows>, String> {
        if dim > 0 {
            if self.dim > 0 && self.dim != dim {
                return Err(format!("the workers encoded {} and {dim} values a row", self.dim));
            }
            self.dim = dim;
        }
        if let Some(slot) = self.rows.get_mut(worker) {
            *slot = Some(rows);
        }
        if self.rows.iter().any(Option::is_none) {
            return Ok(None);
        }
        let all: Vec<u8> = self.rows.iter_mut().flat_map(|r| r.take().unwrap_or_default()).collect();
        Ok(Some(EncodedRows { dim: self.dim, rows: all }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ttpmap_mapper::{Evidence, TechniqueMapping};

    fn mapping(sentences: usize, score: f32) -> ReportMapping {
        ReportMapping {
            threshold: 0.3,
            aggregation: Default::default(),
            sentences,
            techniques: vec![TechniqueMapping {
                id: "T1053".into(),
                name: "Scheduled Task/Job".into(),
                score,
                evidence: vec![Evidence {
                    start: sentences,
                    end: sentences + 1,
                    score,
                }],
            }],
        }
    }

    #[test]
    fn gather_sums_progress_and_answers_once_every_worker_ended() {
        let mut g = Gather::new(2);
        assert_eq!(g.progress(0, 0, 10), (0, 10));
        assert_eq!(g.progress(1, 4, 10), (4, 10));
        assert_eq!(g.progress(0, 6, 10), (10, 10));
        let p = g.partial(1, mapping(4, 0.9));
        assert_eq!((p.sentences, p.techniques[0].score), (4, 0.9));
        assert_eq!(g.end(0, End::Done { mapping: mapping(6, 0.5), ms: 30.0 }), Outcome::Waiting);
        match g.end(1, End::Done { mapping: mapping(4, 0.9), ms: 20.0 }) {
            Outcome::Done { mapping, ms } => {
                assert_eq!(ms, 30.0);
                assert_eq!(mapping.sentences, 10);
                assert_eq!(mapping.techniques[0].evidence.len(), 2);
                assert_eq!(mapping.techniques[0].score, 0.9);
            }
            other => panic!("{other:?}"),
        }

        let mut g = Gather::new(2);
        assert_eq!(g.end(1, End::Cancelled), Outcome::Waiting);
        assert_eq!(g.end(0, End::Done { mapping: mapping(6, 0.5), ms: 1.0 }), Outcome::Cancelled);
    }

    #[test]
    fn gathered_rows_follow_shard_order_whatever_order_workers_finish() {
        let mut g = EncodeGather::new(2);
        assert_eq!(g.progress(0, 3), 3);
        assert_eq!(g.progress(1, 2), 5);
        assert_eq!(g.finish(1, 2, vec![5, 6]).unwrap(), None);
        let all = g.finish(0, 2, vec![1, 2, 3]).unwrap().unwrap();
        assert_eq!(all.rows, vec![1, 2, 3, 5, 6]);
        assert_eq!(all.dim, 2);
    }

    #[test]
    fn rows_of_different_widths_are_refused() {
        let mut g = EncodeGather::new(2);
        assert_eq!(g.finish(0, 2, vec![1]).unwrap(), None);
        assert!(g.finish(1, 3, vec![2]).is_err());
    }
}
