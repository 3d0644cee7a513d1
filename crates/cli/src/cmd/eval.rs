//! `ttpmap eval DIR`: score the model on annotated reports at the report level: TRAM's
//! (.mjson; against their list labels and, as a second figure, with the techniques their
//! annotators named in `[OTHER]` comments added) or AnnoCTR's (NAME.txt with
//! NAME.links.jsonl). Micro precision, recall and F1 for exact IDs and parent techniques, F1
//! per report averaged, and a per-tactic breakdown.
//!
//! `--similarity FILE` scores the similarity mapping instead (technique vectors of the
//! Enterprise bundle, built by `ttpmap vectors`), as if Enterprise were a matrix the
//! classifier never saw; `--calibrate` fits its score map and threshold on the
//! calibration reports (never the validation ones).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use ttpmap_mapper::similarity::{keep_best, Pooling, ScoreMap, SimilarityConfig, SimilarityMapper};
use ttpmap_mapper::{AggregateConfig, BatchConfig, Scoring};
use ttpmap_train::data::{read_annoctr_dir, read_tram_dir, Report};
use ttpmap_train::metrics::{evaluate, predicted, Counts, Evaluation};

use crate::engine::read_vectors;

use super::model::{Engine, ModelArgs};
use crate::matrix_source::{Builtin, Matrices, MatrixSource};

/// Evaluate the model on TRAM-format annotated reports.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder of TRAM .mjson reports (e.g. data/tram/reports) or of AnnoCTR reports
    /// (e.g. data/annoctr/dev).
    // Not named `dir`: that is the id of --model's field (ModelArgs), and clap would
    // take the two for one argument.
    #[arg(value_name = "DIR")]
    reports: PathBuf,
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
    /// Folder holding the compact matrices (default: the ones built into ttpmap).
    #[arg(long, value_name = "DIR")]
    matrices: Option<PathBuf>,
    /// Evaluate the similarity mapping with these Enterprise technique vectors (from
    /// `ttpmap vectors data/attack/enterprise-attack-18.1.json --out DIR` in the repository).
    #[arg(long, value_name = "FILE")]
    similarity: Option<PathBuf>,
    /// With --similarity: how prototype cosines are pooled.
    /// (default: the calibrated one)
    #[arg(long, value_enum)]
    pooling: Option<PoolingArg>,
    /// With --similarity: fit the score map and the threshold on the calibration reports
    /// (and evaluate there) instead of evaluating on the validation reports.
    #[arg(long)]
    calibrate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PoolingArg {
    Max,
    Mean,
    Centroid,
}

impl From<PoolingArg> for Pooling {
    fn from(p: PoolingArg) -> Self {
        match p {
            PoolingArg::Max => Pooling::Max,
            PoolingArg::Mean => Pooling::Mean,
            PoolingArg::Centroid => Pooling::Centroid,
        }
    }
}

fn names(v: &serde_json::Value, part: &str) -> BTreeSet<String> {
    v["training"]["split"][part].as_array().into_iter().flatten().filter_map(|s| s.as_str().map(String::from)).collect()
}

pub fn run(args: &Args) -> Result<ExitCode> {
    if args.calibrate && args.similarity.is_none() {
        bail!("--calibrate calibrates the similarity mapping: give --similarity FILE too");
    }
    let engine = Engine::load(&args.model)?;
    let matrix = MatrixSource::Builtin(Builtin::Enterprise).load(&Matrices::new(args.matrices.clone()))?;
    let manifest = serde_json::to_value(&engine.classifier.manifest)?;
    let remap: BTreeMap<String, String> = serde_json::from_value(manifest["training"]["remap"].clone()).unwrap_or_default();
    let annoctr = is_annoctr_dir(&args.reports)?;
    if annoctr && (args.similarity.is_some() || args.calibrate) {
        bail!("--similarity and --calibrate work on TRAM reports only");
    }
    let seen: BTreeSet<String> = if annoctr {
        names(&manifest, "annoctr_train").union(&names(&manifest, "annoctr_calibration")).cloned().collect()
    } else {
        names(&manifest, "train").union(&names(&manifest, "calibration")).cloned().collect()
    };
    let reports = if annoctr { read_annoctr_dir(&args.reports, &matrix, &remap)? } else { read_tram_dir(&args.reports, &matrix, &remap)? };
    // TRAM's annotation vocabulary as the model's training saw it (training and calibration
    // reports), for the secondary in-vocabulary figure.
    let vocabulary: BTreeSet<String> =
        if annoctr { BTreeSet::new() } else { reports.iter().filter(|r| seen.contains(&r.name)).flat_map(|r| r.gold.iter().cloned()).collect() };
    let total = reports.len();
    let calibration = names(&manifest, "calibration");
    let reports: Vec<_> = if args.calibrate {
        reports.into_iter().filter(|r| calibration.contains(&r.name)).collect()
    } else {
        reports.into_iter().filter(|r| args.all || !seen.contains(&r.name)).collect()
    };
    if total > reports.len() {
        eprintln!("skipping {} reports the model was trained or calibrated on (--all to include them)", total - reports.len());
    }
    if reports.is_empty() {
        bail!("no reports to evaluate in {}", args.reports.display());
    }
    let vectors = match &args.similarity {
        Some(path) => Some(read_vectors(path, &engine.classifier, &matrix)?),
        None => None,
    };
    let calibrated = vectors.as_ref().map(SimilarityConfig::for_vectors).unwrap_or_default();
    let pooling = args.pooling.map(Pooling::from).unwrap_or(calibrated.pooling);
    let config = SimilarityConfig { pooling, use_links: false, ..calibrated };
    if let (Some(v), true) = (&vectors, args.calibrate) {
        calibrate(&SimilarityMapper::new(&engine.classifier, v, &matrix, config), &reports)?;
        return Ok(ExitCode::SUCCESS);
    }
    let scoring = || Scoring::new(&engine.classifier, vectors.as_ref().map(|v| (v, &matrix, config)));
    let threshold = args.threshold.unwrap_or(scoring().threshold());
    let mut pairs = Vec::new();
    let mut pairs_with_other = Vec::new();
    for (i, r) in reports.iter().enumerate() {
        eprint!("\rmapping report {}/{}", i + 1, reports.len());
        let m = engine.map(scoring(), &r.text, AggregateConfig::default(), BatchConfig::default(), &mut |_, _| {})?;
        let detected: BTreeSet<String> = m.detected_ids(threshold).into_iter().collect();
        pairs.push((r.gold.clone(), detected.clone()));
        pairs_with_other.push((r.gold_with_other(), detected));
    }
    eprintln!();
    let e = evaluate(&pairs, &matrix, threshold, (!vocabulary.is_empty()).then_some(&vocabulary));
    // TRAM reports whose annotators named techniques outside their list: the same detections
    // against the fuller gold.
    let with_other = reports.iter().any(|r| !r.other.is_empty()).then(|| evaluate(&pairs_with_other, &matrix, threshold, None));
    if args.json {
        let v = match &with_other {
            Some(o) => serde_json::json!({ "list_labels": e, "with_other_labels": o }),
            None => serde_json::to_value(&e)?,
        };
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_table(&e);
        if let Some(o) = &with_other {
            println!("\nwith the techniques TRAM's annotators named in [OTHER] comments added to the gold:");
            print_scores(o);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether `dir` holds AnnoCTR reports (NAME.links.jsonl) rather than TRAM's (.mjson).
fn is_annoctr_dir(dir: &std::path::Path) -> Result<bool> {
    let mut any = false;
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let name = e?.file_name().to_string_lossy().to_string();
        if name.ends_with(".mjson") {
            return Ok(false);
        }
        any |= name.ends_with(".links.jsonl");
    }
    Ok(any)
}

/// Calibrates the similarity mapping on the calibration reports, from one encoder pass:
/// for each pooling and each per-sentence limit, the cosine threshold that maximises
/// report-level micro-F1; the best combination wins. The score map is centred on that
/// cosine (so the default threshold is 0.5) and its slope is a class-balanced logistic fit
/// of "this sentence is annotated with this technique" on the cosine.
fn calibrate(mapper: &SimilarityMapper, reports: &[Report]) -> Result<SimilarityConfig> {
    let poolings = [Pooling::Max, Pooling::Mean, Pooling::Centroid];
    let labels: Vec<String> = mapper.labels().iter().map(|l| l.id.clone()).collect();
    let index: BTreeMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (l.as_str(), i)).collect();
    // [pooling][report][sentence][technique]
    let mut cosines: Vec<Vec<Vec<Vec<f32>>>> = vec![Vec::new(); poolings.len()];
    let mut pos: Vec<Vec<f32>> = vec![Vec::new(); poolings.len()];
    let mut neg: Vec<Vec<f32>> = vec![Vec::new(); poolings.len()];
    for (i, r) in reports.iter().enumerate() {
        eprint!("\rcalibration: report {}/{}", i + 1, reports.len());
        let texts: Vec<&str> = r.sentences.iter().map(|&(a, b)| &r.text[a..b]).collect();
        let raw = mapper.raw_scores_pooled(&texts, BatchConfig::default(), &poolings)?;
        for (p, raw) in raw.into_iter().enumerate() {
            for (i, s) in raw.iter().enumerate() {
                // TRAM's list labels (as r.gold): not those only [OTHER] spans give.
                let gold: Vec<usize> = r.sentence_gold[i].difference(&r.sentence_other[i]).filter_map(|g| index.get(g.as_str()).copied()).collect();
                for (k, &c) in s.cosine.iter().enumerate() {
                    if gold.contains(&k) { pos[p].push(c) } else { neg[p].push(c) }
                }
            }
            cosines[p].push(raw.into_iter().map(|s| s.cosine).collect());
        }
    }
    eprintln!();
    let gold: Vec<BTreeSet<String>> = reports.iter().map(|r| r.gold.clone()).collect();
    println!("{:<9} {:>12} {:>16} {:>9}", "pooling", "per sentence", "cosine threshold", "micro-F1");
    let mut best: Option<(f64, usize, usize, f32)> = None;
    for (p, pooling) in poolings.iter().enumerate() {
        for k in [1, 2, 3, 5, 0] {
            let scores: Vec<Vec<f32>> = cosines[p]
                .iter()
                .map(|sentences| {
                    let mut best = vec![0f32; labels.len()];
                    for s in sentences {
                        for (b, c) in best.iter_mut().zip(keep_best(s.clone(), k)) {
                            *b = b.max(c);
                        }
                    }
                    best
                })
                .collect();
            let (mut t_best, mut f_best) = (0.5f32, -1.0f64);
            for step in 0..=130 {
                let t = 0.30 + step as f32 * 0.005;
                let mut c = Counts::default();
                for (sc, g) in scores.iter().zip(&gold) {
                    c.add(g, &predicted(sc, &labels, t));
                }
                if c.f1() > f_best {
                    (t_best, f_best) = (t, c.f1());
                }
            }
            let limit = if k == 0 { "all".to_string() } else { k.to_string() };
            println!("{:<9} {:>12} {:>16.3} {:>9.3}", format!("{pooling:?}").to_lowercase(), limit, t_best, f_best);
            if best.is_none_or(|b| f_best > b.0) {
                best = Some((f_best, p, k, t_best));
            }
        }
    }
    let (f1, p, k, t) = best.context("no calibration reports")?;
    let slope = fit_logistic(&pos[p], &neg[p]);
    let map = ScoreMap { center: t, scale: slope.scale };
    let stats = |v: &[f32]| {
        let m = v.iter().sum::<f32>() / v.len().max(1) as f32;
        (m, (v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / v.len().max(1) as f32).sqrt())
    };
    let ((pm, ps), (nm, ns)) = (stats(&pos[p]), stats(&neg[p]));
    println!("cosines ({:?}): {} annotated sentence-technique pairs mean {pm:.3} sd {ps:.3}; {} others mean {nm:.3} sd {ns:.3}", poolings[p], pos[p].len(), neg[p].len());
    println!(
        "chosen: pooling {:?}, per_sentence {k}, score map center {:.3} scale {:.4}, threshold 0.50 (calibration micro-F1 {f1:.3})",
        poolings[p], map.center, map.scale
    );
    Ok(SimilarityConfig { pooling: poolings[p], map, threshold: 0.5, per_sentence: k, ..*mapper.config() })
}

/// One-feature logistic regression, positives and negatives weighted equally in total,
/// by Newton's method; returned as a [`ScoreMap`].
fn fit_logistic(pos: &[f32], neg: &[f32]) -> ScoreMap {
    let (wp, wn) = (0.5 / pos.len().max(1) as f64, 0.5 / neg.len().max(1) as f64);
    let (mut a, mut b) = (10.0f64, -5.0f64); // p = sigmoid(a * x + b)
    for _ in 0..50 {
        let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (xs, y, w) in [(pos, 1.0, wp), (neg, 0.0, wn)] {
            for &x in xs {
                let x = x as f64;
                let p = 1.0 / (1.0 + (-(a * x + b)).exp());
                let r = w * (p - y);
                let h = w * p * (1.0 - p);
                ga += r * x;
                gb += r;
                haa += h * x * x;
                hab += h * x;
                hbb += h;
            }
        }
        let det = haa * hbb - hab * hab;
        if det.abs() < 1e-18 {
            break;
        }
        let da = (hbb * ga - hab * gb) / det;
        let db = (haa * gb - hab * ga) / det;
        a -= da;
        b -= db;
        if da.abs() + db.abs() < 1e-9 {
            break;
        }
    }
    ScoreMap { center: (-b / a) as f32, scale: (1.0 / a) as f32 }
}

fn print_scores(e: &Evaluation) {
    println!("{:<22} {:>9} {:>9} {:>9} {:>5} {:>5} {:>5}", "", "precision", "recall", "F1", "TP", "FP", "FN");
    for (name, s) in [("exact IDs (micro)", &e.exact), ("parent level (micro)", &e.parent)] {
        println!("{:<22} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}", name, s.precision, s.recall, s.f1, s.counts.tp, s.counts.fp, s.counts.fn_);
    }
    println!("per-document F1 (mean): {:.3}", e.per_document_f1);
}

fn print_table(e: &Evaluation) {
    println!("{} reports, threshold {:.2}", e.reports, e.threshold);
    print_scores(e);
    if let Some(v) = &e.in_vocabulary {
        let s = &v.exact;
        println!(
            "secondary: exact IDs counting only detections of the {} techniques TRAM's annotators used in the training and calibration reports ({} other detections left out; all gold counts):",
            v.techniques, v.ignored_detections
        );
        println!("{:<22} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}", "in TRAM's vocabulary", s.precision, s.recall, s.f1, s.counts.tp, s.counts.fp, s.counts.fn_);
    }
    println!("\nper tactic (exact IDs):");
    for (t, s) in &e.per_tactic {
        if s.counts.tp + s.counts.fp + s.counts.fn_ > 0 {
            println!("  {:<22} {:>9.3} {:>9.3} {:>9.3} {:>5} {:>5} {:>5}", t, s.precision, s.recall, s.f1, s.counts.tp, s.counts.fp, s.counts.fn_);
        }
    }
}
