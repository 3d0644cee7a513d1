//! Prints a PDF's or Word document's extracted text, and how long reading it took.
//!
//! `cargo run --release -p ttpmap-docs --example extract -- FILE [REPEAT]`: the text on
//! stdout; the size, page progress and the best time of REPEAT reads (default 1) on stderr.

use std::time::Instant;

use ttpmap_docs::{extract_with_progress, DocumentKind};

fn main() {
    let mut args = std::env::args().skip(1);
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
        let r = extract_with_progress(&bytes, kind, &mut |_, total| pages = total);
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
