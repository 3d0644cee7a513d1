//! The subcommands, one module each: argument struct plus a `run` function returning the
//! process exit code; and the exit codes they share.

pub mod bench;
pub mod calibrate;
pub mod classify;
pub mod eval;
pub mod layer;
pub mod matrices;
pub mod model;
pub mod train;
pub mod vectors;

use std::fmt;

/// The exit codes, as `--help` states them.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success: every input was mapped
  1  failure: some inputs could not be mapped (each reported on stderr, the others were
     still mapped), a layer broke a rule (layer validate), or the command failed
  2  bad usage: invalid flags or arguments, found before any work";

/// A mistake in how ttpmap was called, found before any work: exit code 2, as for the
/// errors clap finds itself.
#[derive(Debug)]
pub struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A [`UsageError`] as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}
