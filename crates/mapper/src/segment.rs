//! Sentence segmentation for CTI prose, with byte offsets into the original text.
//!
//! A [`Sentence`] is a `start..end` range of **byte** offsets into the text that was
//! segmented, always on `char` boundaries, with surrounding whitespace trimmed; spans with
//! no letter or digit (a lone bullet, a `----` rule) are dropped. The UI highlights these
//! ranges and the trainer maps TRAM's annotated spans onto them; TRAM's `.mjson` spans are
//! Python string indices, i.e. `char` (code point) offsets, so use [`byte_to_char`],
//! [`char_to_byte`] or [`Sentence::char_range`] to convert. (JavaScript strings are UTF-16:
//! neither bytes nor chars; convert at the browser edge if a DOM API needs them.)
//!
//! How a text is cut, in order:
//!
//! 1. **Blank lines** (paragraph breaks) always split.
//! 2. **List items** always start a new segment: lines starting with `-`, `*`, `+`, `•`,
//!    `·`, `▪`, `–`, `—`, `◦`, `‣`, `●`, `○`, `■`, `□`, `➢`, `►` followed by whitespace, or
//!    numbered `1.`, `2)`, `(3)`, `a)`, `b.`, `iv.`; the marker itself is left out of the span.
//! 3. **A single newline** between line A and line B:
//!    - A ends with `.`, `!`, `?` or `…` (after closing quotes/brackets/citations such as
//!      `[1]`): the newline is plain whitespace and the sentence rules below decide;
//!    - A ends with `:`: split (it introduces a list or a block), unless A looks
//!      hard-wrapped (below);
//!    - B starts with a lowercase letter: no split (a wrapped line);
//!    - A ends with `,`, a dash, an opening bracket or a function word (`and`, `of`,
//!      `the`, `to`, …): no split (the sentence obviously goes on);
//!    - A looks hard-wrapped (A and the two lines before and after it are at most 120
//!      chars, A is at least 40 chars and 70% of the longest of them, and A is not in
//!      Title Case): no split, so PDF copy-paste like `used by\nAPT29 to` stays whole;
//!    - otherwise split: A is a heading or a one-line paragraph without final punctuation,
//!      and is never merged with what follows.
//! 4. **Sentence ends** inside a line: a run of `.`, `!`, `?`, `…` attached to a word,
//!    then optional closers (`)` `]` `"` `'` `”` `’` `»`, citations like `[12]`), then
//!    whitespace, then an uppercase letter, a digit, an opening quote or bracket, or a
//!    letter of an uncased script. Consequences: nothing splits where a dot is followed
//!    by a non-space (IPs, domains, file names, versions, decimals, URLs, defanged
//!    `evil[.]com`, paths, registry keys, `CVE-2021-44228`), or by a lowercase word.
//!    A single `.` is further checked against abbreviations:
//!    - never sentence-final: `e.g.`, `i.e.`, `vs.`, `cf.`, `viz.`, `approx.`, `incl.`,
//!      `Mr.`, `Mrs.`, `Ms.`, `Dr.`, `Prof.`, `Fig.`, `Figs.`; `No.`, `Vol.`, `pp.`, `Nr.`
//!      and month abbreviations (`Apr. 28`) when a digit follows;
//!    - final only when the next word is a typical sentence opener (`The`, `This`, `In`,
//!      `However`, …): `Inc.`, `Ltd.`, `Corp.`, `Co.`, `Jr.`, `Sr.`, `St.`, `al.`, dotted
//!      acronyms (`U.S.`, `U.K.`, `a.m.`), single capital initials (`J. Smith`), and caption
//!      numbers `Figure 2.`, `Table 3.`, `Section 4.` — so `U.S. Government` stays whole
//!      while `in the U.S. The actor` and `shown in Figure 2. The actor` split (and so
//!      does an ambiguous abbreviation at the end of a line);
//!    - a caption label opening a sentence (`Figure 2. The phishing email`) never ends it;
//!    - `etc.` is an ordinary word: `tools, etc. were used` stays whole (lowercase follows)
//!      and `PsExec, etc. The actor` splits (uppercase follows).
//!
//!    An ellipsis is an ordinary sentence end, except that nothing splits inside a short
//!    double quotation (`"…"`, `“…”`, `«…»` closed within 400 bytes): a quoted ransom note
//!    or lure text stays with the sentence that quotes it. A double quote after a space
//!    opens, elsewhere it closes, whatever its shape (`“Password.txt.lnk“` is closed).
//! 5. **CJK** `。`, `！`, `？` end a sentence with no whitespace after them.
//!
//! Long sentences are never cut here (the tokenizer windows them). The work is linear in
//! the text length: every look-back or look-ahead is bounded or amortised.

use std::ops::Range;

/// One sentence (or list item, or heading) of a text: byte offsets into that text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sentence {
    /// Byte offset of the first char, on a char boundary.
    pub start: usize,
    /// Byte offset one past the last char, on a char boundary.
    pub end: usize,
}

impl Sentence {
    /// The sentence's text in `src`, the string it was segmented from.
    pub fn text<'a>(&self, src: &'a str) -> &'a str {
        &src[self.start..self.end]
    }

    /// The byte range, for slicing.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The range in `char` (Unicode code point) offsets, as Python and TRAM count them.
    /// Linear in `self.end`.
    pub fn char_range(&self, src: &str) -> Range<usize> {
        let start = src[..self.start].chars().count();
        start..start + src[self.start..self.end].chars().count()
    }
}

/// Splits `text` into sentences, list items and headings, in order. See the module
/// documentation for the rules. Empty or whitespace-only text gives an empty Vec.
pub fn sentences(text: &str) -> Vec<Sentence> {
    let mut out = Vec::new();
    let mut block: Vec<Line> = Vec::new();
    let mut line_start = 0;
    while line_start <= text.len() {
        let line_end = text[line_start..]
            .find('\n')
            .map_or(text.len(), |i| line_start + i);
        match Line::parse(text, line_start, line_end) {
            Some(line) => block.push(line),
            None => {
                segment_block(text, &block, &mut out);
                block.clear();
            }
        }
        line_start = line_end + 1;
    }
    segment_block(text, &block, &mut out);
    out
}

/// Whether a sentence holds any word that could describe behaviour, i.e. is not made only
/// of indicators: hashes (16+ hex digits), URLs, IP addresses, numbers, dates, times,
/// versions and punctuation (defanged forms included). Indicator tables and hash lists
/// are skipped by the encoder (see `Classifier::windows`): no TRAM annotation falls on
/// such a sentence (checked over all 121 reports), and on the held-out reports skipping
/// them leaves the evaluation unchanged (docs/benchmarks.md). Command lines, registry
/// paths, file and function names all contain words and are kept.
pub fn has_words(sentence: &str) -> bool {
    sentence.split_whitespace().any(|tok| !is_indicator_token(tok))
}

fn is_indicator_token(tok: &str) -> bool {
    let t = tok.trim_matches(|c: char| {
        matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '"' | '\'' | '|' | '<' | '>' | '{' | '}')
    });
    if !t.chars().any(char::is_alphanumeric) {
        return true;
    }
    let lower = t.to_ascii_lowercase();
    if ["http://", "https://", "hxxp://", "hxxps://"].iter().any(|p| lower.starts_with(p)) {
        return true;
    }
    if t.len() >= 16 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return true;
    }
    let plain = t.replace("[.]", ".").replace("[:]", ":");
    plain
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b':' | b'/' | b'-' | b','))
}

/// The `char` offset of byte offset `byte` in `text`; `None` when `byte` is past the end
/// or not on a char boundary. Linear in `byte`.
pub fn byte_to_char(text: &str, byte: usize) -> Option<usize> {
    text.is_char_boundary(byte)
        .then(|| text[..byte].chars().count())
}

/// The byte offset of `char` offset `ch` in `text` (`text.len()` for the offset one past
/// the last char); `None` when `ch` is beyond that. Linear in `ch`.
pub fn char_to_byte(text: &str, ch: usize) -> Option<usize> {
    if ch == 0 {
        return Some(0);
    }
    match text.char_indices().nth(ch) {
        Some((b, _)) => Some(b),
        None => (text.chars().count() == ch).then_some(text.len()),
    }
}

// ---------------------------------------------------------------------------------------
// Lines and blocks

/// Longest line (in chars) a hard-wrapped paragraph may have.
const WRAP_MAX_CHARS: usize = 120;
/// Shortest line (in chars) taken for a wrapped line rather than a heading.
const WRAP_MIN_CHARS: usize = 40;

/// A non-blank line: `start..end` is its trimmed content, `body` where its text begins
/// after a list marker (or `start`).
struct Line {
    start: usize,
    end: usize,
    body: usize,
    chars: usize,
    list: bool,
}

impl Line {
    /// `None` for a blank line.
    fn parse(text: &str, from: usize, to: usize) -> Option<Line> {
        let raw = &text[from..to];
        let trimmed = raw.trim_start();
        let start = from + (raw.len() - trimmed.len());
        let end = start + trimmed.trim_end().len();
        if start == end {
            return None;
        }
        let content = &text[start..end];
        let marker = list_marker_len(content);
        let body = match marker {
            Some(len) => {
                let rest = &content[len..];
                start + len + (rest.len() - rest.trim_start().len())
            }
            None => start,
        };
        Some(Line {
            start,
            end,
            body,
            chars: content.chars().count(),
            list: marker.is_some(),
        })
    }
}

/// Byte length of a list marker (`- `, `• `, `1. `, `2) `, `(a) `, `iv. `) at the start of
/// `line`, not counting the whitespace after it.
fn list_marker_len(line: &str) -> Option<usize> {
    const BULLETS: &[char] = &[
        '-', '*', '+', '•', '·', '▪', '–', '—', '◦', '‣', '●', '○', '■', '□', '➢', '►',
    ];
    let followed_by_space = |len: usize| {
        line[len..]
            .chars()
            .next()
            .is_some_and(char::is_whitespace)
            .then_some(len)
    };
    let first = line.chars().next()?;
    if BULLETS.contains(&first) {
        return followed_by_space(first.len_utf8());
    }
    let b = line.as_bytes();
    // (1) (a) (iv)
    if first == '(' {
        let inner = b[1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        let label = &b[1..1 + inner];
        let is_label = (1..=2).contains(&inner) && label.iter().all(u8::is_ascii_digit)
            || inner == 1
            || (1..=4).contains(&inner) && label.iter().all(|c| matches!(c, b'i' | b'v' | b'x'));
        if is_label && b.get(1 + inner) == Some(&b')') {
            return followed_by_space(inner + 2);
        }
        return None;
    }
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let punct = |at: usize, allowed: &[u8]| b.get(at).is_some_and(|c| allowed.contains(c));
    if (1..=3).contains(&digits) && punct(digits, b".)") {
        return followed_by_space(digits + 1);
    }
    let roman = b
        .iter()
        .take_while(|c| matches!(c, b'i' | b'v' | b'x'))
        .count();
    if (1..=4).contains(&roman) && punct(roman, b".)") {
        return followed_by_space(roman + 1);
    }
    if first.is_ascii_lowercase() && punct(1, b".)") || first.is_ascii_uppercase() && punct(1, b")")
    {
        return followed_by_space(2);
    }
    None
}

/// Groups the lines of one paragraph (no blank line inside) into units and segments them.
fn segment_block(text: &str, lines: &[Line], out: &mut Vec<Sentence>) {
    let Some(first) = lines.first() else { return };
    let mut unit_start = first.body;
    for i in 1..lines.len() {
        // Hard wrapping shows locally: the lines around the break have similar lengths.
        let window = &lines[i.saturating_sub(3)..(i + 2).min(lines.len())];
        let wrap_width = window.iter().map(|l| l.chars).max().unwrap_or(0);
        let (a, b) = (&lines[i - 1], &lines[i]);
        if line_break_splits(text, a, b, wrap_width) {
            split_unit(text, unit_start, a.end, out);
            unit_start = b.body;
        }
    }
    split_unit(text, unit_start, lines[lines.len() - 1].end, out);
}

/// Whether the newline between lines `a` and `b` of one paragraph ends a segment
/// regardless of the sentence rules (rule 3 of the module docs). `wrap_width` is the
/// longest of the lines around the break.
fn line_break_splits(text: &str, a: &Line, b: &Line, wrap_width: usize) -> bool {
    if b.list {
        return true;
    }
    let a_text = &text[a.body..a.end];
    let wrapped_line = wrap_width <= WRAP_MAX_CHARS
        && a.chars >= WRAP_MIN_CHARS
        && a.chars * 10 >= wrap_width * 7
        && !is_title_case(&text[a.start..a.end]);
    match strip_trailing_closers(a_text).chars().next_back() {
        Some('.' | '!' | '?' | '…' | '。' | '！' | '？') => return false,
        Some(':') => return !wrapped_line,
        _ => {}
    }
    if text[b.body..b.end]
        .chars()
        .next()
        .is_some_and(char::is_lowercase)
    {
        return false;
    }
    !(ends_with_continuation(a_text) || wrapped_line)
}

/// Whether a line ends in a way that says its sentence goes on: a comma, a dash, an open
/// bracket, or a function word.
fn ends_with_continuation(line: &str) -> bool {
    const WORDS: &[&str] = &[
        "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "for", "from", "has",
        "have", "had", "if", "in", "into", "is", "its", "nor", "of", "on", "onto", "or", "such",
        "than", "that", "the", "their", "these", "this", "those", "to", "via", "was", "were",
        "which", "while", "with", "using",
    ];
    match line.chars().next_back() {
        Some(',' | '-' | '–' | '—' | '(' | '[' | '{' | '/' | '&' | '+' | '=') => true,
        Some(c) if c.is_alphabetic() => {
            let word_start = line.rfind(|c: char| !c.is_alphabetic()).map_or(0, |i| {
                i + line[i..].chars().next().map_or(1, char::len_utf8)
            });
            WORDS.contains(&&line[word_start..])
        }
        _ => false,
    }
}

/// Title Case: at least two words of four or more letters, and all of them capitalised.
fn is_title_case(line: &str) -> bool {
    let mut long_words = 0;
    for word in line.split_whitespace() {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        if word.chars().filter(|c| c.is_alphabetic()).count() < 4 {
            continue;
        }
        if !word.chars().next().is_some_and(char::is_uppercase) {
            return false;
        }
        long_words += 1;
    }
    long_words >= 2
}

// ---------------------------------------------------------------------------------------
// Sentence ends inside a unit

/// A quotation must close within this many bytes of its opening to hold sentences together.
const QUOTE_MAX_BYTES: usize = 400;

fn is_closer(c: char) -> bool {
    is_double_quote(c)
        || matches!(
            c,
            ')' | ']' | '}' | '\'' | '’' | '‘' | '」' | '』' | '）' | '》'
        )
}

/// Double quotation marks. Which way one points is taken from its place, not its shape
/// (`“` is often typed where `”` is meant): after whitespace, an opening bracket or at the
/// start it opens, elsewhere it closes.
fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '«' | '»')
}

/// Length of a citation marker like `[12]` or `[3, 4]` at the start of `s`.
fn citation_len(s: &str) -> Option<usize> {
    let inner = s.strip_prefix('[')?;
    let close = inner.find(']')?;
    let body = &inner[..close];
    (!body.is_empty()
        && body.len() <= 12
        && body.bytes().any(|b| b.is_ascii_digit())
        && body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b',' || b == b'-' || b == b' '))
    .then_some(close + 2)
}

/// `s` without trailing closing quotes, brackets and citation markers.
fn strip_trailing_closers(mut s: &str) -> &str {
    loop {
        if let Some(open) = s.ends_with(']').then(|| s.rfind('[')).flatten() {
            if citation_len(&s[open..]) == Some(s.len() - open) {
                s = &s[..open];
                continue;
            }
        }
        match s.chars().next_back() {
            Some(c) if is_closer(c) => s = &s[..s.len() - c.len_utf8()],
            _ => return s,
        }
    }
}

/// Byte offset past the closers and citation markers that start at `from`.
fn skip_closers(s: &str, mut from: usize) -> usize {
    loop {
        if let Some(len) = citation_len(&s[from..]) {
            from += len;
            continue;
        }
        match s[from..].chars().next() {
            Some(c) if is_closer(c) => from += c.len_utf8(),
            _ => return from,
        }
    }
}

/// Whether `c` may open a sentence after a sentence-final mark and whitespace.
fn opens_sentence(c: char) -> bool {
    (c.is_alphabetic() && !c.is_lowercase())
        || c.is_ascii_digit()
        || matches!(
            c,
            '"' | '\'' | '“' | '‘' | '«' | '(' | '[' | '{' | '¿' | '¡'
        )
}

fn is_cjk_terminal(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

fn is_terminal(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

/// Segments `text[from..to]`, one unit: its newlines are plain whitespace.
fn split_unit(text: &str, from: usize, to: usize, out: &mut Vec<Sentence>) {
    if from >= to {
        return;
    }
    let mut scan = UnitScanner {
        s: &text[from..to],
        quote: None,
        known_closer: None,
        scanned_upto: 0,
        seg: 0,
    };
    let s = scan.s;
    let mut prev: Option<char> = None;
    let mut i = 0;
    while let Some(c) = s[i..].chars().next() {
        let len = c.len_utf8();
        if is_terminal(c) || is_cjk_terminal(c) {
            let run_end = i + s[i..]
                .find(|c: char| !is_terminal(c) && !is_cjk_terminal(c))
                .unwrap_or(s.len() - i);
            if let Some(end) = scan.sentence_end(i, run_end, prev) {
                push(text, from + scan.seg, from + end, out);
                scan.seg = end;
            }
            prev = s[..run_end].chars().next_back();
            i = run_end;
            continue;
        }
        if is_double_quote(c) {
            if prev.is_none_or(|p| p.is_whitespace() || matches!(p, '(' | '[' | '{')) {
                scan.quote.get_or_insert(i);
            } else {
                scan.quote = None;
            }
        }
        prev = Some(c);
        i += len;
    }
    push(text, from + scan.seg, from + s.len(), out);
}

/// Trims `text[from..to]` and records it if it holds a letter or a digit.
fn push(text: &str, from: usize, to: usize, out: &mut Vec<Sentence>) {
    let span = &text[from..to];
    let trimmed = span.trim_start();
    let start = from + (span.len() - trimmed.len());
    let end = start + trimmed.trim_end().len();
    if text[start..end].chars().any(char::is_alphanumeric) {
        out.push(Sentence { start, end });
    }
}

/// The state of a scan over one unit.
struct UnitScanner<'a> {
    s: &'a str,
    /// Byte offset of the currently open double quote, if any.
    quote: Option<usize>,
    /// Memo for [`Self::next_quote_closer`]: a closer found, and how far the text is known
    /// to hold no closer, so that repeated look-aheads stay linear overall.
    known_closer: Option<usize>,
    scanned_upto: usize,
    /// Where the current sentence starts.
    seg: usize,
}

impl UnitScanner<'_> {
    /// If the terminal run `s[at..run_end]` ends a sentence, the offset where it ends
    /// (after closers). `prev` is the char before the run.
    fn sentence_end(&mut self, at: usize, run_end: usize, prev: Option<char>) -> Option<usize> {
        let s = self.s;
        let cjk = s[at..run_end]
            .chars()
            .next_back()
            .is_some_and(is_cjk_terminal);
        // A run not attached to a word (` . `, `cd ..`) is not punctuation of a sentence.
        if !cjk && prev.is_none_or(char::is_whitespace) {
            return None;
        }
        let end = skip_closers(s, run_end);
        if end == s.len() {
            return None;
        }
        if !cjk {
            let rest = &s[end..];
            if !rest.starts_with(char::is_whitespace) {
                return None;
            }
            let next_at = s.len() - rest.trim_start().len();
            let next = s[next_at..].chars().next()?;
            if !opens_sentence(next) {
                return None;
            }
            if &s[at..run_end] == "." && !self.period_ends_sentence(at, next_at) {
                return None;
            }
        }
        if self.inside_quote(run_end, end) {
            return None;
        }
        Some(end)
    }

    /// Abbreviation rules for a single `.` at `dot`; the next sentence would start at `next`.
    fn period_ends_sentence(&self, dot: usize, next: usize) -> bool {
        const NEVER_FINAL: &[&str] = &[
            "e.g", "i.e", "E.g", "I.e", "eg", "ie", "vs", "Vs", "cf", "Cf", "viz", "approx",
            "Approx", "incl", "esp", "Mr", "Mrs", "Ms", "Dr", "Prof", "Fig", "Figs", "fig", "figs",
        ];
        const BEFORE_DIGIT: &[&str] = &[
            "No", "Nos", "no", "Nr", "nr", "Vol", "vol", "pp", "p", "Ch", "ch", "Sec", "Art",
            "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
        ];
        const AMBIGUOUS: &[&str] = &[
            "Inc", "Ltd", "Corp", "Co", "Jr", "Sr", "St", "Bros", "Pty", "Plc", "al", "Gov",
            "Dept", "Univ",
        ];
        const CAPTIONS: &[&str] = &[
            "Figure",
            "Fig",
            "Table",
            "Tab",
            "Section",
            "Listing",
            "Appendix",
            "Chapter",
            "Step",
            "Part",
            "Exhibit",
            "Image",
            "Screenshot",
            "Chart",
            "Diagram",
            "Example",
        ];
        let s = self.s;
        let word = word_before(s, dot);
        let word = word.trim_start_matches(['(', '[', '{', '"', '\'', '“', '‘', '«']);
        if word.is_empty() || NEVER_FINAL.contains(&word) {
            return false;
        }
        let next_char = s[next..].chars().next();
        if BEFORE_DIGIT.contains(&word) && next_char.is_some_and(|c| c.is_ascii_digit()) {
            return false;
        }
        let mut ambiguous = AMBIGUOUS.contains(&word)
            || is_dotted_acronym(word)
            || (word.len() == 1 && word.as_bytes()[0].is_ascii_uppercase());
        if is_number(word) {
            if let Some(label) = caption_label(s, dot - word.len()) {
                if CAPTIONS.contains(&s[label..dot - word.len()].trim_end()) {
                    // `Figure 2.` opening a sentence labels a caption: never its end.
                    if s[self.seg..label].trim().is_empty() {
                        return false;
                    }
                    ambiguous = true;
                }
            }
        }
        // A line break after an ambiguous abbreviation (`… in Figure 2.\nFigure 2. …`) is
        // taken as the end of its sentence.
        !ambiguous || starts_with_opener_word(&s[next..]) || s[dot..next].contains('\n')
    }

    /// Whether `s[run_end..end]` (the terminal run's closers) leaves an open quotation
    /// that closes soon, i.e. the would-be sentence end lies inside a quotation.
    fn inside_quote(&mut self, run_end: usize, end: usize) -> bool {
        let Some(open) = self.quote else { return false };
        if self.s[run_end..end].chars().any(is_double_quote) {
            return false;
        }
        if self
            .next_quote_closer(end, open + QUOTE_MAX_BYTES)
            .is_some()
        {
            return true;
        }
        // Never closed (a stray or unbalanced mark): forget it.
        self.quote = None;
        false
    }

    /// The first closing double quote (one right after a non-space) at or after `from`
    /// and before `limit`.
    fn next_quote_closer(&mut self, from: usize, limit: usize) -> Option<usize> {
        if let Some(c) = self.known_closer.filter(|&c| c >= from) {
            return (c < limit).then_some(c);
        }
        let b = self.s.as_bytes();
        let limit = limit.min(b.len());
        let mut i = from.max(self.scanned_upto);
        while i < limit {
            let quote = b[i] == b'"'
                || b[i..].starts_with("”".as_bytes())
                || b[i..].starts_with("“".as_bytes())
                || b[i..].starts_with("»".as_bytes());
            if quote && i > 0 && !b[i - 1].is_ascii_whitespace() {
                self.known_closer = Some(i);
                self.scanned_upto = i;
                return Some(i);
            }
            i += 1;
        }
        self.scanned_upto = self.scanned_upto.max(limit);
        None
    }
}

/// The run of non-whitespace chars ending at byte `end` (at most 64 bytes of it).
fn word_before(s: &str, end: usize) -> &str {
    let head = &s[..end];
    let mut start = end;
    for (i, c) in head.char_indices().rev() {
        if c.is_whitespace() || end - i > 64 {
            break;
        }
        start = i;
    }
    &s[start..end]
}

/// Where the word before the word at `word_start` starts (`Figure` for `Figure 2.`),
/// skipping an opening bracket; `None` if no whitespace separates them.
fn caption_label(s: &str, word_start: usize) -> Option<usize> {
    let head = s[..word_start].trim_end();
    if head.len() == word_start {
        return None;
    }
    let word = word_before(s, head.len());
    let bracket = word.len() - word.trim_start_matches(['(', '[']).len();
    Some(head.len() - word.len() + bracket)
}

/// `U.S`, `U.K`, `a.m`, `U.S.A`: single letters joined by dots (the final dot excluded).
fn is_dotted_acronym(word: &str) -> bool {
    let mut parts = 0;
    for part in word.split('.') {
        let mut chars = part.chars();
        if !(chars.next().is_some_and(char::is_alphabetic) && chars.next().is_none()) {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}

/// `2`, `18`, `2.1`: a caption number.
fn is_number(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit())
        && word.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Whether `s` starts with a word that typically opens a sentence (`The`, `In`, …).
fn starts_with_opener_word(s: &str) -> bool {
    const OPENERS: &[&str] = &[
        "A",
        "According",
        "Additionally",
        "After",
        "Afterwards",
        "Again",
        "All",
        "Also",
        "Although",
        "Among",
        "An",
        "And",
        "Another",
        "Any",
        "As",
        "At",
        "Based",
        "Because",
        "Before",
        "Besides",
        "Both",
        "But",
        "By",
        "Despite",
        "Due",
        "During",
        "Each",
        "Either",
        "Even",
        "Every",
        "Finally",
        "First",
        "Following",
        "For",
        "From",
        "Further",
        "Furthermore",
        "He",
        "Hence",
        "Her",
        "Here",
        "His",
        "How",
        "However",
        "I",
        "If",
        "In",
        "Instead",
        "Interestingly",
        "Into",
        "It",
        "Its",
        "Later",
        "Lastly",
        "Like",
        "Many",
        "Meanwhile",
        "More",
        "Moreover",
        "Most",
        "Much",
        "Neither",
        "Nevertheless",
        "Next",
        "No",
        "Nonetheless",
        "Not",
        "Notably",
        "Note",
        "Now",
        "Of",
        "On",
        "Once",
        "One",
        "Only",
        "Or",
        "Other",
        "Otherwise",
        "Our",
        "Overall",
        "Previously",
        "Recently",
        "Second",
        "See",
        "Several",
        "She",
        "Similarly",
        "Since",
        "So",
        "Some",
        "Specifically",
        "Still",
        "Subsequently",
        "Such",
        "That",
        "The",
        "Their",
        "Then",
        "There",
        "Therefore",
        "These",
        "They",
        "This",
        "Those",
        "Through",
        "Throughout",
        "Thus",
        "To",
        "Today",
        "Under",
        "Unlike",
        "Upon",
        "Using",
        "Via",
        "We",
        "What",
        "When",
        "Where",
        "Whereas",
        "Which",
        "While",
        "Who",
        "Why",
        "With",
        "Within",
        "Without",
        "Yet",
        "You",
        "Your",
    ];
    let word_len = s.find(|c: char| !c.is_alphabetic()).unwrap_or(s.len());
    word_len > 0 && OPENERS.contains(&&s[..word_len])
}
