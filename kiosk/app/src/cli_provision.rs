//! `kiosk provision`: tell a terminal which hall it serves, where its registry
//! is and what its keys are, without typing on its console.
//!
//! A provisioning file (`provision.toml`, format 2, made by `kiosk provision
//! make`) holds the terminal ID, the hall name, the registry URL and bearer
//! token, the registry's CA certificate, its public sealing key (X25519) and
//! the history lookup key (both from `registry --init-keys`), and the
//! terminal's client certificate and key, all as text. `kiosk provision
//! install` validates it (for an https registry also by building the uplink's
//! TLS client from the CA, certificate and key, so that a v1 certificate or a
//! wrong key is refused here, not at the kiosk's start) and installs it under
//! `/etc/kiosk` (on the appliance
//! a link into the data partition): the keys and certificates as root-only
//! files (0600 root:root; systemd hands the token to the service with
//! `LoadCredential=`), and `kiosk.toml` with the terminal's settings and the
//! absolute paths of those files (0640 root:kiosk, no secrets in it). Every
//! file is written to a temporary name and renamed, `kiosk.toml` last, so a
//! power cut leaves the old or the new provisioning, never a mix. Format 1
//! files (before the lookup key) are refused with a request to remake them.
//!
//! Every file is signed with the deployment's provisioning key (Ed25519,
//! `kiosk provision keygen`; the format is in [`kiosk::provisioning`]) and
//! checked against the public half built into the image
//! (`/usr/share/kiosk/provisioning.pub`): an unsigned file, one signed by
//! another key, one older than the installed one (its serial), an oversized
//! or a linked one is refused with the reason, and nothing changes.
//!
//! Sources: a file path; `--auto`, the file a technician left on the data
//! partition (`/var/lib/kiosk-provision/provision.toml`, renamed once
//! applied); or `--device`, a USB stick labelled `KIOSK-PROV`, mounted
//! read-only for the read (udev/71-kiosk-provision.rules starts that).
//! A stick's file installs directly only on a terminal not yet provisioned;
//! on a provisioned one it is staged, and installed by `kiosk provision
//! apply` once a technician confirmed it on the technician screen.
//! Installing again replaces the provisioning: no reflashing.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kiosk::provisioning::{
    self, ChangeRow, InstalledState, PendingSummary, ProvisioningKey, ProvisioningPublicKey,
    SignError,
};
use registry_api::envelope::SealPublicKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};

/// The format version this build writes and accepts (3: no `lookup_key`,
/// the registry hashes ID numbers itself; `registry_token`, `client_cert` and
/// `client_key` optional: a terminal of an `https://` registry makes its own
/// key and enrols it with `kiosk enroll`, so no secret needs to travel).
pub const FORMAT: u32 = 3;
/// Where the kiosk service finds the token (`LoadCredential=` in kiosk.service).
pub const CREDENTIAL_TOKEN: &str = "/run/credentials/kiosk.service/registry-token";
/// The provisioning file on the data partition (`--auto`).
pub const DATA_PARTITION_FILE: &str = "/var/lib/kiosk-provision/provision.toml";
/// The file name on a provisioning USB stick.
pub const STICK_FILE: &str = "provision.toml";

/// Why a provisioning file was refused or could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("not a provisioning file: {0}")]
    Syntax(String),
    #[error(
        "provisioning format {0} is not supported (this kiosk reads format {FORMAT}); \
         make the file again with this version's `kiosk provision make`"
    )]
    Format(u32),
    #[error("bad terminal id: use 1-64 letters, digits, '-' or '_'")]
    TerminalId,
    #[error("bad hall name: 1-64 characters, no control characters")]
    HallName,
    #[error("bad registry url: {0}")]
    Url(String),
    #[error("bad registry token: 16-512 printable characters without spaces")]
    Token,
    #[error("bad {field}: {reason}")]
    Pem { field: &'static str, reason: String },
    #[error("bad {field}: {reason}")]
    Key { field: &'static str, reason: String },
    #[error(
        "the registry CA, client certificate and client key do not make a TLS client: \
         the certificate must be X.509 v3 and belong to the key"
    )]
    Tls,
    #[error("existing configuration {path} is not valid toml: {reason}")]
    ExistingConfig { path: PathBuf, reason: String },
    #[error("the installed configuration does not load: {0}")]
    Config(String),
    #[error("cannot mount {device}: {reason}")]
    Mount { device: PathBuf, reason: String },
    #[error("{path} is not a plain file (a link or a device is never read)")]
    NotPlainFile { path: PathBuf },
    #[error("{path} is larger than a provisioning file can be ({limit} bytes)")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("{0}")]
    Signature(SignError),
    #[error(
        "the confirmation names {confirmed}, but the staged file is {staged}: \
         nothing installed (confirm again on the technician screen)"
    )]
    NotConfirmed { confirmed: String, staged: String },
    #[error("nothing is staged in {0}")]
    NothingStaged(PathBuf),
}

/// The largest provisioning file read (a real one is a few KiB: a token,
/// two keys, a CA and a client certificate).
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The provisioning file. `Debug` masks the token and the keys.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Provisioning {
    pub format: u32,
    pub terminal_id: String,
    pub hall_name: String,
    pub registry_url: String,
    /// Only for a loopback `http://` registry (or as a second factor): an
    /// `https://` terminal is known by the key it enrols.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registry_token: String,
    /// PEM: the CA that signs the registry's TLS certificate.
    pub registry_ca: String,
    /// The registry's X25519 key that registrations are sealed to: the one-line
    /// `kiosk-seal-public-v1:` form (`seal.public`) or a `PUBLIC KEY` PEM (`seal.public.pem`).
    pub registry_public_key: String,
    /// PEM: this terminal's client certificate, if made elsewhere; empty when
    /// the terminal makes its own key (`kiosk enroll`), which is the rule.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_cert: String,
    /// PEM (PKCS#8, PKCS#1 or SEC1): this terminal's client key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_key: String,
}

impl std::fmt::Debug for Provisioning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioning")
            .field("terminal_id", &self.terminal_id)
            .field("hall_name", &self.hall_name)
            .field("registry_url", &self.registry_url)
            .field("registry_token", &"***")
            .field("client_key", &"***")
            .finish_non_exhaustive()
    }
}

fn pem_check<T: PemObject>(
    field: &'static str,
    text: &str,
    der: impl Fn(&T) -> &[u8],
) -> Result<(), ProvisionError> {
    let item = T::from_pem_slice(text.as_bytes()).map_err(|e| ProvisionError::Pem {
        field,
        reason: short_pem_error(&e),
    })?;
    // Every one of these is a DER SEQUENCE.
    if der(&item).first() != Some(&0x30) {
        return Err(ProvisionError::Pem {
            field,
            reason: "content is not DER".into(),
        });
    }
    Ok(())
}

fn short_pem_error(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::NoItemsFound => "no PEM block of the expected kind".into(),
        _ => "malformed PEM".into(),
    }
}

impl Provisioning {
    /// Parses and validates a provisioning file's text.
    pub fn parse(text: &str) -> Result<Self, ProvisionError> {
        let syntax = |e: toml::de::Error| ProvisionError::Syntax(e.message().to_string());
        // The version first: an older file lacks fields, and "missing field"
        // would hide that it only needs to be made again.
        let table: toml::Table = text.parse().map_err(syntax)?;
        match table.get("format") {
            Some(toml::Value::Integer(n)) if *n == i64::from(FORMAT) => {}
            Some(toml::Value::Integer(n)) => {
                return Err(ProvisionError::Format(
                    u32::try_from(*n).unwrap_or(u32::MAX),
                ))
            }
            _ => return Err(ProvisionError::Syntax("no integer `format`".into())),
        }
        let p: Provisioning = toml::from_str(text).map_err(syntax)?;
        p.validate()?;
        Ok(p)
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), ProvisionError> {
        if self.format != FORMAT {
            return Err(ProvisionError::Format(self.format));
        }
        let id = &self.terminal_id;
        if id.is_empty()
            || id.len() > 64
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ProvisionError::TerminalId);
        }
        let hall = self.hall_name.trim();
        if hall.is_empty() || hall.chars().count() > 64 || hall.chars().any(char::is_control) {
            return Err(ProvisionError::HallName);
        }
        let url =
            url::Url::parse(&self.registry_url).map_err(|e| ProvisionError::Url(e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(ProvisionError::Url("expected http(s)://host[:port]".into()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
            return Err(ProvisionError::Url(
                "no credentials or query in the url".into(),
            ));
        }
        let t = &self.registry_token;
        let https = url.scheme() == "https";
        if (!t.is_empty() || !https)
            && (t.len() < 16 || t.len() > 512 || !t.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err(ProvisionError::Token);
        }
        pem_check::<CertificateDer<'static>>("registry_ca", &self.registry_ca, |c| c.as_ref())?;
        SealPublicKey::from_text(&self.registry_public_key).map_err(|e| ProvisionError::Key {
            field: "registry_public_key",
            reason: e.to_string(),
        })?;
        // Both or neither: neither means the terminal makes and enrols its own.
        if !(self.client_cert.is_empty() && self.client_key.is_empty()) {
            pem_check::<CertificateDer<'static>>("client_cert", &self.client_cert, |c| c.as_ref())?;
            pem_check::<PrivateKeyDer<'static>>("client_key", &self.client_key, |k| k.secret_der())?;
        }
        Ok(())
    }

    /// Checks that the registry CA, the client certificate and its key make
    /// the uplink's TLS client (for an `https://` registry), as the kiosk will
    /// build it at start: an X.509 v1 certificate, or a key that is not the
    /// certificate's, is refused here instead of stopping the kiosk (and, by
    /// the start limit, rebooting the terminal). Makes no connection.
    pub fn check_tls(&self) -> Result<(), ProvisionError> {
        if !self.registry_url.starts_with("https://") {
            return Ok(());
        }
        // Without a client certificate in the file, the CA and URL are
        // checked with a throwaway key (the terminal makes its own at
        // `kiosk enroll`).
        let identity = if self.client_cert.is_empty() {
            let (cert, key) = kiosk_uplink::make_identity(&self.terminal_id).map_err(|_| ProvisionError::Tls)?;
            let mut v = cert.into_bytes();
            v.push(b'\n');
            v.extend(key.as_bytes());
            v
        } else {
            let mut v = self.client_cert.clone().into_bytes();
            v.push(b'\n');
            v.extend(self.client_key.as_bytes());
            v
        };
        let tls = kiosk_uplink::ClientTls {
            registry_ca_pem: self.registry_ca.clone().into_bytes(),
            identity_pem: identity,
        };
        kiosk_uplink::RegistryClient::build(
            &self.registry_url,
            &self.registry_token,
            Some(&tls),
            std::time::Duration::from_secs(10),
        )
        .map(|_| ())
        .map_err(|_| ProvisionError::Tls)
    }

    /// The file's text, as `kiosk provision make` writes it.
    pub fn to_toml(&self) -> Result<String, ProvisionError> {
        toml::to_string(self).map_err(|e| ProvisionError::Syntax(e.to_string()))
    }
}

/// Reads a provisioning file's bytes: never through a symbolic link
/// (`O_NOFOLLOW`), a plain file only, at most [`MAX_FILE_BYTES`].
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ProvisionError> {
    provisioning::read_plain_file(path, MAX_FILE_BYTES).map_err(ProvisionError::from)
}

impl From<SignError> for ProvisionError {
    fn from(e: SignError) -> Self {
        match e {
            SignError::Read { path, source } => ProvisionError::Read { path, source },
            SignError::NotPlainFile { path } => ProvisionError::NotPlainFile { path },
            SignError::TooLarge { path, limit } => ProvisionError::TooLarge { path, limit },
            other => ProvisionError::Signature(other),
        }
    }
}

/// A signed provisioning file whose signature, serial and fields checked out.
#[derive(Debug)]
pub struct Accepted {
    pub provisioning: Provisioning,
    pub state: InstalledState,
    pub signer: String,
}

/// Checks a signed file against the deployment's public key and the serial
/// installed in `target`, then its fields and TLS material. Changes nothing.
pub fn accept(
    bytes: &[u8],
    key: &ProvisioningPublicKey,
    target: &Path,
) -> Result<Accepted, ProvisionError> {
    let v = key.verify(bytes)?;
    if let Some(installed) = InstalledState::read(target)? {
        installed.admits(&v)?;
    }
    let text = std::str::from_utf8(v.body)
        .map_err(|_| ProvisionError::Syntax("the file is not UTF-8 text".into()))?;
    let p = Provisioning::parse(text)?;
    p.check_tls()?;
    Ok(Accepted {
        provisioning: p,
        state: InstalledState {
            serial: v.serial,
            sha256: v.sha256,
        },
        signer: key.fingerprint(),
    })
}

/// The files `install` writes into the configuration directory.
pub mod files {
    pub const CONFIG: &str = "kiosk.toml";
    pub const TOKEN: &str = "registry-token";
    pub const CA: &str = "registry-ca.pem";
    /// The registry's public sealing key (one-line form or PEM, as provisioned).
    pub const REGISTRY_KEY: &str = "registry-public-key.pem";
    pub const CLIENT_CERT: &str = "client.pem";
    pub const CLIENT_KEY: &str = "client.key";
}

/// Owner and group for the installed files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owners {
    /// Owner of every file (root on the terminal).
    pub uid: u32,
    /// Group that may read `kiosk.toml` (kiosk), or `None` to keep it owner-only.
    pub kiosk_gid: Option<u32>,
}

impl Owners {
    /// root, and the `kiosk` group from `/etc/group` if it exists.
    pub fn system() -> Self {
        Owners {
            uid: 0,
            kiosk_gid: group_id(Path::new("/etc/group"), "kiosk"),
        }
    }
}

/// Looks a group up in a group file.
pub fn group_id(group_file: &Path, name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(group_file).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

pub(crate) fn write_atomic(
    dir: &Path,
    name: &str,
    data: &[u8],
    mode: u32,
    uid: u32,
    gid: Option<u32>,
) -> Result<(), ProvisionError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.new"));
    let err = |source| ProvisionError::Write {
        path: path.clone(),
        source,
    };
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(data).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::os::unix::fs::chown(&tmp, Some(uid), Some(gid.unwrap_or(0))).map_err(err)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)?;
    Ok(())
}

/// The `kiosk.toml` that `install` writes into `dir`: the existing file's
/// settings with the terminal, the registry and the key file paths replaced.
/// Checked to load and validate as the kiosk will.
fn config_text(p: &Provisioning, dir: &Path, cfg_path: &Path) -> Result<String, ProvisionError> {
    let mut table: toml::Table = match std::fs::read_to_string(cfg_path) {
        Ok(text) => text
            .parse()
            .map_err(|e: toml::de::Error| ProvisionError::ExistingConfig {
                path: cfg_path.into(),
                reason: e.message().to_string(),
            })?,
        Err(_) => toml::Table::new(),
    };
    let section = |t: &mut toml::Table, name: &str| -> toml::Table {
        match t.remove(name) {
            Some(toml::Value::Table(s)) => s,
            _ => toml::Table::new(),
        }
    };
    if dir.to_str().is_none() {
        return Err(ProvisionError::Config(
            "the target directory's path is not utf-8".into(),
        ));
    }
    let path = |name: &str| toml::Value::from(dir.join(name).to_string_lossy().into_owned());
    let mut terminal = section(&mut table, "terminal");
    terminal.insert("id".into(), p.terminal_id.clone().into());
    terminal.insert("hall_name".into(), p.hall_name.trim().to_string().into());
    table.insert("terminal".into(), terminal.into());
    let mut queue = section(&mut table, "queue");
    queue.insert("seal_key_file".into(), path(files::REGISTRY_KEY));
    table.insert("queue".into(), queue.into());
    let mut registry = section(&mut table, "registry");
    registry.insert("url".into(), p.registry_url.clone().into());
    registry.insert("token_file".into(), CREDENTIAL_TOKEN.into());
    registry.remove("lookup_key_file");
    registry.insert("ca_file".into(), path(files::CA));
    registry.insert("client_cert_file".into(), path(files::CLIENT_CERT));
    registry.insert("client_key_file".into(), path(files::CLIENT_KEY));
    table.insert("registry".into(), registry.into());
    let text = format!(
        "# Written by `kiosk provision` for terminal {}; re-provision instead of editing.\n{}",
        p.terminal_id,
        toml::to_string(&table).map_err(|e| ProvisionError::Config(e.to_string()))?
    );
    // The kiosk must be able to load what we are about to install.
    let check: kiosk::Config =
        toml::from_str(&text).map_err(|e| ProvisionError::Config(e.message().to_string()))?;
    check
        .validate()
        .map_err(|e| ProvisionError::Config(format!("{e:#}")))?;
    Ok(text)
}

/// Installs `p` into `dir` (normally `/etc/kiosk`); keeps the other settings of
/// an existing `kiosk.toml`. `state` (the signed file's serial and hash) is
/// written just before `kiosk.toml`. Returns the path of the configuration written.
pub fn install(
    p: &Provisioning,
    dir: &Path,
    owners: Owners,
    state: Option<&InstalledState>,
) -> Result<PathBuf, ProvisionError> {
    p.validate()?;
    let derr = |source| ProvisionError::Write {
        path: dir.into(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(derr)?;
    std::os::unix::fs::chown(dir, Some(owners.uid), Some(owners.kiosk_gid.unwrap_or(0)))
        .map_err(derr)?;
    let dir_mode = if owners.kiosk_gid.is_some() {
        0o750
    } else {
        0o700
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(dir_mode)).map_err(derr)?;
    // kiosk.toml names the installed files by absolute path.
    let dir = std::path::absolute(dir).map_err(derr)?;
    let dir = dir.as_path();

    let cfg_path = dir.join(files::CONFIG);
    let text = config_text(p, dir, &cfg_path)?;

    let secret = |name: &str, data: &str| {
        let mut data = data.to_string();
        if !data.ends_with('\n') {
            data.push('\n');
        }
        write_atomic(dir, name, data.as_bytes(), 0o600, owners.uid, None)
    };
    // Key files the kiosk service (User=kiosk) opens itself: root-owned,
    // readable by the kiosk group only. The token instead reaches the service
    // as a systemd credential and stays root-only.
    let key_file = |name: &str, data: &str| {
        let mut data = data.to_string();
        if !data.ends_with('\n') {
            data.push('\n');
        }
        let mode = if owners.kiosk_gid.is_some() {
            0o640
        } else {
            0o600
        };
        write_atomic(
            dir,
            name,
            data.as_bytes(),
            mode,
            owners.uid,
            owners.kiosk_gid,
        )
    };
    secret(files::TOKEN, &p.registry_token)?;
    key_file(files::CA, &p.registry_ca)?;
    key_file(files::REGISTRY_KEY, p.registry_public_key.trim())?;
    // A file without a client certificate keeps the key the terminal made
    // and enrolled (`kiosk enroll`): re-provisioning does not undo enrollment.
    if !p.client_cert.is_empty() {
        key_file(files::CLIENT_CERT, &p.client_cert)?;
        key_file(files::CLIENT_KEY, &p.client_key)?;
    }
    if let Some(state) = state {
        key_file(provisioning::STATE_FILE, &state.to_toml())?;
    }

    let cfg_mode = if owners.kiosk_gid.is_some() {
        0o640
    } else {
        0o600
    };
    write_atomic(
        dir,
        files::CONFIG,
        text.as_bytes(),
        cfg_mode,
        owners.uid,
        owners.kiosk_gid,
    )?;
    Ok(cfg_path)
}

/// A certificate's fingerprint (of its DER), "（无）" without one.
fn cert_fingerprint(pem: Option<&str>) -> String {
    pem.and_then(|t| CertificateDer::from_pem_slice(t.as_bytes()).ok())
        .map(|der| provisioning::fingerprint(der.as_ref()))
        .unwrap_or_else(|| NONE.into())
}

/// The sealing key's fingerprint (of its one-line form, whichever form was given).
fn seal_fingerprint(text: Option<&str>) -> String {
    text.and_then(|t| SealPublicKey::from_text(t.trim()).ok())
        .map(|k| provisioning::fingerprint(k.to_text().as_bytes()))
        .unwrap_or_else(|| NONE.into())
}

const NONE: &str = "（无）";

/// What installing `new` into `target` would change, for the technician screen.
pub fn summary(new: &Accepted, target: &Path) -> PendingSummary {
    let read = |name: &str| {
        provisioning::read_plain_file(&target.join(name), MAX_FILE_BYTES)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    let old: toml::Table = read(files::CONFIG)
        .and_then(|t| t.parse().ok())
        .unwrap_or_default();
    let setting = |section: &str, key: &str| {
        old.get(section)
            .and_then(|s| s.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| NONE.into())
    };
    let p = &new.provisioning;
    let row = |label: &str, old: String, new: String| ChangeRow {
        label: label.into(),
        old,
        new,
    };
    PendingSummary {
        sha256: new.state.sha256.clone(),
        serial: new.state.serial,
        installed_serial: InstalledState::read(target).ok().flatten().map(|s| s.serial),
        signer: new.signer.clone(),
        rows: vec![
            row("终端编号", setting("terminal", "id"), p.terminal_id.clone()),
            row("服务大厅", setting("terminal", "hall_name"), p.hall_name.trim().into()),
            row("登记系统地址", setting("registry", "url"), p.registry_url.clone()),
            row(
                "登记系统证书",
                cert_fingerprint(read(files::CA).as_deref()),
                cert_fingerprint(Some(&p.registry_ca)),
            ),
            row(
                "封存公钥",
                seal_fingerprint(read(files::REGISTRY_KEY).as_deref()),
                seal_fingerprint(Some(&p.registry_public_key)),
            ),
            row(
                "本机证书",
                cert_fingerprint(read(files::CLIENT_CERT).as_deref()),
                if p.client_cert.is_empty() {
                    cert_fingerprint(read(files::CLIENT_CERT).as_deref())
                } else {
                    cert_fingerprint(Some(&p.client_cert))
                },
            ),
        ],
    }
}

/// Stages an accepted file for the technician's confirmation: the signed
/// bytes unchanged (root only), then the summary (group kiosk). Replaces
/// whatever was staged before.
pub fn stage(
    bytes: &[u8],
    accepted: &Accepted,
    target: &Path,
    pending_dir: &Path,
    owners: Owners,
) -> Result<PendingSummary, ProvisionError> {
    let derr = |source| ProvisionError::Write {
        path: pending_dir.into(),
        source,
    };
    std::fs::create_dir_all(pending_dir).map_err(derr)?;
    std::os::unix::fs::chown(
        pending_dir,
        Some(owners.uid),
        Some(owners.kiosk_gid.unwrap_or(0)),
    )
    .map_err(derr)?;
    let mode = if owners.kiosk_gid.is_some() { 0o750 } else { 0o700 };
    std::fs::set_permissions(pending_dir, std::fs::Permissions::from_mode(mode)).map_err(derr)?;
    let summary = summary(accepted, target);
    let _ = std::fs::remove_file(pending_dir.join(provisioning::SUMMARY_FILE));
    write_atomic(pending_dir, provisioning::PENDING_FILE, bytes, 0o600, owners.uid, None)?;
    let shown = if owners.kiosk_gid.is_some() { 0o640 } else { 0o600 };
    write_atomic(
        pending_dir,
        provisioning::SUMMARY_FILE,
        summary.to_toml().as_bytes(),
        shown,
        owners.uid,
        owners.kiosk_gid,
    )?;
    Ok(summary)
}

/// Reads the kiosk's confirmation and removes it, whatever it holds (so the
/// path unit that started us does not start us again).
pub fn take_confirmation(confirm_file: &Path) -> Result<String, ProvisionError> {
    let confirmed = provisioning::read_confirmation(confirm_file);
    let _ = std::fs::remove_file(confirm_file);
    Ok(confirmed?)
}

/// Installs the staged file the confirmation named (`confirmed`, its
/// SHA-256), after checking its signature and serial again; removes the
/// staged file once installed.
pub fn apply(
    key: &ProvisioningPublicKey,
    target: &Path,
    pending_dir: &Path,
    confirmed: &str,
    owners: Owners,
) -> Result<Accepted, ProvisionError> {
    let staged_path = pending_dir.join(provisioning::PENDING_FILE);
    if std::fs::symlink_metadata(&staged_path).is_err() {
        return Err(ProvisionError::NothingStaged(pending_dir.into()));
    }
    let bytes = read_bytes(&staged_path)?;
    let staged = provisioning::sha256_hex(&bytes);
    if staged != confirmed {
        return Err(ProvisionError::NotConfirmed {
            confirmed: confirmed.into(),
            staged,
        });
    }
    let accepted = accept(&bytes, key, target)?;
    install(&accepted.provisioning, target, owners, Some(&accepted.state))?;
    for name in [provisioning::SUMMARY_FILE, provisioning::PENDING_FILE] {
        let _ = std::fs::remove_file(pending_dir.join(name));
    }
    Ok(accepted)
}

/// What [`receive`] did with a file.
#[derive(Debug)]
pub enum Received {
    /// Installed; the path of the configuration written.
    Installed(Box<Accepted>, PathBuf),
    /// Staged for the technician's confirmation.
    Staged(PendingSummary),
    /// From a stick, the very file installed already: nothing to do.
    AlreadyInstalled,
}

/// Checks a signed file and installs it, or, from a stick on a terminal that
/// is already provisioned (`kiosk.toml` exists in `target`), stages it for
/// the technician screen. A refused file changes nothing.
pub fn receive(
    bytes: &[u8],
    key: &ProvisioningPublicKey,
    target: &Path,
    pending_dir: &Path,
    from_stick: bool,
    owners: Owners,
) -> Result<Received, ProvisionError> {
    let accepted = accept(bytes, key, target)?;
    if from_stick && target.join(files::CONFIG).exists() {
        if InstalledState::read(target)?.as_ref() == Some(&accepted.state) {
            return Ok(Received::AlreadyInstalled);
        }
        return stage(bytes, &accepted, target, pending_dir, owners).map(Received::Staged);
    }
    let cfg = install(&accepted.provisioning, target, owners, Some(&accepted.state))?;
    Ok(Received::Installed(Box::new(accepted), cfg))
}

/// A USB stick mounted read-only on a private directory; unmounted on drop.
pub(crate) struct Mounted {
    pub(crate) dir: tempfile::TempDir,
}

impl Mounted {
    pub(crate) fn new(device: &Path) -> Result<Self, ProvisionError> {
        let merr = |reason: String| ProvisionError::Mount {
            device: device.into(),
            reason,
        };
        let base = Path::new("/run");
        let dir = tempfile::Builder::new()
            .prefix("kiosk-provision-")
            .tempdir_in(base)
            .map_err(|e| merr(e.to_string()))?;
        // An explicit type (a stick is FAT) and no symbolic links followed.
        let out = std::process::Command::new("mount")
            .args(["-t", "vfat", "-o", "ro,nosuid,nodev,noexec,nosymfollow"])
            .arg(device)
            .arg(dir.path())
            .output()
            .map_err(|e| merr(e.to_string()))?;
        if !out.status.success() {
            return Err(merr(
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        Ok(Mounted { dir })
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

/// Where the provisioning file comes from.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
pub struct Source {
    /// A provisioning file.
    file: Option<PathBuf>,
    /// The file left on the data partition (/var/lib/kiosk-provision/provision.toml);
    /// renamed to provision.toml.applied once installed.
    #[arg(long)]
    auto: bool,
    /// A block device (USB stick labelled KIOSK-PROV) holding provision.toml.
    /// On a provisioned terminal its file is only staged for the technician screen.
    #[arg(long)]
    device: Option<PathBuf>,
}

/// Where the signed file is checked and staged.
#[derive(Debug, clap::Args)]
pub struct Places {
    /// Configuration directory to install into.
    #[arg(long, default_value = "/etc/kiosk")]
    target: PathBuf,
    /// The deployment's public provisioning key (built into the image).
    #[arg(long, default_value = provisioning::DEFAULT_PUBLIC_KEY)]
    public_key: PathBuf,
    /// Where a stick's file waits for the technician's confirmation.
    #[arg(long, default_value = provisioning::DEFAULT_PENDING_DIR)]
    pending_dir: PathBuf,
    /// After installing, restart kiosk.service (not after staging).
    #[arg(long)]
    restart_kiosk: bool,
}

/// `kiosk provision …`
#[derive(Debug, clap::Subcommand)]
pub enum ProvisionCmd {
    /// Check a signed provisioning file and install it (as root). From a
    /// stick (`--device`, or `--confirm-on-screen`) on a terminal that is
    /// already provisioned, it is only staged until a technician confirms it
    /// on the screen.
    Install {
        #[command(flatten)]
        source: Source,
        #[command(flatten)]
        places: Places,
        /// Stage instead of installing when the terminal is already
        /// provisioned (what `--device` does).
        #[arg(long)]
        confirm_on_screen: bool,
        /// Only check; install nothing.
        #[arg(long)]
        check: bool,
    },
    /// Install the staged file the technician confirmed on the screen (run by
    /// kiosk-provision-apply.service when the confirmation appears).
    Apply {
        #[command(flatten)]
        places: Places,
        /// The confirmation the kiosk writes.
        #[arg(long, default_value = provisioning::DEFAULT_CONFIRM_FILE)]
        confirm_file: PathBuf,
    },
    /// Make the deployment's provisioning key pair: DIR/provisioning.key
    /// (secret, 0600; keep it off the terminals) and DIR/provisioning.pub
    /// (built into the image as /usr/share/kiosk/provisioning.pub).
    Keygen {
        #[arg(long, default_value = ".")]
        out: PathBuf,
    },
    /// Produce a signed provisioning file for one terminal.
    Make {
        #[arg(long)]
        terminal_id: String,
        #[arg(long)]
        hall_name: String,
        #[arg(long)]
        registry_url: String,
        /// File holding the terminal's registry bearer token: needed for a
        /// loopback `http://` registry only (an `https://` terminal enrols its key).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// PEM file: the CA of the registry's TLS certificate.
        #[arg(long)]
        registry_ca: PathBuf,
        /// The registry's public sealing key: `seal.public` (or `seal.public.pem`)
        /// from `registry --init-keys`.
        #[arg(long)]
        registry_public_key: PathBuf,
        /// PEM file: a client certificate made elsewhere (with --client-key).
        /// Leave both out: the terminal makes its own key at `kiosk enroll`,
        /// and no secret travels on the stick.
        #[arg(long, requires = "client_key")]
        client_cert: Option<PathBuf>,
        /// PEM file: the key of --client-cert.
        #[arg(long, requires = "client_cert")]
        client_key: Option<PathBuf>,
        /// The deployment's provisioning key (`kiosk provision keygen`).
        #[arg(long)]
        signing_key: PathBuf,
        /// The file's serial; a terminal refuses one lower than it installed.
        /// Default: the time now in seconds since 1970.
        #[arg(long)]
        serial: Option<u64>,
        /// Where to write the file (mode 0600); copy it to a stick labelled KIOSK-PROV.
        #[arg(long, short)]
        out: PathBuf,
    },
}

fn read_text(path: &Path) -> Result<String, ProvisionError> {
    std::fs::read_to_string(path).map_err(|source| ProvisionError::Read {
        path: path.into(),
        source,
    })
}

fn split_out(out: &Path) -> (&Path, String) {
    (
        out.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
        out.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "provision.toml".into()),
    )
}

/// Writes a file that must not exist yet.
fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), ProvisionError> {
    let err = |source| ProvisionError::Write {
        path: path.into(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(err)?;
    f.write_all(data).and_then(|()| f.sync_all()).map_err(err)
}

fn restart_kiosk() {
    match std::process::Command::new("systemctl")
        .args(["--no-block", "restart", "kiosk.service"])
        .status()
    {
        Ok(s) if s.success() => {}
        Ok(s) => log::warn!("restarting kiosk.service: systemctl exited with {s}"),
        Err(e) => log::warn!("restarting kiosk.service: {e}"),
    }
}

/// Runs `kiosk provision …`.
pub fn run(cmd: ProvisionCmd) -> anyhow::Result<()> {
    match cmd {
        ProvisionCmd::Keygen { out } => {
            let key = ProvisioningKey::generate();
            // A new directory, as `registry --init-keys` makes its own.
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&out)
                .map_err(|source| ProvisionError::Write {
                    path: out.clone(),
                    source,
                })?;
            let secret = out.join("provisioning.key");
            let public = out.join("provisioning.pub");
            // Never over an existing key: a lost secret cannot be made again.
            write_new(&secret, key.to_text().as_bytes(), 0o600)?;
            write_new(&public, key.public_key().to_text().as_bytes(), 0o644)?;
            println!(
                "wrote {} (secret, keep it off the terminals) and {} (fingerprint {})",
                secret.display(),
                public.display(),
                key.public_key().fingerprint()
            );
            Ok(())
        }
        ProvisionCmd::Make {
            terminal_id,
            hall_name,
            registry_url,
            token_file,
            registry_ca,
            registry_public_key,
            client_cert,
            client_key,
            signing_key,
            serial,
            out,
        } => {
            let key = ProvisioningKey::read(&signing_key)?;
            let p = Provisioning {
                format: FORMAT,
                terminal_id,
                hall_name,
                registry_url,
                registry_token: token_file.as_deref().map(read_text).transpose()?.unwrap_or_default().trim().to_string(),
                registry_ca: read_text(&registry_ca)?,
                registry_public_key: read_text(&registry_public_key)?.trim().to_string(),
                client_cert: client_cert.as_deref().map(read_text).transpose()?.unwrap_or_default(),
                client_key: client_key.as_deref().map(read_text).transpose()?.unwrap_or_default(),
            };
            p.validate()?;
            p.check_tls()?;
            let serial = serial.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            });
            let signed = key.sign(p.to_toml()?.as_bytes(), serial);
            let (dir, name) = split_out(&out);
            write_atomic(dir, &name, &signed, 0o600, current_uid(), None)?;
            println!(
                "wrote {} for terminal {} ({}), serial {serial}, signed by {}",
                out.display(),
                p.terminal_id,
                p.hall_name,
                key.public_key().fingerprint()
            );
            Ok(())
        }
        ProvisionCmd::Install {
            source,
            places,
            confirm_on_screen,
            check,
        } => {
            let key = ProvisioningPublicKey::read(&places.public_key)?;
            let stick = source.device.is_some() || confirm_on_screen;
            let (bytes, applied_from) = if let Some(file) = source.file {
                (read_bytes(&file)?, None)
            } else if source.auto {
                let f = PathBuf::from(DATA_PARTITION_FILE);
                (read_bytes(&f)?, Some(f))
            } else if let Some(device) = source.device {
                let m = Mounted::new(&device)?;
                (read_bytes(&m.dir.path().join(STICK_FILE))?, None)
            } else {
                anyhow::bail!("name a provisioning file, --auto or --device");
            };
            if check {
                let a = accept(&bytes, &key, &places.target)?;
                println!(
                    "provisioning file is valid: terminal {} ({}), serial {}",
                    a.provisioning.terminal_id, a.provisioning.hall_name, a.state.serial
                );
                return Ok(());
            }
            let received = receive(
                &bytes,
                &key,
                &places.target,
                &places.pending_dir,
                stick,
                Owners::system(),
            );
            let (accepted, cfg) = match received {
                Ok(Received::Installed(a, cfg)) => (*a, cfg),
                Ok(Received::Staged(s)) => {
                    log::info!(
                        "provisioning file (serial {}) staged: confirm it on the technician screen",
                        s.serial
                    );
                    println!(
                        "staged for confirmation on the technician screen (serial {}, sha256 {})",
                        s.serial, s.sha256
                    );
                    return Ok(());
                }
                Ok(Received::AlreadyInstalled) => {
                    println!("this provisioning file is installed already: nothing to do");
                    return Ok(());
                }
                Err(e) => {
                    log::error!("provisioning file refused: {e}");
                    return Err(e.into());
                }
            };
            let p = &accepted.provisioning;
            if let Some(f) = applied_from {
                let done = f.with_extension("toml.applied");
                std::fs::rename(&f, &done)
                    .map_err(|source| ProvisionError::Write { path: done, source })?;
            }
            log::info!(
                "provisioned: terminal {} now serves {} ({}, serial {})",
                p.terminal_id,
                p.hall_name,
                cfg.display(),
                accepted.state.serial
            );
            println!("terminal {} now serves {}", p.terminal_id, p.hall_name);
            if places.restart_kiosk {
                restart_kiosk();
            }
            Ok(())
        }
        ProvisionCmd::Apply {
            places,
            confirm_file,
        } => {
            let applied = take_confirmation(&confirm_file).and_then(|confirmed| {
                let key = ProvisioningPublicKey::read(&places.public_key)?;
                apply(
                    &key,
                    &places.target,
                    &places.pending_dir,
                    &confirmed,
                    Owners::system(),
                )
            });
            let accepted = match applied {
                Ok(a) => a,
                Err(e) => {
                    log::error!("confirmed provisioning not applied: {e}");
                    return Err(e.into());
                }
            };
            let p = &accepted.provisioning;
            log::info!(
                "provisioned on the technician's confirmation: terminal {} now serves {} (serial {})",
                p.terminal_id,
                p.hall_name,
                accepted.state.serial
            );
            println!("terminal {} now serves {}", p.terminal_id, p.hall_name);
            if places.restart_kiosk {
                restart_kiosk();
            }
            Ok(())
        }
    }
}

pub(crate) fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry_api::envelope::SealSecretKey;
    use std::os::unix::fs::MetadataExt;

    fn pem(label: &str, der: &[u8]) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n")
    }

    // Real registry keys; DER-shaped placeholders for the certificates:
    // validation checks the PEM kind and the DER SEQUENCE tag, not their contents.
    fn sample() -> Provisioning {
        Provisioning {
            format: FORMAT,
            terminal_id: "hall-0815".into(),
            hall_name: "东岭镇便民服务中心".into(),
            registry_url: "https://registry.example.gov.cn:8443".into(),
            registry_token: "tok-0123456789abcdef".into(),
            registry_ca: pem("CERTIFICATE", &[0x30, 0x03, 0x02, 0x01, 0x01]),
            registry_public_key: SealSecretKey::generate().public_key().to_text(),
            client_cert: pem("CERTIFICATE", &[0x30, 0x03, 0x02, 0x01, 0x03]),
            client_key: pem("PRIVATE KEY", &[0x30, 0x03, 0x02, 0x01, 0x04]),
        }
    }

    /// A CA and a v3 client certificate made by it: (CA PEM, certificate PEM,
    /// its key PEM, another key PEM).
    fn real_client_material() -> (String, String, String, String) {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer =
            CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("key")).expect("ca");
        let key = KeyPair::generate().expect("key");
        let cert = CertificateParams::new(vec!["hall-0815".to_string()])
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("leaf");
        let other = KeyPair::generate().expect("key");
        (
            issuer.pem(),
            cert.pem(),
            key.serialize_pem(),
            other.serialize_pem(),
        )
    }

    #[test]
    fn the_tls_material_must_make_a_client() {
        let (ca, cert, key, other_key) = real_client_material();
        let mut p = sample();
        p.registry_ca = ca;
        p.client_cert = cert;
        p.client_key = key;
        p.validate().expect("valid");
        p.check_tls().expect("usable TLS material");
        // A key that is not the certificate's passes the PEM checks but
        // cannot make the client: refused, with a reason a technician can act on.
        p.client_key = other_key;
        p.validate().expect("PEM kinds are right");
        let err = p.check_tls().expect_err("mismatched key");
        assert!(matches!(err, ProvisionError::Tls), "{err}");
        assert!(err.to_string().contains("X.509 v3"), "{err}");
        // So is a certificate that is no certificate at all.
        let mut p = sample();
        p.client_key = real_client_material().2;
        assert!(matches!(p.check_tls(), Err(ProvisionError::Tls)));
        // Plain http (a loopback registry: the demo) needs no TLS material.
        p.registry_url = "http://127.0.0.1:8700".into();
        p.check_tls().expect("http");
    }

    #[test]
    fn a_made_file_parses_back() {
        let p = sample();
        let text = p.to_toml().expect("toml");
        assert_eq!(Provisioning::parse(&text).expect("valid"), p);
        // The PEM form of the sealing key (`seal.public.pem`) is accepted too.
        let mut p = sample();
        p.registry_public_key = SealSecretKey::generate().public_key().to_pem();
        let text = p.to_toml().expect("toml");
        assert_eq!(Provisioning::parse(&text).expect("valid"), p);
    }

    #[test]
    fn a_link_a_fifo_or_an_oversized_file_is_never_read() {
        let dir = tempfile::tempdir().expect("dir");
        let good = dir.path().join("provision.toml");
        let p = sample();
        std::fs::write(&good, p.to_toml().expect("toml")).expect("write");
        let read_file = |path: &Path| {
            read_bytes(path).map(|b| Provisioning::parse(std::str::from_utf8(&b).unwrap()).unwrap())
        };
        assert_eq!(read_file(&good).expect("a plain file is read"), p);
        // A stick's provision.toml that links elsewhere (say, to a root-only file).
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink(&good, &link).expect("symlink");
        let err = read_file(&link).unwrap_err();
        assert!(matches!(err, ProvisionError::NotPlainFile { .. }), "{err}");
        // A FIFO would block a reader forever.
        let fifo = dir.path().join("fifo.toml");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).expect("mkfifo");
        let err = read_file(&fifo).unwrap_err();
        assert!(matches!(err, ProvisionError::NotPlainFile { .. }), "{err}");
        // A huge file is not read whole.
        let big = dir.path().join("big.toml");
        let mut text = sample().to_toml().expect("toml");
        text.push_str(&format!("# {}\n", "x".repeat(MAX_FILE_BYTES as usize)));
        std::fs::write(&big, text).expect("write");
        let err = read_file(&big).unwrap_err();
        assert!(matches!(err, ProvisionError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn a_format_1_file_is_refused_with_a_clear_reason() {
        // What `kiosk provision make` wrote before the lookup key.
        let mut old: toml::Table = sample().to_toml().expect("toml").parse().expect("table");
        old.insert("format".into(), 1.into());
        let err = Provisioning::parse(&toml::to_string(&old).expect("toml")).expect_err("old");
        assert!(matches!(err, ProvisionError::Format(1)), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("format 1") && msg.contains("kiosk provision make"),
            "{msg}"
        );
        assert!(matches!(
            Provisioning::parse("terminal_id = \"x\"\n"),
            Err(ProvisionError::Syntax(_))
        ));
    }

    #[test]
    fn bad_fields_are_refused_with_a_reason() {
        let mut p = sample();
        p.terminal_id = "hall 1; rm".into();
        assert!(matches!(p.validate(), Err(ProvisionError::TerminalId)));
        let mut p = sample();
        p.hall_name = "  ".into();
        assert!(matches!(p.validate(), Err(ProvisionError::HallName)));
        let mut p = sample();
        p.registry_url = "ftp://x".into();
        assert!(matches!(p.validate(), Err(ProvisionError::Url(_))));
        let mut p = sample();
        p.registry_url = "https://user:pw@x".into();
        assert!(matches!(p.validate(), Err(ProvisionError::Url(_))));
        let mut p = sample();
        p.registry_token = "short".into();
        assert!(matches!(p.validate(), Err(ProvisionError::Token)));
        let mut p = sample();
        p.client_key = p.client_cert.clone();
        assert!(matches!(
            p.validate(),
            Err(ProvisionError::Pem {
                field: "client_key",
                ..
            })
        ));
        let mut p = sample();
        p.registry_ca = pem("CERTIFICATE", b"not der");
        assert!(matches!(
            p.validate(),
            Err(ProvisionError::Pem {
                field: "registry_ca",
                ..
            })
        ));
        let mut p = sample();
        p.format = 4;
        assert!(matches!(p.validate(), Err(ProvisionError::Format(4))));
        assert!(matches!(
            Provisioning::parse("format = 3\nsurprise = 2\n"),
            Err(ProvisionError::Syntax(_))
        ));
        // The registry's key is X25519: any other public key is refused.
        let mut p = sample();
        p.registry_public_key = pem("PUBLIC KEY", &[0x30, 0x03, 0x02, 0x01, 0x02]);
        assert!(matches!(
            p.validate(),
            Err(ProvisionError::Key {
                field: "registry_public_key",
                ..
            })
        ));
        // A format 2 file (with the lookup key) is refused: make it again.
        let mut old: toml::Table = sample().to_toml().expect("toml").parse().expect("table");
        old.insert("format".into(), 2.into());
        old.insert("lookup_key".into(), "kiosk-lookup-key-v1:AAAA".into());
        assert!(matches!(
            Provisioning::parse(&toml::to_string(&old).expect("toml")),
            Err(ProvisionError::Format(2))
        ));
        // A client certificate without its key is refused.
        let mut p = sample();
        p.client_key = String::new();
        assert!(p.validate().is_err());
        // Over plain http the token is the only credential: it is required.
        let mut p = sample();
        p.registry_url = "http://127.0.0.1:8700".into();
        p.registry_token = String::new();
        assert!(matches!(p.validate(), Err(ProvisionError::Token)));
    }

    #[test]
    fn debug_and_errors_do_not_show_secrets() {
        let p = sample();
        let dbg = format!("{p:?}");
        assert!(!dbg.contains("tok-0123456789abcdef"), "{dbg}");
        let mut bad = sample();
        bad.registry_token = "has space in the token value".into();
        assert!(!bad
            .validate()
            .expect_err("bad")
            .to_string()
            .contains("space in"));
    }

    #[test]
    fn install_writes_root_only_secrets_and_a_loadable_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("etc-kiosk");
        std::fs::create_dir_all(&target).expect("mkdir");
        // An existing configuration keeps its other settings.
        std::fs::write(
            target.join(files::CONFIG),
            "[camera]\npreview_interval_ms = 100\n[terminal]\nid = \"old\"\n\
             [queue]\nseal_key_file = \"/old/seal\"\nmin_free_mb = 300\n\
             [registry]\nheartbeat_s = 60\nca_file = \"/old/ca.pem\"\n",
        )
        .expect("seed");
        let uid = current_uid();
        let owners = Owners {
            uid,
            kiosk_gid: None,
        };
        let p = sample();
        let cfg_path = install(&p, &target, owners, None).expect("install");
        for name in [
            files::TOKEN,
            files::CA,
            files::REGISTRY_KEY,
            files::CLIENT_CERT,
            files::CLIENT_KEY,
            files::CONFIG,
        ] {
            let m = std::fs::metadata(target.join(name)).expect(name);
            assert_eq!(m.mode() & 0o777, 0o600, "{name}");
            assert_eq!(m.uid(), uid, "{name}");
        }
        assert_eq!(
            std::fs::metadata(&target).expect("dir").mode() & 0o777,
            0o700
        );
        let cfg = kiosk::Config::load(&cfg_path).expect("the kiosk loads it");
        assert_eq!(cfg.terminal.id, "hall-0815");
        assert_eq!(cfg.terminal.hall_name, "东岭镇便民服务中心");
        assert_eq!(cfg.registry.url, "https://registry.example.gov.cn:8443");
        assert_eq!(cfg.registry.token_file, PathBuf::from(CREDENTIAL_TOKEN));
        assert_eq!(cfg.camera.preview_interval_ms, 100);
        assert_eq!(cfg.queue.min_free_mb, 300);
        assert_eq!(cfg.registry.heartbeat_s, 60);
        // The key and TLS files are named by absolute path, and load.
        assert!(target.is_absolute());
        assert_eq!(cfg.queue.seal_key_file, target.join(files::REGISTRY_KEY));
        assert_eq!(cfg.registry.ca_file, target.join(files::CA));
        assert_eq!(
            cfg.registry.client_cert_file,
            target.join(files::CLIENT_CERT)
        );
        assert_eq!(cfg.registry.client_key_file, target.join(files::CLIENT_KEY));
        let queue = cfg.queue_options().expect("the sealing key loads");
        assert_eq!(
            queue.seal_key,
            Some(SealPublicKey::from_text(&p.registry_public_key).expect("key"))
        );
        let tls = cfg.client_tls().expect("tls files").expect("https");
        assert_eq!(tls.registry_ca_pem, p.registry_ca.as_bytes());
        assert_eq!(
            std::fs::read_to_string(target.join(files::TOKEN)).expect("token"),
            "tok-0123456789abcdef\n"
        );
        assert!(!std::fs::read_dir(&target).expect("ls").any(|e| e
            .map(|e| e.file_name().to_string_lossy().starts_with('.'))
            .unwrap_or(true)));

        // Re-provisioning replaces it.
        let mut again = sample();
        again.hall_name = "西坡乡便民服务中心".into();
        install(&again, &target, owners, None).expect("reinstall");
        let cfg = kiosk::Config::load(&cfg_path).expect("load");
        assert_eq!(cfg.terminal.hall_name, "西坡乡便民服务中心");
    }

    #[test]
    fn a_file_without_secrets_installs_and_keeps_the_enrolled_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("etc-kiosk");
        let owners = Owners {
            uid: current_uid(),
            kiosk_gid: None,
        };
        // The terminal's own key, as `kiosk enroll` left it.
        install(&sample(), &target, owners, None).expect("install");
        std::fs::write(target.join(files::CLIENT_KEY), "ENROLLED KEY\n").expect("key");
        std::fs::write(target.join(files::CLIENT_CERT), "ENROLLED CERT\n").expect("cert");
        let mut p = sample();
        p.registry_token = String::new();
        p.client_cert = String::new();
        p.client_key = String::new();
        p.registry_ca = real_client_material().0;
        let text = p.to_toml().expect("toml");
        for secret in ["registry_token", "client_key", "client_cert", "lookup_key", "PRIVATE KEY"] {
            assert!(!text.contains(secret), "{secret} in a file without secrets:\n{text}");
        }
        assert_eq!(Provisioning::parse(&text).expect("valid"), p);
        p.check_tls().expect("the CA and url are checked with a throwaway key");
        install(&p, &target, owners, None).expect("install without secrets");
        assert_eq!(
            std::fs::read_to_string(target.join(files::CLIENT_KEY)).expect("key"),
            "ENROLLED KEY\n",
            "re-provisioning keeps the enrolled key"
        );
        let cfg = kiosk::Config::load(&target.join(files::CONFIG)).expect("loads");
        assert_eq!(cfg.registry.client_key_file, target.join(files::CLIENT_KEY));
        assert!(!target.join("registry-lookup.key").exists());
        // Before `kiosk enroll` there is no key at all: the kiosk still
        // starts its uplink (a throwaway key the registry refuses, so
        // registrations stay queued) instead of failing at start.
        std::fs::remove_file(target.join(files::CLIENT_KEY)).expect("rm key");
        std::fs::remove_file(target.join(files::CLIENT_CERT)).expect("rm cert");
        let tls = cfg.client_tls().expect("unenrolled still starts").expect("https");
        assert!(!target.join(files::CLIENT_KEY).exists(), "the throwaway key is never stored");
        kiosk_uplink::RegistryClient::build(&cfg.registry.url, "", Some(&tls), std::time::Duration::from_secs(5))
            .expect("the uplink can be built before enrollment");
    }

    #[test]
    fn install_with_the_kiosk_group_lets_it_read_the_config_and_keys_but_not_the_token() {
        let dir = tempfile::tempdir().expect("tempdir");
        let group = dir.path().join("group");
        std::fs::write(&group, "root:x:0:\nkiosk:x:4242:\n").expect("group");
        let gid = group_id(&group, "kiosk");
        assert_eq!(gid, Some(4242));
        if current_uid() != 0 {
            return; // chown to another group needs root; CI runs as root.
        }
        let target = dir.path().join("etc-kiosk");
        install(
            &sample(),
            &target,
            Owners {
                uid: 0,
                kiosk_gid: gid,
            },
            None,
        )
        .expect("install");
        let cfg = std::fs::metadata(target.join(files::CONFIG)).expect("cfg");
        assert_eq!((cfg.mode() & 0o777, cfg.gid()), (0o640, 4242));
        // The service (User=kiosk) opens its key files itself; the token reaches
        // it only as a systemd credential.
        for name in [
            files::CLIENT_KEY,
            files::CA,
            files::CLIENT_CERT,
            files::REGISTRY_KEY,
        ] {
            let key = std::fs::metadata(target.join(name)).expect(name);
            assert_eq!(
                (key.mode() & 0o777, key.gid(), key.uid()),
                (0o640, 4242, 0),
                "{name}"
            );
        }
        let token = std::fs::metadata(target.join(files::TOKEN)).expect("token");
        assert_eq!((token.mode() & 0o777, token.gid()), (0o600, 0));
        assert_eq!(
            std::fs::metadata(&target).expect("dir").mode() & 0o777,
            0o750
        );
    }

    #[test]
    fn a_bad_file_installs_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut p = sample();
        p.client_key = "garbage".into();
        assert!(install(
            &p,
            &dir.path().join("k"),
            Owners {
                uid: current_uid(),
                kiosk_gid: None
            },
            None,
        )
        .is_err());
        assert!(!dir.path().join("k").exists());
    }

    fn own() -> Owners {
        Owners {
            uid: current_uid(),
            kiosk_gid: None,
        }
    }

    /// Every file under `dir`, path and bytes: to show that nothing changed.
    fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
        let mut all = std::collections::BTreeMap::new();
        for e in std::fs::read_dir(dir).expect("ls").flatten() {
            let path = e.path();
            if path.is_dir() {
                all.extend(snapshot(&path));
            } else {
                all.insert(path.clone(), std::fs::read(&path).expect("read"));
            }
        }
        all
    }

    /// [`sample`] with a loopback registry: placeholder certificates make no
    /// TLS client, and plain http needs none.
    fn plain() -> Provisioning {
        Provisioning {
            registry_url: "http://127.0.0.1:8700".into(),
            ..sample()
        }
    }

    fn signed(key: &ProvisioningKey, p: &Provisioning, serial: u64) -> Vec<u8> {
        key.sign(p.to_toml().expect("toml").as_bytes(), serial)
    }

    #[test]
    fn unsigned_foreign_altered_replayed_oversized_and_linked_files_change_nothing() {
        let key = ProvisioningKey::generate();
        let public = key.public_key();
        let dir = tempfile::tempdir().expect("tempdir");
        let (target, pending) = (dir.path().join("etc-kiosk"), dir.path().join("pending"));
        let first = signed(&key, &plain(), 100);
        let got = receive(&first, &public, &target, &pending, false, own()).expect("first");
        assert!(matches!(got, Received::Installed(..)));
        let before = snapshot(&target);
        assert!(before.contains_key(&target.join(provisioning::STATE_FILE)));

        let mut newer = plain();
        newer.hall_name = "西坡乡便民服务中心".into();
        newer.registry_url = "http://127.0.0.1:8799".into();
        let mut altered = signed(&key, &plain(), 200);
        let at = altered.len() - 3;
        altered[at] ^= 1;
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("unsigned", newer.to_toml().expect("toml").into_bytes(), "not signed"),
            (
                "another key",
                signed(&ProvisioningKey::generate(), &newer, 200),
                "signed by another key",
            ),
            ("altered", altered, "altered after signing"),
            ("older", signed(&key, &newer, 99), "older than the installed one"),
            ("same serial", signed(&key, &newer, 100), "installed serial 100"),
        ];
        for (what, bytes, reason) in cases {
            for from_stick in [false, true] {
                let err = receive(&bytes, &public, &target, &pending, from_stick, own())
                    .expect_err(what);
                assert!(matches!(err, ProvisionError::Signature(_)), "{what}: {err}");
                assert!(err.to_string().contains(reason), "{what}: {err}");
                assert_eq!(snapshot(&target), before, "{what} changed the configuration");
                assert!(!pending.exists(), "{what} was staged");
            }
        }
        // Oversized and linked files are not even read.
        let mut big = signed(&key, &newer, 200);
        big.extend(std::iter::repeat_n(b'#', MAX_FILE_BYTES as usize));
        let big_path = dir.path().join("big.toml");
        std::fs::write(&big_path, &big).expect("write");
        let err = read_bytes(&big_path).expect_err("oversized");
        assert!(matches!(err, ProvisionError::TooLarge { .. }), "{err}");
        let good = dir.path().join("good.toml");
        std::fs::write(&good, signed(&key, &newer, 200)).expect("write");
        let stick = dir.path().join("stick");
        std::fs::create_dir(&stick).expect("mkdir");
        std::os::unix::fs::symlink(&good, stick.join(STICK_FILE)).expect("link");
        let err = read_bytes(&stick.join(STICK_FILE)).expect_err("link");
        assert!(matches!(err, ProvisionError::NotPlainFile { .. }), "{err}");
        assert_eq!(snapshot(&target), before);

        // The newer file, properly signed, is installed (by hand: not from a stick).
        let good = read_bytes(&good).expect("read");
        receive(&good, &public, &target, &pending, false, own()).expect("newer");
        let cfg = kiosk::Config::load(&target.join(files::CONFIG)).expect("load");
        assert_eq!(cfg.terminal.hall_name, "西坡乡便民服务中心");
        // And the file it replaced is now a replay.
        let err = receive(&first, &public, &target, &pending, false, own()).expect_err("replay");
        assert!(err.to_string().contains("serial 100, installed 200"), "{err}");
    }

    #[test]
    fn a_stick_on_a_provisioned_terminal_is_staged_and_applied_only_when_confirmed() {
        let key = ProvisioningKey::generate();
        let public = key.public_key();
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("etc-kiosk");
        let pending = dir.path().join("pending");
        let confirm = dir.path().join("provision-confirm");
        // The first stick of an unprovisioned terminal installs directly.
        let first = signed(&key, &plain(), 1);
        let got = receive(&first, &public, &target, &pending, true, own())
            .expect("first");
        assert!(matches!(got, Received::Installed(..)));
        let before = snapshot(&target);
        // The same stick again: nothing to confirm.
        let again = receive(&first, &public, &target, &pending, true, own());
        assert!(matches!(again, Ok(Received::AlreadyInstalled)), "{again:?}");
        assert!(!pending.exists());

        let mut newer = plain();
        newer.hall_name = "西坡乡便民服务中心".into();
        newer.registry_public_key = SealSecretKey::generate().public_key().to_text();
        let bytes = signed(&key, &newer, 2);
        let Received::Staged(summary) =
            receive(&bytes, &public, &target, &pending, true, own()).expect("stage")
        else {
            panic!("a stick on a provisioned terminal must only be staged");
        };
        assert_eq!(snapshot(&target), before, "staging changed the configuration");
        assert_eq!(summary.sha256, provisioning::sha256_hex(&bytes));
        assert_eq!((summary.serial, summary.installed_serial), (2, Some(1)));
        let row = |label: &str| {
            summary
                .rows
                .iter()
                .find(|r| r.label == label)
                .unwrap_or_else(|| panic!("{label}"))
                .clone()
        };
        assert_eq!(row("服务大厅").old, "东岭镇便民服务中心");
        assert_eq!(row("服务大厅").new, "西坡乡便民服务中心");
        assert!(row("封存公钥").changed() && !row("终端编号").changed());
        assert!(!row("登记系统地址").changed());
        // The summary the kiosk reads holds no secret.
        let shown = std::fs::read_to_string(pending.join(provisioning::SUMMARY_FILE)).expect("summary");
        assert!(!shown.contains(&newer.registry_token) && !shown.contains("PRIVATE KEY"));
        assert_eq!(PendingSummary::read(&pending).expect("read"), Some(summary.clone()));

        // No confirmation, or one naming another file: nothing changes.
        let apply = |confirm: &Path| {
            take_confirmation(confirm).and_then(|c| apply(&public, &target, &pending, &c, own()))
        };
        let err = apply(&confirm).expect_err("unconfirmed");
        assert!(matches!(err, ProvisionError::Read { .. }), "{err}");
        provisioning::write_confirmation(&confirm, &provisioning::sha256_hex(b"other")).expect("w");
        let err = apply(&confirm).expect_err("other file");
        assert!(matches!(err, ProvisionError::NotConfirmed { .. }), "{err}");
        assert!(!confirm.exists(), "a used confirmation is removed");
        assert_eq!(snapshot(&target), before);
        // A staged file swapped after the summary was shown: refused as well.
        std::fs::write(pending.join(provisioning::PENDING_FILE), signed(&key, &plain(), 3))
            .expect("swap");
        provisioning::write_confirmation(&confirm, &summary.sha256).expect("w");
        let err = apply(&confirm).expect_err("swapped");
        assert!(matches!(err, ProvisionError::NotConfirmed { .. }), "{err}");
        assert_eq!(snapshot(&target), before);

        // The confirmation of what the screen showed installs it.
        std::fs::write(pending.join(provisioning::PENDING_FILE), &bytes).expect("restore");
        provisioning::write_confirmation(&confirm, &summary.sha256).expect("w");
        let done = apply(&confirm).expect("apply");
        assert_eq!(done.state.serial, 2);
        let cfg = kiosk::Config::load(&target.join(files::CONFIG)).expect("load");
        assert_eq!(cfg.terminal.hall_name, "西坡乡便民服务中心");
        assert_eq!(PendingSummary::read(&pending).expect("read"), None);
        assert!(!pending.join(provisioning::PENDING_FILE).exists() && !confirm.exists());
        assert_eq!(
            InstalledState::read(&target).expect("state").map(|s| s.serial),
            Some(2)
        );
    }
}
