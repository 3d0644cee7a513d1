//! The GPU backend of the ttpmap encoder: the same BERT forward pass as
//! `ttpmap_mapper::bert::Encoder` (embeddings, attention with the padding mask, GELU
//! feed-forward, layer norms, mean pooling), written as WGSL compute shaders run through
//! wgpu: the browser's WebGPU on wasm32, Vulkan natively (Mesa lavapipe in tests).
//!
//! Everything is async because the browser cannot block, and every failure (no adapter,
//! device loss, validation, out of memory) is a [`GpuError`], so callers fall back to the
//! CPU encoder instead of crashing. Results match the CPU path within float rounding.
//!
//! ```ignore
//! let files = ModelFiles::verify(manifest, gguf, tokenizer)?;
//! let LoadedModel { classifier, tensors } = Classifier::from_files(&files, WeightFormat::F32)?;
//! let gpu = GpuEncoder::new(classifier.manifest.encoder.clone(), &tensors).await.ok();
//! let probs = match &gpu {
//!     Some(gpu) => ttpmap_gpu::sentence_probs(gpu, &classifier, &sentences, batch).await?,
//!     None => classifier.sentence_probs(&sentences, batch)?,
//! };
//! ```

mod context;
mod encoder;
mod error;
mod pipelines;
mod readback;
mod report;
mod weights;
mod workspace;

pub use context::PowerPreference;
pub use encoder::{EmbeddingLookup, GpuEncoder, GpuOptions};
pub use error::GpuError;
pub use report::{map_report, map_report_with_fallback, map_with_fallback, sentence_probs, Backend, Fallback, Scorer};
