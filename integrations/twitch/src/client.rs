//! The Helix client (platforms.md §2.2): `GET /helix/users`, `POST /helix/whispers` and
//! `POST /helix/chat/messages`, with Helix errors classified into `TwitchError`.
//!
//! Stateless about tenants: each call takes the tenant's `HelixCredentials` (client id + user
//! access token), so one client and one connection pool serve every tenant. One request per call,
//! no retries: a 429 comes back as `RateLimited` with the wait from `Ratelimit-Reset`, and the
//! caller decides. The daily whisper allowance is the api's business (counted across replicas),
//! not this module's.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;

use crate::error::TwitchError;
use crate::models::{
    DataEnvelope, HelixErrorBody, SendChatMessageRequest, SentChatMessage, User, WhisperRequest,
};

/// The production origin (`TWITCH_API_BASE` overrides it; the client adds [`API_PATH`]).
pub const DEFAULT_BASE_URL: &str = "https://api.twitch.tv";
/// The path prefix of every Helix call.
pub const API_PATH: &str = "/helix";
/// Helix accepts up to 100 `login` parameters per `GET /users`.
pub const MAX_USERS_PER_REQUEST: usize = 100;

/// A tenant's Helix credentials. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct HelixCredentials {
    /// The app's client id (`Client-Id`).
    pub client_id: String,
    /// A user (or app) access token (`Authorization: Bearer`), without any `oauth:` prefix.
    pub access_token: String,
}

impl HelixCredentials {
    /// Credentials from a client id and a token (an `oauth:` prefix, as IRC wants it, is removed).
    pub fn new(client_id: impl Into<String>, access_token: &str) -> Self {
        Self {
            client_id: client_id.into(),
            access_token: access_token
                .strip_prefix("oauth:")
                .unwrap_or(access_token)
                .to_owned(),
        }
    }
}

impl fmt::Debug for HelixCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelixCredentials")
            .field("client_id", &self.client_id)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// A client for one Helix origin.
#[derive(Debug, Clone)]
pub struct HelixClient {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl HelixClient {
    /// A client on `base_url` (scheme + host + port, e.g. [`DEFAULT_BASE_URL`] or a fake's URL)
    /// sharing `http`'s pool, with a 15 s request timeout.
    pub fn new(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self {
            http,
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            timeout: Duration::from_secs(15),
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

    /// `GET /users?login=..&login=..` (at most 100). Unknown logins are simply absent.
    pub async fn users_by_login(
        &self,
        credentials: &HelixCredentials,
        logins: &[&str],
    ) -> Result<Vec<User>, TwitchError> {
        if logins.is_empty() || logins.len() > MAX_USERS_PER_REQUEST {
            return Err(TwitchError::Rejected {
                status: 0,
                code: "invalid_logins".to_owned(),
                message: format!("between 1 and {MAX_USERS_PER_REQUEST} logins per request"),
            });
        }
        let query: Vec<(&str, String)> = logins
            .iter()
            .map(|l| {
                (
                    "login",
                    l.trim().trim_start_matches('#').to_ascii_lowercase(),
                )
            })
            .collect();
        let builder = self.http.get(self.url("/users")).query(&query);
        let response = self.send(builder, credentials).await?;
        let envelope: DataEnvelope<User> = decode(&response)?;
        Ok(envelope.data)
    }

    /// The user id of `login`; `NotFound` when Twitch knows no such user.
    pub async fn user_id(
        &self,
        credentials: &HelixCredentials,
        login: &str,
    ) -> Result<String, TwitchError> {
        let wanted = login.trim().trim_start_matches('#').to_ascii_lowercase();
        self.users_by_login(credentials, &[&wanted])
            .await?
            .into_iter()
            .find(|u| u.login.is_empty() || u.login == wanted)
            .map(|u| u.id)
            .ok_or_else(|| TwitchError::NotFound(format!("no Twitch user with login {wanted}")))
    }

    /// `POST /whispers?from_user_id=&to_user_id=` with `{"message"}`: 204 on success. Twitch
    /// also answers 204 when it drops a whisper silently (platforms.md §2.2), so success means
    /// "accepted", not "delivered". The caller charges its whisper budget before calling (the api
    /// counts it across replicas: `services::live::budget`).
    pub async fn send_whisper(
        &self,
        credentials: &HelixCredentials,
        from_user_id: &str,
        to_user_id: &str,
        message: &str,
    ) -> Result<(), TwitchError> {
        if message.trim().is_empty() {
            return Err(TwitchError::Rejected {
                status: 0,
                code: "empty_message".to_owned(),
                message: "the whisper is empty".to_owned(),
            });
        }
        let builder = self
            .http
            .post(self.url("/whispers"))
            .query(&[("from_user_id", from_user_id), ("to_user_id", to_user_id)])
            .json(&WhisperRequest {
                message: message.to_owned(),
            });
        self.send(builder, credentials).await?;
        Ok(())
    }

    /// `POST /chat/messages`: the Helix alternative to IRC `PRIVMSG` (platforms.md §2.2: Twitch
    /// recommends it). A dropped message is `Ok` with `is_sent: false` and a `drop_reason`.
    pub async fn send_chat_message(
        &self,
        credentials: &HelixCredentials,
        request: &SendChatMessageRequest,
    ) -> Result<SentChatMessage, TwitchError> {
        crate::chat::validate_text(&request.message)?;
        let builder = self.http.post(self.url("/chat/messages")).json(request);
        let response = self.send(builder, credentials).await?;
        let envelope: DataEnvelope<SentChatMessage> = decode(&response)?;
        envelope
            .data
            .into_iter()
            .next()
            .ok_or_else(|| TwitchError::Decode("chat/messages answered no data".to_owned()))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{API_PATH}{path}", self.base_url)
    }

    /// Adds the headers, sends, and returns a 2xx body or the classified failure.
    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
        credentials: &HelixCredentials,
    ) -> Result<Vec<u8>, TwitchError> {
        let response = builder
            .bearer_auth(&credentials.access_token)
            .header("Client-Id", &credentials.client_id)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| TwitchError::from_transport(&e))?;
        let status = response.status();
        let reset = response
            .headers()
            .get("ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok());
        let body = response
            .bytes()
            .await
            .map_err(|e| TwitchError::from_transport(&e))?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let error = classify(status, reset, &body, Utc::now());
        tracing::warn!(status = status.as_u16(), %error, "Helix request failed");
        Err(error)
    }
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, TwitchError> {
    serde_json::from_slice(body).map_err(|e| TwitchError::Decode(format!("Helix body: {e}")))
}

/// Maps a Helix failure: 429 waits until `Ratelimit-Reset` (Unix seconds), 401 is credentials,
/// 404 not found, 5xx/408 transient, any other 4xx rejected with Helix's `error`/`message`.
pub(crate) fn classify(
    status: StatusCode,
    ratelimit_reset: Option<i64>,
    body: &[u8],
    now: DateTime<Utc>,
) -> TwitchError {
    let parsed: HelixErrorBody = serde_json::from_slice(body).unwrap_or_else(|_| HelixErrorBody {
        error: status.canonical_reason().unwrap_or_default().to_owned(),
        status: status.as_u16(),
        message: String::from_utf8_lossy(body).chars().take(200).collect(),
    });
    match status.as_u16() {
        401 => TwitchError::Unauthorized(parsed.message),
        404 => TwitchError::NotFound(parsed.message),
        429 => TwitchError::RateLimited {
            retry_after: ratelimit_reset.map(|reset| {
                Duration::from_secs(u64::try_from(reset - now.timestamp()).unwrap_or(0))
            }),
        },
        408 => TwitchError::Transient(format!("408: {}", parsed.message)),
        s if status.is_server_error() => TwitchError::Transient(format!("{s}: {}", parsed.message)),
        s => TwitchError::Rejected {
            status: s,
            code: parsed.error,
            message: parsed.message,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    #[test]
    fn helix_errors_are_classified() {
        let now: DateTime<Utc> = "2024-05-01T12:00:00Z".parse().unwrap();
        let body = |code: u16, error: &str| {
            format!(r#"{{"error":"{error}","status":{code},"message":"details"}}"#).into_bytes()
        };
        assert_eq!(
            classify(
                status(429),
                Some(now.timestamp() + 7),
                &body(429, "Too Many Requests"),
                now
            ),
            TwitchError::RateLimited {
                retry_after: Some(Duration::from_secs(7))
            }
        );
        assert_eq!(
            classify(status(429), Some(now.timestamp() - 5), b"", now),
            TwitchError::RateLimited {
                retry_after: Some(Duration::ZERO)
            },
            "a reset in the past means now"
        );
        assert_eq!(
            classify(status(429), None, b"", now),
            TwitchError::RateLimited { retry_after: None }
        );
        assert_eq!(
            classify(status(401), None, &body(401, "Unauthorized"), now),
            TwitchError::Unauthorized("details".into())
        );
        assert_eq!(
            classify(status(404), None, &body(404, "Not Found"), now),
            TwitchError::NotFound("details".into())
        );
        assert_eq!(
            classify(status(400), None, &body(400, "Bad Request"), now),
            TwitchError::Rejected {
                status: 400,
                code: "Bad Request".into(),
                message: "details".into()
            }
        );
        assert!(matches!(
            classify(status(403), None, &body(403, "Forbidden"), now),
            TwitchError::Rejected { status: 403, .. }
        ));
        assert!(matches!(
            classify(status(503), None, b"<html>", now),
            TwitchError::Transient(_)
        ));
        assert!(matches!(
            classify(status(400), None, b"not json", now),
            TwitchError::Rejected { status: 400, ref code, .. } if code == "Bad Request"
        ));
    }

    #[test]
    fn credentials_hide_the_token_and_drop_the_irc_prefix() {
        let credentials = HelixCredentials::new("cid", "oauth:abc123");
        assert_eq!(credentials.access_token, "abc123");
        assert!(!format!("{credentials:?}").contains("abc123"));
    }
}
