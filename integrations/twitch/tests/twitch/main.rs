//! Black-box tests of the Twitch crate against its loopback fakes (no network beyond
//! 127.0.0.1) and the shared signature vector. One binary, so the crate and its fakes link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chat;
mod eventsub;
mod helix;
mod props;
