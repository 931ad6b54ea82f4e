//! The HTTP client of the registry protocol.
//!
//! Every answer is checked before it is believed: a registration counts as
//! acknowledged only when a 201 or 202 reply parses as a `RegistrationAck`
//! with a non-empty case number (a bare 200, a captive portal's page, is not).
//! Registrations travel sealed to the registry's key, exactly as the queue
//! holds them; history lookups send the ID number itself, over mutual TLS (plain HTTP
//! to a loopback registry only), and the registry computes the keyed hash: the
//! terminal holds no lookup key. Redirects are not followed (a captive portal's
//! favourite trick), proxies from the environment are not used, and reply
//! bodies are read up to a fixed size so a portal page cannot exhaust memory.

use std::time::Duration;

use kiosk_privacy::IdNumber;
use kiosk_queue::Claimed;
use registry_api::{
    ApiError, Heartbeat, HeartbeatReply, HistoryQuery, HistoryReply, MissingPages, RegistrationAck, HEALTH_PATH,
    HEARTBEAT_PATH, HISTORY_PATH, IDEMPOTENCY_HEADER, SEALED_BUNDLE_CONTENT_TYPE,
    SEALED_CONTENT_TYPE, SEALED_PAGE_CONTENT_TYPE, SEALED_REGISTRATIONS_PATH,
};
use serde::de::DeserializeOwned;

use crate::{ClientTls, UplinkError};

mod ratings;

/// The largest reply body read, in bytes. Real replies are a few hundred bytes.
const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// The largest registration (sealed bytes, its voice note included) whose
/// first attempt goes as one bundle; larger ones, and every retry, go part
/// by part and can resume.
pub const BUNDLE_MAX_BYTES: usize = 8 * 1024 * 1024;
/// The longest server error message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// A claimed registration ready to be sent: the body of a first attempt's
/// bundle is encoded here, when it is made (the uplink makes the next one
/// while the current one is on the wire), not when it is sent.
#[derive(Debug)]
pub struct Outgoing {
    claimed: Claimed,
    /// The bundle of metadata box, page boxes and voice note box; `None`
    /// when the attempt goes the resumable way (a retry, or too large for
    /// one request).
    bundle: Option<bytes::Bytes>,
}

impl Outgoing {
    /// Prepares `claimed` for sending. The first attempt of a registration of
    /// at most [`BUNDLE_MAX_BYTES`] goes as one bundle; see [`RegistryClient::upload`].
    pub fn new(claimed: Claimed) -> Outgoing {
        let total: usize =
            claimed.sealed.len() + claimed.parts().map(|p| p.sealed.len()).sum::<usize>();
        let bundled =
            claimed.parts().next().is_some() && claimed.attempts <= 1 && total <= BUNDLE_MAX_BYTES;
        // The voice note rides as its own part (`registry_api::VOICE_NOTE_PART`), after the pages.
        let bundle = bundled.then(|| {
            bytes::Bytes::from(registry_api::bundle::encode(
                &claimed.sealed,
                claimed.parts().map(|p| (p.index, p.sealed.as_slice())),
            ))
        });
        Outgoing { claimed, bundle }
    }

    /// The claimed row this is made of.
    pub fn claimed(&self) -> &Claimed {
        &self.claimed
    }
}

/// A client of one registry, authenticated with this terminal's token.
#[derive(Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    base_url: String,
    /// `Bearer <token>`, zeroed when the client is dropped.
    auth: zeroize::Zeroizing<String>,
    /// What the registry last answered; shared by every clone.
    contact: crate::ContactLog,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client for the registry at `base_url`, each request limited to
    /// `timeout` from start to the end of the reply. `https://` needs `tls`:
    /// only its CA is trusted and its client certificate is presented.
    /// Plain `http://` is accepted for a loopback host only (the demo, tests).
    pub fn build(
        base_url: &str,
        token: &str,
        tls: Option<&ClientTls>,
        timeout: Duration,
    ) -> Result<Self, UplinkError> {
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base_url)
            .map_err(|_| UplinkError::Config("base url does not parse"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(UplinkError::Config(
                "base url must be http or https with a host",
            ));
        }
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match (url.scheme(), tls.is_some()) {
            ("https", false) => {
                return Err(UplinkError::Config(
                    "https needs the registry CA and a client certificate",
                ))
            }
            ("http", _) if !loopback => {
                return Err(UplinkError::Config(
                    "plain http is allowed to a loopback registry only",
                ))
            }
            _ => {}
        }
        // Over https the terminal is known by its enrolled key and needs no
        // token; over loopback http the token is its only credential.
        if (token.trim().is_empty() && tls.is_none())
            || token.chars().any(|c| c.is_control() || c == ' ')
        {
            return Err(UplinkError::Config(
                "token is empty or has invalid characters",
            ));
        }
        if timeout.is_zero() {
            return Err(UplinkError::Config("request timeout is zero"));
        }
        let mut builder = reqwest::Client::builder();
        if let Some(tls) = tls {
            let cas = reqwest::Certificate::from_pem_bundle(&tls.registry_ca_pem)
                .map_err(|_| UplinkError::Config("registry CA is not PEM certificates"))?;
            let identity = reqwest::Identity::from_pem(&tls.identity_pem)
                .map_err(|_| UplinkError::Config("client certificate or key is not usable PEM"))?;
            // Only the registry's CA is trusted: no system or built-in roots.
            builder = builder.tls_certs_only(cas).identity(identity);
        }
        let http = builder
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("kiosk-uplink/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| UplinkError::Config("http client cannot be built"))?;
        Ok(RegistryClient {
            http,
            base_url,
            auth: zeroize::Zeroizing::new(format!("Bearer {token}")),
            contact: crate::ContactLog::default(),
        })
    }

    /// What the registry last answered this client (and its clones).
    pub fn contact(&self) -> &crate::ContactLog {
        &self.contact
    }

    /// Sends `req`, recording the answer (or its absence) in the contact log.
    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, UplinkError> {
        let sent = chrono::Utc::now();
        match req.send().await {
            Ok(res) => {
                let date = res
                    .headers()
                    .get(reqwest::header::DATE)
                    .and_then(|v| v.to_str().ok());
                self.contact
                    .answered(res.status().as_u16(), date, sent, chrono::Utc::now());
                Ok(res)
            }
            Err(e) => {
                let e = transport_error(e);
                self.contact.failed(&e);
                Err(e)
            }
        }
    }

    /// Uploads a sealed registration and returns the registry's checked
    /// acknowledgement.
    ///
    /// The first attempt of a registration of at most [`BUNDLE_MAX_BYTES`]
    /// sends everything in one request, a bundle of the metadata box, every
    /// page box and the voice note's box, which the registry answers 201 with
    /// the case number. A retry (the previous attempt may have been cut
    /// mid-body), or a larger registration, goes the resumable way: the
    /// metadata box first; when the registry answers 202 with the parts it
    /// still misses, each of those boxes (a page, or the voice note as part
    /// [`registry_api::VOICE_NOTE_PART`]), until one answer is the 201
    /// acknowledgement. A part the registry already has is never sent again.
    pub async fn upload(&self, out: &Outgoing) -> Result<RegistrationAck, UplinkError> {
        let claimed = &out.claimed;
        let req = self
            .http
            .post(self.url(SEALED_REGISTRATIONS_PATH))
            .header(reqwest::header::AUTHORIZATION, self.auth.as_str())
            .header(IDEMPOTENCY_HEADER, &claimed.idempotency_key);
        let req = if let Some(bundle) = &out.bundle {
            req.header(reqwest::header::CONTENT_TYPE, SEALED_BUNDLE_CONTENT_TYPE)
                .body(bundle.clone())
        } else {
            req.header(reqwest::header::CONTENT_TYPE, SEALED_CONTENT_TYPE)
                .body(claimed.sealed.clone())
        };
        let mut missing = match self.staged_reply(req).await? {
            Step::Ack(ack) => return Ok(ack),
            Step::Missing(missing) => missing,
        };
        let mut sent = std::collections::BTreeSet::new();
        while let Some(&index) = missing.first() {
            if !sent.insert(index) {
                // The registry asks again for a page it was just sent.
                return Err(UplinkError::StillMissing(missing));
            }
            let page = claimed
                .parts()
                .find(|p| p.index == index)
                .ok_or(UplinkError::PageUnavailable(index))?;
            let req = self
                .http
                .put(self.url(&registry_api::sealed_page_path(
                    &claimed.idempotency_key,
                    index,
                )))
                .header(reqwest::header::AUTHORIZATION, self.auth.as_str())
                .header(reqwest::header::CONTENT_TYPE, SEALED_PAGE_CONTENT_TYPE)
                .body(page.sealed.clone());
            missing = match self.staged_reply(req).await? {
                Step::Ack(ack) => return Ok(ack),
                Step::Missing(missing) => missing,
            };
        }
        Err(UplinkError::BadReply("202 reply misses no page".into()))
    }

    /// Sends one step of an upload: a 201 must carry a valid acknowledgement,
    /// a 202 the list of missing pages; anything else is an error.
    async fn staged_reply(&self, req: reqwest::RequestBuilder) -> Result<Step, UplinkError> {
        let (status, body, kind) = self.call_raw_typed(req).await?;
        match status {
            201 => {
                let ack: RegistrationAck = serde_json::from_slice(&body).map_err(|_| {
                    UplinkError::BadReply(format!("201 reply is not the expected json ({kind})"))
                })?;
                if !registry_api::valid_case_number(&ack.case_number) {
                    // Never stored, printed or put in a QR code: the row stays
                    // queued and is sent again.
                    return Err(UplinkError::BadReply(
                        "acknowledgement without a valid case number".into(),
                    ));
                }
                Ok(Step::Ack(ack))
            }
            202 => {
                // A 202 carrying a receipt is an acknowledgement too (as before staging).
                if let Ok(ack) = serde_json::from_slice::<RegistrationAck>(&body) {
                    if registry_api::valid_case_number(&ack.case_number) {
                        return Ok(Step::Ack(ack));
                    }
                    if !ack.case_number.is_empty() {
                        return Err(UplinkError::BadReply(
                            "acknowledgement without a valid case number".into(),
                        ));
                    }
                }
                let missing: MissingPages = serde_json::from_slice(&body).map_err(|_| {
                    UplinkError::BadReply(format!(
                        "202 reply is not a list of missing pages ({kind})"
                    ))
                })?;
                if missing.missing_pages.is_empty() {
                    return Err(UplinkError::BadReply("202 reply misses no page".into()));
                }
                Ok(Step::Missing(missing.missing_pages))
            }
            _ => Err(UplinkError::BadReply(format!(
                "{status} is not an acknowledgement (201 or 202 expected; {kind})"
            ))),
        }
    }

    /// The registry's earlier registrations of the holder of `id`, newest
    /// first. `identity_typed`: a clerk typed the number (no card was read),
    /// which the registry's audit log records.
    pub async fn history(
        &self,
        id: &IdNumber,
        identity_typed: bool,
    ) -> Result<HistoryReply, UplinkError> {
        let req = self
            .http
            .post(self.url(HISTORY_PATH))
            .header(reqwest::header::AUTHORIZATION, self.auth.as_str())
            .json(&HistoryQuery {
                id_number: id.clone(),
                identity_typed,
            });
        let reply: HistoryReply = self.call(req).await?;
        // The screen shows these numbers and offers them for a supplement.
        if reply
            .registrations
            .iter()
            .any(|r| !registry_api::valid_case_number(&r.case_number))
        {
            return Err(UplinkError::BadReply(
                "history lists a case number of another format".into(),
            ));
        }
        Ok(reply)
    }

    /// Reports this terminal's queue to the registry; the answer names the
    /// software the registry wants it to run (a registry from before
    /// updates answers 204 and names none).
    pub async fn heartbeat(&self, hb: &Heartbeat) -> Result<HeartbeatReply, UplinkError> {
        let req = self
            .http
            .post(self.url(HEARTBEAT_PATH))
            .header(reqwest::header::AUTHORIZATION, self.auth.as_str())
            .json(hb);
        let mut res = self.send(req).await?;
        let res = match res.status().as_u16() {
            204 => Ok(HeartbeatReply::default()),
            200 => match read_capped(&mut res).await {
                Ok(body) => serde_json::from_slice::<HeartbeatReply>(&body).map_err(|_| {
                    UplinkError::BadReply("200 heartbeat reply is not the expected json".into())
                }),
                Err(e) => Err(e),
            },
            401 | 403 => Err(UplinkError::Unauthorized),
            status => Err(UplinkError::Server { status }),
        };
        if let Err(e) = &res {
            self.contact.failed(e);
        }
        res
    }

    /// Appends the bytes of the bundle `sha256` from `have` on (at most
    /// [`registry_api::MAX_UPDATE_RANGE_BYTES`], as the registry sends) to
    /// `file`, writing them as they arrive: a cut connection keeps what
    /// came. Returns the bytes written.
    pub(crate) async fn bundle_part(
        &self,
        sha256: &str,
        have: u64,
        size: u64,
        file: &mut std::fs::File,
    ) -> Result<u64, UplinkError> {
        use std::io::Write as _;
        let end = (have + registry_api::MAX_UPDATE_RANGE_BYTES).min(size) - 1;
        let req = self
            .http
            .get(self.url(&registry_api::update_bundle_path(sha256)))
            .header(reqwest::header::AUTHORIZATION, self.auth.as_str())
            .header(reqwest::header::RANGE, format!("bytes={have}-{end}"));
        let mut res = self.send(req).await?;
        match res.status().as_u16() {
            206 => {}
            401 | 403 => return Err(UplinkError::Unauthorized),
            status => return Err(UplinkError::Server { status }),
        }
        let expected = format!("bytes {have}-");
        let range_ok = res
            .headers()
            .get(reqwest::header::CONTENT_RANGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|r| r.starts_with(&expected) && r.ends_with(&format!("/{size}")));
        if !range_ok {
            return Err(UplinkError::BadReply("bundle part with a wrong Content-Range".into()));
        }
        let mut written = 0u64;
        let limit = end + 1 - have;
        while let Some(chunk) = res.chunk().await.map_err(transport_error)? {
            if written + chunk.len() as u64 > limit {
                return Err(UplinkError::BadReply("bundle part longer than asked".into()));
            }
            file.write_all(&chunk)
                .map_err(|e| UplinkError::BadReply(format!("cannot write the bundle: {e}")))?;
            written += chunk.len() as u64;
        }
        Ok(written)
    }

    /// Checks that the registry itself (not a portal in front of it) answers.
    pub async fn health(&self) -> Result<(), UplinkError> {
        let req = self
            .http
            .get(self.url(HEALTH_PATH))
            .header(reqwest::header::AUTHORIZATION, self.auth.as_str());
        let _: serde_json::Map<String, serde_json::Value> = self.call(req).await?;
        Ok(())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Sends `req` and parses a 2xx reply as `T`, mapping everything else to an error.
    async fn call<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<T, UplinkError> {
        self.call_with_status(req).await.map(|(_, v)| v)
    }

    /// Like [`RegistryClient::call`], also returning the 2xx status.
    async fn call_with_status<T: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, T), UplinkError> {
        let (status, body, kind) = self.call_raw_typed(req).await?;
        serde_json::from_slice(&body)
            .map(|v| (status, v))
            .map_err(|_| {
                UplinkError::BadReply(format!("{status} reply is not the expected json ({kind})"))
            })
    }

    /// Sends `req` and returns a 2xx status, its body and content type,
    /// mapping every other status to an error.
    async fn call_raw_typed(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>, String), UplinkError> {
        let mut res = self.send(req).await?;
        let status = res.status().as_u16();
        let body = match read_capped(&mut res).await {
            Ok(body) => body,
            Err(e) => {
                self.contact.failed(&e);
                return Err(e);
            }
        };
        let res = Self::classify(status, body, content_type(&res));
        if let Err(e) = &res {
            self.contact.failed(e);
        }
        res
    }

    fn classify(
        status: u16,
        body: Vec<u8>,
        kind: String,
    ) -> Result<(u16, Vec<u8>, String), UplinkError> {
        match status {
            200..=299 => Ok((status, body, kind)),
            300..=399 => Err(UplinkError::BadReply(format!(
                "unexpected redirect ({status})"
            ))),
            401 | 403 => Err(UplinkError::Unauthorized),
            408 | 429 | 500..=599 => Err(UplinkError::Server { status }),
            _ => {
                let message = match serde_json::from_slice::<ApiError>(&body) {
                    Ok(e) => format!("{}: {}", e.code, e.message),
                    Err(_) => String::from("no error body"),
                };
                let message: String = kiosk_privacy::redact(&message)
                    .chars()
                    .take(MAX_MESSAGE_CHARS)
                    .collect();
                Err(UplinkError::Rejected { status, message })
            }
        }
    }
}

/// One answer of a staged upload.
enum Step {
    Ack(RegistrationAck),
    Missing(Vec<u32>),
}

/// Reads the reply body, refusing more than [`MAX_REPLY_BYTES`].
async fn read_capped(res: &mut reqwest::Response) -> Result<Vec<u8>, UplinkError> {
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(UplinkError::BadReply("reply too large".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn content_type(res: &reqwest::Response) -> String {
    let raw = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("no content type");
    raw.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(60)
        .collect()
}

fn transport_error(e: reqwest::Error) -> UplinkError {
    if e.is_timeout() {
        UplinkError::Timeout
    } else {
        UplinkError::Network(e.without_url())
    }
}
