//! The kiosk's Slint UI. The `.slint` files under `ui/` hold every screen; this
//! crate only compiles them. The app crate renders its view model into the
//! `Intake` global and turns the global's callbacks into intake events.
//!
//! The contract with the app crate is `ui/intake.slint`: the `Screen` enum,
//! the `HistoryRow`, `CategoryTile` and `PageThumb` structs and the `Intake`
//! global, all re-exported by `ui/app.slint` next to `AppWindow`.

// The generated types (the window, the global, the structs) do not implement `Debug`.
#![allow(missing_debug_implementations)]

slint::include_modules!();
