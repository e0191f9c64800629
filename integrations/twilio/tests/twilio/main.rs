//! Black-box tests of the Twilio crate against its loopback fake (no network beyond 127.0.0.1)
//! and the shared `twilio.json` vectors. One binary, so the crate and its fake link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod media;
mod messages;
mod properties;
mod support;
mod twiml;
mod webhooks;
