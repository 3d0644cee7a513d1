//! Tests of sentence segmentation: one behaviour per test, then real TRAM report passages.

use std::time::{Duration, Instant};

use ttpmap_mapper::segment::{byte_to_char, char_to_byte, sentences, Sentence};

/// The sentences of `text`, after checking the span invariants every caller relies on.
fn seg(text: &str) -> Vec<&str> {
    let spans = sentences(text);
    let mut last_end = 0;
    for s in &spans {
        assert!(s.start < s.end, "empty span {s:?}");
        assert!(
            s.start >= last_end,
            "spans overlap or are out of order: {spans:?}"
        );
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
        let t = s.text(text);
        assert_eq!(t, t.trim(), "span not trimmed: {t:?}");
        last_end = s.end;
    }
    spans.iter().map(|s| s.text(text)).collect()
}

fn one(text: &str) {
    assert_eq!(seg(text), vec![text], "expected a single sentence");
}

// --- What must not split -----------------------------------------------------------------

#[test]
fn ip_address_does_not_split() {
    assert_eq!(
        seg("The implant beacons to 192.168.1.10 every minute. It then sleeps."),
        [
            "The implant beacons to 192.168.1.10 every minute.",
            "It then sleeps."
        ]
    );
}

#[test]
fn domain_does_not_split() {
    one("The loader resolves evil.example.com before it connects.");
}

#[test]
fn file_names_do_not_split() {
    one("The actor ran lsass.exe, loaded wdigest.dll and opened invoice.docm on the host.");
}

#[test]
fn version_numbers_do_not_split() {
    one("Version v2.1.3 of the loader targets Windows 10.0.19041 and 3CX 18.12.407.0 builds.");
}

#[test]
fn decimal_numbers_do_not_split() {
    one("The ransom was 0.5 BTC, about 3.75 percent of the victim's revenue.");
}

#[test]
fn e_g_and_i_e_do_not_split() {
    one("It abuses LOLBins, e.g. Certutil, and signed binaries, i.e. Rundll32, to evade defenses.");
}

#[test]
fn e_g_with_comma_does_not_split() {
    one("TA410 had access to Exchange vulnerabilities, e.g., ProxyLogon in March 2021.");
}

#[test]
fn etc_mid_sentence_does_not_split() {
    one("Tools such as PsExec, AdFind, etc. were used for discovery.");
}

#[test]
fn etc_before_capitalised_word_splits() {
    // Decided: `etc.` is an ordinary word; an uppercase word after it starts a sentence.
    assert_eq!(
        seg("It tracks Cobalt Strike, Covenant, PoshC2, etc. More information is available."),
        [
            "It tracks Cobalt Strike, Covenant, PoshC2, etc.",
            "More information is available."
        ]
    );
}

#[test]
fn vs_does_not_split() {
    one("The section compares FunnySwitch vs. Crosswalk in detail.");
}

#[test]
fn fig_abbreviation_does_not_split() {
    one("The campaign flow is shown in Fig. 1 below.");
}

#[test]
fn figure_caption_label_does_not_split() {
    one("Figure 2. The phishing email");
}

#[test]
fn figure_caption_with_title_does_not_split() {
    one("Figure 18. Summary of the X4 components.");
}

#[test]
fn figure_number_ending_a_sentence_splits_before_opener() {
    assert_eq!(
        seg("The chain is shown in Figure 2. The actor then moved laterally."),
        [
            "The chain is shown in Figure 2.",
            "The actor then moved laterally."
        ]
    );
}

#[test]
fn table_number_ending_a_line_splits() {
    assert_eq!(
        seg("Its commands are detailed in Table 3.\nTable 3. X4 backdoor commands"),
        [
            "Its commands are detailed in Table 3.",
            "Table 3. X4 backdoor commands"
        ]
    );
}

#[test]
fn no_before_number_does_not_split() {
    one("The attack is tracked as incident No. 5 by the agency.");
}

#[test]
fn titles_do_not_split() {
    one("Dr. Smith and Mr. Jones described the intrusion.");
}

#[test]
fn company_suffixes_do_not_split() {
    one("The driver was signed by Acme Inc. and later by Hangzhou Laser Technology Co. Ltd. in 2022.");
}

#[test]
fn company_suffix_before_proper_noun_does_not_split() {
    one("The certificate belonged to Tendyron Corp. Windows accepted it.");
}

#[test]
fn company_suffix_before_sentence_opener_splits() {
    assert_eq!(
        seg("The certificate belonged to Acme Inc. The actor stole it."),
        [
            "The certificate belonged to Acme Inc.",
            "The actor stole it."
        ]
    );
}

#[test]
fn us_before_proper_noun_does_not_split() {
    one("The actors target U.S. Government agencies.");
}

#[test]
fn us_ending_a_sentence_splits_before_opener() {
    assert_eq!(
        seg("Victims were located in the U.S. The group also targeted Europe."),
        [
            "Victims were located in the U.S.",
            "The group also targeted Europe."
        ]
    );
}

#[test]
fn initials_do_not_split() {
    one("The tool was published by J. Ling on GitHub.");
}

#[test]
fn month_abbreviation_before_day_does_not_split() {
    one("The repository was accessed on Apr. 28, 2023.");
}

#[test]
fn defanged_indicators_do_not_split() {
    one("The payload comes from hxxp://example[.]com/path, 1.2.3[.]4 and evil[.]com.");
}

#[test]
fn urls_do_not_split() {
    assert_eq!(
        seg("It fetches https://raw.githubusercontent.com/IconStorages/images/main/icon15.ico. Then it decodes the icon."),
        [
            "It fetches https://raw.githubusercontent.com/IconStorages/images/main/icon15.ico.",
            "Then it decodes the icon."
        ]
    );
}

#[test]
fn url_with_query_does_not_split() {
    one("The beacon requests https://cdn.example.com/a?id=1&x=2. and nothing else");
}

#[test]
fn registry_path_does_not_split() {
    assert_eq!(
        seg(
            r"Persistence uses the Run key HKCU\SOFTWARE\Microsoft\Windows\CurrentVersion\Run. When executed, it loads a DLL."
        ),
        [
            r"Persistence uses the Run key HKCU\SOFTWARE\Microsoft\Windows\CurrentVersion\Run.",
            "When executed, it loads a DLL."
        ]
    );
}

#[test]
fn windows_paths_do_not_split() {
    one(
        r"It writes C:\Windows\System32\cmd.exe and C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\Log\rsa.txt to disk.",
    );
}

#[test]
fn command_lines_do_not_split() {
    one(
        r"The actor ran cmd.exe /c copy a.txt . && cd .. && rundll32.exe shell32.dll,Control_RunDLL x.cpl on the host.",
    );
}

#[test]
fn ellipsis_inside_quotes_does_not_split() {
    one(
        r#"The ransom note read "Your files are encrypted... Contact us now." and listed a Tor address."#,
    );
}

#[test]
fn sentences_inside_a_quotation_do_not_split() {
    one("“Lockbit has created their first MacOS-based payload. We believe this is a first.” -VXUnderground");
}

#[test]
fn mistyped_closing_quote_still_closes() {
    assert_eq!(
        seg("It contained a shortcut file named “Password.txt.lnk“. This is a classic BlueNoroff strategy."),
        [
            "It contained a shortcut file named “Password.txt.lnk“.",
            "This is a classic BlueNoroff strategy."
        ]
    );
}

#[test]
fn unclosed_quote_does_not_stop_splitting() {
    assert_eq!(
        seg("The lure said “urgent. The actor waited. Then it ran."),
        [
            "The lure said “urgent.",
            "The actor waited.",
            "Then it ran."
        ]
    );
}

#[test]
fn ellipsis_before_lowercase_does_not_split() {
    one("The malware waits... and then connects to its C2 server.");
}

#[test]
fn cve_identifier_does_not_split() {
    assert_eq!(
        seg("The actor exploited CVE-2021-44228. It then deployed a miner."),
        [
            "The actor exploited CVE-2021-44228.",
            "It then deployed a miner."
        ]
    );
}

#[test]
fn period_before_lowercase_does_not_split() {
    one("The value is stored in the .data section. and read back later");
}

// --- What must split ---------------------------------------------------------------------

#[test]
fn period_question_and_exclamation_split() {
    assert_eq!(
        seg("It spreads. Does it persist? Yes! It does."),
        ["It spreads.", "Does it persist?", "Yes!", "It does."]
    );
}

#[test]
fn split_before_digit() {
    assert_eq!(
        seg("The loader was compiled in 2021. 12 samples were found."),
        ["The loader was compiled in 2021.", "12 samples were found."]
    );
}

#[test]
fn split_before_opening_quote() {
    assert_eq!(
        seg(r#"The file was dropped. "Update.exe" was then run."#),
        ["The file was dropped.", r#""Update.exe" was then run."#]
    );
}

#[test]
fn split_before_opening_bracket() {
    assert_eq!(
        seg("The victim clicks a link. (User Execution: Malicious Link [T1204.001])."),
        [
            "The victim clicks a link.",
            "(User Execution: Malicious Link [T1204.001])."
        ]
    );
}

#[test]
fn closing_quote_stays_with_its_sentence() {
    assert_eq!(
        seg(r#"The subject was "Invoice overdue." The body held a link."#),
        [
            r#"The subject was "Invoice overdue.""#,
            "The body held a link."
        ]
    );
}

#[test]
fn citation_marker_stays_with_its_sentence() {
    assert_eq!(
        seg("It serves as an Emotet downloader (Ingress Tool Transfer [T1105]).[1] TrickBot uses person-in-the-browser attacks."),
        [
            "It serves as an Emotet downloader (Ingress Tool Transfer [T1105]).[1]",
            "TrickBot uses person-in-the-browser attacks."
        ]
    );
}

#[test]
fn dash_bullets_are_items() {
    assert_eq!(
        seg("- Dumps LSASS\n- Creates a service"),
        ["Dumps LSASS", "Creates a service"]
    );
}

#[test]
fn all_bullet_markers_are_items() {
    let text = "* one item\n• two item\n· three item\n▪ four item\n– five item\n+ six item";
    assert_eq!(
        seg(text),
        [
            "one item",
            "two item",
            "three item",
            "four item",
            "five item",
            "six item"
        ]
    );
}

#[test]
fn bullet_followed_by_nbsp_is_an_item() {
    assert_eq!(
        seg("such as:\n• \u{a0} \u{a0}Log analysis: monitor logs\n• \u{a0} \u{a0}Monitor traffic"),
        ["such as:", "Log analysis: monitor logs", "Monitor traffic"]
    );
}

#[test]
fn numbered_items_are_items() {
    assert_eq!(
        seg("1. Downloading code\n2) Writing executables\na) Modifying timestamps\n(iv) Encrypting traffic"),
        ["Downloading code", "Writing executables", "Modifying timestamps", "Encrypting traffic"]
    );
}

#[test]
fn list_item_continuation_line_joins_the_item() {
    assert_eq!(
        seg("- Writing executables to a directory and\n  naming them after it\n- Encrypting traffic"),
        ["Writing executables to a directory and\n  naming them after it", "Encrypting traffic"]
    );
}

#[test]
fn parenthesised_acronym_at_line_start_is_not_a_list_marker() {
    one("The actor moved laterally using Remote Desktop Protocol\n(RDP) connections.");
}

#[test]
fn heading_line_is_its_own_segment() {
    assert_eq!(
        seg("Technical Details\nTrickBot is an advanced Trojan."),
        ["Technical Details", "TrickBot is an advanced Trojan."]
    );
}

#[test]
fn long_title_case_heading_is_its_own_segment() {
    assert_eq!(
        seg("Initial Access Through Spearphishing Attachments Sent To Staff\nThe actor sent macro documents."),
        [
            "Initial Access Through Spearphishing Attachments Sent To Staff",
            "The actor sent macro documents."
        ]
    );
}

#[test]
fn heading_followed_by_heading_splits() {
    assert_eq!(
        seg("Persistence [TA0003]\nTechnique Title\nID"),
        ["Persistence [TA0003]", "Technique Title", "ID"]
    );
}

#[test]
fn blank_line_always_splits() {
    assert_eq!(
        seg("The actor used a loader\n\nwhich then ran"),
        ["The actor used a loader", "which then ran"]
    );
}

#[test]
fn blank_line_with_spaces_splits() {
    assert_eq!(
        seg("First paragraph\n  \t \nSecond paragraph"),
        ["First paragraph", "Second paragraph"]
    );
}

#[test]
fn wrapped_line_continuing_lowercase_does_not_split() {
    one("The actor used a custom\nloader to persist on the host.");
}

#[test]
fn hard_wrapped_line_before_capitalised_word_does_not_split() {
    one("Mandiant has observed APT29 using a stealthy backdoor that we call\nPOSHSPY and the group uses it widely.");
}

#[test]
fn line_ending_with_comma_does_not_split() {
    // Decided: a comma or a function word at a line end means the sentence goes on.
    one(
        "Drop other malware, such as Ryuk and Conti ransomware, or\nServe as an Emotet downloader.",
    );
}

#[test]
fn line_ending_with_colon_splits() {
    assert_eq!(
        seg("Attackers can use TrickBot to:\nDrop other malware."),
        ["Attackers can use TrickBot to:", "Drop other malware."]
    );
}

#[test]
fn newline_after_period_splits() {
    assert_eq!(
        seg("The dropper ran.\nThe backdoor beaconed."),
        ["The dropper ran.", "The backdoor beaconed."]
    );
}

#[test]
fn crlf_line_endings_split_and_are_trimmed() {
    assert_eq!(
        seg("Technical Details\r\nTrickBot is a Trojan.\r\n"),
        ["Technical Details", "TrickBot is a Trojan."]
    );
}

#[test]
fn cjk_sentence_ends_split() {
    assert_eq!(
        seg("攻击者使用了鱼叉式钓鱼邮件。随后部署了后门！是否持久化？"),
        [
            "攻击者使用了鱼叉式钓鱼邮件。",
            "随后部署了后门！",
            "是否持久化？"
        ]
    );
}

#[test]
fn cyrillic_sentences_split() {
    assert_eq!(
        seg("Злоумышленник использовал PowerShell. Затем он загрузил файл."),
        [
            "Злоумышленник использовал PowerShell.",
            "Затем он загрузил файл."
        ]
    );
}

#[test]
fn empty_text_has_no_sentences() {
    assert!(sentences("").is_empty());
}

#[test]
fn whitespace_text_has_no_sentences() {
    assert!(sentences(" \n\t\r\n \u{a0}\n\n").is_empty());
}

#[test]
fn punctuation_only_lines_are_dropped() {
    assert!(sentences("----\n***\n•\n. . .").is_empty());
}

// --- Offsets -----------------------------------------------------------------------------

#[test]
fn offsets_point_into_the_original_text() {
    let text = "  \u{a0}Émotet drops a DLL.  Злоумышленник ждал.\n\n";
    let spans = sentences(text);
    assert_eq!(
        spans,
        [
            Sentence { start: 4, end: 24 },
            Sentence { start: 26, end: 62 }
        ]
    );
    assert_eq!(&text[spans[0].range()], "Émotet drops a DLL.");
    assert_eq!(spans[1].text(text), "Злоумышленник ждал.");
}

#[test]
fn char_range_counts_code_points_like_python() {
    let text = "Émotet drops a DLL. Злоумышленник ждал.";
    let spans = sentences(text);
    assert_eq!(spans[0].char_range(text), 0..19);
    assert_eq!(spans[1].char_range(text), 20..39);
}

#[test]
fn byte_to_char_converts_boundaries() {
    let text = "aé攻b";
    assert_eq!(byte_to_char(text, 0), Some(0));
    assert_eq!(byte_to_char(text, 1), Some(1));
    assert_eq!(byte_to_char(text, 3), Some(2));
    assert_eq!(byte_to_char(text, 6), Some(3));
    assert_eq!(byte_to_char(text, 7), Some(4));
}

#[test]
fn byte_to_char_rejects_mid_char_and_out_of_range() {
    let text = "aé攻b";
    assert_eq!(byte_to_char(text, 2), None);
    assert_eq!(byte_to_char(text, 8), None);
}

#[test]
fn char_to_byte_converts_and_rejects_out_of_range() {
    let text = "aé攻b";
    assert_eq!(char_to_byte(text, 0), Some(0));
    assert_eq!(char_to_byte(text, 2), Some(3));
    assert_eq!(char_to_byte(text, 4), Some(7));
    assert_eq!(char_to_byte(text, 5), None);
}

#[test]
fn char_and_byte_offsets_round_trip() {
    let text = "Злоумышленник 攻击 a.b";
    for (chars, (bytes, _)) in text.char_indices().enumerate() {
        assert_eq!(char_to_byte(text, chars), Some(bytes));
        assert_eq!(byte_to_char(text, bytes), Some(chars));
    }
}

// --- Size --------------------------------------------------------------------------------

#[test]
fn a_3000_word_sentence_stays_whole() {
    let text = format!("{}end.", "word ".repeat(3000));
    assert_eq!(seg(&text), [text.as_str()]);
}

#[test]
fn a_20_mb_text_is_segmented() {
    let para =
        "The actor ran lsass.exe on 10.0.0.1, e.g. via PsExec. It then exfiltrated data.\n\n";
    let text = para.repeat(20_000_000 / para.len() + 1);
    let spans = sentences(&text);
    assert_eq!(spans.len(), 2 * (20_000_000 / para.len() + 1));
}

/// The fastest of three runs.
fn time_segmenting(text: &str) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(sentences(text));
            start.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn time_grows_linearly_with_pathological_input() {
    // Dense candidate ends inside unclosed quotes, lines and dots: quadratic work would
    // make 8x the input take about 64x the time.
    let unit = "“a. B ..\n- x “c. D e.g. F\n";
    let small = unit.repeat(4_000);
    let large = unit.repeat(32_000);
    let (t_small, t_large) = (time_segmenting(&small), time_segmenting(&large));
    assert!(
        t_large < t_small * 24 + Duration::from_millis(50),
        "8x input took {t_large:?} vs {t_small:?}"
    );
}

// --- Real report passages (TRAM) ---------------------------------------------------------

fn fixture(name: &str) -> (String, Vec<String>) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/segment/");
    let text = std::fs::read_to_string(format!("{dir}{name}.txt")).unwrap();
    let expected = std::fs::read_to_string(format!("{dir}{name}.expected.json")).unwrap();
    (text, serde_json::from_str(&expected).unwrap())
}

#[test]
fn trickbot_advisory_passage() {
    let (text, expected) = fixture("trickbot");
    assert_eq!(seg(&text), expected);
}

#[test]
fn poshspy_hard_wrapped_passage() {
    let (text, expected) = fixture("poshspy");
    assert_eq!(seg(&text), expected);
}

#[test]
fn ta410_passage_with_paths_and_captions() {
    let (text, expected) = fixture("ta410");
    assert_eq!(seg(&text), expected);
}

#[test]
fn indicator_only_sentences_have_no_words() {
    use ttpmap_mapper::segment::has_words;
    for s in [
        "44d88612fea8a8f36de82e1278abb02f",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ,",
        "hxxps://evil[.]example[.]com/a/b.php 185.220.101[.]4:443",
        "2023-06-01 14:22:01 | 10.0.0.0/8 | 1.2.3",
        "-- * --",
        "",
    ] {
        assert!(!has_words(s), "{s:?}");
    }
}

#[test]
fn commands_paths_and_prose_have_words() {
    use ttpmap_mapper::segment::has_words;
    for s in [
        "C:\\Windows\\System32\\rundll32.exe",
        "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender\\DisableAntiSpyware",
        "func_GetUserName()",
        "T1071",
        "Keylogging",
        "The actor ran 44d88612fea8a8f36de82e1278abb02f from 10.0.0.5.",
        "evil.example.com",
    ] {
        assert!(has_words(s), "{s:?}");
    }
}
