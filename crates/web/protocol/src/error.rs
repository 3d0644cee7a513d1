//! What can go wrong in the worker, as data: the worker says which failure and its
//! detail (a library's own message), and the page words it for the analyst
//! (`ttpmap-web-page`'s `wording` module), so every sentence the analyst reads is
//! written in one place.

use serde::{Deserialize, Serialize};

/// Why the model could not be loaded; the page offers a retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelError {
    /// The worker's script or wasm did not start (posted by public/worker-boot.js).
    WorkerStart { detail: String },
    /// The manifest built into the worker cannot be read.
    Manifest { detail: String },
    /// The manifest does not list the file the worker needs.
    MissingFile { name: String },
    /// A model file could not be downloaded.
    Download { detail: String },
    /// A downloaded file does not match the manifest's sha256 (not used, not kept).
    Corrupted { detail: String },
    /// The verified files could not be turned into a model.
    Load { detail: String },
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JobError {
    /// The technique vectors of the matrix the page chose cannot be read.
    Vectors { detail: String },
    /// The model failed on the report's text.
    Text { detail: String },
    /// The model failed on a bundle's prototype texts.
    BundleTexts { detail: String },
    /// The workers' encoded rows do not fit together.
    Rows { detail: String },
}
