//! The terminal's one configuration file, `/etc/kiosk/kiosk.toml`.
//!
//! Loaded and validated once at start-up, then passed down; libraries never
//! read the environment or files of their own. Every setting is documented
//! here and in `kiosk/app/kiosk.example.toml`; missing settings take the
//! defaults below.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub terminal: TerminalConfig,
    pub idcard: IdCardConfig,
    pub camera: CameraConfig,
    pub ocr: OcrSettings,
    pub queue: QueueConfig,
    pub registry: RegistryConfig,
    pub ui: UiConfig,
}

/// Who this terminal is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TerminalConfig {
    /// Identifier the registry knows this terminal by; sent with every upload.
    pub id: String,
    /// Name of the hall, shown on every screen and printed on receipts.
    pub hall_name: String,
}

impl Default for TerminalConfig {
    fn default() -> Self {
        TerminalConfig { id: "unprovisioned".into(), hall_name: "便民服务中心".into() }
    }
}

/// The resident ID card reader (SAM, serial protocol).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdCardConfig {
    /// Serial device of the reader: the udev symlink, never a `ttyUSB` name.
    pub device: PathBuf,
    /// Line speed; readers default to 115200.
    pub baud: u32,
    /// How often the reader is asked for a card while the card screen shows.
    pub poll_interval_ms: u64,
    /// How long one reply may take before the reader is considered stuck.
    pub reply_timeout_ms: u64,
}

impl Default for IdCardConfig {
    fn default() -> Self {
        IdCardConfig {
            device: "/dev/kiosk/idcard".into(),
            baud: 115_200,
            poll_interval_ms: 300,
            reply_timeout_ms: 1_500,
        }
    }
}

/// The document camera.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// V4L2 capture device: the udev symlink.
    pub device: PathBuf,
    /// When set, frames come from this image sequence (printf pattern such as
    /// `/srv/pages/page-%03d.jpg`) instead of the device: for demos and tests.
    pub image_sequence: Option<String>,
    /// Milliseconds between live preview frames; 0 turns the preview off.
    pub preview_interval_ms: u64,
}

impl Default for CameraConfig {
    fn default() -> Self {
        CameraConfig {
            device: "/dev/kiosk/camera".into(),
            image_sequence: None,
            preview_interval_ms: 66,
        }
    }
}

/// Text recognition.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OcrSettings {
    /// Directory holding `<language>.traineddata`; see `ocr-models/`.
    pub tessdata_dir: PathBuf,
    /// Tesseract language; `chi_sim` (adding `eng` measured worse).
    pub language: String,
    /// Recognition worker threads; pages are recognised while the visitor goes on.
    pub workers: usize,
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            tessdata_dir: "/usr/share/tesseract-ocr/5/tessdata".into(),
            language: "chi_sim".into(),
            workers: 1,
        }
    }
}

/// The local queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// SQLite database of sealed registrations (systemd `StateDirectory`).
    pub path: PathBuf,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig { path: "/var/lib/kiosk/queue.db".into() }
    }
}

/// The central registry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistryConfig {
    /// Base URL, e.g. `https://registry.county.example`.
    pub url: String,
    /// File holding this terminal's bearer token (root-only, or a systemd credential).
    pub token_file: PathBuf,
    /// Limit for one request.
    pub request_timeout_s: u64,
    /// First retry delay after a failed upload; doubles up to `max_backoff_s`.
    pub min_backoff_s: u64,
    /// Longest delay between upload attempts.
    pub max_backoff_s: u64,
    /// How long the identity screen waits for the history before showing "unavailable".
    pub history_timeout_s: u64,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            url: "http://127.0.0.1:8700".into(),
            token_file: "/etc/kiosk/registry-token".into(),
            request_timeout_s: 20,
            min_backoff_s: 2,
            max_backoff_s: 300,
            history_timeout_s: 5,
        }
    }
}

/// Timers of the screens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Seconds without a touch before a registration in progress is wiped.
    pub inactivity_timeout_s: u64,
    /// Seconds the receipt stays on screen.
    pub receipt_timeout_s: u64,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig { inactivity_timeout_s: 120, receipt_timeout_s: 30 }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let cfg: Config = toml::from_str(&text)
            .with_context(|| format!("config {} is not valid", path.display()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that would only fail later, at a worse moment.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.terminal.id.trim().is_empty() {
            bail!("terminal.id must not be empty");
        }
        if !(self.registry.url.starts_with("http://") || self.registry.url.starts_with("https://")) {
            bail!("registry.url must start with http:// or https://");
        }
        if self.ocr.workers == 0 || self.ocr.workers > 8 {
            bail!("ocr.workers must be between 1 and 8");
        }
        if self.ui.inactivity_timeout_s < 30 {
            bail!("ui.inactivity_timeout_s must be at least 30");
        }
        if self.registry.min_backoff_s == 0 || self.registry.min_backoff_s > self.registry.max_backoff_s {
            bail!("registry.min_backoff_s must be between 1 and max_backoff_s");
        }
        Ok(())
    }

    /// Reads the registry token named by `registry.token_file`.
    pub fn read_token(&self) -> anyhow::Result<String> {
        let path = &self.registry.token_file;
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read registry token {}", path.display()))?;
        let token = token.trim().to_string();
        if token.is_empty() {
            bail!("registry token file {} is empty", path.display());
        }
        Ok(token)
    }

    pub fn inactivity(&self) -> Duration {
        Duration::from_secs(self.ui.inactivity_timeout_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses_and_validates() {
        let text = include_str!("../kiosk.example.toml");
        let cfg: Config = toml::from_str(text).expect("example parses");
        cfg.validate().expect("example is valid");
        assert_eq!(cfg.idcard.baud, 115_200);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(toml::from_str::<Config>("[idcard]\nspeed = 9600\n").is_err());
        let cfg: Config = toml::from_str("[ocr]\nworkers = 0\n").unwrap();
        let err = cfg.validate().unwrap_err().to_string();
        assert!(err.contains("ocr.workers"), "{err}");
    }
}
