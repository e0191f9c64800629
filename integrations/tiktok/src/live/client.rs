//! [`LiveClient`]: the two calls of the LIVE wrapper (wire format in [`crate::live`]), one
//! request per call, never retried here (the poller waits, the caller's supervisor retries,
//! guided by `Error::is_retryable`). Stateless about tenants: the token comes with each call.

use std::fmt;
use std::time::Duration;

use crate::client::{execute, DEFAULT_TIMEOUT};
use crate::error::Error;
use crate::live::models::{LiveCommentsData, LiveStatusData};
use crate::live::{LiveComment, CODE_NOT_FOUND, COMMENTS_PATH, STATUS_PATH};

/// The token of one tenant's LIVE wrapper (header `Access-Token`). Separate from
/// `BusinessCredentials`: the wrapper is not TikTok and its token is not TikTok's.
#[derive(Clone, PartialEq, Eq)]
pub struct LiveCredentials {
    /// The wrapper's access token.
    pub access_token: String,
}

impl LiveCredentials {
    /// Credentials carrying `access_token`.
    pub fn new(access_token: impl Into<String>) -> Self {
        Self {
            access_token: access_token.into(),
        }
    }
}

impl fmt::Debug for LiveCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token must never reach a log line.
        f.debug_struct("LiveCredentials")
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// Whether an account is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveStatus {
    /// The current room (`None` when the wrapper sent none, typically when not live).
    pub room_id: Option<String>,
    /// Live now.
    pub is_live: bool,
    /// The LIVE's title.
    pub title: String,
    /// Viewers now.
    pub viewer_count: u64,
    /// The envelope's `request_id`, for support.
    pub request_id: Option<String>,
}

/// One page of comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentsPage {
    /// The valid comments, oldest first.
    pub comments: Vec<LiveComment>,
    /// Comments dropped because they had no id or no author (logged, not fatal).
    pub skipped: usize,
    /// The cursor to send next (`None` when the wrapper sent none).
    pub cursor: Option<String>,
    /// More comments are already waiting.
    pub has_more: bool,
    /// The wait the wrapper asked for before the next call.
    pub poll_interval: Option<Duration>,
    /// `false` once the LIVE has ended.
    pub is_live: bool,
    /// The envelope's `request_id`.
    pub request_id: Option<String>,
}

/// A client for one LIVE wrapper.
#[derive(Debug, Clone)]
pub struct LiveClient {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl LiveClient {
    /// A client on the wrapper at `base_url` (scheme + host + port, e.g. a fake's URL), sharing
    /// `http`'s pool. There is no default: no official LIVE API exists to default to.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: DEFAULT_TIMEOUT,
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

    /// Whether `username` (the @handle; a leading `@` is dropped) is live, and in which room.
    pub async fn live_status(
        &self,
        credentials: &LiveCredentials,
        username: &str,
    ) -> Result<LiveStatus, Error> {
        let username = username.trim().trim_start_matches('@');
        let request = self
            .get(credentials, STATUS_PATH)
            .query(&[("username", username)]);
        let (data, request_id) = execute::<LiveStatusData>(request, "live status")
            .await
            .map_err(not_found)?;
        Ok(LiveStatus {
            room_id: data.room_id.filter(|r| !r.is_empty()),
            is_live: data.is_live,
            title: data.title,
            viewer_count: data.viewer_count,
            request_id,
        })
    }

    /// One page of `room_id`'s comments after `cursor` (`None`: from the oldest retained).
    pub async fn live_comments(
        &self,
        credentials: &LiveCredentials,
        room_id: &str,
        cursor: Option<&str>,
    ) -> Result<CommentsPage, Error> {
        let mut query = vec![("room_id", room_id)];
        if let Some(cursor) = cursor.filter(|c| !c.is_empty()) {
            query.push(("cursor", cursor));
        }
        let request = self.get(credentials, COMMENTS_PATH).query(&query);
        let (data, request_id) = execute::<LiveCommentsData>(request, "live comments")
            .await
            .map_err(not_found)?;
        let total = data.comments.len();
        let comments: Vec<LiveComment> = data
            .comments
            .into_iter()
            .filter_map(|raw| match LiveComment::from_wire(raw) {
                Ok(comment) => Some(comment),
                Err(error) => {
                    tracing::warn!(%error, room_id, "LIVE comment dropped");
                    None
                }
            })
            .collect();
        Ok(CommentsPage {
            skipped: total - comments.len(),
            comments,
            cursor: data.cursor.filter(|c| !c.is_empty()),
            has_more: data.has_more,
            poll_interval: data.poll_interval_ms.map(Duration::from_millis),
            is_live: data.is_live,
            request_id,
        })
    }

    fn get(&self, credentials: &LiveCredentials, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base_url))
            .timeout(self.timeout)
            .header("Access-Token", &credentials.access_token)
    }
}

/// The wrapper's "no such user or room" code is a `NotFound`, like an HTTP 404.
fn not_found(error: Error) -> Error {
    match error {
        Error::Rejected { code, message } if code == CODE_NOT_FOUND => Error::NotFound(message),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_print_the_token() {
        let printed = format!("{:?}", LiveCredentials::new("live-secret"));
        assert!(!printed.contains("live-secret"));
    }

    #[test]
    fn the_not_found_code_is_a_not_found() {
        assert_eq!(
            not_found(Error::Rejected {
                code: CODE_NOT_FOUND,
                message: "room".into()
            }),
            Error::NotFound("room".into())
        );
        assert!(matches!(
            not_found(Error::Rejected {
                code: 40002,
                message: "x".into()
            }),
            Error::Rejected { code: 40002, .. }
        ));
    }
}
