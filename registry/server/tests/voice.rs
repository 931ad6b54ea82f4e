//! A petitioner's voice note, from the terminal's sealed upload to the
//! clerk's ear: taken in a bundle or staged part by part like a page,
//! checked (hash, size, Ogg Opus) before anything is kept, stored with the
//! case, and served to staff only, through the bearer staff API and the
//! console's case page, never to a terminal. Every test runs on SQLite and
//! PostgreSQL. All data here is SPECIMEN; the notes are Ogg Opus silence.

mod console_util;

use console_util::{specimen, start_on, Backend, Rig, ID_A, STAFF, TOKEN};
use registry::ConsoleConfig;
use registry_api::voice::specimen_ogg_opus;
use registry_api::{
    ApiError, MissingPages, RegistrationAck, RegistrationRecord, RegistrationUpload,
    VoiceNoteUpload, IDEMPOTENCY_HEADER, REGISTRATIONS_PATH, SEALED_BUNDLE_CONTENT_TYPE,
    SEALED_CONTENT_TYPE, SEALED_PAGE_CONTENT_TYPE, SEALED_REGISTRATIONS_PATH, VOICE_NOTE_PART,
};
use reqwest::StatusCode;

/// 0:42 of SPECIMEN silence.
const VOICE_MS: u32 = 42_000;

fn ogg() -> Vec<u8> {
    specimen_ogg_opus(VOICE_MS)
}

/// A SPECIMEN registration of one page and a voice note of `ogg`, whole.
fn with_voice(key: &str, ogg: &[u8]) -> RegistrationUpload {
    let mut up = specimen(key, ID_A, "labour", "SPECIMEN 第一页");
    up.voice_note = Some(VoiceNoteUpload::new(ogg, VOICE_MS));
    up
}

/// Its metadata, as a terminal seals it: no page image, no voice bytes.
fn metadata(full: &RegistrationUpload) -> RegistrationUpload {
    let mut meta = full.clone();
    for page in &mut meta.pages {
        page.jpeg_base64.clear();
    }
    if let Some(note) = &mut meta.voice_note {
        note.ogg_opus_base64.clear();
    }
    meta
}

impl Rig {
    /// A bundle of `meta` sealed, the pages of `full` if `pages`, and `voice`
    /// (any bytes) as the voice note's part.
    fn bundle(
        &self,
        meta: &RegistrationUpload,
        full: &RegistrationUpload,
        pages: bool,
        voice: Option<&[u8]>,
    ) -> Vec<u8> {
        let key = self.seal.public_key();
        let mut parts: Vec<(u32, Vec<u8>)> = Vec::new();
        if pages {
            for page in &full.pages {
                parts.push((page.index, key.seal_bytes(&page.jpeg().unwrap()).unwrap()));
            }
        }
        if let Some(bytes) = voice {
            parts.push((VOICE_NOTE_PART, key.seal_bytes(bytes).unwrap()));
        }
        registry_api::bundle::encode(
            &key.seal(meta).unwrap(),
            parts.iter().map(|(i, b)| (*i, b.as_slice())),
        )
    }

    async fn post(&self, key: &str, body: Vec<u8>, content_type: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(self.url(SEALED_REGISTRATIONS_PATH))
            .bearer_auth(TOKEN)
            .header(IDEMPOTENCY_HEADER, key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// `PUT`s `bytes` sealed as part `index` of the staged upload `key`.
    async fn put_part(&self, key: &str, index: u32, bytes: &[u8]) -> reqwest::Response {
        reqwest::Client::new()
            .put(self.url(&registry_api::sealed_page_path(key, index)))
            .bearer_auth(TOKEN)
            .header("content-type", SEALED_PAGE_CONTENT_TYPE)
            .body(self.seal.public_key().seal_bytes(bytes).unwrap())
            .send()
            .await
            .unwrap()
    }

    async fn get_as(&self, path: &str, token: &str) -> reqwest::Response {
        reqwest::Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    async fn record(&self, case: &str) -> RegistrationRecord {
        let res = self
            .get_as(&format!("{REGISTRATIONS_PATH}/{case}"), STAFF)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    fn count(&self, table: &str) -> i64 {
        self.db.count(&format!("SELECT COUNT(*) FROM {table}"))
    }
}

async fn created(res: reqwest::Response) -> RegistrationAck {
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn missing(res: reqwest::Response) -> Vec<u32> {
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    res.json::<MissingPages>().await.unwrap().missing_pages
}

/// Reads an error answer: an `ApiError` with `code` that quotes nothing
/// personal and no byte of a note.
async fn api_error(res: reqwest::Response, status: StatusCode, code: &str) -> ApiError {
    assert_eq!(res.status(), status);
    let text = res.text().await.unwrap();
    let err: ApiError =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an ApiError ({e}): {text}"));
    assert_eq!(err.code, code, "{err:?}");
    for personal in [
        "110105",
        "测试",
        "样本",
        "13800000000",
        "工资",
        "OggS",
        "OpusTags",
        "SPECIMEN voice",
        "T2dn",
    ] {
        assert!(!text.contains(personal), "error body leaks: {text}");
    }
    err
}

fn sha256(bytes: &[u8]) -> String {
    registry_api::sha256_hex(bytes)
}

on_both!(
    async fn a_sealed_voice_note_is_stored_and_served_to_staff_only(backend: Backend) {
        let rig = start_on(backend, ConsoleConfig::default()).await;
        let ogg = ogg();
        let full = with_voice("v-1", &ogg);
        // The common case: one bundle with the metadata, the page and the note.
        let body = rig.bundle(&metadata(&full), &full, true, Some(&ogg));
        let ack = created(rig.post("v-1", body, SEALED_BUNDLE_CONTENT_TYPE).await).await;
        let case = ack.case_number;

        // The staff view names the note; the bytes come apart, the same bytes.
        let record = rig.record(&case).await;
        let note = record.voice_note.expect("the record names the voice note");
        assert_eq!(
            (note.sha256.as_str(), note.size_bytes, note.duration_ms),
            (sha256(&ogg).as_str(), ogg.len() as u64, VOICE_MS)
        );
        let path = registry_api::voice_note_path(&case);
        let res = rig.get_as(&path, STAFF).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "audio/ogg");
        assert_eq!(res.headers()["cache-control"], "no-store");
        let served = res.bytes().await.unwrap();
        assert_eq!(
            sha256(&served),
            note.sha256,
            "the staff API serves other bytes"
        );
        let audit = rig.audit().await;
        assert!(
            audit
                .iter()
                .any(|(who, action, target)| who.starts_with("staff-")
                    && action == "read_voice_note"
                    && *target == case),
            "{audit:?}"
        );

        // A terminal never gets it: 403 with its credential, 401 without any.
        api_error(
            rig.get_as(&path, TOKEN).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
        let res = reqwest::Client::new()
            .get(rig.url(&path))
            .send()
            .await
            .unwrap();
        api_error(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
        // A case without a note, and no case: 404.
        let plain = rig
            .upload(&specimen("v-2", ID_A, "land", "SPECIMEN"))
            .await
            .case_number;
        assert!(rig.record(&plain).await.voice_note.is_none());
        let none = registry_api::voice_note_path(&plain);
        api_error(
            rig.get_as(&none, STAFF).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let nothing = registry_api::voice_note_path("XF-2026-999999");
        api_error(
            rig.get_as(&nothing, STAFF).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;

        // The console's case page: the player, its length, and a route that
        // serves the bytes to a signed-in clerk and to no one else.
        let clerk = rig.signed_in("li").await;
        let res = clerk.get(&format!("/console/cases/{case}")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("media-src 'self'") && csp.contains("default-src 'none'"),
            "{csp}"
        );
        let html = res.text().await.unwrap();
        let console_path = format!("/console/cases/{case}/voice-note");
        assert!(
            html.contains(&format!(
                r#"<audio id="voice-audio" controls preload="none" src="{console_path}">"#
            )),
            "{html}"
        );
        assert!(html.contains("语音 1 段，0:42"), "{html}");
        let (_, other_html) = clerk.text(&format!("/console/cases/{plain}")).await;
        assert!(
            !other_html.contains("<audio") && !other_html.contains("语音 1 段"),
            "{other_html}"
        );
        let res = clerk.get(&console_path).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "audio/ogg");
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert_eq!(res.headers()["accept-ranges"], "bytes");
        assert_eq!(sha256(&res.bytes().await.unwrap()), note.sha256);
        // A player's range request (to find the length, to seek): that part.
        let res = clerk
            .http
            .get(clerk.url(&console_path))
            .header("range", "bytes=0-99")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            res.headers()["content-range"],
            format!("bytes 0-99/{}", ogg.len()).as_str()
        );
        assert_eq!(res.bytes().await.unwrap(), &ogg[..100]);
        let audit = rig.audit().await;
        assert!(
            audit.contains(&("li".into(), "console_read_voice_note".into(), case.clone())),
            "{audit:?}"
        );
        let (status, _) = clerk
            .text(&format!("/console/cases/{plain}/voice-note"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // No session: to the sign-in page, no bytes.
        let res = rig.browser().get(&console_path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()["location"], "/console/login");
        assert!(res.bytes().await.unwrap().is_empty());
        // A terminal's or the staff API's token, even beside a live session: 403.
        for token in [TOKEN, STAFF] {
            let res = clerk
                .http
                .get(clerk.url(&console_path))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{token}");
            assert_ne!(res.headers()["content-type"], "audio/ogg");
        }
        // A technician works no cases.
        let tech = rig.signed_in("wu").await;
        assert_eq!(
            tech.get(&console_path).await.status(),
            StatusCode::FORBIDDEN
        );

        // A registration sealed whole in one box, note included, is taken too.
        let whole = with_voice("v-3", &ogg);
        let sealed = rig.seal.public_key().seal(&whole).unwrap();
        let case3 = created(rig.post("v-3", sealed, SEALED_CONTENT_TYPE).await)
            .await
            .case_number;
        let res = rig
            .get_as(&registry_api::voice_note_path(&case3), STAFF)
            .await;
        assert_eq!(sha256(&res.bytes().await.unwrap()), sha256(&ogg));
        assert_eq!(rig.count("voice_notes"), 2);
        rig.reg.shutdown().await;
    }
);

on_both!(
    async fn a_bad_voice_note_refuses_the_registration_and_nothing_is_stored(backend: Backend) {
        let rig = start_on(backend, ConsoleConfig::default()).await;
        let ogg = ogg();
        let full = with_voice("b-1", &ogg);
        let meta = metadata(&full);

        // The part does not match the metadata's sha256.
        let mut other = ogg.clone();
        *other.last_mut().unwrap() ^= 0x01;
        let body = rig.bundle(&meta, &full, true, Some(&other));
        let err = api_error(
            rig.post("b-1", body, SEALED_BUNDLE_CONTENT_TYPE).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_voice_note",
        )
        .await;
        assert!(err.message.contains("does not match its sha256"), "{err:?}");

        // Bytes that hash right but are no Ogg Opus (a WAV header).
        let wav = b"RIFF\x24\0\0\0WAVEfmt SPECIMEN not a voice note".to_vec();
        let mut wav_full = full.clone();
        wav_full.voice_note = Some(VoiceNoteUpload::new(&wav, VOICE_MS));
        let body = rig.bundle(&metadata(&wav_full), &wav_full, true, Some(&wav));
        let err = api_error(
            rig.post("b-1", body, SEALED_BUNDLE_CONTENT_TYPE).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_voice_note",
        )
        .await;
        assert!(err.message.contains("not Ogg Opus"), "{err:?}");
        // The same in one whole box.
        let sealed = rig.seal.public_key().seal(&wav_full).unwrap();
        api_error(
            rig.post("b-1", sealed, SEALED_CONTENT_TYPE).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_voice_note",
        )
        .await;

        // Too large: declared over 2 MiB (refused with the metadata), or
        // declared small and sent large.
        let mut big_meta = meta.clone();
        big_meta.voice_note.as_mut().unwrap().size_bytes =
            registry_api::MAX_VOICE_NOTE_BYTES as u64 + 1;
        let sealed = rig.seal.public_key().seal(&big_meta).unwrap();
        let err = api_error(
            rig.post("b-1", sealed, SEALED_CONTENT_TYPE).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        )
        .await;
        assert!(
            err.message.contains("voice_note") && err.message.contains("2097152"),
            "{err:?}"
        );
        let mut large = ogg.clone();
        large.resize(registry_api::MAX_VOICE_NOTE_BYTES + 1, 0);
        let body = rig.bundle(&meta, &full, true, Some(&large));
        let err = api_error(
            rig.post("b-1", body, SEALED_BUNDLE_CONTENT_TYPE).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_voice_note",
        )
        .await;
        assert!(err.message.contains("larger than 2097152"), "{err:?}");

        // A note the metadata does not name.
        let plain_full = specimen("b-2", ID_A, "labour", "SPECIMEN");
        let body = rig.bundle(&metadata(&plain_full), &plain_full, true, Some(&ogg));
        api_error(
            rig.post("b-2", body, SEALED_BUNDLE_CONTENT_TYPE).await,
            StatusCode::NOT_FOUND,
            "no_such_page",
        )
        .await;

        // Staged, the note's part refused the same way; the metadata waits.
        let sealed_meta = rig.seal.public_key().seal(&meta).unwrap();
        assert_eq!(
            missing(rig.post("b-1", sealed_meta, SEALED_CONTENT_TYPE).await).await,
            vec![1, VOICE_NOTE_PART]
        );
        api_error(
            rig.put_part("b-1", VOICE_NOTE_PART, &other).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_voice_note",
        )
        .await;
        api_error(
            rig.put_part("b-1", VOICE_NOTE_PART, &large).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_voice_note",
        )
        .await;
        assert_eq!(
            missing(rig.put_part("b-1", 1, &full.pages[0].jpeg().unwrap()).await).await,
            vec![VOICE_NOTE_PART]
        );

        // Nothing of any refused note was stored, and no case was issued.
        assert_eq!(rig.count("registrations"), 0);
        assert_eq!(rig.count("voice_notes"), 0);
        assert_eq!(
            rig.db.count(&format!(
                "SELECT COUNT(*) FROM staged_pages WHERE page_index = {VOICE_NOTE_PART}"
            )),
            0
        );
        rig.reg.shutdown().await;
    }
);

on_both!(
    async fn a_staged_upload_whose_voice_note_comes_in_a_second_request_completes(backend: Backend) {
        let rig = start_on(backend, ConsoleConfig::default()).await;
        let ogg = ogg();
        // A bundle cut short of the note: the page is staged, the note is missing.
        let full = with_voice("s-1", &ogg);
        let meta = metadata(&full);
        let body = rig.bundle(&meta, &full, true, None);
        assert_eq!(
            missing(rig.post("s-1", body, SEALED_BUNDLE_CONTENT_TYPE).await).await,
            vec![VOICE_NOTE_PART]
        );
        assert_eq!(rig.count("registrations"), 0, "no case before the note");
        // Re-posting the metadata (a resumed attempt) names only the note.
        let sealed_meta = rig.seal.public_key().seal(&meta).unwrap();
        assert_eq!(
            missing(
                rig.post("s-1", sealed_meta.clone(), SEALED_CONTENT_TYPE)
                    .await
            )
            .await,
            vec![VOICE_NOTE_PART]
        );
        let ack = created(rig.put_part("s-1", VOICE_NOTE_PART, &ogg).await).await;
        assert!(!ack.replayed);
        let res = rig
            .get_as(&registry_api::voice_note_path(&ack.case_number), STAFF)
            .await;
        assert_eq!(sha256(&res.bytes().await.unwrap()), sha256(&ogg));
        assert_eq!(
            rig.record(&ack.case_number)
                .await
                .voice_note
                .unwrap()
                .duration_ms,
            VOICE_MS
        );
        // Replays: the metadata, the note again, the whole bundle: the same case.
        let again = created(rig.post("s-1", sealed_meta, SEALED_CONTENT_TYPE).await).await;
        assert_eq!(
            (again.case_number.as_str(), again.replayed),
            (ack.case_number.as_str(), true)
        );
        let again = created(rig.put_part("s-1", VOICE_NOTE_PART, &ogg).await).await;
        assert_eq!(again.case_number, ack.case_number);
        let body = rig.bundle(&meta, &full, true, Some(&ogg));
        let again = created(rig.post("s-1", body, SEALED_BUNDLE_CONTENT_TYPE).await).await;
        assert_eq!(again.case_number, ack.case_number);

        // Part by part from the metadata alone: the page, then the note.
        let full = with_voice("s-2", &ogg);
        let sealed_meta = rig.seal.public_key().seal(&metadata(&full)).unwrap();
        assert_eq!(
            missing(rig.post("s-2", sealed_meta, SEALED_CONTENT_TYPE).await).await,
            vec![1, VOICE_NOTE_PART]
        );
        assert_eq!(
            missing(rig.put_part("s-2", 1, &full.pages[0].jpeg().unwrap()).await).await,
            vec![VOICE_NOTE_PART]
        );
        let second = created(rig.put_part("s-2", VOICE_NOTE_PART, &ogg).await).await;
        // A note with no pages at all: the note is the one part.
        let mut alone = with_voice("s-3", &ogg);
        alone.pages.clear();
        let sealed_meta = rig.seal.public_key().seal(&metadata(&alone)).unwrap();
        assert_eq!(
            missing(rig.post("s-3", sealed_meta, SEALED_CONTENT_TYPE).await).await,
            vec![VOICE_NOTE_PART]
        );
        let third = created(rig.put_part("s-3", VOICE_NOTE_PART, &ogg).await).await;
        for case in [&second.case_number, &third.case_number] {
            let res = rig
                .get_as(&registry_api::voice_note_path(case), STAFF)
                .await;
            assert_eq!(sha256(&res.bytes().await.unwrap()), sha256(&ogg));
        }
        assert_eq!(
            (
                rig.count("voice_notes"),
                rig.count("staged_uploads"),
                rig.count("staged_pages")
            ),
            (3, 0, 0)
        );
        rig.reg.shutdown().await;
    }
);
