//! Serde mirrors of the Messenger and Instagram wire formats (platforms.md §5): the Send API
//! request and answer, the user profile, and the webhook notification.
//!
//! Field names are the platform's, exactly. Unknown enum values are tolerated (`#[serde(other)]`)
//! and unknown fields ignored, so a new Graph feature never breaks decoding. These types carry no
//! behaviour beyond (de)serialisation; `client` and `webhook` give them meaning.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Send API
// ---------------------------------------------------------------------------------------------

/// `POST /{version}/{page-id}/messages` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendRequest {
    /// Who receives it: `{"id": "<PSID or IGSID>"}`.
    pub recipient: Recipient,
    /// `RESPONSE`, `UPDATE` or `MESSAGE_TAG`; absent for `sender_action` requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_type: Option<MessagingType>,
    /// Required with `MESSAGE_TAG`, forbidden otherwise (see `client::SendPolicy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<MessageTag>,
    /// The message; absent for `sender_action` requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<OutgoingMessage>,
    /// `typing_on`, `mark_seen`...; sent without `message` (platforms.md §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_action: Option<SenderAction>,
}

/// `recipient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Page-scoped (Messenger) or Instagram-scoped user id.
    pub id: String,
}

/// `message` of a send.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// Plain text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An attachment (`{type, payload}`), passed through as Graph documents it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<OutgoingAttachment>,
    /// Quick-reply buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    /// Opaque string echoed back in the `message_echoes` webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
}

/// `message.attachment` of a send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingAttachment {
    /// `image`, `audio`, `video`, `file` or `template`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `{"url": ..., "is_reusable": ...}` or a template payload.
    pub payload: Value,
}

/// One quick-reply button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    /// `text` (others: `user_phone_number`, `user_email`).
    pub content_type: String,
    /// Button label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Returned in the webhook's `quick_reply.payload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
}

/// `messaging_type` (platforms.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessagingType {
    /// A reply within 24 h of the user's last message.
    Response,
    /// Proactive, still within the 24 h window.
    Update,
    /// Outside the window, with a `tag`.
    MessageTag,
    /// A value this crate does not know.
    #[serde(other)]
    Unknown,
}

/// `tag`, allowed only with `MESSAGE_TAG` (platforms.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageTag {
    /// A human may reply up to 7 days after the user's last message.
    HumanAgent,
    /// Account changes.
    AccountUpdate,
    /// Reminders for an event the user registered for.
    ConfirmedEventUpdate,
    /// Updates about a purchase.
    PostPurchaseUpdate,
    /// A feedback survey.
    CustomerFeedback,
    /// A value this crate does not know.
    #[serde(other)]
    Unknown,
}

/// `sender_action` (platforms.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderAction {
    /// Show the typing bubble.
    TypingOn,
    /// Hide it.
    TypingOff,
    /// Mark the user's last message seen.
    MarkSeen,
    /// React to a message.
    React,
    /// Remove a reaction.
    Unreact,
    /// A value this crate does not know.
    #[serde(other)]
    Unknown,
}

/// 200 answer of the Send API: `{"recipient_id","message_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResponse {
    /// Absent when addressed by `user_ref` or phone number (platforms.md §5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<String>,
    /// The new message's `mid`; absent on `sender_action` answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// A user profile from `GET /{version}/{user-id}?fields=...`. Messenger returns
/// `first_name`/`last_name`, Instagram `name`/`username`; every field is optional because the
/// user's privacy settings decide what Graph returns.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserProfile {
    /// The PSID / IGSID asked for.
    pub id: String,
    /// Full name (Instagram).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Given name (Messenger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Family name (Messenger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Instagram handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Picture URL (expires).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_pic: Option<String>,
}

impl UserProfile {
    /// The best name to show a human: `name`, else `first_name last_name`, else `@username`.
    pub fn display_name(&self) -> Option<String> {
        if let Some(name) = self.name.as_deref().filter(|n| !n.trim().is_empty()) {
            return Some(name.trim().to_owned());
        }
        let joined = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        if !joined.is_empty() {
            return Some(joined);
        }
        self.username
            .as_deref()
            .filter(|u| !u.is_empty())
            .map(|u| format!("@{u}"))
    }
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/// The webhook body: `{"object":"page"|"instagram","entry":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `page` (Messenger) or `instagram`.
    pub object: String,
    /// Batched entries: iterate all of them (platforms.md §5).
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One `entry[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The Page id or Instagram account id the events belong to.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// Messaging events, kept raw so one malformed item cannot hide the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messaging: Vec<Value>,
    /// The same events while another app holds thread control (handover protocol).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standby: Vec<Value>,
    /// Field changes (Instagram comments...), not messaging; kept raw.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Value>,
}

/// One `messaging[]` / `standby[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagingEvent {
    /// Who sent it (the user; the Page itself for echoes).
    pub sender: Party,
    /// Who received it.
    pub recipient: Party,
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// A message or an echo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<WebhookMessage>,
    /// A button press.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postback: Option<Postback>,
    /// Delivery receipt (Messenger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// Read receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<Read>,
    /// A reaction added or removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<Reaction>,
}

/// `sender` / `recipient`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    /// PSID, IGSID, Page id or Instagram account id.
    #[serde(deserialize_with = "string_or_number")]
    pub id: String,
}

/// `message` in a webhook.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookMessage {
    /// The message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// Text, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// True on `message_echoes`: the Page sent it (our bot or a human in the Inbox).
    #[serde(default)]
    pub is_echo: bool,
    /// The app that sent an echo (a number on the wire); absent when a human used the Inbox.
    #[serde(
        default,
        deserialize_with = "option_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_id: Option<String>,
    /// The `metadata` the sender attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Set when the user tapped a quick reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply: Option<QuickReplyPayload>,
    /// The message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// Media and other attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<WebhookAttachment>,
    /// Instagram: the user deleted this message.
    #[serde(default)]
    pub is_deleted: bool,
}

/// `message.quick_reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReplyPayload {
    /// The payload of the button tapped.
    pub payload: String,
}

/// `message.reply_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// The id of the message replied to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
}

/// One `message.attachments[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookAttachment {
    /// What it is.
    #[serde(rename = "type")]
    pub kind: AttachmentKind,
    /// `{"url": ...}` for media; other shapes for templates, shares, stickers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

/// `attachments[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    /// A picture.
    Image,
    /// A voice note or audio file.
    Audio,
    /// A video.
    Video,
    /// Any other file.
    File,
    /// A structured template.
    Template,
    /// A link Messenger could not render.
    Fallback,
    /// A shared location.
    Location,
    /// Instagram: a shared post.
    Share,
    /// Instagram: a story mention.
    StoryMention,
    /// Instagram: a shared reel.
    IgReel,
    /// A value this crate does not know.
    #[serde(other)]
    Unknown,
}

/// `postback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Postback {
    /// Button label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The payload set on the button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Id of the postback message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
}

/// `delivery`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Messages delivered (may be absent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mids: Vec<String>,
    /// Everything sent before this epoch-ms instant was delivered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<i64>,
}

/// `read`: Messenger sends a `watermark`, Instagram the `mid` read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    /// Everything sent before this epoch-ms instant was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<i64>,
    /// The message read (Instagram).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
}

/// `reaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// The message reacted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// `react` or `unreact`.
    pub action: ReactionAction,
    /// Named reaction (`love`, `smile`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
    /// The emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
}

/// `reaction.action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReactionAction {
    /// Added.
    React,
    /// Removed.
    Unreact,
    /// A value this crate does not know.
    #[serde(other)]
    Unknown,
}

/// Graph sends some ids as JSON numbers (`app_id`) and most as strings; we keep strings.
fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number id, got {other}"
        ))),
    }
}

fn option_string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "expected a string or number id, got {other}"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tagged_send_serialises_with_platform_names() {
        let request = SendRequest {
            recipient: Recipient { id: "PSID".into() },
            messaging_type: Some(MessagingType::MessageTag),
            tag: Some(MessageTag::HumanAgent),
            message: Some(OutgoingMessage {
                text: Some("hi".into()),
                ..OutgoingMessage::default()
            }),
            sender_action: None,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"recipient":{"id":"PSID"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"hi"}})
        );
    }

    #[test]
    fn unknown_enum_values_are_tolerated() {
        let tag: MessageTag = serde_json::from_value(json!("SOMETHING_NEW")).unwrap();
        assert_eq!(tag, MessageTag::Unknown);
        let kind: AttachmentKind = serde_json::from_value(json!("hologram")).unwrap();
        assert_eq!(kind, AttachmentKind::Unknown);
    }

    #[test]
    fn display_name_prefers_name_then_first_last_then_username() {
        let mut profile = UserProfile {
            id: "1".into(),
            first_name: Some("Ana".into()),
            last_name: Some("Ruiz".into()),
            username: Some("ana.r".into()),
            ..UserProfile::default()
        };
        assert_eq!(profile.display_name().as_deref(), Some("Ana Ruiz"));
        profile.name = Some("Ana María Ruiz".into());
        assert_eq!(profile.display_name().as_deref(), Some("Ana María Ruiz"));
        let handle_only = UserProfile {
            id: "2".into(),
            username: Some("ana.r".into()),
            ..UserProfile::default()
        };
        assert_eq!(handle_only.display_name().as_deref(), Some("@ana.r"));
        assert_eq!(UserProfile::default().display_name(), None);
    }
}
