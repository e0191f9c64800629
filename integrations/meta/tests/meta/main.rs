//! Black-box tests of leadline-meta: signature vectors from `shared/vectors/meta.json`, webhook
//! fixtures built from platforms.md §5, and the Send API client against `FakeMeta` (loopback
//! only). One binary, so the crate and its fake link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod props;
mod vectors;
mod webhooks;
