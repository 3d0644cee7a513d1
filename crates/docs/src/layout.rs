//! Positioned text runs to text in reading order, as the author wrote it.
//!
//! Per page: runs on one baseline are joined into segments (a space where the gap between
//! two runs is wider than a fifth of an em; a new segment where it is wider than an em);
//! a column gutter is looked for in the middle of the page (a vertical strip few segments
//! cross, with wrapped prose filling the column to its left); bands of segments that
//! cross it (titles, full-width tables, running headers) cut the page into sections, and
//! a section with prose on both sides of the gutter is read left column first (text set
//! under balanced columns, after a wider gap, is a section of its own after them). Several
//! segments on one baseline outside a two-column section are a table row (cells joined by
//! tabs).
//!
//! Across pages: lines in the top or bottom eighth of a page that recur at the same height
//! on at least half of the pages (digits ignored), and page numbers ("Page 3 of 12",
//! "- 3 -"), are running headers and footers and are dropped. Then the lines of a paragraph
//! are joined (a word hyphenated across lines is rejoined when the next line starts in
//! lower case); a paragraph ends at a short line, a wider gap, a change of font size, a
//! list item or a table row. Headings (larger type), list items (bullets become `- `) and
//! table rows stay lines of their own.

use std::collections::{HashMap, HashSet};

use crate::{join_blocks, Kind};

/// One shown string: its baseline `y` (page space, upwards), its horizontal extent and
/// its font size on the page.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub x0: f32,
    pub x1: f32,
    pub y: f32,
    pub size: f32,
    pub text: String,
}

/// A page's runs, in content-stream order, and the page's height.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub height: f32,
    pub runs: Vec<Run>,
}

/// Runs on one baseline with gaps under an em: a line of a column, a table cell, a header.
#[derive(Debug, Clone)]
struct Seg {
    x0: f32,
    x1: f32,
    size: f32,
    text: String,
}

/// Segments sharing a baseline.
#[derive(Debug)]
struct Band {
    y: f32,
    segs: Vec<Seg>,
}

/// A line in reading order.
#[derive(Debug, Clone)]
struct Line {
    page: usize,
    /// Which column (of which section) it was read from: lines of one flow share it.
    flow: usize,
    y: f32,
    size: f32,
    x0: f32,
    x1: f32,
    /// The right edge of the column or page it lies in.
    col_x1: f32,
    /// Table cells, joined by tabs.
    row: bool,
    text: String,
}

/// Reading-order text of the pages.
pub(crate) fn compose(pages: &[Page]) -> String {
    let bands: Vec<Vec<Band>> = pages.iter().map(|p| bands(&p.runs)).collect();
    // Pages that are plainly set in two columns tell where the gutter is on the pages
    // that are not plain about it (a last page with a few lines in each column).
    let mut scratch = Vec::new();
    let gutters: Vec<(f32, f32)> = bands
        .iter()
        .enumerate()
        .filter_map(|(n, b)| read_page(n, b, &[], &mut 0, &mut scratch))
        .collect();
    let mut lines = Vec::new();
    let mut flow = 0usize;
    for (n, b) in bands.iter().enumerate() {
        read_page(n, b, &gutters, &mut flow, &mut lines);
    }
    let heights: Vec<f32> = pages.iter().map(|p| p.height).collect();
    let lines = drop_running(lines, &heights);
    join_paragraphs(&lines)
}

// ---------------------------------------------------------------------------------------
// Runs to segments and bands

fn bands(runs: &[Run]) -> Vec<Band> {
    let mut order: Vec<&Run> = runs.iter().filter(|r| !r.text.trim().is_empty()).collect();
    order.sort_by(|a, b| b.y.total_cmp(&a.y).then(a.x0.total_cmp(&b.x0)));
    let mut out: Vec<Band> = Vec::new();
    let mut group: Vec<&Run> = Vec::new();
    let mut group_y = 0.0f32;
    let mut group_size = 0.0f32;
    for r in order {
        if !group.is_empty() && (group_y - r.y).abs() > 0.3 * group_size.max(r.size) {
            out.push(band(group_y, std::mem::take(&mut group)));
        }
        if group.is_empty() {
            group_y = r.y;
            group_size = r.size;
        }
        group_size = group_size.max(r.size);
        group.push(r);
    }
    if !group.is_empty() {
        out.push(band(group_y, group));
    }
    out
}

fn band(y: f32, mut runs: Vec<&Run>) -> Band {
    runs.sort_by(|a, b| a.x0.total_cmp(&b.x0));
    let mut segs: Vec<Seg> = Vec::new();
    let mut last: Option<&Run> = None;
    for r in runs {
        if let (Some(seg), Some(prev)) = (segs.last_mut(), last) {
            let em = seg.size.max(r.size);
            let gap = r.x0 - seg.x1;
            // The same string drawn twice at one place (fake bold, shadows): once. (Not
            // the second of two equal letters drawn glyph by glyph: that one has moved on.)
            let duplicate = r.text == prev.text && (r.x0 - prev.x0).abs() < 0.08 * em;
            if duplicate {
                continue;
            }
            if gap <= em {
                if gap > 0.2 * em && !seg.text.ends_with(' ') && !r.text.starts_with(' ') {
                    seg.text.push(' ');
                }
                seg.text.push_str(&r.text);
                seg.x1 = seg.x1.max(r.x1);
                seg.size = seg.size.max(r.size);
                last = Some(r);
                continue;
            }
        }
        segs.push(Seg {
            x0: r.x0,
            x1: r.x1,
            size: r.size,
            text: r.text.clone(),
        });
        last = Some(r);
    }
    for s in &mut segs {
        s.text = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    segs.retain(|s| !s.text.is_empty());
    Band { y, segs }
}

// ---------------------------------------------------------------------------------------
// Columns

/// Reads a page's bands into lines; returns the page's gutter if the page by itself is
/// plainly set in two columns. `known`: such gutters of other pages.
fn read_page(
    page: usize,
    bands: &[Band],
    known: &[(f32, f32)],
    flow: &mut usize,
    out: &mut Vec<Line>,
) -> Option<(f32, f32)> {
    let all: Vec<&Seg> = bands.iter().flat_map(|b| &b.segs).collect();
    if all.is_empty() {
        return None;
    }
    let x0 = all.iter().map(|s| s.x0).fold(f32::INFINITY, f32::min);
    let x1 = all.iter().map(|s| s.x1).fold(f32::NEG_INFINITY, f32::max);
    // A page whose columns are short above a full-width table may show no gutter of its
    // own: the gutter of the document's other pages, if most segments keep clear of it.
    let gutter = find_gutter(&all, x0, x1).or_else(|| {
        known.iter().copied().find(|&(a, b)| {
            all.iter()
                .filter(|s| s.x1 > a + 0.5 && s.x0 < b - 0.5)
                .count()
                * 2
                < all.len()
        })
    });
    *flow += 1;
    let Some((g0, g1)) = gutter else {
        for b in bands {
            push_line(
                out,
                page,
                *flow,
                b.y,
                &b.segs.iter().collect::<Vec<_>>(),
                x1,
            );
        }
        return None;
    };
    let eps = 0.5;
    let mut sizes: Vec<f32> = all.iter().map(|s| s.size).collect();
    sizes.sort_by(f32::total_cmp);
    let body = sizes[sizes.len() / 2];
    // Crossing the gutter, or title type (its last line may be short): full width.
    let crosses = |s: &Seg| (s.x1 > g0 + eps && s.x0 < g1 - eps) || s.size > 1.5 * body;
    // Whether the page is set in two columns is decided over the whole page: a section
    // of code lines or short key paths in one column is still read column by column.
    let side = |left: bool| -> Vec<(f32, Vec<&Seg>)> {
        bands
            .iter()
            .filter(|b| !b.segs.iter().any(crosses))
            .map(|b| {
                (
                    b.y,
                    b.segs
                        .iter()
                        .filter(|s| (s.x1 <= g0 + eps) == left)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, s)| !s.is_empty())
            .collect()
    };
    let (left, right, width) = (side(true), side(false), x1 - x0);
    // One side prose, the other a column too (of prose, or of code and key paths).
    let plain = (is_column(&left, 4, width, true) && is_column(&right, 2, width, false))
        || (is_column(&left, 4, width, false) && is_column(&right, 2, width, true));
    let two_columns = plain || known.iter().any(|&(a, b)| a < g1 && g0 < b);
    let mut section: Vec<&Band> = Vec::new();
    // Consecutive full-width bands (a title over several lines) are one flow.
    let mut in_full = false;
    for b in bands {
        if b.segs.iter().any(crosses) {
            if !section.is_empty() {
                read_section(page, &section, (g0, two_columns), x1, flow, out);
                section.clear();
            }
            if !in_full {
                *flow += 1;
                in_full = true;
            }
            push_line(
                out,
                page,
                *flow,
                b.y,
                &b.segs.iter().collect::<Vec<_>>(),
                x1,
            );
        } else {
            in_full = false;
            section.push(b);
        }
    }
    read_section(page, &section, (g0, two_columns), x1, flow, out);
    plain.then_some((g0, g1))
}

/// A section between full-width bands: two columns (left first) if the page is set in
/// two columns and the section has text on both sides of the gutter at `g0`, else rows.
fn read_section(
    page: usize,
    bands: &[&Band],
    (g0, two_columns): (f32, bool),
    x1: f32,
    flow: &mut usize,
    out: &mut Vec<Line>,
) {
    if bands.is_empty() {
        return;
    }
    let side = |left: bool| -> Vec<(f32, Vec<&Seg>)> {
        bands
            .iter()
            .map(|b| {
                (
                    b.y,
                    b.segs
                        .iter()
                        .filter(|s| (s.x1 <= g0 + 0.5) == left)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, s)| !s.is_empty())
            .collect()
    };
    let (left, right) = (side(true), side(false));
    if two_columns && !left.is_empty() && !right.is_empty() {
        if let Some(at) = below_columns(bands, g0) {
            read_section(page, &bands[..at], (g0, two_columns), x1, flow, out);
            read_section(page, &bands[at..], (g0, two_columns), x1, flow, out);
            return;
        }
        for col in [left, right] {
            *flow += 1;
            let cx1 = col
                .iter()
                .flat_map(|(_, s)| s.iter().map(|s| s.x1))
                .fold(f32::NEG_INFINITY, f32::max);
            for (y, segs) in &col {
                push_line(out, page, *flow, *y, segs, cx1);
            }
        }
    } else {
        *flow += 1;
        for b in bands {
            push_line(
                out,
                page,
                *flow,
                b.y,
                &b.segs.iter().collect::<Vec<_>>(),
                x1,
            );
        }
    }
}

/// Where text set under two columns begins among a section's bands (top first), if it
/// does: a heading, or a table whose cells keep clear of the gutter, under balanced
/// columns is read after both columns, not as the end of the left one (which would cut the
/// paragraph running on into the right column). It is the bands after the last one with
/// text right of the gutter, from the first gap wider than two of the left column's line
/// steps on, where the left column above that gap ends within two steps of where the
/// right one does, and which are fewer than the right column's lines. A left column that
/// goes on well below a short right column is a longer column: `None`.
fn below_columns(bands: &[&Band], g0: f32) -> Option<usize> {
    let on_right = |b: &Band| b.segs.iter().any(|s| s.x1 > g0 + 0.5);
    let on_left = |b: &Band| b.segs.iter().any(|s| s.x1 <= g0 + 0.5);
    let last_right = bands.iter().rposition(|b| on_right(b))?;
    let left_ys: Vec<f32> = bands[..=last_right]
        .iter()
        .filter(|b| on_left(b))
        .map(|b| b.y)
        .collect();
    let mut steps: Vec<f32> = left_ys.windows(2).map(|w| w[0] - w[1]).collect();
    if steps.is_empty() {
        return None;
    }
    steps.sort_by(f32::total_cmp);
    let step = steps[steps.len() / 2];
    let at = (last_right + 1..bands.len()).find(|&i| bands[i - 1].y - bands[i].y > 2.0 * step)?;
    let balanced = bands[last_right].y - bands[at - 1].y <= 2.0 * step;
    let right_lines = bands.iter().filter(|b| on_right(b)).count();
    (balanced && bands.len() - at < right_lines).then_some(at)
}

/// A column of text: one segment per line (at least `min_lines`), at least a quarter of
/// the text's width (`text_width`) wide; and, with `prose`, lines of several words, most
/// of them reaching to within a fifth of the column's width of its right edge. Table
/// columns fail this: their cells are a word or two, and end where their values end.
fn is_column(col: &[(f32, Vec<&Seg>)], min_lines: usize, text_width: f32, prose: bool) -> bool {
    let segs: Vec<&Seg> = col.iter().flat_map(|(_, s)| s.iter().copied()).collect();
    if segs.len() < min_lines {
        return false;
    }
    let single = col.iter().filter(|(_, s)| s.len() == 1).count();
    let x0 = segs.iter().map(|s| s.x0).fold(f32::INFINITY, f32::min);
    let x1 = segs.iter().map(|s| s.x1).fold(f32::NEG_INFINITY, f32::max);
    let width = x1 - x0;
    if single * 10 < col.len() * 8 || width < 0.25 * text_width {
        return false;
    }
    let full = segs.iter().filter(|s| s.x1 >= x1 - 0.2 * width).count();
    let mut words: Vec<usize> = segs
        .iter()
        .map(|s| s.text.split_whitespace().count())
        .collect();
    words.sort_unstable();
    !prose || (full * 2 >= segs.len() && words[words.len() / 2] >= 4)
}

/// A vertical strip in the middle half of the text's width that at most a quarter of the
/// segments cross, at least an em wide (the widest such strip with the fewest crossings).
fn find_gutter(segs: &[&Seg], x0: f32, x1: f32) -> Option<(f32, f32)> {
    if segs.len() < 4 {
        return None;
    }
    let width = x1 - x0;
    let (lo, hi) = (x0 + 0.25 * width, x0 + 0.75 * width);
    let mut events: Vec<(f32, i32)> = segs.iter().flat_map(|s| [(s.x0, 1), (s.x1, -1)]).collect();
    // Ends before starts at one x: segments that only touch do not cross.
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut intervals: Vec<(f32, f32, i32)> = Vec::new();
    let mut coverage = 0i32;
    let mut prev = f32::NEG_INFINITY;
    for (x, d) in events.into_iter().chain([(f32::INFINITY, 0)]) {
        let (a, b) = (prev.max(lo), x.min(hi));
        if b > a {
            intervals.push((a, b, coverage));
        }
        coverage += d;
        prev = x;
    }
    let min = intervals.iter().map(|i| i.2).min()?;
    if min as usize * 4 > segs.len() {
        return None;
    }
    let mut best: Option<(f32, f32)> = None;
    let mut run: Option<(f32, f32)> = None;
    for &(a, b, c) in &intervals {
        if c == min {
            run = Some(match run {
                Some((ra, rb)) if (a - rb).abs() < 1e-3 => (ra, b),
                _ => (a, b),
            });
            if let Some((ra, rb)) = run {
                if best.is_none_or(|(ba, bb)| rb - ra > bb - ba) {
                    best = Some((ra, rb));
                }
            }
        } else {
            run = None;
        }
    }
    let mut sizes: Vec<f32> = segs.iter().map(|s| s.size).collect();
    sizes.sort_by(f32::total_cmp);
    let em = sizes[sizes.len() / 2];
    best.filter(|(a, b)| b - a >= em)
}

fn push_line(out: &mut Vec<Line>, page: usize, flow: usize, y: f32, segs: &[&Seg], col_x1: f32) {
    if segs.is_empty() {
        return;
    }
    // A list marker set apart from its item's text is not a table cell.
    let marker = segs.len() == 2
        && segs[0].text.chars().count() == 1
        && bullet_item(&segs[0].text).is_some();
    let text = segs
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(if marker { " " } else { "\t" });
    let size = segs.iter().map(|s| s.size).fold(0.0, f32::max);
    let x0 = segs.iter().map(|s| s.x0).fold(f32::INFINITY, f32::min);
    let x1 = segs.iter().map(|s| s.x1).fold(f32::NEG_INFINITY, f32::max);
    out.push(Line {
        page,
        flow,
        y,
        size,
        x0,
        x1,
        col_x1,
        row: segs.len() > 1 && !marker,
        text,
    });
}

// ---------------------------------------------------------------------------------------
// Running headers and footers

fn drop_running(lines: Vec<Line>, heights: &[f32]) -> Vec<Line> {
    let in_margin = |l: &Line| {
        let h = heights.get(l.page).copied().unwrap_or(792.0);
        l.y > h * 0.875 || l.y < h * 0.125
    };
    let key = |l: &Line| -> String {
        l.text
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    '#'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    let mut seen: HashMap<String, Vec<(usize, f32)>> = HashMap::new();
    for l in lines.iter().filter(|l| in_margin(l)) {
        seen.entry(key(l)).or_default().push((l.page, l.y));
    }
    let pages = heights.len();
    let needed = pages.div_ceil(2).max(2);
    lines
        .into_iter()
        .filter(|l| {
            if !in_margin(l) {
                return true;
            }
            if is_page_number(&l.text) {
                return false;
            }
            let at = &seen[&key(l)];
            let mut on: Vec<usize> = at
                .iter()
                .filter(|(_, y)| (y - l.y).abs() <= 4.0)
                .map(|(p, _)| *p)
                .collect();
            on.dedup();
            pages < 2 || on.len() < needed
        })
        .collect()
}

/// "12", "Page 12", "page 3 of 12", "3 / 12", "- 3 -", "Page | 3".
fn is_page_number(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    let t = t.trim_matches(|c: char| c == '-' || c == '–' || c == '—' || c.is_whitespace());
    let t = t.strip_prefix("page").unwrap_or(t);
    let t = t.trim_start_matches(|c: char| c.is_whitespace() || c == '|' || c == ':');
    let words: Vec<&str> = t
        .split(|c: char| c.is_whitespace() || c == '/')
        .filter(|w| !w.is_empty())
        .collect();
    let num = |w: &str| !w.is_empty() && w.len() <= 5 && w.chars().all(|c| c.is_ascii_digit());
    match words.as_slice() {
        [n] => num(n),
        [n, m] => num(n) && num(m),
        [n, "of", m] => num(n) && num(m),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// Paragraphs

const BULLETS: &[char] = &[
    '•', '●', '▪', '◦', '‣', '∙', '·', '■', '□', '○', '►', '➢', '✓', '\u{f0b7}', '\u{f0a7}', '*',
];

/// The text of a list item with its bullet as `- `, if `text` starts with a bullet.
fn bullet_item(text: &str) -> Option<String> {
    let first = text.chars().next()?;
    let rest = &text[first.len_utf8()..];
    // A bullet glyph set close to its text may come with no space after it; `*` must.
    if BULLETS.contains(&first)
        && (first != '*' || rest.starts_with([' ', '\t']) || rest.is_empty())
    {
        return Some(format!("- {}", rest.trim_start()));
    }
    if (first == '-' || first == '–') && rest.starts_with(' ') {
        return Some(format!("- {}", rest.trim_start()));
    }
    None
}

/// `1. `, `2) `, `a. `, `iv) ` at the start: a numbered list item.
fn numbered_item(text: &str) -> bool {
    let Some((marker, _)) = text.split_once(' ') else {
        return false;
    };
    let Some(body) = marker.strip_suffix(['.', ')']) else {
        return false;
    };
    !body.is_empty()
        && body.len() <= 4
        && (body.chars().all(|c| c.is_ascii_digit())
            || (body.len() == 1 && body.chars().all(|c| c.is_ascii_lowercase())))
}

fn join_paragraphs(lines: &[Line]) -> String {
    let body = body_size(lines);
    let words = vocabulary(lines);
    let mut blocks: Vec<(Kind, String)> = Vec::new();
    let mut prev: Option<&Line> = None;
    // Lines in the current block.
    let mut block_lines = 0usize;
    for line in lines {
        let heading = !line.row && line.size > body * 1.15;
        let (kind, text) = if line.row {
            (Kind::Row, line.text.clone())
        } else if let Some(item) = bullet_item(&line.text) {
            (Kind::Item, item)
        } else if numbered_item(&line.text) && !heading {
            (Kind::Item, line.text.clone())
        } else if heading {
            (Kind::Heading, line.text.clone())
        } else {
            (Kind::Paragraph, line.text.clone())
        };
        let continues = match (blocks.last(), prev) {
            (Some((last_kind, _)), Some(p)) => {
                continues(*last_kind, kind, p, line, body, block_lines)
            }
            _ => false,
        };
        block_lines = if continues { block_lines + 1 } else { 1 };
        if continues {
            if let (Some((_, last)), Some(p)) = (blocks.last_mut(), prev) {
                let long_token = p
                    .text
                    .rsplit(' ')
                    .next()
                    .is_some_and(|t| t.chars().count() >= 24);
                let glue = long_token && p.x1 >= p.col_x1 - 0.5 * p.size;
                append_line(last, &text, glue, &words);
            }
        } else {
            blocks.push((kind, text));
        }
        prev = Some(line);
    }
    for (_, text) in &mut blocks {
        *text = text.replace(['\u{2010}', '\u{2011}'], "-");
    }
    join_blocks(&blocks)
}

/// Whether `line` (of kind `kind`) continues the block of `lines` lines whose last line
/// is `prev`. In one flow, a line set further in than the one before starts a block (a
/// list item whose marker is a drawing, not text; a first-line indent), and so does a
/// line set further out after a block of several indented lines (the list ended).
fn continues(block: Kind, kind: Kind, prev: &Line, line: &Line, body: f32, lines: usize) -> bool {
    let same_size = (line.size - prev.size).abs() <= 0.12 * prev.size.max(1.0);
    if !same_size || line.row || prev.row {
        return false;
    }
    let same_flow = prev.page == line.page && prev.flow == line.flow && prev.y > line.y;
    let step = 0.6 * line.size;
    if same_flow && (line.x0 > prev.x0 + step || (line.x0 < prev.x0 - step && lines > 1)) {
        return false;
    }
    let close = same_flow && prev.y - line.y <= 1.75 * line.size;
    match (block, kind) {
        (Kind::Heading, Kind::Heading) => close,
        (Kind::Paragraph | Kind::Item, Kind::Paragraph) => {
            // The line before ended short if the next line's first word would have fit
            // in the room left on it: the author ended the paragraph there.
            let chars = prev.text.chars().count().max(1) as f32;
            let advance = (prev.x1 - prev.x0) / chars;
            let first_word = line
                .text
                .split_whitespace()
                .next()
                .map_or(0, |w| w.chars().count()) as f32;
            let short = prev.col_x1 - prev.x1 > (first_word + 1.5) * advance;
            if short || line.size > body * 1.15 {
                return false;
            }
            if same_flow {
                close
            } else {
                // Into the next column or page: a sentence that did not end goes on.
                let t = prev.text.trim_end();
                !t.ends_with(['.', '!', '?', ':'])
            }
        }
        _ => false,
    }
}

/// Words of the document, lower case, without surrounding punctuation: what decides
/// whether a hyphen at a line's end was the author's.
fn vocabulary(lines: &[Line]) -> HashSet<String> {
    lines
        .iter()
        .flat_map(|l| l.text.split_whitespace())
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-')
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Appends a wrapped line to its paragraph. A word broken at the line's end is rejoined:
/// after a soft hyphen or U+2010 (what layout engines draw at a break they made) always;
/// after `-` when the next line goes on in lower case, without the hyphen unless the
/// document spells the word with one elsewhere ("command-line"), or the joined word
/// without it nowhere while the parts are words of it; after `-` with an upper-case
/// letter or a digit next, with the hyphen (a compound or an identifier). `glue`: the
/// line ended in a long
/// token (a URL, a hash) that was broken where it met the column's edge.
fn append_line(block: &mut String, next: &str, glue: bool, words: &HashSet<String>) {
    let last_char = block.chars().next_back();
    let before = block.chars().rev().nth(1);
    let lower_next = next.chars().next().is_some_and(char::is_lowercase);
    let broken = before.is_some_and(char::is_alphanumeric);
    match last_char {
        Some('\u{ad}' | '\u{2010}') if broken => {
            block.pop();
            block.push_str(next);
            return;
        }
        Some('-') if broken && lower_next => {
            let head: String = block
                .rsplit(' ')
                .next()
                .unwrap_or("")
                .trim_start_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            let tail: String = next
                .split(' ')
                .next()
                .unwrap_or("")
                .trim_end_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase();
            let stem = head.trim_end_matches('-');
            let joined = format!("{stem}{tail}");
            let hyphenated = format!("{stem}-{tail}");
            let keep = words.contains(&hyphenated)
                || (!words.contains(&joined) && words.contains(stem) && words.contains(&tail));
            if !keep {
                block.pop();
            }
            block.push_str(next);
            return;
        }
        // A compound or an identifier broken after its hyphen ("Content-" / "Type").
        Some('-')
            if broken
                && next
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit()) =>
        {
            block.push_str(next);
            return;
        }
        _ => {}
    }
    if !glue && !block.ends_with(' ') {
        block.push(' ');
    }
    block.push_str(next);
}

/// The font size most text is set in (by characters), rounded to half a point.
fn body_size(lines: &[Line]) -> f32 {
    let mut counts: HashMap<i32, usize> = HashMap::new();
    for l in lines {
        *counts.entry((l.size * 2.0).round() as i32).or_default() += l.text.chars().count();
    }
    counts
        .into_iter()
        .max_by_key(|&(size, n)| (n, -size))
        .map_or(10.0, |(s, _)| s as f32 / 2.0)
}
