//! Layouts as data: [`Template`]s loaded from TOML (`templates/*.toml`)
//! and the documents filled into them, [`Receipt`] and [`QueueTicket`].

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::{Align, Block, PrintJob, Size, TemplateError};

/// The built-in receipt layout.
const RECEIPT_TOML: &str = include_str!("../templates/receipt.toml");
/// The built-in queue ticket layout.
const TICKET_TOML: &str = include_str!("../templates/ticket.toml");
/// The built-in notice layout.
const NOTICE_TOML: &str = include_str!("../templates/notice.toml");

/// The most characters of a notice's text printed at the terminal (the
/// registry takes notices up to 4000 characters; about 1.7 m of paper).
pub const MAX_NOTICE_PRINT_CHARS: usize = 4000;

/// The line under the local reference while the case number is pending.
pub const QUEUED_NOTE: &str = "登记已保存，编号稍后生成";
/// The default "what happens next" line of the receipt.
pub const NEXT_STEP: &str = "您的材料将转交有权处理的单位，一般在30日内答复。";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    #[default]
    Text,
    Qr,
    Rule,
    Feed,
    /// The text, one block per line of it (a notice's paragraphs).
    Paragraphs,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlockSpec {
    #[serde(default)]
    kind: Kind,
    #[serde(default)]
    text: String,
    #[serde(default)]
    data: String,
    #[serde(default)]
    align: Align,
    #[serde(default)]
    size: Size,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    module: Option<u8>,
    #[serde(default)]
    lines: Option<u8>,
    #[serde(default)]
    when: Option<String>,
    #[serde(default)]
    unless: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateFile {
    block: Vec<BlockSpec>,
}

/// A printed layout: blocks with `{field}` placeholders.
#[derive(Clone, Debug)]
pub struct Template {
    blocks: Vec<BlockSpec>,
}

impl Template {
    /// Parses a template from TOML text.
    pub fn parse(toml_text: &str) -> Result<Template, TemplateError> {
        let file: TemplateFile = toml::from_str(toml_text)?;
        Ok(Template { blocks: file.block })
    }

    /// The built-in receipt layout (`templates/receipt.toml`).
    pub fn receipt() -> Template {
        // Checked by a unit test: the built-in file always parses.
        Template::parse(RECEIPT_TOML).unwrap_or(Template { blocks: Vec::new() })
    }

    /// The built-in queue ticket layout (`templates/ticket.toml`).
    pub fn ticket() -> Template {
        Template::parse(TICKET_TOML).unwrap_or(Template { blocks: Vec::new() })
    }

    /// The built-in notice layout (`templates/notice.toml`).
    pub fn notice() -> Template {
        Template::parse(NOTICE_TOML).unwrap_or(Template { blocks: Vec::new() })
    }

    /// Fills the placeholders from `fields` and returns the job. Every
    /// field the template names must be in `fields` (it may be empty).
    pub fn fill(&self, fields: &[(&str, String)]) -> Result<PrintJob, TemplateError> {
        let lookup = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| TemplateError::UnknownField(name.to_string()))
        };
        let mut blocks = Vec::new();
        for (idx, spec) in self.blocks.iter().enumerate() {
            if let Some(name) = &spec.when {
                if lookup(name)?.is_empty() {
                    continue;
                }
            }
            if let Some(name) = &spec.unless {
                if !lookup(name)?.is_empty() {
                    continue;
                }
            }
            let block = match spec.kind {
                Kind::Text => Block::Text {
                    text: substitute(&spec.text, idx + 1, &lookup)?,
                    align: spec.align,
                    bold: spec.bold,
                    size: spec.size,
                },
                Kind::Qr => Block::Qr {
                    data: substitute(&spec.data, idx + 1, &lookup)?,
                    module: spec.module.unwrap_or(6),
                    align: spec.align,
                },
                Kind::Rule => Block::Rule,
                Kind::Feed => Block::Feed(spec.lines.unwrap_or(1)),
                Kind::Paragraphs => {
                    let text = substitute(&spec.text, idx + 1, &lookup)?;
                    paragraphs(&text, spec, &mut blocks);
                    continue;
                }
            };
            blocks.push(block);
        }
        Ok(PrintJob { blocks })
    }
}

/// One text block per non-empty line of `text`; a run of empty lines
/// becomes one blank line.
fn paragraphs(text: &str, spec: &BlockSpec, blocks: &mut Vec<Block>) {
    let mut blank = false;
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank = true;
            continue;
        }
        if blank && !blocks.is_empty() {
            blocks.push(Block::Feed(1));
        }
        blank = false;
        for piece in wrap(line, spec.size) {
            blocks.push(Block::Text {
                text: piece,
                align: spec.align,
                bold: spec.bold,
                size: spec.size,
            });
        }
    }
}

/// Punctuation that must not begin a printed line (the rule of Chinese
/// typesetting: a comma or closing bracket stays with what it follows).
const NO_LINE_START: &str = "，。、；：？！）》」』”’…%,.;:?!)]}";

/// Breaks `line` into pieces that fit the paper at `size`, as the printer
/// would, except that a piece never begins with [`NO_LINE_START`]
/// punctuation: the character before it moves down with it.
fn wrap(line: &str, size: crate::Size) -> Vec<String> {
    let (w, _) = size.factors();
    let width = |c: char| if c.is_ascii() { 12 } else { 24 } * u32::from(w);
    let mut pieces: Vec<Vec<char>> = vec![Vec::new()];
    let mut used = 0;
    for c in line.chars() {
        if used + width(c) > crate::escpos::PAPER_DOTS {
            let mut next = Vec::new();
            if let Some(current) = pieces.last_mut() {
                if NO_LINE_START.contains(c) {
                    // Down go the punctuation the line ends with and the
                    // character it follows.
                    let mut k = current.len();
                    while k > 1 && NO_LINE_START.contains(current[k - 1]) {
                        k -= 1;
                    }
                    next = current.split_off(k.saturating_sub(1).max(1));
                }
            }
            used = next.iter().map(|&c| width(c)).sum();
            pieces.push(next);
        }
        used += width(c);
        if let Some(current) = pieces.last_mut() {
            current.push(c);
        }
    }
    pieces.into_iter().map(|p| p.into_iter().collect()).collect()
}

/// Masks an ID number that arrived unmasked by mistake (last two shown).
fn mask_again(id: &str) -> String {
    if kiosk_privacy::redact(id) == id {
        id.to_string()
    } else {
        kiosk_privacy::mask(id, 2)
    }
}

fn substitute<'a>(
    text: &str,
    block_no: usize,
    lookup: &impl Fn(&str) -> Result<&'a str, TemplateError>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('}').ok_or(TemplateError::Unclosed(block_no))?;
        out.push_str(lookup(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The registration receipt (登记回执).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The terminal's id.
    pub terminal_id: String,
    /// The hall's name, printed as the heading.
    pub hall_name: String,
    /// When the registration was sealed (local time).
    pub registered_at: NaiveDateTime,
    /// The registry's case number, once acknowledged.
    pub case_number: Option<String>,
    /// The local reference; printed with [`QUEUED_NOTE`] while there is no
    /// case number.
    pub local_reference: String,
    /// The category label.
    pub category: String,
    /// Pages captured.
    pub page_count: u32,
    /// Voice notes recorded (printed as "，含语音 1 段").
    pub voice_notes: u32,
    /// The ID number, already masked (`kiosk_privacy::IdNumber::masked`).
    /// Any long digit run left in it is masked again before printing.
    pub id_number_masked: String,
    /// The code the QR carries for the progress query; never the ID number.
    pub query_code: String,
    /// The "what happens next" line ([`NEXT_STEP`] by default).
    pub next_step: String,
}

impl Receipt {
    /// The template fields of this receipt.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("terminal_id", self.terminal_id.clone()),
            ("hall_name", self.hall_name.clone()),
            (
                "date",
                self.registered_at.format("%Y年%m月%d日").to_string(),
            ),
            ("time", self.registered_at.format("%H:%M").to_string()),
            ("case_number", self.case_number.clone().unwrap_or_default()),
            ("local_reference", self.local_reference.clone()),
            ("category", self.category.clone()),
            ("page_count", self.page_count.to_string()),
            (
                "voice_notes",
                if self.voice_notes > 0 {
                    format!("，含语音 {} 段", self.voice_notes)
                } else {
                    String::new()
                },
            ),
            ("id_number", mask_again(&self.id_number_masked)),
            ("query_code", self.query_code.clone()),
            ("next_step", self.next_step.clone()),
        ]
    }

    /// The receipt in the built-in layout.
    pub fn to_job(&self) -> Result<PrintJob, TemplateError> {
        self.render(&Template::receipt())
    }

    /// The receipt in `template`. A query code that looks like an ID or
    /// phone number is refused: the QR code must never carry one.
    pub fn render(&self, template: &Template) -> Result<PrintJob, TemplateError> {
        if kiosk_privacy::redact(&self.query_code) != self.query_code {
            return Err(TemplateError::LooksPersonal("query code"));
        }
        template.fill(&self.fields())
    }
}

/// The queue ticket (排队号) for the clerk's window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueTicket {
    /// The terminal's id.
    pub terminal_id: String,
    /// The hall's name.
    pub hall_name: String,
    /// The queue number, e.g. `A023`.
    pub number: String,
    /// The window to go to, e.g. `3号窗口`.
    pub window: String,
    /// People waiting ahead, when known.
    pub ahead: Option<u32>,
    /// When the ticket was issued (local time).
    pub issued_at: NaiveDateTime,
}

impl QueueTicket {
    /// The template fields of this ticket.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("terminal_id", self.terminal_id.clone()),
            ("hall_name", self.hall_name.clone()),
            ("number", self.number.clone()),
            ("window", self.window.clone()),
            (
                "ahead",
                self.ahead.map(|n| n.to_string()).unwrap_or_default(),
            ),
            ("date", self.issued_at.format("%Y年%m月%d日").to_string()),
            ("time", self.issued_at.format("%H:%M:%S").to_string()),
        ]
    }

    /// The ticket in the built-in layout.
    pub fn to_job(&self) -> Result<PrintJob, TemplateError> {
        self.render(&Template::ticket())
    }

    /// The ticket in `template`.
    pub fn render(&self, template: &Template) -> Result<PrintJob, TemplateError> {
        template.fill(&self.fields())
    }
}

/// A notice of the petition office (受理告知书, 不予受理告知书, 答复意见书)
/// printed for the petitioner from the progress screen. Its text is the
/// petitioner's: it is never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct NoticeSlip {
    /// The terminal's id.
    pub terminal_id: String,
    /// The hall's name, printed as the heading.
    pub hall_name: String,
    /// The registry's case number; the QR code carries it.
    pub case_number: String,
    /// The notice's title (受理告知书 …).
    pub title: String,
    /// When the office issued it (RFC 3339; printed as a date, or left out
    /// when it does not parse).
    pub issued_at: String,
    /// The notice's text as the office wrote it.
    pub text: String,
    /// When it is printed (local time).
    pub printed_at: NaiveDateTime,
}

impl std::fmt::Debug for NoticeSlip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NoticeSlip({}, {} chars)",
            self.case_number,
            self.text.chars().count()
        )
    }
}

impl NoticeSlip {
    /// The template fields of this notice (the text cut at
    /// [`MAX_NOTICE_PRINT_CHARS`], `truncated` set when it was).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let issued = chrono::DateTime::parse_from_rfc3339(&self.issued_at)
            .map(|t| t.format("%Y年%m月%d日").to_string())
            .unwrap_or_default();
        let long = self.text.chars().count() > MAX_NOTICE_PRINT_CHARS;
        let text: String = self.text.chars().take(MAX_NOTICE_PRINT_CHARS).collect();
        vec![
            ("terminal_id", self.terminal_id.clone()),
            ("hall_name", self.hall_name.clone()),
            ("case_number", self.case_number.clone()),
            ("title", self.title.clone()),
            ("issued_date", issued),
            ("text", text),
            ("truncated", if long { "1".into() } else { String::new() }),
            (
                "printed_date",
                self.printed_at.format("%Y年%m月%d日").to_string(),
            ),
            ("printed_time", self.printed_at.format("%H:%M").to_string()),
        ]
    }

    /// The notice in the built-in layout.
    pub fn to_job(&self) -> Result<PrintJob, TemplateError> {
        self.render(&Template::notice())
    }

    /// The notice in `template`. A case number that looks like an ID or
    /// phone number is refused: the QR code must never carry one.
    pub fn render(&self, template: &Template) -> Result<PrintJob, TemplateError> {
        if kiosk_privacy::redact(&self.case_number) != self.case_number {
            return Err(TemplateError::LooksPersonal("case number"));
        }
        template.fill(&self.fields())
    }
}

/// The SPECIMEN acceptance notice (the printer's reference test and the
/// screenshots); it holds no one's data.
pub fn specimen_notice() -> NoticeSlip {
    NoticeSlip {
        terminal_id: "SPECIMEN-T01".to_string(),
        hall_name: "样例镇信访接待中心".to_string(),
        case_number: "XF20261128-000123".to_string(),
        title: "受理告知书".to_string(),
        issued_at: "2026-12-01T10:30:00+08:00".to_string(),
        text: "样例先生/女士：\n\n　　您于2026年11月28日提出的信访事项（拖欠工资），经审查，\
               符合受理条件，本机关决定予以受理，将在60日内办结并书面答复。\n\n\
               样例县信访局（SPECIMEN）"
            .to_string(),
        printed_at: specimen_time(),
    }
}

/// The query code of [`specimen_receipt`].
pub const SPECIMEN_QUERY_CODE: &str = "XF-Q7K2-M9PD";

fn specimen_time() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
        .and_then(|d| d.and_hms_opt(15, 10, 0))
        .unwrap_or_default()
}

/// The SPECIMEN receipt of a test print (the technician screen's "测试打印",
/// `kiosk printer test`), also used by the tests and the benchmark; with
/// `case_number` `None` it is the offline receipt. Marked as a specimen by
/// its terminal id and hall; it holds no one's data.
pub fn specimen_receipt(case_number: Option<&str>) -> Receipt {
    Receipt {
        terminal_id: "SPECIMEN-T01".to_string(),
        hall_name: "样例镇信访接待中心".to_string(),
        registered_at: specimen_time(),
        case_number: case_number.map(str::to_string),
        local_reference: "L20261128-0007".to_string(),
        category: "劳动保障（拖欠工资）".to_string(),
        page_count: 3,
        voice_notes: 0,
        id_number_masked: "****************2X".to_string(),
        query_code: SPECIMEN_QUERY_CODE.to_string(),
        next_step: NEXT_STEP.to_string(),
    }
}

/// The SPECIMEN queue ticket of a test print (`kiosk printer test --ticket`).
pub fn specimen_ticket() -> QueueTicket {
    QueueTicket {
        terminal_id: "SPECIMEN-T01".to_string(),
        hall_name: "样例镇信访接待中心".to_string(),
        number: "A023".to_string(),
        window: "3号窗口".to_string(),
        ahead: Some(4),
        issued_at: specimen_time(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(case_number: Option<&str>) -> Receipt {
        Receipt {
            terminal_id: "T-0001".into(),
            hall_name: "样例镇信访接待中心".into(),
            registered_at: NaiveDateTime::parse_from_str("2026-11-28 15:10", "%Y-%m-%d %H:%M")
                .unwrap_or_default(),
            case_number: case_number.map(str::to_string),
            local_reference: "L-20261128-0007".into(),
            category: "劳动保障".into(),
            page_count: 3,
            voice_notes: 0,
            id_number_masked: "110105199001011234".into(),
            query_code: "Q7K2M9".into(),
            next_step: NEXT_STEP.into(),
        }
    }

    fn texts(job: &PrintJob) -> Vec<String> {
        job.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Text { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn built_in_templates_parse() {
        assert!(Template::parse(RECEIPT_TOML).is_ok());
        assert!(Template::parse(TICKET_TOML).is_ok());
        assert!(Template::parse(NOTICE_TOML).is_ok());
    }

    #[test]
    fn offline_receipt_shows_local_reference_and_note() {
        let job = receipt(None).to_job().expect("fills");
        let all = texts(&job).join("\n");
        assert!(all.contains("L-20261128-0007"));
        assert!(all.contains(QUEUED_NOTE));
        assert!(!all.contains("登记编号"));
    }

    #[test]
    fn acknowledged_receipt_shows_case_number_only() {
        let all = texts(&receipt(Some("XF2026-000123")).to_job().expect("fills")).join("\n");
        assert!(all.contains("XF2026-000123"));
        assert!(!all.contains(QUEUED_NOTE));
    }

    #[test]
    fn an_unmasked_id_number_is_masked_anyway() {
        let all = texts(&receipt(None).to_job().expect("fills")).join("\n");
        assert!(!all.contains("110105199001011234"));
        assert!(all.contains("身份证号：****************34"));
    }

    #[test]
    fn an_id_number_as_query_code_is_refused() {
        let mut r = receipt(None);
        r.query_code = "110105199001011234".into();
        assert!(matches!(r.to_job(), Err(TemplateError::LooksPersonal(_))));
    }

    #[test]
    fn a_notice_prints_each_paragraph_with_its_case_number_and_date() {
        let job = specimen_notice().to_job().expect("fills");
        let all = texts(&job);
        assert!(all.contains(&"受理告知书".to_string()));
        assert!(all.contains(&"登记编号：XF20261128-000123".to_string()));
        assert!(all.contains(&"告知日期：2026年12月01日".to_string()));
        assert!(all.contains(&"样例先生/女士：".to_string()));
        assert!(all.iter().any(|t| t.starts_with("　　您于2026年11月28日")));
        assert!(!all.iter().any(|t| t.contains('\n')), "one block a line");
        assert!(job.blocks.iter().any(
            |b| matches!(b, Block::Qr { data, .. } if data == "XF20261128-000123")
        ));
        assert!(!all.iter().any(|t| t.contains("未印完")));
        // Blank lines between paragraphs become one feed each.
        let feeds = job.blocks.iter().filter(|b| matches!(b, Block::Feed(1))).count();
        assert_eq!(feeds, 2);
    }

    #[test]
    fn no_printed_line_starts_with_a_comma_and_none_is_wider_than_the_paper() {
        let text = format!("{}，{}。", "字".repeat(24), "字".repeat(30));
        let lines = wrap(&text, crate::Size::Normal);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[0].chars().count(), 23);
        assert!(lines[1].starts_with("字，"));
        for l in &lines {
            assert!(!l.starts_with(|c| NO_LINE_START.contains(c)));
            assert!(l.chars().count() <= 24);
        }
        assert_eq!(lines.concat(), text, "nothing lost");
        let text = format!("{}（括号）。{}", "字".repeat(20), "字".repeat(5));
        let lines = wrap(&text, crate::Size::Normal);
        assert_eq!(lines[1], format!("号）。{}", "字".repeat(5)), "{lines:?}");
        let ascii = "a".repeat(60);
        assert_eq!(wrap(&ascii, crate::Size::Normal).iter().map(|l| l.len()).collect::<Vec<_>>(), [48, 12]);
    }

    #[test]
    fn an_overlong_notice_is_cut_and_says_so() {
        let mut n = specimen_notice();
        n.text = "字".repeat(MAX_NOTICE_PRINT_CHARS + 500);
        n.issued_at = "not a date".into();
        let all = texts(&n.to_job().expect("fills"));
        let printed: usize = all
            .iter()
            .filter(|t| t.starts_with('字'))
            .map(|t| t.chars().count())
            .sum();
        assert_eq!(printed, MAX_NOTICE_PRINT_CHARS);
        assert!(all.iter().any(|t| t.contains("未印完")));
        assert!(!all.iter().any(|t| t.starts_with("告知日期")), "no date when it does not parse");
    }

    #[test]
    fn a_notice_whose_case_number_looks_personal_is_refused_and_debug_hides_text() {
        let mut n = specimen_notice();
        assert!(!format!("{n:?}").contains("样例先生"));
        n.case_number = "13800138000".into();
        assert!(matches!(n.to_job(), Err(TemplateError::LooksPersonal(_))));
    }

    #[test]
    fn unknown_fields_and_bad_toml_are_errors() {
        let t = Template::parse("[[block]]\ntext = \"{nope}\"\n").expect("parses");
        assert!(matches!(t.fill(&[]), Err(TemplateError::UnknownField(f)) if f == "nope"));
        let t = Template::parse("[[block]]\ntext = \"{open\"\n").expect("parses");
        assert!(matches!(t.fill(&[]), Err(TemplateError::Unclosed(1))));
        assert!(matches!(
            Template::parse("[[block]]\ncolour = 1\n"),
            Err(TemplateError::Parse(_))
        ));
    }
}
