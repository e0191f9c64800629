//! The messaging webhook shims: `GET|POST /api/webhook/{whatsapp|instagram|facebook|tiktok}/{tenantSlug}`
//! (ARCHITECTURE.md §6).
//!
//! GET answers the platform's subscription handshake. POST reads the raw body under a hard
//! size limit (413 before anything else), finds the tenant's active connection (404), verifies
//! the signature on the raw bytes (401), parses (400), stores through
//! `services::inbox::ingest` and answers `200 {"ok":true,"stored":n,"duplicates":m}`; a database
//! failure answers 503 so the platform redelivers. No AI call and no outbound HTTP happen here:
//! platforms time webhooks out within seconds.
//!
//! Every answer is counted in `leadline_webhook_deliveries_total{channel,outcome}`, every
//! refusal also in `leadline_webhook_rejected_total{channel,reason}`, and POST latency in
//! `leadline_webhook_duration_seconds{channel}`.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use http::{header, HeaderMap, StatusCode};
use serde_json::json;

use super::HttpState;
use crate::error::ApiError;
use crate::services::inbox::ingest;
use crate::services::webhooks::{self, WebhookRejection};

/// The channel label used when the path names no known channel (keeps labels bounded).
const UNKNOWN_CHANNEL: &str = "unknown";

pub(super) fn count(channel: &'static str, outcome: &'static str) {
    metrics::counter!("leadline_webhook_deliveries_total", "channel" => channel, "outcome" => outcome)
        .increment(1);
}

/// Counts and answers a refusal.
pub(super) fn reject(channel: &'static str, rejection: &WebhookRejection) -> Response {
    let reason = rejection.reason();
    match rejection {
        WebhookRejection::DatabaseUnavailable(cause) => {
            tracing::warn!(channel, error = ?cause, "webhook not stored: database unavailable")
        }
        WebhookRejection::BadSignature(why) | WebhookRejection::BadPayload(why) => {
            tracing::info!(channel, reason, why = %why, "webhook refused")
        }
        _ => tracing::info!(channel, reason, "webhook refused"),
    }
    metrics::counter!("leadline_webhook_rejected_total", "channel" => channel, "reason" => reason)
        .increment(1);
    count(channel, "rejected");
    rejection.to_api_error().into_response()
}

/// 413 with the usual JSON error shape (there is no 413 `ApiError`; the code says what to fix).
fn too_large(channel: &'static str, limit: usize) -> Response {
    metrics::counter!("leadline_webhook_rejected_total", "channel" => channel, "reason" => "too_large")
        .increment(1);
    count(channel, "rejected");
    let error = ApiError::bad_input("body", format!("larger than {limit} bytes"));
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        Json(json!({ "errors": [error.to_json()] })),
    )
        .into_response()
}

fn unknown_channel() -> Response {
    metrics::counter!("leadline_webhook_rejected_total", "channel" => UNKNOWN_CHANNEL, "reason" => "unknown_channel")
        .increment(1);
    count(UNKNOWN_CHANNEL, "rejected");
    ApiError::NotFound("webhook channel").into_response()
}

/// `GET /api/webhook/{channel}/{tenantSlug}`: the subscription handshake.
pub async fn verify(
    State(state): State<HttpState>,
    Path((segment, slug)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(channel) = webhooks::channel_for_segment(&segment) else {
        return unknown_channel();
    };
    let label = webhooks::channel_label(channel);
    let endpoint = match webhooks::endpoint(&state.app, &slug, channel).await {
        Ok(endpoint) => endpoint,
        Err(rejection) => return reject(label, &rejection),
    };
    let pairs = decode_query(query.as_deref().unwrap_or(""));
    match webhooks::verification_answer(&endpoint, &pairs) {
        Ok(challenge) => {
            count(label, "verified");
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge,
            )
                .into_response()
        }
        Err(rejection) => reject(label, &rejection),
    }
}

/// `POST /api/webhook/{channel}/{tenantSlug}`: a delivery.
pub async fn receive(
    State(state): State<HttpState>,
    Path((segment, slug)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(channel) = webhooks::channel_for_segment(&segment) else {
        return unknown_channel();
    };
    let label = webhooks::channel_label(channel);
    let started = Instant::now();
    let response = receive_for(&state, channel, label, &slug, &headers, body).await;
    metrics::histogram!("leadline_webhook_duration_seconds", "channel" => label)
        .record(started.elapsed().as_secs_f64());
    response
}

async fn receive_for(
    state: &HttpState,
    channel: leadline_domain::channel::Channel,
    label: &'static str,
    slug: &str,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let raw = match read_body(state, label, headers, body).await {
        Ok(raw) => raw,
        Err(refused) => return refused,
    };
    let endpoint = match webhooks::endpoint(&state.app, slug, channel).await {
        Ok(endpoint) => endpoint,
        Err(rejection) => return reject(label, &rejection),
    };
    let source = match webhooks::verify_signature(
        &state.app,
        &endpoint,
        headers,
        &raw,
        chrono::Utc::now(),
    ) {
        Ok(source) => source,
        Err(rejection) => return reject(label, &rejection),
    };
    let items = match ingest::parse_verified(&endpoint, &raw, source) {
        Ok(items) => items,
        Err(rejection) => return reject(label, &rejection),
    };
    match ingest::apply(&state.app, &endpoint, items).await {
        Ok(report) => {
            count(
                label,
                if report.stored > 0 {
                    "stored"
                } else if report.duplicates > 0 {
                    "duplicate"
                } else {
                    "no_op"
                },
            );
            Json(json!({
                "ok": true,
                "stored": report.stored,
                "duplicates": report.duplicates,
            }))
            .into_response()
        }
        Err(rejection) => reject(label, &rejection),
    }
}

/// The raw body under `LEADLINE_WEBHOOK_MAX_BODY_BYTES`, or the (counted) refusal to answer.
pub(super) async fn read_body(
    state: &HttpState,
    label: &'static str,
    headers: &HeaderMap,
    body: Body,
) -> Result<Vec<u8>, Response> {
    let limit = state.app.config.webhook_max_body_bytes;
    match read_limited(headers, body, limit).await {
        Ok(raw) => Ok(raw),
        Err(BodyError::TooLarge) => Err(too_large(label, limit)),
        Err(BodyError::Aborted(why)) => Err(reject(label, &WebhookRejection::BadPayload(why))),
    }
}

enum BodyError {
    TooLarge,
    Aborted(String),
}

/// Reads the body, refusing as soon as it exceeds `limit`: a declared `Content-Length` over the
/// limit is refused before reading a byte, and a chunked body is cut off once it passes it, so
/// an oversized delivery never sits in memory whole.
async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, BodyError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut raw = Vec::with_capacity(declared.map_or(0, |len| len as usize));
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Aborted(format!("reading the body: {e}")))?;
        if raw.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        raw.extend_from_slice(&chunk);
    }
    Ok(raw)
}

/// Decodes `a=b&c=d` (percent and `+` decoding) into pairs. Hand-rolled because the handshake
/// needs Graph's dotted names (`hub.verify_token`) and TikTok's plain ones from one query.
fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => {
                match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(chunks: usize, size: usize) -> Body {
        let parts = (0..chunks).map(move |_| Ok::<_, std::io::Error>(vec![b'x'; size]));
        Body::from_stream(futures::stream::iter(parts))
    }

    #[tokio::test]
    async fn a_chunked_body_is_cut_off_once_it_passes_the_limit() {
        // No Content-Length: the limit is enforced while reading.
        let headers = HeaderMap::new();
        assert!(matches!(
            read_limited(&headers, chunked(3, 600), 1024).await,
            Err(BodyError::TooLarge)
        ));
        let raw = read_limited(&headers, chunked(2, 512), 1024).await;
        assert!(matches!(raw, Ok(ref bytes) if bytes.len() == 1024));
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_before_reading() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_LENGTH,
            http::HeaderValue::from_static("4096"),
        );
        assert!(matches!(
            read_limited(&headers, Body::empty(), 1024).await,
            Err(BodyError::TooLarge)
        ));
    }

    #[test]
    fn queries_decode_dotted_names_percent_escapes_and_plus() {
        let pairs = decode_query("hub.mode=subscribe&hub.verify_token=a%20b+c&hub.challenge=42&x");
        assert_eq!(
            pairs,
            vec![
                ("hub.mode".to_owned(), "subscribe".to_owned()),
                ("hub.verify_token".to_owned(), "a b c".to_owned()),
                ("hub.challenge".to_owned(), "42".to_owned()),
                ("x".to_owned(), String::new()),
            ]
        );
        // Broken escapes stay literal instead of failing (or panicking on a short tail).
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%41"), "A");
    }
}

#[cfg(test)]
mod props;
