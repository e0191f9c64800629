//! YouTube Data API v3 live chat (platforms.md §1) for Leadline's live-sales agent: find a
//! video's live chat from an id or any YouTube URL, read the chat at the pace the API dictates,
//! and post replies.
//!
//! - `video::VideoId`: parses ids and URL forms; garbage is a typed `InvalidVideoRef`.
//! - `client::Client`: one request per call (`videos.list`, `liveChatMessages.list`,
//!   `liveChatMessages.insert`), errors classified into `Error` (older name `YoutubeError`);
//!   credentials come with each call, so one client serves every tenant.
//! - `poller::LiveChatPoller`: the page-token / polling-interval state machine and its driver.
//!
//! The project's daily quota is shared by every replica and tenant, so the api counts it in its
//! store (`live_budget`), not here.
//!
//! Feature `fake`: `fake::FakeYoutube`, a loopback server of the same wire format for tests.
//!
//! Architecture invariant: this crate talks to YouTube and nothing else. It stores nothing (the
//! api persists page tokens and quota counters), keeps no per-tenant state, and never retries on
//! its own: the api's live-session supervisor owns retries and shutdown.

#![warn(missing_docs)]
pub mod client;
pub mod error;
pub mod models;
pub mod poller;
pub mod video;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{Client, Credentials, ListMessagesRequest, DEFAULT_BASE_URL};
pub use error::{Error, YoutubeError};
pub use models::{AuthorDetails, LiveChatMessage, LiveChatMessageListResponse, MessageType};
pub use poller::{ChatEnd, LiveChatPoller, PollBatch, PollStep, PollerConfig};
pub use video::{InvalidVideoRef, VideoId};
