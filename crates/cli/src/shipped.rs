//! What `ttpmap` needs wherever it runs, and where its checkout is.
//!
//! The shipped model (public/model) and compact matrices with their technique vectors
//! (public/matrices) are built into the binary, so that `cargo install --path crates/cli`
//! gives a command that maps from any folder; `--model DIR` and `--matrices DIR` read files
//! instead. The model's sha256 is verified on load either way (`cmd::model`).
//!
//! What is too large to build in, or is written rather than read (the source data in
//! data/, the folders `train`, `matrices` and `vectors` write to, the benchmark report), is
//! found in the ttpmap checkout the binary was built from, never relative to the current
//! folder; flags override each path, and a binary whose checkout is gone says so.

use std::path::{Path, PathBuf};

use anyhow::Result;
use ttpmap_mapper::Manifest;

use crate::cmd::usage;

macro_rules! public {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../public/", $path))
    };
}

/// The model files built into the binary, by file name.
const MODEL: [(&str, &[u8]); 3] = [
    (Manifest::FILE, public!("model/manifest.json")),
    (Manifest::WEIGHTS, public!("model/model.gguf")),
    (Manifest::TOKENIZER, public!("model/tokenizer.json")),
];

/// The compact matrices and technique vectors built into the binary, by file name.
const MATRICES: [(&str, &[u8]); 5] = [
    ("enterprise.json", public!("matrices/enterprise.json")),
    ("atrm.json", public!("matrices/atrm.json")),
    ("tmfk.json", public!("matrices/tmfk.json")),
    ("atrm.vectors.json", public!("matrices/atrm.vectors.json")),
    ("tmfk.vectors.json", public!("matrices/tmfk.vectors.json")),
];

fn find(files: &[(&str, &'static [u8])], name: &str) -> Option<&'static [u8]> {
    files.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// A file of the built-in model (`manifest.json`, `model.gguf`, `tokenizer.json`).
pub fn model_file(name: &str) -> Option<&'static [u8]> {
    find(&MODEL, name)
}

/// A built-in compact matrix (`<id>.json`) or vectors file (`<id>.vectors.json`).
pub fn matrices_file(name: &str) -> Option<&'static [u8]> {
    find(&MATRICES, name)
}

/// The checkout this binary was built from, as it was at build time (crates/cli's
/// grandparent).
fn built_from() -> PathBuf {
    let cli = Path::new(env!("CARGO_MANIFEST_DIR"));
    cli.parent().and_then(Path::parent).map_or_else(|| cli.join("../.."), Path::to_path_buf)
}

/// The ttpmap checkout this binary was built from, if it is still there.
pub fn checkout() -> Option<PathBuf> {
    let root = built_from();
    let is_checkout = root.join("Cargo.toml").is_file() && root.join("crates/cli/Cargo.toml").is_file();
    is_checkout.then(|| std::fs::canonicalize(&root).unwrap_or(root))
}

/// `relative` inside the checkout, for a flag left at its default; a usage error naming
/// `flag` when the checkout is gone (an installed binary whose source folder was removed).
pub fn in_checkout(relative: &str, flag: &str) -> Result<PathBuf> {
    match checkout() {
        Some(root) => Ok(root.join(relative)),
        None => Err(usage(format!(
            "no ttpmap checkout at {} (the folder this binary was built from), so there is no default for {flag}: pass {flag} PATH",
            built_from().display()
        ))),
    }
}

/// `explicit`, or else `relative` inside the checkout (see [`in_checkout`]).
pub fn or_in_checkout(explicit: Option<&Path>, relative: &str, flag: &str) -> Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => in_checkout(relative, flag),
    }
}

/// Like [`or_in_checkout`], for a folder a command writes into: when the default is used
/// and the current folder is outside the checkout, says on stderr where the files go.
pub fn output_in_checkout(explicit: Option<&Path>, relative: &str, flag: &str) -> Result<PathBuf> {
    let path = or_in_checkout(explicit, relative, flag)?;
    if explicit.is_none() {
        let here = std::env::current_dir().ok().and_then(|d| std::fs::canonicalize(d).ok());
        let root = checkout().unwrap_or_default();
        if !here.is_some_and(|h| h.starts_with(&root)) {
            eprintln!(
                "note: not run from the ttpmap checkout; writing to {} in the checkout this binary was built from ({flag} DIR to choose another folder)",
                path.display()
            );
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_model_is_the_checkouts() {
        let on_disk = std::fs::read(built_from().join("public/model/tokenizer.json")).unwrap();
        assert_eq!(model_file("tokenizer.json"), Some(on_disk.as_slice()));
        assert!(model_file("model.bin").is_none());
    }

    #[test]
    fn every_builtin_matrix_is_built_in() {
        for b in crate::matrix_source::Builtin::ALL {
            assert!(matrices_file(&format!("{}.json", b.id())).is_some(), "{}", b.id());
        }
    }

    #[test]
    fn checkout_paths_are_absolute_and_exist() {
        let data = in_checkout("data/attack", "--data").unwrap();
        assert!(data.is_absolute() && data.join("ATTACK-TERMS-OF-USE.txt").is_file(), "{}", data.display());
    }
}
