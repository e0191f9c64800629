//! The one error type of this crate, grouped by what the caller (the call job, the webhook route,
//! `/readyz`) does about it (CONVENTIONS.md "One integration crate").
//!
//! Twilio's REST errors (`{"code","message","more_info","status"}`, platforms.md §6) are
//! classified once, here, by [`Error::from_response`]: the Twilio code wins over the HTTP status
//! because it is the more precise of the two (20003 is always auth, 21211 always the `To`
//! number). Messages never carry the auth token.

use std::time::Duration;

/// Why a webhook's `X-Twilio-Signature` was refused. The route answers 401 (or 403) to all of
/// them; the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// No `X-Twilio-Signature` header, or not visible ASCII.
    #[error("missing X-Twilio-Signature header")]
    MissingHeader,
    /// The URL given to verify against is not an absolute `http(s)://` URL.
    #[error("the URL to verify against is not absolute")]
    BadUrl,
    /// No URL variant signs to the header's value (forged, tampered, other token or URL).
    #[error("the signature does not match")]
    Mismatch,
    /// A JSON delivery whose URL has no `bodySHA256` parameter: nothing vouches for its body.
    #[error("the URL has no bodySHA256 parameter")]
    MissingBodyHash,
    /// The body's SHA-256 is not the URL's `bodySHA256` (tampered body).
    #[error("the body does not match bodySHA256")]
    BodyMismatch,
    /// Correctly signed, but for another account than the one expected (`AccountSid`).
    #[error("the webhook is for another account")]
    AccountMismatch,
}

/// Twilio's REST error body.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct TwilioError {
    /// Twilio's error code (20003, 21211, 20404, 20429...).
    #[serde(default)]
    pub code: Option<u32>,
    /// Human-readable reason.
    #[serde(default)]
    pub message: String,
    /// Link to the code's documentation.
    #[serde(default)]
    pub more_info: Option<String>,
    /// The HTTP status, repeated.
    #[serde(default)]
    pub status: Option<u16>,
}

/// Twilio code: authentication failed.
pub const CODE_AUTHENTICATE: u32 = 20003;
/// Twilio code: the resource does not exist.
pub const CODE_NOT_FOUND: u32 = 20404;
/// Twilio code: too many requests.
pub const CODE_TOO_MANY_REQUESTS: u32 = 20429;
/// Twilio code: the `To` number is not a valid phone number.
pub const CODE_INVALID_TO: u32 = 21211;

/// Why a Twilio call or webhook did not produce a usable value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A setting is missing or unusable (account SID, auth token, API base). Nothing was sent.
    #[error("Twilio is not configured: {0}")]
    Configuration(String),
    /// The account SID and auth token were refused (20003, HTTP 401/403). Terminal until the
    /// credentials are fixed.
    #[error("Twilio refused the credentials ({code:?}): {message}")]
    Unauthorized {
        /// Twilio code, when it sent one.
        code: Option<u32>,
        /// Twilio's message.
        message: String,
    },
    /// The number to call is not valid (21211, or refused locally before sending). Terminal for
    /// this lead's number.
    #[error("invalid phone number: {0}")]
    InvalidPhoneNumber(String),
    /// The call (or account) does not exist (20404, HTTP 404).
    #[error("Twilio resource not found: {0}")]
    NotFound(String),
    /// Too many requests (20429, HTTP 429): retry after `retry_after` when Twilio said so.
    #[error("rate limited by Twilio (retry after {retry_after:?})")]
    RateLimited {
        /// From `Retry-After` (seconds), when present.
        retry_after: Option<Duration>,
    },
    /// Any other 4xx: the same request will fail again.
    #[error("Twilio rejected the request (HTTP {status}, code {code:?}): {message}")]
    Rejected {
        /// HTTP status (0 when refused before sending).
        status: u16,
        /// Twilio code.
        code: Option<u32>,
        /// Twilio's message.
        message: String,
    },
    /// A 5xx, a timeout or a connection failure: worth retrying later.
    #[error("transient Twilio failure (HTTP {status}): {message}")]
    Transient {
        /// HTTP status (0 for a timeout or a connection failure).
        status: u16,
        /// What went wrong.
        message: String,
    },
    /// A 2xx answer, a webhook body or a Media Streams frame that is not the documented format.
    #[error("could not decode Twilio's data: {0}")]
    Decode(String),
    /// A webhook whose signature failed verification; answer 401 and do nothing else.
    #[error("Twilio webhook signature invalid: {0}")]
    SignatureInvalid(#[from] SignatureProblem),
}

impl Error {
    /// Whether the same request may succeed if sent again later: rate limits, 5xx, timeouts and
    /// connection failures. The client never retries on its own; the job queue does.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::RateLimited { .. } | Error::Transient { .. })
    }

    /// How long Twilio asked to wait, for a rate limit that said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Classifies a non-2xx answer: HTTP `status`, the `Retry-After` header, the raw body.
    pub fn from_response(status: u16, retry_after: Option<&str>, body: &str) -> Error {
        let parsed: Option<TwilioError> = serde_json::from_str(body).ok();
        let code = parsed.as_ref().and_then(|e| e.code);
        let message = match &parsed {
            Some(e) if !e.message.is_empty() => e.message.clone(),
            // A proxy's HTML page or an empty body: keep a short prefix for the logs.
            _ => body.chars().take(200).collect(),
        };
        let retry_after = retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        match (code, status) {
            (Some(CODE_AUTHENTICATE), _) | (None, 401 | 403) => {
                Error::Unauthorized { code, message }
            }
            (Some(CODE_INVALID_TO), _) => Error::InvalidPhoneNumber(message),
            (Some(CODE_TOO_MANY_REQUESTS), _) | (_, 429) => Error::RateLimited { retry_after },
            (Some(CODE_NOT_FOUND), _) | (None, 404) => Error::NotFound(message),
            (_, 500..=599) => Error::Transient { status, message },
            // 408 from a proxy is a timeout: the request may not have been seen.
            (_, 408) => Error::Transient { status, message },
            _ => Error::Rejected {
                status,
                code,
                message,
            },
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
        // The account SID in the URL is not a secret; the auth token never appears in it.
        Error::Transient {
            status: 0,
            message: format!("{what}: {err}"),
        }
    }
}
