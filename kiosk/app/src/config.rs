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

pub use crate::staff::StaffConfig;

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
    pub printer: PrinterSettings,
    pub ui: UiConfig,
    pub staff: StaffConfig,
    pub counter: CounterConfig,
    pub voice: VoiceConfig,
    pub technician: TechnicianConfig,
    /// Software updates from the registry's roll-out (`[update]`).
    pub update: crate::software_update::UpdateConfig,
    /// The file this configuration was loaded from (`None`: built in, as in the demo).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// The hall's counter queue (叫号).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CounterConfig {
    /// Issue and print a queue ticket after each registration.
    pub enabled: bool,
    /// The letter in front of the number: "A" gives A001, A002, …
    pub prefix: String,
    /// Where the ticket sends the petitioner, printed and shown.
    pub window: String,
}

impl Default for CounterConfig {
    fn default() -> Self {
        CounterConfig {
            enabled: false,
            prefix: "A".into(),
            window: "信访接待窗口".into(),
        }
    }
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
        TerminalConfig {
            id: "unprovisioned".into(),
            hall_name: "便民服务中心".into(),
        }
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
    /// `serial` (a SAM reader on a serial line, `device`) or `pcsc` (a PC/SC reader through pcscd).
    pub transport: CardTransport,
    /// PC/SC only: the first reader whose name contains this; empty takes the first reader.
    pub pcsc_reader: String,
    /// PC/SC only: `vendor_sam` (the vendor's `FF B0` reads) or `uid_only` (no SAM: card number only).
    pub pcsc_dialect: PcscDialect,
    /// Read the fingerprint block too (it is never stored or uploaded).
    pub read_fingerprint: bool,
}

/// How the card reader is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardTransport {
    Serial,
    Pcsc,
}

/// What a PC/SC reader can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PcscDialect {
    VendorSam,
    UidOnly,
}

impl Default for IdCardConfig {
    fn default() -> Self {
        IdCardConfig {
            device: "/dev/kiosk/idcard".into(),
            baud: 115_200,
            poll_interval_ms: 300,
            reply_timeout_ms: 1_500,
            transport: CardTransport::Serial,
            pcsc_reader: String::new(),
            pcsc_dialect: PcscDialect::VendorSam,
            read_fingerprint: false,
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
    /// `ppocr` (the default: PP-OCR, Tesseract as its fallback) or `tesseract`.
    pub engine: OcrEngineChoice,
    /// The PP-OCR model files, installed by `scripts/install-deps.sh` and
    /// the image build, checked against `ocr-models/manifest.toml` at start.
    pub ppocr_model_dir: PathBuf,
}

/// The value of `ocr.engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OcrEngineChoice {
    #[default]
    Ppocr,
    Tesseract,
}

/// How the camera prepares a page for the engine that reads it: Tesseract
/// reads best from the flattened, whitened, rule-free page; PP-OCR from the
/// page as straightened (red channel, deskewed) — on the corpus
/// (`tools/ocr-eval`) flattening raised PP-OCR's CER from 0.036 to 0.053,
/// and on photocopies from 0.11 to 0.48.
pub fn page_options(engine: kiosk_ocr::EngineKind) -> kiosk_camera::PageOptions {
    kiosk_camera::PageOptions {
        flatten_illumination: engine == kiosk_ocr::EngineKind::Tesseract,
        ..kiosk_camera::PageOptions::default()
    }
}

impl OcrSettings {
    /// The OCR pool's configuration.
    pub fn pool_config(&self) -> kiosk_ocr::OcrConfig {
        kiosk_ocr::OcrConfig {
            tessdata_dir: Some(self.tessdata_dir.clone()),
            language: self.language.clone(),
            workers: self.workers,
            orientation: true,
            engine: match self.engine {
                OcrEngineChoice::Ppocr => kiosk_ocr::EngineKind::PpOcr,
                OcrEngineChoice::Tesseract => kiosk_ocr::EngineKind::Tesseract,
            },
            pp_model_dir: self.ppocr_model_dir.clone(),
        }
    }
}

impl Default for OcrSettings {
    fn default() -> Self {
        OcrSettings {
            tessdata_dir: "/usr/share/tesseract-ocr/5/tessdata".into(),
            language: "chi_sim".into(),
            workers: 1,
            engine: OcrEngineChoice::default(),
            ppocr_model_dir: kiosk_ocr::PP_MODEL_DIR.into(),
        }
    }
}

/// The local queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// SQLite database of sealed registrations (systemd `StateDirectory`).
    pub path: PathBuf,
    /// The registry's public sealing key (`kiosk-seal-public-v1:...`), from provisioning.
    /// Every registration is sealed to it; the terminal cannot read it back.
    pub seal_key_file: PathBuf,
    /// New registrations are refused while less than this many MB are free on the queue's file system.
    pub min_free_mb: u64,
    /// The largest sealed registration accepted, in MB (below the registry's 32 MB limit).
    pub max_registration_mb: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            path: "/var/lib/kiosk/queue.db".into(),
            seal_key_file: "/etc/kiosk/registry-public-key.pem".into(),
            min_free_mb: 200,
            max_registration_mb: 24,
        }
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
    /// No longer read: the terminal holds no history lookup key (it sends the
    /// ID number over the authenticated channel and the registry computes the
    /// keyed hash). Still accepted, and ignored, so configurations written
    /// by older provisioning (format 2) load.
    pub lookup_key_file: PathBuf,
    /// Seconds between heartbeats (queue depth, oldest unsent age, version); 0 turns them off.
    pub heartbeat_s: u64,
    /// For an `https://` url (mutual TLS): the CA that signed the registry's
    /// certificate (PEM), pinned as the only CA trusted. Plain `http://` is
    /// accepted to a loopback registry only, and then the three TLS files are unused.
    pub ca_file: PathBuf,
    /// This terminal's client certificate (PEM chain) for mutual TLS.
    pub client_cert_file: PathBuf,
    /// The private key of `client_cert_file` (PEM, root-only).
    pub client_key_file: PathBuf,
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
            lookup_key_file: "/etc/kiosk/registry-lookup.key".into(),
            heartbeat_s: 300,
            ca_file: "/etc/kiosk/registry-ca.pem".into(),
            client_cert_file: "/etc/kiosk/client.pem".into(),
            client_key_file: "/etc/kiosk/client.key".into(),
        }
    }
}

/// Key files made by [`Config::provision_local_keys`] for a local registry.
#[derive(Debug, Clone)]
pub struct LocalKeys {
    /// The registry's secret sealing key (for the local registry only).
    pub seal_secret: PathBuf,
    /// The registry's public sealing key (the terminal's `queue.seal_key_file`).
    pub seal_public: PathBuf,
    /// The history lookup key (for the local registry only: the terminal
    /// holds none).
    pub lookup: PathBuf,
}

/// The receipt printer (ESC/POS).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrinterSettings {
    /// False for a hall without a printer: the receipt is shown on screen only.
    pub enabled: bool,
    /// Serial or USB printer-class device: the udev symlink.
    pub device: PathBuf,
    /// Serial line speed (ignored for USB).
    pub baud: u32,
    /// False for printers without the native QR commands: QR codes go as raster images.
    pub native_qr: bool,
    /// How long the receipt waits for the case number before it is printed with the local reference.
    pub wait_for_case_number_ms: u64,
}

impl PrinterSettings {
    /// The driver's settings for this printer.
    pub fn printer_config(&self) -> kiosk_printer::PrinterConfig {
        kiosk_printer::PrinterConfig {
            path: self.device.clone(),
            baud: self.baud,
            qr: if self.native_qr {
                kiosk_printer::escpos::QrMode::Native
            } else {
                kiosk_printer::escpos::QrMode::Raster
            },
            ..kiosk_printer::PrinterConfig::default()
        }
    }
}

impl Default for PrinterSettings {
    fn default() -> Self {
        PrinterSettings {
            enabled: true,
            device: "/dev/kiosk/printer".into(),
            baud: 115_200,
            native_qr: true,
            wait_for_case_number_ms: 3_000,
        }
    }
}

/// Timers of the screens.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Seconds without a touch before "您还在吗？" is asked on a screen with personal data.
    pub inactivity_timeout_s: u64,
    /// Seconds the "still there?" prompt waits before everything personal is wiped.
    pub still_there_s: u64,
    /// Seconds the receipt stays on screen.
    pub receipt_timeout_s: u64,
}

impl Default for UiConfig {
    fn default() -> Self {
        UiConfig {
            inactivity_timeout_s: 90,
            still_there_s: 30,
            receipt_timeout_s: 30,
        }
    }
}

/// The technician screen's diagnostics export.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TechnicianConfig {
    /// Where the diagnostics bundle is written; empty looks for the first USB
    /// stick mounted under `/media` or `/run/media`.
    pub usb_mount: PathBuf,
    /// A log file to include (redacted); empty takes the journal of `journal_unit`.
    pub log_file: PathBuf,
    /// The systemd unit whose journal goes into the bundle.
    pub journal_unit: String,
    /// How many of the latest log lines go into the bundle.
    pub log_lines: usize,
    /// Where a provisioning stick's file waits for confirmation on this
    /// screen (root writes it; `kiosk provision install --pending-dir`).
    pub provision_pending_dir: PathBuf,
    /// Where "确认更新" writes its confirmation for `kiosk provision apply`.
    pub provision_confirm_file: PathBuf,
}

impl Default for TechnicianConfig {
    fn default() -> Self {
        TechnicianConfig {
            usb_mount: PathBuf::new(),
            log_file: PathBuf::new(),
            journal_unit: "kiosk.service".into(),
            log_lines: 5000,
            provision_pending_dir: crate::provisioning::DEFAULT_PENDING_DIR.into(),
            provision_confirm_file: crate::provisioning::DEFAULT_CONFIRM_FILE.into(),
        }
    }
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let mut cfg: Config = toml::from_str(&text)
            .with_context(|| format!("config {} is not valid", path.display()))?;
        cfg.validate()?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Checks values that would only fail later, at a worse moment.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.terminal.id.trim().is_empty() {
            bail!("terminal.id must not be empty");
        }
        if !(self.registry.url.starts_with("http://") || self.registry.url.starts_with("https://"))
        {
            bail!("registry.url must start with http:// or https://");
        }
        self.update.validate()?;
        if self.ocr.workers == 0 || self.ocr.workers > 8 {
            bail!("ocr.workers must be between 1 and 8");
        }
        if self.ui.inactivity_timeout_s < 60 {
            bail!("ui.inactivity_timeout_s must be at least 60");
        }
        crate::staff::validate(&self.staff)?;
        if self.ui.still_there_s < 10 {
            bail!("ui.still_there_s must be at least 10");
        }
        if self.registry.min_backoff_s == 0
            || self.registry.min_backoff_s > self.registry.max_backoff_s
        {
            bail!("registry.min_backoff_s must be between 1 and max_backoff_s");
        }
        if self.queue.max_registration_mb == 0 || self.queue.max_registration_mb > 31 {
            bail!("queue.max_registration_mb must be between 1 and 31");
        }
        self.voice.validate()?;
        Ok(())
    }

    /// The queue settings, with the sealing key read from `queue.seal_key_file`.
    pub fn queue_options(&self) -> anyhow::Result<kiosk_queue::QueueOptions> {
        let path = &self.queue.seal_key_file;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the registry sealing key {}", path.display()))?;
        let key = registry_api::envelope::SealPublicKey::from_text(&text)
            .with_context(|| format!("bad registry sealing key {}", path.display()))?;
        Ok(kiosk_queue::QueueOptions {
            seal_key: Some(key),
            min_free_bytes: self.queue.min_free_mb.saturating_mul(1024 * 1024),
            max_sealed_bytes: usize::try_from(
                self.queue.max_registration_mb.saturating_mul(1024 * 1024),
            )
            .unwrap_or(usize::MAX),
            ..kiosk_queue::QueueOptions::default()
        })
    }

    /// The uplink's mutual-TLS material from `registry.ca_file`,
    /// `client_cert_file` and `client_key_file` when the url is `https://`;
    /// `None` for plain `http://` (which the uplink accepts for loopback only).
    pub fn client_tls(&self) -> anyhow::Result<Option<kiosk_uplink::ClientTls>> {
        let r = &self.registry;
        if !r.url.starts_with("https://") {
            return Ok(None);
        }
        let read =
            |p: &PathBuf| std::fs::read(p).with_context(|| format!("cannot read {}", p.display()));
        if !r.client_cert_file.exists() && !r.client_key_file.exists() {
            // Provisioned but not enrolled yet (`kiosk enroll`): the terminal
            // still takes registrations, which stay queued; a throwaway key,
            // never stored, gets 401 from the registry until it enrols.
            log::warn!("this terminal is not enrolled yet: registrations stay queued until `kiosk enroll --code …`");
            let (cert, key) = kiosk_uplink::make_identity(&self.terminal.id)?;
            let mut identity = cert.into_bytes();
            identity.push(b'\n');
            identity.extend(key.as_bytes());
            return Ok(Some(kiosk_uplink::ClientTls {
                registry_ca_pem: read(&r.ca_file)?,
                identity_pem: identity,
            }));
        }
        let mut identity = read(&r.client_cert_file)?;
        identity.push(b'\n');
        identity.extend(read(&r.client_key_file)?);
        Ok(Some(kiosk_uplink::ClientTls {
            registry_ca_pem: read(&r.ca_file)?,
            identity_pem: identity,
        }))
    }

    /// Reads the registry token named by `registry.token_file`.
    /// Over https an enrolled terminal needs none: a missing file reads as
    /// no token.
    pub fn read_token(&self) -> anyhow::Result<String> {
        let path = &self.registry.token_file;
        if self.registry.url.starts_with("https://") && !path.exists() {
            return Ok(String::new());
        }
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read registry token {}", path.display()))?;
        let token = token.trim().to_string();
        if token.is_empty() && !self.registry.url.starts_with("https://") {
            bail!("registry token file {} is empty", path.display());
        }
        Ok(token)
    }

    /// Makes a fresh registry key set in `dir` and points this configuration
    /// at the terminal's half of it. For the demo and the tests only: a real
    /// terminal gets its key files from provisioning, never a secret key.
    pub fn provision_local_keys(&mut self, dir: &Path) -> anyhow::Result<LocalKeys> {
        let secret = registry_api::envelope::SealSecretKey::generate();
        let keys = LocalKeys {
            seal_secret: dir.join("registry-seal.secret"),
            seal_public: dir.join("registry-seal.public"),
            lookup: dir.join("registry-lookup.key"),
        };
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (path, text) in [
            (&keys.seal_secret, secret.to_text()),
            (&keys.seal_public, secret.public_key().to_text()),
            (
                &keys.lookup,
                registry_api::envelope::LookupKey::generate().to_text(),
            ),
        ] {
            std::fs::write(path, format!("{text}\n"))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        self.queue.seal_key_file = keys.seal_public.clone();
        Ok(keys)
    }

    pub fn inactivity(&self) -> Duration {
        Duration::from_secs(self.ui.inactivity_timeout_s)
    }
}

/// Spoken prompts (`[voice]` in kiosk.toml).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceConfig {
    /// Say short prompts on the terminal's audio output.
    pub enabled: bool,
    /// The ALSA device `aplay` plays to (`default`, `plughw:1,0`, `null`).
    pub device: String,
    /// Loudness in percent of the recorded prompts (0 to 100).
    pub volume: u8,
    /// A directory of recordings that replace built-in prompts, one
    /// `<id>.wav` each (ids in kiosk/voice/src/prompts.rs); empty for none.
    pub dir: PathBuf,
    /// The ALSA capture device of the microphone for voice notes
    /// (`default`, `kiosk-mic` from the udev rules, `plughw:CARD=…`); empty:
    /// no voice notes (the description screen offers the keyboard only).
    pub capture_device: String,
    /// The longest voice note; the recording stops by itself there.
    pub note_max_s: u32,
    /// Below this level (dBFS) a 20 ms frame counts as silence: trimmed at
    /// the ends, and a note of silence only is refused.
    pub speech_threshold_dbfs: i32,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            enabled: true,
            device: "default".into(),
            volume: 80,
            dir: PathBuf::new(),
            capture_device: "default".into(),
            note_max_s: 180,
            speech_threshold_dbfs: kiosk_voice::DEFAULT_SPEECH_THRESHOLD_DBFS as i32,
        }
    }
}

impl VoiceConfig {
    /// Checks the values.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.volume > 100 {
            bail!("voice.volume must be between 0 and 100");
        }
        if self.device.trim().is_empty() {
            bail!("voice.device must not be empty");
        }
        if !(5..=600).contains(&self.note_max_s) {
            bail!("voice.note_max_s must be between 5 and 600 seconds");
        }
        if !(-80..=-10).contains(&self.speech_threshold_dbfs) {
            bail!("voice.speech_threshold_dbfs must be between -80 and -10");
        }
        Ok(())
    }

    /// How voice notes are captured; `None` when there is no microphone.
    pub fn capture(&self) -> Option<kiosk_voice::CaptureConfig> {
        let device = self.capture_device.trim();
        (!device.is_empty()).then(|| kiosk_voice::CaptureConfig {
            device: device.to_string(),
            max_seconds: self.note_max_s,
            speech_threshold_dbfs: self.speech_threshold_dbfs as f32,
            ..kiosk_voice::CaptureConfig::default()
        })
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
