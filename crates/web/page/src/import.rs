//! Opening an ATT&CK Navigator layer to view it as a heatmap.
//!
//! The layer's scores become a [`ReportMapping`] (scaled to 0..1 by the layer's gradient
//! range) so the heatmap, the SVG export and the layer export read it like any mapping.
//! A layer holds no report text, so its techniques carry no evidence sentences; their
//! comments are kept next to the mapping and shown instead.

use std::collections::BTreeMap;

use ttpmap_attack::{parse_layers, Matrix};
use ttpmap_mapper::{sort_techniques, ReportMapping, TechniqueMapping};

/// A layer read for viewing.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedLayer {
    /// The layer's name.
    pub name: String,
    /// Scored techniques of the layer that the matrix knows, best first.
    pub mapping: ReportMapping,
    /// Technique comments, by technique ID.
    pub comments: BTreeMap<String, String>,
    /// What the analyst should know: techniques the matrix lacks, other layers in the file.
    pub notes: Vec<String>,
}

/// Reads the first layer of `json` (one layer or an array) against `matrix`.
///
/// Scores are scaled from the layer's gradient range (0–100 when it has none) to 0..1;
/// a technique listed under several tactics keeps its best score. Entries without a
/// score, disabled ones, and techniques the matrix does not know are left out (the last
/// are named in `notes`). The mapping's threshold is 0: everything scored is shown.
pub fn import_layer(json: &str, matrix: &Matrix) -> Result<ImportedLayer, String> {
    let layers = parse_layers(json).map_err(|e| e.to_string())?;
    let count = layers.len();
    let layer = layers
        .into_iter()
        .next()
        .ok_or_else(|| "the file holds no layer".to_string())?;
    let (min, max) = layer
        .gradient
        .as_ref()
        .filter(|g| g.range_is_valid())
        .map_or((0.0, 100.0), |g| (g.min_value, g.max_value));

    let mut best: BTreeMap<String, f32> = BTreeMap::new();
    let mut comments = BTreeMap::new();
    let mut unknown = Vec::new();
    for entry in &layer.techniques {
        if entry.enabled == Some(false) {
            continue;
        }
        let Some(score) = entry.score.filter(|s| s.is_finite()) else {
            continue;
        };
        let id = entry.technique_id.trim();
        if matrix.technique(id).is_none() {
            if !unknown.iter().any(|u| u == id) {
                unknown.push(id.to_string());
            }
            continue;
        }
        let scaled = (((score - min) / (max - min)) as f32).clamp(0.0, 1.0);
        let slot = best.entry(id.to_string()).or_insert(scaled);
        *slot = slot.max(scaled);
        if let Some(c) = entry
            .comment
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            comments
                .entry(id.to_string())
                .or_insert_with(|| c.to_string());
        }
    }

    let mut techniques: Vec<TechniqueMapping> = best
        .into_iter()
        .map(|(id, score)| TechniqueMapping {
            name: matrix
                .technique(&id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            id,
            score,
            evidence: Vec::new(),
        })
        .collect();
    sort_techniques(&mut techniques);

    let mut notes = Vec::new();
    if count > 1 {
        notes.push(format!("The file holds {count} layers; showing the first."));
    }
    if !unknown.is_empty() {
        notes.push(format!(
            "Not in {} v{} and left out: {}.",
            matrix.name,
            matrix.version,
            unknown.join(", ")
        ));
    }
    Ok(ImportedLayer {
        name: layer.name,
        mapping: ReportMapping {
            threshold: 0.0,
            aggregation: Default::default(),
            sentences: 0,
            techniques,
        },
        comments,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ttpmap_attack::{Tactic, Technique};

    fn matrix() -> Matrix {
        let t = |id: &str, name: &str| Technique {
            id: id.into(),
            stix_id: String::new(),
            name: name.into(),
            description: String::new(),
            platforms: vec![],
            url: String::new(),
            tactics: vec!["execution".into()],
            parent: id.split_once('.').map(|(p, _)| p.to_string()),
            subtechniques: vec![],
            links: vec![],
        };
        Matrix::new(
            "enterprise".into(),
            "Enterprise ATT&CK".into(),
            "18.1".into(),
            "enterprise-attack".into(),
            vec![Tactic {
                id: "TA0002".into(),
                shortname: "execution".into(),
                name: "Execution".into(),
                description: String::new(),
                url: String::new(),
                techniques: vec!["T1059".into()],
            }],
            vec![
                t("T1059", "Command and Scripting Interpreter"),
                t("T1059.001", "PowerShell"),
            ],
            None,
        )
    }

    #[test]
    fn scores_are_scaled_by_the_gradient_and_named_from_the_matrix() {
        let json = r##"{"name": "APT", "domain": "enterprise-attack",
            "gradient": {"colors": ["#fff", "#f00"], "minValue": 0, "maxValue": 10},
            "techniques": [
              {"techniqueID": "T1059.001", "score": 5, "comment": "seen twice"},
              {"techniqueID": "T1059", "showSubtechniques": true}
            ]}"##;
        let layer = import_layer(json, &matrix()).unwrap();
        assert_eq!(layer.name, "APT");
        assert_eq!(
            layer.mapping.techniques.len(),
            1,
            "unscored entries are left out"
        );
        let t = &layer.mapping.techniques[0];
        assert_eq!(
            (t.id.as_str(), t.name.as_str(), t.score),
            ("T1059.001", "PowerShell", 0.5)
        );
        assert_eq!(layer.comments["T1059.001"], "seen twice");
        assert!(layer.notes.is_empty());
    }

    #[test]
    fn a_technique_under_several_tactics_keeps_its_best_score() {
        let json = r#"[{"name": "a", "domain": "enterprise-attack", "techniques": [
              {"techniqueID": "T1059", "tactic": "execution", "score": 20},
              {"techniqueID": "T1059", "tactic": "persistence", "score": 80},
              {"techniqueID": "T9999", "score": 80},
              {"techniqueID": "T1059.001", "score": 90, "enabled": false}
            ]}, {"name": "b", "domain": "enterprise-attack", "techniques": []}]"#;
        let layer = import_layer(json, &matrix()).unwrap();
        assert_eq!(layer.mapping.techniques.len(), 1);
        assert_eq!(layer.mapping.techniques[0].score, 0.8);
        assert_eq!(layer.notes.len(), 2, "{:?}", layer.notes);
        assert!(layer.notes[1].contains("T9999"));
    }

    #[test]
    fn not_a_layer_is_an_error_message() {
        let err = import_layer(r#"{"hello": 1}"#, &matrix()).unwrap_err();
        assert!(err.contains("not an ATT&CK Navigator layer"), "{err}");
        assert!(import_layer("{", &matrix()).is_err());
    }
}
