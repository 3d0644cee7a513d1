//! The shipped model (public/model) mapping the fixture reports on the GPU and on the CPU:
//! sentence probabilities within 0.01, and the same techniques detected.
//!
//! Fixtures: the segmentation reports (crates/mapper/tests/fixtures/segment/*.txt) whole, and
//! the opening sentences of the 5,000-word benchmark report (tests/fixtures/report-5000w.txt):
//! on lavapipe, the software Vulkan that CI has, the encoder runs at about a sentence a
//! second, so the whole report would take several minutes. Each text is encoded once on
//! the GPU; its mapping is built from those probabilities by the mapper's `MappingRun`, as `map_report` does.

mod common;

use std::path::PathBuf;

use common::*;
use ttpmap_gpu::GpuOptions;
use ttpmap_mapper::segment;
use ttpmap_mapper::{map_report, AggregateConfig, BatchConfig};

/// Sentences of the 5,000-word report that are mapped on the GPU.
const LONG_REPORT_SENTENCES: usize = 12;

fn fixture(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn fixture_reports_map_the_same_on_the_gpu() {
    let Some((manifest, tensors, cpu)) = shipped_model() else { return };
    let Some(gpu) = gpu(&manifest.encoder, &tensors, GpuOptions::default()) else { return };
    let batch = BatchConfig::default();
    let agg = AggregateConfig::default();
    let fixtures = ["poshspy", "ta410", "trickbot"]
        .map(|n| (format!("crates/mapper/tests/fixtures/segment/{n}.txt"), usize::MAX))
        .into_iter()
        .chain([("tests/fixtures/report-5000w.txt".to_string(), LONG_REPORT_SENTENCES)]);
    let mut detected = 0;
    for (name, keep) in fixtures {
        let mut text = fixture(&name);
        let spans = segment::sentences(&text);
        if let Some(cut) = spans.get(keep).map(|s| s.start) {
            text.truncate(cut);
        }
        let spans = segment::sentences(&text);
        let sentences: Vec<&str> = spans.iter().map(|s| s.text(&text)).collect();
        let want = cpu.sentence_probs(&sentences, batch).unwrap();
        let got = pollster::block_on(ttpmap_gpu::sentence_probs(&gpu, &cpu, &sentences, batch)).unwrap();
        let diff = max_abs_diff(&want, &got);
        eprintln!("{name}: {} sentences, probability max abs diff {diff:e}", sentences.len());
        assert!(diff < 0.01, "{name}: sentence probabilities differ by {diff}");

        let cpu_mapping = map_report(&cpu, &text, agg, batch, &mut |_, _| {}).unwrap();
        // The GPU's probabilities through the mapper's run, in one chunk.
        let mut run = cpu.mapping_run(&text, agg);
        let texts = run.next_chunk(usize::MAX).unwrap();
        assert_eq!(texts, sentences);
        run.add_scores(&got).unwrap();
        assert!(run.is_done());
        let gpu_mapping = run.snapshot();
        let ids = cpu_mapping.detected_ids(cpu_mapping.threshold);
        eprintln!("{name}: detected {ids:?}");
        detected += ids.len();
        assert_same_mapping(&cpu_mapping, &gpu_mapping);
    }
    assert!(detected > 0, "the fixtures should detect techniques, or the comparison says little");
}
