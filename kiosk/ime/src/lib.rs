//! Pinyin input for the on-screen keyboard of the kiosk, free of IO.
//!
//! The petitioner types letters; [`Engine::segment`] shows them split into
//! syllables ("gongzi" → "gong zi"), [`Engine::candidates`] offers the words
//! and characters they may mean, most frequent first, also for initials only
//! ("gz" → 工资) and an unfinished last syllable ("tuoqia" → 拖欠).
//! [`Composer`] is the state of one composition: letters typed, candidates
//! paged to fit the candidate bar, picks that consume their syllables until
//! the whole input is converted and committed.
//!
//! The data are not typed in by hand: `build.rs` applies the character
//! readings of the `pinyin` crate to the word list and frequencies of jieba's
//! dictionary (plus `data/domain.txt`, words of petition intake) and embeds
//! the resulting table in the binary, read in place (no start-up cost).

mod composer;
mod engine;
mod table;

pub use composer::{Composer, Key, Outcome};
pub use engine::{Candidate, Engine};
