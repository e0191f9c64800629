//! Black-box tests of the Stripe crate against its loopback fake (no network beyond 127.0.0.1),
//! the official signature vectors in `shared/vectors/stripe.json` and platforms.md §9. One
//! binary, so the crate, async-stripe and the fake link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod errors;
mod properties;
mod support;
mod webhooks;
