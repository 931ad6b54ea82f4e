//! Spoken prompts for the kiosk: short fixed texts per screen and situation
//! (`prompts.rs`, the one table), synthesised into WAV files when the crate
//! is built (`build.rs`, espeak-ng's Mandarin voice) and embedded in the
//! binary, then played on the terminal's audio output by `aplay` (alsa-utils)
//! on a thread of their own (`player.rs`).
//!
//! Playing never blocks the caller and never panics: a missing sound card or
//! a missing `aplay` is logged once and otherwise ignored. A hall can replace
//! any prompt with its own recording, `<dir>/<id>.wav`.
//!
//! The crate also records a petitioner's voice notes: ALSA capture on a
//! thread of its own (`capture.rs`: [`Recorder`], [`Recording`]), 16 kHz mono
//! samples that wipe themselves and the silence trimming (`pcm.rs`), and the
//! notes as Ogg Opus (`note.rs`: [`VoiceNote`], its decoder, and
//! [`contains_ogg_page`]). A note plays through the same `aplay`
//! ([`Playing::start_note`]). Nothing about a note's audio is ever logged.

mod capture;
mod note;
mod pcm;
mod player;
mod prompts;
pub mod wav;
#[cfg(feature = "sim")]
pub mod sim;

use std::path::PathBuf;

pub use capture::{CaptureConfig, Recorder, Recording, DEFAULT_SPEECH_THRESHOLD_DBFS};
pub use note::{
    contains_ogg_page, decode_ogg_opus, VoiceNote, BITRATE_BPS, MAX_NOTE_BYTES, MAX_NOTE_SECONDS,
};
pub use pcm::{
    rms_dbfs, speech_span, Pcm, METER_FLOOR_DBFS, MIN_SPEECH_FRAMES, SAMPLE_RATE, SILENCE_DBFS,
    TRIM_MARGIN,
};
pub use player::{load, Player, PlayerConfig, Playing};
pub use prompts::Prompt;

include!(concat!(env!("OUT_DIR"), "/built.rs"));

/// What went wrong with a prompt, its playback, or a voice note.
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
    /// The capture device could not be opened, set up or read.
    #[error("microphone: {0}")]
    Capture(String),
    /// The capture device delivered nothing for this long.
    #[error("the microphone {device} delivered no sound for {waited_ms} ms")]
    NoInput { device: String, waited_ms: u64 },
    /// Nothing in the recording reached the speech threshold.
    #[error("no speech was heard")]
    NoSpeech,
    /// The encoder refused (or the input was out of its range).
    #[error("cannot encode the voice note: {0}")]
    Encode(String),
    /// Ogg Opus input that is too large, too long or malformed.
    #[error("bad voice note: {0}")]
    BadNote(&'static str),
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
