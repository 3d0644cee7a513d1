//! The one error type of the GPU backend. Every failure is an `Err`, never a panic, so a
//! caller can log it and fall back to the CPU encoder.

use ttpmap_mapper::ModelError;

/// Why the GPU encoder could not be created or could not encode a batch.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No WebGPU / Vulkan adapter is available (no `navigator.gpu`, no driver, no ICD).
    #[error("no GPU adapter available: {0}")]
    NoAdapter(String),
    /// The adapter refused to create a device with the limits the encoder needs.
    #[error("cannot create a GPU device: {0}")]
    Device(String),
    /// The model's shape or the adapter's limits are outside what the shaders support.
    #[error("unsupported on this GPU: {0}")]
    Unsupported(String),
    /// A weight tensor is missing or has the wrong shape.
    #[error("model weights are not valid for the GPU encoder: {0}")]
    Weights(String),
    /// The input cannot be encoded (a token id outside the vocabulary, a window longer than
    /// the position table).
    #[error("invalid encoder input: {0}")]
    Input(String),
    /// wgpu reported a validation error: a bug in this crate or in the driver.
    #[error("GPU validation error: {0}")]
    Validation(String),
    /// The GPU ran out of memory; smaller batches may help.
    #[error("GPU out of memory: {0}")]
    OutOfMemory(String),
    /// Reading the results back from the GPU failed.
    #[error("reading results back from the GPU failed: {0}")]
    Readback(String),
    /// The device was lost (driver reset, tab in background, GPU removed); the encoder is
    /// unusable and must be recreated or replaced by the CPU path.
    #[error("GPU device lost: {0}")]
    Lost(String),
    /// The CPU side of the model (tokenizer, head) failed.
    #[error(transparent)]
    Model(#[from] ModelError),
}
