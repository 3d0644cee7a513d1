//! Making a layer for a matrix from scored techniques: what the classifier, the web app
//! and the CLI call to export a report mapping.

use std::collections::{BTreeMap, HashSet};

use super::{
    AggregateFunction, ExpandedSubtechniques, Gradient, Layer, LayerTechnique, Layout, LayoutKind,
    LinkItem, MetadataItem, Versions, LAYER_FORMAT_VERSION, NAVIGATOR_VERSION,
};
use crate::matrix::Matrix;

/// One technique or sub-technique to put in a layer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Annotation {
    /// Technique or sub-technique ID, e.g. `"T1053.005"`.
    pub technique_id: String,
    /// Score, usually 0–100 (the default gradient's range); `None` leaves it unscored.
    pub score: Option<f64>,
    /// Free text shown on hover, e.g. the top evidence sentences; `""` writes none.
    pub comment: String,
    /// Metadata entries shown on hover, e.g. one per evidence sentence.
    pub metadata: Vec<MetadataItem>,
    /// Links shown in the technique's context menu.
    pub links: Vec<LinkItem>,
}

impl Annotation {
    /// An annotation with a score and nothing else.
    pub fn scored(technique_id: impl Into<String>, score: f64) -> Self {
        Annotation {
            technique_id: technique_id.into(),
            score: Some(score),
            ..Annotation::default()
        }
    }
}

/// Settings of a built layer other than its techniques.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerConfig {
    /// Layer name shown on Navigator's tab.
    pub name: String,
    pub description: String,
    /// Layer-level metadata, written after the `matrix` entry the builder adds.
    pub metadata: Vec<MetadataItem>,
    /// Colour scale; `min_value` must be below `max_value`.
    pub gradient: Gradient,
}

impl Default for LayerConfig {
    fn default() -> Self {
        LayerConfig {
            name: "ttpmap".into(),
            description: String::new(),
            metadata: Vec::new(),
            gradient: Gradient::default(),
        }
    }
}

/// Why a layer could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BuildError {
    /// The technique ID is not in the matrix.
    #[error("technique {technique} is not in {matrix}")]
    UnknownTechnique { technique: String, matrix: String },
    /// The same technique was given twice.
    #[error("technique {0} is annotated twice")]
    DuplicateTechnique(String),
    /// A score is NaN or infinite.
    #[error("technique {technique}: score {score} is not a finite number")]
    ScoreNotFinite { technique: String, score: f64 },
    /// The configured gradient is unusable (`min_value` not below `max_value`, or fewer
    /// than two colours).
    #[error("gradient must have minValue < maxValue and at least two colors")]
    BadGradient,
}

impl Layer {
    /// Builds a layer for `matrix` with one entry per annotation, in ID order.
    ///
    /// - Entries carry no `tactic`, so Navigator shows them under every tactic of the technique.
    /// - The parent of every annotated sub-technique gets `showSubtechniques: true`; a parent
    ///   that was not annotated itself is added with nothing but that flag (no score).
    /// - `domain` is the matrix's; `versions` are layer 4.5, the current Navigator
    ///   ([`NAVIGATOR_VERSION`]) and, for MITRE's own domains (`enterprise-attack` ...), the
    ///   ATT&CK release the matrix was read from (`"18.1"`, `"19.0"`: the collection's
    ///   `x_mitre_version`). Every matrix is named in the layer metadata (`matrix`: name
    ///   and version).
    pub fn for_matrix(
        matrix: &Matrix,
        config: &LayerConfig,
        annotations: &[Annotation],
    ) -> Result<Layer, BuildError> {
        let g = &config.gradient;
        if !g.range_is_valid() || g.colors.len() < 2 {
            return Err(BuildError::BadGradient);
        }

        let mut entries: BTreeMap<&str, LayerTechnique> = BTreeMap::new();
        for a in annotations {
            let id = a.technique_id.as_str();
            if matrix.technique(id).is_none() {
                return Err(BuildError::UnknownTechnique {
                    technique: id.to_string(),
                    matrix: matrix.name.clone(),
                });
            }
            if let Some(score) = a.score.filter(|s| !s.is_finite()) {
                return Err(BuildError::ScoreNotFinite {
                    technique: id.to_string(),
                    score,
                });
            }
            let entry = LayerTechnique {
                score: a.score,
                comment: Some(a.comment.clone()).filter(|c| !c.is_empty()),
                metadata: a.metadata.clone(),
                links: a.links.clone(),
                ..LayerTechnique::new(id)
            };
            if entries.insert(id, entry).is_some() {
                return Err(BuildError::DuplicateTechnique(id.to_string()));
            }
        }

        let parents: HashSet<&str> = entries
            .keys()
            .filter_map(|id| matrix.technique(id).and_then(|t| t.parent.as_deref()))
            .collect();
        for parent in parents {
            entries
                .entry(parent)
                .or_insert_with(|| LayerTechnique::new(parent))
                .show_subtechniques = Some(true);
        }

        let mut metadata = vec![MetadataItem::entry("matrix", matrix_label(matrix))];
        metadata.extend(config.metadata.iter().cloned());

        Ok(Layer {
            name: config.name.clone(),
            versions: Some(Versions {
                attack: attack_version(matrix),
                navigator: Some(NAVIGATOR_VERSION.into()),
                layer: Some(LAYER_FORMAT_VERSION.into()),
            }),
            domain: if matrix.domain.is_empty() {
                "enterprise-attack".into()
            } else {
                matrix.domain.clone()
            },
            description: Some(config.description.clone()).filter(|d| !d.is_empty()),
            custom_data_url: None,
            filters: None,
            sorting: Some(3),
            layout: Some(Layout {
                layout: Some(LayoutKind::Side),
                aggregate_function: Some(AggregateFunction::Max),
                show_id: Some(true),
                show_name: Some(true),
                show_aggregate_scores: Some(false),
                count_unscored: Some(false),
                expanded_subtechniques: Some(ExpandedSubtechniques::Annotated),
            }),
            hide_disabled: Some(false),
            techniques: entries.into_values().collect(),
            gradient: Some(config.gradient.clone()),
            legend_items: Vec::new(),
            metadata,
            links: Vec::new(),
            show_tactic_row_background: None,
            tactic_row_background: None,
            select_techniques_across_tactics: Some(true),
            select_subtechniques_with_parent: Some(false),
            select_visible_techniques: None,
        })
    }
}

/// The ATT&CK release for MITRE's own domains (`enterprise` in `enterprise-attack`);
/// `None` for other matrices, which Navigator loads as custom data.
pub(super) fn attack_version(matrix: &Matrix) -> Option<String> {
    let own_domain = matrix.domain == format!("{}-attack", matrix.id);
    (own_domain && !matrix.version.is_empty()).then(|| matrix.version.clone())
}

fn matrix_label(matrix: &Matrix) -> String {
    if matrix.version.is_empty() {
        matrix.name.clone()
    } else {
        format!("{} {}", matrix.name, matrix.version)
    }
}
