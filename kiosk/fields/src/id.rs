//! Resident ID numbers (GB 11643-1999): check digit, birth date, one-character fixes.

/// Weights of the first 17 digits.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum modulo 11.
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The check character of the first 17 digits, or `None` when they are not 17 digits.
pub fn id_check_digit(first17: &str) -> Option<char> {
    if first17.len() != 17 || !first17.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(CHECK[(sum % 11) as usize])
}

fn birth_date_ok(id: &str) -> bool {
    let num = |r: std::ops::Range<usize>| id.get(r).and_then(|s| s.parse::<u32>().ok());
    match (num(6..10), num(10..12), num(12..14)) {
        (Some(y), Some(m), Some(d)) => {
            (1900..=2100).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
        }
        _ => false,
    }
}

/// True when `id` is 18 characters with a correct check character and a plausible birth date.
pub fn id_valid(id: &str) -> bool {
    let upper = id.to_ascii_uppercase();
    upper.len() == 18
        && upper.get(..17).and_then(id_check_digit) == upper.chars().nth(17)
        && birth_date_ok(&upper)
}

/// Digit pairs that OCR confuses, most likely first.
const CONFUSABLE: [(char, char); 14] = [
    ('1', '7'),
    ('3', '8'),
    ('6', '8'),
    ('0', '8'),
    ('5', '6'),
    ('9', '0'),
    ('8', 'X'),
    ('4', 'X'),
    ('1', '4'),
    ('2', '7'),
    ('5', '3'),
    ('6', '0'),
    ('9', '8'),
    ('0', '6'),
];

fn confusion_rank(from: char, to: char) -> usize {
    CONFUSABLE
        .iter()
        .position(|&(a, b)| (a, b) == (from, to) || (b, a) == (from, to))
        .unwrap_or(CONFUSABLE.len())
}

/// Valid ID numbers one character away from `id`, the most plausible first.
///
/// Plausibility: a change between digits OCR often confuses comes first, then a
/// change of the check character, then any other change. Empty when `id` is
/// not 18 characters.
pub fn id_fixes(id: &str) -> Vec<String> {
    let chars: Vec<char> = id.to_ascii_uppercase().chars().collect();
    if chars.len() != 18 {
        return Vec::new();
    }
    let mut fixes: Vec<(usize, usize, String)> = Vec::new();
    for pos in 0..18 {
        let options: &[char] = if pos == 17 {
            &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'X']
        } else {
            &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
        };
        for &c in options {
            if c == chars[pos] {
                continue;
            }
            let mut cand = chars.clone();
            cand[pos] = c;
            let cand: String = cand.into_iter().collect();
            if id_valid(&cand) {
                let rank = confusion_rank(chars[pos], c);
                let check_pos = usize::from(pos != 17);
                fixes.push((rank, check_pos, cand));
            }
        }
    }
    fixes.sort();
    fixes.into_iter().map(|(_, _, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits() {
        assert!(id_valid("11010519491231002X"));
        assert!(id_valid("11010519491231002x"));
        assert!(id_valid("440305196009236763"));
        assert!(!id_valid("440305196009236764"));
        assert!(!id_valid("4403051960092367"));
        assert!(!id_valid("44030519601392676X"));
        assert_eq!(id_check_digit("11010519491231002"), Some('X'));
        assert_eq!(id_check_digit("1101051949123100"), None);
    }

    #[test]
    fn fixes_prefer_confusable_digits() {
        // 440305196009236763 with its 7th digit 1 read as 7.
        let fixes = id_fixes("440305796009236763");
        assert!(!fixes.is_empty());
        assert!(fixes.iter().all(|f| id_valid(f)));
        assert_eq!(fixes[0], "440305196009236763");
        assert!(id_fixes("123").is_empty());
    }
}
