//! What the analyst decided about a mapping (detections dismissed, techniques added by
//! hand), and the mapping with those decisions applied: what the heatmap shows and the
//! exports write. Pure, so it runs in native tests.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use ttpmap_mapper::{sort_techniques, ReportMapping, TechniqueMapping};

use crate::heat::ADDED_SCORE;

/// What the analyst decided about a mapping: detections dismissed, techniques added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decisions {
    pub dismissed: BTreeSet<String>,
    pub added: BTreeSet<String>,
}

impl Decisions {
    /// Removes `id` from the heatmap and the exports (and undoes adding it).
    pub fn dismiss(&mut self, id: &str) {
        self.added.remove(id);
        self.dismissed.insert(id.to_string());
    }

    /// Adds `id` by hand (and undoes dismissing it).
    pub fn add(&mut self, id: &str) {
        self.dismissed.remove(id);
        self.added.insert(id.to_string());
    }

    /// Forgets any decision about `id`: the model's result applies again.
    pub fn reset(&mut self, id: &str) {
        self.dismissed.remove(id);
        self.added.remove(id);
    }

    pub fn is_empty(&self) -> bool {
        self.dismissed.is_empty() && self.added.is_empty()
    }
}

/// The mapping the analyst sees and exports: dismissed techniques removed, added ones
/// present with [`ADDED_SCORE`] (keeping any evidence the model found for them).
/// `name_of` names an added technique the model did not list; unknown IDs are skipped.
pub fn apply_decisions(
    mapping: &ReportMapping,
    decisions: &Decisions,
    name_of: impl Fn(&str) -> Option<String>,
) -> ReportMapping {
    let mut techniques: Vec<TechniqueMapping> = mapping
        .techniques
        .iter()
        .filter(|t| !decisions.dismissed.contains(&t.id))
        .cloned()
        .collect();
    for id in &decisions.added {
        match techniques.iter_mut().find(|t| &t.id == id) {
            Some(t) => t.score = t.score.max(ADDED_SCORE),
            None => {
                if let Some(name) = name_of(id) {
                    techniques.push(TechniqueMapping {
                        id: id.clone(),
                        name,
                        score: ADDED_SCORE,
                        evidence: Vec::new(),
                    });
                }
            }
        }
    }
    sort_techniques(&mut techniques);
    ReportMapping {
        threshold: mapping.threshold,
        aggregation: mapping.aggregation,
        sentences: mapping.sentences,
        techniques,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::mapping;

    #[test]
    fn dismissed_techniques_leave_the_mapping() {
        let mut d = Decisions::default();
        d.dismiss("T1566.001");
        let m = apply_decisions(&mapping(), &d, |_| None);
        assert!(m.techniques.iter().all(|t| t.id != "T1566.001"));
        assert_eq!(m.techniques.len(), 2);
    }

    #[test]
    fn added_techniques_join_with_full_score_and_named() {
        let mut d = Decisions::default();
        d.add("T1059.001");
        d.add("T1003");
        d.add("T0000");
        let m = apply_decisions(&mapping(), &d, |id| {
            (id == "T1059.001").then(|| "PowerShell".to_string())
        });
        let ps = m.techniques.iter().find(|t| t.id == "T1059.001").unwrap();
        assert_eq!((ps.score, ps.name.as_str()), (ADDED_SCORE, "PowerShell"));
        let t1003 = m.techniques.iter().find(|t| t.id == "T1003").unwrap();
        assert_eq!(t1003.score, ADDED_SCORE);
        assert_eq!(t1003.evidence.len(), 1, "the model's evidence is kept");
        assert!(
            m.techniques.iter().all(|t| t.id != "T0000"),
            "unknown IDs are skipped"
        );
        assert!(
            m.techniques.windows(2).all(|w| w[0].score >= w[1].score),
            "still best first"
        );
    }

    #[test]
    fn adding_undoes_dismissing_and_reset_forgets_both() {
        let mut d = Decisions::default();
        d.dismiss("T1");
        d.add("T1");
        assert!(d.dismissed.is_empty() && d.added.contains("T1"));
        d.reset("T1");
        assert!(d.is_empty());
    }
}
