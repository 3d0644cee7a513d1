//! The subcommands, one module each: argument struct plus a `run` function returning the
//! process exit code.

pub mod layer;
pub mod matrices;
