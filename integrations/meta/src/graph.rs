//! The Graph API plumbing every Graph product client shares (Messenger, Instagram, WhatsApp Cloud
//! API): the production origin and version, the error envelope, how a failed answer is
//! classified into [`Error`], and the one-request executor.
//!
//! `leadline-whatsapp` uses this module as is, so a Graph error means the same thing on every
//! channel. It never retries (the job queue does) and never logs tokens.

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, CODE_OUTSIDE_WINDOW, SUBCODE_OUTSIDE_WINDOW};

/// The production origin (`META_API_BASE` / `WHATSAPP_API_BASE` override it; the clients add the
/// versioned path).
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
/// The Graph version the clients pin (platforms.md §4 example `v21.0`); `with_version` changes it.
pub const DEFAULT_VERSION: &str = "v21.0";
/// Whole-request timeout: a send that takes longer is reported `Timeout` and retried by the queue.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Graph's error envelope: `{"error":{"message","type","code","error_subcode","error_data",
/// "fbtrace_id"}}` (platforms.md §4, §5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphErrorEnvelope {
    /// The error.
    pub error: GraphError,
}

/// The body of Graph's error envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphError {
    /// Human-readable text, usually prefixed `(#code)`.
    #[serde(default)]
    pub message: String,
    /// `OAuthException`, `GraphMethodException`...
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The machine-readable code the classification is built on.
    #[serde(default)]
    pub code: i64,
    /// Messenger subcodes (e.g. 2018278 outside window); WhatsApp stopped sending them in v16.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    /// WhatsApp's `{messaging_product, details}` (platforms.md §4: build logic on code + details).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<GraphErrorData>,
    /// Graph's trace id, worth logging for support tickets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
}

/// `error.error_data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphErrorData {
    /// `whatsapp` on Cloud API errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_product: Option<String>,
    /// The explanation to show an operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// Graph codes that mean "slow down" (platforms.md §4: 130429 throughput, 131056 pair rate limit;
/// §5: 4/32/613 throttled, numbers UNCONFIRMED there; 80006/80007 are the Messenger/Instagram
/// platform rate limits).
const THROTTLING_CODES: &[i64] = &[4, 17, 32, 613, 80_006, 80_007, 130_429, 131_056];
/// Codes for an invalid or expired token (platforms.md §4: 190 token expired; 102 session).
const AUTH_CODES: &[i64] = &[102, 190];
/// Codes for "something went wrong on our side, retry" (1 unknown, 2 service unavailable,
/// WhatsApp 131000 unknown, reported with HTTP 500 in platforms.md §4).
const TRANSIENT_CODES: &[i64] = &[1, 2, 131_000];

/// Maps a non-2xx Graph answer to an error: the envelope's code first (Graph reports most
/// failures as 400 with a code that says what happened), then the HTTP status.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Error {
    let envelope = serde_json::from_slice::<GraphErrorEnvelope>(body).ok();
    if let Some(GraphErrorEnvelope { error }) = &envelope {
        let message = describe(error);
        match (error.code, error.error_subcode) {
            (code, _) if AUTH_CODES.contains(&code) => return Error::Unauthorized(message),
            (code, _) if THROTTLING_CODES.contains(&code) => {
                return Error::RateLimited { retry_after }
            }
            (code, _) if TRANSIENT_CODES.contains(&code) => {
                return Error::Transient(format!("HTTP {status}: {message}"))
            }
            // "Object with ID ... does not exist" (unknown page, phone number id or user).
            (100, Some(33)) => return Error::NotFound(message),
            // Outside the 24 h window is a decision for the caller (retag or template), even when
            // Graph sends it with 403.
            (CODE_OUTSIDE_WINDOW, Some(SUBCODE_OUTSIDE_WINDOW)) => {
                return Error::Rejected {
                    status,
                    code: error.code,
                    subcode: error.error_subcode,
                    message,
                }
            }
            _ => {}
        }
    }
    let fallback_message = || match &envelope {
        Some(GraphErrorEnvelope { error }) => describe(error),
        None => String::from_utf8_lossy(body).chars().take(200).collect(),
    };
    match status {
        401 | 403 => Error::Unauthorized(fallback_message()),
        404 => Error::NotFound(fallback_message()),
        429 => Error::RateLimited { retry_after },
        408 => Error::Transient(format!("HTTP 408: {}", fallback_message())),
        500..=599 => Error::Transient(format!("HTTP {status}: {}", fallback_message())),
        _ => match envelope {
            Some(GraphErrorEnvelope { error }) => Error::Rejected {
                status,
                code: error.code,
                subcode: error.error_subcode,
                message: describe(&error),
            },
            None => Error::Rejected {
                status,
                code: 0,
                subcode: None,
                message: fallback_message(),
            },
        },
    }
}

/// `message`, plus `error_data.details` when Graph gave them.
fn describe(error: &GraphError) -> String {
    match error.error_data.as_ref().and_then(|d| d.details.as_deref()) {
        Some(details) if !details.is_empty() => format!("{} ({details})", error.message),
        _ => error.message.clone(),
    }
}

/// `Retry-After` as delta-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`.
pub fn parse_retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Classifies a reqwest transport error: timeouts are `Timeout`, a request that could not be
/// built is `Rejected` (status 0), an unreadable body `Decode`, anything else `Transient`.
pub fn from_transport(error: reqwest::Error) -> Error {
    let error = error.without_url();
    let chain = error_chain(&error);
    if error.is_timeout() {
        Error::Timeout
    } else if error.is_builder() {
        // A malformed base URL or a token that is not a valid header value: sending it again
        // cannot help.
        Error::Rejected {
            status: 0,
            code: 0,
            subcode: None,
            message: chain,
        }
    } else if error.is_decode() {
        Error::Decode(chain)
    } else {
        Error::Transient(chain)
    }
}

fn error_chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends one prepared request and decodes a 2xx JSON answer into `T`, or classifies the failure.
/// `what` names the operation in errors and logs.
pub async fn execute<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &'static str,
) -> Result<T, Error> {
    let response = request.send().await.map_err(from_transport)?;
    let status = response.status().as_u16();
    let retry_after = parse_retry_after(response.headers(), Utc::now());
    let body = response.bytes().await.map_err(from_transport)?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&body).map_err(|e| Error::Decode(format!("{what}: {e}")));
    }
    let error = classify(status, retry_after, &body);
    let trace = serde_json::from_slice::<GraphErrorEnvelope>(&body)
        .ok()
        .and_then(|e| e.error.fbtrace_id)
        .unwrap_or_default();
    tracing::warn!(operation = what, status, fbtrace_id = %trace, %error, "Graph request failed");
    Err(error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn envelope(code: i64, subcode: Option<i64>) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({"error": {
            "message": format!("(#{code}) m"), "type": "OAuthException", "code": code,
            "error_subcode": subcode, "fbtrace_id": "AbC"}}))
        .unwrap()
    }

    #[test]
    fn codes_win_over_statuses() {
        let wait = Some(Duration::from_secs(9));
        assert!(matches!(
            classify(400, None, &envelope(190, None)),
            Error::Unauthorized(_)
        ));
        assert_eq!(
            classify(400, wait, &envelope(613, None)),
            Error::RateLimited { retry_after: wait }
        );
        assert_eq!(
            classify(429, wait, &envelope(130_429, None)),
            Error::RateLimited { retry_after: wait }
        );
        assert!(matches!(
            classify(400, None, &envelope(100, Some(33))),
            Error::NotFound(_)
        ));
        assert!(matches!(
            classify(500, None, &envelope(131_000, None)),
            Error::Transient(_)
        ));
        assert!(classify(403, None, &envelope(10, Some(2_018_278))).is_outside_window());
    }

    #[test]
    fn statuses_decide_when_the_code_does_not() {
        assert!(matches!(classify(401, None, b""), Error::Unauthorized(_)));
        assert!(matches!(
            classify(403, None, &envelope(200, None)),
            Error::Unauthorized(_)
        ));
        assert!(matches!(classify(404, None, b"<html>"), Error::NotFound(_)));
        assert_eq!(
            classify(429, None, b""),
            Error::RateLimited { retry_after: None }
        );
        assert!(matches!(
            classify(502, None, b"bad gateway"),
            Error::Transient(_)
        ));
        assert_eq!(
            classify(400, None, &envelope(131_047, None)),
            Error::Rejected {
                status: 400,
                code: 131_047,
                subcode: None,
                message: "(#131047) m".into()
            }
        );
        assert!(matches!(
            classify(400, None, b"not json"),
            Error::Rejected { code: 0, .. }
        ));
    }

    #[test]
    fn whatsapp_details_are_kept_in_the_message() {
        let body = br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"24 hours have passed"},"fbtrace_id":"x"}}"#;
        match classify(400, None, body) {
            Error::Rejected { message, .. } => {
                assert_eq!(
                    message,
                    "(#131047) Re-engagement message (24 hours have passed)"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "12".parse().unwrap());
        assert_eq!(
            parse_retry_after(&headers, now),
            Some(Duration::from_secs(12))
        );
        headers.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(
            parse_retry_after(&headers, now),
            Some(Duration::from_secs(60))
        );
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&headers, now), None);
    }
}
