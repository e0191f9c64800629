//! What the live agent does with one chat message (ARCHITECTURE.md §4 "Live agent"):
//! ignore own/duplicate → analyse → update the viewer's lead and score → store the interaction →
//! decide under the session's limits → reply publicly (YouTube) → record the outcome → publish.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use leadline_domain::live::{
    decide_reply, limit_warnings, Decision, LivePlatform, ReplyCounters, ReplyInput, Route,
};
use leadline_domain::money::Money;
use leadline_entity::{live_interactions, live_sessions, products};
use uuid::Uuid;

use crate::bus::{Event, LeadScoreChanged, LiveEvent};
use crate::error::ApiResult;
use crate::services::ai::AiRequest;
use crate::state::AppState;
use crate::store::live::{
    limits_from_json, session_product_ids, InteractionOutcome, NewLiveInteraction,
};

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
}

/// What the pipeline remembers about one session between messages (owned by its reader).
#[derive(Debug, Default)]
pub struct SessionContext {
    /// The chat replies are posted to.
    pub live_chat_id: String,
    /// The channel ids the bot speaks as (configured, and learned from each insert's answer).
    pub bot_author_ids: HashSet<String>,
    /// Ids of the messages the bot posted (the chat echoes them back).
    pub own_message_ids: HashSet<String>,
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// The bot's own line: not stored.
    Own,
    /// Seen before: not stored again.
    Duplicate,
    /// Stored with this outcome.
    Stored(String),
}

/// The reply text: names the product with its price and link, because replies never invent
/// facts — everything in it comes from the tenant's catalogue row.
pub fn reply_text(author_name: &str, product: &products::Model) -> String {
    let price = Money::parse(product.price_micros, &product.currency)
        .map(|m| m.display())
        .ok();
    let mut text = format!("@{author_name} {}", product.name);
    if let Some(price) = price {
        text.push_str(&format!(" is {price}"));
    }
    match &product.purchase_link {
        Some(link) if !link.is_empty() => text.push_str(&format!(". Get it here: {link}")),
        _ => text.push('.'),
    }
    // YouTube refuses chat messages above 200 characters.
    text.chars().take(200).collect()
}

/// Handles one chat message of `session_id` (re-read each time, so `setAgentEnabled` and the
/// counters are current).
pub async fn handle_message(
    state: &AppState,
    tenant_id: Uuid,
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
        .live_message_seen(tenant_id, session_id, &message.id)
        .await?
    {
        return Ok(Handled::Duplicate);
    }
    let session = store.live_session(tenant_id, session_id).await?;
    let platform = platform_of(&session);
    let product_ids = session_product_ids(&session);
    let analyzed = state
        .ai
        .analyze(
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
            let stored = store
                .record_live_interaction(tenant_id, interaction(&session, &message, None))
                .await?;
            let Some(stored) = stored else {
                return Ok(Handled::Duplicate);
            };
            store
                .add_live_counters(tenant_id, session_id, 1, 0, 0)
                .await?;
            let row = store
                .set_live_interaction_outcome(
                    tenant_id,
                    stored.id,
                    InteractionOutcome::Skipped {
                        reason: "ANALYSIS_UNAVAILABLE".into(),
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
            return Ok(Handled::Stored("SKIPPED".into()));
        }
    };
    let matched = analyzed.matched_product().map(|(p, _)| p.clone());
    let viewer = store
        .record_live_viewer(
            tenant_id,
            session_id,
            platform,
            &message.author_id,
            &message.author_name,
            &analyzed.analysis,
            &message.text,
            now,
        )
        .await?;
    let mut new = interaction(&session, &message, Some(viewer.lead.id));
    new.intent = Some(analyzed.analysis.intent.as_str().to_owned());
    new.confidence = Some(f64::from(analyzed.analysis.confidence));
    new.matched_product_id = matched.as_ref().map(|p| p.id);
    let Some(stored) = store.record_live_interaction(tenant_id, new).await? else {
        return Ok(Handled::Duplicate);
    };
    store
        .add_live_counters(tenant_id, session_id, 1, 0, 0)
        .await?;
    publish(
        state,
        tenant_id,
        session_id,
        LiveEvent::ChatMessageAnalyzed {
            interaction: Box::new(stored.clone()),
        },
    );
    if let Some(event) = &viewer.score_event {
        let change = LeadScoreChanged {
            lead_id: event.lead_id,
            score: event.score_after,
            previous_score: event.score_before,
            temperature: event.temperature_after.clone(),
            signal: event.signal.clone(),
            reason: event.reason.clone(),
            at: event.created_at,
        };
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

    let limits = limits_from_json(&session.limits);
    let (viewer_replies, viewer_last_reply_at) = store
        .live_viewer_replies(tenant_id, session_id, &message.author_id)
        .await?;
    let counters = ReplyCounters {
        viewer_replies,
        viewer_last_reply_at,
        session_replies: u32::try_from(session.responses_sent).unwrap_or(0),
        whispers_used_today: u32::try_from(session.whispers_sent).unwrap_or(0),
        // Per session in this slice (see the module docs of `reader`).
        youtube_units_used_today: u32::try_from(session.quota_used).unwrap_or(0),
    };
    let decision = decide_reply(&ReplyInput {
        analysis: &analyzed.analysis,
        product_known: matched.is_some(),
        agent_enabled: session.agent_enabled,
        own_message: false,
        duplicate: false,
        platform,
        preferred: Route::Public,
        allow_public_fallback: true,
        counters: &counters,
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
    if platform != LivePlatform::Youtube || route != Route::Public {
        return skip(state, tenant_id, session_id, stored, "ROUTE_NOT_SUPPORTED").await;
    }
    let Some(token) = state.config.youtube_access_token.clone() else {
        return skip(state, tenant_id, session_id, stored, "NO_OAUTH_TOKEN").await;
    };
    let text = reply_text(&message.author_name, &product);
    let sent = state
        .live
        .youtube()
        .insert_text_message(
            &leadline_youtube::Credentials::OAuth(token),
            &ctx.live_chat_id,
            &text,
        )
        .await;
    match sent {
        Ok(posted) => {
            ctx.own_message_ids.insert(posted.id.clone());
            if let Some(author) = posted.author_details.as_ref().map(|a| a.channel_id.clone()) {
                if !author.is_empty() {
                    ctx.bot_author_ids.insert(author);
                }
            }
            let cost = i32::try_from(limits.youtube_insert_cost).unwrap_or(i32::MAX);
            store
                .add_live_counters(tenant_id, session_id, 0, 1, cost)
                .await?;
            let mut after = counters;
            after.record_reply(platform, route, &limits, now);
            for warning in limit_warnings(&counters, &after, &limits) {
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
                    stored.id,
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
            Ok(Handled::Stored("REPLIED".into()))
        }
        Err(error) => {
            tracing::warn!(%session_id, ?error, "live reply failed");
            let row = store
                .set_live_interaction_outcome(
                    tenant_id,
                    stored.id,
                    InteractionOutcome::Failed {
                        code: "SEND_FAILED".into(),
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
            Ok(Handled::Stored("FAILED".into()))
        }
    }
}

async fn skip(
    state: &AppState,
    tenant_id: Uuid,
    session_id: Uuid,
    stored: live_interactions::Model,
    reason: &str,
) -> ApiResult<Handled> {
    let row = state
        .store
        .set_live_interaction_outcome(
            tenant_id,
            stored.id,
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
    Ok(Handled::Stored("SKIPPED".into()))
}

fn interaction(
    session: &live_sessions::Model,
    message: &ChatMessage,
    lead_id: Option<Uuid>,
) -> NewLiveInteraction {
    NewLiveInteraction {
        session_id: session.id,
        lead_id,
        platform_message_id: message.id.clone(),
        author_id: message.author_id.clone(),
        author_name: message.author_name.clone(),
        text: message.text.clone(),
        intent: None,
        confidence: None,
        matched_product_id: None,
    }
}

/// The session's platform (stored as its wire name; only values we wrote are there).
pub fn platform_of(session: &live_sessions::Model) -> LivePlatform {
    LivePlatform::ALL
        .into_iter()
        .find(|p| p.as_str() == session.platform)
        .unwrap_or(LivePlatform::Youtube)
}

/// Publishes a live event for the session's dashboard.
pub fn publish(state: &AppState, tenant_id: Uuid, session_id: Uuid, event: LiveEvent) {
    state
        .bus
        .publish(tenant_id, Event::Live { session_id, event });
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
            reply_text("alice", &hoodie(Some("https://shop.example/h"))),
            "@alice Ocean Hoodie is 19.99 USD. Get it here: https://shop.example/h"
        );
        assert_eq!(
            reply_text("bob", &hoodie(None)),
            "@bob Ocean Hoodie is 19.99 USD."
        );
        let long = "x".repeat(500);
        assert_eq!(reply_text(&long, &hoodie(None)).chars().count(), 200);
    }
}
