//! `ttpmap classify FILE...`: map reports (text, Markdown, HTML, PDF, Word) to ATT&CK
//! techniques and print or write the result
//! as a Navigator layer, as JSON, or as a table. `--matrix` picks the matrix: Enterprise
//! (the trained classifier), ATRM, TMFK, or a STIX bundle / compact matrix file (the
//! similarity mapping; see `ttpmap_mapper::similarity`).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use ttpmap_attack::Matrix;
use ttpmap_mapper::export::{report_layer, LayerOptions};
use ttpmap_mapper::input::{extract_text, InputKind};
use ttpmap_mapper::similarity::SimilarityConfig;
use ttpmap_mapper::{AggregateConfig, BatchConfig, ReportMapping};

use super::model::{Engine, ModelArgs};
use crate::engine::{Target, TargetOptions};
use crate::matrix_source::{MatrixSource, DEFAULT_MATRICES_DIR};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An ATT&CK Navigator layer (v4.5).
    Layer,
    /// The full mapping: techniques, scores and evidence sentences with offsets.
    Json,
    /// A readable table.
    Table,
}

/// Map report files (.txt, .md, .html, .pdf, .docx) to ATT&CK techniques.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Report files: plain text, Markdown, HTML (tags are stripped), PDF (its text layer,
    /// in reading order) or Word .docx.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write DIR/<file stem>.json (or .txt for tables) for each input instead of printing.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Detection threshold, 0-1 (default: the model's calibrated threshold).
    #[arg(long, value_parser = parse_threshold)]
    threshold: Option<f32>,
    /// Evidence sentences quoted per technique.
    #[arg(long, default_value_t = 3)]
    top_evidence: usize,
    #[arg(long, value_enum, default_value_t = Format::Layer)]
    format: Format,
    #[command(flatten)]
    model: ModelArgs,
    /// Folder of the compact matrices (and the technique vectors of ATRM and TMFK).
    #[arg(long, default_value = DEFAULT_MATRICES_DIR)]
    matrices: PathBuf,
    /// The matrix to map onto: enterprise, atrm, tmfk, or the path of an ATT&CK-compatible
    /// STIX 2.1 bundle (or compact matrix) .json file.
    #[arg(long, default_value = "enterprise", value_parser = clap::value_parser!(MatrixSource))]
    matrix: MatrixSource,
    /// Map by similarity even onto the matrix the classifier was trained on.
    #[arg(long)]
    similarity: bool,
    /// Technique vectors file to use (default: <matrices>/<matrix>.vectors.json for ATRM
    /// and TMFK; computed on the spot for a bundle).
    #[arg(long, value_name = "FILE")]
    vectors: Option<PathBuf>,
    /// Do not use the classifier's Enterprise detections as evidence for linked techniques
    /// (TMFK's x_mitre_ids).
    #[arg(long)]
    no_links: bool,
}

fn parse_threshold(s: &str) -> Result<f32, String> {
    let t: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&t) {
        Ok(t)
    } else {
        Err(format!("{t} is outside 0-1"))
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    if args.files.len() > 1 && args.out_dir.is_none() && args.format != Format::Table {
        bail!("several files need --out-dir DIR (one output file per input), or --format table");
    }
    let mut engine = Engine::load(&args.model)?;
    let target = Target::load(
        &engine.classifier,
        &TargetOptions {
            source: &args.matrix,
            matrices_dir: &args.matrices,
            force_similarity: args.similarity,
            vectors: args.vectors.as_deref(),
        },
    )?;
    let calibrated = target.vectors.as_ref().map(SimilarityConfig::for_vectors).unwrap_or_default();
    let config = SimilarityConfig { use_links: !args.no_links, ..calibrated };
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut failed = 0;
    for file in &args.files {
        if let Err(e) = classify_one(args, &mut engine, &target, &config, file) {
            eprintln!("error: {}: {e:#}", file.display());
            failed += 1;
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn classify_one(args: &Args, engine: &mut Engine, target: &Target, config: &SimilarityConfig, file: &Path) -> Result<()> {
    let matrix = &target.matrix;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file.file_name().map(|n| n.to_string_lossy().to_string());
    let kind = InputKind::detect(name.as_deref(), &bytes);
    let text = extract_text(&bytes, kind)?;
    drop(bytes);
    let threshold = args.threshold.unwrap_or(target.threshold(&engine.classifier, config));
    let label = name.clone().unwrap_or_default();
    let show = std::io::stderr().is_terminal() || text.len() > 200_000;
    let mut progress = |done: usize, total: usize| {
        if show {
            eprint!("\r{label}: {done}/{total} sentences");
            if done == total {
                eprintln!();
            }
        }
    };
    // The trained classifier runs on the chosen backend (GPU with CPU fallback); the
    // similarity mapping runs on the CPU.
    let mapping = if target.vectors.is_none() {
        engine.map_report(&text, AggregateConfig::default(), BatchConfig::default(), &mut progress)?
    } else {
        target.map(&engine.classifier, config, &text, &mut progress)?
    };
    let title = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "report".into());
    let out = render(args, matrix, &mapping, &text, &title, threshold)?;
    match &args.out_dir {
        Some(dir) => {
            let ext = if args.format == Format::Table { "txt" } else { "json" };
            let path = dir.join(format!("{title}.{ext}"));
            std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{}: {} techniques -> {}", file.display(), mapping.detected(threshold).count(), path.display());
        }
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(out.as_bytes())?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonEvidence<'a> {
    start: usize,
    end: usize,
    score: f32,
    text: &'a str,
}

#[derive(Serialize)]
struct JsonTechnique<'a> {
    id: &'a str,
    name: &'a str,
    score: u32,
    evidence: Vec<JsonEvidence<'a>>,
}

#[derive(Serialize)]
struct JsonMapping<'a> {
    report: &'a str,
    sentences: usize,
    threshold: f32,
    techniques: Vec<JsonTechnique<'a>>,
}

fn render(args: &Args, matrix: &Matrix, mapping: &ReportMapping, text: &str, title: &str, threshold: f32) -> Result<String> {
    Ok(match args.format {
        Format::Layer => {
            let opts = LayerOptions { name: title.to_string(), threshold, top_evidence: args.top_evidence };
            report_layer(matrix, mapping, text, &opts)?.to_json_pretty() + "\n"
        }
        Format::Json => {
            let techniques = mapping
                .detected(threshold)
                .map(|t| JsonTechnique {
                    id: &t.id,
                    name: &t.name,
                    score: t.score_100(),
                    evidence: t
                        .evidence
                        .iter()
                        .filter(|e| e.score >= threshold)
                        .take(args.top_evidence.max(1))
                        .map(|e| JsonEvidence { start: e.start, end: e.end, score: e.score, text: &text[e.start..e.end] })
                        .collect(),
                })
                .collect();
            serde_json::to_string_pretty(&JsonMapping { report: title, sentences: mapping.sentences, threshold, techniques })? + "\n"
        }
        Format::Table => {
            let mut s = format!("{title}: {} sentences, threshold {threshold:.2}\n", mapping.sentences);
            s += &format!("{:<10} {:>5} {:>4}  {:<40} {}\n", "ID", "SCORE", "EVID", "NAME", "TOP EVIDENCE");
            for t in mapping.detected(threshold) {
                let n = t.evidence.iter().filter(|e| e.score >= threshold).count();
                let top = t.evidence.first().map(|e| text[e.start..e.end].split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default();
                let top: String = top.chars().take(100).collect();
                let name: String = t.name.chars().take(40).collect();
                s += &format!("{:<10} {:>5} {:>4}  {:<40} {}\n", t.id, t.score_100(), n, name, top);
            }
            s
        }
    })
}
