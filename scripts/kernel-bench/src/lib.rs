#[allow(dead_code)]
#[path = "../../../crates/mapper/src/int8.rs"]
mod int8;
use candle_core::{Device, Tensor};
use std::cell::RefCell;

struct S { x: Vec<f32>, m: usize, lin: int8::IntLinear, xt: Tensor, w: Tensor, b: Tensor }
thread_local! { static ST: RefCell<Option<S>> = RefCell::new(None); }

fn rnd(seed: &mut u64) -> f32 { *seed ^= *seed << 13; *seed ^= *seed >> 7; *seed ^= *seed << 17; ((*seed >> 40) as f32 / (1u64<<24) as f32) * 2.0 - 1.0 }

#[no_mangle]
pub extern "C" fn setup(m: usize, n: usize, k: usize) {
    let mut s = 12345u64;
    let x: Vec<f32> = (0..m*k).map(|_| rnd(&mut s)).collect();
    let w: Vec<f32> = (0..n*k).map(|_| rnd(&mut s) * 0.1).collect();
    let b: Vec<f32> = (0..n).map(|_| rnd(&mut s)).collect();
    let lin = int8::IntLinear::new(&w, Some(&b), n, k);
    let xt = Tensor::from_vec(x.clone(), (1, m, k), &Device::Cpu).unwrap();
    let wt = Tensor::from_vec(w, (n, k), &Device::Cpu).unwrap();
    let bt = Tensor::from_vec(b, n, &Device::Cpu).unwrap();
    ST.with(|st| *st.borrow_mut() = Some(S { x, m, lin, xt, w: wt, b: bt }));
}

#[no_mangle]
pub extern "C" fn run_int() -> f32 {
    ST.with(|st| { let st = st.borrow(); let s = st.as_ref().unwrap(); s.lin.forward_slice(&s.x, s.m)[0] })
}

#[no_mangle]
pub extern "C" fn run_int_op() -> f32 {
    ST.with(|st| { let st = st.borrow(); let s = st.as_ref().unwrap(); let y = s.xt.apply_op1_no_bwd(&s.lin).unwrap(); y.flatten_all().unwrap().get(0).unwrap().to_scalar::<f32>().unwrap() })
}

#[no_mangle]
pub extern "C" fn run_f32() -> f32 {
    // what candle_nn::Linear does for a 3-D input: broadcast_matmul with w.t() then add bias
    ST.with(|st| { let st = st.borrow(); let s = st.as_ref().unwrap();
        let (bsz, m, k) = s.xt.dims3().unwrap(); let n = s.w.dim(0).unwrap();
        let w = s.w.broadcast_left(bsz).unwrap().t().unwrap();
        let y = s.xt.matmul(&w).unwrap().broadcast_add(&s.b).unwrap();
        let _ = (m, k, n);
        y.flatten_all().unwrap().get(0).unwrap().to_scalar::<f32>().unwrap() })
}
