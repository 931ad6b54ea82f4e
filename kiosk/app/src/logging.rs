//! The one logger set-up: stderr (journald on the terminal picks it up), with
//! the filter and the list of quietened crates in one place. Personal data
//! never reaches a log line: it travels in masked newtypes, and free text
//! from foreign errors is passed through `kiosk_privacy::redact`.

/// Installs the logger; `RUST_LOG` overrides the default filter.
pub fn init() {
    let mut b = env_logger::Builder::new();
    b.filter_level(log::LevelFilter::Info);
    for noisy in [
        "hyper",
        "hyper_util",
        "reqwest",
        "rustls",
        "h2",
        "winit",
        "i_slint_core",
        "zbus",
        "calloop",
        "sctk",
    ] {
        b.filter_module(noisy, log::LevelFilter::Warn);
    }
    if let Ok(spec) = std::env::var("RUST_LOG") {
        b.parse_filters(&spec);
    }
    b.format_timestamp_millis();
    let _ = b.try_init();
}
