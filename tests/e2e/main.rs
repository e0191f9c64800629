//! End-to-end tests: the real `leadline` binary on port 0, driven over HTTP and WebSocket.
//! One test binary (faster to build than one per file); modules by area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod ai;
mod attacks;
mod billing;
mod call_policy;
mod calls;
mod fuzz;
mod harness;
mod inbox_flow;
mod jobs;
mod lead_flow;
mod live;
mod live_platforms;
mod phone_agent;
mod phone_agent_outbound;
mod records;
mod scale_out;
mod subscriptions;
mod support_chat;
mod transport;
mod webhooks;
