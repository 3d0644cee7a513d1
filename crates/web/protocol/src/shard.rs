//! Sharing one job between several inference workers: what part of it a [`Shard`] means.
//!
//! Every worker of a mapping gets the whole text and its [`Shard`]; each segments and
//! tokenizes the text (cheap next to the encoder), and all of them compute the same
//! [`deal`], so no coordination is needed: sentences are dealt by token count, longest
//! first, each to the worker with the fewest tokens so far. A bundle's prototype texts
//! are cut into contiguous parts instead ([`shard_range`]). The page merges what the
//! workers answer (`ttpmap-web-page`'s `pool` module).

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Which part of a report a worker maps: shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Default for Shard {
    /// The whole report.
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    pub fn is_whole(&self) -> bool {
        self.count <= 1
    }
}

/// The shard of each sentence, given each sentence's token count: the mapper's deal
/// (longest first, each to the least-loaded shard; deterministic, so every worker computes
/// the same one), tested there.
pub use ttpmap_mapper::run::deal;

/// The contiguous part of `len` texts that `shard` encodes (the first shards take one
/// more when `len` does not divide evenly).
pub fn shard_range(len: usize, shard: Shard) -> Range<usize> {
    let count = shard.count.max(1);
    let index = shard.index.min(count - 1);
    let (base, extra) = (len / count, len % count);
    let start = index * base + index.min(extra);
    start..start + base + usize::from(index < extra)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
