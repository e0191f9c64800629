//! The TikTok API for Business client for direct messages (platforms.md §3): base
//! `https://business-api.tiktok.com`, versioned path `/open_api/v1.3/...`, header `Access-Token`,
//! envelope `{"code":0,"message":"OK","request_id","data"}` where a non-zero `code` is an error.
//!
//! The Business Messaging endpoint path and fields are UNCONFIRMED (partner-gated): the path is
//! configurable ([`Client::with_send_path`]) and the body lives in `models`. Stateless about
//! tenants (credentials per call); one request per call, never retried here — the job queue
//! retries, guided by `Error::is_retryable`.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::models::{Envelope, MessageContentBody, SendMessageData, SendMessageRequest};

/// The production origin (`TIKTOK_API_BASE` overrides it; the client adds the versioned path).
pub const DEFAULT_BASE_URL: &str = "https://business-api.tiktok.com";
/// The API for Business version prefix (platforms.md §3).
pub const API_PREFIX: &str = "/open_api/v1.3";
/// Default send path under [`API_PREFIX`] (UNCONFIRMED, see the module doc).
pub const DEFAULT_SEND_PATH: &str = "/business/message/send/";
/// Whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// Envelope codes with a known meaning. platforms.md §3 documents only `0` = OK; these are the
/// API for Business's general codes from memory (UNCONFIRMED) — everything else is `Rejected`.
mod codes {
    /// Too many requests.
    pub const RATE_LIMITED: &[i64] = &[40100];
    /// Access token expired, missing or invalid.
    pub const UNAUTHORIZED: &[i64] = &[40102, 40104, 40105];
    /// Internal errors.
    pub const TRANSIENT: &[i64] = &[50000, 50002];
}

/// One tenant's TikTok business credentials, passed with every call.
#[derive(Clone, PartialEq, Eq)]
pub struct BusinessCredentials {
    /// The business account id messages are sent as.
    pub business_id: String,
    /// The access token (header `Access-Token`).
    pub access_token: String,
}

impl fmt::Debug for BusinessCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token must never reach a log line.
        f.debug_struct("BusinessCredentials")
            .field("business_id", &self.business_id)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// A message TikTok accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// Its id.
    pub message_id: String,
    /// TikTok's `request_id`, for support.
    pub request_id: Option<String>,
}

/// A client for one TikTok origin.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    send_path: String,
    timeout: Duration,
}

impl Client {
    /// A client on `base_url` (scheme + host + port only, e.g. `https://business-api.tiktok.com`
    /// or a fake's URL) sharing `http`'s pool.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            send_path: DEFAULT_SEND_PATH.to_owned(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Replaces the send path under `/open_api/v1.3` (it is UNCONFIRMED).
    pub fn with_send_path(mut self, path: impl Into<String>) -> Self {
        self.send_path = path.into();
        self
    }

    /// Replaces the whole-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The origin this client talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The full path sends go to.
    pub fn send_path(&self) -> String {
        format!("{API_PREFIX}{}", self.send_path)
    }

    /// Sends a text DM to `recipient_open_id` (only to users who wrote first; the 24 h window
    /// and the 10-per-day cap are checked by the caller, see `dm_rules`).
    pub async fn send_text(
        &self,
        credentials: &BusinessCredentials,
        recipient_open_id: &str,
        text: &str,
    ) -> Result<SentMessage, Error> {
        let request = SendMessageRequest {
            business_id: credentials.business_id.clone(),
            open_id: recipient_open_id.to_owned(),
            message_type: "text".to_owned(),
            message_content: MessageContentBody {
                text: Some(text.to_owned()),
                ..MessageContentBody::default()
            },
        };
        self.send(credentials, &request).await
    }

    /// Sends any DM body.
    pub async fn send(
        &self,
        credentials: &BusinessCredentials,
        request: &SendMessageRequest,
    ) -> Result<SentMessage, Error> {
        let request = self
            .http
            .post(format!("{}{}", self.base_url, self.send_path()))
            .timeout(self.timeout)
            .header("Access-Token", &credentials.access_token)
            .json(request);
        let (data, request_id) = execute::<SendMessageData>(request, "send").await?;
        Ok(SentMessage {
            message_id: data.message_id,
            request_id,
        })
    }
}

/// Sends one API for Business request and decodes its envelope: `data` as `T` and the
/// `request_id` when `code` is 0, else the error classified by status and code. Shared by the DM
/// client and `live::LiveClient`, which speaks the same envelope. `what` names the operation in
/// errors and logs (never the body: it may hold a customer's message).
pub(crate) async fn execute<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    what: &'static str,
) -> Result<(T, Option<String>), Error> {
    let result = match request.send().await {
        Ok(response) => decode(response, what).await,
        Err(error) => Err(from_transport(error)),
    };
    if let Err(error) = &result {
        tracing::warn!(operation = what, %error, "TikTok request failed");
    }
    result
}

async fn decode<T: DeserializeOwned>(
    response: reqwest::Response,
    what: &'static str,
) -> Result<(T, Option<String>), Error> {
    let status = response.status().as_u16();
    let retry_after = parse_retry_after(response.headers(), Utc::now());
    let body = response.bytes().await.map_err(from_transport)?;
    let envelope = serde_json::from_slice::<Envelope>(&body);
    match (status, envelope) {
        (200..=299, Ok(envelope)) if envelope.code == 0 => {
            match envelope.data.map(serde_json::from_value::<T>) {
                Some(Ok(data)) => Ok((data, envelope.request_id)),
                Some(Err(e)) => Err(Error::Decode(format!("{what} answer data: {e}"))),
                None => Err(Error::Decode(format!("{what} answer without data"))),
            }
        }
        (200..=299, Ok(envelope)) => {
            Err(classify_code(envelope.code, envelope.message, retry_after))
        }
        (200..=299, Err(e)) => Err(Error::Decode(format!("{what} answer: {e}"))),
        (status, envelope) => Err(classify_status(status, envelope.ok(), retry_after, &body)),
    }
}

/// A non-zero envelope code on a 2xx answer.
fn classify_code(code: i64, message: String, retry_after: Option<Duration>) -> Error {
    if codes::RATE_LIMITED.contains(&code) {
        Error::RateLimited { retry_after }
    } else if codes::UNAUTHORIZED.contains(&code) {
        Error::Unauthorized(message)
    } else if codes::TRANSIENT.contains(&code) {
        Error::Transient(format!("code {code}: {message}"))
    } else {
        Error::Rejected { code, message }
    }
}

/// A non-2xx answer: by status, keeping the envelope's code and message when there is one.
fn classify_status(
    status: u16,
    envelope: Option<Envelope>,
    retry_after: Option<Duration>,
    body: &[u8],
) -> Error {
    let (code, message) = match envelope {
        Some(e) => (e.code, e.message),
        None => (0, String::from_utf8_lossy(body).chars().take(200).collect()),
    };
    match status {
        401 | 403 => Error::Unauthorized(message),
        404 => Error::NotFound(message),
        429 => Error::RateLimited { retry_after },
        408 | 500..=599 => Error::Transient(format!("HTTP {status}: {message}")),
        _ => Error::Rejected { code, message },
    }
}

/// `Retry-After` as delta-seconds or an HTTP date, relative to `now`.
fn parse_retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
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

fn from_transport(error: reqwest::Error) -> Error {
    let error = error.without_url();
    if error.is_timeout() {
        Error::Timeout
    } else if error.is_builder() {
        // A malformed base URL or a token that is not a valid header value.
        Error::Rejected {
            code: 0,
            message: error.to_string(),
        }
    } else if error.is_decode() {
        Error::Decode(error.to_string())
    } else {
        let mut text = error.to_string();
        let mut source = std::error::Error::source(&error);
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
    fn envelope_codes_are_classified() {
        let wait = Some(Duration::from_secs(2));
        assert_eq!(
            classify_code(40100, "too many".into(), wait),
            Error::RateLimited { retry_after: wait }
        );
        assert!(matches!(
            classify_code(40105, "bad token".into(), None),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            classify_code(50000, "internal".into(), None),
            Error::Transient(_)
        ));
        assert_eq!(
            classify_code(40002, "Invalid params".into(), None),
            Error::Rejected {
                code: 40002,
                message: "Invalid params".into()
            }
        );
    }

    #[test]
    fn statuses_are_classified() {
        assert!(matches!(
            classify_status(401, None, None, b""),
            Error::Unauthorized(_)
        ));
        assert!(matches!(
            classify_status(404, None, None, b"nope"),
            Error::NotFound(_)
        ));
        assert!(matches!(
            classify_status(503, None, None, b""),
            Error::Transient(_)
        ));
        assert_eq!(
            classify_status(429, None, Some(Duration::from_secs(1)), b""),
            Error::RateLimited {
                retry_after: Some(Duration::from_secs(1))
            }
        );
        assert!(matches!(
            classify_status(400, None, None, b"x"),
            Error::Rejected { code: 0, .. }
        ));
    }

    #[test]
    fn credentials_never_print_the_token() {
        let printed = format!(
            "{:?}",
            BusinessCredentials {
                business_id: "B".into(),
                access_token: "act.secret".into()
            }
        );
        assert!(printed.contains('B') && !printed.contains("act.secret"));
    }

    #[test]
    fn the_send_path_is_versioned_and_configurable() {
        let client = Client::new(reqwest::Client::new(), "http://127.0.0.1:1/");
        assert_eq!(client.base_url(), "http://127.0.0.1:1");
        assert_eq!(client.send_path(), "/open_api/v1.3/business/message/send/");
        let client = client.with_send_path("/business/dm/send/");
        assert_eq!(client.send_path(), "/open_api/v1.3/business/dm/send/");
    }
}
