//! `ttpmap vectors [BUNDLE...]`: precompute the technique vectors of matrices the classifier
//! was not trained on, for the similarity mapping. Without arguments it builds those of the
//! shipped ATRM and TMFK (bundles in the checkout's data/attack) into the checkout's
//! public/matrices, stamped with the model's and the bundle's
//! sha256 so that a stale file is refused.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};

use super::model::{self, ModelArgs};
use crate::engine::{compute_with_progress, vectors_path};
use crate::matrix_source::{load_matrix_file_with_examples, MATRICES_DIR};
use crate::shipped;

/// The bundles whose vectors ship with ttpmap (file names in --data).
pub const SHIPPED: [&str; 2] = ["atrm_attack_compatible.json", "tmfk_attack_compatible.json"];

/// Precompute technique vectors for the similarity mapping.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// STIX bundles (default: the shipped ATRM and TMFK bundles in --data).
    #[arg(value_name = "BUNDLE")]
    bundles: Vec<PathBuf>,
    /// Folder with the shipped bundles (default: data/attack in the ttpmap checkout this
    /// binary was built from).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Folder to write <matrix id>.vectors.json to (default: public/matrices in the ttpmap
    /// checkout this binary was built from).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Leave procedure examples out of the prototypes (to calibrate the score map of
    /// matrices that have none, such as ATRM and TMFK, on Enterprise).
    #[arg(long)]
    no_examples: bool,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let bundles: Vec<PathBuf> = if args.bundles.is_empty() {
        let data = shipped::or_in_checkout(args.data.as_deref(), "data/attack", "--data")?;
        SHIPPED.iter().map(|f| data.join(f)).collect()
    } else {
        args.bundles.clone()
    };
    let out = shipped::output_in_checkout(args.out.as_deref(), MATRICES_DIR, "--out")?;
    let classifier = model::load(args.model.dir.as_deref())?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for bundle in &bundles {
        let f = load_matrix_file_with_examples(bundle)?;
        let started = Instant::now();
        let examples = if args.no_examples { Default::default() } else { f.examples };
        let mut v = compute_with_progress(&classifier, &f.matrix, &examples, &f.sha256)?;
        let secs = started.elapsed().as_secs_f64();
        v.meta.built_by = format!(
            "ttpmap {} (`ttpmap vectors`) from {}",
            env!("CARGO_PKG_VERSION"),
            bundle.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        );
        let json = v.to_json();
        let path = vectors_path(&out, &f.matrix.id);
        std::fs::write(&path, &json).with_context(|| format!("writing {}", path.display()))?;
        println!(
            "{}: {} techniques, {} prototype vectors in {secs:.1} s ({:.0} texts/s) -> {} ({} KiB)",
            f.matrix.id,
            v.techniques.len(),
            v.rows(),
            v.rows() as f64 / secs.max(1e-9),
            path.display(),
            json.len().div_ceil(1024)
        );
    }
    Ok(ExitCode::SUCCESS)
}
