//! Builders of EventSub webhook deliveries signed exactly as Twitch signs them (platforms.md
//! §2.4), for tests of this crate and of the api's shim: a `channel.chat.message` notification,
//! a `webhook_callback_verification` challenge, and a `revocation`.

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{json, Value};

use crate::webhook::{
    sign, HEADER_MESSAGE_ID, HEADER_MESSAGE_RETRY, HEADER_MESSAGE_SIGNATURE,
    HEADER_MESSAGE_TIMESTAMP, HEADER_MESSAGE_TYPE, HEADER_SUBSCRIPTION_TYPE,
    HEADER_SUBSCRIPTION_VERSION,
};

/// A delivery: headers in Twitch's spelling and the raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDelivery {
    /// Header name/value pairs.
    pub headers: Vec<(String, String)>,
    /// The exact bytes that were signed.
    pub body: Vec<u8>,
}

impl SignedDelivery {
    /// The headers as an `http` header map (what an axum handler sees).
    pub fn header_map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in &self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                map.insert(name, value);
            }
        }
        map
    }

    /// POSTs it to `url` (e.g. the api's webhook shim on loopback).
    pub async fn post(
        &self,
        client: &reqwest::Client,
        url: &str,
    ) -> reqwest::Result<reqwest::Response> {
        client
            .post(url)
            .headers(self.header_map())
            .header("content-type", "application/json")
            .body(self.body.clone())
            .send()
            .await
    }
}

/// A viewer's chat line for [`chat_message_notification`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// Broadcaster user id.
    pub broadcaster_user_id: String,
    /// Broadcaster login.
    pub broadcaster_user_login: String,
    /// Chatter user id.
    pub chatter_user_id: String,
    /// Chatter login.
    pub chatter_user_login: String,
    /// Message id.
    pub message_id: String,
    /// Text.
    pub text: String,
}

/// Twitch's timestamp format: RFC 3339, UTC, nanoseconds.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Signs `body` as a delivery of `message_type`.
pub fn deliver(
    secret: &str,
    message_id: &str,
    at: DateTime<Utc>,
    message_type: &str,
    subscription_type: &str,
    body: &Value,
) -> SignedDelivery {
    let body = body.to_string().into_bytes();
    let ts = timestamp(at);
    let signature = sign(secret.as_bytes(), message_id, &ts, &body);
    let headers = [
        (HEADER_MESSAGE_ID, message_id.to_owned()),
        (HEADER_MESSAGE_RETRY, "0".to_owned()),
        (HEADER_MESSAGE_TYPE, message_type.to_owned()),
        (HEADER_MESSAGE_SIGNATURE, signature),
        (HEADER_MESSAGE_TIMESTAMP, ts),
        (HEADER_SUBSCRIPTION_TYPE, subscription_type.to_owned()),
        (HEADER_SUBSCRIPTION_VERSION, "1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    SignedDelivery { headers, body }
}

fn subscription(kind: &str, status: &str, condition: Value) -> Value {
    json!({"id": "f1c2a387-161a-49f9-a165-0f21d7a4e1c4", "status": status, "type": kind,
        "version": "1", "condition": condition,
        "transport": {"method": "webhook", "callback": "https://leadline.example/api/webhook/twitch"},
        "created_at": "2024-02-24T17:00:00.000000000Z", "cost": 0})
}

/// A signed `channel.chat.message` notification in the documented shape.
pub fn chat_message_notification(
    secret: &str,
    message_id: &str,
    at: DateTime<Utc>,
    line: &ChatLine,
) -> SignedDelivery {
    let condition =
        json!({"broadcaster_user_id": line.broadcaster_user_id, "user_id": "900000001"});
    let body = json!({
        "subscription": subscription("channel.chat.message", "enabled", condition),
        "event": {
            "broadcaster_user_id": line.broadcaster_user_id,
            "broadcaster_user_login": line.broadcaster_user_login,
            "broadcaster_user_name": line.broadcaster_user_login,
            "chatter_user_id": line.chatter_user_id,
            "chatter_user_login": line.chatter_user_login,
            "chatter_user_name": line.chatter_user_login,
            "message_id": line.message_id,
            "message": {"text": line.text, "fragments": [
                {"type": "text", "text": line.text, "cheermote": null, "emote": null, "mention": null}]},
            "color": "#FF0000", "badges": [], "message_type": "text", "cheer": null, "reply": null,
            "channel_points_custom_reward_id": null
        }
    });
    deliver(
        secret,
        message_id,
        at,
        "notification",
        "channel.chat.message",
        &body,
    )
}

/// A signed `webhook_callback_verification` with `challenge`.
pub fn verification(
    secret: &str,
    message_id: &str,
    at: DateTime<Utc>,
    challenge: &str,
) -> SignedDelivery {
    let body = json!({"challenge": challenge,
        "subscription": subscription("channel.chat.message", "webhook_callback_verification_pending",
            json!({"broadcaster_user_id": "12826", "user_id": "900000001"}))});
    deliver(
        secret,
        message_id,
        at,
        "webhook_callback_verification",
        "channel.chat.message",
        &body,
    )
}

/// A signed `revocation` with `status` (`authorization_revoked`, `user_removed`, ...).
pub fn revocation(
    secret: &str,
    message_id: &str,
    at: DateTime<Utc>,
    status: &str,
) -> SignedDelivery {
    let body = json!({"subscription": subscription("channel.chat.message", status,
        json!({"broadcaster_user_id": "12826", "user_id": "900000001"}))});
    deliver(
        secret,
        message_id,
        at,
        "revocation",
        "channel.chat.message",
        &body,
    )
}
