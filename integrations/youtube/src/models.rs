//! Serde mirrors of the YouTube Data API v3 wire format used for live chat (platforms.md §1):
//! `videos.list` with `part=liveStreamingDetails`, `liveChatMessages.list` / `insert`, and
//! Google's error envelope.
//!
//! Field names are the API's camelCase exactly. Every optional field is `Option`/defaulted and
//! unknown fields are ignored, so a new field never breaks decoding; `snippet.type` values we do
//! not know yet decode as [`MessageType::Other`] instead of failing the whole page. This module
//! holds data only: no IO and no policy.

use serde::{Deserialize, Serialize};

/// `GET /videos` response (only what live chat needs).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct VideoListResponse {
    /// The matching videos; empty for unknown or private ids.
    #[serde(default)]
    pub items: Vec<Video>,
}

/// One video resource.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Video {
    /// The video id.
    #[serde(default)]
    pub id: String,
    /// Present for live broadcasts (past, current or scheduled).
    #[serde(default)]
    pub live_streaming_details: Option<LiveStreamingDetails>,
}

/// `video.liveStreamingDetails`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LiveStreamingDetails {
    /// Only while the broadcast is live with chat; removed when it completes (platforms.md §1).
    #[serde(default)]
    pub active_live_chat_id: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub actual_start_time: Option<String>,
    /// RFC 3339; present once the broadcast ended.
    #[serde(default)]
    pub actual_end_time: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub scheduled_start_time: Option<String>,
    /// RFC 3339.
    #[serde(default)]
    pub scheduled_end_time: Option<String>,
    /// A decimal string on the wire (platforms.md §1: `concurrentViewers(string)`).
    #[serde(default)]
    pub concurrent_viewers: Option<String>,
}

/// `GET /liveChat/messages` response.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LiveChatMessageListResponse {
    /// The token for the next poll; always pass the last one received.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// How long to wait before the next poll.
    #[serde(default)]
    pub polling_interval_millis: Option<u64>,
    /// Present only when the stream went offline (RFC 3339): stop polling.
    #[serde(default)]
    pub offline_at: Option<String>,
    /// Page counts.
    #[serde(default)]
    pub page_info: Option<PageInfo>,
    /// Messages, oldest first.
    #[serde(default)]
    pub items: Vec<LiveChatMessage>,
}

/// `pageInfo`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// Total results.
    #[serde(default)]
    pub total_results: Option<u64>,
    /// Results in this page.
    #[serde(default)]
    pub results_per_page: Option<u64>,
}

/// One `youtube#liveChatMessage`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LiveChatMessage {
    /// The message id (`LCC.…`), stable: use it to deduplicate.
    #[serde(default)]
    pub id: String,
    /// What happened.
    #[serde(default)]
    pub snippet: Snippet,
    /// Who said it (absent on some system events).
    #[serde(default)]
    pub author_details: Option<AuthorDetails>,
}

/// `liveChatMessage.snippet`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Snippet {
    /// The event type.
    #[serde(rename = "type", default)]
    pub kind: MessageType,
    /// The chat this belongs to.
    #[serde(default)]
    pub live_chat_id: Option<String>,
    /// The author's channel id.
    #[serde(default)]
    pub author_channel_id: Option<String>,
    /// RFC 3339 with milliseconds.
    #[serde(default)]
    pub published_at: Option<String>,
    /// Whether `displayMessage` is meant to be shown.
    #[serde(default)]
    pub has_display_content: Option<bool>,
    /// The text as YouTube renders it (for every type that has display content).
    #[serde(default)]
    pub display_message: Option<String>,
    /// For `textMessageEvent`.
    #[serde(default)]
    pub text_message_details: Option<TextMessageDetails>,
    /// For `superChatEvent`.
    #[serde(default)]
    pub super_chat_details: Option<SuperChatDetails>,
    /// For `messageDeletedEvent`.
    #[serde(default)]
    pub message_deleted_details: Option<MessageDeletedDetails>,
}

/// `snippet.textMessageDetails` (also the insert body).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct TextMessageDetails {
    /// The raw text.
    #[serde(default)]
    pub message_text: String,
}

/// `snippet.superChatDetails`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SuperChatDetails {
    /// Amount in micros of `currency` (a decimal string on the wire in some clients; we accept
    /// both via `serde_json::Value`).
    #[serde(default)]
    pub amount_micros: Option<serde_json::Value>,
    /// ISO 4217.
    #[serde(default)]
    pub currency: Option<String>,
    /// Human-readable amount, e.g. "$5.00".
    #[serde(default)]
    pub amount_display_string: Option<String>,
    /// The viewer's comment.
    #[serde(default)]
    pub user_comment: Option<String>,
    /// Tier.
    #[serde(default)]
    pub tier: Option<u32>,
}

/// `snippet.messageDeletedDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MessageDeletedDetails {
    /// The id of the deleted message.
    #[serde(default)]
    pub deleted_message_id: String,
}

/// `liveChatMessage.authorDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AuthorDetails {
    /// The author's channel id (`UC…`): the stable viewer identity.
    #[serde(default)]
    pub channel_id: String,
    /// Channel URL.
    #[serde(default)]
    pub channel_url: Option<String>,
    /// Display name (not unique, may change).
    #[serde(default)]
    pub display_name: String,
    /// Avatar URL.
    #[serde(default)]
    pub profile_image_url: Option<String>,
    /// Verified channel.
    #[serde(default)]
    pub is_verified: bool,
    /// The broadcaster themself.
    #[serde(default)]
    pub is_chat_owner: bool,
    /// A channel member.
    #[serde(default)]
    pub is_chat_sponsor: bool,
    /// A moderator.
    #[serde(default)]
    pub is_chat_moderator: bool,
}

/// `snippet.type` (platforms.md §1). Unknown values are kept as [`MessageType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Deserialize, Serialize)]
#[serde(from = "String", into = "String")]
pub enum MessageType {
    /// A plain chat message.
    #[default]
    TextMessage,
    /// A paid Super Chat.
    SuperChat,
    /// A Super Sticker.
    SuperSticker,
    /// A new member.
    NewSponsor,
    /// A membership milestone message.
    MemberMilestoneChat,
    /// Someone gifted memberships.
    MembershipGifting,
    /// Someone received a gifted membership.
    GiftMembershipReceived,
    /// A message was deleted (`messageDeletedDetails.deletedMessageId`).
    MessageDeleted,
    /// A user was banned.
    UserBanned,
    /// The chat ended: stop polling.
    ChatEnded,
    /// A placeholder for a message that no longer exists.
    Tombstone,
    /// Members-only mode started.
    SponsorOnlyModeStarted,
    /// Members-only mode ended.
    SponsorOnlyModeEnded,
    /// Legacy fan funding.
    FanFunding,
    /// Any other type (poll events, future additions), kept verbatim.
    Other(String),
}

impl MessageType {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            MessageType::TextMessage => "textMessageEvent",
            MessageType::SuperChat => "superChatEvent",
            MessageType::SuperSticker => "superStickerEvent",
            MessageType::NewSponsor => "newSponsorEvent",
            MessageType::MemberMilestoneChat => "memberMilestoneChatEvent",
            MessageType::MembershipGifting => "membershipGiftingEvent",
            MessageType::GiftMembershipReceived => "giftMembershipReceivedEvent",
            MessageType::MessageDeleted => "messageDeletedEvent",
            MessageType::UserBanned => "userBannedEvent",
            MessageType::ChatEnded => "chatEndedEvent",
            MessageType::Tombstone => "tombstone",
            MessageType::SponsorOnlyModeStarted => "sponsorOnlyModeStartedEvent",
            MessageType::SponsorOnlyModeEnded => "sponsorOnlyModeEndedEvent",
            MessageType::FanFunding => "fanFundingEvent",
            MessageType::Other(other) => other,
        }
    }

    /// Whether this message carries viewer text worth analysing (plain chat and paid chat).
    pub fn is_viewer_text(&self) -> bool {
        matches!(self, MessageType::TextMessage | MessageType::SuperChat)
    }
}

impl From<String> for MessageType {
    fn from(value: String) -> Self {
        match value.as_str() {
            "textMessageEvent" => MessageType::TextMessage,
            "superChatEvent" => MessageType::SuperChat,
            "superStickerEvent" => MessageType::SuperSticker,
            "newSponsorEvent" => MessageType::NewSponsor,
            "memberMilestoneChatEvent" => MessageType::MemberMilestoneChat,
            "membershipGiftingEvent" => MessageType::MembershipGifting,
            "giftMembershipReceivedEvent" => MessageType::GiftMembershipReceived,
            "messageDeletedEvent" => MessageType::MessageDeleted,
            "userBannedEvent" => MessageType::UserBanned,
            "chatEndedEvent" => MessageType::ChatEnded,
            "tombstone" => MessageType::Tombstone,
            "sponsorOnlyModeStartedEvent" => MessageType::SponsorOnlyModeStarted,
            "sponsorOnlyModeEndedEvent" => MessageType::SponsorOnlyModeEnded,
            "fanFundingEvent" => MessageType::FanFunding,
            _ => MessageType::Other(value),
        }
    }
}

impl From<MessageType> for String {
    fn from(value: MessageType) -> Self {
        value.as_str().to_owned()
    }
}

impl LiveChatMessage {
    /// The text to analyse: `displayMessage`, else `textMessageDetails.messageText`, else a Super
    /// Chat's `userComment`.
    pub fn text(&self) -> Option<&str> {
        self.snippet
            .display_message
            .as_deref()
            .or_else(|| {
                self.snippet
                    .text_message_details
                    .as_ref()
                    .map(|d| d.message_text.as_str())
            })
            .or_else(|| {
                self.snippet
                    .super_chat_details
                    .as_ref()
                    .and_then(|d| d.user_comment.as_deref())
            })
    }
}

/// `POST /liveChat/messages?part=snippet` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsertMessageRequest {
    /// The snippet to create.
    pub snippet: InsertSnippet,
}

/// The snippet of an insert: only text messages are supported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InsertSnippet {
    /// Target chat.
    pub live_chat_id: String,
    /// Always `textMessageEvent`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub text_message_details: TextMessageDetails,
}

impl InsertMessageRequest {
    /// A text message for `live_chat_id`.
    pub fn text(live_chat_id: &str, text: &str) -> Self {
        Self {
            snippet: InsertSnippet {
                live_chat_id: live_chat_id.to_owned(),
                kind: MessageType::TextMessage.as_str().to_owned(),
                text_message_details: TextMessageDetails {
                    message_text: text.to_owned(),
                },
            },
        }
    }
}

/// Google's error envelope: `{"error":{"code","message","errors":[{"message","domain","reason"}]}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct ErrorResponse {
    /// The error.
    #[serde(default)]
    pub error: ErrorBody,
}

/// `error`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct ErrorBody {
    /// HTTP status repeated.
    #[serde(default)]
    pub code: u16,
    /// Human-readable (may contain HTML).
    #[serde(default)]
    pub message: String,
    /// Details; the first `reason` decides the classification.
    #[serde(default)]
    pub errors: Vec<ErrorItem>,
}

/// `error.errors[]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
pub struct ErrorItem {
    /// Message.
    #[serde(default)]
    pub message: String,
    /// e.g. `youtube.quota`, `youtube.liveChat`, `global`.
    #[serde(default)]
    pub domain: String,
    /// e.g. `quotaExceeded`, `liveChatEnded`.
    #[serde(default)]
    pub reason: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The list response from platforms.md §1, plus a Super Chat, a deletion and an unknown type.
    const LIST_FIXTURE: &str = r#"{"kind":"youtube#liveChatMessageListResponse","etag":"e","nextPageToken":"GOxx","pollingIntervalMillis":5000,
 "pageInfo":{"totalResults":4,"resultsPerPage":4},
 "items":[{"kind":"youtube#liveChatMessage","etag":"e2","id":"LCC.abc",
  "snippet":{"type":"textMessageEvent","liveChatId":"Cg0K..","authorChannelId":"UCxyz","publishedAt":"2024-01-01T10:00:05.123Z",
             "hasDisplayContent":true,"displayMessage":"hi","textMessageDetails":{"messageText":"hi"}},
  "authorDetails":{"channelId":"UCxyz","channelUrl":"..","displayName":"Alice","profileImageUrl":"..","isVerified":false,"isChatOwner":false,"isChatSponsor":false,"isChatModerator":false}},
  {"id":"LCC.sc","snippet":{"type":"superChatEvent","displayMessage":"$5.00 from Bob: love it","superChatDetails":{"amountMicros":"5000000","currency":"USD","amountDisplayString":"$5.00","userComment":"love it","tier":2}},
   "authorDetails":{"channelId":"UCbob","displayName":"Bob","isChatOwner":false,"isChatModerator":true}},
  {"id":"LCC.del","snippet":{"type":"messageDeletedEvent","hasDisplayContent":false,"messageDeletedDetails":{"deletedMessageId":"LCC.abc"}}},
  {"id":"LCC.poll","snippet":{"type":"pollOpenedEvent","brandNewField":{"x":1}},"authorDetails":{"channelId":"UCown","displayName":"Owner","isChatOwner":true}}]}"#;

    #[test]
    fn the_documented_list_response_decodes_with_every_type() {
        let page: LiveChatMessageListResponse = serde_json::from_str(LIST_FIXTURE).unwrap();
        assert_eq!(page.next_page_token.as_deref(), Some("GOxx"));
        assert_eq!(page.polling_interval_millis, Some(5000));
        assert_eq!(page.offline_at, None);
        assert_eq!(page.items.len(), 4);

        let first = &page.items[0];
        assert_eq!(first.id, "LCC.abc");
        assert_eq!(first.snippet.kind, MessageType::TextMessage);
        assert_eq!(first.text(), Some("hi"));
        let author = first.author_details.as_ref().unwrap();
        assert_eq!(
            (author.channel_id.as_str(), author.display_name.as_str()),
            ("UCxyz", "Alice")
        );
        assert!(!author.is_chat_owner && !author.is_chat_moderator);

        let super_chat = &page.items[1];
        assert_eq!(super_chat.snippet.kind, MessageType::SuperChat);
        assert!(super_chat.snippet.kind.is_viewer_text());
        let details = super_chat.snippet.super_chat_details.as_ref().unwrap();
        assert_eq!(details.currency.as_deref(), Some("USD"));
        assert_eq!(details.user_comment.as_deref(), Some("love it"));
        assert!(
            super_chat
                .author_details
                .as_ref()
                .unwrap()
                .is_chat_moderator
        );

        let deleted = &page.items[2];
        assert_eq!(deleted.snippet.kind, MessageType::MessageDeleted);
        assert_eq!(
            deleted
                .snippet
                .message_deleted_details
                .as_ref()
                .map(|d| d.deleted_message_id.as_str()),
            Some("LCC.abc")
        );
        assert!(deleted.author_details.is_none());

        let poll = &page.items[3];
        assert_eq!(
            poll.snippet.kind,
            MessageType::Other("pollOpenedEvent".into())
        );
        assert!(!poll.snippet.kind.is_viewer_text());
        assert!(poll.author_details.as_ref().unwrap().is_chat_owner);
    }

    #[test]
    fn message_types_round_trip_through_their_wire_names() {
        for name in [
            "textMessageEvent",
            "superChatEvent",
            "superStickerEvent",
            "newSponsorEvent",
            "memberMilestoneChatEvent",
            "membershipGiftingEvent",
            "giftMembershipReceivedEvent",
            "messageDeletedEvent",
            "userBannedEvent",
            "chatEndedEvent",
            "tombstone",
            "sponsorOnlyModeStartedEvent",
            "sponsorOnlyModeEndedEvent",
            "fanFundingEvent",
            "pollClosedEvent",
        ] {
            let kind = MessageType::from(name.to_owned());
            assert_eq!(kind.as_str(), name);
            assert_eq!(serde_json::to_value(&kind).unwrap(), name);
        }
        assert_eq!(
            MessageType::from("chatEndedEvent".to_owned()),
            MessageType::ChatEnded
        );
    }

    #[test]
    fn the_offline_marker_and_live_details_decode() {
        let page: LiveChatMessageListResponse = serde_json::from_str(
            r#"{"pollingIntervalMillis":0,"offlineAt":"2024-01-01T11:00:00Z","items":[]}"#,
        )
        .unwrap();
        assert_eq!(page.offline_at.as_deref(), Some("2024-01-01T11:00:00Z"));
        assert_eq!(page.next_page_token, None);

        let videos: VideoListResponse = serde_json::from_str(
            r#"{"kind":"youtube#videoListResponse","items":[{"kind":"youtube#video","id":"dQw4w9WgXcQ",
            "liveStreamingDetails":{"actualStartTime":"2024-01-01T10:00:00Z","scheduledStartTime":"2024-01-01T09:55:00Z",
            "concurrentViewers":"1520","activeLiveChatId":"Cg0KC2RRdzR3OVdnWGNR"}}]}"#,
        )
        .unwrap();
        let details = videos.items[0].live_streaming_details.as_ref().unwrap();
        assert_eq!(
            details.active_live_chat_id.as_deref(),
            Some("Cg0KC2RRdzR3OVdnWGNR")
        );
        assert_eq!(details.concurrent_viewers.as_deref(), Some("1520"));
    }

    #[test]
    fn the_insert_body_has_the_documented_shape() {
        let body = serde_json::to_value(InsertMessageRequest::text("Cg0K", "hello")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"snippet":{"liveChatId":"Cg0K","type":"textMessageEvent","textMessageDetails":{"messageText":"hello"}}})
        );
    }

    #[test]
    fn the_google_error_envelope_decodes() {
        let error: ErrorResponse = serde_json::from_str(
            r#"{"error":{"code":403,"message":"The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
            "errors":[{"message":"...","domain":"youtube.quota","reason":"quotaExceeded"}]}}"#,
        )
        .unwrap();
        assert_eq!(error.error.code, 403);
        assert_eq!(error.error.errors[0].reason, "quotaExceeded");
        assert_eq!(error.error.errors[0].domain, "youtube.quota");
    }
}
