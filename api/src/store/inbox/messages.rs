//! A conversation's messages: reading them, storing an agent's or the AI's outbound message
//! with its send job in one transaction (idempotent on the client's message id), recording
//! send attempts, and applying the platforms' delivery receipts, which never move backwards.
//!
//! Must not: send anything (the send jobs do) or store inbound messages (`inbox::ingest`).

use chrono::{DateTime, Utc};
use leadline_domain::channel::Channel;
use leadline_domain::conversation::ConversationStatus;
use leadline_domain::ids::{ConversationId, LeadId, MessageId, TenantId, UserId};
use leadline_domain::messaging::{DeliveryStatus, MessageDirection, SenderKind};
use leadline_entity::{conversations, messages};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, TransactionTrait,
};
use serde_json::Value;
use uuid::Uuid;

use super::conversations::{apply_conversation_change, conversation_in, ConversationChange};
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::jobs::{enqueue, NewJob};
use crate::store::columns::names;
use crate::store::{now, paginate, Page, PageRequest, Store, Stored};

/// A message we are about to send.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    /// AI, AGENT or SYSTEM (LEAD messages are stored by the ingestion paths).
    pub sender_kind: SenderKind,
    pub sender_user_id: Option<UserId>,
    pub body: String,
    /// The client's idempotency key (unique per conversation).
    pub client_message_id: Option<String>,
    pub metadata: Value,
}

impl Store {
    /// A page of a conversation's messages, newest first.
    pub async fn conversation_messages(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        page: PageRequest,
    ) -> ApiResult<Page<messages::Model>> {
        let tenant_id = tenant.uuid();
        let conversation_id = conversation.uuid();
        let select = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(conversation_id));
        paginate(&self.db, select, messages::Column::Id, page).await
    }

    /// The last `limit` messages of a conversation, oldest first (the AI's history).
    pub async fn recent_messages(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        limit: u64,
    ) -> ApiResult<Vec<messages::Model>> {
        let tenant_id = tenant.uuid();
        let conversation_id = conversation.uuid();
        let mut rows = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(conversation_id))
            .order_by_desc(messages::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.reverse();
        Ok(rows)
    }

    /// One message of the tenant.
    pub async fn message(&self, tenant: TenantId, id: MessageId) -> ApiResult<messages::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        messages::Entity::find_by_id(id)
            .filter(messages::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("message"))
    }

    /// Stores an outbound message as PENDING and, in the same transaction, enqueues the job that
    /// sends it (`send_job` receives the new message's id). Idempotent on the client message id:
    /// a repeat returns the first message and enqueues nothing. Returns the message, whether it
    /// is new, and the conversation after `change` (applied only to a new message).
    pub async fn add_outbound(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        outbound: OutboundMessage,
        change: ConversationChange,
        send_job: impl FnOnce(&messages::Model) -> Option<NewJob>,
    ) -> ApiResult<(messages::Model, bool, conversations::Model)> {
        let tenant_id = tenant.uuid();
        let conversation_id = conversation.uuid();
        let tx = self.db.begin().await?;
        let conversation = conversation_in(&tx, tenant_id, conversation_id).await?;
        if let Some(client_id) = &outbound.client_message_id {
            let existing = messages::Entity::find()
                .filter(messages::Column::TenantId.eq(tenant_id))
                .filter(messages::Column::ConversationId.eq(conversation_id))
                .filter(messages::Column::ClientMessageId.eq(client_id))
                .one(&tx)
                .await?;
            if let Some(existing) = existing {
                tx.rollback().await?;
                return Ok((existing, false, conversation));
            }
        }
        // Checked inside the transaction, after the idempotency lookup: a repeat of a message
        // that was accepted still answers with it, and a resolve that lands between a caller's
        // own check and this insert cannot let a reply slip into a closed thread.
        if !ConversationStatus::stored(&conversation.status)?.is_open() {
            tx.rollback().await?;
            return Err(ApiError::Conflict(format!(
                "this conversation is {}: the lead's next message opens a new conversation",
                conversation.status.to_lowercase()
            )));
        }
        let at = now();
        let message = messages::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            conversation_id: Set(conversation_id),
            channel: Set(conversation.channel.clone()),
            direction: Set(MessageDirection::Outbound.as_str().into()),
            sender_kind: Set(outbound.sender_kind.as_str().into()),
            sender_user_id: Set(outbound.sender_user_id.map(UserId::uuid)),
            body: Set(outbound.body),
            platform_message_id: Set(None),
            client_message_id: Set(outbound.client_message_id),
            delivery_status: Set(DeliveryStatus::Pending.as_str().into()),
            delivery_error: Set(None),
            read_at: Set(None),
            metadata: Set(outbound.metadata),
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
        if let Some(job) = send_job(&message) {
            enqueue(&tx, job).await?;
        }
        crate::store::usage::record_usage(
            &tx,
            tenant_id,
            &crate::store::usage::outbound_message_usage(
                message.id,
                message.sender_kind == SenderKind::Ai.as_str(),
                at,
            ),
        )
        .await?;
        let conversation = apply_conversation_change(&tx, conversation, change, Some(at)).await?;
        tx.commit().await?;
        Ok((message, true, conversation))
    }

    /// Records the outcome of a send attempt on an outbound message.
    pub async fn record_send(
        &self,
        tenant: TenantId,
        message: MessageId,
        status: DeliveryStatus,
        platform_message_id: Option<String>,
        error: Option<String>,
        metadata_patch: Option<Value>,
    ) -> ApiResult<messages::Model> {
        let row = self.message(tenant, message).await?;
        let mut metadata = row.metadata.clone();
        if let (Some(Value::Object(patch)), Value::Object(target)) = (metadata_patch, &mut metadata)
        {
            target.extend(patch);
        }
        let mut active = row.into_active_model();
        active.delivery_status = Set(status.as_str().to_owned());
        if platform_message_id.is_some() {
            active.platform_message_id = Set(platform_message_id);
        }
        active.delivery_error = Set(error);
        active.metadata = Set(metadata);
        active.updated_at = Set(now());
        active.update(&self.db).await.map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict("the platform returned a message id we already hold".into())
            } else {
                e.into()
            }
        })
    }

    /// Applies a delivery status from a platform webhook to our outbound message with that
    /// platform id. Never moves backwards (a late SENT after READ is ignored). Returns the
    /// message when it changed; `None` when unknown or not newer.
    pub async fn apply_delivery_status(
        &self,
        tenant: TenantId,
        channel: Channel,
        platform_message_id: &str,
        new_status: DeliveryStatus,
        error: Option<String>,
        at: DateTime<Utc>,
    ) -> ApiResult<Option<messages::Model>> {
        let tenant_id = tenant.uuid();
        let Some(row) = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::Channel.eq(channel.as_str()))
            .filter(messages::Column::PlatformMessageId.eq(platform_message_id))
            .filter(messages::Column::Direction.eq(MessageDirection::Outbound.as_str()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let newer = new_status.supersedes(DeliveryStatus::stored(&row.delivery_status)?);
        if !newer {
            return Ok(None);
        }
        let mut active = row.into_active_model();
        active.delivery_status = Set(new_status.as_str().to_owned());
        if new_status == DeliveryStatus::Failed {
            active.delivery_error = Set(error);
        } else {
            active.delivery_error = Set(None);
        }
        if new_status == DeliveryStatus::Read {
            active.read_at = Set(Some(at));
        }
        active.updated_at = Set(now());
        Ok(Some(active.update(&self.db).await?))
    }

    /// The dealership number the conversation's latest inbound text reached (`metadata.sms.to`,
    /// written by the SMS webhook): where a reply by text goes out from. `None` when no stored
    /// inbound message names one.
    pub async fn sms_number_reached(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> ApiResult<Option<String>> {
        let latest = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant.uuid()))
            .filter(messages::Column::ConversationId.eq(conversation.uuid()))
            .filter(messages::Column::Direction.eq(MessageDirection::Inbound.as_str()))
            .order_by_desc(messages::Column::Id)
            .one(&self.db)
            .await?;
        Ok(latest.and_then(|m| {
            m.metadata
                .pointer("/sms/to")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }))
    }

    /// How many messages we sent (or are sending) on `conversation`'s lead+channel since `since`.
    pub async fn outbound_count_since(
        &self,
        tenant: TenantId,
        lead: LeadId,
        channel: Channel,
        since: DateTime<Utc>,
    ) -> ApiResult<u64> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        let conversation_ids = conversations::Entity::find()
            .select_only()
            .column(conversations::Column::Id)
            .filter(conversations::Column::TenantId.eq(tenant_id))
            .filter(conversations::Column::LeadId.eq(lead_id))
            .filter(conversations::Column::Channel.eq(channel.as_str()))
            .into_query();
        Ok(messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.in_subquery(conversation_ids))
            .filter(messages::Column::Direction.eq(MessageDirection::Outbound.as_str()))
            .filter(
                messages::Column::DeliveryStatus
                    .is_in(names(DeliveryStatus::ACCEPTED, DeliveryStatus::as_str)),
            )
            .filter(messages::Column::CreatedAt.gte(since))
            .count(&self.db)
            .await?)
    }
}
