//! The one error type of this crate, grouped by what the caller (the call job, the Twilio ↔
//! ElevenLabs bridge, the webhook route, `/readyz`) does about it (CONVENTIONS.md "One
//! integration crate"), plus [`WebhookError`], the reasons a post-call webhook is refused.
//!
//! ElevenLabs answers errors the way FastAPI does: `{"detail": "…"}`, `{"detail": {"status",
//! "message"}}`, or for 422 `{"detail": [{"loc", "msg", "type"}]}` (the exact envelope is not in
//! platforms.md §7, so [`Error::from_response`] reads all three and falls back to a short prefix
//! of the raw body). The HTTP status decides the variant; the body only gives the message.
//! Messages never carry the API key.

use std::time::Duration;

/// Why a post-call webhook was refused. The route answers 401 to the signature problems and 400
/// to [`WebhookError::Decode`]; the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No `ElevenLabs-Signature` header (or not visible ASCII).
    #[error("missing ElevenLabs-Signature header")]
    MissingHeader,
    /// The header has no `t=` or no `v0=`, or `t` is not a whole number of seconds.
    #[error("malformed ElevenLabs-Signature header")]
    MalformedHeader,
    /// `t` is older than the tolerance (30 minutes, as ElevenLabs' SDK): a replay or a delivery
    /// held back too long.
    #[error("the signature timestamp is too old")]
    Stale,
    /// `t` is further in the future than the clock-skew allowance.
    #[error("the signature timestamp is in the future")]
    FromTheFuture,
    /// No `v0` is HMAC-SHA256(secret, t + "." + body): forged, tampered, or another secret.
    #[error("the signature does not match")]
    Mismatch,
    /// Correctly signed, but the body is not the documented JSON envelope.
    #[error("could not decode the webhook body: {0}")]
    Decode(String),
}

/// Why an ElevenLabs call, conversation or webhook did not produce a usable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A setting is missing or unusable (API key, base URL, webhook secret). Nothing was sent.
    #[error("ElevenLabs is not configured: {0}")]
    Configuration(String),
    /// The API key was refused (HTTP 401/403, or a conversation URL without a valid
    /// signature). Terminal until the key is fixed.
    #[error("ElevenLabs refused the credentials (HTTP {status}): {message}")]
    Unauthorized {
        /// HTTP status (401 or 403).
        status: u16,
        /// ElevenLabs' message.
        message: String,
    },
    /// The agent (or phone number) does not exist for this key (HTTP 404).
    #[error("ElevenLabs resource not found: {0}")]
    NotFound(String),
    /// The request was refused as invalid (HTTP 422, or refused locally before sending: a
    /// malformed phone number, non-base64 audio). Terminal for this input.
    #[error("ElevenLabs rejected the request as invalid: {message}")]
    Validation {
        /// What was wrong, as ElevenLabs (or the local check) said it.
        message: String,
    },
    /// Too many requests or concurrent conversations (HTTP 429): retry after `retry_after` when
    /// ElevenLabs said so.
    #[error("rate limited by ElevenLabs (retry after {retry_after:?})")]
    RateLimited {
        /// From `Retry-After` (seconds), when present.
        retry_after: Option<Duration>,
    },
    /// Any other 4xx: the same request will fail again.
    #[error("ElevenLabs rejected the request (HTTP {status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// ElevenLabs' message.
        message: String,
    },
    /// A 5xx (or a 408 from a proxy): ElevenLabs is down or overloaded; retry later.
    #[error("ElevenLabs is unavailable (HTTP {status}): {message}")]
    Unavailable {
        /// HTTP status.
        status: u16,
        /// What went wrong.
        message: String,
    },
    /// A timeout, a refused connection, a broken WebSocket: the request may not have been seen;
    /// retry later.
    #[error("could not reach ElevenLabs: {0}")]
    Transport(String),
    /// A 2xx answer or a frame that is not the documented format.
    #[error("could not decode ElevenLabs' data: {0}")]
    Decode(String),
    /// The conversation WebSocket closed (by either side); nothing more can be sent on it.
    #[error("the conversation is closed")]
    Closed,
    /// A post-call webhook that was refused; see [`WebhookError`].
    #[error("ElevenLabs webhook refused: {0}")]
    Webhook(#[from] WebhookError),
}

impl Error {
    /// Whether the same request may succeed if sent again later: rate limits, 5xx, timeouts and
    /// connection failures. The client never retries on its own; the job queue (or the bridge,
    /// for a conversation) does.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Unavailable { .. } | Error::Transport(_)
        )
    }

    /// How long ElevenLabs asked to wait, for a rate limit that said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Classifies a non-2xx answer: HTTP `status`, the `Retry-After` header, the raw body.
    pub fn from_response(status: u16, retry_after: Option<&str>, body: &str) -> Error {
        let message = error_message(body);
        let retry_after = retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match status {
            401 | 403 => Error::Unauthorized { status, message },
            404 => Error::NotFound(message),
            // 400 is how some endpoints report a bad field; ElevenLabs' documented validation
            // status is 422. Both mean "this input will never work".
            400 | 422 => Error::Validation { message },
            429 => Error::RateLimited { retry_after },
            // 408 from a proxy is a timeout: the request may not have been seen.
            408 | 500..=599 => Error::Unavailable { status, message },
            _ => Error::Rejected { status, message },
        }
    }

    /// Classifies a transport failure of `reqwest`.
    pub fn from_transport(err: &reqwest::Error) -> Error {
        if err.is_decode() {
            return Error::Decode(err.to_string());
        }
        let what = if err.is_timeout() {
            "timed out"
        } else if err.is_connect() {
            "could not connect"
        } else {
            "request failed"
        };
        // The API key travels in a header, never in the URL, so the error text cannot leak it.
        Error::Transport(format!("{what}: {err}"))
    }

    /// Classifies a failure to open or use the conversation WebSocket. A handshake refused with
    /// an HTTP status is classified like a REST answer (a bad signature is 401/403, an unknown
    /// agent 404, too many conversations 429); anything else is a transport failure.
    pub fn from_websocket(err: tokio_tungstenite::tungstenite::Error) -> Error {
        use tokio_tungstenite::tungstenite::Error as Ws;
        match err {
            Ws::Http(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let body = response
                    .body()
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                Error::from_response(status, retry_after.as_deref(), &body)
            }
            Ws::ConnectionClosed | Ws::AlreadyClosed => Error::Closed,
            // A signed URL ends in `conversation_signature=…`: the URL is never put in the text.
            Ws::Url(e) => Error::Configuration(format!("conversation URL: {e}")),
            other => Error::Transport(format!("conversation WebSocket: {other}")),
        }
    }
}

/// The human-readable part of an ElevenLabs error body (see the module docs).
fn error_message(body: &str) -> String {
    let short = || body.chars().take(200).collect::<String>();
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        // A proxy's HTML page or an empty body: keep a short prefix for the logs.
        return short();
    };
    let detail = value.get("detail").unwrap_or(&value);
    let message = match detail {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o
            .get("message")
            .or_else(|| o.get("msg"))
            .and_then(|m| m.as_str())
            .map(str::to_owned),
        serde_json::Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .filter_map(|item| {
                    let msg = item.get("msg").and_then(|m| m.as_str())?;
                    let loc = item
                        .get("loc")
                        .and_then(|l| l.as_array())
                        .map(|l| {
                            l.iter()
                                .map(|p| match p {
                                    serde_json::Value::String(s) => s.clone(),
                                    other => other.to_string(),
                                })
                                .collect::<Vec<_>>()
                                .join(".")
                        })
                        .filter(|l| !l.is_empty());
                    Some(match loc {
                        Some(loc) => format!("{loc}: {msg}"),
                        None => msg.to_owned(),
                    })
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    };
    message.unwrap_or_else(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A status, how to recognise its variant, and whether it is retryable.
    type Case = (u16, fn(&Error) -> bool, bool);

    #[test]
    fn statuses_map_to_what_the_caller_does() {
        let cases: &[Case] = &[
            (401, |e| matches!(e, Error::Unauthorized { .. }), false),
            (403, |e| matches!(e, Error::Unauthorized { .. }), false),
            (404, |e| matches!(e, Error::NotFound(_)), false),
            (422, |e| matches!(e, Error::Validation { .. }), false),
            (429, |e| matches!(e, Error::RateLimited { .. }), true),
            (500, |e| matches!(e, Error::Unavailable { .. }), true),
            (503, |e| matches!(e, Error::Unavailable { .. }), true),
            (409, |e| matches!(e, Error::Rejected { .. }), false),
        ];
        for (status, is, retryable) in cases {
            let error = Error::from_response(*status, None, "");
            assert!(is(&error), "{status} → {error:?}");
            assert_eq!(error.is_retryable(), *retryable, "{status}");
        }
    }

    #[test]
    fn messages_are_read_from_every_detail_shape() {
        let e = Error::from_response(
            404,
            None,
            r#"{"detail":{"status":"agent_not_found","message":"Agent not found"}}"#,
        );
        assert_eq!(e, Error::NotFound("Agent not found".to_owned()));
        let e = Error::from_response(
            422,
            None,
            r#"{"detail":[{"loc":["body","to_number"],"msg":"field required","type":"missing"}]}"#,
        );
        assert_eq!(
            e,
            Error::Validation {
                message: "body.to_number: field required".to_owned()
            }
        );
        let e = Error::from_response(429, Some("7"), r#"{"detail":"slow down"}"#);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
        let e = Error::from_response(502, None, "<html>bad gateway</html>");
        assert_eq!(
            e,
            Error::Unavailable {
                status: 502,
                message: "<html>bad gateway</html>".to_owned()
            }
        );
    }
}
