//! Black-box tests of leadline-whatsapp: the shared Meta signature vectors through this crate's
//! `verify`, webhook fixtures from platforms.md §4 for every message kind, and the Cloud API
//! client against `FakeWhatsApp` (loopback only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod props;
mod vectors;
mod webhooks;
