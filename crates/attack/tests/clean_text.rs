//! `clean_stix_text` and `first_paragraph`.

use ttpmap_attack::{clean_stix_text, first_paragraph};

#[test]
fn citation_markers_are_removed() {
    assert_eq!(
        clean_stix_text("It persists.(Citation: Mandiant APT1)"),
        "It persists."
    );
}

#[test]
fn citation_before_punctuation_leaves_no_space() {
    assert_eq!(
        clean_stix_text("It persists (Citation: A)(Citation: B)."),
        "It persists."
    );
}

#[test]
fn citation_with_parentheses_inside_is_removed_whole() {
    assert_eq!(
        clean_stix_text("Done.(Citation: Foo (2019) Report) Next."),
        "Done. Next."
    );
}

#[test]
fn markdown_links_become_their_text() {
    assert_eq!(
        clean_stix_text("[APT29](https://attack.mitre.org/groups/G0016) used it"),
        "APT29 used it"
    );
}

#[test]
fn link_urls_with_parentheses_are_consumed() {
    assert_eq!(
        clean_stix_text("see [X](https://en.wikipedia.org/wiki/X_(y)) now"),
        "see X now"
    );
}

#[test]
fn brackets_that_are_not_links_stay() {
    assert_eq!(clean_stix_text("an array [1] (one)"), "an array [1] (one)");
}

#[test]
fn whitespace_is_collapsed_and_trimmed() {
    assert_eq!(clean_stix_text("  a\n\n b\t c  "), "a b c");
}

#[test]
fn code_tags_are_removed_but_placeholders_stay() {
    assert_eq!(
        clean_stix_text("ran <code>C:\\Users\\<username>\\a.exe</code>"),
        "ran C:\\Users\\<username>\\a.exe"
    );
}

#[test]
fn first_paragraph_stops_at_the_blank_line() {
    assert_eq!(
        first_paragraph("One [x](http://a).(Citation: c)\n\nTwo."),
        "One x."
    );
}

#[test]
fn empty_text_stays_empty() {
    assert_eq!(clean_stix_text(""), "");
}

// Long runs of the characters that open a markup construct: each must be read once, not
// once per opening character (a bundle's description is attacker-controlled input, and
// a rescan from each `[` or `<` to the end made these quadratic).

const RUN: usize = 200_000;

#[test]
fn a_long_run_of_open_brackets_is_kept() {
    let text = "[".repeat(RUN);
    assert_eq!(clean_stix_text(&text), text);
}

#[test]
fn a_long_run_of_open_brackets_closed_at_the_end_is_kept() {
    let text = format!("{}{}", "[".repeat(RUN), "]".repeat(RUN));
    assert_eq!(clean_stix_text(&text), text);
}

#[test]
fn a_long_run_of_links_whose_urls_never_close_is_kept() {
    let text = "[a](".repeat(RUN / 4);
    assert_eq!(clean_stix_text(&text), text);
}

#[test]
fn nested_links_whose_urls_hold_a_space_are_kept() {
    // Each label's url runs to the end and holds the space there, so none is a link.
    let n = RUN / 4;
    let text = format!("{} x{}", "[a](".repeat(n), ")".repeat(n));
    assert_eq!(clean_stix_text(&text), text);
}

#[test]
fn a_long_run_of_angle_brackets_is_kept() {
    let text = "<".repeat(RUN);
    assert_eq!(clean_stix_text(&text), text);
}

#[test]
fn a_long_run_of_angle_brackets_before_one_close_is_kept() {
    let text = format!("{}b>", "<".repeat(RUN));
    assert_eq!(clean_stix_text(&text), "<".repeat(RUN - 1));
}

#[test]
fn a_long_run_of_angle_brackets_before_spaces_and_a_close_is_kept() {
    let text = format!("{}{}>", "<".repeat(RUN), " ".repeat(RUN));
    assert_eq!(clean_stix_text(&text), format!("{} >", "<".repeat(RUN)));
}

#[test]
fn a_long_run_of_citations_that_never_close_is_dropped() {
    let text = format!("kept {}", "(Citation: ".repeat(RUN / 10));
    assert_eq!(clean_stix_text(&text), "kept");
}

#[test]
fn tags_with_spaces_and_slashes_are_removed() {
    assert_eq!(
        clean_stix_text("a< B >b</ code >c<br/>d< / i / >e<//b>f<code x>g"),
        "abc de<//b>f<code x>g"
    );
}
