//! Training and evaluation data from ../shared/data: ATT&CK procedure examples, technique
//! descriptions, TRAM's human-annotated reports (split by report) and negatives.
//!
//! TRAM's reports are split by report, never by sentence: sentences of one report are not
//! independent. Validation reports are never trained on and never used for calibration.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use ttpmap_attack::{clean_stix_text, Matrix};
use ttpmap_mapper::segment;
use ttpmap_mapper::Label;

/// Where a training example came from (kept for weighting and reporting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Source {
    /// The description of an ATT&CK "uses" relationship, labelled by its target technique.
    ProcedureExample,
    /// A sentence of a technique's own description.
    TechniqueDescription,
    /// A sentence of a TRAM training report holding an annotated span.
    TramAnnotated,
    /// A sentence of a TRAM training report with no annotation: a weak negative.
    TramUnannotated,
    /// A fragment from TRAM's negative_data.json.
    TramNegative,
}

/// One training sentence with its (possibly empty) label set.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub labels: Vec<u32>,
    pub source: Source,
}

/// A TRAM report with its gold techniques, per sentence and for the whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub text: String,
    /// Byte spans of the report's sentences.
    pub sentences: Vec<(usize, usize)>,
    /// Gold technique IDs of each sentence (spans overlapping it).
    pub sentence_gold: Vec<BTreeSet<String>>,
    /// Gold technique IDs of the report.
    pub gold: BTreeSet<String>,
}

/// Report names of each part of the split.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Split {
    pub seed: u64,
    pub train: Vec<String>,
    /// Held out from training; used to choose the epoch and calibrate the threshold.
    pub calibration: Vec<String>,
    /// Held out from everything; the reported metrics.
    pub validation: Vec<String>,
}

/// The ATT&CK release of the bundle trained on.
pub const ENTERPRISE_VERSION: &str = "18.1";

/// Split sizes.
pub const VALIDATION_REPORTS: usize = 26;
pub const CALIBRATION_REPORTS: usize = 12;

/// Everything training needs.
pub struct Corpus {
    pub matrix: Matrix,
    pub labels: Vec<Label>,
    pub examples: Vec<Example>,
    pub split: Split,
    pub calibration: Vec<Report>,
    pub validation: Vec<Report>,
    /// Technique IDs revoked since TRAM was annotated, mapped to their replacement.
    pub remap: BTreeMap<String, String>,
}

impl Corpus {
    /// TRAM's annotation vocabulary as far as training may know it: the techniques its
    /// annotators used in the training and calibration reports (never the validation ones).
    pub fn tram_vocabulary(&self) -> BTreeSet<String> {
        let from_training = self.examples.iter().filter(|e| e.source == Source::TramAnnotated).flat_map(|e| e.labels.iter().map(|&l| self.labels[l as usize].id.clone()));
        from_training.chain(self.calibration.iter().flat_map(|r| r.gold.iter().cloned())).collect()
    }
}

/// A small deterministic PRNG (splitmix64), so that splits and shuffles are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Splits report names (sorted first, so the split depends only on the names and the seed).
pub fn split_reports(names: &[String], seed: u64) -> Split {
    let mut names = names.to_vec();
    names.sort();
    Rng::new(seed).shuffle(&mut names);
    let validation = names[..VALIDATION_REPORTS.min(names.len())].to_vec();
    let rest = &names[validation.len()..];
    let calibration = rest[..CALIBRATION_REPORTS.min(rest.len())].to_vec();
    let train = rest[calibration.len()..].to_vec();
    Split { seed, train, calibration, validation }
}

fn external_id(o: &Value) -> Option<&str> {
    o.get("external_references")?
        .as_array()?
        .iter()
        .find(|r| r.get("source_name").and_then(Value::as_str) == Some("mitre-attack"))?
        .get("external_id")?
        .as_str()
}

/// Procedure examples and revocation links read from the raw Enterprise bundle.
pub struct BundleExtras {
    /// (cleaned text, technique ID)
    pub procedures: Vec<(String, String)>,
    pub remap: BTreeMap<String, String>,
}

/// Reads the "uses" relationships' descriptions (procedure examples) and "revoked-by" links.
pub fn bundle_extras(bundle: &[u8], matrix: &Matrix) -> Result<BundleExtras> {
    let v: Value = serde_json::from_slice(bundle).context("enterprise bundle is not JSON")?;
    let objects = v.get("objects").and_then(Value::as_array).context("bundle has no objects")?;
    let mut by_stix: HashMap<&str, &str> = HashMap::new();
    for o in objects {
        if o.get("type").and_then(Value::as_str) == Some("attack-pattern") {
            if let (Some(id), Some(ext)) = (o.get("id").and_then(Value::as_str), external_id(o)) {
                by_stix.insert(id, ext);
            }
        }
    }
    let mut procedures = Vec::new();
    let mut remap = BTreeMap::new();
    for o in objects {
        if o.get("type").and_then(Value::as_str) != Some("relationship") {
            continue;
        }
        if o.get("revoked").and_then(Value::as_bool) == Some(true)
            || o.get("x_mitre_deprecated").and_then(Value::as_bool) == Some(true)
        {
            continue;
        }
        let kind = o.get("relationship_type").and_then(Value::as_str).unwrap_or("");
        let src = o.get("source_ref").and_then(Value::as_str).unwrap_or("");
        let tgt = o.get("target_ref").and_then(Value::as_str).unwrap_or("");
        match kind {
            "uses" => {
                let Some(&tid) = by_stix.get(tgt) else { continue };
                if matrix.technique(tid).is_none() {
                    continue;
                }
                if let Some(d) = o.get("description").and_then(Value::as_str) {
                    let text = clean_stix_text(d);
                    if text.split_whitespace().count() >= 3 {
                        procedures.push((text, tid.to_string()));
                    }
                }
            }
            "revoked-by" => {
                if let (Some(&from), Some(&to)) = (by_stix.get(src), by_stix.get(tgt)) {
                    if matrix.technique(to).is_some() {
                        remap.insert(from.to_string(), to.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    Ok(BundleExtras { procedures, remap })
}

/// Parses a TRAM .mjson report: its text, sentences and gold labels (revoked IDs remapped;
/// IDs unknown to the matrix dropped).
pub fn read_tram_report(name: &str, json: &str, matrix: &Matrix, remap: &BTreeMap<String, String>) -> Result<Report> {
    let v: Value = serde_json::from_str(json).with_context(|| format!("{name}: not JSON"))?;
    let Some(text) = v.get("signal").and_then(Value::as_str) else {
        bail!("{name}: not a TRAM report (no \"signal\" text)")
    };
    let text = text.to_string();
    // Char -> byte offsets, computed once for the whole text.
    let char_bytes: Vec<usize> = text.char_indices().map(|(b, _)| b).chain(std::iter::once(text.len())).collect();
    let to_byte = |c: usize| char_bytes.get(c).copied().unwrap_or(text.len());
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    for set in v.get("asets").and_then(Value::as_array).into_iter().flatten() {
        let kind = set.get("type").and_then(Value::as_str).unwrap_or("");
        let Some(id) = technique_id_of_set(kind) else { continue };
        let id = remap.get(&id).cloned().unwrap_or(id);
        if matrix.technique(&id).is_none() {
            continue;
        }
        for a in set.get("annots").and_then(Value::as_array).into_iter().flatten() {
            let (Some(s), Some(e)) = (a.get(0).and_then(Value::as_u64), a.get(1).and_then(Value::as_u64)) else { continue };
            spans.push((to_byte(s as usize), to_byte(e as usize), id.clone()));
        }
    }
    let sentences: Vec<(usize, usize)> = segment::sentences(&text).iter().map(|s| (s.start, s.end)).collect();
    let mut sentence_gold = vec![BTreeSet::new(); sentences.len()];
    for (s, e, id) in &spans {
        // Every sentence the span overlaps carries its label.
        let first = sentences.partition_point(|&(_, se)| se <= *s);
        for (i, &(ss, _)) in sentences.iter().enumerate().skip(first) {
            if ss >= *e {
                break;
            }
            sentence_gold[i].insert(id.clone());
        }
    }
    let gold = spans.into_iter().map(|(_, _, id)| id).collect();
    Ok(Report { name: name.to_string(), text, sentences, sentence_gold, gold })
}

/// "Scheduled Task (T1053.005)" -> "T1053.005"; None for sets that are not technique labels.
pub fn technique_id_of_set(kind: &str) -> Option<String> {
    let open = kind.rfind("(T")?;
    let id = kind[open + 1..].trim_end().strip_suffix(')')?;
    let ok = id.len() >= 5 && id[1..5].bytes().all(|b| b.is_ascii_digit());
    ok.then(|| id.to_string())
}

/// Reads every .mjson report in `dir`, sorted by name.
pub fn read_tram_dir(dir: &Path, matrix: &Matrix, remap: &BTreeMap<String, String>) -> Result<Vec<Report>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mjson"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let name = p.file_stem().unwrap_or_default().to_string_lossy().to_string();
            let json = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            read_tram_report(&name, &json, matrix, remap)
        })
        .collect()
}

/// Options for building the corpus.
#[derive(Debug, Clone)]
pub struct CorpusOptions {
    pub seed: u64,
    /// Keep at most this many examples (for smoke tests); None keeps all.
    pub limit: Option<usize>,
    /// Sentences of a technique's description used as examples.
    pub description_sentences: usize,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        Self { seed: 42, limit: None, description_sentences: 3 }
    }
}

/// Builds the corpus from `data` (the ../shared/data folder).
pub fn load_corpus(data: &Path, opts: &CorpusOptions) -> Result<Corpus> {
    let bundle_path = data.join("attack/enterprise-attack-18.1.json");
    let bundle = std::fs::read(&bundle_path).with_context(|| format!("cannot read {}", bundle_path.display()))?;
    let opts_bundle = ttpmap_attack::LoadOptions { id: Some("enterprise".into()), version: Some(ENTERPRISE_VERSION.into()), ..Default::default() };
    let matrix = ttpmap_attack::load_bundle_with(&bundle, &opts_bundle).context("cannot load the Enterprise bundle")?;
    let extras = bundle_extras(&bundle, &matrix)?;

    // Label space: every Enterprise technique and sub-technique (each has at least its
    // description as an example), in matrix order.
    let labels: Vec<Label> = matrix.techniques.iter().map(|t| Label { id: t.id.clone(), name: t.name.clone() }).collect();
    let index: HashMap<&str, u32> = labels.iter().enumerate().map(|(i, l)| (l.id.as_str(), i as u32)).collect();

    // Procedure examples: identical texts labelled with several techniques become one
    // multi-label example.
    let mut by_text: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for (text, id) in &extras.procedures {
        if let Some(&i) = index.get(id.as_str()) {
            by_text.entry(text.clone()).or_default().insert(i);
        }
    }
    let mut examples: Vec<Example> = by_text
        .into_iter()
        .map(|(text, l)| Example { text, labels: l.into_iter().collect(), source: Source::ProcedureExample })
        .collect();

    for t in &matrix.techniques {
        let desc = clean_stix_text(&t.description);
        let first = desc.split("\n\n").next().unwrap_or("");
        for s in segment::sentences(first).iter().take(opts.description_sentences) {
            examples.push(Example {
                text: s.text(first).to_string(),
                labels: vec![index[t.id.as_str()]],
                source: Source::TechniqueDescription,
            });
        }
    }

    let reports = read_tram_dir(&data.join("tram/reports"), &matrix, &extras.remap)?;
    let names: Vec<String> = reports.iter().map(|r| r.name.clone()).collect();
    let split = split_reports(&names, opts.seed);
    let train_set: BTreeSet<&String> = split.train.iter().collect();
    let mut calibration = Vec::new();
    let mut validation = Vec::new();
    for r in reports {
        if train_set.contains(&r.name) {
            for (i, &(s, e)) in r.sentences.iter().enumerate() {
                let labels: Vec<u32> = r.sentence_gold[i].iter().filter_map(|id| index.get(id.as_str()).copied()).collect();
                let source = if labels.is_empty() { Source::TramUnannotated } else { Source::TramAnnotated };
                examples.push(Example { text: r.text[s..e].to_string(), labels, source });
            }
        } else if split.calibration.contains(&r.name) {
            calibration.push(r);
        } else {
            validation.push(r);
        }
    }

    let neg_path = data.join("tram/negative_data.json");
    let neg: Vec<String> = serde_json::from_slice(&std::fs::read(&neg_path).with_context(|| format!("cannot read {}", neg_path.display()))?)
        .context("negative_data.json is not a list of strings")?;
    let held_out: BTreeSet<String> = calibration.iter().chain(&validation).flat_map(|r| r.sentences.iter().map(|&(s, e)| r.text[s..e].trim().to_string())).collect();
    for n in neg {
        let n = n.trim().to_string();
        // Never train on a fragment that also appears in a held-out report.
        if !n.is_empty() && !held_out.contains(&n) {
            examples.push(Example { text: n, labels: Vec::new(), source: Source::TramNegative });
        }
    }

    let mut rng = Rng::new(opts.seed ^ 0xDA7A);
    rng.shuffle(&mut examples);
    if let Some(limit) = opts.limit {
        examples.truncate(limit);
    }
    Ok(Corpus { matrix, labels, examples, split, calibration, validation, remap: extras.remap })
}

/// Counts of examples by source.
pub fn source_counts(examples: &[Example]) -> BTreeMap<Source, usize> {
    let mut m = BTreeMap::new();
    for e in examples {
        *m.entry(e.source).or_default() += 1;
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_names_give_technique_ids() {
        assert_eq!(technique_id_of_set("Scheduled Task (T1053.005)").as_deref(), Some("T1053.005"));
        assert_eq!(technique_id_of_set("Phishing (T1566)").as_deref(), Some("T1566"));
        assert_eq!(technique_id_of_set("lex"), None);
        assert_eq!(technique_id_of_set("[OTHER]"), None);
    }

    #[test]
    fn split_is_by_report_and_disjoint() {
        let names: Vec<String> = (0..121).map(|i| format!("r{i:03}")).collect();
        let s = split_reports(&names, 42);
        assert_eq!((s.train.len(), s.calibration.len(), s.validation.len()), (83, 12, 26));
        let all: BTreeSet<&String> = s.train.iter().chain(&s.calibration).chain(&s.validation).collect();
        assert_eq!(all.len(), 121);
    }

    #[test]
    fn split_is_reproducible() {
        let names: Vec<String> = (0..50).map(|i| format!("r{i}")).collect();
        let mut rev = names.clone();
        rev.reverse();
        assert_eq!(split_reports(&names, 7).validation, split_reports(&rev, 7).validation);
    }
}
