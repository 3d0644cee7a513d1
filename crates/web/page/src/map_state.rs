//! Where the app is in mapping a report; the heatmap shows it as `data-state`.

/// The stages of mapping one report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MapState {
    /// Nothing is running and no finished mapping is shown: no report mapped yet, or the
    /// last run was cancelled (its partial mapping may still be shown).
    #[default]
    Idle,
    /// The model is being downloaded and verified.
    LoadingModel,
    /// The model is scoring the report's sentences.
    Mapping,
    /// A finished mapping (or an opened layer) is shown, possibly of an older text.
    Done,
    /// Something failed; the UI says what.
    Error,
}

impl MapState {
    /// The value of the heatmap's `data-state` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::LoadingModel => "loading-model",
            Self::Mapping => "mapping",
            Self::Done => "done",
            Self::Error => "error",
        }
    }
}
