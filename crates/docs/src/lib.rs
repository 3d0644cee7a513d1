//! Reports as analysts receive them: PDF and Word (.docx) files turned into report text.
//!
//! Bytes in, text out: no file system, network, threads or clocks, so the same code runs in
//! the CLI and in the browser's worker (wasm32). [`extract`] reads a document and returns
//! the text as its author wrote it, for the mapper's input step to normalise:
//!
//! - PDF ([`pdf`]): text runs placed by position (two-column pages in reading order,
//!   table rows as tab-separated lines), running headers, footers and page numbers
//!   removed, lines of a paragraph joined (words hyphenated across lines rejoined),
//!   headings and list items kept as lines of their own, ligatures decoded.
//! - DOCX ([`docx`]): the main document part's paragraphs, headings, list items and table
//!   rows, each a line of its own; page headers and footers left out.
//!
//! Bad documents get a [`DocError`] that says what is wrong in words an analyst can act on:
//! encrypted PDFs, PDFs with no text layer (scans: OCR is out of scope), damaged or
//! truncated files, files over [`MAX_DOCUMENT_BYTES`]. Memory and time are bounded: streams
//! decompress to at most [`MAX_STREAM_BYTES`] each, documents have at most [`MAX_PAGES`]
//! pages, nested page content is followed at most a few levels deep. Nothing here panics
//! on bad input (there is no `catch_unwind` in the browser to fall back on).

use std::fmt;

use thiserror::Error;

pub mod docx;
mod layout;
pub mod pdf;

/// What a block of a document's text is; PDF layout and DOCX reading both sort text into them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Paragraph,
    Heading,
    Item,
    Row,
}

/// Blocks joined into report text: list items and table rows one per line, everything
/// else separated by a blank line, so segmentation splits them.
fn join_blocks(blocks: &[(Kind, String)]) -> String {
    let mut out = String::new();
    let mut last: Option<Kind> = None;
    for (kind, text) in blocks {
        if let Some(k) = last {
            let tight = k == *kind && matches!(kind, Kind::Item | Kind::Row);
            out.push_str(if tight { "\n" } else { "\n\n" });
        }
        out.push_str(text);
        last = Some(*kind);
    }
    out
}

/// The largest document read, in bytes (40 MB): larger files are refused with
/// [`DocError::TooLarge`] before any parsing. Text reports are far smaller; a PDF this
/// size is mostly images, which a text-only reader would parse for nothing.
pub const MAX_DOCUMENT_BYTES: usize = 40_000_000;

/// The most one stream (a PDF content or font stream, a DOCX part) may decompress to
/// (64 MB): a small crafted file cannot inflate without limit.
pub const MAX_STREAM_BYTES: usize = 64_000_000;

/// The most pages a PDF may have.
pub const MAX_PAGES: usize = 5000;

/// The most text extracted from one document (16 MB): past it, extraction stops with
/// [`DocError::TooMuchText`].
pub const MAX_TEXT_BYTES: usize = 16_000_000;

/// A document format this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A PDF document.
    Pdf,
    /// A Word document (Office Open XML, `.docx`).
    Docx,
}

impl DocumentKind {
    /// The kind for a file extension (`"pdf"` or `".PDF"`); `None` if not a document's.
    pub fn from_extension(ext: &str) -> Option<DocumentKind> {
        match ext.trim_start_matches('.').to_ascii_lowercase().as_str() {
            "pdf" => Some(DocumentKind::Pdf),
            "docx" | "docm" => Some(DocumentKind::Docx),
            _ => None,
        }
    }

    /// The kind the bytes are, from their first bytes: `%PDF-` at the start, or within the
    /// first KiB after whitespace or binary junk (which readers tolerate; a text that
    /// merely quotes `%PDF-` is no PDF), or a ZIP archive that names a
    /// `word/document.xml` part (its central directory is at the end).
    pub fn sniff(bytes: &[u8]) -> Option<DocumentKind> {
        let head = &bytes[..bytes.len().min(1024)];
        if let Some(at) = head.windows(5).position(|w| w == b"%PDF-") {
            let before = &head[..at];
            if before.iter().all(u8::is_ascii_whitespace) || before.iter().any(|&b| b < 0x09) {
                return Some(DocumentKind::Pdf);
            }
        }
        if bytes.starts_with(b"PK\x03\x04") {
            let tail = &bytes[bytes.len().saturating_sub(64 * 1024)..];
            let front = &bytes[..bytes.len().min(64 * 1024)];
            let names_part = |b: &[u8]| b.windows(17).any(|w| w == b"word/document.xml");
            if names_part(tail) || names_part(front) {
                return Some(DocumentKind::Docx);
            }
        }
        None
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DocumentKind::Pdf => "PDF document",
            DocumentKind::Docx => "Word document",
        })
    }
}

/// Why a document could not be read. The messages are for the analyst.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocError {
    /// Over [`MAX_DOCUMENT_BYTES`].
    #[error("this {kind} is too large ({:.1} MB): ttpmap reads documents up to {} MB; save the report's text (.txt) or paste it", *.bytes as f64 / 1e6, MAX_DOCUMENT_BYTES / 1_000_000)]
    TooLarge { kind: DocumentKind, bytes: usize },
    /// A PDF protected by a password (encrypted, and not with an empty user password).
    #[error("this PDF is password-protected (encrypted), so ttpmap cannot read its text: open it in a PDF viewer and save or print an unprotected copy, or paste its text")]
    Encrypted,
    /// A PDF whose pages hold no text at all: scanned pages or pictures of text.
    #[error("this PDF has no text layer (its {pages} page(s) hold no text, only pictures: probably a scan); OCR is out of scope: run the PDF through OCR first, or paste the report's text")]
    NoTextLayer { pages: usize },
    /// Not a readable PDF: damaged, truncated, or not a PDF after all.
    #[error("this PDF is damaged or truncated and cannot be read ({0}): open it in a PDF viewer and save a new copy, or paste its text")]
    CorruptPdf(String),
    /// Not a readable Word document: damaged, truncated, or not a .docx after all.
    #[error("this Word document is damaged or truncated and cannot be read ({0}): open it in Word and save it again, or paste its text")]
    CorruptDocx(String),
    /// A ZIP archive without a Word document's main part (an .xlsx, .pptx, .odt, a plain ZIP).
    #[error("this file is a ZIP archive but not a Word document (.docx): it has no word/document.xml; save the report as .docx, .txt or .html, or paste its text")]
    NotDocx,
    /// Over [`MAX_PAGES`] pages.
    #[error("this PDF has {0} pages; ttpmap reads documents of up to {MAX_PAGES} pages")]
    TooManyPages(usize),
    /// A part or stream decompresses past [`MAX_STREAM_BYTES`], or the text past
    /// [`MAX_TEXT_BYTES`].
    #[error("this {0} holds more data than ttpmap reads (a part expands past {stream} MB, or its text past {text} MB): split it, or paste the report's text", stream = MAX_STREAM_BYTES / 1_000_000, text = MAX_TEXT_BYTES / 1_000_000)]
    TooMuchText(DocumentKind),
}

/// Extracts a document's text. See the module docs for what is kept and what is refused.
pub fn extract(bytes: &[u8], kind: DocumentKind) -> Result<String, DocError> {
    extract_with_progress(bytes, kind, &mut |_, _| {})
}

/// [`extract`], calling `progress(done, total)` after each page of a PDF (once at the end
/// for a DOCX), so a caller can show progress on large files.
pub fn extract_with_progress(
    bytes: &[u8],
    kind: DocumentKind,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<String, DocError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocError::TooLarge {
            kind,
            bytes: bytes.len(),
        });
    }
    match kind {
        DocumentKind::Pdf => pdf::extract(bytes, progress),
        DocumentKind::Docx => {
            let text = docx::extract(bytes)?;
            progress(1, 1);
            Ok(text)
        }
    }
}

/// Text characters as a reader sees them: ligatures spelled out (ﬁ → fi), non-breaking
/// and other special spaces as spaces, control characters, zero-width characters and
/// U+FFFD dropped. Soft hyphens and U+2010 hyphens stay: in a PDF they are what a layout
/// engine draws where it breaks a word across lines, which the layout rejoins.
pub(crate) fn push_clean(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '\u{fb00}' => out.push_str("ff"),
            '\u{fb01}' => out.push_str("fi"),
            '\u{fb02}' => out.push_str("fl"),
            '\u{fb03}' => out.push_str("ffi"),
            '\u{fb04}' => out.push_str("ffl"),
            '\u{fb05}' | '\u{fb06}' => out.push_str("st"),
            '\u{a0}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => {
                out.push(' ')
            }
            '\t' => out.push(' '),
            '\u{fffd}' | '\u{200b}' | '\u{feff}' | '\u{2060}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}
