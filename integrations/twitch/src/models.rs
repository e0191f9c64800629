//! Serde mirrors of Twitch's JSON wire formats (platforms.md §2.2–2.4): Helix users, whispers,
//! chat messages and errors; EventSub subscriptions, the `channel.chat.message` event, webhook
//! bodies and WebSocket frames.
//!
//! Field names are Twitch's snake_case exactly. Optional and unknown fields are tolerated
//! (defaults, ignored extras), unknown enum-like strings are kept as strings, and an event whose
//! type we do not model stays raw JSON. Data only: no IO, no policy.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Helix `{"data":[...]}` envelope.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct DataEnvelope<T> {
    /// The items.
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
}

/// A Helix user (`GET /users`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct User {
    /// The user id: stable, use it everywhere.
    pub id: String,
    /// Login name (lower case).
    #[serde(default)]
    pub login: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// `""`, `admin`, `global_mod`, `staff`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// `""`, `affiliate`, `partner`.
    #[serde(default)]
    pub broadcaster_type: String,
    /// Bio.
    #[serde(default)]
    pub description: String,
    /// Avatar.
    #[serde(default)]
    pub profile_image_url: String,
    /// Offline banner.
    #[serde(default)]
    pub offline_image_url: String,
    /// Deprecated by Twitch, still sent.
    #[serde(default)]
    pub view_count: Option<u64>,
    /// Only with `user:read:email`.
    #[serde(default)]
    pub email: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
}

/// `POST /whispers` body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct WhisperRequest {
    /// The text (Twitch truncates past 500 chars to new recipients, 10,000 otherwise).
    pub message: String,
}

/// `POST /chat/messages` body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SendChatMessageRequest {
    /// The channel's user id.
    pub broadcaster_id: String,
    /// The bot's user id.
    pub sender_id: String,
    /// The text (≤ 500 chars).
    pub message: String,
    /// Reply to this message id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_parent_message_id: Option<String>,
}

/// One `POST /chat/messages` result.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct SentChatMessage {
    /// The new message's id (empty when dropped).
    #[serde(default)]
    pub message_id: String,
    /// False when Twitch dropped it (see `drop_reason`).
    #[serde(default)]
    pub is_sent: bool,
    /// Why it was dropped (codes UNCONFIRMED: kept as strings).
    #[serde(default)]
    pub drop_reason: Option<DropReason>,
}

/// `drop_reason`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct DropReason {
    /// Machine code.
    #[serde(default)]
    pub code: String,
    /// Text.
    #[serde(default)]
    pub message: String,
}

/// Helix error body `{"error":"Bad Request","status":400,"message":"..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct HelixErrorBody {
    /// The status text.
    #[serde(default)]
    pub error: String,
    /// The status.
    #[serde(default)]
    pub status: u16,
    /// Details.
    #[serde(default)]
    pub message: String,
}

/// An EventSub subscription as sent in every notification.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct Subscription {
    /// Subscription id.
    #[serde(default)]
    pub id: String,
    /// `enabled`, `webhook_callback_verification_pending`, `authorization_revoked`,
    /// `user_removed`, `version_removed`, ...
    #[serde(default)]
    pub status: String,
    /// e.g. `channel.chat.message`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// e.g. `1`.
    #[serde(default)]
    pub version: String,
    /// e.g. `{"broadcaster_user_id":..,"user_id":..}`.
    #[serde(default)]
    pub condition: Value,
    /// `{"method":"webhook","callback":..}` or `{"method":"websocket","session_id":..}`.
    #[serde(default)]
    pub transport: Value,
    /// RFC 3339.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Cost.
    #[serde(default)]
    pub cost: Option<u64>,
}

/// The `channel.chat.message` v1 event (platforms.md §2.3).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct ChannelChatMessage {
    /// The channel's user id.
    #[serde(default)]
    pub broadcaster_user_id: String,
    /// The channel's login.
    #[serde(default)]
    pub broadcaster_user_login: String,
    /// The channel's display name.
    #[serde(default)]
    pub broadcaster_user_name: String,
    /// The viewer's user id.
    #[serde(default)]
    pub chatter_user_id: String,
    /// The viewer's login.
    #[serde(default)]
    pub chatter_user_login: String,
    /// The viewer's display name.
    #[serde(default)]
    pub chatter_user_name: String,
    /// The message id (dedupe, reply).
    #[serde(default)]
    pub message_id: String,
    /// Text and fragments.
    #[serde(default)]
    pub message: ChatMessageBody,
    /// `text`, `channel_points_highlighted`, `channel_points_sub_only`, `user_intro`,
    /// `power_ups_*`, ... (kept as a string).
    #[serde(default)]
    pub message_type: String,
    /// The chatter's badges.
    #[serde(default)]
    pub badges: Vec<EventBadge>,
    /// Name colour.
    #[serde(default)]
    pub color: Option<String>,
    /// A cheer.
    #[serde(default)]
    pub cheer: Option<Cheer>,
    /// Reply metadata.
    #[serde(default)]
    pub reply: Option<Value>,
    /// Channel points reward.
    #[serde(default)]
    pub channel_points_custom_reward_id: Option<String>,
    /// Channel points animation.
    #[serde(default)]
    pub channel_points_animation_id: Option<String>,
}

/// `event.message`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct ChatMessageBody {
    /// The whole text.
    #[serde(default)]
    pub text: String,
    /// Text / emote / cheermote / mention pieces.
    #[serde(default)]
    pub fragments: Vec<Fragment>,
}

/// One message fragment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct Fragment {
    /// `text`, `emote`, `cheermote`, `mention` (others kept).
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The fragment's text.
    #[serde(default)]
    pub text: String,
    /// Emote details.
    #[serde(default)]
    pub emote: Option<Value>,
    /// Cheermote details.
    #[serde(default)]
    pub cheermote: Option<Value>,
    /// Mention details.
    #[serde(default)]
    pub mention: Option<Value>,
}

/// `event.badges[]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct EventBadge {
    /// Set (`moderator`, `subscriber`, ...).
    #[serde(default)]
    pub set_id: String,
    /// Version.
    #[serde(default)]
    pub id: String,
    /// Extra (subscriber months).
    #[serde(default)]
    pub info: String,
}

/// `event.cheer`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct Cheer {
    /// Bits.
    #[serde(default)]
    pub bits: u64,
}

impl ChannelChatMessage {
    /// Whether the chatter carries badge `set_id` (e.g. `moderator`, `broadcaster`).
    pub fn has_badge(&self, set_id: &str) -> bool {
        self.badges.iter().any(|b| b.set_id == set_id)
    }
}

/// A webhook body (`notification`, `webhook_callback_verification`, `revocation`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct WebhookBody {
    /// The subscription.
    #[serde(default)]
    pub subscription: Subscription,
    /// The event (notifications).
    #[serde(default)]
    pub event: Option<Value>,
    /// The challenge (verification).
    #[serde(default)]
    pub challenge: Option<String>,
}

/// An EventSub WebSocket frame.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct WsFrame {
    /// Metadata.
    pub metadata: WsMetadata,
    /// Payload (shape depends on `message_type`).
    #[serde(default)]
    pub payload: Value,
}

/// `metadata` of a WebSocket frame.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct WsMetadata {
    /// Dedupe on it (at-least-once delivery).
    #[serde(default)]
    pub message_id: String,
    /// `session_welcome`, `session_keepalive`, `notification`, `session_reconnect`, `revocation`.
    #[serde(default)]
    pub message_type: String,
    /// RFC 3339 with nanoseconds.
    #[serde(default)]
    pub message_timestamp: String,
    /// For notifications and revocations.
    #[serde(default)]
    pub subscription_type: Option<String>,
    /// For notifications and revocations.
    #[serde(default)]
    pub subscription_version: Option<String>,
}

/// `payload.session` of welcome and reconnect frames.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct WsSession {
    /// Use as `transport.session_id` when subscribing (within 10 s).
    #[serde(default)]
    pub id: String,
    /// `connected`, `reconnecting`.
    #[serde(default)]
    pub status: String,
    /// Reconnect if silent for longer.
    #[serde(default)]
    pub keepalive_timeout_seconds: Option<u64>,
    /// Where to reconnect (reconnect frames; connect within 30 s).
    #[serde(default)]
    pub reconnect_url: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub connected_at: Option<String>,
}
