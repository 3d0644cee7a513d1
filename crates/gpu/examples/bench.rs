//! Sentences per second of the GPU encoder against the CPU encoder on the same windows, at a
//! few batch sizes, with the largest pooled-vector difference as a check.
//!
//!     cargo run --release -p ttpmap-gpu --example bench [-- WINDOWS [ROWS,ROWS,...]]
//!
//! Uses public/model when it exists, else a random encoder of the MiniLM shape. On Mesa's
//! lavapipe (a CPU rasterizer) the GPU figures say nothing about speed, only that it works.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::{Device, Tensor};
use ttpmap_gpu::{EmbeddingLookup, GpuEncoder, GpuOptions};
use ttpmap_mapper::bert::{mean_pool, tensor_names, BertConfig, Encoder};
use ttpmap_mapper::model::read_gguf_f32;
use ttpmap_mapper::tokenize::{length_batches, Window};
use ttpmap_mapper::{BatchConfig, Manifest};

const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";

fn main() {
    if std::env::var_os("VK_ICD_FILENAMES").is_none() && std::path::Path::new(LAVAPIPE).exists() {
        std::env::set_var("VK_ICD_FILENAMES", LAVAPIPE);
    }
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let row_sizes: Vec<usize> =
        std::env::args().nth(2).map(|a| a.split(',').filter_map(|r| r.parse().ok()).collect()).unwrap_or_else(|| vec![8, 32, 64]);
    let (cfg, tensors, what) = model();
    let windows = windows(&cfg, n);
    let tokens: usize = windows.iter().map(|w| w.ids.len()).sum();
    println!("model: {what}; {n} windows, {:.1} tokens on average", tokens as f64 / n as f64);
    let cpu = Encoder::from_tensors(cfg.clone(), &tensors).expect("CPU encoder");
    let gpus: Vec<(&str, GpuEncoder)> = [("GPU lookup", EmbeddingLookup::Gpu), ("CPU lookup", EmbeddingLookup::Cpu)]
        .into_iter()
        .filter_map(|(name, embedding)| {
            let opts = GpuOptions { embedding, ..Default::default() };
            match pollster::block_on(GpuEncoder::with_options(cfg.clone(), &tensors, opts)) {
                Ok(g) => Some((name, g)),
                Err(e) => {
                    eprintln!("GPU encoder ({name}) unavailable: {e}");
                    None
                }
            }
        })
        .collect();
    if let Some((_, g)) = gpus.first() {
        println!("adapter: {}", g.adapter_name());
    }
    println!("{:>6} {:>12} {:>16} {:>16} {:>14}", "rows", "CPU sent/s", "GPU sent/s", "GPU+CPU-lookup", "max |diff|");
    for rows in row_sizes {
        let batch = BatchConfig { max_rows: rows, max_tokens: rows * 128 };
        let (cpu_rate, want) = timed(n, || cpu_pooled(&cpu, &windows, batch));
        let mut cells = Vec::new();
        let mut diff = 0f32;
        for (_, gpu) in &gpus {
            // One untimed call compiles nothing new but sizes the buffers, as in steady use.
            let _ = pollster::block_on(gpu.pooled(&windows, batch));
            let (rate, got) = timed(n, || pollster::block_on(gpu.pooled(&windows, batch)).expect("GPU encode"));
            diff = want.iter().zip(&got).flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs())).fold(diff, f32::max);
            cells.push(format!("{rate:16.1}"));
        }
        while cells.len() < 2 {
            cells.push(format!("{:>16}", "-"));
        }
        println!("{rows:>6} {cpu_rate:12.1} {} {} {diff:14.2e}", cells[0], cells[1]);
    }
}

fn timed<T>(n: usize, f: impl FnOnce() -> T) -> (f64, T) {
    let start = Instant::now();
    let out = f();
    (n as f64 / start.elapsed().as_secs_f64(), out)
}

/// `Classifier::pooled` without the classifier: the CPU reference.
fn cpu_pooled(enc: &Encoder, windows: &[Window], batch: BatchConfig) -> Vec<Vec<f32>> {
    let mut out = vec![Vec::new(); windows.len()];
    for b in length_batches(windows, batch.max_rows, batch.max_tokens) {
        let rows = b.windows.len();
        let ids = Tensor::from_vec(b.ids, (rows, b.seq_len), &Device::Cpu).unwrap();
        let mask = Tensor::from_vec(b.mask, (rows, b.seq_len), &Device::Cpu).unwrap();
        let pooled = mean_pool(&enc.forward(&ids, &mask).unwrap(), &mask).unwrap().to_vec2::<f32>().unwrap();
        for (w, v) in b.windows.into_iter().zip(pooled) {
            out[w] = v;
        }
    }
    out
}

/// The shipped model, or a random one of the same shape.
fn model() -> (BertConfig, HashMap<String, Tensor>, String) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../public/model");
    if let (Ok(m), Ok(gguf)) = (std::fs::read_to_string(dir.join(Manifest::FILE)), std::fs::read(dir.join(Manifest::WEIGHTS))) {
        let m = Manifest::from_json(&m).expect(Manifest::FILE);
        let t = read_gguf_f32(&gguf, &Device::Cpu).expect(Manifest::WEIGHTS);
        return (m.encoder, t, "public/model".into());
    }
    let cfg = BertConfig::default();
    let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
    let mut seed = 1u64;
    let mut t = HashMap::new();
    for name in tensor_names(&cfg) {
        let shape = match name.as_str() {
            "embeddings.word_embeddings.weight" => vec![cfg.vocab_size, h],
            "embeddings.position_embeddings.weight" => vec![cfg.max_position_embeddings, h],
            "embeddings.token_type_embeddings.weight" => vec![2, h],
            n if n.ends_with("intermediate.dense.weight") => vec![i, h],
            n if n.ends_with("intermediate.dense.bias") => vec![i],
            n if n.ends_with("output.dense.weight") && !n.contains("attention") => vec![h, i],
            n if n.ends_with(".weight") && !n.contains("LayerNorm") => vec![h, h],
            _ => vec![h],
        };
        let offset = if name.ends_with("LayerNorm.weight") { 1.0 } else { 0.0 };
        let data: Vec<f32> = (0..shape.iter().product::<usize>()).map(|_| offset + 0.05 * uniform(&mut seed)).collect();
        t.insert(name, Tensor::from_vec(data, shape, &Device::Cpu).unwrap());
    }
    (cfg, t, "random MiniLM-shaped encoder (public/model not built)".into())
}

fn uniform(s: &mut u64) -> f32 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    ((*s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// Windows of 8..64 tokens, like sentences of a report.
fn windows(cfg: &BertConfig, n: usize) -> Vec<Window> {
    let mut seed = 7u64;
    (0..n)
        .map(|s| {
            let len = 8 + ((uniform(&mut seed) + 1.0) * 28.0) as usize;
            let mut ids = vec![101u32];
            ids.extend((2..len).map(|_| 1000 + ((uniform(&mut seed) + 1.0) * 10000.0) as u32 % (cfg.vocab_size as u32 - 1000)));
            ids.push(102);
            Window { sentence: s, ids }
        })
        .collect()
}
