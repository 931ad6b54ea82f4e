//! The candidate table that `build.rs` generated, read in place.
//!
//! Entries are sorted by their syllable sequence (shorter sequences before
//! longer ones that extend them), so the entries sharing a prefix of
//! syllables form one contiguous range, narrowed one syllable at a time by
//! binary search. The layout is described in `build.rs`.

use std::ops::Range;

static TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/table.bin"));
static SYLLABLES: &str = include_str!(concat!(env!("OUT_DIR"), "/syllables.txt"));

/// Every syllable of the table, sorted; an entry names them by index.
pub(crate) fn syllables() -> impl Iterator<Item = &'static str> {
    SYLLABLES.lines()
}

/// One entry: a word, its frequency and its syllables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub word: &'static str,
    pub freq: u32,
    syl: &'static [u8],
}

impl Entry {
    pub fn len(&self) -> usize {
        self.syl.len() / 2
    }

    pub fn syllable(&self, k: usize) -> Option<u16> {
        let b = self.syl.get(2 * k..2 * k + 2)?;
        Some(u16::from_le_bytes([b[0], b[1]]))
    }
}

/// The embedded table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Table {
    count: usize,
}

impl Table {
    pub fn embedded() -> Table {
        Table {
            count: read_u32(TABLE, 0).unwrap_or(0) as usize,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Bytes the table occupies in the binary.
    pub fn bytes(&self) -> usize {
        TABLE.len() + SYLLABLES.len()
    }

    /// Entry `i`; an empty entry if the table were damaged.
    pub fn entry(&self, i: usize) -> Entry {
        self.try_entry(i).unwrap_or(Entry {
            word: "",
            freq: 0,
            syl: &[],
        })
    }

    fn try_entry(&self, i: usize) -> Option<Entry> {
        if i >= self.count {
            return None;
        }
        let data = 4 + 4 * self.count;
        let at = data + read_u32(TABLE, 4 + 4 * i)? as usize;
        let n = *TABLE.get(at)? as usize;
        let syl = TABLE.get(at + 1..at + 1 + 2 * n)?;
        let freq = read_u32(TABLE, at + 1 + 2 * n)?;
        let wl_at = at + 5 + 2 * n;
        let wl = *TABLE.get(wl_at)? as usize;
        let word = std::str::from_utf8(TABLE.get(wl_at + 1..wl_at + 1 + wl)?).ok()?;
        Some(Entry { word, freq, syl })
    }

    /// Within `range`, whose entries share their first `depth` syllables, the
    /// entries whose syllable `depth` is `syl`.
    pub fn narrow(&self, range: Range<usize>, depth: usize, syl: u16) -> Range<usize> {
        let key = |i: usize| self.entry(i).syllable(depth).map_or(-1, i32::from);
        let target = i32::from(syl);
        let lo = partition(range.clone(), |i| key(i) < target);
        let hi = partition(lo..range.end, |i| key(i) <= target);
        lo..hi
    }
}

/// The first index in `range` where `below` turns false (it must be true, then false).
fn partition(range: Range<usize>, below: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (range.start, range.end);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if below(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds_words_sorted_by_syllables() {
        let t = Table::embedded();
        assert!(t.len() > 100_000, "{} entries", t.len());
        let mut prev: Vec<u16> = Vec::new();
        for i in (0..t.len()).step_by(997) {
            let e = t.entry(i);
            assert!(!e.word.is_empty());
            let syl: Vec<u16> = (0..e.len()).filter_map(|k| e.syllable(k)).collect();
            assert!(syl >= prev, "entry {i} out of order");
            prev = syl;
        }
        assert!(syllables().any(|s| s == "zhuang"));
        assert!(syllables().any(|s| s == "lv"), "ü is typed as v");
    }
}
