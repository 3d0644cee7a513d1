//! Quantization parity: the shipped Q8_0 model's sentence probabilities stay within 0.02 of
//! the f32 model's, on validation sentences whose f32 probabilities `ttpmap train` recorded
//! in tests/fixtures/f32_reference.json when it exported the model.

mod common;

use common::root;
use ttpmap_mapper::{BatchConfig, Classifier, WeightFormat};

fn model() -> Classifier {
    common::load(WeightFormat::F32)
}

#[test]
fn quantized_probabilities_stay_within_002_of_f32() {
    let reference: serde_json::Value = serde_json::from_slice(&std::fs::read(root().join("crates/mapper/tests/fixtures/f32_reference.json")).unwrap()).unwrap();
    let floor = reference["floor"].as_f64().unwrap() as f32;
    let sentences: Vec<&serde_json::Value> = reference["sentences"].as_array().unwrap().iter().collect();
    assert!(sentences.len() >= 100);
    let model = model();
    let texts: Vec<&str> = sentences.iter().map(|s| s["text"].as_str().unwrap()).collect();
    let probs = model.sentence_probs(&texts, BatchConfig::default()).unwrap();
    let labels = model.labels();
    for (s, p) in sentences.iter().zip(&probs) {
        let mut want = vec![None; labels.len()];
        for pair in s["probs"].as_array().unwrap() {
            let id = pair[0].as_str().unwrap();
            let i = labels.iter().position(|l| l.id == id).unwrap();
            want[i] = Some(pair[1].as_f64().unwrap() as f32);
        }
        for (i, (&q, w)) in p.iter().zip(&want).enumerate() {
            match w {
                Some(f) => assert!((q - f).abs() <= 0.02, "{}: quantized {q} vs f32 {f} on {:?}", labels[i].id, s["text"]),
                None => assert!(q <= floor + 0.02, "{}: quantized {q} where f32 < {floor}", labels[i].id),
            }
        }
    }
}

