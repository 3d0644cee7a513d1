//! What a model is, without running it: its manifest (labels, threshold, report-score
//! rule, the encoder's shape, the files and their sha256), the files checked against it
//! ([`ModelFiles`]), how the encoder holds its weights ([`WeightFormat`]) and batches
//! ([`BatchConfig`]), and the errors of loading and running a model ([`ModelError`]).
//!
//! Plain types with no candle and no tokenizer, so they are there without the crate's
//! `model` feature (the web page reads the manifest and labels); the classifier that runs
//! the model is [`crate::model`], behind that feature.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::mapping::Aggregation;
use crate::tokenize::{TokenizeError, WindowConfig};

/// Errors from loading or running the model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// manifest.json is not valid or not a ttpmap model manifest.
    #[error("model manifest is not valid: {0}")]
    Manifest(String),
    /// A file's sha256 differs from the manifest: a corrupted or tampered download.
    #[error("{file} is corrupted: sha256 {actual} does not match the manifest's {expected}")]
    Checksum { file: String, expected: String, actual: String },
    /// The weights file is not a readable GGUF file or lacks a tensor.
    #[error("model weights are not valid: {0}")]
    Weights(String),
    /// The tokenizer could not be loaded or failed.
    #[error(transparent)]
    Tokenize(#[from] TokenizeError),
    /// The tensor computation failed.
    #[cfg(feature = "model")]
    #[error("model computation failed: {0}")]
    Compute(#[from] candle_core::Error),
    /// A mapping run was fed scores that do not fit its chunk.
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
}

/// A label of the classifier: a technique or sub-technique.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub id: String,
    pub name: String,
}

/// A file of the shipped model with its size and checksum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// manifest.json: what the model is, how it was made, and how well it does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always "ttpmap-model/1".
    pub format: String,
    pub labels: Vec<Label>,
    /// Report-level decision threshold on technique scores, calibrated on held-out reports.
    pub threshold: f32,
    /// How sentence probabilities become a technique's report score; absent in manifests
    /// written before the rule was recorded, which used the best sentence.
    #[serde(default)]
    pub aggregation: Aggregation,
    /// Techniques with a threshold of their own (ID -> threshold on the report score),
    /// calibrated where the held-out reports supported one (`ttpmap calibrate`). The
    /// classifier puts each such label's probabilities on the scale of [`Manifest::threshold`]
    /// ([`rescale`]), so everything downstream (mapping, slider, exports) sees one threshold.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub label_thresholds: BTreeMap<String, f32>,
    pub attack_version: String,
    pub base_model: String,
    pub encoder: BertConfig,
    pub window: WindowSettings,
    pub files: Vec<ModelFile>,
    /// Free-form provenance: data sources, licences, training settings, metrics.
    #[serde(default)]
    pub training: serde_json::Value,
    #[serde(default)]
    pub metrics: serde_json::Value,
    #[serde(default)]
    pub sources: serde_json::Value,
}

/// Serializable form of [`WindowConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowSettings {
    pub max_tokens: usize,
    pub overlap: usize,
}

impl From<WindowSettings> for WindowConfig {
    fn from(w: WindowSettings) -> Self {
        WindowConfig { max_tokens: w.max_tokens, overlap: w.overlap }
    }
}

impl Manifest {
    pub const FORMAT: &'static str = "ttpmap-model/1";
    /// The manifest's own file name in a model folder.
    pub const FILE: &'static str = "manifest.json";
    /// The weights' file name (GGUF).
    pub const WEIGHTS: &'static str = "model.gguf";
    /// The tokenizer's file name.
    pub const TOKENIZER: &'static str = "tokenizer.json";
    /// Every file of a model folder, the manifest first.
    pub const FILES: [&'static str; 3] = [Self::FILE, Self::WEIGHTS, Self::TOKENIZER];

    /// The sha256 the manifest records for the weights: what the model is known by
    /// (technique vectors are stamped with it); empty when it records none.
    pub fn weights_sha256(&self) -> &str {
        self.files.iter().find(|f| f.name == Self::WEIGHTS).map_or("", |f| f.sha256.as_str())
    }

    pub fn from_json(s: &str) -> Result<Self, ModelError> {
        let m: Manifest = serde_json::from_str(s).map_err(|e| ModelError::Manifest(e.to_string()))?;
        if m.format != Self::FORMAT {
            return Err(ModelError::Manifest(format!("format is {:?}, expected {:?}", m.format, Self::FORMAT)));
        }
        if m.labels.is_empty() {
            return Err(ModelError::Manifest("no labels".into()));
        }
        Ok(m)
    }

    /// Checks `bytes` against the manifest's sha256 for `name`.
    pub fn verify(&self, name: &str, bytes: &[u8]) -> Result<(), ModelError> {
        let f = self
            .files
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| ModelError::Manifest(format!("no checksum for {name}")))?;
        let actual = sha256_hex(bytes);
        if actual != f.sha256 {
            return Err(ModelError::Checksum { file: name.into(), expected: f.sha256.clone(), actual });
        }
        Ok(())
    }
}

/// A model's weights and tokenizer, each checked against its manifest's sha256: the only
/// input [`Classifier::from_files`] takes, so no classifier is built from unchecked bytes.
#[derive(Debug, Clone)]
pub struct ModelFiles<'a> {
    manifest: Manifest,
    weights: Option<Cow<'a, [u8]>>,
    tokenizer: Option<Cow<'a, [u8]>>,
}

impl<'a> ModelFiles<'a> {
    /// Checks the weights ([`Manifest::WEIGHTS`]) and the tokenizer ([`Manifest::TOKENIZER`])
    /// against `manifest`.
    pub fn verify(manifest: Manifest, weights: impl Into<Cow<'a, [u8]>>, tokenizer: impl Into<Cow<'a, [u8]>>) -> Result<Self, ModelError> {
        let mut files = Self::new(manifest);
        files.add(Manifest::WEIGHTS, weights)?;
        files.add(Manifest::TOKENIZER, tokenizer)?;
        Ok(files)
    }

    /// No file yet: for a caller that gets the files one at a time ([`ModelFiles::add`]).
    pub fn new(manifest: Manifest) -> Self {
        Self { manifest, weights: None, tokenizer: None }
    }

    /// Checks the file `name` against the manifest's sha256 and keeps it. A file the
    /// classifier does not read (one a newer manifest lists) is checked and not kept.
    pub fn add(&mut self, name: &str, bytes: impl Into<Cow<'a, [u8]>>) -> Result<(), ModelError> {
        let bytes = bytes.into();
        self.manifest.verify(name, &bytes)?;
        match name {
            Manifest::WEIGHTS => self.weights = Some(bytes),
            Manifest::TOKENIZER => self.tokenizer = Some(bytes),
            _ => {}
        }
        Ok(())
    }

    /// The checked bytes of `name` (the weights or the tokenizer), once added.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        match name {
            Manifest::WEIGHTS => self.weights.as_deref(),
            Manifest::TOKENIZER => self.tokenizer.as_deref(),
            _ => None,
        }
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The bytes of a file the classifier needs, or the error naming the missing one.
    #[cfg(feature = "model")]
    pub(crate) fn need(&self, name: &str) -> Result<&[u8], ModelError> {
        self.get(name).ok_or_else(|| ModelError::Manifest(format!("{name} was not given (or the manifest does not list it)")))
    }
}

/// Hyper-parameters of a BERT encoder; `Default` is all-MiniLM-L6-v2.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub layer_norm_eps: f64,
}

impl Default for BertConfig {
    fn default() -> Self {
        Self {
            vocab_size: 30522,
            hidden_size: 384,
            num_hidden_layers: 6,
            num_attention_heads: 12,
            intermediate_size: 1536,
            max_position_embeddings: 512,
            layer_norm_eps: 1e-12,
        }
    }
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// How the encoder's dense layers hold their weights at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// Dequantized to f32 at load (about 90 MB), multiplied by candle's f32 gemm.
    #[default]
    F32,
    /// Kept as the file's Q8_0 blocks (about 22 MB), multiplied by candle's quantized
    /// matmul (activations quantized to Q8_0 per row, integer dot products).
    Q8,
    /// Re-quantized at load to 11-bit integers with one scale per output row (held as
    /// i16, about 21 MB), multiplied by our register-blocked integer kernel
    /// (`crate::int8`: activations quantized to int16 per row, `i32x4.dot_i16x8_s` in wasm).
    I16,
}

impl std::str::FromStr for WeightFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "f32" => Ok(Self::F32),
            "q8" => Ok(Self::Q8),
            "i16" => Ok(Self::I16),
            _ => Err(format!("unknown weight format {s:?} (f32, q8 or i16)")),
        }
    }
}

/// Rows and padded tokens per encoder call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchConfig {
    pub max_rows: usize,
    pub max_tokens: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self { max_rows: 64, max_tokens: 2048 }
    }
}
