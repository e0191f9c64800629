//! Black-box tests of the ElevenLabs crate against its loopback fake (no network beyond
//! 127.0.0.1) and the signature vector of platforms.md's appendix. One binary, so the crate and
//! its fake link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod conversation;
mod properties;
mod support;
mod webhooks;
