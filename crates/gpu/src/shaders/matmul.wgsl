// y[M, N] = x[M, K] * W[N, K]^T + b[N], optionally followed by GELU (erf form).
// A 64x64 output tile per workgroup of 16x16 threads, K in steps of 16; thread (tx, ty)
// owns the 4x4 block at rows 4ty.., columns 4tx... x and W are read as vec4 along K
// (K % 4 == 0) and stored transposed in workgroup memory, so that the inner loop is two
// vec4 loads and four vec4 FMAs. BM and BN (the output tile, 64: the dispatch code's
// MATMUL_TILE) are prepended from Rust.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    gelu: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const BK: u32 = 16u;

// xs[kk * 16 + r] holds rows 4r..4r+3 of the x tile at k0 + kk; ws likewise for W's rows.
var<workgroup> xs: array<vec4<f32>, 256>;
var<workgroup> ws: array<vec4<f32>, 256>;

// erf with absolute error below 1.5e-7 (Abramowitz & Stegun 7.1.26); WGSL has no erf.
fn erf(v: f32) -> f32 {
    let a = abs(v);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let r = 1.0 - poly * exp(-a * a);
    return select(-r, r, v >= 0.0);
}

fn gelu(v: f32) -> f32 {
    return 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
}

// Adds bias (and GELU) to four consecutive outputs of row gm and stores those inside y.
fn store(gm: u32, gn: u32, v: vec4<f32>) {
    if (gm >= p.m) {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        if (gn + j < p.n) {
            var o = v[j] + b[gn + j];
            if (p.gelu != 0u) {
                o = gelu(o);
            }
            y[gm * p.n + gn + j] = o;
        }
    }
}

@compute @workgroup_size(16, 16, 1)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let m0 = wg.y * BM;
    let n0 = wg.x * BN;
    let k4 = p.k / 4u;
    // Each thread loads one vec4 of x and one of W per step: tile row lr, k quad kq.
    let lr = li / 4u;
    let kq = li % 4u;
    let slot = kq * 4u * 16u + lr / 4u;
    let lane = lr % 4u;
    // Named accumulators (rows 4ty + 0..3), not an indexed array: software rasterizers
    // turn dynamically indexed private arrays into memory traffic.
    var acc0 = vec4<f32>();
    var acc1 = vec4<f32>();
    var acc2 = vec4<f32>();
    var acc3 = vec4<f32>();
    for (var k0 = 0u; k0 < p.k; k0 += BK) {
        let gk = k0 / 4u + kq;
        var xv = vec4<f32>();
        if (m0 + lr < p.m && gk < k4) {
            xv = x[(m0 + lr) * k4 + gk];
        }
        var wv = vec4<f32>();
        if (n0 + lr < p.n && gk < k4) {
            wv = w[(n0 + lr) * k4 + gk];
        }
        xs[slot][lane] = xv.x;
        xs[slot + 16u][lane] = xv.y;
        xs[slot + 32u][lane] = xv.z;
        xs[slot + 48u][lane] = xv.w;
        ws[slot][lane] = wv.x;
        ws[slot + 16u][lane] = wv.y;
        ws[slot + 32u][lane] = wv.z;
        ws[slot + 48u][lane] = wv.w;
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let a = xs[kk * 16u + lid.y];
            let c = ws[kk * 16u + lid.x];
            acc0 = fma(vec4<f32>(a.x), c, acc0);
            acc1 = fma(vec4<f32>(a.y), c, acc1);
            acc2 = fma(vec4<f32>(a.z), c, acc2);
            acc3 = fma(vec4<f32>(a.w), c, acc3);
        }
        workgroupBarrier();
    }
    let row = m0 + 4u * lid.y;
    let col = n0 + 4u * lid.x;
    store(row, col, acc0);
    store(row + 1u, col, acc1);
    store(row + 2u, col, acc2);
    store(row + 3u, col, acc3);
}
