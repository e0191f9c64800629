//! # leadline-twilio
//!
//! Twilio Voice for Leadline's AI phone agent (platforms.md §6): answer incoming calls with
//! TwiML that opens a Media Stream to the api's bridge, place outbound calls with
//! answering-machine detection, transfer a live call to a human, and learn from signed
//! webhooks how calls went.
//!
//! - [`webhook::Receiver`]: the single front door for webhooks — `X-Twilio-Signature` over the
//!   public URL (tried with and without `:443`/`:80`) and the sorted form, HMAC-SHA1 in constant
//!   time, `AccountSid` checked when configured, then parsed into [`models::VoiceWebhook`]
//!   (incoming call, status callback, async AMD verdict, `<Dial action>`; unknown parameters
//!   kept). JSON deliveries are checked against `bodySHA256` ([`webhook::Receiver::receive_json`]).
//! - [`twiml`]: a typed builder (`<Say>`, `<Dial>`, `<Connect><Stream><Parameter>`, `<Pause>`,
//!   `<Hangup>`) that escapes every value.
//! - [`media_stream`]: the WebSocket messages both ways (`connected`, `start`, `media`, `mark`,
//!   `dtmf`, `stop`; `media`, `mark`, `clear`), with payloads re-wrapped without re-encoding.
//! - [`client::Client`]: the Calls REST API — `create_call` (status callbacks, `MachineDetection`
//!   with `AsyncAmd`), `update_call` (new TwiML for a transfer, `Status=completed`),
//!   `fetch_call` — HTTP Basic, form bodies, typed [`models::Call`].
//! - [`messaging`]: `Client::create_message` sends an SMS (`Messages.json`: `To`, `From` or
//!   `MessagingServiceSid`, `Body`) and reads the Message resource.
//! - [`error::Error`]: grouped by what the caller does (`Unauthorized` 20003, `InvalidPhoneNumber`
//!   21211, `RateLimited` 20429/429 with `Retry-After`, `NotFound` 20404, `Transient` 5xx and
//!   timeouts, `Rejected`, `Decode`, `SignatureInvalid`, `Configuration`), with
//!   `is_retryable()`.
//! - [`settings::Settings`]: `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_API_BASE`, with
//!   `missing()` for `/readyz`.
//! - `fake` (feature `fake`): `fake::FakeTwilio`, a loopback Twilio that records REST calls and
//!   checks Basic auth, injects failures, signs its webhook posts, and plays Twilio's side of a
//!   Media Stream (μ-law frames out, everything received recorded).
//!
//! Architecture invariant: this crate talks to Twilio and nothing else. It stores nothing (the
//! api persists calls and deduplicates webhooks), retries nothing (the job queue does, guided by
//! `is_retryable`), and reads no environment variable (the api's config does).
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod media_stream;
pub mod messaging;
pub mod models;
pub mod settings;
pub mod twiml;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{is_e164, Client, DEFAULT_API_BASE};
pub use error::{Error, SignatureProblem, TwilioError};
pub use models::{
    AnsweredBy, Call, CallInstructions, CallStatus, CreateCall, Direction, MachineDetection,
    StatusCallbackEvent, UpdateCall, VoiceWebhook, WebhookKind,
};
pub use settings::Settings;
pub use webhook::Receiver;
