//! TikTok webhooks: `verify` the signature on the raw bytes (see `signature`; `now` and the
//! legacy opt-in come from the caller), then `parse` the body into one [`InboundEvent`].
//!
//! A body is one event (platforms.md §3). Its `content` is a string of serialised JSON per the
//! docs and the shared vectors; seed 001's system sent an object, so both are read. Events we
//! do not model become `InboundEvent::Other` (tolerated, not answered); only a body that is not
//! an event at all is `Decode`. Deliveries are at-least-once for up to 72 h: dedup on
//! `message_id`.

use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde_json::Value;

use crate::error::Error;
use crate::models::{AuthorizationRemovedContent, DirectMessageContent, WebhookEvent};
use crate::signature::{self, Scheme, VerifyOptions};

/// The event name of an inbound DM (seed 001; TikTok's catalogue lists "business messaging").
pub const EVENT_DIRECT_MESSAGE: &str = "direct_message.receive";
/// The event sent when a user disconnects the app (platforms.md §3).
pub const EVENT_AUTHORIZATION_REMOVED: &str = "authorization.removed";

/// Verifies the webhook's signature (current scheme, or legacy when `options.allow_legacy`).
pub fn verify(
    headers: &HeaderMap,
    raw_body: &[u8],
    client_secrets: &[&str],
    now: DateTime<Utc>,
    options: &VerifyOptions,
) -> Result<Scheme, Error> {
    Ok(signature::verify(
        headers,
        raw_body,
        client_secrets,
        now,
        options,
    )?)
}

/// One normalised webhook event.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundEvent {
    /// A user wrote to the business account.
    DirectMessage(DirectMessage),
    /// The user (business account) disconnected the app: stop sending for this connection.
    AuthorizationRemoved {
        /// The app.
        client_key: String,
        /// Who disconnected.
        user_open_id: String,
        /// Why.
        reason: RemovalReason,
        /// Epoch seconds.
        create_time: i64,
    },
    /// Any other event (video publishing, portability, DMs without an id...): recorded only.
    Other {
        /// The event name.
        event: String,
        /// The app.
        client_key: String,
        /// `user_openid`.
        user_open_id: String,
        /// Epoch seconds.
        create_time: i64,
        /// The decoded content (or the raw string when it is not JSON).
        content: Value,
    },
}

/// An inbound direct message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectMessage {
    /// The app.
    pub client_key: String,
    /// The event's `user_openid` (the account the app acts for).
    pub account_open_id: String,
    /// The sender's open id (content `open_id`, else `user_openid`): the lead's identity.
    pub sender_open_id: String,
    /// The message id (dedup key).
    pub message_id: String,
    /// Conversation id, when sent.
    pub conversation_id: Option<String>,
    /// Epoch seconds.
    pub create_time: i64,
    /// What was sent.
    pub content: DmContent,
}

/// What a DM holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmContent {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// A picture.
    Image {
        /// Its URL, when sent.
        url: Option<String>,
        /// Its media id, when sent.
        media_id: Option<String>,
    },
    /// A shared post.
    SharePost {
        /// Its URL, when sent.
        url: Option<String>,
    },
    /// A type this crate does not know.
    Unsupported {
        /// The wire `message_type`.
        kind: String,
    },
}

/// `authorization.removed` reasons (platforms.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// 0.
    Unknown,
    /// 1: the user disconnected the app.
    UserDisconnected,
    /// 2: the account was deleted.
    AccountDeleted,
    /// 3: the user's age changed.
    AgeChanged,
    /// 4: the account was banned.
    AccountBanned,
    /// 5: the developer revoked the authorisation.
    DeveloperRevoked,
    /// A code newer than this crate.
    Other(i64),
}

impl From<i64> for RemovalReason {
    fn from(code: i64) -> Self {
        match code {
            0 => RemovalReason::Unknown,
            1 => RemovalReason::UserDisconnected,
            2 => RemovalReason::AccountDeleted,
            3 => RemovalReason::AgeChanged,
            4 => RemovalReason::AccountBanned,
            5 => RemovalReason::DeveloperRevoked,
            other => RemovalReason::Other(other),
        }
    }
}

/// Decodes a verified body into its event (a one-element vector, for symmetry with the Graph
/// crates whose bodies batch events).
pub fn parse(raw_body: &[u8]) -> Result<Vec<InboundEvent>, Error> {
    let mut event: WebhookEvent = serde_json::from_slice(raw_body)
        .map_err(|e| Error::Decode(format!("webhook body: {e}")))?;
    let content = match std::mem::take(&mut event.content) {
        // platforms.md §3: "content (string of serialized JSON)".
        Value::String(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        other => other,
    };
    let other = |content: Value| InboundEvent::Other {
        event: event.event.clone(),
        client_key: event.client_key.clone(),
        user_open_id: event.user_openid.clone(),
        create_time: event.create_time,
        content,
    };
    let normalised = match event.event.as_str() {
        EVENT_DIRECT_MESSAGE => {
            match serde_json::from_value::<DirectMessageContent>(content.clone()) {
                Ok(dm) => match direct_message(&event, dm) {
                    Some(message) => InboundEvent::DirectMessage(message),
                    None => {
                        tracing::warn!("direct message without message_id or sender");
                        other(content)
                    }
                },
                Err(error) => {
                    tracing::warn!(%error, "undecodable direct message content");
                    other(content)
                }
            }
        }
        EVENT_AUTHORIZATION_REMOVED => {
            let reason = serde_json::from_value::<AuthorizationRemovedContent>(content)
                .map(|c| c.reason)
                .unwrap_or(0);
            InboundEvent::AuthorizationRemoved {
                client_key: event.client_key.clone(),
                user_open_id: event.user_openid.clone(),
                reason: RemovalReason::from(reason),
                create_time: event.create_time,
            }
        }
        _ => other(content),
    };
    Ok(vec![normalised])
}

fn direct_message(event: &WebhookEvent, dm: DirectMessageContent) -> Option<DirectMessage> {
    let message_id = dm.message_id.filter(|m| !m.is_empty())?;
    let sender_open_id = dm
        .open_id
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| event.user_openid.clone());
    if sender_open_id.is_empty() {
        return None;
    }
    let nested = dm.message_content.unwrap_or_default();
    let text = dm.text.or(nested.text);
    let kind = dm
        .message_type
        .map(|k| k.to_ascii_lowercase())
        .unwrap_or_else(|| if text.is_some() { "text" } else { "unknown" }.to_owned());
    let content = match (kind.as_str(), text) {
        ("text", Some(text)) => DmContent::Text { text },
        ("image", _) => DmContent::Image {
            url: nested.image_url,
            media_id: nested.media_id,
        },
        ("share_post", _) => DmContent::SharePost {
            url: nested.share_url,
        },
        _ => DmContent::Unsupported { kind },
    };
    Some(DirectMessage {
        client_key: event.client_key.clone(),
        account_open_id: event.user_openid.clone(),
        sender_open_id,
        message_id,
        conversation_id: dm.conversation_id,
        create_time: event.create_time,
        content,
    })
}

/// TikTok's (and seed 001's) endpoint check: `GET ?challenge=<x>&verify_token=<y>` is answered
/// with the raw challenge only when the token is the tenant's (constant-time comparison).
/// `None` means answer 403.
pub fn verification_challenge<'q>(
    challenge: Option<&'q str>,
    verify_token: Option<&str>,
    expected_token: &str,
) -> Option<&'q str> {
    use subtle::ConstantTimeEq;
    let challenge = challenge.filter(|c| !c.is_empty())?;
    if expected_token.is_empty() {
        return None;
    }
    let token = verify_token.unwrap_or_default();
    bool::from(token.as_bytes().ct_eq(expected_token.as_bytes())).then_some(challenge)
}
