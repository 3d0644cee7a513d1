//! The ATT&CK matrix, Navigator-style: tactic columns with technique counts, technique
//! cells, and sub-techniques that expand under their parent.
//!
//! Styling uses classes only: the Content-Security-Policy forbids inline `style`
//! attributes (per-cell colours, when scores arrive, must go through `style:` which sets
//! properties via CSSOM and is allowed).

use leptos::prelude::*;

use super::app::MatrixLoad;
use crate::columns::{Cell, Column, TechniqueRow};
use crate::state::MapState;

#[component]
pub fn Heatmap(matrix: RwSignal<MatrixLoad>, map_state: RwSignal<MapState>) -> impl IntoView {
    let data_state = move || match matrix.get() {
        MatrixLoad::Failed(_) => MapState::Error.as_str(),
        _ => map_state.get().as_str(),
    };
    let data_matrix = move || match matrix.get() {
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
            aria-label="ATT&CK matrix"
        >
            {move || match matrix.get() {
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

#[component]
fn TacticColumn(column: Column) -> impl IntoView {
    let count = column.techniques.len();
    view! {
        <div class="tactic" role="listitem" data-tactic-id=column.tactic_id data-tactic=column.shortname>
            <header class="tactic-header">
                <h2>{column.name}</h2>
                <span class="tactic-count">
                    {format!("{count} technique{}", if count == 1 { "" } else { "s" })}
                </span>
            </header>
            <ul class="techniques">
                {column.techniques.into_iter().map(|row| view! { <TechniqueCell row=row /> }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn TechniqueCell(row: TechniqueRow) -> impl IntoView {
    // Per cell, like Navigator: expanding a technique in one tactic leaves the others alone.
    let expanded = RwSignal::new(false);
    let TechniqueRow {
        technique,
        subtechniques,
    } = row;
    let sub_count = subtechniques.len();
    let toggle = (sub_count > 0).then(|| {
        let label = format!("sub-techniques of {}", technique.id);
        view! {
            <button
                type="button"
                class="sub-toggle"
                data-testid="subtechnique-toggle"
                aria-label=label
                aria-expanded=move || expanded.get().to_string()
                on:click=move |_| expanded.update(|e| *e = !*e)
            >
                <span class="sub-arrow" aria-hidden="true">
                    {move || if expanded.get() { "▾" } else { "▸" }}
                </span>
                <span class="sub-count">{sub_count}</span>
            </button>
        }
    });
    let subtechniques = StoredValue::new(subtechniques);

    view! {
        <li class="technique" class:expanded=move || expanded.get()>
            <div class="technique-row">
                <CellBody cell=technique class="cell" />
                {toggle}
            </div>
            <Show when=move || expanded.get()>
                <ul class="subtechniques">
                    {subtechniques
                        .get_value()
                        .into_iter()
                        .map(|cell| view! { <li><CellBody cell=cell class="cell sub" /></li> })
                        .collect_view()}
                </ul>
            </Show>
        </li>
    }
}

#[component]
fn CellBody(cell: Cell, class: &'static str) -> impl IntoView {
    let title = format!("{}: {}", cell.id, cell.name);
    let id = cell.id.clone();
    // Let long names such as "Search Open Websites/Domains" wrap after the slash.
    let name = cell.name.replace('/', "/\u{200B}");
    view! {
        <div class=class data-technique-id=id title=title>
            <span class="tid">{cell.id}</span>
            <span class="tname">{name}</span>
        </div>
    }
}
