//! `ttpmap classify` in pipelines: run from any folder (the model and matrices are built
//! in), standard input, JSON lines, `--out-dir` that never overwrites silently, and the
//! exit codes (0 all mapped, 1 some inputs failed, 2 bad usage).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh scratch folder for one test, outside the repository, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ttpmap-pipelines-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// Writes `rel` (creating its folder) and returns its path.
    fn file(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs ttpmap in `cwd` on the CPU, with `stdin` piped in.
fn ttpmap_in(cwd: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ttpmap"))
        .args(args)
        .arg("--backend")
        .arg("cpu")
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// Runs a command that takes no `--backend` flag in `cwd`.
fn ttpmap_plain(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ttpmap")).args(args).current_dir(cwd).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["techniques"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

const REPORT: &str = "The actor sent spearphishing emails with malicious Word attachments.\n\n\
                      Once opened, the malware creates a scheduled task to run at logon.\n";
const ONE_SENTENCE: &str = "Once opened, the malware creates a scheduled task to run at logon.\n";
const K8S_REPORT: &str = "The attackers found a kubeconfig file in a public repository and used it to reach the cluster.\n\n\
                          They ran kubectl exec to open a shell inside a running pod, then launched a cryptocurrency miner.\n";

#[test]
fn classify_works_from_a_folder_outside_the_repository() {
    let dir = Scratch::new("elsewhere");
    dir.file("report.txt", REPORT);
    let out = ttpmap_in(dir.path(), &["classify", "--format", "json", "report.txt"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(ids(&v).contains(&"T1053.005".to_string()), "{v}");
    // A built-in matrix with built-in technique vectors, still from outside the repository.
    dir.file("k8s.txt", K8S_REPORT);
    let out = ttpmap_in(dir.path(), &["classify", "--matrix", "tmfk", "--format", "json", "k8s.txt"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(ids(&v).iter().all(|id| id.starts_with("MS-TA")) && !ids(&v).is_empty(), "{v}");
}

#[test]
fn layer_validate_checks_against_the_built_in_matrix_from_any_folder() {
    let dir = Scratch::new("layer");
    let layer = dir.file(
        "layer.json",
        r#"{"name": "x", "versions": {"layer": "4.5"}, "domain": "enterprise-attack",
            "techniques": [{"techniqueID": "T9999", "score": 1}]}"#,
    );
    let out = ttpmap_plain(dir.path(), &["layer", "validate", "--matrix", "enterprise", layer.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("T9999"), "{}", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn model_flag_still_overrides_and_its_sha256_is_checked() {
    let dir = Scratch::new("model");
    dir.file("report.txt", REPORT);
    let model = dir.path().join("model");
    std::fs::create_dir_all(&model).unwrap();
    for f in ["manifest.json", "model.gguf", "tokenizer.json"] {
        std::fs::copy(root().join("public/model").join(f), model.join(f)).unwrap();
    }
    let out = ttpmap_in(dir.path(), &["classify", "--model", "model", "--format", "json", "report.txt"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    // The same folder with one byte of the tokenizer changed is refused.
    let mut tok = std::fs::read(model.join("tokenizer.json")).unwrap();
    let last = tok.len() - 2;
    tok[last] = if tok[last] == b' ' { b'\n' } else { b' ' };
    std::fs::write(model.join("tokenizer.json"), tok).unwrap();
    let out = ttpmap_in(dir.path(), &["classify", "--model", "model", "--format", "json", "report.txt"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("tokenizer.json is corrupted"), "{}", stderr(&out));
}

#[test]
fn dash_reads_standard_input_like_a_file() {
    let dir = Scratch::new("stdin");
    let file = dir.file("report.txt", REPORT);
    let from_file = ttpmap_in(dir.path(), &["classify", "--format", "json", file.to_str().unwrap()], "");
    let from_stdin = ttpmap_in(dir.path(), &["classify", "--format", "json", "-"], REPORT);
    assert!(from_stdin.status.success(), "{}", stderr(&from_stdin));
    let (a, b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_slice(&from_file.stdout).unwrap(), serde_json::from_slice(&from_stdin.stdout).unwrap());
    assert_eq!(b["report"], "stdin");
    assert_eq!(a["techniques"], b["techniques"]);
    assert_eq!(a["sentences"], b["sentences"]);
}

#[test]
fn html_on_standard_input_is_recognised_and_stripped() {
    let dir = Scratch::new("stdin-html");
    let html = format!("<!DOCTYPE html><html><body><p>{}</p></body></html>", REPORT.replace('\n', " "));
    let out = ttpmap_in(dir.path(), &["classify", "--format", "json", "-"], &html);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v.to_string().contains("<p>"), "{v}");
    assert!(ids(&v).contains(&"T1053.005".to_string()), "{v}");
}

#[test]
fn jsonl_writes_one_mapping_per_input_file() {
    let dir = Scratch::new("jsonl");
    dir.file("a.txt", REPORT);
    dir.file("b.txt", K8S_REPORT);
    let out = ttpmap_in(dir.path(), &["classify", "--format", "jsonl", "a.txt", "-", "b.txt"], ONE_SENTENCE);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let inputs: Vec<&str> = lines.iter().map(|v| v["input"].as_str().unwrap()).collect();
    assert_eq!(inputs, ["a.txt", "-", "b.txt"]);
    let sentences: Vec<u64> = lines.iter().map(|v| v["sentences"].as_u64().unwrap()).collect();
    assert_eq!(sentences, [2, 1, 2]);
    assert!(ids(&lines[1]).contains(&"T1053.005".to_string()), "{}", lines[1]);
    assert!(lines.iter().all(|v| v.get("line").is_none()));
}

#[test]
fn jsonl_lines_maps_each_line_of_a_corpus_and_skips_blank_ones() {
    let dir = Scratch::new("jsonl-lines");
    let corpus = format!("{}\n\n{}", ONE_SENTENCE.trim(), K8S_REPORT.replace("\n\n", " ").trim());
    let out = ttpmap_in(dir.path(), &["classify", "--format", "jsonl", "--lines", "-"], &corpus);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let numbers: Vec<u64> = lines.iter().map(|v| v["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 3]);
    assert!(ids(&lines[0]).contains(&"T1053.005".to_string()), "{}", lines[0]);
    assert!(!ids(&lines[1]).contains(&"T1053.005".to_string()), "{}", lines[1]);
    // Evidence offsets are into the line's own text.
    let e = &lines[0]["techniques"][0]["evidence"][0];
    let (a, b) = (e["start"].as_u64().unwrap() as usize, e["end"].as_u64().unwrap() as usize);
    assert_eq!(&ONE_SENTENCE.trim()[a..b], e["text"].as_str().unwrap());
}

#[test]
fn two_inputs_with_one_stem_get_distinct_output_files() {
    let dir = Scratch::new("one-stem");
    let a = dir.file("a/report.txt", REPORT);
    let b = dir.file("b/report.md", ONE_SENTENCE);
    let out_dir = dir.path().join("out");
    let args = ["classify", "--format", "json", "--out-dir", out_dir.to_str().unwrap(), a.to_str().unwrap(), b.to_str().unwrap()];
    let out = ttpmap_in(dir.path(), &args, "");
    assert!(out.status.success(), "{}", stderr(&out));
    let read = |n: &str| -> serde_json::Value { serde_json::from_slice(&std::fs::read(out_dir.join(n)).unwrap()).unwrap() };
    assert_eq!(read("report.json")["sentences"], 2, "the first input keeps the plain name");
    assert_eq!(read("report-2.json")["sentences"], 1);
    assert!(stderr(&out).contains("report-2.json"), "stderr says where each input went: {}", stderr(&out));
}

#[test]
fn an_existing_output_file_is_kept_unless_force() {
    let dir = Scratch::new("no-clobber");
    let a = dir.file("report.txt", REPORT);
    let other = dir.file("other.txt", ONE_SENTENCE);
    let out_dir = dir.path().join("out");
    let kept = dir.file("out/report.json", "keep me");
    let args = ["classify", "--format", "json", "--out-dir", out_dir.to_str().unwrap(), other.to_str().unwrap(), a.to_str().unwrap()];
    let out = ttpmap_in(dir.path(), &args, "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force") && stderr(&out).contains("report.json"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&kept).unwrap(), "keep me");
    assert!(!out_dir.join("other.json").exists(), "refused before any work");
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = ttpmap_in(dir.path(), &forced, "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&kept).unwrap()).unwrap();
    assert_eq!(v["sentences"], 2);
}

#[test]
fn a_failed_input_exits_1_and_the_others_are_still_mapped() {
    let dir = Scratch::new("exit-1");
    dir.file("good.txt", REPORT);
    dir.file("empty.txt", "  \n");
    let out = ttpmap_in(dir.path(), &["classify", "--format", "jsonl", "missing.txt", "good.txt", "empty.txt"], "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("missing.txt") && err.contains("empty.txt"), "{err}");
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["input"], "good.txt");
}

#[test]
fn a_failed_line_exits_1_and_the_other_lines_are_still_mapped() {
    let dir = Scratch::new("exit-1-lines");
    let corpus = format!("{}\nbad\0\0\0\0\0\0\0\0 bytes\n{}\n", ONE_SENTENCE.trim(), ONE_SENTENCE.trim());
    let out = ttpmap_in(dir.path(), &["classify", "--format", "jsonl", "--lines", "-"], &corpus);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    let numbers: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["line"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 3]);
}

#[test]
fn bad_usage_exits_2_before_any_work() {
    let dir = Scratch::new("exit-2");
    dir.file("a.txt", REPORT);
    dir.file("b.txt", REPORT);
    let cases: [&[&str]; 6] = [
        &["classify", "a.txt", "b.txt"],
        &["classify", "-", "-"],
        &["classify", "--lines", "a.txt"],
        &["classify", "--format", "jsonl", "--out-dir", "out", "a.txt"],
        &["classify", "--force", "a.txt"],
        &["classify", "--no-such-flag", "a.txt"],
    ];
    for args in cases {
        // Without --backend cpu: loading the model would print "backend: ...".
        let out = ttpmap_plain(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!stderr(&out).contains("backend:"), "{args:?}: the model was loaded: {}", stderr(&out));
    }
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [&["--help"][..], &["classify", "--help"]] {
        let out = ttpmap_plain(&std::env::temp_dir(), args);
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        for code in ["0  success", "1  failure", "2  bad usage"] {
            assert!(help.contains(code), "{args:?} lacks {code:?}: {help}");
        }
    }
}

/// A file of crates/docs' test documents.
fn doc_fixture(rel: &str) -> Vec<u8> {
    std::fs::read(root().join("crates/docs/tests/fixtures").join(rel)).unwrap()
}

#[test]
fn bad_documents_are_named_with_the_reason_and_the_other_inputs_still_mapped() {
    let dir = Scratch::new("bad-documents");
    dir.file("good.txt", REPORT);
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    write("corrupt.pdf", &doc_fixture("bad/truncated.pdf"));
    write("plain.docx", b"This was saved as text, not as a Word document: no ZIP archive here.");
    write("empty.pdf", b"");
    let stem = "new-icedid-variants-shift-from-bank-fraud-to-malware-deliver";
    write("good.docx", &doc_fixture(&format!("reports/{stem}.docx")));
    let inputs = ["corrupt.pdf", "good.txt", "plain.docx", "empty.pdf", "good.docx"];
    let mut args = vec!["classify", "--format", "jsonl"];
    args.extend(inputs);
    let out = ttpmap_in(dir.path(), &args, "");

    assert_eq!(out.status.code(), Some(1), "some inputs failed: {}", stderr(&out));
    let err = stderr(&out);
    let error_line = |input: &str| -> String {
        err.lines()
            .find(|l| l.starts_with(&format!("error: {input}: ")))
            .unwrap_or_else(|| panic!("no error line for {input}: {err}"))
            .to_string()
    };
    assert!(error_line("corrupt.pdf").contains("PDF is damaged or truncated"), "{err}");
    assert!(error_line("plain.docx").contains("Word document is damaged or truncated"), "{err}");
    assert!(error_line("empty.pdf").contains("the input is empty"), "{err}");
    // The reason once: a wrapped document error is not worded twice (`{e:#}` walks sources).
    for (input, reason) in [("corrupt.pdf", "damaged or truncated"), ("plain.docx", "damaged or truncated")] {
        assert_eq!(error_line(input).matches(reason).count(), 1, "{}", error_line(input));
    }
    assert!(!err.contains("error: good."), "the good inputs did not fail: {err}");

    // The good inputs, the document among them, are mapped, in the order given.
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mapped: Vec<&str> = lines.iter().map(|v| v["input"].as_str().unwrap()).collect();
    assert_eq!(mapped, ["good.txt", "good.docx"]);
    assert!(ids(&lines[0]).contains(&"T1053.005".to_string()), "{}", lines[0]);
    assert!(lines[1]["sentences"].as_u64().unwrap() > 3, "{}", lines[1]);
    assert!(!ids(&lines[1]).is_empty(), "{}", lines[1]);
}
