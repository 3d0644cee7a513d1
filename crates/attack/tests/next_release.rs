//! A newer Enterprise release, as scripts/synthetic-next-release.py derives it from v18.1
//! (tests/fixtures/enterprise-attack-19.0-synthetic.json): recognised as Enterprise ATT&CK
//! with the collection's version, tactics renamed and added in the matrix's order,
//! revocations followed to the live technique (chains included), deprecations retired, and
//! layers made for v18.1 upgraded onto it.

mod common;

use std::sync::OnceLock;

use ttpmap_attack::{load_bundle, parse_layers, Matrix, Standing};

fn release() -> &'static Matrix {
    static M: OnceLock<Matrix> = OnceLock::new();
    M.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/enterprise-attack-19.0-synthetic.json");
        load_bundle(&std::fs::read(path).unwrap()).unwrap()
    })
}

#[test]
fn the_release_is_enterprise_attack_with_the_collections_version() {
    let m = release();
    assert!(m.is_enterprise_attack());
    assert_eq!(m.version, "19.0");
    assert!(!common::atrm().is_enterprise_attack(), "ATRM borrows the domain, not the matrix");
}

#[test]
fn tactics_come_from_the_bundle_renamed_and_added_in_matrix_order() {
    let m = release();
    let names: Vec<(&str, &str)> = m.tactics.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
    assert_eq!(m.tactic_count(), 15);
    assert_eq!(names[6], ("TA0005", "Stealth"));
    assert_eq!(names[7], ("TA0112", "Defense Impairment"));
    assert!(m.tactic("defense-evasion").is_none());
    assert!(m.technique("T1027").unwrap().tactics.contains(&"stealth".to_string()));
    assert_eq!(m.technique("T1685.001").unwrap().tactics, vec!["defense-impairment"]);
    assert!(m.tactic("defense-impairment").unwrap().techniques.contains(&"T1685".to_string()));
}

#[test]
fn revocations_lead_to_the_live_technique_through_chains() {
    let m = release();
    assert_eq!(m.standing("T1562"), Standing::Moved("T1685"));
    assert_eq!(m.standing("T1562.001"), Standing::Moved("T1685.001"));
    // T1089 -> T1562.001 (v18.1) -> T1685.001 (this release).
    assert_eq!(m.standing("T1089"), Standing::Moved("T1685.001"));
    // T1562.012 -> T1685.012 (revoked in the same release) -> T1685.002.
    assert_eq!(m.standing("T1562.012"), Standing::Moved("T1685.002"));
    assert_eq!(m.standing("T1685.012"), Standing::Moved("T1685.002"));
    // Two old IDs merged into one.
    assert_eq!(m.standing("T1562.002"), Standing::Moved("T1685.002"));
    assert_eq!(m.standing("T1562.008"), Standing::Moved("T1685.002"));
    assert_eq!(m.standing("T1562.010"), Standing::Retired);
    assert_eq!(m.standing("T1686"), Standing::Live);
    assert_eq!(m.standing("T9999"), Standing::Unknown);
    for (from, to) in &m.revisions.moved {
        assert!(m.technique(from).is_none(), "{from} is live and moved");
        assert!(m.technique(to).is_some(), "{from} moved to {to}, which is not live");
    }
    assert!(m.revisions.retired.iter().all(|r| m.technique(r).is_none()));
}

#[test]
fn v18_1_keeps_its_own_revocations() {
    let m = common::enterprise();
    assert_eq!(m.standing("T1089"), Standing::Moved("T1562.001"));
    assert!(m.revisions.moved.len() > 100, "{}", m.revisions.moved.len());
}

#[test]
fn the_compact_form_keeps_the_revisions() {
    let m = release();
    let back = Matrix::from_compact_json(&m.to_compact_json()).unwrap();
    assert_eq!(back.revisions, m.revisions);
    assert_eq!(back.standing("T1562.012"), Standing::Moved("T1685.002"));
    assert_eq!(back.version, "19.0");
}

#[test]
fn a_v18_1_layer_is_upgraded_onto_the_release() {
    let json = r#"{"name": "old", "versions": {"attack": "18", "navigator": "5.1.0", "layer": "4.5"},
        "domain": "enterprise-attack", "techniques": [
        {"techniqueID": "T1562", "tactic": "defense-evasion", "showSubtechniques": true},
        {"techniqueID": "T1562.001", "tactic": "defense-evasion", "score": 80, "comment": "tools off"},
        {"techniqueID": "T1562.002", "score": 40},
        {"techniqueID": "T1562.008", "score": 60, "metadata": [{"name": "n", "value": "v"}]},
        {"techniqueID": "T1562.010", "score": 10},
        {"techniqueID": "T1027", "tactic": "defense-evasion", "score": 50},
        {"techniqueID": "T1059.001", "tactic": "execution", "score": 70},
        {"techniqueID": "T1059", "showSubtechniques": true}]}"#;
    let mut layer = parse_layers(json).unwrap().remove(0);
    let m = release();
    let up = layer.upgrade_to(m);
    let pairs = |v: &[(String, String)]| v.iter().map(|(a, b)| format!("{a}>{b}")).collect::<Vec<_>>();
    assert_eq!(pairs(&up.moved), ["T1562>T1685", "T1562.001>T1685.001", "T1562.002>T1685.002", "T1562.008>T1685.002"]);
    assert_eq!(up.retired, ["T1562.010"]);
    let entry = |id: &str| layer.techniques.iter().find(|t| t.technique_id == id).unwrap_or_else(|| panic!("{id} missing"));
    assert_eq!(entry("T1685.001").score, Some(80.0));
    assert_eq!(entry("T1685.001").tactic, None, "defense-evasion is not a tactic of T1685.001");
    assert_eq!(entry("T1685.002").score, Some(60.0), "merged entries keep the higher score");
    assert_eq!(entry("T1685.002").metadata.len(), 1);
    assert_eq!(entry("T1027").tactic, None, "the renamed tactic is cleared");
    assert_eq!(entry("T1059.001").tactic.as_deref(), Some("execution"));
    assert_eq!(layer.techniques.iter().filter(|t| t.technique_id == "T1685.002").count(), 1);
    for t in &layer.techniques {
        assert!(m.technique(&t.technique_id).is_some(), "{} left in the upgraded layer", t.technique_id);
    }
    assert_eq!(layer.versions.as_ref().unwrap().attack.as_deref(), Some("19.0"));
    layer.validate(Some(m)).unwrap();
}

#[test]
fn a_current_layer_is_left_as_it_is() {
    let json = r#"{"name": "new", "versions": {"layer": "4.5"}, "domain": "enterprise-attack",
        "techniques": [{"techniqueID": "T1685.001", "score": 80}, {"techniqueID": "T1685", "showSubtechniques": true}]}"#;
    let mut layer = parse_layers(json).unwrap().remove(0);
    let before = layer.techniques.clone();
    assert!(layer.upgrade_to(release()).is_empty());
    assert_eq!(layer.techniques, before);
}
