//! The BERT encoder (all-MiniLM-L6-v2 shape) as a plain forward pass over candle tensors.
//!
//! One implementation serves training and inference: weights come from a name -> tensor map
//! (f32, possibly backed by trainable `Var`s), and the `train` flag picks candle's
//! differentiable layer-norm and softmax (the fast fused kernels have no backward pass).
//! Layers can be run in ranges so that training can cache the output of frozen lower layers.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor, D};
use candle_nn::Linear;

use crate::int8::IntLinear;

pub use crate::manifest::BertConfig;

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

/// A dense layer `x W^T + b`: f32 weights through candle's gemm, or quantized (Q8_0)
/// weights through candle's quantized matmul, which quantizes `x` per row to Q8_0 and
/// takes integer dot products (inference only: it has no backward pass).
#[derive(Debug, Clone)]
enum Dense {
    F32(Linear),
    Quantized { weight: QMatMul, bias: Tensor },
    /// Our integer kernel (int8 weights, int16 activations; `crate::int8`).
    Int(Arc<IntLinear>),
}

impl Dense {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Dense::F32(l) => l.forward(x),
            Dense::Quantized { weight, bias } => weight.forward(x)?.broadcast_add(bias),
            Dense::Int(l) => x.contiguous()?.apply_op1_no_bwd(l.as_ref()),
        }
    }
}

#[derive(Debug, Clone)]
struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    intermediate: Dense,
    output: Dense,
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

/// Quantized weight matrices by tensor name (see [`Encoder::from_tensors_quantized`]).
pub type QuantizedWeights = HashMap<String, Arc<QTensor>>;

/// How [`Encoder`]'s dense layers compute (the weights' source is the same f32 map).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DenseKind {
    /// f32 gemm, or candle's quantized matmul for the weights found in the quantized map.
    F32OrQuantized,
    /// Our integer kernel over the f32 weights re-quantized per row.
    Int8,
}

fn linear(t: &HashMap<String, Tensor>, q: &QuantizedWeights, kind: DenseKind, prefix: &str) -> Result<Dense> {
    let weight = format!("{prefix}.weight");
    let bias = get(t, &format!("{prefix}.bias"))?;
    if kind == DenseKind::Int8 {
        return Ok(Dense::Int(Arc::new(IntLinear::from_tensors(&get(t, &weight)?, Some(&bias))?)));
    }
    Ok(match q.get(&weight) {
        Some(w) => Dense::Quantized { weight: QMatMul::from_arc(w.clone())?, bias },
        None => Dense::F32(Linear::new(get(t, &weight)?, Some(bias))),
    })
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
        Self::from_tensors_quantized(cfg, t, &QuantizedWeights::new())
    }

    /// Like [`Encoder::from_tensors`], but the dense layers whose weight is in `q` run
    /// as quantized matmuls over it (their biases, the embeddings and the norms stay f32
    /// in `t`). Inference only.
    pub fn from_tensors_quantized(cfg: BertConfig, t: &HashMap<String, Tensor>, q: &QuantizedWeights) -> Result<Self> {
        Self::build(cfg, t, q, DenseKind::F32OrQuantized)
    }

    /// Like [`Encoder::from_tensors`], but every dense layer runs our integer kernel
    /// (`crate::int8`: weights re-quantized to int8 per output row from `t`, activations to
    /// int16 per row at run time). Inference only.
    pub fn from_tensors_int8(cfg: BertConfig, t: &HashMap<String, Tensor>) -> Result<Self> {
        Self::build(cfg, t, &QuantizedWeights::new(), DenseKind::Int8)
    }

    fn build(cfg: BertConfig, t: &HashMap<String, Tensor>, q: &QuantizedWeights, kind: DenseKind) -> Result<Self> {
        let eps = cfg.layer_norm_eps;
        let token_type0 = get(t, "embeddings.token_type_embeddings.weight")?.get(0)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            layers.push(Layer {
                query: linear(t, q, kind, &format!("{p}.attention.self.query"))?,
                key: linear(t, q, kind, &format!("{p}.attention.self.key"))?,
                value: linear(t, q, kind, &format!("{p}.attention.self.value"))?,
                attn_out: linear(t, q, kind, &format!("{p}.attention.output.dense"))?,
                attn_norm: norm(t, &format!("{p}.attention.output.LayerNorm"), eps)?,
                intermediate: linear(t, q, kind, &format!("{p}.intermediate.dense"))?,
                output: linear(t, q, kind, &format!("{p}.output.dense"))?,
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
        let inter = l.intermediate.forward(&attn)?;
        // Training keeps candle's differentiable GELU; inference uses the branch-free one,
        // which agrees with it to ~1e-7 and vectorizes (candle's calls libm's scalar erf).
        let inter = if train { inter.gelu_erf()? } else { gelu(&inter)? };
        l.out_norm.forward(&(l.output.forward(&inter)? + attn)?, train)
    }
}

/// GELU in its exact (erf) form, `x/2 * (1 + erf(x/sqrt 2))`, computed with a polynomial
/// erf (Abramowitz & Stegun 7.1.26, absolute error under 1.5e-7) and a Cephes-style exp,
/// both branch-free so that the loop vectorizes natively and with wasm simd128. It has no
/// backward pass: inference only.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1_no_bwd(&GeluErf)
    } else {
        x.gelu_erf()
    }
}

struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "gelu-erf-poly"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let out: Vec<f32> = contiguous_f32(storage, layout, "gelu")?.iter().map(|&x| gelu_scalar(x)).collect();
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// The f32 values a custom op's input holds, which must be contiguous (`op` names the op
/// in the error).
pub(crate) fn contiguous_f32<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op}: expected f32 input")
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: expected a contiguous input")
    };
    Ok(&data[start..end])
}

#[inline(always)]
fn gelu_scalar(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf by Abramowitz & Stegun 7.1.26.
#[inline(always)]
pub(crate) fn erf(z: f32) -> f32 {
    const P: f32 = 0.327_591_1;
    const A1: f32 = 0.254_829_6;
    const A2: f32 = -0.284_496_74;
    const A3: f32 = 1.421_413_7;
    const A4: f32 = -1.453_152_1;
    const A5: f32 = 1.061_405_4;
    let a = z.abs();
    let t = 1.0 / (1.0 + P * a);
    let poly = ((((A5 * t + A4) * t + A3) * t + A2) * t + A1) * t;
    let y = 1.0 - poly * exp_neg(a * a);
    y.copysign(z)
}

/// e^-u for u >= 0 (Cephes expf: range reduction by ln 2, degree-6 polynomial, exponent
/// bits set directly). Rounds with the 1.5 * 2^23 trick so that no libm call is needed.
#[inline(always)]
pub(crate) fn exp_neg(u: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    let x = (-u).max(-87.0);
    let shifted = x * std::f32::consts::LOG2_E + MAGIC;
    let n = shifted - MAGIC;
    let k = shifted.to_bits() as i32 - MAGIC.to_bits() as i32;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let e = p * r * r + r + 1.0;
    e * f32::from_bits(((k + 127) << 23) as u32)
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

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn exp_neg_matches_std() {
        let mut worst = 0f32;
        for i in 0..=20_000 {
            let u = i as f32 * 0.0044; // 0 ..= 88
            let (got, want) = (exp_neg(u), (-u).exp());
            if want > 1e-30 {
                worst = worst.max(((got - want) / want).abs());
            }
        }
        assert!(worst < 2e-6, "worst relative error {worst}");
    }

    #[test]
    fn gelu_matches_candle_erf_form() {
        let xs: Vec<f32> = (-4000..=4000).map(|i| i as f32 * 0.0025).chain([-30.0, 30.0, 0.0]).collect();
        let t = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap();
        let ours = gelu(&t).unwrap().to_vec1::<f32>().unwrap();
        let reference = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        let worst = ours.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 2e-6, "worst absolute difference {worst}");
        // Odd/even structure: gelu(x) - gelu(-x) = x.
        assert!((ours[4000 + 400] - ours[4000 - 400] - 1.0).abs() < 1e-5);
    }
}
