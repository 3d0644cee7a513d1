//! ttpmap-attack: the ATT&CK side of ttpmap.
//!
//! - [`stix`] reads an ATT&CK-compatible STIX 2.1 bundle into a [`Matrix`];
//! - [`matrix`] holds the matrix (tactics in order, techniques, sub-techniques) and its
//!   compact JSON form, which the web app and the CLI ship instead of the bundle;
//! - [`layer`] reads, validates and writes ATT&CK Navigator layers;
//! - [`revisions`] says where technique IDs a release revoked or deprecated went;
//! - [`text`] cleans ATT&CK prose (citations, markdown links) for display and training.
//!
//! No file I/O: everything takes `&str`/`&[u8]` and returns values.

pub mod layer;
pub mod matrix;
pub mod revisions;
pub mod stix;
pub mod text;

pub use layer::{
    parse_layers, Annotation, BuildError, Layer, LayerConfig, LayerError, LayerProblem, LayerUpgrade, LinkItem,
    MetadataItem,
};
pub use matrix::{CompactError, Matrix, Provenance, Tactic, Technique};
pub use revisions::{Revisions, Standing};
pub use stix::{load_bundle, load_bundle_with, load_bundle_with_examples, Examples, LoadOptions, StixError};
pub use text::{clean_stix_text, first_paragraph};
