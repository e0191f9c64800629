//! `ResilientProvider`: an `LlmProvider` with retries, a circuit breaker, usage metering and the
//! offline fallback, which is what the api calls.
//!
//! Per call:
//! 1. The breaker of this provider *and credential* is asked first (one breaker per API key, so a
//!    tenant whose own key is rate limited does not cut every other tenant off the global key).
//!    Open: no request is sent; the fallback answers (`provider: OFFLINE_FALLBACK`,
//!    `fallback_cause: CircuitOpen`).
//! 2. The request runs under the retry policy (429, 529/503, 5xx, timeouts; `retry-after`
//!    honoured).
//! 3. Retries exhausted on a retryable error: the breaker counts a failure and the fallback
//!    answers, with the last error as `fallback_cause`.
//! 4. Any other error (401/403, 400 and other rejections): returned to the caller, never replaced
//!    — a wrong key must be seen, not hidden behind canned answers. The breaker counts it as a
//!    success (the provider is up).
//! 5. The provider answered: its usage is metered (also when the answer then proves unusable —
//!    those tokens were billed). An unusable answer (`Decode`, `Ungrounded`) is returned as an
//!    error unless `fallback_on_invalid_output` is set, in which case the fallback answers.
//!
//! The fallback is the caller's (the api passes the domain's offline analyzer), taken as a trait
//! object so this crate does not depend on it.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use leadline_domain::analysis::{Analysis, AnalysisContext, Provider, Reply};
use leadline_domain::call_outcome::{OutcomeGuess, TranscriptLine};

use crate::breaker::{BreakerConfig, BreakerState, CircuitBreaker};
use crate::call_outcome::{call_outcome_call, parse_call_outcome};
use crate::error::LlmError;
use crate::output::{parse_analysis, parse_reply};
use crate::prompt::StructuredCall;
use crate::provider::{outcome, LlmOutcome, LlmProvider};
use crate::request::{ApiKey, LlmRequestConfig};
use crate::retry::RetryPolicy;
use crate::usage::{Usage, UsageMeter};

/// Model name recorded on fallback outcomes.
pub const FALLBACK_MODEL: &str = "offline";

/// The answer of last resort, computed without any provider (the domain's offline analyzer).
/// It cannot fail; whatever `provider` it sets is overwritten with `OfflineFallback`.
pub trait Fallback: Send + Sync {
    /// Classifies `message` offline.
    fn analyze(&self, message: &str, ctx: &AnalysisContext) -> Analysis;
    /// Writes a reply offline (templates).
    fn reply(&self, message: &str, analysis: &Analysis, ctx: &AnalysisContext) -> Reply;
}

/// Retry, breaker and fallback settings.
#[derive(Debug, Clone)]
pub struct ResilienceConfig {
    /// Attempts, backoff and jitter.
    pub retry: RetryPolicy,
    /// When the breaker opens and for how long.
    pub breaker: BreakerConfig,
    /// Also fall back when the provider answered but the answer was unusable (malformed, partial,
    /// refused, or an ungrounded reply). Off by default: such answers usually mean a prompt or
    /// model problem the operator should see as errors.
    pub fallback_on_invalid_output: bool,
}

impl Default for ResilienceConfig {
    /// `RetryPolicy::default()`, `BreakerConfig::default()`, no fallback on invalid output.
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            fallback_on_invalid_output: false,
        }
    }
}

/// An `LlmProvider` with retries, a breaker per credential, metering and the offline fallback.
pub struct ResilientProvider {
    provider: LlmProvider,
    config: ResilienceConfig,
    fallback: Arc<dyn Fallback>,
    meter: Option<Arc<UsageMeter>>,
    breakers: Mutex<HashMap<u64, CircuitBreaker>>,
    // Keys are remembered only as keyed hashes (random per process), never in clear.
    key_hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for ResilientProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResilientProvider")
            .field("provider", &self.provider)
            .field("config", &self.config)
            .field("metered", &self.meter.is_some())
            .finish_non_exhaustive()
    }
}

impl ResilientProvider {
    /// Wraps `provider`.
    pub fn new(
        provider: LlmProvider,
        config: ResilienceConfig,
        fallback: Arc<dyn Fallback>,
    ) -> Self {
        Self {
            provider,
            config,
            fallback,
            meter: None,
            breakers: Mutex::new(HashMap::new()),
            key_hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Records every answered request's usage in `meter`, by tenant and configured model.
    pub fn with_meter(mut self, meter: Arc<UsageMeter>) -> Self {
        self.meter = Some(meter);
        self
    }

    /// The wrapped provider.
    pub fn provider(&self) -> &LlmProvider {
        &self.provider
    }

    /// The breaker state for calls made with `api_key` (Closed if it was never used).
    pub fn breaker_state(&self, api_key: &ApiKey) -> BreakerState {
        let now = tokio::time::Instant::now();
        let breakers = self
            .breakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        breakers
            .get(&self.breaker_key(api_key))
            .map_or(BreakerState::Closed, |b| b.state(now))
    }

    /// Classifies `message`; see the module docs for when the fallback answers instead.
    pub async fn analyze(
        &self,
        message: &str,
        ctx: &AnalysisContext,
        cfg: &LlmRequestConfig,
    ) -> Result<LlmOutcome<Analysis>, LlmError> {
        let spec = self.provider.analysis_spec(message, ctx, cfg);
        let kind = self.provider.kind();
        self.run(
            &spec,
            cfg,
            |answer| parse_analysis(answer, message, ctx, kind),
            || Analysis {
                provider: Provider::OfflineFallback,
                ..self.fallback.analyze(message, ctx)
            },
        )
        .await
    }

    /// Writes the reply to `message`; see the module docs for when the fallback answers instead.
    pub async fn reply(
        &self,
        message: &str,
        analysis: &Analysis,
        ctx: &AnalysisContext,
        cfg: &LlmRequestConfig,
    ) -> Result<LlmOutcome<Reply>, LlmError> {
        let spec = self.provider.reply_spec(message, analysis, ctx, cfg);
        let kind = self.provider.kind();
        self.run(
            &spec,
            cfg,
            |answer| parse_reply(answer, analysis, ctx, kind),
            || Reply {
                provider: Provider::OfflineFallback,
                ..self.fallback.reply(message, analysis, ctx)
            },
        )
        .await
    }

    /// What the customer answered on a payment-reminder call, from its transcript; `offline` is
    /// the classifier that answers when the provider is unavailable or its answer unusable.
    pub async fn classify_call(
        &self,
        lines: &[TranscriptLine],
        today: NaiveDate,
        currency: &str,
        cfg: &LlmRequestConfig,
        offline: impl FnOnce() -> OutcomeGuess,
    ) -> Result<LlmOutcome<OutcomeGuess>, LlmError> {
        let spec = call_outcome_call(lines, today, currency);
        self.run(
            &spec,
            cfg,
            |answer| parse_call_outcome(answer, lines, today, currency),
            offline,
        )
        .await
    }

    async fn run<T>(
        &self,
        spec: &StructuredCall,
        cfg: &LlmRequestConfig,
        parse: impl FnOnce(serde_json::Value) -> Result<T, LlmError>,
        fallback: impl FnOnce() -> T,
    ) -> Result<LlmOutcome<T>, LlmError> {
        let key = self.breaker_key(&cfg.api_key);
        if !self.with_breaker(key, |b| b.try_acquire(tokio::time::Instant::now())) {
            return Ok(self.fell_back(fallback(), 0, Vec::new(), LlmError::CircuitOpen));
        }

        let retried = self
            .config
            .retry
            .run(|_| self.provider.exchange(spec, cfg))
            .await;
        let (attempts, delays) = (retried.attempts, retried.delays);
        let exchange = match retried.result {
            Ok(exchange) => exchange,
            Err(error) if error.is_retryable() => {
                self.with_breaker(key, |b| b.record_failure(tokio::time::Instant::now()));
                return Ok(self.fell_back(fallback(), attempts, delays, error));
            }
            Err(error) => {
                self.with_breaker(key, CircuitBreaker::record_success);
                return Err(error);
            }
        };
        self.with_breaker(key, CircuitBreaker::record_success);
        if let Some(meter) = &self.meter {
            meter.record(cfg.tenant_id, &cfg.model, exchange.usage);
        }

        match exchange.output.and_then(parse) {
            Ok(value) => Ok(outcome(
                value,
                exchange.usage,
                exchange.model,
                self.provider.kind(),
                attempts,
                delays,
            )),
            Err(error) if self.config.fallback_on_invalid_output && error.is_invalid_output() => {
                let mut fell = self.fell_back(fallback(), attempts, delays, error);
                // The failed answer was billed; keep its usage visible on the outcome.
                fell.usage = exchange.usage;
                Ok(fell)
            }
            Err(error) => {
                tracing::warn!(%error, provider = ?self.provider.kind(), "unusable LLM answer");
                Err(error)
            }
        }
    }

    fn fell_back<T>(
        &self,
        value: T,
        attempts: u32,
        retry_delays: Vec<std::time::Duration>,
        cause: LlmError,
    ) -> LlmOutcome<T> {
        tracing::warn!(%cause, provider = ?self.provider.kind(), attempts, "LLM provider unavailable; offline fallback answered");
        LlmOutcome {
            value,
            usage: Usage::default(),
            model: FALLBACK_MODEL.to_owned(),
            provider: Provider::OfflineFallback,
            attempts,
            retry_delays,
            fallback_cause: Some(cause),
        }
    }

    fn breaker_key(&self, api_key: &ApiKey) -> u64 {
        self.key_hasher.hash_one(api_key.expose())
    }

    fn with_breaker<R>(&self, key: u64, f: impl FnOnce(&mut CircuitBreaker) -> R) -> R {
        let mut breakers = self
            .breakers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let breaker = breakers
            .entry(key)
            .or_insert_with(|| CircuitBreaker::new(self.config.breaker));
        f(breaker)
    }
}
