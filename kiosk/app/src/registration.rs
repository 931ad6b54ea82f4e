//! From a visit to the record the registry receives: the registration built
//! from the machine's seal request, the fields extracted from the recognised
//! text, and what the phone screen offers from them. Pure functions of the
//! session; no IO and no words for the screen (those are `view`'s).

use intake::SealRequest;
use kiosk_privacy::PersonalText;
use registry_api::{FieldKind, PageUpload, Petitioner, RegistrationUpload};

/// A phone number recognised on the papers that passes the phone check, as
/// digits, for the phone screen to offer; `None` when there is none.
pub fn found_phone(pages: &[intake::Page]) -> Option<String> {
    extracted_fields(pages)
        .into_iter()
        .filter(|f| f.kind == FieldKind::Phone && !f.doubtful)
        .map(|f| {
            f.value
                .expose()
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .find(|digits| intake::phone::check(digits).is_ok())
}

/// The text recognised on the session's pages so far.
pub fn recognised_texts(s: &intake::Session) -> Vec<&str> {
    s.pages
        .iter()
        .filter_map(|p| match &p.ocr {
            intake::Ocr::Done { text, .. } => Some(text.expose()),
            _ => None,
        })
        .collect()
}

/// The fields `kiosk-fields` finds in each page's recognised text.
pub fn extracted_fields(pages: &[intake::Page]) -> Vec<registry_api::ExtractedField> {
    let mut out = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let intake::Ocr::Done { text, .. } = &page.ocr else {
            continue;
        };
        let f = kiosk_fields::extract(text.expose());
        let page = i as u32 + 1;
        let mut push = |kind: FieldKind, value: &str, doubtful: bool| {
            out.push(registry_api::ExtractedField {
                page,
                kind,
                value: PersonalText::new(value),
                doubtful,
            })
        };
        push(FieldKind::DocumentKind, f.kind.as_str(), false);
        if let Some(title) = &f.title {
            push(FieldKind::Title, title.value.expose(), false);
        }
        for c in &f.id_numbers {
            push(FieldKind::IdNumber, c.number.expose(), !c.valid);
        }
        for p in &f.phones {
            push(FieldKind::Phone, p.value.expose(), false);
        }
        for d in &f.dates {
            push(FieldKind::Date, &d.value.to_string(), false);
        }
        for a in &f.amounts {
            push(
                FieldKind::Amount,
                &format!("{}.{:02}", a.value.fen / 100, a.value.fen % 100),
                false,
            );
        }
        for n in &f.names {
            push(FieldKind::Name, n.value.expose(), false);
        }
        for a in &f.addresses {
            push(FieldKind::Address, a.value.expose(), false);
        }
    }
    out
}

/// A local reference the petitioner can quote before the case number exists.
fn local_ref(terminal_id: &str, now: chrono::DateTime<chrono::Local>) -> String {
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}-{}-{}",
        terminal_id,
        now.format("%y%m%d%H%M"),
        &short[..4].to_uppercase()
    )
}

/// Turns a finished session into the record that is sealed and uploaded.
pub fn build_upload(terminal_id: &str, req: SealRequest) -> RegistrationUpload {
    let now = chrono::Local::now();
    let t = &req.identity;
    let pages = req
        .pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (text, conf) = match &p.ocr {
                intake::Ocr::Done {
                    text, confidence, ..
                } => (text.clone(), *confidence),
                _ => (Default::default(), 0.0),
            };
            PageUpload::new(i as u32 + 1, &p.jpeg, text, conf)
        })
        .collect();
    let voice_note = req.voice_note.as_ref().map(|n| {
        use base64::Engine as _;
        registry_api::VoiceNoteUpload {
            ogg_opus_base64: base64::engine::general_purpose::STANDARD.encode(&n.ogg_opus[..]),
            sha256: registry_api::sha256_hex(&n.ogg_opus),
            size_bytes: n.ogg_opus.len() as u64,
            duration_ms: n.duration_ms,
        }
    });
    RegistrationUpload {
        voice_note,
        fields: extracted_fields(&req.pages),
        repeat: req
            .repeat
            .as_ref()
            .map(|(earlier_case, same_matter)| registry_api::RepeatAnswer {
                earlier_case: earlier_case.clone(),
                same_matter: *same_matter,
            }),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        terminal_id: terminal_id.to_string(),
        local_ref: local_ref(terminal_id, now),
        sealed_at: now.to_rfc3339(),
        petitioner: Petitioner {
            doc_type: match t.doc_type {
                idcard_proto::DocType::Resident => "resident",
                idcard_proto::DocType::HmtPermit => "hmt_permit",
                idcard_proto::DocType::ForeignPermanent2017 => "foreign_2017",
                idcard_proto::DocType::ForeignPermanent2023 => "foreign_2023",
            }
            .into(),
            id_number: t.id_number.clone(),
            name: t.name.clone(),
            sex: sex_code(t.sex),
            birth: t.birth.map(|d| d.to_string()),
            address: t.address.clone(),
        },
        category: req.category.code.to_string(),
        assisted: req.assisted,
        identity_typed: req.identity_typed,
        description: req.description,
        phone: req.phone,
        pages,
    }
}

fn sex_code(s: idcard_proto::Sex) -> u8 {
    match s {
        idcard_proto::Sex::Unknown => 0,
        idcard_proto::Sex::Male => 1,
        idcard_proto::Sex::Female => 2,
        idcard_proto::Sex::Unspecified => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> intake::Page {
        intake::Page {
            id: 1,
            jpeg: vec![],
            thumb: intake::Thumb {
                width: 1,
                height: 1,
                rgba: vec![0; 4],
            },
            ocr: intake::Ocr::Done {
                text: PersonalText::new(text),
                confidence: 0.9,
                doubtful: vec![],
            },
        }
    }

    #[test]
    fn the_phone_screen_offers_a_checked_number_from_the_papers() {
        let letter = page("申请人：王某某\n联系电话：13912345678\n请求支付拖欠工资。");
        assert_eq!(found_phone(&[letter]).as_deref(), Some("13912345678"));
        // No number, or one that fails the phone check: nothing is offered.
        assert_eq!(found_phone(&[page("请求支付拖欠工资。")]), None);
        assert_eq!(found_phone(&[page("联系电话：1391234567")]), None);
    }
}
