//! Reading an ATT&CK-compatible STIX 2.1 bundle (Enterprise ATT&CK, ATRM, TMFK, or a user's
//! own) into a [`Matrix`]. Bytes in, matrix out: no file I/O here.
//!
//! Only the objects a matrix needs are decoded (x-mitre-matrix, x-mitre-collection,
//! x-mitre-tactic, attack-pattern, subtechnique-of relationships); other fields are skipped
//! while parsing, so a 30 MB bundle loads quickly. Revoked and deprecated objects are left out
//! of the matrix; where their IDs went ("revoked-by" chains) is kept as its [`Revisions`].

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use crate::matrix::{Matrix, Tactic, Technique};
use crate::revisions::Revisions;
use crate::text::clean_stix_text;

/// Procedure examples per technique ID: the cleaned `description`s of live "uses"
/// relationships that target the technique (sentences from real reports in Enterprise
/// ATT&CK; none in ATRM or TMFK), in bundle order.
pub type Examples = std::collections::BTreeMap<String, Vec<String>>;

/// Choices for [`load_bundle_with`]. The default picks the first non-deprecated
/// x-mitre-matrix and takes the matrix ID and version from the bundle.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// STIX ID or external ID (e.g. `"enterprise-attack"`) of the x-mitre-matrix to use when
    /// the bundle has several.
    pub matrix: Option<String>,
    /// Matrix slug to use instead of the one derived from the bundle.
    pub id: Option<String>,
    /// Release to record (e.g. `"18.1"`) when the bundle has no x-mitre-collection saying
    /// so — MITRE's own bundles in mitre/cti do not. The collection's `x_mitre_version`
    /// wins where there is one.
    pub version: Option<String>,
}

/// Why a bundle could not be read as a matrix.
#[derive(Debug, thiserror::Error)]
pub enum StixError {
    /// The input is not JSON (or not UTF-8).
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not shaped like a STIX 2.1 bundle; the payload says what is missing.
    #[error("not a STIX 2.1 bundle: {0}")]
    NotABundle(String),
    /// A bundle, but one of the objects this loader reads has a field of the wrong type.
    #[error("malformed STIX object: {0}")]
    MalformedObject(#[source] serde_json::Error),
    /// The bundle has no usable (non-deprecated, non-revoked) x-mitre-matrix object.
    #[error("the bundle has no x-mitre-matrix object, so it is not an ATT&CK-compatible matrix")]
    NoMatrix,
    /// [`LoadOptions::matrix`] named a matrix the bundle does not have.
    #[error("the bundle has no x-mitre-matrix {0:?}")]
    MatrixNotFound(String),
    /// The matrix lists no tactics that the bundle defines.
    #[error("the x-mitre-matrix {0:?} has no tactics")]
    NoTactics(String),
    /// The matrix refers to a tactic the bundle does not contain.
    #[error("the x-mitre-matrix refers to tactic {0}, which is not in the bundle")]
    MissingTactic(String),
    /// No attack-pattern belongs to the matrix's tactics.
    #[error("the bundle has no techniques for the matrix {0:?}")]
    NoTechniques(String),
    /// A tactic or technique has no external ID (its ATT&CK ID) to be referred to by.
    #[error("{0} has no external ID in its external_references")]
    MissingExternalId(String),
    /// A tactic has no `x_mitre_shortname`.
    #[error("tactic {0} has no x_mitre_shortname")]
    MissingShortname(String),
    /// Two live techniques share one external ID.
    #[error("technique ID {0} is used by more than one attack-pattern")]
    DuplicateTechnique(String),
}

#[derive(Deserialize)]
struct RawBundle {
    #[serde(rename = "type")]
    kind: Option<String>,
    objects: Option<Vec<RawObject>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawObject {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    name: Option<String>,
    description: Option<String>,
    revoked: Option<bool>,
    x_mitre_deprecated: Option<bool>,
    external_references: Vec<RawExternalRef>,
    tactic_refs: Vec<String>,
    x_mitre_domains: Vec<String>,
    x_mitre_version: Option<String>,
    x_mitre_shortname: Option<String>,
    kill_chain_phases: Vec<RawPhase>,
    x_mitre_platforms: Vec<String>,
    x_mitre_is_subtechnique: Option<bool>,
    x_mitre_ids: Vec<String>,
    relationship_type: Option<String>,
    source_ref: Option<String>,
    target_ref: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawExternalRef {
    source_name: Option<String>,
    external_id: Option<String>,
    url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPhase {
    phase_name: String,
}

impl RawObject {
    fn is_live(&self) -> bool {
        !self.revoked.unwrap_or(false) && !self.x_mitre_deprecated.unwrap_or(false)
    }

    /// The external reference naming this object: the first one from `source` that has an
    /// external ID, else the first one with any external ID.
    fn external(&self, source: Option<&str>) -> Option<&RawExternalRef> {
        let has_id = |r: &&RawExternalRef| r.external_id.as_deref().is_some_and(|s| !s.is_empty());
        source
            .and_then(|s| {
                self.external_references
                    .iter()
                    .filter(has_id)
                    .find(|r| r.source_name.as_deref() == Some(s))
            })
            .or_else(|| self.external_references.iter().find(has_id))
    }

    fn describe(&self) -> String {
        match &self.name {
            Some(n) => format!("{} ({n})", self.id),
            None => self.id.clone(),
        }
    }
}

/// Loads the first non-deprecated matrix of a bundle. See [`load_bundle_with`].
pub fn load_bundle(json: &[u8]) -> Result<Matrix, StixError> {
    load_bundle_with(json, &LoadOptions::default())
}

/// Loads a matrix from the bytes of a STIX 2.1 bundle.
///
/// IDs come from the external reference whose `source_name` is the matrix's own (the
/// source of the x-mitre-matrix's external ID: `mitre-attack`, or `atrm`/`tmfk` in the
/// "strict" bundles), falling back to the first reference with an external ID. Sub-techniques
/// are attached to parents by `subtechnique-of` relationships, or by dotted ID.
pub fn load_bundle_with(json: &[u8], options: &LoadOptions) -> Result<Matrix, StixError> {
    load_bundle_with_examples(json, options).map(|(m, _)| m)
}

/// Like [`load_bundle_with`], and also returns the bundle's procedure examples
/// ([`Examples`]), which the similarity mapping uses as technique prototypes.
pub fn load_bundle_with_examples(
    json: &[u8],
    options: &LoadOptions,
) -> Result<(Matrix, Examples), StixError> {
    let starts_with_object = json
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    if !starts_with_object {
        return Err(
            match serde_json::from_slice::<serde::de::IgnoredAny>(json) {
                Ok(_) => StixError::NotABundle("the top level is not a JSON object".into()),
                Err(e) => StixError::NotJson(e),
            },
        );
    }
    let bundle: RawBundle = serde_json::from_slice(json).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => StixError::MalformedObject(e),
        _ => StixError::NotJson(e),
    })?;
    let objects = bundle
        .objects
        .ok_or_else(|| StixError::NotABundle("missing \"objects\" array".into()))?;
    match bundle.kind.as_deref() {
        Some("bundle") => {}
        Some(other) => {
            return Err(StixError::NotABundle(format!(
                "\"type\" is {other:?}, expected \"bundle\""
            )))
        }
        None => return Err(StixError::NotABundle("missing \"type\": \"bundle\"".into())),
    }
    build(&objects, options)
}

fn build(objects: &[RawObject], options: &LoadOptions) -> Result<(Matrix, Examples), StixError> {
    let by_stix_id: HashMap<&str, &RawObject> =
        objects.iter().map(|o| (o.id.as_str(), o)).collect();

    let matrix_obj = pick_matrix(objects, options)?;
    let own_ref = matrix_obj.external(None);
    let own_source = own_ref.and_then(|r| r.source_name.as_deref());
    let matrix_ext_id = own_ref
        .and_then(|r| r.external_id.clone())
        .unwrap_or_default();
    let name = matrix_obj.name.clone().unwrap_or_default();
    let domain = matrix_obj
        .x_mitre_domains
        .first()
        .cloned()
        .unwrap_or_default();
    let id = options
        .id
        .clone()
        .unwrap_or_else(|| matrix_slug(&matrix_ext_id, &name));
    let version = objects
        .iter()
        .find(|o| o.kind == "x-mitre-collection" && o.is_live())
        .and_then(|o| o.x_mitre_version.clone())
        .filter(|v| !v.is_empty())
        .or_else(|| options.version.clone())
        .unwrap_or_default();

    let mut tactics = Vec::new();
    for tref in &matrix_obj.tactic_refs {
        let t = by_stix_id
            .get(tref.as_str())
            .filter(|o| o.kind == "x-mitre-tactic")
            .ok_or_else(|| StixError::MissingTactic(tref.clone()))?;
        if !t.is_live() {
            continue;
        }
        let ext = t
            .external(own_source)
            .ok_or_else(|| StixError::MissingExternalId(t.describe()))?;
        let shortname = t
            .x_mitre_shortname
            .clone()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| StixError::MissingShortname(t.describe()))?;
        tactics.push(Tactic {
            id: ext.external_id.clone().unwrap_or_default(),
            shortname,
            name: t.name.clone().unwrap_or_default(),
            description: t.description.clone().unwrap_or_default(),
            url: ext.url.clone().unwrap_or_default(),
            techniques: Vec::new(),
        });
    }
    if tactics.is_empty() {
        return Err(StixError::NoTactics(name));
    }
    let shortnames: HashSet<&str> = tactics.iter().map(|t| t.shortname.as_str()).collect();

    let mut techniques = Vec::new();
    let mut ids_by_stix_id: HashMap<&str, String> = HashMap::new();
    for o in objects
        .iter()
        .filter(|o| o.kind == "attack-pattern" && o.is_live())
    {
        if !domain.is_empty()
            && !o.x_mitre_domains.is_empty()
            && !o.x_mitre_domains.contains(&domain)
        {
            continue;
        }
        let mut tactics_of: Vec<String> = Vec::new();
        for p in &o.kill_chain_phases {
            if shortnames.contains(p.phase_name.as_str()) && !tactics_of.contains(&p.phase_name) {
                tactics_of.push(p.phase_name.clone());
            }
        }
        if tactics_of.is_empty() {
            continue;
        }
        let ext = o
            .external(own_source)
            .ok_or_else(|| StixError::MissingExternalId(o.describe()))?;
        let tid = ext.external_id.clone().unwrap_or_default();
        ids_by_stix_id.insert(o.id.as_str(), tid.clone());
        techniques.push(Technique {
            id: tid,
            stix_id: o.id.clone(),
            name: o.name.clone().unwrap_or_default(),
            description: o.description.clone().unwrap_or_default(),
            platforms: o.x_mitre_platforms.clone(),
            url: ext.url.clone().unwrap_or_default(),
            tactics: tactics_of,
            parent: None,
            subtechniques: Vec::new(),
            links: o.x_mitre_ids.clone(),
        });
    }
    if techniques.is_empty() {
        return Err(StixError::NoTechniques(name));
    }
    techniques.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(w) = techniques.windows(2).find(|w| w[0].id == w[1].id) {
        return Err(StixError::DuplicateTechnique(w[0].id.clone()));
    }

    link_subtechniques(objects, &ids_by_stix_id, &mut techniques);
    fill_tactic_columns(&mut tactics, &techniques);
    let examples = procedure_examples(objects, &ids_by_stix_id);
    let revisions = revisions(objects, own_source, &domain, &techniques);

    let mut matrix = Matrix::new(id, name, version, domain, tactics, techniques, None);
    matrix.revisions = revisions;
    Ok((matrix, examples))
}

/// Where the IDs of the bundle's revoked and deprecated attack-patterns (of the matrix's
/// domain) went: "revoked-by" relationships followed to a live technique of the matrix.
fn revisions(
    objects: &[RawObject],
    own_source: Option<&str>,
    domain: &str,
    techniques: &[Technique],
) -> Revisions {
    let in_domain = |o: &RawObject| {
        domain.is_empty() || o.x_mitre_domains.is_empty() || o.x_mitre_domains.iter().any(|d| d == domain)
    };
    let mut id_of: HashMap<&str, &str> = HashMap::new();
    let mut revoked_by: HashMap<String, Option<String>> = HashMap::new();
    let mut deprecated: Vec<&str> = Vec::new();
    for o in objects.iter().filter(|o| o.kind == "attack-pattern" && in_domain(o)) {
        let Some(ext) = o.external(own_source).and_then(|r| r.external_id.as_deref()) else {
            continue;
        };
        id_of.insert(o.id.as_str(), ext);
        if o.revoked.unwrap_or(false) {
            revoked_by.insert(ext.to_string(), None);
        } else if o.x_mitre_deprecated.unwrap_or(false) {
            deprecated.push(ext);
        }
    }
    for r in objects
        .iter()
        .filter(|o| o.kind == "relationship" && o.relationship_type.as_deref() == Some("revoked-by"))
    {
        let (Some(src), Some(dst)) = (r.source_ref.as_deref(), r.target_ref.as_deref()) else {
            continue;
        };
        if let (Some(&from), Some(&to)) = (id_of.get(src), id_of.get(dst)) {
            if let Some(slot) = revoked_by.get_mut(from) {
                *slot = Some(to.to_string());
            }
        }
    }
    let live: HashSet<&str> = techniques.iter().map(|t| t.id.as_str()).collect();
    Revisions::resolve(&revoked_by, deprecated, &|id| live.contains(id))
}

/// The cleaned descriptions of live "uses" relationships, by target technique ID; texts
/// under three words are skipped.
fn procedure_examples(objects: &[RawObject], ids_by_stix_id: &HashMap<&str, String>) -> Examples {
    let mut examples = Examples::new();
    for r in objects.iter().filter(|o| {
        o.kind == "relationship" && o.is_live() && o.relationship_type.as_deref() == Some("uses")
    }) {
        let (Some(target), Some(text)) = (r.target_ref.as_deref(), r.description.as_deref()) else {
            continue;
        };
        let Some(id) = ids_by_stix_id.get(target) else {
            continue;
        };
        let text = clean_stix_text(text);
        if text.split_whitespace().count() >= 3 {
            examples.entry(id.clone()).or_default().push(text);
        }
    }
    examples
}

/// The x-mitre-matrix to read: the one named in the options, else the first live one.
fn pick_matrix<'a>(
    objects: &'a [RawObject],
    options: &LoadOptions,
) -> Result<&'a RawObject, StixError> {
    let mut matrices = objects.iter().filter(|o| o.kind == "x-mitre-matrix");
    match &options.matrix {
        Some(wanted) => matrices
            .find(|o| {
                &o.id == wanted
                    || o.external_references
                        .iter()
                        .any(|r| r.external_id.as_deref() == Some(wanted.as_str()))
            })
            .ok_or_else(|| StixError::MatrixNotFound(wanted.clone())),
        None => matrices.find(|o| o.is_live()).ok_or(StixError::NoMatrix),
    }
}

/// `"enterprise-attack"` → `"enterprise"`, `"atrm"` → `"atrm"`; from the name when the
/// matrix has no external ID.
fn matrix_slug(external_id: &str, name: &str) -> String {
    let base = if external_id.is_empty() {
        name
    } else {
        external_id
    };
    let base = base.strip_suffix("-attack").unwrap_or(base);
    let mut slug = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        "matrix".into()
    } else {
        slug
    }
}

/// Sets `parent` and `subtechniques`: from live `subtechnique-of` relationships first, then
/// for dotted IDs (`T1053.005`) whose prefix is a known technique.
fn link_subtechniques(
    objects: &[RawObject],
    ids_by_stix_id: &HashMap<&str, String>,
    techniques: &mut [Technique],
) {
    let mut parent_of: HashMap<String, String> = HashMap::new();
    for r in objects.iter().filter(|o| {
        o.kind == "relationship"
            && o.is_live()
            && o.relationship_type.as_deref() == Some("subtechnique-of")
    }) {
        let (Some(src), Some(dst)) = (r.source_ref.as_deref(), r.target_ref.as_deref()) else {
            continue;
        };
        if let (Some(child), Some(parent)) = (ids_by_stix_id.get(src), ids_by_stix_id.get(dst)) {
            if child != parent {
                parent_of.insert(child.clone(), parent.clone());
            }
        }
    }
    let known: HashSet<String> = techniques.iter().map(|t| t.id.clone()).collect();
    for t in techniques.iter() {
        if parent_of.contains_key(&t.id) {
            continue;
        }
        if let Some((prefix, _)) = t.id.split_once('.') {
            if known.contains(prefix) {
                parent_of.insert(t.id.clone(), prefix.to_string());
            }
        }
    }
    // A parent must itself be top-level; drop chains so the tree has two levels, as ATT&CK does.
    let chained: Vec<String> = parent_of
        .iter()
        .filter(|(_, p)| parent_of.contains_key(*p))
        .map(|(c, _)| c.clone())
        .collect();
    for c in chained {
        parent_of.remove(&c);
    }

    let mut children: HashMap<String, Vec<String>> = HashMap::new();
    for (child, parent) in &parent_of {
        children
            .entry(parent.clone())
            .or_default()
            .push(child.clone());
    }
    for t in techniques.iter_mut() {
        t.parent = parent_of.get(&t.id).cloned();
        if let Some(mut subs) = children.remove(&t.id) {
            subs.sort();
            t.subtechniques = subs;
        }
    }
}

/// Lists each tactic's top-level techniques, sorted by name then ID.
fn fill_tactic_columns(tactics: &mut [Tactic], techniques: &[Technique]) {
    for tactic in tactics.iter_mut() {
        let mut column: Vec<&Technique> = techniques
            .iter()
            .filter(|t| t.parent.is_none() && t.tactics.contains(&tactic.shortname))
            .collect();
        column.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        tactic.techniques = column.into_iter().map(|t| t.id.clone()).collect();
    }
}
