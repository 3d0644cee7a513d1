//! The in-memory ATT&CK matrix: tactics in matrix order, techniques and sub-techniques,
//! with lookups by ID; and the compact JSON form (`ttpmap-matrix/1`) that the web app and
//! the CLI read instead of the full STIX bundle.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::revisions::{Revisions, Standing};
use crate::text::first_paragraph;

/// The `format` tag of the compact matrix JSON.
pub const COMPACT_FORMAT: &str = "ttpmap-matrix/1";

/// An ATT&CK-compatible matrix: Enterprise ATT&CK, ATRM, TMFK or a user bundle.
///
/// Fields are public for reading. Lookups ([`Matrix::technique`], [`Matrix::tactic`]) use
/// an index built when the matrix is made; call [`Matrix::reindex`] after changing
/// `tactics` or `techniques` by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "MatrixFields")]
pub struct Matrix {
    /// Short slug: `"enterprise"`, `"atrm"`, `"tmfk"`, or one derived from the bundle.
    pub id: String,
    /// Display name, e.g. `"Enterprise ATT&CK"`.
    pub name: String,
    /// Release, e.g. `"18.1"`; `""` when the bundle does not say.
    pub version: String,
    /// ATT&CK domain, e.g. `"enterprise-attack"`.
    pub domain: String,
    /// Tactics in the order of the x-mitre-matrix `tactic_refs`.
    pub tactics: Vec<Tactic>,
    /// Techniques and sub-techniques, sorted by ID.
    pub techniques: Vec<Technique>,
    /// Where the data came from; filled by whoever builds the compact file.
    pub provenance: Option<Provenance>,
    /// Technique IDs of older releases this one revoked or deprecated (empty for matrices
    /// read from a bundle without any, and for compact files written before this field).
    #[serde(default, skip_serializing_if = "Revisions::is_empty")]
    pub revisions: Revisions,
    #[serde(skip)]
    index: Index,
}

/// A tactic (a column of the matrix).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tactic {
    /// External ID, e.g. `"TA0001"`.
    pub id: String,
    /// `x_mitre_shortname`, e.g. `"initial-access"`; what techniques and layers refer to.
    pub shortname: String,
    pub name: String,
    pub description: String,
    pub url: String,
    /// IDs of the top-level techniques in this tactic, sorted by name (as Navigator shows them).
    pub techniques: Vec<String>,
}

/// A technique or a sub-technique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Technique {
    /// External ID, e.g. `"T1566.001"`, `"AZT101"`, `"MS-TA9001"`.
    pub id: String,
    /// STIX ID of the attack-pattern.
    pub stix_id: String,
    pub name: String,
    pub description: String,
    pub platforms: Vec<String>,
    pub url: String,
    /// Shortnames of the tactics this technique belongs to (from `kill_chain_phases`).
    pub tactics: Vec<String>,
    /// Parent technique ID, for sub-techniques.
    pub parent: Option<String>,
    /// IDs of the sub-techniques, sorted.
    pub subtechniques: Vec<String>,
    /// Enterprise technique IDs this one corresponds to (TMFK `x_mitre_ids`).
    pub links: Vec<String>,
}

impl Technique {
    /// Whether this is a sub-technique.
    pub fn is_subtechnique(&self) -> bool {
        self.parent.is_some()
    }
}

/// Provenance of a derived matrix file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// File name of the source bundle.
    pub source_file: String,
    /// Lower-case hex sha256 of the source bundle's bytes.
    pub source_sha256: String,
    pub publisher: String,
    pub licence: String,
    /// Tool and version that built the file.
    pub built_by: String,
}

/// Error reading a compact matrix file.
#[derive(Debug, thiserror::Error)]
pub enum CompactError {
    /// The text is not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but without `"format": "ttpmap-matrix/1"`; the payload says what was found.
    #[error("not a ttpmap compact matrix: expected \"format\": \"{COMPACT_FORMAT}\", found {0}")]
    WrongFormat(String),
    /// The format tag is right but the content does not match it.
    #[error("malformed compact matrix: {0}")]
    Malformed(#[source] serde_json::Error),
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Index {
    techniques: HashMap<String, usize>,
    tactics: HashMap<String, usize>,
}

/// The serialised fields of [`Matrix`]; deserialising goes through it so the index is
/// always built.
#[derive(Deserialize)]
struct MatrixFields {
    id: String,
    name: String,
    version: String,
    domain: String,
    tactics: Vec<Tactic>,
    techniques: Vec<Technique>,
    provenance: Option<Provenance>,
    #[serde(default)]
    revisions: Revisions,
}

impl From<MatrixFields> for Matrix {
    fn from(f: MatrixFields) -> Self {
        let mut m = Matrix::new(
            f.id,
            f.name,
            f.version,
            f.domain,
            f.tactics,
            f.techniques,
            f.provenance,
        );
        m.revisions = f.revisions;
        m
    }
}

#[derive(Serialize)]
struct CompactOut<'a> {
    format: &'static str,
    #[serde(flatten)]
    matrix: &'a Matrix,
}

#[derive(Deserialize)]
struct FormatTag {
    format: Option<serde_json::Value>,
}

impl Matrix {
    /// Makes a matrix and builds its lookup index.
    pub fn new(
        id: String,
        name: String,
        version: String,
        domain: String,
        tactics: Vec<Tactic>,
        techniques: Vec<Technique>,
        provenance: Option<Provenance>,
    ) -> Self {
        let mut m = Matrix {
            id,
            name,
            version,
            domain,
            tactics,
            techniques,
            provenance,
            revisions: Revisions::default(),
            index: Index::default(),
        };
        m.reindex();
        m
    }

    /// Rebuilds the lookup index after `tactics` or `techniques` were changed.
    pub fn reindex(&mut self) {
        self.index.techniques = self
            .techniques
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        self.index.tactics = self
            .tactics
            .iter()
            .enumerate()
            .map(|(i, t)| (t.shortname.clone(), i))
            .collect();
    }

    /// The technique or sub-technique with this ID.
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.index.techniques.get(id).map(|&i| &self.techniques[i])
    }

    /// Where a technique ID (perhaps of an older release) stands in this matrix: live,
    /// moved to a successor by revocation, retired, or unknown.
    pub fn standing(&self, id: &str) -> Standing<'_> {
        if self.technique(id).is_some() {
            Standing::Live
        } else if let Some(to) = self.revisions.successor(id) {
            Standing::Moved(to)
        } else if self.revisions.is_retired(id) {
            Standing::Retired
        } else {
            Standing::Unknown
        }
    }

    /// Whether this is MITRE's Enterprise ATT&CK (any release): the x-mitre-matrix
    /// `enterprise-attack` in domain `enterprise-attack`. ATRM's and TMFK's
    /// "attack_compatible" bundles borrow the domain but not the matrix ID.
    pub fn is_enterprise_attack(&self) -> bool {
        self.id == "enterprise" && self.domain == "enterprise-attack"
    }

    /// The tactic with this shortname (e.g. `"initial-access"`).
    pub fn tactic(&self, shortname: &str) -> Option<&Tactic> {
        self.index.tactics.get(shortname).map(|&i| &self.tactics[i])
    }

    /// The tactic with this external ID (e.g. `"TA0001"`).
    pub fn tactic_by_id(&self, id: &str) -> Option<&Tactic> {
        self.tactics.iter().find(|t| t.id == id)
    }

    /// The parent of a sub-technique; `None` for top-level or unknown IDs.
    pub fn parent_of(&self, id: &str) -> Option<&Technique> {
        let parent = self.technique(id)?.parent.as_deref()?;
        self.technique(parent)
    }

    /// The sub-techniques of a technique, in ID order.
    pub fn subtechniques_of(&self, id: &str) -> impl Iterator<Item = &Technique> {
        self.technique(id)
            .map(|t| t.subtechniques.as_slice())
            .unwrap_or(&[])
            .iter()
            .filter_map(|s| self.technique(s))
    }

    /// Top-level techniques (not sub-techniques).
    pub fn top_level_techniques(&self) -> impl Iterator<Item = &Technique> {
        self.techniques.iter().filter(|t| !t.is_subtechnique())
    }

    /// Number of top-level techniques.
    pub fn technique_count(&self) -> usize {
        self.top_level_techniques().count()
    }

    /// Number of sub-techniques.
    pub fn subtechnique_count(&self) -> usize {
        self.techniques.len() - self.technique_count()
    }

    /// Number of tactics.
    pub fn tactic_count(&self) -> usize {
        self.tactics.len()
    }

    /// A copy with every description shortened to its cleaned first paragraph: what the
    /// compact file holds.
    pub fn compacted(&self) -> Matrix {
        let mut m = self.clone();
        for t in &mut m.tactics {
            t.description = first_paragraph(&t.description);
        }
        for t in &mut m.techniques {
            t.description = first_paragraph(&t.description);
        }
        m
    }

    /// The compact JSON form: [`Matrix::compacted`] serialised with
    /// `"format": "ttpmap-matrix/1"`.
    pub fn to_compact_json(&self) -> String {
        let compact = self.compacted();
        let out = CompactOut {
            format: COMPACT_FORMAT,
            matrix: &compact,
        };
        // Serialising plain strings, vectors and options into a String cannot fail.
        serde_json::to_string(&out).unwrap_or_default()
    }

    /// Reads the compact JSON form written by [`Matrix::to_compact_json`].
    pub fn from_compact_json(json: &str) -> Result<Matrix, CompactError> {
        let tag: FormatTag = serde_json::from_str(json).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                CompactError::WrongFormat("a JSON value that is not an object".into())
            }
            _ => CompactError::NotJson(e),
        })?;
        match &tag.format {
            Some(serde_json::Value::String(s)) if s == COMPACT_FORMAT => {}
            Some(other) => return Err(CompactError::WrongFormat(other.to_string())),
            None => return Err(CompactError::WrongFormat("no \"format\" field".into())),
        }
        serde_json::from_str(json).map_err(CompactError::Malformed)
    }
}
