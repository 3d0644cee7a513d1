use candle_core::{Device, Tensor};
use std::cell::RefCell;
use std::collections::HashMap;
use ttpmap_mapper::bert::{tensor_names, BertConfig, Encoder};
use ttpmap_mapper::int8::IntLinear;

struct S { enc: Encoder, ids: Tensor, mask: Tensor, lins: Vec<(IntLinear, usize)>, xs: Vec<Vec<f32>>, m: usize }
thread_local! { static ST: RefCell<Option<S>> = RefCell::new(None); }

fn rnd(seed: &mut u64) -> f32 { *seed ^= *seed << 13; *seed ^= *seed >> 7; *seed ^= *seed << 17; ((*seed >> 40) as f32 / (1u64<<24) as f32) * 2.0 - 1.0 }

#[no_mangle]
pub extern "C" fn setup(int: u32, b: usize, t: usize) {
    let cfg = BertConfig::default();
    let mut seed = 99u64;
    let shape = |n: &str| -> Vec<usize> {
        let h = cfg.hidden_size; let i = cfg.intermediate_size;
        if n.contains("word_embeddings") { vec![cfg.vocab_size, h] }
        else if n.contains("position_embeddings") { vec![cfg.max_position_embeddings, h] }
        else if n.contains("token_type") { vec![2, h] }
        else if n.ends_with("intermediate.dense.weight") { vec![i, h] }
        else if n.ends_with("intermediate.dense.bias") { vec![i] }
        else if n.ends_with("output.dense.weight") && !n.contains("attention") { vec![h, i] }
        else if n.ends_with(".weight") && !n.contains("LayerNorm") { vec![h, h] }
        else { vec![h] }
    };
    let mut t_map = HashMap::new();
    for n in tensor_names(&cfg) {
        let s = shape(&n); let len: usize = s.iter().product();
        let v: Vec<f32> = if n.contains("LayerNorm.weight") { vec![1.0; len] } else { (0..len).map(|_| rnd(&mut seed) * 0.05).collect() };
        t_map.insert(n, Tensor::from_vec(v, s, &Device::Cpu).unwrap());
    }
    let enc = if int == 1 { Encoder::from_tensors_int8(cfg.clone(), &t_map).unwrap() } else { Encoder::from_tensors(cfg.clone(), &t_map).unwrap() };
    let ids: Vec<u32> = (0..b*t).map(|i| (1000 + i * 37 % 20000) as u32).collect();
    let ids = Tensor::from_vec(ids, (b, t), &Device::Cpu).unwrap();
    let mask = Tensor::ones((b, t), candle_core::DType::F32, &Device::Cpu).unwrap();
    let m = b * t;
    let mut lins = Vec::new(); let mut xs = Vec::new();
    for (n, k, reps) in [(384usize, 384usize, 4usize), (1536, 384, 1), (384, 1536, 1)] {
        let w: Vec<f32> = (0..n*k).map(|_| rnd(&mut seed) * 0.05).collect();
        lins.push((IntLinear::new(&w, None, n, k), reps * 6));
        xs.push((0..m*k).map(|_| rnd(&mut seed)).collect());
    }
    ST.with(|st| *st.borrow_mut() = Some(S { enc, ids, mask, lins, xs, m }));
}

/// The whole encoder forward.
#[no_mangle]
pub extern "C" fn forward() -> f32 {
    ST.with(|st| { let st = st.borrow(); let s = st.as_ref().unwrap();
        let h = s.enc.forward(&s.ids, &s.mask).unwrap();
        h.flatten_all().unwrap().get(0).unwrap().to_scalar::<f32>().unwrap() })
}

/// Only the integer dense layers of the 6 encoder layers, same shapes.
#[no_mangle]
pub extern "C" fn dense_only() -> f32 {
    ST.with(|st| { let st = st.borrow(); let s = st.as_ref().unwrap();
        let mut acc = 0.0;
        for ((l, reps), x) in s.lins.iter().zip(&s.xs) { for _ in 0..*reps { acc += l.forward_slice(x, s.m)[0]; } }
        acc })
}
