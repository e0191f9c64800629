//! The one error type of this crate, grouped by what the caller (the api's live-session
//! supervisor) does about it (CONVENTIONS.md "One integration crate"): fix credentials, stop
//! polling this chat, wait and retry, wait for the quota day to roll over, or give up on this
//! request.
//!
//! It must not carry secrets: messages hold Google's error text and our own descriptions, never
//! an OAuth token, an API key or a URL with `key=` in it.

use std::time::Duration;

/// Why a YouTube Data API call did not produce a usable value.
///
/// Named `Error` like every platform crate's error; [`YoutubeError`] is the same type under its
/// older name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// 401 (bad, expired or missing OAuth token / API key), 403 `forbidden`, or a call that needs
    /// an OAuth token made with an API key. The tenant must reconnect the channel.
    #[error("YouTube refused the credentials: {0}")]
    Unauthorized(String),
    /// 404 (`liveChatNotFound`, `videoNotFound`) or a `videos.list` with empty `items` (unknown or
    /// private video). Stop polling: asking again will not make it appear.
    #[error("not found ({reason}): {message}")]
    NotFound {
        /// Google's `errors[0].reason`, or `videoNotFound` for empty `items`.
        reason: String,
        /// Google's message or ours.
        message: String,
    },
    /// The live chat exists but cannot be used: `liveChatEnded`, `liveChatDisabled` (403), or the
    /// video has no `activeLiveChatId` (not live yet, or the broadcast completed; platforms.md §1).
    #[error("the live chat is not available ({reason}): {message}")]
    ChatUnavailable {
        /// `liveChatEnded`, `liveChatDisabled` or `noActiveLiveChat`.
        reason: String,
        /// Google's message or ours.
        message: String,
    },
    /// Too many requests (`rateLimitExceeded`, `userRateLimitExceeded`, or HTTP 429): wait at
    /// least `retry_after` when Google said so, then try again.
    #[error("rate limited by YouTube (retry after {retry_after:?})")]
    RateLimited {
        /// The `Retry-After` header, if sent.
        retry_after: Option<Duration>,
    },
    /// The project's daily quota is spent (403 with reason `quotaExceeded` or `dailyLimitExceeded`,
    /// platforms.md §1), or the api's shared quota counter refused to spend more. Nothing succeeds until the
    /// quota day rolls over at midnight Pacific time.
    #[error("the YouTube quota is exhausted ({reason})")]
    QuotaExceeded {
        /// Google's reason, or `localBudget` when our meter refused before calling.
        reason: String,
    },
    /// Any other 4xx (`messageTextInvalid`, `invalidPageToken`, `liveChatIdRequired`, ...): this
    /// exact request will fail again. `status` 0 means it was refused before being sent.
    #[error("YouTube rejected the request ({status} {code}): {message}")]
    Rejected {
        /// HTTP status (0: refused locally).
        status: u16,
        /// Google's `errors[0].reason` (or ours for local refusals).
        code: String,
        /// Google's message or ours.
        message: String,
    },
    /// A 5xx, a timeout or a connection-level failure: worth retrying later.
    #[error("transient YouTube failure: {0}")]
    Transient(String),
    /// YouTube answered 2xx but the body is not the documented JSON.
    #[error("YouTube's answer could not be decoded: {0}")]
    Decode(String),
    /// The operation is not offered by this crate (e.g. `liveChatMessages.streamList`, whose
    /// wire format platforms.md marks UNCONFIRMED).
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// The older name of [`Error`], kept so existing callers compile unchanged.
pub use self::Error as YoutubeError;

impl Error {
    /// Whether the same request may succeed if sent again later (rate limits, 5xx, timeouts,
    /// connection failures). A spent quota is not retryable: it only comes back at the reset.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::RateLimited { .. } | Error::Transient(_))
    }

    /// Whether a poller must stop for good on this error: the chat is gone or unusable, the
    /// credentials are refused, or the day's quota is spent (platforms.md §1: "Stop polling on
    /// liveChatEnded/NotFound").
    pub fn stops_polling(&self) -> bool {
        matches!(
            self,
            Error::Unauthorized(_)
                | Error::NotFound { .. }
                | Error::ChatUnavailable { .. }
                | Error::QuotaExceeded { .. }
        )
    }

    /// The wait YouTube asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after } => *retry_after,
            _ => None,
        }
    }

    /// Classifies a reqwest transport error without its URL (which may carry `key=`).
    pub(crate) fn from_transport(error: &reqwest::Error) -> Self {
        let mut text = if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else if error.is_builder() {
            return Error::Rejected {
                status: 0,
                code: "request_not_built".to_owned(),
                message: "the request could not be built (base URL or credential header)"
                    .to_owned(),
            };
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn only_rate_limits_and_transient_failures_are_retryable() {
        assert!(Error::RateLimited { retry_after: None }.is_retryable());
        assert!(Error::Transient("503".into()).is_retryable());
        let final_errors = [
            Error::Unauthorized("x".into()),
            Error::NotFound {
                reason: "liveChatNotFound".into(),
                message: String::new(),
            },
            Error::ChatUnavailable {
                reason: "liveChatEnded".into(),
                message: String::new(),
            },
            Error::QuotaExceeded {
                reason: "quotaExceeded".into(),
            },
            Error::Rejected {
                status: 400,
                code: "invalidPageToken".into(),
                message: String::new(),
            },
            Error::Decode("x".into()),
            Error::Unsupported("x".into()),
        ];
        for error in final_errors {
            assert!(!error.is_retryable(), "{error:?}");
        }
    }

    #[test]
    fn gone_chats_refused_credentials_and_spent_quota_stop_polling() {
        assert!(Error::QuotaExceeded {
            reason: "dailyLimitExceeded".into()
        }
        .stops_polling());
        assert!(Error::ChatUnavailable {
            reason: "liveChatEnded".into(),
            message: String::new()
        }
        .stops_polling());
        assert!(!Error::Transient("x".into()).stops_polling());
        assert!(!Error::RateLimited { retry_after: None }.stops_polling());
        assert!(!Error::Rejected {
            status: 400,
            code: "messageTextInvalid".into(),
            message: String::new()
        }
        .stops_polling());
    }

    #[test]
    fn retry_after_is_exposed_for_rate_limits_only() {
        let wait = Some(Duration::from_secs(7));
        assert_eq!(Error::RateLimited { retry_after: wait }.retry_after(), wait);
        assert_eq!(Error::Transient("x".into()).retry_after(), None);
    }
}
