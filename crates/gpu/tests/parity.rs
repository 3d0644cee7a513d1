//! The GPU encoder against the CPU one (`Classifier::pooled` / `head_probs`): a random small
//! model with many padded batches, both embedding lookups, buffer reuse, bad input; and the
//! shipped model (public/model) on real CTI sentences when it exists. Probabilities must agree
//! within 0.01.
//!
//! Natively this runs on Vulkan; without a GPU, Mesa's lavapipe (mesa-vulkan-drivers) is used
//! (its "XDG_RUNTIME_DIR is invalid" lines on stderr are harmless: no display is needed).
//! No adapter fails the tests unless TTPMAP_SKIP_GPU_TESTS=1.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Once;

use candle_core::{Device, Tensor};
use ttpmap_gpu::{EmbeddingLookup, GpuEncoder, GpuError, GpuOptions};
use ttpmap_mapper::bert::{tensor_names, BertConfig};
use ttpmap_mapper::model::{read_gguf_f32, HEAD_BIAS, HEAD_WEIGHT};
use ttpmap_mapper::tokenize::Window;
use ttpmap_mapper::{BatchConfig, Classifier, Manifest};

const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";

fn use_lavapipe_if_no_icd_chosen() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("VK_ICD_FILENAMES").is_none() && std::path::Path::new(LAVAPIPE).exists() {
            std::env::set_var("VK_ICD_FILENAMES", LAVAPIPE);
        }
    });
}

/// The GPU encoder, `None` (skip) only when there is no adapter and skipping was asked for.
fn gpu(cfg: &BertConfig, tensors: &HashMap<String, Tensor>, opts: GpuOptions) -> Option<GpuEncoder> {
    use_lavapipe_if_no_icd_chosen();
    match pollster::block_on(GpuEncoder::with_options(cfg.clone(), tensors, opts)) {
        Ok(g) => {
            eprintln!("GPU adapter: {}", g.adapter_name());
            Some(g)
        }
        Err(e @ (GpuError::NoAdapter(_) | GpuError::Device(_)))
            if std::env::var("TTPMAP_SKIP_GPU_TESTS").as_deref() == Ok("1") =>
        {
            eprintln!("skipping GPU test (TTPMAP_SKIP_GPU_TESTS=1): {e}");
            None
        }
        Err(e) => panic!(
            "no usable GPU for the parity tests: {e}. Install Mesa's lavapipe (apt-get install \
             mesa-vulkan-drivers, see scripts/setup.sh) or set TTPMAP_SKIP_GPU_TESTS=1 to skip."
        ),
    }
}

/// A deterministic pseudo-random stream (xorshift), uniform in [-1, 1).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn below(&mut self, n: usize) -> usize {
        ((self.next() + 1.0) * 0.5 * n as f32) as usize % n
    }
}

fn small_config() -> BertConfig {
    BertConfig {
        vocab_size: 120,
        hidden_size: 64,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        intermediate_size: 136,
        max_position_embeddings: 128,
        layer_norm_eps: 1e-12,
    }
}

const LABELS: usize = 12;

fn random_tensors(cfg: &BertConfig, seed: u64) -> HashMap<String, Tensor> {
    let mut rng = Rng(seed);
    let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
    let mut t = HashMap::new();
    let mut put = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
        let n = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|_| offset + scale * rng.next()).collect();
        t.insert(name, Tensor::from_vec(data, shape, &Device::Cpu).unwrap());
    };
    for name in tensor_names(cfg) {
        let (shape, scale, offset) = match name.as_str() {
            "embeddings.word_embeddings.weight" => (vec![cfg.vocab_size, h], 1.0, 0.0),
            "embeddings.position_embeddings.weight" => (vec![cfg.max_position_embeddings, h], 0.3, 0.0),
            "embeddings.token_type_embeddings.weight" => (vec![2, h], 0.3, 0.0),
            n if n.contains("LayerNorm.weight") => (vec![h], 0.2, 1.0),
            n if n.contains("LayerNorm.bias") => (vec![h], 0.1, 0.0),
            n if n.ends_with("intermediate.dense.weight") => (vec![i, h], 0.25, 0.0),
            n if n.ends_with("intermediate.dense.bias") => (vec![i], 0.1, 0.0),
            n if n.ends_with("output.dense.weight") && !n.contains("attention") => (vec![h, i], 0.15, 0.0),
            n if n.ends_with(".weight") => (vec![h, h], 0.25, 0.0),
            _ => (vec![h], 0.1, 0.0),
        };
        put(name, shape, scale, offset);
    }
    put(HEAD_WEIGHT.into(), vec![LABELS, h], 0.5, 0.0);
    put(HEAD_BIAS.into(), vec![LABELS], 0.5, 0.0);
    t
}

/// A classifier around the random encoder (a tiny WordPiece vocabulary; windows are built
/// from ids directly, the tokenizer is only needed to construct it).
fn random_classifier(cfg: &BertConfig, tensors: &HashMap<String, Tensor>) -> Classifier {
    let vocab: Vec<String> = ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]
        .iter()
        .map(|s| s.to_string())
        .chain((4..cfg.vocab_size).map(|k| format!("w{k}")))
        .enumerate()
        .map(|(k, w)| format!("\"{w}\": {k}"))
        .collect();
    let tokenizer = format!(
        r###"{{"version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
            "normalizer": null, "pre_tokenizer": {{"type": "Whitespace"}}, "post_processor": null,
            "decoder": null, "model": {{"type": "WordPiece", "unk_token": "[UNK]",
            "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
            "vocab": {{{}}}}}}}"###,
        vocab.join(", ")
    );
    let labels: Vec<String> = (0..LABELS).map(|k| format!(r#"{{"id": "T{:04}", "name": "label {k}"}}"#, 1000 + k)).collect();
    let manifest = format!(
        r#"{{"format": "ttpmap-model/1", "labels": [{}], "threshold": 0.5, "attack_version": "test",
            "base_model": "random", "encoder": {}, "window": {{"max_tokens": 64, "overlap": 8}}, "files": []}}"#,
        labels.join(", "),
        format_args!(
            r#"{{"vocab_size": {}, "hidden_size": {}, "num_hidden_layers": {}, "num_attention_heads": {},
                "intermediate_size": {}, "max_position_embeddings": {}, "layer_norm_eps": {:e}}}"#,
            cfg.vocab_size,
            cfg.hidden_size,
            cfg.num_hidden_layers,
            cfg.num_attention_heads,
            cfg.intermediate_size,
            cfg.max_position_embeddings,
            cfg.layer_norm_eps
        )
    );
    Classifier::from_tensors(Manifest::from_json(&manifest).unwrap(), tensors, tokenizer.as_bytes()).unwrap()
}

/// Windows of varied length (2..=max) with [CLS]=1 ... [SEP]=2 and random ids between.
fn random_windows(cfg: &BertConfig, n: usize, max: usize, seed: u64) -> Vec<Window> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|s| {
            let len = 2 + rng.below(max - 1);
            let mut ids = vec![1u32];
            ids.extend((2..len).map(|_| 4 + rng.below(cfg.vocab_size - 4) as u32));
            ids.push(2);
            Window { sentence: s, ids }
        })
        .collect()
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "row counts differ");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "vector lengths differ");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

const BATCH: BatchConfig = BatchConfig { max_rows: 8, max_tokens: 256 };

#[test]
fn random_model_pooled_vectors_match_the_cpu() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 7);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let cpu = random_classifier(&cfg, &tensors);
    let windows = random_windows(&cfg, 53, 60, 11);
    let want = cpu.pooled(&windows, BATCH).unwrap();
    let got = pollster::block_on(gpu.pooled(&windows, BATCH)).unwrap();
    let diff = max_abs_diff(&want, &got);
    eprintln!("random model: pooled max abs diff {diff:e} (GPU lookup: {})", gpu.lookup_on_gpu());
    assert!(diff < 1e-3, "pooled vectors differ by {diff}");
}

#[test]
fn random_model_probabilities_within_0_01() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 8);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let cpu = random_classifier(&cfg, &tensors);
    let windows = random_windows(&cfg, 40, 64, 12);
    let want = cpu.head_probs(&cpu.pooled(&windows, BATCH).unwrap()).unwrap();
    let got = cpu.head_probs(&pollster::block_on(gpu.pooled(&windows, BATCH)).unwrap()).unwrap();
    let diff = max_abs_diff(&want, &got);
    eprintln!("random model: probability max abs diff {diff:e}");
    assert!(diff < 0.01, "probabilities differ by {diff}");
}

#[test]
fn sentence_probabilities_match_the_classifier() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 15);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let cpu = random_classifier(&cfg, &tensors);
    // Words of the tiny vocabulary; the long one is split into several windows (max 64 tokens).
    let long = (0..150).map(|k| format!("w{}", 4 + k % 100)).collect::<Vec<_>>().join(" ");
    let sentences = ["w5 w17 w9", "w40 w41 unknown w42", long.as_str(), ""];
    let want = cpu.sentence_probs(&sentences, BATCH).unwrap();
    let got = pollster::block_on(ttpmap_gpu::sentence_probs(&gpu, &cpu, &sentences, BATCH)).unwrap();
    let diff = max_abs_diff(&want, &got);
    assert!(diff < 0.01, "sentence probabilities differ by {diff}");
}

#[test]
fn cpu_embedding_lookup_matches_the_cpu_encoder() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 9);
    let opts = GpuOptions { embedding: EmbeddingLookup::Cpu, ..Default::default() };
    let Some(gpu) = gpu(&cfg, &tensors, opts) else { return };
    assert!(!gpu.lookup_on_gpu());
    let cpu = random_classifier(&cfg, &tensors);
    let windows = random_windows(&cfg, 20, 40, 13);
    let diff = max_abs_diff(&cpu.pooled(&windows, BATCH).unwrap(), &pollster::block_on(gpu.pooled(&windows, BATCH)).unwrap());
    eprintln!("random model, CPU lookup: pooled max abs diff {diff:e}");
    assert!(diff < 1e-3, "pooled vectors differ by {diff}");
}

#[test]
fn buffers_grow_and_are_reused_across_calls() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 10);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let cpu = random_classifier(&cfg, &tensors);
    let calls = [
        (random_windows(&cfg, 3, 10, 1), BatchConfig { max_rows: 2, max_tokens: 64 }),
        (random_windows(&cfg, 70, 100, 2), BatchConfig { max_rows: 64, max_tokens: 4096 }),
        (random_windows(&cfg, 5, 30, 3), BatchConfig::default()),
    ];
    for (windows, batch) in &calls {
        let got = pollster::block_on(gpu.pooled(windows, *batch)).unwrap();
        let diff = max_abs_diff(&cpu.pooled(windows, *batch).unwrap(), &got);
        assert!(diff < 1e-3, "pooled vectors differ by {diff} for {} windows", windows.len());
    }
}

#[test]
fn no_windows_give_no_vectors() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 11);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    assert!(pollster::block_on(gpu.pooled(&[], BATCH)).unwrap().is_empty());
}

#[test]
fn token_outside_the_vocabulary_is_an_error_not_a_panic() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 12);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let windows = vec![Window { sentence: 0, ids: vec![1, cfg.vocab_size as u32, 2] }];
    assert!(matches!(pollster::block_on(gpu.pooled(&windows, BATCH)), Err(GpuError::Input(_))));
    // The encoder stays usable afterwards.
    let ok = random_windows(&cfg, 2, 8, 4);
    assert_eq!(pollster::block_on(gpu.pooled(&ok, BATCH)).unwrap().len(), 2);
}

#[test]
fn window_longer_than_the_position_table_is_an_error() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 13);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let windows = vec![Window { sentence: 0, ids: vec![5; cfg.max_position_embeddings + 1] }];
    assert!(matches!(pollster::block_on(gpu.pooled(&windows, BATCH)), Err(GpuError::Input(_))));
}

const CTI_SENTENCES: &[&str] = &[
    "The malware creates a scheduled task to run at logon.",
    "The actor sent spearphishing emails with malicious Word attachments.",
    "The attackers dumped credentials from LSASS memory using Mimikatz.",
    "APT29 used PowerShell to download and execute a second-stage payload from a remote server.",
    "The implant communicates with its command and control server over HTTPS, encrypting traffic with AES.",
    "Files were compressed with RAR and exfiltrated to a cloud storage account.",
    "The ransomware deletes volume shadow copies with vssadmin before encrypting files on network shares.",
    "The company held its annual meeting in Lisbon last spring.",
    "Persistence is achieved by adding a Run key under HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run.",
    "The group performed network discovery with nltest and net group \"domain admins\" /domain.",
];

#[test]
fn shipped_model_matches_the_cpu_on_cti_sentences() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../public/model");
    let Ok(manifest) = std::fs::read_to_string(dir.join("manifest.json")) else {
        eprintln!("public/model is not built yet: shipped-model parity not checked");
        return;
    };
    let manifest = Manifest::from_json(&manifest).unwrap();
    let gguf = std::fs::read(dir.join("model.gguf")).unwrap();
    let tokenizer = std::fs::read(dir.join("tokenizer.json")).unwrap();
    // Checksums are the mapper's tests' business; dequantize once and share the tensors.
    let tensors = read_gguf_f32(&gguf, &Device::Cpu).unwrap();
    let cpu = Classifier::from_tensors(manifest.clone(), &tensors, &tokenizer).unwrap();
    let Some(gpu) = gpu(&manifest.encoder, &tensors, GpuOptions::default()) else { return };
    let batch = BatchConfig::default();
    let windows = cpu.windows(CTI_SENTENCES).unwrap();
    let want = cpu.pooled(&windows, batch).unwrap();
    // One GPU pass: software adapters (lavapipe in CI) are slow.
    let got = pollster::block_on(gpu.pooled(&windows, batch)).unwrap();
    let pooled_diff = max_abs_diff(&want, &got);
    let prob_diff = max_abs_diff(&cpu.head_probs(&want).unwrap(), &cpu.head_probs(&got).unwrap());
    eprintln!("shipped model: pooled max abs diff {pooled_diff:e}, probability max abs diff {prob_diff:e}");
    assert!(prob_diff < 0.01, "probabilities differ by {prob_diff}");
}

#[test]
fn lost_device_is_an_error_not_a_panic() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 14);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    gpu.destroy();
    let windows = random_windows(&cfg, 3, 8, 5);
    assert!(matches!(pollster::block_on(gpu.pooled(&windows, BATCH)), Err(GpuError::Lost(_))));
}
