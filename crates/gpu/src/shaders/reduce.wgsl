// The workgroup reductions the attention and layer-norm kernels share: every thread of
// the workgroup (WG threads, a power of two, prepended from Rust) calls them with its own
// value and gets the workgroup's sum or maximum back. Uses the workgroup array `red`.

var<workgroup> red: array<f32, WG>;

// Halves the live part of `red` with `op` (0: sum, 1: max) until red[0] holds the result.
fn reduce(lid: u32, v: f32, op: u32) -> f32 {
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            let o = red[lid + s];
            red[lid] = select(red[lid] + o, max(red[lid], o), op == 1u);
        }
        workgroupBarrier();
    }
    let r = red[0];
    workgroupBarrier();
    return r;
}

fn reduce_sum(lid: u32, v: f32) -> f32 {
    return reduce(lid, v, 0u);
}

fn reduce_max(lid: u32, v: f32) -> f32 {
    return reduce(lid, v, 1u);
}
