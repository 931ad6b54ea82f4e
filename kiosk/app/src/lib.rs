//! The terminal application: wires the drivers, OCR, queue and uplink to the
//! intake state machine and the Slint UI.
//!
//! - [`config`]: the one typed configuration file.
//! - [`controller`]: the shell that carries out the intake machine's effects
//!   (its terminal-wide parts, the per-visit state, the device threads).
//! - [`update`]: what the controller and its threads send the screen.
//! - [`registration`]: the registration built from a visit, and its fields.
//! - [`view`]: the view model the screen renders.
//! - [`ui`]: the Slint adapter (the only module that knows Slint).
//! - [`cli_queue`]: the `kiosk queue` technician view and the queue's refusal texts.
//! - [`devices`]: opening the real devices, or the simulators for demo and tests.
//! - [`staff`]: staff PINs (Argon2id), the clerk's queue rows, reprints.
//! - [`lockout`]: the staff PIN lockout kept across restarts.
//! - [`ticket`]: the day's queue ticket numbers (叫号).
//! - [`voice`]: the spoken prompt of each screen and situation.
//! - [`progress`]: what the screen says while the terminal works.
//! - [`rating`]: queuing a satisfaction rating under the keyed ID hash.
//! - [`fonts`]: makes sure the screens are drawn in Noto Sans CJK SC.
//! - [`health`], [`diagnostics`], [`technician`]: the technician screen's
//!   status rows and the diagnostics bundle.
//! - [`provisioning`]: signed provisioning files, and the staged file a
//!   technician confirms on the screen.
//! - [`typing`]: the description screen's pinyin input (kiosk-ime).

pub mod cli_diagnostics;
pub mod cli_queue;
pub mod config;
pub mod controller;
pub mod devices;
pub mod fonts;
pub mod diagnostics;
pub mod health;
pub mod lockout;
pub mod logging;
pub mod staff;
pub mod ticket;
pub mod progress;
pub mod provisioning;
pub mod typing;
pub mod rating;
pub mod software_update;
pub mod update_stick;
pub mod ui;
pub mod technician;
pub mod view;
pub mod update;
pub mod registration;
pub mod voice;

pub use config::Config;
pub use controller::{Controller, Devices};
pub use update::{Sink, Stage, Timings, Update};
pub use view::ViewModel;
