//! Mapping onto a newer Enterprise ATT&CK release with the classifier trained on an older
//! one, so a new release keeps the classifier's quality instead of falling back to the
//! similarity mapping.
//!
//! - [`ReleasePlan`] lines the classifier's labels up with the release: each label is
//!   carried to the live technique that holds it now (itself, or its successor through the
//!   release's "revoked-by" chains, [`ttpmap_attack::Revisions`]); a label deprecated
//!   without successor, or unknown to the release, is dropped and listed. The release's
//!   live techniques that no label reaches are new in it.
//! - [`ReleaseMapper`] scores each sentence once through the encoder: the classifier's
//!   head for the carried labels, and the cosine with technique vectors of only the new
//!   techniques ([`crate::similarity`]) for those. Where several labels land on one
//!   technique (two old techniques merged), a sentence's score for it is the highest of
//!   theirs; the report score then comes from those sentence scores by the model's own
//!   rule, so its evidence is the union of theirs. [`ReleasePlan::carry`] does the same to
//!   a mapping the classifier made over its own labels.
//! - A new technique's similarity score has its own threshold
//!   ([`NewTechniqueConfig::threshold`]); scores are mapped piecewise-linearly so that
//!   threshold lands on the classifier's, and one threshold slider serves both.
//! - The result is an ordinary [`ReportMapping`] over the release's technique IDs, with
//!   how each technique was detected ([`Method`]) and the dropped labels beside it
//!   ([`ReleaseMapping`]); [`release_layer`] writes both into the layer.
//!
//! No I/O, like the rest of this crate.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use ttpmap_attack::layer::{BuildError, MetadataItem};
use ttpmap_attack::{Layer, Matrix, Standing, Technique};

use crate::export::{annotations, report_config, LayerOptions};
use crate::mapping::{rescale, sort_techniques, AggregateConfig, Evidence, ReportMapping, TechniqueMapping};
use crate::model::{BatchConfig, Classifier, Label, ModelError};
use crate::run::MappingRun;
use crate::similarity::{keep_best, normalise, SimilarityConfig, TechniqueVectors};

/// How a technique of a release mapping was detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The trained classifier, through the label(s) carried to this technique.
    Classifier,
    /// Similarity with the technique's name and description: the classifier has no label
    /// for it (new in the release).
    Similarity,
}

/// A classifier label the release has no technique for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedLabel {
    pub id: String,
    pub name: String,
    /// Deprecated (or revoked with no live successor) rather than unknown to the release.
    pub retired: bool,
}

/// The classifier's labels lined up with a release's techniques.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleasePlan {
    /// The release (`Matrix::version`), e.g. `"19.0"`.
    pub version: String,
    /// The classifier's ATT&CK release (the manifest's `attack_version`).
    pub trained_on: String,
    /// The scored columns: techniques labels reach (in release ID order), then the new ones.
    columns: Vec<Label>,
    /// Per column, how it is scored.
    methods: Vec<Method>,
    /// The classifier's label IDs, in label order.
    label_ids: Vec<String>,
    /// Per classifier label, its column (`None`: dropped).
    column_of_label: Vec<Option<usize>>,
    /// Column of the first new technique.
    first_new: usize,
    /// Labels carried to another ID: new ID -> old IDs, sorted.
    pub carried: BTreeMap<String, Vec<String>>,
    /// Labels dropped, in label order.
    pub dropped: Vec<DroppedLabel>,
}

impl ReleasePlan {
    /// Lines `classifier`'s labels up with `release` (any Enterprise release; for the one
    /// it was trained on every label maps to itself and nothing is new).
    pub fn new(classifier: &Classifier, release: &Matrix) -> ReleasePlan {
        Self::from_labels(classifier.labels(), &classifier.manifest.attack_version, release)
    }

    /// [`ReleasePlan::new`] from bare labels.
    pub fn from_labels(labels: &[Label], trained_on: &str, release: &Matrix) -> ReleasePlan {
        let mut target: Vec<Option<&str>> = Vec::with_capacity(labels.len());
        let mut carried: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut dropped = Vec::new();
        for l in labels {
            let t = match release.standing(&l.id) {
                Standing::Live => Some(l.id.as_str()),
                Standing::Moved(to) => {
                    carried.entry(to.to_string()).or_default().push(l.id.clone());
                    Some(to)
                }
                Standing::Retired | Standing::Unknown => {
                    let retired = release.standing(&l.id) == Standing::Retired;
                    dropped.push(DroppedLabel { id: l.id.clone(), name: l.name.clone(), retired });
                    None
                }
            };
            target.push(t);
        }
        carried.values_mut().for_each(|v| v.sort());
        let mut reached: Vec<&str> = target.iter().flatten().copied().collect();
        reached.sort();
        reached.dedup();
        let name_of = |id: &str| release.technique(id).map(|t| t.name.clone()).unwrap_or_default();
        let mut columns: Vec<Label> = reached.iter().map(|id| Label { id: id.to_string(), name: name_of(id) }).collect();
        let first_new = columns.len();
        let index: HashMap<&str, usize> = reached.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let column_of_label = target.iter().map(|t| t.and_then(|id| index.get(id).copied())).collect();
        columns.extend(
            release
                .techniques
                .iter()
                .filter(|t| !index.contains_key(t.id.as_str()))
                .map(|t| Label { id: t.id.clone(), name: t.name.clone() }),
        );
        let mut methods = vec![Method::Classifier; first_new];
        methods.resize(columns.len(), Method::Similarity);
        ReleasePlan {
            version: release.version.clone(),
            trained_on: trained_on.to_string(),
            columns,
            methods,
            label_ids: labels.iter().map(|l| l.id.clone()).collect(),
            column_of_label,
            first_new,
            carried,
            dropped,
        }
    }

    /// The scored techniques (the labels of the mapping this plan makes).
    pub fn columns(&self) -> &[Label] {
        &self.columns
    }

    /// The release's techniques that no label reaches, in release order.
    pub fn new_techniques(&self) -> &[Label] {
        &self.columns[self.first_new..]
    }

    /// The release's [`Technique`]s that no label reaches (what needs technique vectors).
    pub fn new_techniques_in(&self, release: &Matrix) -> Vec<Technique> {
        self.new_techniques().iter().filter_map(|l| release.technique(&l.id).cloned()).collect()
    }

    /// How a technique of the release is scored; `None` for IDs not in it.
    pub fn method(&self, id: &str) -> Option<Method> {
        self.columns.iter().position(|c| c.id == id).map(|i| self.methods[i])
    }

    /// Whether every label maps to itself and nothing is new: the release is the one the
    /// classifier was trained on, and its plain mapping is the right one.
    pub fn is_identity(&self) -> bool {
        self.carried.is_empty() && self.dropped.is_empty() && self.first_new == self.columns.len()
    }

    /// A mapping the classifier made over its own labels, carried onto the release: each
    /// technique under the ID that holds it now, dropped labels left out, and techniques
    /// several labels land on merged (per sentence the highest score, the report score by
    /// the mapping's rule from the best `agg.kept()` sentences). New techniques are absent.
    pub fn carry(&self, mapping: &ReportMapping, agg: AggregateConfig) -> ReportMapping {
        let by_label: HashMap<&str, usize> = self.column_of_label_ids().collect();
        let mut merged: BTreeMap<usize, Vec<Evidence>> = BTreeMap::new();
        for t in &mapping.techniques {
            if let Some(&col) = by_label.get(t.id.as_str()) {
                merged.entry(col).or_default().extend(t.evidence.iter().cloned());
            }
        }
        let kept = agg.kept();
        let mut techniques: Vec<TechniqueMapping> = merged
            .into_iter()
            .map(|(col, mut ev)| {
                ev.sort_by(|a, b| (a.start, a.end).cmp(&(b.start, b.end)).then(b.score.total_cmp(&a.score)));
                ev.dedup_by(|b, a| a.start == b.start && a.end == b.end);
                let column = &self.columns[col];
                TechniqueMapping::from_evidence(column.id.clone(), column.name.clone(), ev, kept, mapping.aggregation)
            })
            .collect();
        sort_techniques(&mut techniques);
        ReportMapping { techniques, ..mapping.clone() }
    }

    fn column_of_label_ids(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.label_ids.iter().zip(&self.column_of_label).filter_map(|(id, c)| c.map(|c| (id.as_str(), c)))
    }
}

/// How techniques new in a release are scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NewTechniqueConfig {
    /// Pooling, score map and per-sentence limit of the similarity scores (links unused:
    /// Enterprise techniques have none).
    pub similarity: SimilarityConfig,
    /// A sentence's similarity score (0..1) that counts as the classifier's threshold: new
    /// techniques' scores are mapped piecewise-linearly so that this value lands on it.
    pub threshold: f32,
}

impl NewTechniqueConfig {
    /// The calibrated similarity settings for these vectors
    /// ([`SimilarityConfig::for_vectors`]: with or without procedure examples), with their
    /// threshold.
    pub fn for_vectors(v: &TechniqueVectors) -> Self {
        let similarity = SimilarityConfig { use_links: false, ..SimilarityConfig::for_vectors(v) };
        Self { similarity, threshold: similarity.threshold }
    }
}

/// Scores sentences over a release's techniques in one encoder pass: the classifier's
/// head for carried labels, similarity for the new techniques.
pub struct ReleaseMapper<'a> {
    classifier: &'a Classifier,
    plan: &'a ReleasePlan,
    /// Vectors of exactly [`ReleasePlan::new_techniques`], in that order; `None` when the
    /// release has no new technique.
    vectors: Option<&'a TechniqueVectors>,
    config: NewTechniqueConfig,
}

/// Why a [`ReleaseMapper`] cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The vectors are not those of the plan's new techniques.
    #[error("technique vectors for {found} techniques do not match the {expected} techniques new in ATT&CK {version}")]
    VectorsMismatch { expected: usize, found: usize, version: String },
}

impl<'a> ReleaseMapper<'a> {
    pub fn new(
        classifier: &'a Classifier,
        plan: &'a ReleasePlan,
        vectors: Option<&'a TechniqueVectors>,
        config: NewTechniqueConfig,
    ) -> Result<Self, ReleaseError> {
        let ids = |l: &[Label]| l.iter().map(|x| x.id.clone()).collect::<Vec<_>>();
        let found = vectors.map_or(Vec::new(), |v| ids(&v.techniques));
        if found != ids(plan.new_techniques()) {
            return Err(ReleaseError::VectorsMismatch {
                expected: plan.new_techniques().len(),
                found: found.len(),
                version: plan.version.clone(),
            });
        }
        Ok(Self { classifier, plan, vectors, config })
    }

    pub fn plan(&self) -> &ReleasePlan {
        self.plan
    }

    /// The classifier whose labels are carried.
    pub fn classifier(&self) -> &Classifier {
        self.classifier
    }

    /// A [`MappingRun`] over `text` with the plan's columns and the model's rule and
    /// threshold, for callers that feed [`ReleaseMapper::sentence_scores`] themselves.
    pub fn mapping_run<'t>(&self, text: &'t str, agg: AggregateConfig) -> MappingRun<'t> {
        MappingRun::new(text, self.plan.columns(), self.classifier.manifest.threshold, self.classifier.aggregate_config(agg))
    }

    /// Per sentence, a score for every column of the plan: the highest classifier
    /// probability among the labels carried there, or the new technique's similarity
    /// score (only the sentence's best `per_sentence` new techniques, on the classifier's
    /// scale).
    pub fn sentence_scores<S: AsRef<str>>(&self, sentences: &[S], batch: BatchConfig) -> Result<Vec<Vec<f32>>, ModelError> {
        let plan = self.plan;
        let windows = self.classifier.windows(sentences)?;
        let pooled = self.classifier.pooled(&windows, batch)?;
        let probs = self.classifier.head_probs(&pooled)?;
        let n_new = plan.columns.len() - plan.first_new;
        let mut out = vec![vec![0f32; plan.columns.len()]; sentences.len()];
        let mut cosines = vec![vec![f32::NEG_INFINITY; n_new]; sentences.len()];
        for (i, w) in windows.iter().enumerate() {
            let row = &mut out[w.sentence];
            for (&col, &p) in plan.column_of_label.iter().zip(&probs[i]) {
                if let Some(c) = col {
                    row[c] = row[c].max(p);
                }
            }
            if let Some(v) = self.vectors {
                let mut x = pooled[i].clone();
                normalise(&mut x);
                for (c, x) in cosines[w.sentence].iter_mut().zip(v.cosines(&x, self.config.similarity.pooling)) {
                    *c = c.max(x);
                }
            }
        }
        let classifier_threshold = self.classifier.manifest.threshold;
        for (row, cos) in out.iter_mut().zip(cosines) {
            if cos.iter().all(|c| *c == f32::NEG_INFINITY) {
                continue;
            }
            let sims: Vec<f32> = cos.iter().map(|&c| self.config.similarity.map.apply(c)).collect();
            let sims = keep_best(sims, self.config.similarity.per_sentence);
            for (slot, s) in row[plan.first_new..].iter_mut().zip(sims) {
                *slot = if s > 0.0 { rescale(s, self.config.threshold, classifier_threshold) } else { 0.0 };
            }
        }
        Ok(out)
    }
}

/// A report mapped onto a release: the mapping over the release's technique IDs, and what
/// the evidence panel and the exports say about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReleaseMapping {
    pub mapping: ReportMapping,
    /// The release, e.g. `"19.0"`.
    pub version: String,
    /// The classifier's release, e.g. `"18.1"`.
    pub trained_on: String,
    /// How each technique of `mapping` was detected.
    pub methods: BTreeMap<String, Method>,
    /// Old label IDs carried to each technique of `mapping` that holds them now.
    pub carried: BTreeMap<String, Vec<String>>,
    /// Classifier labels the release has no technique for.
    pub dropped: Vec<DroppedLabel>,
}

impl ReleaseMapping {
    /// Wraps a mapping over `plan`'s columns.
    pub fn new(plan: &ReleasePlan, mapping: ReportMapping) -> Self {
        let methods = mapping.techniques.iter().filter_map(|t| plan.method(&t.id).map(|m| (t.id.clone(), m))).collect();
        let carried = mapping
            .techniques
            .iter()
            .filter_map(|t| plan.carried.get(&t.id).map(|old| (t.id.clone(), old.clone())))
            .collect();
        ReleaseMapping {
            mapping,
            version: plan.version.clone(),
            trained_on: plan.trained_on.clone(),
            methods,
            carried,
            dropped: plan.dropped.clone(),
        }
    }

    /// How a technique was detected, in words for the evidence panel and the layer.
    pub fn describe(&self, id: &str) -> String {
        match (self.methods.get(id), self.carried.get(id)) {
            (Some(Method::Similarity), _) => format!(
                "similarity with the technique's description (new in ATT&CK {}; the classifier, trained on {}, has no label for it)",
                self.version, self.trained_on
            ),
            (Some(Method::Classifier), Some(old)) => format!(
                "classifier (trained on ATT&CK {}), label {} carried to {id} by ATT&CK {}'s revocations",
                self.trained_on,
                old.join(" + "),
                self.version
            ),
            _ => format!("classifier (trained on ATT&CK {})", self.trained_on),
        }
    }

    /// The dropped labels, in words: `"T1562.010 Downgrade Attack (deprecated)"`, ...
    pub fn dropped_text(&self) -> String {
        self.dropped
            .iter()
            .map(|d| format!("{} {} ({})", d.id, d.name, if d.retired { "deprecated without successor" } else { "not in the release" }))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Maps report text onto a release: the release counterpart of [`crate::map_report`], with
/// the model's aggregation rule and threshold.
pub fn map_report_release(
    mapper: &ReleaseMapper,
    text: &str,
    agg: AggregateConfig,
    batch: BatchConfig,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ReleaseMapping, ModelError> {
    let mapping = mapper.mapping_run(text, agg).drive(crate::CHUNK_SENTENCES, progress, &mut |texts| mapper.sentence_scores(texts, batch))?;
    Ok(ReleaseMapping::new(mapper.plan, mapping))
}

/// The Navigator layer of a report mapped onto a release: [`crate::export::report_layer`]'s,
/// plus the release and the classifier's in the layer metadata, the labels dropped, and
/// for each technique how it was detected (`detected by`).
pub fn release_layer(matrix: &Matrix, rm: &ReleaseMapping, text: &str, opts: &LayerOptions) -> Result<Layer, BuildError> {
    let mut config = report_config(&rm.mapping, opts);
    config.metadata.push(MetadataItem::entry("ATT&CK release", rm.version.clone()));
    config.metadata.push(MetadataItem::entry(
        "classifier",
        format!(
            "trained on ATT&CK {}; labels carried to {} through its revocations, techniques new in {} detected by similarity",
            rm.trained_on, rm.version, rm.version
        ),
    ));
    if !rm.dropped.is_empty() {
        config.metadata.push(MetadataItem::entry("dropped labels", rm.dropped_text()));
    }
    let mut ann = annotations(&rm.mapping, text, opts);
    for a in &mut ann {
        a.metadata.insert(0, MetadataItem::entry("detected by", rm.describe(&a.technique_id)));
    }
    Layer::for_matrix(matrix, &config, &ann)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{Aggregation, MappingBuilder};
    use ttpmap_attack::{Revisions, Tactic};

    fn technique(id: &str) -> Technique {
        Technique {
            id: id.into(),
            stix_id: String::new(),
            name: format!("name of {id}"),
            description: String::new(),
            platforms: Vec::new(),
            url: String::new(),
            tactics: vec!["t".into()],
            parent: None,
            subtechniques: Vec::new(),
            links: Vec::new(),
        }
    }

    /// A release where A stays, B and C merge into N, D is deprecated, and X is new.
    fn release() -> Matrix {
        let tactic = Tactic {
            id: "TA1".into(),
            shortname: "t".into(),
            name: "T".into(),
            description: String::new(),
            url: String::new(),
            techniques: vec!["A".into(), "N".into(), "X".into()],
        };
        let mut m = Matrix::new(
            "enterprise".into(),
            "Enterprise ATT&CK".into(),
            "19.0".into(),
            "enterprise-attack".into(),
            vec![tactic],
            vec![technique("A"), technique("N"), technique("X")],
            None,
        );
        let edges: HashMap<String, Option<String>> =
            [("B", "N"), ("C", "N")].iter().map(|(a, b)| (a.to_string(), Some(b.to_string()))).collect();
        m.revisions = Revisions::resolve(&edges, ["D"], &|id| ["A", "N", "X"].contains(&id));
        m
    }

    fn labels() -> Vec<Label> {
        ["A", "B", "C", "D"].iter().map(|id| Label { id: id.to_string(), name: id.to_string() }).collect()
    }

    #[test]
    fn labels_are_carried_merged_dropped_and_new_techniques_found() {
        let plan = ReleasePlan::from_labels(&labels(), "18.1", &release());
        let ids: Vec<&str> = plan.columns().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["A", "N", "X"]);
        assert_eq!(plan.new_techniques().iter().map(|l| l.id.as_str()).collect::<Vec<_>>(), ["X"]);
        assert_eq!(plan.carried.get("N").unwrap(), &["B", "C"]);
        assert_eq!(plan.dropped, [DroppedLabel { id: "D".into(), name: "D".into(), retired: true }]);
        assert_eq!(plan.method("X"), Some(Method::Similarity));
        assert_eq!(plan.method("N"), Some(Method::Classifier));
        assert_eq!(plan.method("B"), None);
        assert!(!plan.is_identity());
    }

    #[test]
    fn carrying_a_mapping_merges_per_sentence_like_the_builder() {
        let plan = ReleasePlan::from_labels(&labels(), "18.1", &release());
        let agg = AggregateConfig { rule: Aggregation::MeanOfBestTwo, ..Default::default() };
        let rows: [[f32; 4]; 3] = [[0.9, 0.6, 0.2, 0.8], [0.0, 0.1, 0.7, 0.0], [0.1, 0.5, 0.55, 0.0]];
        let mut old = MappingBuilder::new(&labels(), agg);
        let mut new = MappingBuilder::new(plan.columns(), agg);
        for (i, r) in rows.iter().enumerate() {
            old.add(i * 10, i * 10 + 5, r);
            // What ReleaseMapper does per sentence: the highest of the labels carried to a column.
            new.add(i * 10, i * 10 + 5, &[r[0], r[1].max(r[2]), 0.0]);
        }
        let carried = plan.carry(&old.snapshot(0.3), agg);
        assert_eq!(carried, new.snapshot(0.3));
        let n = carried.techniques.iter().find(|t| t.id == "N").unwrap();
        assert!((n.score - (0.7 + 0.6) / 2.0).abs() < 1e-6, "{}", n.score);
        assert!(carried.techniques.iter().all(|t| ["A", "N"].contains(&t.id.as_str())));
    }

    #[test]
    fn the_release_the_classifier_knows_is_the_identity() {
        let m = release();
        let labels: Vec<Label> = m.techniques.iter().map(|t| Label { id: t.id.clone(), name: t.name.clone() }).collect();
        assert!(ReleasePlan::from_labels(&labels, "19.0", &m).is_identity());
    }

    #[test]
    fn the_new_threshold_lands_on_the_classifiers() {
        assert!((rescale(0.6, 0.6, 0.32) - 0.32).abs() < 1e-6);
        assert!((rescale(1.0, 0.6, 0.32) - 1.0).abs() < 1e-6);
        assert!((rescale(0.3, 0.6, 0.32) - 0.16).abs() < 1e-6);
        assert!(rescale(0.7, 0.6, 0.32) > rescale(0.65, 0.6, 0.32));
    }
}
