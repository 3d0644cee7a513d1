//! ATT&CK Navigator layers (layer format 4.5): the serde types, export, import, validation,
//! and a builder that makes a layer for a matrix from scored techniques.
//!
//! Architecture Invariant: this is the only module in ttpmap that writes Navigator JSON.
//! What [`Layer::for_matrix`] builds passes [`Layer::validate`] and loads in ATT&CK Navigator.

mod build;
mod import;
mod validate;

use serde::{Deserialize, Serialize, Serializer};

pub use build::{Annotation, BuildError, LayerConfig};
pub use import::{parse_layers, LayerError, LayerUpgrade};
pub use validate::LayerProblem;

/// The layer format version this module reads and writes.
pub const LAYER_FORMAT_VERSION: &str = "4.5";
/// The Navigator version written into `versions.navigator`: the current ATT&CK Navigator
/// (5.3.2, the one that loads ATT&CK v19 layers).
pub const NAVIGATOR_VERSION: &str = "5.3.2";

/// One Navigator layer. Optional fields are left out of the JSON when `None` or empty, so
/// what is written is minimal; Navigator fills its defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Versions>,
    /// `"enterprise-attack"`, `"mobile-attack"`, `"ics-attack"`, or a custom domain.
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// URL of the custom collection or STIX bundle the layer was built from.
    #[serde(
        default,
        rename = "customDataURL",
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_data_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<Filters>,
    /// 0: name ascending, 1: name descending, 2: score ascending, 3: score descending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorting: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_disabled: Option<bool>,
    pub techniques: Vec<LayerTechnique>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient: Option<Gradient>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub legend_items: Vec<LegendItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<MetadataItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_tactic_row_background: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tactic_row_background: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_techniques_across_tactics: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_subtechniques_with_parent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_visible_techniques: Option<bool>,
}

/// `versions`: the ATT&CK, Navigator and layer-format versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Versions {
    /// ATT&CK release, e.g. `"18.1"` (ttpmap writes the collection's `x_mitre_version`;
    /// Navigator's own layers write the major version, `"18"`); absent means "current".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub navigator: Option<String>,
    /// Must be `"4.5"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// `filters`: which platforms are shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
}

/// `layout`: how Navigator draws the matrix.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_function: Option<AggregateFunction>,
    #[serde(default, rename = "showID", skip_serializing_if = "Option::is_none")]
    pub show_id: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_name: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_aggregate_scores: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count_unscored: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expanded_subtechniques: Option<ExpandedSubtechniques>,
}

/// `layout.layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    Side,
    Flat,
    Mini,
}

/// `layout.aggregateFunction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AggregateFunction {
    Average,
    Min,
    Max,
    Sum,
}

/// `layout.expandedSubtechniques`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpandedSubtechniques {
    None,
    All,
    Annotated,
}

/// One entry of `techniques`: a technique or sub-technique, in one tactic or (without
/// `tactic`) in every tactic it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerTechnique {
    #[serde(rename = "techniqueID")]
    pub technique_id: String,
    /// Tactic shortname; never written as `""`.
    #[serde(default, skip_serializing_if = "is_none_or_empty")]
    pub tactic: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_number"
    )]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<MetadataItem>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_subtechniques: Option<bool>,
}

impl LayerTechnique {
    /// An entry with only the technique ID set.
    pub fn new(technique_id: impl Into<String>) -> Self {
        LayerTechnique {
            technique_id: technique_id.into(),
            tactic: None,
            score: None,
            color: None,
            comment: None,
            enabled: None,
            metadata: Vec::new(),
            links: Vec::new(),
            show_subtechniques: None,
        }
    }

    /// Whether the entry carries an annotation Navigator shows (score, colour, comment,
    /// metadata, links, or being disabled) — `showSubtechniques` alone is not one.
    pub fn is_annotated(&self) -> bool {
        self.score.is_some()
            || self.color.as_deref().is_some_and(|c| !c.is_empty())
            || self.comment.as_deref().is_some_and(|c| !c.is_empty())
            || !self.metadata.is_empty()
            || !self.links.is_empty()
            || self.enabled == Some(false)
    }
}

/// `gradient`: the colour scale for scores. Navigator needs `min_value < max_value`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Gradient {
    pub colors: Vec<String>,
    #[serde(serialize_with = "ser_number")]
    pub min_value: f64,
    #[serde(serialize_with = "ser_number")]
    pub max_value: f64,
}

impl Gradient {
    /// Whether both bounds are finite and `min_value < max_value`, as Navigator needs.
    pub fn range_is_valid(&self) -> bool {
        self.min_value.is_finite() && self.max_value.is_finite() && self.min_value < self.max_value
    }
}

impl Default for Gradient {
    /// Pale yellow (0) to red (100): a heat scale for detection confidence.
    fn default() -> Self {
        Gradient {
            colors: vec!["#ffffcc".into(), "#fd8d3c".into(), "#bd0026".into()],
            min_value: 0.0,
            max_value: 100.0,
        }
    }
}

/// `legendItems` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegendItem {
    pub label: String,
    pub color: String,
}

/// A metadata entry (`{"name", "value"}`) or a divider (`{"divider": true}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetadataItem {
    Entry { name: String, value: String },
    Divider { divider: bool },
}

impl MetadataItem {
    /// A `{"name", "value"}` entry.
    pub fn entry(name: impl Into<String>, value: impl Into<String>) -> Self {
        MetadataItem::Entry {
            name: name.into(),
            value: value.into(),
        }
    }

    /// A divider line.
    pub fn divider() -> Self {
        MetadataItem::Divider { divider: true }
    }
}

/// A link (`{"label", "url"}`) or a divider (`{"divider": true}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LinkItem {
    Link { label: String, url: String },
    Divider { divider: bool },
}

impl Layer {
    /// Pretty-printed JSON of this layer.
    pub fn to_json_pretty(&self) -> String {
        // Only strings, numbers, booleans and vectors: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Pretty-printed JSON array of several layers (Navigator's "download all layers" form).
pub fn layers_to_json_pretty(layers: &[Layer]) -> String {
    serde_json::to_string_pretty(layers).unwrap_or_default()
}

fn is_none_or_empty(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(str::is_empty)
}

/// Writes whole numbers as JSON integers (`75`, not `75.0`), as Navigator itself does.
fn ser_number<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

fn ser_opt_number<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(x) => ser_number(x, s),
        None => s.serialize_none(),
    }
}
