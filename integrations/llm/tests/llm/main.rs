//! Black-box tests of the LLM providers against the loopback fakes (no network beyond
//! 127.0.0.1). One binary, so the crate and its fakes link once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod anthropic;
mod openai;
mod props;
mod resilience;
mod support;
