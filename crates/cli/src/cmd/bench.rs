//! `ttpmap bench`: how fast the native CPU or GPU (`--backend`) path maps a report, and how
//! much memory it takes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use ttpmap_mapper::input::{extract_text, InputKind};
use ttpmap_mapper::segment::sentences;
use ttpmap_mapper::{AggregateConfig, BatchConfig};

use super::model::{Engine, ModelArgs};
use crate::shipped;

/// The fixed report the benchmarks use (about 5,000 words of TRAM reports).
pub const DEFAULT_REPORT: &str = "tests/fixtures/report-5000w.txt";

/// Measure model load time, mapping time, sentences per second and peak memory.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report to map (.txt, .md, .html, .pdf or .docx; default:
    /// tests/fixtures/report-5000w.txt in the ttpmap checkout this binary was built from).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Timed runs after one warm-up run; the best and the median are reported.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Most windows per encoder batch (the GPU path's throughput depends on it).
    #[arg(long, default_value_t = BatchConfig::default().max_rows)]
    batch_rows: usize,
    /// Most padded tokens per encoder batch.
    #[arg(long, default_value_t = BatchConfig::default().max_tokens)]
    batch_tokens: usize,
    /// Map only the first N sentences of the report (slow software adapters, or to see how
    /// report length matters).
    #[arg(long, value_name = "N")]
    sentences: Option<usize>,
    #[command(flatten)]
    model: ModelArgs,
}

/// Peak resident memory of this process in MiB (Linux), if known.
fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let report = shipped::or_in_checkout(args.report.as_deref(), DEFAULT_REPORT, "--report")?;
    let bytes = std::fs::read(&report).with_context(|| format!("cannot read {}", report.display()))?;
    let mut text = extract_text(&bytes, InputKind::detect(report.to_str(), &bytes))?;
    if let Some(n) = args.sentences {
        if let Some(cut) = sentences(&text).get(n.max(1) - 1).map(|s| s.end) {
            text.truncate(cut);
        }
    }
    let batch = BatchConfig { max_rows: args.batch_rows.max(1), max_tokens: args.batch_tokens.max(1) };
    let words = text.split_whitespace().count();

    let t = Instant::now();
    let engine = Engine::load(&args.model)?;
    let backend = engine.backend_name();
    let load_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let sents = sentences(&text);
    let segment_ms = t.elapsed().as_secs_f64() * 1e3;
    let texts: Vec<&str> = sents.iter().map(|s| s.text(&text)).collect();
    let windows = engine.classifier.windows(&texts)?;
    let tokens: usize = windows.iter().map(|w| w.ids.len()).sum();

    let mut times = Vec::new();
    let mut first = Vec::new();
    for run in 0..=args.runs.max(1) {
        let t = Instant::now();
        let mut first_s = None;
        let m = engine.map_report(&text, AggregateConfig::default(), batch, &mut |_, _| {
            first_s.get_or_insert(t.elapsed().as_secs_f64());
        })?;
        let total = t.elapsed().as_secs_f64();
        if run > 0 {
            times.push(total);
            first.push(first_s.unwrap_or(total));
        }
        std::hint::black_box(m);
    }
    times.sort_by(f64::total_cmp);
    first.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!("report: {} ({words} words, {} sentences, {} windows, {tokens} tokens)", report.display(), sents.len(), windows.len());
    println!("backend: {backend}; batches of at most {} windows, {} tokens", batch.max_rows, batch.max_tokens);
    if engine.backend_name() != backend {
        println!("warning: the GPU failed during the runs; the figures mix GPU and CPU");
    }
    println!("model load (read, verify sha256, {:?} weights, GPU upload if any): {load_s:.2} s", args.model.weights);
    println!("segmentation: {segment_ms:.1} ms");
    println!("mapping: best {:.2} s, median {median:.2} s over {} runs; first result after {:.2} s", times[0], times.len(), first[first.len() / 2]);
    println!("throughput: {:.0} sentences/s, {:.0} tokens/s (median run)", sents.len() as f64 / median, tokens as f64 / median);
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory (VmHWM): {mib:.0} MiB");
    }
    Ok(ExitCode::SUCCESS)
}
