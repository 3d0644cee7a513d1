//! The matrix laid out for display, Navigator-style: one column per tactic, in the
//! matrix's tactic order; each column lists its top-level techniques, and each technique
//! carries the sub-techniques that belong to the same tactic.
//!
//! Built once per loaded matrix; components only read it. Kept free of web types so it is
//! tested natively.

use ttpmap_attack::{Matrix, Tactic, Technique};

/// One tactic column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub tactic_id: String,
    pub shortname: String,
    pub name: String,
    /// Top-level techniques, in the order the matrix lists them (by name).
    pub techniques: Vec<TechniqueRow>,
}

/// A top-level technique with its sub-techniques under this tactic.
#[derive(Clone, Debug, PartialEq)]
pub struct TechniqueRow {
    pub technique: Cell,
    /// Sorted by name, as ATT&CK Navigator shows them.
    pub subtechniques: Vec<Cell>,
}

/// What one cell shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    pub id: String,
    pub name: String,
}

impl From<&Technique> for Cell {
    fn from(t: &Technique) -> Self {
        Cell {
            id: t.id.clone(),
            name: t.name.clone(),
        }
    }
}

/// Lays out `matrix` as tactic columns. Technique IDs the matrix references but does not
/// define are skipped rather than failing the whole view.
pub fn columns(matrix: &Matrix) -> Vec<Column> {
    matrix
        .tactics
        .iter()
        .map(|tactic| column(matrix, tactic))
        .collect()
}

fn column(matrix: &Matrix, tactic: &Tactic) -> Column {
    let techniques = tactic
        .techniques
        .iter()
        .filter_map(|id| matrix.technique(id))
        .map(|technique| TechniqueRow {
            technique: Cell::from(technique),
            subtechniques: subtechniques(matrix, technique, tactic),
        })
        .collect();
    Column {
        tactic_id: tactic.id.clone(),
        shortname: tactic.shortname.clone(),
        name: tactic.name.clone(),
        techniques,
    }
}

fn subtechniques(matrix: &Matrix, parent: &Technique, tactic: &Tactic) -> Vec<Cell> {
    let mut cells: Vec<Cell> = parent
        .subtechniques
        .iter()
        .filter_map(|id| matrix.technique(id))
        .filter(|sub| belongs_to(sub, tactic))
        .map(Cell::from)
        .collect();
    cells.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
    cells
}

/// A sub-technique usually shares its parent's tactics; one that lists none is shown under
/// every tactic of its parent.
fn belongs_to(technique: &Technique, tactic: &Tactic) -> bool {
    technique.tactics.is_empty()
        || technique
            .tactics
            .iter()
            .any(|t| *t == tactic.shortname || *t == tactic.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn technique(id: &str, name: &str, tactics: &[&str], subs: &[&str]) -> Technique {
        Technique {
            id: id.into(),
            stix_id: String::new(),
            name: name.into(),
            description: String::new(),
            platforms: vec![],
            url: String::new(),
            tactics: tactics.iter().map(|s| s.to_string()).collect(),
            parent: id.split_once('.').map(|(p, _)| p.to_string()),
            subtechniques: subs.iter().map(|s| s.to_string()).collect(),
            links: vec![],
        }
    }

    fn tactic(id: &str, shortname: &str, techniques: &[&str]) -> Tactic {
        Tactic {
            id: id.into(),
            shortname: shortname.into(),
            name: shortname.into(),
            description: String::new(),
            url: String::new(),
            techniques: techniques.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn sample() -> Matrix {
        Matrix::new(
            "enterprise".into(),
            "Enterprise ATT&CK".into(),
            "18.1".into(),
            "enterprise-attack".into(),
            vec![
                tactic("TA0001", "initial-access", &["T1566", "T1078"]),
                tactic("TA0003", "persistence", &["T1078", "T9999"]),
            ],
            vec![
                technique(
                    "T1566",
                    "Phishing",
                    &["initial-access"],
                    &["T1566.002", "T1566.001"],
                ),
                technique(
                    "T1566.001",
                    "Spearphishing Attachment",
                    &["initial-access"],
                    &[],
                ),
                technique("T1566.002", "Spearphishing Link", &["initial-access"], &[]),
                technique(
                    "T1078",
                    "Valid Accounts",
                    &["initial-access", "persistence"],
                    &["T1078.001", "T1078.003"],
                ),
                technique(
                    "T1078.001",
                    "Default Accounts",
                    &["initial-access", "persistence"],
                    &[],
                ),
                technique("T1078.003", "Local Accounts", &["TA0003"], &[]),
            ],
            None,
        )
    }

    #[test]
    fn columns_follow_tactic_order() {
        let ids: Vec<_> = columns(&sample())
            .into_iter()
            .map(|c| c.tactic_id)
            .collect();
        assert_eq!(ids, ["TA0001", "TA0003"]);
    }

    #[test]
    fn techniques_keep_matrix_order_and_skip_unknown_ids() {
        let cols = columns(&sample());
        let ids: Vec<_> = cols[1]
            .techniques
            .iter()
            .map(|r| r.technique.id.as_str())
            .collect();
        assert_eq!(ids, ["T1078"]);
    }

    #[test]
    fn subtechniques_are_sorted_by_name() {
        let cols = columns(&sample());
        let subs: Vec<_> = cols[0].techniques[0]
            .subtechniques
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(subs, ["T1566.001", "T1566.002"]);
    }

    #[test]
    fn subtechniques_are_filtered_by_tactic_shortname_or_id() {
        let cols = columns(&sample());
        let initial: Vec<_> = cols[0].techniques[1]
            .subtechniques
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let persistence: Vec<_> = cols[1].techniques[0]
            .subtechniques
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(initial, ["T1078.001"]);
        assert_eq!(persistence, ["T1078.001", "T1078.003"]);
    }
}
