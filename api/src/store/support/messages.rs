//! Support-chat messages: a customer's message (idempotent on its client id, within the
//! session's and the customer's limits, with the AI turn's job in the same transaction), read
//! and delivery receipts for either side, the history a chat pages through and the transcript.
//!
//! Must not: send anything (the chat is delivered over the event bus) or rate-limit itself
//! (the caller passes the limiter's verdict).

use leadline_domain::conversation::{ConversationStatus, Handler};
use leadline_domain::ids::TenantId;
use leadline_domain::messaging::{DeliveryStatus, MessageDirection, SenderKind};
use leadline_entity::{conversations, messages};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::{session_in, WEB_CHAT};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::jobs::{enqueue, NewJob};
use crate::store::inbox::AI_RESPONSE_JOB;
use crate::store::{now, Store, Stored};

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

/// Whose messages a read receipt covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadSide {
    /// The customer read what the AI, agents and system wrote (outbound messages).
    CustomerReads,
    /// An agent read what the customer wrote (inbound messages).
    AgentReads,
}

impl Store {
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
