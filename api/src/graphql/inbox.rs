//! The inbox as agents see it: conversations with their lead, messages and tickets; the agent's
//! reply (`sendMessage`, which pauses the AI in that conversation), assignment, hand-back to the
//! AI and resolution; and the live `messageAdded` / `messageUpdated` / `conversationUpdated`
//! subscriptions.
//!
//! The use cases are `services::conversation`'s (shared with the support chat); this module
//! parses arguments, authorises, calls them and maps the result.
//!
//! What it must not do: talk to a platform or decide anything about a conversation itself. A
//! reply is stored PENDING with its `send_{channel}` job in one transaction
//! (`services::conversation::agent_reply`); the worker sends it and records delivery.

use std::collections::HashMap;

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures::Stream;
use leadline_domain as domain;
use leadline_domain::ids::{ConversationId, LeadId, TenantId, UserId};
use leadline_entity::{conversations, leads, messages, tickets};
use uuid::Uuid;

use super::subscription::scoped_events;
use super::types::{mirror_enum, Channel, Handler, Lead, User};
use super::{
    clean_text, connection, parse_id, principal, required_text, state, tenant_for, AccessGuard,
    IdConnection,
};
use crate::auth::{Access, Principal};
use crate::bus::Event;
use crate::error::ApiResult;
use crate::services::conversation::{self, AgentReply};
use crate::store::{ConversationFilter, PageRequest};

/// Longest reply an agent may send, in characters (the smallest platform limit we send to).
pub const MAX_MESSAGE_CHARS: usize = 4096;
/// Longest client message id accepted.
const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 200;

mirror_enum!(
    /// Where a conversation stands.
    ConversationStatus => domain::conversation::ConversationStatus {
        /// The AI (or an agent) is talking with the lead.
        Active,
        /// Escalated: waiting for a human agent.
        Waiting,
        /// Done; the lead's next message opens a new conversation.
        Resolved,
        /// Closed for good.
        Closed,
    }
);

mirror_enum!(
    /// Which way a message went.
    MessageDirection => domain::messaging::MessageDirection {
        /// From the lead to the tenant.
        Inbound,
        /// From the tenant (AI, agent or system) to the lead.
        Outbound,
    }
);

mirror_enum!(
    /// Who wrote a message.
    SenderKind => domain::messaging::SenderKind {
        /// The customer.
        Lead,
        /// The AI.
        Ai,
        /// A human agent of the tenant.
        Agent,
        /// The platform itself (notices, hand-over messages).
        System,
    }
);

mirror_enum!(
    /// Where a message is on its way to the customer.
    DeliveryStatus => domain::messaging::DeliveryStatus {
        /// An inbound message we stored.
        Received,
        /// Outbound, waiting for its send job.
        Pending,
        /// Accepted by the platform.
        Sent,
        /// On the customer's device.
        Delivered,
        /// Seen by the customer.
        Read,
        /// The platform refused or could not deliver it (see `deliveryError`).
        Failed,
        /// Our send gate refused it (outside the messaging window, over a limit); never sent.
        Blocked,
    }
);

mirror_enum!(
    /// How soon a person must look at a ticket.
    TicketPriority => domain::escalation::TicketPriority {
        /// Whenever convenient.
        Low,
        /// The normal queue.
        Medium,
        /// Before the normal queue.
        High,
        /// Now.
        Urgent,
    }
);

mirror_enum!(
    /// Where a ticket stands.
    TicketStatus => domain::conversation::TicketStatus {
        /// Opened, nobody on it yet.
        Open,
        /// Someone is working on it.
        InProgress,
        /// Done.
        Resolved,
        /// Closed without further work.
        Closed,
    }
);

/// A thread with a lead on one channel.
pub struct Conversation {
    row: conversations::Model,
    /// The lead, when the listing already loaded it (one query per page, not per row).
    lead: Option<leads::Model>,
}

impl Conversation {
    fn new(row: conversations::Model) -> Self {
        Self { row, lead: None }
    }
}

/// A thread with a lead on one channel.
#[Object]
impl Conversation {
    /// The conversation id.
    async fn id(&self) -> ID {
        ID(self.row.id.to_string())
    }
    /// The channel it happens on.
    async fn channel(&self) -> async_graphql::Result<Channel> {
        Channel::from_stored(&self.row.channel)
    }
    /// Where it stands.
    async fn status(&self) -> async_graphql::Result<ConversationStatus> {
        ConversationStatus::from_stored(&self.row.status)
    }
    /// Who answers: the AI, or a human (then the AI stays silent here).
    async fn handled_by(&self) -> async_graphql::Result<Handler> {
        Handler::from_stored(&self.row.handled_by)
    }
    /// The member in charge (null when unassigned or no longer a member).
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        let Some(user_id) = self.row.assignee_user_id else {
            return Ok(None);
        };
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let store = &state(ctx).store;
        if store
            .membership(tenant_id, UserId(user_id))
            .await?
            .is_none()
        {
            return Ok(None);
        }
        Ok(store.user(UserId(user_id)).await?.map(User::from))
    }
    /// How many replies the AI has sent here.
    async fn ai_turns(&self) -> i32 {
        self.row.ai_turns
    }
    /// When the lead last wrote.
    async fn last_inbound_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_inbound_at
    }
    /// When the last message (either way) was stored.
    async fn last_message_at(&self) -> Option<DateTime<Utc>> {
        self.row.last_message_at
    }
    /// When it was opened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.row.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.row.updated_at
    }
    /// The lead on the other side.
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        if let Some(lead) = &self.lead {
            return Ok(Lead(lead.clone()));
        }
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Lead(
            state(ctx)
                .store
                .lead(tenant_id, LeadId(self.row.lead_id))
                .await?,
        ))
    }
    /// The messages, newest first.
    #[graphql(complexity = "crate::graphql::cost::connection_cost(first, child_complexity)")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Message>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx)
            .store
            .conversation_messages(tenant_id, ConversationId(self.row.id), request)
            .await?;
        connection(page, request, |m| m.id, Message)
    }
    /// Tickets opened from this conversation (escalations), newest first.
    async fn tickets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Ticket>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let rows = state(ctx)
            .store
            .conversation_tickets(tenant_id, ConversationId(self.row.id))
            .await?;
        Ok(rows.into_iter().map(Ticket).collect())
    }
}

/// One message of a conversation.
pub struct Message(pub messages::Model);

/// One message of a conversation.
#[Object]
impl Message {
    /// The message id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The conversation it belongs to.
    async fn conversation_id(&self) -> ID {
        ID(self.0.conversation_id.to_string())
    }
    /// What a person reads.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Which way it went.
    async fn direction(&self) -> async_graphql::Result<MessageDirection> {
        MessageDirection::from_stored(&self.0.direction)
    }
    /// Who wrote it.
    async fn sender_kind(&self) -> async_graphql::Result<SenderKind> {
        SenderKind::from_stored(&self.0.sender_kind)
    }
    /// The agent who wrote it (AGENT messages sent by a member).
    async fn sender_user_id(&self) -> Option<ID> {
        self.0.sender_user_id.map(|id| ID(id.to_string()))
    }
    /// Where it is on its way to the customer (RECEIVED for inbound messages).
    async fn delivery_status(&self) -> async_graphql::Result<DeliveryStatus> {
        DeliveryStatus::from_stored(&self.0.delivery_status)
    }
    /// Why it FAILED (or was BLOCKED).
    async fn delivery_error(&self) -> Option<&str> {
        self.0.delivery_error.as_deref()
    }
    /// The platform's id for the message.
    async fn platform_message_id(&self) -> Option<&str> {
        self.0.platform_message_id.as_deref()
    }
    /// The client's idempotency key, when it was sent with one.
    async fn client_message_id(&self) -> Option<&str> {
        self.0.client_message_id.as_deref()
    }
    /// When the customer read it.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
    /// When it was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// Everything else the platform told us (media ids, reply-to, raw type, sentAt).
    async fn metadata(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.metadata.clone())
    }
}

/// Whether the caller holds a customer token (a support-chat end-user).
///
/// The rule for what customers see of shared types (`SupportSession`, `Ticket`, participants):
/// a field holding the tenant's internals (ticket priority and description, lead scores,
/// agents' e-mails, the assigned member) is nullable and resolves to **null** for a customer —
/// no error, so a customer's subscription that names such a field keeps its events. Operations
/// that only members may call are refused outright with FORBIDDEN (`Principal::require`).
pub(crate) fn is_customer(ctx: &Context<'_>) -> bool {
    matches!(principal(ctx), Principal::Customer { .. })
}

/// `value` for members and API keys; `None` for customer tokens (see [`is_customer`]).
pub(crate) fn staff_sees<T>(ctx: &Context<'_>, value: T) -> Option<T> {
    (!is_customer(ctx)).then_some(value)
}

/// A support ticket, usually opened by an escalation.
pub struct Ticket(pub tickets::Model);

/// A support ticket, usually opened by an escalation.
#[Object]
impl Ticket {
    /// The ticket id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// One line.
    async fn subject(&self) -> &str {
        &self.0.subject
    }
    /// What happened and what is needed (for an escalation, the conversation so far).
    /// Null for customer tokens: it is the tenant's working note, not the customer's to read.
    async fn description(&self, ctx: &Context<'_>) -> Option<&str> {
        staff_sees(ctx, self.0.description.as_str())
    }
    /// How soon someone must look at it. Null for customer tokens (how a customer is ranked is
    /// the tenant's business).
    async fn priority(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TicketPriority>> {
        if is_customer(ctx) {
            return Ok(None);
        }
        TicketPriority::from_stored(&self.0.priority).map(Some)
    }
    /// Where it stands.
    async fn status(&self) -> async_graphql::Result<TicketStatus> {
        TicketStatus::from_stored(&self.0.status)
    }
    /// When it was opened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Filter for `conversations`; the parts combine with AND.
#[derive(InputObject, Default)]
pub struct ConversationFilterInput {
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this status.
    pub status: Option<ConversationStatus>,
    /// Only this lead's conversations.
    pub lead_id: Option<ID>,
    /// Only those the AI (or a human) handles.
    pub handled_by: Option<Handler>,
    /// Only those assigned to this member.
    pub assignee_id: Option<ID>,
}

/// Input of `sendMessage`.
#[derive(InputObject)]
pub struct SendMessageInput {
    /// The conversation to reply in.
    pub conversation_id: ID,
    /// The reply (1–4096 characters after trimming).
    pub text: String,
    /// Your idempotency key (at most 200 characters): a repeat with the same key returns the
    /// first message and sends nothing more.
    pub client_message_id: Option<String>,
}

/// Result of `sendMessage`.
#[derive(SimpleObject)]
pub struct SendMessagePayload {
    /// The reply, PENDING until its send job runs (on channels we send to).
    pub message: Message,
    /// The conversation, now handled by a human.
    pub conversation: Conversation,
}

/// Input of `assignConversation`.
#[derive(InputObject)]
pub struct AssignConversationInput {
    /// The conversation.
    pub conversation_id: ID,
    /// The agent: the member to assign (default: the caller; required for API keys).
    pub agent_id: Option<ID>,
}

/// Input of `handBackToAi`.
#[derive(InputObject)]
pub struct HandBackToAiInput {
    /// The conversation.
    pub conversation_id: ID,
}

/// Input of `resolveConversation`.
#[derive(InputObject)]
pub struct ResolveConversationInput {
    /// The conversation.
    pub conversation_id: ID,
}

/// Result of the conversation mutations.
#[derive(SimpleObject)]
pub struct ConversationPayload {
    /// The conversation after the change.
    pub conversation: Conversation,
}

/// The conversation named by a subscription argument, checked to be the caller's.
async fn subscribed_conversation(
    ctx: &Context<'_>,
    tenant_id: TenantId,
    id: Option<ID>,
) -> ApiResult<Option<Uuid>> {
    match id {
        Some(id) => Ok(Some(
            state(ctx)
                .store
                .conversation(tenant_id, parse_id(&id, "conversationId")?)
                .await?
                .id,
        )),
        None => Ok(None),
    }
}

#[derive(Default)]
pub struct InboxQuery;

#[Object]
impl InboxQuery {
    /// Conversations, newest first, filtered.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn conversations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConversationFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Conversation>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = ConversationFilter {
            channel: filter.channel.map(Into::into),
            status: filter.status.map(Into::into),
            lead_id: filter
                .lead_id
                .map(|id| parse_id(&id, "filter.leadId"))
                .transpose()?,
            handled_by: filter.handled_by.map(Into::into),
            assignee_user_id: filter
                .assignee_id
                .map(|id| parse_id(&id, "filter.assigneeId"))
                .transpose()?,
        };
        let store = &state(ctx).store;
        let page = store.conversations(tenant_id, filter, request).await?;
        let leads: HashMap<Uuid, leads::Model> =
            store.conversation_leads(tenant_id, &page.items).await?;
        connection(
            page,
            request,
            |c| c.id,
            |row| Conversation {
                lead: leads.get(&row.lead_id).cloned(),
                row,
            },
        )
    }

    /// One conversation; another tenant's is NOT_FOUND.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn conversation(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Conversation> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let row = state(ctx)
            .store
            .conversation(tenant_id, parse_id(&id, "id")?)
            .await?;
        Ok(Conversation::new(row))
    }
}

#[derive(Default)]
pub struct InboxMutation;

#[Object]
impl InboxMutation {
    /// An agent's reply. Stored PENDING with its `send_{channel}` job in one transaction (no job
    /// on channels we do not send to, e.g. WEB_CHAT); the conversation becomes handled by a
    /// HUMAN, which pauses the AI there, and is assigned to the caller when unassigned. A repeat
    /// with the same `clientMessageId` returns the first message and sends nothing. RESOLVED or
    /// CLOSED conversations refuse replies with CONFLICT. A text-message (TWILIO) conversation
    /// is answered by SMS from the dealership number the lead texted (`send_sms`), at most 1,600
    /// characters, and needs the plan's phone agent; a number that texted STOP is refused with
    /// CONFLICT (`OPTED_OUT: …`), nothing stored.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn send_message(
        &self,
        ctx: &Context<'_>,
        input: SendMessageInput,
    ) -> async_graphql::Result<SendMessagePayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let conversation_id = parse_id(&input.conversation_id, "conversationId")?;
        let text = required_text(input.text, "text", MAX_MESSAGE_CHARS)?;
        let client_message_id = clean_text(
            input.client_message_id,
            "clientMessageId",
            MAX_CLIENT_MESSAGE_ID_CHARS,
        )?;
        let state = state(ctx);
        let conversation = state.store.conversation(tenant_id, conversation_id).await?;
        let reply = AgentReply {
            text,
            client_message_id,
            picks_up_waiting: false,
        };
        let (message, _, conversation) =
            conversation::agent_reply(state, principal(ctx).actor(), &conversation, reply).await?;
        Ok(SendMessagePayload {
            message: Message(message),
            conversation: Conversation::new(conversation),
        })
    }

    /// Assigns the conversation to a member (default: the caller) and hands it to a HUMAN.
    /// An agent who is not a member here, or is a VIEWER, is BAD_USER_INPUT on `agentId`.
    /// Audited (`conversation.assigned`).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn assign_conversation(
        &self,
        ctx: &Context<'_>,
        input: AssignConversationInput,
    ) -> async_graphql::Result<ConversationPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let conversation_id = parse_id(&input.conversation_id, "conversationId")?;
        let named = input
            .agent_id
            .map(|id| parse_id(&id, conversation::AGENT_FIELD))
            .transpose()?;
        let conversation = conversation::assign(
            state(ctx),
            tenant_id,
            conversation_id,
            named,
            principal(ctx).actor(),
        )
        .await?;
        Ok(ConversationPayload {
            conversation: Conversation::new(conversation),
        })
    }

    /// Hands the conversation back to the AI: handled by AI, ACTIVE, unassigned. The AI answers
    /// the lead's next message. Audited (`conversation.handed_back_to_ai`).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn hand_back_to_ai(
        &self,
        ctx: &Context<'_>,
        input: HandBackToAiInput,
    ) -> async_graphql::Result<ConversationPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let conversation_id = parse_id(&input.conversation_id, "conversationId")?;
        let conversation = conversation::hand_back_to_ai(
            state(ctx),
            tenant_id,
            conversation_id,
            principal(ctx).actor(),
        )
        .await?;
        Ok(ConversationPayload {
            conversation: Conversation::new(conversation),
        })
    }

    /// Marks the conversation RESOLVED; the lead's next message opens a new one. Resolving a
    /// RESOLVED conversation changes nothing; a CLOSED one is CONFLICT. Audited
    /// (`conversation.resolved`).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn resolve_conversation(
        &self,
        ctx: &Context<'_>,
        input: ResolveConversationInput,
    ) -> async_graphql::Result<ConversationPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let conversation_id = parse_id(&input.conversation_id, "conversationId")?;
        let conversation = conversation::resolve(
            state(ctx),
            tenant_id,
            conversation_id,
            principal(ctx).actor(),
        )
        .await?;
        Ok(ConversationPayload {
            conversation: Conversation::new(conversation),
        })
    }
}

#[derive(Default)]
pub struct InboxSubscription;

#[Subscription]
impl InboxSubscription {
    /// New messages (inbound and outbound) in the tenant's conversations, or in one.
    /// Delivery-status changes come through `messageUpdated`.
    async fn message_added(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Message>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let wanted = subscribed_conversation(ctx, tenant_id, conversation_id).await?;
        Ok(scoped_events(
            ctx,
            tenant_id,
            wanted,
            move |event| match event {
                Event::MessageAdded { message }
                    if wanted.is_none_or(|id| id == message.conversation_id) =>
                {
                    Some(Message((**message).clone()))
                }
                _ => None,
            },
        ))
    }

    /// Delivery-status changes (SENT, DELIVERED, READ, FAILED, BLOCKED) of messages in the
    /// tenant's conversations, or in one.
    async fn message_updated(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Message>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let wanted = subscribed_conversation(ctx, tenant_id, conversation_id).await?;
        Ok(scoped_events(
            ctx,
            tenant_id,
            wanted,
            move |event| match event {
                Event::MessageUpdated { message }
                    if wanted.is_none_or(|id| id == message.conversation_id) =>
                {
                    Some(Message((**message).clone()))
                }
                _ => None,
            },
        ))
    }

    /// Status, handler and assignee changes of the tenant's conversations (and new ones), or of
    /// one conversation.
    async fn conversation_updated(
        &self,
        ctx: &Context<'_>,
        conversation_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Conversation>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let wanted = subscribed_conversation(ctx, tenant_id, conversation_id).await?;
        Ok(scoped_events(
            ctx,
            tenant_id,
            wanted,
            move |event| match event {
                Event::ConversationUpdated { conversation }
                    if wanted.is_none_or(|id| id == conversation.id) =>
                {
                    Some(Conversation::new((**conversation).clone()))
                }
                _ => None,
            },
        ))
    }
}
