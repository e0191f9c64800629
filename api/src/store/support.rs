//! Support chat rows. A support session IS a conversation on channel WEB_CHAT (it shares the
//! inbox's messages, tickets, job queue and AI turn); a customer IS a lead with a WEB_CHAT
//! identity (the tenant's `externalUserId`, or `visitor:<id>` for anonymous visitors). So this
//! module adds one table only, `web_chat_visitors` (the hash of each visitor's rotating resume
//! secret), and otherwise the queries the support chat needs on top of the inbox's rows.
//!
//! Every function takes the tenant id; those a customer reaches also take the lead id, so a
//! session of another customer is NOT_FOUND exactly like a session of another tenant.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_domain::conversation::{ConversationStatus, Handler, TicketStatus};
use leadline_domain::ids::TenantId;
use leadline_domain::messaging::{DeliveryStatus, MessageDirection, SenderKind};
use leadline_entity::{
    conversations, lead_identities, leads, messages, tickets, web_chat_visitors,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::inbox::{open_statuses, open_ticket_statuses, AI_RESPONSE_JOB};
use super::{now, Store, Stored};
use crate::auth::Actor;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::jobs::{enqueue, NewJob};

const WEB_CHAT: &str = "WEB_CHAT";

/// A customer's message, as stored by [`Store::add_customer_message`].
#[derive(Debug, Clone)]
pub struct CustomerMessage {
    pub message: messages::Model,
    /// False when the `clientMessageId` was seen before (nothing changed).
    pub created: bool,
    pub conversation: conversations::Model,
    /// The `ai_response` job, when the AI is to answer.
    pub ai_job: Option<Uuid>,
}

/// Whose messages a read receipt covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSide {
    /// The customer read what the AI, agents and system wrote (outbound messages).
    CustomerReads,
    /// An agent read what the customer wrote (inbound messages).
    AgentReads,
}

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

/// An anonymous visitor, as `startVisitorSession` found or made it.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The visitor id (`visitor:<id>` is its WEB_CHAT identity).
    pub id: Uuid,
    /// The lead the visitor is.
    pub lead: leads::Model,
}

/// The limits a customer's new message must pass (checked after the idempotency lookup, so a
/// retried message is answered with the first one and never refused or counted).
pub struct CustomerMessageLimits {
    /// Most messages the customer may write in one session (0: no limit).
    pub session_max: u64,
    /// The per-customer rate's verdict, taken before the call (the limiter may live in Redis,
    /// outside this transaction): `Err` refuses a *new* message (RATE_LIMITED); a retry of an
    /// accepted one is answered with it whatever the verdict.
    pub rate: ApiResult<()>,
}

async fn session_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<conversations::Model> {
    conversations::Entity::find_by_id(id)
        .filter(conversations::Column::TenantId.eq(tenant_id))
        .filter(conversations::Column::Channel.eq(WEB_CHAT))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("support session"))
}

// A lost race on a unique key is a retryable CONFLICT (the inbox's rule).
use super::inbox::race_or as retryable;

impl Store {
    /// Whether the lead still has the WEB_CHAT identity a customer token names (deleting the
    /// lead revokes its tokens at once).
    pub async fn web_chat_identity_exists(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
        external_id: &str,
    ) -> ApiResult<bool> {
        let tenant_id = tenant.uuid();
        Ok(lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::Channel.eq(WEB_CHAT))
            .filter(lead_identities::Column::ExternalId.eq(external_id))
            .filter(lead_identities::Column::LeadId.eq(lead_id))
            .count(&self.db)
            .await?
            > 0)
    }

    /// The lead known on WEB_CHAT as `external_id`, created (50/WARM, source WEB_CHAT) with its
    /// identity when new. An existing lead keeps its name (an agent may have corrected it); a
    /// missing e-mail is filled in. Returns the lead and whether it was created.
    pub async fn upsert_web_chat_customer(
        &self,
        tenant: TenantId,
        external_id: &str,
        name: &str,
        email: Option<&str>,
    ) -> ApiResult<(leads::Model, bool)> {
        let tenant_id = tenant.uuid();
        // Two first requests for one customer race on the identity's unique key; the loser
        // finds the winner's row on its second pass.
        let mut last = None;
        for _ in 0..2 {
            let tx = self.db.begin().await?;
            match upsert_customer_in(&tx, tenant_id, external_id, name, email).await {
                Ok(found) => {
                    tx.commit().await.map_err(retryable)?;
                    return Ok(found);
                }
                Err(error @ ApiError::Conflict(_)) => last = Some(error),
                Err(error) => return Err(error),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Conflict("concurrent sign-in; retry".into())))
    }

    /// Continues the visitor `visitor_id` of the tenant if `presented_hash` is the hash of its
    /// current resume secret, replacing it with `next_hash` in the same statement — so the
    /// presented secret stops working at once, and of two resumes racing with one secret only
    /// one wins. `None` (nothing changed) for an unknown visitor, another tenant's, a wrong or
    /// already-rotated secret, or a visitor whose lead was deleted.
    pub async fn resume_visitor(
        &self,
        tenant: TenantId,
        visitor_id: Uuid,
        presented_hash: &str,
        next_hash: &str,
    ) -> ApiResult<Option<Visitor>> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let rotated = web_chat_visitors::Entity::update_many()
            .col_expr(
                web_chat_visitors::Column::SecretHash,
                Expr::value(next_hash),
            )
            .col_expr(web_chat_visitors::Column::RotatedAt, Expr::value(now()))
            .filter(web_chat_visitors::Column::Id.eq(visitor_id))
            .filter(web_chat_visitors::Column::TenantId.eq(tenant_id))
            .filter(web_chat_visitors::Column::SecretHash.eq(presented_hash))
            .exec(&tx)
            .await?
            .rows_affected;
        if rotated != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let visitor = web_chat_visitors::Entity::find_by_id(visitor_id)
            .filter(web_chat_visitors::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?;
        let lead = match visitor {
            Some(visitor) => {
                leads::Entity::find_by_id(visitor.lead_id)
                    .filter(leads::Column::TenantId.eq(tenant_id))
                    .one(&tx)
                    .await?
            }
            None => None,
        };
        let Some(lead) = lead else {
            tx.rollback().await?;
            return Ok(None);
        };
        tx.commit().await?;
        Ok(Some(Visitor {
            id: visitor_id,
            lead,
        }))
    }

    /// A new visitor: a fresh random visitor id, its lead (named `name`) with the WEB_CHAT
    /// identity `visitor:<id>`, and the hash of its first resume secret, in one transaction.
    pub async fn create_visitor(
        &self,
        tenant: TenantId,
        name: Option<String>,
        secret_hash: &str,
    ) -> ApiResult<Visitor> {
        let tenant_id = tenant.uuid();
        // v4: random, so the id says nothing about when or where it was made. Never taken from
        // the client: an id a client picks could be someone else's.
        let visitor_id = Uuid::new_v4();
        let external_id = format!("visitor:{visitor_id}");
        let short = visitor_id.simple().to_string();
        let display = name.unwrap_or_else(|| format!("Visitor {}", &short[..6]));
        let tx = self.db.begin().await?;
        let lead = super::inbox::insert_messaging_lead(
            &tx,
            tenant_id,
            super::inbox::NewMessagingLead {
                channel: WEB_CHAT,
                external_id: &external_id,
                display_name: Some(display.clone()),
                name: display,
                email: None,
                phone: None,
            },
        )
        .await?;
        let at = now();
        web_chat_visitors::ActiveModel {
            id: Set(visitor_id),
            tenant_id: Set(tenant_id),
            lead_id: Set(lead.id),
            secret_hash: Set(secret_hash.to_owned()),
            created_at: Set(at),
            rotated_at: Set(at),
        }
        .insert(&tx)
        .await
        .map_err(retryable)?;
        tx.commit().await.map_err(retryable)?;
        Ok(Visitor {
            id: visitor_id,
            lead,
        })
    }

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

    /// Stores a customer's message in their session, idempotent on `client_message_id`, and in
    /// the same transaction enqueues the AI's turn when the AI handles an ACTIVE session (a
    /// WAITING or human-handled session gets no AI reply: people answer there).
    ///
    /// A new message must pass `limits`: the customer's rate (RATE_LIMITED) and the session's
    /// cap on customer messages (LIMIT_REACHED `SUPPORT_SESSION_MESSAGES`). The cap is counted
    /// inside the transaction; on PostgreSQL two messages racing at the cap may both pass (the
    /// rate limit bounds by how much), on SQLite's single writer it is exact.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_customer_message(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        lead_id: Uuid,
        body: String,
        client_message_id: String,
        ai_enabled: bool,
        limits: CustomerMessageLimits,
    ) -> ApiResult<CustomerMessage> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let session = session_in(&tx, tenant_id, session_id).await?;
        if session.lead_id != lead_id {
            return Err(ApiError::NotFound("support session"));
        }
        let existing = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(session_id))
            .filter(messages::Column::ClientMessageId.eq(&client_message_id))
            .one(&tx)
            .await?;
        if let Some(message) = existing {
            tx.rollback().await?;
            return Ok(CustomerMessage {
                message,
                created: false,
                conversation: session,
                ai_job: None,
            });
        }
        // After the idempotency lookup, so a retry of an accepted message still gets it back.
        if !ConversationStatus::stored(&session.status)?.is_open() {
            return Err(ApiError::Conflict(
                "this support session has ended; start a new one".into(),
            ));
        }
        if limits.session_max > 0 {
            let written = messages::Entity::find()
                .filter(messages::Column::TenantId.eq(tenant_id))
                .filter(messages::Column::ConversationId.eq(session_id))
                .filter(messages::Column::SenderKind.eq(SenderKind::Lead.as_str()))
                .count(&tx)
                .await?;
            if written >= limits.session_max {
                return Err(ApiError::LimitReached {
                    limit: "SUPPORT_SESSION_MESSAGES",
                    message: format!(
                        "this support session holds the most messages a customer may write \
                         ({}); end it and start a new one",
                        limits.session_max
                    ),
                });
            }
        }
        limits.rate?;
        let at = now();
        let message = messages::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            conversation_id: Set(session_id),
            channel: Set(WEB_CHAT.to_owned()),
            direction: Set(MessageDirection::Inbound.as_str().into()),
            sender_kind: Set(SenderKind::Lead.as_str().into()),
            sender_user_id: Set(None),
            body: Set(body),
            platform_message_id: Set(None),
            client_message_id: Set(Some(client_message_id)),
            delivery_status: Set(DeliveryStatus::Received.as_str().into()),
            delivery_error: Set(None),
            read_at: Set(None),
            metadata: Set(json!({})),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict("this clientMessageId was used concurrently; retry".into())
            } else {
                e.into()
            }
        })?;
        let mut row = session.clone().into_active_model();
        row.last_inbound_at = Set(Some(at));
        row.last_message_at = Set(Some(at));
        row.updated_at = Set(at);
        let conversation = row.update(&tx).await?;
        let ai_job = if ai_enabled
            && conversation.handled_by == Handler::Ai.as_str()
            && conversation.status == ConversationStatus::Active.as_str()
        {
            // The same job, payload and key the webhook ingestion enqueues.
            let job = NewJob::new(
                tenant_id,
                AI_RESPONSE_JOB,
                json!({ "conversationId": conversation.id, "messageId": message.id }),
            )
            .idempotent(format!("{AI_RESPONSE_JOB}:{}", message.id));
            Some(enqueue(&tx, job).await?.0)
        } else {
            None
        };
        tx.commit().await?;
        Ok(CustomerMessage {
            message,
            created: true,
            conversation,
            ai_job,
        })
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

    /// Marks the other side's messages up to and including `up_to` as read (outbound ones also
    /// move to READ). Idempotent; returns how many changed. `up_to` must be a message of the
    /// session (NOT_FOUND otherwise).
    pub async fn mark_support_read(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        up_to: Uuid,
        side: ReadSide,
    ) -> ApiResult<u64> {
        let tenant_id = tenant.uuid();
        let exists = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(session_id))
            .filter(messages::Column::Id.eq(up_to))
            .count(&self.db)
            .await?;
        if exists == 0 {
            return Err(ApiError::NotFound("message in this session"));
        }
        let at = now();
        let mut update = messages::Entity::update_many()
            .col_expr(messages::Column::ReadAt, Expr::value(Some(at)))
            .col_expr(messages::Column::UpdatedAt, Expr::value(at))
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(session_id))
            .filter(messages::Column::Id.lte(up_to))
            .filter(messages::Column::ReadAt.is_null());
        update = match side {
            ReadSide::CustomerReads => update
                .col_expr(
                    messages::Column::DeliveryStatus,
                    Expr::value(DeliveryStatus::Read.as_str()),
                )
                .filter(messages::Column::Direction.eq(MessageDirection::Outbound.as_str())),
            ReadSide::AgentReads => {
                update.filter(messages::Column::Direction.eq(MessageDirection::Inbound.as_str()))
            }
        };
        Ok(update.exec(&self.db).await?.rows_affected)
    }

    /// Marks the session's outbound messages among `ids` DELIVERED: they reached a connected
    /// customer socket. Only PENDING and SENT move (a READ, FAILED or BLOCKED message keeps its
    /// status: delivery never goes backwards, `delivery::rank`), in one conditional UPDATE, so
    /// two sockets of the same customer cannot undo a read in between. Returns the messages as
    /// they are now, for `MessageUpdated`.
    pub async fn mark_support_delivered(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        ids: &[Uuid],
    ) -> ApiResult<Vec<messages::Model>> {
        let tenant_id = tenant.uuid();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let movable = [
            DeliveryStatus::Pending.as_str(),
            DeliveryStatus::Sent.as_str(),
        ];
        let scope = |select: sea_orm::Select<messages::Entity>| {
            select
                .filter(messages::Column::TenantId.eq(tenant_id))
                .filter(messages::Column::ConversationId.eq(session_id))
                .filter(messages::Column::Id.is_in(ids.iter().copied()))
                .filter(messages::Column::Direction.eq(MessageDirection::Outbound.as_str()))
        };
        let candidates = scope(messages::Entity::find())
            .filter(messages::Column::DeliveryStatus.is_in(movable))
            .all(&self.db)
            .await?;
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let at = now();
        let changed = messages::Entity::update_many()
            .col_expr(
                messages::Column::DeliveryStatus,
                Expr::value(DeliveryStatus::Delivered.as_str()),
            )
            .col_expr(messages::Column::UpdatedAt, Expr::value(at))
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(session_id))
            .filter(messages::Column::Id.is_in(candidates.iter().map(|m| m.id)))
            .filter(messages::Column::DeliveryStatus.is_in(movable))
            .exec(&self.db)
            .await?
            .rows_affected;
        if changed == 0 {
            return Ok(Vec::new());
        }
        // Another socket or a read receipt may have moved some in between: report what is stored.
        Ok(scope(messages::Entity::find())
            .filter(messages::Column::Id.is_in(candidates.iter().map(|m| m.id)))
            .filter(messages::Column::DeliveryStatus.eq(DeliveryStatus::Delivered.as_str()))
            .order_by_asc(messages::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// Messages of a session, oldest first: those after `after` (a resume), or the last `limit`.
    /// Returns them and whether older (or, after a cursor, further) messages were left out.
    pub async fn support_history(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        after: Option<Uuid>,
        limit: u64,
    ) -> ApiResult<(Vec<messages::Model>, bool)> {
        let tenant_id = tenant.uuid();
        let base = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(session_id));
        let mut rows = match after {
            Some(after) => {
                base.filter(messages::Column::Id.gt(after))
                    .order_by_asc(messages::Column::Id)
                    .limit(limit + 1)
                    .all(&self.db)
                    .await?
            }
            None => {
                let mut rows = base
                    .order_by_desc(messages::Column::Id)
                    .limit(limit + 1)
                    .all(&self.db)
                    .await?;
                rows.reverse();
                rows
            }
        };
        let more = rows.len() as u64 > limit;
        if more {
            match after {
                Some(_) => rows.truncate(limit as usize),
                None => {
                    rows.remove(0);
                }
            }
        }
        Ok((rows, more))
    }

    /// Every message of a session, oldest first, up to `cap` (the transcript export).
    pub async fn support_transcript_messages(
        &self,
        tenant: TenantId,
        session_id: Uuid,
        cap: u64,
    ) -> ApiResult<Vec<messages::Model>> {
        let tenant_id = tenant.uuid();
        Ok(messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(session_id))
            .order_by_asc(messages::Column::Id)
            .limit(cap)
            .all(&self.db)
            .await?)
    }
}

/// When the session started waiting: its escalation ticket's time, else its last change.
pub fn waiting_since(
    session: &conversations::Model,
    ticket: Option<&tickets::Model>,
) -> DateTime<Utc> {
    ticket.map_or(session.updated_at, |t| t.created_at)
}

async fn upsert_customer_in(
    tx: &DatabaseTransaction,
    tenant_id: Uuid,
    external_id: &str,
    name: &str,
    email: Option<&str>,
) -> ApiResult<(leads::Model, bool)> {
    let identity = lead_identities::Entity::find()
        .filter(lead_identities::Column::TenantId.eq(tenant_id))
        .filter(lead_identities::Column::Channel.eq(WEB_CHAT))
        .filter(lead_identities::Column::ExternalId.eq(external_id))
        .one(tx)
        .await?;
    let at = now();
    if let Some(identity) = identity {
        let lead = leads::Entity::find_by_id(identity.lead_id)
            .filter(leads::Column::TenantId.eq(tenant_id))
            .one(tx)
            .await?
            .ok_or(ApiError::NotFound("customer"))?;
        if let (None, Some(email)) = (&lead.email, email) {
            let mut row = lead.into_active_model();
            row.email = Set(Some(email.to_owned()));
            row.updated_at = Set(at);
            return Ok((row.update(tx).await?, false));
        }
        return Ok((lead, false));
    }
    let lead = super::inbox::insert_messaging_lead(
        tx,
        tenant_id,
        super::inbox::NewMessagingLead {
            channel: WEB_CHAT,
            external_id,
            display_name: Some(name.to_owned()),
            name: name.to_owned(),
            email: email.map(str::to_owned),
            phone: None,
        },
    )
    .await?;
    Ok((lead, true))
}
