//! The YouTube Data API v3 live-chat client (platforms.md §1): `videos.list` for a video's
//! `activeLiveChatId`, `liveChatMessages.list` and `liveChatMessages.insert`.
//!
//! Stateless about tenants: the credentials (a tenant's OAuth token, or an API key for public
//! reads) come with each call, so one client and one connection pool serve every tenant. One
//! request per call and no retries here: the api's live-session supervisor decides when to try
//! again (`YoutubeError::is_retryable`, `retry_after`). Quota is counted by the api, across
//! replicas; this module does not keep counters.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use crate::error::YoutubeError;
use crate::models::{
    ErrorResponse, InsertMessageRequest, LiveChatMessage, LiveChatMessageListResponse,
    LiveStreamingDetails, VideoListResponse,
};
use crate::video::VideoId;

/// The production origin (`YOUTUBE_API_BASE` overrides it; the client adds [`API_PATH`]).
pub const DEFAULT_BASE_URL: &str = "https://www.googleapis.com";
/// The versioned path prefix every call goes under.
pub const API_PATH: &str = "/youtube/v3";
/// The `part` of `liveChatMessages.list` we need: ids, the event and its author.
pub const LIST_PARTS: &str = "id,snippet,authorDetails";

/// How a call authenticates. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A tenant's OAuth access token (`Authorization: Bearer`), scope `youtube` or
    /// `youtube.force-ssl`. Needed for `insert`.
    OAuth(String),
    /// A project API key (`?key=`): public reads only.
    ApiKey(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::OAuth(_) => f.write_str("Credentials::OAuth(<redacted>)"),
            Credentials::ApiKey(_) => f.write_str("Credentials::ApiKey(<redacted>)"),
        }
    }
}

/// One `liveChatMessages.list` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMessagesRequest {
    /// The chat (`activeLiveChatId`).
    pub live_chat_id: String,
    /// The last `nextPageToken` received; `None` only for the very first call (history).
    pub page_token: Option<String>,
    /// 200..=2000 (API default 500); `None` leaves the API default.
    pub max_results: Option<u32>,
}

/// A client for one YouTube API origin.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl Client {
    /// A client on `base_url` (scheme + host + port, e.g. [`DEFAULT_BASE_URL`] or a fake's URL)
    /// sharing `http`'s pool, with a 30 s request timeout.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(30),
        }
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

    /// `videos.list?part=liveStreamingDetails&id=<id>` (1 unit). Empty `items` (unknown or
    /// private video) is `NotFound { reason: "videoNotFound" }`; a video that was never a live
    /// broadcast has default (all `None`) details.
    pub async fn live_streaming_details(
        &self,
        credentials: &Credentials,
        video: &VideoId,
    ) -> Result<LiveStreamingDetails, YoutubeError> {
        let request = self
            .http
            .get(self.url("/videos"))
            .query(&[("part", "liveStreamingDetails"), ("id", video.as_str())]);
        let response: VideoListResponse = self.send(request, credentials).await?;
        let video_found = response
            .items
            .into_iter()
            .find(|item| item.id.is_empty() || item.id == video.as_str());
        match video_found {
            Some(item) => Ok(item.live_streaming_details.unwrap_or_default()),
            None => Err(YoutubeError::NotFound {
                reason: "videoNotFound".to_owned(),
                message: format!("no public video with id {video}"),
            }),
        }
    }

    /// The `activeLiveChatId` of a video that is live now. A video that is not (yet or any
    /// more) live with chat is `ChatUnavailable { reason: "noActiveLiveChat" }`.
    pub async fn active_live_chat_id(
        &self,
        credentials: &Credentials,
        video: &VideoId,
    ) -> Result<String, YoutubeError> {
        let details = self.live_streaming_details(credentials, video).await?;
        match details.active_live_chat_id {
            Some(id) if !id.is_empty() => Ok(id),
            _ => Err(YoutubeError::ChatUnavailable {
                reason: "noActiveLiveChat".to_owned(),
                message: if details.actual_end_time.is_some() {
                    format!("the broadcast of {video} has ended")
                } else {
                    format!("{video} is not live with chat")
                },
            }),
        }
    }

    /// `liveChatMessages.list` (5 units): one page. The caller must wait the page's
    /// `pollingIntervalMillis` and pass its `nextPageToken` next time; `poller::LiveChatPoller`
    /// does exactly that.
    pub async fn list_messages(
        &self,
        credentials: &Credentials,
        request: &ListMessagesRequest,
    ) -> Result<LiveChatMessageListResponse, YoutubeError> {
        let mut query: Vec<(&str, String)> = vec![
            ("liveChatId", request.live_chat_id.clone()),
            ("part", LIST_PARTS.to_owned()),
        ];
        if let Some(token) = &request.page_token {
            query.push(("pageToken", token.clone()));
        }
        if let Some(max) = request.max_results {
            // The API refuses values outside 200..=2000.
            query.push(("maxResults", max.clamp(200, 2000).to_string()));
        }
        let builder = self.http.get(self.url("/liveChat/messages")).query(&query);
        self.send(builder, credentials).await
    }

    /// `liveChatMessages.insert?part=snippet` (quota: `QuotaCosts::messages_insert`): posts a text
    /// message as the token's channel and returns the created message. Needs OAuth; empty text is
    /// refused before sending (it would cost quota to be told `messageTextRequired`).
    pub async fn insert_text_message(
        &self,
        credentials: &Credentials,
        live_chat_id: &str,
        text: &str,
    ) -> Result<LiveChatMessage, YoutubeError> {
        if matches!(credentials, Credentials::ApiKey(_)) {
            return Err(YoutubeError::Unauthorized(
                "posting to live chat needs the channel's OAuth token, not an API key".to_owned(),
            ));
        }
        if text.trim().is_empty() {
            return Err(YoutubeError::Rejected {
                status: 0,
                code: "messageTextRequired".to_owned(),
                message: "the message text is empty".to_owned(),
            });
        }
        let builder = self
            .http
            .post(self.url("/liveChat/messages"))
            .query(&[("part", "snippet")])
            .json(&InsertMessageRequest::text(live_chat_id, text));
        self.send(builder, credentials).await
    }

    /// `liveChatMessages.streamList` (server push) is not offered: its wire format is
    /// UNCONFIRMED (platforms.md §1). Poll with `list_messages` instead.
    pub async fn stream_messages(
        &self,
        _credentials: &Credentials,
        _request: &ListMessagesRequest,
    ) -> Result<LiveChatMessageListResponse, YoutubeError> {
        Err(YoutubeError::Unsupported(
            "liveChatMessages.streamList (wire format unconfirmed); poll with list_messages"
                .to_owned(),
        ))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PATH}{path}", self.base_url)
    }

    /// Authenticates, sends, and decodes a 2xx body or classifies the failure.
    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        builder: reqwest::RequestBuilder,
        credentials: &Credentials,
    ) -> Result<T, YoutubeError> {
        let builder = match credentials {
            Credentials::OAuth(token) => builder.bearer_auth(token),
            Credentials::ApiKey(key) => builder.query(&[("key", key)]),
        };
        let response = builder
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| YoutubeError::from_transport(&e))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let body = response
            .bytes()
            .await
            .map_err(|e| YoutubeError::from_transport(&e))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|e| YoutubeError::Decode(format!("{status} body: {e}")));
        }
        let error = classify(status, retry_after, &body);
        tracing::warn!(status = status.as_u16(), %error, "YouTube request failed");
        Err(error)
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn parse_retry_after(
    value: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (date.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO),
    )
}

/// Maps a non-2xx response to an error: Google's `errors[0].reason` first (the same status
/// means different things: 403 is quota, ended chat or a permission problem), then the status.
pub(crate) fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> YoutubeError {
    let (reason, message) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(parsed) => (
            parsed
                .error
                .errors
                .first()
                .map(|e| e.reason.clone())
                .unwrap_or_default(),
            parsed.error.message,
        ),
        Err(_) => (
            String::new(),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    };
    match reason.as_str() {
        // platforms.md §1: the quota error is a 403 recognised by its reason, not its status.
        "quotaExceeded" | "dailyLimitExceeded" | "dailyLimitExceededUnreg" => {
            return YoutubeError::QuotaExceeded { reason }
        }
        "rateLimitExceeded" | "userRateLimitExceeded" => {
            return YoutubeError::RateLimited { retry_after }
        }
        "liveChatEnded" | "liveChatDisabled" => {
            return YoutubeError::ChatUnavailable { reason, message }
        }
        "liveChatNotFound" | "videoNotFound" => return YoutubeError::NotFound { reason, message },
        "forbidden" | "insufficientPermissions" | "authError" | "unauthorized" => {
            return YoutubeError::Unauthorized(format!("{reason}: {message}"))
        }
        _ => {}
    }
    let code = if reason.is_empty() {
        status.as_u16().to_string()
    } else {
        reason
    };
    match status.as_u16() {
        401 => YoutubeError::Unauthorized(format!("{code}: {message}")),
        404 => YoutubeError::NotFound {
            reason: code,
            message,
        },
        429 => YoutubeError::RateLimited { retry_after },
        408 => YoutubeError::Transient(format!("408 {code}: {message}")),
        s if status.is_server_error() => YoutubeError::Transient(format!("{s} {code}: {message}")),
        s => YoutubeError::Rejected {
            status: s,
            code,
            message,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn envelope(code: u16, reason: &str) -> Vec<u8> {
        format!(
            r#"{{"error":{{"code":{code},"message":"m","errors":[{{"message":"m","domain":"youtube.x","reason":"{reason}"}}]}}}}"#
        )
        .into_bytes()
    }

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn google_errors_are_classified_by_reason_then_status() {
        let wait = Some(Duration::from_secs(9));
        assert_eq!(
            classify(status(403), None, &envelope(403, "quotaExceeded")),
            YoutubeError::QuotaExceeded {
                reason: "quotaExceeded".into()
            }
        );
        assert_eq!(
            classify(status(403), None, &envelope(403, "dailyLimitExceeded")),
            YoutubeError::QuotaExceeded {
                reason: "dailyLimitExceeded".into()
            }
        );
        assert_eq!(
            classify(status(403), wait, &envelope(403, "rateLimitExceeded")),
            YoutubeError::RateLimited { retry_after: wait }
        );
        assert_eq!(
            classify(status(403), None, &envelope(403, "liveChatEnded")),
            YoutubeError::ChatUnavailable {
                reason: "liveChatEnded".into(),
                message: "m".into()
            }
        );
        assert!(matches!(
            classify(status(403), None, &envelope(403, "liveChatDisabled")),
            YoutubeError::ChatUnavailable { .. }
        ));
        assert_eq!(
            classify(status(404), None, &envelope(404, "liveChatNotFound")),
            YoutubeError::NotFound {
                reason: "liveChatNotFound".into(),
                message: "m".into()
            }
        );
        assert!(matches!(
            classify(status(403), None, &envelope(403, "forbidden")),
            YoutubeError::Unauthorized(_)
        ));
        assert!(matches!(
            classify(status(401), None, &envelope(401, "authError")),
            YoutubeError::Unauthorized(_)
        ));
        assert!(matches!(
            classify(status(401), None, b"<html>no</html>"),
            YoutubeError::Unauthorized(_)
        ));
        assert_eq!(
            classify(status(400), None, &envelope(400, "invalidPageToken")),
            YoutubeError::Rejected {
                status: 400,
                code: "invalidPageToken".into(),
                message: "m".into()
            }
        );
        assert!(matches!(
            classify(status(400), None, &envelope(400, "messageTextInvalid")),
            YoutubeError::Rejected { status: 400, .. }
        ));
        assert_eq!(
            classify(status(429), wait, b""),
            YoutubeError::RateLimited { retry_after: wait }
        );
        assert!(matches!(
            classify(status(503), None, &envelope(503, "backendError")),
            YoutubeError::Transient(_)
        ));
        assert!(matches!(
            classify(status(500), None, b"oops"),
            YoutubeError::Transient(_)
        ));
        assert!(matches!(
            classify(status(404), None, b""),
            YoutubeError::NotFound { .. }
        ));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 2024 00:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 31 Dec 2023 23:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn credentials_never_print_their_secret() {
        let text = format!(
            "{:?} {:?}",
            Credentials::OAuth("ya29.secret".into()),
            Credentials::ApiKey("AIzaSecret".into())
        );
        assert!(
            !text.contains("secret") && !text.contains("Secret"),
            "{text}"
        );
    }
}
