//! `AiService`: the two AI questions of ARCHITECTURE.md §5 — "what is this message?" and "what
//! should we say back?" — asked for one tenant, with that tenant's settings and catalog.
//!
//! Per request it:
//! 1. validates the input (text 1..=4000 characters, at most 50 history turns, at most 200
//!    product ids) and admits the request under the tenant's rate (`crate::limit`);
//! 2. builds the `AnalysisContext` from the tenant's `ai_contexts` row (style, temperature, token
//!    budget, escalation keywords, hand-over count, system prompt), `tenants.agent_name`, and its
//!    ACTIVE products — all of them, or exactly the ids the caller named (an id that is not an
//!    active product of this tenant is BAD_USER_INPUT on `productIds`, so another tenant's
//!    product is never usable and never confirmed to exist);
//! 3. routes to a provider: the tenant's stored provider (OFFLINE | ANTHROPIC | OPENAI) wins; an
//!    unset or unrecognised one uses `LEADLINE_AI_PROVIDER`. An LLM provider whose key is not
//!    configured on this server is answered by the offline analyzer, marked `OfflineFallback`.
//!    LLM calls go through `leadline_llm::ResilientProvider` (retries, a breaker per key, the
//!    offline analyzer as its `Fallback`); errors it returns (a refused key, a rejected request,
//!    an unusable answer) become UNAVAILABLE with a message that never carries the key;
//! 4. records usage in `ai_usage`: the LLM providers' `UsageMeter`s are drained after every call
//!    (tokens and estimated cost by configured model), and offline answers count requests under
//!    provider OFFLINE (or OFFLINE_FALLBACK), model `offline`, zero tokens and cost. A request is
//!    one provider call: `analyze` makes one, `suggest_reply` two (analysis, then reply).
//!
//! The offline analyzer is trained once, when the service is built, and shared by every request.
//! Must not: know about GraphQL or HTTP, or read the environment (the `Config` comes in).

use std::sync::Arc;
use std::time::Duration;

use crate::limit::{LimitStore, Limiter, OnOutage, Quota};
use anyhow::Context as _;
use leadline_domain::analysis::offline::OfflineAnalyzer;
use leadline_domain::analysis::{
    AiSettings, Analysis, AnalysisContext, CatalogProduct, HistoryTurn, Provider, Reply,
    ResponseStyle,
};
use leadline_domain::call_outcome::{classify_call_outcome, OutcomeGuess, TranscriptLine};
use leadline_domain::channel::Channel;
use leadline_domain::ids::{ProductId, TenantId};
use leadline_domain::money::Money;
use leadline_entity::{ai_contexts, products};
use leadline_llm::{
    ApiKey, Fallback, LlmError, LlmProvider, LlmRequestConfig, ResilienceConfig, ResilientProvider,
    RetryPolicy, UsageMeter, FALLBACK_MODEL,
};
use uuid::Uuid;

use crate::config::{AiProviderKind, Config};
use crate::error::{ApiError, ApiResult};
use crate::store::{AiUsageIncrement, Store};

/// Longest message accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Most history turns accepted.
pub const MAX_HISTORY_TURNS: usize = 50;
/// Most product ids accepted in one request.
pub const MAX_PRODUCT_IDS: usize = 200;
/// Model name recorded for offline answers.
pub const OFFLINE_MODEL: &str = FALLBACK_MODEL;

/// Longest `retry-after` an interactive request waits for before the offline fallback answers.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// A message to analyse or answer, for one tenant.
#[derive(Debug, Clone)]
pub struct AiRequest {
    /// The customer's message.
    pub text: String,
    /// Where it came from (replies respect the channel's habits).
    pub channel: Channel,
    /// Restrict the catalog to these products (None: every active product).
    pub product_ids: Option<Vec<Uuid>>,
    /// Earlier turns of the conversation, oldest first.
    pub history: Vec<HistoryTurn>,
}

/// An analysis and the catalog rows it was made against.
#[derive(Debug, Clone)]
pub struct Analyzed {
    /// The answer.
    pub analysis: Analysis,
    /// The products the provider saw.
    pub products: Vec<products::Model>,
}

impl Analyzed {
    /// The matched product's row and match score, if a product matched.
    pub fn matched_product(&self) -> Option<(&products::Model, f32)> {
        let matched = self.analysis.matched_product.as_ref()?;
        self.products
            .iter()
            .find(|p| p.id.to_string() == matched.product_id)
            .map(|p| (p, matched.score))
    }
}

/// A suggested reply with the analysis it answers.
#[derive(Debug, Clone)]
pub struct Suggested {
    /// What to say.
    pub reply: Reply,
    /// What the message was found to be.
    pub analyzed: Analyzed,
}

/// The offline analyzer as `leadline_llm`'s fallback.
struct OfflineAnswers(OfflineAnalyzer);

impl Fallback for OfflineAnswers {
    fn analyze(&self, message: &str, ctx: &AnalysisContext) -> Analysis {
        self.0.analyze(message, ctx)
    }

    fn reply(&self, message: &str, analysis: &Analysis, ctx: &AnalysisContext) -> Reply {
        self.0.reply(message, analysis, ctx)
    }
}

/// One configured LLM provider.
struct LlmBackend {
    provider: ResilientProvider,
    api_key: ApiKey,
    meter: Arc<UsageMeter>,
    /// The provider's stored name (`ANTHROPIC`, `OPENAI`).
    stored_name: &'static str,
    /// How messages name it.
    label: &'static str,
}

/// Where one tenant's request goes.
enum Route<'a> {
    Offline,
    Llm(&'a LlmBackend),
    /// The tenant chose an LLM provider this server has no key for (the variable to set).
    Unconfigured(&'static str),
}

/// A request made ready: the context, the catalog rows and the tenant's provider choice.
struct Prepared {
    ctx: AnalysisContext,
    rows: Vec<products::Model>,
    provider: String,
    model: Option<String>,
}

/// Offline answers given while serving one request, to count in `ai_usage`.
#[derive(Debug, Default)]
struct OfflineCalls {
    offline: i64,
    fallback: i64,
}

struct Inner {
    store: Store,
    offline: OfflineAnalyzer,
    anthropic: Option<LlmBackend>,
    openai: Option<LlmBackend>,
    default_provider: AiProviderKind,
    /// AI requests per tenant (`crate::limit`, shared by replicas through Redis when configured).
    limiter: Limiter,
}

/// Cheap to clone; held in `AppState`.
#[derive(Clone)]
pub struct AiService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AiService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiService")
            .field("anthropic", &self.inner.anthropic.is_some())
            .field("openai", &self.inner.openai.is_some())
            .field("default_provider", &self.inner.default_provider)
            .finish_non_exhaustive()
    }
}

impl AiService {
    /// Builds the service: trains the offline analyzer and sets up a client for each LLM
    /// provider that has a key in `config`.
    pub fn new(store: Store, config: &Config, limits: &LimitStore) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .build()
            .context("building the HTTP client for the AI providers")?;
        let offline = OfflineAnalyzer::new();
        let fallback: Arc<dyn Fallback> = Arc::new(OfflineAnswers(offline.clone()));
        let resilience = ResilienceConfig {
            retry: RetryPolicy::default().with_max_retry_after(MAX_RETRY_AFTER),
            ..ResilienceConfig::default()
        };
        let backend = |kind: Provider,
                       key: &Option<String>,
                       base: &str,
                       stored_name: &'static str,
                       label: &'static str|
         -> anyhow::Result<Option<LlmBackend>> {
            let Some(key) = key else { return Ok(None) };
            let provider = LlmProvider::for_kind(kind, http.clone(), base, config.ai_timeout)
                .with_context(|| format!("configuring {label}"))?;
            let meter = Arc::new(UsageMeter::default());
            Ok(Some(LlmBackend {
                provider: ResilientProvider::new(
                    provider,
                    resilience.clone(),
                    Arc::clone(&fallback),
                )
                .with_meter(Arc::clone(&meter)),
                api_key: ApiKey::new(key.clone()),
                meter,
                stored_name,
                label,
            }))
        };
        let anthropic = backend(
            Provider::Anthropic,
            &config.anthropic_api_key,
            &config.anthropic_api_base,
            Provider::Anthropic.as_str(),
            "Anthropic",
        )?;
        let openai = backend(
            Provider::Openai,
            &config.openai_api_key,
            &config.openai_api_base,
            Provider::Openai.as_str(),
            "OpenAI",
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                offline,
                anthropic,
                openai,
                default_provider: config.ai_default_provider,
                limiter: Limiter::new(
                    "ai_tenant",
                    Quota::per_minute(config.ai_rate_per_minute),
                    OnOutage::InProcess,
                    limits,
                ),
            }),
        })
    }

    /// What `request.text` is: intent, signals, sentiment, hand-over wish, product, language.
    pub async fn analyze(&self, tenant_id: TenantId, request: AiRequest) -> ApiResult<Analyzed> {
        validate(&request)?;
        self.inner.limiter.check(&tenant_id.to_string()).await?;
        self.analyze_chat(tenant_id, request).await
    }

    /// [`AiService::analyze`] for the live agent's chat pipeline: not under the per-minute limit
    /// of API requests (`LEADLINE_AI_RATE_PER_MINUTE` is for `analyzeMessage`/`suggestReply`
    /// callers; a live chat's volume is the audience's, and the session's reply limits and the
    /// provider's own breaker bound it). Usage is still metered.
    pub async fn analyze_chat(
        &self,
        tenant_id: TenantId,
        request: AiRequest,
    ) -> ApiResult<Analyzed> {
        validate(&request)?;
        let prepared = self.prepare(tenant_id, &request).await?;
        let mut calls = OfflineCalls::default();
        let analysis = self
            .run_analysis(tenant_id, &request.text, &prepared, &mut calls)
            .await;
        self.record_usage(tenant_id, calls).await;
        Ok(Analyzed {
            analysis: analysis?,
            products: prepared.rows,
        })
    }

    /// The reply to `request.text`, with the analysis it is based on.
    pub async fn suggest_reply(
        &self,
        tenant_id: TenantId,
        request: AiRequest,
    ) -> ApiResult<Suggested> {
        validate(&request)?;
        self.inner.limiter.check(&tenant_id.to_string()).await?;
        let prepared = self.prepare(tenant_id, &request).await?;
        let mut calls = OfflineCalls::default();
        let result = async {
            let analysis = self
                .run_analysis(tenant_id, &request.text, &prepared, &mut calls)
                .await?;
            let reply = self
                .run_reply(tenant_id, &request.text, &analysis, &prepared, &mut calls)
                .await?;
            Ok::<_, ApiError>((analysis, reply))
        }
        .await;
        self.record_usage(tenant_id, calls).await;
        let (analysis, reply) = result?;
        Ok(Suggested {
            reply,
            analyzed: Analyzed {
                analysis,
                products: prepared.rows,
            },
        })
    }

    async fn prepare(&self, tenant_id: TenantId, request: &AiRequest) -> ApiResult<Prepared> {
        let store = &self.inner.store;
        let settings_row = store.ai_context(tenant_id).await?;
        let tenant = store.tenant(tenant_id).await?;
        let wanted = request.product_ids.as_ref().map(|ids| {
            let mut ids: Vec<ProductId> = ids.iter().copied().map(ProductId).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        });
        let rows = store.active_products(tenant_id, wanted.as_deref()).await?;
        if let Some(wanted) = &wanted {
            if let Some(missing) = wanted
                .iter()
                .find(|id| !rows.iter().any(|r| r.id == id.uuid()))
            {
                return Err(ApiError::bad_input(
                    "productIds",
                    format!("{missing} is not an active product of this tenant"),
                ));
            }
        }
        let ctx = AnalysisContext {
            channel: request.channel,
            products: rows.iter().filter_map(catalog_product).collect(),
            history: request.history.clone(),
            settings: ai_settings(&settings_row, tenant.agent_name),
        };
        Ok(Prepared {
            ctx,
            rows,
            provider: settings_row.provider,
            model: settings_row.model,
        })
    }

    fn route(&self, stored: &str) -> Route<'_> {
        let kind = match stored {
            "OFFLINE" => AiProviderKind::Offline,
            "ANTHROPIC" => AiProviderKind::Anthropic,
            "OPENAI" => AiProviderKind::OpenAi,
            other => {
                // Only a hand-edited row gets here (updateAiContext stores the three names).
                tracing::warn!(
                    stored = other,
                    "unknown stored AI provider; the operator's default answers"
                );
                self.inner.default_provider
            }
        };
        match kind {
            AiProviderKind::Offline => Route::Offline,
            AiProviderKind::Anthropic => self
                .inner
                .anthropic
                .as_ref()
                .map_or(Route::Unconfigured("ANTHROPIC_API_KEY"), Route::Llm),
            AiProviderKind::OpenAi => self
                .inner
                .openai
                .as_ref()
                .map_or(Route::Unconfigured("OPENAI_API_KEY"), Route::Llm),
        }
    }

    fn request_config(
        tenant_id: TenantId,
        backend: &LlmBackend,
        prepared: &Prepared,
    ) -> LlmRequestConfig {
        Self::config_for(
            tenant_id,
            backend,
            prepared.model.as_deref(),
            &prepared.ctx.settings,
        )
    }

    fn config_for(
        tenant_id: TenantId,
        backend: &LlmBackend,
        model: Option<&str>,
        settings: &leadline_domain::analysis::AiSettings,
    ) -> LlmRequestConfig {
        let model = model
            .filter(|m| !m.trim().is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| backend.provider.provider().default_model().to_owned());
        LlmRequestConfig::from_settings(tenant_id, backend.api_key.clone(), model, settings)
    }

    /// What the customer answered on a payment-reminder call, from its transcript: through the
    /// tenant's AI provider when it uses one, else (or when that provider is unavailable, or
    /// its answer unusable) by the offline classifier. Never an error for the provider's sake:
    /// a call that ended must still get its outcome. Returns who decided.
    pub async fn classify_call_outcome(
        &self,
        tenant_id: TenantId,
        lines: &[TranscriptLine],
        today: chrono::NaiveDate,
        currency: &str,
    ) -> ApiResult<(OutcomeGuess, Provider)> {
        let offline = || classify_call_outcome(lines, today, currency);
        let store = &self.inner.store;
        let settings_row = store.ai_context(tenant_id).await?;
        let mut calls = OfflineCalls::default();
        let decided = match self.route(&settings_row.provider) {
            Route::Offline => {
                calls.offline += 1;
                (offline(), Provider::Offline)
            }
            Route::Unconfigured(variable) => {
                tracing::warn!(%tenant_id, "{variable} is not set; the offline call classifier answers");
                calls.fallback += 1;
                (offline(), Provider::OfflineFallback)
            }
            Route::Llm(backend) => {
                let tenant = store.tenant(tenant_id).await?;
                let settings = ai_settings(&settings_row, tenant.agent_name);
                let cfg =
                    Self::config_for(tenant_id, backend, settings_row.model.as_deref(), &settings);
                match backend
                    .provider
                    .classify_call(lines, today, currency, &cfg, offline)
                    .await
                {
                    Ok(outcome) => {
                        if outcome.provider == Provider::OfflineFallback {
                            calls.fallback += 1;
                        }
                        (outcome.value, outcome.provider)
                    }
                    Err(error) => {
                        tracing::warn!(%tenant_id, %error, provider = backend.label, "the call classifier's provider failed; the offline classifier answers");
                        calls.fallback += 1;
                        (
                            classify_call_outcome(lines, today, currency),
                            Provider::OfflineFallback,
                        )
                    }
                }
            }
        };
        self.record_usage(tenant_id, calls).await;
        Ok(decided)
    }

    /// A nurture follow-up for `stage`: written by the tenant's AI provider when it uses one,
    /// else by the offline writer (`domain::nurture::follow_up_text`). A follow-up goes out
    /// unprompted, so the model's body must pass `domain::nurture::check_follow_up_body` (no
    /// link, no figure, the lead's language, short) and gets the signature and opt-out line
    /// added; a body that fails, a provider that is down or unconfigured, or a settings row
    /// that cannot be read all give the offline text. Never an error: the step must go out.
    pub async fn write_follow_up(
        &self,
        tenant_id: TenantId,
        stage: leadline_domain::nurture::NurtureStage,
        facts: &leadline_domain::nurture::FollowUpFacts<'_>,
    ) -> String {
        let offline = || leadline_domain::nurture::follow_up_text(stage, facts);
        let mut calls = OfflineCalls::default();
        let settings_row = match self.inner.store.ai_context(tenant_id).await {
            Ok(row) => row,
            Err(error) => {
                tracing::warn!(%tenant_id, ?error, "the AI settings could not be read; the offline writer writes the follow-up");
                calls.fallback += 1;
                self.record_usage(tenant_id, calls).await;
                return offline();
            }
        };
        let text = match self.route(&settings_row.provider) {
            Route::Offline => {
                calls.offline += 1;
                offline()
            }
            Route::Unconfigured(variable) => {
                tracing::warn!(%tenant_id, "{variable} is not set; the offline writer writes the follow-up");
                calls.fallback += 1;
                offline()
            }
            Route::Llm(backend) => {
                let settings = ai_settings(&settings_row, facts.agent_name.map(str::to_owned));
                let cfg =
                    Self::config_for(tenant_id, backend, settings_row.model.as_deref(), &settings);
                match backend
                    .provider
                    .write_follow_up(stage, facts, &cfg, offline)
                    .await
                {
                    Ok(outcome) => {
                        if outcome.provider == Provider::OfflineFallback {
                            calls.fallback += 1;
                        }
                        outcome.value
                    }
                    Err(error) => {
                        tracing::warn!(%tenant_id, %error, provider = backend.label, "the follow-up the provider wrote is not sent; the offline writer's is");
                        calls.fallback += 1;
                        offline()
                    }
                }
            }
        };
        self.record_usage(tenant_id, calls).await;
        text
    }

    async fn run_analysis(
        &self,
        tenant_id: TenantId,
        text: &str,
        prepared: &Prepared,
        calls: &mut OfflineCalls,
    ) -> ApiResult<Analysis> {
        let offline = &self.inner.offline;
        match self.route(&prepared.provider) {
            Route::Offline => {
                calls.offline += 1;
                Ok(offline.analyze(text, &prepared.ctx))
            }
            Route::Unconfigured(variable) => {
                tracing::warn!(%tenant_id, provider = %prepared.provider, "{variable} is not set; the offline analyzer answers");
                calls.fallback += 1;
                Ok(Analysis {
                    provider: Provider::OfflineFallback,
                    ..offline.analyze(text, &prepared.ctx)
                })
            }
            Route::Llm(backend) => {
                let cfg = Self::request_config(tenant_id, backend, prepared);
                match backend.provider.analyze(text, &prepared.ctx, &cfg).await {
                    Ok(outcome) => {
                        if outcome.provider == Provider::OfflineFallback {
                            calls.fallback += 1;
                        }
                        Ok(outcome.value)
                    }
                    Err(error) => Err(provider_error(backend.label, &error)),
                }
            }
        }
    }

    async fn run_reply(
        &self,
        tenant_id: TenantId,
        text: &str,
        analysis: &Analysis,
        prepared: &Prepared,
        calls: &mut OfflineCalls,
    ) -> ApiResult<Reply> {
        let offline = &self.inner.offline;
        let fallback_reply = |calls: &mut OfflineCalls| {
            calls.fallback += 1;
            Reply {
                provider: Provider::OfflineFallback,
                ..offline.reply(text, analysis, &prepared.ctx)
            }
        };
        match self.route(&prepared.provider) {
            Route::Offline => {
                calls.offline += 1;
                Ok(offline.reply(text, analysis, &prepared.ctx))
            }
            Route::Unconfigured(_) => Ok(fallback_reply(calls)),
            // The provider just failed this request's analysis (after its retries): answer
            // offline at once rather than make the customer wait through the retries again.
            Route::Llm(_) if analysis.provider == Provider::OfflineFallback => {
                Ok(fallback_reply(calls))
            }
            Route::Llm(backend) => {
                let cfg = Self::request_config(tenant_id, backend, prepared);
                match backend
                    .provider
                    .reply(text, analysis, &prepared.ctx, &cfg)
                    .await
                {
                    Ok(outcome) => {
                        if outcome.provider == Provider::OfflineFallback {
                            calls.fallback += 1;
                        }
                        Ok(outcome.value)
                    }
                    Err(error) => Err(provider_error(backend.label, &error)),
                }
            }
        }
    }

    /// Writes this request's offline answers and everything the LLM meters hold (other
    /// requests' included: draining takes all) to `ai_usage`. A failed write is logged: the
    /// customer's answer matters more than the counter.
    async fn record_usage(&self, tenant_id: TenantId, calls: OfflineCalls) {
        let day = chrono::Utc::now().date_naive();
        let mut increments: Vec<(TenantId, AiUsageIncrement)> = Vec::new();
        let offline = |provider: &str, requests: i64| AiUsageIncrement {
            day,
            provider: provider.to_owned(),
            model: OFFLINE_MODEL.to_owned(),
            requests,
            input_tokens: 0,
            output_tokens: 0,
            cost_micros: 0,
        };
        if calls.offline > 0 {
            increments.push((
                tenant_id,
                offline(Provider::Offline.as_str(), calls.offline),
            ));
        }
        if calls.fallback > 0 {
            increments.push((
                tenant_id,
                offline(Provider::OfflineFallback.as_str(), calls.fallback),
            ));
        }
        let backends = [&self.inner.anthropic, &self.inner.openai];
        for backend in backends.into_iter().flatten() {
            for (tenant, model, totals) in backend.meter.drain() {
                let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                increments.push((
                    tenant,
                    AiUsageIncrement {
                        day,
                        provider: backend.stored_name.to_owned(),
                        model,
                        requests: count(totals.requests),
                        input_tokens: count(totals.input_tokens),
                        output_tokens: count(totals.output_tokens),
                        cost_micros: count(totals.estimated_cost_micros),
                    },
                ));
            }
        }
        for (tenant, increment) in increments {
            if let Err(error) = self.inner.store.record_ai_usage(tenant, &increment).await {
                tracing::warn!(%tenant, ?increment, ?error, "AI usage not recorded");
            }
        }
    }
}

/// Refuses input the providers must never see.
fn validate(request: &AiRequest) -> ApiResult<()> {
    if request.text.trim().is_empty() {
        return Err(ApiError::bad_input("text", "must not be empty"));
    }
    if request.text.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_input(
            "text",
            format!("at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    if request.history.len() > MAX_HISTORY_TURNS {
        return Err(ApiError::bad_input(
            "history",
            format!("at most {MAX_HISTORY_TURNS} turns"),
        ));
    }
    if request
        .history
        .iter()
        .any(|turn| turn.text.chars().count() > MAX_TEXT_CHARS)
    {
        return Err(ApiError::bad_input(
            "history",
            format!("each turn has at most {MAX_TEXT_CHARS} characters"),
        ));
    }
    if request
        .product_ids
        .as_ref()
        .is_some_and(|ids| ids.len() > MAX_PRODUCT_IDS)
    {
        return Err(ApiError::bad_input(
            "productIds",
            format!("at most {MAX_PRODUCT_IDS} ids"),
        ));
    }
    Ok(())
}

/// The tenant's AI settings row as the analyzer needs it. Stored values were validated when
/// written; anything unreadable falls back to the default rather than failing the request.
fn ai_settings(row: &ai_contexts::Model, agent_name: Option<String>) -> AiSettings {
    let defaults = AiSettings::default();
    AiSettings {
        system_prompt: row.system_prompt.clone(),
        response_style: ResponseStyle::parse(&row.response_style).unwrap_or_default(),
        temperature: if row.temperature.is_finite() {
            row.temperature.clamp(0.0, 2.0) as f32
        } else {
            defaults.temperature
        },
        max_tokens: u32::try_from(row.max_tokens)
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or(defaults.max_tokens),
        escalation_keywords: serde_json::from_value(row.escalation_keywords.clone())
            .unwrap_or_default(),
        auto_escalate_after_messages: row
            .auto_escalate_after_messages
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n > 0),
        agent_name: agent_name.filter(|n| !n.trim().is_empty()),
        max_reply_chars: defaults.max_reply_chars,
    }
}

/// A product row as the analyzer sees it; a row whose stored price cannot be read is left out
/// (a reply must never quote a price it cannot state exactly).
fn catalog_product(row: &products::Model) -> Option<CatalogProduct> {
    let price = match Money::parse(row.price_micros, &row.currency) {
        Ok(price) => price,
        Err(error) => {
            tracing::warn!(product = %row.id, %error, "product left out of the AI catalog");
            return None;
        }
    };
    Some(CatalogProduct {
        id: row.id.to_string(),
        name: row.name.clone(),
        description: row.description.clone(),
        keywords: serde_json::from_value(row.keywords.clone()).unwrap_or_default(),
        price,
        purchase_link: row.purchase_link.clone(),
    })
}

/// An error the LLM provider returned (the resilient wrapper already fell back on everything
/// retryable), as a typed API error. The provider's text is left out for refused credentials:
/// some providers echo part of the key.
fn provider_error(label: &str, error: &LlmError) -> ApiError {
    tracing::warn!(provider = label, %error, "LLM call failed");
    let message = match error {
        LlmError::Unauthorized(_) => format!(
            "{label} refused the API key configured on this server; the operator must fix it"
        ),
        LlmError::Rejected { status, code, .. } if *status == 0 => {
            format!("the request to {label} could not be built ({code}); check the server's AI configuration")
        }
        LlmError::Rejected {
            status,
            code,
            message,
        } => {
            let message: String = message.chars().take(300).collect();
            format!("{label} rejected the request ({status} {code}): {message}")
        }
        other if other.is_invalid_output() => {
            format!("{label}'s answer could not be used: {other}")
        }
        other => format!("{label} is unavailable: {other}"),
    };
    ApiError::Unavailable(message)
}

#[cfg(test)]
mod tests;
