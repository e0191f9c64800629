//! A live session's platform state: what the session was started with (the video, channel or
//! account) and what its reader resolved and must remember across restarts and replicas (the
//! live chat id, the room, the bot's user ids, the polling cursor).
//!
//! Owns: [`LivePlatformConfig`], stored as the session's JSON with camelCase keys (the names
//! the stored rows already use, so existing sessions read unchanged). Must not: resolve
//! anything (the readers in the api do) or decide which fields a platform requires (the
//! session's start input does).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The platform state of one live session. Every field is optional because each platform uses
/// its own few, and the resolved ones appear only once the reader has looked them up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LivePlatformConfig {
    /// YouTube: the live video the session watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    /// YouTube: the video's live chat, resolved once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_chat_id: Option<String>,
    /// YouTube: the channel our bot posts as (its messages are not answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_channel_id: Option<String>,
    /// YouTube: the live chat page token to resume from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_token: Option<String>,
    /// Twitch: the channel login (lower case, no `#`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Twitch: the channel's user id, resolved through Helix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcaster_id: Option<String>,
    /// Twitch: the login of the bot the ids below were resolved for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_login: Option<String>,
    /// Twitch: the bot's user id (whispers and Helix sends need it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_user_id: Option<String>,
    /// TikTok: the LIVE account's username (no `@`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TikTok: the LIVE room, resolved once (or given for webhook-only sessions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<String>,
    /// TikTok: the comment poller's cursor to resume from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// TikTok: comments arrive by the LIVE wrapper's webhook only; nothing is polled.
    #[serde(default, skip_serializing_if = "is_false")]
    pub webhook_only: bool,
    /// Keys this version does not know (written by a newer one), kept so a rewrite by this
    /// version does not drop them.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl LivePlatformConfig {
    /// The ids a message's author may carry when it is our own bot (never answered).
    pub fn bot_author_ids(&self) -> impl Iterator<Item = &str> {
        [&self.bot_channel_id, &self.bot_user_id, &self.bot_login]
            .into_iter()
            .filter_map(|id| id.as_deref())
    }

    /// Whether a Twitch chat message for this broadcaster (id and login) belongs to this
    /// session: by the resolved id, or by the channel login before the id is known.
    pub fn is_twitch_broadcaster(&self, broadcaster_id: &str, broadcaster_login: &str) -> bool {
        self.broadcaster_id.as_deref() == Some(broadcaster_id)
            || self
                .channel
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(broadcaster_login))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_rows_read_with_their_keys_and_keep_unknown_ones() {
        let stored = json!({
            "videoId": "abc", "liveChatId": "chat", "pageToken": "p2",
            "webhookOnly": true, "roomId": "r1", "futureKey": {"x": 1}
        });
        let config: LivePlatformConfig = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(config.video_id.as_deref(), Some("abc"));
        assert_eq!(config.live_chat_id.as_deref(), Some("chat"));
        assert_eq!(config.page_token.as_deref(), Some("p2"));
        assert_eq!(config.room_id.as_deref(), Some("r1"));
        assert!(config.webhook_only);
        assert_eq!(serde_json::to_value(&config).unwrap(), stored);
    }

    #[test]
    fn an_empty_config_writes_an_empty_object() {
        let config = LivePlatformConfig::default();
        assert_eq!(serde_json::to_value(&config).unwrap(), json!({}));
        let read: LivePlatformConfig = serde_json::from_value(json!({})).unwrap();
        assert_eq!(read, config);
    }

    #[test]
    fn a_twitch_session_matches_by_id_or_by_login() {
        let by_login = LivePlatformConfig {
            channel: Some("shop".into()),
            ..Default::default()
        };
        assert!(by_login.is_twitch_broadcaster("123", "SHOP"));
        assert!(!by_login.is_twitch_broadcaster("123", "other"));
        let by_id = LivePlatformConfig {
            broadcaster_id: Some("123".into()),
            ..Default::default()
        };
        assert!(by_id.is_twitch_broadcaster("123", "renamed"));
    }

    #[test]
    fn bot_ids_are_every_known_one() {
        let config = LivePlatformConfig {
            bot_channel_id: Some("UC1".into()),
            bot_user_id: Some("42".into()),
            ..Default::default()
        };
        let ids: Vec<&str> = config.bot_author_ids().collect();
        assert_eq!(ids, ["UC1", "42"]);
    }
}
