//! `ttpmap classify FILE...`: map reports (text, Markdown, HTML, PDF, Word) to ATT&CK
//! techniques and print or write the result as a Navigator layer, as JSON, as JSON lines
//! (one mapping per input, or per input line with `--lines`, streamed as each is done), or
//! as a table. `-` reads standard input.
//! `--matrix` picks the matrix: Enterprise (the trained classifier), ATRM, TMFK, or a STIX
//! bundle / compact matrix file (the similarity mapping, see `ttpmap_mapper::similarity`;
//! or, for another Enterprise ATT&CK release, the classifier carried onto it, see
//! `ttpmap_mapper::release`).
//!
//! The flags become a [`Plan`] before the model loads: bad combinations, standard input
//! named twice, and output files that would collide or overwrite existing ones without
//! `--force` are usage errors (exit 2). An input that fails is reported on stderr and the
//! others are still mapped (exit 1).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde::Serialize;
use ttpmap_attack::Matrix;
use ttpmap_mapper::export::{report_layer, LayerOptions};
use ttpmap_mapper::input::{extract_text, InputKind};
use ttpmap_mapper::release::{release_layer, ReleaseMapping};
use ttpmap_mapper::similarity::SimilarityConfig;
use ttpmap_mapper::{AggregateConfig, BatchConfig, ReportMapping};

use super::model::{Engine, ModelArgs};
use super::usage;
use crate::engine::{Target, TargetOptions};
use crate::matrix_source::{Matrices, MatrixSource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An ATT&CK Navigator layer (v4.5).
    Layer,
    /// The full mapping: techniques, scores and evidence sentences with offsets.
    Json,
    /// JSON lines on standard output: one mapping (as `json`, plus `input` and, with
    /// --lines, `line`) per input, or per input line, each written as soon as it is done.
    Jsonl,
    /// A readable table.
    Table,
}

/// Map report files (.txt, .md, .html, .pdf, .docx, or `-` for standard input) to ATT&CK
/// techniques.
#[derive(Debug, clap::Args)]
#[command(after_help = super::EXIT_CODES)]
pub struct Args {
    /// Report files: plain text, Markdown, HTML (tags are stripped), PDF (its text layer, in
    /// reading order) or Word .docx; `-` reads standard input (its kind is recognised from
    /// its content).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Write DIR/<file stem>.json (or .txt for tables) for each input instead of printing
    /// (`stdin.json` for `-`). Inputs that share a stem get <stem>-2, <stem>-3, ... in the
    /// order given; a file that already exists stops the run before any work unless --force.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Overwrite files that already exist in --out-dir.
    #[arg(long, requires = "out_dir")]
    force: bool,
    /// With --format jsonl: every line of each input is a report of its own (a corpus, one
    /// report per line, read as plain text); blank lines are skipped, and each output line
    /// carries the input's line number (from 1).
    #[arg(long)]
    lines: bool,
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
    /// Folder of the compact matrices and of ATRM's and TMFK's technique vectors (default:
    /// the ones built into ttpmap).
    #[arg(long, value_name = "DIR")]
    matrices: Option<PathBuf>,
    /// The matrix to map onto: enterprise, atrm, tmfk, or the path of an ATT&CK-compatible
    /// STIX 2.1 bundle (or compact matrix) .json file.
    #[arg(long, default_value = "enterprise", value_parser = clap::value_parser!(MatrixSource))]
    matrix: MatrixSource,
    /// Map by similarity even onto the matrix the classifier was trained on.
    #[arg(long)]
    similarity: bool,
    /// Technique vectors file to use (default: the built-in (or --matrices) vectors of ATRM
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

/// One input: a file, or standard input (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    fn new(path: &Path) -> Self {
        if path == Path::new("-") {
            Input::Stdin
        } else {
            Input::File(path.to_path_buf())
        }
    }

    /// The report's title and output file stem: the file stem, or `stdin`.
    fn stem(&self) -> String {
        match self {
            Input::Stdin => "stdin".into(),
            Input::File(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into()),
        }
    }

    fn file_name(&self) -> Option<String> {
        match self {
            Input::Stdin => None,
            Input::File(p) => p.file_name().map(|n| n.to_string_lossy().into_owned()),
        }
    }

    /// A reader over the input's bytes.
    fn open(&self) -> Result<Box<dyn Read>> {
        Ok(match self {
            Input::Stdin => Box::new(std::io::stdin().lock()),
            Input::File(p) => Box::new(std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?),
        })
    }
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Input::Stdin => f.write_str("-"),
            Input::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// The validated settings of a run: the inputs and, with --out-dir, each one's output file.
#[derive(Debug)]
struct Plan {
    inputs: Vec<Input>,
    /// `outputs[i]` is where `inputs[i]`'s mapping goes (with --out-dir).
    outputs: Option<Vec<PathBuf>>,
}

impl Plan {
    /// Checks the flags together and plans the output files; every error is a usage error.
    fn new(args: &Args) -> Result<Plan> {
        let inputs: Vec<Input> = args.files.iter().map(|f| Input::new(f)).collect();
        if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
            return Err(usage("standard input (-) can be read only once"));
        }
        if args.lines && args.format != Format::Jsonl {
            return Err(usage("--lines needs --format jsonl (one mapping per input line)"));
        }
        if args.format == Format::Jsonl && args.out_dir.is_some() {
            return Err(usage("--format jsonl streams to standard output: drop --out-dir (or redirect stdout to a file)"));
        }
        if inputs.len() > 1 && args.out_dir.is_none() && matches!(args.format, Format::Layer | Format::Json) {
            return Err(usage("several files need --out-dir DIR (one output file per input), --format jsonl or --format table"));
        }
        let outputs = match &args.out_dir {
            None => None,
            Some(dir) => {
                let ext = if args.format == Format::Table { "txt" } else { "json" };
                let outputs: Vec<PathBuf> =
                    output_names(&inputs).into_iter().map(|n| dir.join(format!("{n}.{ext}"))).collect();
                if !args.force {
                    let existing: Vec<String> =
                        outputs.iter().filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
                    if !existing.is_empty() {
                        return Err(usage(format!(
                            "{} already exist{}: pass --force to overwrite, or choose another --out-dir",
                            existing.join(", "),
                            if existing.len() == 1 { "s" } else { "" }
                        )));
                    }
                }
                Some(outputs)
            }
        };
        Ok(Plan { inputs, outputs })
    }
}

/// One distinct output name per input: its stem, or for the second and later inputs with
/// the same stem `<stem>-2`, `<stem>-3`, ... (never a name that is another input's stem).
fn output_names(inputs: &[Input]) -> Vec<String> {
    let stems: Vec<String> = inputs.iter().map(Input::stem).collect();
    let mut taken: HashSet<String> = stems.iter().cloned().collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    stems
        .iter()
        .map(|stem| {
            let count = seen.entry(stem.as_str()).or_default();
            *count += 1;
            if *count == 1 {
                return stem.clone();
            }
            let mut n = *count;
            loop {
                let name = format!("{stem}-{n}");
                if taken.insert(name.clone()) {
                    return name;
                }
                n += 1;
            }
        })
        .collect()
}

/// What maps one report: the model, the matrix and the settings.
struct Mapper<'a> {
    args: &'a Args,
    engine: Engine,
    target: Target,
    config: SimilarityConfig,
    threshold: f32,
}

impl Mapper<'_> {
    /// Maps one report; onto another Enterprise release, also says how each technique was
    /// detected.
    fn map(&mut self, text: &str, progress: &mut dyn FnMut(usize, usize)) -> Result<(ReportMapping, Option<ReleaseMapping>)> {
        // The trained classifier runs on the chosen backend (GPU with CPU fallback); the
        // release and similarity mappings run on the CPU.
        let scoring = self.target.scoring(&self.engine.classifier, &self.config)?;
        let mapping = self.engine.map(scoring, text, AggregateConfig::default(), BatchConfig::default(), progress)?;
        let release = self.target.release.as_ref().map(|r| ReleaseMapping::new(&r.plan, mapping.clone()));
        Ok((mapping, release))
    }
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let plan = Plan::new(args)?;
    let engine = Engine::load(&args.model)?;
    let matrices = Matrices::new(args.matrices.clone());
    let target = Target::load(
        &engine.classifier,
        &TargetOptions { source: &args.matrix, matrices: &matrices, force_similarity: args.similarity, vectors: args.vectors.as_deref() },
    )?;
    let calibrated = target.vectors.as_ref().map(SimilarityConfig::for_vectors).unwrap_or_default();
    let config = SimilarityConfig { use_links: !args.no_links, ..calibrated };
    let threshold = args.threshold.unwrap_or(target.scoring(&engine.classifier, &config)?.threshold());
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut mapper = Mapper { args, engine, target, config, threshold };
    let mut failed = 0;
    for (i, input) in plan.inputs.iter().enumerate() {
        if args.lines {
            failed += classify_lines(&mut mapper, input)?;
            continue;
        }
        let out = plan.outputs.as_ref().map(|o| o[i].as_path());
        match classify_one(&mut mapper, input, out) {
            // Standard output failing (a closed pipe) ends the run: no later input could be
            // written either.
            Ok(Some(text)) => emit(&text)?,
            Ok(None) => {}
            Err(e) => {
                eprintln!("error: {input}: {e:#}");
                failed += 1;
            }
        }
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Writes one rendered mapping to standard output and flushes it.
fn emit(out: &str) -> Result<()> {
    let mut so = std::io::stdout().lock();
    so.write_all(out.as_bytes())?;
    so.flush()?;
    Ok(())
}

/// Maps one input and writes it to `out_file`, or returns what to print.
fn classify_one(m: &mut Mapper, input: &Input, out_file: Option<&Path>) -> Result<Option<String>> {
    let mut bytes = Vec::new();
    input.open()?.read_to_end(&mut bytes).with_context(|| format!("cannot read {input}"))?;
    let name = input.file_name();
    let text = extract_text(&bytes, InputKind::detect(name.as_deref(), &bytes))?;
    drop(bytes);
    let label = name.unwrap_or_else(|| "stdin".into());
    let show = std::io::stderr().is_terminal() || text.len() > 200_000;
    let mut progress = |done: usize, total: usize| {
        if show {
            eprint!("\r{label}: {done}/{total} sentences");
            if done == total {
                eprintln!();
            }
        }
    };
    let (mapping, release) = m.map(&text, &mut progress)?;
    let source = Source { input, line: None };
    let out = render(m.args, &m.target.matrix, &mapping, release.as_ref(), &text, &source, m.threshold)?;
    match out_file {
        Some(path) => {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .create_new(!m.args.force)
                .open(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            f.write_all(out.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("{input}: {} techniques -> {}", mapping.detected(m.threshold).count(), path.display());
            Ok(None)
        }
        None => Ok(Some(out)),
    }
}

/// `--lines`: maps every non-blank line of `input` as a report of its own, one JSON line
/// out per line in. Returns how many lines failed (each reported on stderr); an input that
/// cannot be read counts as one failure.
fn classify_lines(m: &mut Mapper, input: &Input) -> Result<usize> {
    let mut reader = match input.open() {
        Ok(r) => BufReader::new(r),
        Err(e) => {
            eprintln!("error: {input}: {e:#}");
            return Ok(1);
        }
    };
    let mut failed = 0;
    let mut buf = Vec::new();
    for number in 1.. {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                eprintln!("error: {input}: cannot read line {number}: {e}");
                return Ok(failed + 1);
            }
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let result = extract_text(&buf, InputKind::Text).map_err(anyhow::Error::from).and_then(|text| {
            let (mapping, release) = m.map(&text, &mut |_, _| {})?;
            render(m.args, &m.target.matrix, &mapping, release.as_ref(), &text, &Source { input, line: Some(number) }, m.threshold)
        });
        match result {
            Ok(out) => emit(&out)?,
            Err(e) => {
                eprintln!("error: {input}: line {number}: {e:#}");
                failed += 1;
            }
        }
    }
    Ok(failed)
}

/// Which input (and line of it) a mapping is of.
struct Source<'a> {
    input: &'a Input,
    line: Option<usize>,
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
    /// How it was detected, for a mapping onto another Enterprise release.
    #[serde(skip_serializing_if = "Option::is_none")]
    detected_by: Option<String>,
    evidence: Vec<JsonEvidence<'a>>,
}

#[derive(Serialize)]
struct JsonMapping<'a> {
    /// The input as given (`-` for standard input); JSON lines only.
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<String>,
    /// The input's line (from 1), with --lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    report: &'a str,
    /// The matrix and its release, e.g. "Enterprise ATT&CK 18.1".
    matrix: String,
    sentences: usize,
    threshold: f32,
    techniques: Vec<JsonTechnique<'a>>,
    /// Classifier labels the release has no technique for.
    #[serde(skip_serializing_if = "Option::is_none")]
    dropped_labels: Option<String>,
}

fn render(
    args: &Args,
    matrix: &Matrix,
    mapping: &ReportMapping,
    release: Option<&ReleaseMapping>,
    text: &str,
    source: &Source,
    threshold: f32,
) -> Result<String> {
    let title = &source.input.stem();
    Ok(match args.format {
        Format::Layer => {
            let opts = LayerOptions { name: title.to_string(), threshold, top_evidence: args.top_evidence };
            match release {
                Some(r) => release_layer(matrix, r, text, &opts)?.to_json_pretty() + "\n",
                None => report_layer(matrix, mapping, text, &opts)?.to_json_pretty() + "\n",
            }
        }
        Format::Json | Format::Jsonl => {
            let techniques = mapping
                .detected(threshold)
                .map(|t| JsonTechnique {
                    id: &t.id,
                    name: &t.name,
                    score: t.score_100(),
                    detected_by: release.map(|r| r.describe(&t.id)),
                    evidence: t
                        .evidence
                        .iter()
                        .filter(|e| e.score >= threshold)
                        .take(args.top_evidence.max(1))
                        .map(|e| JsonEvidence { start: e.start, end: e.end, score: e.score, text: &text[e.start..e.end] })
                        .collect(),
                })
                .collect();
            let jsonl = args.format == Format::Jsonl;
            let json = JsonMapping {
                input: jsonl.then(|| source.input.to_string()),
                line: source.line,
                report: title,
                matrix: format!("{} {}", matrix.name, matrix.version).trim().to_string(),
                sentences: mapping.sentences,
                threshold,
                techniques,
                dropped_labels: release.filter(|r| !r.dropped.is_empty()).map(ReleaseMapping::dropped_text),
            };
            if jsonl {
                serde_json::to_string(&json)? + "\n"
            } else {
                serde_json::to_string_pretty(&json)? + "\n"
            }
        }
        Format::Table => {
            let mut s = format!("{title}: {} sentences, threshold {threshold:.2}, {} {}\n", mapping.sentences, matrix.name, matrix.version);
            s += &format!("{:<10} {:>5} {:>4}  {:<40} {}\n", "ID", "SCORE", "EVID", "NAME", "TOP EVIDENCE");
            for t in mapping.detected(threshold) {
                let n = t.evidence.iter().filter(|e| e.score >= threshold).count();
                let top = t.evidence.first().map(|e| text[e.start..e.end].split_whitespace().collect::<Vec<_>>().join(" ")).unwrap_or_default();
                let top: String = top.chars().take(100).collect();
                let similarity = release.is_some_and(|r| r.methods.get(&t.id) == Some(&ttpmap_mapper::release::Method::Similarity));
                let name: String = t.name.chars().take(if similarity { 27 } else { 40 }).collect();
                let name = if similarity { format!("{name} (similarity)") } else { name };
                s += &format!("{:<10} {:>5} {:>4}  {:<40} {}\n", t.id, t.score_100(), n, name, top);
            }
            s
        }
    })
}
