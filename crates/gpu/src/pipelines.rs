//! The WGSL compute pipelines, compiled once per encoder. Model sizes are baked into each
//! shader as constants prepended to its source, so workgroup arrays have fixed sizes.

use std::borrow::Cow;

use ttpmap_mapper::bert::BertConfig;

use crate::GpuError;

const MATMUL: &str = include_str!("shaders/matmul.wgsl");
const ATTENTION: &str = include_str!("shaders/attention.wgsl");
const NORM: &str = include_str!("shaders/norm.wgsl");
const POOL: &str = include_str!("shaders/pool.wgsl");

/// Threads of the attention workgroup; the head size must divide it.
pub(crate) const ATTENTION_THREADS: usize = 64;
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
    let norm_bytes = 4 * (cfg.hidden_size + 128);
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

fn module(device: &wgpu::Device, label: &str, header: &str, body: &str) -> wgpu::ShaderModule {
    device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(label),
        source: wgpu::ShaderSource::Wgsl(Cow::Owned(format!("{header}\n{body}"))),
    })
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
        let h = cfg.hidden_size;
        let hd = h / cfg.num_attention_heads;
        // A float literal WGSL accepts for any eps (e.g. 1e-12 -> "0.000000000001").
        let eps = format!("{:e}", cfg.layer_norm_eps as f32);
        let attention = module(
            device,
            "attention",
            &format!("const H: u32 = {h}u;\nconst HD: u32 = {hd}u;\nconst MAX_T: u32 = {}u;", cfg.max_position_embeddings),
            ATTENTION,
        );
        let norm = module(device, "norm", &format!("const H: u32 = {h}u;\nconst EPS: f32 = {eps};"), NORM);
        let pool = module(device, "pool", &format!("const H: u32 = {h}u;"), POOL);
        let matmul = module(device, "matmul", "", MATMUL);
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
