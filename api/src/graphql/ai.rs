//! The AI questions over GraphQL: `analyzeMessage`, `suggestReply` and `aiUsage`.
//!
//! `analyzeMessage` and `suggestReply` are QUERIES, not mutations: they change no business data
//! (nothing about leads, conversations or the catalog), only the tenant's usage counters and
//! rate-limit tokens — the same book-keeping any read has. Being queries, a client may ask for
//! an analysis and the tenant's usage in one request. They are not idempotent in cost, though:
//! each call may bill the tenant's LLM provider, and each takes one of the tenant's
//! `LEADLINE_AI_RATE_PER_MINUTE` tokens (RATE_LIMITED with `retryAfterSeconds` when none is left).
//!
//! Access: Read (any member, any API key). The work is done by `services::ai::AiService`; this
//! module only converts between GraphQL and domain values.

use std::collections::BTreeMap;

use async_graphql::{
    Context, Enum, InputObject, InputValueError, InputValueResult, Object, Scalar, ScalarType,
    SimpleObject, Value, ID,
};
use chrono::NaiveDate;
use leadline_domain::analysis as domain;

use super::types::{mirror_enum, Channel, Product};
use super::{parse_id, state, tenant_for, AccessGuard};
use crate::auth::Access;
use crate::error::ApiError;
use crate::services::ai::{AiRequest, Analyzed};

/// A calendar day in UTC, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// A calendar day in UTC, written `YYYY-MM-DD` (e.g. "2026-03-02").
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom("a day is written YYYY-MM-DD")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

mirror_enum!(
    /// What the customer is trying to do.
    // The names are the wire names (PRODUCT_INQUIRY, PURCHASE_INTENT, …) shared with the domain.
    #[allow(clippy::enum_variant_names)]
    Intent => domain::Intent {
        /// Asks about a product: details, price, sizes, stock, compatibility.
        ProductInquiry,
        /// Wants to buy, or asks how to.
        PurchaseIntent,
        /// Shipping, hours, payment methods, and other questions not about one product.
        GeneralQuestion,
        /// Unhappy with an order, a product or the service.
        Complaint,
        /// Positive feedback.
        Praise,
        /// Greetings, chit-chat, refusals, spam.
        Other,
    }
);

mirror_enum!(
    /// A buying signal (each moves an inbox lead's score; ARCHITECTURE.md §4).
    Signal => domain::Signal {
        /// An explicit wish or need to buy.
        Interested,
        /// Time pressure.
        Urgent,
        /// An amount the customer can spend, or the word budget.
        BudgetMentioned,
        /// Buying for a business or team they run.
        DecisionMaker,
        /// Weighing the product against alternatives.
        Comparing,
        /// An explicit refusal.
        NotInterested,
        /// Promotion, scams, follow-for-follow.
        Spam,
    }
);

/// A language Leadline understands and answers in (ISO-639-1).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Language {
    /// English.
    En,
    /// Spanish.
    Es,
}

impl From<domain::Language> for Language {
    fn from(value: domain::Language) -> Self {
        match value {
            domain::Language::English => Language::En,
            domain::Language::Spanish => Language::Es,
        }
    }
}

mirror_enum!(
    /// Who answered an AI question.
    AiResultProvider => domain::Provider {
        /// The built-in offline analyzer (the tenant's choice or the server default).
        Offline,
        /// Anthropic's Messages API.
        Anthropic,
        /// OpenAI's Chat Completions API.
        Openai,
        /// The tenant's LLM provider was unavailable or has no key on this server, so the offline
        /// analyzer answered instead.
        OfflineFallback,
    }
);

/// Who said a line of the conversation.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Speaker {
    /// The customer.
    Lead,
    /// The AI assistant.
    Ai,
    /// A human agent of the tenant.
    Agent,
    /// An automatic notice.
    System,
}

impl From<Speaker> for domain::Speaker {
    fn from(value: Speaker) -> Self {
        match value {
            Speaker::Lead => domain::Speaker::Lead,
            Speaker::Ai => domain::Speaker::Ai,
            Speaker::Agent => domain::Speaker::Agent,
            Speaker::System => domain::Speaker::System,
        }
    }
}

/// One earlier message of the conversation.
#[derive(InputObject)]
pub struct HistoryTurnInput {
    /// Who said it.
    pub speaker: Speaker,
    /// What was said (at most 4,000 characters).
    pub text: String,
}

/// Input of `analyzeMessage`.
#[derive(InputObject)]
pub struct AnalyzeMessageInput {
    /// The customer's message: 1–4,000 characters, not only blanks.
    pub text: String,
    /// The channel it came from.
    pub channel: Channel,
    /// Match only these products (ids of the tenant's ACTIVE products, at most 200). Omitted:
    /// every active product. An id that is not one of them is BAD_USER_INPUT on `productIds`.
    pub product_ids: Option<Vec<ID>>,
    /// Earlier turns of the conversation, oldest first (at most 50).
    pub history: Option<Vec<HistoryTurnInput>>,
}

/// Input of `suggestReply`.
#[derive(InputObject)]
pub struct SuggestReplyInput {
    /// The customer's message: 1–4,000 characters, not only blanks.
    pub text: String,
    /// The channel it came from (and the reply goes to).
    pub channel: Channel,
    /// Offer only these products (ids of the tenant's ACTIVE products, at most 200). Omitted:
    /// every active product. An id that is not one of them is BAD_USER_INPUT on `productIds`.
    pub product_ids: Option<Vec<ID>>,
    /// Earlier turns of the conversation, oldest first (at most 50).
    pub history: Option<Vec<HistoryTurnInput>>,
}

/// A detected signal and the words that show it.
#[derive(SimpleObject)]
pub struct DetectedSignal {
    /// The signal.
    pub signal: Signal,
    /// The words of the message that carry it, verbatim.
    pub evidence: String,
    /// Where `evidence` starts in the message, in characters (Unicode scalar values) from 0.
    pub start: i32,
    /// Where `evidence` ends in the message (exclusive), in characters.
    pub end: i32,
}

/// The product a message is about.
#[derive(SimpleObject)]
pub struct ProductMatch {
    /// The product, from the tenant's catalog.
    pub product: Product,
    /// How sure the match is, 0–1.
    pub score: f64,
}

/// What a message is.
#[derive(SimpleObject)]
pub struct Analysis {
    /// What the customer is trying to do.
    pub intent: Intent,
    /// How sure the intent is, 0–1.
    pub confidence: f64,
    /// Buying signals found, each with its evidence.
    pub signals: Vec<DetectedSignal>,
    /// From -1 (very negative) to 1 (very positive).
    pub sentiment: f64,
    /// The customer asked for a person, or used one of the tenant's escalation keywords.
    pub wants_human: bool,
    /// The catalog product the message is about, if any.
    pub matched_product: Option<ProductMatch>,
    /// The language of the message (replies use it).
    pub language: Language,
    /// Who answered.
    pub provider: AiResultProvider,
}

/// A reply to send, with the analysis it is based on.
#[derive(SimpleObject)]
pub struct SuggestedReply {
    /// The reply text. Prices and links in it are quoted verbatim from the catalog.
    pub text: String,
    /// A human should take over the conversation (the reply says so to the customer).
    pub handoff: bool,
    /// The language of the reply.
    pub language: Language,
    /// Who wrote the reply.
    pub provider: AiResultProvider,
    /// What the message was found to be.
    pub analysis: Analysis,
}

/// AI usage of one provider and model.
#[derive(SimpleObject)]
pub struct AiModelUsage {
    /// Who answered (OFFLINE_FALLBACK counts the offline answers given in place of an LLM).
    pub provider: AiResultProvider,
    /// The model as configured for the tenant (`offline` for the offline analyzer).
    pub model: String,
    /// Provider calls: `analyzeMessage` makes one, `suggestReply` two (analysis, then reply).
    pub requests: i64,
    /// Input (prompt) tokens billed.
    pub input_tokens: i64,
    /// Output (completion) tokens billed.
    pub output_tokens: i64,
    /// Estimated cost in micro-USD (list prices; 0 for offline answers and unpriced models).
    pub cost_micros: i64,
}

/// The tenant's AI usage over a range of days.
#[derive(SimpleObject)]
pub struct AiUsage {
    /// First day counted (null: from the beginning).
    pub from: Option<Date>,
    /// Last day counted (null: up to today).
    pub to: Option<Date>,
    /// Provider calls, all providers.
    pub total_requests: i64,
    /// Input tokens, all providers.
    pub total_input_tokens: i64,
    /// Output tokens, all providers.
    pub total_output_tokens: i64,
    /// Estimated cost in micro-USD, all providers.
    pub total_cost_micros: i64,
    /// The same per provider and model, ordered by stored provider name, then model.
    pub by_model: Vec<AiModelUsage>,
}

/// Characters before byte offset `byte` of `text` (offsets off a character boundary round down).
fn char_offset(text: &str, byte: usize) -> i32 {
    let count = text
        .char_indices()
        .take_while(|(index, _)| *index < byte)
        .count();
    i32::try_from(count).unwrap_or(i32::MAX)
}

fn analysis(text: &str, analyzed: Analyzed) -> Analysis {
    let matched_product = analyzed.matched_product().map(|(row, score)| ProductMatch {
        product: Product(row.clone()),
        score: f64::from(score),
    });
    let a = analyzed.analysis;
    Analysis {
        intent: a.intent.into(),
        confidence: f64::from(a.confidence),
        signals: a
            .signals
            .into_iter()
            .map(|hit| DetectedSignal {
                signal: hit.signal.into(),
                start: char_offset(text, hit.start),
                end: char_offset(text, hit.end),
                evidence: hit.evidence,
            })
            .collect(),
        sentiment: f64::from(a.sentiment),
        wants_human: a.wants_human,
        matched_product,
        language: a.language.into(),
        provider: a.provider.into(),
    }
}

fn request(
    text: String,
    channel: Channel,
    product_ids: Option<Vec<ID>>,
    history: Option<Vec<HistoryTurnInput>>,
) -> async_graphql::Result<AiRequest> {
    let product_ids = product_ids
        .map(|ids| {
            ids.iter()
                .map(|id| parse_id(id, "productIds"))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(AiRequest {
        text,
        channel: channel.into(),
        product_ids,
        history: history
            .unwrap_or_default()
            .into_iter()
            .map(|turn| domain::HistoryTurn {
                speaker: turn.speaker.into(),
                text: turn.text,
            })
            .collect(),
    })
}

/// The AI queries.
#[derive(Default)]
pub struct AiQuery;

#[Object]
impl AiQuery {
    /// Analyses a customer message with the tenant's AI provider, settings and catalog: intent,
    /// buying signals with evidence, sentiment, whether a person is wanted, the product it is
    /// about, and the language. Counts toward the tenant's AI rate limit and usage.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn analyze_message(
        &self,
        ctx: &Context<'_>,
        input: AnalyzeMessageInput,
    ) -> async_graphql::Result<Analysis> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let text = input.text.clone();
        let request = request(input.text, input.channel, input.product_ids, input.history)?;
        let analyzed = state(ctx).ai.analyze(tenant_id, request).await?;
        Ok(analysis(&text, analyzed))
    }

    /// Suggests the reply to a customer message, in the message's language and the tenant's
    /// style, quoting the matched product's exact price and link. Nothing is sent or stored.
    /// Counts toward the tenant's AI rate limit and usage (two provider calls).
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn suggest_reply(
        &self,
        ctx: &Context<'_>,
        input: SuggestReplyInput,
    ) -> async_graphql::Result<SuggestedReply> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let text = input.text.clone();
        let request = request(input.text, input.channel, input.product_ids, input.history)?;
        let suggested = state(ctx).ai.suggest_reply(tenant_id, request).await?;
        Ok(SuggestedReply {
            text: suggested.reply.text,
            handoff: suggested.reply.handoff,
            language: suggested.reply.language.into(),
            provider: suggested.reply.provider.into(),
            analysis: analysis(&text, suggested.analyzed),
        })
    }

    /// The tenant's AI usage for the days `from`–`to` (both included, UTC; either may be
    /// omitted), in total and per provider and model.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn ai_usage(
        &self,
        ctx: &Context<'_>,
        from: Option<Date>,
        to: Option<Date>,
    ) -> async_graphql::Result<AiUsage> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        if let (Some(from), Some(to)) = (from, to) {
            if from.0 > to.0 {
                return Err(ApiError::bad_input("to", "must not be before `from`").into());
            }
        }
        let rows = state(ctx)
            .store
            .ai_usage(tenant_id, from.map(|d| d.0), to.map(|d| d.0))
            .await?;
        // Summed per (provider, model) across days; BTreeMap keeps the order stable.
        let mut sums: BTreeMap<(String, String), [i64; 4]> = BTreeMap::new();
        for row in rows {
            let sum = sums.entry((row.provider, row.model)).or_default();
            for (slot, value) in sum.iter_mut().zip([
                row.requests,
                row.input_tokens,
                row.output_tokens,
                row.cost_micros,
            ]) {
                *slot = slot.saturating_add(value);
            }
        }
        let by_model = sums
            .into_iter()
            .map(
                |((provider, model), [requests, input_tokens, output_tokens, cost_micros])| {
                    Ok(AiModelUsage {
                        provider: AiResultProvider::from_stored(&provider)?,
                        model,
                        requests,
                        input_tokens,
                        output_tokens,
                        cost_micros,
                    })
                },
            )
            .collect::<async_graphql::Result<Vec<_>>>()?;
        let total =
            |f: fn(&AiModelUsage) -> i64| by_model.iter().map(f).fold(0_i64, i64::saturating_add);
        Ok(AiUsage {
            from,
            to,
            total_requests: total(|u| u.requests),
            total_input_tokens: total(|u| u.input_tokens),
            total_output_tokens: total(|u| u.output_tokens),
            total_cost_micros: total(|u| u.cost_micros),
            by_model,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_offsets_become_character_offsets() {
        let text = "¿Cuánto cuesta la sudadera?";
        let start = text.find("sudadera").unwrap_or_default();
        assert_eq!(char_offset(text, start), 18);
        assert_eq!(char_offset(text, start + "sudadera".len()), 26);
        assert_eq!(char_offset("abc", 0), 0);
        assert_eq!(char_offset("abc", 99), 3);
    }
}
