//! GPU buffers: the weights (uploaded once) and the activations of one batch (allocated for
//! the largest batch seen so far and reused), with the bind groups that tie them to the
//! pipelines. Bind groups are rebuilt only when the activation buffers grow.

use std::num::NonZeroU64;

use wgpu::util::DeviceExt;

use crate::pipelines::Pipelines;
use crate::weights::HostWeights;

/// One 16-byte uniform block per kind of dispatch, each at its own aligned offset.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Slot {
    Embed = 0,
    Norm = 1,
    Qkv = 2,
    AttnOut = 3,
    Inter = 4,
    Out = 5,
    Attention = 6,
    Pool = 7,
}

pub(crate) const SLOTS: usize = 8;
const PARAM_BYTES: u64 = 16;

pub(crate) struct LayerBuffers {
    qkv_w: wgpu::Buffer,
    qkv_b: wgpu::Buffer,
    attn_out_w: wgpu::Buffer,
    attn_out_b: wgpu::Buffer,
    attn_norm_g: wgpu::Buffer,
    attn_norm_b: wgpu::Buffer,
    inter_w: wgpu::Buffer,
    inter_b: wgpu::Buffer,
    out_w: wgpu::Buffer,
    out_b: wgpu::Buffer,
    out_norm_g: wgpu::Buffer,
    out_norm_b: wgpu::Buffer,
}

/// The weights on the GPU. `word` is `None` when the lookup happens on the CPU.
pub(crate) struct WeightBuffers {
    word: Option<wgpu::Buffer>,
    pos_type: wgpu::Buffer,
    embed_norm_g: wgpu::Buffer,
    embed_norm_b: wgpu::Buffer,
    layers: Vec<LayerBuffers>,
}

fn upload(device: &wgpu::Device, label: &str, data: &[f32]) -> wgpu::Buffer {
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents: bytemuck::cast_slice(data),
        usage: wgpu::BufferUsages::STORAGE,
    })
}

impl WeightBuffers {
    pub fn upload(device: &wgpu::Device, w: &HostWeights, word_on_gpu: bool) -> Self {
        let layers = w
            .layers
            .iter()
            .map(|l| LayerBuffers {
                qkv_w: upload(device, "qkv.w", &l.qkv_w),
                qkv_b: upload(device, "qkv.b", &l.qkv_b),
                attn_out_w: upload(device, "attn_out.w", &l.attn_out_w),
                attn_out_b: upload(device, "attn_out.b", &l.attn_out_b),
                attn_norm_g: upload(device, "attn_norm.g", &l.attn_norm_g),
                attn_norm_b: upload(device, "attn_norm.b", &l.attn_norm_b),
                inter_w: upload(device, "inter.w", &l.inter_w),
                inter_b: upload(device, "inter.b", &l.inter_b),
                out_w: upload(device, "out.w", &l.out_w),
                out_b: upload(device, "out.b", &l.out_b),
                out_norm_g: upload(device, "out_norm.g", &l.out_norm_g),
                out_norm_b: upload(device, "out_norm.b", &l.out_norm_b),
            })
            .collect();
        Self {
            word: word_on_gpu.then(|| upload(device, "word embeddings", &w.word)),
            pos_type: upload(device, "position+type embeddings", &w.pos_type),
            embed_norm_g: upload(device, "embed_norm.g", &w.embed_norm_g),
            embed_norm_b: upload(device, "embed_norm.b", &w.embed_norm_b),
            layers,
        }
    }
}

/// Shapes of the model that size the activations.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub hidden: usize,
    pub intermediate: usize,
}

/// The bind groups of one transformer layer, in dispatch order.
pub(crate) struct LayerGroups {
    pub qkv: wgpu::BindGroup,
    pub attn_out: wgpu::BindGroup,
    pub attn_norm: wgpu::BindGroup,
    pub inter: wgpu::BindGroup,
    pub out: wgpu::BindGroup,
    pub out_norm: wgpu::BindGroup,
}

/// Activation buffers for up to `tokens` padded tokens and `rows` windows per batch.
pub(crate) struct Workspace {
    pub tokens: usize,
    pub rows: usize,
    pub slot_stride: u64,
    pub params: wgpu::Buffer,
    /// Token ids (GPU lookup) or the gathered word rows (CPU lookup).
    pub input: wgpu::Buffer,
    pub mask: wgpu::Buffer,
    pub pooled: wgpu::Buffer,
    pub embed: wgpu::BindGroup,
    pub attention: wgpu::BindGroup,
    pub pool: wgpu::BindGroup,
    pub layers: Vec<LayerGroups>,
    /// Intermediate activations, held here so they live as long as the bind groups.
    _activations: Vec<wgpu::Buffer>,
}

fn storage(device: &wgpu::Device, label: &str, floats: usize, extra: wgpu::BufferUsages) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: (4 * floats.max(4)) as u64,
        usage: wgpu::BufferUsages::STORAGE | extra,
        mapped_at_creation: false,
    })
}

fn all(b: &wgpu::Buffer) -> wgpu::BindingResource<'_> {
    b.as_entire_binding()
}

fn group(
    device: &wgpu::Device,
    pipeline: &wgpu::ComputePipeline,
    entries: &[(u32, wgpu::BindingResource<'_>)],
) -> wgpu::BindGroup {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = entries
        .iter()
        .map(|(binding, resource)| wgpu::BindGroupEntry { binding: *binding, resource: resource.clone() })
        .collect();
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}

impl Workspace {
    /// Allocates activations for `tokens` padded tokens and `rows` windows.
    pub fn new(
        device: &wgpu::Device,
        limits: &wgpu::Limits,
        p: &Pipelines,
        w: &WeightBuffers,
        dims: Dims,
        tokens: usize,
        rows: usize,
    ) -> Self {
        let (h, i) = (dims.hidden, dims.intermediate);
        let align = u64::from(limits.min_uniform_buffer_offset_alignment).max(PARAM_BYTES);
        let slot_stride = PARAM_BYTES.div_ceil(align) * align;
        let copy = wgpu::BufferUsages::COPY_DST;
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("params"),
            size: slot_stride * SLOTS as u64,
            usage: wgpu::BufferUsages::UNIFORM | copy,
            mapped_at_creation: false,
        });
        let input_floats = if w.word.is_some() { tokens } else { tokens * h };
        let input = storage(device, "input", input_floats, copy);
        let mask = storage(device, "mask", tokens, copy);
        let x = storage(device, "x", tokens * h, wgpu::BufferUsages::empty());
        let qkv = storage(device, "qkv", tokens * 3 * h, wgpu::BufferUsages::empty());
        let ctx = storage(device, "ctx", tokens * h, wgpu::BufferUsages::empty());
        let tmp = storage(device, "tmp", tokens * h, wgpu::BufferUsages::empty());
        let h1 = storage(device, "h1", tokens * h, wgpu::BufferUsages::empty());
        let inter = storage(device, "inter", tokens * i, wgpu::BufferUsages::empty());
        let pooled = storage(device, "pooled", rows * h, wgpu::BufferUsages::COPY_SRC);

        let slot = |s: Slot| {
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &params,
                offset: s as u64 * slot_stride,
                size: NonZeroU64::new(PARAM_BYTES),
            })
        };
        let matmul = |s: Slot, input: &wgpu::Buffer, wt: &wgpu::Buffer, bias: &wgpu::Buffer, out: &wgpu::Buffer| {
            group(device, &p.matmul, &[(0, slot(s)), (1, all(input)), (2, all(wt)), (3, all(bias)), (4, all(out))])
        };
        let norm = |a: &wgpu::Buffer, b: &wgpu::Buffer, g: &wgpu::Buffer, be: &wgpu::Buffer, out: &wgpu::Buffer| {
            group(
                device,
                &p.residual_norm,
                &[(0, slot(Slot::Norm)), (1, all(a)), (2, all(b)), (3, all(g)), (4, all(be)), (5, all(out))],
            )
        };
        let embed = match &w.word {
            Some(word) => group(
                device,
                &p.embed_gather,
                &[
                    (0, slot(Slot::Embed)),
                    (1, all(word)),
                    (2, all(&w.pos_type)),
                    (3, all(&w.embed_norm_g)),
                    (4, all(&w.embed_norm_b)),
                    (5, all(&x)),
                    (6, all(&input)),
                ],
            ),
            None => group(
                device,
                &p.embed_rows,
                &[
                    (0, slot(Slot::Embed)),
                    (1, all(&input)),
                    (2, all(&w.pos_type)),
                    (3, all(&w.embed_norm_g)),
                    (4, all(&w.embed_norm_b)),
                    (5, all(&x)),
                ],
            ),
        };
        let attention =
            group(device, &p.attention, &[(0, slot(Slot::Attention)), (1, all(&qkv)), (2, all(&mask)), (3, all(&ctx))]);
        let pool = group(device, &p.pool, &[(0, slot(Slot::Pool)), (1, all(&x)), (2, all(&mask)), (3, all(&pooled))]);
        let layers = w
            .layers
            .iter()
            .map(|l| LayerGroups {
                qkv: matmul(Slot::Qkv, &x, &l.qkv_w, &l.qkv_b, &qkv),
                attn_out: matmul(Slot::AttnOut, &ctx, &l.attn_out_w, &l.attn_out_b, &tmp),
                attn_norm: norm(&tmp, &x, &l.attn_norm_g, &l.attn_norm_b, &h1),
                inter: matmul(Slot::Inter, &h1, &l.inter_w, &l.inter_b, &inter),
                out: matmul(Slot::Out, &inter, &l.out_w, &l.out_b, &tmp),
                out_norm: norm(&tmp, &h1, &l.out_norm_g, &l.out_norm_b, &x),
            })
            .collect();
        let _activations = vec![x, qkv, ctx, tmp, h1, inter];
        Self { tokens, rows, slot_stride, params, input, mask, pooled, embed, attention, pool, layers, _activations }
    }
}

/// A mappable buffer the pooled vectors of every batch of one call are copied into.
pub(crate) fn readback_buffer(device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("readback"),
        size: bytes.max(16),
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}
