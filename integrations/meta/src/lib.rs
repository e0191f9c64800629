//! Messenger and Instagram messaging through the Graph API (platforms.md §5), and the Graph
//! pieces every Meta product shares (used by `leadline-whatsapp` too):
//!
//! - [`signature`]: `X-Hub-Signature-256` verification on raw bytes, constant time — the only
//!   implementation in the workspace;
//! - [`subscription`]: the `hub.mode` / `hub.verify_token` / `hub.challenge` handshake;
//! - [`graph`]: the production origin and version, the error envelope and its classification
//!   into [`Error`], and the one-request executor;
//! - [`client`]: the Send API (`send_text`, `send`, `sender_action`) and user profiles;
//! - [`webhook`]: `verify` then `parse` into normalised [`webhook::InboundEvent`]s (messages,
//!   echoes, postbacks, reads, deliveries, reactions) for `object: page` and `object: instagram`;
//! - `fake` (feature `fake`): a loopback Graph server ([`fake::FakeMeta`]) and the core
//!   `leadline-whatsapp`'s fake is built on.
//!
//! Architecture invariant: stateless about tenants (credentials come with each call), no
//! retries (the job queue retries, guided by [`Error::is_retryable`]), no storage, and no
//! dependency on any other Leadline crate.
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod graph;
pub mod models;
pub mod signature;
pub mod subscription;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{Channel, Client, PageCredentials, SendPolicy};
pub use error::Error;
pub use signature::SignatureError;
pub use webhook::{EventKind, InboundEvent};
