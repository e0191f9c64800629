//! TikTok Business direct-message webhook events as inbox items. Must not: verify or store
//! (the parent module does).

use leadline_domain::channel::Channel;
use leadline_tiktok::webhook::{DmContent, InboundEvent as TikTokEvent};
use serde_json::{json, Map, Value};

use super::{at_seconds, WebhookItem};
use crate::store::{InboundContact, InboundMessage};

pub(super) fn tiktok_item(
    event: TikTokEvent,
    ai_enabled: bool,
    account_ok: &dyn Fn(&str) -> bool,
) -> WebhookItem {
    match event {
        TikTokEvent::DirectMessage(dm) => {
            if !account_ok(&dm.account_open_id) {
                return WebhookItem::AccountMismatch {
                    account_id: dm.account_open_id,
                };
            }
            if dm.sender_open_id == dm.account_open_id {
                return WebhookItem::Ignored("own_message");
            }
            let mut metadata = Map::new();
            metadata.insert("platform".into(), json!("tiktok"));
            metadata.insert("accountOpenId".into(), json!(dm.account_open_id));
            if let Some(conversation) = &dm.conversation_id {
                metadata.insert("tiktokConversationId".into(), json!(conversation));
            }
            let body = match &dm.content {
                DmContent::Text { text } if !text.trim().is_empty() => {
                    metadata.insert("type".into(), json!("text"));
                    text.trim().to_owned()
                }
                DmContent::Text { .. } => {
                    metadata.insert("type".into(), json!("text"));
                    "[empty message]".to_owned()
                }
                DmContent::Image { url, media_id } => {
                    metadata.insert("type".into(), json!("image"));
                    metadata.insert("media".into(), json!({"id": media_id, "url": url}));
                    "[image]".to_owned()
                }
                DmContent::SharePost { url } => {
                    metadata.insert("type".into(), json!("share_post"));
                    metadata.insert("url".into(), json!(url));
                    "[shared post]".to_owned()
                }
                DmContent::Unsupported { kind } => {
                    metadata.insert("type".into(), json!(kind));
                    format!("[unsupported: {kind}]")
                }
            };
            WebhookItem::Inbound(Box::new(InboundMessage {
                contact: InboundContact {
                    channel: Channel::Tiktok,
                    external_id: dm.sender_open_id,
                    phone: None,
                    display_name: None,
                },
                platform_message_id: dm.message_id,
                body,
                metadata: Value::Object(metadata),
                sent_at: at_seconds(dm.create_time),
                ai_enabled,
            }))
        }
        TikTokEvent::AuthorizationRemoved {
            user_open_id,
            reason,
            ..
        } => {
            // Switching the connection off is an operator decision (and another module's
            // write); make it loud instead.
            tracing::warn!(%user_open_id, ?reason, "TikTok authorization removed for this connection");
            WebhookItem::Ignored("authorization_removed")
        }
        TikTokEvent::Other { .. } => WebhookItem::Ignored("other_event"),
    }
}
