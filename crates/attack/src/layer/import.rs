//! Reading Navigator layer files: one layer object, or an array of layers (Navigator's
//! "download all layers"). Shape problems are reported in the words of the layer format.
//! A layer made for an older ATT&CK release is upgraded to the matrix in use with
//! [`Layer::upgrade_to`], which says what moved and what has no successor.

use serde_json::Value;

use super::Layer;
use crate::matrix::Matrix;

/// Why a text could not be read as Navigator layers.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// JSON, but not a layer (or array of layers); `reason` says what is missing.
    #[error("{}not an ATT&CK Navigator layer: {reason}", at(.layer))]
    NotALayer {
        layer: Option<usize>,
        reason: String,
    },
    /// An entry of `techniques` is not an object with a `techniqueID` string.
    #[error("{}techniques[{position}]: {reason}", at(.layer))]
    BadTechnique {
        layer: Option<usize>,
        position: usize,
        reason: String,
    },
    /// A technique's `score` is not a number (e.g. `"high"`).
    #[error("{}technique {technique}: \"score\" must be a number, found {found}", at(.layer))]
    ScoreNotNumber {
        layer: Option<usize>,
        technique: String,
        found: String,
    },
    /// Another field has the wrong type or value; the message comes from the decoder.
    #[error("{}malformed layer: {message}", at(.layer))]
    Malformed {
        layer: Option<usize>,
        message: String,
    },
}

/// "layer 2 of the array: " for arrays, nothing for a single layer.
fn at(layer: &Option<usize>) -> String {
    match layer {
        Some(i) => format!("layer {} of the array: ", i + 1),
        None => String::new(),
    }
}

/// Reads one layer object or an array of layers.
///
/// ```
/// let layers = ttpmap_attack::parse_layers(
///     r#"{"name": "x", "domain": "enterprise-attack", "techniques": [{"techniqueID": "T1059", "score": 50}]}"#,
/// ).unwrap();
/// assert_eq!(layers[0].techniques[0].score, Some(50.0));
/// ```
pub fn parse_layers(json: &str) -> Result<Vec<Layer>, LayerError> {
    let value: Value = serde_json::from_str(json).map_err(LayerError::NotJson)?;
    match value {
        Value::Array(items) if items.is_empty() => Err(LayerError::NotALayer {
            layer: None,
            reason: "an empty array holds no layers".into(),
        }),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| parse_one(v, Some(i)))
            .collect(),
        Value::Object(_) => Ok(vec![parse_one(value, None)?]),
        other => Err(LayerError::NotALayer {
            layer: None,
            reason: format!(
                "expected a layer object or an array of layers, found {}",
                kind(&other)
            ),
        }),
    }
}

fn parse_one(value: Value, layer: Option<usize>) -> Result<Layer, LayerError> {
    check_shape(&value, layer)?;
    serde_json::from_value(value).map_err(|e| LayerError::Malformed {
        layer,
        message: e.to_string(),
    })
}

/// Checks what serde's messages would describe poorly: that this is a layer at all, and
/// which technique has a bad entry or score.
fn check_shape(value: &Value, layer: Option<usize>) -> Result<(), LayerError> {
    let not_a_layer = |reason: String| LayerError::NotALayer { layer, reason };
    let Value::Object(obj) = value else {
        return Err(not_a_layer(format!(
            "expected a JSON object, found {}",
            kind(value)
        )));
    };
    let techniques = match obj.get("techniques") {
        Some(Value::Array(t)) => t,
        Some(other) => {
            return Err(not_a_layer(format!(
                "\"techniques\" must be an array, found {}",
                kind(other)
            )))
        }
        None => return Err(not_a_layer(
            "missing \"techniques\" (a layer has \"name\", \"domain\" and a \"techniques\" array)"
                .into(),
        )),
    };
    for key in ["name", "domain"] {
        match obj.get(key) {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(not_a_layer(format!(
                    "\"{key}\" must be a string, found {}",
                    kind(other)
                )))
            }
            None => return Err(not_a_layer(format!("missing \"{key}\""))),
        }
    }
    for (position, t) in techniques.iter().enumerate() {
        let bad = |reason: &str| LayerError::BadTechnique {
            layer,
            position,
            reason: reason.into(),
        };
        let Value::Object(t) = t else {
            return Err(bad("expected a technique object"));
        };
        let Some(Value::String(id)) = t.get("techniqueID") else {
            return Err(bad("missing \"techniqueID\" string"));
        };
        match t.get("score") {
            None | Some(Value::Null) | Some(Value::Number(_)) => {}
            Some(other) => {
                return Err(LayerError::ScoreNotNumber {
                    layer,
                    technique: id.clone(),
                    found: other.to_string(),
                })
            }
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What [`Layer::upgrade_to`] changed, for a notice to the analyst.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LayerUpgrade {
    /// `(old ID, new ID)` of every revoked technique moved to its successor, in layer
    /// order, each pair once.
    pub moved: Vec<(String, String)>,
    /// IDs without a successor (deprecated, or revoked by nothing live), removed from the
    /// layer, in layer order, each once.
    pub retired: Vec<String>,
}

impl LayerUpgrade {
    /// Whether the layer was already current.
    pub fn is_empty(&self) -> bool {
        self.moved.is_empty() && self.retired.is_empty()
    }
}

impl Layer {
    /// Upgrades a layer made for an older release to `matrix`, in one pass over its
    /// techniques (hash lookups only):
    ///
    /// - an entry of a revoked technique moves to the technique that holds it now
    ///   ([`Matrix::standing`]); where that leaves two entries of one technique in one
    ///   tactic (two old IDs merged, or the successor already listed), the first is kept
    ///   with the higher score and both entries' metadata and links;
    /// - an entry of a technique retired without successor is removed;
    /// - a `tactic` the technique no longer belongs to (a renamed tactic) is cleared, so
    ///   the entry shows under every tactic of the technique;
    /// - IDs the matrix does not know at all are left as they are (validation names them);
    /// - a moved sub-technique's new parent gets an entry with `showSubtechniques`;
    /// - `versions.attack` becomes the matrix's release (MITRE's own domains).
    pub fn upgrade_to(&mut self, matrix: &Matrix) -> LayerUpgrade {
        use crate::revisions::Standing;
        use std::collections::{HashMap, HashSet};

        let mut report = LayerUpgrade::default();
        let mut seen_moves: HashSet<(String, String)> = HashSet::new();
        let mut seen_retired: HashSet<String> = HashSet::new();
        let mut kept: Vec<super::LayerTechnique> = Vec::with_capacity(self.techniques.len());
        let mut slot: HashMap<(String, Option<String>), usize> = HashMap::new();
        let mut moved_subs: Vec<String> = Vec::new();
        for mut entry in std::mem::take(&mut self.techniques) {
            let id = entry.technique_id.trim().to_string();
            match matrix.standing(&id) {
                Standing::Live | Standing::Unknown => {}
                Standing::Moved(to) => {
                    if seen_moves.insert((id.clone(), to.to_string())) {
                        report.moved.push((id.clone(), to.to_string()));
                    }
                    entry.technique_id = to.to_string();
                    if matrix.technique(to).is_some_and(|t| t.parent.is_some()) {
                        moved_subs.push(to.to_string());
                    }
                }
                Standing::Retired => {
                    if seen_retired.insert(id.clone()) {
                        report.retired.push(id);
                    }
                    continue;
                }
            }
            if let (Some(t), Some(tactic)) = (matrix.technique(&entry.technique_id), entry.tactic.as_deref()) {
                if !t.tactics.iter().any(|x| x == tactic) {
                    entry.tactic = None;
                }
            }
            let key = (entry.technique_id.clone(), entry.tactic.clone().filter(|t| !t.is_empty()));
            match slot.get(&key) {
                Some(&i) => merge_entry(&mut kept[i], entry),
                None => {
                    slot.insert(key, kept.len());
                    kept.push(entry);
                }
            }
        }
        for sub in moved_subs {
            let Some(parent) = matrix.technique(&sub).and_then(|t| t.parent.clone()) else {
                continue;
            };
            match slot.get(&(parent.clone(), None)) {
                Some(&i) => kept[i].show_subtechniques = Some(true),
                None => {
                    let mut e = super::LayerTechnique::new(parent.clone());
                    e.show_subtechniques = Some(true);
                    slot.insert((parent, None), kept.len());
                    kept.push(e);
                }
            }
        }
        self.techniques = kept;
        if let Some(v) = super::build::attack_version(matrix) {
            self.versions.get_or_insert_with(|| super::Versions { attack: None, navigator: None, layer: None }).attack = Some(v);
        }
        report
    }
}

/// Folds `other` into `into` (two entries that became one technique in one tactic).
fn merge_entry(into: &mut super::LayerTechnique, other: super::LayerTechnique) {
    into.score = match (into.score, other.score) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    if into.comment.as_deref().is_none_or(str::is_empty) {
        into.comment = other.comment;
    }
    into.color = into.color.take().or(other.color);
    into.enabled = match (into.enabled, other.enabled) {
        (Some(false), Some(false)) => Some(false),
        (None, None) => None,
        _ => Some(true),
    };
    into.show_subtechniques = into.show_subtechniques.or(other.show_subtechniques);
    into.metadata.extend(other.metadata);
    into.links.extend(other.links);
}
