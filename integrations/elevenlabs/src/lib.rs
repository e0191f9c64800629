//! # leadline-elevenlabs
//!
//! ElevenLabs Conversational AI for Leadline's AI phone agent (platforms.md §7): the voice agent
//! the api's bridge connects a Twilio Media Stream to, the outbound calls ElevenLabs can place
//! through its own Twilio integration, and the post-call webhooks that report how a call went.
//!
//! - [`client::Client`]: the REST side — `signed_url` (`GET
//!   /v1/convai/conversation/get-signed-url`, `xi-api-key`), `public_conversation_url`,
//!   `connect_agent`, `outbound_call` (`POST /v1/convai/twilio/outbound-call`). Base URLs are
//!   injectable so tests point it at the fake.
//! - [`conversation`]: the conversation WebSocket — [`conversation::connect`] sends the
//!   `conversation_initiation_client_data` frame first with `dynamic_variables`, waits for the
//!   metadata, and splits into a [`ConversationSender`] (audio relayed as the base64 it came
//!   in, pong, tool results, user messages, contextual updates, activity) and a
//!   [`ConversationReceiver`] of typed [`ServerEvent`]s that answers pings and runs the
//!   [`AudioGate`] (audio of an interrupted turn is dropped) unless told otherwise.
//! - [`models`]: serde mirrors of every frame and body, unknown types and fields tolerated.
//! - [`webhook::Receiver`]: the single front door for post-call webhooks —
//!   `ElevenLabs-Signature: t=…,v0=…` over `t + "." + raw body`, HMAC-SHA256 in constant time,
//!   any of several `v0`, `t` within 30 minutes — then parsed into [`PostCallEvent`].
//! - [`error::Error`]: grouped by what the caller does (`Unauthorized`, `NotFound`,
//!   `Validation`, `RateLimited`, `Unavailable`, `Transport`, `Decode`, `Closed`,
//!   `Configuration`, `Webhook`), with `is_retryable()`.
//! - [`settings::Settings`]: `ELEVENLABS_API_KEY`, `ELEVENLABS_API_BASE`, `ELEVENLABS_WS_BASE`,
//!   `ELEVENLABS_WEBHOOK_SECRET`, with `missing()` for `/readyz`.
//! - `fake` (feature `fake`): `fake::FakeElevenLabs`, a loopback ElevenLabs that hands out
//!   signed URLs, plays a scripted agent on the conversation WebSocket while recording every
//!   frame and protocol violation, accepts outbound calls, and signs post-call webhooks.
//!
//! Architecture invariant: this crate talks to ElevenLabs and nothing else. It stores nothing
//! (the api persists calls and deduplicates webhooks), retries nothing (the job queue and the
//! bridge do, guided by `is_retryable`), knows nothing of Twilio beyond passing its base64
//! through, and reads no environment variable (the api's config does).
#![warn(missing_docs)]

pub mod client;
pub mod conversation;
pub mod error;
pub mod models;
pub mod settings;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{Client, DEFAULT_API_BASE, DEFAULT_WS_BASE};
pub use conversation::{
    connect, AudioGate, Conversation, ConversationOptions, ConversationReceiver, ConversationSender,
};
pub use error::{Error, WebhookError};
pub use models::{
    ClientMessage, ConversationInitiation, ConversationInitiationMetadata, DynamicVariable,
    OutboundCall, OutboundCallResponse, PostCallData, PostCallEvent, PostCallEventType,
    ServerEvent,
};
pub use settings::Settings;
pub use webhook::Receiver;
