//! PDF pages to positioned text runs, and the runs to report text.
//!
//! lopdf parses the file (objects, cross-references, object streams, filters) and decodes
//! fonts' encodings and ToUnicode maps; this module interprets each page's content stream
//! (and the form XObjects it draws, a few levels deep) far enough to know where every
//! string is drawn: the graphics state's matrix, the text matrix, font size, character
//! and word spacing, horizontal scaling, and the glyph widths of the font. Each shown
//! string becomes a [`Run`] with its baseline, start and end in page space; [`layout`]
//! puts the runs in reading order.
//!
//! [`layout`]: crate::layout

use std::collections::HashMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Encoding, LoadOptions, Object, ObjectId};

use crate::layout::{self, Page, Run};
use crate::{push_clean, DocError, DocumentKind, MAX_PAGES, MAX_STREAM_BYTES, MAX_TEXT_BYTES};

/// How deep form XObjects drawn by form XObjects are followed.
const MAX_FORM_DEPTH: usize = 6;

/// How many content operations one page may cost, form XObjects drawn many times over
/// included (a form drawn a thousand times by a form drawn a thousand times...): past it
/// the page's remaining content is skipped, so time stays bounded.
const MAX_OPERATIONS_PER_PAGE: u64 = 4_000_000;

/// How many `Parent` links are followed to find a page's inherited attributes.
const MAX_PARENT_DEPTH: usize = 32;

/// Extracts the text of a PDF; `progress(done, total)` after each page.
pub fn extract(bytes: &[u8], progress: &mut dyn FnMut(usize, usize)) -> Result<String, DocError> {
    let doc = load(bytes)?;
    let page_ids: Vec<ObjectId> = doc.get_pages().into_values().collect();
    if page_ids.len() > MAX_PAGES {
        return Err(DocError::TooManyPages(page_ids.len()));
    }
    if page_ids.is_empty() {
        return Err(DocError::CorruptPdf("it has no pages".into()));
    }
    let mut pages = Vec::with_capacity(page_ids.len());
    let mut text_bytes = 0usize;
    for (n, &id) in page_ids.iter().enumerate() {
        let page = read_page(&doc, id)?;
        text_bytes += page.runs.iter().map(|r| r.text.len()).sum::<usize>();
        if text_bytes > MAX_TEXT_BYTES {
            return Err(DocError::TooMuchText(DocumentKind::Pdf));
        }
        pages.push(page);
        progress(n + 1, page_ids.len());
    }
    let has_text = pages.iter().any(|p| {
        p.runs
            .iter()
            .any(|r| r.text.chars().any(char::is_alphanumeric))
    });
    if !has_text {
        // Pages of pictures (a scan), or pages with nothing on them at all.
        return Err(DocError::NoTextLayer { pages: pages.len() });
    }
    Ok(layout::compose(&pages))
}

fn load(bytes: &[u8]) -> Result<Document, DocError> {
    // A download cut short: lopdf's lenient loading could rebuild part of it and read
    // some pages silently. Producers end the file with %%EOF (a few bytes of junk may
    // follow it).
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(DocError::CorruptPdf(
            "it is truncated: its end-of-file marker is missing".into(),
        ));
    }
    let options = LoadOptions {
        max_decompressed_size: Some(MAX_STREAM_BYTES),
        ..LoadOptions::default()
    };
    let doc = match Document::load_mem_with_options(bytes, options) {
        Ok(doc) => doc,
        Err(e) => return Err(classify_load_error(bytes, &e)),
    };
    // lopdf opens a PDF whose user password is empty (owner-password "protection" only)
    // and leaves it encrypted when it has a real one.
    if doc.is_encrypted() {
        return Err(DocError::Encrypted);
    }
    Ok(doc)
}

fn classify_load_error(bytes: &[u8], e: &lopdf::Error) -> DocError {
    use lopdf::Error as E;
    match e {
        E::Decryption(_) | E::UnsupportedSecurityHandler(_) => DocError::Encrypted,
        E::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. }) => {
            DocError::TooMuchText(DocumentKind::Pdf)
        }
        _ if has_encrypt_entry(bytes) => DocError::Encrypted,
        other => DocError::CorruptPdf(short(other)),
    }
}

/// A trailer that names an `/Encrypt` dictionary (looked for in the last 4 KiB and in
/// cross-reference streams' dictionaries, which sit near the end as well).
fn has_encrypt_entry(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(4096)..];
    tail.windows(8).any(|w| w == b"/Encrypt")
}

fn short(e: &lopdf::Error) -> String {
    let mut s = e.to_string();
    if s.len() > 160 {
        let mut end = 160;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

fn read_page(doc: &Document, id: ObjectId) -> Result<Page, DocError> {
    let page_dict = doc
        .get_dictionary(id)
        .map_err(|e| DocError::CorruptPdf(short(&e)))?;
    let (x0, y0, _width, height) = media_box(doc, page_dict);
    let content = match doc.get_page_content_with_limit(id, MAX_STREAM_BYTES) {
        Ok(c) => c,
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => {
            return Err(DocError::TooMuchText(DocumentKind::Pdf))
        }
        // A page whose content cannot be decoded is read as empty rather than failing
        // the whole document (the other pages may be fine).
        Err(_) => Vec::new(),
    };
    let resources = page_resources(doc, id);
    let mut reader = Reader {
        doc,
        runs: Vec::new(),
        fonts: HashMap::new(),
        budget: MAX_OPERATIONS_PER_PAGE,
    };
    // Page space with the media box's origin at (0, 0).
    let origin = Matrix::translate(-x0, -y0);
    reader.run_content(&content, &resources, origin, 0);
    Ok(Page {
        height,
        runs: reader.runs,
    })
}

/// The page's media box (inherited from the page tree if need be): x0, y0, width, height.
fn media_box(doc: &Document, page: &Dictionary) -> (f32, f32, f32, f32) {
    let mut dict = page;
    for _ in 0..MAX_PARENT_DEPTH {
        if let Ok(obj) = dict.get_deref(b"MediaBox", doc) {
            if let Ok(arr) = obj.as_array() {
                let v: Vec<f32> = arr
                    .iter()
                    .filter_map(|o| doc.dereference(o).ok().and_then(|(_, o)| o.as_float().ok()))
                    .collect();
                if v.len() == 4 {
                    let (w, h) = ((v[2] - v[0]).abs(), (v[3] - v[1]).abs());
                    if w.is_finite() && h.is_finite() && w > 1.0 && h > 1.0 {
                        return (v[0].min(v[2]), v[1].min(v[3]), w, h);
                    }
                }
            }
        }
        match dict.get_deref(b"Parent", doc).and_then(Object::as_dict) {
            Ok(parent) => dict = parent,
            Err(_) => break,
        }
    }
    (0.0, 0.0, 612.0, 792.0)
}

/// The page's resource dictionaries, nearest first (the page's own, then inherited).
fn page_resources(doc: &Document, id: ObjectId) -> Vec<&Dictionary> {
    let mut out = Vec::new();
    if let Ok((own, inherited)) = doc.get_page_resources(id) {
        out.extend(own);
        out.extend(
            inherited
                .into_iter()
                .filter_map(|rid| doc.get_dictionary(rid).ok()),
        );
    }
    out
}

/// Looks `name` up in the `category` (Font, XObject) of the first resource dictionary
/// that has it.
fn lookup<'a>(
    doc: &'a Document,
    resources: &[&'a Dictionary],
    category: &[u8],
    name: &[u8],
) -> Option<(Option<ObjectId>, &'a Object)> {
    resources.iter().find_map(|res| {
        let cat = res.get_deref(category, doc).ok()?.as_dict().ok()?;
        let obj = cat.get(name).ok()?;
        let (id, obj) = doc.dereference(obj).ok()?;
        Some((id, obj))
    })
}

/// An affine transformation `[a b c d e f]`, PDF's row-vector convention.
#[derive(Debug, Clone, Copy)]
struct Matrix {
    a: f32,
    b: f32,
    c: f32,
    d: f32,
    e: f32,
    f: f32,
}

impl Matrix {
    const IDENTITY: Matrix = Matrix {
        a: 1.0,
        b: 0.0,
        c: 0.0,
        d: 1.0,
        e: 0.0,
        f: 0.0,
    };

    fn translate(x: f32, y: f32) -> Matrix {
        Matrix {
            e: x,
            f: y,
            ..Matrix::IDENTITY
        }
    }

    fn from_operands(ops: &[Object]) -> Option<Matrix> {
        let v = numbers(ops);
        (v.len() >= 6 && v.iter().all(|x| x.is_finite())).then(|| Matrix {
            a: v[0],
            b: v[1],
            c: v[2],
            d: v[3],
            e: v[4],
            f: v[5],
        })
    }

    /// `self × other`: apply `self`, then `other`.
    fn then(&self, o: &Matrix) -> Matrix {
        Matrix {
            a: self.a * o.a + self.b * o.c,
            b: self.a * o.b + self.b * o.d,
            c: self.c * o.a + self.d * o.c,
            d: self.c * o.b + self.d * o.d,
            e: self.e * o.a + self.f * o.c + o.e,
            f: self.e * o.b + self.f * o.d + o.f,
        }
    }
}

fn numbers(ops: &[Object]) -> Vec<f32> {
    ops.iter().filter_map(|o| o.as_float().ok()).collect()
}

fn number(ops: &[Object], i: usize) -> Option<f32> {
    ops.get(i)
        .and_then(|o| o.as_float().ok())
        .filter(|x| x.is_finite())
}

/// What is needed of a font: how its codes decode to text and how wide each glyph is.
struct Font<'a> {
    encoding: Option<Encoding<'a>>,
    /// Codes are two bytes (Type0 fonts with a two-byte CMap such as Identity-H).
    two_byte: bool,
    widths: Widths,
    /// Glyph space to text space (1/1000 but for Type3 fonts).
    scale: f32,
}

enum Widths {
    Simple {
        first: u32,
        widths: Vec<f32>,
        missing: f32,
    },
    Cid {
        single: HashMap<u32, f32>,
        ranges: Vec<(u32, u32, f32)>,
        default: f32,
    },
}

impl Widths {
    fn of(&self, code: u32) -> f32 {
        match self {
            Widths::Simple {
                first,
                widths,
                missing,
            } => code
                .checked_sub(*first)
                .and_then(|i| widths.get(i as usize).copied())
                .filter(|w| *w > 0.0)
                .unwrap_or(*missing),
            Widths::Cid {
                single,
                ranges,
                default,
            } => single
                .get(&code)
                .copied()
                .or_else(|| {
                    ranges
                        .iter()
                        .find(|(lo, hi, _)| (*lo..=*hi).contains(&code))
                        .map(|r| r.2)
                })
                .unwrap_or(*default),
        }
    }
}

impl<'a> Font<'a> {
    fn load(doc: &'a Document, dict: &'a Dictionary) -> Font<'a> {
        let subtype = dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .unwrap_or(b"");
        let two_byte = subtype == b"Type0";
        let encoding = font_encoding(doc, dict);
        let scale = if subtype == b"Type3" {
            dict.get_deref(b"FontMatrix", doc)
                .and_then(Object::as_array)
                .ok()
                .and_then(|m| m.first().and_then(|o| o.as_float().ok()))
                .map(|a| a.abs() * 1000.0)
                .filter(|s| s.is_finite() && *s > 0.0 && *s < 1.0e6)
                .unwrap_or(1.0)
        } else {
            1.0
        };
        let widths = if two_byte {
            cid_widths(doc, dict)
        } else {
            simple_widths(doc, dict)
        };
        Font {
            encoding,
            two_byte,
            widths,
            scale,
        }
    }

    fn decode(&self, bytes: &[u8], out: &mut String) {
        let text = match &self.encoding {
            Some(enc) => enc.bytes_to_string(bytes).unwrap_or_default(),
            None => bytes.iter().map(|&b| char::from(b)).collect(),
        };
        push_clean(out, &text);
    }

    /// The codes of a shown string.
    fn codes<'b>(&self, bytes: &'b [u8]) -> impl Iterator<Item = u32> + 'b {
        let step = if self.two_byte { 2 } else { 1 };
        bytes
            .chunks(step)
            .map(|c| c.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
    }
}

/// The font's encoding: its ToUnicode map when it has one (the most faithful, and what
/// producers write for subset fonts and ligature glyphs), else lopdf's reading of
/// `/Encoding` (standard encodings and `Differences` glyph names).
fn font_encoding<'a>(doc: &'a Document, dict: &'a Dictionary) -> Option<Encoding<'a>> {
    if dict.has(b"ToUnicode") && dict.has(b"Encoding") {
        let mut only_to_unicode = dict.clone();
        only_to_unicode.remove(b"Encoding");
        if let Ok(Encoding::UnicodeMapEncoding(map)) =
            only_to_unicode.get_font_encoding_with_limit(doc, MAX_STREAM_BYTES)
        {
            return Some(Encoding::UnicodeMapEncoding(map));
        }
    }
    dict.get_font_encoding_with_limit(doc, MAX_STREAM_BYTES)
        .ok()
}

fn float_array(doc: &Document, obj: &Object) -> Vec<f32> {
    let Ok((_, obj)) = doc.dereference(obj) else {
        return Vec::new();
    };
    let Ok(arr) = obj.as_array() else {
        return Vec::new();
    };
    arr.iter()
        .take(1 << 16)
        .map(|o| {
            doc.dereference(o)
                .ok()
                .and_then(|(_, o)| o.as_float().ok())
                .unwrap_or(0.0)
        })
        .collect()
}

fn simple_widths(doc: &Document, dict: &Dictionary) -> Widths {
    let first = dict
        .get_deref(b"FirstChar", doc)
        .and_then(Object::as_i64)
        .unwrap_or(0)
        .clamp(0, 255) as u32;
    let widths = dict
        .get(b"Widths")
        .map(|o| float_array(doc, o))
        .unwrap_or_default();
    let missing = dict
        .get_deref(b"FontDescriptor", doc)
        .and_then(Object::as_dict)
        .and_then(|d| d.get_deref(b"MissingWidth", doc))
        .and_then(Object::as_float)
        .ok()
        .filter(|w| *w > 0.0)
        // The standard 14 fonts come without widths: an average Latin glyph.
        .unwrap_or(if widths.is_empty() { 500.0 } else { 0.0 });
    Widths::Simple {
        first,
        widths,
        missing,
    }
}

fn cid_widths(doc: &Document, dict: &Dictionary) -> Widths {
    let descendant = dict
        .get_deref(b"DescendantFonts", doc)
        .and_then(Object::as_array)
        .ok()
        .and_then(|a| a.first())
        .and_then(|o| doc.dereference(o).ok())
        .and_then(|(_, o)| o.as_dict().ok());
    let mut single = HashMap::new();
    let mut ranges = Vec::new();
    let mut default = 1000.0;
    if let Some(d) = descendant {
        if let Ok(dw) = d.get_deref(b"DW", doc).and_then(Object::as_float) {
            default = dw;
        }
        if let Ok(w) = d.get_deref(b"W", doc).and_then(Object::as_array) {
            let mut i = 0;
            // `c [w1 w2 …]` or `c_first c_last w`.
            while i < w.len() && single.len() < (1 << 16) && ranges.len() < (1 << 12) {
                let Some(start) = doc
                    .dereference(&w[i])
                    .ok()
                    .and_then(|(_, o)| o.as_i64().ok())
                else {
                    break;
                };
                let start = start.clamp(0, i64::from(u32::MAX)) as u32;
                match w
                    .get(i + 1)
                    .and_then(|o| doc.dereference(o).ok())
                    .map(|(_, o)| o)
                {
                    Some(Object::Array(list)) => {
                        for (k, o) in list.iter().enumerate().take(1 << 16) {
                            if let Ok(width) = o.as_float() {
                                single.insert(start.saturating_add(k as u32), width);
                            }
                        }
                        i += 2;
                    }
                    Some(end) => {
                        let end = end.as_i64().unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32;
                        let width = w
                            .get(i + 2)
                            .and_then(|o| o.as_float().ok())
                            .unwrap_or(default);
                        ranges.push((start, end, width));
                        i += 3;
                    }
                    None => break,
                }
            }
        }
    }
    Widths::Cid {
        single,
        ranges,
        default,
    }
}

/// The text state that `q`/`Q` save with the graphics state.
#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Option<Vec<u8>>,
    size: f32,
    char_spacing: f32,
    word_spacing: f32,
    /// Horizontal scaling, 1.0 = 100%.
    scaling: f32,
    leading: f32,
    rise: f32,
}

struct Reader<'a> {
    doc: &'a Document,
    runs: Vec<Run>,
    /// Fonts by object id (or, for direct dictionaries, by resource name and depth).
    fonts: HashMap<FontKey, Font<'a>>,
    /// Operations left for this page (see [`MAX_OPERATIONS_PER_PAGE`]).
    budget: u64,
}

#[derive(Hash, PartialEq, Eq)]
enum FontKey {
    Object(ObjectId),
    Direct(Vec<u8>, usize),
}

impl<'a> Reader<'a> {
    fn run_content(
        &mut self,
        data: &[u8],
        resources: &[&'a Dictionary],
        base: Matrix,
        depth: usize,
    ) {
        // Decoding costs about one operation per 16 bytes.
        self.budget = self.budget.saturating_sub(data.len() as u64 / 16);
        if self.budget == 0 {
            return;
        }
        // A stream that does not parse as content is skipped, not fatal.
        let Ok(content) = Content::decode(data) else {
            return;
        };
        let mut state = State {
            ctm: base,
            font: None,
            size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            scaling: 1.0,
            leading: 0.0,
            rise: 0.0,
        };
        let mut stack: Vec<State> = Vec::new();
        let mut tm = Matrix::IDENTITY;
        let mut tlm = Matrix::IDENTITY;
        for op in &content.operations {
            if self.budget == 0 {
                return;
            }
            self.budget -= 1;
            let o = &op.operands;
            match op.operator.as_str() {
                "q" => {
                    if stack.len() < 256 {
                        stack.push(state.clone());
                    }
                }
                "Q" => {
                    if let Some(s) = stack.pop() {
                        state = s;
                    }
                }
                "cm" => {
                    if let Some(m) = Matrix::from_operands(o) {
                        state.ctm = m.then(&state.ctm);
                    }
                }
                "BT" => {
                    tm = Matrix::IDENTITY;
                    tlm = Matrix::IDENTITY;
                }
                "Tf" => {
                    state.font = o.first().and_then(|n| n.as_name().ok()).map(<[u8]>::to_vec);
                    state.size = number(o, 1).unwrap_or(0.0);
                }
                "Tc" => state.char_spacing = number(o, 0).unwrap_or(0.0),
                "Tw" => state.word_spacing = number(o, 0).unwrap_or(0.0),
                "Tz" => state.scaling = number(o, 0).unwrap_or(100.0) / 100.0,
                "TL" => state.leading = number(o, 0).unwrap_or(0.0),
                "Ts" => state.rise = number(o, 0).unwrap_or(0.0),
                "Td" | "TD" => {
                    let (x, y) = (number(o, 0).unwrap_or(0.0), number(o, 1).unwrap_or(0.0));
                    if op.operator == "TD" {
                        state.leading = -y;
                    }
                    tlm = Matrix::translate(x, y).then(&tlm);
                    tm = tlm;
                }
                "Tm" => {
                    if let Some(m) = Matrix::from_operands(o) {
                        tlm = m;
                        tm = m;
                    }
                }
                "T*" => {
                    tlm = Matrix::translate(0.0, -state.leading).then(&tlm);
                    tm = tlm;
                }
                "Tj" => {
                    if let Some(s) = o.first().and_then(|s| s.as_str().ok()) {
                        self.show(s, &state, &mut tm, resources, depth);
                    }
                }
                "'" | "\"" => {
                    if op.operator == "\"" {
                        state.word_spacing = number(o, 0).unwrap_or(state.word_spacing);
                        state.char_spacing = number(o, 1).unwrap_or(state.char_spacing);
                    }
                    tlm = Matrix::translate(0.0, -state.leading).then(&tlm);
                    tm = tlm;
                    if let Some(s) = o.last().and_then(|s| s.as_str().ok()) {
                        self.show(s, &state, &mut tm, resources, depth);
                    }
                }
                "TJ" => {
                    let Some(items) = o.first().and_then(|a| a.as_array().ok()) else {
                        continue;
                    };
                    for item in items {
                        match item {
                            Object::String(s, _) => self.show(s, &state, &mut tm, resources, depth),
                            other => {
                                if let Ok(adjust) = other.as_float() {
                                    if adjust.is_finite() {
                                        let tx = -adjust / 1000.0 * state.size * state.scaling;
                                        tm = Matrix::translate(tx, 0.0).then(&tm);
                                    }
                                }
                            }
                        }
                    }
                }
                "Do" => {
                    if let Some(name) = o.first().and_then(|n| n.as_name().ok()) {
                        self.draw_xobject(name, &state, resources, depth);
                    }
                }
                _ => {}
            }
        }
    }

    fn draw_xobject(
        &mut self,
        name: &[u8],
        state: &State,
        resources: &[&'a Dictionary],
        depth: usize,
    ) {
        let Some((_, obj)) = lookup(self.doc, resources, b"XObject", name) else {
            return;
        };
        let Ok(stream) = obj.as_stream() else { return };
        match stream.dict.get(b"Subtype").and_then(Object::as_name) {
            Ok(b"Form") if depth < MAX_FORM_DEPTH => {
                let matrix = stream
                    .dict
                    .get(b"Matrix")
                    .ok()
                    .and_then(|m| m.as_array().ok())
                    .and_then(|m| Matrix::from_operands(m))
                    .unwrap_or(Matrix::IDENTITY);
                let Ok(data) = stream
                    .decompressed_content_with_limit(MAX_STREAM_BYTES)
                    .or_else(|_| {
                        if stream.dict.has(b"Filter") {
                            Err(())
                        } else {
                            Ok(stream.content.clone())
                        }
                    })
                else {
                    return;
                };
                let mut inner: Vec<&'a Dictionary> = Vec::new();
                if let Ok(res) = stream
                    .dict
                    .get_deref(b"Resources", self.doc)
                    .and_then(Object::as_dict)
                {
                    inner.push(res);
                }
                inner.extend_from_slice(resources);
                self.run_content(&data, &inner, matrix.then(&state.ctm), depth + 1);
            }
            _ => {}
        }
    }

    /// Records the string `bytes` drawn at the text matrix and advances the matrix.
    fn show(
        &mut self,
        bytes: &[u8],
        state: &State,
        tm: &mut Matrix,
        resources: &[&'a Dictionary],
        depth: usize,
    ) {
        let Some(name) = &state.font else { return };
        let Some((id, obj)) = lookup(self.doc, resources, b"Font", name) else {
            return;
        };
        let Ok(dict) = obj.as_dict() else { return };
        let key = match id {
            Some(id) => FontKey::Object(id),
            None => FontKey::Direct(name.clone(), depth),
        };
        let doc = self.doc;
        let font = self
            .fonts
            .entry(key)
            .or_insert_with(|| Font::load(doc, dict));
        let mut text = String::new();
        font.decode(bytes, &mut text);
        let mut advance = 0.0f32;
        for code in font.codes(bytes) {
            let w = font.widths.of(code) / 1000.0 * font.scale;
            let mut tx = w * state.size + state.char_spacing;
            if !font.two_byte && code == 32 {
                tx += state.word_spacing;
            }
            advance += tx * state.scaling;
        }
        let start = Matrix::translate(0.0, state.rise).then(tm).then(&state.ctm);
        *tm = Matrix::translate(advance, 0.0).then(tm);
        let end = Matrix::translate(0.0, state.rise).then(tm).then(&state.ctm);
        // Font size on the page: the text matrix and CTM's vertical scale.
        let size = state.size * start.c.hypot(start.d);
        let upright = start.a.abs() >= start.b.abs() * 4.0 && start.a > 0.0;
        if !upright || !size.is_finite() || size <= 0.1 || text.trim().is_empty() {
            return;
        }
        let (x0, x1, y) = (start.e, end.e.max(start.e), start.f);
        if [x0, x1, y].iter().all(|v| v.is_finite()) {
            self.runs.push(Run {
                x0,
                x1,
                y,
                size,
                text,
            });
        }
    }
}
