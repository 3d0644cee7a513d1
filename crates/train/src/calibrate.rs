//! Per-technique thresholds: where the calibration reports support it, a technique gets a
//! decision threshold of its own instead of the model's one threshold.
//!
//! The reports are scored once with the shipped (quantized) classifier, exactly as the app
//! maps them (its segmentation, its chunks), keeping each label's two best sentence
//! probabilities per report: that is all either report-score rule reads. A label with its
//! own threshold `t` has its sentence probabilities put on the scale of the global
//! threshold `T` ([`rescale`], as [`ttpmap_mapper::Classifier`] does at mapping time), so the
//! fit here and the mapping agree exactly.
//!
//! The fit is coordinate ascent on the calibration objective (the mean of the sets' micro-F1s,
//! each at its own level, as in training), one label at a time, over a grid around `T`. Only
//! labels the data speaks to are fitted: gold in at least `min_gold_reports` calibration
//! reports, or detected at `T` in at least `min_detected_reports`. Whether the thresholds are
//! worth shipping at all is decided on the calibration reports too, by two-fold
//! cross-validation by report ([`cross_validate`]); validation reports never take part.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ttpmap_attack::Matrix;
use ttpmap_mapper::mapping::rescale;
use ttpmap_mapper::{AggregateConfig, Aggregation, BatchConfig, Classifier, ModelError, CHUNK_SENTENCES};

use crate::data::Report;
use crate::metrics::{evaluate, parent_id, Counts, Evaluation, Level};

/// A report scored for calibration: its gold IDs and, per label, its two best sentence
/// probabilities (raw, before any label's own threshold).
#[derive(Debug, Clone)]
pub struct ScoredReport {
    pub gold: BTreeSet<String>,
    pub top: Vec<[f32; 2]>,
}

/// Reports scored at one level (TRAM: exact IDs; AnnoCTR: parent techniques).
#[derive(Debug, Clone)]
pub struct ScoredSet {
    pub name: String,
    pub level: Level,
    pub reports: Vec<ScoredReport>,
}

/// Scores one report's text with `classifier` (which must carry no label thresholds of its
/// own, or the probabilities are already rescaled), driving the mapper's one mapping loop:
/// per label, the two best sentence probabilities the mapping keeps (those under the
/// mapping's evidence floor count 0; no threshold can lift a label from there to detected).
pub fn score_text(classifier: &Classifier, text: &str, batch: BatchConfig) -> Result<Vec<[f32; 2]>, ModelError> {
    let agg = AggregateConfig { max_evidence: 2, ..AggregateConfig::default() };
    let mut run = classifier.mapping_run(text, agg);
    while let Some(texts) = run.next_chunk(CHUNK_SENTENCES) {
        run.add_scores(&classifier.sentence_probs(&texts, batch)?)?;
    }
    let index: HashMap<&str, usize> = classifier.labels().iter().enumerate().map(|(i, l)| (l.id.as_str(), i)).collect();
    let mut top = vec![[0f32; 2]; classifier.labels().len()];
    for t in run.snapshot().techniques {
        let at = |i: usize| t.evidence.get(i).map_or(0.0, |e| e.score);
        top[index[t.id.as_str()]] = [at(0), at(1)];
    }
    Ok(top)
}

/// How the thresholds are searched.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct FitOptions {
    /// The model's threshold `T` and report-score rule, and the mapping's evidence floor.
    pub global: f32,
    pub rule: Aggregation,
    pub floor: f32,
    /// A label is fitted if gold in this many calibration reports (at its set's level)...
    pub min_gold_reports: usize,
    /// ...or detected at `T` in this many.
    pub min_detected_reports: usize,
    /// The grid: from `T - below` to `T + above` by `step`, within 0.05..0.95.
    pub below: f32,
    pub above: f32,
    pub step: f32,
    /// Passes over the labels.
    pub rounds: usize,
    /// How much the cross-validated objective must gain for the thresholds to be adopted:
    /// one F1 point, about what one report's detections move it by on these sets.
    pub adopt_margin: f64,
}

impl FitOptions {
    pub fn new(global: f32, rule: Aggregation) -> Self {
        Self { global, rule, floor: 0.05, min_gold_reports: 2, min_detected_reports: 3, below: 0.15, above: 0.35, step: 0.01, rounds: 2, adopt_margin: 0.01 }
    }

    fn grid(&self) -> Vec<f32> {
        let lo = (self.global - self.below).max(0.05);
        let hi = (self.global + self.above).min(0.95);
        let n = ((hi - lo) / self.step).round() as usize;
        (0..=n).map(|i| lo + i as f32 * self.step).collect()
    }
}

/// A label's report score under its own threshold `own` (`None`: the global one).
fn score(top: [f32; 2], own: Option<f32>, o: &FitOptions) -> f32 {
    let probs = top.map(|p| own.map_or(p, |t| rescale(p, t, o.global)));
    o.rule.score_probs(probs, o.floor)
}

/// The level's key of a label ID.
fn key(level: Level, id: &str) -> &str {
    match level {
        Level::Exact => id,
        Level::Parent => parent_id(id),
    }
}

/// Predicted IDs of a report (at its set's level) under per-label thresholds.
fn predicted_keys(r: &ScoredReport, labels: &[String], own: &[Option<f32>], level: Level, o: &FitOptions) -> BTreeSet<String> {
    labels.iter().enumerate().filter(|&(j, _)| score(r.top[j], own[j], o) >= o.global).map(|(_, id)| key(level, id).to_string()).collect()
}

/// Per-set counts under per-label thresholds, over the reports `keep` selects.
fn counts(sets: &[ScoredSet], labels: &[String], own: &[Option<f32>], o: &FitOptions, keep: &dyn Fn(usize) -> bool) -> Vec<Counts> {
    sets.iter()
        .map(|s| {
            let mut c = Counts::default();
            for (_, r) in s.reports.iter().enumerate().filter(|(i, _)| keep(*i)) {
                let gold: BTreeSet<String> = r.gold.iter().map(|g| key(s.level, g).to_string()).collect();
                c.add(&gold, &predicted_keys(r, labels, own, s.level, o));
            }
            c
        })
        .collect()
}

/// The mean of the micro-F1s of the sets that have reports.
pub fn objective(c: &[Counts]) -> f64 {
    let used: Vec<f64> = c.iter().filter(|c| c.tp + c.fp + c.fn_ > 0).map(Counts::f1).collect();
    used.iter().sum::<f64>() / used.len().max(1) as f64
}

/// Per-label thresholds fitted on the reports `keep` selects (see the module doc).
pub fn fit(sets: &[ScoredSet], labels: &[String], o: &FitOptions, keep: &dyn Fn(usize) -> bool) -> Vec<Option<f32>> {
    let mut state = State::new(sets, labels, o, keep);
    // Labels the data speaks to.
    let eligible: Vec<usize> = (0..labels.len())
        .filter(|&j| {
            let (mut gold, mut detected) = (0, 0);
            for (si, s) in sets.iter().enumerate() {
                let k = key(s.level, &labels[j]);
                for (_, r) in s.reports.iter().enumerate().filter(|(i, _)| state.keep[si][*i]) {
                    gold += r.gold.iter().any(|g| key(s.level, g) == k) as usize;
                    detected += (score(r.top[j], None, o) >= o.global) as usize;
                }
            }
            gold >= o.min_gold_reports || detected >= o.min_detected_reports
        })
        .collect();
    let grid = o.grid();
    for _ in 0..o.rounds {
        let mut changed = false;
        for &j in &eligible {
            let current = state.own[j];
            let mut best = (objective(&state.counts), current);
            for &t in &grid {
                let f = objective(&state.delta(sets, labels, j, Some(t), o));
                // Strictly better only: ties keep the current (at first, the global) threshold.
                if f > best.0 + 1e-9 {
                    best = (f, Some(t));
                }
            }
            if best.1 != current {
                state.set(sets, labels, j, best.1, o);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    state.own
}

/// The fit's state: the thresholds so far, the counts over the kept reports and, per report,
/// how many labels predict each key (a key leaves the prediction only when that reaches 0).
struct State {
    own: Vec<Option<f32>>,
    keep: Vec<Vec<bool>>,
    keys: Vec<Vec<HashMap<String, usize>>>,
    counts: Vec<Counts>,
}

impl State {
    fn new(sets: &[ScoredSet], labels: &[String], o: &FitOptions, keep: &dyn Fn(usize) -> bool) -> Self {
        let own = vec![None; labels.len()];
        let keep: Vec<Vec<bool>> = sets.iter().map(|s| (0..s.reports.len()).map(keep).collect()).collect();
        let keys = sets
            .iter()
            .map(|s| {
                s.reports
                    .iter()
                    .map(|r| {
                        let mut m: HashMap<String, usize> = HashMap::new();
                        for (j, id) in labels.iter().enumerate() {
                            if score(r.top[j], own[j], o) >= o.global {
                                *m.entry(key(s.level, id).to_string()).or_default() += 1;
                            }
                        }
                        m
                    })
                    .collect()
            })
            .collect();
        let counts = sets.iter().zip(&keep).map(|(s, k)| counts(std::slice::from_ref(s), labels, &own, o, &|i| k[i]).remove(0)).collect();
        Self { own, keep, keys, counts }
    }

    /// The counts if label `j` had the threshold `to`.
    fn delta(&self, sets: &[ScoredSet], labels: &[String], j: usize, to: Option<f32>, o: &FitOptions) -> Vec<Counts> {
        let from = self.own[j];
        sets.iter()
            .enumerate()
            .map(|(si, s)| {
                let mut c = self.counts[si].clone();
                let k = key(s.level, &labels[j]);
                for (i, r) in s.reports.iter().enumerate().filter(|(i, _)| self.keep[si][*i]) {
                    let was = score(r.top[j], from, o) >= o.global;
                    let now = score(r.top[j], to, o) >= o.global;
                    if was == now {
                        continue;
                    }
                    let n = self.keys[si][i].get(k).copied().unwrap_or(0);
                    let in_gold = r.gold.iter().any(|g| key(s.level, g) == k);
                    if now && n == 0 {
                        if in_gold {
                            c.tp += 1;
                            c.fn_ -= 1;
                        } else {
                            c.fp += 1;
                        }
                    } else if !now && n == 1 {
                        if in_gold {
                            c.tp -= 1;
                            c.fn_ += 1;
                        } else {
                            c.fp -= 1;
                        }
                    }
                }
                c
            })
            .collect()
    }

    fn set(&mut self, sets: &[ScoredSet], labels: &[String], j: usize, to: Option<f32>, o: &FitOptions) {
        self.counts = self.delta(sets, labels, j, to, o);
        let from = self.own[j];
        for (si, s) in sets.iter().enumerate() {
            let k = key(s.level, &labels[j]);
            for (i, r) in s.reports.iter().enumerate() {
                let was = score(r.top[j], from, o) >= o.global;
                let now = score(r.top[j], to, o) >= o.global;
                if was != now {
                    let n = self.keys[si][i].entry(k.to_string()).or_default();
                    if now {
                        *n += 1;
                    } else {
                        *n -= 1;
                    }
                }
            }
        }
        self.own[j] = to;
    }
}

/// Two-fold cross-validation by report on the calibration sets: fit on one half of each
/// set's reports, count on the other, both ways; returns the pooled objective with the
/// global threshold alone and with the fitted per-label thresholds.
pub fn cross_validate(sets: &[ScoredSet], labels: &[String], o: &FitOptions) -> (f64, f64) {
    let global = vec![None; labels.len()];
    let mut with_global = vec![Counts::default(); sets.len()];
    let mut with_own = vec![Counts::default(); sets.len()];
    for fold in 0..2 {
        let own = fit(sets, labels, o, &|i| i % 2 != fold);
        let held = |i: usize| i % 2 == fold;
        for (acc, c) in with_global.iter_mut().zip(counts(sets, labels, &global, o, &held)) {
            acc.merge(&c);
        }
        for (acc, c) in with_own.iter_mut().zip(counts(sets, labels, &own, o, &held)) {
            acc.merge(&c);
        }
    }
    (objective(&with_global), objective(&with_own))
}

/// Predicted IDs (exact) of each report under per-label thresholds, for [`crate::metrics::evaluate`].
pub fn predictions(set: &ScoredSet, labels: &[String], own: &[Option<f32>], o: &FitOptions) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
    set.reports.iter().map(|r| (r.gold.clone(), predicted_keys(r, labels, own, Level::Exact, o))).collect()
}

/// The fitted thresholds as the manifest keeps them (ID -> threshold, rounded to 0.01).
pub fn as_map(labels: &[String], own: &[Option<f32>]) -> BTreeMap<String, f32> {
    labels.iter().zip(own).filter_map(|(id, t)| t.map(|t| (id.clone(), (t * 100.0).round() / 100.0))).collect()
}

/// A group of annotated reports to score: its level, and whether TRAM's `[OTHER]` labels
/// join its gold; for validation, TRAM's vocabulary for the in-vocabulary figure.
pub struct Group<'a> {
    pub name: &'a str,
    pub reports: &'a [Report],
    pub level: Level,
    pub with_other: bool,
    pub vocabulary: Option<&'a BTreeSet<String>>,
}

/// A validation group's evaluation with the global threshold alone and with the fitted ones.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Validated {
    pub name: String,
    pub global: Evaluation,
    pub own: Evaluation,
}

/// What [`calibrate_model`] found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub options: FitOptions,
    /// Two-fold cross-validation on the calibration reports: the pooled objective with the
    /// global threshold alone and with per-label thresholds. The thresholds are adopted only
    /// if the second is higher by [`FitOptions::adopt_margin`].
    pub cross_validation: (f64, f64),
    pub adopted: bool,
    /// Fitted on all the calibration reports (adopted or not).
    pub thresholds: BTreeMap<String, f32>,
    /// The calibration objective with the global threshold alone and with these.
    pub calibration: (f64, f64),
    pub validation: Vec<Validated>,
}

/// Scores `groups` with `classifier`, whose probabilities must be raw (no label thresholds).
pub fn score_groups(classifier: &Classifier, groups: &[Group], log: &mut dyn FnMut(&str)) -> Result<Vec<ScoredSet>, ModelError> {
    // A report in two groups (TRAM validation with and without [OTHER]) is scored once.
    let mut cache: HashMap<(String, usize), Vec<[f32; 2]>> = HashMap::new();
    let total: usize = groups.iter().map(|g| g.reports.len()).sum();
    let mut done = 0;
    groups
        .iter()
        .map(|g| {
            let reports = g
                .reports
                .iter()
                .map(|r| {
                    let k = (r.name.clone(), r.text.len());
                    let top = match cache.get(&k) {
                        Some(top) => top.clone(),
                        None => {
                            let top = score_text(classifier, &r.text, BatchConfig::default())?;
                            cache.insert(k, top.clone());
                            top
                        }
                    };
                    done += 1;
                    log(&format!("  scored report {done}/{total} ({})", g.name));
                    Ok(ScoredReport { gold: if g.with_other { r.gold_with_other() } else { r.gold.clone() }, top })
                })
                .collect::<Result<Vec<_>, ModelError>>()?;
            Ok(ScoredSet { name: g.name.to_string(), level: g.level, reports })
        })
        .collect()
}

/// Fits per-label thresholds on the calibration groups, decides by cross-validation whether
/// to adopt them, and evaluates the validation groups both ways.
pub fn calibrate_model(classifier: &Classifier, calibration: &[Group], validation: &[Group], matrix: &Matrix, log: &mut dyn FnMut(&str)) -> Result<Outcome, ModelError> {
    if !classifier.manifest.label_thresholds.is_empty() {
        return Err(ModelError::Manifest("calibrate a classifier without label thresholds: its probabilities must be raw".into()));
    }
    let labels: Vec<String> = classifier.labels().iter().map(|l| l.id.clone()).collect();
    let o = FitOptions::new(classifier.manifest.threshold, classifier.manifest.aggregation);
    log("scoring the calibration reports");
    let cal = score_groups(classifier, calibration, log)?;
    log("scoring the validation reports");
    let val = score_groups(classifier, validation, log)?;
    let cross_validation = cross_validate(&cal, &labels, &o);
    let own = fit(&cal, &labels, &o, &|_| true);
    let global = vec![None; labels.len()];
    let all = |_: usize| true;
    let calibration_objective = (objective(&counts(&cal, &labels, &global, &o, &all)), objective(&counts(&cal, &labels, &own, &o, &all)));
    let validation = val
        .iter()
        .zip(validation)
        .map(|(set, g)| {
            let eval = |own: &[Option<f32>]| evaluate(&predictions(set, &labels, own, &o), matrix, o.global, g.vocabulary);
            Validated { name: set.name.clone(), global: eval(&global), own: eval(&own) }
        })
        .collect();
    Ok(Outcome {
        options: o,
        cross_validation,
        adopted: cross_validation.1 > cross_validation.0 + o.adopt_margin,
        thresholds: as_map(&labels, &own),
        calibration: calibration_objective,
        validation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(gold: &[&str], top: &[[f32; 2]]) -> ScoredReport {
        ScoredReport { gold: gold.iter().map(|s| s.to_string()).collect(), top: top.to_vec() }
    }

    fn labels() -> Vec<String> {
        vec!["T1".into(), "T2".into()]
    }

    #[test]
    fn a_label_that_fires_on_every_report_gets_a_higher_threshold() {
        // T2 scores 0.5 where it is wrong and 0.8 where it is right; T1 is always right.
        let reports = (0..6)
            .map(|i| if i % 3 == 0 { report(&["T1", "T2"], &[[0.9, 0.0], [0.8, 0.0]]) } else { report(&["T1"], &[[0.9, 0.0], [0.5, 0.0]]) })
            .collect();
        let sets = vec![ScoredSet { name: "a".into(), level: Level::Exact, reports }];
        let o = FitOptions::new(0.4, Aggregation::BestSentence);
        let own = fit(&sets, &labels(), &o, &|_| true);
        assert_eq!(own[0], None, "T1 is already right everywhere");
        let t2 = own[1].expect("T2 gets its own threshold");
        assert!(t2 > 0.5 && t2 <= 0.8, "{t2}");
        let all = |_| true;
        assert!(objective(&counts(&sets, &labels(), &own, &o, &all)) > objective(&counts(&sets, &labels(), &[None, None], &o, &all)));
    }

    #[test]
    fn the_incremental_counts_equal_a_recount() {
        let reports: Vec<ScoredReport> = (0..7)
            .map(|i| {
                let x = i as f32 / 10.0;
                report(if i % 2 == 0 { &["T1.001"] } else { &["T2"] }, &[[0.3 + x, 0.2], [0.6 - x / 2.0, 0.1]])
            })
            .collect();
        let labels = vec!["T1.001".to_string(), "T1".to_string()];
        let sets = vec![
            ScoredSet { name: "exact".into(), level: Level::Exact, reports: reports.clone() },
            ScoredSet { name: "parent".into(), level: Level::Parent, reports },
        ];
        let o = FitOptions { min_gold_reports: 0, min_detected_reports: 0, ..FitOptions::new(0.45, Aggregation::MeanOfBestTwo) };
        let keep = |i: usize| i != 3;
        let own = fit(&sets, &labels, &o, &keep);
        let mut state = State::new(&sets, &labels, &o, &keep);
        for (j, t) in own.iter().enumerate() {
            state.set(&sets, &labels, j, *t, &o);
        }
        let recount = counts(&sets, &labels, &own, &o, &keep);
        for (a, b) in state.counts.iter().zip(&recount) {
            assert_eq!((a.tp, a.fp, a.fn_), (b.tp, b.fp, b.fn_));
        }
    }

    #[test]
    fn a_label_without_support_keeps_the_global_threshold() {
        // T2 is detected wrongly in one report only: below min_detected_reports.
        let reports = vec![report(&["T1"], &[[0.9, 0.0], [0.5, 0.0]]), report(&["T1"], &[[0.9, 0.0], [0.1, 0.0]])];
        let sets = vec![ScoredSet { name: "a".into(), level: Level::Exact, reports }];
        let own = fit(&sets, &labels(), &FitOptions::new(0.4, Aggregation::BestSentence), &|_| true);
        assert_eq!(own, vec![None, None]);
    }
}
