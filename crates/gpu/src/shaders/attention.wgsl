// Self-attention for one query token of one head of one row per workgroup:
// scores = q.k / sqrt(HD) + (mask - 1) * 10000, softmax over keys, context = probs . v.
// qkv is [rows*seq, 3H] (query | key | value); ctx is [rows*seq, H].
// HD (head size), H (hidden), MAX_T (position table length) and WG (threads) are prepended
// from Rust, with the reductions of reduce.wgsl.

struct Params {
    rows: u32,
    seq: u32,
    scale: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> ctx: array<f32>;

const PARTS: u32 = WG / HD;

var<workgroup> scores: array<f32, MAX_T>;
var<workgroup> q: array<f32, HD>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let i = wg.x;
    let h = wg.y;
    let b = wg.z;
    let t = p.seq;
    let stride = 3u * H;
    let qi = (b * t + i) * stride + h * HD;
    for (var d = lid; d < HD; d += WG) {
        q[d] = qkv[qi + d];
    }
    workgroupBarrier();

    var m = -3.0e38;
    for (var j = lid; j < t; j += WG) {
        let kj = (b * t + j) * stride + H + h * HD;
        var dot = 0.0;
        for (var d = 0u; d < HD; d++) {
            dot = fma(q[d], qkv[kj + d], dot);
        }
        let s = dot * p.scale + (mask[b * t + j] - 1.0) * 10000.0;
        scores[j] = s;
        m = max(m, s);
    }
    let mx = reduce_max(lid, m);

    var sum = 0.0;
    for (var j = lid; j < t; j += WG) {
        let e = exp(scores[j] - mx);
        scores[j] = e;
        sum += e;
    }
    let inv = 1.0 / reduce_sum(lid, sum);

    // PARTS threads per output dimension, each over every PARTS-th key.
    let d = lid % HD;
    let part = lid / HD;
    var acc = 0.0;
    for (var j = part; j < t; j += PARTS) {
        acc = fma(scores[j], qkv[(b * t + j) * stride + 2u * H + h * HD + d], acc);
    }
    red[lid] = acc;
    workgroupBarrier();
    if (part == 0u) {
        var total = 0.0;
        for (var k = 0u; k < PARTS; k++) {
            total += red[k * HD + d];
        }
        ctx[(b * t + i) * H + h * HD + d] = total * inv;
    }
}
