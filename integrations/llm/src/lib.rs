//! Anthropic Messages and OpenAI Chat Completions as providers of the domain's two AI questions
//! (ARCHITECTURE.md §5): `analyze(message, context) -> Analysis` and
//! `reply(message, analysis, context) -> Reply`.
//!
//! The answer is always structured output — a forced tool call (Anthropic) or a strict JSON
//! schema (OpenAI) — read into domain values and validated (`output`), never scraped from prose.
//! A malformed, partial or ungrounded answer is an `LlmError`, never a panic, and a reply can
//! never quote a price or link the catalog does not hold.
//!
//! Layers, bottom up:
//! - `anthropic::Client`, `openai::Client`: one HTTP request per call, errors classified
//!   (`error::Error::is_retryable`; `LlmError` is its older name); credentials come with each
//!   call, so one client serves every tenant.
//! - `request`: what every call carries (`LlmRequestConfig`, `ApiKey`), shared by both clients.
//! - `LlmProvider`: either client behind `analyze` / `reply`, one attempt.
//! - `call_outcome`: the payment-reminder call's outcome from its transcript (prompt and
//!   validation), run through `ResilientProvider::classify_call`.
//! - `ResilientProvider`: retries with backoff + jitter honouring `retry-after`, a circuit
//!   breaker per credential, usage metering per tenant, and the caller's offline `Fallback`
//!   when the provider is unavailable (recorded as `Provider::OfflineFallback`).
//!
//! Feature `fake`: loopback fakes of both wire formats for tests (`fake::FakeAnthropic`,
//! `fake::FakeOpenAi`).
//!
//! Architecture invariant: this crate talks to LLM providers and nothing else. It stores nothing
//! (usage totals are handed to the api to persist) and depends on no other integration.

pub mod anthropic;
pub mod breaker;
pub mod call_outcome;
pub mod error;
pub mod models;
pub mod openai;
pub mod output;
pub mod prompt;
pub mod provider;
pub mod request;
pub mod resilient;
pub mod retry;
pub mod usage;

#[cfg(feature = "fake")]
pub mod fake;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use error::{Error, LlmError};
pub use provider::{LlmOutcome, LlmProvider};
pub use request::{ApiKey, LlmRequestConfig, DEFAULT_ANALYSIS_MAX_TOKENS};
pub use resilient::{Fallback, ResilienceConfig, ResilientProvider, FALLBACK_MODEL};
pub use retry::{FixedJitter, JitterSource, RandomJitter, RetryPolicy};
pub use usage::{estimated_cost_micros, PriceTable, Usage, UsageMeter, UsageTotals};
