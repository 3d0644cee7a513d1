//! Prints a PDF's or Word document's extracted text, and how long reading it took.
//!
//! `cargo run --release -p ttpmap-docs --example extract -- [--lopdf] FILE [REPEAT]`: the
//! text on stdout; the size, page count and the best time of REPEAT reads (default 1) on
//! stderr. `--lopdf`: lopdf's own `extract_text` instead of ours, for the comparison in
//! docs/benchmarks.md.

use std::time::Instant;

use ttpmap_docs::{extract_with_progress, DocumentKind};

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let lopdf_only = args.next_if_eq("--lopdf").is_some();
    let Some(path) = args.next() else {
        eprintln!("usage: extract FILE [REPEAT]");
        std::process::exit(2);
    };
    let repeat: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(1).max(1);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let kind = DocumentKind::sniff(&bytes)
        .or_else(|| {
            path.rsplit_once('.')
                .and_then(|(_, ext)| DocumentKind::from_extension(ext))
        })
        .unwrap_or(DocumentKind::Pdf);
    let mut best = f64::INFINITY;
    let mut pages = 0;
    let mut result = None;
    for _ in 0..repeat {
        let t = Instant::now();
        let r = if lopdf_only {
            lopdf_text(&bytes, &mut pages)
        } else {
            extract_with_progress(&bytes, kind, &mut |_, total| pages = total)
                .map_err(|e| e.to_string())
        };
        best = best.min(t.elapsed().as_secs_f64());
        result = Some(r);
    }
    match result {
        Some(Ok(text)) => {
            println!("{text}");
            eprintln!(
                "{path}: {} bytes, {pages} pages, {} chars of text, best of {repeat}: {:.1} ms",
                bytes.len(),
                text.len(),
                best * 1000.0
            );
        }
        Some(Err(e)) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
        None => {}
    }
}

/// lopdf's own text extraction: strings in content-stream order, a line break per text
/// object, no layout.
fn lopdf_text(bytes: &[u8], pages: &mut usize) -> Result<String, String> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| e.to_string())?;
    let numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    *pages = numbers.len();
    doc.extract_text(&numbers).map_err(|e| e.to_string())
}
