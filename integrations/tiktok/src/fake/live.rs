//! The LIVE side of the fake, serving our wrapper format (`crate::live`; UNCONFIRMED, ours):
//! scripted rooms and comments, the status and comment-page endpoints, the polling rules the
//! client must keep ([`LiveViolation`]) and signed `live.comment` / `live.end` webhooks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use axum::response::Response;
use http::StatusCode;
use serde_json::{json, Value};
use tokio::time::Instant;

use super::{envelope, lock, unix_now, FakeTikTok, Shared, SignedWebhook};
use crate::live::models::LiveCommentContent;
use crate::live::{
    LiveComment, LiveCredentials, LiveUser, CODE_NOT_FOUND, EVENT_LIVE_COMMENT, EVENT_LIVE_END,
};

/// Comments per page unless [`FakeTikTok::set_live_page_size`] says otherwise.
pub const DEFAULT_LIVE_PAGE_SIZE: usize = 50;
/// `poll_interval_ms` unless [`FakeTikTok::set_live_poll_interval_ms`] says otherwise.
pub const DEFAULT_LIVE_POLL_INTERVAL_MS: u64 = 2_000;

/// A LIVE polling rule the client broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveViolation {
    /// A cursor that had already been answered was sent again (a page read twice).
    CursorReused {
        /// The cursor.
        cursor: String,
    },
    /// A comments request came sooner than the interval the previous page asked for.
    PolledTooSoon {
        /// The room.
        room_id: String,
        /// Time since the previous answer.
        elapsed: Duration,
        /// The interval that page carried.
        required: Duration,
    },
}

#[derive(Debug)]
pub(super) struct LiveState {
    /// username → its current room.
    users: BTreeMap<String, String>,
    rooms: BTreeMap<String, Room>,
    page_size: usize,
    poll_interval_ms: u64,
    violations: Vec<LiveViolation>,
}

impl LiveState {
    pub(super) fn new() -> Self {
        Self {
            users: BTreeMap::new(),
            rooms: BTreeMap::new(),
            page_size: DEFAULT_LIVE_PAGE_SIZE,
            poll_interval_ms: DEFAULT_LIVE_POLL_INTERVAL_MS,
            violations: Vec::new(),
        }
    }
}

#[derive(Debug)]
struct Room {
    username: Option<String>,
    is_live: bool,
    comments: Vec<LiveComment>,
    /// cursor → index of the first comment of the page it starts.
    cursors: HashMap<String, usize>,
    answered: HashSet<String>,
    /// When the last page was answered and the interval it carried.
    last_answer: Option<(Instant, Duration)>,
}

impl Room {
    fn new(is_live: bool) -> Self {
        Self {
            username: None,
            is_live,
            comments: Vec::new(),
            cursors: HashMap::new(),
            answered: HashSet::new(),
            last_answer: None,
        }
    }
}

impl FakeTikTok {
    /// The credentials the fake's LIVE endpoints accept (the same token as the send).
    pub fn live_credentials(&self) -> LiveCredentials {
        LiveCredentials::new(self.shared.config.access_token.clone())
    }

    /// Points `username` at `room_id` and sets whether that room is live (creating it if new).
    pub fn set_live(&self, username: &str, room_id: &str, is_live: bool) {
        let mut live = lock(&self.shared.live);
        live.users.insert(username.to_owned(), room_id.to_owned());
        let room = live
            .rooms
            .entry(room_id.to_owned())
            .or_insert_with(|| Room::new(is_live));
        room.username = Some(username.to_owned());
        room.is_live = is_live;
    }

    /// Ends `room_id`'s LIVE: status and comment pages say `is_live: false` from now on (the
    /// comments not yet read are still served).
    pub fn end_live(&self, room_id: &str) {
        if let Some(room) = lock(&self.shared.live).rooms.get_mut(room_id) {
            room.is_live = false;
        }
    }

    /// Queues `comment` in `room_id` (a room not set with [`FakeTikTok::set_live`] is created
    /// live, without a username).
    pub fn push_comment(&self, room_id: &str, comment: LiveComment) {
        lock(&self.shared.live)
            .rooms
            .entry(room_id.to_owned())
            .or_insert_with(|| Room::new(true))
            .comments
            .push(comment);
    }

    /// The most comments one page carries (at least 1).
    pub fn set_live_page_size(&self, page_size: usize) {
        lock(&self.shared.live).page_size = page_size.max(1);
    }

    /// The `poll_interval_ms` comment pages carry from now on.
    pub fn set_live_poll_interval_ms(&self, poll_interval_ms: u64) {
        lock(&self.shared.live).poll_interval_ms = poll_interval_ms;
    }

    /// Every LIVE polling rule broken so far, in order.
    pub fn live_violations(&self) -> Vec<LiveViolation> {
        lock(&self.shared.live).violations.clone()
    }

    /// A `live.comment` webhook body (unsigned), `content` as a string of serialised JSON.
    pub fn live_comment_webhook_body(
        &self,
        room_id: &str,
        comment: &LiveComment,
        create_time: i64,
    ) -> Vec<u8> {
        let content = LiveCommentContent {
            room_id: room_id.to_owned(),
            comment: comment.clone(),
        };
        self.webhook_body(
            EVENT_LIVE_COMMENT,
            create_time,
            serde_json::to_value(content).unwrap_or(Value::Null),
        )
    }

    /// A `live.end` webhook body (unsigned).
    pub fn live_end_webhook_body(&self, room_id: &str, create_time: i64) -> Vec<u8> {
        self.webhook_body(EVENT_LIVE_END, create_time, json!({"room_id": room_id}))
    }

    /// A `live.comment` webhook signed now with `TikTok-Signature`.
    pub fn signed_live_comment_webhook(
        &self,
        room_id: &str,
        comment: &LiveComment,
    ) -> SignedWebhook {
        let now = unix_now();
        self.sign(self.live_comment_webhook_body(room_id, comment, now), now)
    }

    /// A `live.end` webhook signed now with `TikTok-Signature`.
    pub fn signed_live_end_webhook(&self, room_id: &str) -> SignedWebhook {
        let now = unix_now();
        self.sign(self.live_end_webhook_body(room_id, now), now)
    }
}

/// A LIVE comment made now by `unique_id` (user id `uid_<unique_id>`, nickname = handle), for
/// [`FakeTikTok::push_comment`] and the webhook helpers.
pub fn live_comment(
    comment_id: &str,
    unique_id: &str,
    text: &str,
    is_follower: bool,
) -> LiveComment {
    LiveComment {
        comment_id: comment_id.to_owned(),
        create_time: unix_now(),
        text: text.to_owned(),
        user: LiveUser {
            user_id: format!("uid_{unique_id}"),
            unique_id: unique_id.to_owned(),
            nickname: unique_id.to_owned(),
            is_follower,
        },
    }
}

pub(super) fn live_status(shared: &Shared, query: &HashMap<String, String>) -> Response {
    let Some(username) = query.get("username").filter(|u| !u.is_empty()) else {
        return envelope(
            shared,
            StatusCode::OK,
            40002,
            "username: Missing data for required field.",
            json!({}),
        );
    };
    let data = {
        let live = lock(&shared.live);
        let room = live
            .users
            .get(username)
            .and_then(|room_id| Some((room_id, live.rooms.get(room_id)?)));
        room.map(|(room_id, room)| {
            let viewers: HashSet<&str> = room
                .comments
                .iter()
                .map(|c| c.user.user_id.as_str())
                .collect();
            json!({"room_id": room_id, "is_live": room.is_live,
                   "title": format!("@{username} LIVE"), "viewer_count": viewers.len()})
        })
    };
    match data {
        Some(data) => envelope(shared, StatusCode::OK, 0, "OK", data),
        None => envelope(
            shared,
            StatusCode::OK,
            CODE_NOT_FOUND,
            "username: User not found.",
            json!({}),
        ),
    }
}

pub(super) fn live_comments(shared: &Shared, query: &HashMap<String, String>) -> Response {
    let Some(room_id) = query.get("room_id").filter(|r| !r.is_empty()) else {
        return envelope(
            shared,
            StatusCode::OK,
            40002,
            "room_id: Missing data for required field.",
            json!({}),
        );
    };
    let now = Instant::now();
    let next_cursor = format!("cur_{}", shared.next_id());
    let answer = {
        let mut live = lock(&shared.live);
        let live = &mut *live;
        let (page_size, interval_ms) = (live.page_size, live.poll_interval_ms);
        let Some(room) = live.rooms.get_mut(room_id) else {
            return envelope(
                shared,
                StatusCode::OK,
                CODE_NOT_FOUND,
                "room_id: Room not found.",
                json!({}),
            );
        };
        let start = match query.get("cursor").filter(|c| !c.is_empty()) {
            None => 0,
            Some(cursor) => match room.cursors.get(cursor) {
                Some(start) => {
                    if !room.answered.insert(cursor.clone()) {
                        live.violations.push(LiveViolation::CursorReused {
                            cursor: cursor.clone(),
                        });
                    }
                    *start
                }
                None => {
                    return envelope(
                        shared,
                        StatusCode::OK,
                        40002,
                        "cursor: Invalid value.",
                        json!({}),
                    )
                }
            },
        };
        if let Some((previous, required)) = room.last_answer {
            let elapsed = now.saturating_duration_since(previous);
            if elapsed < required {
                live.violations.push(LiveViolation::PolledTooSoon {
                    room_id: room_id.clone(),
                    elapsed,
                    required,
                });
            }
        }
        let end = room.comments.len().min(start + page_size);
        let comments = room.comments.get(start..end).unwrap_or_default().to_vec();
        room.cursors.insert(next_cursor.clone(), end);
        room.last_answer = Some((now, Duration::from_millis(interval_ms)));
        json!({"comments": comments, "cursor": next_cursor,
               "has_more": end < room.comments.len(), "poll_interval_ms": interval_ms,
               "is_live": room.is_live})
    };
    envelope(shared, StatusCode::OK, 0, "OK", answer)
}
