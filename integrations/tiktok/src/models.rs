//! Serde mirrors of TikTok's wire formats (platforms.md §3): the TikTok for Developers webhook
//! body (`client_key`, `event`, `create_time`, `user_openid`, `content` as a string of serialised
//! JSON), the direct-message content, and the API for Business envelope
//! (`{"code":0,"message":"OK","request_id","data"}`) with the send request/answer.
//!
//! The Business Messaging API's request fields are UNCONFIRMED (partner-gated, platforms.md §3):
//! the send body mirrors the inbound DM content of seed 001 (`open_id`, `message_type`,
//! `message_content.text`) so both directions use one vocabulary; change it here only.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The webhook body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The app's client key.
    #[serde(default)]
    pub client_key: String,
    /// `direct_message.receive`, `authorization.removed`...
    pub event: String,
    /// Epoch seconds.
    #[serde(default)]
    pub create_time: i64,
    /// The user who authorised the app (the business account).
    #[serde(default)]
    pub user_openid: String,
    /// A string of serialised JSON per platforms.md §3; the seed's system sent an object, so
    /// both are accepted (see `webhook::parse`).
    #[serde(default)]
    pub content: Value,
}

/// The `content` of a `direct_message.*` event (UNCONFIRMED shape; every field optional).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DirectMessageContent {
    /// The message id (dedup key).
    #[serde(default)]
    pub message_id: Option<String>,
    /// The sender's open id (seed 001); when absent, the event's `user_openid` is used.
    #[serde(default)]
    pub open_id: Option<String>,
    /// Conversation id, when sent.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// `text`, `image`, `share_post`...; absent means text when `text` is present.
    #[serde(default)]
    pub message_type: Option<String>,
    /// Flat text (the shared vectors' shape).
    #[serde(default)]
    pub text: Option<String>,
    /// Nested content (seed 001's shape): `{"text": ...}` or media fields.
    #[serde(default)]
    pub message_content: Option<MessageContentBody>,
}

/// `message_content` of a DM (inbound and outbound).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MessageContentBody {
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Image URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// Media id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// Shared post URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_url: Option<String>,
}

/// `content` of `authorization.removed`: `{"reason": n}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRemovedContent {
    /// 0 unknown, 1 user disconnected, 2 account deleted, 3 age changed, 4 banned, 5 developer
    /// revoked (platforms.md §3).
    #[serde(default)]
    pub reason: i64,
}

/// The API for Business envelope: `code` 0 is success, anything else an error. `data` is kept
/// raw because error answers carry `{}` where success carries the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// 0 = OK.
    pub code: i64,
    /// `OK` or the error text.
    #[serde(default)]
    pub message: String,
    /// Worth logging for support.
    #[serde(default)]
    pub request_id: Option<String>,
    /// The payload (absent or `{}` on errors).
    #[serde(default)]
    pub data: Option<Value>,
}

/// Send body (UNCONFIRMED field names, see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// The business account sending.
    pub business_id: String,
    /// The recipient's open id.
    pub open_id: String,
    /// `text` (images and shared posts are possible on the platform; not modelled here).
    pub message_type: String,
    /// The content.
    pub message_content: MessageContentBody,
}

/// `data` of a send answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessageData {
    /// The new message's id.
    pub message_id: String,
}
