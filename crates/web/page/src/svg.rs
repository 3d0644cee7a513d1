//! The heatmap as a standalone SVG image: tactic columns with their counts, technique
//! cells coloured by score, detected sub-techniques under their parent, and a legend.
//!
//! A pure function of the matrix layout and the mapping (decisions already applied), so
//! the image matches the page and is tested natively. Text is XML-escaped; the image
//! references nothing outside itself.

use std::fmt::Write;

use ttpmap_mapper::ReportMapping;

use crate::columns::{Cell, Column};
use crate::heat::{bucket, hot_rows, visible_rows, ScoreIndex, ViewOptions, BUCKETS};

/// The heat colours of the 10 score buckets (0–10, …, 90–100): the layer's default
/// gradient (#ffffcc → #fd8d3c → #bd0026) sampled at each bucket's middle. style/main.css
/// uses the same colours for `.heat-0` … `.heat-9` (a test checks).
pub const HEAT_COLORS: [&str; BUCKETS] = [
    "#fff4be", "#fedda1", "#fec684", "#feaf67", "#fd984a", "#f77f3a", "#ea6335", "#dd4631",
    "#d02a2d", "#c30e28",
];

/// Buckets dark enough to need white text.
const FIRST_DARK_BUCKET: usize = 6;

/// What the image is about.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgOptions {
    /// The report's title.
    pub title: String,
    /// A line under the title: matrix, threshold, counts.
    pub subtitle: String,
    /// Which rows to draw, in what order (as on the page).
    pub view: ViewOptions,
    /// Detection threshold, 0..1.
    pub threshold: f32,
}

const COL_W: u32 = 152;
const GAP: u32 = 6;
const MARGIN: u32 = 16;
const HEAD_H: u32 = 40;
const ROW_H: u32 = 24;
const SUB_INDENT: u32 = 12;
const TITLE_H: u32 = 52;
const LEGEND_H: u32 = 44;

/// The SVG document of the heatmap.
pub fn heatmap_svg(columns: &[Column], mapping: &ReportMapping, opts: &SvgOptions) -> String {
    let index = ScoreIndex::new(mapping, opts.threshold, &Default::default());
    let laid_out: Vec<(&Column, Vec<(Cell, bool)>)> = columns
        .iter()
        .map(|c| {
            let mut cells = Vec::new();
            for row in visible_rows(c, &index, opts.view) {
                cells.push((row.technique.clone(), false));
                // Only detected sub-techniques: the whole list would drown the image.
                cells.extend(
                    row.subtechniques
                        .iter()
                        .filter(|s| index.detected(&s.id).is_some())
                        .map(|s| (s.clone(), true)),
                );
            }
            (c, cells)
        })
        .collect();

    let n = columns.len().max(1) as u32;
    let width = 2 * MARGIN + n * COL_W + (n - 1) * GAP;
    let tallest = laid_out.iter().map(|(_, c)| c.len()).max().unwrap_or(0) as u32;
    let matrix_top = MARGIN + TITLE_H;
    let body_h = HEAD_H + tallest * ROW_H + 4;
    let height = matrix_top + body_h + LEGEND_H + MARGIN;

    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = write!(s, "<title>{}</title>", esc(&opts.title));
    let _ = write!(
        s,
        r##"<rect width="{width}" height="{height}" fill="#ffffff"/>"##
    );
    let _ = write!(
        s,
        r##"<text x="{MARGIN}" y="{}" font-size="18" font-weight="700" fill="#1d2430">{}</text>"##,
        MARGIN + 18,
        esc(&opts.title)
    );
    let _ = write!(
        s,
        r##"<text x="{MARGIN}" y="{}" font-size="12" fill="#5b6473">{}</text>"##,
        MARGIN + 38,
        esc(&opts.subtitle)
    );

    for (i, (column, cells)) in laid_out.iter().enumerate() {
        let x = MARGIN + i as u32 * (COL_W + GAP);
        let hot = hot_rows(column, &index);
        let count = if opts.view.detected_only {
            format!("{hot} detected")
        } else {
            format!("{} techniques · {hot} detected", column.techniques.len())
        };
        let _ = write!(
            s,
            r##"<g data-tactic-id="{}"><rect x="{x}" y="{matrix_top}" width="{COL_W}" height="{}" rx="3" fill="#e9edf3"/>"##,
            esc(&column.tactic_id),
            HEAD_H - 4
        );
        let cx = x + COL_W / 2;
        let _ = write!(
            s,
            r##"<text x="{cx}" y="{}" font-size="11" font-weight="700" text-anchor="middle" fill="#1d2430">{}</text>"##,
            matrix_top + 15,
            esc(&truncate(&column.name, 24))
        );
        let _ = write!(
            s,
            r##"<text x="{cx}" y="{}" font-size="9" text-anchor="middle" fill="#5b6473">{}</text>"##,
            matrix_top + 29,
            esc(&count)
        );
        for (k, (cell, sub)) in cells.iter().enumerate() {
            let y = matrix_top + HEAD_H + k as u32 * ROW_H;
            let (cx, w) = if *sub {
                (x + SUB_INDENT, COL_W - SUB_INDENT)
            } else {
                (x, COL_W)
            };
            let score = index.detected(&cell.id);
            let (fill, ink) = match score {
                Some(c) => {
                    let b = bucket(c.score);
                    let ink = if b >= FIRST_DARK_BUCKET {
                        "#ffffff"
                    } else {
                        "#1d2430"
                    };
                    (HEAT_COLORS[b], ink)
                }
                None => (if *sub { "#f3f5f8" } else { "#ffffff" }, "#1d2430"),
            };
            let label = match score {
                Some(c) => format!("{} {}", c.score_100(), cell.name),
                None => cell.name.clone(),
            };
            let _ = write!(
                s,
                r##"<g data-technique-id="{id}"{score_attr}><title>{tip}</title><rect x="{cx}" y="{y}" width="{w}" height="{h}" rx="2" fill="{fill}" stroke="#d8dde5"/><text x="{tx}" y="{ty}" font-size="9.5" fill="{ink}"><tspan font-family="Menlo, Consolas, monospace" font-size="8.5">{id}</tspan> {label}</text></g>"##,
                id = esc(&cell.id),
                score_attr = score
                    .map(|c| format!(r#" data-score="{}""#, c.score_100()))
                    .unwrap_or_default(),
                tip = esc(&format!("{} {}", cell.id, cell.name)),
                h = ROW_H - 3,
                tx = cx + 4,
                ty = y + 14,
                label = esc(&truncate(&label, if *sub { 20 } else { 22 })),
            );
        }
        s.push_str("</g>");
    }

    // Legend: the ten buckets with their score ranges.
    let ly = matrix_top + body_h + 8;
    let _ = write!(
        s,
        r##"<text x="{MARGIN}" y="{}" font-size="11" fill="#5b6473">Score</text>"##,
        ly + 13
    );
    for (b, color) in HEAT_COLORS.iter().enumerate() {
        let x = MARGIN + 44 + b as u32 * 36;
        let _ = write!(
            s,
            r##"<rect x="{x}" y="{ly}" width="36" height="16" fill="{color}"/><text x="{x}" y="{}" font-size="9" fill="#5b6473">{}</text>"##,
            ly + 28,
            b * 10
        );
    }
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" font-size="9" fill="#5b6473">100</text>"##,
        MARGIN + 44 + BUCKETS as u32 * 36 - 8,
        ly + 28
    );
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" font-size="10" fill="#5b6473">Made with ttpmap. ATT&amp;CK® is a registered trademark of The MITRE Corporation.</text>"##,
        MARGIN + 44 + BUCKETS as u32 * 36 + 24,
        ly + 13
    );
    s.push_str("</svg>\n");
    s
}

/// Escapes text for XML content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with "…" when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!(
            "{}…",
            text.chars().take(max - 1).collect::<String>().trim_end()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::TechniqueRow;
    use ttpmap_mapper::TechniqueMapping;

    fn cell(id: &str, name: &str) -> Cell {
        Cell {
            id: id.into(),
            name: name.into(),
        }
    }

    fn columns() -> Vec<Column> {
        vec![
            Column {
                tactic_id: "TA0001".into(),
                shortname: "initial-access".into(),
                name: "Initial Access".into(),
                techniques: vec![
                    TechniqueRow {
                        technique: cell("T1566", "Phishing"),
                        subtechniques: vec![
                            cell("T1566.001", "Spearphishing Attachment"),
                            cell("T1566.002", "Spearphishing Link"),
                        ],
                    },
                    TechniqueRow {
                        technique: cell("T1078", "Valid Accounts"),
                        subtechniques: vec![],
                    },
                ],
            },
            Column {
                tactic_id: "TA0002".into(),
                shortname: "execution".into(),
                name: "Execution".into(),
                techniques: vec![TechniqueRow {
                    technique: cell("T1059", "Command & <Scripting> Interpreter"),
                    subtechniques: vec![],
                }],
            },
        ]
    }

    fn mapping() -> ReportMapping {
        let t = |id: &str, score: f32| TechniqueMapping {
            id: id.into(),
            name: id.into(),
            score,
            evidence: vec![],
        };
        ReportMapping {
            threshold: 0.5,
            aggregation: Default::default(),
            sentences: 3,
            techniques: vec![t("T1566.001", 0.93), t("T1059", 0.61), t("T1078", 0.2)],
        }
    }

    fn opts(detected_only: bool) -> SvgOptions {
        SvgOptions {
            title: "Report \"A\" & <B>".into(),
            subtitle: "Enterprise ATT&CK v18.1".into(),
            view: ViewOptions {
                detected_only,
                sort_by_score: false,
            },
            threshold: 0.5,
        }
    }

    #[test]
    fn is_one_svg_document_with_escaped_text() {
        let svg = heatmap_svg(&columns(), &mapping(), &opts(false));
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("Report &quot;A&quot; &amp; &lt;B&gt;"));
        assert!(svg.contains("Command &amp; &lt;Scripting&gt;"));
        assert!(!svg.contains("<B>") && !svg.contains("<Scripting>"));
        assert!(!svg.contains("href"), "references nothing outside itself");
    }

    #[test]
    fn detected_cells_are_coloured_by_their_bucket() {
        let svg = heatmap_svg(&columns(), &mapping(), &opts(false));
        assert!(svg.contains(r#"data-technique-id="T1566.001" data-score="93""#));
        assert!(svg.contains(HEAT_COLORS[9]));
        assert!(svg.contains(r#"data-technique-id="T1059" data-score="61""#));
        assert!(svg.contains(HEAT_COLORS[6]));
        assert!(
            !svg.contains(r#"data-technique-id="T1078" data-score"#),
            "below the threshold: no score"
        );
    }

    #[test]
    fn tactics_keep_their_order_and_undetected_subs_are_left_out() {
        let svg = heatmap_svg(&columns(), &mapping(), &opts(false));
        let a = svg.find(r#"data-tactic-id="TA0001""#).unwrap();
        let b = svg.find(r#"data-tactic-id="TA0002""#).unwrap();
        assert!(a < b);
        assert!(svg.contains("T1566.001"));
        assert!(!svg.contains("T1566.002"));
        assert!(svg.contains("2 techniques · 1 detected"));
    }

    #[test]
    fn detected_only_leaves_out_cold_rows() {
        let svg = heatmap_svg(&columns(), &mapping(), &opts(true));
        assert!(!svg.contains(r#"data-technique-id="T1078""#));
        assert!(
            svg.contains(r#"data-technique-id="T1566""#),
            "parent of a detected sub"
        );
    }

    #[test]
    fn the_stylesheet_uses_the_same_heat_colours() {
        let css = include_str!("../../../../style/main.css");
        for (b, color) in HEAT_COLORS.iter().enumerate() {
            let rule = format!(".heat-{b} {{ --heat: {color};");
            assert!(css.contains(&rule), "style/main.css lacks `{rule}`");
        }
    }
}
