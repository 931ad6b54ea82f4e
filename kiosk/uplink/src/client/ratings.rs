//! Sending one queued satisfaction rating (`POST /v1/ratings`).

use base64::Engine as _;
use kiosk_queue::QueuedRating;
use registry_api::{RatingAck, RatingUpload, IDEMPOTENCY_HEADER, RATINGS_PATH};

use super::RegistryClient;
use crate::UplinkError;

impl RegistryClient {
    /// Sends a rating under its idempotency key; only a 2xx [`RatingAck`]
    /// for the same case counts. A 4xx refusal is [`UplinkError::Rejected`]
    /// (final), a 5xx or a network failure is retryable.
    pub async fn rate(&self, r: &QueuedRating, terminal_id: &str) -> Result<RatingAck, UplinkError> {
        let body = RatingUpload {
            case_number: r.case_number.clone(),
            rater: base64::engine::general_purpose::STANDARD.encode(&r.rater_sealed),
            score: r.score,
            reasons: r.reasons.clone(),
            terminal_id: terminal_id.to_owned(),
            rated_at: r.rated_at.clone(),
        };
        let req = self
            .http
            .post(self.url(RATINGS_PATH))
            .header(reqwest::header::AUTHORIZATION, self.auth.as_str())
            .header(IDEMPOTENCY_HEADER, &r.idempotency_key)
            .json(&body);
        let ack: RatingAck = self.call(req).await?;
        if ack.case_number != r.case_number {
            return Err(UplinkError::BadReply(
                "rating acknowledged for another case".into(),
            ));
        }
        Ok(ack)
    }
}
