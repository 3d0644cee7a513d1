//! Top-1 / top-3 accuracy of the similarity mapping on the labelled ATRM/TMFK sentences
//! (tests/fixtures/cloud-sentences.json), for each pooling and with or without TMFK's
//! linked-technique evidence. Run from the repository root:
//!
//!     cargo run --release -p ttpmap-mapper --example sentence_accuracy
//!
//! Optional arguments: the fixture path, then a matrices folder holding <id>.json and
//! <id>.vectors.json (default public/matrices).

use ttpmap_attack::Matrix;
use ttpmap_mapper::similarity::{Pooling, SimilarityConfig, SimilarityMapper, TechniqueVectors};
use ttpmap_mapper::{BatchConfig, Classifier, Manifest, ModelFiles, WeightFormat};

fn read(p: &str) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fixture = args.get(1).cloned().unwrap_or("crates/mapper/tests/fixtures/cloud-sentences.json".into());
    let dir = args.get(2).cloned().unwrap_or("public/matrices".into());
    let manifest = Manifest::from_json(&String::from_utf8(read("public/model/manifest.json")).unwrap()).unwrap();
    let files = ModelFiles::verify(manifest, read("public/model/model.gguf"), read("public/model/tokenizer.json")).unwrap();
    let classifier = Classifier::from_files(&files, WeightFormat::F32).unwrap().classifier;
    let v: serde_json::Value = serde_json::from_slice(&read(&fixture)).unwrap();
    let sentences = v["sentences"].as_array().unwrap();
    println!("{:<6} {:<9} {:<6} {:>3} {:>6} {:>6}", "matrix", "pooling", "links", "n", "top-1", "top-3");
    for id in ["atrm", "tmfk"] {
        let matrix = Matrix::from_compact_json(&String::from_utf8(read(&format!("{dir}/{id}.json"))).unwrap()).unwrap();
        let vectors = TechniqueVectors::from_json(&String::from_utf8(read(&format!("{dir}/{id}.vectors.json"))).unwrap()).unwrap();
        let mine: Vec<_> = sentences.iter().filter(|s| s["matrix"] == id).collect();
        let texts: Vec<&str> = mine.iter().map(|s| s["text"].as_str().unwrap()).collect();
        for pooling in [Pooling::Max, Pooling::Mean, Pooling::Centroid] {
            for links in [false, true] {
                if links && matrix.techniques.iter().all(|t| t.links.is_empty()) {
                    continue;
                }
                let config = SimilarityConfig { pooling, use_links: links, ..SimilarityConfig::for_vectors(&vectors) };
                let mapper = SimilarityMapper::new(&classifier, &vectors, &matrix, config);
                let scores = mapper.ranked_scores(&texts, BatchConfig::default()).unwrap();
                let (mut top1, mut top3) = (0, 0);
                for (s, sc) in mine.iter().zip(&scores) {
                    let expected: Vec<&str> = s["expected"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
                    let mut order: Vec<usize> = (0..sc.len()).collect();
                    order.sort_by(|&a, &b| sc[b].total_cmp(&sc[a]));
                    let rank = order.iter().position(|&i| expected.contains(&mapper.labels()[i].id.as_str())).unwrap_or(usize::MAX);
                    top1 += (rank < 1) as usize;
                    top3 += (rank < 3) as usize;
                    if std::env::var_os("VERBOSE").is_some() && pooling == Pooling::Max {
                        let best: Vec<String> = order[..3].iter().map(|&i| format!("{} {:.2}", mapper.labels()[i].id, sc[i])).collect();
                        println!("  rank {rank:>3} {:?} <- {}", best, s["text"].as_str().unwrap());
                    }
                }
                let n = mine.len() as f64;
                println!("{:<6} {:<9} {:<6} {:>3} {:>6.3} {:>6.3}", id, format!("{pooling:?}"), links, mine.len(), top1 as f64 / n, top3 as f64 / n);
            }
        }
    }
}
