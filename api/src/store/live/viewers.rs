//! The viewers of a session as leads: one lead per platform identity (created with the inbox's
//! `insert_messaging_lead`), its per-session activity and live score, and the per-viewer counts
//! the dashboard shows. Must not: decide a reply (`domain::live`, `services::live`).

use chrono::{DateTime, Utc};
use leadline_domain::analysis::Analysis;
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_domain::lead::Temperature;
use leadline_domain::live::{
    live_score, score_reason, InteractionOutcome as Outcome, LivePlatform, ViewerActivity,
};
use leadline_entity::{lead_identities, lead_score_events, leads, live_interactions};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::{activity_key, ViewerLead, LIVE_SCORE_SIGNAL};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::store::inbox::{insert_messaging_lead, NewMessagingLead};
use crate::store::Store;

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

/// One analysed chat message of a viewer, to fold into their lead
/// ([`Store::record_live_viewer`]).
#[derive(Debug, Clone, Copy)]
pub struct LiveViewerMessage<'a> {
    /// The session the viewer chatted in.
    pub session_id: Uuid,
    /// Its platform (the viewer's identity is on that platform's channel).
    pub platform: LivePlatform,
    /// The viewer's platform id.
    pub author_id: &'a str,
    /// The viewer's display name (the lead's name when new).
    pub author_name: &'a str,
    /// The message's analysis.
    pub analysis: &'a Analysis,
    /// The message.
    pub text: &'a str,
    /// When it was said.
    pub at: DateTime<Utc>,
}

impl Store {
    /// The leads of the viewers who chatted in a session, hottest first.
    pub async fn live_session_leads(
        &self,
        tenant: TenantId,
        session_id: Uuid,
    ) -> ApiResult<Vec<leads::Model>> {
        let tenant_id = tenant.uuid();
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
    pub async fn record_live_viewer(
        &self,
        tenant: TenantId,
        message: LiveViewerMessage<'_>,
    ) -> ApiResult<ViewerLead> {
        let tenant_id = tenant.uuid();
        // A racing first message from the same viewer loses on the identity's unique key and
        // retries as an update.
        for _ in 0..2 {
            match self.try_record_live_viewer(tenant_id, &message).await {
                Err(ApiError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Err(ApiError::Conflict(
            "the viewer's lead was changed concurrently; retry".into(),
        ))
    }

    async fn try_record_live_viewer(
        &self,
        tenant_id: Uuid,
        message: &LiveViewerMessage<'_>,
    ) -> ApiResult<ViewerLead> {
        let LiveViewerMessage {
            session_id,
            platform,
            author_id,
            author_name,
            analysis,
            text,
            at,
        } = *message;
        let channel: Channel = platform.channel();
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
                // The inbox's lead insert (NEW, handled by the AI, identity on the channel); a
                // viewer starts at the live model's score instead, written with the update below.
                let lead = insert_messaging_lead(
                    &tx,
                    tenant_id,
                    NewMessagingLead {
                        channel: channel.as_str(),
                        external_id: author_id,
                        display_name: Some(author_name.to_owned()),
                        name: if author_name.trim().is_empty() {
                            author_id.to_owned()
                        } else {
                            author_name.to_owned()
                        },
                        email: None,
                        phone: None,
                    },
                )
                .await?;
                let lead = leads::Model {
                    score: fresh.total,
                    temperature: fresh.temperature.as_str().to_owned(),
                    ..lead
                };
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
        if changed || created {
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

    /// The platform id of the viewer called `username` in a session (display name, case
    /// insensitive, or the id itself), from their latest message.
    pub async fn live_viewer_id(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        username: &str,
    ) -> ApiResult<Option<String>> {
        let tenant_id = tenant.uuid();
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
        tenant: TenantId,
        session_id: Uuid,
        limit: u64,
    ) -> ApiResult<Vec<ViewerCount>> {
        let tenant_id = tenant.uuid();
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
