//! The job id: which request of the page an answer of the worker belongs to.

use serde::{Deserialize, Serialize};

/// Identifies one job (a mapping or a bundle's encoding); the page numbers its jobs in
/// one sequence, so an answer of a cancelled or replaced job is recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(u64);

impl JobId {
    /// The id after this one.
    pub fn next(self) -> JobId {
        JobId(self.0 + 1)
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::JobId;

    #[test]
    fn ids_follow_each_other_and_cross_as_plain_numbers() {
        let first = JobId::default().next();
        assert_ne!(first, first.next());
        assert!(first < first.next());
        assert_eq!(serde_json::to_string(&first.next()).unwrap(), "2");
        assert_eq!(serde_json::from_str::<JobId>("2").unwrap(), first.next());
    }
}
