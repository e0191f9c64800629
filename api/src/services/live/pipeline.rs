//! What the live agent does with one chat message (ARCHITECTURE.md §4 "Live agent"):
//! ignore own/duplicate → analyse → update the viewer's lead and score → store the interaction →
//! decide under the session's limits → reserve the budgets atomically → reply (public, whisper or
//! DM) → record the outcome → publish.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use leadline_domain::analysis::Language;
use leadline_domain::ids::{LeadId, LiveInteractionId, LiveSessionId, ProductId, TenantId};
use leadline_domain::live::{
    decide_reply, prefers_whisper, Decision, LiveLimits, LivePlatform, ReplyCounters, ReplyInput,
    Route, SkipReason,
};
use leadline_domain::money::Money;
use leadline_entity::{live_interactions, live_sessions, products};
use uuid::Uuid;

use crate::bus::{Event, LeadScoreChanged, LiveEvent};
use crate::error::{ApiError, ApiResult};
use crate::services::ai::AiRequest;
use crate::state::AppState;
use crate::store::live::{
    session_product_ids, CounterDelta, InteractionOutcome, LiveViewerMessage, NewLiveInteraction,
};

use super::budget;
use super::credentials::{self, SessionAccess};
use super::events::publish;
use super::reply::{send_reply, ReplyTarget};
use super::spend::{reply_spends, route_cost};

/// One viewer chat message, platform-neutral.
#[derive(Debug, Clone)]
pub struct ChatMessage {
    /// The platform's message id (the dedup key).
    pub id: String,
    /// The author's stable platform id (YouTube: channel id).
    pub author_id: String,
    /// The author's display name.
    pub author_name: String,
    /// The text.
    pub text: String,
    /// Whether the author follows the account (TikTok tells; needed for a DM).
    pub is_follower: Option<bool>,
}

/// What the pipeline remembers about one session between messages (owned by its reader).
#[derive(Debug, Default)]
pub struct SessionContext {
    /// The channel ids the bot speaks as (configured, and learned from each insert's answer).
    pub bot_author_ids: HashSet<String>,
    /// Ids of the messages the bot posted (the chat echoes them back).
    pub own_message_ids: HashSet<String>,
    /// The reader's Twitch chat seat: public replies go out on it, paced.
    pub twitch_chat: Option<leadline_twitch::ChatSender>,
}

impl SessionContext {
    /// A context that already knows the bot's ids the session's config resolved, so the bot's
    /// own messages are never answered.
    pub fn for_config(config: &leadline_domain::live::LivePlatformConfig) -> Self {
        let mut ctx = Self::default();
        ctx.bot_author_ids
            .extend(config.bot_author_ids().map(str::to_owned));
        ctx
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The bot's own line: not stored.
    Own,
    /// Seen before: not stored again.
    Duplicate,
    /// Stored with this outcome.
    Stored(leadline_domain::live::InteractionOutcome),
}

/// The reply text, in the language of the viewer's message: names the product with its price
/// and link, because replies never invent facts — everything in it comes from the tenant's
/// catalogue row, verbatim.
pub fn reply_text(author_name: &str, product: &products::Model, language: Language) -> String {
    let es = language == Language::Spanish;
    let price = Money::parse(product.price_micros, &product.currency)
        .map(|m| m.display())
        .ok();
    let mut text = format!("@{author_name} {}", product.name);
    if let Some(price) = price {
        text.push_str(&if es {
            format!(" cuesta {price}")
        } else {
            format!(" is {price}")
        });
    }
    match &product.purchase_link {
        Some(link) if !link.is_empty() => text.push_str(&if es {
            format!(". Cómpralo aquí: {link}")
        } else {
            format!(". Get it here: {link}")
        }),
        _ => text.push('.'),
    }
    // YouTube refuses chat messages above 200 characters.
    text.chars().take(200).collect()
}

/// Handles one chat message of `session_id` (re-read each time, so `setAgentEnabled` and the
/// counters are current).
pub async fn handle_message(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    ctx: &mut SessionContext,
    message: ChatMessage,
    now: DateTime<Utc>,
) -> ApiResult<Handled> {
    if ctx.own_message_ids.contains(&message.id) || ctx.bot_author_ids.contains(&message.author_id)
    {
        return Ok(Handled::Own);
    }
    let store = &state.store;
    // Cheap check before spending an analysis; the unique key below is the real guard.
    if store
        .live_message_seen(tenant_id, LiveSessionId(session_id), &message.id)
        .await?
    {
        return Ok(Handled::Duplicate);
    }
    let session = store
        .live_session(tenant_id, LiveSessionId(session_id))
        .await?;
    let platform = crate::store::live::platform_of(&session)?;
    let product_ids = session_product_ids(&session);
    let analyzed = state
        .ai
        .analyze_chat(
            tenant_id,
            AiRequest {
                text: message.text.clone(),
                channel: platform.channel(),
                product_ids: (!product_ids.is_empty()).then_some(product_ids),
                history: Vec::new(),
            },
        )
        .await;
    let analyzed = match analyzed {
        Ok(analyzed) => analyzed,
        Err(error) => {
            // Rate-limited or failing analysis: keep the message, say why nothing happened.
            tracing::warn!(%session_id, ?error, "live chat analysis failed");
            let new = interaction(&session, &message, None);
            let Some(stored) = store_interaction(state, tenant_id, session_id, new).await? else {
                return Ok(Handled::Duplicate);
            };
            return skip(state, tenant_id, session_id, stored, "ANALYSIS_UNAVAILABLE").await;
        }
    };
    let matched = analyzed.matched_product().map(|(p, _)| p.clone());
    let viewer = store
        .record_live_viewer(
            tenant_id,
            LiveViewerMessage {
                session_id: LiveSessionId(session_id),
                platform,
                author_id: &message.author_id,
                author_name: &message.author_name,
                analysis: &analyzed.analysis,
                text: &message.text,
                at: now,
            },
        )
        .await?;
    let mut new = interaction(&session, &message, Some(viewer.lead.id));
    new.intent = Some(analyzed.analysis.intent.as_str().to_owned());
    new.confidence = Some(f64::from(analyzed.analysis.confidence));
    new.matched_product_id = matched.as_ref().map(|p| ProductId(p.id));
    let Some(stored) = store_interaction(state, tenant_id, session_id, new).await? else {
        return Ok(Handled::Duplicate);
    };
    publish(
        state,
        tenant_id,
        session_id,
        LiveEvent::ChatMessageAnalyzed {
            interaction: Box::new(stored.clone()),
        },
    );
    if let Some(event) = &viewer.score_event {
        let change = LeadScoreChanged::from(event);
        state
            .bus
            .publish(tenant_id, Event::LeadScoreChanged(change.clone()));
        publish(
            state,
            tenant_id,
            session_id,
            LiveEvent::LeadScoreChanged(change),
        );
    }

    let limits = budget::session_limits(&state.config.live_ceilings, &session);
    // Whose bot or project this reply would spend: the tenant's own connection, else the
    // operator's shared one (looked up per message, so a connection made mid-stream counts).
    let access = credentials::for_session(state, &session).await?;
    let snapshot =
        budget_snapshot(state, &session, &message.author_id, &limits, &access, now).await?;
    let preferred = match platform {
        LivePlatform::Twitch
            if prefers_whisper(
                &viewer.score,
                snapshot.whispers_used_today,
                limits.whispers_per_day,
            ) =>
        {
            Route::Whisper
        }
        _ => Route::Public,
    };
    let decision = decide_reply(&ReplyInput {
        analysis: &analyzed.analysis,
        product_known: matched.is_some(),
        agent_enabled: session.agent_enabled,
        own_message: false,
        duplicate: false,
        platform,
        preferred,
        allow_public_fallback: true,
        counters: &snapshot,
        limits: &limits,
        now,
    });
    let (route, product) = match (decision, matched) {
        (Decision::Reply { route }, Some(product)) => (route, product),
        (Decision::Skip(reason), _) => {
            return skip(state, tenant_id, session_id, stored, reason.code()).await;
        }
        // decide_reply only replies when the product is known.
        (Decision::Reply { .. }, None) => {
            return skip(state, tenant_id, session_id, stored, "UNKNOWN_PRODUCT").await;
        }
    };
    if route == Route::Dm {
        // TikTok's DM rules for live viewers: a follower, who interacted within 24 hours.
        let viewer_rules = leadline_tiktok::dm_rules::LiveViewer {
            is_follower: message.is_follower.unwrap_or(false),
            last_interaction_at: now,
            sent_last_24h: 0,
        };
        if let Err(refusal) =
            leadline_tiktok::dm_rules::check_can_dm_live_viewer(&viewer_rules, now)
        {
            return skip(state, tenant_id, session_id, stored, refusal.code()).await;
        }
    }
    // The plan (issue 16): a plan that lapsed mid-stream, or AI replies used up on a plan that
    // does not bill beyond them, stop the answers, not the session: the chat is still read
    // and scored, each unanswered message is a skip with the reason, and a warning says why.
    if let Some(code) = plan_refusal(state, tenant_id).await? {
        publish(
            state,
            tenant_id,
            session_id,
            LiveEvent::LimitWarning {
                code: code.to_owned(),
                message: "the agent stopped answering: the plan in force does not cover more AI \
                          replies"
                    .to_owned(),
            },
        );
        return skip(state, tenant_id, session_id, stored, code).await;
    }
    // The authoritative, atomic spend: the snapshot above may be stale by now (another replica,
    // a manual reply); a refusal here is recorded like any other limit.
    let mut route = route;
    let reservation = loop {
        let spends = reply_spends(
            &session,
            &message.author_id,
            route,
            &limits,
            &access,
            state,
            now,
        )?;
        match state.live.budget.reserve(spends, now).await {
            Ok(Ok(reservation)) => break reservation,
            Ok(Err(refusal)) => {
                if route == Route::Whisper && refusal.index >= 2 {
                    // The last whisper went elsewhere meanwhile: answer in public instead.
                    route = Route::Public;
                    continue;
                }
                let reason = budget::reply_refusal_reason(refusal, route_budget_reason(route));
                return skip(state, tenant_id, session_id, stored, reason.code()).await;
            }
            Err(error) => {
                tracing::warn!(%session_id, ?error, "live budget unavailable; not replying");
                return skip(state, tenant_id, session_id, stored, "BUDGET_UNAVAILABLE").await;
            }
        }
    };
    let text = reply_text(&message.author_name, &product, analyzed.analysis.language);
    let config = crate::store::live::platform_config_of(&session)?;
    let target = ReplyTarget {
        config: &config,
        platform,
        route,
        viewer_id: &message.author_id,
        parent_message_id: Some(&message.id),
        access: &access,
    };
    let sent = send_reply(state, tenant_id, &target, &text, ctx.twitch_chat.as_ref()).await;
    match sent {
        Ok(posted) => {
            if let Some(id) = posted.message_id {
                ctx.own_message_ids.insert(id);
            }
            if let Some(author) = posted.author_id {
                ctx.bot_author_ids.insert(author);
            }
            state
                .live
                .budget
                .sent(&reservation, crate::store::now())
                .await?;
            let (whispers, units) = route_cost(platform, route, &limits);
            store
                .add_live_counters(
                    tenant_id,
                    LiveSessionId(session_id),
                    CounterDelta {
                        responses: 1,
                        whispers,
                        quota_units: units,
                        ..Default::default()
                    },
                )
                .await?;
            for warning in budget::spend_warnings(&reservation, &limits) {
                publish(
                    state,
                    tenant_id,
                    session_id,
                    LiveEvent::LimitWarning {
                        code: warning.code().to_owned(),
                        message: format!("{warning:?}"),
                    },
                );
            }
            let row = store
                .set_live_interaction_outcome(
                    tenant_id,
                    LiveInteractionId(stored.id),
                    InteractionOutcome::Replied {
                        text,
                        via: route.as_str().to_owned(),
                    },
                )
                .await?;
            publish(
                state,
                tenant_id,
                session_id,
                LiveEvent::ReplySent {
                    interaction: Box::new(row),
                },
            );
            Ok(Handled::Stored(
                leadline_domain::live::InteractionOutcome::Replied,
            ))
        }
        Err(failure) => {
            tracing::warn!(%session_id, ?failure, "live reply failed");
            state.live.budget.refund(&reservation).await?;
            let row = store
                .set_live_interaction_outcome(
                    tenant_id,
                    LiveInteractionId(stored.id),
                    InteractionOutcome::Failed {
                        code: failure.code.to_owned(),
                    },
                )
                .await?;
            publish(
                state,
                tenant_id,
                session_id,
                LiveEvent::ReplySkipped {
                    interaction: Box::new(row),
                },
            );
            Ok(Handled::Stored(
                leadline_domain::live::InteractionOutcome::Failed,
            ))
        }
    }
}

/// Why the plan in force refuses a live reply now (`PAYMENT_REQUIRED` or `LIMIT_REACHED`), if
/// it does.
async fn plan_refusal(state: &AppState, tenant_id: TenantId) -> ApiResult<Option<&'static str>> {
    let feature = crate::services::billing::require_feature(
        state,
        tenant_id,
        leadline_domain::billing::Feature::LiveSelling,
        None,
    )
    .await;
    let verdict = match feature {
        Ok(()) => {
            crate::services::billing::require_quota(
                state,
                tenant_id,
                leadline_domain::billing::UsageItem::AiReplies,
                1,
            )
            .await
        }
        refused => refused,
    };
    match verdict {
        Ok(()) => Ok(None),
        Err(refusal @ (ApiError::PaymentRequired { .. } | ApiError::LimitReached { .. })) => {
            Ok(Some(refusal.code()))
        }
        Err(other) => Err(other),
    }
}

/// The skip reason when a route's own budget refused.
fn route_budget_reason(route: Route) -> SkipReason {
    match route {
        Route::Whisper => SkipReason::WhisperBudgetExhausted,
        Route::Dm => SkipReason::DmDailyLimit,
        Route::Public => SkipReason::QuotaExhausted,
    }
}

/// What has been spent, as `decide_reply` needs it, read from the shared budgets of the
/// credentials `access` resolved to.
pub async fn budget_snapshot(
    state: &AppState,
    session: &live_sessions::Model,
    author_id: &str,
    limits: &LiveLimits,
    access: &SessionAccess,
    now: DateTime<Utc>,
) -> ApiResult<ReplyCounters> {
    let session_key = budget::session_spend(session.id, limits, now).key;
    let viewer_key = budget::viewer_spend(session.id, author_id, limits, now).key;
    // Without credentials nothing of that platform can be spent: those counters read zero.
    let whisper_key = access
        .twitch
        .as_ref()
        .map(|bot| budget::whisper_key(&bot.whisper_owner(), now));
    let quota_key = access
        .youtube
        .as_ref()
        .map(|youtube| budget::youtube_quota_key(&youtube.quota_owner(), now));
    let mut keys = vec![session_key.clone(), viewer_key.clone()];
    keys.extend(whisper_key.iter().cloned());
    keys.extend(quota_key.iter().cloned());
    let values = state.live.budget.values(&keys, now).await?;
    let used = |key: Option<&String>| {
        key.and_then(|key| values.get(key))
            .map(|v| u32::try_from(v.used).unwrap_or(u32::MAX))
            .unwrap_or(0)
    };
    Ok(ReplyCounters {
        viewer_replies: used(Some(&viewer_key)),
        viewer_last_reply_at: values
            .get(&viewer_key)
            .and_then(|v| v.last_at_ms)
            .and_then(DateTime::from_timestamp_millis),
        session_replies: used(Some(&session_key)),
        whispers_used_today: used(whisper_key.as_ref()),
        youtube_units_used_today: used(quota_key.as_ref()),
    })
}

/// Stores a chat message and counts it; `None` when the session already has it.
async fn store_interaction(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    new: NewLiveInteraction,
) -> ApiResult<Option<live_interactions::Model>> {
    let Some(stored) = state.store.record_live_interaction(tenant_id, new).await? else {
        return Ok(None);
    };
    state
        .store
        .add_live_counters(
            tenant_id,
            LiveSessionId(session_id),
            CounterDelta {
                messages: 1,
                ..Default::default()
            },
        )
        .await?;
    Ok(Some(stored))
}

async fn skip(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    stored: live_interactions::Model,
    reason: &str,
) -> ApiResult<Handled> {
    let row = state
        .store
        .set_live_interaction_outcome(
            tenant_id,
            LiveInteractionId(stored.id),
            InteractionOutcome::Skipped {
                reason: reason.to_owned(),
            },
        )
        .await?;
    publish(
        state,
        tenant_id,
        session_id,
        LiveEvent::ReplySkipped {
            interaction: Box::new(row),
        },
    );
    Ok(Handled::Stored(
        leadline_domain::live::InteractionOutcome::Skipped,
    ))
}

fn interaction(
    session: &live_sessions::Model,
    message: &ChatMessage,
    lead_id: Option<Uuid>,
) -> NewLiveInteraction {
    NewLiveInteraction {
        session_id: LiveSessionId(session.id),
        lead_id: lead_id.map(LeadId),
        platform_message_id: message.id.clone(),
        author_id: message.author_id.clone(),
        author_name: message.author_name.clone(),
        text: message.text.clone(),
        intent: None,
        confidence: None,
        matched_product_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hoodie(link: Option<&str>) -> products::Model {
        let at = chrono::Utc::now();
        products::Model {
            id: Uuid::nil(),
            tenant_id: Uuid::nil(),
            name: "Ocean Hoodie".into(),
            description: String::new(),
            price_micros: 19_990_000,
            currency: "USD".into(),
            purchase_link: link.map(str::to_owned),
            keywords: serde_json::json!([]),
            active: true,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn replies_quote_the_catalogue_and_fit_youtube() {
        assert_eq!(
            reply_text(
                "alice",
                &hoodie(Some("https://shop.example/h")),
                Language::English
            ),
            "@alice Ocean Hoodie is 19.99 USD. Get it here: https://shop.example/h"
        );
        assert_eq!(
            reply_text("bob", &hoodie(None), Language::English),
            "@bob Ocean Hoodie is 19.99 USD."
        );
        let long = "x".repeat(500);
        assert_eq!(
            reply_text(&long, &hoodie(None), Language::Spanish)
                .chars()
                .count(),
            200
        );
    }

    #[test]
    fn a_spanish_question_gets_a_spanish_reply_with_the_same_price_and_link() {
        assert_eq!(
            reply_text(
                "ana",
                &hoodie(Some("https://shop.example/h")),
                Language::Spanish
            ),
            "@ana Ocean Hoodie cuesta 19.99 USD. Cómpralo aquí: https://shop.example/h"
        );
        assert_eq!(
            reply_text("leo", &hoodie(None), Language::Spanish),
            "@leo Ocean Hoodie cuesta 19.99 USD."
        );
    }
}
