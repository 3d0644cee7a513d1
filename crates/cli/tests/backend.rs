//! `--backend`: a device lost part-way through a run leaves the CPU to finish it with nothing
//! lost (GPU/CPU parity itself is tested in crates/gpu/tests). Runs on Mesa's lavapipe where there
//! is no GPU (scripts/setup.sh installs mesa-vulkan-drivers); without any adapter these tests
//! fail unless TTPMAP_SKIP_GPU_TESTS=1.

use std::path::PathBuf;
use std::process::{Command, Output};

const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";
const FIXTURE: &str = "crates/mapper/tests/fixtures/segment/ta410.txt";
const SHORT: &str = "The actor sent spearphishing emails with malicious Word attachments.\n\n\
                     Once opened, the malware creates a scheduled task to run at logon.\n";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ttpmap(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ttpmap"));
    if std::env::var_os("VK_ICD_FILENAMES").is_none() && std::path::Path::new(LAVAPIPE).exists() {
        cmd.env("VK_ICD_FILENAMES", LAVAPIPE);
    }
    cmd.args(args).current_dir(root()).output().unwrap()
}

/// Detected technique IDs and the sentence count of a `--format json` run.
fn detected(out: &Output) -> (Vec<String>, u64) {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    summary(&serde_json::from_slice(&out.stdout).unwrap())
}

fn summary(v: &serde_json::Value) -> (Vec<String>, u64) {
    let mut ids: Vec<String> = v["techniques"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect();
    ids.sort();
    (ids, v["sentences"].as_u64().unwrap())
}

#[test]
fn a_device_lost_part_way_falls_back_to_the_cpu_losing_nothing() {
    // Two reports in one run; each fits one batch. The device is destroyed after the second
    // batch: the first (two sentences) maps on the GPU, the second loses the device and is
    // finished on the CPU. (Losing it after a batch of a report's later chunk is tested in
    // crates/gpu/tests/fallback.rs, where a small model makes long reports cheap.)
    let dir = std::env::temp_dir().join(format!("ttpmap-cli-backend-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let first = dir.join("first.txt");
    std::fs::write(&first, SHORT).unwrap();
    let first = first.to_str().unwrap();
    let second = FIXTURE;
    let out_dir = dir.join("out");
    let cpu: Vec<_> = [first, second]
        .iter()
        .map(|f| detected(&ttpmap(&["classify", "--backend", "cpu", "--format", "json", f])))
        .collect();
    let out = ttpmap(&[
        "classify", "--backend", "wgpu", "--lose-gpu-after", "2", "--format", "json", "--out-dir",
        out_dir.to_str().unwrap(), first, second,
    ]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    if !err.contains("backend: wgpu on") {
        assert_eq!(std::env::var("TTPMAP_SKIP_GPU_TESTS").as_deref(), Ok("1"), "no GPU adapter: {err}");
        return;
    }
    assert!(err.contains("the GPU failed") && err.contains("the CPU finished the report"), "{err}");
    for (name, want) in ["first", "ta410"].iter().zip(&cpu) {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(out_dir.join(format!("{name}.json"))).unwrap()).unwrap();
        assert_eq!(summary(&v), *want, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn cpu_backend_never_touches_the_gpu() {
    let out = ttpmap(&["classify", "--backend", "cpu", "--format", "json", FIXTURE]);
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("wgpu"));
}

#[test]
fn unknown_backend_is_refused() {
    let out = ttpmap(&["classify", "--backend", "tpu", FIXTURE]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}
