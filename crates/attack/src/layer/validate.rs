//! The rules a layer must follow to load in Navigator as intended, checked against a
//! matrix when one is given.

use std::collections::{HashMap, HashSet};

use super::{Layer, LAYER_FORMAT_VERSION};
use crate::matrix::Matrix;

/// One broken rule in a layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayerProblem {
    /// `versions.layer` is missing or not `"4.5"`.
    #[error("versions.layer is {}, expected \"{LAYER_FORMAT_VERSION}\"", .found.as_deref().map_or("missing".to_string(), |v| format!("{v:?}")))]
    WrongLayerVersion { found: Option<String> },
    /// A `techniqueID` is empty.
    #[error("techniques[{position}] has an empty techniqueID")]
    EmptyTechniqueId { position: usize },
    /// A score is NaN or infinite.
    #[error("technique {technique}: score {score} is not a finite number")]
    ScoreNotFinite { technique: String, score: f64 },
    /// `tactic` is `""`; an absent tactic means "every tactic", an empty one means nothing.
    #[error("technique {technique}: \"tactic\" is empty; leave it out to mean every tactic")]
    EmptyTactic { technique: String },
    /// `tactic` is not a tactic shortname of the matrix.
    #[error("technique {technique}: {tactic:?} is not a tactic of {matrix}")]
    UnknownTactic {
        technique: String,
        tactic: String,
        matrix: String,
    },
    /// `tactic` is a tactic of the matrix, but not one this technique belongs to.
    #[error("technique {technique} is not in tactic {tactic:?}")]
    TechniqueNotInTactic { technique: String, tactic: String },
    /// The technique ID is not in the matrix.
    #[error("technique {technique} is not in {matrix}")]
    UnknownTechnique { technique: String, matrix: String },
    /// A sub-technique is annotated but no entry of its parent has `showSubtechniques: true`,
    /// so Navigator hides the annotation under a collapsed parent.
    #[error("sub-technique {subtechnique} is annotated, but its parent {parent} has no entry with \"showSubtechniques\": true")]
    ParentNotExpanded {
        parent: String,
        subtechnique: String,
    },
    /// The gradient's `minValue` is not below its `maxValue`.
    #[error("gradient minValue {min} must be below maxValue {max}")]
    GradientRange { min: f64, max: f64 },
    /// The gradient has fewer than two colours.
    #[error("gradient needs at least two colors, has {count}")]
    GradientColors { count: usize },
}

impl Layer {
    /// Checks the layer against the rules of [`LayerProblem`]; with a matrix, also that every
    /// technique and tactic exists in it. Returns every problem found, in layer order.
    pub fn validate(&self, matrix: Option<&Matrix>) -> Result<(), Vec<LayerProblem>> {
        let mut problems = Vec::new();
        let layer_version = self.versions.as_ref().and_then(|v| v.layer.clone());
        if layer_version.as_deref() != Some(LAYER_FORMAT_VERSION) {
            problems.push(LayerProblem::WrongLayerVersion {
                found: layer_version,
            });
        }
        if let Some(g) = &self.gradient {
            if !g.range_is_valid() {
                problems.push(LayerProblem::GradientRange {
                    min: g.min_value,
                    max: g.max_value,
                });
            }
            if g.colors.len() < 2 {
                problems.push(LayerProblem::GradientColors {
                    count: g.colors.len(),
                });
            }
        }
        for position in 0..self.techniques.len() {
            self.check_technique(position, matrix, &mut problems);
        }
        self.check_expanded_parents(matrix, &mut problems);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn check_technique(
        &self,
        position: usize,
        matrix: Option<&Matrix>,
        problems: &mut Vec<LayerProblem>,
    ) {
        let t = &self.techniques[position];
        let id = &t.technique_id;
        if id.is_empty() {
            problems.push(LayerProblem::EmptyTechniqueId { position });
            return;
        }
        if let Some(score) = t.score {
            if !score.is_finite() {
                problems.push(LayerProblem::ScoreNotFinite {
                    technique: id.clone(),
                    score,
                });
            }
        }
        let known = matrix.map(|m| (m, m.technique(id)));
        if let Some((m, None)) = known {
            problems.push(LayerProblem::UnknownTechnique {
                technique: id.clone(),
                matrix: m.name.clone(),
            });
        }
        match t.tactic.as_deref() {
            None => {}
            Some("") => problems.push(LayerProblem::EmptyTactic {
                technique: id.clone(),
            }),
            Some(tactic) => {
                if let Some((m, technique)) = known {
                    if m.tactic(tactic).is_none() {
                        problems.push(LayerProblem::UnknownTactic {
                            technique: id.clone(),
                            tactic: tactic.to_string(),
                            matrix: m.name.clone(),
                        });
                    } else if technique
                        .is_some_and(|tech| !tech.tactics.iter().any(|x| x == tactic))
                    {
                        problems.push(LayerProblem::TechniqueNotInTactic {
                            technique: id.clone(),
                            tactic: tactic.to_string(),
                        });
                    }
                }
            }
        }
    }

    /// Every annotated sub-technique needs an entry of its parent, in the same tactic or in
    /// all tactics, with `showSubtechniques: true`.
    fn check_expanded_parents(&self, matrix: Option<&Matrix>, problems: &mut Vec<LayerProblem>) {
        // parent ID -> tactics of its expanded entries (None = every tactic)
        let mut expanded: HashMap<&str, Vec<Option<&str>>> = HashMap::new();
        for t in &self.techniques {
            if t.show_subtechniques == Some(true) {
                expanded
                    .entry(t.technique_id.as_str())
                    .or_default()
                    .push(t.tactic.as_deref().filter(|s| !s.is_empty()));
            }
        }
        let mut reported: HashSet<&str> = HashSet::new();
        for t in self.techniques.iter().filter(|t| t.is_annotated()) {
            let Some(parent) = parent_id(&t.technique_id, matrix) else {
                continue;
            };
            let sub_tactic = t.tactic.as_deref().filter(|s| !s.is_empty());
            let ok = expanded.get(parent.as_str()).is_some_and(|tactics| {
                tactics
                    .iter()
                    .any(|pt| pt.is_none() || sub_tactic.is_none() || *pt == sub_tactic)
            });
            if !ok && reported.insert(t.technique_id.as_str()) {
                problems.push(LayerProblem::ParentNotExpanded {
                    parent,
                    subtechnique: t.technique_id.clone(),
                });
            }
        }
    }
}

/// The parent of a sub-technique: from the matrix when given, else the part of a dotted ID
/// before the dot.
fn parent_id(id: &str, matrix: Option<&Matrix>) -> Option<String> {
    match matrix {
        Some(m) => m.technique(id).and_then(|t| t.parent.clone()),
        None => id
            .split_once('.')
            .map(|(p, _)| p.to_string())
            .filter(|p| !p.is_empty()),
    }
}
