//! Fixtures the page's unit tests share: a small mapping of three techniques.

use ttpmap_mapper::{Evidence, ReportMapping, TechniqueMapping};

pub fn tm(id: &str, score: f32, evidence: &[f32]) -> TechniqueMapping {
    TechniqueMapping {
        id: id.into(),
        name: format!("name of {id}"),
        score,
        evidence: evidence
            .iter()
            .enumerate()
            .map(|(i, &s)| Evidence {
                start: i * 10,
                end: i * 10 + 5,
                score: s,
            })
            .collect(),
    }
}

pub fn mapping() -> ReportMapping {
    ReportMapping {
        threshold: 0.5,
        aggregation: Default::default(),
        sentences: 4,
        techniques: vec![
            tm("T1566.001", 0.9, &[0.9, 0.3]),
            tm("T1053.005", 0.7, &[0.7, 0.6, 0.2]),
            tm("T1003", 0.2, &[0.2]),
        ],
    }
}
