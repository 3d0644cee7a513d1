//! The parts of the evidence panel ([`super::evidence::EvidencePanel`]): the list of
//! evidence sentences, the report with them highlighted, and the analyst's decision
//! buttons. Each reads the selected technique the panel computed.

use leptos::html;
use leptos::prelude::*;
use ttpmap_mapper::{score_100, Evidence};
use wasm_bindgen::JsCast;

use super::evidence::Selected;
use crate::heat::heat_class;
use crate::state::AppState;
use crate::storage::Source;
use crate::text::highlight_segments;

/// Longest evidence sentence quoted in the list, in characters.
const QUOTE_CHARS: usize = 400;

fn quote(text: &str, e: &Evidence) -> String {
    let s = text
        .get(e.start..e.end)
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if s.chars().count() > QUOTE_CHARS {
        format!("{}…", s.chars().take(QUOTE_CHARS).collect::<String>())
    } else {
        s
    }
}

/// Scrolls the report view (and only it) so that `mark` sits near its top.
pub fn scroll_report_to(view: &web_sys::HtmlElement, mark: &web_sys::HtmlElement) {
    view.set_scroll_top((mark.offset_top() - 48).max(0));
    let _ = mark.class_list().add_1("flash");
    let mark = mark.clone();
    set_timeout(
        move || {
            let _ = mark.class_list().remove_1("flash");
        },
        std::time::Duration::from_millis(1200),
    );
}

pub fn find_mark(view: &web_sys::HtmlElement, selector: &str) -> Option<web_sys::HtmlElement> {
    view.query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into().ok())
}

/// The technique's evidence sentences, best first; a click scrolls the report to one.
#[component]
pub fn EvidenceList(selected: Memo<Option<Selected>>, report_view: NodeRef<html::Div>) -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let s = selected.get()?;
        let threshold = state.threshold.get();
        let evidence = s.original.map(|t| t.evidence).unwrap_or_default();
        if evidence.is_empty() {
            return None;
        }
        let items = state.session.with(|session| {
            let text = match session.as_ref().map(|s| &s.source) {
                Some(Source::Mapped { text: Some(t) }) => t.as_str(),
                _ => "",
            };
            evidence
                .iter()
                .map(|e| {
                    let quoted = quote(text, e);
                    let start = e.start;
                    let score = score_100(e.score);
                    view! {
                        <li
                            class="evidence-item"
                            class:below=e.score < threshold
                            data-testid="evidence-item"
                            data-score=score.to_string()
                        >
                            <button
                                type="button"
                                class="evidence-link"
                                title="Show this sentence in the report"
                                on:click=move |_| {
                                    if let Some(view) = report_view.get_untracked() {
                                        let view: web_sys::HtmlElement = view.unchecked_into();
                                        let selector = format!("mark[data-start=\"{start}\"]");
                                        if let Some(mark) = find_mark(&view, &selector) {
                                            scroll_report_to(&view, &mark);
                                        }
                                    }
                                }
                            >
                                <span class=format!("ev-score {}", heat_class(e.score))>{score}</span>
                                <span class="ev-text">{quoted}</span>
                            </button>
                        </li>
                    }
                })
                .collect_view()
        });
        Some(view! {
            <h3 class="panel-subtitle">
                {format!("Evidence: {} sentence{}", evidence.len(), if evidence.len() == 1 { "" } else { "s" })}
            </h3>
            <ol class="evidence-list">{items}</ol>
        })
    }
}

/// The report with the technique's evidence sentences highlighted (text nodes and
/// `<mark>`s, never HTML).
#[component]
pub fn ReportText(selected: Memo<Option<Selected>>) -> impl IntoView {
    let state = expect_context::<AppState>();
    move || {
        let s = selected.get()?;
        if !s.has_text {
            return None;
        }
        let threshold = state.threshold.get_untracked();
        let spans: Vec<(usize, usize, f32)> = s
            .original
            .map(|t| {
                t.evidence
                    .iter()
                    .map(|e| (e.start, e.end, e.score))
                    .collect()
            })
            .unwrap_or_default();
        state.session.with(|session| {
            let Some(Source::Mapped { text: Some(text) }) = session.as_ref().map(|s| &s.source) else {
                return None;
            };
            let parts = highlight_segments(text, &spans)
                .into_iter()
                .map(|seg| {
                    let part = text[seg.start..seg.end].to_string();
                    match seg.mark {
                        Some(score) => {
                            let class = format!(
                                "evidence {}{}",
                                heat_class(score),
                                if score < threshold { " weak" } else { "" }
                            );
                            view! {
                                <mark class=class data-start=seg.start.to_string() title=format!("score {}", score_100(score))>
                                    {part}
                                </mark>
                            }
                                .into_any()
                        }
                        None => part.into_any(),
                    }
                })
                .collect_view();
            Some(parts)
        })
    }
}

/// Dismiss, confirm, restore, add or remove the selected technique.
#[component]
pub fn DecisionActions(selected: Memo<Option<Selected>>) -> impl IntoView {
    let state = expect_context::<AppState>();
    let decide = move |change: fn(&mut crate::decisions::Decisions, &str)| {
        if let Some(id) = state.selected.get_untracked() {
            state.decide(|d| change(d, &id));
        }
    };

    view! {
        <div class="panel-actions">
                    {move || {
                        let s = selected.get()?;
                        Some(if s.dismissed {
                            view! {
                                <button type="button" data-testid="restore-button" on:click=move |_| decide(|d, id| d.reset(id))>
                                    "Restore detection"
                                </button>
                            }
                                .into_any()
                        } else if s.added {
                            view! {
                                <button type="button" data-testid="remove-added-button" on:click=move |_| decide(|d, id| d.reset(id))>
                                    "Remove (added by hand)"
                                </button>
                            }
                                .into_any()
                        } else if s.score.is_some() {
                            view! {
                                <button type="button" class="danger-outline" data-testid="dismiss-button" on:click=move |_| decide(|d, id| d.dismiss(id))>
                                    "Dismiss detection"
                                </button>
                                <button type="button" data-testid="confirm-button" title="Keep it at score 100, whatever the threshold" on:click=move |_| decide(|d, id| d.add(id))>
                                    "Confirm"
                                </button>
                            }
                                .into_any()
                        } else {
                            view! {
                                <button type="button" data-testid="add-selected-button" on:click=move |_| decide(|d, id| d.add(id))>
                                    "Add to the mapping"
                                </button>
                            }
                                .into_any()
                        })
                    }}
                </div>
    }
}
