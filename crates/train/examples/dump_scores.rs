// Development aid: dump per-report, per-technique evidence scores of held-out reports so
// that report-level aggregation rules can be compared (chosen on calibration reports only).
use std::collections::BTreeMap;
use ttpmap_mapper::{map_report, AggregateConfig, BatchConfig, Classifier, Manifest, ModelFiles, WeightFormat};
use ttpmap_train::data::{load_corpus, CorpusOptions};
fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&a[1]);
    let manifest = Manifest::from_json(&std::fs::read_to_string(dir.join("manifest.json"))?)?;
    let files = ModelFiles::verify(manifest, std::fs::read(dir.join(Manifest::WEIGHTS))?, std::fs::read(dir.join(Manifest::TOKENIZER))?)?;
    let c = Classifier::from_files(&files, WeightFormat::F32)?.classifier;
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let corpus = load_corpus(&data, &CorpusOptions::default())?;
    let mut out = Vec::new();
    for (split, reports) in [("calibration", &corpus.calibration), ("validation", &corpus.validation)] {
        for r in reports.iter() {
            let m = map_report(&c, &r.text, AggregateConfig { floor: 0.02, max_evidence: 50, ..Default::default() }, BatchConfig::default(), &mut |_, _| {})?;
            let t: BTreeMap<String, Vec<f32>> = m.techniques.iter().map(|t| (t.id.clone(), t.evidence.iter().map(|e| e.score).collect())).collect();
            out.push(serde_json::json!({"split": split, "name": r.name, "gold": r.gold, "sentences": m.sentences, "scores": t}));
            eprintln!("{split} {}", r.name);
        }
    }
    std::fs::write(&a[2], serde_json::to_string(&out)?)?;
    Ok(())
}
