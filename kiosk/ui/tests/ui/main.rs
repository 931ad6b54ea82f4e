//! UI tests of the kiosk screens, run headless on Slint's testing backend.
//!
//! `actions` activates every labelled button and checks the `Intake` callback
//! it fires; `screenshots` renders every screen with SPECIMEN data, checks the
//! touch targets, and writes the reference screenshots under `screenshots/`;
//! `typing` presses the keys of the description keyboard and the phone pad.

mod actions;
mod rating;
mod screenshots;
mod support;
mod typing;
