//! Clean-up of Tesseract's text output for Chinese pages.
//!
//! Tesseract's chi_sim model puts spaces between many CJK characters. They
//! carry no meaning in Chinese text, so a run of spaces is dropped when the
//! characters on both sides are CJK (ideographs, CJK punctuation or full-width
//! forms). Elsewhere, runs of spaces shrink to one, so ASCII words stay apart.
//! Lines are right-trimmed and runs of blank lines shrink to one.

/// True for characters set without spaces in Chinese text.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF     // CJK radicals, Kangxi radicals
        | 0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF   // Kana (for completeness)
        | 0x3100..=0x312F   // Bopomofo
        | 0x31C0..=0x31EF   // CJK strokes
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFE30..=0xFE4F   // CJK compatibility forms
        | 0xFF00..=0xFFEF   // Half-width and full-width forms
        | 0x20000..=0x3FFFF // CJK extensions B and later
    ) || matches!(c, '“' | '”' | '‘' | '’' | '—' | '…' | '·')
}

/// Removes spurious spaces from recognised Chinese text.
pub fn clean_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut blank_run = 0;
    for line in raw.lines() {
        let line = clean_line(line);
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(&line);
    }
    out
}

fn clean_line(line: &str) -> String {
    let chars: Vec<char> = line.trim().chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut idx = 0;
    while idx < chars.len() {
        let c = chars[idx];
        if c == ' ' || c == '\t' {
            let start = idx;
            while idx < chars.len() && (chars[idx] == ' ' || chars[idx] == '\t') {
                idx += 1;
            }
            let before = start.checked_sub(1).map(|i| chars[i]);
            let after = chars.get(idx).copied();
            let joins_cjk = before.is_some_and(is_cjk) && after.is_some_and(is_cjk);
            if !joins_cjk {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
        idx += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expect: &str) {
        assert_eq!(clean_text(raw), expect, "input {raw:?}");
    }

    #[test]
    fn spaces_between_cjk_are_removed() {
        check("拖 欠 工 资 ， 共 计", "拖欠工资，共计");
        check("请求  依法\t处理。", "请求依法处理。");
        check("（ 第 二 页 ）", "（第二页）");
    }

    #[test]
    fn ascii_words_keep_one_space() {
        check("hello   world", "hello world");
        check("样本  SPECIMEN  2024 年", "样本 SPECIMEN 2024 年");
        check("A4 纸", "A4 纸");
    }

    #[test]
    fn lines_are_trimmed_and_blank_runs_shrink() {
        check("  第一行  \n\n\n\n第 二 行 \n\n", "第一行\n\n第二行");
        check("", "");
        check(" \n \n", "");
    }
}
