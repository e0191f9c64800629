//! Tickets: a conversation's escalation to a human (ticket and WAITING status in one
//! transaction), and the counts and lists the AI turn and the conversation view read.
//!
//! Must not: decide when to escalate (the AI turn does).

use leadline_domain::conversation::{ConversationStatus, Handler, TicketStatus};
use leadline_domain::ids::{ConversationId, LeadId, TenantId};
use leadline_entity::{conversations, tickets};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::conversations::{apply_conversation_change, ConversationChange};
use super::open_ticket_statuses;
use crate::error::{ApiError, ApiResult};
use crate::store::{now, Store, Stored};

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub description: String,
    /// `LOW`, `MEDIUM`, `HIGH`, `URGENT`.
    pub priority: String,
}

/// A new OPEN ticket's row (escalated conversations, disputed calls).
pub(in crate::store) fn ticket_row(
    tenant_id: Uuid,
    lead_id: Option<Uuid>,
    conversation_id: Option<Uuid>,
    ticket: NewTicket,
    at: chrono::DateTime<chrono::Utc>,
) -> tickets::ActiveModel {
    tickets::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        lead_id: Set(lead_id),
        conversation_id: Set(conversation_id),
        subject: Set(ticket.subject),
        description: Set(ticket.description),
        priority: Set(ticket.priority),
        status: Set(TicketStatus::Open.as_str().into()),
        assignee_user_id: Set(None),
        resolved_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
}

impl Store {
    /// Escalates: opens a ticket and sets the conversation WAITING for a human, in one
    /// transaction. Returns the ticket and the conversation.
    pub async fn escalate_conversation(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
        ticket: NewTicket,
    ) -> ApiResult<(tickets::Model, conversations::Model)> {
        let tenant_id = tenant.uuid();
        let conversation_id = conversation.uuid();
        let tx = self.db.begin().await?;
        // Locked and re-checked: a session the customer or an agent ended while the AI turn was
        // deciding must stay ended, never be reopened as WAITING by a late escalation.
        let mut query = conversations::Entity::find_by_id(conversation_id)
            .filter(conversations::Column::TenantId.eq(tenant_id));
        if self.is_postgres() {
            query = query.lock_exclusive();
        }
        let conversation = query
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("conversation"))?;
        if !ConversationStatus::stored(&conversation.status)?.is_open() {
            tx.rollback().await?;
            return Err(ApiError::Conflict(format!(
                "this conversation is {}: it is not escalated",
                conversation.status.to_lowercase()
            )));
        }
        // Two AI turns of one conversation deciding at once hand it over once: the second finds
        // a person already on it and opens no second ticket.
        if conversation.handled_by == Handler::Human.as_str() {
            tx.rollback().await?;
            return Err(ApiError::Conflict(
                "a person already handles this conversation: it is not escalated again".into(),
            ));
        }
        let at = now();
        let ticket = ticket_row(
            tenant_id,
            Some(conversation.lead_id),
            Some(conversation.id),
            ticket,
            at,
        )
        .insert(&tx)
        .await?;
        let change = ConversationChange {
            status: Some(ConversationStatus::Waiting),
            handled_by: Some(Handler::Human),
            ..Default::default()
        };
        let conversation = apply_conversation_change(&tx, conversation, change, None).await?;
        tx.commit().await?;
        Ok((ticket, conversation))
    }

    /// Open tickets of a lead.
    pub async fn open_ticket_count(&self, tenant: TenantId, lead: LeadId) -> ApiResult<u64> {
        let tenant_id = tenant.uuid();
        let lead_id = lead.uuid();
        Ok(tickets::Entity::find()
            .filter(tickets::Column::TenantId.eq(tenant_id))
            .filter(tickets::Column::LeadId.eq(lead_id))
            .filter(tickets::Column::Status.is_in(open_ticket_statuses()))
            .count(&self.db)
            .await?)
    }

    /// A lead's conversations' tickets, newest first (for the conversation view).
    pub async fn conversation_tickets(
        &self,
        tenant: TenantId,
        conversation: ConversationId,
    ) -> ApiResult<Vec<tickets::Model>> {
        let tenant_id = tenant.uuid();
        let conversation_id = conversation.uuid();
        Ok(tickets::Entity::find()
            .filter(tickets::Column::TenantId.eq(tenant_id))
            .filter(tickets::Column::ConversationId.eq(conversation_id))
            .order_by_desc(tickets::Column::Id)
            .all(&self.db)
            .await?)
    }
}
