//! Conversations, messages and tickets: the inbox's rows (ARCHITECTURE.md §5).
//!
//! [`Store::ingest_inbound`] is the spine's one transaction: lead identity, open conversation,
//! message (deduplicated on the platform's message id) and the `ai_response` job commit together
//! or not at all, so a webhook that fails before the commit can simply be redelivered.
//!
//! Races between two deliveries for the same new contact are settled by the unique keys (identity
//! per tenant+channel+external id, one open conversation per lead+channel, message id per
//! tenant+channel): the loser's transaction rolls back and is retried once, finding the winner's
//! rows.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadline_domain::channel::Channel;
use leadline_domain::compliance::Consent;
use leadline_domain::conversation::{ConversationStatus, Handler, TicketStatus};
use leadline_domain::ids::TenantId;
use leadline_domain::lead::{LeadStatus, Temperature, INITIAL_SCORE};
use leadline_domain::messaging::{DeliveryStatus, MessageDirection, SenderKind};
use leadline_domain::phone::PhoneNumber;
use leadline_entity::{conversations, lead_identities, leads, messages, tickets};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction,
    EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::columns::names;
use super::{now, paginate, Page, PageRequest, Store, Stored};
use crate::auth::Actor;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use crate::jobs::{enqueue, NewJob};

/// Job kind of the AI turn.
pub const AI_RESPONSE_JOB: &str = "ai_response";
/// Job kind that names a new Messenger/Instagram lead from the platform's User Profile API
/// (their webhooks carry no name, and the request path makes no outbound call).
pub const FETCH_PROFILE_JOB: &str = "fetch_profile";

/// The stored names of the open conversation statuses, for `IN (...)` filters.
pub(super) fn open_statuses() -> [&'static str; 2] {
    names(ConversationStatus::OPEN, ConversationStatus::as_str)
}

/// The stored names of the open ticket statuses, for `IN (...)` filters.
pub(super) fn open_ticket_statuses() -> [&'static str; 2] {
    names(TicketStatus::OPEN, TicketStatus::as_str)
}

/// The customer as the platform describes them.
#[derive(Debug, Clone)]
pub struct InboundContact {
    pub channel: Channel,
    /// Phone digits (WhatsApp), PSID/IGSID (Messenger/Instagram), open_id (TikTok).
    pub external_id: String,
    /// E.164, when the channel gives one.
    pub phone: Option<String>,
    /// The profile name, when the channel sends it.
    pub display_name: Option<String>,
}

/// A customer's message, as parsed from a verified webhook.
#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub contact: InboundContact,
    /// The platform's id for the message: the dedup key.
    pub platform_message_id: String,
    /// What a person would read (text, caption, chosen button...).
    pub body: String,
    /// Everything else worth keeping (media ids, reply-to, raw type).
    pub metadata: Value,
    /// When the platform says it was sent.
    pub sent_at: DateTime<Utc>,
    /// Whether the channel connection lets the AI answer.
    pub ai_enabled: bool,
}

/// What one stored inbound message created or touched.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub lead: leads::Model,
    pub lead_created: bool,
    pub conversation: conversations::Model,
    pub conversation_created: bool,
    pub message: messages::Model,
    /// The `ai_response` job, when the AI is to answer.
    pub ai_job: Option<Uuid>,
    /// The `fetch_profile` job naming a new Messenger/Instagram lead.
    pub profile_job: Option<Uuid>,
}

/// The outcome of [`Store::ingest_inbound`].
#[derive(Debug, Clone)]
pub enum IngestOutcome {
    /// New message stored.
    Stored(Box<Ingested>),
    /// The platform redelivered a message we already have; nothing changed.
    Duplicate,
}

/// Filter for conversation listings; parts combine with AND.
#[derive(Debug, Default, Clone)]
pub struct ConversationFilter {
    pub channel: Option<Channel>,
    pub status: Option<ConversationStatus>,
    pub lead_id: Option<Uuid>,
    pub handled_by: Option<Handler>,
    pub assignee_user_id: Option<Uuid>,
}

/// A message we are about to send.
#[derive(Debug, Clone)]
pub struct OutboundMessage {
    /// AI, AGENT or SYSTEM (LEAD messages are stored by the ingestion paths).
    pub sender_kind: SenderKind,
    pub sender_user_id: Option<Uuid>,
    pub body: String,
    /// The client's idempotency key (unique per conversation).
    pub client_message_id: Option<String>,
    pub metadata: Value,
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

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub subject: String,
    pub description: String,
    /// `LOW`, `MEDIUM`, `HIGH`, `URGENT`.
    pub priority: String,
}

/// A new OPEN ticket's row (escalated conversations, disputed calls).
pub(super) fn ticket_row(
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

fn fallback_name(contact: &InboundContact) -> String {
    if let Some(name) = contact
        .display_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        return name.chars().take(200).collect();
    }
    if let Some(phone) = &contact.phone {
        return phone.clone();
    }
    let tail: String = contact
        .external_id
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{} user {tail}", channel_display_name(contact.channel))
}

fn channel_display_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "WhatsApp",
        Channel::Instagram => "Instagram",
        Channel::Facebook => "Messenger",
        Channel::Tiktok => "TikTok",
        _ => "Chat",
    }
}

async fn conversation_in<C: ConnectionTrait>(
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

/// A lead first met on a messaging channel (inbox or support chat).
pub(super) struct NewMessagingLead<'a> {
    /// The channel's stored name.
    pub channel: &'a str,
    /// The platform's id of the person (phone, PSID, open_id, external user id, visitor id).
    pub external_id: &'a str,
    /// The name the platform shows, kept on the identity.
    pub display_name: Option<String>,
    /// The lead's name.
    pub name: String,
    /// E-mail, when known.
    pub email: Option<String>,
    /// E.164 phone, when known. On a channel whose identity is a phone number it is filled
    /// from `external_id` when the caller has none ([`identity_phone`]).
    pub phone: Option<String>,
}

/// The E.164 number a phone identity carries (WhatsApp's `wa_id` is the number's digits), when
/// `channel` identifies people by phone and the id reads as one.
pub(super) fn identity_phone(channel: &str, external_id: &str) -> Option<String> {
    Channel::parse(channel)
        .ok()
        .filter(|c| c.identity_is_phone())
        .and_then(|_| PhoneNumber::from_platform_identity(external_id).ok())
        .map(|p| p.as_str().to_owned())
}

/// Inserts a new lead (the inbox's starting score, handled by the AI) with its identity on the
/// channel. A lost race on the identity's unique key is a retryable CONFLICT ([`race_or`]).
/// Every lead whose identity is a phone number gets that number as its phone, here, whichever
/// path created it: the number is the identity, and a lead without it cannot be called back.
pub(super) async fn insert_messaging_lead(
    tx: &DatabaseTransaction,
    tenant_id: Uuid,
    mut new: NewMessagingLead<'_>,
) -> ApiResult<leads::Model> {
    if new.phone.is_none() {
        new.phone = identity_phone(new.channel, new.external_id);
    }
    let at = now();
    let lead = leads::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        name: Set(new.name),
        email: Set(new.email),
        phone: Set(new.phone),
        company: Set(None),
        status: Set(LeadStatus::New.as_str().to_owned()),
        score: Set(INITIAL_SCORE),
        temperature: Set(Temperature::for_inbox_score(INITIAL_SCORE)
            .as_str()
            .to_owned()),
        source_channel: Set(Some(new.channel.to_owned())),
        notes: Set(None),
        handler: Set(Handler::Ai.as_str().into()),
        assigned_user_id: Set(None),
        metadata: Set(json!({})),
        last_contacted_at: Set(None),
        call_consent: Set(Consent::Unknown.as_str().to_owned()),
        call_consent_at: Set(None),
        time_zone: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(tx)
    .await?;
    lead_identities::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        lead_id: Set(lead.id),
        channel: Set(new.channel.to_owned()),
        external_id: Set(new.external_id.to_owned()),
        display_name: Set(new.display_name),
        created_at: Set(at),
    }
    .insert(tx)
    .await
    .map_err(race_or)?;
    Ok(lead)
}

/// Whether a failed statement lost a race on a unique key (retry the transaction) or failed.
pub(super) fn race_or(error: sea_orm::DbErr) -> ApiError {
    if is_unique_violation(&error) {
        ApiError::Conflict("lost a race on a unique key".into())
    } else {
        error.into()
    }
}

impl Store {
    /// Stores one inbound message in ONE transaction (see the module docs). A redelivery
    /// returns [`IngestOutcome::Duplicate`] without touching anything.
    pub async fn ingest_inbound(
        &self,
        tenant: TenantId,
        inbound: &InboundMessage,
    ) -> ApiResult<IngestOutcome> {
        let tenant_id = tenant.uuid();
        let mut last = None;
        for _ in 0..3 {
            let tx = self.db.begin().await?;
            match self.try_ingest(&tx, tenant_id, inbound).await {
                Ok(IngestOutcome::Duplicate) => {
                    tx.rollback().await?;
                    return Ok(IngestOutcome::Duplicate);
                }
                Ok(stored) => match tx.commit().await {
                    Ok(()) => return Ok(stored),
                    Err(error) if is_unique_violation(&error) => last = Some(race_or(error)),
                    Err(error) => return Err(error.into()),
                },
                Err(ApiError::Conflict(reason)) => {
                    // The transaction is dropped (rolled back); try again from the top, where
                    // the winner's rows are now visible.
                    last = Some(ApiError::Conflict(reason));
                }
                Err(error) => return Err(error),
            }
        }
        Err(last.unwrap_or_else(|| ApiError::Conflict("concurrent delivery".into())))
    }

    async fn try_ingest(
        &self,
        tx: &DatabaseTransaction,
        tenant_id: Uuid,
        inbound: &InboundMessage,
    ) -> ApiResult<IngestOutcome> {
        let channel = inbound.contact.channel.as_str();
        let seen = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::Channel.eq(channel))
            .filter(messages::Column::PlatformMessageId.eq(&inbound.platform_message_id))
            .count(tx)
            .await?;
        if seen > 0 {
            return Ok(IngestOutcome::Duplicate);
        }
        let at = now();
        let (lead, lead_created) = self
            .lead_for_contact(tx, tenant_id, &inbound.contact)
            .await?;

        let open = conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(tenant_id))
            .filter(conversations::Column::LeadId.eq(lead.id))
            .filter(conversations::Column::Channel.eq(channel))
            .filter(conversations::Column::Status.is_in(open_statuses()))
            .one(tx)
            .await?;
        let (conversation, conversation_created) = match open {
            Some(conversation) => {
                let mut row = conversation.into_active_model();
                row.last_inbound_at = Set(Some(at));
                row.last_message_at = Set(Some(at));
                row.updated_at = Set(at);
                (row.update(tx).await?, false)
            }
            None => {
                let row = conversations::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    lead_id: Set(lead.id),
                    channel: Set(channel.to_owned()),
                    status: Set(ConversationStatus::Active.as_str().into()),
                    handled_by: Set(if lead.handler == Handler::Human.as_str() {
                        Handler::Human.as_str().into()
                    } else {
                        Handler::Ai.as_str().into()
                    }),
                    assignee_user_id: Set(lead.assigned_user_id),
                    subject: Set(None),
                    ai_turns: Set(0),
                    last_inbound_at: Set(Some(at)),
                    last_message_at: Set(Some(at)),
                    created_at: Set(at),
                    updated_at: Set(at),
                };
                (row.insert(tx).await.map_err(race_or)?, true)
            }
        };

        let message = messages::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            conversation_id: Set(conversation.id),
            channel: Set(channel.to_owned()),
            direction: Set(MessageDirection::Inbound.as_str().into()),
            sender_kind: Set(SenderKind::Lead.as_str().into()),
            sender_user_id: Set(None),
            body: Set(inbound.body.clone()),
            platform_message_id: Set(Some(inbound.platform_message_id.clone())),
            client_message_id: Set(None),
            delivery_status: Set(DeliveryStatus::Received.as_str().into()),
            delivery_error: Set(None),
            read_at: Set(None),
            metadata: Set(with_sent_at(&inbound.metadata, inbound.sent_at)),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(tx)
        .await
        .map_err(race_or)?;

        let ai_job = if inbound.ai_enabled
            && conversation.handled_by == Handler::Ai.as_str()
            && conversation.status == ConversationStatus::Active.as_str()
        {
            let job = NewJob::new(
                tenant_id,
                AI_RESPONSE_JOB,
                json!({ "conversationId": conversation.id, "messageId": message.id }),
            )
            .idempotent(format!("{AI_RESPONSE_JOB}:{}", message.id));
            Some(enqueue(tx, job).await?.0)
        } else {
            None
        };
        let profile_job = if lead_created
            && inbound.contact.display_name.is_none()
            && matches!(
                inbound.contact.channel,
                Channel::Facebook | Channel::Instagram
            ) {
            let job = NewJob::new(
                tenant_id,
                FETCH_PROFILE_JOB,
                json!({ "leadId": lead.id, "channel": channel, "externalId": inbound.contact.external_id, "fallbackName": lead.name }),
            )
            .idempotent(format!("{FETCH_PROFILE_JOB}:{}", lead.id));
            Some(enqueue(tx, job).await?.0)
        } else {
            None
        };
        Ok(IngestOutcome::Stored(Box::new(Ingested {
            profile_job,
            lead,
            lead_created,
            conversation,
            conversation_created,
            message,
            ai_job,
        })))
    }

    /// The lead behind `contact`, created at 50/WARM with its identity when new.
    async fn lead_for_contact(
        &self,
        tx: &DatabaseTransaction,
        tenant_id: Uuid,
        contact: &InboundContact,
    ) -> ApiResult<(leads::Model, bool)> {
        let channel = contact.channel.as_str();
        let identity = lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::Channel.eq(channel))
            .filter(lead_identities::Column::ExternalId.eq(&contact.external_id))
            .one(tx)
            .await?;
        if let Some(identity) = identity {
            let lead = leads::Entity::find_by_id(identity.lead_id)
                .filter(leads::Column::TenantId.eq(tenant_id))
                .one(tx)
                .await?
                .ok_or(ApiError::NotFound("lead"))?;
            return Ok((lead, false));
        }
        let lead = insert_messaging_lead(
            tx,
            tenant_id,
            NewMessagingLead {
                channel,
                external_id: &contact.external_id,
                display_name: contact.display_name.clone(),
                name: fallback_name(contact),
                email: None,
                phone: contact.phone.clone(),
            },
        )
        .await?;
        Ok((lead, true))
    }

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

    /// A page of a conversation's messages, newest first.
    pub async fn conversation_messages(
        &self,
        tenant: TenantId,
        conversation_id: Uuid,
        page: PageRequest,
    ) -> ApiResult<Page<messages::Model>> {
        let tenant_id = tenant.uuid();
        let select = messages::Entity::find()
            .filter(messages::Column::TenantId.eq(tenant_id))
            .filter(messages::Column::ConversationId.eq(conversation_id));
        paginate(&self.db, select, messages::Column::Id, page).await
    }

    /// The last `limit` messages of a conversation, oldest first (the AI's history).
    pub async fn recent_messages(
        &self,
        tenant: TenantId,
        conversation_id: Uuid,
        limit: u64,
    ) -> ApiResult<Vec<messages::Model>> {
        let tenant_id = tenant.uuid();
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
    pub async fn message(&self, tenant: TenantId, id: Uuid) -> ApiResult<messages::Model> {
        let tenant_id = tenant.uuid();
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
        conversation_id: Uuid,
        outbound: OutboundMessage,
        change: ConversationChange,
        send_job: impl FnOnce(&messages::Model) -> Option<NewJob>,
    ) -> ApiResult<(messages::Model, bool, conversations::Model)> {
        let tenant_id = tenant.uuid();
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
            sender_user_id: Set(outbound.sender_user_id),
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
        let conversation = apply_conversation_change(&tx, conversation, change, Some(at)).await?;
        tx.commit().await?;
        Ok((message, true, conversation))
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

    /// Records the outcome of a send attempt on an outbound message.
    pub async fn record_send(
        &self,
        tenant: TenantId,
        message_id: Uuid,
        status: DeliveryStatus,
        platform_message_id: Option<String>,
        error: Option<String>,
        metadata_patch: Option<Value>,
    ) -> ApiResult<messages::Model> {
        let row = self.message(tenant, message_id).await?;
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

    /// How many messages we sent (or are sending) on `conversation`'s lead+channel since `since`.
    pub async fn outbound_count_since(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
        channel: Channel,
        since: DateTime<Utc>,
    ) -> ApiResult<u64> {
        let tenant_id = tenant.uuid();
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

    /// Escalates: opens a ticket and sets the conversation WAITING for a human, in one
    /// transaction. Returns the ticket and the conversation.
    pub async fn escalate_conversation(
        &self,
        tenant: TenantId,
        conversation_id: Uuid,
        ticket: NewTicket,
    ) -> ApiResult<(tickets::Model, conversations::Model)> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let conversation = conversation_in(&tx, tenant_id, conversation_id).await?;
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
    pub async fn open_ticket_count(&self, tenant: TenantId, lead_id: Uuid) -> ApiResult<u64> {
        let tenant_id = tenant.uuid();
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
        conversation_id: Uuid,
    ) -> ApiResult<Vec<tickets::Model>> {
        let tenant_id = tenant.uuid();
        Ok(tickets::Entity::find()
            .filter(tickets::Column::TenantId.eq(tenant_id))
            .filter(tickets::Column::ConversationId.eq(conversation_id))
            .order_by_desc(tickets::Column::Id)
            .all(&self.db)
            .await?)
    }

    /// The identity of a lead on a channel (whom to send to).
    pub async fn lead_identity(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
        channel: Channel,
    ) -> ApiResult<lead_identities::Model> {
        let tenant_id = tenant.uuid();
        lead_identities::Entity::find()
            .filter(lead_identities::Column::TenantId.eq(tenant_id))
            .filter(lead_identities::Column::LeadId.eq(lead_id))
            .filter(lead_identities::Column::Channel.eq(channel.as_str()))
            .order_by_asc(lead_identities::Column::Id)
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("lead identity on this channel"))
    }

    /// Renames a lead only while it still carries `expected` (the name it was created with), so
    /// a name an agent typed meanwhile is never overwritten. Returns the lead when renamed.
    pub async fn rename_lead_if_unchanged(
        &self,
        tenant: TenantId,
        lead_id: Uuid,
        expected: &str,
        name: &str,
    ) -> ApiResult<Option<leads::Model>> {
        let tenant_id = tenant.uuid();
        let result = leads::Entity::update_many()
            .col_expr(leads::Column::Name, Expr::value(name))
            .col_expr(leads::Column::UpdatedAt, Expr::value(now()))
            .filter(leads::Column::TenantId.eq(tenant_id))
            .filter(leads::Column::Id.eq(lead_id))
            .filter(leads::Column::Name.eq(expected))
            .exec(&self.db)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        Ok(leads::Entity::find_by_id(lead_id)
            .filter(leads::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?)
    }

    /// Marks the lead as contacted now (after a successful send).
    pub async fn touch_lead_contacted(&self, tenant: TenantId, lead_id: Uuid) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let at = now();
        leads::Entity::update_many()
            .col_expr(leads::Column::LastContactedAt, Expr::value(Some(at)))
            .filter(leads::Column::TenantId.eq(tenant_id))
            .filter(leads::Column::Id.eq(lead_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

/// Applies `change` on `tx`. A reopen that collides with another open conversation of the same
/// lead+channel surfaces as CONFLICT.
/// What an audited conversation change records: channel and lead, and status, handler and
/// assignee before and after.
pub(super) fn conversation_audit_details(
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

async fn apply_conversation_change(
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

fn with_sent_at(metadata: &Value, sent_at: DateTime<Utc>) -> Value {
    let mut metadata = match metadata {
        Value::Object(map) => Value::Object(map.clone()),
        Value::Null => json!({}),
        other => json!({ "raw": other }),
    };
    if let Value::Object(map) = &mut metadata {
        map.insert("sentAt".into(), json!(sent_at.to_rfc3339()));
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::identity_phone;

    #[test]
    fn a_phone_identity_gives_the_lead_its_number_and_other_identities_do_not() {
        assert_eq!(
            identity_phone("WHATSAPP", "447911123456").as_deref(),
            Some("+447911123456")
        );
        // libphonenumber does not list this range; the platform vouches for the number.
        assert_eq!(
            identity_phone("WHATSAPP", "15550100123").as_deref(),
            Some("+15550100123")
        );
        assert_eq!(identity_phone("WHATSAPP", "not-a-number"), None);
        assert_eq!(identity_phone("INSTAGRAM", "447911123456"), None);
        assert_eq!(identity_phone("WEB_CHAT", "visitor:447911123456"), None);
    }
}
