//! Twitch for Leadline's live-sales agent (platforms.md §2): the bot's chat seat over IRC (read
//! viewers' messages, answer within Twitch's send limits, survive reconnects), Helix user lookup
//! and whispers, and EventSub parsing with mandatory webhook signature
//! verification.
//!
//! - `irc`: IRCv3 parser/writer and the Twitch view of a PRIVMSG (`ChatMessage`);
//! - `chat::ChatConnection`: connect → stream of `ChatEvent` + paced `say`, auto-reconnect;
//! - `pacer::SendPacer`, `backoff::ReconnectBackoff`: pure policies with `now` passed in (the
//!   daily whisper budget is shared by replicas, so the api counts it in its store);
//! - `client::HelixClient` (also at its old path `helix::`): `GET /users`, `POST /whispers`,
//!   `POST /chat/messages`;
//! - `webhook`: `verify(headers, raw_body, secret, now)` then `eventsub::parse_webhook`;
//!   `eventsub::parse_ws_frame` for EventSub over WebSocket;
//! - `error::Error` (also named `TwitchError`) with `is_retryable()`.
//!
//! Feature `fake`: `fake::FakeIrc`, `fake::FakeHelix`, `fake::eventsub` signed deliveries.
//!
//! Architecture invariant: this crate talks to Twitch and nothing else. It stores nothing (the
//! api persists whisper logs and dedupes webhook ids), holds no tenant state beyond the
//! connections it is given credentials for, and retries only what is specified here — chat
//! reconnects; HTTP calls are one request each and the supervisor decides.

#![warn(missing_docs)]
pub mod backoff;
pub mod chat;
pub mod client;
pub mod error;
pub mod eventsub;
pub mod irc;
pub mod models;
pub mod pacer;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use backoff::{BackoffConfig, ReconnectBackoff};
pub use chat::{
    ChatConfig, ChatConnection, ChatCredentials, ChatEvent, ChatSender, DisconnectReason,
    ReconnectReason, DEFAULT_IRC_URL,
};
/// The Helix client's old module path (`helix::HelixClient`, `helix::DEFAULT_BASE_URL`).
pub use client as helix;
pub use client::{HelixClient, HelixCredentials};
pub use error::{Error, SignatureProblem, TwitchError};
pub use eventsub::{Event, EventSubMessage, WsMessage};
pub use irc::{Badge, ChatMessage, IrcMessage};
pub use pacer::{PacerConfig, SendPacer};
pub use webhook::WebhookMeta;
