//! The compact matrix JSON (`ttpmap-matrix/1`).

mod common;

use common::{enterprise, tmfk};
use ttpmap_attack::{CompactError, Matrix, Provenance};

#[test]
fn compact_json_round_trips() {
    let json = tmfk().to_compact_json();
    assert_eq!(
        Matrix::from_compact_json(&json).unwrap(),
        tmfk().compacted()
    );
}

#[test]
fn compact_enterprise_round_trips_with_provenance() {
    let mut m = enterprise().clone();
    m.provenance = Some(Provenance {
        source_file: "enterprise-attack-18.1.json".into(),
        source_sha256: "00".into(),
        publisher: "The MITRE Corporation".into(),
        licence: "ATT&CK Terms of Use".into(),
        built_by: "test".into(),
    });
    let back = Matrix::from_compact_json(&m.to_compact_json()).unwrap();
    assert_eq!(back, m.compacted());
}

#[test]
fn compact_json_carries_the_format_tag() {
    let v: serde_json::Value = serde_json::from_str(&tmfk().to_compact_json()).unwrap();
    assert_eq!(v["format"], "ttpmap-matrix/1");
}

#[test]
fn a_read_back_matrix_has_working_lookups() {
    let m = Matrix::from_compact_json(&enterprise().to_compact_json()).unwrap();
    assert_eq!(
        m.parent_of("T1053.005").map(|t| t.id.as_str()),
        Some("T1053")
    );
}

#[test]
fn compact_descriptions_are_one_clean_paragraph() {
    let m = enterprise().compacted();
    for t in &m.techniques {
        assert!(!t.description.contains("(Citation:"), "{}", t.id);
        assert!(!t.description.contains('\n'), "{}", t.id);
        assert!(!t.description.contains("](http"), "{}", t.id);
    }
}

#[test]
fn compacting_twice_changes_nothing() {
    let once = tmfk().compacted();
    assert_eq!(once.compacted(), once);
}

#[test]
fn json_without_the_format_tag_is_rejected() {
    let err = Matrix::from_compact_json(r#"{"id": "x"}"#).unwrap_err();
    assert!(matches!(err, CompactError::WrongFormat(_)), "{err}");
}

#[test]
fn a_wrong_format_tag_is_named_in_the_error() {
    let err = Matrix::from_compact_json(r#"{"format": "other/2"}"#).unwrap_err();
    assert!(err.to_string().contains("\"other/2\""), "{err}");
}

#[test]
fn non_json_compact_input_is_rejected() {
    let err = Matrix::from_compact_json("not json").unwrap_err();
    assert!(matches!(err, CompactError::NotJson(_)), "{err}");
}

#[test]
fn a_tagged_but_incomplete_file_is_malformed() {
    let err = Matrix::from_compact_json(r#"{"format": "ttpmap-matrix/1", "id": "x"}"#).unwrap_err();
    assert!(matches!(err, CompactError::Malformed(_)), "{err}");
}
