//! `ttpmap matrices`: turns the STIX bundles in the repository's data/attack into the
//! compact matrix files the app and the CLI read (public/matrices/*.json), with their
//! licences. Both folders default to the checkout the binary was built from.
//! `--enterprise FILE` builds enterprise.json from any Enterprise ATT&CK release instead
//! (its tactics, their order and names, its version and its revocations come from the
//! bundle); without it the newest `enterprise-attack-<version>.json` of `--data` is used.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use sha2::{Digest, Sha256};
use ttpmap_attack::{load_bundle_with, LoadOptions, Matrix, Provenance};

use crate::matrix_source::{version_from_file_name, MATRICES_DIR};
use crate::shipped;

/// Build the compact matrix files from the STIX bundles.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder with the STIX bundles and their licence files (default: data/attack in the
    /// ttpmap checkout this binary was built from).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Folder to write enterprise.json, atrm.json, tmfk.json and the licences to (default:
    /// public/matrices in the ttpmap checkout this binary was built from).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// An Enterprise ATT&CK bundle (any release) to build enterprise.json from, instead of
    /// the newest enterprise-attack-<version>.json in --data.
    #[arg(long, value_name = "FILE")]
    enterprise: Option<PathBuf>,
}

/// One bundle to convert.
struct Source {
    id: &'static str,
    /// File name, or for Enterprise the prefix of `enterprise-attack-<version>.json`.
    file: SourceFile,
    publisher: &'static str,
    licence: &'static str,
    licence_file: &'static str,
}

enum SourceFile {
    Fixed(&'static str),
    NewestVersion { prefix: &'static str },
}

const SOURCES: [Source; 3] = [
    Source {
        id: "enterprise",
        file: SourceFile::NewestVersion {
            prefix: "enterprise-attack-",
        },
        publisher: "The MITRE Corporation",
        licence: "ATT&CK Terms of Use",
        licence_file: "ATTACK-TERMS-OF-USE.txt",
    },
    Source {
        id: "atrm",
        file: SourceFile::Fixed("atrm_attack_compatible.json"),
        publisher: "Microsoft (Azure Threat Research Matrix); STIX by Security Experts Community (atrm-stix-data)",
        licence: "MIT",
        licence_file: "LICENSE.atrm-stix-data",
    },
    Source {
        id: "tmfk",
        file: SourceFile::Fixed("tmfk_attack_compatible.json"),
        publisher: "Microsoft (Threat Matrix for Kubernetes); STIX by Security Experts Community (tmfk-stix-data)",
        licence: "MIT",
        licence_file: "LICENSE.tmfk-stix-data",
    },
];

struct Built {
    matrix: Matrix,
    out_file: PathBuf,
    bytes: usize,
}

pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let data = shipped::or_in_checkout(args.data.as_deref(), "data/attack", "--data")?;
    let out = shipped::output_in_checkout(args.out.as_deref(), MATRICES_DIR, "--out")?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut built = Vec::new();
    for source in &SOURCES {
        let file = match (&args.enterprise, source.id) {
            (Some(path), "enterprise") => path.clone(),
            _ => source_path(source, &data)?,
        };
        built.push(build_one(source, &file, &out)?);
        let from = data.join(source.licence_file);
        let to = out.join(source.licence_file);
        // Read and write rather than fs::copy, which would carry the source's read-only mode
        // over and make the next run fail to overwrite.
        let text = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        std::fs::write(&to, text).with_context(|| format!("writing {}", to.display()))?;
    }
    let licences = out.join("LICENSES.md");
    std::fs::write(&licences, licences_md(&built))
        .with_context(|| format!("writing {}", licences.display()))?;

    println!(
        "{:<11} {:<8} {:>7} {:>10} {:>14} {:>7} {:>7} {:>10}  file",
        "matrix", "version", "tactics", "techniques", "sub-techniques", "revoked", "retired", "size"
    );
    for b in &built {
        let m = &b.matrix;
        println!(
            "{:<11} {:<8} {:>7} {:>10} {:>14} {:>7} {:>7} {:>6} KiB  {}",
            m.id,
            m.version,
            m.tactic_count(),
            m.technique_count(),
            m.subtechnique_count(),
            m.revisions.moved.len(),
            m.revisions.retired.len(),
            b.bytes.div_ceil(1024),
            b.out_file.display()
        );
    }
    println!("licences: {}", licences.display());
    Ok(ExitCode::SUCCESS)
}

/// The bundle a source is built from, in `data`.
fn source_path(source: &Source, data: &Path) -> anyhow::Result<PathBuf> {
    match source.file {
        SourceFile::Fixed(name) => Ok(data.join(name)),
        SourceFile::NewestVersion { prefix } => newest_versioned(data, prefix),
    }
}

fn build_one(source: &Source, path: &Path, out: &Path) -> anyhow::Result<Built> {
    let path = path.to_path_buf();
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let options = LoadOptions {
        version: version_from_file_name(&path),
        ..LoadOptions::default()
    };
    let mut matrix = load_bundle_with(&bytes, &options)
        .with_context(|| format!("loading {}", path.display()))?;
    if source.id == "enterprise" && !matrix.is_enterprise_attack() {
        bail!(
            "{} is not an Enterprise ATT&CK bundle (its x-mitre-matrix is {:?} in domain {:?})",
            path.display(),
            matrix.id,
            matrix.domain
        );
    }
    if matrix.id != source.id {
        bail!(
            "{} holds matrix {:?}, expected {:?}",
            path.display(),
            matrix.id,
            source.id
        );
    }
    matrix.provenance = Some(Provenance {
        source_file: file_name(&path),
        source_sha256: hex(&Sha256::digest(&bytes)),
        publisher: source.publisher.into(),
        licence: format!("{} ({})", source.licence, source.licence_file),
        built_by: format!("ttpmap {} (`ttpmap matrices`)", env!("CARGO_PKG_VERSION")),
    });
    let json = matrix.to_compact_json();
    let out_file = out.join(format!("{}.json", source.id));
    std::fs::write(&out_file, &json).with_context(|| format!("writing {}", out_file.display()))?;
    Ok(Built {
        matrix,
        out_file,
        bytes: json.len(),
    })
}

/// The `<prefix><version>.json` file in `dir` with the highest version.
fn newest_versioned(dir: &Path, prefix: &str) -> anyhow::Result<PathBuf> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    let mut best: Option<(Vec<u64>, PathBuf)> = None;
    for entry in entries {
        let path = entry?.path();
        let name = file_name(&path);
        if !name.starts_with(prefix) || !name.ends_with(".json") {
            continue;
        }
        let Some(version) = version_from_file_name(&path) else {
            continue;
        };
        let key: Vec<u64> = version.split('.').filter_map(|p| p.parse().ok()).collect();
        if best.as_ref().is_none_or(|(k, _)| key > *k) {
            best = Some((key, path));
        }
    }
    best.map(|(_, p)| p)
        .with_context(|| format!("no {prefix}<version>.json in {}", dir.display()))
}

fn licences_md(built: &[Built]) -> String {
    let mut s = String::from(
        "# Licences of the matrix files\n\n\
         These files are derived by `ttpmap matrices` from public STIX data \
         (data/attack in the repository); each one names its source file, the source's sha256, \
         publisher and licence under `provenance`. The licence texts are copied here.\n\n\
         | file | derived from | publisher | licence |\n| --- | --- | --- | --- |\n",
    );
    for b in built {
        if let Some(p) = &b.matrix.provenance {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                file_name(&b.out_file),
                p.source_file,
                p.publisher,
                p.licence
            );
        }
    }
    s.push_str(
        "\n© The MITRE Corporation. This work is reproduced and distributed with the \
         permission of The MITRE Corporation. MITRE ATT&CK and ATT&CK are registered \
         trademarks of The MITRE Corporation.\n",
    );
    s
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
