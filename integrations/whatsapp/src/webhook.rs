//! WhatsApp Cloud API webhooks (platforms.md §4): verify `X-Hub-Signature-256` on the raw bytes
//! (through `leadline_meta::signature`, the one implementation), then normalise every message,
//! status and error of every `entry[].changes[]` with `field: messages` into [`InboundEvent`]s.
//!
//! Parsing is tolerant per item: a message of a type we do not model becomes
//! `MessageContent::Unsupported`, an item that cannot be decoded at all is logged and skipped,
//! and other `field`s (template status, account updates) are ignored — so one odd item never
//! makes Graph redeliver a whole batch. Only a body that is not a notification is `Decode`.
//! Graph signs no timestamp: dedup on `wamid` (platforms.md §4).

use std::collections::HashMap;

use http::HeaderMap;
use serde_json::Value;

use crate::error::Error;
use crate::models::{
    DeliveryStatus, InteractiveType, Media, MessageType, MessagesValue, Notification, WebhookError,
    WebhookMessage, WebhookStatus,
};

pub use leadline_meta::subscription::{HubChallenge, SubscriptionRefused};

/// The `object` of WhatsApp notifications.
pub const OBJECT: &str = "whatsapp_business_account";

/// Verifies `X-Hub-Signature-256` over `raw_body` with any of `app_secrets` (the Meta app
/// secret; more than one during a rotation).
pub fn verify(headers: &HeaderMap, raw_body: &[u8], app_secrets: &[&str]) -> Result<(), Error> {
    leadline_meta::signature::verify_hub_signature_256(headers, raw_body, app_secrets)?;
    Ok(())
}

/// One normalised webhook event.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundEvent {
    /// A customer wrote.
    Message(InboundMessage),
    /// One of our messages changed state.
    Status(StatusUpdate),
    /// Errors about the number or app, not tied to a message (`value.errors[]`).
    Errors {
        /// Which business number.
        phone_number_id: String,
        /// What went wrong.
        errors: Vec<PlatformError>,
    },
}

/// A customer's message.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    /// `entry[].id`: the WhatsApp Business Account.
    pub waba_id: String,
    /// `metadata.phone_number_id`: which tenant connection.
    pub phone_number_id: String,
    /// `metadata.display_phone_number`.
    pub display_phone_number: Option<String>,
    /// The customer's WhatsApp id (digits; the lead's phone without `+`).
    pub from: String,
    /// `contacts[].profile.name` of the sender, when sent.
    pub profile_name: Option<String>,
    /// The `wamid` (dedup key).
    pub message_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// The `wamid` this replies to (`context.id`).
    pub reply_to: Option<String>,
    /// What was sent.
    pub content: MessageContent,
}

impl InboundMessage {
    /// The text a human would read in it: the body, a caption, or the label of the button or
    /// list row chosen. `None` for media without caption, locations, reactions...
    pub fn text(&self) -> Option<&str> {
        match &self.content {
            MessageContent::Text { body } => Some(body),
            MessageContent::Media { caption, .. } => caption.as_deref(),
            MessageContent::ButtonReply { title, .. } | MessageContent::ListReply { title, .. } => {
                Some(title)
            }
            MessageContent::QuickReplyButton { text, payload } => {
                text.as_deref().or(payload.as_deref())
            }
            _ => None,
        }
    }
}

/// What a customer sent.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    /// `text`.
    Text {
        /// The text.
        body: String,
    },
    /// `image`, `audio`, `video`, `document`, `sticker`: a media id to fetch with the token.
    Media {
        /// Which.
        kind: MediaKind,
        /// The media id.
        id: String,
        /// MIME type.
        mime_type: Option<String>,
        /// File hash.
        sha256: Option<String>,
        /// Caption.
        caption: Option<String>,
        /// File name (documents).
        filename: Option<String>,
    },
    /// `location`.
    Location {
        /// Degrees.
        latitude: f64,
        /// Degrees.
        longitude: f64,
        /// Place name.
        name: Option<String>,
        /// Address.
        address: Option<String>,
    },
    /// `contacts`: shared vCards, passed through.
    Contacts(Value),
    /// `interactive.button_reply`.
    ButtonReply {
        /// The button id we set.
        id: String,
        /// Its label.
        title: String,
    },
    /// `interactive.list_reply`.
    ListReply {
        /// The row id we set.
        id: String,
        /// Its label.
        title: String,
        /// Its description.
        description: Option<String>,
    },
    /// `button`: a template quick-reply press.
    QuickReplyButton {
        /// The payload set at send time.
        payload: Option<String>,
        /// The label.
        text: Option<String>,
    },
    /// `reaction`: `emoji` `None` when a reaction was removed.
    Reaction {
        /// The `wamid` reacted to.
        message_id: String,
        /// The emoji.
        emoji: Option<String>,
    },
    /// A type WhatsApp cannot show (`unsupported`) or this crate does not know.
    Unsupported {
        /// The wire `type` (or `unknown`).
        kind: String,
        /// WhatsApp's explanation, when given.
        errors: Vec<PlatformError>,
    },
}

/// Which media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
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
}

/// A delivery status of one of our messages. `delivered` may be skipped and order is not
/// guaranteed (platforms.md §4): never move a status backwards.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// `entry[].id`.
    pub waba_id: String,
    /// Which business number sent it.
    pub phone_number_id: String,
    /// Our message's `wamid`.
    pub message_id: String,
    /// The customer.
    pub recipient_id: String,
    /// sent / delivered / read / failed (unknown values tolerated).
    pub status: DeliveryStatus,
    /// Unix seconds.
    pub timestamp: i64,
    /// Billing conversation id.
    pub conversation_id: Option<String>,
    /// Pricing category (`service`, `marketing`...).
    pub pricing_category: Option<String>,
    /// Why it failed.
    pub errors: Vec<PlatformError>,
}

/// An asynchronous Cloud API error (platforms.md §4: `{code,title,message,error_data{details}}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformError {
    /// 131047, 130429, 131026...
    pub code: i64,
    /// Short title.
    pub title: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// `error_data.details`.
    pub details: Option<String>,
}

impl From<WebhookError> for PlatformError {
    fn from(error: WebhookError) -> Self {
        Self {
            code: error.code,
            title: error.title,
            message: error.message,
            details: error.error_data.and_then(|d| d.details),
        }
    }
}

/// Decodes a verified body into its events, in delivery order. `object` other than
/// `whatsapp_business_account` is `Unsupported`; a body that is not a notification is `Decode`.
pub fn parse(raw_body: &[u8]) -> Result<Vec<InboundEvent>, Error> {
    let notification: Notification = serde_json::from_slice(raw_body)
        .map_err(|e| Error::Decode(format!("webhook body: {e}")))?;
    if notification.object != OBJECT {
        return Err(Error::Unsupported(
            "webhook object other than whatsapp_business_account",
        ));
    }
    let mut events = Vec::new();
    for entry in notification.entry {
        for change in entry.changes {
            // Some test tools omit `field`; a value with metadata is still a messages change.
            if change.field.as_deref().is_some_and(|f| f != "messages") {
                tracing::debug!(field = ?change.field, "ignoring non-messaging change");
                continue;
            }
            let value: MessagesValue = match serde_json::from_value(change.value) {
                Ok(value) => value,
                Err(error) => {
                    tracing::warn!(%error, "undecodable messages change skipped");
                    continue;
                }
            };
            collect(&entry.id, value, &mut events);
        }
    }
    Ok(events)
}

fn collect(waba_id: &str, value: MessagesValue, events: &mut Vec<InboundEvent>) {
    let phone_number_id = value.metadata.phone_number_id;
    let display_phone_number = value.metadata.display_phone_number;
    let names: HashMap<String, String> = value
        .contacts
        .into_iter()
        .filter_map(|c| Some((c.wa_id, c.profile?.name?)))
        .collect();
    for raw in value.messages {
        // Kept before decoding: `#[serde(other)]` forgets the name of a type we do not know.
        let wire_type = raw
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_owned();
        match serde_json::from_value::<WebhookMessage>(raw) {
            Ok(message) => events.push(InboundEvent::Message(InboundMessage {
                waba_id: waba_id.to_owned(),
                phone_number_id: phone_number_id.clone(),
                display_phone_number: display_phone_number.clone(),
                profile_name: names.get(&message.from).cloned(),
                reply_to: message.context.as_ref().and_then(|c| c.id.clone()),
                from: message.from.clone(),
                message_id: message.id.clone(),
                timestamp: message.timestamp,
                content: content_of(message, &wire_type),
            })),
            // Without `from`/`id` there is nothing to attach it to or dedup on.
            Err(error) => tracing::warn!(%error, "undecodable WhatsApp message skipped"),
        }
    }
    for raw in value.statuses {
        match serde_json::from_value::<WebhookStatus>(raw) {
            Ok(status) => events.push(InboundEvent::Status(StatusUpdate {
                waba_id: waba_id.to_owned(),
                phone_number_id: phone_number_id.clone(),
                message_id: status.id,
                recipient_id: status.recipient_id,
                status: status.status,
                timestamp: status.timestamp,
                conversation_id: status.conversation.map(|c| c.id),
                pricing_category: status.pricing.and_then(|p| p.category),
                errors: status.errors.into_iter().map(PlatformError::from).collect(),
            })),
            Err(error) => tracing::warn!(%error, "undecodable WhatsApp status skipped"),
        }
    }
    if !value.errors.is_empty() {
        events.push(InboundEvent::Errors {
            phone_number_id,
            errors: value.errors.into_iter().map(PlatformError::from).collect(),
        });
    }
}

fn content_of(message: WebhookMessage, wire_type: &str) -> MessageContent {
    let unsupported = |kind: &str, errors: Vec<WebhookError>| MessageContent::Unsupported {
        kind: kind.to_owned(),
        errors: errors.into_iter().map(PlatformError::from).collect(),
    };
    let media = |kind: MediaKind, media: Option<Media>| match media {
        Some(m) => MessageContent::Media {
            kind,
            id: m.id,
            mime_type: m.mime_type,
            sha256: m.sha256,
            caption: m.caption,
            filename: m.filename,
        },
        None => MessageContent::Unsupported {
            kind: format!("{kind:?} without its object").to_lowercase(),
            errors: Vec::new(),
        },
    };
    match message.kind {
        MessageType::Text => match message.text {
            Some(text) => MessageContent::Text { body: text.body },
            None => unsupported("text without body", message.errors),
        },
        MessageType::Image => media(MediaKind::Image, message.image),
        MessageType::Audio => media(MediaKind::Audio, message.audio),
        MessageType::Video => media(MediaKind::Video, message.video),
        MessageType::Document => media(MediaKind::Document, message.document),
        MessageType::Sticker => media(MediaKind::Sticker, message.sticker),
        MessageType::Location => match message.location {
            Some(l) => MessageContent::Location {
                latitude: l.latitude,
                longitude: l.longitude,
                name: l.name,
                address: l.address,
            },
            None => unsupported("location without its object", message.errors),
        },
        MessageType::Contacts => MessageContent::Contacts(message.contacts.unwrap_or(Value::Null)),
        MessageType::Interactive => match message.interactive {
            Some(i) => match (i.kind, i.button_reply, i.list_reply) {
                (InteractiveType::ButtonReply, Some(b), _) => MessageContent::ButtonReply {
                    id: b.id,
                    title: b.title,
                },
                (InteractiveType::ListReply, _, Some(l)) => MessageContent::ListReply {
                    id: l.id,
                    title: l.title,
                    description: l.description,
                },
                _ => unsupported("interactive", message.errors),
            },
            None => unsupported("interactive", message.errors),
        },
        MessageType::Button => match message.button {
            Some(b) => MessageContent::QuickReplyButton {
                payload: b.payload,
                text: b.text,
            },
            None => unsupported("button", message.errors),
        },
        MessageType::Reaction => match message.reaction {
            Some(r) => MessageContent::Reaction {
                message_id: r.message_id,
                emoji: r.emoji.filter(|e| !e.is_empty()),
            },
            None => unsupported("reaction", message.errors),
        },
        MessageType::Unsupported => unsupported("unsupported", message.errors),
        MessageType::Unknown => unsupported(wire_type, message.errors),
    }
}
