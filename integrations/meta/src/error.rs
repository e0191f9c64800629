//! The one error type of this crate, grouped by what the caller does about it (CONVENTIONS.md
//! "One integration crate"): fix the credentials, wait and retry, give up on this request, or
//! refuse the webhook.
//!
//! It must not carry secrets: messages hold Graph's error text and our own descriptions, never an
//! access token, an app secret or a message body.

use std::time::Duration;

use crate::signature::SignatureError;

/// Graph error code for "outside the allowed window" on the Messenger/Instagram Send API
/// (platforms.md §5: code 10, subcode 2018278; numbers from memory, UNCONFIRMED there).
pub const CODE_OUTSIDE_WINDOW: i64 = 10;
/// The subcode that makes code 10 mean "sent outside the 24 h window" (platforms.md §5).
pub const SUBCODE_OUTSIDE_WINDOW: i64 = 2_018_278;

/// Why a Graph API call or a webhook was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// 401/403 or Graph code 190 (token expired/invalid): the tenant must reconnect the page.
    #[error("Graph refused the credentials: {0}")]
    Unauthorized(String),
    /// 404, or Graph code 100 subcode 33 ("object does not exist"): the page, user or path is
    /// unknown. Retrying cannot help.
    #[error("not found: {0}")]
    NotFound(String),
    /// 429 or a Graph throttling code (4, 32, 613, 80006...): wait at least `retry_after` when
    /// Graph said so.
    #[error("rate limited by Graph (retry after {retry_after:?})")]
    RateLimited {
        /// The `Retry-After` header, if Graph sent one.
        retry_after: Option<Duration>,
    },
    /// Graph answered with its error envelope and a code that says this request will fail again
    /// (bad parameter, outside the 24 h window, user unavailable...).
    #[error("Graph rejected the request (HTTP {status}, code {code}{}): {message}", subcode.map(|s| format!("/{s}")).unwrap_or_default())]
    Rejected {
        /// HTTP status (0 when the request could not even be built).
        status: u16,
        /// Graph `error.code` (0 when the body was not Graph's envelope).
        code: i64,
        /// Graph `error.error_subcode`, when present (not returned by WhatsApp since v16).
        subcode: Option<i64>,
        /// Graph `error.message` (plus `error_data.details` when present).
        message: String,
    },
    /// A 5xx or a connection-level failure: worth retrying later.
    #[error("transient Graph failure: {0}")]
    Transient(String),
    /// The request did not complete within the client's timeout.
    #[error("Graph did not answer in time")]
    Timeout,
    /// A 2xx answer or a webhook body that is not the expected JSON.
    #[error("could not decode: {0}")]
    Decode(String),
    /// A webhook whose `X-Hub-Signature-256` is missing, malformed or wrong. Answer 401/403 and
    /// process nothing.
    #[error("webhook signature invalid: {0}")]
    SignatureInvalid(#[from] SignatureError),
    /// An operation this crate does not offer (e.g. a Send API feature we do not model).
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

impl Error {
    /// Whether the same request may succeed if sent again later (429/throttling, 5xx, timeouts,
    /// connection failures). Everything else is final for this request. The clients never retry
    /// on their own: the job queue does, using this and `retry_after`.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. } | Error::Transient(_) | Error::Timeout
        )
    }

    /// The wait Graph asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Whether Graph refused a Messenger/Instagram message because the 24 h window is closed
    /// (code 10 / subcode 2018278, platforms.md §5): resend with `MESSAGE_TAG` + `HUMAN_AGENT`.
    pub fn is_outside_window(&self) -> bool {
        matches!(
            self,
            Error::Rejected {
                code: CODE_OUTSIDE_WINDOW,
                subcode: Some(SUBCODE_OUTSIDE_WINDOW),
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_availability_failures_are_retryable() {
        assert!(Error::RateLimited { retry_after: None }.is_retryable());
        assert!(Error::Transient("500".into()).is_retryable());
        assert!(Error::Timeout.is_retryable());
        assert!(!Error::Unauthorized("190".into()).is_retryable());
        assert!(!Error::NotFound("page".into()).is_retryable());
        assert!(!Error::Rejected {
            status: 400,
            code: 100,
            subcode: None,
            message: "bad".into()
        }
        .is_retryable());
        assert!(!Error::Decode("json".into()).is_retryable());
        assert!(!Error::SignatureInvalid(SignatureError::Mismatch).is_retryable());
        assert!(!Error::Unsupported("x").is_retryable());
    }

    #[test]
    fn retry_after_is_only_exposed_for_rate_limits() {
        let wait = Some(Duration::from_secs(7));
        assert_eq!(Error::RateLimited { retry_after: wait }.retry_after(), wait);
        assert_eq!(Error::Timeout.retry_after(), None);
    }

    #[test]
    fn outside_window_needs_code_and_subcode() {
        let rejected = |code, subcode| Error::Rejected {
            status: 400,
            code,
            subcode,
            message: String::new(),
        };
        assert!(rejected(10, Some(2_018_278)).is_outside_window());
        assert!(!rejected(10, None).is_outside_window());
        assert!(!rejected(100, Some(2_018_278)).is_outside_window());
    }
}
