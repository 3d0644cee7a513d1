//! A few training steps on a small subset with a tiny randomly initialised encoder: the
//! loss must fall. (CI never trains the full model; scripts/train.sh does.)

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{Device, Tensor};
use ttpmap_mapper::bert::{tensor_names, BertConfig};
use ttpmap_mapper::tokenize::WordPiece;
use ttpmap_train::data::{load_corpus, CorpusOptions};
use ttpmap_train::train::{train, TrainConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tiny_encoder() -> (BertConfig, HashMap<String, Tensor>) {
    let cfg = BertConfig { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 64, ..BertConfig::default() };
    let dims = |n: &str| -> Vec<usize> {
        let h = cfg.hidden_size;
        let i = cfg.intermediate_size;
        if n.contains("word_embeddings") {
            vec![cfg.vocab_size, h]
        } else if n.contains("position_embeddings") {
            vec![cfg.max_position_embeddings, h]
        } else if n.contains("token_type") {
            vec![2, h]
        } else if n.ends_with("LayerNorm.weight") || n.ends_with("LayerNorm.bias") || (n.ends_with(".bias") && !n.contains("intermediate")) {
            vec![h]
        } else if n.contains("intermediate.dense.weight") {
            vec![i, h]
        } else if n.contains("intermediate.dense.bias") {
            vec![i]
        } else if n.contains("output.dense.weight") && !n.contains("attention") {
            vec![h, i]
        } else {
            vec![h, h]
        }
    };
    let t = tensor_names(&cfg)
        .into_iter()
        .map(|n| {
            let shape = dims(&n);
            let t = if n.ends_with("LayerNorm.weight") {
                Tensor::ones(shape, candle_core::DType::F32, &Device::Cpu).unwrap()
            } else if n.ends_with("LayerNorm.bias") {
                Tensor::zeros(shape, candle_core::DType::F32, &Device::Cpu).unwrap()
            } else {
                Tensor::randn(0f32, 0.05, shape, &Device::Cpu).unwrap()
            };
            (n, t)
        })
        .collect();
    (cfg, t)
}

#[test]
fn a_few_steps_lower_the_loss() {
    let corpus = load_corpus(&root().join("data"), &CorpusOptions { limit: Some(384), ..CorpusOptions::default() }).unwrap();
    let tok = WordPiece::from_bytes(&std::fs::read(root().join("public/model/tokenizer.json")).unwrap()).unwrap();
    let (cfg, base) = tiny_encoder();
    let tc = TrainConfig { frozen_layers: 1, epochs: 3, batch_size: 32, lr: 1e-3, head_lr: 1e-2, negatives_per_epoch: 64, ..TrainConfig::default() };
    let trained = train(&corpus, &base, &cfg, &tok, &tc, &mut |_| {}).unwrap();
    let first = trained.epochs.first().unwrap().mean_loss;
    let last = trained.epochs.last().unwrap().mean_loss;
    assert!(last < first * 0.9, "loss did not fall: {first} -> {last}");
}
