//! The encoder's weights as flat f32 vectors laid out the way the shaders read them:
//! Q, K and V fused into one `[3H, H]` matrix, position and token-type 0 embeddings summed.
//!
//! Pure host-side code (no GPU), so shape checking is testable anywhere.

use std::collections::HashMap;

use candle_core::{DType, Tensor};
use ttpmap_mapper::bert::BertConfig;

use crate::GpuError;

/// One transformer layer; matrices are `[out, in]` row-major like the checkpoint.
pub(crate) struct LayerWeights {
    pub qkv_w: Vec<f32>,
    pub qkv_b: Vec<f32>,
    pub attn_out_w: Vec<f32>,
    pub attn_out_b: Vec<f32>,
    pub attn_norm_g: Vec<f32>,
    pub attn_norm_b: Vec<f32>,
    pub inter_w: Vec<f32>,
    pub inter_b: Vec<f32>,
    pub out_w: Vec<f32>,
    pub out_b: Vec<f32>,
    pub out_norm_g: Vec<f32>,
    pub out_norm_b: Vec<f32>,
}

/// Every tensor the GPU encoder reads.
pub(crate) struct HostWeights {
    /// `[vocab, H]` word embeddings.
    pub word: Vec<f32>,
    /// `[max_positions, H]`: position embedding + token-type-0 embedding.
    pub pos_type: Vec<f32>,
    pub embed_norm_g: Vec<f32>,
    pub embed_norm_b: Vec<f32>,
    pub layers: Vec<LayerWeights>,
}

fn tensor(t: &HashMap<String, Tensor>, name: &str, shape: &[usize]) -> Result<Vec<f32>, GpuError> {
    let x = t.get(name).ok_or_else(|| GpuError::Weights(format!("missing tensor {name}")))?;
    if x.dims() != shape {
        return Err(GpuError::Weights(format!("{name} has shape {:?}, expected {shape:?}", x.dims())));
    }
    let bad = |e: candle_core::Error| GpuError::Weights(format!("{name}: {e}"));
    x.to_dtype(DType::F32).and_then(|x| x.flatten_all()).and_then(|x| x.to_vec1::<f32>()).map_err(bad)
}

impl HostWeights {
    /// Reads and checks the tensors named as in the Hugging Face BERT checkpoint.
    pub fn from_tensors(cfg: &BertConfig, t: &HashMap<String, Tensor>) -> Result<Self, GpuError> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let position = tensor(t, "embeddings.position_embeddings.weight", &[cfg.max_position_embeddings, h])?;
        let types = t
            .get("embeddings.token_type_embeddings.weight")
            .ok_or_else(|| GpuError::Weights("missing tensor embeddings.token_type_embeddings.weight".into()))?;
        let type_rows = types.dims().first().copied().unwrap_or(0);
        let types = tensor(t, "embeddings.token_type_embeddings.weight", &[type_rows.max(1), h])?;
        let pos_type = position.chunks(h).flat_map(|p| p.iter().zip(&types[..h]).map(|(a, b)| a + b)).collect();
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for l in 0..cfg.num_hidden_layers {
            let n = |s: &str| format!("encoder.layer.{l}.{s}");
            let mut qkv_w = Vec::with_capacity(3 * h * h);
            let mut qkv_b = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                qkv_w.extend(tensor(t, &n(&format!("attention.self.{part}.weight")), &[h, h])?);
                qkv_b.extend(tensor(t, &n(&format!("attention.self.{part}.bias")), &[h])?);
            }
            layers.push(LayerWeights {
                qkv_w,
                qkv_b,
                attn_out_w: tensor(t, &n("attention.output.dense.weight"), &[h, h])?,
                attn_out_b: tensor(t, &n("attention.output.dense.bias"), &[h])?,
                attn_norm_g: tensor(t, &n("attention.output.LayerNorm.weight"), &[h])?,
                attn_norm_b: tensor(t, &n("attention.output.LayerNorm.bias"), &[h])?,
                inter_w: tensor(t, &n("intermediate.dense.weight"), &[i, h])?,
                inter_b: tensor(t, &n("intermediate.dense.bias"), &[i])?,
                out_w: tensor(t, &n("output.dense.weight"), &[h, i])?,
                out_b: tensor(t, &n("output.dense.bias"), &[h])?,
                out_norm_g: tensor(t, &n("output.LayerNorm.weight"), &[h])?,
                out_norm_b: tensor(t, &n("output.LayerNorm.bias"), &[h])?,
            });
        }
        Ok(Self {
            word: tensor(t, "embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?,
            pos_type,
            embed_norm_g: tensor(t, "embeddings.LayerNorm.weight", &[h])?,
            embed_norm_b: tensor(t, "embeddings.LayerNorm.bias", &[h])?,
            layers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn cfg() -> BertConfig {
        BertConfig {
            vocab_size: 10,
            hidden_size: 4,
            num_hidden_layers: 1,
            num_attention_heads: 2,
            intermediate_size: 8,
            max_position_embeddings: 6,
            layer_norm_eps: 1e-12,
        }
    }

    fn tensors(cfg: &BertConfig) -> HashMap<String, Tensor> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let mut t = HashMap::new();
        for name in ttpmap_mapper::bert::tensor_names(cfg) {
            let shape: Vec<usize> = match name.as_str() {
                "embeddings.word_embeddings.weight" => vec![cfg.vocab_size, h],
                "embeddings.position_embeddings.weight" => vec![cfg.max_position_embeddings, h],
                "embeddings.token_type_embeddings.weight" => vec![2, h],
                n if n.ends_with("intermediate.dense.weight") => vec![i, h],
                n if n.ends_with("intermediate.dense.bias") => vec![i],
                n if n.ends_with("output.dense.weight") && !n.contains("attention") => vec![h, i],
                n if n.ends_with(".weight") && !n.contains("LayerNorm") => vec![h, h],
                _ => vec![h],
            };
            let n: usize = shape.iter().product();
            let data: Vec<f32> = (0..n).map(|k| k as f32).collect();
            t.insert(name, Tensor::from_vec(data, shape, &Device::Cpu).unwrap());
        }
        t
    }

    #[test]
    fn qkv_is_fused_in_query_key_value_order() {
        let cfg = cfg();
        let w = HostWeights::from_tensors(&cfg, &tensors(&cfg)).unwrap();
        assert_eq!(w.layers[0].qkv_w.len(), 3 * 16);
        assert_eq!(w.layers[0].qkv_b, [0., 1., 2., 3., 0., 1., 2., 3., 0., 1., 2., 3.]);
    }

    #[test]
    fn position_and_token_type_zero_are_summed() {
        let cfg = cfg();
        let w = HostWeights::from_tensors(&cfg, &tensors(&cfg)).unwrap();
        // position row 1 = [4,5,6,7], token type row 0 = [0,1,2,3]
        assert_eq!(&w.pos_type[4..8], &[4., 6., 8., 10.]);
    }

    #[test]
    fn wrong_shape_is_an_error() {
        let cfg = cfg();
        let mut t = tensors(&cfg);
        t.insert("embeddings.LayerNorm.bias".into(), Tensor::zeros(5, DType::F32, &Device::Cpu).unwrap());
        assert!(matches!(HostWeights::from_tensors(&cfg, &t), Err(GpuError::Weights(_))));
    }
}
