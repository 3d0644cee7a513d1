//! The subcommands, one module each: argument struct plus a `run` function returning the
//! process exit code.

pub mod bench;
pub mod classify;
pub mod eval;
pub mod layer;
pub mod matrices;
pub mod model;
pub mod train;
pub mod vectors;
