//! Shared fixtures: a small catalog, per-tenant configs, a deterministic fallback, fast retry
//! policies, and a valid analysis answer.

use std::sync::Arc;
use std::time::Duration;

use leadline_domain::analysis::{
    AiSettings, Analysis, AnalysisContext, CatalogProduct, HistoryTurn, Intent, Language,
    ProductMatch, Provider, Reply, Speaker,
};
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_domain::money::Money;
use leadline_llm::{
    ApiKey, BreakerConfig, Fallback, FixedJitter, LlmProvider, LlmRequestConfig, ResilienceConfig,
    RetryPolicy,
};
use serde_json::{json, Value};

pub const MESSAGE: &str = "Hi! How much is the Trail Shoe? I need it today, my budget is tight";
pub const SYSTEM_PROMPT: &str = "You are the assistant of Cumbre Outdoor, a hiking shop.";

pub fn tenant(n: u128) -> TenantId {
    TenantId(uuid::Uuid::from_u128(n))
}

pub fn ctx() -> AnalysisContext {
    AnalysisContext {
        channel: Channel::Whatsapp,
        products: vec![
            CatalogProduct {
                id: "p-trail".into(),
                name: "Trail Shoe".into(),
                description: "Light trail running shoe".into(),
                keywords: vec!["shoe".into(), "trail".into()],
                price: Money::parse(89_990_000, "USD").expect("valid money"),
                purchase_link: Some("https://cumbre.example/p/trail-shoe".into()),
            },
            CatalogProduct {
                id: "p-tent".into(),
                name: "Dome Tent".into(),
                description: "Two-person tent".into(),
                keywords: vec!["tent".into()],
                price: Money::parse(249_000_000, "USD").expect("valid money"),
                purchase_link: None,
            },
        ],
        history: vec![
            HistoryTurn {
                speaker: Speaker::Lead,
                text: "Hello".into(),
            },
            HistoryTurn {
                speaker: Speaker::Ai,
                text: "Hi! How can I help?".into(),
            },
        ],
        settings: AiSettings {
            system_prompt: Some(SYSTEM_PROMPT.into()),
            temperature: 0.3,
            max_tokens: 300,
            escalation_keywords: vec!["manager".into()],
            ..AiSettings::default()
        },
    }
}

pub fn cfg(tenant_id: TenantId, key: &str, model: &str) -> LlmRequestConfig {
    LlmRequestConfig::from_settings(tenant_id, ApiKey::new(key), model, &ctx().settings)
}

pub fn anthropic(base_url: &str) -> LlmProvider {
    LlmProvider::Anthropic(leadline_llm::anthropic::Client::new(
        reqwest::Client::new(),
        base_url,
    ))
}

pub fn openai(base_url: &str) -> LlmProvider {
    LlmProvider::OpenAi(leadline_llm::openai::Client::new(
        reqwest::Client::new(),
        base_url,
    ))
}

/// Retries fast and deterministically: backoff ceilings 10, 20, 40 ms, no randomness.
pub fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::new(
        max_attempts,
        Duration::from_millis(10),
        Duration::from_millis(40),
    )
    .with_jitter(Arc::new(FixedJitter(1.0)))
}

pub fn resilience(max_attempts: u32, failure_threshold: u32) -> ResilienceConfig {
    ResilienceConfig {
        retry: fast_retries(max_attempts),
        breaker: BreakerConfig {
            failure_threshold,
            cool_down: Duration::from_secs(30),
        },
        fallback_on_invalid_output: false,
    }
}

/// A stand-in for the domain's offline analyzer: fixed answers, marked `Offline` so tests can
/// see the wrapper re-mark them `OfflineFallback`.
pub struct CannedFallback;

impl Fallback for CannedFallback {
    fn analyze(&self, _message: &str, _ctx: &AnalysisContext) -> Analysis {
        Analysis {
            intent: Intent::Other,
            confidence: 0.1,
            signals: Vec::new(),
            sentiment: 0.0,
            wants_human: false,
            matched_product: None,
            language: Language::English,
            provider: Provider::Offline,
        }
    }

    fn reply(&self, _message: &str, analysis: &Analysis, _ctx: &AnalysisContext) -> Reply {
        Reply {
            text: "Thanks! A person will get back to you shortly.".into(),
            handoff: true,
            language: analysis.language,
            provider: Provider::Offline,
        }
    }
}

pub fn fallback() -> Arc<dyn Fallback> {
    Arc::new(CannedFallback)
}

/// A valid analysis answer for `MESSAGE`.
pub fn analysis_answer() -> Value {
    json!({
        "intent": "PRODUCT_INQUIRY",
        "confidence": 0.91,
        "sentiment": 0.3,
        "signals": [
            {"signal": "urgent", "evidence": "I need it today"},
            {"signal": "budget_mentioned", "evidence": "my budget is tight"}
        ],
        "wants_human": false,
        "matched_product_id": "p-trail",
        "product_match_score": 0.95,
        "language": "en"
    })
}

/// The analysis the reply tests start from.
pub fn matched_analysis(provider: Provider) -> Analysis {
    Analysis {
        intent: Intent::ProductInquiry,
        confidence: 0.91,
        signals: Vec::new(),
        sentiment: 0.3,
        wants_human: false,
        matched_product: Some(ProductMatch {
            product_id: "p-trail".into(),
            name: "Trail Shoe".into(),
            score: 0.95,
        }),
        language: Language::English,
        provider,
    }
}
