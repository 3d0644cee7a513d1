//! The GPU encoder against the CPU one (`Classifier::pooled` / `head_probs`): a random small
//! model with many padded batches, both embedding lookups, buffer reuse, bad input.
//! Probabilities must agree within 0.01. (The shipped model is compared in reports.rs.)
//!
//! Natively this runs on Vulkan; without a GPU, Mesa's lavapipe (mesa-vulkan-drivers) is used
//! (its "XDG_RUNTIME_DIR is invalid" lines on stderr are harmless: no display is needed).
//! No adapter fails the tests unless TTPMAP_SKIP_GPU_TESTS=1.

mod common;

use common::*;
use ttpmap_gpu::{EmbeddingLookup, GpuError, GpuOptions};
use ttpmap_mapper::tokenize::Window;
use ttpmap_mapper::BatchConfig;

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

#[test]
fn lost_device_is_an_error_not_a_panic() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 14);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    gpu.destroy();
    let windows = random_windows(&cfg, 3, 8, 5);
    assert!(matches!(pollster::block_on(gpu.pooled(&windows, BATCH)), Err(GpuError::Lost(_))));
}
