//! `--matrix enterprise|atrm|tmfk|PATH`: which matrix a command works on, parsed into a
//! [`MatrixSource`] before anything runs, and loaded from the compact files built into the
//! binary (public/matrices), from `--matrices DIR`, or from a file (compact matrix or STIX
//! bundle).

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::Context;
use sha2::{Digest, Sha256};
use ttpmap_attack::{load_bundle_with_examples, CompactError, Examples, LoadOptions, Matrix};

/// Where the compact matrices live, relative to the repository root.
pub const MATRICES_DIR: &str = "public/matrices";

/// Where the shipped compact matrices (and ATRM's and TMFK's technique vectors) are read
/// from: the copies built into the binary, or the files in `--matrices DIR`.
#[derive(Debug, Clone, Default)]
pub struct Matrices {
    dir: Option<PathBuf>,
}

impl Matrices {
    /// `None`: the built-in copies.
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir }
    }

    /// Where `name` is read from, for messages.
    pub fn describe(&self, name: &str) -> String {
        match &self.dir {
            Some(dir) => dir.join(name).display().to_string(),
            None => format!("{name} (built into ttpmap)"),
        }
    }

    /// The bytes of `name` (`enterprise.json`, `atrm.vectors.json`, ...).
    pub fn read(&self, name: &str) -> anyhow::Result<Cow<'static, [u8]>> {
        match &self.dir {
            Some(dir) => {
                let path = dir.join(name);
                let bytes = std::fs::read(&path).with_context(|| {
                    format!("reading {} (build it with `ttpmap matrices` and `ttpmap vectors`)", path.display())
                })?;
                Ok(Cow::Owned(bytes))
            }
            None => crate::shipped::matrices_file(name)
                .map(Cow::Borrowed)
                .with_context(|| format!("ttpmap has no built-in {name}")),
        }
    }
}

/// A matrix ttpmap ships as a compact file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Enterprise,
    Atrm,
    Tmfk,
}

impl Builtin {
    pub const ALL: [Builtin; 3] = [Builtin::Enterprise, Builtin::Atrm, Builtin::Tmfk];

    /// The matrix ID, which is also the compact file's stem.
    pub fn id(self) -> &'static str {
        match self {
            Builtin::Enterprise => "enterprise",
            Builtin::Atrm => "atrm",
            Builtin::Tmfk => "tmfk",
        }
    }
}

/// A validated `--matrix` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatrixSource {
    /// A shipped matrix, read from `<matrices dir>/<id>.json`.
    Builtin(Builtin),
    /// A compact matrix file or an ATT&CK-compatible STIX bundle.
    Path(PathBuf),
}

impl FromStr for MatrixSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(b) = Builtin::ALL
            .into_iter()
            .find(|b| b.id().eq_ignore_ascii_case(s))
        {
            return Ok(MatrixSource::Builtin(b));
        }
        let path = PathBuf::from(s);
        if s.ends_with(".json") || path.is_file() {
            Ok(MatrixSource::Path(path))
        } else {
            Err(format!(
                "unknown matrix {s:?}: expected enterprise, atrm, tmfk or the path of a .json file"
            ))
        }
    }
}

impl fmt::Display for MatrixSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatrixSource::Builtin(b) => f.write_str(b.id()),
            MatrixSource::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

impl MatrixSource {
    /// Loads the matrix; built-in ones come from `matrices`.
    pub fn load(&self, matrices: &Matrices) -> anyhow::Result<Matrix> {
        match self {
            MatrixSource::Builtin(b) => {
                let name = format!("{}.json", b.id());
                let bytes = matrices.read(&name)?;
                Matrix::from_compact_json(&String::from_utf8_lossy(&bytes))
                    .with_context(|| format!("reading {}", matrices.describe(&name)))
            }
            MatrixSource::Path(path) => load_matrix_file(path),
        }
    }
}

/// Reads a compact matrix, or failing that a STIX bundle, from `path`.
pub fn load_matrix_file(path: &Path) -> anyhow::Result<Matrix> {
    load_matrix_file_with_examples(path).map(|f| f.matrix)
}

/// A matrix read from a file, with what the similarity mapping needs besides.
pub struct MatrixFile {
    pub matrix: Matrix,
    /// Procedure examples (STIX bundles only; a compact file has none).
    pub examples: Examples,
    /// sha256 of the file's bytes.
    pub sha256: String,
}

/// Reads a compact matrix, or failing that a STIX bundle (with its procedure examples).
pub fn load_matrix_file_with_examples(path: &Path) -> anyhow::Result<MatrixFile> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let sha256: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
    let text = String::from_utf8_lossy(&bytes);
    match Matrix::from_compact_json(&text) {
        Ok(matrix) => Ok(MatrixFile { matrix, examples: Examples::new(), sha256 }),
        Err(CompactError::WrongFormat(_)) => {
            let options = LoadOptions {
                version: version_from_file_name(path),
                ..LoadOptions::default()
            };
            let (matrix, examples) = load_bundle_with_examples(&bytes, &options)
                .with_context(|| format!("reading {} as an ATT&CK-compatible STIX 2.1 bundle", path.display()))?;
            Ok(MatrixFile { matrix, examples, sha256 })
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The release in a file name such as `enterprise-attack-18.1.json` (`"18.1"`), which
/// MITRE's bundles do not carry inside.
pub fn version_from_file_name(path: &Path) -> Option<String> {
    let stem = path.file_stem()?.to_str()?;
    let (_, version) = stem.rsplit_once('-')?;
    let ok = !version.is_empty()
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_names_parse() {
        assert_eq!("TMFK".parse(), Ok(MatrixSource::Builtin(Builtin::Tmfk)));
    }

    #[test]
    fn json_paths_parse() {
        assert_eq!(
            "x/y.json".parse(),
            Ok(MatrixSource::Path("x/y.json".into()))
        );
    }

    #[test]
    fn unknown_names_are_rejected() {
        assert!("mobile".parse::<MatrixSource>().is_err());
    }

    #[test]
    fn every_builtin_matrix_loads_from_the_built_in_copies() {
        for b in Builtin::ALL {
            let m = MatrixSource::Builtin(b).load(&Matrices::default()).unwrap();
            assert_eq!(m.id, b.id());
        }
    }

    #[test]
    fn a_matrices_folder_without_the_file_is_an_error_naming_it() {
        let err = MatrixSource::Builtin(Builtin::Atrm).load(&Matrices::new(Some("no/such/dir".into()))).unwrap_err();
        assert!(format!("{err:#}").contains("no/such/dir/atrm.json"), "{err:#}");
    }

    #[test]
    fn version_comes_from_the_file_name() {
        let v = version_from_file_name(Path::new("a/enterprise-attack-18.1.json"));
        assert_eq!(v.as_deref(), Some("18.1"));
    }

    #[test]
    fn file_names_without_version_give_none() {
        assert_eq!(version_from_file_name(Path::new("tmfk_strict.json")), None);
    }
}
