//! Turning a user's file (plain text, Markdown, HTML, PDF or Word bytes) into report text.
//!
//! [`extract_text`] refuses what is not a report, with a message an analyst can act on
//! (images, archives, older Office files, programs, other binary data, empty input),
//! decodes the text, and removes markup so that what remains is prose whose paragraph,
//! heading and list boundaries the segmenter can see: HTML block elements become line
//! breaks, list items become `- ` bullets, Markdown loses its link targets and emphasis
//! marks. PDF and Word (.docx) documents are read by `ttpmap-docs` (reading order, running
//! headers and footers removed, paragraphs rejoined; encrypted, scanned, damaged and
//! oversized documents refused with a [`DocError`]) and normalised like text.
//!
//! Decoding: UTF-8 (a BOM is dropped); UTF-16 with a BOM, or without one when every other
//! byte is NUL (Windows "Unicode" text); invalid UTF-8 is decoded as Windows-1252 when it
//! holds no valid multi-byte UTF-8 at all (an old Western-European text file), decoded
//! lossily (U+FFFD) when at most 1% of its bytes are invalid (a damaged UTF-8 file), and
//! refused otherwise ([`InputError::Encoding`]).
//!
//! The result has `\n` line ends, no control characters but `\n` and `\t`, no zero-width
//! spaces or soft hyphens, no trailing spaces on lines, at most one blank line in a row,
//! and no leading or trailing whitespace. No I/O: bytes in, text out.

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;
pub use ttpmap_docs::{DocError, DocumentKind, MAX_DOCUMENT_BYTES};

/// What a user's file holds, from its name or its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// Plain text (`.txt`, pasted text): kept as it is, apart from normalisation.
    Text,
    /// Markdown (`.md`, `.markdown`): markup removed, text and list bullets kept.
    Markdown,
    /// HTML (`.html`, `.htm`): tags removed, blocks turned into line breaks.
    Html,
    /// A PDF document (`.pdf`): its text layer in reading order.
    Pdf,
    /// A Word document (`.docx`): paragraphs, headings, list items and table rows.
    Docx,
}

impl InputKind {
    /// The kind for a file extension (`"md"` or `".md"`, any case); `None` if unknown.
    pub fn from_extension(ext: &str) -> Option<InputKind> {
        let ext = ext.trim_start_matches('.').to_ascii_lowercase();
        match ext.as_str() {
            "txt" | "text" | "log" => Some(InputKind::Text),
            "md" | "markdown" | "mdown" | "mkd" => Some(InputKind::Markdown),
            "html" | "htm" | "xhtml" => Some(InputKind::Html),
            _ => DocumentKind::from_extension(&ext).map(InputKind::from),
        }
    }

    /// The document format this kind is read with, for PDF and Word documents.
    pub fn document(self) -> Option<DocumentKind> {
        match self {
            InputKind::Pdf => Some(DocumentKind::Pdf),
            InputKind::Docx => Some(DocumentKind::Docx),
            InputKind::Text | InputKind::Markdown | InputKind::Html => None,
        }
    }

    /// The kind for a file name such as `report.HTML`; `None` if its extension is unknown.
    pub fn from_file_name(name: &str) -> Option<InputKind> {
        let (_, ext) = name.rsplit_once('.')?;
        InputKind::from_extension(ext)
    }

    /// Guesses the kind from the bytes: PDF or Word by their magic numbers (see
    /// [`DocumentKind::sniff`]); else, from the first 4 KiB, HTML if it starts with a tag
    /// and has document or block tags, Markdown if it has ATX headings or at least two
    /// other Markdown constructs (links, fences, emphasis, setext underlines), else text.
    pub fn sniff(bytes: &[u8]) -> InputKind {
        if let Some(doc) = DocumentKind::sniff(bytes) {
            return doc.into();
        }
        let head = &bytes[..bytes.len().min(4096)];
        let head = String::from_utf8_lossy(head);
        let head = head.trim_start_matches('\u{feff}').trim_start();
        let lower = head.to_ascii_lowercase();
        let html_tags = [
            "<html",
            "<body",
            "<head",
            "<!doctype html",
            "<div",
            "<p>",
            "<p ",
            "<br",
        ];
        if lower.starts_with('<') && html_tags.iter().any(|t| lower.contains(t)) {
            return InputKind::Html;
        }
        let closing = [
            "</p>", "</div>", "</li>", "</a>", "</span>", "</h1>", "</h2>", "</td>",
        ];
        if closing
            .iter()
            .map(|t| lower.matches(t).count())
            .sum::<usize>()
            >= 3
        {
            return InputKind::Html;
        }
        let heading = head.lines().any(|l| {
            let hashes = l.bytes().take_while(|&b| b == b'#').count();
            (1..=6).contains(&hashes) && l[hashes..].starts_with(' ')
        });
        if heading {
            return InputKind::Markdown;
        }
        let signals = [
            head.contains("](") && head.contains('['),
            head.contains("```"),
            head.contains("**") || head.contains("__"),
            head.lines()
                .any(|l| l.len() >= 3 && l.bytes().all(|b| b == b'=')),
        ];
        if signals.iter().filter(|&&s| s).count() >= 2 {
            InputKind::Markdown
        } else {
            InputKind::Text
        }
    }

    /// PDF or Word if the bytes are one (whatever the name says); else the kind from the
    /// file name's extension if it has a known one, else sniffed.
    pub fn detect(file_name: Option<&str>, bytes: &[u8]) -> InputKind {
        if let Some(doc) = DocumentKind::sniff(bytes) {
            return doc.into();
        }
        file_name
            .and_then(InputKind::from_file_name)
            .unwrap_or_else(|| InputKind::sniff(bytes))
    }
}

impl From<DocumentKind> for InputKind {
    fn from(kind: DocumentKind) -> InputKind {
        match kind {
            DocumentKind::Pdf => InputKind::Pdf,
            DocumentKind::Docx => InputKind::Docx,
        }
    }
}

impl fmt::Display for InputKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputKind::Text => "text",
            InputKind::Markdown => "Markdown",
            InputKind::Html => "HTML",
            InputKind::Pdf => "PDF",
            InputKind::Docx => "Word",
        })
    }
}

/// A file format that is not a report's text, recognised by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileFormat {
    Png,
    Jpeg,
    Gif,
    Pdf,
    /// ZIP, which includes .docx, .xlsx, .pptx and .odt.
    ZipOrOffice,
    /// OLE2 compound files: .doc, .xls, .ppt, .msg.
    LegacyOffice,
    Rtf,
    Gzip,
    /// A Linux or Unix program or library.
    Elf,
    /// A Windows .exe or .dll ("MZ").
    WindowsExecutable,
    /// NUL bytes or many control characters.
    Binary,
}

impl FileFormat {
    /// The format whose magic number `bytes` start with, if any.
    pub fn from_magic(bytes: &[u8]) -> Option<FileFormat> {
        let starts = |magic: &[u8]| bytes.starts_with(magic);
        Some(if starts(b"\x89PNG\r\n\x1a\n") {
            FileFormat::Png
        } else if starts(b"\xff\xd8\xff") {
            FileFormat::Jpeg
        } else if starts(b"GIF87a") || starts(b"GIF89a") {
            FileFormat::Gif
        } else if starts(b"%PDF-") {
            FileFormat::Pdf
        } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
            FileFormat::ZipOrOffice
        } else if starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1") {
            FileFormat::LegacyOffice
        } else if starts(b"{\\rtf") {
            FileFormat::Rtf
        } else if starts(b"\x1f\x8b") {
            FileFormat::Gzip
        } else if starts(b"\x7fELF") {
            FileFormat::Elf
        } else if starts(b"MZ") && bytes[..bytes.len().min(512)].contains(&0) {
            // "MZ" alone could begin a text; a real PE header is full of NUL bytes.
            FileFormat::WindowsExecutable
        } else {
            return None;
        })
    }

    /// What to tell an analyst who opened a file of this format.
    pub fn message(self) -> &'static str {
        match self {
            FileFormat::Png => "this looks like a PNG image, not a report: paste text, or open a .txt, .md, .html, .pdf or .docx file",
            FileFormat::Jpeg => "this looks like a JPEG image, not a report: paste text, or open a .txt, .md, .html, .pdf or .docx file",
            FileFormat::Gif => "this looks like a GIF image, not a report: paste text, or open a .txt, .md, .html, .pdf or .docx file",
            FileFormat::Pdf => "this looks like a PDF document, not text: open it as a .pdf file, or copy the report's text from a PDF viewer and paste it",
            FileFormat::ZipOrOffice => "this looks like a ZIP archive or an Office document (.docx, .xlsx, .pptx), not text: open a Word document as a .docx file; save anything else as text (.txt) or a web page (.html), or copy and paste its text",
            FileFormat::LegacyOffice => "this looks like an older Office document (.doc, .xls, .ppt), a password-protected Office document, or an Outlook message (.msg), which ttpmap cannot read: save it (unprotected) as .docx, text (.txt) or a web page (.html), or copy and paste its text",
            FileFormat::Rtf => "this looks like an RTF document, which ttpmap cannot read: save it as text (.txt) or a web page (.html), or copy and paste its text",
            FileFormat::Gzip => "this looks like a compressed (gzip) file: extract it first, then open the .txt, .md, .html, .pdf or .docx file inside",
            FileFormat::Elf => "this looks like a Linux program (ELF), not a report: paste text, or open a .txt, .md, .html, .pdf or .docx file",
            FileFormat::WindowsExecutable => "this looks like a Windows program (.exe or .dll), not a report: paste text, or open a .txt, .md, .html, .pdf or .docx file",
            FileFormat::Binary => "this looks like binary data, not text: paste the report's text, or open a .txt, .md, .html, .pdf or .docx file",
        }
    }
}

/// Why a file could not be turned into report text. The messages are for the analyst.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// No bytes, or nothing but whitespace.
    #[error(
        "the input is empty: paste a report, or open a .txt, .md, .html, .pdf or .docx file that holds one"
    )]
    Empty,
    /// HTML or Markdown whose markup holds no visible text (only scripts, styles, tags).
    #[error("no readable text was found in this {0} file once its markup was removed: check that it is the report itself, or paste the report's text")]
    NoText(InputKind),
    /// Not text: a known binary format, or bytes with NULs or many control characters.
    #[error("{}", .0.message())]
    NotText(FileFormat),
    /// A PDF or Word document that cannot be read: encrypted, scanned (no text layer),
    /// damaged or truncated, too large.
    #[error(transparent)]
    Document(#[from] DocError),
    /// Invalid UTF-8 that is neither a Windows-1252 text nor a slightly damaged UTF-8 one.
    #[error("this file's text encoding could not be recognised: save it as UTF-8 text (.txt) and open it again, or paste its text")]
    Encoding,
}

/// Extracts report text from a file's bytes. See the module docs for what is refused
/// and how text is decoded and normalised.
pub fn extract_text(bytes: &[u8], kind: InputKind) -> Result<String, InputError> {
    extract_text_with_progress(bytes, kind, &mut |_, _| {})
}

/// [`extract_text`], calling `progress(done, total)` as a document's pages are read (PDF:
/// after each page; other kinds: not at all), for progress on large files.
pub fn extract_text_with_progress(
    bytes: &[u8],
    kind: InputKind,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<String, InputError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::Empty);
    }
    if let Some(doc) = kind.document() {
        let text = normalize(&ttpmap_docs::extract_with_progress(bytes, doc, progress)?);
        return if text.is_empty() {
            Err(InputError::NoText(kind))
        } else {
            Ok(text)
        };
    }
    if let Some(format) = FileFormat::from_magic(bytes) {
        return Err(InputError::NotText(format));
    }
    let decoded = decode(bytes)?;
    if looks_binary(&decoded) {
        return Err(InputError::NotText(FileFormat::Binary));
    }
    let decoded = decoded.trim_start_matches('\u{feff}');
    if decoded.trim().is_empty() {
        return Err(InputError::Empty);
    }
    let text = match kind {
        // (Documents were read above.)
        InputKind::Text | InputKind::Pdf | InputKind::Docx => normalize(decoded),
        InputKind::Markdown => normalize(&markdown_to_text(&normalize(decoded))),
        InputKind::Html => normalize(&html_to_text(decoded)),
    };
    if text.is_empty() {
        return Err(match kind {
            InputKind::Text => InputError::Empty,
            markup => InputError::NoText(markup),
        });
    }
    Ok(text)
}

// ---------------------------------------------------------------------------------------
// Decoding

fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, InputError> {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return decode_utf8(rest);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xff\xfe") {
        return Ok(Cow::Owned(decode_utf16(rest, u16::from_le_bytes)));
    }
    if let Some(rest) = bytes.strip_prefix(b"\xfe\xff") {
        return Ok(Cow::Owned(decode_utf16(rest, u16::from_be_bytes)));
    }
    match utf16_without_bom(bytes) {
        Some(Endian::Little) => return Ok(Cow::Owned(decode_utf16(bytes, u16::from_le_bytes))),
        Some(Endian::Big) => return Ok(Cow::Owned(decode_utf16(bytes, u16::from_be_bytes))),
        None => {}
    }
    if bytes.contains(&0) {
        return Err(InputError::NotText(FileFormat::Binary));
    }
    decode_utf8(bytes)
}

fn decode_utf8(bytes: &[u8]) -> Result<Cow<'_, str>, InputError> {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(s));
    }
    let (mut multibyte, mut invalid) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        invalid += chunk.invalid().len();
    }
    if multibyte == 0 {
        Ok(Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect()))
    } else if invalid * 100 <= bytes.len() {
        Ok(String::from_utf8_lossy(bytes))
    } else {
        Err(InputError::Encoding)
    }
}

enum Endian {
    Little,
    Big,
}

/// UTF-16 text without a BOM: in its first 4 KiB, most code units have a NUL high byte
/// (ASCII text) and almost none a NUL low byte.
fn utf16_without_bom(bytes: &[u8]) -> Option<Endian> {
    if bytes.len() < 4 || !bytes.len().is_multiple_of(2) {
        return None;
    }
    let head = &bytes[..bytes.len().min(4096)];
    let pairs = head.len() / 2;
    let zero_even = head.iter().step_by(2).filter(|&&b| b == 0).count();
    let zero_odd = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
    let most = |n: usize| n * 10 >= pairs * 7;
    let few = |n: usize| n * 20 <= pairs;
    if most(zero_odd) && few(zero_even) {
        Some(Endian::Little)
    } else if most(zero_even) && few(zero_odd) {
        Some(Endian::Big)
    } else {
        None
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|p| unit([p[0], p[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{fffd}'))
        .collect()
}

/// Windows-1252: Latin-1 with printable characters in 0x80..0x9F.
fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9f => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// NUL bytes, or more than 2% control characters (other than line ends, tabs, form feeds).
fn looks_binary(text: &str) -> bool {
    let (mut total, mut control) = (0usize, 0usize);
    for c in text.chars() {
        total += 1;
        if c == '\0' {
            return true;
        }
        if c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}') {
            control += 1;
        }
    }
    control * 50 > total
}

/// Line ends to `\n`, form feeds to a blank line, control characters to spaces, invisible
/// characters removed, trailing spaces and repeated blank lines removed, trimmed.
fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut newlines = 0usize;
    let mut spaces = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    continue;
                }
                '\n'
            }
            '\u{c}' => {
                newlines = newlines.max(1) + 1;
                spaces.clear();
                continue;
            }
            '\u{200b}' | '\u{feff}' | '\u{ad}' | '\u{2060}' => continue,
            c if c.is_control() && c != '\n' && c != '\t' => ' ',
            c => c,
        };
        if c == '\n' {
            newlines += 1;
            spaces.clear();
        } else if c.is_whitespace() {
            spaces.push(c);
        } else {
            // Leading whitespace of the whole text is dropped, indentation kept.
            if !out.is_empty() {
                out.extend(std::iter::repeat_n('\n', newlines.min(2)));
                out.push_str(&spaces);
            }
            newlines = 0;
            spaces.clear();
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// HTML

/// Elements whose content is never shown.
const HIDDEN: &[&str] = &[
    "head", "script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas",
    "nav", "select",
];
/// Elements whose content is raw text (no tags inside): skipped to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "xmp", "title"];
/// Block elements that separate paragraphs.
const PARAGRAPH: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "table",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "aside",
    "figure",
    "figcaption",
    "hr",
    "address",
    "details",
    "summary",
    "form",
    "fieldset",
    "caption",
    "body",
    "center",
    "hgroup",
];
/// Elements that start a new line.
const LINE: &[&str] = &["tr", "dt", "dd", "option", "legend"];

/// Builds text from HTML's text runs and block boundaries.
#[derive(Default)]
struct TextBuilder {
    out: String,
    pending_space: bool,
    pending_newlines: usize,
    /// A bullet was written and no text yet: block breaks are held back so the bullet
    /// stays on its item's line.
    after_bullet: bool,
}

impl TextBuilder {
    fn text(&mut self, s: &str, preformatted: bool) {
        for c in s.chars() {
            if preformatted && c == '\n' {
                self.pending_newlines = (self.pending_newlines + 1).min(2);
                self.after_bullet = false;
            } else if c.is_whitespace() && (!preformatted || c != '\u{a0}' && c != '\t' && c != ' ')
            {
                self.pending_space = true;
            } else {
                self.flush_pending();
                self.out.push(c);
                self.after_bullet = false;
            }
        }
    }

    fn flush_pending(&mut self) {
        if self.pending_newlines > 0 {
            if !self.out.is_empty() {
                self.out
                    .extend(std::iter::repeat_n('\n', self.pending_newlines));
            }
        } else if self.pending_space
            && !self.out.is_empty()
            && !self.out.ends_with(char::is_whitespace)
        {
            self.out.push(' ');
        }
        self.pending_newlines = 0;
        self.pending_space = false;
    }

    fn line_break(&mut self, count: usize) {
        if self.after_bullet {
            return;
        }
        self.pending_newlines = self.pending_newlines.max(count);
    }

    fn br(&mut self) {
        self.pending_newlines = (self.pending_newlines + 1).min(2);
    }

    fn cell(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') && self.pending_newlines == 0 {
            self.pending_space = false;
            self.out.push('\t');
        }
    }

    fn bullet(&mut self) {
        self.pending_newlines = self.pending_newlines.max(1);
        self.flush_pending();
        self.out.push_str("- ");
        self.after_bullet = true;
    }
}

/// Strips tags from HTML and returns its visible text with block boundaries as newlines.
fn html_to_text(html: &str) -> String {
    let mut b = TextBuilder::default();
    let mut hidden: Option<(String, usize)> = None; // hidden element and its nesting depth
    let mut pre_depth = 0usize;
    // Past the last `>` no tag can end: the rest is text (this keeps `a<b<c…` linear).
    let tags_end = html.rfind('>').map_or(0, |g| g + 1);
    let mut i = 0;
    while i < html.len() {
        let rest = &html[i..];
        if i >= tags_end {
            if hidden.is_none() {
                b.text(&decode_entities(rest), pre_depth > 0);
            }
            break;
        }
        let Some(lt) = rest.find('<') else {
            if hidden.is_none() {
                b.text(&decode_entities(rest), pre_depth > 0);
            }
            break;
        };
        if lt > 0 && hidden.is_none() {
            b.text(&decode_entities(&rest[..lt]), pre_depth > 0);
        }
        i += lt;
        let Some(tag) = Tag::parse(&html[i..]) else {
            if hidden.is_none() {
                b.text("<", pre_depth > 0);
            }
            i += 1;
            continue;
        };
        i += tag.len;
        let name = tag.name.as_str();
        if !tag.end && RAW_TEXT.contains(&name) && !tag.self_closing {
            i = skip_raw_text(html, i, name);
            continue;
        }
        if let Some((hidden_name, depth)) = &mut hidden {
            let leaves_head = hidden_name == "head" && name == "body" && !tag.end;
            if name == hidden_name.as_str() && !tag.self_closing {
                if tag.end {
                    *depth -= 1;
                } else {
                    *depth += 1;
                }
            }
            if *depth == 0 || leaves_head {
                hidden = None;
            }
            if !leaves_head {
                continue;
            }
        }
        if HIDDEN.contains(&name) && !tag.end && !tag.self_closing {
            hidden = Some((tag.name.clone(), 1));
            continue;
        }
        match name {
            "br" => b.br(),
            "li" if !tag.end => b.bullet(),
            "li" => b.line_break(1),
            "td" | "th" if !tag.end => b.cell(),
            "pre" => {
                pre_depth = if tag.end {
                    pre_depth.saturating_sub(1)
                } else {
                    pre_depth + 1
                };
                b.line_break(2);
            }
            "img" => {
                // Alternative text is not part of the report's prose.
            }
            _ if PARAGRAPH.contains(&name) => b.line_break(2),
            _ if LINE.contains(&name) => b.line_break(1),
            _ => {}
        }
    }
    b.out
}

/// A start or end tag, or a comment / doctype / processing instruction (`name` empty).
struct Tag {
    name: String,
    end: bool,
    self_closing: bool,
    /// Bytes from `<` to past `>`.
    len: usize,
}

impl Tag {
    /// Parses the tag at the start of `s` (which starts with `<`); `None` if `<` does not
    /// start a tag (as in `a < b`).
    fn parse(s: &str) -> Option<Tag> {
        let b = s.as_bytes();
        let other = |len: usize| Tag {
            name: String::new(),
            end: false,
            self_closing: true,
            len,
        };
        if let Some(comment) = s.strip_prefix("<!--") {
            let len = comment.find("-->").map_or(s.len(), |e| 4 + e + 3);
            return Some(other(len));
        }
        if matches!(b.get(1), Some(b'!' | b'?')) {
            return Some(other(s.find('>').map_or(s.len(), |e| e + 1)));
        }
        let end = b.get(1) == Some(&b'/');
        let name_start = if end { 2 } else { 1 };
        if !b.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        let name_len = b[name_start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b':')
            .count();
        let name = s[name_start..name_start + name_len].to_ascii_lowercase();
        // Find the closing `>`, skipping quoted attribute values.
        let mut quote = None;
        let mut j = name_start + name_len;
        while j < b.len() {
            match (quote, b[j]) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, q @ (b'"' | b'\'')) => quote = Some(q),
                (None, b'>') => break,
                _ => {}
            }
            j += 1;
        }
        if j >= b.len() {
            // An unbalanced quote: end at the first `>` after all.
            j = name_start + name_len + s[name_start + name_len..].find('>')?;
        }
        let self_closing = j > 0 && b.get(j - 1) == Some(&b'/') || is_void(&name);
        Some(Tag {
            name,
            end,
            self_closing,
            len: j + 1,
        })
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "br" | "hr"
            | "img"
            | "input"
            | "meta"
            | "link"
            | "area"
            | "base"
            | "col"
            | "embed"
            | "source"
            | "track"
            | "wbr"
    )
}

/// Byte offset past `</name>` (any case) at or after `from`; the end of `html` if none.
fn skip_raw_text(html: &str, from: usize, name: &str) -> usize {
    let needle = format!("</{name}");
    let hay = html.as_bytes();
    let n = needle.len();
    let mut i = from;
    while i + n <= hay.len() {
        if hay[i] == b'<' && hay[i..i + n].eq_ignore_ascii_case(needle.as_bytes()) {
            return html[i..].find('>').map_or(html.len(), |e| i + e + 1);
        }
        i += 1;
    }
    html.len()
}

/// Decodes HTML character references: the common named ones, `&#39;` and `&#x27;`.
/// Unknown names and references without `;` are kept as they are. `&nbsp;` becomes a
/// plain space.
fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.as_bytes()[1..]
            .iter()
            .take(33)
            .position(|&b| b == b';')
            .filter(|&semi| semi > 0)
            .and_then(|semi| Some((entity(&rest[1..1 + semi])?, semi + 2)));
        match decoded {
            Some((text, len)) => {
                out.push_str(&text);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The text of the reference `&name;` (`name` without `&` and `;`).
fn entity(name: &str) -> Option<Cow<'static, str>> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        let c = match code {
            // Browsers read these as Windows-1252, as pages from Word often need.
            0x80..=0x9f => windows_1252(code as u8),
            0 => '\u{fffd}',
            _ => char::from_u32(code).unwrap_or('\u{fffd}'),
        };
        return Some(Cow::Owned(c.to_string()));
    }
    let text = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" | "ensp" | "emsp" | "thinsp" => " ",
        "shy" | "zwsp" => "",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "ldquo" => "“",
        "rdquo" => "”",
        "bdquo" => "„",
        "laquo" => "«",
        "raquo" => "»",
        "bull" => "•",
        "middot" => "·",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "deg" => "°",
        "times" => "×",
        "divide" => "÷",
        "plusmn" => "±",
        "sect" => "§",
        "para" => "¶",
        "euro" => "€",
        "pound" => "£",
        "yen" => "¥",
        "cent" => "¢",
        "rarr" => "→",
        "larr" => "←",
        "harr" => "↔",
        "uarr" => "↑",
        "darr" => "↓",
        _ => return None,
    };
    Some(Cow::Borrowed(text))
}

// ---------------------------------------------------------------------------------------
// Markdown

/// Removes Markdown markup line by line: headings lose their `#`s, links their targets,
/// emphasis its marks, code its backticks; bullets and numbered items stay, as `- ` and
/// `1. `; tables become tab-separated rows; front matter and link definitions go.
fn markdown_to_text(md: &str) -> String {
    let lines: Vec<&str> = md.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = front_matter_len(&lines);
    let mut fence: Option<(char, usize)> = None;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let t = line.trim_start();
        if let Some((ch, n)) = fence {
            let run = t.chars().take_while(|&c| c == ch).count();
            if run >= n && t[run * ch.len_utf8()..].trim().is_empty() {
                fence = None;
                out.push(String::new());
            } else {
                out.push(line.to_string());
            }
            continue;
        }
        let indent = &line[..line.len() - t.len()];
        if let Some(ch) = ['`', '~']
            .into_iter()
            .find(|&c| t.starts_with(&c.to_string().repeat(3)))
        {
            fence = Some((ch, t.chars().take_while(|&c| c == ch).count()));
            out.push(String::new());
            continue;
        }
        if is_link_definition(t) {
            continue;
        }
        if is_rule_or_underline(t) {
            // A setext underline under a heading, or a thematic break: a paragraph break.
            out.push(String::new());
            continue;
        }
        let hashes = t.bytes().take_while(|&b| b == b'#').count();
        if (1..=6).contains(&hashes) && (t.len() == hashes || t[hashes..].starts_with([' ', '\t']))
        {
            let title = t[hashes..].trim().trim_end_matches('#').trim_end();
            out.push(String::new());
            out.push(inline_markdown(title));
            out.push(String::new());
            continue;
        }
        let mut t = t;
        while let Some(q) = t.strip_prefix('>') {
            t = q.strip_prefix(' ').unwrap_or(q);
        }
        if t.starts_with('|') {
            if is_table_separator(t) {
                continue;
            }
            let row = t.trim().trim_start_matches('|').trim_end_matches('|');
            let cells: Vec<String> = row.split('|').map(|c| inline_markdown(c.trim())).collect();
            out.push(cells.join("\t"));
            continue;
        }
        if let Some(item) = ["- ", "* ", "+ "].iter().find_map(|m| t.strip_prefix(m)) {
            let item = item.trim_start();
            let item = ["[ ] ", "[x] ", "[X] "]
                .iter()
                .find_map(|c| item.strip_prefix(c))
                .unwrap_or(item);
            out.push(format!("{indent}- {}", inline_markdown(item)));
            continue;
        }
        out.push(format!("{indent}{}", inline_markdown(t)));
    }
    out.join("\n")
}

/// Lines of YAML front matter (`---` ... `---` at the very top), or 0.
fn front_matter_len(lines: &[&str]) -> usize {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return 0;
    }
    lines
        .iter()
        .enumerate()
        .skip(1)
        .take(100)
        .find(|(_, l)| matches!(l.trim_end(), "---" | "..."))
        .map_or(0, |(n, _)| n + 1)
}

/// `[ref]: https://…`
fn is_link_definition(t: &str) -> bool {
    t.starts_with('[')
        && t.find("]:")
            .is_some_and(|e| e > 1 && !t[1..e].contains(']') && !t[e + 2..].trim().is_empty())
}

/// `===`, `---`, `***`, `___`, `- - -`: three or more of one mark and nothing else.
fn is_rule_or_underline(t: &str) -> bool {
    let marks: String = t.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3
        && ['=', '-', '*', '_']
            .iter()
            .any(|&m| marks.chars().all(|c| c == m))
}

/// `|---|:--:|`
fn is_table_separator(t: &str) -> bool {
    t.contains('-') && t.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

/// A code span must close within this many bytes (keeps unmatched backticks linear).
const CODE_SPAN_MAX_BYTES: usize = 4096;

/// A piece of an inline run: text, or an emphasis delimiter run that may be removed.
enum Piece {
    Text(String),
    Delim {
        ch: char,
        len: usize,
        open: bool,
        close: bool,
        removed: bool,
    },
}

/// Inline Markdown to text: `[text](url)` → `text`, `![alt](src)` → `alt`, `` `code` ``
/// → `code`, `<https://…>` → the URL, emphasis marks removed, backslash escapes of
/// Markdown punctuation resolved (see [`is_markdown_escapable`]), entities decoded, simple
/// inline HTML tags removed. Linear in the line's length: brackets are matched up front
/// and every look-ahead is bounded or memoised.
fn inline_markdown(s: &str) -> String {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let at = |k: usize| chars.get(k).map(|&(_, c)| c);
    let close_bracket = match_pairs(&chars, '[', ']');
    let close_paren = match_pairs(&chars, '(', ')');
    // `]` of a link label being read, and where to resume after the link's target.
    let mut link_ends: Vec<(usize, usize)> = Vec::new();
    let mut next_gt = NextByte::new(b'>');
    let mut pieces: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut k = 0;
    while k < chars.len() {
        if let Some(&(end, resume)) = link_ends.last() {
            if k >= end {
                link_ends.pop();
                k = k.max(resume);
                continue;
            }
        }
        let (pos, c) = chars[k];
        match c {
            '\\' if at(k + 1).is_some_and(is_markdown_escapable)
                && k.checked_sub(1).and_then(at) != Some(':') =>
            {
                text.push(at(k + 1).unwrap_or('\\'));
                k += 2;
                continue;
            }
            '`' => {
                let run = chars[k..].iter().take_while(|&&(_, c)| c == '`').count();
                let ticks = "`".repeat(run);
                let body_start = pos + run;
                let mut limit = s.len().min(body_start + CODE_SPAN_MAX_BYTES);
                while !s.is_char_boundary(limit) {
                    limit -= 1;
                }
                if let Some(end) = s[body_start..limit].find(&ticks) {
                    let code = &s[body_start..body_start + end];
                    let code = code
                        .strip_prefix(' ')
                        .and_then(|c| c.strip_suffix(' '))
                        .unwrap_or(code);
                    text.push_str(code);
                    let resume = body_start + end + run;
                    k = chars.partition_point(|&(p, _)| p < resume);
                    continue;
                }
                text.push_str(&ticks);
                k += run;
                continue;
            }
            '!' | '[' => {
                let open = if c == '!' { k + 1 } else { k };
                if at(open) == Some('[') {
                    if let Some(resume) = link_end(&chars, &close_bracket, &close_paren, open) {
                        // Read the label as text; skip from its `]` past the target.
                        link_ends.push((close_bracket[open], resume));
                        k = open + 1;
                        continue;
                    }
                }
            }
            '<' => {
                if let Some((replacement, resume)) = inline_html(s, pos, &mut next_gt) {
                    text.push_str(replacement);
                    k = chars.partition_point(|&(p, _)| p < resume);
                    continue;
                }
            }
            '*' | '_' | '~' => {
                let run = chars[k..].iter().take_while(|&&(_, d)| d == c).count();
                let before = k.checked_sub(1).and_then(at);
                let after = at(k + run);
                let ws = |c: Option<char>| c.is_none_or(char::is_whitespace);
                let alnum = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
                let mut open = !ws(after);
                let mut close = !ws(before);
                if c == '_' {
                    open &= !alnum(before);
                    close &= !alnum(after);
                }
                if c == '~' && run < 2 {
                    open = false;
                    close = false;
                }
                if open || close {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Delim {
                        ch: c,
                        len: run,
                        open,
                        close,
                        removed: false,
                    });
                } else {
                    text.extend(std::iter::repeat_n(c, run));
                }
                k += run;
                continue;
            }
            _ => {}
        }
        text.push(c);
        k += 1;
    }
    pieces.push(Piece::Text(text));
    resolve_emphasis(&mut pieces);
    let mut out = String::with_capacity(s.len());
    for piece in &pieces {
        match piece {
            Piece::Text(t) => out.push_str(&decode_entities(t)),
            Piece::Delim { removed: true, .. } => {}
            Piece::Delim { ch, len, .. } => out.extend(std::iter::repeat_n(*ch, *len)),
        }
    }
    out
}

/// For each `left` in `chars`, the index of its matching `right` (`usize::MAX` if none).
fn match_pairs(chars: &[(usize, char)], left: char, right: char) -> Vec<usize> {
    let mut closes = vec![usize::MAX; chars.len()];
    let mut open = Vec::new();
    for (k, &(_, c)) in chars.iter().enumerate() {
        if c == left {
            open.push(k);
        } else if c == right {
            if let Some(o) = open.pop() {
                closes[o] = k;
            }
        }
    }
    closes
}

/// If the `[` at char index `open` starts `[label](target)`, `[label][ref]` or
/// `[label][]`, the char index just past the link. A bare `[label]` (a citation, a
/// defanged `[.]`) is no link.
fn link_end(
    chars: &[(usize, char)],
    close_bracket: &[usize],
    close_paren: &[usize],
    open: usize,
) -> Option<usize> {
    let close = *close_bracket.get(open).filter(|&&c| c != usize::MAX)?;
    let next = close + 1;
    let end = match chars.get(next)?.1 {
        '(' => close_paren[next],
        '[' => close_bracket[next],
        _ => return None,
    };
    (end != usize::MAX).then(|| end + 1)
}

/// Memoised search for the next occurrence of one byte at or after a growing offset.
struct NextByte {
    byte: u8,
    /// The last result: `Some(at)`, or `None` meaning none from `from` on.
    found: Option<Option<usize>>,
    from: usize,
}

impl NextByte {
    fn new(byte: u8) -> NextByte {
        NextByte {
            byte,
            found: None,
            from: 0,
        }
    }

    fn find(&mut self, s: &str, from: usize) -> Option<usize> {
        match self.found {
            Some(Some(at)) if at >= from && from >= self.from => return Some(at),
            Some(None) if from >= self.from => return None,
            _ => {}
        }
        let at = s.as_bytes()[from..]
            .iter()
            .position(|&b| b == self.byte)
            .map(|i| from + i);
        self.found = Some(at);
        self.from = from;
        at
    }
}

/// Punctuation that Markdown writers and converters escape with `\`. Not `\`, `$`, `{`,
/// `}` or `%`, which follow backslashes in Windows paths (`C:\$Recycle.Bin`,
/// `HKLM\…\{GUID}`), and no escape right after a drive letter (`C:\`).
fn is_markdown_escapable(c: char) -> bool {
    matches!(
        c,
        '*' | '_'
            | '`'
            | '#'
            | '['
            | ']'
            | '<'
            | '>'
            | '|'
            | '~'
            | '!'
            | '+'
            | '-'
            | '.'
            | '('
            | ')'
    )
}

/// Marks matching opener/closer delimiter runs (same mark, same length) as removed.
fn resolve_emphasis(pieces: &mut [Piece]) {
    let mut openers: Vec<((char, usize), Vec<usize>)> = Vec::new();
    for i in 0..pieces.len() {
        let Piece::Delim {
            ch,
            len,
            open,
            close,
            ..
        } = pieces[i]
        else {
            continue;
        };
        let slot = match openers.iter().position(|(key, _)| *key == (ch, len)) {
            Some(slot) => slot,
            None => {
                openers.push(((ch, len), Vec::new()));
                openers.len() - 1
            }
        };
        let opener = if close { openers[slot].1.pop() } else { None };
        match opener {
            Some(o) => {
                for p in [o, i] {
                    if let Piece::Delim { removed, .. } = &mut pieces[p] {
                        *removed = true;
                    }
                }
            }
            None if open => openers[slot].1.push(i),
            None => {}
        }
    }
}

/// An autolink (`<https://…>` → the URL) or a simple inline HTML tag (removed) at `pos`.
fn inline_html<'a>(s: &'a str, pos: usize, next_gt: &mut NextByte) -> Option<(&'a str, usize)> {
    const TAGS: &[&str] = &[
        "a", "abbr", "b", "br", "code", "del", "details", "div", "em", "i", "img", "ins", "kbd",
        "mark", "p", "s", "small", "span", "strong", "sub", "summary", "sup", "u",
    ];
    let end = next_gt.find(s, pos)?;
    let inner = &s[pos + 1..end];
    if ["http://", "https://", "mailto:"]
        .iter()
        .any(|p| inner.starts_with(p))
        && !inner.contains(' ')
    {
        return Some((inner, end + 1));
    }
    let name = inner.trim_start_matches('/');
    let name_len = name
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(name.len());
    let name = name[..name_len].to_ascii_lowercase();
    TAGS.contains(&name.as_str())
        .then(|| (if name == "br" { " " } else { "" }, end + 1))
}
