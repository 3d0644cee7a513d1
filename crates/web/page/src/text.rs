//! The report's text as the page shows it: its title, and the stretches the evidence
//! panel highlights. Pure, so it runs in native tests.

/// A report's title: the file name without its extension if the report came from a
/// file, else its first non-empty line without a "Title:" label (at most 80 characters).
pub fn report_title(text: &str, file_name: Option<&str>) -> String {
    if let Some(name) = file_name.map(str::trim).filter(|n| !n.is_empty()) {
        let stem = name
            .rsplit_once('.')
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty())
            .unwrap_or(name);
        return stem.to_string();
    }
    let line = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let line = match line.get(..6) {
        Some(label) if label.eq_ignore_ascii_case("title:") && line.len() > 6 => {
            line[6..].trim_start().to_string()
        }
        _ => line,
    };
    const MAX: usize = 80;
    if line.is_empty() {
        "Untitled report".into()
    } else if line.chars().count() > MAX {
        format!(
            "{}…",
            line.chars().take(MAX - 1).collect::<String>().trim_end()
        )
    } else {
        line
    }
}

/// A stretch of the report text, highlighted when it is an evidence sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start: usize,
    pub end: usize,
    /// The evidence score (0..1) when highlighted.
    pub mark: Option<f32>,
}

/// Cuts `text` into plain and highlighted stretches for the evidence `spans`
/// (`(start, end, score)` byte offsets). Spans are clamped to the text; spans that overlap
/// an earlier one or do not fall on character boundaries are left out.
pub fn highlight_segments(text: &str, spans: &[(usize, usize, f32)]) -> Vec<Segment> {
    let mut spans: Vec<(usize, usize, f32)> = spans
        .iter()
        .map(|&(s, e, score)| (s.min(text.len()), e.min(text.len()), score))
        .filter(|&(s, e, _)| s < e && text.is_char_boundary(s) && text.is_char_boundary(e))
        .collect();
    spans.sort_by_key(|&(s, e, _)| (s, e));
    let mut out = Vec::new();
    let mut at = 0;
    for (s, e, score) in spans {
        if s < at {
            continue;
        }
        if s > at {
            out.push(Segment {
                start: at,
                end: s,
                mark: None,
            });
        }
        out.push(Segment {
            start: s,
            end: e,
            mark: Some(score),
        });
        at = e;
    }
    if at < text.len() {
        out.push(Segment {
            start: at,
            end: text.len(),
            mark: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_titles_come_from_the_file_or_the_first_line() {
        assert_eq!(report_title("x", Some("apt29-report.md")), "apt29-report");
        assert_eq!(
            report_title("\n\n  Operation   Ghost \nbody", None),
            "Operation Ghost"
        );
        assert_eq!(report_title("  \n", None), "Untitled report");
        assert_eq!(report_title("title: AA20-258A\nbody", None), "AA20-258A");
        let long = "a".repeat(200);
        assert_eq!(report_title(&long, None).chars().count(), 80);
    }

    #[test]
    fn highlights_split_the_text_around_evidence() {
        let text = "One. Two. Three.";
        let segs = highlight_segments(text, &[(10, 16, 0.9), (0, 4, 0.6)]);
        let parts: Vec<_> = segs
            .iter()
            .map(|s| (&text[s.start..s.end], s.mark.is_some()))
            .collect();
        assert_eq!(parts, [("One.", true), (" Two. ", false), ("Three.", true)]);
    }

    #[test]
    fn highlights_skip_overlaps_and_bad_offsets() {
        let text = "héllo world";
        // 2 is inside "é"; 0..5 and 3..8 overlap; 100 is clamped.
        let segs = highlight_segments(
            text,
            &[(0, 2, 1.0), (0, 6, 0.5), (3, 8, 0.5), (7, 100, 0.4)],
        );
        let marks: Vec<_> = segs
            .iter()
            .filter(|s| s.mark.is_some())
            .map(|s| &text[s.start..s.end])
            .collect();
        assert_eq!(marks, ["héllo", "world"]);
        assert_eq!(segs.last().unwrap().end, text.len());
    }
}
