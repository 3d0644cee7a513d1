//! `ttpmap calibrate`: give techniques a decision threshold of their own where the model's
//! calibration reports support one (`ttpmap_train::calibrate`), and write them into the
//! model's manifest. Only the reports the manifest names as calibration reports are fitted
//! on; its validation reports are scored to report the effect, never to choose.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use ttpmap_train::calibrate::{calibrate_model, Group, Outcome};
use ttpmap_train::data::{read_annoctr_dir, read_tram_dir, Report};
use ttpmap_train::metrics::{Evaluation, Level};

use super::model;
use crate::matrix_source::{Builtin, Matrices, MatrixSource};
use crate::shipped;

/// Fit per-technique thresholds on the model's calibration reports.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model folder (default: public/model in the ttpmap checkout this binary was built from).
    #[arg(long, value_name = "DIR")]
    model: Option<PathBuf>,
    /// The source data folder (TRAM and AnnoCTR reports; default: data/ in the checkout).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Write the outcome into DIR/manifest.json: the thresholds if cross-validation on the
    /// calibration reports adopts them (none otherwise), and the figures.
    #[arg(long)]
    write: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

fn names(v: &serde_json::Value, part: &str) -> BTreeSet<String> {
    v["training"]["split"][part].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect()
}

fn only(reports: &[Report], keep: &BTreeSet<String>) -> Vec<Report> {
    reports.iter().filter(|r| keep.contains(&r.name)).cloned().collect()
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let dir = shipped::output_in_checkout(args.model.as_deref(), "public/model", "--model")?;
    let data = shipped::or_in_checkout(args.data.as_deref(), "data", "--data")?;
    let mut classifier = model::load(Some(&dir))?;
    classifier.set_label_thresholds(BTreeMap::new())?;
    let manifest = serde_json::to_value(&classifier.manifest)?;
    let matrix = MatrixSource::Builtin(Builtin::Enterprise).load(&Matrices::new(None))?;
    let remap: BTreeMap<String, String> = serde_json::from_value(manifest["training"]["remap"].clone()).unwrap_or_default();
    let with_other = manifest["training"]["settings"]["conventions"]["tram_other_labels"].as_bool().unwrap_or(false);
    let vocabulary: BTreeSet<String> = serde_json::from_value(manifest["training"]["tram_vocabulary"].clone()).unwrap_or_default();

    let tram = read_tram_dir(&data.join("tram/reports"), &matrix, &remap)?;
    let tram_cal = only(&tram, &names(&manifest, "calibration"));
    let tram_val = only(&tram, &names(&manifest, "validation"));
    let annoctr_cal_names = names(&manifest, "annoctr_calibration");
    let (annoctr_cal, annoctr_val) = if annoctr_cal_names.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let train = read_annoctr_dir(&data.join("annoctr/train"), &matrix, &remap)?;
        let dev = read_annoctr_dir(&data.join("annoctr/dev"), &matrix, &remap)?;
        (only(&train, &annoctr_cal_names), only(&dev, &names(&manifest, "annoctr_validation")))
    };
    if tram_cal.is_empty() {
        anyhow::bail!("the manifest in {} names no calibration reports found in {}", dir.display(), data.display());
    }
    let group = |name, reports, level, with_other, vocabulary| Group { name, reports, level, with_other, vocabulary };
    let mut calibration = vec![group("TRAM calibration", &tram_cal[..], Level::Exact, with_other, None)];
    let mut validation = vec![
        group("TRAM validation", &tram_val[..], Level::Exact, false, Some(&vocabulary)),
        group("TRAM validation with [OTHER] labels", &tram_val[..], Level::Exact, true, None),
    ];
    if !annoctr_cal.is_empty() {
        calibration.push(group("AnnoCTR calibration", &annoctr_cal[..], Level::Parent, false, None));
        validation.push(group("AnnoCTR validation (dev)", &annoctr_val[..], Level::Parent, false, None));
    }

    let t = Instant::now();
    let outcome = calibrate_model(&classifier, &calibration, &validation, &matrix, &mut |line| eprintln!("[{:>6.1}s] {line}", t.elapsed().as_secs_f64()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcome)?);
    } else {
        print_outcome(&outcome);
    }
    if args.write {
        let path = dir.join("manifest.json");
        let mut m = classifier.manifest.clone();
        m.label_thresholds = if outcome.adopted { outcome.thresholds.clone() } else { BTreeMap::new() };
        if let Some(metrics) = m.metrics.as_object_mut() {
            metrics.insert("label_thresholds".into(), serde_json::to_value(&outcome)?);
        }
        std::fs::write(&path, serde_json::to_string_pretty(&m)? + "\n").with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {} ({} label thresholds)", path.display(), m.label_thresholds.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(o: &Outcome) {
    println!("global threshold {:.2} ({:?})", o.options.global, o.options.rule);
    println!(
        "two-fold cross-validation on the calibration reports: objective {:.3} with the global threshold, {:.3} with per-label thresholds: {}",
        o.cross_validation.0,
        o.cross_validation.1,
        if o.adopted { "adopted" } else { "not adopted" }
    );
    println!("fitted on all calibration reports: {} labels with a threshold of their own; objective {:.3} -> {:.3}", o.thresholds.len(), o.calibration.0, o.calibration.1);
    let line = |e: &Evaluation| {
        format!("exact P {:.3} R {:.3} F1 {:.3}; parent P {:.3} R {:.3} F1 {:.3}", e.exact.precision, e.exact.recall, e.exact.f1, e.parent.precision, e.parent.recall, e.parent.f1)
    };
    for v in &o.validation {
        println!("{} ({} reports)\n  global threshold: {}\n  per-label:        {}", v.name, v.global.reports, line(&v.global), line(&v.own));
    }
}
