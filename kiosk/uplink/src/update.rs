//! Software updates on the terminal's side of the uplink: the bundle the
//! registry's heartbeat answer names is fetched in ranges into the data
//! partition while no registration or rating waits (one range of at most
//! 8 MiB per turn of the upload loop, so registrations always go first), kept
//! across a cut connection and a restart (`SHA.part` grows; the next range
//! starts where it stopped), and checked against its SHA-256 before it is
//! offered for installing. RAUC checks its signature when it installs it.
//!
//! Before the install the application records what it installs
//! ([`UpdateSlot::mark_installing`]). At the next start, a terminal that
//! runs that version reports nothing more; one that runs the old version
//! fell back (the new one never reached READY and the boot counter took it
//! back): it reports `fell_back`, and that version is not fetched or
//! installed again by itself, so a bad release cannot reboot a hall's
//! terminal in a loop. A newer version is tried as usual.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use registry_api::{valid_sha256_hex, valid_version, UpdateOffer, UpdateReport, UpdateState};
use sha2::{Digest, Sha256};

/// The largest bundle a terminal fetches.
pub const MAX_BUNDLE_BYTES: u64 = 2 << 30;
/// Free space the data partition keeps beside a bundle (the queue's room).
const KEEP_FREE_BYTES: u64 = 512 << 20;

const INSTALLING: &str = "installing.json";
const FELL_BACK: &str = "fell-back.json";

#[derive(Debug, Default)]
struct Inner {
    /// Where bundles are kept; `None`: updates are off.
    dir: Option<PathBuf>,
    running: String,
    offer: Option<UpdateOffer>,
    report: Option<UpdateReport>,
    /// A version that fell back here: never fetched or installed again by itself.
    fell_back: Option<String>,
}

/// The update state shared by the uplink (which fetches) and the
/// application (which installs, and shows it on the technician screen).
/// The default is off.
#[derive(Debug, Clone, Default)]
pub struct UpdateSlot(Arc<Mutex<Inner>>);

/// What the uplink should fetch next: a range of the offered bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetch {
    pub sha256: String,
    pub part: PathBuf,
    pub have: u64,
    pub size: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Installing {
    target: String,
    from: String,
}

impl UpdateSlot {
    /// Updates kept in `dir` (made if missing) for a terminal running
    /// `running`; reads what the last install left to learn whether it
    /// took or fell back.
    pub fn new(dir: &Path, running: &str) -> std::io::Result<UpdateSlot> {
        std::fs::create_dir_all(dir)?;
        let mut inner = Inner {
            dir: Some(dir.to_path_buf()),
            running: running.to_owned(),
            ..Inner::default()
        };
        if let Some(i) = read_json::<Installing>(&dir.join(INSTALLING)) {
            if i.target == running {
                log::info!("update: now running {running} (from {})", i.from);
                remove_bundles(dir);
                // An earlier version's fall-back is over once a newer one runs.
                let _ = std::fs::remove_file(dir.join(FELL_BACK));
            } else {
                log::error!(
                    "update: {} never reached READY; back on {running}",
                    i.target
                );
                write_json(&dir.join(FELL_BACK), &i)?;
            }
            std::fs::remove_file(dir.join(INSTALLING))?;
        }
        if let Some(i) = read_json::<Installing>(&dir.join(FELL_BACK)) {
            inner.report = Some(UpdateReport {
                target_version: i.target.clone(),
                state: UpdateState::FellBack,
            });
            inner.fell_back = Some(i.target);
        }
        Ok(UpdateSlot(Arc::new(Mutex::new(inner))))
    }

    /// Updates off, for a terminal running `running` (what its heartbeat says).
    pub fn off(running: &str) -> UpdateSlot {
        UpdateSlot(Arc::new(Mutex::new(Inner {
            running: running.to_owned(),
            ..Inner::default()
        })))
    }

    /// The version the terminal runs; `None` when it was never told.
    pub fn running_version(&self) -> Option<String> {
        self.with(|i| (!i.running.is_empty()).then(|| i.running.clone()))
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// What the next heartbeat says about the update.
    pub fn report(&self) -> Option<UpdateReport> {
        self.with(|i| i.report.clone())
    }

    /// The heartbeat's answer: the software to run (`None`: the running one).
    pub fn offer(&self, offer: Option<UpdateOffer>) {
        self.with(|i| {
            let Some(dir) = i.dir.clone() else { return };
            let offer = offer.filter(|o| o.version != i.running);
            let Some(o) = offer else {
                // Nothing to do: only a fall-back stays reported.
                if i.offer.take().is_some() {
                    remove_bundles(&dir);
                }
                i.report = i.report.take().filter(|r| r.state == UpdateState::FellBack);
                return;
            };
            if i.fell_back.as_deref() == Some(o.version.as_str()) || i.offer.as_ref() == Some(&o) {
                return;
            }
            if !valid_version(&o.version) {
                // Nothing of it is logged or reported back: it is no version.
                log::warn!("update: an offer with a malformed version was refused");
                return;
            }
            if !valid_sha256_hex(&o.sha256) || o.size_bytes == 0 || o.size_bytes > MAX_BUNDLE_BYTES
            {
                log::warn!("update: offer of {} refused (bad name or size)", o.version);
                i.report = Some(report(&o, UpdateState::Failed));
                return;
            }
            log::info!("update: {} offered ({} bytes)", o.version, o.size_bytes);
            // Another version's pieces go.
            remove_other_bundles(&dir, &o.sha256);
            i.report = Some(report(&o, state_of(&dir, &o)));
            i.offer = Some(o);
        })
    }

    /// The next range to fetch, or `None` (nothing offered, or fetched).
    pub(crate) fn next_fetch(&self, free_bytes: Option<u64>) -> Option<Fetch> {
        self.with(|i| {
            let (dir, o) = (i.dir.clone()?, i.offer.clone()?);
            if state_of(&dir, &o) != UpdateState::Downloading {
                return None;
            }
            let part = dir.join(format!("{}.part", o.sha256));
            let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            if free_bytes
                .is_some_and(|f| f < o.size_bytes - have.min(o.size_bytes) + KEEP_FREE_BYTES)
            {
                return None;
            }
            Some(Fetch {
                sha256: o.sha256,
                part,
                have,
                size: o.size_bytes,
            })
        })
    }

    /// After a range: when the part is whole, checks its SHA-256 and makes
    /// it the ready bundle (or deletes it and reports `failed`). The hash
    /// of a whole bundle takes seconds: it runs without holding the slot,
    /// which the controller and the heartbeat read meanwhile.
    pub(crate) fn fetched(&self, fetch: &Fetch) {
        let Some((dir, o)) = self.with(|i| Some((i.dir.clone()?, i.offer.clone()?))) else {
            return;
        };
        if o.sha256 != fetch.sha256 {
            return;
        }
        let have = std::fs::metadata(&fetch.part).map(|m| m.len()).unwrap_or(0);
        if have < o.size_bytes {
            return;
        }
        let ok =
            have == o.size_bytes && sha256_file(&fetch.part).ok().as_deref() == Some(&o.sha256);
        let state = if ok {
            let ready = dir.join(format!("{}.raucb", o.sha256));
            match std::fs::rename(&fetch.part, &ready) {
                Ok(()) => {
                    log::info!("update: {} fetched and checked", o.version);
                    UpdateState::Ready
                }
                Err(e) => {
                    log::error!("update: cannot keep the bundle: {e}");
                    return;
                }
            }
        } else {
            log::error!(
                "update: the bundle of {} does not match its checksum; deleted",
                o.version
            );
            let _ = std::fs::remove_file(&fetch.part);
            UpdateState::Failed
        };
        self.with(|i| {
            // Reported only while it is still the offer.
            if i.offer.as_ref() == Some(&o) {
                i.report = Some(report(&o, state));
            }
        })
    }

    /// The checked bundle waiting to be installed: its version and file.
    pub fn ready(&self) -> Option<(String, PathBuf)> {
        self.with(|i| {
            let (dir, o) = (i.dir.clone()?, i.offer.clone()?);
            let file = dir.join(format!("{}.raucb", o.sha256));
            file.is_file().then_some((o.version, file))
        })
    }

    /// Records, before installing `version`, what the next start checks.
    pub fn mark_installing(&self, version: &str) -> std::io::Result<()> {
        self.with(|i| {
            let dir = i
                .dir
                .clone()
                .ok_or_else(|| std::io::Error::other("updates are off"))?;
            write_json(
                &dir.join(INSTALLING),
                &Installing {
                    target: version.to_owned(),
                    from: i.running.clone(),
                },
            )
        })
    }

    /// The install of the ready bundle failed at once (refused by RAUC: a
    /// wrong signature, a damaged bundle): reported, and not tried again.
    pub fn install_failed(&self, version: &str) {
        self.with(|i| {
            if let Some(dir) = i.dir.clone() {
                let _ = std::fs::remove_file(dir.join(INSTALLING));
                remove_bundles(&dir);
            }
            i.report = Some(UpdateReport {
                target_version: version.to_owned(),
                state: UpdateState::Failed,
            });
            i.fell_back = Some(version.to_owned());
        })
    }
}

/// Records what the next start checks when the install is made outside the
/// running kiosk (the root side installing a bundle from a USB stick): the
/// same record as [`UpdateSlot::mark_installing`], in `dir` (the kiosk's
/// update directory), owned like `dir` so that the kiosk can remove it.
pub fn record_install(dir: &Path, target: &str, from: &str) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !dir.exists() {
        // Not made yet (updates from the registry off): made like its parent.
        std::fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            let p = std::fs::metadata(parent)?;
            std::os::unix::fs::chown(dir, Some(p.uid()), Some(p.gid()))?;
        }
    }
    let meta = std::fs::metadata(dir)?;
    let path = dir.join(INSTALLING);
    write_json(
        &path,
        &Installing {
            target: target.to_owned(),
            from: from.to_owned(),
        },
    )?;
    std::os::unix::fs::chown(&path, Some(meta.uid()), Some(meta.gid()))
}

/// Takes a record made by [`record_install`] back (the install failed at once).
pub fn forget_install(dir: &Path) {
    let _ = std::fs::remove_file(dir.join(INSTALLING));
}

fn report(o: &UpdateOffer, state: UpdateState) -> UpdateReport {
    UpdateReport {
        target_version: o.version.clone(),
        state,
    }
}

fn state_of(dir: &Path, o: &UpdateOffer) -> UpdateState {
    if dir.join(format!("{}.raucb", o.sha256)).is_file() {
        UpdateState::Ready
    } else {
        UpdateState::Downloading
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(v).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn remove_bundles(dir: &Path) {
    remove_other_bundles(dir, "");
}

fn remove_other_bundles(dir: &Path, keep_sha: &str) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let bundle = name.ends_with(".part") || name.ends_with(".raucb");
        if bundle && (keep_sha.is_empty() || !name.starts_with(keep_sha)) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(version: &str, bytes: &[u8]) -> UpdateOffer {
        UpdateOffer {
            version: version.into(),
            sha256: hex::encode(Sha256::digest(bytes)),
            size_bytes: bytes.len() as u64,
        }
    }

    fn fetch_all(slot: &UpdateSlot, bytes: &[u8]) {
        let f = slot.next_fetch(None).expect("something to fetch");
        std::fs::write(&f.part, bytes).unwrap();
        slot.fetched(&f);
    }

    #[test]
    fn a_checked_bundle_becomes_ready_and_a_wrong_one_is_deleted_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let slot = UpdateSlot::new(dir.path(), "1.1.0").unwrap();
        slot.offer(Some(offer("1.1.0", b"same")));
        assert!(slot.next_fetch(None).is_none(), "it runs that version");
        slot.offer(Some(offer("1.2.0", b"the bundle")));
        assert_eq!(slot.report().unwrap().state, UpdateState::Downloading);
        assert!(slot.next_fetch(Some(10)).is_none(), "no room on the disk");
        fetch_all(&slot, b"the bundle");
        assert_eq!(slot.report().unwrap().state, UpdateState::Ready);
        assert_eq!(slot.ready().unwrap().0, "1.2.0");
        assert!(slot.next_fetch(None).is_none());

        slot.offer(Some(offer("1.3.0", b"another")));
        assert!(slot.ready().is_none());
        assert!(
            !dir.path()
                .join(format!("{}.raucb", offer("1.2.0", b"the bundle").sha256))
                .exists(),
            "the old one went"
        );
        fetch_all(&slot, b"tampered");
        assert_eq!(slot.report().unwrap().state, UpdateState::Failed);
        assert!(slot.ready().is_none());
    }

    #[test]
    fn a_version_that_fell_back_is_reported_and_not_taken_again_but_a_newer_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let slot = UpdateSlot::new(dir.path(), "1.1.0").unwrap();
        slot.offer(Some(offer("1.2.0", b"bad release")));
        fetch_all(&slot, b"bad release");
        slot.mark_installing("1.2.0").unwrap();
        // The reboot into 1.2.0 never reached READY: the old slot starts again.
        let slot = UpdateSlot::new(dir.path(), "1.1.0").unwrap();
        let r = slot.report().unwrap();
        assert_eq!(
            (r.target_version.as_str(), r.state),
            ("1.2.0", UpdateState::FellBack)
        );
        slot.offer(Some(offer("1.2.0", b"bad release")));
        assert!(
            slot.next_fetch(None).is_none() && slot.ready().is_none(),
            "not again"
        );
        let slot = UpdateSlot::new(dir.path(), "1.1.0").unwrap();
        assert_eq!(
            slot.report().unwrap().state,
            UpdateState::FellBack,
            "kept across restarts"
        );
        slot.offer(Some(offer("1.2.1", b"fixed release")));
        assert_eq!(slot.report().unwrap().state, UpdateState::Downloading);
        fetch_all(&slot, b"fixed release");
        slot.mark_installing("1.2.1").unwrap();
        // This one took.
        let slot = UpdateSlot::new(dir.path(), "1.2.1").unwrap();
        slot.offer(None);
        assert_eq!(
            slot.report(),
            None,
            "running the new version, nothing to report"
        );
    }

    #[test]
    fn offers_with_a_bad_name_or_size_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let slot = UpdateSlot::new(dir.path(), "1.1.0").unwrap();
        let mut o = offer("1.2.0", b"x");
        o.sha256 = "../../etc/passwd".into();
        slot.offer(Some(o));
        assert_eq!(slot.report().unwrap().state, UpdateState::Failed);
        assert!(slot.next_fetch(None).is_none());
        let mut o = offer("1.2.1", b"x");
        o.size_bytes = MAX_BUNDLE_BYTES + 1;
        slot.offer(Some(o));
        assert!(slot.next_fetch(None).is_none());
        // A version that is no version (a line break, 65 characters) is
        // neither fetched nor echoed back in the heartbeat.
        let fresh = UpdateSlot::new(&dir.path().join("fresh"), "1.1.0").unwrap();
        for bad in ["1.2.0\nFAKE log line", &"9".repeat(65), ""] {
            fresh.offer(Some(offer(bad, b"x")));
            assert!(fresh.next_fetch(None).is_none() && fresh.report().is_none(), "{bad:?}");
        }
        let off = UpdateSlot::default();
        off.offer(Some(offer("1.2.0", b"x")));
        assert!(
            off.next_fetch(None).is_none() && off.report().is_none(),
            "updates off"
        );
    }
}
