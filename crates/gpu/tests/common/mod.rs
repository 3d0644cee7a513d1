//! Shared by the GPU test files: the adapter (lavapipe when no Vulkan ICD is chosen), a
//! random small BERT with a tiny WordPiece vocabulary, windows, and the shipped model.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Once;

use candle_core::{Device, Tensor};
use ttpmap_gpu::{GpuEncoder, GpuError, GpuOptions};
use ttpmap_mapper::bert::{tensor_names, BertConfig};
use ttpmap_mapper::model::{HEAD_BIAS, HEAD_WEIGHT};
use ttpmap_mapper::tokenize::Window;
use ttpmap_mapper::{Classifier, LoadedModel, Manifest, ModelFiles, WeightFormat};

pub const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";

pub fn use_lavapipe_if_no_icd_chosen() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("VK_ICD_FILENAMES").is_none() && std::path::Path::new(LAVAPIPE).exists() {
            std::env::set_var("VK_ICD_FILENAMES", LAVAPIPE);
        }
    });
}

/// The GPU encoder, `None` (skip) only when there is no adapter and skipping was asked for.
pub fn gpu(cfg: &BertConfig, tensors: &HashMap<String, Tensor>, opts: GpuOptions) -> Option<GpuEncoder> {
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
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next() + 1.0) * 0.5 * n as f32) as usize % n
    }
}

pub fn small_config() -> BertConfig {
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

pub const LABELS: usize = 12;

pub fn random_tensors(cfg: &BertConfig, seed: u64) -> HashMap<String, Tensor> {
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
pub fn random_classifier(cfg: &BertConfig, tensors: &HashMap<String, Tensor>) -> Classifier {
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
pub fn random_windows(cfg: &BertConfig, n: usize, max: usize, seed: u64) -> Vec<Window> {
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

pub fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len(), "row counts differ");
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "vector lengths differ");
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

/// The shipped model (public/model): tensors, manifest and classifier; `None` before it is built.
pub fn shipped_model() -> Option<(Manifest, HashMap<String, Tensor>, Classifier)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../public/model");
    let Ok(manifest) = std::fs::read_to_string(dir.join(Manifest::FILE)) else {
        eprintln!("public/model is not built yet: shipped-model checks skipped");
        return None;
    };
    let manifest = Manifest::from_json(&manifest).unwrap();
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    // As the CLI and the browser worker load it: the classifier and the f32 tensors it shares.
    let files = ModelFiles::verify(manifest.clone(), read(Manifest::WEIGHTS), read(Manifest::TOKENIZER)).unwrap();
    let LoadedModel { classifier, tensors } = Classifier::from_files(&files, WeightFormat::F32).unwrap();
    Some((manifest, tensors, classifier))
}

/// Same techniques detected at the model's threshold, and every candidate's score within 0.01
/// (a candidate kept on one side only must be within 0.01 of the floor that dropped it).
pub fn assert_same_mapping(want: &ttpmap_mapper::ReportMapping, got: &ttpmap_mapper::ReportMapping) {
    let mut a = want.detected_ids(want.threshold);
    let mut b = got.detected_ids(got.threshold);
    a.sort();
    b.sort();
    assert_eq!(a, b, "detected techniques differ");
    assert_eq!(want.sentences, got.sentences, "sentence counts differ");
    let floor = ttpmap_mapper::AggregateConfig::default().floor;
    for (x, y) in [(want, got), (got, want)] {
        for t in &x.techniques {
            match y.techniques.iter().find(|u| u.id == t.id) {
                Some(u) => assert!((t.score - u.score).abs() < 0.01, "{}: {} vs {}", t.id, t.score, u.score),
                None => assert!(t.score < floor + 0.01, "{} ({}) is on one side only", t.id, t.score),
            }
        }
    }
}
