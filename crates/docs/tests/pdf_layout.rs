//! Reading order and clean-up on small hand-made PDFs: each test places text exactly
//! where a layout would, so one behaviour is asserted at a time.

use ttpmap_docs::{extract, DocError, DocumentKind};

/// A PDF of US-letter pages with the given content streams; font /F1 is Helvetica
/// (no widths: glyphs count half an em), /F2 a Type0 font whose ToUnicode maps code 1
/// to the ligature ﬁ and codes 0x20..0x7e to ASCII.
fn pdf(pages: &[String]) -> Vec<u8> {
    let mut objects: Vec<Vec<u8>> = Vec::new();
    let n = pages.len();
    // 1 catalog, 2 pages, 3 font F1, 4 font F2, 5 F2's descendant, 6 ToUnicode, then
    // per page: page, content.
    objects.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 7 + 2 * i)).collect();
    objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
    objects.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objects.push(b"<< /Type /Font /Subtype /Type0 /BaseFont /Sans /Encoding /Identity-H /DescendantFonts [5 0 R] /ToUnicode 6 0 R >>".to_vec());
    objects.push(b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Sans /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>".to_vec());
    let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def\n\
        1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
        1 beginbfchar <0001> <FB01> endbfchar\n\
        1 beginbfrange <0020> <007E> <0020> endbfrange\n\
        endcmap CMapName currentdict /CMap defineresource pop end end";
    objects.push(format!("<< /Length {} >>\nstream\n{cmap}\nendstream", cmap.len()).into_bytes());
    for (i, content) in pages.iter().enumerate() {
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                8 + 2 * i
            )
            .into_bytes(),
        );
        objects.push(
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            )
            .into_bytes(),
        );
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Lines of 10-point Helvetica text at (x, y), one `Tj` each.
fn text(lines: &[(f32, f32, &str)]) -> String {
    lines
        .iter()
        .map(|(x, y, t)| {
            format!(
                "BT /F1 10 Tf {x} {y} Td ({}) Tj ET\n",
                t.replace('(', "\\(").replace(')', "\\)")
            )
        })
        .collect()
}

fn read(pages: &[String]) -> String {
    extract(&pdf(pages), DocumentKind::Pdf).unwrap()
}

/// A column line of about 44 characters, so that it fills a 220-point column.
fn filler(word: &str) -> String {
    let mut s = String::new();
    while s.len() < 40 {
        s.push_str(word);
        s.push(' ');
    }
    s.trim_end().to_string()
}

#[test]
fn two_columns_are_read_left_column_first() {
    let left = filler("alpha");
    let right = filler("bravo");
    let mut lines = vec![];
    for k in 0..6 {
        let y = 700.0 - 14.0 * k as f32;
        lines.push((72.0, y, left.as_str()));
        lines.push((330.0, y, right.as_str()));
    }
    let out = read(&[text(&lines)]);
    let first_bravo = out.find("bravo").unwrap();
    let last_alpha = out.rfind("alpha").unwrap();
    assert!(last_alpha < first_bravo, "columns interleaved:\n{out}");
    assert!(
        !out.contains('\t'),
        "column lines read as table rows:\n{out}"
    );
}

#[test]
fn wrapped_lines_of_a_paragraph_are_joined() {
    let line = filler("word");
    let out = read(&[text(&[
        (72.0, 700.0, &line),
        (72.0, 688.0, &line),
        (72.0, 676.0, "end."),
    ])]);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.ends_with("word end."));
}

#[test]
fn a_word_hyphenated_across_lines_is_rejoined() {
    let line = format!("{} detec-", filler("word"));
    let out = read(&[text(&[
        (72.0, 700.0, &line),
        (72.0, 688.0, "tion of the implant."),
    ])]);
    assert!(out.contains("word detection of the implant."), "{out}");
}

#[test]
fn table_cells_on_one_baseline_become_a_tab_separated_row() {
    let rows = [
        (72.0, 500.0, "Type"),
        (250.0, 500.0, "Indicator"),
        (72.0, 486.0, "Domain"),
        (250.0, 486.0, "evil[.]example[.]com"),
    ];
    let out = read(&[text(&rows)]);
    assert!(
        out.contains("Type\tIndicator\nDomain\tevil[.]example[.]com"),
        "{out:?}"
    );
}

#[test]
fn running_headers_footers_and_page_numbers_are_removed() {
    let body = [
        "The actor sent mail.",
        "It ran a loader.",
        "The loader beaconed.",
    ];
    let pages: Vec<String> = (1..=3)
        .map(|p| {
            text(&[
                (72.0, 760.0, "Acme Threat Research | TLP:CLEAR"),
                (72.0, 700.0, body[p - 1]),
                (280.0, 30.0, &format!("Page {p} of 3")),
            ])
        })
        .collect();
    let out = read(&pages);
    assert_eq!(out, body.join("\n\n"));
}

#[test]
fn headings_and_bullets_are_lines_of_their_own() {
    let content = format!(
        "BT /F1 16 Tf 72 720 Td (Initial access) Tj ET\n{}",
        text(&[
            (72.0, 700.0, "The actor sent phishing mail."),
            (72.0, 680.0, "\u{95} It used macros."),
            (72.0, 666.0, "\u{95} It used scheduled tasks."),
        ])
    );
    // WinAnsi 0x95 is the bullet; our source string holds it as a char, so write bytes.
    let content = content.replace('\u{95}', "\\225");
    let out = read(&[content]);
    assert_eq!(
        out,
        "Initial access\n\nThe actor sent phishing mail.\n\n- It used macros.\n- It used scheduled tasks.",
        "{out:?}"
    );
}

#[test]
fn ligatures_are_spelled_out_and_defanged_indicators_kept() {
    // "ﬁle hxxp://a[.]b" in the Type0 font: code 1 is the ﬁ ligature.
    let mut hex = String::from("0001");
    for c in "le hxxp://a[.]b".chars() {
        hex.push_str(&format!("{:04X}", c as u32));
    }
    let out = read(&[format!("BT /F2 10 Tf 72 700 Td <{hex}> Tj ET")]);
    assert_eq!(out, "file hxxp://a[.]b");
}

#[test]
fn pages_without_text_have_no_text_layer() {
    let err = extract(
        &pdf(&["0 0 1 rg 72 72 200 200 re f".into(), String::new()]),
        DocumentKind::Pdf,
    )
    .unwrap_err();
    assert_eq!(err, DocError::NoTextLayer { pages: 2 });
    assert!(err.to_string().contains("OCR is out of scope"));
}

#[test]
fn a_pdf_cut_short_is_refused_as_truncated() {
    let bytes = pdf(&[text(&[(72.0, 700.0, "Some text.")])]);
    let err = extract(&bytes[..bytes.len() - 40], DocumentKind::Pdf).unwrap_err();
    assert!(matches!(err, DocError::CorruptPdf(_)), "{err:?}");
    assert!(err.to_string().contains("truncated"));
}

#[test]
fn a_text_that_quotes_the_pdf_magic_is_no_pdf() {
    assert_eq!(
        DocumentKind::sniff(b"The dropper writes %PDF-1.7 headers into its decoys."),
        None
    );
    assert_eq!(
        DocumentKind::sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        Some(DocumentKind::Pdf)
    );
    assert_eq!(
        DocumentKind::sniff(b"\0\x01junk%PDF-1.4\n"),
        Some(DocumentKind::Pdf)
    );
}

/// Form XObjects that each draw the next one a thousand times, five deep: 10^15 draws if
/// followed blindly. The page's operation budget stops it; the text drawn before stays.
#[test]
fn nested_forms_drawn_over_and_over_stay_bounded() {
    let depth = 5;
    let mut objects: Vec<String> = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".into(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> /XObject << /X0 6 0 R >> >> /Contents 5 0 R >>".into(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".into(),
    ];
    let page = "BT /F1 10 Tf 72 700 Td (Before the forms.) Tj ET /X0 Do";
    objects.push(format!(
        "<< /Length {} >>\nstream\n{page}\nendstream",
        page.len()
    ));
    for k in 0..depth {
        let body = if k + 1 < depth {
            "/X Do ".repeat(1000)
        } else {
            "BT /F1 10 Tf 72 600 Td (deep) Tj ET".into()
        };
        let next = if k + 1 < depth {
            format!("/XObject << /X {} 0 R >>", 7 + k)
        } else {
            String::new()
        };
        objects.push(format!(
            "<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> {next} >> /Length {} >>\nstream\n{body}\nendstream",
            body.len()
        ));
    }
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    let text = extract(&out, DocumentKind::Pdf).unwrap();
    assert!(text.starts_with("Before the forms."), "{text}");
}

/// Two balanced columns of ten lines, "alpha" on the left and "bravo" on the right, the
/// left column's last line running on into the right column, whose paragraph ends on its
/// last line; then, under both, whatever `below` holds.
fn columns_then(below: &[(f32, f32, &str)]) -> String {
    let left = filler("alpha");
    let right = filler("bravo");
    let end = format!("{} end.", filler("bravo"));
    let mut lines = vec![];
    for k in 0..10 {
        let y = 700.0 - 14.0 * k as f32;
        lines.push((72.0, y, left.as_str()));
        lines.push((330.0, y, if k == 9 { end.as_str() } else { right.as_str() }));
    }
    lines.extend_from_slice(below);
    read(&[text(&lines)])
}

#[test]
fn a_table_under_balanced_columns_is_read_after_both_columns() {
    // A heading and a table whose cells all keep left of the gutter, under the columns
    // (the last page of a vendor report): read after the right column, not as the end of
    // the left one, which would cut the paragraph running on into the right column.
    let out = columns_then(&[
        (72.0, 530.0, "Indicators of compromise"),
        (78.0, 510.0, "Type"),
        (160.0, 510.0, "Indicator"),
        (78.0, 496.0, "Domain"),
        (160.0, 496.0, "evil[.]example[.]com"),
    ]);
    let heading = out.find("Indicators of compromise").unwrap();
    let last_bravo = out.rfind("bravo").unwrap();
    assert!(
        last_bravo < heading,
        "the heading is read inside the columns:\n{out}"
    );
    assert!(
        out.rfind("alpha").unwrap() < out.find("bravo").unwrap(),
        "{out}"
    );
    assert!(
        out.ends_with("Indicators of compromise\n\nType\tIndicator\nDomain\tevil[.]example[.]com"),
        "{out:?}"
    );
    // The paragraph runs on from the left column into the right one.
    assert!(out.contains("alpha bravo"), "{out}");
}

#[test]
fn a_left_column_a_line_longer_than_the_right_stays_before_it() {
    // Balanced columns rarely end level: the left column's one extra line, after a
    // paragraph break, is still the left column's.
    let out = columns_then(&[(72.0, 554.0, "omega ends the left column.")]);
    let omega = out.find("omega").unwrap();
    assert!(
        omega < out.find("bravo").unwrap(),
        "the left column's last line moved:\n{out}"
    );
}
