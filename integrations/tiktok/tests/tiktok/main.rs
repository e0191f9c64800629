//! Black-box tests of leadline-tiktok: signature vectors from `shared/vectors/tiktok.json` and
//! `tiktok_legacy.json`, webhook fixtures from platforms.md §3 and seed 001, and the DM and LIVE
//! clients against `FakeTikTok` (loopback only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod live;
mod props;
mod vectors;
mod webhooks;
