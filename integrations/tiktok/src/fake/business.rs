//! The API for Business side of the fake: the DM send endpoint (`POST .../business/message/send/`,
//! checked like TikTok checks it) and DM webhooks signed with `TikTok-Signature` or the legacy
//! scheme. The signing helpers are shared with the LIVE webhooks (`super::live`).

use axum::body::Bytes;
use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};

use super::{envelope, json_headers, lock, unix_now, FakeTikTok, Shared};
use crate::client::BusinessCredentials;
use crate::signature;

/// Text limit the fake enforces (characters; secondary source, platforms.md §3 has none).
const MAX_TEXT_CHARS: usize = 6000;

/// A webhook body and the headers TikTok would send with it.
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    /// `Content-Type` and the signature header(s).
    pub headers: http::HeaderMap,
    /// The exact signed bytes: post them unchanged.
    pub body: Vec<u8>,
    /// The DM's `message_id`, when it carries one.
    pub message_id: Option<String>,
}

impl FakeTikTok {
    /// The credentials the fake accepts.
    pub fn credentials(&self) -> BusinessCredentials {
        BusinessCredentials {
            business_id: self.shared.config.business_id.clone(),
            access_token: self.shared.config.access_token.clone(),
        }
    }

    /// The client secret webhooks are signed with.
    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    /// The bodies of the sends accepted, in order.
    pub fn sent_messages(&self) -> Vec<Value> {
        lock(&self.shared.sent).clone()
    }

    /// A DM webhook body (unsigned) from `sender_open_id`, with `content` as a string of
    /// serialised JSON (platforms.md §3).
    pub fn dm_webhook_body(
        &self,
        sender_open_id: &str,
        text: &str,
        message_id: &str,
        create_time: i64,
    ) -> Vec<u8> {
        let content = json!({
            "message_id": message_id,
            "open_id": sender_open_id,
            "message_type": "text",
            "text": text,
        });
        json!({
            "client_key": self.shared.config.client_key,
            "event": "direct_message.receive",
            "create_time": create_time,
            "user_openid": self.shared.config.business_open_id,
            "content": content.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    /// A DM webhook signed now with `TikTok-Signature`, with a fresh `message_id`.
    pub fn signed_dm_webhook(&self, sender_open_id: &str, text: &str) -> SignedWebhook {
        self.signed_dm_webhook_at(sender_open_id, text, unix_now())
    }

    /// A DM webhook signed with `TikTok-Signature: t=<timestamp>,...` (for stale-timestamp tests).
    pub fn signed_dm_webhook_at(
        &self,
        sender_open_id: &str,
        text: &str,
        timestamp: i64,
    ) -> SignedWebhook {
        let message_id = self.next_message_id();
        let body = self.dm_webhook_body(sender_open_id, text, &message_id, timestamp);
        let mut signed = self.sign(body, timestamp);
        signed.message_id = Some(message_id);
        signed
    }

    /// A DM webhook signed with the legacy `X-Tiktok-Signature` (and `X-Tiktok-Timestamp`).
    pub fn legacy_signed_dm_webhook(&self, sender_open_id: &str, text: &str) -> SignedWebhook {
        let message_id = self.next_message_id();
        let now = unix_now();
        let body = self.dm_webhook_body(sender_open_id, text, &message_id, now);
        let mut signed = self.sign_legacy(body, &now.to_string());
        signed.message_id = Some(message_id);
        signed
    }

    /// Signs exact bytes with `TikTok-Signature` at `timestamp`.
    pub fn sign(&self, body: Vec<u8>, timestamp: i64) -> SignedWebhook {
        let value = signature::sign(&self.shared.config.client_secret, timestamp, &body);
        let mut headers = json_headers();
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(signature::HEADER, value);
        }
        SignedWebhook {
            headers,
            body,
            message_id: None,
        }
    }

    /// Signs exact bytes with the legacy scheme at `timestamp` (sent as `X-Tiktok-Timestamp`).
    pub fn sign_legacy(&self, body: Vec<u8>, timestamp: &str) -> SignedWebhook {
        let value = signature::sign_legacy(&self.shared.config.client_secret, timestamp, &body);
        let mut headers = json_headers();
        if let (Ok(signature), Ok(timestamp)) = (
            http::HeaderValue::from_str(&value),
            http::HeaderValue::from_str(timestamp),
        ) {
            headers.insert(signature::LEGACY_HEADER, signature);
            headers.insert(signature::LEGACY_TIMESTAMP_HEADER, timestamp);
        }
        SignedWebhook {
            headers,
            body,
            message_id: None,
        }
    }

    pub(super) fn webhook_body(&self, event: &str, create_time: i64, content: Value) -> Vec<u8> {
        json!({
            "client_key": self.shared.config.client_key,
            "event": event,
            "create_time": create_time,
            "user_openid": self.shared.config.business_open_id,
            "content": content.to_string(),
        })
        .to_string()
        .into_bytes()
    }

    fn next_message_id(&self) -> String {
        format!("msg_fake_in_{}", self.shared.next_id())
    }
}

pub(super) fn send(shared: &Shared, body: &Bytes) -> Response {
    let invalid = |message: &str| envelope(shared, StatusCode::OK, 40002, message, json!({}));
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return invalid("Invalid JSON.");
    };
    if request["business_id"] != shared.config.business_id.as_str() {
        return invalid("business_id: Invalid value.");
    }
    if request["open_id"].as_str().is_none_or(str::is_empty) {
        return invalid("open_id: Missing data for required field.");
    }
    if request["message_type"] != "text" {
        return invalid("message_type: Must be one of: text.");
    }
    let Some(text) = request["message_content"]["text"].as_str() else {
        return invalid("message_content.text: Missing data for required field.");
    };
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return invalid("message_content.text: Length must be between 1 and 6000.");
    }
    let message_id = format!("msg_fake_out_{}", shared.next_id());
    lock(&shared.sent).push(request);
    envelope(
        shared,
        StatusCode::OK,
        0,
        "OK",
        json!({"message_id": message_id}),
    )
}
