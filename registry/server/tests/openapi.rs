//! Keeps `registry/openapi.yaml` in step with the wire types: every schema's
//! property names must equal the JSON field names serde produces for the
//! matching `registry-api` type, and every endpoint must be documented.

use std::collections::BTreeSet;

use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, PhoneNumber};
use registry_api::{
    ApiError, HistoryEntry, HistoryQuery, HistoryReply, PageUpload, Petitioner, RegistrationAck,
    RegistrationRecord, RegistrationUpload, StoredPage,
};
use serde::Serialize;

const SPEC: &str = include_str!("../../openapi.yaml");

/// The property names of `components.schemas.<name>`, read by indentation
/// (the document keeps schemas at 4 spaces, their keys at 6, properties at 8).
fn spec_properties(name: &str) -> BTreeSet<String> {
    let mut lines = SPEC.lines().skip_while(|l| *l != "  schemas:");
    let mut lines = lines.by_ref().skip_while(|l| *l != format!("    {name}:"));
    assert!(
        lines.next().is_some(),
        "schema {name} is missing from openapi.yaml"
    );
    let mut props = BTreeSet::new();
    let mut in_props = false;
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        if line.trim().is_empty() {
            continue;
        }
        if indent <= 4 {
            break;
        }
        if indent == 6 {
            in_props = line.trim() == "properties:";
        } else if in_props && indent == 8 {
            props.insert(line.trim().trim_end_matches(':').to_owned());
        }
    }
    props
}

fn json_fields(value: &impl Serialize) -> BTreeSet<String> {
    match serde_json::to_value(value).unwrap() {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

fn check(name: &str, value: &impl Serialize) {
    assert_eq!(
        spec_properties(name),
        json_fields(value),
        "schema {name} differs from registry-api"
    );
}

#[test]
fn schemas_match_the_wire_types() {
    // SPECIMEN values.
    let petitioner = Petitioner {
        doc_type: "resident".into(),
        id_number: IdNumber::new("X"),
        name: PersonName::new("X"),
        sex: 0,
        birth: None,
        address: Address::new("X"),
    };
    let page = PageUpload::new(1, b"x", PersonalText::new(""), 0.0);
    let stored = StoredPage {
        index: 1,
        sha256: String::new(),
        size_bytes: 0,
        ocr_text: PersonalText::new(""),
    };
    let notice = registry_api::Notice {
        kind: "acceptance".into(),
        issued_at: String::new(),
        title: String::new(),
        text: String::new(),
    };
    check("Notice", &notice);
    check(
        "FleetRow",
        &registry::FleetRow {
            terminal_id: String::new(),
            hall: None,
            enrollment: None,
            last_heartbeat_at: None,
            online: false,
            queue_depth: None,
            oldest_unsent_age_s: None,
            failed: None,
            printer: None,
            free_disk_mb: None,
            update: None,
            version: None,
            needs_attention: false,
            reasons: vec![],
        },
    );
    check(
        "FleetReason",
        &registry::FleetReason {
            code: String::new(),
            text: String::new(),
        },
    );
    let entry = HistoryEntry {
        case_number: String::new(),
        registered_at: String::new(),
        category: String::new(),
        status: String::new(),
        page_count: 0,
        rating: Some(4),
        notices: vec![notice.clone()],
    };
    check("Petitioner", &petitioner);
    check("PageUpload", &page);
    let voice = registry_api::VoiceNoteUpload::new(b"x", 1);
    check("VoiceNoteUpload", &voice);
    let stored_voice = registry_api::StoredVoiceNote {
        sha256: String::new(),
        size_bytes: 0,
        duration_ms: 0,
    };
    check("StoredVoiceNote", &stored_voice);
    check(
        "RegistrationUpload",
        &RegistrationUpload {
            voice_note: Some(voice),
            idempotency_key: String::new(),
            terminal_id: String::new(),
            local_ref: String::new(),
            sealed_at: String::new(),
            petitioner: petitioner.clone(),
            category: String::new(),
            description: PersonalText::new(""),
            phone: Some(PhoneNumber::new("")),
            pages: vec![],
            repeat: Some(registry_api::RepeatAnswer {
                earlier_case: String::new(),
                same_matter: true,
            }),
            fields: vec![field()],
            assisted: true,
            identity_typed: true,
        },
    );
    check(
        "RegistrationAck",
        &RegistrationAck {
            case_number: String::new(),
            received_at: String::new(),
            replayed: false,
            likely_duplicate: false,
        },
    );
    check(
        "HistoryQuery",
        &HistoryQuery {
            id_number: IdNumber::new(""),
            identity_typed: true,
        },
    );
    check(
        "Heartbeat",
        &registry_api::Heartbeat {
            terminal_id: String::new(),
            queue_depth: 0,
            failed: 0,
            oldest_unsent_age_s: Some(0),
            version: String::new(),
            printer: Some(registry_api::PrinterReport::PaperLow),
            free_disk_mb: Some(0),
            update: Some(registry_api::UpdateReport {
                target_version: String::new(),
                state: registry_api::UpdateState::FellBack,
            }),
        },
    );
    let offer = registry_api::UpdateOffer {
        version: String::new(),
        sha256: String::new(),
        size_bytes: 0,
    };
    check(
        "HeartbeatReply",
        &registry_api::HeartbeatReply {
            update: Some(offer.clone()),
        },
    );
    check("UpdateOffer", &offer);
    check("HistoryEntry", &entry);
    check("HistoryReply", &HistoryReply::default());
    check("StoredPage", &stored);
    check(
        "RegistrationRecord",
        &RegistrationRecord {
            case_number: String::new(),
            registered_at: String::new(),
            terminal_id: String::new(),
            local_ref: String::new(),
            petitioner,
            category: String::new(),
            description: PersonalText::new(""),
            pages: vec![],
            repeat: Some(registry_api::RepeatAnswer {
                earlier_case: String::new(),
                same_matter: false,
            }),
            fields: vec![field()],
            assisted: true,
            identity_typed: true,
            voice_note: Some(stored_voice),
        },
    );
    check("ExtractedField", &field());
    check(
        "RepeatAnswer",
        &registry_api::RepeatAnswer {
            earlier_case: String::new(),
            same_matter: true,
        },
    );
    check("Stats", &registry::Stats::default());
    check(
        "RatingUpload",
        &registry_api::RatingUpload {
            case_number: String::new(),
            rater: String::new(),
            score: 1,
            reasons: vec![],
            terminal_id: String::new(),
            rated_at: String::new(),
        },
    );
    check(
        "RatingAck",
        &registry_api::RatingAck {
            case_number: String::new(),
            received_at: String::new(),
            replayed: false,
        },
    );
    check(
        "StatusUpdate",
        &registry_api::StatusUpdate {
            status: String::new(),
        },
    );
    check(
        "MissingPages",
        &registry_api::MissingPages {
            missing_pages: vec![1],
        },
    );
    check(
        "AuditEntry",
        &registry::AuditEntry {
            at: String::new(),
            who: String::new(),
            action: String::new(),
            target: String::new(),
        },
    );
    check(
        "NewTerminal",
        &registry_api::NewTerminal {
            terminal_id: String::new(),
            hall: String::new(),
        },
    );
    check(
        "EnrollmentCode",
        &registry_api::EnrollmentCode {
            terminal_id: String::new(),
            hall: String::new(),
            code: String::new(),
            expires_at: String::new(),
        },
    );
    check(
        "EnrollRequest",
        &registry_api::EnrollRequest {
            terminal_id: String::new(),
            code: String::new(),
        },
    );
    check(
        "EnrollReply",
        &registry_api::EnrollReply {
            terminal_id: String::new(),
            hall: String::new(),
            key_sha256: String::new(),
        },
    );
    check(
        "TerminalRecord",
        &registry::TerminalRecord {
            terminal_id: String::new(),
            hall: String::new(),
            status: registry::TerminalStatus::Active,
            key_sha256: None,
            created_at: String::new(),
            enrolled_at: None,
            revoked_at: None,
            code_expires_at: None,
        },
    );
    check(
        "ApiError",
        &ApiError {
            code: String::new(),
            message: String::new(),
        },
    );
}

#[test]
fn every_endpoint_is_documented() {
    for path in [
        registry_api::HEALTH_PATH,
        registry_api::HISTORY_PATH,
        registry_api::SEALED_REGISTRATIONS_PATH,
        registry_api::HEARTBEAT_PATH,
        registry::STATS_PATH,
        "/v1/staff/registrations/{case_number}",
        registry_api::STAFF_HEARTBEATS_PATH,
        registry_api::STAFF_AUDIT_PATH,
        registry::FLEET_JSON_PATH,
        registry_api::RATINGS_PATH,
        registry_api::ENROLL_PATH,
        registry_api::STAFF_TERMINALS_PATH,
        &registry_api::revoke_path("{terminal_id}"),
        &registry_api::status_path("{case_number}"),
        &registry_api::voice_note_path("{case_number}"),
        &registry_api::update_bundle_path("{sha256}"),
        &registry_api::sealed_page_path("{idempotency_key}", 0).replace("/0", "/{index}"),
    ] {
        assert!(
            SPEC.lines().any(|l| l == format!("  {path}:")),
            "{path} is not in openapi.yaml"
        );
    }
    // Registrations go in sealed only: the bare prefix is no endpoint.
    assert!(
        !SPEC
            .lines()
            .any(|l| l == format!("  {}:", registry_api::REGISTRATIONS_PATH)),
        "openapi.yaml documents a plain POST {}",
        registry_api::REGISTRATIONS_PATH
    );
    assert!(SPEC.contains(&format!("name: {}", registry_api::IDEMPOTENCY_HEADER)));
    assert!(SPEC.contains(&registry_api::MAX_BODY_BYTES.to_string()));
    assert!(SPEC.contains(registry_api::SEALED_CONTENT_TYPE));
    assert!(SPEC.contains(registry_api::SEALED_PAGE_CONTENT_TYPE));
}

/// The error codes the server answers with: every string literal that follows
/// a `StatusCode::…,` in the HTTP layer's sources.
fn codes_answered() -> BTreeSet<String> {
    let sources = [
        include_str!("../src/http.rs"),
        include_str!("../src/http/ratings.rs"),
        include_str!("../src/http/terminals.rs"),
        include_str!("../src/http/updates.rs"),
        include_str!("../src/http/uploads.rs"),
        include_str!("../src/serve.rs"),
    ];
    let mut codes = BTreeSet::new();
    for src in sources {
        for (at, _) in src.match_indices("StatusCode::") {
            let rest = &src[at + "StatusCode::".len()..];
            let rest = rest.trim_start_matches(|c: char| c.is_ascii_uppercase() || c == '_');
            let Some(rest) = rest.strip_prefix(',') else { continue };
            let Some(rest) = rest.trim_start().strip_prefix('"') else { continue };
            if let Some(end) = rest.find('"') {
                codes.insert(rest[..end].to_owned());
            }
        }
    }
    codes
}

#[test]
fn every_error_code_the_server_answers_is_in_the_api_error_schema() {
    let schema = SPEC.split("\n    ApiError:\n").nth(1).expect("no ApiError schema");
    let enum_line = schema
        .lines()
        .skip_while(|l| l.trim() != "enum:")
        .nth(1)
        .expect("ApiError.code has no enum");
    let listed: BTreeSet<String> = enum_line
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|c| c.trim().to_owned())
        .collect();
    let answered = codes_answered();
    // The scan must see the codes it is meant to check.
    for code in ["bad_request", "forbidden", "rate_limited", "unknown_seal_key", "already_rated"] {
        assert!(answered.contains(code), "the scan missed {code}: {answered:?}");
    }
    let missing: Vec<&String> = answered.difference(&listed).collect();
    assert!(missing.is_empty(), "codes answered but not in ApiError.code: {missing:?}");
}

fn field() -> registry_api::ExtractedField {
    registry_api::ExtractedField {
        page: 1,
        kind: registry_api::FieldKind::Date,
        value: PersonalText::new(""),
        doubtful: false,
    }
}

#[test]
fn the_staff_api_is_described_apart_from_the_terminal_api() {
    // Every path is tagged with the API it belongs to: staff paths (and only
    // they) under /v1/staff/, and they answer a terminal's credentials 403.
    let paths = SPEC.split("\ncomponents:").next().unwrap();
    for block in paths.split("\n  /v1").skip(1) {
        let path = format!("/v1{}", block.lines().next().unwrap().trim_end_matches(':'));
        let staff = path.starts_with(registry_api::STAFF_PREFIX);
        let tag = if staff { "tags: [staff]" } else { "tags: [" };
        assert!(block.contains(tag), "{path} has no tag");
        // Each operation names the credential it takes: the staff API its
        // own (a staff path left on the document's default, the terminal
        // token, is what scripts/fuzz-registry.sh found).
        if staff {
            assert!(block.contains("components/responses/Forbidden"), "{path} says no 403");
            assert!(block.contains("      security:\n        - staffToken: []"), "{path} takes no staff token");
        } else {
            assert!(!block.contains("tags: [staff]"), "{path} is tagged staff");
            assert!(!block.contains("staffToken"), "{path} takes a staff token");
        }
    }
    assert!(SPEC.contains("\nsecurity:\n  - terminalToken: []\n"), "the default is not the terminal token");
    assert!(SPEC.contains("staffToken:") && SPEC.contains("terminalToken:"));
}
