//! Tests of turning a user's file into report text: kinds, refusals, decoding, HTML and
//! Markdown extraction.

use ttpmap_mapper::input::{extract_text, DocError, FileFormat, InputError, InputKind};
use ttpmap_mapper::segment::sentences;

fn text(bytes: &[u8]) -> String {
    extract_text(bytes, InputKind::Text).unwrap()
}

fn html(src: &str) -> String {
    extract_text(src.as_bytes(), InputKind::Html).unwrap()
}

fn md(src: &str) -> String {
    extract_text(src.as_bytes(), InputKind::Markdown).unwrap()
}

// --- Kinds -------------------------------------------------------------------------------

#[test]
fn kind_from_extension() {
    assert_eq!(InputKind::from_extension("txt"), Some(InputKind::Text));
    assert_eq!(InputKind::from_extension(".md"), Some(InputKind::Markdown));
    assert_eq!(
        InputKind::from_extension("markdown"),
        Some(InputKind::Markdown)
    );
    assert_eq!(InputKind::from_extension("HTML"), Some(InputKind::Html));
    assert_eq!(InputKind::from_extension("htm"), Some(InputKind::Html));
}

#[test]
fn document_extensions_have_kinds_unknown_ones_none() {
    assert_eq!(InputKind::from_extension("pdf"), Some(InputKind::Pdf));
    assert_eq!(InputKind::from_extension(".DOCX"), Some(InputKind::Docx));
    assert_eq!(InputKind::from_extension("doc"), None);
    assert_eq!(InputKind::from_file_name("README"), None);
}

#[test]
fn kind_from_file_name_uses_the_last_extension() {
    assert_eq!(
        InputKind::from_file_name("apt29.report.final.HTM"),
        Some(InputKind::Html)
    );
}

#[test]
fn sniff_recognises_html() {
    assert_eq!(
        InputKind::sniff(b"<!DOCTYPE html><html><body><p>x</p>"),
        InputKind::Html
    );
    assert_eq!(
        InputKind::sniff(b"  <div class=\"post\"><p>TrickBot</p></div>"),
        InputKind::Html
    );
}

#[test]
fn sniff_recognises_markdown() {
    assert_eq!(
        InputKind::sniff(b"# TrickBot\n\nSome text."),
        InputKind::Markdown
    );
    assert_eq!(
        InputKind::sniff(b"See [the advisory](https://x.y) and **note** this."),
        InputKind::Markdown
    );
}

#[test]
fn sniff_defaults_to_text() {
    assert_eq!(
        InputKind::sniff(b"TrickBot uses phishing. It is 5 < 6."),
        InputKind::Text
    );
}

#[test]
fn detect_prefers_the_extension_and_falls_back_to_sniffing() {
    assert_eq!(
        InputKind::detect(Some("notes.txt"), b"<html><body>x"),
        InputKind::Text
    );
    assert_eq!(
        InputKind::detect(Some("paste"), b"<html><body>x"),
        InputKind::Html
    );
    assert_eq!(InputKind::detect(None, b"# Heading\n"), InputKind::Markdown);
}

// --- Refusals ----------------------------------------------------------------------------

#[test]
fn empty_input_is_refused() {
    assert_eq!(extract_text(b"", InputKind::Text), Err(InputError::Empty));
}

#[test]
fn whitespace_input_is_refused() {
    assert_eq!(
        extract_text(b" \r\n\t \n", InputKind::Markdown),
        Err(InputError::Empty)
    );
}

#[test]
fn nbsp_only_input_is_refused() {
    assert_eq!(
        extract_text("\u{a0} \u{feff}".as_bytes(), InputKind::Text),
        Err(InputError::Empty)
    );
}

fn refused_as(bytes: &[u8]) -> FileFormat {
    match extract_text(bytes, InputKind::Text) {
        Err(InputError::NotText(format)) => format,
        other => panic!("expected NotText, got {other:?}"),
    }
}

#[test]
fn png_is_refused_with_a_clear_message() {
    let err = extract_text(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", InputKind::Text).unwrap_err();
    assert_eq!(err, InputError::NotText(FileFormat::Png));
    assert_eq!(
        err.to_string(),
        "this looks like a PNG image, not a report: paste text, or open a .txt, .md, .html, .pdf or .docx file"
    );
}

#[test]
fn jpeg_is_refused() {
    assert_eq!(refused_as(b"\xff\xd8\xff\xe0\0\x10JFIF"), FileFormat::Jpeg);
}

#[test]
fn gif_is_refused() {
    assert_eq!(refused_as(b"GIF89a\x01\0\x01\0"), FileFormat::Gif);
}

#[test]
fn pdf_is_refused_with_advice_to_paste() {
    let err = extract_text(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", InputKind::Text).unwrap_err();
    assert_eq!(err, InputError::NotText(FileFormat::Pdf));
    assert!(err.to_string().contains("PDF document"));
    assert!(err.to_string().contains("paste"));
}

#[test]
fn docx_zip_is_refused() {
    let err = extract_text(b"PK\x03\x04\x14\0\x06\0", InputKind::Text).unwrap_err();
    assert_eq!(err, InputError::NotText(FileFormat::ZipOrOffice));
    assert!(err.to_string().contains(".docx"));
}

#[test]
fn legacy_office_is_refused() {
    assert_eq!(
        refused_as(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\0\0"),
        FileFormat::LegacyOffice
    );
}

#[test]
fn elf_is_refused() {
    assert_eq!(refused_as(b"\x7fELF\x02\x01\x01\0\0\0"), FileFormat::Elf);
}

#[test]
fn pe_executable_is_refused() {
    let mut pe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
    pe.extend([0u8; 64]);
    assert_eq!(refused_as(&pe), FileFormat::WindowsExecutable);
}

#[test]
fn text_starting_with_mz_is_not_a_program() {
    assert_eq!(
        text(b"MZ header checks are described below."),
        "MZ header checks are described below."
    );
}

#[test]
fn rtf_is_refused() {
    assert_eq!(refused_as(br"{\rtf1\ansi\deff0 {\fonttbl"), FileFormat::Rtf);
}

#[test]
fn nul_bytes_are_refused_as_binary() {
    assert_eq!(refused_as(b"abc\0def\0\0\x01ghij"), FileFormat::Binary);
}

#[test]
fn many_control_characters_are_refused_as_binary() {
    let mut bytes = b"some text ".repeat(5);
    bytes.extend([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
    assert_eq!(refused_as(&bytes), FileFormat::Binary);
}

#[test]
fn binary_message_tells_what_to_do() {
    assert!(InputError::NotText(FileFormat::Binary)
        .to_string()
        .contains("open a .txt, .md, .html, .pdf or .docx file"));
}

#[test]
fn html_with_only_scripts_has_no_text() {
    let err = extract_text(
        b"<html><head><title>x</title></head><body><script>var a=1;</script></body></html>",
        InputKind::Html,
    )
    .unwrap_err();
    assert_eq!(err, InputError::NoText(InputKind::Html));
    assert!(err.to_string().contains("HTML"));
}

#[test]
fn markdown_with_only_markup_has_no_text() {
    assert_eq!(
        extract_text(
            b"---\n\n***\n\n[ref]: https://example.com\n",
            InputKind::Markdown
        ),
        Err(InputError::NoText(InputKind::Markdown))
    );
}

// --- Decoding ----------------------------------------------------------------------------

#[test]
fn utf8_bom_is_dropped() {
    assert_eq!(text(b"\xef\xbb\xbfTrickBot report"), "TrickBot report");
}

#[test]
fn utf16_le_with_bom_is_decoded() {
    let mut bytes = vec![0xff, 0xfe];
    bytes.extend(
        "Злоумышленник used PowerShell."
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    assert_eq!(text(&bytes), "Злоумышленник used PowerShell.");
}

#[test]
fn utf16_be_with_bom_is_decoded() {
    let mut bytes = vec![0xfe, 0xff];
    bytes.extend("APT29 used WMI.".encode_utf16().flat_map(u16::to_be_bytes));
    assert_eq!(text(&bytes), "APT29 used WMI.");
}

#[test]
fn utf16_le_without_bom_is_decoded() {
    let bytes: Vec<u8> = "APT29 used WMI for persistence."
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    assert_eq!(text(&bytes), "APT29 used WMI for persistence.");
}

#[test]
fn windows_1252_text_is_decoded() {
    assert_eq!(
        text(b"Caf\xe9 \x93Invoice\x94 \x96 lure"),
        "Café “Invoice” – lure"
    );
}

#[test]
fn slightly_damaged_utf8_is_decoded_lossily() {
    let mut bytes = "Злоумышленник использовал PowerShell. "
        .repeat(4)
        .into_bytes();
    bytes.push(0xff);
    bytes.extend_from_slice(" Затем.".as_bytes());
    let out = text(&bytes);
    assert!(out.contains('\u{fffd}'));
    assert!(out.starts_with("Злоумышленник использовал PowerShell."));
    assert!(out.ends_with("Затем."));
}

#[test]
fn mixed_encodings_are_refused() {
    let mut bytes = "é".as_bytes().to_vec();
    bytes.extend_from_slice(b" caf\xe9 na\xefve \xe0 la");
    let err = extract_text(&bytes, InputKind::Text).unwrap_err();
    assert_eq!(err, InputError::Encoding);
    assert!(err.to_string().contains("UTF-8"));
}

// --- Text normalisation ------------------------------------------------------------------

#[test]
fn crlf_becomes_lf() {
    assert_eq!(
        text(b"Line one\r\nLine two\rLine three"),
        "Line one\nLine two\nLine three"
    );
}

#[test]
fn trailing_spaces_and_blank_line_runs_are_removed() {
    assert_eq!(text(b"  First  \n\n\n\n \nSecond \t\n"), "First\n\nSecond");
}

#[test]
fn indentation_is_kept() {
    assert_eq!(text(b"List:\n  - item"), "List:\n  - item");
}

#[test]
fn stray_control_characters_become_spaces() {
    let bytes = b"The actor\x0bran it and more text here to keep the ratio of control chars low";
    assert!(text(bytes).starts_with("The actor ran it"));
}

#[test]
fn form_feed_becomes_a_paragraph_break() {
    assert_eq!(
        text(b"Page one ends\x0cPage two"),
        "Page one ends\n\nPage two"
    );
}

#[test]
fn invisible_characters_are_removed() {
    assert_eq!(
        text("Trick\u{200b}Bot uses mal\u{ad}ware".as_bytes()),
        "TrickBot uses malware"
    );
}

#[test]
fn plain_text_keeps_markup_characters() {
    assert_eq!(
        text(b"# not a heading *and* <b>"),
        "# not a heading *and* <b>"
    );
}

// --- HTML --------------------------------------------------------------------------------

#[test]
fn html_tags_are_stripped() {
    assert_eq!(
        html("<p>TrickBot <b>uses</b> <a href=\"x\">phishing</a>.</p>"),
        "TrickBot uses phishing."
    );
}

#[test]
fn html_script_and_style_contents_are_dropped() {
    assert_eq!(
        html("<p>Before</p><script>if (a < b) { x = '</p>'; }</script><style>p { color: red }</style><p>After</p>"),
        "Before\n\nAfter"
    );
}

#[test]
fn html_head_contents_are_dropped() {
    assert_eq!(
        html("<html><head><title>Blog</title><meta charset=\"utf-8\"></head><body><p>Report</p></body></html>"),
        "Report"
    );
}

#[test]
fn html_head_without_end_tag_ends_at_body() {
    assert_eq!(
        html("<html><head><title>Blog</title><body><p>Report</p>"),
        "Report"
    );
}

#[test]
fn html_nav_is_dropped() {
    assert_eq!(
        html("<nav><ul><li>Home</li><li>Blog</li></ul></nav><p>Report</p>"),
        "Report"
    );
}

#[test]
fn html_comments_are_dropped() {
    assert_eq!(html("<p>A<!-- hidden <p>text</p> -->B</p>"), "AB");
}

#[test]
fn html_named_entities_are_decoded() {
    assert_eq!(
        html("<p>AT&amp;T &lt;tag&gt; &quot;q&quot; it&#39;s&nbsp;here &mdash; &hellip;</p>"),
        "AT&T <tag> \"q\" it's here — …"
    );
}

#[test]
fn html_numeric_entities_are_decoded() {
    assert_eq!(html("<p>&#x41;&#66;&#x1F600; &#146;s</p>"), "AB😀 ’s");
}

#[test]
fn html_unknown_entities_are_kept() {
    assert_eq!(html("<p>R&D &unknown; a&b</p>"), "R&D &unknown; a&b");
}

#[test]
fn html_paragraphs_become_blank_lines() {
    assert_eq!(
        html("<p>One.</p><p>Two.</p><div>Three.</div>"),
        "One.\n\nTwo.\n\nThree."
    );
}

#[test]
fn html_br_becomes_a_newline() {
    assert_eq!(
        html("<p>Line one<br>Line two<br/>Line three</p>"),
        "Line one\nLine two\nLine three"
    );
}

#[test]
fn html_list_items_become_bullets() {
    assert_eq!(
        html("<p>Capabilities:</p><ul><li>Dumps <b>LSASS</b></li><li><p>Creates a service</p></li></ul>"),
        "Capabilities:\n\n- Dumps LSASS\n- Creates a service"
    );
}

#[test]
fn html_headings_are_their_own_paragraph() {
    assert_eq!(
        html("<h2>Technical Details</h2>TrickBot is a Trojan."),
        "Technical Details\n\nTrickBot is a Trojan."
    );
}

#[test]
fn html_table_rows_become_lines_and_cells_tabs() {
    assert_eq!(
        html("<table><tr><th>ID</th><th>Use</th></tr><tr><td>T1105</td><td>Downloads tools</td></tr></table>"),
        "ID\tUse\nT1105\tDownloads tools"
    );
}

#[test]
fn html_whitespace_collapses() {
    assert_eq!(
        html("<p>TrickBot\n   uses\t\tphishing</p>"),
        "TrickBot uses phishing"
    );
}

#[test]
fn html_pre_keeps_line_breaks() {
    assert_eq!(
        html("<pre>whoami /all\nnet user</pre>"),
        "whoami /all\nnet user"
    );
}

#[test]
fn html_attribute_with_angle_bracket_is_skipped() {
    assert_eq!(html("<p title=\"a > b\">Text</p>"), "Text");
}

#[test]
fn html_literal_less_than_is_kept() {
    assert_eq!(html("<p>if a < b then</p>"), "if a < b then");
}

#[test]
fn html_unclosed_tag_is_literal_text() {
    assert_eq!(html("<p>Value <b"), "Value <b");
}

#[test]
fn html_images_are_dropped() {
    assert_eq!(
        html("<p>Flow<img src=\"a.png\" alt=\"Figure 1\">chart</p>"),
        "Flowchart"
    );
}

#[test]
fn html_paragraphs_segment_separately() {
    let out =
        html("<h3>Persistence</h3><p>It creates a task</p><ul><li>schtasks /create</li></ul>");
    let got: Vec<&str> = sentences(&out).iter().map(|s| s.text(&out)).collect();
    assert_eq!(
        got,
        ["Persistence", "It creates a task", "schtasks /create"]
    );
}

// --- Markdown ----------------------------------------------------------------------------

#[test]
fn markdown_links_keep_their_text() {
    assert_eq!(
        md("Uses [Phishing](https://attack.mitre.org/techniques/T1566/) and [PowerShell][ps]."),
        "Uses Phishing and PowerShell."
    );
}

#[test]
fn markdown_link_with_parentheses_in_url() {
    assert_eq!(
        md("See [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) now"),
        "See Foo now"
    );
}

#[test]
fn markdown_images_keep_their_alt_text() {
    assert_eq!(md("![Infection chain](chain.png)"), "Infection chain");
}

#[test]
fn markdown_bracketed_text_without_target_is_kept() {
    assert_eq!(
        md("It calls evil[.]com and 1.2.3[.]4 [1] [T1059]."),
        "It calls evil[.]com and 1.2.3[.]4 [1] [T1059]."
    );
}

#[test]
fn markdown_headings_lose_their_hashes() {
    assert_eq!(
        md("## Technical Details ##\nTrickBot is a Trojan."),
        "Technical Details\n\nTrickBot is a Trojan."
    );
}

#[test]
fn markdown_setext_underline_is_dropped() {
    assert_eq!(
        md("Technical Details\n=================\nTrickBot is a Trojan."),
        "Technical Details\n\nTrickBot is a Trojan."
    );
}

#[test]
fn markdown_emphasis_markers_are_stripped() {
    assert_eq!(
        md("TrickBot **steals** *credentials* with __Mimikatz__ and _Rubeus_ ~~not~~ now."),
        "TrickBot steals credentials with Mimikatz and Rubeus not now."
    );
}

#[test]
fn markdown_underscores_inside_words_are_kept() {
    assert_eq!(
        md("It loads d3dcompiler_47.dll via snake_case_name."),
        "It loads d3dcompiler_47.dll via snake_case_name."
    );
}

#[test]
fn markdown_wildcards_are_kept() {
    assert_eq!(
        md("It deletes *.bak and *.vhd files."),
        "It deletes *.bak and *.vhd files."
    );
}

#[test]
fn markdown_bullets_are_kept() {
    assert_eq!(
        md("- Dumps LSASS\n* Creates a service\n+ Deletes logs"),
        "- Dumps LSASS\n- Creates a service\n- Deletes logs"
    );
}

#[test]
fn markdown_bullet_with_emphasis() {
    assert_eq!(md("* **Persistence**: a task"), "- Persistence: a task");
}

#[test]
fn markdown_task_list_checkbox_is_dropped() {
    assert_eq!(md("- [x] Block the C2"), "- Block the C2");
}

#[test]
fn markdown_numbered_items_are_kept() {
    assert_eq!(md("1. Download\n2. Execute"), "1. Download\n2. Execute");
}

#[test]
fn markdown_inline_code_loses_backticks() {
    assert_eq!(
        md("It runs `whoami /all` and `` `x` ``."),
        "It runs whoami /all and `x`."
    );
}

#[test]
fn markdown_fenced_code_is_kept_without_fences() {
    assert_eq!(
        md("Commands:\n```powershell\nGet-Process *lsass*\n```\nDone."),
        "Commands:\n\nGet-Process *lsass*\n\nDone."
    );
}

#[test]
fn markdown_link_definitions_are_dropped() {
    assert_eq!(
        md("Text.\n\n[ps]: https://example.com/ps \"PowerShell\""),
        "Text."
    );
}

#[test]
fn markdown_block_quotes_lose_their_markers() {
    assert_eq!(
        md("> The actor used\n> PowerShell."),
        "The actor used\nPowerShell."
    );
}

#[test]
fn markdown_tables_become_tab_separated() {
    assert_eq!(
        md("| ID | Use |\n|---|:---:|\n| T1105 | Downloads |"),
        "ID\tUse\nT1105\tDownloads"
    );
}

#[test]
fn markdown_front_matter_is_dropped() {
    assert_eq!(
        md("---\ntitle: Report\ndate: 2023-01-01\n---\n# TrickBot\nText."),
        "TrickBot\n\nText."
    );
}

#[test]
fn markdown_escapes_are_resolved() {
    assert_eq!(
        md(r"It uses d3dcompiler\_47.dll and \*literal\* stars"),
        "It uses d3dcompiler_47.dll and *literal* stars"
    );
}

#[test]
fn markdown_windows_paths_keep_backslashes() {
    assert_eq!(
        md(r"It empties C:\$Recycle.Bin and reads HKLM\HARDWARE\{76BA14B7-AF0C} and C:\Users"),
        r"It empties C:\$Recycle.Bin and reads HKLM\HARDWARE\{76BA14B7-AF0C} and C:\Users"
    );
}

#[test]
fn markdown_autolinks_keep_the_url() {
    assert_eq!(
        md("See <https://example.com/a> now"),
        "See https://example.com/a now"
    );
}

#[test]
fn markdown_inline_html_tags_are_removed() {
    assert_eq!(
        md("CVE<sup>1</sup> and <span class=\"x\">text</span>"),
        "CVE1 and text"
    );
}

#[test]
fn markdown_entities_are_decoded() {
    assert_eq!(md("AT&amp;T &lt;b&gt;"), "AT&T <b>");
}

#[test]
fn markdown_document_segments_as_expected() {
    let out = md("# TrickBot\n\nTrickBot is a **Trojan**. It spreads via [phishing](https://x.y).\n\n- Dumps LSASS\n- Creates a service\n");
    let got: Vec<&str> = sentences(&out).iter().map(|s| s.text(&out)).collect();
    assert_eq!(
        got,
        [
            "TrickBot",
            "TrickBot is a Trojan.",
            "It spreads via phishing.",
            "Dumps LSASS",
            "Creates a service"
        ]
    );
}

// ---------------------------------------------------------------------------------------
// PDF and Word documents (read by ttpmap-docs; its tests cover the layout)

fn document(path: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/tests/fixtures");
    std::fs::read(dir.join(path)).unwrap()
}

fn first_report(ext: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/tests/fixtures/reports");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    paths.sort();
    std::fs::read(&paths[0]).unwrap()
}

#[test]
fn documents_are_recognised_by_their_bytes_whatever_their_name() {
    let pdf = first_report("pdf");
    let docx = first_report("docx");
    assert_eq!(InputKind::detect(Some("report.txt"), &pdf), InputKind::Pdf);
    assert_eq!(InputKind::detect(None, &docx), InputKind::Docx);
    assert_eq!(InputKind::sniff(&pdf), InputKind::Pdf);
}

#[test]
fn pdf_and_docx_become_normalised_report_text() {
    for ext in ["pdf", "docx"] {
        let bytes = first_report(ext);
        let text = extract_text(&bytes, InputKind::detect(None, &bytes)).unwrap();
        assert!(text.len() > 1000, "{ext}: {} bytes of text", text.len());
        assert!(!text.contains("\n\n\n") && !text.contains('\u{ad}') && text == text.trim(), "{ext}: not normalised");
        assert!(text.lines().any(|l| l.contains("hxxp://update-check[.]example[.]com/gate.php")), "{ext}");
    }
}

#[test]
fn a_bad_document_is_a_document_error_with_its_message() {
    let err = extract_text(&document("bad/encrypted.pdf"), InputKind::Pdf).unwrap_err();
    assert_eq!(err, InputError::Document(DocError::Encrypted));
    assert!(err.to_string().contains("password-protected"));
    let err = extract_text(&document("bad/image-only.pdf"), InputKind::Pdf).unwrap_err();
    assert!(err.to_string().contains("OCR is out of scope"), "{err}");
}

#[test]
fn a_docx_with_no_text_has_no_readable_text() {
    // A minimal Word document whose only paragraph is empty.
    let mut zip = Vec::new();
    {
        use std::io::Write;
        let xml = br#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p/></w:body></w:document>"#;
        // A stored (uncompressed) ZIP entry, written by hand.
        let name = b"word/document.xml";
        let crc = crc32(xml);
        let mut local = Vec::new();
        local.write_all(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0").unwrap();
        local.write_all(&crc.to_le_bytes()).unwrap();
        local.write_all(&(xml.len() as u32).to_le_bytes()).unwrap();
        local.write_all(&(xml.len() as u32).to_le_bytes()).unwrap();
        local.write_all(&(name.len() as u16).to_le_bytes()).unwrap();
        local.write_all(&0u16.to_le_bytes()).unwrap();
        local.write_all(name).unwrap();
        local.write_all(xml).unwrap();
        let central_at = local.len() as u32;
        let mut central = Vec::new();
        central.write_all(b"PK\x01\x02\x14\0\x14\0\0\0\0\0\0\0\0\0").unwrap();
        central.write_all(&crc.to_le_bytes()).unwrap();
        central.write_all(&(xml.len() as u32).to_le_bytes()).unwrap();
        central.write_all(&(xml.len() as u32).to_le_bytes()).unwrap();
        central.write_all(&(name.len() as u16).to_le_bytes()).unwrap();
        central.write_all(&[0u8; 12]).unwrap();
        central.write_all(&0u32.to_le_bytes()).unwrap();
        central.write_all(name).unwrap();
        zip.extend(&local);
        zip.extend(&central);
        zip.write_all(b"PK\x05\x06\0\0\0\0\x01\0\x01\0").unwrap();
        zip.write_all(&(central.len() as u32).to_le_bytes()).unwrap();
        zip.write_all(&central_at.to_le_bytes()).unwrap();
        zip.write_all(&0u16.to_le_bytes()).unwrap();
    }
    assert_eq!(InputKind::detect(Some("empty.docx"), &zip), InputKind::Docx);
    assert_eq!(extract_text(&zip, InputKind::Docx).unwrap_err(), InputError::NoText(InputKind::Docx));
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
