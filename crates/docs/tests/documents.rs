//! The test documents of `fixtures/` (made by scripts/make-test-docs.py from TRAM
//! validation reports): PDFs printed by Chromium with two columns, a running header and a
//! "Page N of M" footer; DOCX files with headings, a list, a table, a header and a footer;
//! and bad documents. Extraction is compared with the source text the documents were made
//! from: word recall and precision (as multisets) and, for reading order, the longest
//! common subsequence of words over the source's word count.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ttpmap_docs::{extract, DocError, DocumentKind, MAX_DOCUMENT_BYTES};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The source texts, `(stem, text)`, sorted.
fn reports() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(fixtures().join("reports"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "txt").then(|| {
                (
                    p.file_stem().unwrap().to_string_lossy().into_owned(),
                    std::fs::read_to_string(&p).unwrap(),
                )
            })
        })
        .collect();
    out.sort();
    assert!(out.len() >= 8, "run scripts/make-test-docs.py");
    out
}

fn read(stem: &str, ext: &str) -> String {
    let bytes = std::fs::read(fixtures().join("reports").join(format!("{stem}.{ext}"))).unwrap();
    let kind = DocumentKind::sniff(&bytes).unwrap();
    extract(&bytes, kind).unwrap_or_else(|e| panic!("{stem}.{ext}: {e}"))
}

struct Fidelity {
    recall: f64,
    precision: f64,
    order: f64,
}

fn fidelity(extracted: &str, source: &str) -> Fidelity {
    let ex: Vec<&str> = extracted.split_whitespace().collect();
    let src: Vec<&str> = source.split_whitespace().collect();
    let mut counts: HashMap<&str, i64> = HashMap::new();
    for w in &src {
        *counts.entry(w).or_default() += 1;
    }
    let mut common = 0usize;
    for w in &ex {
        if let Some(c) = counts.get_mut(w) {
            if *c > 0 {
                *c -= 1;
                common += 1;
            }
        }
    }
    // Longest common subsequence of words, one row at a time.
    let mut prev = vec![0u32; ex.len() + 1];
    let mut row = vec![0u32; ex.len() + 1];
    for s in &src {
        for (j, e) in ex.iter().enumerate() {
            row[j + 1] = if s == e {
                prev[j] + 1
            } else {
                prev[j + 1].max(row[j])
            };
        }
        std::mem::swap(&mut prev, &mut row);
    }
    Fidelity {
        recall: common as f64 / src.len() as f64,
        precision: common as f64 / ex.len().max(1) as f64,
        order: f64::from(prev[ex.len()]) / src.len() as f64,
    }
}

/// Every report at least `min`, their mean at least `mean`, for recall, precision and order.
fn check_fidelity(ext: &str, min: f64, mean: f64) {
    let mut sum = (0.0, 0.0, 0.0);
    let reports = reports();
    for (stem, source) in &reports {
        let f = fidelity(&read(stem, ext), source);
        eprintln!(
            "{ext} {stem}: recall {:.4} precision {:.4} order {:.4}",
            f.recall, f.precision, f.order
        );
        assert!(
            f.recall >= min && f.precision >= min && f.order >= min,
            "{stem}.{ext}: recall {:.4}, precision {:.4}, order {:.4}",
            f.recall,
            f.precision,
            f.order
        );
        sum = (sum.0 + f.recall, sum.1 + f.precision, sum.2 + f.order);
    }
    let n = reports.len() as f64;
    let means = (sum.0 / n, sum.1 / n, sum.2 / n);
    eprintln!(
        "{ext} mean over {n}: recall {:.4} precision {:.4} order {:.4}",
        means.0, means.1, means.2
    );
    assert!(
        means.0 >= mean && means.1 >= mean && means.2 >= mean,
        "{ext}: means {means:?}"
    );
}

#[test]
fn pdf_text_matches_the_source_words_in_order() {
    // One report is full of unbreakable code strings (registry keys, OAuth requests)
    // that the PDF breaks across lines anywhere: it holds the minimum down.
    check_fidelity("pdf", 0.90, 0.98);
}

#[test]
fn docx_text_matches_the_source_words_in_order() {
    check_fidelity("docx", 0.99, 0.995);
}

#[test]
fn running_headers_and_page_footers_are_left_out() {
    for (stem, _) in reports() {
        for ext in ["pdf", "docx"] {
            let text = read(&stem, ext);
            assert!(
                !text.contains("Acme Threat Intelligence"),
                "{stem}.{ext} keeps the running header"
            );
            assert!(
                !text.lines().any(|l| l.trim_start().starts_with("Page ")),
                "{stem}.{ext} keeps a page footer"
            );
        }
    }
}

#[test]
fn indicator_table_rows_are_lines_with_defanged_indicators_intact() {
    for (stem, source) in reports() {
        let rows: Vec<&str> = source.lines().filter(|l| l.contains('\t')).collect();
        assert!(rows.len() >= 2);
        for ext in ["pdf", "docx"] {
            let text = read(&stem, ext);
            for row in &rows {
                assert!(
                    text.lines().any(|l| l == *row),
                    "{stem}.{ext}: no line {row:?}"
                );
            }
        }
    }
}

#[test]
fn headings_and_list_items_are_lines_of_their_own() {
    for (stem, source) in reports() {
        let title = source.lines().next().unwrap();
        // Items of prose; an item that is one long key path may be broken anywhere.
        let items: Vec<&str> = source
            .lines()
            .filter(|l| l.starts_with("- ") && l.split(' ').count() > 4)
            .collect();
        for ext in ["pdf", "docx"] {
            let text = read(&stem, ext);
            assert!(
                text.lines().any(|l| l == title),
                "{stem}.{ext}: the title is not a line of its own"
            );
            for item in &items {
                // Chromium draws list bullets as shapes, not text: in the PDF an item is a
                // line of its own, without the marker.
                let ok = text
                    .lines()
                    .any(|l| l == *item || (ext == "pdf" && l == &item[2..]));
                assert!(ok, "{stem}.{ext}: no list item line {item:?}");
            }
        }
    }
}

fn bad(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("bad").join(name)).unwrap()
}

#[test]
fn encrypted_pdf_is_refused_as_password_protected() {
    let err = extract(&bad("encrypted.pdf"), DocumentKind::Pdf).unwrap_err();
    assert_eq!(err, DocError::Encrypted);
    assert!(err.to_string().contains("password-protected"));
}

#[test]
fn scanned_pdf_has_no_text_layer() {
    let err = extract(&bad("image-only.pdf"), DocumentKind::Pdf).unwrap_err();
    assert_eq!(err, DocError::NoTextLayer { pages: 1 });
    assert!(err.to_string().contains("OCR is out of scope"));
}

#[test]
fn truncated_pdf_is_refused_as_damaged() {
    let err = extract(&bad("truncated.pdf"), DocumentKind::Pdf).unwrap_err();
    assert!(matches!(err, DocError::CorruptPdf(_)), "{err:?}");
}

#[test]
fn truncated_docx_is_refused_as_damaged() {
    let err = extract(&bad("truncated.docx"), DocumentKind::Docx).unwrap_err();
    assert!(matches!(err, DocError::CorruptDocx(_)), "{err:?}");
}

#[test]
fn zip_without_a_word_document_is_not_a_docx() {
    assert_eq!(
        extract(&bad("not-a-docx.docx"), DocumentKind::Docx).unwrap_err(),
        DocError::NotDocx
    );
}

#[test]
fn a_document_over_the_size_limit_is_refused_before_parsing() {
    let mut huge = b"%PDF-1.7\n".to_vec();
    huge.resize(MAX_DOCUMENT_BYTES + 1, b' ');
    let err = extract(&huge, DocumentKind::Pdf).unwrap_err();
    assert!(
        matches!(
            err,
            DocError::TooLarge {
                kind: DocumentKind::Pdf,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("(40.0 MB): ttpmap reads documents up to 40 MB"),
        "{err}"
    );
}

#[test]
fn garbage_after_a_pdf_header_is_refused_as_damaged() {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    bytes.extend(b"\n%%EOF\n");
    let err = extract(&bytes, DocumentKind::Pdf).unwrap_err();
    assert!(
        matches!(err, DocError::CorruptPdf(_) | DocError::NoTextLayer { .. }),
        "{err:?}"
    );
}

/// Damaged copies of good documents (cut at many places, bytes overwritten) give an
/// error or some text, never a panic.
#[test]
fn damaged_documents_never_panic() {
    let (stem, _) = &reports()[0];
    for ext in ["pdf", "docx"] {
        let good = std::fs::read(fixtures().join("reports").join(format!("{stem}.{ext}"))).unwrap();
        let kind = DocumentKind::sniff(&good).unwrap();
        for k in 1..40 {
            let cut = good.len() * k / 40;
            let _ = extract(&good[..cut], kind);
            let mut flipped = good.clone();
            let mut at = cut;
            for _ in 0..16 {
                at = (at * 31 + 7) % flipped.len();
                flipped[at] ^= 0x5a;
            }
            let _ = extract(&flipped, kind);
        }
    }
}
