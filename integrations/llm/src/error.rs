//! The one error type of this crate, grouped by what the caller does about it (CONVENTIONS.md
//! "One integration crate"): fix credentials, wait and retry, give up on this request, or treat
//! the model's answer as unusable.
//!
//! It must not carry secrets: messages hold the provider's error text and our own descriptions,
//! never an API key or a request body.

use std::time::Duration;

/// Why a call to an LLM provider did not produce a usable value.
///
/// Named `Error` like every integration crate's error; [`LlmError`] is the same type under its
/// older name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// 401/403: the API key is missing, wrong, revoked or lacks permission. Retrying cannot help;
    /// the tenant (or operator) must fix the key.
    #[error("the provider refused the credentials: {0}")]
    Unauthorized(String),
    /// 429 (rate limit, not quota): wait at least `retry_after` when the provider said so.
    #[error("rate limited by the provider (retry after {retry_after:?})")]
    RateLimited {
        /// The provider's `retry-after`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// Anthropic 529 `overloaded_error` or a 503: the provider is shedding load.
    #[error("the provider is overloaded (retry after {retry_after:?})")]
    Overloaded {
        /// The provider's `retry-after`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// Any other 4xx (bad request, billing, quota exhausted, not found, too large): this exact
    /// request will fail again. `code` is the provider's error type/code string. `status` 0 and
    /// code `request_not_built` mean the request could not even be built (bad base URL, or an
    /// API key that is not a valid header value).
    #[error("the provider rejected the request ({status} {code}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The provider's machine-readable error type or code (`invalid_request_error`,
        /// `insufficient_quota`, ...).
        code: String,
        /// The provider's human-readable message.
        message: String,
    },
    /// A 5xx other than overload, a 408/409, or a connection-level failure: worth retrying.
    #[error("transient provider failure: {0}")]
    Transient(String),
    /// The request did not complete within the client's timeout.
    #[error("the provider did not answer in time")]
    Timeout,
    /// The provider answered 200 but the answer is unusable: malformed or truncated JSON, a
    /// missing tool call, a refusal, or values outside the schema (unknown intent, confidence
    /// outside 0..=1, ...). Never retried automatically: the same prompt tends to fail the same way.
    #[error("the provider's answer could not be used: {0}")]
    Decode(String),
    /// A reply quoted a price or a link that is not the matched product's exact catalog value.
    /// Such a reply is refused rather than passed on, because an invented price is a promise the
    /// tenant never made.
    #[error("the reply is not grounded in the catalog: {0}")]
    Ungrounded(String),
    /// The circuit breaker for this provider and credential is open; no request was sent.
    #[error("the circuit breaker is open; the provider was not called")]
    CircuitOpen,
    /// The operation or provider kind is not supported by this crate.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// The older name of [`Error`], kept so existing callers compile unchanged.
pub use self::Error as LlmError;

impl Error {
    /// Whether the same request may succeed if sent again later (429, 529/503, 5xx, timeouts,
    /// connection failures). Everything else is final for this request.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. }
                | Error::Overloaded { .. }
                | Error::Transient(_)
                | Error::Timeout
        )
    }

    /// Whether the provider answered but its answer was unusable (malformed, partial, refused or
    /// ungrounded output). Callers may opt into falling back to the offline analyzer on these.
    pub fn is_invalid_output(&self) -> bool {
        matches!(self, Error::Decode(_) | Error::Ungrounded(_))
    }

    /// The wait the provider asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } | Error::Overloaded { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Classifies a reqwest transport error: timeouts are `Timeout`, a body that is not the
    /// expected JSON is `Decode`, everything else (connect, reset, ...) is `Transient`.
    pub(crate) fn from_transport(error: &reqwest::Error) -> Self {
        if error.is_timeout() {
            Error::Timeout
        } else if error.is_builder() {
            // The request never left: a malformed base URL or an API key that is not a valid
            // header value. Sending it again cannot help.
            Error::Rejected {
                status: 0,
                code: "request_not_built".to_owned(),
                message: format!("{}", DisplayWithoutUrl(error)),
            }
        } else if error.is_decode() {
            Error::Decode(format!("response body: {error}"))
        } else {
            // `without_url` keeps the message free of query strings; our URLs carry no secrets,
            // but the habit is cheap.
            Error::Transient(format!("{}", DisplayWithoutUrl(error)))
        }
    }
}

/// Formats a reqwest error and its sources without the URL.
struct DisplayWithoutUrl<'a>(&'a reqwest::Error);

impl std::fmt::Display for DisplayWithoutUrl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut source: Option<&(dyn std::error::Error + 'static)> =
            std::error::Error::source(self.0);
        let kind = if self.0.is_builder() {
            "invalid request"
        } else if self.0.is_connect() {
            "connection failed"
        } else if self.0.is_request() {
            "request failed"
        } else if self.0.is_body() {
            "body failed"
        } else {
            "transport error"
        };
        f.write_str(kind)?;
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_availability_failures_are_retryable() {
        assert!(Error::RateLimited { retry_after: None }.is_retryable());
        assert!(Error::Overloaded {
            retry_after: Some(Duration::from_secs(1))
        }
        .is_retryable());
        assert!(Error::Transient("500".into()).is_retryable());
        assert!(Error::Timeout.is_retryable());
        assert!(!Error::Unauthorized("bad key".into()).is_retryable());
        assert!(!Error::Rejected {
            status: 400,
            code: "invalid_request_error".into(),
            message: String::new()
        }
        .is_retryable());
        assert!(!Error::Decode("truncated".into()).is_retryable());
        assert!(!Error::Ungrounded("price".into()).is_retryable());
        assert!(!Error::CircuitOpen.is_retryable());
    }

    #[test]
    fn retry_after_is_exposed_for_rate_limits_and_overload_only() {
        let wait = Some(Duration::from_secs(3));
        assert_eq!(Error::RateLimited { retry_after: wait }.retry_after(), wait);
        assert_eq!(Error::Overloaded { retry_after: wait }.retry_after(), wait);
        assert_eq!(Error::Timeout.retry_after(), None);
    }
}
