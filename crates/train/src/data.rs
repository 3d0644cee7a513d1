//! Training and evaluation data: ATT&CK procedure examples, technique descriptions, TRAM's
//! human-annotated reports, AnnoCTR's reports (mention-level technique links, other vendors)
//! and negatives.
//!
//! Reports are split by report, never by sentence: sentences of one report are not
//! independent. Validation reports are never trained on and never used for calibration.
//!
//! Two annotation conventions meet here. TRAM's annotators chose from a fixed list of about
//! 77 techniques, so a TRAM sentence they left unannotated says nothing about the other
//! ~600: it is a negative only for TRAM's annotation vocabulary ([`Negatives::TramVocabulary`]).
//! AnnoCTR's annotator linked every mention of any technique, so its unannotated sentences are
//! negatives for every label ([`Negatives::All`]).

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
    /// A sentence of an AnnoCTR training report holding a technique mention.
    AnnoctrAnnotated,
    /// A sentence of an AnnoCTR training report with no technique mention.
    AnnoctrUnannotated,
}

impl Source {
    /// A sentence of an annotated report that holds an annotation (weighted up in training).
    pub fn is_annotated_report_sentence(self) -> bool {
        matches!(self, Source::TramAnnotated | Source::AnnoctrAnnotated)
    }
}

/// Which labels an example's empty entries are negatives for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Negatives {
    /// Every label it does not carry.
    All,
    /// Only the labels of TRAM's annotation vocabulary ([`Corpus::tram_vocabulary`]): a TRAM
    /// annotator could not have tagged anything else. Other labels carry no loss.
    TramVocabulary,
}

/// One training sentence with its (possibly empty) label set.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub labels: Vec<u32>,
    pub source: Source,
    pub negatives: Negatives,
}

/// An annotated report (TRAM or AnnoCTR) with its gold techniques, per sentence and for the
/// whole report.
#[derive(Debug, Clone)]
pub struct Report {
    pub name: String,
    pub text: String,
    /// Byte spans of the report's sentences.
    pub sentences: Vec<(usize, usize)>,
    /// Gold technique IDs of each sentence (spans overlapping it), [`Report::other`] included.
    pub sentence_gold: Vec<BTreeSet<String>>,
    /// TRAM only: the IDs of each sentence that only `[OTHER]` spans give it.
    pub sentence_other: Vec<BTreeSet<String>>,
    /// Gold technique IDs of the report: for TRAM, the techniques of its annotation list.
    pub gold: BTreeSet<String>,
    /// TRAM only: techniques its annotators tagged outside their list (a technique ID in the
    /// comment of an `[OTHER]` annotation), not in [`Report::gold`].
    pub other: BTreeSet<String>,
}

impl Report {
    /// The report's gold with [`Report::other`] added.
    pub fn gold_with_other(&self) -> BTreeSet<String> {
        self.gold.union(&self.other).cloned().collect()
    }
}

/// Report names of each part of the split.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Split {
    pub seed: u64,
    /// TRAM reports trained on.
    pub train: Vec<String>,
    /// TRAM reports held out from training; used to choose the epoch and calibrate the threshold.
    pub calibration: Vec<String>,
    /// TRAM reports held out from everything; the reported metrics.
    pub validation: Vec<String>,
    /// AnnoCTR `train/` reports trained on.
    pub annoctr_train: Vec<String>,
    /// AnnoCTR `train/` reports held out for calibration, with TRAM's.
    pub annoctr_calibration: Vec<String>,
    /// AnnoCTR `dev/`: validation only.
    pub annoctr_validation: Vec<String>,
}

/// The ATT&CK release of the bundle trained on.
pub const ENTERPRISE_VERSION: &str = "18.1";

/// Split sizes.
pub const VALIDATION_REPORTS: usize = 26;
pub const CALIBRATION_REPORTS: usize = 12;
/// AnnoCTR `train/` reports held out for calibration (of 70; `dev/` is the validation set).
pub const ANNOCTR_CALIBRATION_REPORTS: usize = 14;

/// Everything training needs.
pub struct Corpus {
    pub matrix: Matrix,
    pub labels: Vec<Label>,
    pub examples: Vec<Example>,
    pub split: Split,
    /// TRAM calibration reports.
    pub calibration: Vec<Report>,
    /// TRAM validation reports.
    pub validation: Vec<Report>,
    /// AnnoCTR calibration reports (from its `train/`).
    pub annoctr_calibration: Vec<Report>,
    /// AnnoCTR validation reports (its `dev/`).
    pub annoctr_validation: Vec<Report>,
    /// TRAM's annotation vocabulary as far as training may know it: the techniques of its
    /// list that its annotators used in the training and calibration reports (never the
    /// validation ones, never `[OTHER]` comments).
    pub tram_vocabulary: BTreeSet<String>,
    /// Technique IDs revoked since TRAM or AnnoCTR was annotated, mapped to their replacement.
    pub remap: BTreeMap<String, String>,
    pub conventions: Conventions,
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
    Split { seed, train, calibration, validation, ..Default::default() }
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
    // (start, end, technique, from an [OTHER] comment)
    let mut spans: Vec<(usize, usize, String, bool)> = Vec::new();
    let live = |id: String| -> Option<String> {
        let id = remap.get(&id).cloned().unwrap_or(id);
        matrix.technique(&id).is_some().then_some(id)
    };
    for set in v.get("asets").and_then(Value::as_array).into_iter().flatten() {
        let kind = set.get("type").and_then(Value::as_str).unwrap_or("");
        let annots = set.get("annots").and_then(Value::as_array).into_iter().flatten();
        let span = |a: &Value| Some((to_byte(a.get(0)?.as_u64()? as usize), to_byte(a.get(1)?.as_u64()? as usize)));
        if kind == "[OTHER]" {
            // A technique outside TRAM's list, named in the annotation's comment.
            for a in annots {
                let (Some((s, e)), Some(id)) = (span(a), a.get(2).and_then(Value::as_str).and_then(technique_id)) else { continue };
                if let Some(id) = live(id) {
                    spans.push((s, e, id, true));
                }
            }
            continue;
        }
        let Some(id) = technique_id_of_set(kind).and_then(live) else { continue };
        for (s, e) in annots.filter_map(span) {
            spans.push((s, e, id.clone(), false));
        }
    }
    let sentences: Vec<(usize, usize)> = segment::sentences(&text).iter().map(|s| (s.start, s.end)).collect();
    let sentence_gold = label_sentences(&sentences, spans.iter().map(|(s, e, id, _)| (*s, *e, id.as_str())));
    let sentence_list = label_sentences(&sentences, spans.iter().filter(|x| !x.3).map(|(s, e, id, _)| (*s, *e, id.as_str())));
    let sentence_other = sentence_gold.iter().zip(&sentence_list).map(|(all, list)| all.difference(list).cloned().collect()).collect();
    let gold: BTreeSet<String> = spans.iter().filter(|x| !x.3).map(|x| x.2.clone()).collect();
    let other = spans.into_iter().filter(|x| x.3 && !gold.contains(&x.2)).map(|x| x.2).collect();
    Ok(Report { name: name.to_string(), text, sentences, sentence_gold, sentence_other, gold, other })
}

/// Labels of each sentence: every labelled byte span overlapping it.
fn label_sentences<'a>(sentences: &[(usize, usize)], spans: impl IntoIterator<Item = (usize, usize, &'a str)>) -> Vec<BTreeSet<String>> {
    let mut gold = vec![BTreeSet::new(); sentences.len()];
    for (s, e, id) in spans {
        let first = sentences.partition_point(|&(_, se)| se <= s);
        for (i, &(ss, _)) in sentences.iter().enumerate().skip(first) {
            if ss >= e {
                break;
            }
            gold[i].insert(id.to_string());
        }
    }
    gold
}

/// "T1486" or "t1053.005 " -> the ID, upper-cased; None for anything else (free text).
pub fn technique_id(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_uppercase();
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    let ok = b.first() == Some(&b'T') && digits(1..5) && (b.len() == 5 || (b.len() == 9 && b[5] == b'.' && digits(6..9)));
    ok.then_some(s)
}

/// "https://attack.mitre.org/techniques/T1566/001" -> "T1566.001".
pub fn technique_id_of_link(link: &str) -> Option<String> {
    let rest = link.split("/techniques/").nth(1)?.trim_end_matches('/');
    technique_id(&rest.replace('/', "."))
}

/// Parses an AnnoCTR report: its text and the JSON lines of its mention links. Each
/// technique mention is found in the text by its left context, the mention and its right
/// context (falling back to one side's context, then the mention alone; each after the
/// previous mention first); the sentences it overlaps carry its technique (revoked IDs remapped; IDs
/// unknown to the matrix dropped; sub-technique links kept). Mentions of other entity types
/// (tactics, groups, malware) are not technique labels.
pub fn read_annoctr_report(name: &str, text: &str, links: &str, matrix: &Matrix, remap: &BTreeMap<String, String>) -> Result<Report> {
    let mut spans: Vec<(usize, usize, String)> = Vec::new();
    let (mut unplaced, mut cursor) = (0, 0);
    for (n, line) in links.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).with_context(|| format!("{name}: line {} of its links is not JSON", n + 1))?;
        let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
        if field("entity_type") != "TECHNIQUE" {
            continue;
        }
        let Some(id) = technique_id_of_link(field("label_link")) else { continue };
        let id = remap.get(&id).cloned().unwrap_or(id);
        if matrix.technique(&id).is_none() {
            continue;
        }
        let mention = field("mention");
        if mention.is_empty() {
            continue;
        }
        let (left, right) = (field("_context_left"), field("_context_right"));
        // Links come in text order: look after the previous mention first, then anywhere.
        let needles = [(format!("{left}{mention}{right}"), left.len()), (format!("{mention}{right}"), 0), (format!("{left}{mention}"), left.len()), (mention.to_string(), 0)];
        let find = |needle: &str, from: usize| text.get(from..)?.find(needle).map(|at| from + at);
        match needles.iter().find_map(|(needle, offset)| find(needle, cursor).or_else(|| find(needle, 0)).map(|at| at + offset)) {
            Some(at) => {
                cursor = at + mention.len();
                spans.push((at, at + mention.len(), id));
            }
            None => unplaced += 1,
        }
    }
    if unplaced > 0 && spans.is_empty() {
        bail!("{name}: none of its {unplaced} technique mentions was found in its text");
    }
    let sentences: Vec<(usize, usize)> = segment::sentences(text).iter().map(|s| (s.start, s.end)).collect();
    let sentence_gold = label_sentences(&sentences, spans.iter().map(|(s, e, id)| (*s, *e, id.as_str())));
    let sentence_other = vec![BTreeSet::new(); sentences.len()];
    let gold = spans.into_iter().map(|(_, _, id)| id).collect();
    Ok(Report { name: name.to_string(), text: text.to_string(), sentences, sentence_gold, sentence_other, gold, other: BTreeSet::new() })
}

/// The files of `dir` with extension `ext`, sorted, each with its stem (the report's name).
fn files_with_extension(dir: &Path, ext: &str) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    Ok(paths.into_iter().map(|p| (p.file_stem().unwrap_or_default().to_string_lossy().to_string(), p)).collect())
}

/// Reads every AnnoCTR report (NAME.txt with NAME.links.jsonl) in `dir`, sorted by name.
pub fn read_annoctr_dir(dir: &Path, matrix: &Matrix, remap: &BTreeMap<String, String>) -> Result<Vec<Report>> {
    files_with_extension(dir, "txt")?
        .into_iter()
        .map(|(name, p)| {
            let text = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
            let links_path = p.with_file_name(format!("{name}.links.jsonl"));
            let links = std::fs::read_to_string(&links_path).with_context(|| format!("cannot read {}", links_path.display()))?;
            read_annoctr_report(&name, &text, &links, matrix, remap)
        })
        .collect()
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
    files_with_extension(dir, "mjson")?
        .into_iter()
        .map(|(name, p)| {
            let json = std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
            read_tram_report(&name, &json, matrix, remap)
        })
        .collect()
}

/// What the corpus takes from each annotation convention. The default is the shipped
/// model's recipe (TRAM's list labels, every unannotated sentence a negative for every label);
/// each switch is one of issue 16's changes, so that each can be measured on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Conventions {
    /// Train on AnnoCTR's `train/` reports and calibrate on its held-out part too.
    pub annoctr: bool,
    /// TRAM's `[OTHER]` comment technique IDs as training labels (and in its calibration gold).
    pub tram_other_labels: bool,
    /// TRAM's sentences and negative fragments are negatives only for TRAM's annotation
    /// vocabulary ([`Negatives::TramVocabulary`]).
    pub tram_partial_negatives: bool,
}

/// Options for building the corpus.
#[derive(Debug, Clone)]
pub struct CorpusOptions {
    pub seed: u64,
    /// Keep at most this many examples (for smoke tests); None keeps all.
    pub limit: Option<usize>,
    /// Sentences of a technique's description used as examples.
    pub description_sentences: usize,
    pub conventions: Conventions,
}

impl Default for CorpusOptions {
    fn default() -> Self {
        Self { seed: 42, limit: None, description_sentences: 3, conventions: Conventions::default() }
    }
}

/// Builds the corpus from `data` (the repository's data/ folder).
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
        .map(|(text, l)| Example { text, labels: l.into_iter().collect(), source: Source::ProcedureExample, negatives: Negatives::All })
        .collect();

    for t in &matrix.techniques {
        let desc = clean_stix_text(&t.description);
        let first = desc.split("\n\n").next().unwrap_or("");
        for s in segment::sentences(first).iter().take(opts.description_sentences) {
            examples.push(Example {
                text: s.text(first).to_string(),
                labels: vec![index[t.id.as_str()]],
                source: Source::TechniqueDescription,
                negatives: Negatives::All,
            });
        }
    }

    let reports = read_tram_dir(&data.join("tram/reports"), &matrix, &extras.remap)?;
    let names: Vec<String> = reports.iter().map(|r| r.name.clone()).collect();
    let mut split = split_reports(&names, opts.seed);
    let (train, calibration, validation) = take_split(reports, &split.train, &split.calibration);
    let tram_vocabulary: BTreeSet<String> = train.iter().chain(&calibration).flat_map(|r| r.gold.iter().cloned()).collect();
    let conv = opts.conventions;
    // TRAM's annotators chose from their list: with partial negatives, a sentence is a
    // negative only for it.
    let tram_negatives = if conv.tram_partial_negatives { Negatives::TramVocabulary } else { Negatives::All };
    for r in &train {
        push_report_sentences(&mut examples, r, &index, !conv.tram_other_labels, Source::TramAnnotated, Source::TramUnannotated, tram_negatives);
    }

    // AnnoCTR: train/ split by report into training and calibration; dev/ is validation.
    let annoctr_dir = data.join("annoctr");
    let (annoctr, annoctr_validation) = if conv.annoctr {
        (read_annoctr_dir(&annoctr_dir.join("train"), &matrix, &extras.remap)?, read_annoctr_dir(&annoctr_dir.join("dev"), &matrix, &extras.remap)?)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut names: Vec<String> = annoctr.iter().map(|r| r.name.clone()).collect();
    names.sort();
    Rng::new(opts.seed ^ 0xA220C7).shuffle(&mut names);
    let cut = ANNOCTR_CALIBRATION_REPORTS.min(names.len());
    (split.annoctr_calibration, split.annoctr_train) = (names[..cut].to_vec(), names[cut..].to_vec());
    split.annoctr_validation = annoctr_validation.iter().map(|r| r.name.clone()).collect();
    let (annoctr_train, annoctr_calibration, _) = take_split(annoctr, &split.annoctr_train, &split.annoctr_calibration);
    for r in &annoctr_train {
        // AnnoCTR's annotator linked every technique mention: a negative for every label.
        push_report_sentences(&mut examples, r, &index, false, Source::AnnoctrAnnotated, Source::AnnoctrUnannotated, Negatives::All);
    }

    let neg_path = data.join("tram/negative_data.json");
    let neg: Vec<String> = serde_json::from_slice(&std::fs::read(&neg_path).with_context(|| format!("cannot read {}", neg_path.display()))?)
        .context("negative_data.json is not a list of strings")?;
    let held_out: BTreeSet<String> = calibration
        .iter()
        .chain(&validation)
        .chain(&annoctr_calibration)
        .chain(&annoctr_validation)
        .flat_map(|r| r.sentences.iter().map(|&(s, e)| r.text[s..e].trim().to_string()))
        .collect();
    for n in neg {
        let n = n.trim().to_string();
        // Never train on a fragment that also appears in a held-out report.
        if !n.is_empty() && !held_out.contains(&n) {
            examples.push(Example { text: n, labels: Vec::new(), source: Source::TramNegative, negatives: tram_negatives });
        }
    }

    let mut rng = Rng::new(opts.seed ^ 0xDA7A);
    rng.shuffle(&mut examples);
    if let Some(limit) = opts.limit {
        examples.truncate(limit);
    }
    Ok(Corpus { matrix, labels, examples, split, calibration, validation, annoctr_calibration, annoctr_validation, tram_vocabulary, remap: extras.remap, conventions: conv })
}

/// Splits `reports` into (training, calibration, the rest) by name.
fn take_split(reports: Vec<Report>, train: &[String], calibration: &[String]) -> (Vec<Report>, Vec<Report>, Vec<Report>) {
    let (mut t, mut c, mut rest) = (Vec::new(), Vec::new(), Vec::new());
    for r in reports {
        if train.contains(&r.name) {
            t.push(r);
        } else if calibration.contains(&r.name) {
            c.push(r);
        } else {
            rest.push(r);
        }
    }
    (t, c, rest)
}

/// Each sentence of a training report as an example labelled with its gold techniques (with
/// `list_only`, not those only `[OTHER]` spans give it).
fn push_report_sentences(
    examples: &mut Vec<Example>,
    r: &Report,
    index: &HashMap<&str, u32>,
    list_only: bool,
    annotated: Source,
    unannotated: Source,
    negatives: Negatives,
) {
    for (i, &(s, e)) in r.sentences.iter().enumerate() {
        let labels: Vec<u32> = r.sentence_gold[i]
            .iter()
            .filter(|id| !(list_only && r.sentence_other[i].contains(*id)))
            .filter_map(|id| index.get(id.as_str()).copied())
            .collect();
        let source = if labels.is_empty() { unannotated } else { annotated };
        examples.push(Example { text: r.text[s..e].to_string(), labels, source, negatives });
    }
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
    fn technique_ids_are_read_from_comments_and_links() {
        assert_eq!(technique_id(" t1486 ").as_deref(), Some("T1486"));
        assert_eq!(technique_id("T1053.005").as_deref(), Some("T1053.005"));
        assert_eq!(technique_id("ransomware"), None);
        assert_eq!(technique_id("T14"), None);
        assert_eq!(technique_id("T1053.05"), None);
        assert_eq!(technique_id_of_link("https://attack.mitre.org/techniques/T1566/001").as_deref(), Some("T1566.001"));
        assert_eq!(technique_id_of_link("https://attack.mitre.org/techniques/T1486/").as_deref(), Some("T1486"));
        assert_eq!(technique_id_of_link("https://attack.mitre.org/software/S0496"), None);
    }

    fn tiny_matrix() -> Matrix {
        let t = |id: &str| ttpmap_attack::Technique {
            id: id.into(),
            stix_id: String::new(),
            name: id.into(),
            description: String::new(),
            platforms: Vec::new(),
            url: String::new(),
            tactics: Vec::new(),
            parent: None,
            subtechniques: Vec::new(),
            links: Vec::new(),
        };
        let techniques = vec![t("T1486"), t("T1566"), t("T1566.001"), t("T1053.005")];
        Matrix::new("t".into(), "t".into(), String::new(), String::new(), Vec::new(), techniques, None)
    }

    #[test]
    fn annoctr_mentions_label_their_sentences() {
        let text = "The ransomware encrypted files. It arrived by malspam. Then the ransomware spread.";
        let link = |mention: &str, left: &str, right: &str, url: &str, kind: &str| {
            serde_json::json!({"mention": mention, "_context_left": left, "_context_right": right, "label_link": url, "entity_type": kind}).to_string()
        };
        let links = [
            link("ransomware", "The ", " encrypted", "https://attack.mitre.org/techniques/T1486", "TECHNIQUE"),
            link("malspam", "arrived by ", ".", "https://attack.mitre.org/techniques/T1566/001", "TECHNIQUE"),
            // Same short context as nothing else: the second "ransomware", after the first.
            link("ransomware", "the ", " spread", "https://attack.mitre.org/techniques/T1486", "TECHNIQUE"),
            link("malspam", "arrived by ", ".", "https://attack.mitre.org/tactics/TA0001", "TACTIC"),
            link("encrypted", "ransomware ", " files", "https://attack.mitre.org/techniques/T9999", "TECHNIQUE"),
        ]
        .join("\n");
        let r = read_annoctr_report("r", text, &links, &tiny_matrix(), &BTreeMap::new()).unwrap();
        assert_eq!(r.sentences.len(), 3);
        let ids = |i: usize| r.sentence_gold[i].iter().cloned().collect::<Vec<_>>();
        assert_eq!(ids(0), ["T1486"]);
        assert_eq!(ids(1), ["T1566.001"]);
        assert_eq!(ids(2), ["T1486"]);
        assert_eq!(r.gold.iter().cloned().collect::<Vec<_>>(), ["T1486", "T1566.001"]);
    }

    #[test]
    fn annoctr_revoked_ids_are_remapped() {
        let links = serde_json::json!({"mention": "task", "_context_left": "a ", "_context_right": ".", "label_link": "https://attack.mitre.org/techniques/T1053/099", "entity_type": "TECHNIQUE"}).to_string();
        let remap = BTreeMap::from([("T1053.099".to_string(), "T1053.005".to_string())]);
        let r = read_annoctr_report("r", "It made a task.", &links, &tiny_matrix(), &remap).unwrap();
        assert_eq!(r.gold.iter().cloned().collect::<Vec<_>>(), ["T1053.005"]);
    }

    #[test]
    fn tram_other_comments_are_labels_apart_from_the_list() {
        let text = "They ran a scheduled task. The ransomware encrypted the disk. Nothing here.";
        let json = serde_json::json!({
            "signal": text,
            "asets": [
                {"type": "Scheduled Task (T1053.005)", "annots": [[0, 25]]},
                {"type": "[OTHER]", "annots": [[27, 60, "T1486"], [61, 74, "free text"]]},
            ]
        })
        .to_string();
        let r = read_tram_report("r", &json, &tiny_matrix(), &BTreeMap::new()).unwrap();
        assert_eq!(r.gold.iter().cloned().collect::<Vec<_>>(), ["T1053.005"]);
        assert_eq!(r.other.iter().cloned().collect::<Vec<_>>(), ["T1486"]);
        assert_eq!(r.sentence_gold[1].iter().cloned().collect::<Vec<_>>(), ["T1486"]);
        assert_eq!(r.sentence_other[1].iter().cloned().collect::<Vec<_>>(), ["T1486"]);
        assert!(r.sentence_other[0].is_empty());
        assert!(r.sentence_gold[2].is_empty());
        assert_eq!(r.gold_with_other().len(), 2);
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
