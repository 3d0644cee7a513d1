//! Integer matrix products for the encoder's dense layers: `y = x W^T + b` with integer
//! weights (11 bits per output row) and int16 activations, accumulated exactly in i32.
//!
//! - Weights: each output row of `W` is quantized to integers in [-1023, 1023] (11 bits)
//!   with one f32 scale per row, from the file's Q8_0 weights dequantized at load (one
//!   scale per row instead of one per block of 32, so that the scale is applied once per
//!   output, not once per block; the row's grid is about 16 times finer than its coarsest
//!   Q8_0 block). Stored as i16 (about 21 MB for MiniLM-L6's dense layers, half of f32).
//!   Int8 weights (+-127 per row, widened to i16 as loaded) ran as fast in wasm and
//!   took half the memory, but lost one true positive of 227 in the validation
//!   evaluation against f32 (micro-F1 0.551 vs 0.553), so 11 bits are kept: the
//!   `i32x4.dot_i16x8_s` lanes are 16-bit either way.
//! - Activations: each row of `x` is quantized at run time to i16 with one scale per row,
//!   to the largest range for which no i32 accumulator can overflow (+-21,866 for k = 384,
//!   +-5,466 for k = 1536, i.e. 14-15 and 12-13 bits; see [`activation_max`]).
//! - Products: the micro-kernel computes an `MR x NR` tile of outputs at a time (every
//!   loaded activation vector is used `NR` times, every weight vector `MR` times). In wasm
//!   simd128, `i32x4.dot_i16x8_s` does 8 multiply-adds per instruction (f32x4 needs a mul
//!   and an add for 4); elsewhere a portable loop that the compiler vectorizes (with AVX2
//!   chosen at run time on x86_64).
//!
//! Inference only: no backward pass.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape};

/// Rows of `x` per micro-kernel tile.
pub const MR: usize = 4;
/// Rows of `W` (outputs) per micro-kernel tile.
pub const NR: usize = 2;
/// Rows of `x` per outer block (kept in cache while every tile of `W` passes over them);
/// a multiple of [`MR`], so that tiles never straddle two blocks.
const MC: usize = 16 * MR;
/// Largest weight magnitude after quantization: 11 bits with the sign. (With int8,
/// +-127, the validation evaluation lost one true positive against f32: see the module
/// documentation.)
pub const WEIGHT_MAX: i32 = 1023;
/// `k` is padded with zeros to a multiple of this (one i16x8 vector).
const KSTEP: usize = 8;

/// A dense layer with integer weights (see the module documentation).
#[derive(Debug, Clone)]
pub struct IntLinear {
    /// Outputs and inputs.
    n: usize,
    k: usize,
    /// `k` padded to a multiple of [`KSTEP`].
    kp: usize,
    /// `np x kp`, `np` = `n` padded to a multiple of [`NR`] (padding rows are zero).
    w: Vec<i16>,
    /// Per output row: `W[n][k] ~ scale[n] * w[n][k]`.
    scale: Vec<f32>,
    bias: Vec<f32>,
}

fn round_up(a: usize, b: usize) -> usize {
    a.div_ceil(b) * b
}

/// Rounds to the nearest integer (ties to even) for |v| < 2^22, branch-free so that the
/// loops over it vectorize (no libm call in wasm).
#[inline(always)]
fn round_i32(v: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5 * 2^23
    (v + MAGIC).to_bits() as i32 - MAGIC.to_bits() as i32
}

/// Quantizes each of the `rows` rows of `src` (`k` values each) to integers in
/// [-qmax, qmax] into `dst` (`kp` values per row, zero padded), returning one scale per
/// row (`src ~ scale * dst`; 0 for an all-zero row).
fn quantize_rows(src: &[f32], rows: usize, k: usize, kp: usize, qmax: i32, dst: &mut [i16]) -> Vec<f32> {
    let mut scales = Vec::with_capacity(rows);
    for r in 0..rows {
        let row = &src[r * k..(r + 1) * k];
        let out = &mut dst[r * kp..(r + 1) * kp];
        let amax = row.iter().fold(0f32, |a, &v| a.max(v.abs()));
        if amax == 0.0 || !amax.is_finite() {
            out.fill(0);
            scales.push(if amax == 0.0 { 0.0 } else { f32::NAN });
            continue;
        }
        let inv = qmax as f32 / amax;
        for (o, &v) in out.iter_mut().zip(row) {
            *o = round_i32(v * inv).clamp(-qmax, qmax) as i16;
        }
        out[k..].fill(0);
        scales.push(amax / qmax as f32);
    }
    scales
}

/// The largest activation magnitude for a reduction of length `kp`: every i32 lane of the
/// kernel sums `kp / 4` products of at most `qmax * WEIGHT_MAX`, which must stay below
/// 2^31 (and `qmax` fits in i16).
pub fn activation_max(kp: usize) -> i32 {
    let per_lane = kp.div_ceil(4).max(1) as i64;
    ((i32::MAX as i64 / WEIGHT_MAX as i64) / per_lane).min(i16::MAX as i64) as i32
}

impl IntLinear {
    /// Quantizes an f32 weight `[n, k]` (row-major) and its bias.
    pub fn new(weight: &[f32], bias: Option<&[f32]>, n: usize, k: usize) -> Self {
        assert_eq!(weight.len(), n * k, "weight is not {n} x {k}");
        let kp = round_up(k.max(1), KSTEP);
        let np = round_up(n.max(1), NR);
        let mut w = vec![0i16; np * kp];
        let mut scale = quantize_rows(weight, n, k, kp, WEIGHT_MAX, &mut w);
        scale.resize(np, 0.0);
        let bias = match bias {
            Some(b) => {
                assert_eq!(b.len(), n, "bias is not {n} long");
                b.to_vec()
            }
            None => vec![0.0; n],
        };
        Self { n, k, kp, w, scale, bias }
    }

    /// Builds the layer from candle tensors: weight `[n, k]`, bias `[n]`.
    pub fn from_tensors(weight: &candle_core::Tensor, bias: Option<&candle_core::Tensor>) -> Result<Self> {
        let (n, k) = weight.dims2()?;
        let w = weight.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let b = bias.map(|b| b.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()).transpose()?;
        Ok(Self::new(&w, b.as_deref(), n, k))
    }

    pub fn out_features(&self) -> usize {
        self.n
    }

    pub fn in_features(&self) -> usize {
        self.k
    }

    /// `y = x W^T + b` for `m` rows of `x` (`[m, k]` row-major); returns `[m, n]`.
    pub fn forward_slice(&self, x: &[f32], m: usize) -> Vec<f32> {
        assert_eq!(x.len(), m * self.k, "input is not {m} x {}", self.k);
        let (n, kp) = (self.n, self.kp);
        let mp = round_up(m.max(1), MR);
        let mut xq = vec![0i16; mp * kp];
        let xs = quantize_rows(x, m, self.k, kp, activation_max(kp), &mut xq);
        let mut y = vec![0f32; m * n];
        gemm(&xq, &self.w, mp, self.w.len() / kp, kp, |mi, nj, t: &[[i32; NR]; MR]| {
            for (i, row) in t.iter().enumerate() {
                let r = mi + i;
                if r >= m {
                    break;
                }
                let out = &mut y[r * n..(r + 1) * n];
                for (j, &acc) in row.iter().enumerate() {
                    let c = nj + j;
                    if c < n {
                        out[c] = acc as f32 * (xs[r] * self.scale[c]) + self.bias[c];
                    }
                }
            }
        });
        y
    }
}

impl CustomOp1 for IntLinear {
    fn name(&self) -> &'static str {
        "int8-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = crate::bert::contiguous_f32(storage, layout, "int8 linear")?;
        let dims = layout.shape().dims();
        if dims.last() != Some(&self.k) {
            candle_core::bail!("int8 linear: input {:?} does not end in {}", dims, self.k)
        }
        let y = self.forward_slice(x, x.len() / self.k);
        let mut out_dims = dims.to_vec();
        *out_dims.last_mut().unwrap() = self.n;
        Ok((CpuStorage::F32(y), Shape::from(out_dims)))
    }
}

/// The integer product `x W^T` over padded operands: `x` is `mp x kp`, `w` is `np x kp`
/// (`mp` a multiple of [`MR`], `np` of [`NR`], `kp` of 8), values small enough that no
/// i32 sum overflows (see [`activation_max`]). `store(row, col, tile)` receives each
/// `MR x NR` tile of exact i32 results, at its top-left position.
pub fn gemm<F: FnMut(usize, usize, &[[i32; NR]; MR])>(x: &[i16], w: &[i16], mp: usize, np: usize, kp: usize, mut store: F) {
    assert!(mp % MR == 0 && np % NR == 0 && kp % KSTEP == 0, "unpadded operands");
    assert!(x.len() >= mp * kp && w.len() >= np * kp, "operands shorter than their shape");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is available on this CPU (checked just above).
            return unsafe { gemm_avx2(x, w, mp, np, kp, &mut store) };
        }
    }
    gemm_blocked(x, w, mp, np, kp, &mut store)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gemm_avx2<F: FnMut(usize, usize, &[[i32; NR]; MR])>(x: &[i16], w: &[i16], mp: usize, np: usize, kp: usize, store: &mut F) {
    gemm_blocked(x, w, mp, np, kp, store)
}

#[inline(always)]
fn gemm_blocked<F: FnMut(usize, usize, &[[i32; NR]; MR])>(x: &[i16], w: &[i16], mp: usize, np: usize, kp: usize, store: &mut F) {
    for m0 in (0..mp).step_by(MC) {
        let m1 = (m0 + MC).min(mp);
        for n0 in (0..np).step_by(NR) {
            let wt = &w[n0 * kp..(n0 + NR) * kp];
            for mi in (m0..m1).step_by(MR) {
                let t = tile(&x[mi * kp..(mi + MR) * kp], wt, kp);
                store(mi, n0, &t);
            }
        }
    }
}

/// One `MR x NR` tile: `x` holds `MR` rows and `w` `NR` rows of `kp` values.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
fn tile(x: &[i16], w: &[i16], kp: usize) -> [[i32; NR]; MR] {
    use core::arch::wasm32::*;
    assert!(x.len() >= MR * kp && w.len() >= NR * kp && kp % KSTEP == 0);
    let (xp, wp) = (x.as_ptr(), w.as_ptr());
    let mut acc = [[i32x4_splat(0); NR]; MR];
    let mut k = 0;
    while k < kp {
        // SAFETY: every row is `kp` long and `k + 8 <= kp` (checked above), so each load
        // of 8 values stays inside `x` or `w`; wasm loads have no alignment requirement.
        unsafe {
            let xv: [v128; MR] = core::array::from_fn(|i| v128_load(xp.add(i * kp + k) as *const v128));
            for j in 0..NR {
                let wv = v128_load(wp.add(j * kp + k) as *const v128);
                for i in 0..MR {
                    acc[i][j] = i32x4_add(acc[i][j], i32x4_dot_i16x8(xv[i], wv));
                }
            }
        }
        k += KSTEP;
    }
    let mut out = [[0i32; NR]; MR];
    for i in 0..MR {
        for j in 0..NR {
            let a = acc[i][j];
            out[i][j] = i32x4_extract_lane::<0>(a)
                .wrapping_add(i32x4_extract_lane::<1>(a))
                .wrapping_add(i32x4_extract_lane::<2>(a))
                .wrapping_add(i32x4_extract_lane::<3>(a));
        }
    }
    out
}

/// One `MR x NR` tile, portable: dot products the compiler vectorizes (pmaddwd on x86).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
#[inline(always)]
fn tile(x: &[i16], w: &[i16], kp: usize) -> [[i32; NR]; MR] {
    let mut out = [[0i32; NR]; MR];
    for (i, row) in out.iter_mut().enumerate() {
        let a = &x[i * kp..(i + 1) * kp];
        for (j, o) in row.iter_mut().enumerate() {
            let b = &w[j * kp..(j + 1) * kp];
            *o = a.iter().zip(b).fold(0i32, |s, (&p, &q)| s.wrapping_add(p as i32 * q as i32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift) for test data.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn int(&mut self, lo: i32, hi: i32) -> i32 {
            lo + (self.next() % (hi - lo + 1) as u64) as i32
        }
        fn f(&mut self) -> f32 {
            (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
        }
    }

    fn reference(x: &[f32], w: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
        let mut y = vec![0f32; m * n];
        for r in 0..m {
            for c in 0..n {
                let s: f64 = (0..k).map(|i| x[r * k + i] as f64 * w[c * k + i] as f64).sum();
                y[r * n + c] = s as f32 + b[c];
            }
        }
        y
    }

    #[test]
    fn integer_products_are_exact() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for &(mp, np, kp) in &[(4, 2, 8), (8, 6, 24), (68, 10, 392), (128, 4, 1536)] {
            let amax = activation_max(kp);
            // Extreme values included: the bounds the kernel promises not to overflow.
            let x: Vec<i16> = (0..mp * kp).map(|i| if i % 7 == 0 { amax as i16 } else { rng.int(-amax, amax) as i16 }).collect();
            let w: Vec<i16> = (0..np * kp).map(|i| if i % 7 == 0 { -WEIGHT_MAX as i16 } else { rng.int(-WEIGHT_MAX, WEIGHT_MAX) as i16 }).collect();
            let mut got = vec![i32::MIN; mp * np];
            gemm(&x, &w, mp, np, kp, |r, c, t| {
                for i in 0..MR {
                    for j in 0..NR {
                        got[(r + i) * np + c + j] = t[i][j];
                    }
                }
            });
            for r in 0..mp {
                for c in 0..np {
                    let want: i64 = (0..kp).map(|i| x[r * kp + i] as i64 * w[c * kp + i] as i64).sum();
                    assert_eq!(got[r * np + c] as i64, want, "({r}, {c}) of {mp}x{np}x{kp}");
                }
            }
        }
    }

    #[test]
    fn small_integers_give_exact_outputs() {
        // Rows whose largest magnitude is the quantization range map to integers exactly.
        let (m, n, k) = (5, 3, 16);
        let mut rng = Rng(7);
        let mut x: Vec<f32> = (0..m * k).map(|_| rng.int(-100, 100) as f32).collect();
        let mut w: Vec<f32> = (0..n * k).map(|_| rng.int(-WEIGHT_MAX, WEIGHT_MAX) as f32).collect();
        let amax = activation_max(round_up(k, KSTEP)) as f32;
        for r in 0..m {
            x[r * k] = amax;
        }
        for c in 0..n {
            w[c * k + 1] = -(WEIGHT_MAX as f32);
        }
        let b = [0.5, -2.0, 3.0];
        let layer = IntLinear::new(&w, Some(&b), n, k);
        assert_eq!(layer.forward_slice(&x, m), reference(&x, &w, &b, m, n, k));
    }

    #[test]
    fn random_shapes_match_f32() {
        let mut rng = Rng(42);
        // Rows not a multiple of MR, outputs not a multiple of NR, k not a multiple of 8.
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (13, 384, 384), (67, 33, 100), (130, 7, 1536), (6, 1536, 384)] {
            let x: Vec<f32> = (0..m * k).map(|_| rng.f() * 3.0).collect();
            let w: Vec<f32> = (0..n * k).map(|_| rng.f() * 0.1).collect();
            let b: Vec<f32> = (0..n).map(|_| rng.f()).collect();
            let got = IntLinear::new(&w, Some(&b), n, k).forward_slice(&x, m);
            let want = reference(&x, &w, &b, m, n, k);
            for r in 0..m {
                for c in 0..n {
                    // Error bound: the weight rounding (half a step of max|w_c|/127 per
                    // value) dominates; with independent signs it grows like sqrt(k).
                    let xn: f32 = (0..k).map(|i| x[r * k + i].powi(2)).sum::<f32>().sqrt();
                    let wmax = (0..k).map(|i| w[c * k + i].abs()).fold(0f32, f32::max);
                    let tol = 4.0 * xn * wmax / WEIGHT_MAX as f32 * 0.5 + 1e-5;
                    let (g, e) = (got[r * n + c], want[r * n + c]);
                    assert!((g - e).abs() <= tol, "({r}, {c}) of {m}x{n}x{k}: {g} vs {e} (tol {tol})");
                }
            }
        }
    }

    #[test]
    fn zero_rows_and_the_accumulator_bound() {
        let layer = IntLinear::new(&[0.0; 8], Some(&[1.0, 2.0]), 2, 4);
        assert_eq!(layer.forward_slice(&[0.0; 8], 2), vec![1.0, 2.0, 1.0, 2.0]);
        assert_eq!(activation_max(8), i16::MAX as i32);
        // A longer reduction gets a smaller range, so that kp/4 products per lane fit.
        for kp in [384, 1536, 8192] {
            let a = activation_max(kp) as i64;
            assert!(a < i16::MAX as i64 && a * WEIGHT_MAX as i64 * (kp as i64 / 4) <= i32::MAX as i64);
            assert!((a + 1) * WEIGHT_MAX as i64 * (kp as i64 / 4) > i32::MAX as i64, "range not the largest");
        }
    }
}
