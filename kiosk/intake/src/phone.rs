//! The contact phone number as the petitioner types it on the number pad:
//! validation (a mobile number `1[3-9]` plus nine digits, or a landline with
//! its area code, `0xx`/`0xxx` then seven or eight digits), grouping while
//! typing and the masked form for the review screen.
//!
//! The digits themselves travel in `kiosk_privacy::PhoneNumber`; these
//! functions take the exposed digits and return text for the screen.

/// At most this many digits are taken (a four-digit area code and eight digits).
pub const MAX_DIGITS: usize = 12;

/// What kind of number the digits are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    Mobile,
    Landline,
}

/// Why the digits are not a phone number; `message_zh` is shown on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneProblem {
    #[error("no digits")]
    Empty,
    #[error("mobile number of wrong length")]
    MobileLength,
    #[error("mobile number with a wrong second digit")]
    MobilePrefix,
    #[error("landline number of wrong length")]
    LandlineLength,
    #[error("neither a mobile nor a landline number")]
    Unknown,
}

impl PhoneProblem {
    /// The explanation for the petitioner.
    pub fn message_zh(self) -> &'static str {
        match self {
            PhoneProblem::Empty => "请输入电话号码，或点“不留电话”",
            PhoneProblem::MobileLength => "手机号码是11位数字，请核对",
            PhoneProblem::MobilePrefix => "手机号码应以13至19开头，请核对",
            PhoneProblem::LandlineLength => "座机请输入区号和号码，例如 010-62345678",
            PhoneProblem::Unknown => "手机号码以1开头，座机号码以区号0开头，请核对",
        }
    }
}

/// Length of the area code of a landline number starting with `0`:
/// three digits for 010 and 02x, four for the others.
fn area_code_len(digits: &[u8]) -> usize {
    match digits.get(1) {
        Some(b'1') | Some(b'2') => 3,
        _ => 4,
    }
}

/// Checks the typed digits.
pub fn check(digits: &str) -> Result<PhoneKind, PhoneProblem> {
    let d = digits.as_bytes();
    if d.is_empty() {
        return Err(PhoneProblem::Empty);
    }
    if !d.iter().all(u8::is_ascii_digit) {
        return Err(PhoneProblem::Unknown);
    }
    match d[0] {
        b'1' => {
            if d.len() != 11 {
                Err(PhoneProblem::MobileLength)
            } else if !(b'3'..=b'9').contains(&d[1]) {
                Err(PhoneProblem::MobilePrefix)
            } else {
                Ok(PhoneKind::Mobile)
            }
        }
        b'0' => {
            let area = area_code_len(d);
            let local = d.len().saturating_sub(area);
            let first_local = d.get(area).copied().unwrap_or(b'0');
            if (7..=8).contains(&local) && first_local >= b'2' && d.get(1) != Some(&b'0') {
                Ok(PhoneKind::Landline)
            } else {
                Err(PhoneProblem::LandlineLength)
            }
        }
        _ => Err(PhoneProblem::Unknown),
    }
}

/// The digits grouped for reading while typing: "138 1234 5678", "010-62345678".
pub fn grouped(digits: &str) -> String {
    let d: Vec<char> = digits.chars().collect();
    match d.first() {
        Some('1') => {
            let mut out = String::new();
            for (i, c) in d.iter().enumerate() {
                if i == 3 || i == 7 {
                    out.push(' ');
                }
                out.push(*c);
            }
            out
        }
        Some('0') => {
            let area = area_code_len(digits.as_bytes());
            if d.len() > area {
                let head: String = d[..area].iter().collect();
                let tail: String = d[area..].iter().collect();
                format!("{head}-{tail}")
            } else {
                digits.to_string()
            }
        }
        _ => digits.to_string(),
    }
}

/// The number for the review screen: the first three and last four digits
/// of a mobile number ("138****5678"), the area code and last four of a
/// landline ("010-****5678").
pub fn masked(digits: &str) -> String {
    let d: Vec<char> = digits.chars().collect();
    if d.len() < 8 {
        return "*".repeat(d.len().max(4));
    }
    let tail: String = d[d.len() - 4..].iter().collect();
    match check(digits) {
        Ok(PhoneKind::Landline) => {
            let area = area_code_len(digits.as_bytes());
            let head: String = d[..area].iter().collect();
            format!("{head}-{}{tail}", "*".repeat(d.len() - area - 4))
        }
        _ => {
            let head: String = d[..3].iter().collect();
            format!("{head}{}{tail}", "*".repeat(d.len() - 7))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_and_landline_numbers_are_accepted() {
        assert_eq!(check("13812345678"), Ok(PhoneKind::Mobile));
        assert_eq!(check("19912345678"), Ok(PhoneKind::Mobile));
        assert_eq!(check("01062345678"), Ok(PhoneKind::Landline));
        assert_eq!(check("0216234567"), Ok(PhoneKind::Landline));
        assert_eq!(check("037162345678"), Ok(PhoneKind::Landline));
        assert_eq!(check("03716234567"), Ok(PhoneKind::Landline));
    }

    #[test]
    fn wrong_numbers_say_why() {
        assert_eq!(check(""), Err(PhoneProblem::Empty));
        assert_eq!(check("1381234567"), Err(PhoneProblem::MobileLength));
        assert_eq!(check("138123456789"), Err(PhoneProblem::MobileLength));
        assert_eq!(check("12812345678"), Err(PhoneProblem::MobilePrefix));
        assert_eq!(check("010123"), Err(PhoneProblem::LandlineLength));
        assert_eq!(check("01001234567"), Err(PhoneProblem::LandlineLength));
        assert_eq!(check("00012345678"), Err(PhoneProblem::LandlineLength));
        assert_eq!(check("23812345678"), Err(PhoneProblem::Unknown));
        assert_eq!(check("1381234567x"), Err(PhoneProblem::Unknown));
        for p in [PhoneProblem::Empty, PhoneProblem::Unknown] {
            assert!(!p.message_zh().is_empty());
        }
    }

    #[test]
    fn grouping_and_masking() {
        assert_eq!(grouped("13812345678"), "138 1234 5678");
        assert_eq!(grouped("1381"), "138 1");
        assert_eq!(grouped("01062345678"), "010-62345678");
        assert_eq!(grouped("0371"), "0371");
        assert_eq!(masked("13812345678"), "138****5678");
        assert_eq!(masked("01062345678"), "010-****5678");
        assert_eq!(masked("037162345678"), "0371-****5678");
        assert_eq!(masked("123"), "****");
    }
}
