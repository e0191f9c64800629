//! TikTok direct messages (platforms.md §3): webhook verification in both schemes, webhook
//! parsing, the DM send, and the DM policy as a pure check.
//!
//! - [`signature`]: `TikTok-Signature: t=..,s=..` (HMAC-SHA256 over `t.body`, tolerance from the
//!   caller) and the legacy opt-in `X-Tiktok-Signature` (SHA-256 of secret + timestamp + body);
//! - [`webhook`]: `verify` then `parse` into [`webhook::InboundEvent`]s, and the
//!   `challenge`/`verify_token` endpoint check;
//! - [`client`]: `send_text` / `send` on the API for Business (path UNCONFIRMED, configurable);
//! - [`dm_rules`]: user-initiated, 24 h window, 10 messages per user per day (decisions only);
//! - `fake` (feature `fake`): [`fake::FakeTikTok`], a loopback API for Business that records,
//!   injects failures and emits webhooks signed in either scheme.
//!
//! TikTok LIVE chat has no official API (platforms.md §3) and is not here. Architecture
//! invariant: stateless about tenants, no retries (the job queue retries, guided by
//! [`Error::is_retryable`]), no storage, no dependency on other Leadline crates.
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
