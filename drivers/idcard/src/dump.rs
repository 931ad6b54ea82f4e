//! Decoding a captured byte stream for technicians (`kiosk idcard decode`).
//!
//! A capture is either hex text (byte pairs, any white space and line
//! breaks, `#` comments) or raw bytes; [`parse_capture`] tells them apart.
//! [`decode_capture`] runs every frame in it through the same decoder the
//! transports use and describes each as JSON: the decoded card record for a
//! read reply, the appended address, or the status. Names, document
//! numbers and addresses are masked unless `reveal` is set.
//!
//! A bad frame (checksum, length, truncated at the end of the capture, a
//! failure status) gives an entry with `"error"` and a [`DumpProblem`] whose
//! message says exactly what is wrong and where. `80` (no card) and `91`
//! (no content) are ordinary answers and are not problems.

use idcard_proto::{
    decode_appended_address, decode_text, decode_text_extras, split_read_reply, wire, CardText,
    Date, Decoder, DocType, ReplyFrame, Status, Validity,
};
use kiosk_privacy::{Address, IdNumber, PersonName};
use serde_json::{json, Map, Value};

use crate::Identity;

/// Why a capture could not be read as hex.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CaptureError {
    /// A token in a hex capture is not a byte pair.
    #[error("line {line}: {token:?} is not a hex byte")]
    BadHex {
        /// 1-based line number.
        line: usize,
        /// The offending token (hex text, never card data).
        token: String,
    },
}

/// Turns a capture file into bytes: hex text when the file is printable
/// ASCII, raw bytes otherwise.
pub fn parse_capture(input: &[u8]) -> Result<Vec<u8>, CaptureError> {
    let is_text = input
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if !is_text || input.is_empty() {
        return Ok(input.to_vec());
    }
    let text = String::from_utf8_lossy(input);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for token in line.split_whitespace() {
            let token = token.trim_start_matches("0x");
            if token.len() % 2 != 0 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(CaptureError::BadHex {
                    line: i + 1,
                    token: token.chars().take(16).collect(),
                });
            }
            for pair in token.as_bytes().chunks(2) {
                let s = std::str::from_utf8(pair).unwrap_or("00");
                out.push(u8::from_str_radix(s, 16).unwrap_or(0));
            }
        }
    }
    Ok(out)
}

/// A bad frame in a capture, with a precise message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpProblem {
    /// 1-based index among the entries of the capture.
    pub entry: usize,
    /// Byte offset in the capture where the frame starts.
    pub offset: usize,
    /// What is wrong: "bad checksum: expected 3a, got c5", "truncated frame:
    /// 700 of 1295 bytes", "reader status 41 (read failed)".
    pub message: String,
}

impl std::fmt::Display for DumpProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "frame {} at byte {}: {}",
            self.entry, self.offset, self.message
        )
    }
}

/// The result of decoding a capture.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// One JSON object per frame (and per error), in order.
    pub entries: Vec<Value>,
    /// The bad ones.
    pub problems: Vec<DumpProblem>,
}

/// Decodes every frame of `bytes` (see the module docs).
pub fn decode_capture(bytes: &[u8], reveal: bool) -> Dump {
    let mut d = Decoder::new();
    d.push(bytes);
    let mut dump = Dump::default();
    loop {
        // Where the next frame starts: the next preamble not yet consumed.
        let consumed = bytes.len() - d.buffered();
        let offset = bytes[consumed..]
            .windows(wire::PREAMBLE.len())
            .position(|w| w == wire::PREAMBLE)
            .map_or(consumed, |i| consumed + i);
        let Some(res) = d.next_frame() else { break };
        let entry = dump.entries.len() + 1;
        match res {
            Ok(frame) => {
                let (value, problem) = describe_frame(&frame, reveal);
                let mut value = value;
                value["frame"] = json!(entry);
                if let Some(message) = problem {
                    value["error"] = json!(message);
                    dump.problems.push(DumpProblem {
                        entry,
                        offset,
                        message,
                    });
                }
                dump.entries.push(value);
            }
            Err(e) => {
                let message = e.to_string();
                dump.entries
                    .push(json!({ "frame": entry, "error": message }));
                dump.problems.push(DumpProblem {
                    entry,
                    offset,
                    message,
                });
            }
        }
    }
    let pending = d.buffered();
    if pending > 0 {
        let start = bytes.len() - pending;
        let rest = &bytes[start..];
        let entry = dump.entries.len() + 1;
        let message = if rest.starts_with(&wire::PREAMBLE) && rest.len() >= wire::HEADER_LEN {
            let len = usize::from(u16::from_be_bytes([rest[5], rest[6]]));
            format!(
                "truncated frame: {} of {} bytes",
                pending,
                wire::HEADER_LEN + len
            )
        } else if wire::PREAMBLE.starts_with(&rest[..rest.len().min(5)]) {
            format!("truncated frame: {pending} bytes, header incomplete")
        } else {
            format!("{pending} trailing bytes are not a frame")
        };
        dump.entries
            .push(json!({ "frame": entry, "error": message }));
        dump.problems.push(DumpProblem {
            entry,
            offset: start,
            message,
        });
    }
    dump
}

/// JSON for one good frame, and the problem if its status is a failure.
fn describe_frame(frame: &ReplyFrame, reveal: bool) -> (Value, Option<String>) {
    let status = json!({
        "code": format!("{:02x}", frame.status.code()),
        "meaning": frame.status.to_string(),
    });
    let mut v = json!({ "status": status, "data_len": frame.data.len() });
    match frame.status {
        Status::Ok => {}
        Status::CardFound => {
            v["kind"] = json!("card_found");
            return (v, None);
        }
        Status::FindCardFailed => {
            v["kind"] = json!("no_card");
            return (v, None);
        }
        Status::NoContent => {
            v["kind"] = json!("no_content");
            return (v, None);
        }
        other => {
            v["kind"] = json!("failure");
            return (v, Some(format!("reader status {other}")));
        }
    }
    // A read reply: two or three length fields that add up.
    for with_fp in [false, true] {
        if let Ok(parts) = split_read_reply(&frame.data, with_fp) {
            if parts.text.len() != wire::TEXT_BLOCK_LEN {
                continue;
            }
            return match decode_text(&parts.text) {
                Ok(text) => {
                    let extras = decode_text_extras(&parts.text).unwrap_or_default();
                    let id = Identity {
                        text,
                        photo_wlt: parts.photo,
                        appended_address: None,
                        extras,
                        fingerprint: with_fp.then_some(parts.fingerprint),
                    };
                    v["kind"] = json!("read_reply");
                    v["record"] = identity_json(&id, reveal, None);
                    (v, None)
                }
                Err(e) => {
                    v["kind"] = json!("read_reply");
                    (v, Some(format!("text block unreadable: {e}")))
                }
            };
        }
    }
    if frame.data.len() == wire::APPENDED_ADDRESS_LEN {
        if let Ok(addr) = decode_appended_address(&frame.data) {
            v["kind"] = json!("appended_address");
            v["appended_address"] = addr.map_or(Value::Null, |a| json!(show_address(&a, reveal)));
            return (v, None);
        }
    }
    v["kind"] = json!(match frame.data.len() {
        0 => "ok",
        8 => "card_selected",
        _ => "data",
    });
    (v, None)
}

/// The document type as a stable key.
pub fn doc_type_key(t: DocType) -> &'static str {
    match t {
        DocType::Resident => "resident",
        DocType::HmtPermit => "hmt_permit",
        DocType::ForeignPermanent2017 => "foreign_permanent_2017",
        DocType::ForeignPermanent2023 => "foreign_permanent_2023",
    }
}

/// The document type's display name.
pub fn doc_type_name(t: DocType) -> &'static str {
    match t {
        DocType::Resident => "居民身份证",
        DocType::HmtPermit => "港澳台居民居住证",
        DocType::ForeignPermanent2017 => "外国人永久居留身份证(2017)",
        DocType::ForeignPermanent2023 => "外国人永久居留身份证(2023)",
    }
}

fn show_name(n: &PersonName, reveal: bool) -> String {
    if reveal {
        n.expose().to_string()
    } else {
        n.masked()
    }
}

fn show_number(n: &IdNumber, reveal: bool) -> String {
    if reveal {
        n.expose().to_string()
    } else {
        n.masked()
    }
}

fn show_address(a: &Address, reveal: bool) -> String {
    if reveal {
        a.expose().to_string()
    } else {
        a.masked()
    }
}

fn date(d: Option<Date>) -> Value {
    d.map_or(Value::Null, |d| json!(d.to_string()))
}

/// The identity as a JSON record: document type, names, sex and ethnicity
/// as display names, dates as YYYY-MM-DD or 长期, document number, authority,
/// pass number and counts where present, the current address (the appended
/// one when present). Personal fields are masked unless `reveal`. With
/// `today`, `expired` says whether the card is past its validity.
pub fn identity_json(id: &Identity, reveal: bool, today: Option<Date>) -> Value {
    let t: &CardText = &id.text;
    let mut m = Map::new();
    m.insert("document_type".into(), json!(doc_type_key(t.doc_type)));
    m.insert("document_name".into(), json!(doc_type_name(t.doc_type)));
    m.insert("name".into(), json!(show_name(&t.name, reveal)));
    m.insert("sex".into(), json!(t.sex.to_string()));
    if let Some(e) = t.ethnicity {
        m.insert("ethnicity".into(), json!(e));
    }
    if let Some(n) = &t.nationality {
        m.insert("nationality".into(), json!(n));
    }
    m.insert("birth".into(), date(t.birth));
    if !t.address.is_empty() {
        m.insert("address".into(), json!(show_address(&t.address, reveal)));
    }
    if let Some(a) = &id.appended_address {
        m.insert("appended_address".into(), json!(show_address(a, reveal)));
    }
    if !id.current_address().is_empty() {
        m.insert(
            "current_address".into(),
            json!(show_address(id.current_address(), reveal)),
        );
    }
    m.insert(
        "document_number".into(),
        json!(show_number(&t.id_number, reveal)),
    );
    m.insert("document_number_valid".into(), json!(t.id_number_ok()));
    m.insert("authority".into(), json!(t.authority));
    m.insert("valid_from".into(), date(t.valid_from));
    m.insert(
        "valid_to".into(),
        match t.valid_to {
            Some(Validity::LongTerm) => json!(idcard_proto::LONG_TERM),
            Some(Validity::Until(d)) => json!(d.to_string()),
            None => Value::Null,
        },
    );
    if let Some(today) = today {
        m.insert("expired".into(), json!(t.is_expired(today)));
    }
    if let Some(p) = &id.extras.pass_number {
        m.insert("pass_number".into(), json!(show_number(p, reveal)));
    }
    if let Some(n) = id.extras.issue_count {
        m.insert("issue_count".into(), json!(n));
    }
    if let Some(n) = id.extras.renewal_count {
        m.insert("renewal_count".into(), json!(n));
    }
    if let Some(v) = &id.extras.card_version {
        m.insert("card_version".into(), json!(v));
    }
    m.insert("photo_bytes".into(), json!(id.photo_wlt.len()));
    if let Some(fp) = &id.fingerprint {
        m.insert("fingerprint_bytes".into(), json!(fp.len()));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use idcard_proto::{encode_appended_address, encode_read_reply, encode_reply, encode_text};

    fn read_frame(text: &CardText) -> Vec<u8> {
        let mut out = Vec::new();
        let data = encode_read_reply(&encode_text(text), &[0u8; 1024], None);
        encode_reply(Status::Ok, &data, &mut out);
        out
    }

    fn hex(bytes: &[u8]) -> String {
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn specimen() -> CardText {
        crate::sim::SimCard::specimen().text
    }

    #[test]
    fn hex_and_raw_captures() {
        assert_eq!(
            parse_capture(b"aa AA\n96 # comment\n 69\n0x01").unwrap(),
            [0xAA, 0xAA, 0x96, 0x69, 0x01]
        );
        assert_eq!(parse_capture(b"aabb").unwrap(), [0xAA, 0xBB]);
        assert_eq!(
            parse_capture(b"aa\nzz").unwrap_err(),
            CaptureError::BadHex {
                line: 2,
                token: "zz".into()
            }
        );
        assert_eq!(
            parse_capture(&[0xAA, 0x00, 0x96]).unwrap(),
            [0xAA, 0x00, 0x96]
        );
    }

    #[test]
    fn read_reply_is_masked_unless_revealed() {
        let bytes = read_frame(&specimen());
        let dump = decode_capture(&bytes, false);
        assert!(dump.problems.is_empty(), "{:?}", dump.problems);
        let r = &dump.entries[0]["record"];
        assert_eq!(r["document_type"], "resident");
        assert_eq!(r["sex"], "女");
        assert_eq!(r["ethnicity"], "汉");
        assert_eq!(r["birth"], "1949-12-31");
        assert_eq!(r["valid_to"], "长期");
        assert_eq!(r["authority"], "北京市公安局西城分局");
        let shown = dump.entries[0].to_string();
        for secret in ["测试样例", "11010519491231002X", "样例路"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        let dump = decode_capture(&bytes, true);
        let r = &dump.entries[0]["record"];
        assert_eq!(r["name"], "测试样例");
        assert_eq!(r["document_number"], "11010519491231002X");
        assert_eq!(r["document_number_valid"], true);
    }

    #[test]
    fn bad_checksum_truncated_and_status_are_precise_problems() {
        let mut bytes = read_frame(&specimen());
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        let dump = decode_capture(&bytes, false);
        assert_eq!(dump.problems.len(), 1);
        assert!(
            dump.problems[0]
                .message
                .starts_with("bad checksum: expected"),
            "{}",
            dump.problems[0]
        );

        let good = read_frame(&specimen());
        let dump = decode_capture(&good[..700], false);
        assert_eq!(
            dump.problems[0].message,
            "truncated frame: 700 of 1295 bytes"
        );
        assert_eq!(dump.problems[0].offset, 0);

        let mut bytes = Vec::new();
        encode_reply(Status::ReadFailed, &[], &mut bytes);
        encode_reply(Status::FindCardFailed, &[], &mut bytes);
        let dump = decode_capture(&bytes, false);
        assert_eq!(dump.entries.len(), 2);
        assert_eq!(dump.problems.len(), 1);
        assert_eq!(
            dump.problems[0].to_string(),
            "frame 1 at byte 0: reader status read failed (41)"
        );
        assert_eq!(dump.entries[1]["kind"], "no_card");
    }

    #[test]
    fn appended_address_and_hex_text_round_trip() {
        let mut bytes = Vec::new();
        encode_reply(
            Status::Ok,
            &encode_appended_address("北京市海淀区样例路9号"),
            &mut bytes,
        );
        let parsed = parse_capture(hex(&bytes).as_bytes()).unwrap();
        let dump = decode_capture(&parsed, true);
        assert_eq!(dump.entries[0]["kind"], "appended_address");
        assert_eq!(dump.entries[0]["appended_address"], "北京市海淀区样例路9号");
    }
}
