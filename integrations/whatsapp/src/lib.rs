//! WhatsApp Cloud API messaging (platforms.md §4): send text and templates, mark messages read,
//! and turn `whatsapp_business_account` webhooks into normalised events.
//!
//! - [`client`]: `send_text`, `send_template`, `send`, `mark_read`;
//! - [`webhook`]: `verify` (X-Hub-Signature-256) then `parse` into [`webhook::InboundEvent`]s
//!   (messages of every kind, contacts' profile names, statuses with error codes, errors), and
//!   the `hub.challenge` handshake ([`webhook::HubChallenge`]);
//! - [`models`]: the wire format; [`error`]: what the caller does about a failure;
//! - `fake` (feature `fake`): [`fake::FakeWhatsApp`], a loopback Cloud API that records requests,
//!   injects failures and emits signed webhooks.
//!
//! Architecture invariant: the signature check, the subscription handshake and the Graph error
//! classification are `leadline-meta`'s (WhatsApp is a Graph product); this crate never
//! re-implements them. Stateless about tenants, no retries (the job queue retries, guided by
//! [`Error::is_retryable`]), no storage.
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod models;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{Client, PhoneNumberCredentials, SentMessage};
pub use error::Error;
pub use leadline_meta::SignatureError;
pub use webhook::{InboundEvent, InboundMessage, MessageContent, StatusUpdate};
