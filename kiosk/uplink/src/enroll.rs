//! Enrollment: the terminal makes its own key pair (the private key never
//! leaves it), presents a self-signed certificate of it over TLS to the
//! registry it pins, and sends the one-time code staff issued for its id.
//! From then on the registry knows the terminal by that key.

use std::time::Duration;

use registry_api::{ApiError, EnrollReply, EnrollRequest, ENROLL_PATH};

use crate::{ClientTls, UplinkError};

/// A new key pair (ECDSA P-256) and a self-signed certificate of it naming
/// `terminal_id`: `(certificate PEM, private key PEM)`. The registry pins
/// the key, so the certificate's dates and issuer carry no trust; it is
/// valid for 30 years so that it never stops a terminal.
pub fn make_identity(terminal_id: &str) -> Result<(String, zeroize::Zeroizing<String>), UplinkError> {
    let key = rcgen::KeyPair::generate()
        .map_err(|_| UplinkError::Config("cannot make a key pair"))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())
        .map_err(|_| UplinkError::Config("cannot make a certificate"))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, terminal_id);
    let now = std::time::SystemTime::now();
    params.not_before = now.into();
    params.not_after = (now + Duration::from_secs(30 * 365 * 86_400)).into();
    let cert = params
        .self_signed(&key)
        .map_err(|_| UplinkError::Config("cannot make a certificate"))?;
    Ok((cert.pem(), zeroize::Zeroizing::new(key.serialize_pem())))
}

/// Enrolls this terminal (the key in `tls`) as `terminal_id` at the
/// registry at `base_url` (https only) with `code`.
pub async fn enroll(
    base_url: &str,
    tls: &ClientTls,
    terminal_id: &str,
    code: &str,
    timeout: Duration,
) -> Result<EnrollReply, UplinkError> {
    let base = base_url.trim().trim_end_matches('/');
    if !base.starts_with("https://") {
        return Err(UplinkError::Config(
            "enrollment needs an https:// registry",
        ));
    }
    let cas = reqwest::Certificate::from_pem_bundle(&tls.registry_ca_pem)
        .map_err(|_| UplinkError::Config("registry CA is not PEM certificates"))?;
    let identity = reqwest::Identity::from_pem(&tls.identity_pem)
        .map_err(|_| UplinkError::Config("client certificate or key is not usable PEM"))?;
    let http = reqwest::Client::builder()
        .tls_certs_only(cas)
        .identity(identity)
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|_| UplinkError::Config("http client cannot be built"))?;
    let body = EnrollRequest {
        terminal_id: terminal_id.to_owned(),
        code: code.trim().to_owned(),
    };
    let res = http
        .post(format!("{base}{ENROLL_PATH}"))
        .json(&body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                UplinkError::Timeout
            } else {
                UplinkError::Network(e)
            }
        })?;
    let status = res.status().as_u16();
    let bytes = res.bytes().await.map_err(UplinkError::Network)?;
    if status == 201 {
        return serde_json::from_slice(&bytes)
            .map_err(|_| UplinkError::BadReply("enrollment answer is not an EnrollReply".into()));
    }
    let message = serde_json::from_slice::<ApiError>(&bytes)
        .map(|e| e.message.chars().take(200).collect())
        .unwrap_or_else(|_| "no message".into());
    Err(if (500..600).contains(&status) {
        UplinkError::Server { status }
    } else {
        UplinkError::Rejected { status, message }
    })
}
