//! End-to-end runs of the `ttpmap` binary: `matrices` and `layer validate|summary`.

use std::path::PathBuf;
use std::process::{Command, Output};

fn ttpmap_in(cwd: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ttpmap")).args(args).current_dir(cwd).output().expect("running ttpmap")
}

fn ttpmap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ttpmap"))
        .args(args)
        .output()
        .expect("running ttpmap")
}

/// A fresh scratch folder for one test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn to_str(&self) -> Option<&str> {
        self.0.to_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("ttpmap-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/attack")
}

const VALID: &str = r#"{"name": "ok", "versions": {"layer": "4.5"}, "domain": "enterprise-attack",
    "techniques": [{"techniqueID": "T1053", "showSubtechniques": true},
                   {"techniqueID": "T1053.005", "score": 80}]}"#;

const INVALID: &str = r#"{"name": "bad", "versions": {"layer": "4.5"}, "domain": "enterprise-attack",
    "techniques": [{"techniqueID": "T1053.005", "score": 80}]}"#;

#[test]
fn layer_validate_accepts_a_valid_layer() {
    let dir = scratch("valid");
    let file = dir.join("layer.json");
    std::fs::write(&file, VALID).unwrap();
    let out = ttpmap(&["layer", "validate", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn layer_validate_exits_1_and_names_the_problem() {
    let dir = scratch("invalid");
    let file = dir.join("layer.json");
    std::fs::write(&file, INVALID).unwrap();
    let out = ttpmap(&["layer", "validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("showSubtechniques"));
}

#[test]
fn layer_validate_checks_against_a_stix_bundle_path() {
    let dir = scratch("against-tmfk");
    let file = dir.join("layer.json");
    std::fs::write(&file, VALID).unwrap();
    let tmfk = data_dir().join("tmfk_attack_compatible.json");
    let out = ttpmap(&[
        "layer",
        "validate",
        file.to_str().unwrap(),
        "--matrix",
        tmfk.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("T1053 is not in Threat Matrix for Kubernetes"));
}

#[test]
fn layer_summary_lists_scored_techniques() {
    let dir = scratch("summary");
    let file = dir.join("layer.json");
    std::fs::write(&file, VALID).unwrap();
    let out = ttpmap(&["layer", "summary", file.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("T1053.005"));
}

#[test]
fn matrices_writes_the_compact_files_and_licences() {
    let out_dir = scratch("matrices");
    let out = ttpmap(&[
        "matrices",
        "--data",
        data_dir().to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in [
        "enterprise.json",
        "atrm.json",
        "tmfk.json",
        "LICENSES.md",
        "ATTACK-TERMS-OF-USE.txt",
    ] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
}

#[test]
fn written_matrices_load_as_builtin_matrices() {
    let out_dir = scratch("matrices-load");
    let data = data_dir();
    ttpmap(&[
        "matrices",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    let layer = out_dir.join("layer.json");
    std::fs::write(&layer, VALID).unwrap();
    let out = ttpmap(&[
        "layer",
        "validate",
        layer.to_str().unwrap(),
        "--matrix",
        "enterprise",
        "--matrices-dir",
        out_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn next_release() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../attack/tests/fixtures/enterprise-attack-19.0-synthetic.json")
}

#[test]
fn matrices_builds_enterprise_from_any_release() {
    let out_dir = scratch("matrices-next");
    let out = ttpmap(&[
        "matrices",
        "--data",
        data_dir().to_str().unwrap(),
        "--enterprise",
        next_release().to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m = ttpmap_attack::Matrix::from_compact_json(&std::fs::read_to_string(out_dir.join("enterprise.json")).unwrap()).unwrap();
    assert_eq!(m.version, "19.0");
    let tactics: Vec<&str> = m.tactics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(tactics.len(), 15);
    assert_eq!(&tactics[6..8], ["Stealth", "Defense Impairment"]);
    assert_eq!(m.standing("T1562.001"), ttpmap_attack::Standing::Moved("T1685.001"));
    assert_eq!(m.provenance.unwrap().source_file, "enterprise-attack-19.0-synthetic.json");
}

#[test]
fn matrices_refuses_a_bundle_that_is_not_enterprise() {
    let out_dir = scratch("matrices-not-enterprise");
    let out = ttpmap(&[
        "matrices",
        "--data",
        data_dir().to_str().unwrap(),
        "--enterprise",
        data_dir().join("atrm_attack_compatible.json").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an Enterprise ATT&CK bundle"), "{err}");
}

#[test]
fn layer_upgrade_moves_revoked_ids_and_says_so() {
    let dir = scratch("upgrade");
    let file = dir.join("old.json");
    std::fs::write(
        &file,
        r#"{"name": "old", "versions": {"attack": "18", "layer": "4.5"}, "domain": "enterprise-attack",
            "techniques": [{"techniqueID": "T1562", "showSubtechniques": true},
                           {"techniqueID": "T1562.001", "tactic": "defense-evasion", "score": 80},
                           {"techniqueID": "T1562.010", "score": 20},
                           {"techniqueID": "T1053.005", "score": 50},
                           {"techniqueID": "T1053", "showSubtechniques": true}]}"#,
    )
    .unwrap();
    let out = ttpmap(&["layer", "upgrade", file.to_str().unwrap(), "--matrix", next_release().to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("T1562.001 -> T1685.001") && err.contains("no successor (removed): T1562.010"), "{err}");
    let layer = ttpmap_attack::parse_layers(&String::from_utf8_lossy(&out.stdout)).unwrap().remove(0);
    let release = ttpmap_attack::load_bundle(&std::fs::read(next_release()).unwrap()).unwrap();
    layer.validate(Some(&release)).unwrap();
    let ids: Vec<&str> = layer.techniques.iter().map(|t| t.technique_id.as_str()).collect();
    assert_eq!(ids, ["T1685", "T1685.001", "T1053.005", "T1053"]);
    assert_eq!(layer.versions.unwrap().attack.as_deref(), Some("19.0"));
}

/// A compact matrix file as JSON, without the `built_by` stamp (which names the version).
fn compact_json(path: &std::path::Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["provenance"].as_object_mut().unwrap().remove("built_by");
    v
}

#[test]
fn matrices_reads_the_repository_data_by_default_from_any_folder() {
    // Run from a folder outside the repository, with only --out given: the bundles come from
    // the repository's data/attack, and they are the ones the shipped matrices were built from.
    let cwd = scratch("matrices-default-data");
    let out = ttpmap_in(&cwd.0, &["matrices", "--out", "out"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shipped = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../public/matrices");
    for id in ["enterprise", "atrm", "tmfk"] {
        let file = format!("{id}.json");
        assert_eq!(compact_json(&cwd.join("out").join(&file)), compact_json(&shipped.join(&file)), "{file}");
    }
}
