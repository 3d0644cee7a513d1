// Layer norms, one token row per workgroup: the embedding sum (gathered on the GPU from
// token ids, or gathered on the CPU and uploaded), and residual + layer norm after each
// dense layer. H (hidden), EPS, WG (threads) and ROWS_PER_Y (rows per line of the
// workgroup grid) are prepended from Rust, with the reductions of reduce.wgsl.

struct Params {
    tokens: u32,
    seq: u32,
    vocab: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;       // residual input / gathered rows / word table
@group(0) @binding(2) var<storage, read> b: array<f32>;       // second input / position+type table
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read> ids: array<u32>;

var<workgroup> v: array<f32, H>;

// Normalizes v (already filled by this thread's columns) into out[row].
fn normalize_into(row: u32, lid: u32) {
    var s = 0.0;
    for (var c = lid; c < H; c += WG) {
        s += v[c];
    }
    let mean = reduce_sum(lid, s) / f32(H);
    var sq = 0.0;
    for (var c = lid; c < H; c += WG) {
        let d = v[c] - mean;
        sq += d * d;
    }
    let inv = 1.0 / sqrt(reduce_sum(lid, sq) / f32(H) + EPS);
    for (var c = lid; c < H; c += WG) {
        out[row * H + c] = (v[c] - mean) * inv * gamma[c] + beta[c];
    }
}

// out = LN(a + b), a and b both [tokens, H].
@compute @workgroup_size(WG, 1, 1)
fn residual(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.y * ROWS_PER_Y + wg.x;
    if (row >= p.tokens) {
        return;
    }
    for (var c = lid; c < H; c += WG) {
        v[c] = a[row * H + c] + b[row * H + c];
    }
    normalize_into(row, lid);
}

// out = LN(word[ids[row]] + pos_type[row % seq]); a is the [vocab, H] word table.
@compute @workgroup_size(WG, 1, 1)
fn embed_gather(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.y * ROWS_PER_Y + wg.x;
    if (row >= p.tokens) {
        return;
    }
    let id = min(ids[row], p.vocab - 1u);
    let t = row % p.seq;
    for (var c = lid; c < H; c += WG) {
        v[c] = a[id * H + c] + b[t * H + c];
    }
    normalize_into(row, lid);
}

// out = LN(a[row] + pos_type[row % seq]); a holds word rows gathered on the CPU.
@compute @workgroup_size(WG, 1, 1)
fn embed_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let row = wg.y * ROWS_PER_Y + wg.x;
    if (row >= p.tokens) {
        return;
    }
    let t = row % p.seq;
    for (var c = lid; c < H; c += WG) {
        v[c] = a[row * H + c] + b[t * H + c];
    }
    normalize_into(row, lid);
}
