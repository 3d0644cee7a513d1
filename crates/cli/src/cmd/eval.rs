//! `ttpmap eval DIR`: score the model on TRAM's annotated reports (.mjson) at the report
//! level: micro precision, recall and F1 for exact IDs and parent techniques, F1 per report
//! averaged, and a per-tactic breakdown.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use ttpmap_mapper::{map_report, AggregateConfig, BatchConfig};
use ttpmap_train::data::read_tram_dir;
use ttpmap_train::metrics::{evaluate, Evaluation};

use super::model::{self, ModelArgs};
use crate::matrix_source::{Builtin, MatrixSource, DEFAULT_MATRICES_DIR};

/// Evaluate the model on TRAM-format annotated reports.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of .mjson reports (e.g. ../shared/data/tram/reports).
    dir: PathBuf,
    /// Detection threshold, 0-1 (default: the model's calibrated threshold).
    #[arg(long)]
    threshold: Option<f32>,
    /// Also score reports the model was trained or calibrated on (by default they are
    /// skipped: only held-out reports give an honest figure).
    #[arg(long)]
    all: bool,
    /// Print the evaluation as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, default_value = DEFAULT_MATRICES_DIR)]
    matrices: PathBuf,
}

fn names(v: &serde_json::Value, part: &str) -> BTreeSet<String> {
    v["training"]["split"][part].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect()
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let classifier = model::load_as(&args.model.dir, args.model.weights)?;
    let matrix = MatrixSource::Builtin(Builtin::Enterprise).load(&args.matrices)?;
    let manifest = serde_json::to_value(&classifier.manifest)?;
    let remap: BTreeMap<String, String> = serde_json::from_value(manifest["training"]["remap"].clone()).unwrap_or_default();
    let seen: BTreeSet<String> = names(&manifest, "train").union(&names(&manifest, "calibration")).cloned().collect();
    let reports = read_tram_dir(&args.dir, &matrix, &remap)?;
    let total = reports.len();
    let reports: Vec<_> = reports.into_iter().filter(|r| args.all || !seen.contains(&r.name)).collect();
    if total > reports.len() {
        eprintln!("skipping {} reports the model was trained or calibrated on (--all to include them)", total - reports.len());
    }
    if reports.is_empty() {
        bail!("no reports to evaluate in {}", args.dir.display());
    }
    let threshold = args.threshold.unwrap_or(classifier.manifest.threshold);
    let mut pairs = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        eprint!("\rmapping report {}/{}", i + 1, reports.len());
        let m = map_report(&classifier, &r.text, AggregateConfig::default(), BatchConfig::default(), &mut |_, _| {})?;
        pairs.push((r.gold.clone(), m.detected_ids(threshold).into_iter().collect()));
    }
    eprintln!();
    let e = evaluate(&pairs, &matrix, threshold);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&e)?);
    } else {
        print_table(&e);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_table(e: &Evaluation) {
    println!("{} reports, threshold {:.2}", e.reports, e.threshold);
    println!("{:<22} {:>9} {:>9} {:>9} {:>5} {:>5} {:>5}", "", "precision", "recall", "F1", "TP", "FP", "FN");
    for (name, s) in [("exact IDs (micro)", &e.exact), ("parent level (micro)", &e.parent)] {
        println!("{:<22} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}", name, s.precision, s.recall, s.f1, s.counts.tp, s.counts.fp, s.counts.fn_);
    }
    println!("per-document F1 (mean): {:.3}", e.per_document_f1);
    println!("\nper tactic (exact IDs):");
    for (t, s) in &e.per_tactic {
        if s.counts.tp + s.counts.fp + s.counts.fn_ > 0 {
            println!("  {:<22} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}", t, s.precision, s.recall, s.f1, s.counts.tp, s.counts.fp, s.counts.fn_);
        }
    }
}
