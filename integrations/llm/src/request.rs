//! What one call to a provider carries and brings back, shared by both clients and
//! `LlmProvider`: the tenant's credential and sampling settings (`LlmRequestConfig`, `ApiKey`),
//! the raw structured answer (`Exchange`) and the temperature clamp.
//!
//! A leaf: it imports neither client nor `provider`, so the arrows run provider → anthropic /
//! openai → request and never back. Must not: send requests or read answers into domain values.

use serde_json::Value;

use leadline_domain::analysis::AiSettings;
use leadline_domain::ids::TenantId;

use crate::error::LlmError;
use crate::usage::Usage;

/// Output token budget of the analysis call unless configured otherwise. The analysis JSON is
/// small, but a tenant's reply budget (`AiSettings::max_tokens`) may be smaller still, and a
/// truncated analysis is useless.
pub const DEFAULT_ANALYSIS_MAX_TOKENS: u32 = 1024;

/// A provider API key. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Everything about one call that varies by tenant. The credential travels with the call (not
/// with the client), so one client serves every tenant, with the global key or its own.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmRequestConfig {
    /// The tenant the call is for (usage is metered against it).
    pub tenant_id: TenantId,
    /// The provider key to use (the tenant's own, or the operator's global one).
    pub api_key: ApiKey,
    /// Model name, e.g. `claude-sonnet-4-5` or `gpt-4o-mini`.
    pub model: String,
    /// Sampling temperature (0..=2 like `AiSettings`; clamped to 0..=1 for Anthropic).
    pub temperature: f32,
    /// Output token budget of the reply call.
    pub max_tokens: u32,
    /// Output token budget of the analysis call.
    pub analysis_max_tokens: u32,
    /// The tenant's system prompt (a default persona is used when None or blank).
    pub system_prompt: Option<String>,
}

impl LlmRequestConfig {
    /// The config of `tenant_id` from its AI settings, with `model` and `api_key`.
    pub fn from_settings(
        tenant_id: TenantId,
        api_key: ApiKey,
        model: impl Into<String>,
        settings: &AiSettings,
    ) -> Self {
        Self {
            tenant_id,
            api_key,
            model: model.into(),
            temperature: settings.temperature,
            max_tokens: settings.max_tokens,
            analysis_max_tokens: DEFAULT_ANALYSIS_MAX_TOKENS,
            system_prompt: settings.system_prompt.clone(),
        }
    }
}

/// A structured answer before it is read into a domain value: the provider answered (and
/// billed), but `output` may still be unusable.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exchange {
    pub(crate) model: String,
    pub(crate) usage: Usage,
    pub(crate) output: Result<Value, LlmError>,
}

/// A finite temperature within `0..=max` (`AiSettings` allows 0..=2; providers differ).
pub(crate) fn clamp_temperature(temperature: f32, max: f32) -> f32 {
    if temperature.is_finite() {
        temperature.clamp(0.0, max)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_never_show_in_debug_output() {
        let cfg = LlmRequestConfig::from_settings(
            TenantId(uuid::Uuid::nil()),
            ApiKey::new("sk-secret-123"),
            "gpt-4o-mini",
            &AiSettings::default(),
        );
        let printed = format!("{cfg:?}");
        assert!(!printed.contains("sk-secret-123"));
        assert!(printed.contains("<redacted>"));
        assert_eq!(
            (cfg.max_tokens, cfg.analysis_max_tokens, cfg.temperature),
            (512, 1024, 0.7)
        );
    }
}
