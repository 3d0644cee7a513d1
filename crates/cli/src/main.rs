//! `ttpmap`: the command-line shell around the ttpmap crates. Each subcommand lives in its
//! own module under `cmd/`; this file only parses arguments and dispatches.

mod cmd;
mod matrix_source;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Map threat-intelligence report text to MITRE ATT&CK techniques.
///
/// ttpmap reads a threat report, finds the sentences that describe adversary behaviour and
/// maps them to ATT&CK techniques (Enterprise ATT&CK, or the Azure and Kubernetes threat
/// matrices), with the evidence sentences for each. Results export as ATT&CK Navigator
/// layers. Everything runs locally: report text never leaves the machine.
#[derive(Debug, Parser)]
#[command(name = "ttpmap", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build the compact matrix files (public/matrices) from the ATT&CK STIX bundles.
    Matrices(cmd::matrices::Args),
    /// Check or summarise ATT&CK Navigator layer files.
    #[command(subcommand)]
    Layer(cmd::layer::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Matrices(args) => cmd::matrices::run(args),
        Command::Layer(command) => cmd::layer::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
