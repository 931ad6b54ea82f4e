//! Signed provisioning files, and the hand-over between the root-side
//! installer and the kiosk's technician screen.
//!
//! **The signed file.** `kiosk provision make --signing-key KEY` puts four
//! comment lines in front of the provisioning TOML:
//!
//! ```text
//! # kiosk-provision-signed-v1
//! # serial = 1767225600
//! # signer = 3f2a 9c1d 77b0 e412
//! # signature = <base64 of the 64-byte Ed25519 signature>
//! format = 2
//! …
//! ```
//!
//! The signature covers `kiosk-provision-signed-v1\0`, the serial as 8
//! bytes big-endian and every byte after the fourth line (the body), so it
//! does not depend on the body's fields. The serial only ever grows (by
//! default the time of making, in seconds): the terminal keeps the serial
//! and SHA-256 of the file it installed (`provision.state` beside
//! `kiosk.toml`) and refuses an older one. The `signer` line is the
//! fingerprint of the signing key, not signed, only there to tell "signed by
//! another key" from "altered after signing". Since the header lines are TOML
//! comments, the whole file still reads as the provisioning TOML.
//!
//! **The hand-over** (a terminal that is already provisioned): the root
//! oneshot started by the stick verifies the file and stages it, unchanged,
//! as [`PENDING_FILE`] (root only) in the pending directory, with a
//! [`PendingSummary`] of what would change ([`SUMMARY_FILE`], readable by
//! group kiosk, no secrets in it). The kiosk shows the summary on its
//! technician screen; on "确认更新" it writes the SHA-256 the summary names
//! into its confirmation file (in its own state directory). A root
//! `.path` unit then runs `kiosk provision apply`, which reads that
//! confirmation, checks it names the staged file, verifies the signature
//! and the serial again and installs it.

use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The first line of a signed provisioning file.
pub const MAGIC: &str = "kiosk-provision-signed-v1";
/// Where the image keeps the deployment's public provisioning key.
pub const DEFAULT_PUBLIC_KEY: &str = "/usr/share/kiosk/provisioning.pub";
/// Where a stick's file waits for the technician's confirmation.
pub const DEFAULT_PENDING_DIR: &str = "/var/lib/kiosk-provision/pending";
/// Where the kiosk writes the confirmation (its state directory).
pub const DEFAULT_CONFIRM_FILE: &str = "/var/lib/kiosk/provision-confirm";
/// The staged signed file in the pending directory (root only).
pub const PENDING_FILE: &str = "provision.toml";
/// The summary of the staged file in the pending directory (group kiosk).
pub const SUMMARY_FILE: &str = "summary.toml";
/// The installed file's serial and hash, beside `kiosk.toml`.
pub const STATE_FILE: &str = "provision.state";
/// The largest summary or confirmation read.
pub const MAX_SMALL_FILE: u64 = 16 * 1024;

const PUBLIC_PREFIX: &str = "kiosk-provision-public-v1:";
const SECRET_PREFIX: &str = "kiosk-provision-secret-v1:";

/// Why a signed file, a key or a hand-over file was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(
        "the provisioning file is not signed: make it with \
         `kiosk provision make --signing-key provisioning.key`"
    )]
    Unsigned,
    #[error("the provisioning file's signature header is malformed: {0}")]
    Header(&'static str),
    #[error(
        "the provisioning file is signed by another key ({signer}); \
         this terminal accepts only {expected}"
    )]
    OtherKey { signer: String, expected: String },
    #[error("the provisioning file's signature does not match: it was altered after signing")]
    BadSignature,
    #[error(
        "the provisioning file is older than the installed one \
         (serial {serial}, installed {installed}): a replayed file is never installed"
    )]
    Older { serial: u64, installed: u64 },
    #[error(
        "another provisioning file with the installed serial {serial} was installed: \
         make a new one (its serial must be higher)"
    )]
    SameSerial { serial: u64 },
    #[error("bad provisioning key in {path}: {reason}")]
    Key { path: PathBuf, reason: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a plain file (a link or a device is never read)")]
    NotPlainFile { path: PathBuf },
    #[error("{path} is larger than it can be ({limit} bytes)")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{path} is malformed: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

/// Reads a plain file of at most `limit` bytes: never through a symbolic
/// link (`O_NOFOLLOW`), never a FIFO or device (`O_NONBLOCK`, then a check).
pub fn read_plain_file(path: &Path, limit: u64) -> Result<Vec<u8>, SignError> {
    let read_err = |source| SignError::Read {
        path: path.into(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits() | nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::errno::Errno::ELOOP as i32) {
                SignError::NotPlainFile { path: path.into() }
            } else {
                read_err(e)
            }
        })?;
    if !file.metadata().map_err(read_err)?.is_file() {
        return Err(SignError::NotPlainFile { path: path.into() });
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > limit {
        return Err(SignError::TooLarge {
            path: path.into(),
            limit,
        });
    }
    Ok(bytes)
}

/// A short fingerprint for a screen: the first 8 bytes of the SHA-256, in
/// groups of four hex digits (a certificate's is the start of what
/// `openssl x509 -fingerprint -sha256` prints).
pub fn fingerprint(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..8]
        .chunks(2)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The full SHA-256 of a file's bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The deployment's provisioning key (secret half). Zeroed on drop.
pub struct ProvisioningKey(SigningKey);

impl std::fmt::Debug for ProvisioningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProvisioningKey({})", self.public_key().fingerprint())
    }
}

/// The public half, built into the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisioningPublicKey(VerifyingKey);

fn decode_key<const N: usize>(text: &str, prefix: &str) -> Result<[u8; N], String> {
    let b64 = text
        .trim()
        .strip_prefix(prefix)
        .ok_or_else(|| format!("expected a line starting with {prefix}"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "not base64".to_string())?;
    bytes.try_into().map_err(|_| format!("expected {N} bytes"))
}

/// Reads a one-line key file (at most 1 KiB, never through a link; the
/// bytes read are zeroed afterwards).
fn read_key<K>(path: &Path, parse: impl Fn(&str) -> Result<K, String>) -> Result<K, SignError> {
    let bytes = zeroize::Zeroizing::new(read_plain_file(path, 1024)?);
    let key_err = |reason: String| SignError::Key {
        path: path.into(),
        reason,
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| key_err("not text".into()))?;
    parse(text).map_err(key_err)
}

impl ProvisioningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        ProvisioningKey(SigningKey::generate(
            &mut argon2::password_hash::rand_core::OsRng,
        ))
    }

    pub fn public_key(&self) -> ProvisioningPublicKey {
        ProvisioningPublicKey(self.0.verifying_key())
    }

    /// The one-line form `kiosk-provision-secret-v1:<base64>`.
    pub fn to_text(&self) -> zeroize::Zeroizing<String> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.0.to_bytes());
        zeroize::Zeroizing::new(format!("{SECRET_PREFIX}{b64}\n"))
    }

    pub fn from_text(text: &str) -> Result<Self, String> {
        let mut seed = decode_key::<32>(text, SECRET_PREFIX)?;
        let key = SigningKey::from_bytes(&seed);
        zeroize::Zeroize::zeroize(&mut seed);
        Ok(ProvisioningKey(key))
    }

    /// Reads a secret key file (at most 1 KiB, never through a link).
    pub fn read(path: &Path) -> Result<Self, SignError> {
        read_key(path, Self::from_text)
    }

    /// The signed file: the header lines, then `body` unchanged.
    pub fn sign(&self, body: &[u8], serial: u64) -> Vec<u8> {
        let signature = self.0.sign(&message(serial, body));
        let b64 = base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());
        let mut out = format!(
            "# {MAGIC}\n# serial = {serial}\n# signer = {}\n# signature = {b64}\n",
            self.public_key().fingerprint()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    }
}

impl ProvisioningPublicKey {
    /// The one-line form `kiosk-provision-public-v1:<base64>`.
    pub fn to_text(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(self.0.to_bytes());
        format!("{PUBLIC_PREFIX}{b64}\n")
    }

    pub fn from_text(text: &str) -> Result<Self, String> {
        let bytes = decode_key::<32>(text, PUBLIC_PREFIX)?;
        VerifyingKey::from_bytes(&bytes)
            .map(ProvisioningPublicKey)
            .map_err(|_| "not an Ed25519 public key".into())
    }

    /// Reads the public key file (at most 1 KiB, never through a link).
    pub fn read(path: &Path) -> Result<Self, SignError> {
        read_key(path, Self::from_text)
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(self.0.as_bytes())
    }

    /// Checks a signed file; returns its serial and body.
    pub fn verify<'a>(&self, file: &'a [u8]) -> Result<Verified<'a>, SignError> {
        let mut rest = file;
        let mut line = |prefix: &str, what: &'static str| -> Result<&'a str, SignError> {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .ok_or(SignError::Header(what))?;
            let text = std::str::from_utf8(&rest[..end]).map_err(|_| SignError::Header(what))?;
            rest = &rest[end + 1..];
            text.strip_prefix(prefix).ok_or(SignError::Header(what))
        };
        if !file.starts_with(format!("# {MAGIC}\n").as_bytes()) {
            return Err(SignError::Unsigned);
        }
        line("# ", "first line")?;
        let serial = line("# serial = ", "serial line")?
            .parse::<u64>()
            .map_err(|_| SignError::Header("serial is not a number"))?;
        let signer = line("# signer = ", "signer line")?.to_string();
        let signature = line("# signature = ", "signature line")?;
        let signature: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(SignError::Header("the signature is not 64 bytes of base64"))?;
        let body = rest;
        let expected = self.fingerprint();
        if signer != expected {
            return Err(SignError::OtherKey { signer, expected });
        }
        self.0
            .verify(&message(serial, body), &Signature::from_bytes(&signature))
            .map_err(|_| SignError::BadSignature)?;
        Ok(Verified {
            serial,
            body,
            sha256: sha256_hex(file),
        })
    }
}

fn message(serial: u64, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(MAGIC.len() + 9 + body.len());
    m.extend_from_slice(MAGIC.as_bytes());
    m.push(0);
    m.extend_from_slice(&serial.to_be_bytes());
    m.extend_from_slice(body);
    m
}

/// A signed file whose signature checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'a> {
    pub serial: u64,
    /// The provisioning TOML, as signed.
    pub body: &'a [u8],
    /// SHA-256 of the whole signed file (hex).
    pub sha256: String,
}

/// What the terminal installed last (`provision.state`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalledState {
    pub serial: u64,
    pub sha256: String,
}

impl InstalledState {
    /// The state in a configuration directory; `None` when nothing signed was installed.
    pub fn read(dir: &Path) -> Result<Option<Self>, SignError> {
        let path = dir.join(STATE_FILE);
        if !path.exists() && std::fs::symlink_metadata(&path).is_err() {
            return Ok(None);
        }
        read_toml(&path).map(Some)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Refuses a file older than this one, or another file with the same serial.
    /// The same file again is accepted (a repeated install changes nothing).
    pub fn admits(&self, v: &Verified<'_>) -> Result<(), SignError> {
        if v.serial < self.serial {
            return Err(SignError::Older {
                serial: v.serial,
                installed: self.serial,
            });
        }
        if v.serial == self.serial && v.sha256 != self.sha256 {
            return Err(SignError::SameSerial {
                serial: self.serial,
            });
        }
        Ok(())
    }
}

fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SignError> {
    let bytes = read_plain_file(path, MAX_SMALL_FILE)?;
    let malformed = |reason: String| SignError::Malformed {
        path: path.into(),
        reason,
    };
    let text = String::from_utf8(bytes).map_err(|_| malformed("not UTF-8".into()))?;
    toml::from_str(&text).map_err(|e| malformed(e.message().to_string()))
}

/// One line of the confirmation screen: what it is, what is installed, what
/// the staged file would install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRow {
    pub label: String,
    pub old: String,
    pub new: String,
}

impl ChangeRow {
    pub fn changed(&self) -> bool {
        self.old != self.new
    }
}

/// What a staged file would change, for the technician screen. Holds no
/// secret: ids, names, the URL and fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingSummary {
    /// SHA-256 of the staged signed file: what the confirmation must name.
    pub sha256: String,
    pub serial: u64,
    pub installed_serial: Option<u64>,
    /// Fingerprint of the key that signed it.
    pub signer: String,
    pub rows: Vec<ChangeRow>,
}

impl PendingSummary {
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The summary staged in `pending_dir`, if any. A malformed one is an error.
    pub fn read(pending_dir: &Path) -> Result<Option<Self>, SignError> {
        let path = pending_dir.join(SUMMARY_FILE);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            _ => {}
        }
        let s: PendingSummary = read_toml(&path)?;
        if s.sha256.len() != 64
            || !s.sha256.bytes().all(|b| b.is_ascii_hexdigit())
            || s.rows.len() > 32
        {
            return Err(SignError::Malformed {
                path,
                reason: "bad sha256 or too many rows".into(),
            });
        }
        Ok(Some(s))
    }
}

/// The kiosk's side: names the staged file the technician confirmed. The
/// file is replaced atomically; the root side reads and removes it.
pub fn write_confirmation(confirm_file: &Path, sha256: &str) -> std::io::Result<()> {
    use std::io::Write;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a SHA-256",
        ));
    }
    let name = confirm_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "provision-confirm".into());
    let tmp = confirm_file.with_file_name(format!(".{name}.new"));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&tmp)?;
    f.write_all(format!("{}\n", sha256.to_ascii_lowercase()).as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, confirm_file)
}

/// The root side: the SHA-256 a confirmation names (the file was written by
/// the unprivileged kiosk: read without following links, at most 1 KiB).
pub fn read_confirmation(confirm_file: &Path) -> Result<String, SignError> {
    let bytes = read_plain_file(confirm_file, 1024)?;
    let text = String::from_utf8(bytes).unwrap_or_default();
    let hash = text.trim();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SignError::Malformed {
            path: confirm_file.into(),
            reason: "expected one SHA-256 in hex".into(),
        });
    }
    Ok(hash.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_file_verifies_and_any_change_or_other_key_is_refused() {
        let key = ProvisioningKey::generate();
        let public = key.public_key();
        let body = b"format = 2\nterminal_id = \"hall-1\"\n";
        let signed = key.sign(body, 42);
        let v = public.verify(&signed).expect("verifies");
        assert_eq!((v.serial, v.body), (42, &body[..]));
        assert_eq!(v.sha256, sha256_hex(&signed));

        // The body altered by one byte.
        let mut altered = signed.clone();
        *altered.last_mut().unwrap() = b' ';
        assert!(matches!(
            public.verify(&altered),
            Err(SignError::BadSignature)
        ));
        // The serial raised without re-signing.
        let text = String::from_utf8(signed.clone()).unwrap();
        let raised = text.replace("# serial = 42", "# serial = 43");
        assert!(matches!(
            public.verify(raised.as_bytes()),
            Err(SignError::BadSignature)
        ));
        // Signed by another key.
        let other = ProvisioningKey::generate().sign(body, 42);
        let err = public.verify(&other).unwrap_err();
        assert!(matches!(err, SignError::OtherKey { .. }), "{err}");
        // Another key's file claiming our fingerprint still fails the signature.
        let forged: Vec<String> = String::from_utf8(other)
            .unwrap()
            .split('\n')
            .enumerate()
            .map(|(i, l)| match i {
                2 => format!("# signer = {}", public.fingerprint()),
                _ => l.to_string(),
            })
            .collect();
        assert!(matches!(
            public.verify(forged.join("\n").as_bytes()),
            Err(SignError::BadSignature)
        ));
        // Unsigned, and a broken header.
        assert!(matches!(public.verify(body), Err(SignError::Unsigned)));
        let broken = format!("# {MAGIC}\n# serial = x\n");
        assert!(matches!(
            public.verify(broken.as_bytes()),
            Err(SignError::Header(_))
        ));
    }

    #[test]
    fn keys_round_trip_through_their_text_forms() {
        let key = ProvisioningKey::generate();
        let again = ProvisioningKey::from_text(&key.to_text()).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = ProvisioningPublicKey::from_text(&key.public_key().to_text()).unwrap();
        assert_eq!(public, key.public_key());
        assert!(ProvisioningPublicKey::from_text(&key.to_text()).is_err());
        assert!(format!("{key:?}").starts_with("ProvisioningKey("));
        assert!(!format!("{key:?}").contains(key.to_text().trim()));
    }

    #[test]
    fn the_installed_state_refuses_older_files_and_other_files_of_its_serial() {
        let key = ProvisioningKey::generate();
        let p = key.public_key();
        let installed_file = key.sign(b"a", 10);
        let installed = p.verify(&installed_file).unwrap();
        let state = InstalledState {
            serial: installed.serial,
            sha256: installed.sha256.clone(),
        };
        state.admits(&installed).expect("the same file again");
        let older = key.sign(b"a", 9);
        assert!(matches!(
            state.admits(&p.verify(&older).unwrap()),
            Err(SignError::Older {
                serial: 9,
                installed: 10
            })
        ));
        let twin = key.sign(b"b", 10);
        assert!(matches!(
            state.admits(&p.verify(&twin).unwrap()),
            Err(SignError::SameSerial { serial: 10 })
        ));
        state
            .admits(&p.verify(&key.sign(b"c", 11)).unwrap())
            .expect("newer");
    }

    #[test]
    fn confirmations_name_one_hash_and_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let confirm = dir.path().join("provision-confirm");
        let hash = sha256_hex(b"x");
        write_confirmation(&confirm, &hash).unwrap();
        assert_eq!(read_confirmation(&confirm).unwrap(), hash);
        assert!(write_confirmation(&confirm, "not a hash").is_err());
        std::fs::write(&confirm, "junk\n").unwrap();
        assert!(matches!(
            read_confirmation(&confirm),
            Err(SignError::Malformed { .. })
        ));
        std::fs::remove_file(&confirm).unwrap();
        std::os::unix::fs::symlink("/etc/shadow", &confirm).unwrap();
        assert!(matches!(
            read_confirmation(&confirm),
            Err(SignError::NotPlainFile { .. })
        ));
    }
}
