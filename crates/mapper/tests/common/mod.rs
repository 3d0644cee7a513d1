//! What the model tests share: the repository's files and the shipped classifier, loaded once
//! per test binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use ttpmap_mapper::{Classifier, Manifest, ModelFiles, WeightFormat};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file of the repository, by its path from the root.
pub fn read(path: &str) -> Vec<u8> {
    std::fs::read(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The shipped model's files (public/model), checked against its manifest.
pub fn model_files() -> ModelFiles<'static> {
    let manifest = Manifest::from_json(&String::from_utf8(read("public/model/manifest.json")).unwrap()).unwrap();
    ModelFiles::verify(manifest, read("public/model/model.gguf"), read("public/model/tokenizer.json")).unwrap()
}

/// The shipped classifier with its dense layers held as `format`.
pub fn load(format: WeightFormat) -> Classifier {
    Classifier::from_files(&model_files(), format).unwrap().classifier
}

/// The shipped classifier (public/model), f32, loaded once per test binary.
pub fn model() -> &'static Classifier {
    static M: OnceLock<Classifier> = OnceLock::new();
    M.get_or_init(|| load(WeightFormat::F32))
}
