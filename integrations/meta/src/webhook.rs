//! Messenger and Instagram webhooks (platforms.md §5): verify `X-Hub-Signature-256` on the raw
//! bytes, then normalise every `entry[].messaging[]` / `standby[]` item into an [`InboundEvent`].
//!
//! Order matters: `verify` first, `parse` only what verified. Parsing is tolerant per item: an
//! item of a kind we do not know (or cannot decode) becomes `EventKind::Unsupported` instead of
//! failing the batch, because Graph would otherwise redeliver the whole batch for days. Only a
//! body that is not a notification at all is a `Decode` error. `changes[]` (comments, mentions)
//! are not messaging and are skipped here.

use http::HeaderMap;
use serde_json::Value;

use crate::client::Channel;
use crate::error::Error;
use crate::models::{
    AttachmentKind, MessagingEvent, Notification, ReactionAction, WebhookAttachment,
};
use crate::signature;

pub use crate::subscription::{HubChallenge, SubscriptionRefused};

/// Verifies `X-Hub-Signature-256` over `raw_body` with any of the tenant's `app_secrets`.
/// Graph signs no timestamp (platforms.md Appendix: no replay window); dedup on `mid` instead.
pub fn verify(headers: &HeaderMap, raw_body: &[u8], app_secrets: &[&str]) -> Result<(), Error> {
    signature::verify_hub_signature_256(headers, raw_body, app_secrets)?;
    Ok(())
}

/// One normalised messaging event.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEvent {
    /// `page` → Messenger, `instagram` → Instagram.
    pub channel: Channel,
    /// `entry[].id`: the Page id or Instagram account id (which tenant connection it is for).
    pub account_id: String,
    /// `sender.id`: the user (PSID/IGSID), or the account itself on echoes.
    pub sender_id: String,
    /// `recipient.id`: the account, or the user on echoes.
    pub recipient_id: String,
    /// Epoch milliseconds of the event, when sent.
    pub timestamp_ms: Option<i64>,
    /// True when it came under `standby[]` (another app holds thread control): record it, do not
    /// answer it.
    pub standby: bool,
    /// What happened.
    pub kind: EventKind,
}

impl InboundEvent {
    /// The user's id in this conversation: the recipient of an echo, the sender otherwise.
    pub fn user_id(&self) -> &str {
        match self.kind {
            EventKind::Echo(_) => &self.recipient_id,
            _ => &self.sender_id,
        }
    }
}

/// What a messaging event is.
#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    /// The user wrote (or sent media).
    Message(Message),
    /// A message the account itself sent (`is_echo: true`): ours or a human's in the Inbox.
    /// Never answer it; use `Echo::is_from_app` to detect a human taking over.
    Echo(Echo),
    /// Instagram: the user deleted message `mid`.
    Deleted {
        /// The deleted message.
        mid: String,
    },
    /// The user pressed a button.
    Postback {
        /// Postback message id.
        mid: Option<String>,
        /// Button label.
        title: Option<String>,
        /// The button's payload.
        payload: Option<String>,
    },
    /// Messages were delivered.
    Delivery {
        /// The delivered ids (may be empty: then use the watermark).
        mids: Vec<String>,
        /// Everything before this epoch-ms instant was delivered.
        watermark: Option<i64>,
    },
    /// The user read messages.
    Read {
        /// Messenger: everything before this epoch-ms instant was read.
        watermark: Option<i64>,
        /// Instagram: the message read.
        mid: Option<String>,
    },
    /// A reaction was added or removed.
    Reaction {
        /// The message reacted to.
        mid: Option<String>,
        /// `react` / `unreact`.
        action: ReactionAction,
        /// Named reaction.
        reaction: Option<String>,
        /// The emoji.
        emoji: Option<String>,
    },
    /// An item this crate does not model (or could not decode): recorded, not answered.
    Unsupported {
        /// Why it is unsupported (its keys or the decode error).
        reason: String,
    },
}

/// A user's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The message id (dedup key).
    pub mid: String,
    /// Text, if any.
    pub text: Option<String>,
    /// Payload of a tapped quick reply.
    pub quick_reply_payload: Option<String>,
    /// The message this one replies to.
    pub reply_to_mid: Option<String>,
    /// Media and other attachments.
    pub attachments: Vec<Attachment>,
}

/// A message attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// What it is.
    pub kind: AttachmentKind,
    /// `payload.url`, when it has one.
    pub url: Option<String>,
}

/// A message the account sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echo {
    /// The message id (the `message_id` the Send API returned, for our own sends).
    pub mid: String,
    /// Text, if any.
    pub text: Option<String>,
    /// The app that sent it; `None` when a person used the Inbox.
    pub app_id: Option<String>,
    /// The `metadata` set at send time.
    pub metadata: Option<String>,
}

impl Echo {
    /// Whether our app (id `our_app_id`) sent this echo. False means a human (or another app)
    /// answered: the conversation is being taken over (platforms.md §5).
    pub fn is_from_app(&self, our_app_id: &str) -> bool {
        self.app_id.as_deref() == Some(our_app_id)
    }
}

/// Decodes a verified body into its events, in delivery order (entries, then `messaging[]`, then
/// `standby[]`). `object` other than `page` / `instagram` is `Unsupported`; a body that is not a
/// notification is `Decode`.
pub fn parse(raw_body: &[u8]) -> Result<Vec<InboundEvent>, Error> {
    let notification: Notification = serde_json::from_slice(raw_body)
        .map_err(|e| Error::Decode(format!("webhook body: {e}")))?;
    let channel = match notification.object.as_str() {
        "page" => Channel::Messenger,
        "instagram" => Channel::Instagram,
        _ => {
            return Err(Error::Unsupported(
                "webhook object other than page or instagram",
            ))
        }
    };
    let mut events = Vec::new();
    for entry in notification.entry {
        let items = entry
            .messaging
            .iter()
            .map(|item| (item, false))
            .chain(entry.standby.iter().map(|item| (item, true)));
        for (item, standby) in items {
            events.push(normalise(channel, &entry.id, item, standby));
        }
    }
    Ok(events)
}

fn normalise(channel: Channel, account_id: &str, item: &Value, standby: bool) -> InboundEvent {
    let party = |key: &str| {
        item.get(key)
            .and_then(|p| p.get("id"))
            .map(|id| match id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .unwrap_or_default()
    };
    let kind = match serde_json::from_value::<MessagingEvent>(item.clone()) {
        Ok(decoded) => kind_of(decoded, item),
        Err(e) => {
            tracing::warn!(error = %e, "undecodable messaging item");
            EventKind::Unsupported {
                reason: format!("undecodable item: {e}"),
            }
        }
    };
    InboundEvent {
        channel,
        account_id: account_id.to_owned(),
        sender_id: party("sender"),
        recipient_id: party("recipient"),
        timestamp_ms: item.get("timestamp").and_then(Value::as_i64),
        standby,
        kind,
    }
}

fn kind_of(event: MessagingEvent, raw: &Value) -> EventKind {
    if let Some(message) = event.message {
        let Some(mid) = message.mid.filter(|m| !m.is_empty()) else {
            return EventKind::Unsupported {
                reason: "message without mid".into(),
            };
        };
        if message.is_deleted {
            return EventKind::Deleted { mid };
        }
        if message.is_echo {
            return EventKind::Echo(Echo {
                mid,
                text: message.text,
                app_id: message.app_id,
                metadata: message.metadata,
            });
        }
        return EventKind::Message(Message {
            mid,
            text: message.text,
            quick_reply_payload: message.quick_reply.map(|q| q.payload),
            reply_to_mid: message.reply_to.and_then(|r| r.mid),
            attachments: message.attachments.into_iter().map(attachment).collect(),
        });
    }
    if let Some(postback) = event.postback {
        return EventKind::Postback {
            mid: postback.mid,
            title: postback.title,
            payload: postback.payload,
        };
    }
    if let Some(reaction) = event.reaction {
        return EventKind::Reaction {
            mid: reaction.mid,
            action: reaction.action,
            reaction: reaction.reaction,
            emoji: reaction.emoji,
        };
    }
    if let Some(read) = event.read {
        return EventKind::Read {
            watermark: read.watermark,
            mid: read.mid,
        };
    }
    if let Some(delivery) = event.delivery {
        return EventKind::Delivery {
            mids: delivery.mids,
            watermark: delivery.watermark,
        };
    }
    let keys = raw
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| !matches!(k.as_str(), "sender" | "recipient" | "timestamp"))
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    EventKind::Unsupported {
        reason: format!("unknown messaging item with keys [{keys}]"),
    }
}

fn attachment(attachment: WebhookAttachment) -> Attachment {
    let url = attachment
        .payload
        .as_ref()
        .and_then(|p| p.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Attachment {
        kind: attachment.kind,
        url,
    }
}
