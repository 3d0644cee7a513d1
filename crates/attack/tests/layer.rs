//! Navigator layers: building, export/import round trip, validation rules, import errors.

mod common;

use common::{atrm, enterprise};
use ttpmap_attack::layer::{
    layers_to_json_pretty, Gradient, LayerTechnique, MetadataItem, Versions,
};
use ttpmap_attack::{parse_layers, Annotation, Layer, LayerConfig, LayerError, LayerProblem};

fn built() -> Layer {
    let annotations = [
        Annotation {
            comment: "They created a scheduled task.".into(),
            metadata: vec![MetadataItem::entry("evidence", "schtasks /create ...")],
            ..Annotation::scored("T1053.005", 87.5)
        },
        Annotation::scored("T1059", 40.0),
    ];
    Layer::for_matrix(enterprise(), &LayerConfig::default(), &annotations).unwrap()
}

/// A minimal valid layer: version 4.5, no techniques.
fn minimal() -> Layer {
    let mut l = built();
    l.techniques.clear();
    l
}

fn with_technique(t: LayerTechnique) -> Layer {
    let mut l = minimal();
    l.techniques.push(t);
    l
}

fn problems(layer: &Layer) -> Vec<LayerProblem> {
    layer.validate(Some(enterprise())).err().unwrap_or_default()
}

// --- building ---

#[test]
fn built_layer_is_valid() {
    assert_eq!(built().validate(Some(enterprise())), Ok(()));
}

#[test]
fn built_layer_expands_the_unannotated_parent_without_a_score() {
    let l = built();
    let parent = l
        .techniques
        .iter()
        .find(|t| t.technique_id == "T1053")
        .unwrap();
    assert_eq!(
        (parent.show_subtechniques, parent.score),
        (Some(true), None)
    );
}

#[test]
fn built_layer_sets_enterprise_domain_and_versions() {
    let mut m = enterprise().clone();
    m.version = "18.1".into();
    let l = Layer::for_matrix(&m, &LayerConfig::default(), &[]).unwrap();
    let v = l.versions.unwrap();
    assert_eq!(l.domain, "enterprise-attack");
    assert_eq!(
        (
            v.attack.as_deref(),
            v.navigator.as_deref(),
            v.layer.as_deref()
        ),
        (Some("18.1"), Some(ttpmap_attack::layer::NAVIGATOR_VERSION), Some("4.5"))
    );
}

#[test]
fn built_layer_for_another_matrix_names_it_in_metadata() {
    let l = Layer::for_matrix(
        atrm(),
        &LayerConfig::default(),
        &[Annotation::scored("AZT106.001", 10.0)],
    )
    .unwrap();
    assert_eq!(l.versions.as_ref().unwrap().attack, None);
    assert!(l.metadata.contains(&MetadataItem::entry(
        "matrix",
        "Azure Threat Research Matrix 0.1"
    )));
}

#[test]
fn built_layer_has_a_0_to_100_gradient() {
    let g = built().gradient.unwrap();
    assert_eq!((g.min_value, g.max_value), (0.0, 100.0));
}

#[test]
fn building_with_an_unknown_technique_fails() {
    let err = Layer::for_matrix(
        enterprise(),
        &LayerConfig::default(),
        &[Annotation::scored("T9999", 1.0)],
    );
    assert!(err.is_err());
}

#[test]
fn building_with_a_nan_score_fails() {
    let err = Layer::for_matrix(
        enterprise(),
        &LayerConfig::default(),
        &[Annotation::scored("T1059", f64::NAN)],
    );
    assert!(err.is_err());
}

#[test]
fn building_with_a_duplicate_technique_fails() {
    let twice = [
        Annotation::scored("T1059", 1.0),
        Annotation::scored("T1059", 2.0),
    ];
    assert!(Layer::for_matrix(enterprise(), &LayerConfig::default(), &twice).is_err());
}

#[test]
fn scores_are_written_as_json_numbers_and_tactic_is_omitted() {
    let v: serde_json::Value = serde_json::from_str(&built().to_json_pretty()).unwrap();
    let t1059 = v["techniques"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["techniqueID"] == "T1059")
        .unwrap();
    assert!(t1059["score"].is_number());
    assert!(t1059.get("tactic").is_none());
}

#[test]
fn an_empty_tactic_is_never_written() {
    let l = with_technique(LayerTechnique {
        tactic: Some(String::new()),
        ..LayerTechnique::new("T1059")
    });
    assert!(!l.to_json_pretty().contains("\"tactic\""));
}

// --- round trip ---

#[test]
fn export_then_import_gives_the_same_layer() {
    let l = built();
    assert_eq!(parse_layers(&l.to_json_pretty()).unwrap(), vec![l]);
}

#[test]
fn an_array_of_layers_is_accepted() {
    let layers = vec![built(), minimal()];
    assert_eq!(
        parse_layers(&layers_to_json_pretty(&layers)).unwrap(),
        layers
    );
}

#[test]
fn a_navigator_example_layer_imports() {
    let json = r##"{"name": "example layer", "versions": {"attack": "18", "navigator": "5.2.0", "layer": "4.5"},
        "domain": "enterprise-attack", "sorting": 2,
        "layout": {"layout": "side", "showID": false, "aggregateFunction": "average", "expandedSubtechniques": "annotated"},
        "techniques": [
            {"techniqueID": "T1110", "score": 0, "color": "#fd8d3c", "showSubtechniques": true},
            {"techniqueID": "T1053", "tactic": "privilege-escalation",
             "metadata": [{"name": "m1", "value": "v1"}, {"divider": true}],
             "links": [{"label": "GitHub", "url": "https://github.com"}]}
        ],
        "gradient": {"colors": ["#ff6666", "#8ec843"], "minValue": 0, "maxValue": 100},
        "legendItems": [{"label": "x", "color": "#FF00FF"}]}"##;
    let layers = parse_layers(json).unwrap();
    assert_eq!(layers[0].techniques[1].metadata[1], MetadataItem::divider());
}

// --- one failing input per validity rule ---

#[test]
fn rule_layer_version_must_be_4_5() {
    let mut l = minimal();
    l.versions = Some(Versions {
        attack: None,
        navigator: None,
        layer: Some("4.3".into()),
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::WrongLayerVersion { .. }]
    ));
}

#[test]
fn rule_score_must_be_finite() {
    let l = with_technique(LayerTechnique {
        score: Some(f64::INFINITY),
        ..LayerTechnique::new("T1059")
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::ScoreNotFinite { .. }]
    ));
}

#[test]
fn rule_tactic_must_not_be_empty() {
    let l = with_technique(LayerTechnique {
        tactic: Some(String::new()),
        ..LayerTechnique::new("T1059")
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::EmptyTactic { .. }]
    ));
}

#[test]
fn rule_tactic_must_be_a_tactic_of_the_matrix() {
    let l = with_technique(LayerTechnique {
        tactic: Some("stealth".into()),
        ..LayerTechnique::new("T1059")
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::UnknownTactic { .. }]
    ));
}

#[test]
fn rule_tactic_must_be_one_of_the_techniques_tactics() {
    let l = with_technique(LayerTechnique {
        tactic: Some("impact".into()),
        ..LayerTechnique::new("T1059")
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::TechniqueNotInTactic { .. }]
    ));
}

#[test]
fn rule_technique_must_be_in_the_matrix() {
    let l = with_technique(LayerTechnique::new("T9999"));
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::UnknownTechnique { .. }]
    ));
}

#[test]
fn rule_parent_of_annotated_subtechnique_is_expanded() {
    let l = with_technique(LayerTechnique {
        score: Some(1.0),
        ..LayerTechnique::new("T1053.005")
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::ParentNotExpanded { .. }]
    ));
}

#[test]
fn rule_parent_expansion_is_checked_without_a_matrix_by_dotted_id() {
    let l = with_technique(LayerTechnique {
        score: Some(1.0),
        ..LayerTechnique::new("T1053.005")
    });
    assert!(l.validate(None).is_err());
}

#[test]
fn rule_gradient_min_below_max() {
    let mut l = minimal();
    l.gradient = Some(Gradient {
        min_value: 100.0,
        max_value: 100.0,
        ..Gradient::default()
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::GradientRange { .. }]
    ));
}

#[test]
fn rule_gradient_has_two_colors() {
    let mut l = minimal();
    l.gradient = Some(Gradient {
        colors: vec!["#ffffff".into()],
        ..Gradient::default()
    });
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::GradientColors { .. }]
    ));
}

#[test]
fn rule_technique_id_must_not_be_empty() {
    let l = with_technique(LayerTechnique::new(""));
    assert!(matches!(
        problems(&l)[..],
        [LayerProblem::EmptyTechniqueId { .. }]
    ));
}

// --- import errors ---

#[test]
fn import_rejects_non_json() {
    assert!(matches!(
        parse_layers("{not json"),
        Err(LayerError::NotJson(_))
    ));
}

#[test]
fn import_rejects_json_that_is_not_a_layer() {
    let err = parse_layers(r#"{"foo": 1}"#).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("not an ATT&CK Navigator layer: missing \"techniques\""),
        "{err}"
    );
}

#[test]
fn import_rejects_a_scalar() {
    assert!(matches!(
        parse_layers("42"),
        Err(LayerError::NotALayer { .. })
    ));
}

#[test]
fn import_rejects_an_empty_array() {
    assert!(matches!(
        parse_layers("[]"),
        Err(LayerError::NotALayer { .. })
    ));
}

#[test]
fn import_names_the_technique_with_a_text_score() {
    let json = r#"{"name": "x", "domain": "enterprise-attack", "techniques": [{"techniqueID": "T1059", "score": "high"}]}"#;
    assert_eq!(
        parse_layers(json).unwrap_err().to_string(),
        "technique T1059: \"score\" must be a number, found \"high\""
    );
}

#[test]
fn import_names_the_layer_in_an_array() {
    let json = r#"[{"name": "a", "domain": "d", "techniques": []}, {"foo": 1}]"#;
    assert!(parse_layers(json)
        .unwrap_err()
        .to_string()
        .starts_with("layer 2 of the array: "));
}

#[test]
fn import_rejects_a_technique_without_an_id() {
    let json = r#"{"name": "x", "domain": "enterprise-attack", "techniques": [{"score": 1}]}"#;
    assert!(matches!(
        parse_layers(json),
        Err(LayerError::BadTechnique { position: 0, .. })
    ));
}

#[test]
fn import_reports_other_type_errors_as_malformed() {
    let json =
        r#"{"name": "x", "domain": "enterprise-attack", "techniques": [], "hideDisabled": "no"}"#;
    assert!(matches!(
        parse_layers(json),
        Err(LayerError::Malformed { .. })
    ));
}
