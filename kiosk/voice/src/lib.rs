//! Spoken prompts for the kiosk: short fixed texts per screen and situation
//! (`prompts.rs`, the one table), synthesised into WAV files when the crate
//! is built (`build.rs`, espeak-ng's Mandarin voice) and embedded in the
//! binary, then played on the terminal's audio output by `aplay` (alsa-utils)
//! on a thread of their own (`player.rs`).
//!
//! Playing never blocks the caller and never panics: a missing sound card or
//! a missing `aplay` is logged once and otherwise ignored. A hall can replace
//! any prompt with its own recording, `<dir>/<id>.wav`.

mod player;
mod prompts;
pub mod wav;

use std::path::PathBuf;

pub use player::{load, Player, PlayerConfig, Playing};
pub use prompts::Prompt;

include!(concat!(env!("OUT_DIR"), "/built.rs"));

/// What went wrong with a prompt or its playback.
#[derive(Debug, thiserror::Error)]
pub enum VoiceError {
    #[error("bad wav file: {0}")]
    BadWav(&'static str),
    #[error("prompt {0} was not synthesised at build time (espeak-ng missing)")]
    NotBuilt(&'static str),
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start aplay (install alsa-utils)")]
    Spawn(#[source] std::io::Error),
    #[error("aplay failed: {0}")]
    Aplay(String),
    #[error("cannot start the voice thread")]
    Thread(#[source] std::io::Error),
}

impl Prompt {
    /// The WAV synthesised at build time; `None` when the build had no espeak-ng.
    pub fn built_wav(self) -> Option<&'static [u8]> {
        BUILT
            .iter()
            .find(|(id, _, _)| *id == self.id())
            .map(|(_, wav, _)| *wav)
    }

    /// espeak-ng's phonemes of the prompt, as recorded at build time.
    pub fn built_phonemes(self) -> Option<&'static str> {
        BUILT
            .iter()
            .find(|(id, _, _)| *id == self.id())
            .map(|(_, _, phonemes)| *phonemes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_file_names() {
        let mut ids: Vec<&str> = Prompt::ALL.iter().map(|p| p.id()).collect();
        assert!(ids
            .iter()
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Prompt::ALL.len());
    }

    #[test]
    fn the_receipt_prompt_says_take_the_receipt() {
        assert!(Prompt::TakeReceipt.text().contains("请取走回执"));
    }
}
