//! The technique classifier: encoder + linear head over mean-pooled sentence vectors,
//! loaded from the shipped quantized GGUF file, tokenizer.json and manifest.json.
//!
//! Loading verifies each file against the sha256 in the manifest, then dequantizes the
//! weights to f32 once (small download, fast compute). Scoring is pure: text in, numbers out.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Module, Tensor};
use candle_nn::Linear;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::mapping::{rescale, AggregateConfig, Aggregation, MappingBuilder};
use crate::run::MappingRun;
use crate::bert::{mean_pool, BertConfig, Encoder, QuantizedWeights};
use crate::tokenize::{length_batches, TokenizeError, Window, WindowConfig, WordPiece};

/// Names of the classification head's tensors in the GGUF file.
pub const HEAD_WEIGHT: &str = "head.weight";
pub const HEAD_BIAS: &str = "head.bias";

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

/// Per label index, the label's own threshold from `manifest.label_thresholds`; an unknown
/// ID or a threshold outside 0..1 is a bad manifest.
fn own_thresholds(manifest: &Manifest) -> Result<Vec<Option<f32>>, ModelError> {
    let mut own = vec![None; manifest.labels.len()];
    for (id, &t) in &manifest.label_thresholds {
        let i = manifest.labels.iter().position(|l| &l.id == id).ok_or_else(|| ModelError::Manifest(format!("label_thresholds names {id}, which is not a label")))?;
        if !(t > 0.0 && t < 1.0) {
            return Err(ModelError::Manifest(format!("label_thresholds gives {id} the threshold {t}, outside 0..1")));
        }
        own[i] = Some(t);
    }
    Ok(own)
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
    fn need(&self, name: &str) -> Result<&[u8], ModelError> {
        self.get(name).ok_or_else(|| ModelError::Manifest(format!("{name} was not given (or the manifest does not list it)")))
    }
}

/// A classifier and the f32 weights of its encoder, which the GPU encoder uploads
/// (candle's tensors are reference-counted: with [`WeightFormat::F32`] the classifier
/// shares them).
pub struct LoadedModel {
    pub classifier: Classifier,
    pub tensors: HashMap<String, Tensor>,
}

/// Lower-case hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads every tensor of a GGUF file, dequantized to f32.
pub fn read_gguf_f32(bytes: &[u8], device: &Device) -> Result<HashMap<String, Tensor>, ModelError> {
    Ok(read_gguf(bytes, WeightFormat::F32, device)?.0)
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

/// Whether a tensor is an encoder dense layer's weight matrix (what [`WeightFormat::Q8`]
/// keeps quantized).
fn is_dense_weight(name: &str) -> bool {
    name.starts_with("encoder.layer.") && name.ends_with("dense.weight")
        || ["query", "key", "value"].iter().any(|p| name.ends_with(&format!("attention.self.{p}.weight")))
}

/// Reads a GGUF file for `format`: the encoder's dense weight matrices stay quantized
/// for [`WeightFormat::Q8`] when the file holds them as Q8_0; everything else (and
/// everything for [`WeightFormat::F32`]) is dequantized to f32.
pub fn read_gguf(bytes: &[u8], format: WeightFormat, device: &Device) -> Result<(HashMap<String, Tensor>, QuantizedWeights), ModelError> {
    let mut cur = Cursor::new(bytes);
    let content = gguf_file::Content::read(&mut cur).map_err(|e| ModelError::Weights(e.to_string()))?;
    let mut f32s = HashMap::new();
    let mut quantized = QuantizedWeights::new();
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    for name in names {
        let q = content.tensor(&mut cur, name, device).map_err(|e| ModelError::Weights(format!("{name}: {e}")))?;
        if format == WeightFormat::Q8 && is_dense_weight(name) && q.dtype() == candle_core::quantized::GgmlDType::Q8_0 {
            quantized.insert(name.clone(), std::sync::Arc::new(q));
        } else {
            f32s.insert(name.clone(), q.dequantize(device)?);
        }
    }
    Ok((f32s, quantized))
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

/// The loaded classifier.
pub struct Classifier {
    pub manifest: Manifest,
    encoder: Encoder,
    head: Linear,
    tokenizer: WordPiece,
    device: Device,
    /// Per label index, its own threshold where the manifest gives one.
    own_thresholds: Vec<Option<f32>>,
}

impl Classifier {
    /// The one way to build the classifier from model files: `files` checked against
    /// their manifest, the encoder's dense layers held as `format`. Also returns the f32
    /// weights (for the GPU encoder); a caller that has no use for them drops them.
    pub fn from_files(files: &ModelFiles, format: WeightFormat) -> Result<LoadedModel, ModelError> {
        let (weights, tokenizer) = (files.need(Manifest::WEIGHTS)?, files.need(Manifest::TOKENIZER)?);
        let manifest = files.manifest().clone();
        let tensors = read_gguf_f32(weights, &Device::Cpu)?;
        let classifier = match format {
            // Q8 keeps the file's blocks, which the f32 tensors no longer have.
            WeightFormat::Q8 => {
                let (f32s, quantized) = read_gguf(weights, format, &Device::Cpu)?;
                Self::from_parts(manifest, &f32s, &quantized, format, tokenizer)?
            }
            WeightFormat::F32 | WeightFormat::I16 => Self::from_parts(manifest, &tensors, &QuantizedWeights::new(), format, tokenizer)?,
        };
        Ok(LoadedModel { classifier, tensors })
    }

    /// Builds the classifier from f32 tensors that come from no file (the training run's,
    /// the parity tests'), computing in f32.
    pub fn from_tensors(manifest: Manifest, tensors: &HashMap<String, Tensor>, tokenizer_json: &[u8]) -> Result<Self, ModelError> {
        Self::from_parts(manifest, tensors, &QuantizedWeights::new(), WeightFormat::F32, tokenizer_json)
    }

    /// Builds the classifier from model files already verified against the manifest.
    #[deprecated(note = "use Classifier::from_files; kept for the browser worker until it moves, then removed")]
    pub fn from_verified(manifest: Manifest, gguf: &[u8], tokenizer_json: &[u8], format: WeightFormat) -> Result<Self, ModelError> {
        let (tensors, quantized) = read_gguf(gguf, format, &Device::Cpu)?;
        Self::from_parts(manifest, &tensors, &quantized, format, tokenizer_json)
    }

    /// Builds the classifier from f32 tensors with the dense layers computing in `format`.
    #[deprecated(note = "use Classifier::from_files; kept for the browser worker until it moves, then removed")]
    pub fn from_tensors_as(manifest: Manifest, tensors: &HashMap<String, Tensor>, tokenizer_json: &[u8], format: WeightFormat) -> Result<Self, ModelError> {
        Self::from_parts(manifest, tensors, &QuantizedWeights::new(), format, tokenizer_json)
    }

    fn from_parts(manifest: Manifest, tensors: &HashMap<String, Tensor>, quantized: &QuantizedWeights, format: WeightFormat, tokenizer_json: &[u8]) -> Result<Self, ModelError> {
        let device = Device::Cpu;
        let encoder = match format {
            WeightFormat::I16 => Encoder::from_tensors_int8(manifest.encoder.clone(), tensors)?,
            WeightFormat::F32 | WeightFormat::Q8 => Encoder::from_tensors_quantized(manifest.encoder.clone(), tensors, quantized)?,
        };
        let get = |n: &str| tensors.get(n).cloned().ok_or_else(|| ModelError::Weights(format!("missing tensor {n}")));
        let head = Linear::new(get(HEAD_WEIGHT)?, Some(get(HEAD_BIAS)?));
        let (rows, _) = head.weight().dims2()?;
        if rows != manifest.labels.len() {
            return Err(ModelError::Weights(format!("head has {rows} rows but the manifest {} labels", manifest.labels.len())));
        }
        let tokenizer = WordPiece::from_bytes(tokenizer_json)?;
        let own_thresholds = own_thresholds(&manifest)?;
        Ok(Self { manifest, encoder, head, tokenizer, device, own_thresholds })
    }

    /// Replaces the per-label thresholds (see [`Manifest::label_thresholds`]); with none,
    /// the probabilities are the head's own, which is what `ttpmap calibrate` fits on.
    pub fn set_label_thresholds(&mut self, thresholds: BTreeMap<String, f32>) -> Result<(), ModelError> {
        let mut manifest = self.manifest.clone();
        manifest.label_thresholds = thresholds;
        self.own_thresholds = own_thresholds(&manifest)?;
        self.manifest = manifest;
        Ok(())
    }

    /// `agg` with this model's aggregation rule: the one its threshold was calibrated for.
    pub fn aggregate_config(&self, agg: AggregateConfig) -> AggregateConfig {
        AggregateConfig { rule: self.manifest.aggregation, ..agg }
    }

    /// A [`MappingBuilder`] over this model's labels that scores reports with this model's
    /// aggregation rule; use it rather than `MappingBuilder::new` when feeding this model's
    /// sentence probabilities by hand (as the GPU path does), so the rule cannot be missed.
    pub fn mapping_builder(&self, agg: AggregateConfig) -> MappingBuilder {
        MappingBuilder::new(self.labels(), self.aggregate_config(agg))
    }

    /// A [`MappingRun`] over `text` with this model's labels, rule and threshold, for
    /// callers that score its sentences themselves (the GPU path, the browser worker).
    pub fn mapping_run<'t>(&self, text: &'t str, agg: AggregateConfig) -> MappingRun<'t> {
        MappingRun::with_builder(text, self.mapping_builder(agg), self.manifest.threshold)
    }

    pub fn labels(&self) -> &[Label] {
        &self.manifest.labels
    }

    pub fn tokenizer(&self) -> &WordPiece {
        &self.tokenizer
    }

    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Encoder inputs for these sentences (long ones windowed). Sentences made only of
    /// indicators (`segment::has_words` is false: hashes, URLs, IPs, numbers, dates) get
    /// no window, so no encoder work, and score 0 for every label.
    pub fn windows<S: AsRef<str>>(&self, sentences: &[S]) -> Result<Vec<Window>, ModelError> {
        let keep: Vec<usize> = (0..sentences.len()).filter(|&i| crate::segment::has_words(sentences[i].as_ref())).collect();
        let texts: Vec<&str> = keep.iter().map(|&i| sentences[i].as_ref()).collect();
        let mut windows = self.tokenizer.windows(&texts, self.manifest.window.into())?;
        for w in &mut windows {
            w.sentence = keep[w.sentence];
        }
        Ok(windows)
    }

    /// Mean-pooled vectors `[windows, hidden]` for a set of windows, in window order.
    pub fn pooled(&self, windows: &[Window], batch: BatchConfig) -> Result<Vec<Vec<f32>>, ModelError> {
        let mut out = vec![Vec::new(); windows.len()];
        for b in length_batches(windows, batch.max_rows, batch.max_tokens) {
            let rows = b.windows.len();
            let ids = Tensor::from_vec(b.ids, (rows, b.seq_len), &self.device)?;
            let mask = Tensor::from_vec(b.mask, (rows, b.seq_len), &self.device)?;
            let pooled = mean_pool(&self.encoder.forward(&ids, &mask)?, &mask)?.to_vec2::<f32>()?;
            for (w, v) in b.windows.into_iter().zip(pooled) {
                out[w] = v;
            }
        }
        Ok(out)
    }

    /// Label probabilities (sigmoid of the head) for pooled vectors.
    pub fn head_probs(&self, pooled: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, ModelError> {
        if pooled.is_empty() {
            return Ok(Vec::new());
        }
        let dim = pooled[0].len();
        let flat: Vec<f32> = pooled.iter().flatten().copied().collect();
        let x = Tensor::from_vec(flat, (pooled.len(), dim), &self.device)?;
        let mut probs = candle_nn::ops::sigmoid(&self.head.forward(&x)?)?.to_vec2::<f32>()?;
        if self.own_thresholds.iter().any(Option::is_some) {
            for row in &mut probs {
                for (p, own) in row.iter_mut().zip(&self.own_thresholds) {
                    if let Some(own) = own {
                        *p = rescale(*p, *own, self.manifest.threshold);
                    }
                }
            }
        }
        Ok(probs)
    }

    /// Dense label probabilities per sentence: the max over a sentence's windows.
    pub fn sentence_probs<S: AsRef<str>>(&self, sentences: &[S], batch: BatchConfig) -> Result<Vec<Vec<f32>>, ModelError> {
        let windows = self.windows(sentences)?;
        let probs = self.head_probs(&self.pooled(&windows, batch)?)?;
        let mut out = vec![vec![0f32; self.manifest.labels.len()]; sentences.len()];
        for (w, p) in windows.iter().zip(probs) {
            for (o, v) in out[w.sentence].iter_mut().zip(p) {
                *o = o.max(v);
            }
        }
        Ok(out)
    }
}
