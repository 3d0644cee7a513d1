//! The heatmap's reading of a [`ReportMapping`] (with the analyst's decisions applied,
//! [`crate::decisions`]): per-cell scores at the current threshold, colour buckets, which
//! rows a column shows, and in what order.
//!
//! Pure and free of web types, so it is tested natively. Nothing here recomputes a
//! mapping: the threshold and the decisions only select from and annotate the one the
//! model produced.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use ttpmap_mapper::{score_100, ReportMapping};

use crate::columns::{Column, TechniqueRow};

/// The score a technique the analyst added by hand carries (it passes any threshold).
pub const ADDED_SCORE: f32 = 1.0;

/// Colour buckets on the 0–100 score scale (`heat-0` … `heat-9`, 10 points each).
pub const BUCKETS: usize = 10;

/// One technique's cell at the current threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct CellScore {
    /// Report-level score, 0..1.
    pub score: f32,
    /// Evidence sentences at or above the threshold.
    pub evidence: usize,
    /// Whether the score reaches the threshold.
    pub detected: bool,
    /// Added by the analyst.
    pub added: bool,
}

impl CellScore {
    /// The score on Navigator's 0–100 scale, as `data-score` and the layer write it.
    pub fn score_100(&self) -> u32 {
        score_100(self.score)
    }
}

/// The colour bucket of a 0..1 score, `0..BUCKETS`.
pub fn bucket(score: f32) -> usize {
    ((score.clamp(0.0, 1.0) * BUCKETS as f32) as usize).min(BUCKETS - 1)
}

/// The CSS class of a score's colour bucket.
pub fn heat_class(score: f32) -> &'static str {
    const CLASSES: [&str; BUCKETS] = [
        "heat-0", "heat-1", "heat-2", "heat-3", "heat-4", "heat-5", "heat-6", "heat-7", "heat-8",
        "heat-9",
    ];
    CLASSES[bucket(score)]
}

/// The parent ID of a sub-technique ID (`"T1059.001"` → `"T1059"`).
pub fn parent_id(id: &str) -> Option<&str> {
    id.split_once('.').map(|(p, _)| p)
}

/// Every candidate technique's cell at one threshold, and how many detected
/// sub-techniques each parent holds.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScoreIndex {
    pub threshold: f32,
    cells: HashMap<String, CellScore>,
    detected_subs: HashMap<String, usize>,
    /// Techniques and sub-techniques detected.
    pub detected: usize,
}

impl ScoreIndex {
    /// Indexes `mapping` (decisions already applied) at `threshold` (0..1).
    pub fn new(mapping: &ReportMapping, threshold: f32, added: &BTreeSet<String>) -> Self {
        let mut index = ScoreIndex {
            threshold,
            ..ScoreIndex::default()
        };
        for t in &mapping.techniques {
            let detected = t.score >= threshold;
            let cell = CellScore {
                score: t.score,
                evidence: t.evidence.iter().filter(|e| e.score >= threshold).count(),
                detected,
                added: added.contains(&t.id),
            };
            if detected {
                index.detected += 1;
                if let Some(parent) = parent_id(&t.id) {
                    *index.detected_subs.entry(parent.to_string()).or_default() += 1;
                }
            }
            index.cells.insert(t.id.clone(), cell);
        }
        index
    }

    /// The cell of `id`, if the mapping lists it (detected or a candidate below the threshold).
    pub fn get(&self, id: &str) -> Option<&CellScore> {
        self.cells.get(id)
    }

    /// The cell of `id` if it is detected.
    pub fn detected(&self, id: &str) -> Option<&CellScore> {
        self.get(id).filter(|c| c.detected)
    }

    /// Detected sub-techniques of `parent`.
    pub fn detected_subs(&self, parent: &str) -> usize {
        self.detected_subs.get(parent).copied().unwrap_or(0)
    }

    /// Whether a row shows anything detected: the technique or one of its sub-techniques
    /// in this tactic.
    pub fn row_is_hot(&self, row: &TechniqueRow) -> bool {
        self.detected(&row.technique.id).is_some()
            || row
                .subtechniques
                .iter()
                .any(|s| self.detected(&s.id).is_some())
    }

    /// The best detected score in a row (0 when nothing is detected): what "sort by
    /// score" orders rows by.
    pub fn row_score(&self, row: &TechniqueRow) -> f32 {
        std::iter::once(&row.technique)
            .chain(&row.subtechniques)
            .filter_map(|c| self.detected(&c.id))
            .map(|c| c.score)
            .fold(0.0, f32::max)
    }
}

/// Which sub-techniques a row lists under its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubView {
    Hidden,
    /// Only the detected ones: how a row opens by itself when the mapping finds any, so
    /// a parent with 12 sub-techniques and one detected does not fill the column.
    Detected,
    All,
}

impl SubView {
    /// The view of a row: the analyst's choice (`Some(true)`: all, `Some(false)`:
    /// hidden) if they made one, else the detected sub-techniques when there are any.
    pub fn of(choice: Option<bool>, detected_subs: usize) -> SubView {
        match choice {
            Some(true) => SubView::All,
            Some(false) => SubView::Hidden,
            None if detected_subs > 0 => SubView::Detected,
            None => SubView::Hidden,
        }
    }

    /// The analyst's choice after clicking the row's toggle: a fully open row closes,
    /// any other opens fully.
    pub fn toggled(self) -> bool {
        self != SubView::All
    }

    pub fn is_open(self) -> bool {
        self != SubView::Hidden
    }
}

/// How the heatmap is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewOptions {
    /// Show only detected techniques (and parents of detected sub-techniques).
    pub detected_only: bool,
    /// Order each column by score instead of the matrix's (alphabetical) order.
    pub sort_by_score: bool,
}

/// The rows a tactic column shows, in order. With `detected_only`, rows without anything
/// detected are left out and each row keeps only its detected sub-techniques.
/// Sorting by score is stable: equal scores keep the matrix order.
pub fn visible_rows(column: &Column, index: &ScoreIndex, opts: ViewOptions) -> Vec<TechniqueRow> {
    let mut rows: Vec<TechniqueRow> = column
        .techniques
        .iter()
        .filter(|row| !opts.detected_only || index.row_is_hot(row))
        .map(|row| {
            if opts.detected_only {
                TechniqueRow {
                    technique: row.technique.clone(),
                    subtechniques: row
                        .subtechniques
                        .iter()
                        .filter(|s| index.detected(&s.id).is_some())
                        .cloned()
                        .collect(),
                }
            } else {
                row.clone()
            }
        })
        .collect();
    if opts.sort_by_score {
        rows.sort_by(|a, b| index.row_score(b).total_cmp(&index.row_score(a)));
    }
    rows
}

/// Rows of a column with something detected.
pub fn hot_rows(column: &Column, index: &ScoreIndex) -> usize {
    column
        .techniques
        .iter()
        .filter(|r| index.row_is_hot(r))
        .count()
}

/// The tooltip of a cell: ID, name, score and evidence count.
pub fn cell_title(id: &str, name: &str, cell: Option<&CellScore>) -> String {
    match cell {
        None => format!("{id} {name}\nnot detected"),
        Some(c) if c.added && c.evidence == 0 => {
            format!(
                "{id} {name}\nadded by the analyst (score {})",
                c.score_100()
            )
        }
        Some(c) => {
            let evidence = match c.evidence {
                1 => "1 evidence sentence".to_string(),
                n => format!("{n} evidence sentences"),
            };
            let status = if c.detected {
                ""
            } else {
                " (below the threshold)"
            };
            let added = if c.added {
                ", added by the analyst"
            } else {
                ""
            };
            format!(
                "{id} {name}\nscore {}{status}{added}\n{evidence}",
                c.score_100()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::mapping;
    use crate::columns::Cell;

    fn cell(id: &str) -> Cell {
        Cell {
            id: id.into(),
            name: id.into(),
        }
    }

    fn column() -> Column {
        Column {
            tactic_id: "TA0001".into(),
            shortname: "x".into(),
            name: "X".into(),
            techniques: vec![
                TechniqueRow {
                    technique: cell("T1003"),
                    subtechniques: vec![],
                },
                TechniqueRow {
                    technique: cell("T1053"),
                    subtechniques: vec![cell("T1053.002"), cell("T1053.005")],
                },
                TechniqueRow {
                    technique: cell("T1566"),
                    subtechniques: vec![cell("T1566.001")],
                },
            ],
        }
    }

    #[test]
    fn index_follows_the_threshold() {
        let m = mapping();
        let at_half = ScoreIndex::new(&m, 0.5, &BTreeSet::new());
        assert_eq!(at_half.detected, 2);
        assert!(at_half.detected("T1003").is_none());
        assert_eq!(at_half.get("T1003").map(|c| c.detected), Some(false));
        assert_eq!(at_half.detected("T1053.005").map(|c| c.evidence), Some(2));
        let at_tenth = ScoreIndex::new(&m, 0.1, &BTreeSet::new());
        assert_eq!(at_tenth.detected, 3);
        assert_eq!(at_tenth.detected("T1053.005").map(|c| c.evidence), Some(3));
    }

    #[test]
    fn parents_count_their_detected_subtechniques() {
        let index = ScoreIndex::new(&mapping(), 0.5, &BTreeSet::new());
        assert_eq!(index.detected_subs("T1566"), 1);
        assert_eq!(index.detected_subs("T1003"), 0);
    }

    #[test]
    fn rows_open_on_detected_subs_until_the_analyst_chooses() {
        assert_eq!(SubView::of(None, 0), SubView::Hidden);
        assert_eq!(SubView::of(None, 2), SubView::Detected);
        assert_eq!(SubView::of(Some(true), 0), SubView::All);
        assert_eq!(SubView::of(Some(false), 2), SubView::Hidden);
        // Clicking: partial or hidden opens fully, fully open closes.
        assert!(SubView::Detected.toggled());
        assert!(SubView::Hidden.toggled());
        assert!(!SubView::All.toggled());
    }

    #[test]
    fn buckets_cover_zero_to_one() {
        assert_eq!(bucket(0.0), 0);
        assert_eq!(bucket(0.09), 0);
        assert_eq!(bucket(0.1), 1);
        assert_eq!(bucket(0.95), 9);
        assert_eq!(bucket(1.0), 9);
        assert_eq!(bucket(f32::NAN), 0);
        assert_eq!(heat_class(0.72), "heat-7");
    }

    #[test]
    fn detected_only_keeps_hot_rows_and_their_detected_subs() {
        let index = ScoreIndex::new(&mapping(), 0.5, &BTreeSet::new());
        let opts = ViewOptions {
            detected_only: true,
            sort_by_score: false,
        };
        let rows = visible_rows(&column(), &index, opts);
        let ids: Vec<_> = rows.iter().map(|r| r.technique.id.as_str()).collect();
        assert_eq!(ids, ["T1053", "T1566"]);
        assert_eq!(rows[0].subtechniques, vec![cell("T1053.005")]);
        assert_eq!(hot_rows(&column(), &index), 2);
    }

    #[test]
    fn sort_by_score_puts_the_best_row_first_and_is_stable() {
        let index = ScoreIndex::new(&mapping(), 0.5, &BTreeSet::new());
        let opts = ViewOptions {
            detected_only: false,
            sort_by_score: true,
        };
        let ids: Vec<_> = visible_rows(&column(), &index, opts)
            .into_iter()
            .map(|r| r.technique.id)
            .collect();
        assert_eq!(ids, ["T1566", "T1053", "T1003"]);
    }

    #[test]
    fn titles_name_id_score_and_evidence() {
        let index = ScoreIndex::new(&mapping(), 0.5, &BTreeSet::new());
        let t = cell_title("T1053.005", "Scheduled Task", index.get("T1053.005"));
        assert_eq!(
            t,
            "T1053.005 Scheduled Task\nscore 70\n2 evidence sentences"
        );
        let below = cell_title("T1003", "OS Credential Dumping", index.get("T1003"));
        assert!(below.contains("score 20 (below the threshold)"), "{below}");
        assert!(cell_title("T1", "X", None).ends_with("not detected"));
    }

}
