//! Synthesises every prompt of `src/prompts.rs` into a WAV file in OUT_DIR
//! with espeak-ng (Debian package `espeak-ng`), and writes `built.rs`, which
//! embeds them in the crate.
//!
//! The voice is `cmn-latn-pinyin`: Debian 12's espeak-ng 1.51 reads the
//! pinyin of its Mandarin dictionary with English letter rules under the plain
//! `cmn` voice, so only this variant speaks Mandarin. Each prompt's phonemes
//! (`-x`) are kept too; a character the dictionary lacks shows up there as a
//! switch to another language, which the build warns about and a test refuses.
//!
//! Without espeak-ng the build still succeeds, with a warning and no audio
//! (the crate's tests then fail): the voice is optional, the kiosk is not.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)]
#[path = "src/prompts.rs"]
mod prompts;

/// The espeak-ng voice, speed (words per minute; 175 is espeak's default) and word gap (10 ms units).
const VOICE: &str = "cmn-latn-pinyin";
const SPEED: &str = "150";
const WORD_GAP: &str = "1";

fn synthesise(text: &str, wav: &Path) -> Result<String, String> {
    let out = Command::new("espeak-ng")
        .args(["-v", VOICE, "-s", SPEED, "-g", WORD_GAP, "-x", "-w"])
        .arg(wav)
        .arg(text)
        .output()
        .map_err(|e| format!("cannot run espeak-ng: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "espeak-ng failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim()
        .replace('\n', " "))
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/prompts.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let dir = out.join("voices");
    std::fs::create_dir_all(&dir).expect("OUT_DIR is writable");

    let mut code = String::from(
        "/// The synthesised prompts: id, WAV bytes and espeak-ng's phonemes.\n\
         pub(crate) static BUILT: &[(&str, &[u8], &str)] = &[\n",
    );
    for prompt in prompts::Prompt::ALL {
        let wav = dir.join(format!("{}.wav", prompt.id()));
        match synthesise(prompt.text(), &wav) {
            Ok(phonemes) => {
                if phonemes.contains("(en)") || phonemes.is_empty() {
                    println!(
                        "cargo:warning=prompt {} is not read as Mandarin: {phonemes}",
                        prompt.id()
                    );
                }
                writeln!(
                    code,
                    "    ({:?}, include_bytes!({:?}), {:?}),",
                    prompt.id(),
                    wav.display().to_string(),
                    phonemes
                )
                .expect("writing to a String");
            }
            Err(e) => {
                println!("cargo:warning=no spoken prompts: {e} (install espeak-ng)");
                break;
            }
        }
    }
    code.push_str("];\n");
    std::fs::write(out.join("built.rs"), code).expect("OUT_DIR is writable");
}
