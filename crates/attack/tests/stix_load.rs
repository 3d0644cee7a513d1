//! The STIX loader on the three shipped bundles, their "strict" variants, and bad input.

mod common;

use common::{atrm, enterprise, read, tmfk};
use ttpmap_attack::{load_bundle, load_bundle_with, load_bundle_with_examples, LoadOptions, StixError};

#[test]
fn enterprise_has_14_tactics() {
    assert_eq!(enterprise().tactic_count(), 14);
}

#[test]
fn enterprise_has_216_techniques_and_475_subtechniques() {
    assert_eq!(enterprise().technique_count(), 216);
    assert_eq!(enterprise().subtechnique_count(), 475);
}

#[test]
fn enterprise_tactics_follow_the_matrix_order() {
    let order: Vec<&str> = enterprise()
        .tactics
        .iter()
        .map(|t| t.shortname.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "reconnaissance",
            "resource-development",
            "initial-access",
            "execution",
            "persistence",
            "privilege-escalation",
            "defense-evasion",
            "credential-access",
            "discovery",
            "lateral-movement",
            "collection",
            "command-and-control",
            "exfiltration",
            "impact",
        ]
    );
}

#[test]
fn enterprise_identity_fields() {
    let m = enterprise();
    assert_eq!(
        (m.id.as_str(), m.domain.as_str()),
        ("enterprise", "enterprise-attack")
    );
    assert_eq!(m.name, "Enterprise ATT&CK");
}

#[test]
fn enterprise_version_is_empty_without_a_collection_and_taken_from_options() {
    assert_eq!(enterprise().version, "");
    let options = LoadOptions {
        version: Some("18.1".into()),
        ..LoadOptions::default()
    };
    let m = load_bundle_with(&read("enterprise-attack-18.1.json"), &options).unwrap();
    assert_eq!(m.version, "18.1");
}

#[test]
fn tactic_fields_come_from_the_tactic_object() {
    let t = enterprise().tactic("initial-access").unwrap();
    assert_eq!(t.id, "TA0001");
    assert_eq!(t.name, "Initial Access");
    assert_eq!(t.url, "https://attack.mitre.org/tactics/TA0001");
}

#[test]
fn tactic_columns_list_top_level_techniques_sorted_by_name() {
    let t = enterprise().tactic("execution").unwrap();
    let names: Vec<&str> = t
        .techniques
        .iter()
        .map(|id| enterprise().technique(id).unwrap().name.as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(t.techniques.iter().all(|id| !id.contains('.')));
}

#[test]
fn scheduled_task_is_a_subtechnique_of_t1053() {
    let m = enterprise();
    assert_eq!(
        m.parent_of("T1053.005").map(|t| t.id.as_str()),
        Some("T1053")
    );
    assert!(m
        .technique("T1053")
        .unwrap()
        .subtechniques
        .contains(&"T1053.005".to_string()));
}

#[test]
fn technique_fields_are_filled() {
    let t = enterprise().technique("T1566.001").unwrap();
    assert_eq!(t.name, "Spearphishing Attachment");
    assert_eq!(t.url, "https://attack.mitre.org/techniques/T1566/001");
    assert_eq!(t.tactics, ["initial-access"]);
    assert!(t.platforms.contains(&"Windows".to_string()));
    assert!(t.stix_id.starts_with("attack-pattern--"));
}

#[test]
fn revoked_and_deprecated_techniques_are_left_out() {
    let bundle: serde_json::Value =
        serde_json::from_slice(&read("enterprise-attack-18.1.json")).unwrap();
    let dropped: Vec<&serde_json::Value> = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == "attack-pattern")
        .filter(|o| o["revoked"] == true || o["x_mitre_deprecated"] == true)
        .collect();
    assert!(!dropped.is_empty());
    for o in dropped {
        let stix_id = o["id"].as_str().unwrap();
        assert!(
            enterprise().techniques.iter().all(|t| t.stix_id != stix_id),
            "{stix_id} kept"
        );
    }
}

#[test]
fn atrm_has_7_tactics_and_98_techniques() {
    let m = atrm();
    assert_eq!(
        (m.id.as_str(), m.tactic_count(), m.techniques.len()),
        ("atrm", 7, 98)
    );
}

#[test]
fn atrm_subtechniques_hang_under_their_parents() {
    assert_eq!(atrm().subtechnique_count(), 60);
    assert_eq!(
        atrm().parent_of("AZT106.001").map(|t| t.id.as_str()),
        Some("AZT106")
    );
}

#[test]
fn atrm_version_comes_from_its_collection() {
    assert_eq!(atrm().version, "0.1");
}

#[test]
fn tmfk_has_10_tactics_and_40_techniques() {
    let m = tmfk();
    assert_eq!(
        (m.id.as_str(), m.tactic_count(), m.techniques.len()),
        ("tmfk", 10, 40)
    );
}

#[test]
fn tmfk_techniques_link_to_enterprise_techniques() {
    let t = tmfk().technique("MS-TA9020").unwrap();
    assert_eq!(t.links, ["T1078.004"]);
}

#[test]
fn strict_atrm_bundle_loads_with_its_own_domain() {
    let m = load_bundle(&read("atrm_strict.json")).unwrap();
    assert_eq!(
        (m.id.as_str(), m.domain.as_str(), m.techniques.len()),
        ("atrm", "atrm", 98)
    );
}

#[test]
fn strict_tmfk_bundle_loads_with_its_own_domain() {
    let m = load_bundle(&read("tmfk_strict.json")).unwrap();
    assert_eq!(
        (m.id.as_str(), m.domain.as_str(), m.techniques.len()),
        ("tmfk", "tmfk", 40)
    );
    assert_eq!(
        m.tactic("execution").map(|t| t.id.as_str()),
        Some("MS-T0200")
    );
}

#[test]
fn a_matrix_can_be_chosen_by_external_id() {
    let options = LoadOptions {
        matrix: Some("tmfk".into()),
        ..LoadOptions::default()
    };
    assert!(load_bundle_with(&read("tmfk_attack_compatible.json"), &options).is_ok());
}

#[test]
fn choosing_a_missing_matrix_is_an_error() {
    let options = LoadOptions {
        matrix: Some("mobile-attack".into()),
        ..LoadOptions::default()
    };
    let err = load_bundle_with(&read("tmfk_attack_compatible.json"), &options).unwrap_err();
    assert!(matches!(err, StixError::MatrixNotFound(_)));
}

#[test]
fn text_that_is_not_json_is_rejected() {
    let err = load_bundle(b"hello").unwrap_err();
    assert!(matches!(err, StixError::NotJson(_)), "{err}");
}

#[test]
fn json_without_objects_is_not_a_bundle() {
    let err = load_bundle(br#"{"foo": 1}"#).unwrap_err();
    assert_eq!(
        err.to_string(),
        "not a STIX 2.1 bundle: missing \"objects\" array"
    );
}

#[test]
fn a_json_array_is_not_a_bundle() {
    let err = load_bundle(b"[1, 2]").unwrap_err();
    assert!(matches!(err, StixError::NotABundle(_)), "{err}");
}

#[test]
fn a_bundle_without_a_matrix_is_rejected() {
    let err = load_bundle(br#"{"type": "bundle", "id": "bundle--1", "objects": []}"#).unwrap_err();
    assert!(matches!(err, StixError::NoMatrix), "{err}");
}

#[test]
fn a_matrix_without_tactics_is_rejected() {
    let json = br#"{"type": "bundle", "objects": [
        {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "name": "Empty", "tactic_refs": []}
    ]}"#;
    assert!(matches!(
        load_bundle(json).unwrap_err(),
        StixError::NoTactics(_)
    ));
}

#[test]
fn a_matrix_without_techniques_is_rejected() {
    let json = br#"{"type": "bundle", "objects": [
        {"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "name": "Bare", "tactic_refs": ["x-mitre-tactic--1"]},
        {"type": "x-mitre-tactic", "id": "x-mitre-tactic--1", "name": "Execution", "x_mitre_shortname": "execution",
         "external_references": [{"source_name": "mitre-attack", "external_id": "TA0002"}]}
    ]}"#;
    assert!(matches!(
        load_bundle(json).unwrap_err(),
        StixError::NoTechniques(_)
    ));
}

#[test]
fn enterprise_procedure_examples_are_read_from_uses_relationships() {
    let (_, examples) = load_bundle_with_examples(&read("enterprise-attack-18.1.json"), &LoadOptions::default()).unwrap();
    let scheduled = examples.get("T1053.005").expect("examples for T1053.005");
    assert!(scheduled.len() > 20, "{}", scheduled.len());
    assert!(scheduled.iter().all(|e| !e.contains("(Citation:")), "citations are stripped");
}

#[test]
fn atrm_has_no_procedure_examples() {
    let (_, examples) = load_bundle_with_examples(&read("atrm_attack_compatible.json"), &LoadOptions::default()).unwrap();
    assert!(examples.is_empty());
}

#[test]
fn a_stix_bundle_that_is_not_attack_compatible_is_named_so() {
    // Threat-intelligence STIX (indicators, malware), but no ATT&CK matrix.
    let json = br#"{"type": "bundle", "id": "bundle--2", "objects": [
        {"type": "indicator", "id": "indicator--1", "pattern": "[file:hashes.MD5 = 'x']", "pattern_type": "stix"},
        {"type": "malware", "id": "malware--1", "name": "Evil", "is_family": true}
    ]}"#;
    let err = load_bundle(json).unwrap_err();
    assert!(err.to_string().contains("not an ATT&CK-compatible matrix"), "{err}");
}

#[test]
fn a_bundle_with_a_wrongly_typed_field_is_malformed() {
    let json = br#"{"type": "bundle", "objects": [{"type": "attack-pattern", "id": 7}]}"#;
    assert!(matches!(load_bundle(json).unwrap_err(), StixError::MalformedObject(_)));
}

/// A Workbench-style bundle: one matrix, `tactics` tactics, `n` techniques spread over them.
fn synthetic_bundle(tactics: usize, n: usize) -> String {
    let mut objects = Vec::new();
    let refs: Vec<String> = (0..tactics).map(|i| format!("\"x-mitre-tactic--{i}\"")).collect();
    objects.push(format!(
        r#"{{"type": "x-mitre-matrix", "id": "x-mitre-matrix--1", "name": "Synthetic", "tactic_refs": [{}],
            "external_references": [{{"source_name": "acme", "external_id": "acme-matrix"}}]}}"#,
        refs.join(",")
    ));
    for i in 0..tactics {
        objects.push(format!(
            r#"{{"type": "x-mitre-tactic", "id": "x-mitre-tactic--{i}", "name": "Tactic {i}", "x_mitre_shortname": "tactic-{i}",
                "external_references": [{{"source_name": "acme", "external_id": "AT{i:04}"}}]}}"#
        ));
    }
    for i in 0..n {
        objects.push(format!(
            r#"{{"type": "attack-pattern", "id": "attack-pattern--{i}", "name": "Technique {i}",
                "description": "The adversary performs synthetic behaviour number {i} against the target.",
                "kill_chain_phases": [{{"kill_chain_name": "acme", "phase_name": "tactic-{}"}}],
                "external_references": [{{"source_name": "acme", "external_id": "AX{i:05}"}}]}}"#,
            i % tactics
        ));
    }
    format!(r#"{{"type": "bundle", "id": "bundle--synthetic", "objects": [{}]}}"#, objects.join(",\n"))
}

#[test]
fn a_bundle_with_2000_techniques_loads() {
    let m = load_bundle(synthetic_bundle(12, 2000).as_bytes()).unwrap();
    assert_eq!(m.techniques.len(), 2000);
    assert_eq!(m.tactic_count(), 12);
    assert_eq!(m.id, "acme-matrix");
    assert_eq!(m.tactics.iter().map(|t| t.techniques.len()).sum::<usize>(), 2000);
}
