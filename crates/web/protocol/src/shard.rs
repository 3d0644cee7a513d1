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

/// The shard of each sentence, given each sentence's token count: longest first (ties in
/// text order), each to the shard with the fewest tokens so far (ties to the lowest index).
/// Deterministic, so every worker computes the same deal.
pub fn deal(tokens: &[usize], count: usize) -> Vec<usize> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by(|&a, &b| tokens[b].cmp(&tokens[a]).then(a.cmp(&b)));
    let mut load = vec![0usize; count];
    let mut out = vec![0; tokens.len()];
    for s in order {
        let (shard, _) = load
            .iter()
            .enumerate()
            .min_by(|(i, a), (j, b)| a.cmp(b).then(i.cmp(j)))
            .unwrap_or((0, &0));
        out[s] = shard;
        load[shard] += tokens[s];
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deal_balances_tokens_and_covers_every_sentence() {
        let tokens: Vec<usize> = (0..421).map(|i| 3 + (i * 53) % 120).collect();
        let total: usize = tokens.iter().sum();
        for count in 1..=4 {
            let owner = deal(&tokens, count);
            assert_eq!(owner.len(), tokens.len());
            let mut load = vec![0usize; count];
            for (s, &o) in owner.iter().enumerate() {
                assert!(o < count);
                load[o] += tokens[s];
            }
            assert_eq!(load.iter().sum::<usize>(), total);
            let (min, max) = (load.iter().min().unwrap(), load.iter().max().unwrap());
            // Longest-first dealing: shards differ by at most the longest sentence.
            assert!(max - min <= *tokens.iter().max().unwrap(), "{load:?}");
        }
        // The same input gives the same deal (every worker computes it on its own).
        assert_eq!(deal(&tokens, 3), deal(&tokens, 3));
        assert_eq!(deal(&[], 2), Vec::<usize>::new());
        assert_eq!(deal(&[4, 9, 1], 1), vec![0, 0, 0]);
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
}
