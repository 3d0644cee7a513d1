//! Export of the trained model: quantized GGUF weights, tokenizer.json and manifest.json.
//!
//! Matrices whose rows are a multiple of 32 long are stored as Q8_0 (384 is not a multiple
//! of 256, so k-quants do not apply); vectors stay f32. The manifest records the sha256 of
//! each file, which the app and the CLI verify before use.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Tensor;
use ttpmap_mapper::bert::{tensor_names, BertConfig};
use ttpmap_mapper::model::{sha256_hex, Manifest, ModelFile, HEAD_BIAS, HEAD_WEIGHT};

/// Quantization used for a tensor of this shape.
pub fn dtype_for(t: &Tensor) -> GgmlDType {
    match t.dims() {
        [_, cols] if cols % 32 == 0 => GgmlDType::Q8_0,
        _ => GgmlDType::F32,
    }
}

/// GGUF bytes of the encoder and head tensors.
pub fn gguf_bytes(cfg: &BertConfig, tensors: &HashMap<String, Tensor>) -> Result<Vec<u8>> {
    let mut names = tensor_names(cfg);
    names.push(HEAD_WEIGHT.into());
    names.push(HEAD_BIAS.into());
    let mut q = Vec::with_capacity(names.len());
    for n in &names {
        let t = tensors.get(n).with_context(|| format!("missing tensor {n}"))?;
        q.push((n.as_str(), QTensor::quantize(t, dtype_for(t)).with_context(|| format!("quantizing {n}"))?));
    }
    let refs: Vec<(&str, &QTensor)> = q.iter().map(|(n, t)| (*n, t)).collect();
    let arch = gguf_file::Value::String("bert".into());
    let mut buf = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut buf, &[("general.architecture", &arch)], &refs)?;
    Ok(buf.into_inner())
}

/// Writes model.gguf, tokenizer.json and manifest.json into `dir`, filling the manifest's
/// file list; returns the manifest written.
pub fn write_model(dir: &Path, gguf: &[u8], tokenizer_json: &[u8], mut manifest: Manifest) -> Result<Manifest> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    manifest.files = vec![
        ModelFile { name: "model.gguf".into(), bytes: gguf.len() as u64, sha256: sha256_hex(gguf) },
        ModelFile { name: "tokenizer.json".into(), bytes: tokenizer_json.len() as u64, sha256: sha256_hex(tokenizer_json) },
    ];
    std::fs::write(dir.join("model.gguf"), gguf)?;
    std::fs::write(dir.join("tokenizer.json"), tokenizer_json)?;
    std::fs::write(dir.join("manifest.json"), serde_json::to_string_pretty(&manifest)? + "\n")?;
    Ok(manifest)
}
