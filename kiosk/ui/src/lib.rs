//! The kiosk's Slint UI. The `.slint` files under `ui/` hold every screen; this
//! crate only compiles them. The app crate renders its view model into the
//! `Intake` global and turns the global's callbacks into intake events.
slint::include_modules!();
