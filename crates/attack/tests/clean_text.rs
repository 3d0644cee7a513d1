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
