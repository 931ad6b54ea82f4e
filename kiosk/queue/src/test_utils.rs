//! Synthetic SPECIMEN registrations for tests of the queue and its users.
//!
//! Compiled for this crate's tests and, through the `test-utils` feature, for
//! the dev-dependencies of other crates. No value here belongs to a real person.

use std::sync::OnceLock;

use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText, PhoneNumber};
use registry_api::envelope::SealSecretKey;
use registry_api::{PageUpload, Petitioner, RegistrationUpload, VoiceNoteUpload};

use crate::QueueOptions;

/// A registry sealing key pair made once per test process.
pub fn specimen_registry_key() -> &'static SealSecretKey {
    static KEY: OnceLock<SealSecretKey> = OnceLock::new();
    KEY.get_or_init(SealSecretKey::generate)
}

/// Queue options sealing to [`specimen_registry_key`], with no disk-space floor.
pub fn specimen_options() -> QueueOptions {
    QueueOptions {
        seal_key: Some(specimen_registry_key().public_key()),
        min_free_bytes: 0,
        ..QueueOptions::default()
    }
}

/// A SPECIMEN registration numbered `n`, with its own idempotency key and local reference.
pub fn specimen_upload(n: u32) -> RegistrationUpload {
    RegistrationUpload {
        voice_note: None,
        repeat: None,
        assisted: false,
        identity_typed: false,
        fields: vec![],
        idempotency_key: format!("00000000-0000-4000-8000-{n:012}"),
        terminal_id: "SPECIMEN-TERMINAL-01".into(),
        local_ref: format!("L-SPECIMEN-{n:04}"),
        sealed_at: "2026-03-01T09:30:00+08:00".into(),
        petitioner: Petitioner {
            doc_type: "resident".into(),
            id_number: IdNumber::new("11010519491231002X"),
            name: PersonName::new("样本人"),
            sex: 1,
            birth: Some("1949-12-31".into()),
            address: Address::new("北京市东城区样本路1号"),
        },
        category: "labour".into(),
        description: PersonalText::new("SPECIMEN 拖欠工资"),
        phone: Some(PhoneNumber::new("13800000000")),
        pages: vec![
            PageUpload::new(
                1,
                b"\xff\xd8SPECIMEN page one",
                PersonalText::new("第一页"),
                90.5,
            ),
            PageUpload::new(
                2,
                b"\xff\xd8SPECIMEN page two",
                PersonalText::new("第二页"),
                80.0,
            ),
        ],
    }
}

/// How long the SPECIMEN voice note lasts: 0:42.
pub const SPECIMEN_VOICE_MS: u32 = 42_000;

/// A SPECIMEN voice note (Ogg Opus of silence, see
/// `registry_api::voice::specimen_ogg_opus`), as the app hands it to `seal`.
pub fn specimen_voice_note() -> VoiceNoteUpload {
    VoiceNoteUpload::new(
        &registry_api::voice::specimen_ogg_opus(SPECIMEN_VOICE_MS),
        SPECIMEN_VOICE_MS,
    )
}

/// [`specimen_upload`] with [`specimen_voice_note`].
pub fn specimen_upload_with_voice(n: u32) -> RegistrationUpload {
    RegistrationUpload {
        voice_note: Some(specimen_voice_note()),
        ..specimen_upload(n)
    }
}
