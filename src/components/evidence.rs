//! The evidence of one technique, in a side panel: its status and score, the sentences
//! that support it (best first, with scores), the analyst's decision (dismiss, restore,
//! remove), and the report text with those sentences highlighted, scrolled to the first.
//!
//! The report is rendered as text nodes split around `<mark>` elements, never as HTML:
//! a report holding `<script>` shows it literally.

use leptos::html;
use leptos::prelude::*;
use ttpmap_mapper::{Aggregation, Evidence, TechniqueMapping};
use wasm_bindgen::JsCast;

use super::app::AppState;
use crate::heat::{heat_class, highlight_segments, score_100};
use crate::storage::Source;

/// Longest evidence sentence quoted in the list, in characters.
const QUOTE_CHARS: usize = 400;

/// What the panel shows about the selected technique.
#[derive(Clone, Debug, PartialEq)]
struct Selected {
    id: String,
    name: String,
    /// What the matrix says the technique is (empty when the matrix has no text for it).
    description: String,
    /// The technique's page (ATT&CK's site, or the matrix's own), when the matrix gives one.
    url: Option<String>,
    /// As the model (or the layer) gave it, before decisions: evidence stays readable
    /// after a dismissal.
    original: Option<TechniqueMapping>,
    /// After decisions.
    score: Option<f32>,
    dismissed: bool,
    added: bool,
    comment: Option<String>,
    /// Whether the session has report text (a mapped report, not an opened layer).
    has_text: bool,
    /// How the mapping made the score from the evidence.
    rule: Aggregation,
}

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
fn scroll_report_to(view: &web_sys::HtmlElement, mark: &web_sys::HtmlElement) {
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

fn find_mark(view: &web_sys::HtmlElement, selector: &str) -> Option<web_sys::HtmlElement> {
    view.query_selector(selector)
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into().ok())
}

#[component]
pub fn EvidencePanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let report_view = NodeRef::<html::Div>::new();

    let selected = Memo::new(move |_| {
        let id = state.selected.get()?;
        let about = state.matrix.with(|m| {
            m.ready().and_then(|m| {
                m.matrix
                    .technique(&id)
                    .map(|t| (t.name.clone(), t.description.clone(), t.url.clone()))
            })
        });
        let (matrix_name, description, url) = match about {
            Some((name, description, url)) => (Some(name), description, Some(url)),
            None => (None, String::new(), None),
        };
        // Only web pages: a bundle's URL field is not trusted to be one.
        let url = url.filter(|u| u.starts_with("https://") || u.starts_with("http://"));
        let score = state.effective.with(|e| {
            e.as_ref()
                .and_then(|e| e.techniques.iter().find(|t| t.id == id).map(|t| t.score))
        });
        state.session.with(|s| {
            let s = s.as_ref();
            let original =
                s.and_then(|s| s.mapping.techniques.iter().find(|t| t.id == id).cloned());
            let name = matrix_name
                .or_else(|| original.as_ref().map(|t| t.name.clone()))
                .unwrap_or_default();
            Some(Selected {
                name,
                description,
                url,
                original,
                score,
                dismissed: s.is_some_and(|s| s.decisions.dismissed.contains(&id)),
                added: s.is_some_and(|s| s.decisions.added.contains(&id)),
                comment: s.and_then(|s| match &s.source {
                    Source::Imported { comments } => comments.get(&id).cloned(),
                    Source::Mapped { .. } => None,
                }),
                has_text: s.is_some_and(|s| matches!(s.source, Source::Mapped { .. })),
                rule: s.map_or(Aggregation::BestSentence, |s| s.mapping.aggregation),
                id,
            })
        })
    });

    // After the panel shows a technique, bring its first evidence sentence into view.
    Effect::new(move |_| {
        if selected.with(Option::is_some) {
            request_animation_frame(move || {
                if let Some(view) = report_view.get_untracked() {
                    let view: web_sys::HtmlElement = view.unchecked_into();
                    match find_mark(&view, "mark") {
                        Some(mark) => scroll_report_to(&view, &mark),
                        None => view.set_scroll_top(0),
                    }
                }
            });
        }
    });

    let status = move || {
        let s = selected.get()?;
        let threshold = state.threshold.get();
        // Say how the score comes from the sentences listed below, where it is not just the best one's.
        let how = match (s.rule, s.has_text) {
            (Aggregation::MeanOfBestTwo, true) => " (the mean of its two best sentences)",
            _ => "",
        };
        Some(match (s.dismissed, s.added, s.score) {
            (true, _, _) => (
                "dismissed",
                "Dismissed by the analyst: left out of the heatmap and the exports".to_string(),
            ),
            (_, true, _) => ("added", "Added by the analyst".to_string()),
            (_, _, Some(score)) if score >= threshold => (
                "detected",
                format!(
                    "Detected: score {}{how} at threshold {}",
                    score_100(score),
                    score_100(threshold)
                ),
            ),
            (_, _, Some(score)) => (
                "below",
                format!(
                    "Not detected: score {}{how} is below the threshold {}",
                    score_100(score),
                    score_100(threshold)
                ),
            ),
            (_, _, None) => ("none", "Not detected in this report".to_string()),
        })
    };

    let evidence_list = move || {
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
    };

    let report_text = move || {
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
    };

    let decide = move |change: fn(&mut crate::heat::Decisions, &str)| {
        if let Some(id) = state.selected.get_untracked() {
            state.decide(|d| change(d, &id));
        }
    };

    view! {
        <Show when=move || selected.with(Option::is_some)>
            <aside
                class="evidence-panel"
                data-testid="evidence-panel"
                data-technique-id=move || selected.with(|s| s.as_ref().map(|s| s.id.clone()))
                aria-label="Evidence"
                on:keydown=move |ev: web_sys::KeyboardEvent| {
                    if ev.key() == "Escape" {
                        state.selected.set(None);
                    }
                }
            >
                <header class="panel-head">
                    <div>
                        <span class="tid">{move || selected.with(|s| s.as_ref().map(|s| s.id.clone()))}</span>
                        <h2>{move || selected.with(|s| s.as_ref().map(|s| s.name.clone()))}</h2>
                    </div>
                    <button
                        type="button"
                        class="close"
                        aria-label="Close the evidence"
                        data-testid="evidence-close"
                        on:click=move |_| state.selected.set(None)
                    >
                        "×"
                    </button>
                </header>
                {move || {
                    let s = selected.get()?;
                    (!s.description.is_empty() || s.url.is_some()).then(|| {
                        view! {
                            <details class="technique-about" data-testid="technique-about">
                                <summary>"What this technique is"</summary>
                                <p data-testid="technique-description">{s.description.clone()}</p>
                                {s.url.clone().map(|u| view! {
                                    <a href=u target="_blank" rel="noopener noreferrer" data-testid="technique-link">
                                        "Open its page (a new tab; the report stays here)"
                                    </a>
                                })}
                            </details>
                        }
                    })
                }}
                <p
                    class=move || format!("ev-status {}", status().map(|s| s.0).unwrap_or_default())
                    data-testid="evidence-status"
                    data-status=move || status().map(|s| s.0)
                >
                    {move || status().map(|s| s.1)}
                </p>
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
                {move || {
                    selected
                        .with(|s| s.as_ref().and_then(|s| s.comment.clone()))
                        .map(|c| view! { <p class="layer-comment" data-testid="layer-comment">{c}</p> })
                }}
                <div class="evidence-scroll">{evidence_list}</div>
                <Show when=move || selected.with(|s| s.as_ref().is_some_and(|s| s.has_text))>
                    <h3 class="panel-subtitle">"In the report"</h3>
                </Show>
                <div class="report-view" data-testid="report-view" node_ref=report_view>
                    {report_text}
                </div>
            </aside>
        </Show>
    }
}
