//! The BERT encoder (all-MiniLM-L6-v2 shape) as a plain forward pass over candle tensors.
//!
//! One implementation serves training and inference: weights come from a name -> tensor map
//! (f32, possibly backed by trainable `Var`s), and the `train` flag picks candle's
//! differentiable layer-norm and softmax (the fast fused kernels have no backward pass).
//! Layers can be run in ranges so that training can cache the output of frozen lower layers.

use std::collections::HashMap;
use std::ops::Range;

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::Linear;

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

/// A layer norm whose forward pass is differentiable when asked to be.
#[derive(Debug, Clone)]
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Norm {
    fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if train {
            candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps)
        } else {
            candle_nn::ops::layer_norm(&x.contiguous()?, &self.weight, &self.bias, self.eps)
        }
    }
}

#[derive(Debug, Clone)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    intermediate: Linear,
    output: Linear,
    out_norm: Norm,
}

/// The encoder: embeddings and transformer layers, no pooler (sentence vectors are mean-pooled).
#[derive(Debug, Clone)]
pub struct Encoder {
    cfg: BertConfig,
    word: Tensor,
    position: Tensor,
    token_type0: Tensor,
    embed_norm: Norm,
    layers: Vec<Layer>,
}

/// Names of every tensor the encoder reads, in a stable order (what export writes).
pub fn tensor_names(cfg: &BertConfig) -> Vec<String> {
    let mut names = vec![
        "embeddings.word_embeddings.weight".to_string(),
        "embeddings.position_embeddings.weight".to_string(),
        "embeddings.token_type_embeddings.weight".to_string(),
        "embeddings.LayerNorm.weight".to_string(),
        "embeddings.LayerNorm.bias".to_string(),
    ];
    for i in 0..cfg.num_hidden_layers {
        names.extend(layer_tensor_names(i));
    }
    names
}

/// Names of the tensors of encoder layer `i`.
pub fn layer_tensor_names(i: usize) -> Vec<String> {
    let p = format!("encoder.layer.{i}");
    [
        "attention.self.query.weight",
        "attention.self.query.bias",
        "attention.self.key.weight",
        "attention.self.key.bias",
        "attention.self.value.weight",
        "attention.self.value.bias",
        "attention.output.dense.weight",
        "attention.output.dense.bias",
        "attention.output.LayerNorm.weight",
        "attention.output.LayerNorm.bias",
        "intermediate.dense.weight",
        "intermediate.dense.bias",
        "output.dense.weight",
        "output.dense.bias",
        "output.LayerNorm.weight",
        "output.LayerNorm.bias",
    ]
    .iter()
    .map(|s| format!("{p}.{s}"))
    .collect()
}

fn get(t: &HashMap<String, Tensor>, name: &str) -> Result<Tensor> {
    t.get(name)
        .cloned()
        .ok_or_else(|| candle_core::Error::Msg(format!("model weights lack tensor {name}")))
}

fn linear(t: &HashMap<String, Tensor>, prefix: &str) -> Result<Linear> {
    Ok(Linear::new(get(t, &format!("{prefix}.weight"))?, Some(get(t, &format!("{prefix}.bias"))?)))
}

fn norm(t: &HashMap<String, Tensor>, prefix: &str, eps: f64) -> Result<Norm> {
    Ok(Norm {
        weight: get(t, &format!("{prefix}.weight"))?,
        bias: get(t, &format!("{prefix}.bias"))?,
        eps: eps as f32,
    })
}

impl Encoder {
    /// Builds the encoder from f32 tensors named as in the Hugging Face BERT checkpoint.
    pub fn from_tensors(cfg: BertConfig, t: &HashMap<String, Tensor>) -> Result<Self> {
        let eps = cfg.layer_norm_eps;
        let token_type0 = get(t, "embeddings.token_type_embeddings.weight")?.get(0)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: linear(t, &format!("{p}.attention.self.query"))?,
                key: linear(t, &format!("{p}.attention.self.key"))?,
                value: linear(t, &format!("{p}.attention.self.value"))?,
                attn_out: linear(t, &format!("{p}.attention.output.dense"))?,
                attn_norm: norm(t, &format!("{p}.attention.output.LayerNorm"), eps)?,
                intermediate: linear(t, &format!("{p}.intermediate.dense"))?,
                output: linear(t, &format!("{p}.output.dense"))?,
                out_norm: norm(t, &format!("{p}.output.LayerNorm"), eps)?,
            });
        }
        Ok(Self {
            word: get(t, "embeddings.word_embeddings.weight")?,
            position: get(t, "embeddings.position_embeddings.weight")?,
            token_type0,
            embed_norm: norm(t, "embeddings.LayerNorm", eps)?,
            layers,
            cfg,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// Token ids `[batch, seq]` (u32) to embeddings `[batch, seq, hidden]`.
    pub fn embed(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        let (_b, seq) = ids.dims2()?;
        let words = self.word.embedding(&ids.flatten_all()?)?.reshape((_b, seq, self.cfg.hidden_size))?;
        let pos = self.position.narrow(0, 0, seq)?;
        let x = words.broadcast_add(&pos)?.broadcast_add(&self.token_type0)?;
        self.embed_norm.forward(&x, train)
    }

    /// Runs layers `range` over hidden states `[batch, seq, hidden]`; `mask` is `[batch, seq]`
    /// f32 with 1 for real tokens and 0 for padding.
    pub fn run_layers(&self, hidden: &Tensor, mask: &Tensor, range: Range<usize>, train: bool) -> Result<Tensor> {
        let bias = attention_bias(mask)?;
        let mut h = hidden.clone();
        for layer in &self.layers[range] {
            h = self.layer_forward(layer, &h, &bias, train)?;
        }
        Ok(h)
    }

    /// The whole encoder: ids `[batch, seq]` and mask `[batch, seq]` to `[batch, seq, hidden]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Result<Tensor> {
        let h = self.embed(ids, false)?;
        self.run_layers(&h, mask, 0..self.layers.len(), false)
    }

    fn layer_forward(&self, l: &Layer, x: &Tensor, bias: &Tensor, train: bool) -> Result<Tensor> {
        let (b, t, hsz) = x.dims3()?;
        let nh = self.cfg.num_attention_heads;
        let hd = hsz / nh;
        let heads = |y: Tensor| -> Result<Tensor> { y.reshape((b, t, nh, hd))?.transpose(1, 2)?.contiguous() };
        let q = heads(l.query.forward(x)?)?;
        let k = heads(l.key.forward(x)?)?;
        let v = heads(l.value.forward(x)?)?;
        let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?.broadcast_add(bias)?;
        let probs = if train {
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((b, t, hsz))?;
        let attn = l.attn_norm.forward(&(l.attn_out.forward(&ctx)? + x)?, train)?;
        let inter = l.intermediate.forward(&attn)?.gelu_erf()?;
        l.out_norm.forward(&(l.output.forward(&inter)? + attn)?, train)
    }
}

/// `[batch, seq]` 0/1 mask to an additive attention bias `[batch, 1, 1, seq]`.
fn attention_bias(mask: &Tensor) -> Result<Tensor> {
    let (b, t) = mask.dims2()?;
    ((mask.to_dtype(DType::F32)? - 1.0)? * 10_000.0)?.reshape((b, 1, 1, t))
}

/// Mean of the hidden states over real (unmasked) tokens: `[batch, seq, hidden]` -> `[batch, hidden]`.
pub fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let m = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
    let summed = hidden.broadcast_mul(&m)?.sum(1)?;
    let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
    summed.broadcast_div(&counts)
}
