//! The normalised copy of the text that the patterns run on, with a map back to the original.
//!
//! Whitespace is dropped (OCR breaks lines inside numbers and puts spaces
//! between Chinese characters), full-width digits, letters and a few
//! punctuation marks become ASCII, a lower-case `x` becomes `X` (ID numbers),
//! and a comma between digits becomes `,` (`12，500`).

use std::ops::Range;

pub(crate) struct Normalized {
    /// The normalised text.
    pub(crate) text: String,
    /// For each byte of `text`: the original byte range of the character it came from.
    origin: Vec<Range<usize>>,
    /// For each byte of `text`: whitespace was dropped right before its character.
    soft: Vec<bool>,
}

impl Normalized {
    pub(crate) fn new(raw: &str) -> Self {
        let mut text = String::with_capacity(raw.len());
        let mut origin = Vec::with_capacity(raw.len());
        let mut soft = Vec::with_capacity(raw.len());
        let chars: Vec<(usize, char)> = raw
            .char_indices()
            .filter(|(_, c)| !c.is_whitespace())
            .collect();
        for (k, &(at, c)) in chars.iter().enumerate() {
            let folded = match c {
                '０'..='９' | 'Ａ'..='Ｚ' | 'ａ'..='ｚ' => {
                    char::from_u32(c as u32 - 0xFF10 + 0x30).unwrap_or(c)
                }
                '：' => ':',
                '．' => '.',
                '－' | '—' | '–' => '-',
                '￥' => '¥',
                '（' => '(',
                '）' => ')',
                '＋' => '+',
                'x' => 'X',
                '，' | ',' => {
                    let prev = k.checked_sub(1).and_then(|i| chars.get(i)).map(|p| p.1);
                    let next = chars.get(k + 1).map(|p| p.1);
                    let digits = prev.is_some_and(|p| p.is_ascii_digit())
                        && next.is_some_and(|n| n.is_ascii_digit());
                    if digits {
                        ','
                    } else {
                        '，'
                    }
                }
                other => other,
            };
            let range = at..at + c.len_utf8();
            let after_space = k > 0 && chars[k - 1].0 + chars[k - 1].1.len_utf8() != at;
            for _ in 0..folded.len_utf8() {
                origin.push(range.clone());
                soft.push(after_space);
            }
            text.push(folded);
        }
        Normalized { text, origin, soft }
    }

    /// True when the characters on both sides of byte `at` are digits that no
    /// whitespace separated in the original: a number continues across `at`.
    ///
    /// Digits that whitespace separated may belong to one number broken over
    /// two lines, or to two numbers; a match may start or end there.
    pub(crate) fn digits_join_at(&self, at: usize) -> bool {
        let b = self.text.as_bytes();
        at > 0
            && b.get(at - 1).is_some_and(u8::is_ascii_digit)
            && b.get(at).is_some_and(u8::is_ascii_digit)
            && !self.soft.get(at).copied().unwrap_or(false)
    }

    /// The original byte range covered by `range` of the normalised text.
    pub(crate) fn original(&self, range: Range<usize>) -> Range<usize> {
        if range.start >= range.end || range.end > self.origin.len() {
            return 0..0;
        }
        self.origin[range.start].start..self.origin[range.end - 1].end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_goes_and_offsets_map_back() {
        let raw = "电 话：１３８\n00";
        let n = Normalized::new(raw);
        assert_eq!(n.text, "电话:13800");
        let at = n.text.find("13800").unwrap();
        let span = n.original(at..at + 5);
        assert_eq!(&raw[span], "１３８\n00");
        assert_eq!(Normalized::new("12，500 和，").text, "12,500和，");
        assert_eq!(n.original(3..3), 0..0);
        let at = n.text.find("00").unwrap();
        assert!(!n.digits_join_at(at));
        assert!(n.digits_join_at(at + 1));
        assert!(n.digits_join_at(at - 1));
    }
}
