//! Live-stream selling sessions, their chat interactions and the viewers' leads.
//!
//! A session row carries its limits and platform state (JSON) and the counters the reply decision
//! needs (replies sent, quota units spent); per-viewer counts are derived from the interactions,
//! so they can never disagree with what was recorded. Duplicates are refused by the unique key
//! `(session_id, platform_message_id)`: recording an interaction is the dedup check.
//!
//! Single-writer assumption (this slice): one reader task per session on one replica processes
//! its messages in order, so the counter read → decide → increment sequence is not contended.
//! Multi-replica ownership (a lease) is not built yet.

use chrono::{DateTime, Duration, Utc};
use leadline_domain::analysis::Analysis;
use leadline_domain::channel::Channel;
use leadline_domain::conversation::Handler;
use leadline_domain::lead::{LeadStatus, Temperature};
use leadline_domain::live::{
    live_score, score_reason, InteractionOutcome as Outcome, LiveLimits, LivePlatform, LiveScore,
    LiveSessionStatus, ViewerActivity,
};
use leadline_entity::{
    lead_identities, lead_score_events, leads, live_interactions, live_sessions,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{now, paginate, Page, PageRequest, Store, Stored};
use crate::error::{is_unique_violation, ApiError, ApiResult};

/// The `lead_score_events.signal` of live score changes.
pub const LIVE_SCORE_SIGNAL: &str = "LIVE_CHAT";

/// A validated new session.
#[derive(Debug, Clone)]
pub struct NewLiveSession {
    pub platform: LivePlatform,
    pub agent_enabled: bool,
    pub title: Option<String>,
    /// Platform state, e.g. `{"videoId": …}` for YouTube.
    pub platform_config: Value,
    pub product_ids: Vec<Uuid>,
    pub limits: LiveLimits,
}

/// Filter for session listings; parts combine with AND.
#[derive(Debug, Default, Clone)]
pub struct LiveSessionFilter {
    pub status: Option<LiveSessionStatus>,
    pub platform: Option<LivePlatform>,
}

/// One chat message as the pipeline stores it.
#[derive(Debug, Clone)]
pub struct NewLiveInteraction {
    pub session_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub platform_message_id: String,
    pub author_id: String,
    pub author_name: String,
    pub text: String,
    pub intent: Option<String>,
    pub confidence: Option<f64>,
    pub matched_product_id: Option<Uuid>,
}

/// What happened to an interaction after the decision.
#[derive(Debug, Clone)]
pub enum InteractionOutcome {
    /// A reply went out by `via` (`PUBLIC`, `WHISPER`, `DM`).
    Replied { text: String, via: String },
    /// Silence, with the `SkipReason` code.
    Skipped { reason: String },
    /// The send failed; `code` is the platform error.
    Failed { code: String },
}

/// What to add to a session's counters (messages stored, replies, whispers, YouTube units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterDelta {
    /// Chat messages stored.
    pub messages: i32,
    /// Replies sent.
    pub responses: i32,
    /// Whispers sent.
    pub whispers: i32,
    /// YouTube units spent by this session.
    pub quota_units: i32,
}

/// A viewer's lead after one message, with the score change if there was one.
#[derive(Debug, Clone)]
pub struct ViewerLead {
    pub lead: leads::Model,
    pub created: bool,
    pub score: LiveScore,
    pub score_event: Option<lead_score_events::Model>,
}

/// Aggregates of one session for the dashboard.
#[derive(Debug, Clone, Default)]
pub struct LiveSessionStats {
    /// `(intent, count)`, most frequent first.
    pub intents: Vec<(String, i64)>,
    /// `(temperature, count)` over the session's viewers' leads.
    pub leads_by_temperature: Vec<(String, i64)>,
}

/// The stored form of [`LiveLimits`] (camelCase JSON, cooldown in seconds).
pub fn limits_to_json(limits: &LiveLimits) -> Value {
    json!({
        "minConfidence": limits.min_confidence,
        "maxRepliesPerViewer": limits.max_replies_per_viewer,
        "viewerCooldownSecs": limits.viewer_cooldown.num_seconds(),
        "maxRepliesPerSession": limits.max_replies_per_session,
        "whispersPerDay": limits.whispers_per_day,
        "youtubeDailyQuota": limits.youtube_daily_quota,
        "youtubeInsertCost": limits.youtube_insert_cost,
        "youtubeListCost": limits.youtube_list_cost,
    })
}

/// Reads stored limits back; a missing or malformed field takes its default, so a row written
/// by an older version still loads.
pub fn limits_from_json(value: &Value) -> LiveLimits {
    let defaults = LiveLimits::default();
    let count = |name: &str, default: u32| {
        value
            .get(name)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default)
    };
    LiveLimits {
        min_confidence: value
            .get("minConfidence")
            .and_then(Value::as_f64)
            .map(|f| f as f32)
            .unwrap_or(defaults.min_confidence),
        max_replies_per_viewer: count("maxRepliesPerViewer", defaults.max_replies_per_viewer),
        viewer_cooldown: value
            .get("viewerCooldownSecs")
            .and_then(Value::as_i64)
            .map(Duration::seconds)
            .unwrap_or(defaults.viewer_cooldown),
        max_replies_per_session: count("maxRepliesPerSession", defaults.max_replies_per_session),
        whispers_per_day: count("whispersPerDay", defaults.whispers_per_day),
        youtube_daily_quota: count("youtubeDailyQuota", defaults.youtube_daily_quota),
        youtube_insert_cost: count("youtubeInsertCost", defaults.youtube_insert_cost),
        youtube_list_cost: count("youtubeListCost", defaults.youtube_list_cost),
    }
}

/// The session's product ids (ignores anything that is not a UUID string).
pub fn session_product_ids(session: &live_sessions::Model) -> Vec<Uuid> {
    session
        .product_ids
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .filter_map(|s| Uuid::parse_str(s).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The key of one session's activity in a lead's metadata: the live score is per viewer *per
/// session* (ARCHITECTURE.md §4), and a viewer may watch several streams.
fn activity_key(session_id: Uuid) -> String {
    session_id.to_string()
}

async fn session_in<C: sea_orm::ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<live_sessions::Model> {
    live_sessions::Entity::find_by_id(id)
        .filter(live_sessions::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("live session"))
}

impl Store {
    /// Creates an ACTIVE session.
    pub async fn create_live_session(
        &self,
        tenant_id: Uuid,
        new: NewLiveSession,
    ) -> ApiResult<live_sessions::Model> {
        let at = now();
        let ids: Vec<Value> = new
            .product_ids
            .iter()
            .map(|id| Value::String(id.to_string()))
            .collect();
        Ok(live_sessions::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            platform: Set(new.platform.as_str().to_owned()),
            status: Set(LiveSessionStatus::Active.as_str().to_owned()),
            agent_enabled: Set(new.agent_enabled),
            title: Set(new.title),
            platform_config: Set(new.platform_config),
            product_ids: Set(Value::Array(ids)),
            limits: Set(limits_to_json(&new.limits)),
            messages_processed: Set(0),
            responses_sent: Set(0),
            whispers_sent: Set(0),
            quota_used: Set(0),
            owner_id: Set(None),
            lease_until: Set(None),
            started_at: Set(at),
            stopped_at: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&self.db)
        .await?)
    }

    /// One session of the tenant.
    pub async fn live_session(&self, tenant_id: Uuid, id: Uuid) -> ApiResult<live_sessions::Model> {
        session_in(&self.db, tenant_id, id).await
    }

    /// A page of the tenant's sessions, newest first.
    pub async fn live_sessions(
        &self,
        tenant_id: Uuid,
        filter: LiveSessionFilter,
        page: PageRequest,
    ) -> ApiResult<Page<live_sessions::Model>> {
        let mut select =
            live_sessions::Entity::find().filter(live_sessions::Column::TenantId.eq(tenant_id));
        if let Some(status) = filter.status {
            select = select.filter(live_sessions::Column::Status.eq(status.as_str()));
        }
        if let Some(platform) = filter.platform {
            select = select.filter(live_sessions::Column::Platform.eq(platform.as_str()));
        }
        paginate(&self.db, select, live_sessions::Column::Id, page).await
    }

    /// Every ACTIVE session of every tenant (boot: the supervisor restarts their readers).
    pub async fn active_live_sessions(&self) -> ApiResult<Vec<live_sessions::Model>> {
        Ok(live_sessions::Entity::find()
            .filter(live_sessions::Column::Status.eq(LiveSessionStatus::Active.as_str()))
            .order_by_asc(live_sessions::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Stops a session (idempotent: stopping a stopped session returns it unchanged).
    pub async fn stop_live_session(
        &self,
        tenant_id: Uuid,
        id: Uuid,
    ) -> ApiResult<live_sessions::Model> {
        let session = session_in(&self.db, tenant_id, id).await?;
        if session.status == LiveSessionStatus::Stopped.as_str() {
            return Ok(session);
        }
        let at = now();
        let mut row = session.into_active_model();
        row.status = Set(LiveSessionStatus::Stopped.as_str().to_owned());
        row.stopped_at = Set(Some(at));
        row.updated_at = Set(at);
        Ok(row.update(&self.db).await?)
    }

    /// Switches the agent on or off for a session.
    pub async fn set_live_agent_enabled(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        enabled: bool,
    ) -> ApiResult<live_sessions::Model> {
        let mut row = session_in(&self.db, tenant_id, id)
            .await?
            .into_active_model();
        row.agent_enabled = Set(enabled);
        row.updated_at = Set(now());
        Ok(row.update(&self.db).await?)
    }

    /// Replaces the session's platform state (e.g. the resolved live chat id, the page token).
    pub async fn set_live_platform_config(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        config: Value,
    ) -> ApiResult<()> {
        live_sessions::Entity::update_many()
            .col_expr(live_sessions::Column::PlatformConfig, Expr::value(config))
            .col_expr(live_sessions::Column::UpdatedAt, Expr::value(now()))
            .filter(live_sessions::Column::Id.eq(id))
            .filter(live_sessions::Column::TenantId.eq(tenant_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Adds to the session's counters in one statement (no read-modify-write race).
    pub async fn add_live_counters(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        delta: CounterDelta,
    ) -> ApiResult<()> {
        use live_sessions::Column as C;
        let CounterDelta {
            messages,
            responses,
            whispers,
            quota_units,
        } = delta;
        live_sessions::Entity::update_many()
            .col_expr(
                C::MessagesProcessed,
                Expr::col(C::MessagesProcessed).add(messages),
            )
            .col_expr(C::ResponsesSent, Expr::col(C::ResponsesSent).add(responses))
            .col_expr(C::WhispersSent, Expr::col(C::WhispersSent).add(whispers))
            .col_expr(C::QuotaUsed, Expr::col(C::QuotaUsed).add(quota_units))
            .col_expr(C::UpdatedAt, Expr::value(now()))
            .filter(C::Id.eq(id))
            .filter(C::TenantId.eq(tenant_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Stores a chat message with outcome RECEIVED. `Ok(None)` when the session already has this
    /// platform message id: the unique key is the duplicate check, so a redelivery or a re-read
    /// page is never processed twice, even by two racing readers.
    pub async fn record_live_interaction(
        &self,
        tenant_id: Uuid,
        new: NewLiveInteraction,
    ) -> ApiResult<Option<live_interactions::Model>> {
        let inserted = live_interactions::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            session_id: Set(new.session_id),
            lead_id: Set(new.lead_id),
            platform_message_id: Set(new.platform_message_id),
            author_id: Set(new.author_id),
            author_name: Set(new.author_name),
            text: Set(new.text),
            intent: Set(new.intent),
            confidence: Set(new.confidence),
            matched_product_id: Set(new.matched_product_id),
            response: Set(None),
            response_via: Set(None),
            outcome: Set(Outcome::Received.as_str().to_owned()),
            skip_reason: Set(None),
            created_at: Set(now()),
        }
        .insert(&self.db)
        .await;
        match inserted {
            Ok(row) => Ok(Some(row)),
            Err(error) if is_unique_violation(&error) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Whether the session already has this platform message.
    pub async fn live_message_seen(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        platform_message_id: &str,
    ) -> ApiResult<bool> {
        let found = live_interactions::Entity::find()
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .filter(live_interactions::Column::PlatformMessageId.eq(platform_message_id))
            .one(&self.db)
            .await?;
        Ok(found.is_some())
    }

    /// Records what the agent did with an interaction.
    pub async fn set_live_interaction_outcome(
        &self,
        tenant_id: Uuid,
        id: Uuid,
        outcome: InteractionOutcome,
    ) -> ApiResult<live_interactions::Model> {
        let row = live_interactions::Entity::find_by_id(id)
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("live interaction"))?;
        let mut row = row.into_active_model();
        match outcome {
            InteractionOutcome::Replied { text, via } => {
                row.outcome = Set(Outcome::Replied.as_str().to_owned());
                row.response = Set(Some(text));
                row.response_via = Set(Some(via));
                row.skip_reason = Set(None);
            }
            InteractionOutcome::Skipped { reason } => {
                row.outcome = Set(Outcome::Skipped.as_str().to_owned());
                row.skip_reason = Set(Some(reason));
            }
            InteractionOutcome::Failed { code } => {
                row.outcome = Set(Outcome::Failed.as_str().to_owned());
                row.skip_reason = Set(Some(code));
            }
        }
        Ok(row.update(&self.db).await?)
    }

    /// A page of a session's interactions, newest first.
    pub async fn live_interactions(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        page: PageRequest,
    ) -> ApiResult<Page<live_interactions::Model>> {
        let select = live_interactions::Entity::find()
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id));
        paginate(&self.db, select, live_interactions::Column::Id, page).await
    }

    /// Replies sent to one viewer in a session and when the last one was (derived from the
    /// interactions, so the count is exactly what was recorded).
    pub async fn live_viewer_replies(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        author_id: &str,
    ) -> ApiResult<(u32, Option<DateTime<Utc>>)> {
        let replied: Vec<DateTime<Utc>> = live_interactions::Entity::find()
            .select_only()
            .column(live_interactions::Column::CreatedAt)
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .filter(live_interactions::Column::AuthorId.eq(author_id))
            .filter(live_interactions::Column::Outcome.eq(Outcome::Replied.as_str()))
            .into_tuple()
            .all(&self.db)
            .await?;
        let count = u32::try_from(replied.len()).unwrap_or(u32::MAX);
        Ok((count, replied.into_iter().max()))
    }

    /// The session's intents histogram and its viewers' leads by temperature.
    pub async fn live_session_stats(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
    ) -> ApiResult<LiveSessionStats> {
        let mut intents: Vec<(Option<String>, i64)> = live_interactions::Entity::find()
            .select_only()
            .column(live_interactions::Column::Intent)
            .column_as(live_interactions::Column::Id.count(), "count")
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .group_by(live_interactions::Column::Intent)
            .into_tuple()
            .all(&self.db)
            .await?;
        intents.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let leads = self.live_session_leads(tenant_id, session_id).await?;
        let mut by_temperature: Vec<(String, i64)> = Vec::new();
        for lead in &leads {
            match by_temperature
                .iter_mut()
                .find(|(t, _)| *t == lead.temperature)
            {
                Some((_, n)) => *n += 1,
                None => by_temperature.push((lead.temperature.clone(), 1)),
            }
        }
        by_temperature.sort();
        Ok(LiveSessionStats {
            intents: intents
                .into_iter()
                .filter_map(|(intent, n)| intent.map(|i| (i, n)))
                .collect(),
            leads_by_temperature: by_temperature,
        })
    }

    /// The leads of the viewers who chatted in a session, hottest first.
    pub async fn live_session_leads(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
    ) -> ApiResult<Vec<leads::Model>> {
        let lead_ids: Vec<Option<Uuid>> = live_interactions::Entity::find()
            .select_only()
            .column(live_interactions::Column::LeadId)
            .distinct()
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .into_tuple()
            .all(&self.db)
            .await?;
        let ids: Vec<Uuid> = lead_ids.into_iter().flatten().collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(leads::Entity::find()
            .filter(leads::Column::TenantId.eq(tenant_id))
            .filter(leads::Column::Id.is_in(ids))
            .order_by_desc(leads::Column::Score)
            .order_by_asc(leads::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Folds one analysed chat message into the viewer's lead: finds the lead by its identity
    /// `(platform channel, author id)` or creates it (first message), updates the viewer's
    /// [`ViewerActivity`] for this session (kept in the lead's metadata under
    /// `live.<session id>`), recomputes the live score and, when it moved, writes the score and a
    /// `lead_score_events` row explained by [`score_reason`] in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_live_viewer(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        platform: LivePlatform,
        author_id: &str,
        author_name: &str,
        analysis: &Analysis,
        text: &str,
        at: DateTime<Utc>,
    ) -> ApiResult<ViewerLead> {
        let channel: Channel = platform.channel();
        // A racing first message from the same viewer loses on the identity's unique key and
        // retries as an update.
        for _ in 0..2 {
            match self
                .try_record_live_viewer(
                    tenant_id,
                    session_id,
                    channel,
                    author_id,
                    author_name,
                    analysis,
                    text,
                    at,
                )
                .await
            {
                Err(ApiError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(ApiError::Conflict(
            "the viewer's lead was changed concurrently; retry".into(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn try_record_live_viewer(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        channel: Channel,
        author_id: &str,
        author_name: &str,
        analysis: &Analysis,
        text: &str,
        at: DateTime<Utc>,
    ) -> ApiResult<ViewerLead> {
        let tx = self.db.begin().await?;
        let identity = lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::Channel.eq(channel.as_str()))
            .filter(lead_identities::Column::ExternalId.eq(author_id))
            .one(&tx)
            .await?;
        let fresh = live_score(&ViewerActivity::new(at));
        let (lead, created) = match identity {
            Some(identity) => {
                let mut query = leads::Entity::find_by_id(identity.lead_id)
                    .filter(leads::Column::TenantId.eq(tenant_id));
                if self.is_postgres() {
                    query = query.lock_exclusive();
                }
                let lead = query.one(&tx).await?.ok_or(ApiError::NotFound("lead"))?;
                (lead, false)
            }
            None => {
                let lead = leads::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    name: Set(if author_name.trim().is_empty() {
                        author_id.to_owned()
                    } else {
                        author_name.to_owned()
                    }),
                    email: Set(None),
                    phone: Set(None),
                    company: Set(None),
                    status: Set(LeadStatus::New.as_str().to_owned()),
                    score: Set(fresh.total),
                    temperature: Set(fresh.temperature.as_str().to_owned()),
                    source_channel: Set(Some(channel.as_str().to_owned())),
                    notes: Set(None),
                    handler: Set(Handler::Ai.as_str().into()),
                    assigned_user_id: Set(None),
                    metadata: Set(json!({})),
                    last_contacted_at: Set(None),
                    created_at: Set(at),
                    updated_at: Set(at),
                }
                .insert(&tx)
                .await?;
                lead_identities::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    lead_id: Set(lead.id),
                    channel: Set(channel.as_str().to_owned()),
                    external_id: Set(author_id.to_owned()),
                    display_name: Set(Some(author_name.to_owned())),
                    created_at: Set(at),
                }
                .insert(&tx)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        ApiError::Conflict("identity taken concurrently".into())
                    } else {
                        e.into()
                    }
                })?;
                (lead, true)
            }
        };

        let key = activity_key(session_id);
        let mut metadata = lead.metadata.clone();
        if !metadata.is_object() {
            metadata = json!({});
        }
        let previous: Option<ViewerActivity> = metadata
            .get("live")
            .and_then(|live| live.get(&key))
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let before = previous.as_ref().map(live_score).unwrap_or(fresh);
        let mut activity = previous.unwrap_or_else(|| ViewerActivity::new(at));
        activity.record(analysis, text, at);
        let after = live_score(&activity);
        let activity_json = serde_json::to_value(&activity)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("viewer activity: {e}")))?;
        if let Some(object) = metadata.as_object_mut() {
            let live = object.entry("live").or_insert_with(|| json!({}));
            if !live.is_object() {
                *live = json!({});
            }
            if let Some(live) = live.as_object_mut() {
                live.insert(key, activity_json);
            }
        }

        let score_before = lead.score;
        let mut row = lead.into_active_model();
        row.metadata = Set(metadata);
        row.updated_at = Set(at);
        let changed = after.total != score_before;
        if changed {
            row.score = Set(after.total);
            row.temperature = Set(Temperature::for_live_score(after.total).as_str().to_owned());
        }
        let lead = row.update(&tx).await?;
        let score_event = if changed {
            Some(
                lead_score_events::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    lead_id: Set(lead.id),
                    delta: Set(after.total - score_before),
                    signal: Set(LIVE_SCORE_SIGNAL.to_owned()),
                    reason: Set(score_reason(&before, &after)),
                    score_before: Set(score_before),
                    score_after: Set(after.total),
                    temperature_after: Set(after.temperature.as_str().to_owned()),
                    source_message_id: Set(None),
                    actor_user_id: Set(None),
                    created_at: Set(at),
                }
                .insert(&tx)
                .await?,
            )
        } else {
            None
        };
        tx.commit().await.map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict("identity taken concurrently".into())
            } else {
                e.into()
            }
        })?;
        Ok(ViewerLead {
            lead,
            created,
            score: after,
            score_event,
        })
    }
}

/// The session's platform: the one place `live_sessions.platform` is read. Only names we wrote
/// are there, so an unknown one is logged and INTERNAL, never taken for YouTube.
pub fn platform_of(session: &live_sessions::Model) -> ApiResult<LivePlatform> {
    LivePlatform::stored(&session.platform)
}

/// The session's status (ACTIVE or STOPPED); an unknown stored value is logged and INTERNAL.
pub fn status_of(session: &live_sessions::Model) -> ApiResult<LiveSessionStatus> {
    LiveSessionStatus::stored(&session.status)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use leadline_domain::analysis::{Intent, Language, ProductMatch, Provider};
    use leadline_entity::tenants;
    use sea_orm::Database;

    async fn store() -> Store {
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("in-memory SQLite");
        let store = Store::from_connection(db);
        store.migrate().await.expect("migrations");
        store
    }

    async fn tenant(store: &Store) -> Uuid {
        let id = Uuid::now_v7();
        let at = now();
        tenants::ActiveModel {
            id: Set(id),
            slug: Set(format!("t-{}", id.simple())),
            name: Set("T".into()),
            plan: Set("FREE".into()),
            subscription_status: Set("NONE".into()),
            stripe_customer_id: Set(None),
            agent_running: Set(false),
            ai_lead_percentage: Set(0),
            agent_name: Set(None),
            human_operator_number: Set(None),
            default_phone_region: Set(None),
            elevenlabs_agent_id: Set(None),
            livekit_agent_name: Set(None),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(store.connection())
        .await
        .expect("tenant row");
        id
    }

    fn analysis(intent: Intent, product: Option<&str>) -> Analysis {
        Analysis {
            intent,
            confidence: 0.9,
            signals: Vec::new(),
            sentiment: 0.5,
            wants_human: false,
            matched_product: product.map(|id| ProductMatch {
                product_id: id.to_owned(),
                name: "Hoodie".to_owned(),
                score: 0.9,
            }),
            language: Language::English,
            provider: Provider::Offline,
        }
    }

    fn session(limits: LiveLimits) -> NewLiveSession {
        NewLiveSession {
            platform: LivePlatform::Youtube,
            agent_enabled: true,
            title: None,
            platform_config: json!({"videoId": "abc"}),
            product_ids: vec![],
            limits,
        }
    }

    fn interaction(session_id: Uuid, message_id: &str, author: &str) -> NewLiveInteraction {
        NewLiveInteraction {
            session_id,
            lead_id: None,
            platform_message_id: message_id.to_owned(),
            author_id: author.to_owned(),
            author_name: author.to_owned(),
            text: "hi".to_owned(),
            intent: Some("OTHER".to_owned()),
            confidence: Some(0.5),
            matched_product_id: None,
        }
    }

    #[tokio::test]
    async fn one_replica_holds_a_session_lease_until_it_expires_or_is_released() {
        let store = store().await;
        let a = tenant(&store).await;
        let s = store
            .create_live_session(a, session(LiveLimits::default()))
            .await
            .expect("create");
        let t = now();
        let until = t + chrono::Duration::seconds(10);
        assert!(store
            .claim_live_session(s.id, "r1", t, until)
            .await
            .expect("claim"));
        // Another replica cannot take it while the lease holds; the owner renews.
        assert!(!store
            .claim_live_session(s.id, "r2", t, until)
            .await
            .expect("claim"));
        assert!(store
            .claim_live_session(s.id, "r1", t, until)
            .await
            .expect("renew"));
        // Expired: the other replica takes over, and the old owner cannot renew.
        let later = until + chrono::Duration::milliseconds(1);
        let later_until = later + chrono::Duration::seconds(10);
        assert!(store
            .claim_live_session(s.id, "r2", later, later_until)
            .await
            .expect("take"));
        assert!(!store
            .claim_live_session(s.id, "r1", later, later_until)
            .await
            .expect("lost"));
        // Released by its owner (only): free for anyone at once.
        store.release_live_session(s.id, "r1").await.expect("no-op");
        assert!(!store
            .claim_live_session(s.id, "r1", later, later_until)
            .await
            .expect("still r2"));
        store
            .release_live_session(s.id, "r2")
            .await
            .expect("release");
        assert!(store
            .claim_live_session(s.id, "r1", later, later_until)
            .await
            .expect("free"));
        // A stopped session is nobody's.
        store.stop_live_session(a, s.id).await.expect("stop");
        assert!(!store
            .claim_live_session(s.id, "r1", later, later_until)
            .await
            .expect("stopped"));
    }

    #[tokio::test]
    async fn sessions_are_tenant_scoped_and_stop_idempotently() {
        let store = store().await;
        let (a, b) = (tenant(&store).await, tenant(&store).await);
        let limits = LiveLimits {
            max_replies_per_viewer: 2,
            ..LiveLimits::default()
        };
        let created = store
            .create_live_session(a, session(limits))
            .await
            .expect("create");
        assert_eq!(created.status, LiveSessionStatus::Active.as_str());
        assert_eq!(limits_from_json(&created.limits), limits);
        assert!(matches!(
            store.live_session(b, created.id).await,
            Err(ApiError::NotFound(_))
        ));
        let page = PageRequest::parse(None, None).expect("page");
        let listed = store
            .live_sessions(a, LiveSessionFilter::default(), page)
            .await
            .expect("list");
        assert_eq!(listed.total_count, 1);
        assert_eq!(store.active_live_sessions().await.expect("active").len(), 1);
        let stopped = store.stop_live_session(a, created.id).await.expect("stop");
        assert_eq!(stopped.status, LiveSessionStatus::Stopped.as_str());
        let again = store.stop_live_session(a, created.id).await.expect("stop");
        assert_eq!(again.stopped_at, stopped.stopped_at);
        assert!(store
            .active_live_sessions()
            .await
            .expect("active")
            .is_empty());
    }

    #[tokio::test]
    async fn duplicates_are_refused_and_viewer_replies_are_counted() {
        let store = store().await;
        let a = tenant(&store).await;
        let s = store
            .create_live_session(a, session(LiveLimits::default()))
            .await
            .expect("create");
        let first = store
            .record_live_interaction(a, interaction(s.id, "m1", "UCv"))
            .await
            .expect("insert")
            .expect("new");
        assert!(store
            .record_live_interaction(a, interaction(s.id, "m1", "UCv"))
            .await
            .expect("insert")
            .is_none());
        assert!(store.live_message_seen(a, s.id, "m1").await.expect("seen"));
        store
            .set_live_interaction_outcome(
                a,
                first.id,
                InteractionOutcome::Replied {
                    text: "x".into(),
                    via: "PUBLIC".into(),
                },
            )
            .await
            .expect("outcome");
        let (count, last) = store
            .live_viewer_replies(a, s.id, "UCv")
            .await
            .expect("count");
        assert_eq!(count, 1);
        assert_eq!(last, Some(first.created_at));
        store
            .add_live_counters(
                a,
                s.id,
                CounterDelta {
                    messages: 1,
                    responses: 1,
                    whispers: 1,
                    quota_units: 55,
                },
            )
            .await
            .expect("counters");
        let s = store.live_session(a, s.id).await.expect("get");
        assert_eq!(
            (
                s.messages_processed,
                s.responses_sent,
                s.whispers_sent,
                s.quota_used
            ),
            (1, 1, 1, 55)
        );
    }

    #[tokio::test]
    async fn a_viewer_lead_is_created_once_and_scored_with_events() {
        let store = store().await;
        let a = tenant(&store).await;
        let s = store
            .create_live_session(a, session(LiveLimits::default()))
            .await
            .expect("create");
        let at = now();
        let first = store
            .record_live_viewer(
                a,
                s.id,
                LivePlatform::Youtube,
                "UCviewer",
                "Viewer",
                &analysis(Intent::ProductInquiry, Some("p1")),
                "how much is the hoodie?",
                at,
            )
            .await
            .expect("viewer");
        assert!(first.created);
        let event = first.score_event.expect("score moved");
        assert_eq!(event.score_after, first.score.total);
        assert!(event.reason.contains("purchase"), "{}", event.reason);
        let second = store
            .record_live_viewer(
                a,
                s.id,
                LivePlatform::Youtube,
                "UCviewer",
                "Viewer",
                &analysis(Intent::PurchaseIntent, Some("p1")),
                "I'll buy it",
                at,
            )
            .await
            .expect("viewer");
        assert!(!second.created);
        assert_eq!(second.lead.id, first.lead.id);
        assert!(second.score.total > first.score.total);
        assert_eq!(second.lead.score, second.score.total);
        assert_eq!(
            second.lead.temperature,
            Temperature::for_live_score(second.score.total).as_str()
        );
        let identities = store
            .lead_identities(a, first.lead.id)
            .await
            .expect("identities");
        assert_eq!(identities.len(), 1);
        assert_eq!(
            identities
                .first()
                .map(|i| (i.channel.as_str(), i.external_id.as_str())),
            Some(("YOUTUBE", "UCviewer"))
        );
    }
}

#[cfg(test)]
mod limits_json {
    use super::*;

    #[test]
    fn limits_round_trip_and_old_rows_take_defaults() {
        let limits = LiveLimits {
            min_confidence: 0.5,
            max_replies_per_viewer: 1,
            viewer_cooldown: Duration::seconds(0),
            max_replies_per_session: 7,
            whispers_per_day: 3,
            youtube_daily_quota: 60,
            youtube_insert_cost: 20,
            youtube_list_cost: 1,
        };
        assert_eq!(limits_from_json(&limits_to_json(&limits)), limits);
        assert_eq!(limits_from_json(&json!({})), LiveLimits::default());
        assert_eq!(
            limits_from_json(&json!({"maxRepliesPerViewer": -1})),
            LiveLimits::default()
        );
    }
}

impl Store {
    /// Claims (or renews) `owner`'s lease on an ACTIVE session until `until`: succeeds when the
    /// session has no owner, is already `owner`'s, or its lease ran out before `now`. One
    /// conditional UPDATE, so two replicas cannot both win. The Redis lease (when configured)
    /// is in `services::live::lease`; this one serves the embedded default and Postgres alone.
    pub async fn claim_live_session(
        &self,
        session_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> ApiResult<bool> {
        use sea_orm::sea_query::{Condition, Expr};
        let result = live_sessions::Entity::update_many()
            .col_expr(live_sessions::Column::OwnerId, Expr::value(owner))
            .col_expr(live_sessions::Column::LeaseUntil, Expr::value(until))
            .filter(live_sessions::Column::Id.eq(session_id))
            .filter(live_sessions::Column::Status.eq(LiveSessionStatus::Active.as_str()))
            .filter(
                Condition::any()
                    .add(live_sessions::Column::OwnerId.is_null())
                    .add(live_sessions::Column::OwnerId.eq(owner))
                    .add(live_sessions::Column::LeaseUntil.is_null())
                    .add(live_sessions::Column::LeaseUntil.lt(now)),
            )
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Gives `owner`'s lease on the session up (no-op when another replica holds it).
    pub async fn release_live_session(&self, session_id: Uuid, owner: &str) -> ApiResult<()> {
        use sea_orm::sea_query::Expr;
        live_sessions::Entity::update_many()
            .col_expr(
                live_sessions::Column::OwnerId,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                live_sessions::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(live_sessions::Column::Id.eq(session_id))
            .filter(live_sessions::Column::OwnerId.eq(owner))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// One viewer's numbers in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewerCount {
    /// The platform id.
    pub author_id: String,
    /// The latest display name.
    pub author_name: String,
    /// Messages stored.
    pub messages: i64,
    /// Automatic replies sent.
    pub replies: i64,
}

impl Store {
    /// The platform id of the viewer called `username` in a session (display name, case
    /// insensitive, or the id itself), from their latest message.
    pub async fn live_viewer_id(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        username: &str,
    ) -> ApiResult<Option<String>> {
        use sea_orm::sea_query::{Condition, Expr, Func};
        let wanted = username.trim().trim_start_matches('@').to_lowercase();
        let row = live_interactions::Entity::find()
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .filter(
                Condition::any()
                    .add(
                        Expr::expr(Func::lower(Expr::col(
                            live_interactions::Column::AuthorName,
                        )))
                        .eq(wanted.clone()),
                    )
                    .add(live_interactions::Column::AuthorId.eq(username.trim())),
            )
            .order_by_desc(live_interactions::Column::CreatedAt)
            .one(&self.db)
            .await?;
        Ok(row.map(|r| r.author_id))
    }

    /// Per-viewer message and reply counts of a session, most active first (at most `limit`).
    pub async fn live_viewer_counts(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        limit: u64,
    ) -> ApiResult<Vec<ViewerCount>> {
        use sea_orm::sea_query::{Expr, Func};
        let rows: Vec<(String, Option<String>, i64, i64)> = live_interactions::Entity::find()
            .select_only()
            .column(live_interactions::Column::AuthorId)
            .column_as(
                Expr::expr(Func::max(Expr::col(live_interactions::Column::AuthorName))),
                "author_name",
            )
            .column_as(Expr::col(live_interactions::Column::Id).count(), "messages")
            .column_as(
                // Our own constant, not input: safe to inline.
                Expr::cust(format!(
                    "SUM(CASE WHEN outcome = '{}' THEN 1 ELSE 0 END)",
                    Outcome::Replied.as_str()
                )),
                "replies",
            )
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .group_by(live_interactions::Column::AuthorId)
            .order_by_desc(Expr::col(live_interactions::Column::Id).count())
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(author_id, author_name, messages, replies)| ViewerCount {
                author_id,
                author_name: author_name.unwrap_or_default(),
                messages,
                replies,
            })
            .collect())
    }
}

impl Store {
    /// How many of a session's interactions ended with `outcome`.
    pub async fn live_outcome_count(
        &self,
        tenant_id: Uuid,
        session_id: Uuid,
        outcome: Outcome,
    ) -> ApiResult<i64> {
        use sea_orm::PaginatorTrait;
        let n = live_interactions::Entity::find()
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id))
            .filter(live_interactions::Column::Outcome.eq(outcome.as_str()))
            .count(&self.db)
            .await?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }
}
