//! Word documents (.docx, Office Open XML) to report text.
//!
//! A .docx is a ZIP archive; the report is its main part, `word/document.xml`. Each
//! paragraph becomes a line; headings (a heading or title style, or an outline level)
//! stand apart with blank lines; list items (numbered or bulleted paragraphs, list styles)
//! become `- ` lines; table rows become one line each, cells joined by tabs. Page headers
//! and footers (`word/header*.xml`, `word/footer*.xml`) are other parts and are not read;
//! deleted and moved-away revisions, field codes and the fallback copies of text boxes
//! are skipped.

use std::collections::HashSet;
use std::io::{Cursor, Read};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::{join_blocks, push_clean, DocError, DocumentKind, Kind, MAX_STREAM_BYTES, MAX_TEXT_BYTES};

/// Extracts the text of a .docx file.
pub fn extract(bytes: &[u8]) -> Result<String, DocError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| DocError::CorruptDocx(e.to_string()))?;
    let document = match read_part(&mut archive, "word/document.xml")? {
        Some(xml) => xml,
        None => return Err(DocError::NotDocx),
    };
    let styles = match read_part(&mut archive, "word/styles.xml") {
        Ok(Some(xml)) => Styles::parse(&xml),
        // The styles part only says which paragraphs are headings: read on without it.
        _ => Styles::default(),
    };
    Body::new(&styles).read(&document)
}

/// A part of the archive as text; `None` if the archive has no such part.
fn read_part<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
) -> Result<Option<String>, DocError> {
    let file = match archive.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(DocError::CorruptDocx(e.to_string())),
    };
    let mut data = Vec::new();
    file.take(MAX_STREAM_BYTES as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| DocError::CorruptDocx(format!("{name}: {e}")))?;
    if data.len() > MAX_STREAM_BYTES {
        return Err(DocError::TooMuchText(DocumentKind::Docx));
    }
    let text = match String::from_utf8(data) {
        Ok(s) => s,
        Err(e) => {
            let data = e.into_bytes();
            match data.strip_prefix(b"\xff\xfe") {
                // UTF-16 parts are allowed by the format, if rare.
                Some(rest) => char::decode_utf16(
                    rest.chunks_exact(2)
                        .map(|p| u16::from_le_bytes([p[0], p[1]])),
                )
                .map(|c| c.unwrap_or('\u{fffd}'))
                .collect(),
                None => return Err(DocError::CorruptDocx(format!("{name} is not UTF-8 text"))),
            }
        }
    };
    Ok(Some(text.trim_start_matches('\u{feff}').to_string()))
}

/// Which paragraph styles are headings and which are lists, from `word/styles.xml`.
#[derive(Default)]
struct Styles {
    headings: HashSet<String>,
    lists: HashSet<String>,
}

impl Styles {
    fn parse(xml: &str) -> Styles {
        let mut styles = Styles::default();
        let mut reader = Reader::from_str(xml);
        let mut id: Option<String> = None;
        while let Ok(event) = reader.read_event() {
            match event {
                Event::Start(e) | Event::Empty(e) => match e.local_name().into_inner() {
                    "style" => id = attr(&e, "w:styleId"),
                    "name" => {
                        if let (Some(id), Some(name)) = (&id, attr(&e, "w:val")) {
                            let name = name.to_lowercase();
                            if name.starts_with("heading") || name == "title" || name == "subtitle"
                            {
                                styles.headings.insert(id.clone());
                            } else if name.contains("list") {
                                styles.lists.insert(id.clone());
                            }
                        }
                    }
                    "outlineLvl" => {
                        if let Some(id) = &id {
                            if attr(&e, "w:val")
                                .and_then(|v| v.parse::<u8>().ok())
                                .is_some_and(|l| l < 9)
                            {
                                styles.headings.insert(id.clone());
                            }
                        }
                    }
                    _ => {}
                },
                Event::End(e) if e.local_name().into_inner() == "style" => id = None,
                Event::Eof => break,
                _ => {}
            }
        }
        styles
    }

    fn is_heading(&self, style: &str) -> bool {
        let lower = style.to_ascii_lowercase();
        self.headings.contains(style)
            || lower.starts_with("heading")
            || lower == "title"
            || lower == "subtitle"
    }

    fn is_list(&self, style: &str) -> bool {
        self.lists.contains(style) || style.to_ascii_lowercase().starts_with("list")
    }
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    let a = e.try_get_attribute(name).ok()??;
    // Style ids and numbers: no entities to resolve.
    Some(a.value.into_owned())
}

/// A paragraph being read.
#[derive(Default)]
struct Para {
    text: String,
    style: Option<String>,
    numbered: bool,
    outline: bool,
}

struct Body<'s> {
    styles: &'s Styles,
    blocks: Vec<(Kind, String)>,
    paras: Vec<Para>,
    /// Open table cells and rows (nested tables nest here).
    cells: Vec<String>,
    rows: Vec<Vec<String>>,
    in_text: bool,
    in_run: usize,
    /// Depth inside an element whose content is skipped (0: none).
    skip: usize,
    size: usize,
}

impl<'s> Body<'s> {
    fn new(styles: &'s Styles) -> Body<'s> {
        Body {
            styles,
            blocks: Vec::new(),
            paras: Vec::new(),
            cells: Vec::new(),
            rows: Vec::new(),
            in_text: false,
            in_run: 0,
            skip: 0,
            size: 0,
        }
    }

    fn read(mut self, xml: &str) -> Result<String, DocError> {
        let mut reader = Reader::from_str(xml);
        loop {
            let event = reader
                .read_event()
                .map_err(|e| DocError::CorruptDocx(format!("word/document.xml: {e}")))?;
            if self.skip > 0 {
                match event {
                    Event::Start(_) => self.skip += 1,
                    Event::End(_) => self.skip -= 1,
                    Event::Eof => break,
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Start(e) => self.start(&e, false),
                Event::Empty(e) => self.start(&e, true),
                Event::End(e) => self.end(e.local_name().into_inner()),
                Event::Text(t) if self.in_text => self.push(&t),
                Event::GeneralRef(r) if self.in_text => {
                    let c = match r.resolve_char_ref() {
                        Ok(Some(c)) => Some(c),
                        _ => match &*r {
                            "amp" => Some('&'),
                            "lt" => Some('<'),
                            "gt" => Some('>'),
                            "quot" => Some('"'),
                            "apos" => Some('\''),
                            _ => None,
                        },
                    };
                    if let Some(c) = c {
                        self.push(c.encode_utf8(&mut [0; 4]));
                    }
                }
                Event::Eof => break,
                _ => {}
            }
            if self.size > MAX_TEXT_BYTES {
                return Err(DocError::TooMuchText(DocumentKind::Docx));
            }
        }
        // An unclosed paragraph at the end of a damaged part still counts.
        while !self.paras.is_empty() {
            self.end("p");
        }
        Ok(join_blocks(&self.blocks))
    }

    fn push(&mut self, text: &str) {
        if let Some(p) = self.paras.last_mut() {
            let before = p.text.len();
            push_clean(&mut p.text, text);
            self.size += p.text.len() - before;
        }
    }

    fn start(&mut self, e: &BytesStart<'_>, empty: bool) {
        let name = e.local_name().into_inner();
        match name {
            // Fallback copies of text boxes, moved-away and deleted text, field codes.
            "Fallback" | "moveFrom" | "del" | "instrText" | "delText" if !empty => self.skip = 1,
            "p" if !empty => self.paras.push(Para::default()),
            "t" if !empty => self.in_text = true,
            "r" if !empty => self.in_run += 1,
            "tab" if self.in_run > 0 => self.push(" "),
            "br" | "cr" if self.in_run > 0 => {
                if let Some(p) = self.paras.last_mut() {
                    p.text.push('\n');
                }
            }
            "noBreakHyphen" => self.push("-"),
            "pStyle" => {
                if let (Some(p), Some(v)) = (self.paras.last_mut(), attr(e, "w:val")) {
                    p.style = Some(v);
                }
            }
            "numPr" => {
                if let Some(p) = self.paras.last_mut() {
                    p.numbered = true;
                }
            }
            "outlineLvl" => {
                if let Some(p) = self.paras.last_mut() {
                    p.outline = attr(e, "w:val")
                        .and_then(|v| v.parse::<u8>().ok())
                        .is_some_and(|l| l < 9);
                }
            }
            "tr" if !empty => self.rows.push(Vec::new()),
            "tc" if !empty => self.cells.push(String::new()),
            _ => {}
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "t" => self.in_text = false,
            "r" => self.in_run = self.in_run.saturating_sub(1),
            "p" => {
                let Some(p) = self.paras.pop() else { return };
                let text = p
                    .text
                    .split('\n')
                    .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|l| !l.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n");
                if text.is_empty() {
                    return;
                }
                if let Some(outer) = self.paras.last_mut() {
                    // A text box's paragraph inside another paragraph: its own line.
                    outer.text.push('\n');
                    outer.text.push_str(&text);
                    return;
                }
                if let Some(cell) = self.cells.last_mut() {
                    if !cell.is_empty() {
                        cell.push(' ');
                    }
                    cell.push_str(&text.replace('\n', " "));
                    return;
                }
                let style = p.style.as_deref().unwrap_or("");
                let kind = if p.outline || self.styles.is_heading(style) {
                    Kind::Heading
                } else if p.numbered || self.styles.is_list(style) {
                    Kind::Item
                } else {
                    Kind::Paragraph
                };
                let text = if kind == Kind::Item {
                    format!("- {text}")
                } else {
                    text
                };
                self.blocks.push((kind, text));
            }
            "tc" => {
                if let Some(cell) = self.cells.pop() {
                    if let Some(row) = self.rows.last_mut() {
                        row.push(cell);
                    }
                }
            }
            "tr" => {
                let Some(row) = self.rows.pop() else { return };
                let cells: Vec<String> = row.into_iter().filter(|c| !c.is_empty()).collect();
                if cells.is_empty() {
                    return;
                }
                if let Some(cell) = self.cells.last_mut() {
                    // A nested table's row: part of the outer cell's text.
                    if !cell.is_empty() {
                        cell.push(' ');
                    }
                    cell.push_str(&cells.join(" "));
                } else {
                    self.blocks.push((Kind::Row, cells.join("\t")));
                }
            }
            _ => {}
        }
    }
}

