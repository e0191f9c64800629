//! WhatsApp Cloud API webhook events as inbox items: messages with their readable body and
//! metadata, and delivery statuses. Must not: verify or store (the parent module does).

use leadline_domain::channel::Channel;
use leadline_domain::messaging::DeliveryStatus;
use leadline_domain::phone::PhoneNumber;
use leadline_whatsapp::webhook::{InboundEvent as WaEvent, MediaKind, MessageContent};
use serde_json::{json, Map, Value};

use super::{at_seconds, WebhookItem};
use crate::store::{InboundContact, InboundMessage};

pub(super) fn whatsapp_item(
    event: WaEvent,
    ai_enabled: bool,
    account_ok: &dyn Fn(&str) -> bool,
) -> WebhookItem {
    match event {
        WaEvent::Message(message) => {
            if !account_ok(&message.phone_number_id) && !account_ok(&message.waba_id) {
                return WebhookItem::AccountMismatch {
                    account_id: message.phone_number_id,
                };
            }
            if matches!(message.content, MessageContent::Reaction { .. }) {
                // A reaction is not something to answer; storing it as a message would make
                // the AI reply to an emoji.
                return WebhookItem::Ignored("reaction");
            }
            let (body, mut metadata) = whatsapp_content(&message.content, message.text());
            metadata.insert("platform".into(), json!("whatsapp"));
            metadata.insert("phoneNumberId".into(), json!(message.phone_number_id));
            if let Some(reply_to) = &message.reply_to {
                metadata.insert("replyTo".into(), json!(reply_to));
            }
            // Best effort: a wa_id is the number's digits; a number libphonenumber rejects keeps
            // the lead without a phone rather than failing the delivery.
            let phone = PhoneNumber::parse(&format!("+{}", message.from), None)
                .ok()
                .map(|p| p.as_str().to_owned());
            WebhookItem::Inbound(Box::new(InboundMessage {
                contact: InboundContact {
                    channel: Channel::Whatsapp,
                    external_id: message.from,
                    phone,
                    display_name: message.profile_name,
                },
                platform_message_id: message.message_id,
                body,
                metadata: Value::Object(metadata),
                sent_at: at_seconds(message.timestamp),
                ai_enabled,
            }))
        }
        WaEvent::Status(status) => {
            if !account_ok(&status.phone_number_id) && !account_ok(&status.waba_id) {
                return WebhookItem::AccountMismatch {
                    account_id: status.phone_number_id,
                };
            }
            use leadline_whatsapp::models::DeliveryStatus as S;
            let ours = match status.status {
                S::Sent => DeliveryStatus::Sent,
                S::Delivered => DeliveryStatus::Delivered,
                S::Read => DeliveryStatus::Read,
                S::Failed => DeliveryStatus::Failed,
                S::Unknown => return WebhookItem::Ignored("unknown_status"),
            };
            let error = status.errors.first().map(|e| {
                format!(
                    "{}: {}",
                    e.code,
                    e.title
                        .as_deref()
                        .or(e.message.as_deref())
                        .unwrap_or("error")
                )
            });
            WebhookItem::Status {
                platform_message_id: status.message_id,
                status: ours,
                error,
                at: at_seconds(status.timestamp),
            }
        }
        WaEvent::Errors {
            phone_number_id,
            errors,
        } => {
            tracing::warn!(%phone_number_id, ?errors, "WhatsApp reported errors for the number");
            WebhookItem::Ignored("platform_errors")
        }
    }
}

/// The readable body and the metadata of a WhatsApp message.
pub(super) fn whatsapp_content(
    content: &MessageContent,
    text: Option<&str>,
) -> (String, Map<String, Value>) {
    let mut metadata = Map::new();
    let placeholder = match content {
        MessageContent::Text { .. } => {
            metadata.insert("type".into(), json!("text"));
            "[text]".to_owned()
        }
        MessageContent::Media {
            kind,
            id,
            mime_type,
            sha256,
            filename,
            ..
        } => {
            let kind = match kind {
                MediaKind::Image => "image",
                MediaKind::Audio => "audio",
                MediaKind::Video => "video",
                MediaKind::Document => "document",
                MediaKind::Sticker => "sticker",
            };
            metadata.insert("type".into(), json!(kind));
            metadata.insert(
                "media".into(),
                json!({"id": id, "mimeType": mime_type, "sha256": sha256, "filename": filename}),
            );
            format!("[{kind}]")
        }
        MessageContent::Location {
            latitude,
            longitude,
            name,
            address,
        } => {
            metadata.insert("type".into(), json!("location"));
            metadata.insert(
                "location".into(),
                json!({"latitude": latitude, "longitude": longitude, "name": name, "address": address}),
            );
            match name.as_deref().or(address.as_deref()) {
                Some(place) => format!("[location: {place}]"),
                None => format!("[location: {latitude}, {longitude}]"),
            }
        }
        MessageContent::Contacts(cards) => {
            metadata.insert("type".into(), json!("contacts"));
            metadata.insert("contacts".into(), cards.clone());
            "[contacts]".to_owned()
        }
        MessageContent::ButtonReply { id, .. } => {
            metadata.insert("type".into(), json!("button_reply"));
            metadata.insert("replyId".into(), json!(id));
            "[button]".to_owned()
        }
        MessageContent::ListReply { id, .. } => {
            metadata.insert("type".into(), json!("list_reply"));
            metadata.insert("replyId".into(), json!(id));
            "[list reply]".to_owned()
        }
        MessageContent::QuickReplyButton { payload, .. } => {
            metadata.insert("type".into(), json!("button"));
            metadata.insert("payload".into(), json!(payload));
            "[button]".to_owned()
        }
        MessageContent::Reaction { message_id, emoji } => {
            metadata.insert("type".into(), json!("reaction"));
            metadata.insert("reactedTo".into(), json!(message_id));
            format!("[reaction {}]", emoji.as_deref().unwrap_or("removed"))
        }
        MessageContent::Unsupported { kind, .. } => {
            metadata.insert("type".into(), json!(kind));
            format!("[unsupported: {kind}]")
        }
    };
    let body = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .unwrap_or(placeholder);
    (body, metadata)
}
