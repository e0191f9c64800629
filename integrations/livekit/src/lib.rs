//! # leadline-livekit
//!
//! LiveKit for Leadline's payment-reminder calls (platforms.md §8, seed 003): create a room,
//! dispatch a voice agent into it, dial the customer through a SIP trunk, and learn from signed
//! webhooks how the call went.
//!
//! - [`client::Client`]: the Twirp server API, `POST {LIVEKIT_API_URL}/twirp/livekit.<Service>/
//!   <Method>` — `create_room`, `delete_room`, `list_participants` (`RoomService`),
//!   `create_sip_participant` (`SIP`), `create_dispatch` (`AgentDispatchService`). Each call is
//!   authorised by a fresh 10-minute token with only the grants it needs
//!   ([`client::grants_for`]).
//! - [`token`]: HS256 access tokens ([`token::AccessToken`]), their claims and grants, key sets
//!   ([`token::KeySet`]) and verification with a given `now`.
//! - [`webhook::Receiver`]: the single front door for webhooks — verifies the bare JWT in
//!   `Authorization` (issuer among several keys, HS256 signature, expiry, the `sha256` claim of
//!   the raw body in constant time), then parses protojson into [`models::WebhookEvent`]
//!   (participant kind SIP, `sip.*` attributes, event id for deduplication).
//! - [`models`]: the wire format, read in snake_case or camelCase, int64 as strings or numbers,
//!   unknown enum values and fields tolerated.
//! - [`error::Error`]: seed 003's kinds (`InvalidPhoneNumber`, `NetworkTimeout`,
//!   `CallInitiation`, `Configuration`) plus `Transient`, `Decode`, `SignatureInvalid`, with
//!   `is_retryable()`; Twirp codes are classified once, in [`error::Error::from_twirp`].
//! - `fake` (feature `fake`): `fake::FakeLiveKit`, a loopback LiveKit that checks JWTs and
//!   grants, records requests, keeps rooms/participants/dispatches, injects delays and Twirp
//!   errors per method, and sends signed webhooks.
//!
//! - [`settings::Settings`]: the six settings the api's config fills in — `LIVEKIT_API_URL`,
//!   `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`, `LIVEKIT_SIP_TRUNK_ID` (the `sip_trunk_id` of each
//!   dial), `LIVEKIT_AGENT_NAME` (the `agent_name` of each dispatch) and `LIVEKIT_WEBHOOK_KEYS`
//!   (optional extra `key=secret` pairs) — with `missing()` for `/readyz` and a `Configuration`
//!   error naming the variable when a call needs it.
//!
//! ## How a reminder call uses it
//!
//! - Dialling: `create_room` (`call-<id>`), then `create_dispatch` of `LIVEKIT_AGENT_NAME` with
//!   the JSON metadata the agent needs, then `create_sip_participant` on `LIVEKIT_SIP_TRUNK_ID`
//!   to the E.164 number; `SipParticipantInfo::sip_call_id` is the call's LiveKit id. A
//!   `NetworkTimeout` or `Transient` error is retried by the job; `CallInitiation` fails the
//!   call with its Twirp code and message (`Error::sip_dial_failure` tells busy from no answer).
//! - Webhooks: through `Receiver::receive` (401 on any `SignatureInvalid`), deduplicated on
//!   `WebhookEvent::id`: `participant_joined` of the SIP participant with `sip.callStatus`
//!   `ringing` or `active` (`ParticipantInfo::sip`), `participant_left` with its
//!   `DisconnectReason` (`sip_dial_failure()`: `USER_REJECTED` busy, `USER_UNAVAILABLE` no
//!   answer), and `room_finished`. Timestamps are Unix seconds (`joined_at`, `created_at`).
//!
//! Architecture invariant: this crate talks to LiveKit and nothing else. It stores nothing (the
//! api persists calls and deduplicates webhook ids), retries nothing (the job queue does, guided
//! by `is_retryable`), and reads no environment variable (the api's config does).
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod models;
pub mod settings;
pub mod token;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{grants_for, validate_e164, Client, Grants};
pub use error::{Error, SignatureProblem, SipDialFailure, TwirpError};
pub use models::{
    AgentDispatch, CreateAgentDispatchRequest, CreateRoomRequest, CreateSipParticipantRequest,
    DisconnectReason, EventKind, ParticipantInfo, ParticipantKind, ParticipantState, Room, Rpc,
    SipAttributes, SipCallStatus, SipParticipantInfo, WebhookEvent,
};
pub use settings::Settings;
pub use token::{AccessToken, ApiCredentials, Claims, KeySet, SipGrant, VideoGrant};
pub use webhook::Receiver;
