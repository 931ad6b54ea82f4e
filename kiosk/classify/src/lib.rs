//! Classification of a registration at the terminal, and repeat detection.
//!
//! - [`Taxonomy`]: the categories of petition matters (codes, display names,
//!   which kiosk tile covers each), loaded from `data/taxonomy.toml`.
//! - [`Routing`]: one deployment's rules (responsible units, weighted
//!   keywords per category and per unit, localities), loaded from a routing
//!   file such as `data/routing.example.toml`; a county edits it without a
//!   new release.
//! - [`Classifier`]: cuts the recognised page text and the description into
//!   words (jieba), scores the categories, applies the petitioner's tile and
//!   the clerk's override, picks the unit and the locality, and returns ranked
//!   [`Suggestion`]s with the words that decided them.
//! - [`repeat`]: keyed petitioner hashes, MinHash text fingerprints, the
//!   terminal's store of recent registrations and the repeat check against it
//!   and against the registry's history.
//! - [`eval`]: the evaluation set (`eval/cases.toml`) and its scoring.
//!
//! Nothing here logs; texts are only read, never stored: the repeat store
//! keeps keyed hashes and fingerprints, not text or ID numbers.

pub mod classifier;
pub mod eval;
pub mod repeat;
pub mod routing;
pub mod taxonomy;

pub use classifier::{Classifier, ClassifyInput, Decision, Suggestion};
pub use repeat::{
    check as check_repeats, EarlierCase, MatchSource, PetitionerKey, Probe, RecentRegistrations,
    RepeatAnswer, RepeatMatch, RepeatPolicy, StoredRegistration, Strength, TerminalSecret,
    TextFingerprint,
};
pub use routing::Routing;
pub use taxonomy::Taxonomy;

use std::path::PathBuf;

/// Why a taxonomy or routing file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bad {what} file")]
    Parse {
        what: &'static str,
        #[source]
        source: toml::de::Error,
    },
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
}

pub(crate) fn read_file(path: &std::path::Path) -> Result<String, ClassifyError> {
    std::fs::read_to_string(path).map_err(|source| ClassifyError::Read {
        path: path.to_path_buf(),
        source,
    })
}
