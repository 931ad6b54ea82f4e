//! The terminal application: wires the drivers, OCR, queue and uplink to the
//! intake state machine and the Slint UI.
//!
//! - [`config`]: the one typed configuration file.
//! - [`controller`]: the shell that carries out the intake machine's effects.
//! - [`view`]: the view model the screen renders.
//! - [`ui`]: the Slint adapter (the only module that knows Slint).
//! - [`cli_queue`]: the `kiosk queue` technician view and the queue's refusal texts.
//! - [`devices`]: opening the real devices, or the simulators for demo and tests.
//! - [`typing`]: the description screen's pinyin input (kiosk-ime).

pub mod cli_queue;
pub mod config;
pub mod controller;
pub mod devices;
pub mod logging;
pub mod typing;
pub mod ui;
pub mod view;
mod workers;

pub use config::Config;
pub use controller::{Controller, Devices, Sink, Stage, Timings, Update};
pub use view::ViewModel;
