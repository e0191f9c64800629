//! The one error type of this crate, grouped by what the caller does about it (CONVENTIONS.md
//! "One integration crate"). Graph failures are classified once, in `leadline_meta::graph`, and
//! converted here variant by variant, so a WhatsApp 429 and a Messenger 429 mean the same thing.
//!
//! It must not carry secrets: no access token, app secret or message body.

use std::time::Duration;

use leadline_meta::SignatureError;

/// Cloud API code for "more than 24 hours have passed since the customer last replied": only a
/// template may be sent (platforms.md §4).
pub const CODE_REENGAGEMENT: i64 = 131_047;

/// Why a Cloud API call or a webhook was not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// 401/403 or code 190 (token expired): the tenant must reconnect WhatsApp.
    #[error("Cloud API refused the credentials: {0}")]
    Unauthorized(String),
    /// 404, or code 100/33: unknown phone number id (or path).
    #[error("not found: {0}")]
    NotFound(String),
    /// 429, 130429 (throughput) or 131056 (pair rate limit): wait at least `retry_after` when
    /// Graph said so.
    #[error("rate limited by the Cloud API (retry after {retry_after:?})")]
    RateLimited {
        /// The `Retry-After` header, if Graph sent one.
        retry_after: Option<Duration>,
    },
    /// Graph's error envelope with a code that says this request will fail again (131047
    /// outside the window, 131026 undeliverable, 132000 template parameters, 100 bad param...).
    #[error("the Cloud API rejected the request (HTTP {status}, code {code}): {message}")]
    Rejected {
        /// HTTP status (0 when the request could not even be built).
        status: u16,
        /// Graph `error.code` (0 when the body was not Graph's envelope).
        code: i64,
        /// `error.message` plus `error_data.details`.
        message: String,
    },
    /// A 5xx (or code 131000) or a connection failure: worth retrying later.
    #[error("transient Cloud API failure: {0}")]
    Transient(String),
    /// The request did not complete within the client's timeout.
    #[error("the Cloud API did not answer in time")]
    Timeout,
    /// A 2xx answer or a webhook body that is not the expected JSON.
    #[error("could not decode: {0}")]
    Decode(String),
    /// A webhook whose `X-Hub-Signature-256` is missing, malformed or wrong.
    #[error("webhook signature invalid: {0}")]
    SignatureInvalid(#[from] SignatureError),
    /// An operation or payload this crate does not offer.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
}

impl Error {
    /// Whether the same request may succeed if sent again later (rate limits, 5xx, timeouts,
    /// connection failures). The client never retries on its own; the job queue does.
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

    /// Whether a free-form message was refused because the 24 h customer-service window is
    /// closed (code 131047): send an approved template instead (platforms.md §4).
    pub fn is_outside_window(&self) -> bool {
        matches!(
            self,
            Error::Rejected {
                code: CODE_REENGAGEMENT,
                ..
            }
        )
    }
}

impl From<leadline_meta::Error> for Error {
    fn from(error: leadline_meta::Error) -> Self {
        use leadline_meta::Error as Graph;
        match error {
            Graph::Unauthorized(m) => Error::Unauthorized(m),
            Graph::NotFound(m) => Error::NotFound(m),
            Graph::RateLimited { retry_after } => Error::RateLimited { retry_after },
            // WhatsApp stopped returning subcodes in v16 (platforms.md §4): code + details suffice.
            Graph::Rejected {
                status,
                code,
                message,
                ..
            } => Error::Rejected {
                status,
                code,
                message,
            },
            Graph::Transient(m) => Error::Transient(m),
            Graph::Timeout => Error::Timeout,
            Graph::Decode(m) => Error::Decode(m),
            Graph::SignatureInvalid(reason) => Error::SignatureInvalid(reason),
            Graph::Unsupported(what) => Error::Unsupported(what),
        }
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
        assert!(!Error::NotFound("pnid".into()).is_retryable());
        assert!(!Error::Decode("x".into()).is_retryable());
        assert!(!Error::SignatureInvalid(SignatureError::Mismatch).is_retryable());
        assert!(!Error::Unsupported("x").is_retryable());
    }

    #[test]
    fn graph_errors_convert_variant_by_variant() {
        let wait = Some(Duration::from_secs(3));
        assert_eq!(
            Error::from(leadline_meta::Error::RateLimited { retry_after: wait }),
            Error::RateLimited { retry_after: wait }
        );
        let rejected = Error::from(leadline_meta::Error::Rejected {
            status: 400,
            code: 131_047,
            subcode: None,
            message: "(#131047) Re-engagement message".into(),
        });
        assert!(rejected.is_outside_window());
        assert!(!rejected.is_retryable());
        assert_eq!(rejected.retry_after(), None);
        assert_eq!(Error::from(leadline_meta::Error::Timeout), Error::Timeout);
    }
}
