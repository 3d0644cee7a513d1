//! Loading the shipped model (public/model) for the commands that classify.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ttpmap_mapper::{Classifier, Manifest};

/// Where the shipped model lives, relative to the repository root.
pub const DEFAULT_MODEL_DIR: &str = "public/model";

/// `--model DIR`, shared by the commands that classify.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Folder holding manifest.json, model.gguf and tokenizer.json.
    #[arg(long = "model", id = "model", value_name = "DIR", default_value = DEFAULT_MODEL_DIR)]
    pub dir: PathBuf,
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let p = dir.join(name);
    std::fs::read(&p).with_context(|| format!("cannot read {} (run from the repository root, or pass --model DIR)", p.display()))
}

/// Reads and verifies the model in `dir`.
pub fn load(dir: &Path) -> Result<Classifier> {
    let manifest = Manifest::from_json(&String::from_utf8_lossy(&read(dir, "manifest.json")?))?;
    let gguf = read(dir, "model.gguf")?;
    let tok = read(dir, "tokenizer.json")?;
    Classifier::load(manifest, &gguf, &tok).with_context(|| format!("cannot load the model in {}", dir.display()))
}
