//! Cleaning of ATT&CK prose: descriptions and procedure examples carry markdown links,
//! `(Citation: ...)` markers and a few inline HTML tags that are noise for both display
//! and training. The functions here turn them into plain sentences.

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
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        match c {
            '(' if rest.starts_with("(Citation:") => {
                let end = balanced_end(rest, '(', ')').unwrap_or(rest.len());
                rest = &rest[end..];
                // "text (Citation: X)." must read "text." — drop the space we already wrote
                // when the citation is followed by punctuation or ends the text.
                if rest.is_empty() || rest.starts_with(['.', ',', ';', ':', '!', '?', ')']) {
                    trim_end_in_place(&mut out);
                }
            }
            '[' => match markdown_link(rest) {
                Some((label, consumed)) => {
                    out.push_str(label);
                    rest = &rest[consumed..];
                }
                None => {
                    out.push('[');
                    rest = &rest[1..];
                }
            },
            '<' => match formatting_tag_len(rest) {
                Some((len, is_break)) => {
                    if is_break {
                        out.push(' ');
                    }
                    rest = &rest[len..];
                }
                None => {
                    out.push('<');
                    rest = &rest[1..];
                }
            },
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
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

/// Byte length of the balanced group that opens at the start of `s` (which begins with
/// `open`), including the closing character; `None` when it never closes.
fn balanced_end(s: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return Some(i + c.len_utf8());
            }
        }
    }
    None
}

/// Parses `[label](url)` at the start of `s`: the label and the bytes consumed.
fn markdown_link(s: &str) -> Option<(&str, usize)> {
    let label_end = balanced_end(s, '[', ']')?;
    let after = &s[label_end..];
    if !after.starts_with('(') {
        return None;
    }
    let url_len = balanced_end(after, '(', ')')?;
    let url = &after[1..url_len - 1];
    if url.is_empty() || url.chars().any(char::is_whitespace) {
        return None;
    }
    Some((&s[1..label_end - 1], label_end + url_len))
}

/// Length of a formatting tag (`<code>`, `</code>`, `<br/>` ...) at the start of `s`, and
/// whether it is a line break.
fn formatting_tag_len(s: &str) -> Option<(usize, bool)> {
    let close = s.find('>')?;
    let inner = s[1..close].trim();
    let inner = inner.strip_prefix('/').unwrap_or(inner);
    let inner = inner.strip_suffix('/').unwrap_or(inner).trim();
    let name = inner.to_ascii_lowercase();
    FORMATTING_TAGS
        .contains(&name.as_str())
        .then_some((close + 1, name == "br"))
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
