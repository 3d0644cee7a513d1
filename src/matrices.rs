//! Which matrix the app maps onto, and the pure logic behind the choice: the shipped
//! matrices and their files, the analyst's choice as it is kept in localStorage, how many
//! prototype texts a user's STIX bundle gets per technique, and how the workers share
//! the encoding of those texts ([`shard_range`], [`EncodeGather`]).
//!
//! Enterprise ATT&CK is mapped by the trained classifier. The other matrices are mapped by
//! similarity with technique vectors (`ttpmap_mapper::similarity`): precomputed files for
//! ATRM and TMFK (fetched only when chosen), computed in the workers for a user's bundle.
//! Apart from keeping the choice in localStorage, free of web types, so it runs in native tests.

use std::ops::Range;

use ttpmap_mapper::similarity::{from_base64, to_base64, PrototypeConfig};

use crate::protocol::Shard;

/// A matrix the analyst can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatrixChoice {
    /// Enterprise ATT&CK, mapped by the trained classifier.
    #[default]
    Enterprise,
    /// The Azure Threat Research Matrix (similarity, shipped vectors).
    Atrm,
    /// The Threat Matrix for Kubernetes (similarity and Enterprise links, shipped vectors).
    Tmfk,
    /// A STIX bundle the analyst opened (similarity, vectors computed in the browser).
    Bundle,
}

impl MatrixChoice {
    /// The shipped matrices, in the selector's order.
    pub const SHIPPED: [MatrixChoice; 3] = [MatrixChoice::Enterprise, MatrixChoice::Atrm, MatrixChoice::Tmfk];

    /// The value kept in localStorage and used by the selector.
    pub fn as_str(self) -> &'static str {
        match self {
            MatrixChoice::Enterprise => "enterprise",
            MatrixChoice::Atrm => "atrm",
            MatrixChoice::Tmfk => "tmfk",
            MatrixChoice::Bundle => "bundle",
        }
    }

    pub fn parse(s: &str) -> Option<MatrixChoice> {
        [Self::Enterprise, Self::Atrm, Self::Tmfk, Self::Bundle].into_iter().find(|c| c.as_str() == s)
    }

    /// The selector's label of a shipped matrix.
    pub fn label(self) -> &'static str {
        match self {
            MatrixChoice::Enterprise => "Enterprise ATT&CK v18.1",
            MatrixChoice::Atrm => "Azure (ATRM)",
            MatrixChoice::Tmfk => "Kubernetes (TMFK)",
            MatrixChoice::Bundle => "Opened STIX bundle",
        }
    }

    /// The compact matrix file, relative to the page (shipped matrices only).
    pub fn matrix_url(self) -> Option<String> {
        (self != MatrixChoice::Bundle).then(|| format!("matrices/{}.json", self.as_str()))
    }

    /// The technique-vectors file (ATRM and TMFK only: Enterprise uses the classifier).
    pub fn vectors_url(self) -> Option<String> {
        matches!(self, MatrixChoice::Atrm | MatrixChoice::Tmfk).then(|| format!("matrices/{}.vectors.json", self.as_str()))
    }
}

const CHOICE_KEY: &str = "ttpmap.matrix";

/// The matrix chosen on an earlier visit (Enterprise by default).
pub fn load_choice() -> MatrixChoice {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item(CHOICE_KEY).ok().flatten())
        .and_then(|v| MatrixChoice::parse(&v))
        .unwrap_or_default()
}

/// Keeps the matrix choice for the next visit.
pub fn save_choice(choice: MatrixChoice) {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    if let Some(s) = storage {
        if s.set_item(CHOICE_KEY, choice.as_str()).is_err() {
            leptos::logging::warn!("ttpmap: could not keep the matrix choice");
        }
    }
}

/// Prototype texts aimed at for a user's bundle: the worker encodes some 26-40 short texts
/// a second, so a 2,000-technique bundle with the shipped defaults (name, six description
/// sentences, eight examples) would take many minutes.
pub const PROTOTYPE_BUDGET: usize = 4000;

/// The prototype texts per technique for a bundle of `techniques`: the shipped defaults
/// while they fit [`PROTOTYPE_BUDGET`]; else the name and as many description sentences as
/// fit (at least one), and procedure examples only with room to spare. (The similarity
/// score map is chosen by whether examples were used, so both cases stay calibrated.)
pub fn prototype_config(techniques: usize) -> PrototypeConfig {
    let d = PrototypeConfig::default();
    let per = PROTOTYPE_BUDGET / techniques.max(1);
    if per >= 1 + d.description_sentences + d.examples {
        return d;
    }
    let description_sentences = per.saturating_sub(1).clamp(1, d.description_sentences);
    let examples = per.saturating_sub(1 + description_sentences).min(d.examples);
    PrototypeConfig { description_sentences, examples }
}

/// The contiguous part of `len` texts that `shard` encodes (the first shards take one
/// more when `len` does not divide evenly).
pub fn shard_range(len: usize, shard: Shard) -> Range<usize> {
    let count = shard.count.max(1);
    let index = shard.index.min(count - 1);
    let (base, extra) = (len / count, len % count);
    let start = index * base + index.min(extra);
    start..start + base + usize::from(index < extra)
}

/// Gathers the workers' encoded rows of one encoding job: sums their progress and, once
/// every worker has answered, joins their rows in shard order.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeGather {
    done: Vec<usize>,
    /// Each worker's rows (file byte form), once it has finished.
    rows: Vec<Option<Vec<u8>>>,
    dim: usize,
}

/// All rows of an encoding job.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedRows {
    pub dim: usize,
    /// Base64 of the rows in file byte form, in text order.
    pub rows: String,
}

impl EncodeGather {
    pub fn new(count: usize) -> Self {
        EncodeGather { done: vec![0; count.max(1)], rows: vec![None; count.max(1)], dim: 0 }
    }

    /// Worker `worker` has encoded `done` of its texts: the texts encoded by all.
    pub fn progress(&mut self, worker: usize, done: usize) -> usize {
        if let Some(d) = self.done.get_mut(worker) {
            *d = done;
        }
        self.done.iter().sum()
    }

    /// Worker `worker` finished with `rows` (base64, file byte form): all rows once every
    /// worker has finished, else `None`.
    pub fn finish(&mut self, worker: usize, dim: usize, rows: &str) -> Result<Option<EncodedRows>, String> {
        let bytes = from_base64(rows).map_err(|e| e.to_string())?;
        if dim > 0 {
            self.dim = dim;
        }
        if let Some(slot) = self.rows.get_mut(worker) {
            *slot = Some(bytes);
        }
        if self.rows.iter().any(Option::is_none) {
            return Ok(None);
        }
        let all: Vec<u8> = self.rows.iter().flatten().flatten().copied().collect();
        Ok(Some(EncodedRows { dim: self.dim, rows: to_base64(&all) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_round_trip_through_their_stored_form() {
        for c in [MatrixChoice::Enterprise, MatrixChoice::Atrm, MatrixChoice::Tmfk, MatrixChoice::Bundle] {
            assert_eq!(MatrixChoice::parse(c.as_str()), Some(c));
        }
        assert_eq!(MatrixChoice::parse("mobile"), None);
    }

    #[test]
    fn only_atrm_and_tmfk_fetch_vectors() {
        assert_eq!(MatrixChoice::Enterprise.vectors_url(), None);
        assert_eq!(MatrixChoice::Atrm.vectors_url().as_deref(), Some("matrices/atrm.vectors.json"));
        assert_eq!(MatrixChoice::Tmfk.matrix_url().as_deref(), Some("matrices/tmfk.json"));
        assert_eq!(MatrixChoice::Bundle.matrix_url(), None);
    }

    #[test]
    fn small_bundles_get_the_default_prototypes() {
        assert_eq!(prototype_config(100), PrototypeConfig::default());
    }

    #[test]
    fn large_bundles_get_name_and_first_sentence() {
        let c = prototype_config(2000);
        assert_eq!(c, PrototypeConfig { description_sentences: 1, examples: 0 });
        // Even beyond the budget, a technique keeps one description sentence.
        assert_eq!(prototype_config(50_000).description_sentences, 1);
        // In between, as many description sentences as fit, examples last.
        assert_eq!(prototype_config(800), PrototypeConfig { description_sentences: 4, examples: 0 });
    }

    #[test]
    fn shard_ranges_cover_every_text_once_in_order() {
        for len in [0, 1, 5, 10, 11] {
            for count in 1..=4 {
                let ranges: Vec<_> = (0..count).map(|index| shard_range(len, Shard { index, count })).collect();
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[count - 1].end, len);
                for w in ranges.windows(2) {
                    assert_eq!(w[0].end, w[1].start);
                    assert!(w[0].len() >= w[1].len());
                }
            }
        }
    }

    #[test]
    fn gathered_rows_follow_shard_order_whatever_order_workers_finish() {
        let mut g = EncodeGather::new(2);
        assert_eq!(g.progress(0, 3), 3);
        assert_eq!(g.progress(1, 2), 5);
        assert_eq!(g.finish(1, 2, &to_base64(&[5, 6])).unwrap(), None);
        let all = g.finish(0, 2, &to_base64(&[1, 2, 3])).unwrap().unwrap();
        assert_eq!(from_base64(&all.rows).unwrap(), vec![1, 2, 3, 5, 6]);
        assert_eq!(all.dim, 2);
    }
}
