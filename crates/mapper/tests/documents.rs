//! PDF and Word reports map like their text. The test documents of
//! crates/docs/tests/fixtures (made by scripts/make-test-docs.py from TRAM validation
//! reports: two-column PDFs printed by Chromium with running headers and page footers;
//! DOCX files with headings, lists, tables, headers and footers) go through the same steps
//! as `ttpmap classify` (input kind from the bytes, `extract_text`, `map_report` with the
//! shipped model and its threshold); the techniques detected must match those detected in
//! the source text: mean Jaccard of the technique sets at least 0.85 per format (an empty
//! union counts 1). Needs the shipped model; run with `--release`.

mod common;

use std::collections::BTreeSet;

use common::root;
use ttpmap_mapper::input::{extract_text, InputKind};
use ttpmap_mapper::{map_report, AggregateConfig, BatchConfig, Classifier, WeightFormat};

fn model() -> Classifier {
    common::load(WeightFormat::F32)
}

fn detected(model: &Classifier, bytes: &[u8]) -> BTreeSet<String> {
    let text = extract_text(bytes, InputKind::detect(None, bytes)).unwrap();
    let mapping = map_report(model, &text, AggregateConfig::default(), BatchConfig::default(), &mut |_, _| {}).unwrap();
    mapping.detected_ids(model.manifest.threshold).into_iter().collect()
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

#[test]
fn pdf_and_docx_reports_map_to_the_techniques_of_their_source_text() {
    let dir = root().join("crates/docs/tests/fixtures/reports");
    let mut stems: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "txt").then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    stems.sort();
    assert!(stems.len() >= 8, "run scripts/make-test-docs.py");
    let model = model();
    let mut sums = [0.0f64; 2];
    for stem in &stems {
        let read = |ext: &str| std::fs::read(dir.join(format!("{stem}.{ext}"))).unwrap();
        let source = detected(&model, &read("txt"));
        let mut line = format!("{stem}: {} techniques in the text", source.len());
        for (k, ext) in ["pdf", "docx"].iter().enumerate() {
            let doc = detected(&model, &read(ext));
            let j = jaccard(&source, &doc);
            sums[k] += j;
            let only_doc: Vec<&String> = doc.difference(&source).collect();
            let only_text: Vec<&String> = source.difference(&doc).collect();
            line += &format!("; {ext} {j:.3} (only in the {ext}: {only_doc:?}, only in the text: {only_text:?})");
        }
        eprintln!("{line}");
    }
    let n = stems.len() as f64;
    let (pdf, docx) = (sums[0] / n, sums[1] / n);
    eprintln!("mean Jaccard over {n} reports: pdf {pdf:.3}, docx {docx:.3}");
    assert!(pdf >= 0.85, "PDF: mean Jaccard {pdf:.3}");
    assert!(docx >= 0.85, "DOCX: mean Jaccard {docx:.3}");
}
