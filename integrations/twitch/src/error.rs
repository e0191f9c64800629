//! The one error type of this crate, grouped by what the caller (the api's live-session
//! supervisor, the whisper job, the EventSub shim) does about it (CONVENTIONS.md "One
//! integration crate"): fix credentials, wait and retry, give up on this request, or refuse an
//! unauthenticated webhook.
//!
//! It must not carry secrets: messages hold Twitch's error text and our own descriptions, never
//! an OAuth token, a client secret or an EventSub secret.

use std::time::Duration;

/// Why a webhook's signature check failed (platforms.md §2.4). The shim answers 403 to all of
/// them; the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureProblem {
    /// A required `Twitch-Eventsub-Message-*` header is absent or not text.
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// The signature header is not `sha256=<64 hex digits>`.
    #[error("the signature header is malformed")]
    Malformed,
    /// The timestamp header is not RFC 3339.
    #[error("the timestamp header is not RFC 3339")]
    BadTimestamp,
    /// The HMAC does not match (tampered body, wrong secret, or not from Twitch).
    #[error("the signature does not match")]
    Mismatch,
    /// Signed correctly but outside the 10-minute tolerance (a replay).
    #[error("the message is {age_secs} s away from now, outside the tolerance")]
    Stale {
        /// Absolute distance between the timestamp and now, in seconds.
        age_secs: i64,
    },
}

/// Why a Twitch call, connection or webhook did not produce a usable value.
///
/// Named `Error` like every platform crate's error (`twitch::Error` at call sites);
/// [`TwitchError`] is the same type under its older name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// 401, or IRC `NOTICE * :Login authentication failed`: the token is wrong, expired or lacks a
    /// scope. The tenant must reconnect the account.
    #[error("Twitch refused the credentials: {0}")]
    Unauthorized(String),
    /// 404, or a user lookup that returned nothing.
    #[error("not found: {0}")]
    NotFound(String),
    /// Helix 429 (`Ratelimit-Reset` gives the wait).
    #[error("rate limited by Twitch (retry after {retry_after:?})")]
    RateLimited {
        /// How long until the bucket refills, when known.
        retry_after: Option<Duration>,
    },
    /// Any other 4xx, or a request refused before it was sent (`status` 0, e.g. an empty or
    /// over-long chat message): this exact request will fail again.
    #[error("Twitch rejected the request ({status} {code}): {message}")]
    Rejected {
        /// HTTP status (0: refused locally).
        status: u16,
        /// Helix's `error` text (e.g. `Bad Request`) or our code (`message_too_long`).
        code: String,
        /// Helix's `message` or ours.
        message: String,
    },
    /// A 5xx, a timeout, a dropped socket or a failed connect: worth retrying later.
    #[error("transient Twitch failure: {0}")]
    Transient(String),
    /// Twitch answered but the body or line is not the documented format.
    #[error("Twitch's answer could not be decoded: {0}")]
    Decode(String),
    /// An EventSub webhook failed verification; answer 403 and do nothing else.
    #[error("EventSub signature invalid: {0}")]
    SignatureInvalid(SignatureProblem),
    /// The chat connection has ended (closed by us, or it gave up); open a new one.
    #[error("the chat connection is closed")]
    Closed,
    /// The operation is not offered by this crate.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// The older name of [`Error`], kept so existing callers compile unchanged.
pub use self::Error as TwitchError;

impl Error {
    /// Whether the same request may succeed if sent again later (rate limits, 5xx, timeouts,
    /// connection failures).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::RateLimited { .. } | Error::Transient(_))
    }

    /// The wait Twitch (or our budget) asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Classifies a reqwest transport error without its URL.
    pub(crate) fn from_transport(error: &reqwest::Error) -> Self {
        if error.is_builder() {
            return Error::Rejected {
                status: 0,
                code: "request_not_built".to_owned(),
                message: "the request could not be built (base URL or credential header)"
                    .to_owned(),
            };
        }
        let mut text = if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else {
            "request failed".to_owned()
        };
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Error::Transient(text)
    }
}

impl From<SignatureProblem> for Error {
    fn from(problem: SignatureProblem) -> Self {
        Error::SignatureInvalid(problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rate_limits_and_transient_failures_are_retryable() {
        assert!(Error::RateLimited { retry_after: None }.is_retryable());
        assert!(Error::Transient("reset".into()).is_retryable());
        for error in [
            Error::Unauthorized("x".into()),
            Error::NotFound("x".into()),
            Error::Rejected {
                status: 400,
                code: "Bad Request".into(),
                message: String::new(),
            },
            Error::Decode("x".into()),
            Error::SignatureInvalid(SignatureProblem::Mismatch),
            Error::Closed,
            Error::Unsupported("x".into()),
        ] {
            assert!(!error.is_retryable(), "{error:?}");
        }
    }

    #[test]
    fn retry_after_is_exposed_for_rate_limits_only() {
        let wait = Some(Duration::from_secs(4));
        assert_eq!(Error::RateLimited { retry_after: wait }.retry_after(), wait);
        assert_eq!(Error::Closed.retry_after(), None);
    }
}
