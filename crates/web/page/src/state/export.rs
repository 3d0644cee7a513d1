//! Layers and images in and out: the shown mapping downloaded as a Navigator layer or an
//! SVG image, and a Navigator layer opened as the heatmap.

use leptos::prelude::*;
use ttpmap_mapper::export::{report_layer, LayerOptions};

use super::{AppState, Progress};
use crate::decisions::Decisions;
use crate::download::download;
use crate::import::import_layer;
use crate::map_state::MapState;
use crate::storage::{Session, Source};
use crate::svg::{heatmap_svg, SvgOptions};

/// Evidence sentences quoted per technique in an exported layer.
const LAYER_TOP_EVIDENCE: usize = 3;

impl AppState {
    /// Opens a Navigator layer file to view it as the heatmap.
    pub fn open_layer(&self, json: &str) {
        let Some(m) = self.matrix.get_untracked().ready() else {
            self.notice.set(Some(
                "The matrix is not loaded yet: try again in a moment.".into(),
            ));
            return;
        };
        match import_layer(json, &m.matrix) {
            Ok(layer) => {
                self.reset_mapping();
                self.threshold.set(layer.mapping.threshold);
                self.session.set(Some(Session {
                    matrix: m.matrix.id.clone(),
                    title: layer.name,
                    source: Source::Imported {
                        comments: layer.comments,
                    },
                    mapping: layer.mapping,
                    decisions: Decisions::default(),
                    threshold: 0.0,
                    view: self.view.get_untracked(),
                }));
                self.notice
                    .set((!layer.notes.is_empty()).then(|| layer.notes.join(" ")));
                self.progress.set(Progress::None);
                self.map_state.set(MapState::Done);
                self.persist();
            }
            Err(e) => self.notice.set(Some(format!(
                "This file could not be opened as a layer: {e}"
            ))),
        }
    }

    /// The report title and the text the evidence offsets point into.
    fn title_and_text(&self) -> Option<(String, String)> {
        self.session.with_untracked(|s| {
            s.as_ref().map(|s| {
                let text = match &s.source {
                    Source::Mapped { text } => text.clone().unwrap_or_default(),
                    Source::Imported { .. } => String::new(),
                };
                (s.title.clone(), text)
            })
        })
    }

    /// Downloads the shown mapping as a Navigator layer.
    pub fn export_layer(&self) {
        let (Some(m), Some(mapping), Some((title, text))) = (
            self.matrix.get_untracked().ready(),
            self.effective.get_untracked(),
            self.title_and_text(),
        ) else {
            return;
        };
        let opts = LayerOptions {
            name: title.clone(),
            threshold: self.threshold.get_untracked(),
            top_evidence: LAYER_TOP_EVIDENCE,
        };
        match report_layer(&m.matrix, &mapping, &text, &opts) {
            Ok(layer) => download(
                &format!("{}.layer.json", file_stem(&title)),
                "application/json",
                &layer.to_json_pretty(),
            ),
            Err(e) => self
                .notice
                .set(Some(format!("The layer could not be made: {e}"))),
        }
    }

    /// Downloads the heatmap as an SVG image.
    pub fn export_svg(&self) {
        let (Some(m), Some(mapping), Some((title, _))) = (
            self.matrix.get_untracked().ready(),
            self.effective.get_untracked(),
            self.title_and_text(),
        ) else {
            return;
        };
        let threshold = self.threshold.get_untracked();
        let detected = self.index.get_untracked().detected;
        let opts = SvgOptions {
            subtitle: format!(
                "{} · {} technique{} detected at threshold {:.0}",
                m.title,
                detected,
                if detected == 1 { "" } else { "s" },
                threshold * 100.0
            ),
            title: title.clone(),
            view: self.view.get_untracked(),
            threshold,
        };
        let svg = heatmap_svg(&m.columns, &mapping, &opts);
        download(&format!("{}.svg", file_stem(&title)), "image/svg+xml", &svg);
    }
}

/// A file name for a report title: letters, digits and dashes, at most 60 characters.
pub fn file_stem(title: &str) -> String {
    let mut stem = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            stem.extend(c.to_lowercase());
        } else if !stem.ends_with('-') && !stem.is_empty() {
            stem.push('-');
        }
        if stem.chars().count() >= 60 {
            break;
        }
    }
    let stem = stem.trim_end_matches('-');
    if stem.is_empty() {
        "ttpmap".into()
    } else {
        format!("ttpmap-{stem}")
    }
}

#[cfg(test)]
mod tests {
    use super::file_stem;

    #[test]
    fn file_stems_are_safe_and_short() {
        assert_eq!(
            file_stem("APT29: Cozy Bear / 2024"),
            "ttpmap-apt29-cozy-bear-2024"
        );
        assert_eq!(file_stem("../../etc"), "ttpmap-etc");
        assert_eq!(file_stem("   "), "ttpmap");
        assert!(file_stem(&"x".repeat(500)).len() <= 7 + 60);
    }
}
