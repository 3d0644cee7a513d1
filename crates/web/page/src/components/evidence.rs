//! The evidence of one technique, in a side panel: its status and score, the sentences
//! that support it (best first, with scores), the analyst's decision (dismiss, restore,
//! remove), and the report text with those sentences highlighted, scrolled to the first.
//!
//! The report is rendered as text nodes split around `<mark>` elements, never as HTML:
//! a report holding `<script>` shows it literally ([`super::evidence_parts`]).

use leptos::html;
use leptos::prelude::*;
use ttpmap_mapper::{score_100, Aggregation, TechniqueMapping};
use wasm_bindgen::JsCast;

use super::evidence_parts::{find_mark, scroll_report_to, DecisionActions, EvidenceList, ReportText};
use crate::state::AppState;
use crate::storage::Source;

/// What the panel shows about the selected technique.
#[derive(Clone, Debug, PartialEq)]
pub struct Selected {
    pub id: String,
    pub name: String,
    /// What the matrix says the technique is (empty when the matrix has no text for it).
    pub description: String,
    /// The technique's page (ATT&CK's site, or the matrix's own), when the matrix gives one.
    pub url: Option<String>,
    /// As the model (or the layer) gave it, before decisions: evidence stays readable
    /// after a dismissal.
    pub original: Option<TechniqueMapping>,
    /// After decisions.
    pub score: Option<f32>,
    pub dismissed: bool,
    pub added: bool,
    pub comment: Option<String>,
    /// Whether the session has report text (a mapped report, not an opened layer).
    pub has_text: bool,
    /// How the mapping made the score from the evidence.
    pub rule: Aggregation,
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
                <DecisionActions selected=selected />
                {move || {
                    selected
                        .with(|s| s.as_ref().and_then(|s| s.comment.clone()))
                        .map(|c| view! { <p class="layer-comment" data-testid="layer-comment">{c}</p> })
                }}
                <div class="evidence-scroll"><EvidenceList selected=selected report_view=report_view /></div>
                <Show when=move || selected.with(|s| s.as_ref().is_some_and(|s| s.has_text))>
                    <h3 class="panel-subtitle">"In the report"</h3>
                </Show>
                <div class="report-view" data-testid="report-view" node_ref=report_view>
                    <ReportText selected=selected />
                </div>
            </aside>
        </Show>
    }
}
