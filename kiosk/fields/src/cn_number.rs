//! Chinese numerals: 一万二千五百, 十八, 两千, 壹万贰仟伍佰, 一百零五.

/// The value of one Chinese digit character (common and financial forms).
pub(crate) fn digit(c: char) -> Option<u64> {
    Some(match c {
        '零' | '〇' => 0,
        '一' | '壹' => 1,
        '二' | '两' | '贰' => 2,
        '三' | '叁' => 3,
        '四' | '肆' => 4,
        '五' | '伍' => 5,
        '六' | '陆' => 6,
        '七' | '柒' => 7,
        '八' | '捌' => 8,
        '九' | '玖' => 9,
        _ => return None,
    })
}

/// Parses a Chinese numeral up to the hundreds of millions; `None` on anything else.
///
/// A run of digits without units (`二〇二四`) is read digit by digit.
pub fn parse_chinese_number(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    if s.chars().all(|c| digit(c).is_some()) {
        return s
            .chars()
            .try_fold(0u64, |acc, c| acc.checked_mul(10)?.checked_add(digit(c)?));
    }
    let (mut total, mut section, mut number) = (0u64, 0u64, None::<u64>);
    for c in s.chars() {
        if let Some(d) = digit(c) {
            number = Some(d);
            continue;
        }
        let unit = match c {
            '十' | '拾' => 10,
            '百' | '佰' => 100,
            '千' | '仟' => 1000,
            '万' | '萬' => {
                section = section.checked_add(number.take().unwrap_or(0))?;
                total = total.checked_add(
                    section
                        .max(u64::from(section == 0 && total == 0))
                        .checked_mul(10_000)?,
                )?;
                section = 0;
                continue;
            }
            '亿' => {
                section = section.checked_add(number.take().unwrap_or(0))?;
                total = total.checked_add(section)?.checked_mul(100_000_000)?;
                section = 0;
                continue;
            }
            _ => return None,
        };
        // 十 alone means 10 (十八 = 18).
        let n = number.take().unwrap_or(1);
        section = section.checked_add(n.checked_mul(unit)?)?;
    }
    total.checked_add(section)?.checked_add(number.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals() {
        let cases = [
            ("一万二千五百", 12_500),
            ("壹万贰仟伍佰", 12_500),
            ("十八万", 180_000),
            ("十八", 18),
            ("二十", 20),
            ("一百零五", 105),
            ("两千", 2_000),
            ("六千八百", 6_800),
            ("三亿零五万", 300_050_000),
            ("二〇二四", 2024),
            ("八十万零三千", 803_000),
        ];
        for (s, v) in cases {
            assert_eq!(parse_chinese_number(s), Some(v), "{s}");
        }
        assert_eq!(parse_chinese_number(""), None);
        assert_eq!(parse_chinese_number("十a"), None);
    }
}
