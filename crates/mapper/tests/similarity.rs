//! The similarity mapping onto ATRM and TMFK with the shipped model and the shipped
//! technique vectors: labelled sentences rank their technique near the top, stale vectors
//! are refused, and a mapped report exports as a valid layer with the matrix's own IDs.


use ttpmap_attack::{Examples, Matrix, MetadataItem};
use ttpmap_mapper::export::{report_layer, LayerOptions};
use ttpmap_mapper::similarity::{
    compute_vectors, map_report_similarity, model_sha256, PrototypeConfig, SimilarityConfig, SimilarityMapper, TechniqueVectors,
    VectorsError,
};
use ttpmap_mapper::{AggregateConfig, BatchConfig};

mod common;

use common::{model, read};

fn matrix(id: &str) -> Matrix {
    Matrix::from_compact_json(&String::from_utf8(read(&format!("public/matrices/{id}.json"))).unwrap()).unwrap()
}

fn vectors(id: &str) -> TechniqueVectors {
    TechniqueVectors::from_json(&String::from_utf8(read(&format!("public/matrices/{id}.vectors.json"))).unwrap()).unwrap()
}

/// Fraction of the fixture's sentences of `id` whose expected technique is among the 3 best.
fn top3(id: &str) -> f64 {
    let fixture: serde_json::Value =
        serde_json::from_slice(&read("crates/mapper/tests/fixtures/cloud-sentences.json")).unwrap();
    let mine: Vec<&serde_json::Value> = fixture["sentences"].as_array().unwrap().iter().filter(|s| s["matrix"] == id).collect();
    let texts: Vec<&str> = mine.iter().map(|s| s["text"].as_str().unwrap()).collect();
    let (m, v) = (matrix(id), vectors(id));
    let mapper = SimilarityMapper::new(model(), &v, &m, SimilarityConfig::for_vectors(&v));
    let scores = mapper.ranked_scores(&texts, BatchConfig::default()).unwrap();
    let hits = mine
        .iter()
        .zip(&scores)
        .filter(|(s, sc)| {
            let mut order: Vec<usize> = (0..sc.len()).collect();
            order.sort_by(|&a, &b| sc[b].total_cmp(&sc[a]));
            order[..3].iter().any(|&i| s["expected"].as_array().unwrap().iter().any(|e| e == mapper.labels()[i].id.as_str()))
        })
        .count();
    hits as f64 / mine.len() as f64
}

// Floors a little under the figures in docs/benchmarks.md (default configuration).
#[test]
fn azure_sentences_rank_their_technique_in_the_top_3() {
    let acc = top3("atrm");
    assert!(acc >= ATRM_TOP3_FLOOR, "ATRM top-3 accuracy {acc:.3}");
}

#[test]
fn kubernetes_sentences_rank_their_technique_in_the_top_3() {
    let acc = top3("tmfk");
    assert!(acc >= TMFK_TOP3_FLOOR, "TMFK top-3 accuracy {acc:.3}");
}

const ATRM_TOP3_FLOOR: f64 = 0.85; // measured 0.917 (22 of 24)
const TMFK_TOP3_FLOOR: f64 = 0.84; // measured 0.920 (23 of 25)

#[test]
fn shipped_vectors_match_the_shipped_model_and_matrices() {
    for id in ["atrm", "tmfk"] {
        vectors(id).check(&model_sha256(model()), &matrix(id)).unwrap();
    }
}

#[test]
fn vectors_of_another_model_are_refused() {
    let err = vectors("atrm").check("0000", &matrix("atrm")).unwrap_err();
    assert!(matches!(err, VectorsError::StaleModel { .. }), "{err}");
}

#[test]
fn vectors_of_another_matrix_are_refused() {
    let err = vectors("atrm").check(&model_sha256(model()), &matrix("tmfk")).unwrap_err();
    assert!(matches!(err, VectorsError::StaleMatrix { .. }), "{err}");
}

#[test]
fn computed_vectors_report_progress_and_rank_a_technique_by_its_own_words() {
    // A small matrix cut from TMFK: vectors computed at run time, as for a user's bundle.
    let mut m = matrix("tmfk");
    m.techniques.retain(|t| ["MS-TA9006", "MS-TA9014", "MS-TA9039"].contains(&t.id.as_str()));
    m.provenance = None;
    m.reindex();
    let mut calls = Vec::new();
    let v = compute_vectors(model(), &m, &Examples::new(), &PrototypeConfig::default(), "", BatchConfig::default(), &mut |d, t| {
        calls.push((d, t))
    })
    .unwrap();
    assert_eq!(calls.last().map(|&(d, t)| d == t), Some(true), "{calls:?}");
    v.check(&model_sha256(model()), &m).unwrap();
    let mapper = SimilarityMapper::new(model(), &v, &m, SimilarityConfig { use_links: false, ..SimilarityConfig::for_vectors(&v) });
    let s = mapper.sentence_scores(&["The attackers deployed a CronJob that ran their miner every hour."], BatchConfig::default()).unwrap();
    let best = (0..3).max_by(|&a, &b| s[0][a].total_cmp(&s[0][b])).unwrap();
    assert_eq!(mapper.labels()[best].id, "MS-TA9014", "{:?}", s[0]);
}

#[test]
fn linked_enterprise_detections_raise_the_tmfk_technique() {
    let (m, v) = (matrix("tmfk"), vectors("tmfk"));
    let text = ["The intruder ran commands in the running container through kubectl exec."];
    let score = |use_links| {
        let mapper = SimilarityMapper::new(model(), &v, &m, SimilarityConfig { use_links, ..SimilarityConfig::for_vectors(&v) });
        let i = mapper.labels().iter().position(|l| l.id == "MS-TA9006").unwrap();
        mapper.ranked_scores(&text, BatchConfig::default()).unwrap()[0][i]
    };
    assert!(score(true) > score(false));
}

#[test]
fn an_atrm_report_exports_a_valid_layer_with_atrm_ids() {
    let (m, v) = (matrix("atrm"), vectors("atrm"));
    let mapper = SimilarityMapper::new(model(), &v, &m, SimilarityConfig::for_vectors(&v));
    let text = "The operators dumped every secret in the key vault. They then created a new guest account.";
    let mapping = map_report_similarity(&mapper, text, AggregateConfig::default(), BatchConfig::default(), &mut |_, _| {}).unwrap();
    let top = &mapping.techniques[0];
    assert!(top.id.starts_with("AZT"), "{}", top.id);
    let layer = report_layer(&m, &mapping, text, &LayerOptions { name: "r".into(), threshold: 0.0, top_evidence: 2 }).unwrap();
    layer.validate(Some(&m)).unwrap();
    let named = layer.metadata.iter().any(|e| matches!(e, MetadataItem::Entry { name, value } if name == "matrix" && value.contains("Azure Threat Research Matrix")));
    assert!(named, "{:?}", layer.metadata);
}
