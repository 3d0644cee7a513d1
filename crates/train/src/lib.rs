//! Building the shipped classifier from the repository's data/ and the base encoder: data
//! preparation, fine-tuning with candle on the CPU, calibration, evaluation and export.

pub mod calibrate;
pub mod data;
pub mod export;
pub mod metrics;
pub mod train;
pub mod pipeline;
