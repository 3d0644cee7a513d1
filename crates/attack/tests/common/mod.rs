//! Shared fixtures: the bundles in the repository's data/attack, each loaded once per test binary.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use ttpmap_attack::{load_bundle, Matrix};

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/attack")
}

pub fn read(file: &str) -> Vec<u8> {
    let path = data_dir().join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn load(file: &str) -> Matrix {
    load_bundle(&read(file)).unwrap_or_else(|e| panic!("loading {file}: {e}"))
}

pub fn enterprise() -> &'static Matrix {
    static M: OnceLock<Matrix> = OnceLock::new();
    M.get_or_init(|| load("enterprise-attack-18.1.json"))
}

pub fn atrm() -> &'static Matrix {
    static M: OnceLock<Matrix> = OnceLock::new();
    M.get_or_init(|| load("atrm_attack_compatible.json"))
}

pub fn tmfk() -> &'static Matrix {
    static M: OnceLock<Matrix> = OnceLock::new();
    M.get_or_init(|| load("tmfk_attack_compatible.json"))
}
