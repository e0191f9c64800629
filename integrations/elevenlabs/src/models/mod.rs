//! Serde mirrors of ElevenLabs' wire format (platforms.md §7), field names exactly as sent:
//!
//! - REST: the signed-URL answer, the Twilio outbound-call request and answer;
//! - the conversation WebSocket: [`ClientMessage`] (what we send, including the `type`-less
//!   `user_audio_chunk` frame) and [`ServerEvent`] (what the agent sends, each as `type` plus a
//!   `<type>_event` object — except `client_tool_call`, whose object is named `client_tool_call`);
//! - post-call webhooks: [`PostCallEvent`].
//!
//! Unknown event types and unknown fields are tolerated everywhere (ElevenLabs adds events such
//! as `vad_score` without notice); only a *known* type whose payload is malformed is an error.
//! Post-call webhook fields are partly UNCONFIRMED, so every field there is optional and the
//! whole `data` object is also kept raw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// `GET /v1/convai/conversation/get-signed-url` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SignedUrlResponse {
    /// `wss://…&conversation_signature=…` (expiry UNCONFIRMED: use it at once).
    pub signed_url: String,
}

mod client;
mod post_call;
mod rest;
mod server;

pub use client::*;
pub use post_call::*;
pub use rest::*;
pub use server::*;

#[cfg(test)]
mod tests;
