//! TikTok direct messages (platforms.md §3) and LIVE comments: webhook verification in both
//! schemes, webhook parsing, the DM send, the DM policy as pure checks, and a LIVE comment
//! reader over a wrapper format we define.
//!
//! - [`signature`]: `TikTok-Signature: t=..,s=..` (HMAC-SHA256 over `t.body`, tolerance from the
//!   caller) and the legacy opt-in `X-Tiktok-Signature` (SHA-256 of secret + timestamp + body);
//! - [`webhook`]: `verify` then `parse` into [`webhook::InboundEvent`]s, and the
//!   `challenge`/`verify_token` endpoint check;
//! - [`client`]: `send_text` / `send` on the API for Business (path UNCONFIRMED, configurable);
//! - [`live`]: TikTok LIVE has no official API, so [`live::LiveClient`] (`live_status`,
//!   `live_comments`) talks to a wrapper in a format documented there (UNCONFIRMED, ours: the API
//!   for Business envelope and the TikTok for Developers webhook body); [`live::LiveCommentPoller`]
//!   pages through comments by cursor at the wrapper's interval; [`live::parse_live_webhook`]
//!   reads `live.comment` / `live.end`;
//! - [`dm_rules`]: user-initiated, 24 h window, 10 messages per user per day; for LIVE viewers,
//!   follower + 24 h since their last comment or DM + the same cap (decisions only);
//! - `fake` (feature `fake`): [`fake::FakeTikTok`], a loopback API for Business and LIVE wrapper
//!   that records, injects failures and emits webhooks signed in either scheme.
//!
//! Architecture invariant: stateless about tenants, no retries (the job queue or the LIVE
//! supervisor retries, guided by [`Error::is_retryable`]), no storage (the poller's cursor is the
//! caller's to persist), no dependency on other Leadline crates.
#![warn(missing_docs)]

pub mod client;
pub mod dm_rules;
pub mod error;
pub mod live;
pub mod models;
pub mod signature;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{BusinessCredentials, Client, SentMessage};
pub use error::{Error, SignatureError};
pub use signature::{Scheme, VerifyOptions};
pub use webhook::{DirectMessage, DmContent, InboundEvent};
