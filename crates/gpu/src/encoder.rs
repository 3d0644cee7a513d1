//! `GpuEncoder`: the BERT encoder on the GPU, with the same job as the CPU encoder:
//! windows in, mean-pooled sentence vectors out, in window order.
//!
//! One call encodes every padded batch from `length_batches` with one command buffer per
//! batch, copies each batch's pooled vectors into one mappable buffer, and reads that back
//! once at the end, so the CPU waits for the GPU once per call, not once per batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use candle_core::Tensor;
use ttpmap_mapper::bert::BertConfig;
use ttpmap_mapper::tokenize::{length_batches, Batch, Window};
use ttpmap_mapper::BatchConfig;

use crate::context::{Gpu, PowerPreference};
use crate::pipelines::{self, Pipelines, MATMUL_TILE, NORM_ROWS_PER_Y, POOL_THREADS};
use crate::readback::read_f32;
use crate::weights::HostWeights;
use crate::workspace::{readback_buffer, Dims, Slot, WeightBuffers, Workspace, SLOTS};
use crate::GpuError;

/// Where the word-embedding lookup runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbeddingLookup {
    /// On the GPU when the adapter can bind the whole table (47 MB for MiniLM), else on the CPU.
    #[default]
    Auto,
    /// The table is uploaded once and rows are gathered by a shader.
    Gpu,
    /// The table stays in host memory; each batch uploads its gathered rows.
    Cpu,
}

/// How the encoder picks its adapter and lays out its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GpuOptions {
    pub power: PowerPreference,
    pub embedding: EmbeddingLookup,
}

/// The encoder on the GPU: weights uploaded, pipelines compiled, activations reused.
pub struct GpuEncoder {
    cfg: BertConfig,
    gpu: Gpu,
    pipelines: Pipelines,
    weights: WeightBuffers,
    /// The word table when the lookup runs on the CPU.
    host_words: Option<Vec<f32>>,
    /// Most padded tokens one batch may hold (the largest activation must fit one binding).
    max_batch_tokens: usize,
    /// Activations and readback buffer, taken out for the duration of a call.
    workspace: Mutex<Option<(Workspace, wgpu::Buffer)>>,
    /// Batches left before a simulated device loss (0: never); see `lose_device_after_batches`.
    lose_after: AtomicUsize,
}

impl std::fmt::Debug for GpuEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuEncoder").field("adapter", &self.adapter_name()).field("cfg", &self.cfg).finish()
    }
}

impl GpuEncoder {
    /// Requests a GPU and uploads the encoder's f32 weights (named as in the Hugging Face
    /// BERT checkpoint, e.g. from `read_gguf_f32`).
    pub async fn new(cfg: BertConfig, weights: &HashMap<String, Tensor>) -> Result<Self, GpuError> {
        Self::with_options(cfg, weights, GpuOptions::default()).await
    }

    /// [`GpuEncoder::new`] with a choice of adapter and embedding lookup.
    pub async fn with_options(cfg: BertConfig, weights: &HashMap<String, Tensor>, opts: GpuOptions) -> Result<Self, GpuError> {
        let host = HostWeights::from_tensors(&cfg, weights)?;
        let gpu = Gpu::new(opts.power).await?;
        pipelines::check_supported(&cfg, &gpu.limits)?;
        let binding = gpu.limits.max_storage_buffer_binding_size.min(gpu.limits.max_buffer_size);
        let table_fits = (host.word.len() * 4) as u64 <= binding;
        let word_on_gpu = match opts.embedding {
            EmbeddingLookup::Auto => table_fits,
            EmbeddingLookup::Gpu if table_fits => true,
            EmbeddingLookup::Gpu => {
                return Err(GpuError::Unsupported(format!(
                    "the word table ({} bytes) exceeds the largest storage binding ({binding} bytes)",
                    host.word.len() * 4
                )))
            }
            EmbeddingLookup::Cpu => false,
        };
        let widest = (3 * cfg.hidden_size).max(cfg.intermediate_size) as u64 * 4;
        let max_batch_tokens = usize::try_from(binding / widest).unwrap_or(usize::MAX);
        let (pipelines, weights) = gpu
            .scoped(|| {
                let p = Pipelines::new(&gpu.device, &cfg);
                let w = WeightBuffers::upload(&gpu.device, &host, word_on_gpu);
                Ok((p, w))
            })
            .await?;
        let host_words = (!word_on_gpu).then_some(host.word);
        Ok(Self { cfg, gpu, pipelines, weights, host_words, max_batch_tokens, workspace: Mutex::new(None), lose_after: AtomicUsize::new(0) })
    }

    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// The adapter in words, e.g. "llvmpipe (LLVM 19.1.7, 256 bits) (Vulkan)", for logs and the UI.
    pub fn adapter_name(&self) -> String {
        format!("{} ({:?})", self.gpu.adapter.name, self.gpu.adapter.backend)
    }

    /// Frees the GPU memory now rather than when the encoder is dropped; later calls
    /// return [`GpuError::Lost`].
    pub fn destroy(&self) {
        self.gpu.destroy();
    }

    /// For tests of the callers' fallback: destroys the device (a real device loss, seen by
    /// the same checks as a driver reset) once `batches` more batches have been submitted,
    /// so that a report fails part-way through. 0 disarms it.
    #[doc(hidden)]
    pub fn lose_device_after_batches(&self, batches: usize) {
        self.lose_after.store(batches, Ordering::SeqCst);
    }

    /// Counts one submitted batch against `lose_device_after_batches`.
    fn count_batch(&self) {
        let left = self.lose_after.load(Ordering::SeqCst);
        if left > 0 {
            self.lose_after.store(left - 1, Ordering::SeqCst);
            if left == 1 {
                self.destroy();
            }
        }
    }

    /// Whether the adapter is a software rasterizer (lavapipe natively, SwiftShader or any
    /// `isFallbackAdapter` in the browser). These run the shaders correctly but far slower
    /// than candle on the same CPU (measured about 75x on lavapipe): callers should prefer
    /// the CPU encoder then.
    pub fn is_software(&self) -> bool {
        self.gpu.adapter.device_type == wgpu::DeviceType::Cpu
    }

    /// Whether the word-embedding lookup runs on the GPU (else on the CPU).
    pub fn lookup_on_gpu(&self) -> bool {
        self.host_words.is_none()
    }

    /// Mean-pooled vectors `[windows, hidden]`, in window order, like `Classifier::pooled`.
    ///
    /// Calls on one encoder should not overlap: an overlapping call allocates its own
    /// activations rather than waiting.
    pub async fn pooled(&self, windows: &[Window], batch: BatchConfig) -> Result<Vec<Vec<f32>>, GpuError> {
        // The vectors of one chunk are read back through one buffer, which must fit the limits.
        let limit = self.gpu.limits.max_buffer_size / (4 * self.cfg.hidden_size as u64);
        let per_chunk = usize::try_from(limit).unwrap_or(usize::MAX).max(1);
        let mut out = Vec::with_capacity(windows.len());
        for chunk in windows.chunks(per_chunk) {
            out.extend(self.pooled_chunk(chunk, batch).await?);
        }
        Ok(out)
    }

    async fn pooled_chunk(&self, windows: &[Window], batch: BatchConfig) -> Result<Vec<Vec<f32>>, GpuError> {
        self.gpu.check()?;
        if windows.is_empty() {
            return Ok(Vec::new());
        }
        let max_rows = batch.max_rows.clamp(1, self.gpu.limits.max_compute_workgroups_per_dimension as usize);
        let batches = length_batches(windows, max_rows, batch.max_tokens.min(self.max_batch_tokens).max(1));
        self.check_input(&batches)?;
        let tokens = batches.iter().map(|b| b.windows.len() * b.seq_len).max().unwrap_or(0);
        let rows = batches.iter().map(|b| b.windows.len()).max().unwrap_or(0);
        let h = self.cfg.hidden_size;
        let readback_bytes = (windows.len() * h * 4) as u64;

        let taken = self.workspace.lock().unwrap_or_else(|p| p.into_inner()).take();
        let (ws, readback) = self
            .gpu
            .scoped(|| {
                let (ws, readback) = self.prepare(taken, tokens, rows, readback_bytes);
                let mut row = 0;
                for b in &batches {
                    self.gpu.check()?;
                    self.encode(&ws, &readback, b, row);
                    self.count_batch();
                    row += b.windows.len();
                }
                Ok((ws, readback))
            })
            .await?;
        let flat = read_f32(&self.gpu.device, &readback, readback_bytes).await;
        // A lost device also fails the mapping; report the loss, the cause.
        self.gpu.check()?;
        let flat = flat?;
        *self.workspace.lock().unwrap_or_else(|p| p.into_inner()) = Some((ws, readback));

        let mut out = vec![Vec::new(); windows.len()];
        let mut vectors = flat.chunks_exact(h);
        for b in &batches {
            for (&w, v) in b.windows.iter().zip(vectors.by_ref()) {
                out[w] = v.to_vec();
            }
        }
        Ok(out)
    }

    /// Reuses the buffers of the last call, or grows them (with headroom, so that a slightly
    /// larger batch next time does not reallocate again).
    fn prepare(
        &self,
        taken: Option<(Workspace, wgpu::Buffer)>,
        tokens: usize,
        rows: usize,
        readback_bytes: u64,
    ) -> (Workspace, wgpu::Buffer) {
        let (ws, rb) = match taken {
            Some((ws, rb)) => (Some(ws), Some(rb)),
            None => (None, None),
        };
        let ws = match ws {
            Some(ws) if ws.tokens >= tokens && ws.rows >= rows => ws,
            old => {
                let (t, r) = old.as_ref().map_or((0, 0), |w| (w.tokens, w.rows));
                let t = tokens.max(t).next_multiple_of(256).min(self.max_batch_tokens).max(tokens);
                Workspace::new(&self.gpu.device, &self.gpu.limits, &self.pipelines, &self.weights, self.dims(), t, rows.max(r))
            }
        };
        let rb = match rb {
            Some(rb) if rb.size() >= readback_bytes => rb,
            _ => readback_buffer(&self.gpu.device, readback_bytes),
        };
        (ws, rb)
    }

    fn dims(&self) -> Dims {
        Dims { hidden: self.cfg.hidden_size, intermediate: self.cfg.intermediate_size }
    }

    /// The errors the CPU encoder would raise: unknown token ids, windows longer than the
    /// position table; and batches too large for one binding.
    fn check_input(&self, batches: &[Batch]) -> Result<(), GpuError> {
        for b in batches {
            if b.seq_len > self.cfg.max_position_embeddings {
                return Err(GpuError::Input(format!(
                    "a window of {} tokens exceeds the {} positions of the encoder",
                    b.seq_len, self.cfg.max_position_embeddings
                )));
            }
            if b.windows.len() * b.seq_len > self.max_batch_tokens {
                return Err(GpuError::Unsupported(format!("a window of {} tokens exceeds one GPU binding", b.seq_len)));
            }
            if b.seq_len == 0 {
                return Err(GpuError::Input("an empty window (no [CLS]/[SEP])".into()));
            }
            if let Some(id) = b.ids.iter().find(|&&id| id as usize >= self.cfg.vocab_size) {
                return Err(GpuError::Input(format!("token id {id} is outside the vocabulary of {}", self.cfg.vocab_size)));
            }
        }
        Ok(())
    }

    /// The uniform blocks of every dispatch of one batch.
    fn params(&self, ws: &Workspace, rows: usize, seq: usize) -> Vec<u8> {
        let (h, i) = (self.cfg.hidden_size as u32, self.cfg.intermediate_size as u32);
        let (r, t) = (rows as u32, seq as u32);
        let m = r * t;
        let hd = self.cfg.hidden_size / self.cfg.num_attention_heads;
        let scale = (1.0 / (hd as f64).sqrt()) as f32;
        let vocab = self.cfg.vocab_size as u32;
        let mut bytes = vec![0u8; ws.slot_stride as usize * SLOTS];
        let mut put = |s: Slot, v: [u32; 4]| {
            let at = s as usize * ws.slot_stride as usize;
            bytes[at..at + 16].copy_from_slice(bytemuck::cast_slice(&v));
        };
        put(Slot::Embed, [m, t, vocab, 0]);
        put(Slot::Norm, [m, t, vocab, 0]);
        put(Slot::Qkv, [m, 3 * h, h, 0]);
        put(Slot::AttnOut, [m, h, h, 0]);
        put(Slot::Inter, [m, i, h, 1]);
        put(Slot::Out, [m, h, i, 0]);
        put(Slot::Attention, [r, t, scale.to_bits(), 0]);
        put(Slot::Pool, [r, t, 0, 0]);
        bytes
    }

    /// Uploads one batch, records its dispatches and the copy of its pooled vectors to
    /// `readback` at row `row`, and submits.
    fn encode(&self, ws: &Workspace, readback: &wgpu::Buffer, b: &Batch, row: usize) {
        let (device, queue) = (&self.gpu.device, &self.gpu.queue);
        let (rows, seq) = (b.windows.len(), b.seq_len);
        let m = rows * seq;
        let h = self.cfg.hidden_size;
        queue.write_buffer(&ws.params, 0, &self.params(ws, rows, seq));
        match &self.host_words {
            None => queue.write_buffer(&ws.input, 0, bytemuck::cast_slice(&b.ids)),
            Some(table) => {
                let gathered: Vec<f32> =
                    b.ids.iter().flat_map(|&id| &table[id as usize * h..(id as usize + 1) * h]).copied().collect();
                queue.write_buffer(&ws.input, 0, bytemuck::cast_slice(&gathered));
            }
        }
        queue.write_buffer(&ws.mask, 0, bytemuck::cast_slice(&b.mask));

        let mm = |n: usize| [(n as u32).div_ceil(MATMUL_TILE), (m as u32).div_ceil(MATMUL_TILE), 1];
        let norm = [(m as u32).min(NORM_ROWS_PER_Y), (m as u32).div_ceil(NORM_ROWS_PER_Y), 1];
        let heads = self.cfg.num_attention_heads as u32;
        let i = self.cfg.intermediate_size;
        let p = &self.pipelines;
        let mut enc = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("encode batch") });
        {
            let mut pass =
                enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("encoder"), timestamp_writes: None });
            let mut run = |pipeline: &wgpu::ComputePipeline, group: &wgpu::BindGroup, [x, y, z]: [u32; 3]| {
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, group, &[]);
                pass.dispatch_workgroups(x, y, z);
            };
            let embed = if self.host_words.is_none() { &p.embed_gather } else { &p.embed_rows };
            run(embed, &ws.embed, norm);
            for l in &ws.layers {
                run(&p.matmul, &l.qkv, mm(3 * h));
                run(&p.attention, &ws.attention, [seq as u32, heads, rows as u32]);
                run(&p.matmul, &l.attn_out, mm(h));
                run(&p.residual_norm, &l.attn_norm, norm);
                run(&p.matmul, &l.inter, mm(i));
                run(&p.matmul, &l.out, mm(h));
                run(&p.residual_norm, &l.out_norm, norm);
            }
            run(&p.pool, &ws.pool, [(h as u32).div_ceil(POOL_THREADS), rows as u32, 1]);
        }
        let bytes = (rows * h * 4) as u64;
        enc.copy_buffer_to_buffer(&ws.pooled, 0, readback, (row * h * 4) as u64, bytes);
        queue.submit([enc.finish()]);
    }
}
