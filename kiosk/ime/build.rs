//! Builds the candidate table of the pinyin input from two established
//! sources, so that no reading or frequency is typed in by hand:
//!
//! - the word list with frequencies of jieba's dictionary (`dict.txt`, as
//!   Debian's `python3-jieba` installs it; `KIOSK_IME_JIEBA_DICT` names
//!   another copy), plus the domain words of `data/domain.txt`;
//! - the readings of every character from the `pinyin` crate (pinyin-data),
//!   tones dropped and `ü` typed as `v`, every reading of a character with
//!   several (a secondary reading ranks lower).
//!
//! It writes `syllables.txt` (every syllable that occurs, sorted) and
//! `table.bin` (the entries sorted by their syllable sequence) to `OUT_DIR`;
//! `src/table.rs` reads them in place. Format of `table.bin`, little-endian:
//! `u32` entry count, one `u32` offset per entry into the data that follows,
//! and per entry: `u8` syllable count n, n × `u16` syllable index, `u32`
//! frequency, `u8` byte length of the word, the word in UTF-8.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use pinyin::{Pinyin, ToPinyinMulti};

/// Debian's `python3-jieba` puts the dictionary here.
const DEBIAN_JIEBA_DICT: &str = "/usr/lib/python3/dist-packages/jieba/dict.txt";
/// Words longer than this are rarely typed on a kiosk and are left out.
const MAX_CHARS: usize = 4;
/// Least jieba frequency of a word of two characters, and of three or four.
const MIN_FREQ_2: u64 = 3;
const MIN_FREQ_LONG: u64 = 8;
/// At most this many reading combinations per word.
const MAX_VARIANTS: usize = 8;
/// A secondary reading of a character divides the entry's frequency by this.
const SECONDARY_PENALTY: u64 = 8;

fn main() {
    println!("cargo:rerun-if-env-changed=KIOSK_IME_JIEBA_DICT");
    println!("cargo:rerun-if-changed=data/domain.txt");
    println!("cargo:rerun-if-changed=build.rs");
    let dict_path = std::env::var_os("KIOSK_IME_JIEBA_DICT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEBIAN_JIEBA_DICT));
    println!("cargo:rerun-if-changed={}", dict_path.display());
    let jieba = std::fs::read_to_string(&dict_path).unwrap_or_else(|e| {
        panic!(
            "cannot read jieba's dictionary {} ({e}): install python3-jieba \
             (scripts/install-deps.sh) or set KIOSK_IME_JIEBA_DICT",
            dict_path.display()
        )
    });
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let domain = std::fs::read_to_string(manifest.join("data/domain.txt"))
        .expect("data/domain.txt is part of the crate");

    // Word → frequency; the domain list raises a word to at least its figure.
    let mut words: HashMap<String, u64> = HashMap::new();
    for line in jieba.lines() {
        let mut parts = line.split_whitespace();
        let (Some(word), Some(freq)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(freq) = freq.parse::<u64>() else {
            continue;
        };
        let n = word.chars().count();
        let min = match n {
            1 => 1,
            2 => MIN_FREQ_2,
            _ => MIN_FREQ_LONG,
        };
        if n <= MAX_CHARS && freq >= min {
            words.insert(word.to_string(), freq);
        }
    }
    for line in domain.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(word), Some(freq)) = (parts.next(), parts.next()) else {
            panic!("data/domain.txt: bad line {line:?}");
        };
        let freq: u64 = freq
            .parse()
            .expect("data/domain.txt: frequency is a number");
        let slot = words.entry(word.to_string()).or_insert(0);
        *slot = (*slot).max(freq);
    }

    // Every entry: syllables, frequency, word.
    let mut entries: Vec<(Vec<String>, u64, String)> = Vec::new();
    for (word, freq) in &words {
        let Some(readings) = readings_of(word) else {
            continue;
        };
        let mut variants: Vec<(Vec<String>, u32)> = vec![(Vec::new(), 0)];
        for options in &readings {
            let mut next = Vec::new();
            for (prefix, secondary) in &variants {
                for (k, r) in options.iter().enumerate() {
                    let mut p = prefix.clone();
                    p.push(r.clone());
                    next.push((p, secondary + u32::from(k > 0)));
                }
            }
            // Fewest secondary readings first; the cap keeps the common ones.
            next.sort_by_key(|(_, s)| *s);
            next.truncate(MAX_VARIANTS);
            variants = next;
        }
        for (syllables, secondary) in variants {
            let f = (*freq / SECONDARY_PENALTY.pow(secondary.min(3))).max(1);
            entries.push((syllables, f, word.clone()));
        }
    }

    let syllables: BTreeSet<&str> = entries
        .iter()
        .flat_map(|(s, _, _)| s.iter().map(String::as_str))
        .collect();
    let index: BTreeMap<&str, u16> = syllables
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, u16::try_from(i).expect("fewer than 65536 syllables")))
        .collect();
    let mut coded: Vec<(Vec<u16>, u64, &str)> = entries
        .iter()
        .map(|(s, f, w)| {
            (
                s.iter().map(|x| index[x.as_str()]).collect(),
                *f,
                w.as_str(),
            )
        })
        .collect();
    // Sorted by syllables, then most frequent first.
    coded.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    coded.dedup_by(|a, b| a.0 == b.0 && a.2 == b.2);

    let mut data = Vec::new();
    let mut offsets = Vec::with_capacity(coded.len());
    for (syl, freq, word) in &coded {
        offsets.push(u32::try_from(data.len()).expect("table under 4 GiB"));
        data.push(syl.len() as u8);
        for s in syl {
            data.extend_from_slice(&s.to_le_bytes());
        }
        data.extend_from_slice(&(u32::try_from(*freq).unwrap_or(u32::MAX)).to_le_bytes());
        data.push(u8::try_from(word.len()).expect("short words"));
        data.extend_from_slice(word.as_bytes());
    }
    let mut out = Vec::with_capacity(4 + offsets.len() * 4 + data.len());
    out.extend_from_slice(&(offsets.len() as u32).to_le_bytes());
    for o in &offsets {
        out.extend_from_slice(&o.to_le_bytes());
    }
    out.extend_from_slice(&data);

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    write(&out_dir.join("table.bin"), &out);
    let list: String = syllables.iter().map(|s| format!("{s}\n")).collect();
    write(&out_dir.join("syllables.txt"), list.as_bytes());
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// The toneless readings of each character of `word`, first reading first;
/// `None` when a character has none (Latin letters, digits, symbols).
fn readings_of(word: &str) -> Option<Vec<Vec<String>>> {
    let mut out = Vec::new();
    for c in word.chars() {
        let multi = c.to_pinyin_multi()?;
        let mut options: Vec<String> = Vec::new();
        for p in multi.into_iter() {
            let r = typed(Pinyin::plain(p));
            if !r.is_empty() && r.bytes().all(|b| b.is_ascii_lowercase()) && !options.contains(&r) {
                options.push(r);
            }
        }
        if options.is_empty() {
            return None;
        }
        out.push(options);
    }
    Some(out)
}

/// A reading as it is typed: `ü` as `v`.
fn typed(plain: &str) -> String {
    plain.replace('ü', "v")
}
