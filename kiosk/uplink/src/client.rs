//! The HTTP client of the registry protocol.
//!
//! Every answer is checked before it is believed: a registration counts as
//! acknowledged only when a 2xx reply parses as a `RegistrationAck` with a
//! non-empty case number. Redirects are not followed (a captive portal's
//! favourite trick), proxies from the environment are not used, and reply
//! bodies are read up to a fixed size so a portal page cannot exhaust memory.

use std::time::Duration;

use kiosk_privacy::IdNumber;
use registry_api::{
    ApiError, HistoryQuery, HistoryReply, RegistrationAck, RegistrationUpload, HEALTH_PATH,
    HISTORY_PATH, IDEMPOTENCY_HEADER, REGISTRATIONS_PATH,
};
use serde::de::DeserializeOwned;

use crate::UplinkError;

/// The largest reply body read, in bytes. Real replies are a few hundred bytes.
const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// The longest server error message kept, in characters.
const MAX_MESSAGE_CHARS: usize = 200;

/// A client of one registry, authenticated with this terminal's token.
#[derive(Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    base_url: String,
    auth: String,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client for the registry at `base_url` (`http://` or `https://`), each
    /// request limited to `timeout` from start to the end of the reply.
    pub fn new(base_url: &str, token: &str, timeout: Duration) -> Result<Self, UplinkError> {
        let base_url = base_url.trim().trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base_url)
            .map_err(|_| UplinkError::Config("base url does not parse"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(UplinkError::Config(
                "base url must be http or https with a host",
            ));
        }
        if token.trim().is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
            return Err(UplinkError::Config(
                "token is empty or has invalid characters",
            ));
        }
        if timeout.is_zero() {
            return Err(UplinkError::Config("request timeout is zero"));
        }
        let http = reqwest::Client::builder()
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
            auth: format!("Bearer {token}"),
        })
    }

    /// Uploads a registration and returns the registry's checked acknowledgement.
    pub async fn upload(
        &self,
        upload: &RegistrationUpload,
    ) -> Result<RegistrationAck, UplinkError> {
        let req = self
            .http
            .post(self.url(REGISTRATIONS_PATH))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .header(IDEMPOTENCY_HEADER, &upload.idempotency_key)
            .json(upload);
        let ack: RegistrationAck = self.call(req).await?;
        if ack.case_number.trim().is_empty() {
            return Err(UplinkError::BadReply(
                "acknowledgement without a case number".into(),
            ));
        }
        Ok(ack)
    }

    /// The registry's earlier registrations of the holder of `id`, newest first.
    pub async fn history(&self, id: &IdNumber) -> Result<HistoryReply, UplinkError> {
        let req = self
            .http
            .post(self.url(HISTORY_PATH))
            .header(reqwest::header::AUTHORIZATION, &self.auth)
            .json(&HistoryQuery {
                id_number: id.clone(),
            });
        self.call(req).await
    }

    /// Checks that the registry itself (not a portal in front of it) answers.
    pub async fn health(&self) -> Result<(), UplinkError> {
        let req = self
            .http
            .get(self.url(HEALTH_PATH))
            .header(reqwest::header::AUTHORIZATION, &self.auth);
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
        let mut res = req.send().await.map_err(transport_error)?;
        let status = res.status().as_u16();
        let body = read_capped(&mut res).await?;
        match status {
            200..=299 => serde_json::from_slice(&body).map_err(|_| {
                let kind = content_type(&res);
                UplinkError::BadReply(format!("{status} reply is not the expected json ({kind})"))
            }),
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
