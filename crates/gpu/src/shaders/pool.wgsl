// Mean of the hidden states over real tokens: x [rows*seq, H], mask [rows*seq] -> [rows, H].
// H (hidden) and WG (threads per workgroup along H) are prepended from Rust.

struct Params {
    rows: u32,
    seq: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> pooled: array<f32>;

@compute @workgroup_size(WG, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let c = gid.x;
    let r = gid.y;
    if (c >= H || r >= p.rows) {
        return;
    }
    var sum = 0.0;
    var count = 0.0;
    for (var t = 0u; t < p.seq; t++) {
        let m = mask[r * p.seq + t];
        sum += x[(r * p.seq + t) * H + c] * m;
        count += m;
    }
    pooled[r * H + c] = sum / max(count, 1e-9);
}
