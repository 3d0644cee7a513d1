//! Mapping onto a newer Enterprise release with the shipped classifier (trained on v18.1),
//! on the synthetic release scripts/synthetic-next-release.py derives from v18.1
//! (crates/attack/tests/fixtures): on TRAM validation reports the release mapping equals
//! the v18.1 mapping carried through the release's revocations, new techniques aside; a
//! sentence describing the technique new in the release is detected by similarity and its
//! evidence says so; layers carry the release and never a revoked or deprecated ID.


use std::sync::OnceLock;

use ttpmap_attack::{load_bundle, Examples, Matrix, MetadataItem, Standing};
use ttpmap_mapper::export::LayerOptions;
use ttpmap_mapper::release::{map_report_release, release_layer, Method, NewTechniqueConfig, ReleaseMapper, ReleaseMapping, ReleasePlan};
use ttpmap_mapper::similarity::{compute_vectors_of, PrototypeConfig, TechniqueVectors};
use ttpmap_mapper::{map_report, AggregateConfig, BatchConfig};

mod common;

use common::{model, read, root};

fn release() -> &'static Matrix {
    static M: OnceLock<Matrix> = OnceLock::new();
    M.get_or_init(|| load_bundle(&read("crates/attack/tests/fixtures/enterprise-attack-19.0-synthetic.json")).unwrap())
}

fn plan() -> &'static ReleasePlan {
    static P: OnceLock<ReleasePlan> = OnceLock::new();
    P.get_or_init(|| ReleasePlan::new(model(), release()))
}

fn vectors() -> &'static TechniqueVectors {
    static V: OnceLock<TechniqueVectors> = OnceLock::new();
    V.get_or_init(|| {
        let new = plan().new_techniques_in(release());
        compute_vectors_of(model(), release(), &new, &Examples::new(), &PrototypeConfig::default(), "", BatchConfig::default(), &mut |_, _| {})
            .unwrap()
    })
}

fn map_release(text: &str) -> ReleaseMapping {
    let mapper = ReleaseMapper::new(model(), plan(), Some(vectors()), NewTechniqueConfig::for_vectors(vectors())).unwrap();
    map_report_release(&mapper, text, AggregateConfig::default(), BatchConfig::default(), &mut |_, _| {}).unwrap()
}

/// The text of a TRAM report (its "signal").
fn tram_text(title: &str) -> String {
    let path = root().join("data/tram/reports").join(format!("{title}.mjson"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap();
    v["signal"].as_str().unwrap().to_string()
}

/// Validation reports of the shipped model (never trained on), chosen for mentioning
/// defences being impaired, so the T1562 -> T1685 revocations are exercised.
const REPORTS: [&str; 3] = [
    "Conti Ransomware",
    "The LockBit ransomware kinda comes for macOS",
    "AA21076A TrickBot Malware",
];

fn layer_of(rm: &ReleaseMapping, text: &str) -> ttpmap_attack::Layer {
    let opts = LayerOptions { name: "r".into(), threshold: model().manifest.threshold, top_evidence: 2 };
    release_layer(release(), rm, text, &opts).unwrap()
}

fn entry<'a>(items: &'a [MetadataItem], name: &str) -> Option<&'a str> {
    items.iter().find_map(|m| match m {
        MetadataItem::Entry { name: n, value } if n == name => Some(value.as_str()),
        _ => None,
    })
}

#[test]
fn the_reports_are_validation_reports() {
    let split = &model().manifest.training["split"]["validation"];
    for r in REPORTS {
        assert!(split.as_array().unwrap().iter().any(|v| v == r), "{r} is not a validation report");
    }
}

#[test]
fn validation_reports_map_as_v18_1_carried_through_the_revocations() {
    let threshold = model().manifest.threshold;
    let mut carried_detections = 0;
    for title in REPORTS {
        let text = tram_text(title);
        let old = map_report(model(), &text, AggregateConfig::default(), BatchConfig::default(), &mut |_, _| {}).unwrap();
        let expected = plan().carry(&old, model().aggregate_config(AggregateConfig::default()));
        let rm = map_release(&text);
        let mut by_classifier = rm.mapping.clone();
        by_classifier.techniques.retain(|t| rm.methods[&t.id] == Method::Classifier);
        assert_eq!(by_classifier, expected, "{title}");
        carried_detections += expected.detected(threshold).filter(|t| rm.carried.contains_key(&t.id)).count();

        let layer = layer_of(&rm, &text);
        layer.validate(Some(release())).unwrap();
        assert_eq!(layer.versions.as_ref().unwrap().attack.as_deref(), Some("19.0"));
        assert_eq!(entry(&layer.metadata, "ATT&CK release"), Some("19.0"));
        assert!(entry(&layer.metadata, "dropped labels").unwrap().contains("T1562.010"));
        for t in &layer.techniques {
            assert_eq!(release().standing(&t.technique_id), Standing::Live, "{title}: {} in the layer", t.technique_id);
        }
        for t in &rm.mapping.techniques {
            assert_eq!(release().standing(&t.id), Standing::Live, "{title}: {} in the mapping", t.id);
        }
        assert!(rm.mapping.detected(threshold).all(|t| t.id != "T1686"), "{title} does not describe prompt injection");
    }
    assert!(carried_detections > 0, "no detection was carried by a revocation: the reports do not exercise it");
}

#[test]
fn the_release_layer_names_the_release_tactics() {
    let text = "The ransomware disabled Windows Defender and stopped the antivirus service before encrypting files.";
    let rm = map_release(text);
    let detected = rm.mapping.detected_ids(model().manifest.threshold);
    assert!(detected.iter().any(|id| id == "T1685.001"), "got {detected:?}");
    assert!(detected.iter().all(|id| !id.starts_with("T1562")));
    let t = release().technique("T1685.001").unwrap();
    assert_eq!(t.tactics, ["defense-impairment"]);
    assert_eq!(release().tactic("defense-impairment").unwrap().name, "Defense Impairment");
    assert!(rm.describe("T1685.001").contains("T1562.001"), "{}", rm.describe("T1685.001"));
    let layer = layer_of(&rm, text);
    let e = layer.techniques.iter().find(|e| e.technique_id == "T1685.001").unwrap();
    assert!(entry(&e.metadata, "detected by").unwrap().starts_with("classifier"));
}

#[test]
fn a_sentence_describing_the_new_technique_is_detected_by_similarity() {
    let text = "The attackers hid instructions for the company's AI assistant inside a shared document. \
                When the LLM agent summarised the document, the injected prompt made it forward confidential \
                mailbox contents to the attackers.";
    let rm = map_release(text);
    let detected = rm.mapping.detected_ids(model().manifest.threshold);
    assert!(detected.iter().any(|id| id == "T1686"), "got {detected:?}");
    assert_eq!(rm.methods["T1686"], Method::Similarity);
    let layer = layer_of(&rm, text);
    let e = layer.techniques.iter().find(|e| e.technique_id == "T1686").unwrap();
    assert!(entry(&e.metadata, "detected by").unwrap().starts_with("similarity"), "{:?}", e.metadata);
}

#[test]
fn vectors_of_other_techniques_are_refused() {
    let err = ReleaseMapper::new(model(), plan(), None, NewTechniqueConfig::for_vectors(vectors()));
    assert!(err.is_err());
}

