//! One chat message of a session and what the agent did with it. The unique key
//! `(session_id, platform_message_id)` is the duplicate check. Must not: touch the viewer's lead
//! (`viewers`).

use chrono::{DateTime, Utc};
use leadline_domain::ids::{LeadId, LiveInteractionId, LiveSessionId, ProductId, TenantId};
use leadline_domain::live::InteractionOutcome as Outcome;
use leadline_entity::live_interactions;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::{InteractionOutcome, NewLiveInteraction};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::store::{now, paginate, Page, PageRequest, Store};

impl Store {
    /// Stores a chat message with outcome RECEIVED. `Ok(None)` when the session already has this
    /// platform message id: the unique key is the duplicate check, so a redelivery or a re-read
    /// page is never processed twice, even by two racing readers.
    pub async fn record_live_interaction(
        &self,
        tenant: TenantId,
        new: NewLiveInteraction,
    ) -> ApiResult<Option<live_interactions::Model>> {
        let tenant_id = tenant.uuid();
        let inserted = live_interactions::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            session_id: Set(new.session_id.uuid()),
            lead_id: Set(new.lead_id.map(LeadId::uuid)),
            platform_message_id: Set(new.platform_message_id),
            author_id: Set(new.author_id),
            author_name: Set(new.author_name),
            text: Set(new.text),
            intent: Set(new.intent),
            confidence: Set(new.confidence),
            matched_product_id: Set(new.matched_product_id.map(ProductId::uuid)),
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
        tenant: TenantId,
        session: LiveSessionId,
        platform_message_id: &str,
    ) -> ApiResult<bool> {
        let tenant_id = tenant.uuid();
        let session_id = session.uuid();
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
        tenant: TenantId,
        id: LiveInteractionId,
        outcome: InteractionOutcome,
    ) -> ApiResult<live_interactions::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        let row = live_interactions::Entity::find_by_id(id)
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("live interaction"))?;
        let replied = matches!(outcome, InteractionOutcome::Replied { .. });
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
        if !replied {
            return Ok(row.update(&self.db).await?);
        }
        // A reply posted to the chat is an AI reply: counted with it, once per interaction.
        let tx = self.db.begin().await?;
        let updated = row.update(&tx).await?;
        crate::store::usage::record_usage(
            &tx,
            tenant_id,
            &[crate::store::usage::UsageRecord {
                item: leadline_domain::billing::UsageItem::AiReplies,
                quantity: 1,
                source_kind: "live_interaction",
                source_id: updated.id,
                at: now(),
            }],
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// A page of a session's interactions, newest first.
    pub async fn live_interactions(
        &self,
        tenant: TenantId,
        session: LiveSessionId,
        page: PageRequest,
    ) -> ApiResult<Page<live_interactions::Model>> {
        let tenant_id = tenant.uuid();
        let session_id = session.uuid();
        let select = live_interactions::Entity::find()
            .filter(live_interactions::Column::TenantId.eq(tenant_id))
            .filter(live_interactions::Column::SessionId.eq(session_id));
        paginate(&self.db, select, live_interactions::Column::Id, page).await
    }

    /// Replies sent to one viewer in a session and when the last one was (derived from the
    /// interactions, so the count is exactly what was recorded).
    pub async fn live_viewer_replies(
        &self,
        tenant: TenantId,
        session: LiveSessionId,
        author_id: &str,
    ) -> ApiResult<(u32, Option<DateTime<Utc>>)> {
        let tenant_id = tenant.uuid();
        let session_id = session.uuid();
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

    /// How many of a session's interactions ended with `outcome`.
    pub async fn live_outcome_count(
        &self,
        tenant: TenantId,
        session: LiveSessionId,
        outcome: Outcome,
    ) -> ApiResult<i64> {
        let tenant_id = tenant.uuid();
        let session_id = session.uuid();
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
