//! Layouts as data: [`Template`]s loaded from TOML (`templates/*.toml`)
//! and the documents filled into them, [`Receipt`] and [`QueueTicket`].

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::{Align, Block, PrintJob, Size, TemplateError};

/// The built-in receipt layout.
const RECEIPT_TOML: &str = include_str!("../templates/receipt.toml");
/// The built-in queue ticket layout.
const TICKET_TOML: &str = include_str!("../templates/ticket.toml");

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
            };
            blocks.push(block);
        }
        Ok(PrintJob { blocks })
    }
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
