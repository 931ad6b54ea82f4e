//! Field extraction from the recognised text of a petition page.
//!
//! `extract` finds resident ID numbers (checked against the GB 11643 check
//! digit; a number that fails is kept as doubtful with a one-character fix
//! offered; also written in groups or broken over a line), mobile and
//! landline numbers (also `138-1234-5678`, `+86 139…`, `(0431)8888 6666`),
//! dates (`2024年3月5日`, `2024.3.5`, `2024-03-05`, `二〇二四年五月六日`, with
//! 〇 as OCR reads it: ○ ◯ O o 0 零), amounts (`12,500元`, `1.5万元`,
//! `一万二千五百元`, `壹万贰仟伍佰元`), names after 信访人/申诉人/反映人/联系人
//! (and a few other labels), addresses, the title (关于……的申诉/请求/反映) and
//! the kind of document.
//!
//! OCR text is noisy: lines break inside numbers and Tesseract adds spaces,
//! so matching runs on a normalised copy without whitespace and with
//! full-width digits and punctuation folded to ASCII. Every field carries the
//! byte range of the original text it came from, so a UI can highlight it.
//!
//! All personal values are `kiosk-privacy` newtypes; nothing here logs.

mod cn_number;
mod id;
mod norm;

use std::ops::Range;
use std::sync::LazyLock;

use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, PhoneNumber};
use regex::Regex;

pub use cn_number::parse_chinese_number;
pub use id::{id_check_digit, id_fixes, id_valid};
use norm::Normalized;

/// A value found in the text with the byte range of the original text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    /// The extracted (normalised) value.
    pub value: T,
    /// Byte range in the text given to `extract`.
    pub span: Range<usize>,
}

/// A resident ID number candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdCandidate {
    /// The 18 characters as read (upper-case X).
    pub number: IdNumber,
    /// True when the check digit and the birth date are valid.
    pub valid: bool,
    /// For a doubtful number: the most plausible one-character change that makes it valid.
    pub fix: Option<IdNumber>,
    /// Byte range in the text given to `extract`.
    pub span: Range<usize>,
}

/// A calendar date as written on the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// An amount of money in fen (hundredths of a yuan).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount {
    pub fen: u64,
}

impl Amount {
    /// Whole yuan, rounded down.
    pub fn yuan(&self) -> u64 {
        self.fen / 100
    }
}

/// What kind of paper the page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DocumentKind {
    /// A petition letter (信访信, 申诉信).
    Letter,
    /// A complaint or registration form (登记表) with labelled cells.
    ComplaintForm,
    /// A court judgment or ruling (判决书, 裁定书).
    CourtJudgment,
    /// A notice (通知, 公告, 告知书).
    Notice,
    /// A receipt (收据, 收条).
    Receipt,
    /// None of the above.
    #[default]
    Other,
}

impl DocumentKind {
    /// Short lower-case name: `letter`, `form`, `judgment`, `notice`, `receipt`, `other`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DocumentKind::Letter => "letter",
            DocumentKind::ComplaintForm => "form",
            DocumentKind::CourtJudgment => "judgment",
            DocumentKind::Notice => "notice",
            DocumentKind::Receipt => "receipt",
            DocumentKind::Other => "other",
        }
    }

    /// The Chinese label shown to the clerk.
    pub fn label_zh(&self) -> &'static str {
        match self {
            DocumentKind::Letter => "信访信件",
            DocumentKind::ComplaintForm => "登记表",
            DocumentKind::CourtJudgment => "法院文书",
            DocumentKind::Notice => "通知",
            DocumentKind::Receipt => "收据",
            DocumentKind::Other => "其他",
        }
    }
}

/// Everything `extract` found, in order of appearance within each list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub kind: DocumentKind,
    pub title: Option<Found<PersonalText>>,
    pub id_numbers: Vec<IdCandidate>,
    /// Digits only: `13812345678`, `057187654321`.
    pub phones: Vec<Found<PhoneNumber>>,
    pub dates: Vec<Found<Date>>,
    pub amounts: Vec<Found<Amount>>,
    pub names: Vec<Found<PersonName>>,
    pub addresses: Vec<Found<Address>>,
}

/// Extracts the fields of one page's recognised text.
pub fn extract(text: &str) -> Fields {
    let n = Normalized::new(text);
    let id_numbers = find_ids(&n);
    let taken: Vec<Range<usize>> = id_numbers.iter().map(|c| c.span.clone()).collect();
    Fields {
        kind: classify(&n.text),
        title: find_title(text),
        phones: find_phones(&n, &taken),
        dates: find_dates(&n, &taken),
        amounts: find_amounts(&n),
        names: find_names(&n),
        addresses: find_addresses(&n),
        id_numbers,
    }
}

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, checked by the tests.
    Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").unwrap_or_else(|_| unreachable!()))
}

static ID_RE: LazyLock<Regex> = LazyLock::new(|| re(r"[0-9]{17}[0-9X]"));
/// A mobile number, also with the country code and written in groups (138-1234-5678, 138.1234.5678).
static MOBILE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\+86-?)?1[3-9][0-9][-.]?[0-9]{4}[-.]?[0-9]{4}"));
/// A landline with its area code, also in brackets: 0431-88886666, (0431)88886666.
static LANDLINE_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"\(?0[1-9][0-9]{1,2}\)?-?[2-9][0-9]{6,7}"));
static DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"((?:19|20)[0-9]{2})(?:年([0-9]{1,2})月([0-9]{1,2})[日号]?|[./-]([0-9]{1,2})[./-]([0-9]{1,2}))",
    )
});
static CN_DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"([〇零○◯Oo0一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})[日号]",
    )
});
static AMOUNT_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]{1,2}))?(万)?元|¥([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.([0-9]{1,2}))?",
    )
});
static CN_AMOUNT_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"([零〇一二两三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟萬]+)元"));
static NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:信访人|申诉人|反映人|联系人|投诉人|申请人|举报人|原告|我叫|本人)(?:姓名)?[:：]?(\p{Han}{2,8})",
    )
});
static ADDRESS_RE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:住址|地址|住所地|家住|现住|住)[:：]?([\p{Han}0-9A-Za-z\-－]{4,48})"));
static TITLE_RE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"关于[^\n。]{2,40}?的(?:申诉|请求|反映|投诉|举报|申请|报告|通知|情况说明|诉求)")
});

/// Words that end a name or an address in a run of text without spaces (labels of forms).
const STOP_WORDS: [&str; 22] = [
    "性别", "身份", "公民", "联系", "电话", "住址", "地址", "年龄", "民族", "出生", "职业", "信访",
    "登记", "工作", "单位", "手机", "邮编", "男", "女", "反映", "被告", "原告",
];

/// True when the match `range` cuts a number in two (digits continue across one of its ends).
fn cuts_number(n: &Normalized, range: &Range<usize>) -> bool {
    n.digits_join_at(range.start) || n.digits_join_at(range.end)
}

fn overlaps(a: &Range<usize>, spans: &[Range<usize>]) -> bool {
    spans.iter().any(|b| a.start < b.end && b.start < a.end)
}

fn find_ids(n: &Normalized) -> Vec<IdCandidate> {
    let mut out = Vec::new();
    for m in ID_RE.find_iter(&n.text) {
        if cuts_number(n, &m.range()) {
            continue;
        }
        let number = m.as_str();
        let valid = id_valid(number);
        let fix = if valid {
            None
        } else {
            id_fixes(number).into_iter().next().map(IdNumber::new)
        };
        out.push(IdCandidate {
            number: IdNumber::new(number),
            valid,
            fix,
            span: n.original(m.range()),
        });
    }
    out
}

fn find_phones(n: &Normalized, ids: &[Range<usize>]) -> Vec<Found<PhoneNumber>> {
    let mut out: Vec<Found<PhoneNumber>> = Vec::new();
    for re in [&*MOBILE_RE, &*LANDLINE_RE] {
        for m in re.find_iter(&n.text) {
            if cuts_number(n, &m.range()) {
                continue;
            }
            let span = n.original(m.range());
            if overlaps(&span, ids)
                || out
                    .iter()
                    .any(|p| overlaps(&span, std::slice::from_ref(&p.span)))
            {
                continue;
            }
            let number = m.as_str();
            let number = number.strip_prefix("+86").unwrap_or(number);
            let digits: String = number.chars().filter(char::is_ascii_digit).collect();
            out.push(Found {
                value: PhoneNumber::new(digits),
                span,
            });
        }
    }
    out.sort_by_key(|f| f.span.start);
    out
}

fn valid_date(year: u32, month: u32, day: u32) -> Option<Date> {
    if !(1900..=2100).contains(&year) {
        return None;
    }
    chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    Some(Date {
        year: year as u16,
        month: month as u8,
        day: day as u8,
    })
}

fn find_dates(n: &Normalized, ids: &[Range<usize>]) -> Vec<Found<Date>> {
    let mut out = Vec::new();
    for c in DATE_RE.captures_iter(&n.text) {
        let Some(whole) = c.get(0) else { continue };
        if n.digits_join_at(whole.start()) {
            continue;
        }
        let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        let (Some(y), Some(m), Some(d)) = (num(1), num(2).or(num(4)), num(3).or(num(5))) else {
            continue;
        };
        let span = n.original(whole.range());
        if overlaps(&span, ids) {
            continue;
        }
        if let Some(date) = valid_date(y, m, d) {
            out.push(Found { value: date, span });
        }
    }
    for c in CN_DATE_RE.captures_iter(&n.text) {
        let (Some(whole), Some(y), Some(m), Some(d)) = (c.get(0), c.get(1), c.get(2), c.get(3))
        else {
            continue;
        };
        let year: String = y
            .as_str()
            .chars()
            .filter_map(|ch| match ch {
                // OCR reads 〇 as any round shape.
                '〇' | '零' | '○' | '◯' | 'O' | 'o' | '0' => Some('0'),
                _ => cn_number::digit(ch).and_then(|v| char::from_digit(v as u32, 10)),
            })
            .collect();
        let (Ok(year), Some(month), Some(day)) = (
            year.parse::<u32>(),
            parse_chinese_number(m.as_str()),
            parse_chinese_number(d.as_str()),
        ) else {
            continue;
        };
        if let Some(date) = valid_date(year, month as u32, day as u32) {
            out.push(Found {
                value: date,
                span: n.original(whole.range()),
            });
        }
    }
    out.sort_by_key(|f| f.span.start);
    out
}

fn find_amounts(n: &Normalized) -> Vec<Found<Amount>> {
    let mut out = Vec::new();
    for c in AMOUNT_RE.captures_iter(&n.text) {
        let Some(whole) = c.get(0) else { continue };
        if n.digits_join_at(whole.start()) {
            continue;
        }
        let int = c.get(1).or(c.get(4)).map(|m| m.as_str().replace(',', ""));
        let Some(Ok(int)) = int.map(|s| s.parse::<u64>()) else {
            continue;
        };
        let frac = c.get(2).or(c.get(5)).map(|m| m.as_str());
        let frac_fen = match frac {
            Some(f) if f.len() == 1 => f.parse::<u64>().unwrap_or(0) * 10,
            Some(f) => f.parse::<u64>().unwrap_or(0),
            None => 0,
        };
        let mut fen = int.saturating_mul(100).saturating_add(frac_fen);
        if c.get(3).is_some() {
            fen = fen.saturating_mul(10_000);
        }
        out.push(Found {
            value: Amount { fen },
            span: n.original(whole.range()),
        });
    }
    for c in CN_AMOUNT_RE.captures_iter(&n.text) {
        let (Some(whole), Some(num)) = (c.get(0), c.get(1)) else {
            continue;
        };
        // 1.5万元 is the digit pattern's; a numeral needs at least one digit word.
        let after_digit =
            n.text[..whole.start()].ends_with(|c: char| c.is_ascii_digit() || c == '.');
        if after_digit || !num.as_str().chars().any(|c| cn_number::digit(c).is_some()) {
            continue;
        }
        if let Some(v) = parse_chinese_number(num.as_str()) {
            if v > 0 {
                out.push(Found {
                    value: Amount {
                        fen: v.saturating_mul(100),
                    },
                    span: n.original(whole.range()),
                });
            }
        }
    }
    out.sort_by_key(|f| f.span.start);
    out
}

/// Cuts `s` at the first stop word (a form label glued to the value).
fn cut_at_stop_word(s: &str) -> &str {
    let mut end = s.len();
    for w in STOP_WORDS {
        if let Some(i) = s.find(w) {
            end = end.min(i);
        }
    }
    &s[..end]
}

fn find_names(n: &Normalized) -> Vec<Found<PersonName>> {
    let mut out: Vec<Found<PersonName>> = Vec::new();
    for c in NAME_RE.captures_iter(&n.text) {
        let Some(m) = c.get(1) else { continue };
        let mut name = cut_at_stop_word(m.as_str());
        if name.chars().count() > 4 {
            // No label follows: most names have three characters.
            name = &name[..name.char_indices().nth(3).map_or(name.len(), |(i, _)| i)];
        }
        if name.chars().count() < 2 || name.starts_with("某某") && name.ends_with('司') {
            continue;
        }
        if out.iter().any(|f| f.value.expose() == name) {
            continue;
        }
        let range = m.start()..m.start() + name.len();
        out.push(Found {
            value: PersonName::new(name),
            span: n.original(range),
        });
    }
    out
}

/// Characters an address usually ends with.
const ADDRESS_ENDS: [char; 9] = ['号', '室', '村', '组', '栋', '楼', '户', '弄', '巷'];

fn find_addresses(n: &Normalized) -> Vec<Found<Address>> {
    let mut out: Vec<Found<Address>> = Vec::new();
    for c in ADDRESS_RE.captures_iter(&n.text) {
        let Some(m) = c.get(1) else { continue };
        let mut addr = cut_at_stop_word(m.as_str());
        if let Some(i) = addr.rfind(|ch| ADDRESS_ENDS.contains(&ch)) {
            let end = i + addr[i..].chars().next().map_or(0, char::len_utf8);
            addr = &addr[..end];
        }
        let place_words = ["省", "市", "县", "区", "镇", "乡", "村", "路", "街"];
        if addr.chars().count() < 4 || !place_words.iter().any(|w| addr.contains(w)) {
            continue;
        }
        if out.iter().any(|f| f.value.expose() == addr) {
            continue;
        }
        let range = m.start()..m.start() + addr.len();
        out.push(Found {
            value: Address::new(addr),
            span: n.original(range),
        });
    }
    out
}

/// Keywords of each document kind with their weights.
const KIND_WORDS: [(DocumentKind, &[(&str, u32)]); 5] = [
    (
        DocumentKind::CourtJudgment,
        &[
            ("判决书", 6),
            ("裁定书", 6),
            ("人民法院", 3),
            ("原告", 2),
            ("被告", 2),
            ("判决如下", 4),
            ("本院", 2),
        ],
    ),
    (
        DocumentKind::ComplaintForm,
        &[
            ("登记表", 6),
            ("申请表", 5),
            ("性别", 2),
            ("身份证号码", 1),
            ("登记日期", 3),
            ("信访事项", 2),
        ],
    ),
    (
        DocumentKind::Notice,
        &[
            ("通知", 3),
            ("公告", 4),
            ("告知书", 5),
            ("特此通知", 4),
            ("特此公告", 4),
        ],
    ),
    (
        DocumentKind::Receipt,
        &[
            ("收据", 6),
            ("收条", 6),
            ("今收到", 4),
            ("收款", 2),
            ("小写", 2),
            ("大写", 2),
        ],
    ),
    (
        DocumentKind::Letter,
        &[
            ("尊敬的", 3),
            ("此致", 3),
            ("敬礼", 2),
            ("反映人", 3),
            ("信访人", 1),
            ("恳请", 2),
            ("请求", 1),
            ("反映", 1),
            ("申诉", 2),
        ],
    ),
];

fn classify(norm: &str) -> DocumentKind {
    let mut best = (0, DocumentKind::Other);
    for (kind, words) in KIND_WORDS {
        let score: u32 = words
            .iter()
            .filter(|(w, _)| norm.contains(w))
            .map(|(_, s)| s)
            .sum();
        if score > best.0 {
            best = (score, kind);
        }
    }
    if best.0 >= 3 {
        best.1
    } else {
        DocumentKind::Other
    }
}

/// Title words that make a short line near the top a title.
const TITLE_WORDS: [&str; 9] = [
    "判决书",
    "裁定书",
    "登记表",
    "申请表",
    "通知",
    "公告",
    "收据",
    "申诉书",
    "信访材料",
];

fn find_title(text: &str) -> Option<Found<PersonalText>> {
    // The 关于……的X form, on one line (spaces inside are OCR noise).
    let mut offset = 0;
    let mut short_lines = Vec::new();
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        if let Some(m) = TITLE_RE.find(&compact) {
            let first = line.find('关').unwrap_or(0);
            return Some(Found {
                value: PersonalText::new(m.as_str()),
                span: start + first..start + line.trim_end().len(),
            });
        }
        let len = compact.chars().count();
        if short_lines.len() < 4 && len > 0 {
            short_lines.push((start, line, compact, len));
        }
    }
    short_lines
        .into_iter()
        .find_map(|(start, line, compact, len)| {
            let is_title = len <= 20 && TITLE_WORDS.iter().any(|w| compact.contains(w));
            is_title.then(|| {
                let lead = line.len() - line.trim_start().len();
                Found {
                    value: PersonalText::new(compact),
                    span: start + lead..start + line.trim_end().len(),
                }
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LETTER: &str = "关于 拖欠 工资 问题 的 反映\n尊敬的信访接待同志：\n我叫赵海兰，身份证号310104197507208317，住某省某市城关镇人民路\n216号5单元571室。\n2021年11月以来，涉及金额共计1\n58,000元，至今没有解决。\n反映人：赵海兰\n联系电话：13984521125\n2022年11月15日\n";

    #[test]
    fn letter_fields_are_found() {
        let f = extract(LETTER);
        assert_eq!(f.kind, DocumentKind::Letter);
        assert_eq!(
            f.title.as_ref().unwrap().value.expose(),
            "关于拖欠工资问题的反映"
        );
        assert_eq!(f.id_numbers.len(), 1);
        assert!(f.id_numbers[0].valid);
        assert_eq!(f.id_numbers[0].number.expose(), "310104197507208317");
        assert_eq!(&LETTER[f.id_numbers[0].span.clone()], "310104197507208317");
        let phones: Vec<&str> = f.phones.iter().map(|p| p.value.expose()).collect();
        assert_eq!(phones, ["13984521125"]);
        let dates: Vec<String> = f.dates.iter().map(|d| d.value.to_string()).collect();
        assert_eq!(dates, ["2022-11-15"]);
        let amounts: Vec<u64> = f.amounts.iter().map(|a| a.value.yuan()).collect();
        assert_eq!(amounts, [158_000]);
        let names: Vec<&str> = f.names.iter().map(|n| n.value.expose()).collect();
        assert_eq!(names, ["赵海兰"]);
        assert_eq!(
            f.addresses[0].value.expose(),
            "某省某市城关镇人民路216号5单元571室"
        );
    }

    #[test]
    fn form_cells_glued_together_are_split_at_labels() {
        let text = "信访事项登记表\n信访人 陈红明 性别 男\n身份证号码 440305196009236763\n联系电话 17724492622\n住址 某省某县新华区建设街220号5单元1291室\n信访事项 单位拖欠工资六千八百元未支付\n登记日期 2021-12-17";
        let f = extract(text);
        assert_eq!(f.kind, DocumentKind::ComplaintForm);
        assert_eq!(f.names[0].value.expose(), "陈红明");
        assert_eq!(
            f.addresses[0].value.expose(),
            "某省某县新华区建设街220号5单元1291室"
        );
        assert_eq!(f.amounts[0].value.yuan(), 6800);
        assert_eq!(f.dates[0].value.to_string(), "2021-12-17");
        assert_eq!(f.title.unwrap().value.expose(), "信访事项登记表");
    }

    #[test]
    fn doubtful_id_gets_a_fix() {
        // 330106199702213918 with its 16th digit 3 misread as 8.
        let f = extract("公民身份号码330106199702218918。");
        let id = &f.id_numbers[0];
        assert!(!id.valid);
        let fix = id.fix.as_ref().unwrap().expose().to_owned();
        assert!(id_valid(&fix));
        assert_eq!(
            fix.chars()
                .zip("330106199702218918".chars())
                .filter(|(a, b)| a != b)
                .count(),
            1
        );
        // Several one-digit changes are valid; the true number is among the fixes offered.
        assert!(id_fixes("330106199702218918")
            .iter()
            .any(|f| f == "330106199702213918"));
    }

    #[test]
    fn date_forms() {
        let f = extract("2024年3月5日，2024.3.5，2024-03-05，二〇二四年五月六日，2023年2月30日");
        let dates: Vec<String> = f.dates.iter().map(|d| d.value.to_string()).collect();
        assert_eq!(
            dates,
            ["2024-03-05", "2024-03-05", "2024-03-05", "2024-05-06"]
        );
    }

    #[test]
    fn chinese_numeral_dates_as_ocr_reads_them() {
        // 〇 comes out of OCR as 〇, ○, ◯, O, o, 0 or 零; 日 may be 号.
        let f = extract(
            "二〇二四年五月九日 二○二三年十二月三十一日 二◯二二年一月一号 二O二一年十月二十日 二0二0年二月二十九日 二零一九年六月十日 一九九九年十一月十一日",
        );
        let dates: Vec<String> = f.dates.iter().map(|d| d.value.to_string()).collect();
        assert_eq!(
            dates,
            [
                "2024-05-09",
                "2023-12-31",
                "2022-01-01",
                "2021-10-20",
                "2020-02-29",
                "2019-06-10",
                "1999-11-11"
            ]
        );
        // Not dates: an impossible day, a year without 年.
        assert!(extract("二〇二三年二月三十日 二〇二四五月九日").dates.is_empty());
    }

    #[test]
    fn numbers_written_in_groups_or_broken_over_lines() {
        let f = extract(
            "身份证号：4403 0519 7901 2251 54\n电话：138-1234-5678，座机 0431-8888 6666，(0431)87654321，+86 139 8080 4821",
        );
        let ids: Vec<&str> = f.id_numbers.iter().map(|c| c.number.expose()).collect();
        assert_eq!(ids, ["440305197901225154"]);
        assert!(f.id_numbers[0].valid);
        let phones: Vec<&str> = f.phones.iter().map(|p| p.value.expose()).collect();
        assert_eq!(
            phones,
            ["13812345678", "043188886666", "043187654321", "13980804821"]
        );
        let f = extract("公民身份号码 44030519790\n1225154 男");
        assert_eq!(f.id_numbers[0].number.expose(), "440305197901225154");
        // A long number is not cut into a phone.
        let p = extract("账号 6222021381234567890");
        assert!(p.phones.is_empty(), "{:?}", p.phones.iter().map(|p| p.value.expose().to_owned()).collect::<Vec<_>>());
    }

    #[test]
    fn amount_forms() {
        let f = extract(
            "共计12,500元；一万二千五百元；壹万贰仟伍佰元整；¥3,000.50；约十八万元；1.5万元",
        );
        let fen: Vec<u64> = f.amounts.iter().map(|a| a.value.fen).collect();
        assert_eq!(
            fen,
            [1_250_000, 1_250_000, 1_250_000, 300_050, 18_000_000, 1_500_000]
        );
    }

    #[test]
    fn phones_are_not_taken_from_id_numbers() {
        let f = extract("身份证 110101199003071234 电话 0571-87654321 手机13800138000");
        let phones: Vec<&str> = f.phones.iter().map(|p| p.value.expose()).collect();
        assert_eq!(phones, ["057187654321", "13800138000"]);
        assert!(f.dates.is_empty());
    }

    #[test]
    fn kinds() {
        assert_eq!(
            extract("某某区人民法院\n民事判决书\n原告：张三").kind,
            DocumentKind::CourtJudgment
        );
        assert_eq!(
            extract("关于调整接待时间的通知\n特此通知。").kind,
            DocumentKind::Notice
        );
        assert_eq!(extract("收据\n今收到押金").kind, DocumentKind::Receipt);
        assert_eq!(extract("hello world").kind, DocumentKind::Other);
        assert_eq!(extract("").kind, DocumentKind::Other);
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "元元元",
            "¥",
            "年月日",
            "关于的反映",
            "住：",
            "信访人：",
            "9999年99月99日",
            "十十十十元",
            "\u{0}\n\r\t",
        ] {
            let _ = extract(s);
        }
        let long: String = "1".repeat(5000) + "元";
        let f = extract(&long);
        assert!(f.phones.is_empty() && f.id_numbers.is_empty());
    }

    #[test]
    fn debug_output_masks_personal_values() {
        let shown = format!("{:?}", extract(LETTER));
        assert!(!shown.contains("赵海兰"));
        assert!(!shown.contains("13984521125"));
        assert!(!shown.contains("310104197507208317"));
    }
}
