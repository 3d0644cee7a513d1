//! The technique classifier: encoder + linear head over mean-pooled sentence vectors,
//! loaded from the shipped quantized GGUF file and tokenizer.json, described by its
//! manifest ([`crate::manifest`]).
//!
//! Loading takes the files only once checked against the manifest's sha256
//! ([`ModelFiles`]), then dequantizes the weights to f32 once (small download, fast
//! compute). Scoring is pure: text in, numbers out. Behind the crate's `model` feature
//! (candle and the tokenizer).

use std::collections::{BTreeMap, HashMap};
use std::io::Cursor;

use candle_core::quantized::gguf_file;
use candle_core::{Device, Module, Tensor};
use candle_nn::Linear;

use crate::bert::{mean_pool, Encoder, QuantizedWeights};
use crate::mapping::{rescale, AggregateConfig, MappingBuilder};
use crate::run::MappingRun;
use crate::tokenize::{length_batches, Window, WordPiece};

// The model's plain types, where they were before `crate::manifest` held them.
pub use crate::manifest::{sha256_hex, BatchConfig, Label, Manifest, ModelError, ModelFile, ModelFiles, WeightFormat, WindowSettings};

/// Names of the classification head's tensors in the GGUF file.
pub const HEAD_WEIGHT: &str = "head.weight";
pub const HEAD_BIAS: &str = "head.bias";

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

/// A classifier and the f32 weights of its encoder, which the GPU encoder uploads
/// (candle's tensors are reference-counted: with [`WeightFormat::F32`] the classifier
/// shares them).
pub struct LoadedModel {
    pub classifier: Classifier,
    pub tensors: HashMap<String, Tensor>,
}

/// Reads every tensor of a GGUF file, dequantized to f32.
pub fn read_gguf_f32(bytes: &[u8], device: &Device) -> Result<HashMap<String, Tensor>, ModelError> {
    Ok(read_gguf(bytes, WeightFormat::F32, device)?.0)
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
