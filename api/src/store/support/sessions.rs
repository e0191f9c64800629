//! Support sessions: opening one per customer (at most one open), reading one (a customer only
//! their own), the waiting queue with its escalation tickets, and assignment (with the agent's
//! capacity and a compare-and-set against a concurrent taker) and ending, both audited.
//!
//! Must not: decide who may take a session (the support service checks the member) or
//! publish events.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_domain::conversation::{ConversationStatus, Handler, TicketStatus};
use leadline_domain::ids::TenantId;
use leadline_entity::{conversations, leads, tickets};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::{session_in, WEB_CHAT};
use crate::auth::Actor;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::store::audit::{record, AuditEntry};
use crate::store::inbox::race_or as retryable;
use crate::store::inbox::{open_statuses, open_ticket_statuses};
use crate::store::{now, Store, Stored};

/// Why an assignment was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignRefusal {
    /// Someone else took it between the caller's read and the update.
    TakenMeanwhile,
    /// The agent already holds this many open sessions, the capacity.
    AtCapacity {
        /// Open sessions the agent holds.
        load: u64,
    },
}

impl Store {
    /// The customer's open support session (ACTIVE or WAITING), if any.
    pub async fn active_support_session(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
    ) -> ApiResult<Option<conversations::Model>> {
        let tenant_id = tenant.uuid();
        Ok(conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(tenant_id))
            .filter(conversations::Column::LeadId.eq(lead_id))
            .filter(conversations::Column::Channel.eq(WEB_CHAT))
            .filter(conversations::Column::Status.is_in(open_statuses()))
            .one(&self.db)
            .await?)
    }

    /// Opens a support session for the customer, or returns the open one (a lead has at most one
    /// open conversation per channel). Returns the session and whether it was created.
    pub async fn open_support_session(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
        subject: Option<String>,
    ) -> ApiResult<(conversations::Model, bool)> {
        let tenant_id = tenant.uuid();
        for _ in 0..2 {
            if let Some(open) = self.active_support_session(tenant, lead_id).await? {
                return Ok((open, false));
            }
            let lead = leads::Entity::find_by_id(lead_id)
                .filter(leads::Column::TenantId.eq(tenant_id))
                .one(&self.db)
                .await?
                .ok_or(ApiError::NotFound("customer"))?;
            let at = now();
            let human = lead.handler == Handler::Human.as_str();
            let row = conversations::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant_id),
                lead_id: Set(lead_id),
                channel: Set(WEB_CHAT.to_owned()),
                status: Set(ConversationStatus::Active.as_str().into()),
                handled_by: Set(if human { Handler::Human } else { Handler::Ai }
                    .as_str()
                    .into()),
                assignee_user_id: Set(lead.assigned_user_id),
                subject: Set(subject.clone()),
                ai_turns: Set(0),
                last_inbound_at: Set(None),
                last_message_at: Set(None),
                created_at: Set(at),
                updated_at: Set(at),
            };
            match row.insert(&self.db).await {
                Ok(created) => return Ok((created, true)),
                // A concurrent create won the one-open-per-lead index: take its session.
                Err(error) if is_unique_violation(&error) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        self.active_support_session(tenant, lead_id)
            .await?
            .map(|s| (s, false))
            .ok_or_else(|| ApiError::Conflict("the session was closed meanwhile; retry".into()))
    }

    /// One support session of the tenant (a WEB_CHAT conversation); with `lead_id`, only if it is
    /// that customer's. Anything else is NOT_FOUND.
    pub async fn support_session(
        &self,
        tenant: TenantId,
        id: Uuid,
        lead_id: Option<Uuid>,
    ) -> ApiResult<conversations::Model> {
        let tenant_id = tenant.uuid();
        let session = session_in(&self.db, tenant_id, id).await?;
        if lead_id.is_some_and(|lead| lead != session.lead_id) {
            return Err(ApiError::NotFound("support session"));
        }
        Ok(session)
    }

    /// WAITING support sessions, oldest wait first, each with its newest open ticket (the
    /// escalation that put it in the queue). At most `limit`.
    pub async fn support_queue(
        &self,
        tenant: TenantId,
        limit: u64,
    ) -> ApiResult<Vec<(conversations::Model, Option<tickets::Model>)>> {
        let tenant_id = tenant.uuid();
        // Oldest sessions first, so `limit` keeps the longest-waiting ones in the usual case;
        // the exact order (by escalation time) is applied below.
        let sessions = conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(tenant_id))
            .filter(conversations::Column::Channel.eq(WEB_CHAT))
            .filter(conversations::Column::Status.eq(ConversationStatus::Waiting.as_str()))
            .order_by_asc(conversations::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        let tickets = self
            .latest_session_tickets(tenant, sessions.iter().map(|s| s.id).collect())
            .await?;
        let mut queue: Vec<_> = sessions
            .into_iter()
            .map(|s| {
                let ticket = tickets.get(&s.id).cloned();
                (s, ticket)
            })
            .collect();
        queue.sort_by_key(|(session, ticket)| waiting_since(session, ticket.as_ref()));
        Ok(queue)
    }

    /// The newest ticket of each session, in one query.
    pub async fn latest_session_tickets(
        &self,
        tenant: TenantId,
        session_ids: Vec<Uuid>,
    ) -> ApiResult<HashMap<Uuid, tickets::Model>> {
        let tenant_id = tenant.uuid();
        if session_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = tickets::Entity::find()
            .filter(tickets::Column::TenantId.eq(tenant_id))
            .filter(tickets::Column::ConversationId.is_in(session_ids))
            .order_by_asc(tickets::Column::Id)
            .all(&self.db)
            .await?;
        // Ascending ids: later (newer) tickets overwrite earlier ones.
        Ok(rows
            .into_iter()
            .filter_map(|t| t.conversation_id.map(|c| (c, t)))
            .collect())
    }

    /// The customer's most recent tickets, newest first (for the AI's context).
    pub async fn lead_recent_tickets(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
        limit: u64,
    ) -> ApiResult<Vec<tickets::Model>> {
        let tenant_id = tenant.uuid();
        Ok(tickets::Entity::find()
            .filter(tickets::Column::TenantId.eq(tenant_id))
            .filter(tickets::Column::LeadId.eq(lead_id))
            .order_by_desc(tickets::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// Gives the session to `agent`: ACTIVE, handled by a HUMAN, assigned; its open tickets go
    /// IN_PROGRESS with the same assignee. Conditional on the assignee still being
    /// `expected_assignee`, so two agents self-assigning at once cannot both win.
    ///
    /// With `capacity > 0` the agent's load is counted inside the same transaction, after
    /// locking the agent's membership row on PostgreSQL (SQLite has one writer), so two
    /// assignments of different sessions to one agent at once cannot both pass the capacity.
    ///
    /// Audited (`support_session.assigned`, by `actor`) in the same transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn assign_support_session(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        agent: Uuid,
        expected_assignee: Option<Uuid>,
        capacity: u64,
        actor: Actor,
    ) -> ApiResult<Result<conversations::Model, AssignRefusal>> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let at = now();
        if capacity > 0 && expected_assignee != Some(agent) {
            if self.is_postgres() {
                leadline_entity::memberships::Entity::find()
                    .filter(leadline_entity::memberships::Column::TenantId.eq(tenant_id))
                    .filter(leadline_entity::memberships::Column::UserId.eq(agent))
                    .lock_exclusive()
                    .one(&tx)
                    .await?;
            }
            let load = conversations::Entity::find()
                .filter(conversations::Column::TenantId.eq(tenant_id))
                .filter(conversations::Column::Channel.eq(WEB_CHAT))
                .filter(conversations::Column::AssigneeUserId.eq(agent))
                .filter(conversations::Column::Status.is_in(open_statuses()))
                .count(&tx)
                .await?;
            if load >= capacity {
                tx.rollback().await?;
                return Ok(Err(AssignRefusal::AtCapacity { load }));
            }
        }
        let mut update = conversations::Entity::update_many()
            .col_expr(
                conversations::Column::Status,
                Expr::value(ConversationStatus::Active.as_str()),
            )
            .col_expr(
                conversations::Column::HandledBy,
                Expr::value(Handler::Human.as_str()),
            )
            .col_expr(
                conversations::Column::AssigneeUserId,
                Expr::value(Some(agent)),
            )
            .col_expr(conversations::Column::UpdatedAt, Expr::value(at))
            .filter(conversations::Column::TenantId.eq(tenant_id))
            .filter(conversations::Column::Id.eq(session_id))
            .filter(conversations::Column::Channel.eq(WEB_CHAT))
            .filter(conversations::Column::Status.is_in(open_statuses()));
        update = match expected_assignee {
            Some(current) => update.filter(conversations::Column::AssigneeUserId.eq(current)),
            None => update.filter(conversations::Column::AssigneeUserId.is_null()),
        };
        if update.exec(&tx).await?.rows_affected == 0 {
            tx.rollback().await?;
            return Ok(Err(AssignRefusal::TakenMeanwhile));
        }
        tickets::Entity::update_many()
            .col_expr(
                tickets::Column::Status,
                Expr::value(TicketStatus::InProgress.as_str()),
            )
            .col_expr(tickets::Column::AssigneeUserId, Expr::value(Some(agent)))
            .col_expr(tickets::Column::UpdatedAt, Expr::value(at))
            .filter(tickets::Column::TenantId.eq(tenant_id))
            .filter(tickets::Column::ConversationId.eq(session_id))
            .filter(tickets::Column::Status.is_in(open_ticket_statuses()))
            .exec(&tx)
            .await?;
        let session = session_in(&tx, tenant_id, session_id).await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "support_session.assigned",
                target_type: "support_session",
                target_id: Some(session_id.to_string()),
                details: json!({
                    "leadId": session.lead_id,
                    "agentUserId": agent,
                    "previousAssigneeUserId": expected_assignee,
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(session))
    }

    /// Ends the session: RESOLVED, and its open tickets RESOLVED. Returns the session.
    /// Audited (`support_session.ended`) in the same transaction: `actor` for agents (none for
    /// a customer ending their own), and `details` says who and why.
    pub async fn end_support_session(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        actor: Actor,
        details: serde_json::Value,
    ) -> ApiResult<conversations::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let session = session_in(&tx, tenant_id, session_id).await?;
        let ended_open = ConversationStatus::stored(&session.status)?.is_open();
        let at = now();
        tickets::Entity::update_many()
            .col_expr(
                tickets::Column::Status,
                Expr::value(TicketStatus::Resolved.as_str()),
            )
            .col_expr(tickets::Column::ResolvedAt, Expr::value(Some(at)))
            .col_expr(tickets::Column::UpdatedAt, Expr::value(at))
            .filter(tickets::Column::TenantId.eq(tenant_id))
            .filter(tickets::Column::ConversationId.eq(session_id))
            .filter(tickets::Column::Status.is_in(open_ticket_statuses()))
            .exec(&tx)
            .await?;
        let mut row = session.into_active_model();
        row.status = Set(ConversationStatus::Resolved.as_str().into());
        row.updated_at = Set(at);
        let session = row.update(&tx).await.map_err(retryable)?;
        // A retry that finds the session already ended changed nothing worth a second row.
        if ended_open {
            record(
                &tx,
                tenant_id,
                actor,
                AuditEntry {
                    action: "support_session.ended",
                    target_type: "support_session",
                    target_id: Some(session_id.to_string()),
                    details,
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(session)
    }
}

/// When the session started waiting: its escalation ticket's time, else its last change.
pub fn waiting_since(
    session: &conversations::Model,
    ticket: Option<&tickets::Model>,
) -> DateTime<Utc> {
    ticket.map_or(session.updated_at, |t| t.created_at)
}
