//! `GET /v1/updates/{sha256}`: a terminal fetches a part of the update
//! bundle its roll-out names, by `Range: bytes=START-END` (at most
//! [`MAX_UPDATE_RANGE_BYTES`] a request), so an interrupted fetch resumes
//! where it stopped and the terminal can send registrations between parts.
//! Only a terminal whose credential names it (a bound token or its
//! certificate) may fetch, and only the bundle offered to it.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use registry_api::{valid_sha256_hex, MAX_UPDATE_RANGE_BYTES};

use super::{blocking, AppState, Failure, Terminal};

/// `bytes=START-END` or `bytes=START-` (one range; suffix ranges are not
/// needed by a terminal and refused).
fn parse_range(headers: &HeaderMap) -> Result<(u64, Option<u64>), Failure> {
    let text = headers
        .get(header::RANGE)
        .ok_or_else(|| Failure::bad_request("a Range header (bytes=START-END) is required"))?
        .to_str()
        .map_err(|_| Failure::bad_request("Range must be ASCII"))?;
    let spec = text
        .strip_prefix("bytes=")
        .filter(|s| !s.contains(','))
        .ok_or_else(|| Failure::bad_request("Range must be one bytes=START-END"))?;
    let (a, b) = spec
        .split_once('-')
        .ok_or_else(|| Failure::bad_request("Range must be one bytes=START-END"))?;
    let start = a
        .parse::<u64>()
        .map_err(|_| Failure::bad_request("Range must start with a byte offset"))?;
    let end = if b.is_empty() {
        None
    } else {
        Some(
            b.parse::<u64>()
                .ok()
                .filter(|e| *e >= start)
                .ok_or_else(|| {
                    Failure::bad_request("Range end must be an offset after its start")
                })?,
        )
    };
    Ok((start, end))
}

pub(super) async fn bundle(
    State(state): State<AppState>,
    terminal: Terminal,
    Path(sha256): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Failure> {
    if !valid_sha256_hex(&sha256) {
        return Err(Failure::bad_request(
            "a bundle is named by its lower-case hex SHA-256",
        ));
    }
    let Some(terminal_id) = terminal.id.clone() else {
        return Err(Failure::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "updates are only for terminals whose credential names them",
        ));
    };
    let (start, end) = parse_range(&headers)?;
    let end = end
        .unwrap_or(u64::MAX)
        .min(start.saturating_add(MAX_UPDATE_RANGE_BYTES - 1));
    let store = state.store.clone();
    let found = blocking(move || {
        if !store
            .may_fetch(&terminal_id, &sha256)
            .map_err(|e| Failure::internal("cannot read the roll-out", &e))?
        {
            return Ok(Err(()));
        }
        store
            .bundle_range(&sha256, start, end)
            .map(Ok)
            .map_err(|e| Failure::internal("cannot read the bundle", &e))
    })
    .await?;
    match found {
        Err(()) => Err(Failure::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such bundle for this terminal",
        )),
        Ok(None) => Err(Failure::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "bad_range",
            "the range lies outside the bundle",
        )),
        Ok(Some((bytes, size))) => {
            let last = start + bytes.len() as u64 - 1;
            Ok((
                StatusCode::PARTIAL_CONTENT,
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                    (
                        header::CONTENT_RANGE,
                        format!("bytes {start}-{last}/{size}"),
                    ),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
                bytes,
            )
                .into_response())
        }
    }
}
