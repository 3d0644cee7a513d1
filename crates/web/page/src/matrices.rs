//! Which matrix the app maps onto, and the pure logic behind the choice: the shipped
//! matrices and their files, the analyst's choice as it is kept in localStorage
//! ([`crate::storage`] keeps it), and how many prototype texts a user's STIX bundle gets
//! per technique.
//!
//! Enterprise ATT&CK is mapped by the trained classifier. The other matrices are mapped by
//! similarity with technique vectors (`ttpmap_mapper::similarity`): precomputed files for
//! ATRM and TMFK (fetched only when chosen), computed in the workers for a user's bundle.
//! Free of web types, so it runs in native tests.

use ttpmap_mapper::similarity::PrototypeConfig;

/// A matrix the analyst can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatrixChoice {
    /// Enterprise ATT&CK, mapped by the trained classifier.
    #[default]
    Enterprise,
    /// The Azure Threat Research Matrix (similarity, shipped vectors).
    Atrm,
    /// The Threat Matrix for Kubernetes (similarity and Enterprise links, shipped vectors).
    Tmfk,
    /// A STIX bundle the analyst opened (similarity, vectors computed in the browser).
    Bundle,
}

impl MatrixChoice {
    /// The shipped matrices, in the selector's order.
    pub const SHIPPED: [MatrixChoice; 3] = [MatrixChoice::Enterprise, MatrixChoice::Atrm, MatrixChoice::Tmfk];

    /// The value kept in localStorage and used by the selector.
    pub fn as_str(self) -> &'static str {
        match self {
            MatrixChoice::Enterprise => "enterprise",
            MatrixChoice::Atrm => "atrm",
            MatrixChoice::Tmfk => "tmfk",
            MatrixChoice::Bundle => "bundle",
        }
    }

    pub fn parse(s: &str) -> Option<MatrixChoice> {
        [Self::Enterprise, Self::Atrm, Self::Tmfk, Self::Bundle].into_iter().find(|c| c.as_str() == s)
    }

    /// The selector's label of a shipped matrix.
    pub fn label(self) -> &'static str {
        match self {
            MatrixChoice::Enterprise => "Enterprise ATT&CK v18.1",
            MatrixChoice::Atrm => "Azure (ATRM)",
            MatrixChoice::Tmfk => "Kubernetes (TMFK)",
            MatrixChoice::Bundle => "Opened STIX bundle",
        }
    }

    /// The compact matrix file, relative to the page (shipped matrices only).
    pub fn matrix_url(self) -> Option<String> {
        (self != MatrixChoice::Bundle).then(|| format!("matrices/{}.json", self.as_str()))
    }

    /// The technique-vectors file (ATRM and TMFK only: Enterprise uses the classifier).
    pub fn vectors_url(self) -> Option<String> {
        matches!(self, MatrixChoice::Atrm | MatrixChoice::Tmfk).then(|| format!("matrices/{}.vectors.json", self.as_str()))
    }
}

/// Prototype texts aimed at for a user's bundle: the worker encodes some 26-40 short texts
/// a second, so a 2,000-technique bundle with the shipped defaults (name, six description
/// sentences, eight examples) would take many minutes.
pub const PROTOTYPE_BUDGET: usize = 4000;

/// The prototype texts per technique for a bundle of `techniques`: the shipped defaults
/// while they fit [`PROTOTYPE_BUDGET`]; else the name and as many description sentences as
/// fit (at least one), and procedure examples only with room to spare. (The similarity
/// score map is chosen by whether examples were used, so both cases stay calibrated.)
pub fn prototype_config(techniques: usize) -> PrototypeConfig {
    let d = PrototypeConfig::default();
    let per = PROTOTYPE_BUDGET / techniques.max(1);
    if per >= 1 + d.description_sentences + d.examples {
        return d;
    }
    let description_sentences = per.saturating_sub(1).clamp(1, d.description_sentences);
    let examples = per.saturating_sub(1 + description_sentences).min(d.examples);
    PrototypeConfig { description_sentences, examples }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_round_trip_through_their_stored_form() {
        for c in [MatrixChoice::Enterprise, MatrixChoice::Atrm, MatrixChoice::Tmfk, MatrixChoice::Bundle] {
            assert_eq!(MatrixChoice::parse(c.as_str()), Some(c));
        }
        assert_eq!(MatrixChoice::parse("mobile"), None);
    }

    #[test]
    fn only_atrm_and_tmfk_fetch_vectors() {
        assert_eq!(MatrixChoice::Enterprise.vectors_url(), None);
        assert_eq!(MatrixChoice::Atrm.vectors_url().as_deref(), Some("matrices/atrm.vectors.json"));
        assert_eq!(MatrixChoice::Tmfk.matrix_url().as_deref(), Some("matrices/tmfk.json"));
        assert_eq!(MatrixChoice::Bundle.matrix_url(), None);
    }

    #[test]
    fn small_bundles_get_the_default_prototypes() {
        assert_eq!(prototype_config(100), PrototypeConfig::default());
    }

    #[test]
    fn large_bundles_get_name_and_first_sentence() {
        let c = prototype_config(2000);
        assert_eq!(c, PrototypeConfig { description_sentences: 1, examples: 0 });
        // Even beyond the budget, a technique keeps one description sentence.
        assert_eq!(prototype_config(50_000).description_sentences, 1);
        // In between, as many description sentences as fit, examples last.
        assert_eq!(prototype_config(800), PrototypeConfig { description_sentences: 4, examples: 0 });
    }
}
