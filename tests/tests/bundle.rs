//! Update bundles as a county makes them and a terminal's RAUC checks them,
//! with the real tools (`rauc`, `mksquashfs`, `openssl`): a throw-away
//! update key from `image-build/update-key.sh`, a bundle from
//! `image-build/make-bundle.sh`, checked with the terminal's own
//! `image-build/rauc/system.conf` (its keyring path pointed at the test key).
//! A bundle signed under another county's key, or checked against another
//! keyring, is refused.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

fn image_build() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../image-build")
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!("{cmd:?} failed: {text}");
    }
    Ok(text)
}

/// `rauc info` of `bundle` under the terminal's configuration with `keyring`.
fn check(dir: &Path, keyring: &Path, bundle: &Path) -> anyhow::Result<String> {
    let conf = std::fs::read_to_string(image_build().join("rauc/system.conf"))?.replace(
        "path=/usr/share/kiosk/update-keyring.pem",
        &format!("path={}", keyring.display()),
    );
    let conf_path = dir.join("system.conf");
    std::fs::write(&conf_path, conf)?;
    run(Command::new("rauc")
        .arg("--conf")
        .arg(&conf_path)
        .arg("info")
        .arg(bundle))
}

#[test]
fn a_bundle_signed_with_the_county_key_is_accepted_and_any_other_is_refused() -> anyhow::Result<()>
{
    let dir = tempfile::tempdir()?;
    let (ours, theirs) = (dir.path().join("ours"), dir.path().join("theirs"));
    run(Command::new(image_build().join("update-key.sh")).arg(&ours))?;
    run(Command::new(image_build().join("update-key.sh"))
        .arg(&theirs)
        .arg("Other county"))?;
    // A key is never overwritten.
    assert!(run(Command::new(image_build().join("update-key.sh")).arg(&ours)).is_err());

    // A small root: the bundle's one image.
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree)?;
    let blob: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    std::fs::write(tree.join("kiosk"), blob)?;
    let root = dir.path().join("root.sqfs");
    run(Command::new("mksquashfs")
        .arg(&tree)
        .arg(&root)
        .args(["-quiet", "-noappend"]))?;

    let bundle = dir.path().join("kiosk-1.2.0.raucb");
    run(Command::new(image_build().join("make-bundle.sh"))
        .arg(&root)
        .arg("1.2.0")
        .arg(&ours)
        .arg(&bundle))?;
    let info = check(dir.path(), &ours.join("keyring.pem"), &bundle)?;
    assert!(info.contains("Verified inline signature"), "{info}");
    assert!(
        info.contains("'1.2.0'") && info.contains("'petition-kiosk-x86_64'"),
        "{info}"
    );

    // Another county's keyring does not take it.
    let refused = check(dir.path(), &theirs.join("keyring.pem"), &bundle)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("signature verification failed"),
        "{refused}"
    );
    // A bundle signed with another county's key is refused by ours.
    let foreign = dir.path().join("foreign.raucb");
    run(Command::new(image_build().join("make-bundle.sh"))
        .arg(&root)
        .arg("1.2.0")
        .arg(&theirs)
        .arg(&foreign))?;
    assert!(check(dir.path(), &ours.join("keyring.pem"), &foreign).is_err());
    // The CA's own key is no signing certificate: a bundle signed with it is refused.
    let ca_signed = dir.path().join("ca.raucb");
    let ca_only = dir.path().join("ca-only");
    std::fs::create_dir(&ca_only)?;
    std::fs::copy(ours.join("keyring.pem"), ca_only.join("signing.cert.pem"))?;
    std::fs::copy(ours.join("ca.key.pem"), ca_only.join("signing.key.pem"))?;
    run(Command::new(image_build().join("make-bundle.sh"))
        .arg(&root)
        .arg("1.2.0")
        .arg(&ca_only)
        .arg(&ca_signed))?;
    let refused = check(dir.path(), &ours.join("keyring.pem"), &ca_signed)
        .unwrap_err()
        .to_string();
    assert!(refused.contains("purpose"), "{refused}");
    // Bad input to the script: a clear refusal, no bundle.
    let bad = run(Command::new(image_build().join("make-bundle.sh"))
        .arg(&root)
        .arg("1.2.0; rm -rf /")
        .arg(&ours)
        .arg(dir.path().join("bad.raucb")))
    .unwrap_err()
    .to_string();
    assert!(bad.contains("bad version"), "{bad}");
    Ok(())
}
