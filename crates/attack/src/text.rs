//! Cleaning of ATT&CK prose: descriptions and procedure examples carry markdown links,
//! `(Citation: ...)` markers and a few inline HTML tags that are noise for both display
//! and training. The functions here turn them into plain sentences, in time linear in the
//! text's length (descriptions come from bundles an analyst opens, so any text).

use std::collections::HashMap;

/// Inline HTML tags ATT&CK uses for formatting. Anything else in angle brackets is kept:
/// ATT&CK writes placeholders such as `<username>` or `C:\Users\<PID>` in its prose.
const FORMATTING_TAGS: &[&str] = &["code", "b", "i", "em", "strong", "br", "sup", "sub"];

/// Turns STIX description text into plain text.
///
/// - `(Citation: Some Source)` markers are removed, with the space before them;
/// - markdown links `[text](url)` become `text`;
/// - the inline formatting tags `<code>`, `<b>`, `<i>`, `<em>`, `<strong>`, `<br>`, `<sup>`,
///   `<sub>` (and their closing forms) are removed, keeping what they enclose;
/// - every run of whitespace becomes one space, and the result is trimmed.
///
/// ```
/// use ttpmap_attack::clean_stix_text;
/// let raw = "[APT29](https://attack.mitre.org/groups/G0016) used <code>schtasks</code> \
///            to persist.(Citation: Mandiant 2020)";
/// assert_eq!(clean_stix_text(raw), "APT29 used schtasks to persist.");
/// ```
pub fn clean_stix_text(text: &str) -> String {
    // Every bracket's partner is found in one pass first, so each construct below is
    // recognised in time proportional to its own length: no rescan of the rest of the text
    // from each `[`, `(` or `<` (a long run of them made this quadratic).
    let groups = Groups::new(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(c) = text[at..].chars().next() {
        let rest = &text[at..];
        match c {
            '(' if rest.starts_with("(Citation:") => {
                at = groups.end(at).unwrap_or(text.len());
                let rest = &text[at..];
                // "text (Citation: X)." must read "text." — drop the space we already wrote
                // when the citation is followed by punctuation or ends the text.
                if rest.is_empty() || rest.starts_with(['.', ',', ';', ':', '!', '?', ')']) {
                    trim_end_in_place(&mut out);
                }
            }
            '[' => match markdown_link(text, at, &groups) {
                Some((label, end)) => {
                    out.push_str(label);
                    at = end;
                }
                None => {
                    out.push('[');
                    at += 1;
                }
            },
            '<' => match formatting_tag_len(rest) {
                Some((len, is_break)) => {
                    if is_break {
                        out.push(' ');
                    }
                    at += len;
                }
                None => {
                    out.push('<');
                    at += 1;
                }
            },
            _ => {
                out.push(c);
                at += c.len_utf8();
            }
        }
    }
    collapse_whitespace(&out)
}

/// The first paragraph of a description (text up to the first blank line), cleaned with
/// [`clean_stix_text`]. Used for the short descriptions of the compact matrix.
pub fn first_paragraph(text: &str) -> String {
    let normalised = text.replace("\r\n", "\n");
    let para = normalised
        .split("\n\n")
        .map(str::trim)
        .find(|p| !p.is_empty())
        .unwrap_or("");
    clean_stix_text(para)
}

/// The balanced `[...]` and `(...)` groups of a text, found in one pass: where each opening
/// bracket's group ends, and whether it holds whitespace.
struct Groups {
    /// Byte offset of an opening bracket -> (offset just past its closing bracket,
    /// whether whitespace lies between them). Brackets that never close are absent.
    by_start: HashMap<usize, (usize, bool)>,
}

impl Groups {
    fn new(text: &str) -> Groups {
        let mut by_start = HashMap::new();
        // Open brackets not closed yet, each with the whitespace count seen before it.
        let mut squares: Vec<(usize, usize)> = Vec::new();
        let mut rounds: Vec<(usize, usize)> = Vec::new();
        let mut spaces = 0usize;
        for (i, c) in text.char_indices() {
            let closed = match c {
                '[' => {
                    squares.push((i, spaces));
                    None
                }
                '(' => {
                    rounds.push((i, spaces));
                    None
                }
                ']' => squares.pop(),
                ')' => rounds.pop(),
                c => {
                    spaces += usize::from(c.is_whitespace());
                    None
                }
            };
            if let Some((start, before)) = closed {
                by_start.insert(start, (i + 1, spaces > before));
            }
        }
        Groups { by_start }
    }

    /// Offset just past the group that opens at `start`; `None` when it never closes.
    fn end(&self, start: usize) -> Option<usize> {
        self.by_start.get(&start).map(|&(end, _)| end)
    }

    fn has_whitespace(&self, start: usize) -> bool {
        self.by_start.get(&start).is_some_and(|&(_, ws)| ws)
    }
}

/// Parses `[label](url)` at `text[at..]`: the label and the offset just past the link.
fn markdown_link<'t>(text: &'t str, at: usize, groups: &Groups) -> Option<(&'t str, usize)> {
    let label_end = groups.end(at)?;
    if !text[label_end..].starts_with('(') {
        return None;
    }
    let url_end = groups.end(label_end)?;
    if url_end - label_end == 2 || groups.has_whitespace(label_end) {
        return None;
    }
    Some((&text[at + 1..label_end - 1], url_end))
}

/// Length of a formatting tag at the start of `s` (`<code>`, `</code>`, `<br/>`, `< B >`:
/// optional whitespace and one `/` around a tag name of [`FORMATTING_TAGS`], any case),
/// and whether it is a line break. Reads only as far as such a tag can reach.
fn formatting_tag_len(s: &str) -> Option<(usize, bool)> {
    let bytes = s.as_bytes();
    let mut i = 1;
    let skip_space = |i: &mut usize| {
        while let Some(c) = s[*i..].chars().next().filter(|c| c.is_whitespace()) {
            *i += c.len_utf8();
        }
    };
    skip_space(&mut i);
    if bytes.get(i) == Some(&b'/') {
        i += 1;
        skip_space(&mut i);
    }
    let name_start = i;
    while bytes.get(i).is_some_and(u8::is_ascii_alphabetic) && i - name_start < 8 {
        i += 1;
    }
    let name = s[name_start..i].to_ascii_lowercase();
    skip_space(&mut i);
    if bytes.get(i) == Some(&b'/') {
        i += 1;
        skip_space(&mut i);
    }
    (bytes.get(i) == Some(&b'>') && FORMATTING_TAGS.contains(&name.as_str()))
        .then_some((i + 1, name == "br"))
}

fn trim_end_in_place(s: &mut String) {
    let len = s.trim_end().len();
    s.truncate(len);
}

fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}
