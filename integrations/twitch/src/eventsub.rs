//! EventSub messages (platforms.md §2.3–2.4) as typed values: a webhook body read through its
//! `Twitch-Eventsub-Message-Type`, and an EventSub WebSocket frame.
//!
//! Parsing only: a webhook body must pass `webhook::verify` first (use
//! `webhook::verify_and_parse`). `channel.chat.message` is decoded into [`ChannelChatMessage`];
//! other subscription types stay raw JSON in [`Event::Other`] so a new subscription never fails
//! the whole delivery. Duplicates are possible (at-least-once): dedupe on the message id.

use serde_json::Value;

use crate::error::TwitchError;
use crate::models::{
    ChannelChatMessage, Subscription, WebhookBody, WsFrame, WsMetadata, WsSession,
};

/// The subscription type we decode.
pub const CHANNEL_CHAT_MESSAGE: &str = "channel.chat.message";

/// An EventSub event.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `channel.chat.message`.
    ChannelChatMessage(Box<ChannelChatMessage>),
    /// Any other subscription type, undecoded.
    Other {
        /// `subscription.type`.
        kind: String,
        /// The event JSON.
        raw: Value,
    },
}

/// A verified webhook delivery, by `Twitch-Eventsub-Message-Type`.
#[derive(Debug, Clone, PartialEq)]
pub enum EventSubMessage {
    /// `notification`: handle the event, answer 2xx fast.
    Notification {
        /// The subscription.
        subscription: Subscription,
        /// The event.
        event: Event,
    },
    /// `webhook_callback_verification`: answer 200 `text/plain` with exactly `challenge`.
    Verification {
        /// The subscription being verified.
        subscription: Subscription,
        /// The challenge to echo.
        challenge: String,
    },
    /// `revocation`: the subscription is gone (`subscription.status` says why).
    Revocation {
        /// The revoked subscription.
        subscription: Subscription,
    },
}

/// A parsed EventSub WebSocket frame.
#[derive(Debug, Clone, PartialEq)]
pub enum WsMessage {
    /// `session_welcome`: subscribe with `session.id` within 10 s.
    Welcome(WsSession),
    /// `session_keepalive`: reset the silence timer.
    Keepalive,
    /// `notification`.
    Notification {
        /// The subscription.
        subscription: Subscription,
        /// The event.
        event: Event,
    },
    /// `session_reconnect`: connect to `reconnect_url` within 30 s.
    Reconnect(WsSession),
    /// `revocation`.
    Revocation {
        /// The revoked subscription.
        subscription: Subscription,
    },
    /// A message type this crate does not know.
    Other {
        /// `metadata.message_type`.
        message_type: String,
    },
}

/// Reads a webhook body given its `Twitch-Eventsub-Message-Type`.
pub fn parse_webhook(message_type: &str, raw_body: &[u8]) -> Result<EventSubMessage, TwitchError> {
    let body: WebhookBody = serde_json::from_slice(raw_body)
        .map_err(|e| TwitchError::Decode(format!("EventSub body: {e}")))?;
    match message_type {
        "notification" => {
            let raw = body
                .event
                .ok_or_else(|| TwitchError::Decode("notification without event".into()))?;
            let event = decode_event(&body.subscription, raw)?;
            Ok(EventSubMessage::Notification {
                subscription: body.subscription,
                event,
            })
        }
        "webhook_callback_verification" => Ok(EventSubMessage::Verification {
            challenge: body
                .challenge
                .ok_or_else(|| TwitchError::Decode("verification without challenge".into()))?,
            subscription: body.subscription,
        }),
        "revocation" => Ok(EventSubMessage::Revocation {
            subscription: body.subscription,
        }),
        other => Err(TwitchError::Unsupported(format!(
            "EventSub message type `{}`",
            other.chars().take(64).collect::<String>()
        ))),
    }
}

/// Reads one EventSub WebSocket text frame.
pub fn parse_ws_frame(text: &str) -> Result<(WsMetadata, WsMessage), TwitchError> {
    let frame: WsFrame = serde_json::from_str(text)
        .map_err(|e| TwitchError::Decode(format!("EventSub frame: {e}")))?;
    let session = |payload: &Value| -> Result<WsSession, TwitchError> {
        serde_json::from_value(payload.get("session").cloned().unwrap_or(Value::Null))
            .map_err(|e| TwitchError::Decode(format!("EventSub session: {e}")))
    };
    let subscription = |payload: &Value| -> Result<Subscription, TwitchError> {
        serde_json::from_value(payload.get("subscription").cloned().unwrap_or(Value::Null))
            .map_err(|e| TwitchError::Decode(format!("EventSub subscription: {e}")))
    };
    let message = match frame.metadata.message_type.as_str() {
        "session_welcome" => WsMessage::Welcome(session(&frame.payload)?),
        "session_keepalive" => WsMessage::Keepalive,
        "session_reconnect" => WsMessage::Reconnect(session(&frame.payload)?),
        "notification" => {
            let subscription = subscription(&frame.payload)?;
            let raw = frame.payload.get("event").cloned().unwrap_or(Value::Null);
            WsMessage::Notification {
                event: decode_event(&subscription, raw)?,
                subscription,
            }
        }
        "revocation" => WsMessage::Revocation {
            subscription: subscription(&frame.payload)?,
        },
        other => WsMessage::Other {
            message_type: other.to_owned(),
        },
    };
    Ok((frame.metadata, message))
}

fn decode_event(subscription: &Subscription, raw: Value) -> Result<Event, TwitchError> {
    if subscription.kind == CHANNEL_CHAT_MESSAGE {
        let event = serde_json::from_value(raw)
            .map_err(|e| TwitchError::Decode(format!("channel.chat.message event: {e}")))?;
        return Ok(Event::ChannelChatMessage(Box::new(event)));
    }
    Ok(Event::Other {
        kind: subscription.kind.clone(),
        raw,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The notification frame of platforms.md §2.3, with the elided parts filled in.
    const WS_NOTIFICATION: &str = r##"{"metadata":{"message_id":"befa7b53-d79d-478f-86b9-120f112b044e","message_type":"notification","message_timestamp":"2024-02-24T17:17:50.123456789Z","subscription_type":"channel.chat.message","subscription_version":"1"},
 "payload":{"subscription":{"id":"47fa8e56-1f6e-4fb7-a2b6-ea0b1e26f1b2","status":"enabled","type":"channel.chat.message","version":"1","condition":{"broadcaster_user_id":"141981764","user_id":"141981764"},"transport":{"method":"websocket","session_id":"AgoQ"},"created_at":"2024-02-24T17:17:00Z","cost":0},
  "event":{"broadcaster_user_id":"141981764","broadcaster_user_login":"twitchdev","broadcaster_user_name":"TwitchDev","chatter_user_id":"129546453","chatter_user_login":"nerixyz","chatter_user_name":"nerixyz","message_id":"9d0b2f7c-2d4c-4b6b-bc3a-6b4c39f1e4a1","message":{"text":"Hello Kappa","fragments":[{"type":"text","text":"Hello ","cheermote":null,"emote":null,"mention":null},{"type":"emote","text":"Kappa","cheermote":null,"emote":{"id":"25","emote_set_id":"0","owner_id":"0","format":["static"]},"mention":null}]},"color":"#FF0000","badges":[{"set_id":"moderator","id":"1","info":""}],"message_type":"text","cheer":null,"reply":null,"channel_points_custom_reward_id":null,"some_future_field":true}}}"##;

    #[test]
    fn the_documented_websocket_notification_decodes() {
        let (metadata, message) = parse_ws_frame(WS_NOTIFICATION).unwrap();
        assert_eq!(metadata.message_type, "notification");
        assert_eq!(
            metadata.subscription_type.as_deref(),
            Some("channel.chat.message")
        );
        let WsMessage::Notification {
            subscription,
            event,
        } = message
        else {
            panic!("not a notification");
        };
        assert_eq!(subscription.status, "enabled");
        let Event::ChannelChatMessage(chat) = event else {
            panic!("not a chat message");
        };
        assert_eq!(chat.chatter_user_login, "nerixyz");
        assert_eq!(chat.chatter_user_id, "129546453");
        assert_eq!(chat.message.text, "Hello Kappa");
        assert_eq!(chat.message.fragments[1].kind, "emote");
        assert_eq!(chat.message_type, "text");
        assert!(chat.has_badge("moderator"));
        assert_eq!(chat.cheer, None);
    }

    #[test]
    fn session_frames_decode() {
        let welcome = r#"{"metadata":{"message_id":"w","message_type":"session_welcome","message_timestamp":"2024-02-24T17:17:00.1Z"},
            "payload":{"session":{"id":"AgoQ","status":"connected","keepalive_timeout_seconds":10,"reconnect_url":null,"connected_at":"2024-02-24T17:17:00Z"}}}"#;
        let (_, message) = parse_ws_frame(welcome).unwrap();
        assert!(
            matches!(message, WsMessage::Welcome(s) if s.id == "AgoQ" && s.keepalive_timeout_seconds == Some(10))
        );
        let keepalive = r#"{"metadata":{"message_id":"k","message_type":"session_keepalive","message_timestamp":"x"},"payload":{}}"#;
        assert_eq!(parse_ws_frame(keepalive).unwrap().1, WsMessage::Keepalive);
        let reconnect = r#"{"metadata":{"message_id":"r","message_type":"session_reconnect","message_timestamp":"x"},
            "payload":{"session":{"id":"AgoQ","status":"reconnecting","reconnect_url":"wss://eventsub.wss.twitch.tv/ws?id=x"}}}"#;
        assert!(matches!(parse_ws_frame(reconnect).unwrap().1,
            WsMessage::Reconnect(s) if s.reconnect_url.as_deref() == Some("wss://eventsub.wss.twitch.tv/ws?id=x")));
        let revocation = r#"{"metadata":{"message_id":"v","message_type":"revocation","message_timestamp":"x"},
            "payload":{"subscription":{"id":"s","status":"authorization_revoked","type":"channel.chat.message","version":"1"}}}"#;
        assert!(matches!(parse_ws_frame(revocation).unwrap().1,
            WsMessage::Revocation { subscription } if subscription.status == "authorization_revoked"));
        let unknown = r#"{"metadata":{"message_id":"u","message_type":"session_party","message_timestamp":"x"},"payload":{}}"#;
        assert!(matches!(
            parse_ws_frame(unknown).unwrap().1,
            WsMessage::Other { .. }
        ));
        assert!(matches!(parse_ws_frame("{"), Err(TwitchError::Decode(_))));
    }

    #[test]
    fn webhook_bodies_decode_by_message_type() {
        let verification = br#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"id":"f1c2","status":"webhook_callback_verification_pending","type":"channel.chat.message","version":"1","condition":{},"transport":{"method":"webhook","callback":"https://example.com/webhooks/callback"},"created_at":"2019-11-16T10:11:12.634234626Z"}}"#;
        assert!(matches!(
            parse_webhook("webhook_callback_verification", verification).unwrap(),
            EventSubMessage::Verification { challenge, .. } if challenge == "pogchamp-kappa-360noscope-vohiyo"
        ));
        let revocation = br#"{"subscription":{"id":"f1c2","status":"user_removed","type":"channel.follow","version":"1"}}"#;
        assert!(matches!(
            parse_webhook("revocation", revocation).unwrap(),
            EventSubMessage::Revocation { subscription } if subscription.status == "user_removed"
        ));
        let other =
            br#"{"subscription":{"type":"channel.follow","version":"2"},"event":{"user_id":"1"}}"#;
        assert!(matches!(
            parse_webhook("notification", other).unwrap(),
            EventSubMessage::Notification { event: Event::Other { kind, .. }, .. } if kind == "channel.follow"
        ));
        assert!(matches!(
            parse_webhook(
                "notification",
                br#"{"subscription":{"type":"channel.chat.message"}}"#
            ),
            Err(TwitchError::Decode(_))
        ));
        assert!(matches!(
            parse_webhook("surprise", other),
            Err(TwitchError::Unsupported(_))
        ));
    }
}
