//! Mapping into a matrix the classifier was not trained on (ATRM, TMFK, a user's STIX
//! bundle): each sentence is scored against each technique by the cosine between the
//! sentence's encoder vector and the technique's prototype vectors, from the same encoder.
//!
//! - A technique's *prototypes* are short texts: its name (with the parent's name for a
//!   sub-technique), the first sentences of its cleaned description, and a few procedure
//!   examples where the bundle has them ([`prototype_texts`]). Each is encoded to the
//!   shipped encoder's mean-pooled vector, L2-normalised ([`compute_vectors`]).
//! - A sentence's cosine for a technique pools its cosines with the prototypes
//!   ([`Pooling`]); a logistic [`ScoreMap`] turns it into a 0..1 score, and the report-level
//!   result goes through the same [`crate::MappingBuilder`] as the classifier's probabilities, so
//!   the heatmap, threshold, evidence and exports work unchanged.
//! - Where a technique links to Enterprise techniques (TMFK's `x_mitre_ids`), the trained
//!   classifier's probability for a linked technique (or one of its sub-techniques) is
//!   evidence too: the two are combined per sentence by noisy-OR,
//!   `1 - (1 - similarity) * (1 - linked)`.
//!
//! Technique vectors are precomputed for the shipped matrices (`ttpmap vectors`, stored as
//! [`VECTORS_FORMAT`] JSON with int8 rows) and computed at run time for a user's bundle.
//! Like the rest of this crate: no I/O, no threads, no clocks. The vectors, their file, the
//! prototype plan and the settings are plain (the web page builds a bundle's plan and reads
//! its vectors); what runs the encoder ([`SimilarityMapper`], [`compute_vectors`]) is
//! behind the crate's `model` feature.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use ttpmap_attack::{clean_stix_text, Examples, Matrix, Technique};

use crate::manifest::Label;
use crate::segment;

#[cfg(feature = "model")]
mod mapper;
#[cfg(feature = "model")]
pub use mapper::{compute_vectors, compute_vectors_of, encode_texts, map_report_similarity, model_sha256, SentenceScores, SimilarityMapper};

/// The `format` tag of a technique-vectors file.
pub const VECTORS_FORMAT: &str = "ttpmap-vectors/1";

/// Which texts represent a technique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrototypeConfig {
    /// Sentences taken from the start of the cleaned description.
    pub description_sentences: usize,
    /// Procedure examples taken (the first ones in bundle order).
    pub examples: usize,
}

impl Default for PrototypeConfig {
    fn default() -> Self {
        Self { description_sentences: 6, examples: 8 }
    }
}

/// How a sentence's cosines with a technique's prototypes become one cosine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The best-matching prototype.
    Max,
    /// The mean over prototypes.
    Mean,
    /// The cosine with the normalised mean of the prototype vectors.
    Centroid,
}

/// Cosine to 0..1: `sigmoid((cosine - center) / scale)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ScoreMap {
    pub center: f32,
    pub scale: f32,
}

impl ScoreMap {
    pub fn apply(&self, cosine: f32) -> f32 {
        1.0 / (1.0 + (-(cosine - self.center) / self.scale.max(1e-6)).exp())
    }
}

/// Settings of the similarity mapping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SimilarityConfig {
    pub pooling: Pooling,
    pub map: ScoreMap,
    /// Default report-level detection threshold on the mapped scores.
    pub threshold: f32,
    /// Use the classifier's probabilities of linked Enterprise techniques (TMFK).
    pub use_links: bool,
    /// A sentence supports at most this many techniques (its best-scored ones; 0: all).
    /// Similarity has no "describes no technique" outcome, so without this every sentence
    /// lends weak support to many techniques and report-level false positives pile up.
    pub per_sentence: usize,
}

impl Default for SimilarityConfig {
    /// Calibrated on the 12 Enterprise TRAM calibration reports in similarity-only mode
    /// (`ttpmap eval --similarity FILE --calibrate`; docs/benchmarks.md): pooling and
    /// per-sentence limit are the pair with the best report-level micro-F1 there, the score
    /// map is centred on the cosine threshold that achieved it (so the default threshold
    /// is 0.5), and its slope is a class-balanced logistic fit of "this sentence is
    /// annotated with this technique" on the cosine. No validation report was used.
    fn default() -> Self {
        Self {
            pooling: Pooling::Centroid,
            map: ScoreMap { center: 0.690, scale: 0.0509 },
            threshold: 0.5,
            use_links: true,
            per_sentence: 1,
        }
    }
}

impl SimilarityConfig {
    /// Score map for technique vectors without procedure examples (ATRM, TMFK, most
    /// Workbench bundles): their cosines with report sentences sit lower. Calibrated the
    /// same way as the default, on the same Enterprise calibration reports, with Enterprise
    /// vectors built without examples (`ttpmap vectors --no-examples`).
    pub const NO_EXAMPLES_MAP: ScoreMap = ScoreMap { center: NO_EXAMPLES_CENTER, scale: NO_EXAMPLES_SCALE };

    /// The calibrated defaults for these vectors.
    pub fn for_vectors(v: &TechniqueVectors) -> Self {
        let d = Self::default();
        if v.meta.examples == 0 {
            Self { map: Self::NO_EXAMPLES_MAP, pooling: NO_EXAMPLES_POOLING, per_sentence: NO_EXAMPLES_PER_SENTENCE, ..d }
        } else {
            d
        }
    }
}

const NO_EXAMPLES_CENTER: f32 = 0.655;
const NO_EXAMPLES_SCALE: f32 = 0.0600;
const NO_EXAMPLES_POOLING: Pooling = Pooling::Centroid;
const NO_EXAMPLES_PER_SENTENCE: usize = 1;

/// Why technique vectors cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum VectorsError {
    #[error("technique vectors are not valid: {0}")]
    Malformed(String),
    /// Computed with other model weights: the cosines would be meaningless.
    #[error("technique vectors for {matrix} were computed with model {found}, but the model is {expected}: rebuild them (`ttpmap vectors`)")]
    StaleModel { matrix: String, expected: String, found: String },
    /// Computed from another version of the matrix.
    #[error("technique vectors for {matrix} do not match the matrix ({0}): rebuild them (`ttpmap vectors`)", .reason)]
    StaleMatrix { matrix: String, reason: String },
}

/// Where a vectors file came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorsMeta {
    /// Matrix ID (`"atrm"`, `"tmfk"`, ...).
    pub matrix: String,
    /// sha256 of the model weights (model.gguf) the vectors were computed with.
    pub model_sha256: String,
    /// sha256 of the STIX bundle the prototypes were read from; `""` when unknown.
    pub source_sha256: String,
    pub prototypes: PrototypeConfig,
    /// Procedure-example prototypes found in the bundle (0 for ATRM and TMFK): the
    /// calibrated score map differs with and without them.
    #[serde(default)]
    pub examples: usize,
    /// Free text: the command and version that built the file.
    pub built_by: String,
}

/// Prototype vectors of every technique of a matrix, L2-normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct TechniqueVectors {
    pub meta: VectorsMeta,
    /// The techniques, in the matrix's order.
    pub techniques: Vec<Label>,
    /// Rows of `vectors` per technique: technique `i` owns `offsets[i]..offsets[i + 1]`.
    offsets: Vec<usize>,
    dim: usize,
    /// Row-major, `offsets.last() * dim` values.
    vectors: Vec<f32>,
    /// Normalised mean of each technique's rows (for [`Pooling::Centroid`]).
    centroids: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct VectorsFile {
    format: String,
    #[serde(flatten)]
    meta: VectorsMeta,
    dim: usize,
    /// How `data` is encoded.
    encoding: String,
    techniques: Vec<FileTechnique>,
    data: String,
}

#[derive(Serialize, Deserialize)]
struct FileTechnique {
    id: String,
    name: String,
    prototypes: usize,
}

const ENCODING: &str = "base64 of rows: f32le scale, then dim x int8 (value = int8 * scale)";

/// The texts that represent `t`: name, description sentences, procedure examples.
pub fn prototype_texts(matrix: &Matrix, t: &Technique, examples: &[String], cfg: &PrototypeConfig) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    match matrix.parent_of(&t.id) {
        Some(p) => push(format!("{}: {}", p.name, t.name)),
        None => push(t.name.clone()),
    }
    let description = clean_stix_text(&t.description);
    segment::sentences(&description)
        .iter()
        .map(|s| s.text(&description))
        .filter(|s| s.split_whitespace().count() >= 3)
        .take(cfg.description_sentences)
        .for_each(|s| push(s.to_string()));
    examples.iter().take(cfg.examples).for_each(|e| push(e.clone()));
    out
}

pub(crate) fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The prototype texts of every technique of `matrix`, in matrix order: all texts, how
/// many belong to each technique, and how many procedure examples were taken.
pub struct PrototypePlan {
    pub texts: Vec<String>,
    pub counts: Vec<usize>,
    pub examples: usize,
}

/// Lists the prototype texts of every technique (what [`compute_vectors`] encodes).
pub fn prototype_plan(matrix: &Matrix, examples: &Examples, cfg: &PrototypeConfig) -> PrototypePlan {
    prototype_plan_of(matrix, &matrix.techniques, examples, cfg)
}

/// [`prototype_plan`] for some of the matrix's techniques, in the given order (a parent's
/// name is still read from `matrix`).
pub fn prototype_plan_of(matrix: &Matrix, techniques: &[Technique], examples: &Examples, cfg: &PrototypeConfig) -> PrototypePlan {
    let none = Vec::new();
    let mut plan = PrototypePlan { texts: Vec::new(), counts: Vec::new(), examples: 0 };
    for t in techniques {
        let ex = examples.get(&t.id).unwrap_or(&none);
        plan.examples += ex.len().min(cfg.examples);
        let texts = prototype_texts(matrix, t, ex, cfg);
        plan.counts.push(texts.len());
        plan.texts.extend(texts);
    }
    plan
}

/// Encodes rows of `dim` values as the vectors file stores them: per row, an f32le scale,
/// then `dim` int8 values (value = int8 * scale). Rows encoded apart (by several workers)
/// concatenate.
pub fn rows_to_bytes(vectors: &[f32], dim: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(vectors.len() / dim.max(1) * (dim + 4));
    for row in vectors.chunks(dim.max(1)) {
        let scale = row.iter().fold(0f32, |m, x| m.max(x.abs())) / 127.0;
        bytes.extend_from_slice(&scale.to_le_bytes());
        bytes.extend(row.iter().map(|x| if scale > 0.0 { (x / scale).round().clamp(-127.0, 127.0) as i8 as u8 } else { 0 }));
    }
    bytes
}

/// Base64 (standard alphabet) of `bytes`, as the vectors file and worker messages carry rows.
pub fn to_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bytes of a base64 (standard alphabet) string.
pub fn from_base64(s: &str) -> Result<Vec<u8>, VectorsError> {
    base64::engine::general_purpose::STANDARD.decode(s.as_bytes()).map_err(|e| VectorsError::Malformed(e.to_string()))
}

impl TechniqueVectors {
    fn new(meta: VectorsMeta, techniques: Vec<Label>, offsets: Vec<usize>, dim: usize, vectors: Vec<f32>) -> Self {
        let mut centroids = vec![0f32; techniques.len() * dim];
        for (i, c) in centroids.chunks_mut(dim.max(1)).enumerate().take(techniques.len()) {
            for r in offsets[i]..offsets[i + 1] {
                c.iter_mut().zip(&vectors[r * dim..(r + 1) * dim]).for_each(|(a, b)| *a += b);
            }
            normalise(c);
        }
        Self { meta, techniques, offsets, dim, vectors, centroids }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Prototype vectors in all.
    pub fn rows(&self) -> usize {
        *self.offsets.last().unwrap_or(&0)
    }

    /// Pooled cosine of a normalised sentence vector with every technique.
    pub fn cosines(&self, v: &[f32], pooling: Pooling) -> Vec<f32> {
        let d = self.dim;
        (0..self.techniques.len())
            .map(|i| {
                let (a, b) = (self.offsets[i], self.offsets[i + 1]);
                if a == b {
                    return -1.0;
                }
                let rows = (a..b).map(|r| dot(v, &self.vectors[r * d..(r + 1) * d]));
                match pooling {
                    Pooling::Max => rows.fold(-1.0f32, f32::max),
                    Pooling::Mean => rows.sum::<f32>() / (b - a) as f32,
                    Pooling::Centroid => dot(v, &self.centroids[i * d..(i + 1) * d]),
                }
            })
            .collect()
    }

    /// Refuses vectors computed with another model or for another matrix.
    pub fn check(&self, model_sha256: &str, matrix: &Matrix) -> Result<(), VectorsError> {
        if self.meta.model_sha256 != model_sha256 {
            return Err(VectorsError::StaleModel {
                matrix: self.meta.matrix.clone(),
                expected: model_sha256.to_string(),
                found: self.meta.model_sha256.clone(),
            });
        }
        let stale = |reason: String| Err(VectorsError::StaleMatrix { matrix: self.meta.matrix.clone(), reason });
        if let Some(p) = &matrix.provenance {
            if !self.meta.source_sha256.is_empty() && p.source_sha256 != self.meta.source_sha256 {
                return stale(format!("source sha256 {} vs the matrix's {}", self.meta.source_sha256, p.source_sha256));
            }
        }
        let ids: Vec<&str> = matrix.techniques.iter().map(|t| t.id.as_str()).collect();
        let mine: Vec<&str> = self.techniques.iter().map(|t| t.id.as_str()).collect();
        if ids != mine {
            return stale(format!("{} techniques vs the matrix's {}", mine.len(), ids.len()));
        }
        Ok(())
    }

    /// The vectors file (int8 rows with a per-row scale, base64), JSON.
    pub fn to_json(&self) -> String {
        let bytes = rows_to_bytes(&self.vectors, self.dim);
        let file = VectorsFile {
            format: VECTORS_FORMAT.into(),
            meta: self.meta.clone(),
            dim: self.dim,
            encoding: ENCODING.into(),
            techniques: self
                .techniques
                .iter()
                .enumerate()
                .map(|(i, t)| FileTechnique { id: t.id.clone(), name: t.name.clone(), prototypes: self.offsets[i + 1] - self.offsets[i] })
                .collect(),
            data: base64::engine::general_purpose::STANDARD.encode(&bytes),
        };
        serde_json::to_string(&file).unwrap_or_default()
    }

    /// Reads a file written by [`TechniqueVectors::to_json`]; rows are re-normalised.
    pub fn from_json(json: &str) -> Result<Self, VectorsError> {
        let bad = |s: String| VectorsError::Malformed(s);
        let f: VectorsFile = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        if f.format != VECTORS_FORMAT {
            return Err(bad(format!("format is {:?}, expected {VECTORS_FORMAT:?}", f.format)));
        }
        let bytes = from_base64(&f.data)?;
        let counts: Vec<usize> = f.techniques.iter().map(|t| t.prototypes).collect();
        let techniques = f.techniques.into_iter().map(|t| Label { id: t.id, name: t.name }).collect();
        Self::from_row_bytes(f.meta, techniques, &counts, f.dim, &bytes)
    }

    /// Vectors from rows in the file's byte form ([`rows_to_bytes`]); technique `i` owns
    /// the next `counts[i]` rows. Rows are re-normalised.
    pub fn from_row_bytes(meta: VectorsMeta, techniques: Vec<Label>, counts: &[usize], dim: usize, bytes: &[u8]) -> Result<Self, VectorsError> {
        let bad = |s: String| VectorsError::Malformed(s);
        if counts.len() != techniques.len() {
            return Err(bad(format!("{} prototype counts for {} techniques", counts.len(), techniques.len())));
        }
        let mut offsets = vec![0];
        for c in counts {
            offsets.push(offsets.last().unwrap_or(&0) + c);
        }
        let rows = *offsets.last().unwrap_or(&0);
        if dim == 0 || bytes.len() != rows * (dim + 4) {
            return Err(bad(format!("{} bytes of data for {rows} rows of {dim} values", bytes.len())));
        }
        let mut vectors = Vec::with_capacity(rows * dim);
        for row in bytes.chunks(dim + 4) {
            let scale = f32::from_le_bytes([row[0], row[1], row[2], row[3]]);
            let start = vectors.len();
            vectors.extend(row[4..].iter().map(|&b| b as i8 as f32 * scale));
            normalise(&mut vectors[start..]);
        }
        Ok(Self::new(meta, techniques, offsets, dim, vectors))
    }
}

/// Zeroes all but the `k` largest values (ties broken by position); `k == 0` keeps all.
pub fn keep_best(mut scores: Vec<f32>, k: usize) -> Vec<f32> {
    if k == 0 || k >= scores.len() {
        return scores;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    for &i in &order[k..] {
        scores[i] = 0.0;
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> TechniqueVectors {
        let meta = VectorsMeta {
            matrix: "m".into(),
            model_sha256: "abc".into(),
            source_sha256: String::new(),
            prototypes: PrototypeConfig::default(),
            examples: 0,
            built_by: String::new(),
        };
        let labels = vec![Label { id: "A1".into(), name: "A".into() }, Label { id: "B1".into(), name: "B".into() }];
        // A: two prototypes (x, y); B: one (z).
        let v = vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        TechniqueVectors::new(meta, labels, vec![0, 2, 3], 3, v)
    }

    #[test]
    fn max_pooling_takes_the_best_prototype() {
        let c = vectors().cosines(&[0.0, 1.0, 0.0], Pooling::Max);
        assert_eq!(c, vec![1.0, 0.0]);
    }

    #[test]
    fn mean_pooling_averages_prototypes() {
        let c = vectors().cosines(&[0.0, 1.0, 0.0], Pooling::Mean);
        assert_eq!(c, vec![0.5, 0.0]);
    }

    #[test]
    fn centroid_pooling_uses_the_normalised_mean() {
        let c = vectors().cosines(&[0.0, 1.0, 0.0], Pooling::Centroid);
        assert!((c[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6, "{c:?}");
    }

    #[test]
    fn the_file_round_trips_within_int8_precision() {
        let v = vectors();
        let back = TechniqueVectors::from_json(&v.to_json()).unwrap();
        assert_eq!(back.techniques, v.techniques);
        assert_eq!(back.meta, v.meta);
        for (a, b) in back.vectors.iter().zip(&v.vectors) {
            assert!((a - b).abs() < 0.01);
        }
    }

    #[test]
    fn a_truncated_file_is_refused() {
        let json = vectors().to_json().replace("\"prototypes\":1", "\"prototypes\":2");
        assert!(matches!(TechniqueVectors::from_json(&json), Err(VectorsError::Malformed(_))));
    }

    #[test]
    fn rows_encoded_apart_concatenate_into_the_same_vectors() {
        let v = vectors();
        let mut bytes = rows_to_bytes(&v.vectors[..3], 3);
        bytes.extend(rows_to_bytes(&v.vectors[3..], 3));
        let back = TechniqueVectors::from_row_bytes(v.meta.clone(), v.techniques.clone(), &[2, 1], 3, &from_base64(&to_base64(&bytes)).unwrap()).unwrap();
        assert_eq!(back.cosines(&[0.0, 0.0, 1.0], Pooling::Max), vec![0.0, 1.0]);
        assert!(TechniqueVectors::from_row_bytes(v.meta.clone(), v.techniques.clone(), &[1, 1], 3, &bytes).is_err());
    }

    #[test]
    fn keep_best_zeroes_the_rest() {
        assert_eq!(keep_best(vec![0.1, 0.9, 0.5, 0.7], 2), vec![0.0, 0.9, 0.0, 0.7]);
        assert_eq!(keep_best(vec![0.1, 0.9], 0), vec![0.1, 0.9]);
    }

    #[test]
    fn score_map_is_one_half_at_the_center() {
        let m = ScoreMap { center: 0.4, scale: 0.05 };
        assert!((m.apply(0.4) - 0.5).abs() < 1e-6);
        assert!(m.apply(0.6) > 0.95 && m.apply(0.2) < 0.05);
    }
}
