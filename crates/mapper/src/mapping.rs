//! The result of mapping a report, and how sentence scores become it.
//!
//! [`ReportMapping`] is the one type every consumer reads: the heatmap, the layer export,
//! the SVG export and the CLI. It keeps every candidate technique down to a low floor so
//! that a threshold can be moved afterwards without re-running the model. How techniques
//! and evidence are ordered ([`sort_techniques`], [`sort_evidence`]), the 0-100 score
//! ([`score_100`]) and how the mappings of a report's shards join ([`merge_shards`]) are
//! written here only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::manifest::Label;

/// A sentence that supports a technique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Byte offsets of the sentence in the report text.
    pub start: usize,
    pub end: usize,
    /// The sentence's probability for the technique, 0..1.
    pub score: f32,
}

/// One technique's report-level result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechniqueMapping {
    pub id: String,
    pub name: String,
    /// Report-level score, 0..1, from the supporting sentences' probabilities by the
    /// mapping's [`Aggregation`] rule.
    pub score: f32,
    /// Supporting sentences, best first.
    pub evidence: Vec<Evidence>,
}

impl TechniqueMapping {
    /// The score on Navigator's 0-100 scale.
    pub fn score_100(&self) -> u32 {
        score_100(self.score)
    }

    /// A technique's result from its evidence (any order, any length): the best
    /// `kept` sentences, scored by `rule`.
    pub(crate) fn from_evidence(id: String, name: String, mut evidence: Vec<Evidence>, kept: usize, rule: Aggregation) -> Self {
        sort_evidence(&mut evidence);
        evidence.truncate(kept);
        TechniqueMapping { id, name, score: rule.score(&evidence), evidence }
    }
}

/// A 0..1 score on Navigator's 0-100 scale (rounded, clamped).
pub fn score_100(score: f32) -> u32 {
    (score * 100.0).round().clamp(0.0, 100.0) as u32
}

/// Techniques in a mapping's order: by score (descending), then ID.
pub fn sort_techniques(techniques: &mut [TechniqueMapping]) {
    techniques.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
}

/// Evidence in a technique's order: by score (descending), then text order.
pub fn sort_evidence(evidence: &mut [Evidence]) {
    evidence.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.start.cmp(&b.start)));
}

/// The mapping of one report: candidate techniques, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportMapping {
    /// The model's calibrated default threshold.
    pub threshold: f32,
    /// How sentence probabilities became the technique scores (the threshold is calibrated for it).
    #[serde(default)]
    pub aggregation: Aggregation,
    /// Sentences scored.
    pub sentences: usize,
    /// Every technique whose best sentence reached the floor, sorted by score (desc), then id.
    pub techniques: Vec<TechniqueMapping>,
}

impl ReportMapping {
    /// Techniques detected at `threshold` (0..1).
    pub fn detected(&self, threshold: f32) -> impl Iterator<Item = &TechniqueMapping> {
        self.techniques.iter().filter(move |t| t.score >= threshold)
    }

    /// Detected technique IDs at `threshold`.
    pub fn detected_ids(&self, threshold: f32) -> Vec<String> {
        self.detected(threshold).map(|t| t.id.clone()).collect()
    }
}

/// `s` on a scale where `from` becomes `to` (both in 0..1 exclusive), linear on each side:
/// monotonic, 0 stays 0 and 1 stays 1. It puts a score with its own threshold (`from`) on
/// the scale of another (`to`), so one threshold, and one slider, serves both.
pub fn rescale(s: f32, from: f32, to: f32) -> f32 {
    if !(from > 0.0 && from < 1.0 && to > 0.0 && to < 1.0) {
        return s;
    }
    if s < from {
        s * to / from
    } else {
        to + (s - from) * (1.0 - to) / (1.0 - from)
    }
}

/// How a technique's sentence probabilities become its report score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The best sentence's probability.
    #[default]
    BestSentence,
    /// The mean of the two best sentences' probabilities, a missing second counting 0: a
    /// technique that one sentence alone supports needs twice the threshold.
    MeanOfBestTwo,
}

impl Aggregation {
    /// The report score from a technique's evidence, best first (sentences under the floor
    /// are not evidence and count 0).
    pub fn score(self, best_first: &[Evidence]) -> f32 {
        let at = |i: usize| best_first.get(i).map_or(0.0, |e| e.score);
        self.combine(at(0), at(1))
    }

    /// The same from bare probabilities, in any order, with the mapping's `floor` applied.
    pub fn score_probs(self, probs: impl IntoIterator<Item = f32>, floor: f32) -> f32 {
        let (mut a, mut b) = (0f32, 0f32);
        for p in probs.into_iter().filter(|&p| p >= floor) {
            if p > a {
                b = a;
                a = p;
            } else if p > b {
                b = p;
            }
        }
        self.combine(a, b)
    }

    /// The score from the best and second-best probabilities (0 where there is none).
    fn combine(self, best: f32, second: f32) -> f32 {
        match self {
            Aggregation::BestSentence => best,
            Aggregation::MeanOfBestTwo => (best + second) / 2.0,
        }
    }
}

/// How sentence scores are kept and combined.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregateConfig {
    /// Sentence probabilities below this are dropped (the threshold slider's lower end).
    pub floor: f32,
    /// Most evidence sentences kept per technique (at least two are always kept).
    pub max_evidence: usize,
    /// How the kept sentences make the report score. The classifier's mapping functions
    /// use the model's rule (`Manifest::aggregation`) whatever is given here.
    pub rule: Aggregation,
}

impl Default for AggregateConfig {
    fn default() -> Self {
        Self { floor: 0.05, max_evidence: 25, rule: Aggregation::BestSentence }
    }
}

impl AggregateConfig {
    /// Evidence kept per technique: `max_evidence`, but never fewer than the rule reads.
    pub fn kept(&self) -> usize {
        self.max_evidence.max(2)
    }
}

/// Accumulates sentence scores into a [`ReportMapping`], sentence by sentence, in bounded memory.
#[derive(Debug, Clone)]
pub struct MappingBuilder {
    labels: Vec<Label>,
    cfg: AggregateConfig,
    evidence: Vec<Vec<Evidence>>,
    sentences: usize,
}

impl MappingBuilder {
    pub fn new(labels: &[Label], cfg: AggregateConfig) -> Self {
        Self { labels: labels.to_vec(), cfg, evidence: vec![Vec::new(); labels.len()], sentences: 0 }
    }

    /// Sentences added so far.
    pub fn sentences(&self) -> usize {
        self.sentences
    }

    /// Adds one sentence at `start..end` with its per-label probabilities.
    pub fn add(&mut self, start: usize, end: usize, probs: &[f32]) {
        self.sentences += 1;
        for (label, &p) in probs.iter().enumerate().take(self.labels.len()) {
            if p >= self.cfg.floor {
                let ev = &mut self.evidence[label];
                ev.push(Evidence { start, end, score: p });
                if ev.len() > 2 * self.cfg.kept() {
                    sort_evidence(ev);
                    ev.truncate(self.cfg.kept());
                }
            }
        }
    }

    /// The mapping so far (can be called repeatedly to stream partial results).
    pub fn snapshot(&self, threshold: f32) -> ReportMapping {
        let mut techniques: Vec<TechniqueMapping> = self
            .evidence
            .iter()
            .enumerate()
            .filter(|(_, ev)| !ev.is_empty())
            .map(|(i, ev)| {
                let label = &self.labels[i];
                TechniqueMapping::from_evidence(label.id.clone(), label.name.clone(), ev.clone(), self.cfg.kept(), self.cfg.rule)
            })
            .collect();
        sort_techniques(&mut techniques);
        ReportMapping { threshold, aggregation: self.cfg.rule, sentences: self.sentences, techniques }
    }
}

/// The mapping of all of a report's sentences from the mappings of disjoint sets of them
/// (the shards of [`crate::run::MappingRun::keep_shard`]): per technique, the best
/// `cfg.kept()` sentences of all, the report score made from them by the parts' own
/// aggregation rule (`cfg.rule` only when there are no parts); the threshold of the first
/// part; the sentences summed. Equal to what one [`MappingBuilder`] makes from all the
/// sentences with the parts' floor and `cfg.max_evidence`.
pub fn merge_shards(parts: &[&ReportMapping], cfg: AggregateConfig) -> ReportMapping {
    let threshold = parts.first().map_or(0.5, |m| m.threshold);
    let rule = parts.first().map_or(cfg.rule, |m| m.aggregation);
    let mut by_id: BTreeMap<&str, (&str, Vec<Evidence>)> = BTreeMap::new();
    for m in parts {
        for t in &m.techniques {
            let entry = by_id.entry(t.id.as_str()).or_insert_with(|| (t.name.as_str(), Vec::new()));
            entry.1.extend(t.evidence.iter().cloned());
        }
    }
    let mut techniques: Vec<TechniqueMapping> = by_id
        .into_iter()
        .filter(|(_, (_, ev))| !ev.is_empty())
        .map(|(id, (name, ev))| TechniqueMapping::from_evidence(id.to_string(), name.to_string(), ev, cfg.kept(), rule))
        .collect();
    sort_techniques(&mut techniques);
    ReportMapping { threshold, aggregation: rule, sentences: parts.iter().map(|m| m.sentences).sum(), techniques }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<Label> {
        vec![Label { id: "T1".into(), name: "One".into() }, Label { id: "T2".into(), name: "Two".into() }]
    }

    #[test]
    fn report_score_is_best_sentence() {
        let mut b = MappingBuilder::new(&labels(), AggregateConfig::default());
        b.add(0, 5, &[0.2, 0.0]);
        b.add(6, 9, &[0.9, 0.0]);
        let m = b.snapshot(0.5);
        assert_eq!(m.techniques.len(), 1);
        assert_eq!(m.techniques[0].score, 0.9);
        assert_eq!(m.techniques[0].evidence[0].start, 6);
    }

    #[test]
    fn floor_drops_weak_sentences() {
        let mut b = MappingBuilder::new(&labels(), AggregateConfig { floor: 0.1, max_evidence: 5, ..Default::default() });
        b.add(0, 5, &[0.05, 0.09]);
        assert!(b.snapshot(0.5).techniques.is_empty());
    }

    #[test]
    fn evidence_is_capped_and_keeps_the_best() {
        let mut b = MappingBuilder::new(&labels(), AggregateConfig { floor: 0.0, max_evidence: 3, ..Default::default() });
        for i in 0..100 {
            b.add(i, i + 1, &[i as f32 / 100.0, 0.0]);
        }
        let m = b.snapshot(0.5);
        let t = m.techniques.iter().find(|t| t.id == "T1").unwrap();
        assert_eq!(t.evidence.iter().map(|e| e.start).collect::<Vec<_>>(), vec![99, 98, 97]);
    }

    #[test]
    fn mean_of_best_two_needs_corroboration() {
        let cfg = AggregateConfig { rule: Aggregation::MeanOfBestTwo, ..Default::default() };
        let mut b = MappingBuilder::new(&labels(), cfg);
        b.add(0, 5, &[0.9, 0.8]);
        b.add(6, 9, &[0.5, 0.02]);
        b.add(10, 12, &[0.3, 0.0]);
        let m = b.snapshot(0.5);
        assert_eq!(m.aggregation, Aggregation::MeanOfBestTwo);
        let score = |id: &str| m.techniques.iter().find(|t| t.id == id).unwrap().score;
        assert!((score("T1") - 0.7).abs() < 1e-6);
        // T2's second sentence is under the floor: it counts 0, so one sentence at 0.8 scores 0.4.
        assert!((score("T2") - 0.4).abs() < 1e-6);
        assert_eq!(m.detected_ids(0.5), vec!["T1"]);
        assert_eq!(Aggregation::MeanOfBestTwo.score_probs([0.3, 0.9, 0.5, 0.02], 0.05), 0.7);
        assert_eq!(Aggregation::MeanOfBestTwo.score_probs([0.8, 0.02], 0.05), 0.4);
        assert_eq!(Aggregation::BestSentence.score_probs([0.3, 0.9, 0.5], 0.05), 0.9);
    }

    #[test]
    fn one_evidence_sentence_is_kept_as_two() {
        let cfg = AggregateConfig { floor: 0.0, max_evidence: 1, rule: Aggregation::MeanOfBestTwo };
        let mut b = MappingBuilder::new(&labels(), cfg);
        for i in 0..10 {
            b.add(i, i + 1, &[i as f32 / 10.0, 0.0]);
        }
        let t = b.snapshot(0.5).techniques.into_iter().find(|t| t.id == "T1").unwrap();
        assert!((t.score - 0.85).abs() < 1e-6, "{}", t.score);
    }

    #[test]
    fn detected_follows_threshold() {
        let mut b = MappingBuilder::new(&labels(), AggregateConfig::default());
        b.add(0, 5, &[0.7, 0.3]);
        let m = b.snapshot(0.5);
        assert_eq!(m.detected_ids(0.5), vec!["T1"]);
        assert_eq!(m.detected_ids(0.2), vec!["T1", "T2"]);
    }
}
