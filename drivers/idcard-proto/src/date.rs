//! Calendar dates as printed on the card (`YYYYMMDD`) and card validity.

use std::fmt;

/// A validated calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Four-digit year.
    pub year: u16,
    /// 1 to 12.
    pub month: u8,
    /// 1 to the length of the month.
    pub day: u8,
}

impl Date {
    /// A date, if it exists in the Gregorian calendar (years 1000 to 9999).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        if !(1000..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Parses exactly eight ASCII digits `YYYYMMDD`.
    pub fn parse_yyyymmdd(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 8 || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let num = |r: std::ops::Range<usize>| {
            b[r].iter()
                .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'))
        };
        let month = u8::try_from(num(4..6)).ok()?;
        let day = u8::try_from(num(6..8)).ok()?;
        Date::new(num(0..4), month, day)
    }

    /// The `YYYYMMDD` form used on the card.
    pub fn to_yyyymmdd(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => match (year % 400, year % 100, year % 4) {
            (0, _, _) => 29,
            (_, 0, _) => 28,
            (_, _, 0) => 29,
            _ => 28,
        },
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The word the card uses for "no expiry".
pub const LONG_TERM: &str = "长期";

/// End of a card's validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Validity {
    /// Valid up to and including this date.
    Until(Date),
    /// 长期: no expiry.
    LongTerm,
}

impl Validity {
    /// Parses the "valid to" field: a date or 长期.
    pub fn parse(s: &str) -> Option<Validity> {
        if s == LONG_TERM {
            Some(Validity::LongTerm)
        } else {
            Date::parse_yyyymmdd(s).map(Validity::Until)
        }
    }

    /// The form used on the card.
    pub fn to_card_text(self) -> String {
        match self {
            Validity::Until(d) => d.to_yyyymmdd(),
            Validity::LongTerm => LONG_TERM.to_string(),
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validity::Until(d) => d.fmt(f),
            Validity::LongTerm => f.write_str(LONG_TERM),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_validated() {
        assert_eq!(Date::parse_yyyymmdd("20240229"), Date::new(2024, 2, 29));
        assert!(Date::parse_yyyymmdd("20240229").is_some());
        assert_eq!(Date::parse_yyyymmdd("20230229"), None);
        assert_eq!(Date::parse_yyyymmdd("19000229"), None);
        assert!(Date::parse_yyyymmdd("20000229").is_some());
        assert_eq!(Date::parse_yyyymmdd("20231301"), None);
        assert_eq!(Date::parse_yyyymmdd("20230431"), None);
        assert_eq!(Date::parse_yyyymmdd("2023043"), None);
        assert_eq!(Date::parse_yyyymmdd("2023-4-3"), None);
        assert_eq!(Date::parse_yyyymmdd("２０２３０４０３"), None);
    }

    #[test]
    fn display_and_card_forms() {
        let d = Date::new(2031, 7, 4).unwrap();
        assert_eq!(d.to_string(), "2031-07-04");
        assert_eq!(d.to_yyyymmdd(), "20310704");
        assert_eq!(Validity::parse("长期"), Some(Validity::LongTerm));
        assert_eq!(Validity::parse("20310704"), Some(Validity::Until(d)));
        assert_eq!(Validity::LongTerm.to_string(), "长期");
        assert_eq!(Validity::parse("长"), None);
    }
}
