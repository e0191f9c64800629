//! Messenger and Instagram webhook events (Graph `messaging` entries) as inbox items:
//! messages, deliveries and reads. Must not: verify or store (the parent module does).

use leadline_domain::channel::Channel;
use leadline_domain::messaging::DeliveryStatus;
use leadline_meta::webhook::{EventKind, InboundEvent as MetaEvent};
use serde_json::{json, Map, Value};

use super::{at_millis, WebhookItem};
use crate::store::{InboundContact, InboundMessage};

pub(super) fn meta_item(
    channel: Channel,
    event: MetaEvent,
    ai_enabled: bool,
    account_ok: &dyn Fn(&str) -> bool,
) -> WebhookItem {
    if !account_ok(&event.account_id) {
        return WebhookItem::AccountMismatch {
            account_id: event.account_id,
        };
    }
    let platform = match channel {
        Channel::Instagram => "instagram",
        _ => "messenger",
    };
    let at = at_millis(event.timestamp_ms);
    // Under `standby[]` another app holds the thread: keep the message, do not answer it.
    let ai_enabled = ai_enabled && !event.standby;
    let user_id = event.sender_id.clone();
    let inbound = |mid: String, body: String, mut metadata: Map<String, Value>| {
        metadata.insert("platform".into(), json!(platform));
        metadata.insert("accountId".into(), json!(event.account_id));
        if event.standby {
            metadata.insert("standby".into(), json!(true));
        }
        WebhookItem::Inbound(Box::new(InboundMessage {
            contact: InboundContact {
                channel,
                external_id: user_id.clone(),
                phone: None,
                // Graph sends no name with messages; fetching the profile is an outbound call,
                // which does not belong on the webhook's request path.
                display_name: None,
            },
            platform_message_id: mid,
            body,
            metadata: Value::Object(metadata),
            sent_at: at,
            ai_enabled,
        }))
    };
    match &event.kind {
        EventKind::Message(message) => {
            if event.sender_id.is_empty() || event.sender_id == event.account_id {
                // Our own account speaking (an echo without the flag): never a lead.
                return WebhookItem::Ignored("own_message");
            }
            let mut metadata = Map::new();
            metadata.insert("type".into(), json!("message"));
            if let Some(reply_to) = &message.reply_to_mid {
                metadata.insert("replyTo".into(), json!(reply_to));
            }
            if let Some(payload) = &message.quick_reply_payload {
                metadata.insert("quickReplyPayload".into(), json!(payload));
            }
            let kinds: Vec<String> = message
                .attachments
                .iter()
                .map(|a| {
                    serde_json::to_value(a.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "attachment".into())
                })
                .collect();
            if !message.attachments.is_empty() {
                metadata.insert(
                    "attachments".into(),
                    Value::Array(
                        message
                            .attachments
                            .iter()
                            .zip(&kinds)
                            .map(|(a, kind)| json!({"type": kind, "url": a.url}))
                            .collect(),
                    ),
                );
            }
            let body = message
                .text
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| match kinds.first() {
                    Some(kind) => format!("[{kind}]"),
                    None => "[empty message]".to_owned(),
                });
            inbound(message.mid.clone(), body, metadata)
        }
        EventKind::Postback {
            mid: Some(mid),
            title,
            payload,
        } => {
            let mut metadata = Map::new();
            metadata.insert("type".into(), json!("postback"));
            metadata.insert("payload".into(), json!(payload));
            let body = title
                .clone()
                .or_else(|| payload.clone())
                .unwrap_or_else(|| "[button]".into());
            inbound(mid.clone(), body, metadata)
        }
        // Without a mid a postback cannot be deduplicated against redeliveries.
        EventKind::Postback { mid: None, .. } => WebhookItem::Ignored("postback_without_mid"),
        EventKind::Echo(_) => WebhookItem::Ignored("echo"),
        EventKind::Deleted { .. } => WebhookItem::Ignored("deleted"),
        EventKind::Reaction { .. } => WebhookItem::Ignored("reaction"),
        EventKind::Unsupported { .. } => WebhookItem::Ignored("unsupported"),
        // Graph lists each delivered mid; a watermark-only delivery names no message (we would
        // need "everything before" semantics the store does not offer).
        EventKind::Delivery { mids, .. } if mids.is_empty() => {
            WebhookItem::Ignored("delivery_watermark")
        }
        EventKind::Delivery { mids, .. } => WebhookItem::Statuses(
            mids.iter()
                .map(|mid| (mid.clone(), DeliveryStatus::Delivered, at))
                .collect(),
        ),
        EventKind::Read { mid: Some(mid), .. } => WebhookItem::Status {
            platform_message_id: mid.clone(),
            status: DeliveryStatus::Read,
            error: None,
            at,
        },
        EventKind::Read { mid: None, .. } => WebhookItem::Ignored("read_watermark"),
    }
}
