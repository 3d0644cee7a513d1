//! What a release says about technique IDs it no longer holds: which revoked IDs moved to
//! which live technique ("revoked-by" chains followed to their end), and which IDs were
//! retired without a successor (deprecated, or revoked by nothing live). Mapping a label
//! of an older release, or upgrading a layer made for one, reads this.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// The revocations and deprecations of a release, by technique ID.
///
/// Both sides hold only IDs that are not live in the release: a live technique is never
/// in `moved` or `retired`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Revisions {
    /// Revoked technique ID -> the live technique that now holds it, chains followed
    /// (A revoked by B revoked by C gives A -> C and B -> C).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub moved: BTreeMap<String, String>,
    /// IDs without a successor, sorted: deprecated techniques, and revoked ones whose
    /// chain ends at nothing live (a missing target, a cycle).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retired: Vec<String>,
}

/// Where a technique ID of some release stands in this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'a> {
    /// A live technique of the release.
    Live,
    /// Revoked; this live technique holds it now.
    Moved(&'a str),
    /// Deprecated or revoked without a live successor.
    Retired,
    /// The release does not know the ID.
    Unknown,
}

impl Revisions {
    /// Whether the release revoked or deprecated nothing.
    pub fn is_empty(&self) -> bool {
        self.moved.is_empty() && self.retired.is_empty()
    }

    /// Builds the revisions of a release from its parts, by technique ID:
    /// `revoked_by` maps each revoked ID to the ID its "revoked-by" relationship names
    /// (`None` when it has none), `deprecated` lists deprecated IDs, and `is_live` says
    /// whether an ID is a live technique of the release. Chains are followed with a
    /// visited set, so a cycle ends as retired instead of looping.
    pub fn resolve<'a>(
        revoked_by: &HashMap<String, Option<String>>,
        deprecated: impl IntoIterator<Item = &'a str>,
        is_live: &dyn Fn(&str) -> bool,
    ) -> Revisions {
        let mut moved = BTreeMap::new();
        let mut retired: HashSet<String> = HashSet::new();
        for start in revoked_by.keys() {
            if is_live(start) {
                continue;
            }
            let mut seen: HashSet<&str> = HashSet::new();
            let mut at: &str = start;
            let end = loop {
                if !seen.insert(at) {
                    break None;
                }
                match revoked_by.get(at) {
                    Some(Some(next)) if is_live(next) => break Some(next.clone()),
                    Some(Some(next)) => at = next,
                    _ => break None,
                }
            };
            match end {
                Some(live) => {
                    moved.insert(start.clone(), live);
                }
                None => {
                    retired.insert(start.clone());
                }
            }
        }
        for id in deprecated {
            if !is_live(id) && !moved.contains_key(id) {
                retired.insert(id.to_string());
            }
        }
        let mut retired: Vec<String> = retired.into_iter().collect();
        retired.sort();
        Revisions { moved, retired }
    }

    /// The live technique that holds a revoked ID now.
    pub fn successor(&self, id: &str) -> Option<&str> {
        self.moved.get(id).map(String::as_str)
    }

    /// Whether the ID was retired without a successor.
    pub fn is_retired(&self, id: &str) -> bool {
        self.retired.binary_search_by(|r| r.as_str().cmp(id)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, Option<&str>)]) -> HashMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.map(str::to_string)))
            .collect()
    }

    #[test]
    fn chains_are_followed_to_the_live_end() {
        let live = |id: &str| id == "C";
        let r = Revisions::resolve(&edges(&[("A", Some("B")), ("B", Some("C"))]), [], &live);
        assert_eq!(r.successor("A"), Some("C"));
        assert_eq!(r.successor("B"), Some("C"));
        assert!(r.retired.is_empty());
    }

    #[test]
    fn a_cycle_ends_retired_instead_of_looping() {
        let live = |_: &str| false;
        let r = Revisions::resolve(&edges(&[("A", Some("B")), ("B", Some("A")), ("D", Some("D"))]), [], &live);
        assert!(r.moved.is_empty());
        assert_eq!(r.retired, vec!["A", "B", "D"]);
    }

    #[test]
    fn deprecated_and_dangling_ids_are_retired() {
        let live = |id: &str| id == "L";
        let r = Revisions::resolve(&edges(&[("A", None), ("B", Some("gone"))]), ["X", "L"], &live);
        assert_eq!(r.retired, vec!["A", "B", "X"]);
        assert!(r.is_retired("X") && !r.is_retired("L"));
    }
}
