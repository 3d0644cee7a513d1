//! `ttpmap`: the command-line shell around the ttpmap crates. Each subcommand lives in its
//! own module under `cmd/`; this file only parses arguments and dispatches.

mod cmd;
mod engine;
mod matrix_source;
mod shipped;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Map threat-intelligence report text to MITRE ATT&CK techniques.
///
/// ttpmap reads a threat report, finds the sentences that describe adversary behaviour and
/// maps them to ATT&CK techniques (Enterprise ATT&CK, or the Azure and Kubernetes threat
/// matrices), with the evidence sentences for each. Results export as ATT&CK Navigator
/// layers. Everything runs locally: report text never leaves the machine. The shipped model
/// and matrices are built in, so ttpmap works from any folder.
#[derive(Debug, Parser)]
#[command(name = "ttpmap", version, after_help = cmd::EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Map report files or standard input to ATT&CK techniques (Navigator layer, JSON, JSON
    /// lines or table).
    Classify(cmd::classify::Args),
    /// Score the model on TRAM's annotated reports (report-level precision, recall, F1).
    Eval(cmd::eval::Args),
    /// Measure mapping speed and memory on a fixed report.
    Bench(cmd::bench::Args),
    /// Give techniques a threshold of their own where the model's calibration reports
    /// support one, and write them into its manifest.
    Calibrate(cmd::calibrate::Args),
    /// Rebuild the shipped classifier from the repository's data/ and the base encoder.
    Train(cmd::train::Args),
    /// Build the compact matrix files (public/matrices) from the ATT&CK STIX bundles.
    Matrices(cmd::matrices::Args),
    /// Precompute technique vectors (similarity mapping) for ATRM, TMFK or a STIX bundle.
    Vectors(cmd::vectors::Args),
    /// Check or summarise ATT&CK Navigator layer files.
    #[command(subcommand)]
    Layer(cmd::layer::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Classify(args) => cmd::classify::run(args),
        Command::Eval(args) => cmd::eval::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Train(args) => cmd::train::run(args),
        Command::Calibrate(args) => cmd::calibrate::run(args),
        Command::Matrices(args) => cmd::matrices::run(args),
        Command::Vectors(args) => cmd::vectors::run(args),
        Command::Layer(command) => cmd::layer::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<cmd::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
