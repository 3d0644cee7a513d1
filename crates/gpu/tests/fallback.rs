//! A GPU failure part-way through a report: [`Scorer`] and [`map_report_with_fallback`]
//! finish on the CPU and lose no sentence. The failure is a real device loss (the device is
//! destroyed after a given number of batches), seen by the same checks as a driver reset.

mod common;

use common::*;
use ttpmap_gpu::{map_report_with_fallback, Backend, GpuError, GpuOptions, Scorer};
use ttpmap_mapper::{map_report, AggregateConfig, BatchConfig};

const BATCH: BatchConfig = BatchConfig { max_rows: 8, max_tokens: 256 };

/// Sentences of the tiny vocabulary, one per paragraph so that segmentation keeps them apart.
fn sentences(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..n).map(|_| (0..3 + rng.below(12)).map(|_| format!("w{}", 4 + rng.below(100))).collect::<Vec<_>>().join(" ")).collect()
}

#[test]
fn scorer_finishes_on_the_cpu_after_a_device_loss() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 21);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let cpu = random_classifier(&cfg, &tensors);
    let calls = [sentences(16, 1), sentences(40, 2), sentences(9, 3)];
    let mut scorer = Scorer::new(&cpu, Some(&gpu));
    assert_eq!(scorer.backend(), Backend::Gpu);
    for (k, call) in calls.iter().enumerate() {
        if k == 1 {
            // The second call loses the device after its first batch of 8 rows.
            gpu.lose_device_after_batches(1);
        }
        let got = pollster::block_on(scorer.sentence_probs(call, BATCH)).unwrap();
        let diff = max_abs_diff(&cpu.sentence_probs(call, BATCH).unwrap(), &got);
        assert!(diff < 0.01, "call {k}: probabilities differ by {diff}");
        assert_eq!(scorer.backend(), if k == 0 { Backend::Gpu } else { Backend::Cpu }, "after call {k}");
    }
    let fallback = scorer.fallback().expect("a fallback");
    assert_eq!(fallback.after_sentences, 16);
    assert!(matches!(fallback.error, GpuError::Lost(_)), "{:?}", fallback.error);
}

#[test]
fn report_mapping_survives_a_device_loss_part_way() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 22);
    let Some(gpu) = gpu(&cfg, &tensors, GpuOptions::default()) else { return };
    let cpu = random_classifier(&cfg, &tensors);
    // 600 sentences: three chunks of up to 256; the loss comes in the second.
    let text = sentences(600, 4).join("\n\n");
    let want = map_report(&cpu, &text, AggregateConfig::default(), BATCH, &mut |_, _| {}).unwrap();
    gpu.lose_device_after_batches(40);
    let mut seen = Vec::new();
    let (got, fallback) = pollster::block_on(map_report_with_fallback(
        Some(&gpu),
        &cpu,
        &text,
        AggregateConfig::default(),
        BATCH,
        &mut |done, total| seen.push((done, total)),
    ))
    .unwrap();
    let fallback = fallback.expect("the device loss should have made it fall back");
    assert_eq!(fallback.after_sentences, 256, "the first chunk ran on the GPU");
    assert_eq!(seen, vec![(256, 600), (512, 600), (600, 600)], "progress never went back");
    assert_eq!(got.sentences, want.sentences);
    assert_same_mapping(&want, &got);
}

#[test]
fn without_a_gpu_the_mapping_is_the_cpu_one() {
    let cfg = small_config();
    let tensors = random_tensors(&cfg, 23);
    let cpu = random_classifier(&cfg, &tensors);
    let text = sentences(30, 5).join("\n\n");
    let want = map_report(&cpu, &text, AggregateConfig::default(), BATCH, &mut |_, _| {}).unwrap();
    let (got, fallback) =
        pollster::block_on(map_report_with_fallback(None, &cpu, &text, AggregateConfig::default(), BATCH, &mut |_, _| {}))
            .unwrap();
    assert!(fallback.is_none());
    assert_eq!(got, want);
}
