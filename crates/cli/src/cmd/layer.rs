//! `ttpmap layer validate|summary|upgrade`: checks Navigator layer files against the layer
//! rules (and a matrix), lists what a layer scores, and upgrades a layer made for an older
//! ATT&CK release to a matrix (revoked IDs moved to their successors).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ttpmap_attack::{parse_layers, Layer, Matrix};

use crate::matrix_source::{Matrices, MatrixSource};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Check a layer file; exits with 1 when a layer breaks a rule.
    Validate(ValidateArgs),
    /// List a layer's techniques by score.
    Summary(SummaryArgs),
    /// Upgrade a layer made for an older ATT&CK release to a matrix: revoked techniques
    /// moved to their successors, retired ones removed; prints the layer, and on stderr
    /// what moved and what has no successor.
    Upgrade(UpgradeArgs),
}

#[derive(Debug, clap::Args)]
pub struct UpgradeArgs {
    /// Layer file: one layer or an array of layers.
    file: PathBuf,
    /// The matrix to upgrade to: enterprise, or an Enterprise ATT&CK bundle / compact
    /// matrix path of the release in use.
    #[arg(long)]
    matrix: MatrixSource,
    /// Folder holding the compact matrices (default: the ones built into ttpmap).
    #[arg(long, value_name = "DIR")]
    matrices_dir: Option<PathBuf>,
    /// Write the upgraded layer(s) here instead of printing them.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    /// Layer file: one layer or an array of layers.
    file: PathBuf,
    /// Also check technique IDs and tactics against this matrix:
    /// enterprise, atrm, tmfk, or a compact matrix / STIX bundle path.
    #[arg(long)]
    matrix: Option<MatrixSource>,
    /// Folder holding the compact matrices (default: the ones built into ttpmap).
    #[arg(long, value_name = "DIR")]
    matrices_dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// Layer file: one layer or an array of layers.
    file: PathBuf,
    /// Matrix to take technique names from: enterprise, atrm, tmfk, or a path.
    #[arg(long)]
    matrix: Option<MatrixSource>,
    /// Folder holding the compact matrices (default: the ones built into ttpmap).
    #[arg(long, value_name = "DIR")]
    matrices_dir: Option<PathBuf>,
}

pub fn run(command: &Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Validate(args) => validate(args),
        Command::Summary(args) => summary(args),
        Command::Upgrade(args) => upgrade(args),
    }
}

fn upgrade(args: &UpgradeArgs) -> anyhow::Result<ExitCode> {
    let mut layers = read_layers(&args.file)?;
    let matrix = args
        .matrix
        .load(&Matrices::new(args.matrices_dir.clone()))
        .with_context(|| format!("loading matrix {}", args.matrix))?;
    let count = layers.len();
    for (i, layer) in layers.iter_mut().enumerate() {
        let up = layer.upgrade_to(&matrix);
        let label = layer_label(i, count, layer);
        if up.is_empty() {
            eprintln!("{label}: already current for {} {}", matrix.name, matrix.version);
            continue;
        }
        let moved: Vec<String> = up.moved.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
        eprintln!("{label}: upgraded to {} {}", matrix.name, matrix.version);
        if !moved.is_empty() {
            eprintln!("  moved: {}", moved.join(", "));
        }
        if !up.retired.is_empty() {
            eprintln!("  no successor (removed): {}", up.retired.join(", "));
        }
    }
    let json = if count == 1 {
        layers[0].to_json_pretty()
    } else {
        ttpmap_attack::layer::layers_to_json_pretty(&layers)
    } + "\n";
    match &args.out {
        Some(path) => std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn read_layers(path: &Path) -> anyhow::Result<Vec<Layer>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_layers(&text).with_context(|| format!("reading {}", path.display()))
}

fn load_matrix(source: Option<&MatrixSource>, dir: Option<&Path>) -> anyhow::Result<Option<Matrix>> {
    let matrices = Matrices::new(dir.map(Path::to_path_buf));
    source
        .map(|s| s.load(&matrices).with_context(|| format!("loading matrix {s}")))
        .transpose()
}

fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let layers = read_layers(&args.file)?;
    let matrix = load_matrix(args.matrix.as_ref(), args.matrices_dir.as_deref())?;
    let against = matrix
        .as_ref()
        .map(|m| format!(" against {}", m.name))
        .unwrap_or_default();
    let mut invalid = 0;
    for (i, layer) in layers.iter().enumerate() {
        let label = layer_label(i, layers.len(), layer);
        match layer.validate(matrix.as_ref()) {
            Ok(()) => println!(
                "{label}: valid{against} ({} technique entries)",
                layer.techniques.len()
            ),
            Err(problems) => {
                invalid += 1;
                println!("{label}: {} problem(s){against}", problems.len());
                for p in problems {
                    println!("  - {p}");
                }
            }
        }
    }
    Ok(if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn summary(args: &SummaryArgs) -> anyhow::Result<ExitCode> {
    let layers = read_layers(&args.file)?;
    let matrix = load_matrix(args.matrix.as_ref(), args.matrices_dir.as_deref())?;
    for (i, layer) in layers.iter().enumerate() {
        print_summary(&layer_label(i, layers.len(), layer), layer, matrix.as_ref());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(label: &str, layer: &Layer, matrix: Option<&Matrix>) {
    let versions = layer
        .versions
        .as_ref()
        .map(|v| {
            format!(
                "ATT&CK {}, layer {}",
                v.attack.as_deref().unwrap_or("-"),
                v.layer.as_deref().unwrap_or("-")
            )
        })
        .unwrap_or_else(|| "no versions".into());
    let mut scored: Vec<_> = layer
        .techniques
        .iter()
        .filter(|t| t.score.is_some())
        .collect();
    scored.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.technique_id.cmp(&b.technique_id))
    });
    println!("{label}");
    println!("  domain {} ({versions})", layer.domain);
    println!(
        "  {} technique entries, {} scored, {} with comments",
        layer.techniques.len(),
        scored.len(),
        layer
            .techniques
            .iter()
            .filter(|t| t.comment.as_deref().is_some_and(|c| !c.is_empty()))
            .count()
    );
    for t in scored {
        let name = matrix
            .and_then(|m| m.technique(&t.technique_id))
            .map(|tech| tech.name.as_str())
            .unwrap_or("");
        println!(
            "  {:>7}  {:<10} {:<20} {}",
            format_score(t.score.unwrap_or_default()),
            t.technique_id,
            t.tactic.as_deref().unwrap_or("(all tactics)"),
            name
        );
    }
}

fn layer_label(i: usize, count: usize, layer: &Layer) -> String {
    if count == 1 {
        format!("layer {:?}", layer.name)
    } else {
        format!("layer {} of {count} {:?}", i + 1, layer.name)
    }
}

fn format_score(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s:.2}")
    }
}
