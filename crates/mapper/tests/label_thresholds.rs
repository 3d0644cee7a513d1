//! Per-label thresholds (manifest `label_thresholds`): the classifier puts a label with its
//! own threshold on the scale of the model's one, so a report score reaches the global
//! threshold exactly when the raw score reaches the label's own; other labels are untouched;
//! a manifest naming an unknown label or an impossible threshold is refused.

mod common;

use std::collections::BTreeMap;

use common::read;
use ttpmap_mapper::mapping::rescale;
use ttpmap_mapper::{BatchConfig, Classifier, Manifest, ModelError, ModelFiles, WeightFormat};

fn load(label_thresholds: BTreeMap<String, f32>) -> Result<Classifier, ModelError> {
    let mut manifest = Manifest::from_json(&String::from_utf8(read("public/model/manifest.json")).unwrap()).unwrap();
    manifest.label_thresholds = label_thresholds;
    let files = ModelFiles::verify(manifest, read("public/model/model.gguf"), read("public/model/tokenizer.json"))?;
    Ok(Classifier::from_files(&files, WeightFormat::F32)?.classifier)
}

const SENTENCE: &str = "The malware creates a scheduled task to run at logon.";

#[test]
fn a_label_with_its_own_threshold_is_rescaled_onto_the_global_one() {
    let mut raw = load(BTreeMap::new()).unwrap();
    raw.set_label_thresholds(BTreeMap::new()).unwrap();
    let labels: Vec<String> = raw.labels().iter().map(|l| l.id.clone()).collect();
    let j = labels.iter().position(|l| l == "T1053.005").unwrap();
    let before = raw.sentence_probs(&[SENTENCE], BatchConfig::default()).unwrap().remove(0);
    let global = raw.manifest.threshold;
    // Its own threshold above its raw score: it now falls below the global one.
    let own = (before[j] + 1.0) / 2.0;
    let tuned = load(BTreeMap::from([("T1053.005".to_string(), own)])).unwrap();
    let after = tuned.sentence_probs(&[SENTENCE], BatchConfig::default()).unwrap().remove(0);
    assert!((after[j] - rescale(before[j], own, global)).abs() < 1e-6);
    assert!(before[j] >= global && after[j] < global, "raw {} own {own} -> {} (global {global})", before[j], after[j]);
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        if i != j {
            assert_eq!(a, b, "{} changed", labels[i]);
        }
    }
}

#[test]
fn setting_thresholds_changes_the_probabilities_and_clearing_restores_them() {
    let mut c = load(BTreeMap::new()).unwrap();
    let raw = c.sentence_probs(&[SENTENCE], BatchConfig::default()).unwrap();
    c.set_label_thresholds(BTreeMap::from([("T1053.005".to_string(), 0.9)])).unwrap();
    assert_ne!(c.sentence_probs(&[SENTENCE], BatchConfig::default()).unwrap(), raw);
    c.set_label_thresholds(BTreeMap::new()).unwrap();
    assert_eq!(c.sentence_probs(&[SENTENCE], BatchConfig::default()).unwrap(), raw);
}

#[test]
fn an_unknown_label_or_an_impossible_threshold_is_a_bad_manifest() {
    for (id, t) in [("T9999", 0.5), ("T1053.005", 0.0), ("T1053.005", 1.0), ("T1053.005", f32::NAN)] {
        let err = load(BTreeMap::from([(id.to_string(), t)])).err().unwrap_or_else(|| panic!("{id} at {t} must be refused"));
        assert!(matches!(err, ModelError::Manifest(_)), "{err}");
    }
}
