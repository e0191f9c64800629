//! Serde mirrors of the LIVE wrapper's wire format (see the [`crate::live`] docs; UNCONFIRMED,
//! ours). The wire structs keep what may be missing as defaults; the checked types
//! ([`LiveComment`], [`LiveUser`]) are what callers see, built by [`LiveComment::from_wire`]
//! which refuses comments without an id or an author.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// `data` of the live-status call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveStatusData {
    /// The current (or last) room; empty or absent when the account is not live.
    #[serde(default)]
    pub room_id: Option<String>,
    /// Whether the account is live now.
    #[serde(default)]
    pub is_live: bool,
    /// The LIVE's title.
    #[serde(default)]
    pub title: String,
    /// Viewers now.
    #[serde(default)]
    pub viewer_count: u64,
}

/// `data` of the comments call. Comments stay raw here so one malformed comment costs that
/// comment, not the page (the cursor has already moved past it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LiveCommentsData {
    /// The page's comments, oldest first.
    #[serde(default)]
    pub comments: Vec<Value>,
    /// The cursor to send next (opaque).
    #[serde(default)]
    pub cursor: Option<String>,
    /// More comments are already waiting.
    #[serde(default)]
    pub has_more: bool,
    /// How long to wait before the next call.
    #[serde(default)]
    pub poll_interval_ms: Option<u64>,
    /// `false` once the LIVE has ended. Absent is read as live: only an explicit `false` ends
    /// a session.
    #[serde(default = "yes")]
    pub is_live: bool,
}

fn yes() -> bool {
    true
}

/// A viewer, as sent with each comment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveUser {
    /// TikTok's numeric user id, as a string: the stable identity (never empty once checked).
    pub user_id: String,
    /// The @handle, without `@` (the user can change it).
    #[serde(default)]
    pub unique_id: String,
    /// The display name.
    #[serde(default)]
    pub nickname: String,
    /// Whether the viewer follows the streaming account. Absent means `false`, which refuses a
    /// DM (`dm_rules`) rather than risking one TikTok would refuse.
    #[serde(default)]
    pub is_follower: bool,
}

/// One LIVE comment (polled or from a webhook).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveComment {
    /// The comment's id: the dedup key across polling and webhooks (never empty once checked).
    pub comment_id: String,
    /// Epoch seconds.
    pub create_time: i64,
    /// What the viewer wrote.
    #[serde(default)]
    pub text: String,
    /// Who wrote it.
    pub user: LiveUser,
}

impl LiveComment {
    /// Decodes one wire comment, refusing one without `comment_id`, `create_time` or
    /// `user.user_id` (no dedup key or no identity to score).
    pub fn from_wire(value: Value) -> Result<Self, Error> {
        let comment: LiveComment = serde_json::from_value(value)
            .map_err(|e| Error::Decode(format!("LIVE comment: {e}")))?;
        comment.checked()
    }

    /// Refuses a comment without an id or an author (no dedup key or no identity to score).
    pub(crate) fn checked(self) -> Result<Self, Error> {
        if self.comment_id.trim().is_empty() {
            return Err(Error::Decode("LIVE comment without comment_id".into()));
        }
        if self.user.user_id.trim().is_empty() {
            return Err(Error::Decode("LIVE comment without user.user_id".into()));
        }
        Ok(self)
    }
}

/// `content` of a `live.comment` webhook: the room plus the comment's fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCommentContent {
    /// The room the comment was made in.
    pub room_id: String,
    /// The comment.
    #[serde(flatten)]
    pub comment: LiveComment,
}

/// `content` of a `live.end` webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEndContent {
    /// The room that ended.
    pub room_id: String,
}
