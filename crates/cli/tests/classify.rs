//! `ttpmap classify` end to end: output formats and clear errors on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ttpmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ttpmap")).args(args).current_dir(root()).output().unwrap()
}

fn tmp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ttpmap-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const REPORT: &str = "The actor sent spearphishing emails with malicious Word attachments.\n\n\
                      Once opened, the malware creates a scheduled task to run at logon.\n";

#[test]
fn layer_output_is_a_valid_navigator_layer() {
    let f = tmp("report.txt", REPORT.as_bytes());
    let out = ttpmap(&["classify", s(&f)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let layers = ttpmap_attack::parse_layers(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let ids: Vec<&str> = layers[0].techniques.iter().map(|t| t.technique_id.as_str()).collect();
    assert!(ids.contains(&"T1053.005"), "{ids:?}");
    let matrix = ttpmap_attack::Matrix::from_compact_json(&std::fs::read_to_string(root().join("public/matrices/enterprise.json")).unwrap()).unwrap();
    layers[0].validate(Some(&matrix)).unwrap();
}

#[test]
fn json_output_quotes_evidence_with_offsets() {
    let f = tmp("report-json.txt", REPORT.as_bytes());
    let out = ttpmap(&["classify", "--format", "json", s(&f)]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = v["techniques"].as_array().unwrap().iter().find(|t| t["id"] == "T1053.005").unwrap();
    let e = &t["evidence"][0];
    let (a, b) = (e["start"].as_u64().unwrap() as usize, e["end"].as_u64().unwrap() as usize);
    assert_eq!(&REPORT[a..b], e["text"].as_str().unwrap());
}

#[test]
fn out_dir_gets_one_layer_per_input() {
    let a = tmp("first.txt", REPORT.as_bytes());
    let b = tmp("second.md", format!("# Heading\n\n{REPORT}").as_bytes());
    let dir = a.parent().unwrap().join("out");
    let out = ttpmap(&["classify", "--out-dir", s(&dir), s(&a), s(&b)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.join("first.json").is_file() && dir.join("second.json").is_file());
}

#[test]
fn empty_file_is_a_clear_error() {
    let f = tmp("empty.txt", b"   \n\t\n");
    let out = ttpmap(&["classify", s(&f)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn image_file_is_a_clear_error() {
    let f = tmp("picture.txt", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01");
    let out = ttpmap(&["classify", s(&f)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PNG"), "{err}");
}

#[test]
fn a_bad_file_does_not_stop_the_others() {
    let good = tmp("good.txt", REPORT.as_bytes());
    let bad = tmp("bad.txt", b"");
    let dir = good.parent().unwrap().join("out-mixed");
    let out = ttpmap(&["classify", "--out-dir", s(&dir), s(&bad), s(&good)]);
    assert!(!out.status.success());
    assert!(dir.join("good.json").is_file());
}

#[test]
fn threshold_outside_0_1_is_refused() {
    let f = tmp("t.txt", REPORT.as_bytes());
    let out = ttpmap(&["classify", "--threshold", "7", s(&f)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside 0-1"));
}

#[test]
fn html_is_stripped_before_mapping() {
    let html = format!("<html><head><script>var x = 'scheduled task';</script></head><body><p>{}</p></body></html>", REPORT.replace('\n', " "));
    let f = tmp("report.html", html.as_bytes());
    let out = ttpmap(&["classify", "--format", "json", s(&f)]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in v["techniques"].as_array().unwrap() {
        for e in t["evidence"].as_array().unwrap() {
            assert!(!e["text"].as_str().unwrap().contains('<'));
        }
    }
}

#[test]
fn eval_scores_tram_format_reports() {
    // A one-report folder in TRAM's .mjson format: one annotated sentence, one technique.
    let text = "The malware creates a scheduled task to run at logon.";
    let report = serde_json::json!({
        "signal": text,
        "metadata": {},
        "version": 1,
        "asets": [{ "type": "Scheduled Task (T1053.005)", "hasSpan": true, "annots": [[0, text.chars().count()]] }]
    });
    let f = tmp("eval/one.mjson", b"");
    std::fs::write(&f, report.to_string()).unwrap();
    let dir = f.parent().unwrap();
    let out = ttpmap(&["eval", "--all", "--json", s(dir)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["reports"], 1);
    assert_eq!(v["exact"]["counts"]["tp"], 1, "{v}");
    assert_eq!(v["exact"]["counts"]["fn_"], 0, "{v}");
}

#[test]
fn eval_of_a_folder_without_reports_is_a_clear_error() {
    let f = tmp("eval-empty/readme.txt", b"nothing here");
    let out = ttpmap(&["eval", s(f.parent().unwrap())]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no reports"), "{}", String::from_utf8_lossy(&out.stderr));
}

const K8S_REPORT: &str = "The attackers found a kubeconfig file in a public repository and used it to reach the cluster.\n\n\
                          They ran kubectl exec to open a shell inside a running pod, then launched a cryptocurrency miner.\n";

fn layer_of(out: &Output) -> ttpmap_attack::Layer {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    ttpmap_attack::parse_layers(&String::from_utf8_lossy(&out.stdout)).unwrap().remove(0)
}

fn compact(id: &str) -> ttpmap_attack::Matrix {
    ttpmap_attack::Matrix::from_compact_json(&std::fs::read_to_string(root().join(format!("public/matrices/{id}.json"))).unwrap()).unwrap()
}

#[test]
fn tmfk_layer_uses_tmfk_ids_and_names_the_matrix() {
    let f = tmp("k8s.txt", K8S_REPORT.as_bytes());
    let layer = layer_of(&ttpmap(&["classify", "--matrix", "tmfk", s(&f)]));
    let ids: Vec<&str> = layer.techniques.iter().map(|t| t.technique_id.as_str()).collect();
    assert!(!ids.is_empty() && ids.iter().all(|id| id.starts_with("MS-TA")), "{ids:?}");
    layer.validate(Some(&compact("tmfk"))).unwrap();
    let v: serde_json::Value = serde_json::to_value(&layer).unwrap();
    assert!(v["metadata"].to_string().contains("Threat Matrix for Kubernetes"), "{}", v["metadata"]);
    assert!(v["versions"].get("attack").is_none(), "not an ATT&CK release: {}", v["versions"]);
}

#[test]
fn a_stix_bundle_path_is_mapped_with_vectors_computed_on_the_spot() {
    let f = tmp("k8s-bundle.txt", K8S_REPORT.as_bytes());
    let bundle = root().join("data/attack/tmfk_strict.json");
    let out = ttpmap(&["classify", "--matrix", s(&bundle), "--format", "json", "--threshold", "0", s(&f)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["techniques"][0]["id"].as_str().unwrap().starts_with("MS-TA"), "{v}");
}

#[test]
fn a_stix_file_that_is_not_attack_compatible_is_a_clear_error() {
    let f = tmp("k8s-bad.txt", K8S_REPORT.as_bytes());
    let bundle = tmp("indicators.json", br#"{"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator", "id": "indicator--1"}]}"#);
    let out = ttpmap(&["classify", "--matrix", s(&bundle), s(&f)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an ATT&CK-compatible matrix"), "{err}");
}

#[test]
fn a_malformed_json_matrix_is_a_clear_error() {
    let f = tmp("k8s-bad2.txt", K8S_REPORT.as_bytes());
    let bundle = tmp("broken.json", b"{\"type\": \"bundle\", \"objects\": [");
    let out = ttpmap(&["classify", "--matrix", s(&bundle), s(&f)]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not JSON"), "{err}");
}

/// The synthetic next Enterprise release (scripts/synthetic-next-release.py, compact form).
fn next_release() -> PathBuf {
    root().join("crates/attack/tests/fixtures/enterprise-attack-19.0-synthetic.json")
}

fn next_release_matrix() -> ttpmap_attack::Matrix {
    ttpmap_attack::load_bundle(&std::fs::read(next_release()).unwrap()).unwrap()
}

const DEFENCES_REPORT: &str = "The ransomware disabled Windows Defender and stopped the antivirus service.\n\n\
                               Once opened, the malware creates a scheduled task to run at logon.\n";

fn metadata(items: &[ttpmap_attack::MetadataItem], name: &str) -> Option<String> {
    items.iter().find_map(|m| match m {
        ttpmap_attack::MetadataItem::Entry { name: n, value } if n == name => Some(value.clone()),
        _ => None,
    })
}

/// Every technique of the layer is live in the release: no revoked or deprecated ID.
fn assert_only_live_ids(layer: &ttpmap_attack::Layer, release: &ttpmap_attack::Matrix) {
    for t in &layer.techniques {
        assert_eq!(release.standing(&t.technique_id), ttpmap_attack::Standing::Live, "{} in the layer", t.technique_id);
    }
}

#[test]
fn another_enterprise_release_is_mapped_by_the_classifier_and_the_layer_says_so() {
    let f = tmp("defences.txt", DEFENCES_REPORT.as_bytes());
    let out = ttpmap(&["classify", "--matrix", s(&next_release()), s(&f)]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let layer = layer_of(&out);
    assert!(stderr.contains("carried onto it"), "{stderr}");
    let release = next_release_matrix();
    layer.validate(Some(&release)).unwrap();
    assert_only_live_ids(&layer, &release);
    let ids: Vec<&str> = layer.techniques.iter().map(|t| t.technique_id.as_str()).collect();
    assert!(ids.contains(&"T1685.001") && ids.contains(&"T1053.005"), "{ids:?}");
    let v = layer.versions.as_ref().unwrap();
    assert_eq!(v.attack.as_deref(), Some("19.0"));
    assert_eq!(v.navigator.as_deref(), Some(ttpmap_attack::layer::NAVIGATOR_VERSION));
    assert_eq!(v.layer.as_deref(), Some("4.5"));
    assert_eq!(metadata(&layer.metadata, "ATT&CK release").as_deref(), Some("19.0"));
    assert!(metadata(&layer.metadata, "dropped labels").unwrap().contains("T1562.010"));
    let e = layer.techniques.iter().find(|t| t.technique_id == "T1685.001").unwrap();
    let how = metadata(&e.metadata, "detected by").unwrap();
    assert!(how.starts_with("classifier") && how.contains("T1562.001"), "{how}");
}

#[test]
fn json_of_another_release_says_how_each_technique_was_detected() {
    let f = tmp("defences-json.txt", DEFENCES_REPORT.as_bytes());
    let out = ttpmap(&["classify", "--matrix", s(&next_release()), "--format", "json", s(&f)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["matrix"], "Enterprise ATT&CK 19.0");
    assert!(v["dropped_labels"].as_str().unwrap().contains("T1562.010"));
    let release = next_release_matrix();
    for t in v["techniques"].as_array().unwrap() {
        assert_eq!(release.standing(t["id"].as_str().unwrap()), ttpmap_attack::Standing::Live, "{t}");
        assert!(t["detected_by"].as_str().unwrap().starts_with("classifier"), "{t}");
    }
}
