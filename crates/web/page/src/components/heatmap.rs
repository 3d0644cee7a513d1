//! The ATT&CK matrix as a heatmap, Navigator-style: tactic columns with technique
//! counts, technique cells coloured by score, sub-techniques that expand under their
//! parent, and a legend.
//!
//! Styling uses classes only: the Content-Security-Policy (`style-src 'self'`) forbids
//! inline `style` attributes, so each score falls in one of ten colour buckets
//! (`heat-0` … `heat-9`, see `heat::heat_class`) that style/main.css colours.
//!
//! Rows are keyed `<For>` lists over a memo per column: moving the threshold re-filters
//! and re-colours in place (cells keep their expanded state) instead of rebuilding the
//! matrix, and the model never runs again.

use std::sync::Arc;

use leptos::prelude::*;

use crate::state::{AppState, MatrixLoad};
use crate::columns::{Cell, Column, TechniqueRow};
use crate::heat::{cell_title, heat_class, hot_rows, visible_rows, SubView, BUCKETS};
use crate::map_state::MapState;

#[component]
pub fn Heatmap() -> impl IntoView {
    let state = expect_context::<AppState>();
    let data_state = move || match state.matrix.get() {
        MatrixLoad::Failed(_) => MapState::Error.as_str(),
        _ => state.map_state.get().as_str(),
    };
    let data_matrix = move || match state.matrix.get() {
        MatrixLoad::Loading => "loading",
        MatrixLoad::Ready(_) => "ready",
        MatrixLoad::Failed(_) => "error",
    };

    view! {
        <section
            class="heatmap"
            data-testid="heatmap"
            data-state=data_state
            data-matrix=data_matrix
            data-detected=move || state.index.with(|i| i.detected.to_string())
            aria-label="ATT&CK matrix"
        >
            <HeatmapHeader />
            {move || match state.matrix.get() {
                MatrixLoad::Loading => {
                    view! { <p class="placeholder">"Loading the ATT&CK matrix…"</p> }.into_any()
                }
                MatrixLoad::Failed(e) => {
                    view! {
                        <p class="error" role="alert" data-testid="matrix-error">
                            "The ATT&CK matrix could not be loaded: "{e}
                        </p>
                    }
                        .into_any()
                }
                MatrixLoad::Ready(m) => {
                    view! {
                        <div class="matrix" role="list">
                            {m.columns.iter().cloned().map(|c| view! { <TacticColumn column=c /> }).collect_view()}
                        </div>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The mapping's title and counts, and the colour legend.
#[component]
fn HeatmapHeader() -> impl IntoView {
    let state = expect_context::<AppState>();
    let title = move || {
        state.session.with(|s| {
            s.as_ref()
                .map_or_else(|| "ATT&CK matrix".to_string(), |s| s.title.clone())
        })
    };
    let summary = move || {
        let detected = state.index.with(|i| i.detected);
        let threshold = (state.threshold.get() * 100.0).round();
        state.session.with(|s| match s {
            None => "Map a report to see which techniques it describes.".to_string(),
            Some(s) => {
                let sentences = match s.mapping.sentences {
                    0 => String::new(),
                    n => format!(" in {n} sentences"),
                };
                format!(
                    "{detected} technique{} detected{sentences} at threshold {threshold}",
                    if detected == 1 { "" } else { "s" }
                )
            }
        })
    };
    let below = move |bucket: usize| {
        state.session.with(Option::is_some)
            && ((bucket + 1) as f32 / BUCKETS as f32) <= state.threshold.get()
    };
    view! {
        <div class="heatmap-header">
            <div class="heatmap-title">
                <h2 data-testid="mapping-title">{title}</h2>
                <p class="summary" data-testid="mapping-summary">{summary}</p>
            </div>
            <div class="legend" aria-label="Score colours, 0 to 100">
                <span class="legend-label">"Score"</span>
                <div class="legend-scale">
                    {(0..BUCKETS)
                        .map(|b| {
                            view! {
                                <span
                                    class=format!("swatch heat-{b}")
                                    class:below=move || below(b)
                                    title=format!("{}–{}", b * 10, b * 10 + 10)
                                ></span>
                            }
                        })
                        .collect_view()}
                </div>
                <div class="legend-ticks" aria-hidden="true">
                    <span>"0"</span>
                    <span>"50"</span>
                    <span>"100"</span>
                </div>
            </div>
        </div>
    }
}

#[component]
fn TacticColumn(column: Column) -> impl IntoView {
    let state = expect_context::<AppState>();
    let column = Arc::new(column);
    let count = column.techniques.len();
    let rows = {
        let column = column.clone();
        Memo::new(move |_| {
            let index = state.index.get();
            visible_rows(&column, &index, state.view.get())
        })
    };
    let hot_column = StoredValue::new(column.clone());
    let hot = move || {
        state
            .index
            .with(|i| hot_column.with_value(|c| hot_rows(c, i)))
    };
    view! {
        <div class="tactic" role="listitem" data-tactic-id=column.tactic_id.clone() data-tactic=column.shortname.clone()>
            <header class="tactic-header" class:has-hot=move || { hot() > 0 }>
                <h3>{column.name.clone()}</h3>
                <span class="tactic-count">
                    {format!("{count} technique{}", if count == 1 { "" } else { "s" })}
                </span>
                <Show when=move || state.session.with(Option::is_some)>
                    <span class="tactic-hot" data-testid="tactic-detected">
                        {hot}" detected"
                    </span>
                </Show>
            </header>
            <ul class="techniques">
                <For
                    each=move || rows.get()
                    key=row_key
                    children=move |row| view! { <TechniqueCell row=row /> }
                />
            </ul>
        </div>
    }
}

/// A row is re-created when the sub-techniques it lists change (detected-only view).
fn row_key(row: &TechniqueRow) -> String {
    let mut key = row.technique.id.clone();
    for s in &row.subtechniques {
        key.push('|');
        key.push_str(&s.id);
    }
    key
}

#[component]
fn TechniqueCell(row: TechniqueRow) -> impl IntoView {
    let state = expect_context::<AppState>();
    // Per cell, like Navigator: expanding a technique in one tactic leaves the others
    // alone. `None` until the analyst clicks: the row then lists its detected
    // sub-techniques, if any (see `SubView`).
    let choice = RwSignal::new(None::<bool>);
    let TechniqueRow {
        technique,
        subtechniques,
    } = row;
    let sub_count = subtechniques.len();
    let parent = StoredValue::new(technique.id.clone());
    let hot_subs = move || state.index.with(|i| i.detected_subs(&parent.read_value()));
    let show = Memo::new(move |_| SubView::of(choice.get(), hot_subs()));
    let open = move || show.get().is_open();
    let toggle = (sub_count > 0).then(|| {
        let label = format!("sub-techniques of {}", technique.id);
        view! {
            <button
                type="button"
                class="sub-toggle"
                class:has-detected=move || { hot_subs() > 0 }
                data-testid="subtechnique-toggle"
                aria-label=label
                aria-expanded=move || open().to_string()
                title=move || {
                    let shown = if show.get() == SubView::Detected {
                        " (click to show all)"
                    } else {
                        ""
                    };
                    match hot_subs() {
                        0 => format!("{sub_count} sub-techniques"),
                        n => format!("{sub_count} sub-techniques, {n} detected{shown}"),
                    }
                }
                on:click=move |_| choice.set(Some(show.get_untracked().toggled()))
            >
                <span class="sub-arrow" aria-hidden="true">
                    {move || if open() { "▾" } else { "▸" }}
                </span>
                <span class="sub-count">
                    {move || match hot_subs() {
                        0 => sub_count.to_string(),
                        n => format!("{n}/{sub_count}"),
                    }}
                </span>
            </button>
        }
    });
    let subtechniques = StoredValue::new(subtechniques);
    let listed = move || {
        let view = show.get();
        let index = state.index.get();
        subtechniques.with_value(|subs| {
            subs.iter()
                .filter(|c| view == SubView::All || index.detected(&c.id).is_some())
                .cloned()
                .collect::<Vec<_>>()
        })
    };

    view! {
        <li class="technique" class:expanded=open class:has-hot-subs=move || { hot_subs() > 0 }>
            <div class="technique-row">
                <CellBody cell=technique sub=false />
                {toggle}
            </div>
            <Show when=open>
                <ul class="subtechniques">
                    <For
                        each=listed
                        key=|c: &Cell| c.id.clone()
                        children=|cell| view! { <li><CellBody cell=cell sub=true /></li> }
                    />
                </ul>
            </Show>
        </li>
    }
}

/// One technique or sub-technique cell: coloured by score when detected; a click opens
/// its evidence.
#[component]
fn CellBody(cell: Cell, sub: bool) -> impl IntoView {
    let state = expect_context::<AppState>();
    let id = StoredValue::new(cell.id.clone());
    let name = StoredValue::new(cell.name.clone());
    // Memos per cell: a new partial mapping or a threshold step changes the index for
    // every cell, but only the cells whose own score or status changed touch the DOM
    // (the rest compare equal and stop here). This keeps streaming and the slider cheap.
    let info = Memo::new(move |_| state.index.with(|i| i.get(&id.read_value()).cloned()));
    let is_selected = Memo::new(move |_| {
        state
            .selected
            .with(|s| s.as_deref() == Some(id.read_value().as_str()))
    });
    let detected = move || {
        info.with(|c| {
            c.as_ref()
                .filter(|c| c.detected)
                .map(|c| (c.score, c.score_100(), c.added))
        })
    };
    let class = move || {
        let mut class = String::from(if sub { "cell sub" } else { "cell" });
        if let Some((score, _, added)) = detected() {
            class.push_str(" detected ");
            class.push_str(heat_class(score));
            if added {
                class.push_str(" added");
            }
        }
        if is_selected.get() {
            class.push_str(" selected");
        }
        class
    };
    let title = move || info.with(|c| cell_title(&id.read_value(), &name.read_value(), c.as_ref()));
    // Let long names such as "Search Open Websites/Domains" wrap after the slash.
    let shown_name = cell.name.replace('/', "/\u{200B}");
    view! {
        <button
            type="button"
            class=class
            data-technique-id=cell.id.clone()
            data-score=move || detected().map(|(_, s, _)| s.to_string())
            title=title
            aria-pressed=move || is_selected.get().to_string()
            on:click=move |_| {
                let id = id.get_value();
                state.selected.update(|s| {
                    *s = if s.as_deref() == Some(id.as_str()) { None } else { Some(id) };
                });
            }
        >
            <span class="tid">{cell.id.clone()}</span>
            <span class="tname">{shown_name}</span>
            {move || detected().map(|(_, s, _)| view! { <span class="score">{s}</span> })}
        </button>
    }
}
