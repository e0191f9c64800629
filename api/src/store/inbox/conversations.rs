//! Conversations: reading and listing them, and every change to their status, handler or
//! assignee (agents' changes are audited in the same transaction). One open conversation per
//! lead and channel is the database's rule; a change that would break it is CONFLICT.
//!
//! Must not: store messages (`inbox::messages`) or publish events (the services do, after
//! the commit).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_domain::channel::Channel;
use leadline_domain::conversation::{ConversationStatus, Handler};
use leadline_domain::ids::TenantId;
use leadline_entity::{conversations, leads};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, IntoActiveModel, QueryFilter, TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::race_or;
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::store::audit::{record, AuditEntry};
use crate::store::{now, paginate, Page, PageRequest, Store};

/// Filter for conversation listings; parts combine with AND.
#[derive(Debug, Default, Clone)]
pub struct ConversationFilter {
    pub channel: Option<Channel>,
    pub status: Option<ConversationStatus>,
    pub lead_id: Option<Uuid>,
    pub handled_by: Option<Handler>,
    pub assignee_user_id: Option<Uuid>,
}

/// A change of who handles a conversation, or of its status.
#[derive(Debug, Clone, Default)]
pub struct ConversationChange {
    pub status: Option<ConversationStatus>,
    pub handled_by: Option<Handler>,
    /// `Some(None)` clears the assignee.
    pub assignee_user_id: Option<Option<Uuid>>,
    /// Adds to `ai_turns`.
    pub add_ai_turns: i32,
}

pub(super) async fn conversation_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<conversations::Model> {
    conversations::Entity::find_by_id(id)
        .filter(conversations::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("conversation"))
}

impl Store {
    /// One conversation of the tenant.
    pub async fn conversation(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> ApiResult<conversations::Model> {
        let tenant_id = tenant.uuid();
        conversation_in(&self.db, tenant_id, id).await
    }

    /// The leads behind `conversations`, keyed by lead id, in ONE query (a listing page shows
    /// each conversation's lead; loading them one by one would cost a query per row).
    pub async fn conversation_leads(
        &self,
        tenant: TenantId,
        conversations: &[conversations::Model],
    ) -> ApiResult<HashMap<Uuid, leads::Model>> {
        let tenant_id = tenant.uuid();
        let mut ids: Vec<Uuid> = conversations.iter().map(|c| c.lead_id).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(leads::Entity::find()
            .filter(leads::Column::TenantId.eq(tenant_id))
            .filter(leads::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|lead| (lead.id, lead))
            .collect())
    }

    /// A page of conversations, newest first.
    pub async fn conversations(
        &self,
        tenant: TenantId,
        filter: ConversationFilter,
        page: PageRequest,
    ) -> ApiResult<Page<conversations::Model>> {
        let tenant_id = tenant.uuid();
        let mut select =
            conversations::Entity::find().filter(conversations::Column::TenantId.eq(tenant_id));
        if let Some(channel) = filter.channel {
            select = select.filter(conversations::Column::Channel.eq(channel.as_str()));
        }
        if let Some(status) = filter.status {
            select = select.filter(conversations::Column::Status.eq(status.as_str()));
        }
        if let Some(lead_id) = filter.lead_id {
            select = select.filter(conversations::Column::LeadId.eq(lead_id));
        }
        if let Some(handled_by) = filter.handled_by {
            select = select.filter(conversations::Column::HandledBy.eq(handled_by.as_str()));
        }
        if let Some(assignee) = filter.assignee_user_id {
            select = select.filter(conversations::Column::AssigneeUserId.eq(assignee));
        }
        paginate(&self.db, select, conversations::Column::Id, page).await
    }

    /// Applies `change` to a conversation.
    ///
    /// An agent's change (assignment, hand-back, resolution) is audited as `action` in the same
    /// transaction, with who handled the conversation before and after: who took a customer
    /// away from the AI, or closed their case, is a question an owner must be able to answer.
    pub async fn change_conversation(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: ConversationChange,
        actor: Actor,
        action: &str,
    ) -> ApiResult<conversations::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let before = conversation_in(&tx, tenant_id, id).await?;
        let conversation = apply_conversation_change(&tx, before.clone(), change, None)
            .await
            .map_err(|e| match e {
                ApiError::Conflict(_) => ApiError::Conflict(
                    "the lead already has another open conversation on this channel".into(),
                ),
                other => other,
            })?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action,
                target_type: "conversation",
                target_id: Some(id.to_string()),
                details: conversation_audit_details(&before, &conversation),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(conversation)
    }
}

/// What an audited conversation change records: channel and lead, and status, handler and
/// assignee before and after.
fn conversation_audit_details(
    before: &conversations::Model,
    after: &conversations::Model,
) -> Value {
    let side = |c: &conversations::Model| {
        json!({
            "status": c.status,
            "handledBy": c.handled_by,
            "assigneeUserId": c.assignee_user_id,
        })
    };
    json!({
        "channel": after.channel,
        "leadId": after.lead_id,
        "before": side(before),
        "after": side(after),
    })
}

/// Applies `change` on `tx`. A reopen that collides with another open conversation of the same
/// lead+channel surfaces as CONFLICT.
pub(super) async fn apply_conversation_change(
    tx: &DatabaseTransaction,
    conversation: conversations::Model,
    change: ConversationChange,
    message_at: Option<DateTime<Utc>>,
) -> ApiResult<conversations::Model> {
    let mut row = conversation.clone().into_active_model();
    if let Some(status) = change.status {
        row.status = Set(status.as_str().to_owned());
    }
    if let Some(handled_by) = change.handled_by {
        row.handled_by = Set(handled_by.as_str().to_owned());
    }
    if let Some(assignee) = change.assignee_user_id {
        row.assignee_user_id = Set(assignee);
    }
    if change.add_ai_turns != 0 {
        row.ai_turns = Set(conversation.ai_turns.saturating_add(change.add_ai_turns));
    }
    if let Some(at) = message_at {
        row.last_message_at = Set(Some(at));
    }
    row.updated_at = Set(now());
    row.update(tx).await.map_err(race_or)
}
