//! [`redact_for_export`]: the strict redaction for text that leaves the
//! terminal in a diagnostics bundle (logs, error strings).
//!
//! On top of [`crate::redact`] (ID and mobile numbers) it removes every run
//! of Chinese characters, because names, addresses and petition text are
//! Chinese and cannot be told apart from harmless words by pattern. The
//! terminal's own log lines are English, so what a technician needs stays
//! readable. Numbers written in groups ("138 1234 5678", "110105 19491231
//! 002X") are caught as well.

/// What a removed run of Chinese characters becomes.
pub const CJK_PLACEHOLDER: &str = "[zh]";

/// True for the characters of Chinese names, addresses and text: the CJK
/// ideograph blocks, the compatibility ideographs and the CJK radicals.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF      // radicals
        | 0x3005 | 0x3007    // 々 〇
        | 0x3400..=0x4DBF    // extension A
        | 0x4E00..=0x9FFF    // unified ideographs
        | 0xF900..=0xFAFF    // compatibility ideographs
        | 0x20000..=0x3FFFF) // extensions B and later
}

/// [`crate::redact`], then grouped ID and phone numbers and every run of
/// Chinese characters replaced; see the module documentation.
pub fn redact_for_export(text: &str) -> String {
    let text = redact_grouped_numbers(&crate::redact(text));
    let mut out = String::with_capacity(text.len());
    let mut in_run = false;
    for c in text.chars() {
        if is_cjk(c) {
            if !in_run {
                out.push_str(CJK_PLACEHOLDER);
                in_run = true;
            }
        } else {
            in_run = false;
            out.push(c);
        }
    }
    out
}

/// Replaces digit groups joined by single spaces or hyphens whose digits make
/// an ID number (15 or 18, the last possibly `X`) or a mobile number (11 from `1`).
fn redact_grouped_numbers(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric());
        if !starts {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // Collect groups: digits, then a single separator and more digits.
        let mut j = i;
        let mut digits = String::new();
        let mut groups = 0;
        loop {
            let start = j;
            while j < chars.len() && chars[j].is_ascii_digit() {
                digits.push(chars[j]);
                j += 1;
            }
            if j > start {
                groups += 1;
            }
            let sep = j + 1 < chars.len()
                && (chars[j] == ' ' || chars[j] == '-')
                && chars[j + 1].is_ascii_digit();
            if sep {
                j += 1;
            } else {
                break;
            }
        }
        if j < chars.len() && (chars[j] == 'X' || chars[j] == 'x') && digits.len() == 17 {
            digits.push('X');
            j += 1;
        }
        let bounded = j == chars.len() || !chars[j].is_ascii_alphanumeric();
        let n = digits.len();
        let personal =
            groups > 1 && bounded && (n == 18 || n == 15 || (n == 11 && digits.starts_with('1')));
        if personal {
            out.push_str("[redacted]");
        } else {
            out.extend(&chars[i..j]);
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_addresses_and_numbers_do_not_survive() {
        let line = "INFO visitor 张三丰 at 北京市东城区 id 11010519491231002X tel 13812345678";
        let got = redact_for_export(line);
        assert_eq!(
            got,
            "INFO visitor [zh] at [zh] id [redacted] tel [redacted]"
        );
        assert_eq!(
            redact_for_export("call 138 1234 5678 or 138-1234-5678, id 110105 19491231 002X."),
            "call [redacted] or [redacted], id [redacted]."
        );
    }

    #[test]
    fn what_a_technician_needs_stays() {
        for line in [
            "2026-11-28T16:52:05.123Z INFO stage card_read took 840 ms",
            "sealed registration demo-01-2611281652-AB12 (3 pages)",
            "uplink: registry unavailable (503); retry in 4s",
        ] {
            assert_eq!(redact_for_export(line), line);
        }
        assert!(!redact_for_export("打印机缺纸").chars().any(is_cjk));
    }
}
