//! TikTok LIVE comments through a wrapper whose wire format Leadline defines.
//!
//! **TikTok has no official public API for LIVE chat** (platforms.md §3): every library
//! (TikTok-Live-Connector, TikTokLive, gotiktoklive) reverse-engineers the internal Webcast push
//! service. So this module does not talk to TikTok. It talks to a *wrapper* — a service that
//! runs one of those libraries and re-exposes it in the format below, which we chose. The whole
//! format is **UNCONFIRMED** by definition: it is ours, it mirrors nothing TikTok documents
//! beyond the envelope and the webhook body it borrows, and the base URL is always injected
//! ([`LiveClient::new`] has no default). Change it here and in `integrations/README.md` only.
//!
//! # Wire format (version 1)
//!
//! HTTP, JSON, header `Access-Token: <token>`, and the TikTok API for Business envelope
//! `{"code":0,"message":"OK","request_id":"..","data":{..}}`: a non-zero `code` is an error and
//! is classified like the DM client's (40100 rate limited; 40104/40105 token missing/invalid;
//! 50000/50002 transient; [`CODE_NOT_FOUND`] = 40404 unknown user or room, read as
//! `Error::NotFound`; 40002 invalid parameter; anything else `Error::Rejected`). HTTP 429 with
//! `Retry-After`, 401/403, 404 and 5xx are classified by status.
//!
//! - **Live status** — `GET {base}/open_api/v1.3/live/status/?username=<unique_id>`
//!   → `data: {"room_id": "7300…", "is_live": true, "title": "…", "viewer_count": 812}`.
//!   `room_id` may be empty or absent when the account is not live.
//! - **Comments** — `GET {base}/open_api/v1.3/live/comments/?room_id=<id>[&cursor=<c>]`
//!   → `data: {"comments": [<comment>…], "cursor": "…", "has_more": bool,
//!   "poll_interval_ms": 2000, "is_live": bool}`. Without `cursor` the wrapper starts from the
//!   room's oldest retained comment; every answer carries the cursor for the next call (opaque).
//!   `poll_interval_ms` is the wait the wrapper asks for before the next call; `is_live: false`
//!   means the LIVE has ended (pages may still carry the last comments, see [`poller`]).
//! - **Comment** — `{"comment_id": "…", "create_time": 1732350000 (epoch s), "text": "…",
//!   "user": {"user_id": "…", "unique_id": "shopfan", "nickname": "Shop Fan",
//!   "is_follower": true}}`. `user_id` is TikTok's numeric id as a string (stable);
//!   `unique_id` is the @handle (changeable); `is_follower` says whether the viewer follows the
//!   streaming account.
//! - **Webhooks** — the documented TikTok for Developers body (platforms.md §3): `client_key`,
//!   `event`, `create_time`, `user_openid`, `content` = a *string* of serialised JSON, signed with
//!   `TikTok-Signature: t=..,s=..` (verify with [`crate::webhook::verify`]). Events:
//!   [`EVENT_LIVE_COMMENT`] (`live.comment`), content `{"room_id": "…", <comment fields>}`;
//!   [`EVENT_LIVE_END`] (`live.end`), content `{"room_id": "…"}`.
//!
//! # What lives where
//! - [`models`]: serde mirrors of the above;
//! - [`client`]: [`LiveClient`] — `live_status`, `live_comments`; one request per call;
//! - [`poller`]: [`LiveCommentPoller`] — cursor + interval tracker, same shape as
//!   `leadline_youtube::LiveChatPoller`;
//! - [`webhook`]: [`parse_live_webhook`] into [`LiveEvent`]s.
//!
//! Architecture invariant: like the rest of the crate, IO only and stateless about tenants
//! (credentials per call); the poller's cursor is the caller's to persist.

pub mod client;
pub mod models;
pub mod poller;
pub mod webhook;

pub use client::{CommentsPage, LiveClient, LiveCredentials, LiveStatus};
pub use models::{LiveComment, LiveUser};
pub use poller::{CommentsRequest, LiveCommentPoller, LiveEnd, PollBatch, PollStep, PollerConfig};
pub use webhook::{parse_live_webhook, verify_and_parse_live_webhook, LiveEvent};

/// Path of the live-status call (under the base URL).
pub const STATUS_PATH: &str = "/open_api/v1.3/live/status/";
/// Path of the comments call (under the base URL).
pub const COMMENTS_PATH: &str = "/open_api/v1.3/live/comments/";
/// Envelope code for an unknown user or room (ours: TikTok documents no LIVE codes).
pub const CODE_NOT_FOUND: i64 = 40404;
/// Webhook event of one LIVE comment.
pub const EVENT_LIVE_COMMENT: &str = "live.comment";
/// Webhook event sent when a LIVE ends.
pub const EVENT_LIVE_END: &str = "live.end";
