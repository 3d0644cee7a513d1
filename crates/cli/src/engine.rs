//! Which mapping runs for a matrix: the trained classifier when the matrix is the one it
//! was trained on (Enterprise ATT&CK), the classifier carried onto the release when the
//! matrix is another Enterprise ATT&CK release (`ttpmap_mapper::release`: revocations
//! followed, techniques new in it scored by similarity with vectors computed on the spot),
//! else the similarity mapping over technique vectors (precomputed files for the shipped
//! ATRM and TMFK, computed on the spot for a bundle).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ttpmap_attack::{Examples, Matrix};
use ttpmap_mapper::release::{NewTechniqueConfig, ReleaseMapper, ReleasePlan};
use ttpmap_mapper::similarity::{compute_vectors, compute_vectors_of, model_sha256, PrototypeConfig, SimilarityConfig, TechniqueVectors};
use ttpmap_mapper::{BatchConfig, Classifier, ModelError, Scoring};

use crate::matrix_source::{load_matrix_file_with_examples, Builtin, Matrices, MatrixSource};

/// `<dir>/<matrix id>.vectors.json`: where `ttpmap vectors` writes a matrix's vectors.
pub fn vectors_path(dir: &Path, matrix_id: &str) -> PathBuf {
    dir.join(format!("{matrix_id}.vectors.json"))
}

/// Reads a vectors file and refuses it if it was computed with another model or matrix.
pub fn read_vectors(path: &Path, classifier: &Classifier, matrix: &Matrix) -> Result<TechniqueVectors> {
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} (build it with `ttpmap vectors`)", path.display()))?;
    parse_vectors(&json, &path.display().to_string(), classifier, matrix)
}

/// Parses vectors JSON read from `origin` and refuses it if it was computed with another
/// model or matrix.
fn parse_vectors(json: &str, origin: &str, classifier: &Classifier, matrix: &Matrix) -> Result<TechniqueVectors> {
    let v = TechniqueVectors::from_json(json).with_context(|| format!("reading {origin}"))?;
    v.check(&model_sha256(classifier), matrix).with_context(|| format!("refusing {origin}"))?;
    Ok(v)
}

/// Computes a matrix's technique vectors, showing progress on stderr.
pub fn compute_with_progress(classifier: &Classifier, matrix: &Matrix, examples: &Examples, source_sha256: &str) -> Result<TechniqueVectors, ModelError> {
    let show = std::io::stderr().is_terminal();
    let label = matrix.name.clone();
    let mut progress = |done: usize, total: usize| {
        if show {
            eprint!("\r{label}: technique vectors {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    };
    compute_vectors(classifier, matrix, examples, &PrototypeConfig::default(), source_sha256, BatchConfig::default(), &mut progress)
}

/// The matrix to map onto and how.
pub struct Target {
    pub matrix: Matrix,
    /// `None`: the trained classifier maps onto this matrix (directly, or through
    /// `release`).
    pub vectors: Option<TechniqueVectors>,
    /// Set when the matrix is an Enterprise ATT&CK release other than the classifier's.
    pub release: Option<ReleaseTarget>,
}

/// How the classifier maps onto another Enterprise release.
pub struct ReleaseTarget {
    pub plan: ReleasePlan,
    /// Vectors of the techniques new in the release (`None` when there are none).
    pub vectors: Option<TechniqueVectors>,
}

/// Settings that choose the mapping.
pub struct TargetOptions<'a> {
    pub source: &'a MatrixSource,
    pub matrices: &'a Matrices,
    /// Use similarity even where the classifier knows the matrix.
    pub force_similarity: bool,
    /// A vectors file to use instead of the default one.
    pub vectors: Option<&'a Path>,
}

/// Whether the classifier's labels are exactly the matrix's techniques.
fn classifier_covers(classifier: &Classifier, matrix: &Matrix) -> bool {
    let mut labels: Vec<&str> = classifier.labels().iter().map(|l| l.id.as_str()).collect();
    let mut ids: Vec<&str> = matrix.techniques.iter().map(|t| t.id.as_str()).collect();
    labels.sort();
    ids.sort();
    labels == ids
}

impl Target {
    pub fn load(classifier: &Classifier, o: &TargetOptions) -> Result<Target> {
        let (matrix, examples, sha) = match o.source {
            MatrixSource::Builtin(_) => (o.source.load(o.matrices)?, None, String::new()),
            MatrixSource::Path(p) => {
                let f = load_matrix_file_with_examples(p)?;
                (f.matrix, Some(f.examples), f.sha256)
            }
        };
        if !o.force_similarity && o.vectors.is_none() && classifier_covers(classifier, &matrix) {
            return Ok(Target { matrix, vectors: None, release: None });
        }
        if !o.force_similarity && o.vectors.is_none() && matrix.is_enterprise_attack() {
            let plan = ReleasePlan::new(classifier, &matrix);
            let new = plan.new_techniques_in(&matrix);
            let vectors = if new.is_empty() {
                None
            } else {
                let examples = examples.unwrap_or_default();
                Some(compute_vectors_of(
                    classifier,
                    &matrix,
                    &new,
                    &examples,
                    &PrototypeConfig::default(),
                    &sha,
                    BatchConfig::default(),
                    &mut |_, _| {},
                )?)
            };
            eprintln!(
                "{} {}: the classifier (ATT&CK {}) carried onto it: {} labels moved by revocation, {} dropped, {} new techniques mapped by similarity",
                matrix.name,
                matrix.version,
                plan.trained_on,
                plan.carried.values().map(Vec::len).sum::<usize>(),
                plan.dropped.len(),
                plan.new_techniques().len()
            );
            return Ok(Target { matrix, vectors: None, release: Some(ReleaseTarget { plan, vectors }) });
        }
        let vectors = match (o.vectors, o.source, examples) {
            (Some(path), _, _) => read_vectors(path, classifier, &matrix)?,
            (None, MatrixSource::Builtin(Builtin::Enterprise), _) => {
                bail!("similarity mapping onto Enterprise needs --vectors FILE (build it with `ttpmap vectors data/attack/enterprise-attack-18.1.json --out DIR` in the repository)")
            }
            (None, MatrixSource::Builtin(_), _) => {
                let name = format!("{}.vectors.json", matrix.id);
                let json = o.matrices.read(&name)?;
                parse_vectors(&String::from_utf8_lossy(&json), &o.matrices.describe(&name), classifier, &matrix)?
            }
            (None, MatrixSource::Path(_), examples) => {
                compute_with_progress(classifier, &matrix, &examples.unwrap_or_default(), &sha)?
            }
        };
        Ok(Target { matrix, vectors: Some(vectors), release: None })
    }

    /// How this target's reports are scored: the one place the CLI chooses between the
    /// classifier over its own labels, the classifier carried onto another Enterprise
    /// release (CPU: one encoder pass feeds the classifier's head and the new techniques'
    /// similarity) and the similarity mapping with `config`.
    pub fn scoring<'a>(&'a self, classifier: &'a Classifier, config: &SimilarityConfig) -> Result<Scoring<'a>> {
        if let Some(r) = &self.release {
            let new = r.vectors.as_ref().map(NewTechniqueConfig::for_vectors).unwrap_or(NewTechniqueConfig {
                similarity: SimilarityConfig::default(),
                threshold: SimilarityConfig::default().threshold,
            });
            return Ok(Scoring::Release(ReleaseMapper::new(classifier, &r.plan, r.vectors.as_ref(), new)?));
        }
        Ok(Scoring::new(classifier, self.vectors.as_ref().map(|v| (v, &self.matrix, *config))))
    }
}
