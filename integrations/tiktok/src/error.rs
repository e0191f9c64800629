//! The one error type of this crate, grouped by what the caller does about it (CONVENTIONS.md
//! "One integration crate"): fix the credentials, wait and retry, give up on this request, or
//! refuse the webhook.
//!
//! It must not carry secrets: no access token, client secret or message body.

use std::time::Duration;

/// Why a TikTok call or webhook was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// HTTP 401/403 or an envelope code for a missing/invalid/expired token: reconnect TikTok.
    #[error("TikTok refused the credentials: {0}")]
    Unauthorized(String),
    /// HTTP 404: wrong path or unknown object.
    #[error("not found: {0}")]
    NotFound(String),
    /// HTTP 429 or the envelope's rate-limit code: wait at least `retry_after` when TikTok said so.
    #[error("rate limited by TikTok (retry after {retry_after:?})")]
    RateLimited {
        /// The `Retry-After` header, if sent.
        retry_after: Option<Duration>,
    },
    /// A non-zero envelope `code` (or a 4xx) that says this request will fail again.
    #[error("TikTok rejected the request (code {code}): {message}")]
    Rejected {
        /// The envelope's `code` (0 when the body was not the envelope).
        code: i64,
        /// The envelope's `message`.
        message: String,
    },
    /// A 5xx, an internal-error code or a connection failure: worth retrying later.
    #[error("transient TikTok failure: {0}")]
    Transient(String),
    /// The request did not complete within the client's timeout.
    #[error("TikTok did not answer in time")]
    Timeout,
    /// An answer or webhook body that is not the expected JSON.
    #[error("could not decode: {0}")]
    Decode(String),
    /// A webhook whose signature is missing, malformed, wrong or stale.
    #[error("webhook signature invalid: {0}")]
    SignatureInvalid(#[from] SignatureError),
    /// An operation this crate does not offer.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

impl Error {
    /// Whether the same request may succeed if sent again later. The client never retries on
    /// its own; the job queue does.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Transient(_) | Error::Timeout
        )
    }

    /// The wait TikTok asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }
}

/// Why a webhook signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No (non-empty) client secret configured: refused, never accepted unsigned.
    #[error("no client secret is configured")]
    NoSecret,
    /// The signature header (or the legacy timestamp) is absent.
    #[error("missing {0}")]
    MissingHeader(&'static str),
    /// The header is present but not in the documented shape.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Well formed, but no configured secret produces it over these bytes.
    #[error("signature does not match the body")]
    Mismatch,
    /// The signed timestamp is outside the tolerance around `now`.
    #[error("timestamp {timestamp} is outside the tolerance around {now}")]
    Stale {
        /// The signed timestamp (unix seconds).
        timestamp: i64,
        /// Our clock (unix seconds).
        now: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_availability_failures_are_retryable() {
        assert!(Error::RateLimited { retry_after: None }.is_retryable());
        assert!(Error::Transient("500".into()).is_retryable());
        assert!(Error::Timeout.is_retryable());
        assert!(!Error::Unauthorized("token".into()).is_retryable());
        assert!(!Error::NotFound("x".into()).is_retryable());
        assert!(!Error::Rejected {
            code: 40002,
            message: "bad".into()
        }
        .is_retryable());
        assert!(!Error::Decode("x".into()).is_retryable());
        assert!(!Error::SignatureInvalid(SignatureError::Mismatch).is_retryable());
        assert!(!Error::Unsupported("x").is_retryable());
        let wait = Some(Duration::from_secs(4));
        assert_eq!(Error::RateLimited { retry_after: wait }.retry_after(), wait);
        assert_eq!(Error::Timeout.retry_after(), None);
    }
}
