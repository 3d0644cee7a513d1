//! The shipped model (public/model): canonical sentences map to their techniques (TRAM's
//! convention and AnnoCTR's), benign prose maps to nothing, quantization stays within 0.02
//! of f32, corruption is caught, and awkward input (huge sentences, other languages) gives a
//! correct result without panicking.

mod common;

use common::{model, root};
use ttpmap_attack::Matrix;
use ttpmap_mapper::export::{report_layer, LayerOptions};
use ttpmap_mapper::{map_report, merge_shards, AggregateConfig, BatchConfig, Manifest, ModelError, ModelFiles, ReportMapping};

fn read(name: &str) -> Vec<u8> {
    common::read(&format!("public/model/{name}"))
}

fn manifest() -> Manifest {
    Manifest::from_json(&String::from_utf8(read(Manifest::FILE)).unwrap()).unwrap()
}

fn map(text: &str) -> ReportMapping {
    map_report(model(), text, AggregateConfig::default(), BatchConfig::default(), &mut |_, _| {}).unwrap()
}

fn detected(text: &str) -> Vec<String> {
    map(text).detected_ids(model().manifest.threshold)
}

#[test]
fn scheduled_task_sentence_maps_to_t1053_005() {
    let ids = detected("The malware creates a scheduled task to run at logon.");
    assert!(ids.contains(&"T1053.005".to_string()), "got {ids:?}");
}

#[test]
fn spearphishing_attachment_sentence_maps_to_t1566_001() {
    let ids = detected("The actor sent spearphishing emails with malicious Word attachments.");
    assert!(ids.contains(&"T1566.001".to_string()), "got {ids:?}");
}

#[test]
fn credential_dumping_sentence_maps_to_lsass_memory() {
    let ids = detected("The attackers dumped credentials from LSASS memory using Mimikatz.");
    assert!(ids.contains(&"T1003.001".to_string()), "got {ids:?}");
}

#[test]
fn ransomware_encrypting_files_maps_to_t1486() {
    // AnnoCTR's convention, which the model is trained on too: ransomware's encryption of
    // the victim's files is Data Encrypted for Impact.
    let ids = detected("The ransomware encrypted the victims' files and left a ransom note demanding payment in Bitcoin.");
    assert!(ids.contains(&"T1486".to_string()), "got {ids:?}");
}

#[test]
fn benign_prose_maps_to_nothing() {
    let text = "The company held its annual meeting in Lisbon last spring. Revenue grew by four percent, \
                and the board thanked employees for their work. The new office opens in March, with a \
                cafeteria and a garden on the roof.";
    assert_eq!(detected(text), Vec::<String>::new());
}

#[test]
fn layer_of_a_mapping_passes_the_validity_rules() {
    let text = "The malware creates a scheduled task to run at logon. It then dumps credentials from LSASS memory.";
    let matrix = Matrix::from_compact_json(&std::fs::read_to_string(root().join("public/matrices/enterprise.json")).unwrap()).unwrap();
    let m = map(text);
    let opts = LayerOptions { name: "test".into(), threshold: model().manifest.threshold, top_evidence: 2 };
    let layer = report_layer(&matrix, &m, text, &opts).unwrap();
    layer.validate(Some(&matrix)).unwrap();
    assert!(layer.techniques.iter().any(|t| t.technique_id == "T1053" && t.show_subtechniques == Some(true) && t.score.is_none()));
}

#[test]
fn evidence_offsets_point_at_the_sentence() {
    let text = "Intro line about the company.\n\nThe malware creates a scheduled task to run at logon.";
    let m = map(text);
    let t = m.techniques.iter().find(|t| t.id == "T1053.005").expect("T1053.005 scored");
    let e = &t.evidence[0];
    assert_eq!(&text[e.start..e.end], "The malware creates a scheduled task to run at logon.");
}

#[test]
fn corrupted_weights_are_refused() {
    let mut gguf = read(Manifest::WEIGHTS);
    let mid = gguf.len() / 2;
    gguf[mid] ^= 0xff;
    let err = ModelFiles::verify(manifest(), gguf, read(Manifest::TOKENIZER)).err().expect("corruption must be caught");
    assert!(matches!(err, ModelError::Checksum { ref file, .. } if file == Manifest::WEIGHTS), "{err}");
    // Files given one by one are checked alike, and a classifier needs both.
    let mut files = ModelFiles::new(manifest());
    files.add(Manifest::TOKENIZER, read(Manifest::TOKENIZER)).unwrap();
    let mut bad = read(Manifest::TOKENIZER);
    bad.push(b' ');
    assert!(matches!(files.add(Manifest::TOKENIZER, bad), Err(ModelError::Checksum { .. })));
    let missing = ttpmap_mapper::Classifier::from_files(&files, ttpmap_mapper::WeightFormat::F32).err().expect("no weights given");
    assert!(missing.to_string().contains(Manifest::WEIGHTS), "{missing}");
}

#[test]
fn a_3000_word_sentence_is_windowed_not_cut() {
    let long = (0..3000).map(|i| if i == 2900 { "schtasks" } else { "word" }).collect::<Vec<_>>().join(" ");
    let windows = model().windows(&[long.as_str()]).unwrap();
    assert!(windows.len() > 10, "{} windows", windows.len());
    let m = map(&long);
    assert_eq!(m.sentences, 1);
}

#[test]
fn non_english_text_gives_a_result() {
    let m = map("Злоумышленники отправили фишинговые письма. 攻击者发送了钓鱼邮件。");
    assert!(m.sentences >= 2);
}

#[test]
fn empty_text_maps_to_an_empty_result() {
    let m = map("   \n\n ");
    assert_eq!(m.sentences, 0);
    assert!(m.techniques.is_empty());
}

#[test]
fn a_run_driven_chunk_by_chunk_and_in_shards_maps_like_map_report() {
    let text = std::fs::read_to_string(root().join("crates/mapper/tests/fixtures/segment/trickbot.txt")).unwrap();
    let agg = AggregateConfig::default();
    let batch = BatchConfig::default();
    let want = map(&text);
    assert!(!want.detected_ids(want.threshold).is_empty(), "the fixture should detect techniques");
    // As the browser worker drives it: shortest first, small chunks growing, an await between.
    let mut run = model().mapping_run(&text, agg);
    run.shortest_first();
    let (mut size, mut calls) = (1, 0);
    while let Some(texts) = run.next_chunk(size) {
        let p = run.add_scores(&model().sentence_probs(&texts, batch).unwrap()).unwrap();
        assert_eq!(p.total, want.sentences);
        size = (size * 2).min(16);
        calls += 1;
    }
    assert!(calls > 3);
    assert_close(&run.snapshot(), &want);
    // Three workers' shards, dealt by token count and merged as the page merges them.
    let tokens: Vec<usize> = {
        let run = model().mapping_run(&text, agg);
        let texts: Vec<&str> = run.sentences().iter().map(|s| s.text(&text)).collect();
        let mut tokens = vec![0; texts.len()];
        for w in model().windows(&texts).unwrap() {
            tokens[w.sentence] += w.ids.len();
        }
        tokens
    };
    let parts: Vec<ReportMapping> = (0..3)
        .map(|shard| {
            let mut run = model().mapping_run(&text, agg);
            run.keep_shard(&tokens, shard, 3).unwrap();
            run.drive(8, &mut |_, _| {}, &mut |texts| model().sentence_probs(texts, batch)).unwrap()
        })
        .collect();
    assert!(parts.iter().all(|p| p.sentences > 0));
    let refs: Vec<&ReportMapping> = parts.iter().collect();
    assert_close(&merge_shards(&refs, agg), &want);
}

/// The same mapping up to float rounding: the encoder pads a batch to its longest window, so
/// another batching moves probabilities in the sixth decimal. Same sentences, techniques
/// and evidence sentences; scores within 1e-4.
fn assert_close(got: &ReportMapping, want: &ReportMapping) {
    assert_eq!((got.sentences, got.threshold, got.aggregation), (want.sentences, want.threshold, want.aggregation));
    let ids = |m: &ReportMapping| m.techniques.iter().map(|t| t.id.clone()).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(ids(got), ids(want));
    assert_eq!(got.detected_ids(got.threshold), want.detected_ids(want.threshold));
    for w in &want.techniques {
        let g = got.techniques.iter().find(|t| t.id == w.id).unwrap();
        assert!((g.score - w.score).abs() < 1e-4, "{}: {} vs {}", w.id, g.score, w.score);
        let spans = |t: &ttpmap_mapper::TechniqueMapping| t.evidence.iter().map(|e| (e.start, e.end)).collect::<std::collections::BTreeSet<_>>();
        assert_eq!(spans(g), spans(w), "{}", w.id);
    }
}
