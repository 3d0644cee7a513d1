//! Report-level evaluation: does the set of techniques detected in a report match the set
//! its human annotators tagged? Micro precision/recall/F1 over all reports, for exact IDs
//! and at the parent-technique level, F1 per report averaged, and a per-tactic breakdown.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use ttpmap_attack::Matrix;

/// True positives, false positives and false negatives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
}

impl Counts {
    pub fn add(&mut self, gold: &BTreeSet<String>, pred: &BTreeSet<String>) {
        self.tp += gold.intersection(pred).count();
        self.fp += pred.difference(gold).count();
        self.fn_ += gold.difference(pred).count();
    }
    /// Adds another set of counts (pooling reports).
    pub fn merge(&mut self, other: &Counts) {
        self.tp += other.tp;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
    pub fn summary(&self) -> Scores {
        Scores { precision: self.precision(), recall: self.recall(), f1: self.f1(), counts: *self }
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Precision, recall and F1 with the counts behind them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub counts: Counts,
}

/// The evaluation of a set of reports.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub reports: usize,
    pub threshold: f32,
    /// Micro scores over exact technique IDs.
    pub exact: Scores,
    /// Micro scores after mapping every sub-technique to its parent.
    pub parent: Scores,
    /// F1 of each report (exact IDs), averaged.
    pub per_document_f1: f64,
    /// Micro scores (exact IDs) restricted to the techniques of each tactic, in matrix order.
    pub per_tactic: Vec<(String, Scores)>,
    /// Micro scores (exact IDs) counting only detections of techniques in TRAM's annotation
    /// vocabulary (the techniques its annotators used in the training and calibration
    /// reports); every gold technique still counts. A secondary figure: TRAM's annotators
    /// tagged from a fixed list, so a detection outside it cannot be judged by TRAM's gold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_vocabulary: Option<VocabularyScores>,
}

/// [`Evaluation::in_vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct VocabularyScores {
    /// Techniques in the vocabulary.
    pub techniques: usize,
    pub exact: Scores,
    /// Detections left out because their technique is outside the vocabulary.
    pub ignored_detections: usize,
}

/// The granularity technique IDs are compared at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Exact IDs: a sub-technique is not its parent.
    Exact,
    /// Every sub-technique counted as its parent.
    Parent,
}

impl Level {
    /// `ids` at this level.
    pub fn apply(self, ids: &BTreeSet<String>) -> BTreeSet<String> {
        match self {
            Level::Exact => ids.clone(),
            Level::Parent => ids.iter().map(|s| parent_id(s).to_string()).collect(),
        }
    }
}

/// `T1053.005` -> `T1053`.
pub fn parent_id(id: &str) -> &str {
    id.split('.').next().unwrap_or(id)
}

/// Evaluates (gold, predicted) technique sets of reports; with `vocabulary`, also the
/// secondary [`Evaluation::in_vocabulary`] figure.
pub fn evaluate(pairs: &[(BTreeSet<String>, BTreeSet<String>)], matrix: &Matrix, threshold: f32, vocabulary: Option<&BTreeSet<String>>) -> Evaluation {
    let mut exact = Counts::default();
    let mut parent = Counts::default();
    let mut doc_f1 = 0.0;
    let mut tactic: BTreeMap<String, Counts> = BTreeMap::new();
    for (gold, pred) in pairs {
        exact.add(gold, pred);
        parent.add(&Level::Parent.apply(gold), &Level::Parent.apply(pred));
        let mut c = Counts::default();
        c.add(gold, pred);
        doc_f1 += if gold.is_empty() && pred.is_empty() { 1.0 } else { c.f1() };
        for t in &matrix.tactics {
            let of = |s: &BTreeSet<String>| -> BTreeSet<String> {
                s.iter().filter(|id| matrix.technique(id).is_some_and(|x| x.tactics.contains(&t.shortname))).cloned().collect()
            };
            tactic.entry(t.shortname.clone()).or_default().add(&of(gold), &of(pred));
        }
    }
    let per_tactic = matrix
        .tactics
        .iter()
        .map(|t| (t.shortname.clone(), tactic.get(&t.shortname).copied().unwrap_or_default().summary()))
        .collect();
    Evaluation {
        reports: pairs.len(),
        threshold,
        exact: exact.summary(),
        parent: parent.summary(),
        per_document_f1: if pairs.is_empty() { 0.0 } else { doc_f1 / pairs.len() as f64 },
        per_tactic,
        in_vocabulary: vocabulary.map(|v| vocabulary_scores(pairs, v)),
    }
}

/// Exact-ID counts when detections outside `vocabulary` are left out (gold all counts).
pub fn vocabulary_scores(pairs: &[(BTreeSet<String>, BTreeSet<String>)], vocabulary: &BTreeSet<String>) -> VocabularyScores {
    let mut c = Counts::default();
    let mut ignored = 0;
    for (gold, pred) in pairs {
        let kept: BTreeSet<String> = pred.intersection(vocabulary).cloned().collect();
        ignored += pred.len() - kept.len();
        c.add(gold, &kept);
    }
    VocabularyScores { techniques: vocabulary.len(), exact: c.summary(), ignored_detections: ignored }
}

/// The global threshold that maximises micro-F1 (exact IDs) on the given reports;
/// `scores[r][l]` is report r's score for label l (from its sentences, by the aggregation rule).
pub fn best_threshold(scores: &[Vec<f32>], gold: &[BTreeSet<String>], labels: &[String]) -> (f32, f64) {
    let mut best = (0.5f32, -1.0f64);
    for step in 5..=95 {
        let t = step as f32 / 100.0;
        let mut c = Counts::default();
        for (s, g) in scores.iter().zip(gold) {
            c.add(g, &predicted(s, labels, t));
        }
        if c.f1() > best.1 {
            best = (t, c.f1());
        }
    }
    best
}

/// Label IDs whose report score reaches `threshold`. `scores` is one report's label scores.
pub fn predicted(scores: &[f32], labels: &[String], threshold: f32) -> BTreeSet<String> {
    labels.iter().zip(scores.iter().copied()).filter(|(_, s)| *s >= threshold).map(|(l, _)| l.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn counts_give_f1() {
        let mut c = Counts::default();
        c.add(&set(&["A", "B"]), &set(&["B", "C"]));
        assert_eq!((c.tp, c.fp, c.fn_), (1, 1, 1));
        assert!((c.f1() - 0.5).abs() < 1e-9);
    }

    #[test]
    fn vocabulary_scores_ignore_only_detections_outside_it() {
        let vocab = set(&["A", "B"]);
        // C is outside the vocabulary: ignored as a detection; D is gold outside it: still missed.
        let pairs = vec![(set(&["A", "D"]), set(&["A", "B", "C"]))];
        let v = vocabulary_scores(&pairs, &vocab);
        assert_eq!((v.exact.counts.tp, v.exact.counts.fp, v.exact.counts.fn_), (1, 1, 1));
        assert_eq!(v.ignored_detections, 1);
        assert_eq!(v.techniques, 2);
    }

    #[test]
    fn parent_level_forgives_sub_technique_confusion() {
        assert_eq!(parent_id("T1053.005"), "T1053");
        assert_eq!(parent_id("T1053"), "T1053");
    }

    #[test]
    fn threshold_picks_the_separating_value() {
        let labels = vec!["A".to_string(), "B".to_string()];
        let scores = vec![vec![0.9, 0.3], vec![0.2, 0.8]];
        let gold = vec![set(&["A"]), set(&["B"])];
        let (t, f1) = best_threshold(&scores, &gold, &labels);
        assert!(t > 0.3 && t <= 0.8, "threshold {t}");
        assert_eq!(f1, 1.0);
    }
}
