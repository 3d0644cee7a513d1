//! The WGSL compute pipelines, compiled once per encoder. Model sizes and the kernels'
//! launch shapes are baked into each shader as constants prepended to its source from the
//! Rust values the dispatch code uses ([`source`]), so workgroup arrays have fixed sizes and
//! no number is written on both sides; the attention and layer-norm kernels share the
//! workgroup reductions of reduce.wgsl, prepended likewise.

use std::borrow::Cow;

use ttpmap_mapper::bert::BertConfig;

use crate::GpuError;

const MATMUL: &str = include_str!("shaders/matmul.wgsl");
const ATTENTION: &str = include_str!("shaders/attention.wgsl");
const NORM: &str = include_str!("shaders/norm.wgsl");
const POOL: &str = include_str!("shaders/pool.wgsl");
/// `reduce_sum` and `reduce_max` over a workgroup of `WG` threads.
const REDUCE: &str = include_str!("shaders/reduce.wgsl");

/// Threads of the attention workgroup; the head size must divide it.
pub(crate) const ATTENTION_THREADS: usize = 64;
/// Threads of the layer-norm workgroup (a power of two, for the reduction).
pub(crate) const NORM_THREADS: usize = 128;
/// Rows per workgroup-grid line of the layer-norm kernels (`ROWS_PER_Y` in norm.wgsl).
pub(crate) const NORM_ROWS_PER_Y: u32 = 32768;
/// Output tile of the matmul kernel (`BM`, `BN` in matmul.wgsl).
pub(crate) const MATMUL_TILE: u32 = 64;
/// Threads per pooling workgroup.
pub(crate) const POOL_THREADS: u32 = 64;

/// Every pipeline the encoder dispatches.
pub(crate) struct Pipelines {
    pub matmul: wgpu::ComputePipeline,
    pub attention: wgpu::ComputePipeline,
    pub residual_norm: wgpu::ComputePipeline,
    pub embed_gather: wgpu::ComputePipeline,
    pub embed_rows: wgpu::ComputePipeline,
    pub pool: wgpu::ComputePipeline,
}

/// Checks that the shaders can run this model on a device with these limits.
pub(crate) fn check_supported(cfg: &BertConfig, limits: &wgpu::Limits) -> Result<(), GpuError> {
    let heads = cfg.num_attention_heads;
    if heads == 0 || !cfg.hidden_size.is_multiple_of(heads) {
        return Err(GpuError::Unsupported(format!("hidden size {} is not a multiple of {heads} heads", cfg.hidden_size)));
    }
    let hd = cfg.hidden_size / heads;
    if hd == 0 || !ATTENTION_THREADS.is_multiple_of(hd) {
        return Err(GpuError::Unsupported(format!("head size {hd} does not divide {ATTENTION_THREADS}")));
    }
    if !cfg.hidden_size.is_multiple_of(4) || !cfg.intermediate_size.is_multiple_of(4) {
        return Err(GpuError::Unsupported(
            "the matmul kernel reads vec4s: hidden and intermediate sizes must be multiples of 4".into(),
        ));
    }
    let attention_bytes = 4 * (cfg.max_position_embeddings + hd + ATTENTION_THREADS);
    let norm_bytes = 4 * (cfg.hidden_size + NORM_THREADS);
    let shared = attention_bytes.max(norm_bytes).max(8192) as u32;
    if shared > limits.max_compute_workgroup_storage_size {
        return Err(GpuError::Unsupported(format!(
            "kernels need {shared} bytes of workgroup memory, the device offers {}",
            limits.max_compute_workgroup_storage_size
        )));
    }
    if heads as u32 > limits.max_compute_workgroups_per_dimension
        || cfg.max_position_embeddings as u32 > limits.max_compute_workgroups_per_dimension
    {
        return Err(GpuError::Unsupported("too many heads or positions for one dispatch".into()));
    }
    Ok(())
}

/// A shader's WGSL: `u32` constants, the `f32` ones, the shared reductions when `reduce`,
/// then the kernel's own source.
pub(crate) fn source(u32s: &[(&str, usize)], f32s: &[(&str, f32)], reduce: bool, body: &str) -> String {
    let mut out = String::new();
    for (name, v) in u32s {
        out += &format!("const {name}: u32 = {v}u;\n");
    }
    for (name, v) in f32s {
        // `{:e}` is a float literal WGSL accepts for any value (1e-12 -> "1e-12").
        out += &format!("const {name}: f32 = {v:e};\n");
    }
    if reduce {
        out += REDUCE;
    }
    out + "\n" + body
}

/// Every shader's WGSL for this model shape, by label.
pub(crate) fn sources(cfg: &BertConfig) -> [(&'static str, String); 4] {
    let h = cfg.hidden_size;
    let hd = h / cfg.num_attention_heads.max(1);
    let eps = cfg.layer_norm_eps as f32;
    [
        ("attention", source(&[("H", h), ("HD", hd), ("MAX_T", cfg.max_position_embeddings), ("WG", ATTENTION_THREADS)], &[], true, ATTENTION)),
        ("norm", source(&[("H", h), ("WG", NORM_THREADS), ("ROWS_PER_Y", NORM_ROWS_PER_Y as usize)], &[("EPS", eps)], true, NORM)),
        ("pool", source(&[("H", h), ("WG", POOL_THREADS as usize)], &[], false, POOL)),
        ("matmul", source(&[("BM", MATMUL_TILE as usize), ("BN", MATMUL_TILE as usize)], &[], false, MATMUL)),
    ]
}

fn module(device: &wgpu::Device, label: &str, source: String) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(Cow::Owned(source)) })
}

fn pipeline(device: &wgpu::Device, module: &wgpu::ShaderModule, entry: &str) -> wgpu::ComputePipeline {
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: None,
        module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

impl Pipelines {
    /// Compiles every shader for this model shape (errors surface in the caller's error scope).
    pub fn new(device: &wgpu::Device, cfg: &BertConfig) -> Self {
        let [attention, norm, pool, matmul] = sources(cfg).map(|(label, source)| module(device, label, source));
        Self {
            matmul: pipeline(device, &matmul, "main"),
            attention: pipeline(device, &attention, "main"),
            residual_norm: pipeline(device, &norm, "residual"),
            embed_gather: pipeline(device, &norm, "embed_gather"),
            embed_rows: pipeline(device, &norm, "embed_rows"),
            pool: pipeline(device, &pool, "main"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MiniLM's shape, the shipped encoder's.
    fn minilm() -> BertConfig {
        BertConfig { layer_norm_eps: 1e-12, ..BertConfig::default() }
    }

    #[test]
    fn every_composed_shader_parses_and_validates() {
        for (label, src) in sources(&minilm()) {
            let module = naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{label}: {}", e.emit_to_string(&src)));
            naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::default())
                .validate(&module)
                .unwrap_or_else(|e| panic!("{label}: {e:?}"));
        }
    }

    #[test]
    fn launch_shapes_come_from_rust_only() {
        for (label, body) in [("attention", ATTENTION), ("norm", NORM), ("pool", POOL), ("matmul", MATMUL), ("reduce", REDUCE)] {
            for name in ["WG", "ROWS_PER_Y", "BM", "BN", "H", "HD", "MAX_T", "EPS"] {
                assert!(!body.contains(&format!("const {name}:")), "{label}.wgsl declares {name}, which Rust prepends");
            }
            assert!(!body.contains("fn reduce_sum") || label == "reduce", "{label}.wgsl has its own reduction");
        }
        let norm = &sources(&minilm())[1].1;
        assert!(norm.contains(&format!("const WG: u32 = {NORM_THREADS}u;")));
        assert!(norm.contains("const EPS: f32 = 1e-12;"));
        assert!(norm.contains(&format!("const ROWS_PER_Y: u32 = {NORM_ROWS_PER_Y}u;")));
    }
}
