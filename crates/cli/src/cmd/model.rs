//! Loading the shipped model (public/model) for the commands that classify.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ttpmap_mapper::{Classifier, Manifest, WeightFormat};

/// Where the shipped model lives, relative to the repository root.
pub const DEFAULT_MODEL_DIR: &str = "public/model";

/// `--model DIR`, shared by the commands that classify.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Folder holding manifest.json, model.gguf and tokenizer.json.
    #[arg(long = "model", value_name = "DIR", default_value = DEFAULT_MODEL_DIR)]
    pub dir: PathBuf,
    /// How the encoder's dense layers hold their weights: `f32` (dequantized at load) or
    /// `q8` (the file's Q8_0 blocks, quantized matmul).
    #[arg(long, value_name = "FORMAT", default_value = "f32")]
    pub weights: WeightFormat,
}

fn read(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let p = dir.join(name);
    std::fs::read(&p).with_context(|| format!("cannot read {} (run from the repository root, or pass --model DIR)", p.display()))
}

/// Reads and verifies the model in `dir`, its dense weights held as `format`.
pub fn load_as(dir: &Path, format: WeightFormat) -> Result<Classifier> {
    let manifest = Manifest::from_json(&String::from_utf8_lossy(&read(dir, "manifest.json")?))?;
    let gguf = read(dir, "model.gguf")?;
    let tok = read(dir, "tokenizer.json")?;
    Classifier::load_as(manifest, &gguf, &tok, format).with_context(|| format!("cannot load the model in {}", dir.display()))
}
