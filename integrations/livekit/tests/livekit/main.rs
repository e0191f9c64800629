//! Black-box tests of the LiveKit crate against its loopback fake (no network beyond 127.0.0.1)
//! and the shared `livekit.json` vector. One binary, so the crate and its fake link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod properties;
mod support;
mod webhooks;
