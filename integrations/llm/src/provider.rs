//! The provider-neutral face of this crate: the outcome of a call, and `LlmProvider`, which runs
//! the two structured calls (`analyze`, `reply`) once against Anthropic or OpenAI. The per-call
//! configuration (tenant, credential, model, sampling) is `request`'s, re-exported here.
//!
//! `LlmProvider` makes exactly one HTTP request per call and returns errors as they are; wrap it
//! in `ResilientProvider` for retries, the circuit breaker, the offline fallback and metering.

use std::time::Duration;

use leadline_domain::analysis::{Analysis, AnalysisContext, Provider, Reply};

use crate::error::LlmError;
use crate::output::{parse_analysis, parse_reply};
use crate::prompt::{analysis_call, reply_call, StructuredCall};
use crate::request::Exchange;
use crate::usage::Usage;
use crate::{anthropic, openai};

// The per-call types live in `request` (a leaf the clients share), so the clients no longer
// import this module; they stay reachable here at their old paths.
pub use crate::request::{ApiKey, LlmRequestConfig, DEFAULT_ANALYSIS_MAX_TOKENS};

/// A value produced by a call, with what it cost and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmOutcome<T> {
    /// The analysis or reply (its `provider` field says who produced it).
    pub value: T,
    /// Tokens billed for the answer that produced `value` (zero for a fallback).
    pub usage: Usage,
    /// The model that answered as the provider names it (often a dated snapshot), or `offline`.
    pub model: String,
    /// Who produced `value`: `Anthropic`, `Openai`, or `OfflineFallback`.
    pub provider: Provider,
    /// HTTP attempts made (0 when the breaker was open and no request was sent).
    pub attempts: u32,
    /// Waits chosen between attempts, in order.
    pub retry_delays: Vec<Duration>,
    /// Why the offline fallback answered instead of the provider, if it did.
    pub fallback_cause: Option<LlmError>,
}

/// A configured LLM provider.
#[derive(Debug, Clone)]
pub enum LlmProvider {
    /// Anthropic Messages.
    Anthropic(anthropic::Client),
    /// OpenAI Chat Completions.
    OpenAi(openai::Client),
}

impl LlmProvider {
    /// Which provider this is, as recorded on results.
    pub fn kind(&self) -> Provider {
        match self {
            LlmProvider::Anthropic(_) => Provider::Anthropic,
            LlmProvider::OpenAi(_) => Provider::Openai,
        }
    }

    /// A client for `kind` on `base_url` with `timeout`; `Offline`/`OfflineFallback` are not
    /// LLM providers and give `Unsupported`.
    pub fn for_kind(
        kind: Provider,
        http: reqwest::Client,
        base_url: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, LlmError> {
        match kind {
            Provider::Anthropic => Ok(LlmProvider::Anthropic(
                anthropic::Client::new(http, base_url).with_timeout(timeout),
            )),
            Provider::Openai => Ok(LlmProvider::OpenAi(
                openai::Client::new(http, base_url).with_timeout(timeout),
            )),
            Provider::Offline | Provider::OfflineFallback => Err(LlmError::Unsupported(format!(
                "{kind:?} is not an LLM provider"
            ))),
        }
    }

    /// The default model of this provider.
    pub fn default_model(&self) -> &'static str {
        match self {
            LlmProvider::Anthropic(_) => anthropic::DEFAULT_MODEL,
            LlmProvider::OpenAi(_) => openai::DEFAULT_MODEL,
        }
    }

    /// Classifies `message` with one request.
    pub async fn analyze(
        &self,
        message: &str,
        ctx: &AnalysisContext,
        cfg: &LlmRequestConfig,
    ) -> Result<LlmOutcome<Analysis>, LlmError> {
        let exchange = self
            .exchange(&self.analysis_spec(message, ctx, cfg), cfg)
            .await?;
        let kind = self.kind();
        let value = exchange
            .output
            .and_then(|answer| parse_analysis(answer, message, ctx, kind))?;
        Ok(outcome(
            value,
            exchange.usage,
            exchange.model,
            kind,
            1,
            Vec::new(),
        ))
    }

    /// Writes the reply to `message` with one request.
    pub async fn reply(
        &self,
        message: &str,
        analysis: &Analysis,
        ctx: &AnalysisContext,
        cfg: &LlmRequestConfig,
    ) -> Result<LlmOutcome<Reply>, LlmError> {
        let exchange = self
            .exchange(&self.reply_spec(message, analysis, ctx, cfg), cfg)
            .await?;
        let kind = self.kind();
        let value = exchange
            .output
            .and_then(|answer| parse_reply(answer, analysis, ctx, kind))?;
        Ok(outcome(
            value,
            exchange.usage,
            exchange.model,
            kind,
            1,
            Vec::new(),
        ))
    }

    pub(crate) fn analysis_spec(
        &self,
        message: &str,
        ctx: &AnalysisContext,
        cfg: &LlmRequestConfig,
    ) -> StructuredCall {
        analysis_call(
            message,
            ctx,
            cfg.system_prompt.as_deref(),
            cfg.analysis_max_tokens,
        )
    }

    pub(crate) fn reply_spec(
        &self,
        message: &str,
        analysis: &Analysis,
        ctx: &AnalysisContext,
        cfg: &LlmRequestConfig,
    ) -> StructuredCall {
        reply_call(
            message,
            analysis,
            ctx,
            cfg.system_prompt.as_deref(),
            cfg.max_tokens,
        )
    }

    pub(crate) async fn exchange(
        &self,
        call: &StructuredCall,
        cfg: &LlmRequestConfig,
    ) -> Result<Exchange, LlmError> {
        match self {
            LlmProvider::Anthropic(client) => client.exchange(call, cfg).await,
            LlmProvider::OpenAi(client) => client.exchange(call, cfg).await,
        }
    }
}

pub(crate) fn outcome<T>(
    value: T,
    usage: Usage,
    model: String,
    provider: Provider,
    attempts: u32,
    retry_delays: Vec<Duration>,
) -> LlmOutcome<T> {
    LlmOutcome {
        value,
        usage,
        model,
        provider,
        attempts,
        retry_delays,
        fallback_cause: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_kinds_are_not_llm_providers() {
        let http = reqwest::Client::new();
        let result = LlmProvider::for_kind(
            Provider::Offline,
            http.clone(),
            "http://127.0.0.1:1",
            Duration::from_secs(1),
        );
        assert!(matches!(result, Err(LlmError::Unsupported(_))));
        let provider = LlmProvider::for_kind(
            Provider::Anthropic,
            http,
            "http://127.0.0.1:1/",
            Duration::from_secs(1),
        );
        assert!(
            matches!(provider, Ok(LlmProvider::Anthropic(ref c)) if c.base_url() == "http://127.0.0.1:1")
        );
    }
}
