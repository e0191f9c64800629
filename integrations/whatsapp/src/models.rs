//! Serde mirrors of the WhatsApp Cloud API wire format (platforms.md §4): send requests (text,
//! template, mark-as-read), the send answer, and the webhook notification (messages, contacts,
//! statuses, errors).
//!
//! Field names are the platform's, exactly. Unknown enum values are tolerated (`#[serde(other)]`)
//! and unknown fields ignored. Timestamps arrive as strings of unix seconds; both strings and
//! numbers are accepted. No behaviour beyond (de)serialisation lives here.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// The constant `messaging_product` of every Cloud API body.
pub const MESSAGING_PRODUCT: &str = "whatsapp";

// ---------------------------------------------------------------------------------------------
// Send
// ---------------------------------------------------------------------------------------------

/// `POST /{version}/{phone-number-id}/messages` body for a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendMessageRequest {
    /// Always `whatsapp`.
    pub messaging_product: String,
    /// Always `individual` (group messaging is not ours).
    pub recipient_type: String,
    /// The customer's WhatsApp id or phone number (digits, as in the inbound `from`).
    pub to: String,
    /// `type` and its object.
    #[serde(flatten)]
    pub content: OutgoingContent,
    /// Quote a message (reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ContextRef>,
}

impl SendMessageRequest {
    /// A request to `to` with `content`, not quoting anything.
    pub fn new(to: impl Into<String>, content: OutgoingContent) -> Self {
        Self {
            messaging_product: MESSAGING_PRODUCT.to_owned(),
            recipient_type: "individual".to_owned(),
            to: to.into(),
            content,
            context: None,
        }
    }
}

/// `type` plus the object named by it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutgoingContent {
    /// `"type":"text","text":{...}`: only inside the 24 h window.
    Text {
        /// The text object.
        text: TextBody,
    },
    /// `"type":"template","template":{...}`: an approved template, allowed at any time.
    Template {
        /// The template object.
        template: Template,
    },
}

/// `text` of a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextBody {
    /// Link previews off unless asked for.
    pub preview_url: bool,
    /// At most 4096 characters (platforms.md §4).
    pub body: String,
}

/// `context` of a send: the message replied to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextRef {
    /// The quoted `wamid`.
    pub message_id: String,
}

/// `template` of a send (platforms.md §4, WhatsApp Node SDK TemplateObject).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// The approved template's name.
    pub name: String,
    /// Which translation.
    pub language: TemplateLanguage,
    /// Parameters for header, body and buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<TemplateComponent>,
}

/// `template.language`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateLanguage {
    /// `en_US`, `es_MX`...
    pub code: String,
    /// `deterministic` (the only documented policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// One `template.components[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateComponent {
    /// `header`, `body` or `button`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For buttons: `quick_reply` or `url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// For buttons: the button's position, as a string (`"0"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The values, in order.
    #[serde(default)]
    pub parameters: Vec<TemplateParameter>,
}

/// One template parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TemplateParameter {
    /// `{"type":"text","text":"Alice"}`.
    Text {
        /// The value.
        text: String,
    },
    /// `{"type":"payload","payload":"YES"}` (quick-reply buttons).
    Payload {
        /// Returned in the `button` webhook when pressed.
        payload: String,
    },
    /// `{"type":"currency","currency":{...}}`, passed through.
    Currency {
        /// `{fallback_value, code, amount_1000}`.
        currency: Value,
    },
    /// `{"type":"date_time","date_time":{...}}`, passed through.
    DateTime {
        /// `{fallback_value}`.
        date_time: Value,
    },
    /// `{"type":"image","image":{"link"|"id"}}`.
    Image {
        /// Media reference.
        image: Value,
    },
    /// `{"type":"document","document":{...}}`.
    Document {
        /// Media reference.
        document: Value,
    },
    /// `{"type":"video","video":{...}}`.
    Video {
        /// Media reference.
        video: Value,
    },
}

/// Mark-as-read body: `{"messaging_product":"whatsapp","status":"read","message_id":".."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkReadRequest {
    /// Always `whatsapp`.
    pub messaging_product: String,
    /// Always `read`.
    pub status: String,
    /// The inbound `wamid` to mark read.
    pub message_id: String,
}

/// 200 answer to a message send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendResponse {
    /// `whatsapp`.
    #[serde(default)]
    pub messaging_product: String,
    /// The recipient as given and as resolved.
    #[serde(default)]
    pub contacts: Vec<SendContact>,
    /// The accepted message(s).
    #[serde(default)]
    pub messages: Vec<SentMessageId>,
}

/// `contacts[]` of a send answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendContact {
    /// The `to` we sent.
    pub input: String,
    /// The WhatsApp id it resolved to.
    pub wa_id: String,
}

/// `messages[]` of a send answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentMessageId {
    /// The new `wamid`.
    pub id: String,
    /// Templates: `accepted` / `held_for_quality_assessment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_status: Option<String>,
}

/// `{"success": true}` answer to mark-as-read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessResponse {
    /// Whether Graph did it.
    pub success: bool,
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/// The webhook body: `{"object":"whatsapp_business_account","entry":[...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `whatsapp_business_account`.
    pub object: String,
    /// Batched entries.
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One `entry[]`: one WhatsApp Business Account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The WABA id.
    #[serde(default)]
    pub id: String,
    /// Field changes; only `messages` is messaging.
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One `changes[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// `messages` (others: template status, account updates...). Some senders omit it.
    #[serde(default)]
    pub field: Option<String>,
    /// Kept raw so one odd item cannot hide the others.
    #[serde(default)]
    pub value: Value,
}

/// `changes[].value` of the `messages` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagesValue {
    /// `whatsapp`.
    #[serde(default)]
    pub messaging_product: Option<String>,
    /// Which business number it is for.
    pub metadata: Metadata,
    /// Profiles of the senders.
    #[serde(default)]
    pub contacts: Vec<WebhookContact>,
    /// Inbound messages, kept raw (decoded one by one).
    #[serde(default)]
    pub messages: Vec<Value>,
    /// Outbound delivery statuses, kept raw.
    #[serde(default)]
    pub statuses: Vec<Value>,
    /// Errors not tied to one message.
    #[serde(default)]
    pub errors: Vec<WebhookError>,
}

/// `value.metadata`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The business number as displayed.
    #[serde(default)]
    pub display_phone_number: Option<String>,
    /// The phone number id (which tenant connection).
    pub phone_number_id: String,
}

/// `value.contacts[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookContact {
    /// The customer's profile.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// The customer's WhatsApp id.
    pub wa_id: String,
}

/// `contacts[].profile`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The name the customer set.
    #[serde(default)]
    pub name: Option<String>,
}

/// One `value.messages[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookMessage {
    /// The customer's WhatsApp id.
    pub from: String,
    /// The `wamid` (dedup key).
    pub id: String,
    /// Unix seconds (a string on the wire).
    #[serde(deserialize_with = "int_from_string_or_number")]
    pub timestamp: i64,
    /// What it is.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// `text`.
    #[serde(default)]
    pub text: Option<InboundText>,
    /// `image`.
    #[serde(default)]
    pub image: Option<Media>,
    /// `audio` (voice notes too).
    #[serde(default)]
    pub audio: Option<Media>,
    /// `video`.
    #[serde(default)]
    pub video: Option<Media>,
    /// `document`.
    #[serde(default)]
    pub document: Option<Media>,
    /// `sticker`.
    #[serde(default)]
    pub sticker: Option<Media>,
    /// `location`.
    #[serde(default)]
    pub location: Option<Location>,
    /// `contacts` (vCards), passed through.
    #[serde(default)]
    pub contacts: Option<Value>,
    /// `interactive`: a reply button or list choice.
    #[serde(default)]
    pub interactive: Option<Interactive>,
    /// `button`: a template quick-reply press.
    #[serde(default)]
    pub button: Option<ButtonPress>,
    /// `reaction`.
    #[serde(default)]
    pub reaction: Option<InboundReaction>,
    /// The message this one replies to.
    #[serde(default)]
    pub context: Option<InboundContext>,
    /// On `unsupported` messages: why.
    #[serde(default)]
    pub errors: Vec<WebhookError>,
}

/// `messages[].type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// Text.
    Text,
    /// Picture.
    Image,
    /// Audio or voice note.
    Audio,
    /// Video.
    Video,
    /// File.
    Document,
    /// Sticker.
    Sticker,
    /// Shared location.
    Location,
    /// Shared contacts.
    Contacts,
    /// Reply button / list choice.
    Interactive,
    /// Template quick-reply press.
    Button,
    /// Reaction to a message.
    Reaction,
    /// WhatsApp says it cannot show this message.
    Unsupported,
    /// Anything newer than this crate (`#[serde(other)]`).
    #[serde(other)]
    Unknown,
}

/// `text` of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundText {
    /// The text.
    pub body: String,
}

/// `image` / `audio` / `video` / `document` / `sticker`: a media id to download with the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// The media id.
    pub id: String,
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Hash of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Caption (image, video, document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// File name (document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

/// `location`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Degrees.
    pub latitude: f64,
    /// Degrees.
    pub longitude: f64,
    /// Place name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `interactive`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interactive {
    /// `button_reply` or `list_reply`.
    #[serde(rename = "type")]
    pub kind: InteractiveType,
    /// Set for `button_reply`.
    #[serde(default)]
    pub button_reply: Option<ReplyChoice>,
    /// Set for `list_reply`.
    #[serde(default)]
    pub list_reply: Option<ReplyChoice>,
}

/// `interactive.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractiveType {
    /// A reply button.
    ButtonReply,
    /// A list row.
    ListReply,
    /// Anything else (e.g. flows' `nfm_reply`).
    #[serde(other)]
    Unknown,
}

/// `button_reply` / `list_reply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyChoice {
    /// The id we gave the button or row.
    pub id: String,
    /// Its label.
    #[serde(default)]
    pub title: String,
    /// List rows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `button` (template quick reply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonPress {
    /// The payload set in the template send.
    #[serde(default)]
    pub payload: Option<String>,
    /// The button's label.
    #[serde(default)]
    pub text: Option<String>,
}

/// `reaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundReaction {
    /// The `wamid` reacted to.
    pub message_id: String,
    /// The emoji; absent or empty when the reaction was removed.
    #[serde(default)]
    pub emoji: Option<String>,
}

/// `context` of an inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundContext {
    /// Who sent the quoted message.
    #[serde(default)]
    pub from: Option<String>,
    /// The quoted `wamid`.
    #[serde(default)]
    pub id: Option<String>,
}

/// One `value.statuses[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookStatus {
    /// The `wamid` of our message.
    pub id: String,
    /// `sent`, `delivered`, `read` or `failed`.
    pub status: DeliveryStatus,
    /// Unix seconds (a string on the wire).
    #[serde(deserialize_with = "int_from_string_or_number")]
    pub timestamp: i64,
    /// The customer.
    #[serde(default)]
    pub recipient_id: String,
    /// Billing conversation.
    #[serde(default)]
    pub conversation: Option<Conversation>,
    /// Pricing.
    #[serde(default)]
    pub pricing: Option<Pricing>,
    /// Why it failed (on `failed`).
    #[serde(default)]
    pub errors: Vec<WebhookError>,
}

/// `statuses[].status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Accepted by WhatsApp.
    Sent,
    /// On the phone (may be skipped when read at once).
    Delivered,
    /// Read.
    Read,
    /// Not delivered; see `errors`.
    Failed,
    /// Anything newer than this crate (`deleted`, `warning`...).
    #[serde(other)]
    Unknown,
}

/// `statuses[].conversation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Conversation id.
    pub id: String,
    /// Unix seconds.
    #[serde(default)]
    pub expiration_timestamp: Option<String>,
    /// `{type: service|marketing|utility|authentication...}`.
    #[serde(default)]
    pub origin: Option<Value>,
}

/// `statuses[].pricing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pricing {
    /// Whether it is charged.
    #[serde(default)]
    pub billable: Option<bool>,
    /// `CBP`, `PMP`...
    #[serde(default)]
    pub pricing_model: Option<String>,
    /// `service`, `marketing`...
    #[serde(default)]
    pub category: Option<String>,
}

/// An async error (`value.errors[]`, `statuses[].errors[]`, `messages[].errors[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookError {
    /// Cloud API code (130429, 131047...).
    pub code: i64,
    /// Short title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `{details}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<WebhookErrorData>,
    /// Link to the error's documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

/// `errors[].error_data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookErrorData {
    /// The explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// The Cloud API writes unix timestamps as strings (`"1749416383"`); numbers are accepted too.
fn int_from_string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    match Value::deserialize(deserializer)? {
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("timestamp {s:?} is not an integer"))),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("timestamp out of range")),
        other => Err(serde::de::Error::custom(format!(
            "expected a timestamp, got {other}"
        ))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_sends_serialise_like_platforms_md() {
        let mut request = SendMessageRequest::new(
            "16505551234",
            OutgoingContent::Text {
                text: TextBody {
                    preview_url: false,
                    body: "Hello".into(),
                },
            },
        );
        request.context = Some(ContextRef {
            message_id: "wamid.X".into(),
        });
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"text","text":{"preview_url":false,"body":"Hello"},"context":{"message_id":"wamid.X"}})
        );
    }

    #[test]
    fn template_parameters_are_type_tagged() {
        let component = TemplateComponent {
            kind: "button".into(),
            sub_type: Some("quick_reply".into()),
            index: Some("0".into()),
            parameters: vec![TemplateParameter::Payload {
                payload: "YES".into(),
            }],
        };
        assert_eq!(
            serde_json::to_value(&component).unwrap(),
            json!({"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"YES"}]})
        );
    }

    #[test]
    fn unknown_kinds_and_numeric_timestamps_are_tolerated() {
        let message: WebhookMessage = serde_json::from_value(
            json!({"from":"1","id":"wamid.1","timestamp":1749416383,"type":"hologram"}),
        )
        .unwrap();
        assert_eq!(
            (message.kind, message.timestamp),
            (MessageType::Unknown, 1_749_416_383)
        );
        let status: DeliveryStatus = serde_json::from_value(json!("deleted")).unwrap();
        assert_eq!(status, DeliveryStatus::Unknown);
    }
}
