//! LIVE webhooks (`live.comment`, `live.end`; wire format in [`crate::live`]): the documented
//! TikTok for Developers body with `content` as a string of serialised JSON, signed with
//! `TikTok-Signature`. Verify first — [`verify_and_parse_live_webhook`] does both, or call
//! [`crate::webhook::verify`] then [`parse_live_webhook`].
//!
//! Unlike DM webhooks, a LIVE event whose content is not the documented shape is a
//! `Error::Decode`, not an `Other`: the format is ours, so a mismatch is a wrapper bug to
//! surface, and a comment without an id or author cannot be deduplicated or scored. A
//! redelivery will not fix it, so the endpoint should acknowledge (200) and log rather than
//! make the sender retry for 72 h. Events that are not LIVE events (DMs, `authorization.removed`)
//! are `LiveEvent::Other`, so one callback URL can feed both parsers.

use chrono::{DateTime, Utc};
use http::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::live::models::{LiveCommentContent, LiveEndContent};
use crate::live::{LiveComment, EVENT_LIVE_COMMENT, EVENT_LIVE_END};
use crate::models::WebhookEvent;
use crate::signature::VerifyOptions;

/// One LIVE webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// A viewer commented.
    Comment {
        /// The room.
        room_id: String,
        /// The comment (dedup on `comment_id`: deliveries are at-least-once and polling may
        /// have read it too).
        comment: LiveComment,
    },
    /// The LIVE ended.
    End {
        /// The room.
        room_id: String,
        /// The event's `create_time` (epoch s).
        create_time: i64,
    },
    /// Any other event: not for the LIVE pipeline, ignored.
    Other {
        /// The event name.
        event: String,
    },
}

/// Verifies the signature (see [`crate::webhook::verify`]) and then parses the body.
pub fn verify_and_parse_live_webhook(
    headers: &HeaderMap,
    raw_body: &[u8],
    client_secrets: &[&str],
    now: DateTime<Utc>,
    options: &VerifyOptions,
) -> Result<Vec<LiveEvent>, Error> {
    crate::webhook::verify(headers, raw_body, client_secrets, now, options)?;
    parse_live_webhook(raw_body)
}

/// Decodes a *verified* body into its event (a one-element vector, like `webhook::parse`).
pub fn parse_live_webhook(raw_body: &[u8]) -> Result<Vec<LiveEvent>, Error> {
    let event: WebhookEvent = serde_json::from_slice(raw_body)
        .map_err(|e| Error::Decode(format!("webhook body: {e}")))?;
    let parsed = match event.event.as_str() {
        EVENT_LIVE_COMMENT => {
            let content: LiveCommentContent = content(event.content, EVENT_LIVE_COMMENT)?;
            LiveEvent::Comment {
                room_id: room_id(content.room_id, EVENT_LIVE_COMMENT)?,
                comment: content.comment.checked()?,
            }
        }
        EVENT_LIVE_END => {
            let content: LiveEndContent = content(event.content, EVENT_LIVE_END)?;
            LiveEvent::End {
                room_id: room_id(content.room_id, EVENT_LIVE_END)?,
                create_time: event.create_time,
            }
        }
        _ => LiveEvent::Other { event: event.event },
    };
    Ok(vec![parsed])
}

/// `content` is a string of serialised JSON (platforms.md §3); an object is read too, as
/// `webhook::parse` does for the seed's system.
fn content<T: DeserializeOwned>(content: Value, event: &str) -> Result<T, Error> {
    let decoded = match content {
        Value::String(text) => serde_json::from_str(&text),
        other => serde_json::from_value(other),
    };
    decoded.map_err(|e| Error::Decode(format!("{event} content: {e}")))
}

fn room_id(room_id: String, event: &str) -> Result<String, Error> {
    if room_id.trim().is_empty() {
        return Err(Error::Decode(format!("{event} content without room_id")));
    }
    Ok(room_id)
}
