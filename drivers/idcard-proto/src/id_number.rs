//! GB 11643 citizen identity number check.
//!
//! Errors never carry the number or any part of it.

use crate::date::Date;

/// Why an ID number is not a valid GB 11643 number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 18 characters.
    #[error("id number must have 18 characters")]
    Length,
    /// One of the first 17 characters is not a digit, or the last is neither
    /// a digit nor `X`.
    #[error("id number has an invalid character")]
    BadCharacter,
    /// The embedded birth date does not exist or is implausible.
    #[error("id number has an invalid birth date")]
    BadBirthDate,
    /// The check character does not match.
    #[error("id number check character does not match")]
    BadCheck,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// Earliest and latest plausible birth years.
const BIRTH_YEARS: std::ops::RangeInclusive<u16> = 1850..=2150;

/// The check character for the first 17 digits of a number.
pub fn check_char(first17: &[u8; 17]) -> Option<char> {
    let mut sum = 0u32;
    for (d, w) in first17.iter().zip(WEIGHTS) {
        if !d.is_ascii_digit() {
            return None;
        }
        sum += u32::from(d - b'0') * w;
    }
    Some(char::from(CHECK_CHARS[(sum % 11) as usize]))
}

/// Checks an 18-character GB 11643 number: length, digits, an existing
/// birth date between 1850 and 2150, and the check character (`X` or `x`).
/// The region code is not checked against a table.
pub fn check_id_number(s: &str) -> Result<(), IdNumberError> {
    let b = s.as_bytes();
    if s.chars().count() != 18 || b.len() != 18 {
        return Err(IdNumberError::Length);
    }
    let first17: &[u8; 17] = b[..17].try_into().map_err(|_| IdNumberError::Length)?;
    let last = b[17].to_ascii_uppercase();
    if !first17.iter().all(u8::is_ascii_digit) || !(last.is_ascii_digit() || last == b'X') {
        return Err(IdNumberError::BadCharacter);
    }
    // The slice is ASCII digits, so it is valid UTF-8.
    let birth = Date::parse_yyyymmdd(&s[6..14]).ok_or(IdNumberError::BadBirthDate)?;
    if !BIRTH_YEARS.contains(&birth.year) {
        return Err(IdNumberError::BadBirthDate);
    }
    match check_char(first17) {
        Some(c) if c as u32 == u32::from(last) => Ok(()),
        _ => Err(IdNumberError::BadCheck),
    }
}

/// The birth date embedded in a number that passed [`check_id_number`].
pub fn birth_date_of(s: &str) -> Option<Date> {
    s.get(6..14).and_then(Date::parse_yyyymmdd)
}

#[cfg(test)]
mod tests {
    use super::*;

    // SPECIMEN numbers only, computed with the weights above.
    const SPECIMEN: &str = "11010519491231002X";

    #[test]
    fn specimen_is_valid() {
        assert_eq!(check_id_number(SPECIMEN), Ok(()));
        assert_eq!(check_id_number("11010519491231002x"), Ok(()));
        let first17: &[u8; 17] = SPECIMEN.as_bytes()[..17].try_into().unwrap();
        assert_eq!(check_char(first17), Some('X'));
        assert_eq!(birth_date_of(SPECIMEN), Date::new(1949, 12, 31));
    }

    #[test]
    fn computed_specimen_with_digit_check() {
        // 110101 20000101 001 -> sum 1*7+1*9+0+1*5+0+1*4+2*2+0+0+0+0+1*9+0+1*5+0+0+1*2 = 45, 45 % 11 = 1 -> '0'.
        assert_eq!(check_id_number("110101200001010010"), Ok(()));
        assert_eq!(
            check_id_number("110101200001010011"),
            Err(IdNumberError::BadCheck)
        );
    }

    #[test]
    fn invalid_numbers() {
        assert_eq!(check_id_number(""), Err(IdNumberError::Length));
        assert_eq!(
            check_id_number("11010519491231002"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            check_id_number("11010519491231002XX"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            check_id_number("1101051949123100２X"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            check_id_number("11010519491231A02X"),
            Err(IdNumberError::BadCharacter)
        );
        assert_eq!(
            check_id_number("11010519491231002Y"),
            Err(IdNumberError::BadCharacter)
        );
        assert_eq!(
            check_id_number("110105194902300020"),
            Err(IdNumberError::BadBirthDate)
        );
        assert_eq!(
            check_id_number("110105174912310020"),
            Err(IdNumberError::BadBirthDate)
        );
        assert_eq!(
            check_id_number("110105194912310021"),
            Err(IdNumberError::BadCheck)
        );
    }

    #[test]
    fn errors_do_not_leak_the_number() {
        for bad in [
            "1101051949123100",
            "11010519491231A02X",
            "110105194902300020",
            "110105194912310021",
        ] {
            let msg = check_id_number(bad).unwrap_err().to_string();
            assert!(
                !msg.contains(&bad[..6]) && !msg.contains(&bad[6..14]),
                "{msg}"
            );
        }
    }
}
