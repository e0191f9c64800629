//! The one question every flow asks about a message (ARCHITECTURE.md §5, the AI issue):
//! `analyze(message, context) -> Analysis` and `reply(message, analysis, context) -> Reply`.
//!
//! These are the shared value types. Providers (the offline analyzer here in `domain`, the
//! Anthropic and OpenAI clients in `integrations/llm`) all produce exactly these, so callers never
//! care which one answered.

use serde::{Deserialize, Serialize};

pub mod eval;
pub mod offline;
pub mod reply_eval;
pub(crate) mod text_norm;

use crate::channel::Channel;
use crate::money::Money;
use crate::DomainError;

/// What the customer is trying to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Intent {
    ProductInquiry,
    PurchaseIntent,
    GeneralQuestion,
    Complaint,
    Praise,
    Other,
}

impl Intent {
    /// Every intent.
    pub const ALL: [Intent; 6] = [
        Intent::ProductInquiry,
        Intent::PurchaseIntent,
        Intent::GeneralQuestion,
        Intent::Complaint,
        Intent::Praise,
        Intent::Other,
    ];

    /// The stable wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::ProductInquiry => "PRODUCT_INQUIRY",
            Intent::PurchaseIntent => "PURCHASE_INTENT",
            Intent::GeneralQuestion => "GENERAL_QUESTION",
            Intent::Complaint => "COMPLAINT",
            Intent::Praise => "PRAISE",
            Intent::Other => "OTHER",
        }
    }

    /// Parses the wire name (case-insensitive).
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let wanted = value.trim().to_ascii_uppercase();
        Intent::ALL
            .into_iter()
            .find(|i| i.as_str() == wanted)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "intent",
                value: value.to_owned(),
            })
    }
}

/// Buying signals (the inbox scoring signals of ARCHITECTURE.md §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Interested,
    Urgent,
    BudgetMentioned,
    DecisionMaker,
    Comparing,
    NotInterested,
    Spam,
}

impl Signal {
    /// Every signal.
    pub const ALL: [Signal; 7] = [
        Signal::Interested,
        Signal::Urgent,
        Signal::BudgetMentioned,
        Signal::DecisionMaker,
        Signal::Comparing,
        Signal::NotInterested,
        Signal::Spam,
    ];

    /// The stable wire name (snake_case, as the seeds spell them).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Interested => "interested",
            Signal::Urgent => "urgent",
            Signal::BudgetMentioned => "budget_mentioned",
            Signal::DecisionMaker => "decision_maker",
            Signal::Comparing => "comparing",
            Signal::NotInterested => "not_interested",
            Signal::Spam => "spam",
        }
    }

    /// Parses the wire name (case-insensitive).
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let wanted = value.trim().to_ascii_lowercase();
        Signal::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "signal",
                value: value.to_owned(),
            })
    }
}

/// A detected signal and the part of the message that shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignalHit {
    pub signal: Signal,
    /// The words of the message that carry the signal.
    pub evidence: String,
    /// Byte offset of `evidence` in the message (start, inclusive).
    pub start: usize,
    /// Byte offset of `evidence` in the message (end, exclusive).
    pub end: usize,
}

/// The languages Leadline understands and answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[serde(rename = "en")]
    English,
    #[serde(rename = "es")]
    Spanish,
}

impl Language {
    /// ISO-639-1 code.
    pub fn code(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::Spanish => "es",
        }
    }
}

/// How replies should sound (a tenant setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResponseStyle {
    Concise,
    #[default]
    Friendly,
    Professional,
    Detailed,
}

impl ResponseStyle {
    /// Every style.
    pub const ALL: [ResponseStyle; 4] = [
        ResponseStyle::Concise,
        ResponseStyle::Friendly,
        ResponseStyle::Professional,
        ResponseStyle::Detailed,
    ];

    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseStyle::Concise => "CONCISE",
            ResponseStyle::Friendly => "FRIENDLY",
            ResponseStyle::Professional => "PROFESSIONAL",
            ResponseStyle::Detailed => "DETAILED",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        ResponseStyle::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "response style",
                value: value.to_owned(),
            })
    }
}

/// A product the analyzer may match and quote. Prices and links are quoted verbatim from here:
/// a reply never invents either.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CatalogProduct {
    pub id: String,
    pub name: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub price: Money,
    pub purchase_link: Option<String>,
}

/// The product a message is about, with how sure the match is (0..=1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductMatch {
    pub product_id: String,
    pub name: String,
    pub score: f32,
}

/// Who said a line of the conversation history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Speaker {
    Lead,
    Ai,
    Agent,
    System,
}

/// One earlier message of the conversation, oldest first in `AnalysisContext::history`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryTurn {
    pub speaker: Speaker,
    pub text: String,
}

/// The tenant's AI settings (the `ai_contexts` row), as the analyzer needs them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiSettings {
    pub system_prompt: Option<String>,
    pub response_style: ResponseStyle,
    /// Sampling temperature for LLM providers (0..=2); the offline analyzer ignores it.
    pub temperature: f32,
    /// Token budget for LLM replies.
    pub max_tokens: u32,
    /// Words or phrases that, when present, mean a human must take over.
    pub escalation_keywords: Vec<String>,
    /// Hand over after this many AI turns without resolution (None: never by count).
    pub auto_escalate_after_messages: Option<u32>,
    /// Name the assistant signs with, if any.
    pub agent_name: Option<String>,
    /// Hard cap on a reply's length in characters (channel limits, live chat brevity).
    pub max_reply_chars: usize,
}

impl Default for AiSettings {
    fn default() -> Self {
        Self {
            system_prompt: None,
            response_style: ResponseStyle::Friendly,
            temperature: 0.7,
            max_tokens: 512,
            escalation_keywords: Vec::new(),
            auto_escalate_after_messages: None,
            agent_name: None,
            max_reply_chars: 1000,
        }
    }
}

/// Everything the analyzer may use besides the message itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisContext {
    pub channel: Channel,
    pub products: Vec<CatalogProduct>,
    pub history: Vec<HistoryTurn>,
    pub settings: AiSettings,
}

/// Which provider produced an analysis or reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Provider {
    /// The built-in offline analyzer (the embedded default).
    Offline,
    Anthropic,
    Openai,
    /// The tenant's LLM provider was failing, so the offline analyzer answered instead.
    OfflineFallback,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Provider; 4] = [
        Provider::Offline,
        Provider::Anthropic,
        Provider::Openai,
        Provider::OfflineFallback,
    ];

    /// The stable stored name (the `ai_usage.provider` column).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Offline => "OFFLINE",
            Provider::Anthropic => "ANTHROPIC",
            Provider::Openai => "OPENAI",
            Provider::OfflineFallback => "OFFLINE_FALLBACK",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "AI provider",
                value: value.to_owned(),
            })
    }
}

/// The answer to "what is this message?".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Analysis {
    pub intent: Intent,
    /// 0..=1.
    pub confidence: f32,
    pub signals: Vec<SignalHit>,
    /// -1 (very negative) ..= 1 (very positive).
    pub sentiment: f32,
    /// The customer asked for a person, or used one of the tenant's escalation keywords.
    pub wants_human: bool,
    pub matched_product: Option<ProductMatch>,
    pub language: Language,
    pub provider: Provider,
}

/// What to say back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    pub text: String,
    /// A human should take over the conversation.
    pub handoff: bool,
    pub language: Language,
    pub provider: Provider,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for provider in Provider::ALL {
            assert_eq!(Provider::parse(provider.as_str()), Ok(provider));
            let json = serde_json::to_string(&provider).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", provider.as_str()));
        }
        for intent in Intent::ALL {
            assert_eq!(Intent::parse(intent.as_str()), Ok(intent));
        }
        for signal in Signal::ALL {
            assert_eq!(Signal::parse(signal.as_str()), Ok(signal));
            let json = serde_json::to_string(&signal).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", signal.as_str()));
        }
        for style in ResponseStyle::ALL {
            assert_eq!(ResponseStyle::parse(style.as_str()), Ok(style));
        }
    }
}
