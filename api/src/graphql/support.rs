//! The support live chat over GraphQL: customers (a tenant's end-users, with a customer token)
//! chat with the AI assistant and, after an escalation, with a person; agents work the queue.
//!
//! A support session is a WEB_CHAT conversation: its messages, tickets, `ai_response` jobs and
//! escalation are the inbox's. What this module adds: customer tokens (`createCustomerToken`,
//! `startVisitorSession`), the customer's operations on their own sessions, the agents' queue,
//! assignment with capacity, ending and transcripts, presence, and two subscriptions:
//! `supportSessionEvents` (history first, then a typed union of events) and
//! `supportQueueEvents`.
//!
//! Access: a customer reaches only sessions of their own lead — another customer's session is
//! NOT_FOUND, exactly like another tenant's — and customer tokens are refused by every member
//! operation (`Principal::require`). Agents need read access to look and write access to act.
//! What customers see of the shared types follows one rule (`graphql::inbox::is_customer`):
//! internals — ticket priority and description, the assigned member and any e-mail of an agent
//! — resolve to null for a customer token; agents appear to customers by display name only.
//!
//! Anonymous visitors: only where the tenant has enabled web chat (a WEB_CHAT channel
//! connection in status CONNECTED); they come back with a rotating resume secret, never with
//! the visitor id alone (it is readable in every token). Customers' messages are limited per
//! customer and minute and per session. Assigning and ending sessions is audited.

use std::collections::HashSet;
use std::time::Duration;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Subscription, Union, ID};
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use leadline_domain::channel::Channel as DomainChannel;
use leadline_entity::{conversations, messages, tickets};
use serde_json::json;
use uuid::Uuid;

use super::inbox::{
    is_customer, ConversationStatus, Handler, SenderKind, Ticket, MAX_MESSAGE_CHARS,
};
use super::leads::SubscriptionGauge;
use super::types::User;
use super::{
    clean_text, connection, parse_id, principal, required_text, state, tenant_for, AccessGuard,
    IdConnection,
};
use crate::auth::{Access, Principal};
use crate::bus::{Event, SupportEvent, SupportParticipant};
use crate::error::{ApiError, ApiResult};
use crate::services::support::{transcript_json, transcript_text, TypingClock};
use crate::store::inbox::{handler, sender, status};
use crate::store::support::{waiting_since, AssignRefusal, CustomerMessageLimits, ReadSide};
use crate::store::{ConversationChange, ConversationFilter, OutboundMessage, PageRequest};

/// Longest `externalUserId` accepted.
const MAX_EXTERNAL_ID_CHARS: usize = 200;
/// Longest client message id accepted.
const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 200;
/// Messages sent with the history when a client subscribes (older ones: `messages` on the session).
const HISTORY_MESSAGES: u64 = 100;
/// Messages reloaded from the database when a subscriber fell behind the bus.
const CATCH_UP_MESSAGES: u64 = 500;
/// Most messages a transcript holds.
const TRANSCRIPT_CAP: u64 = 10_000;
/// Largest `supportQueue(first:)`.
const MAX_QUEUE: i32 = 500;

/// Who is calling a support operation.
#[derive(Debug, Clone, Copy)]
enum SupportViewer {
    /// A customer: only their own lead's sessions.
    Customer { tenant_id: Uuid, lead_id: Uuid },
    /// A member or an API key of the tenant.
    Staff { tenant_id: Uuid },
}

impl SupportViewer {
    fn tenant_id(self) -> Uuid {
        match self {
            SupportViewer::Customer { tenant_id, .. } | SupportViewer::Staff { tenant_id } => {
                tenant_id
            }
        }
    }

    fn lead_filter(self) -> Option<Uuid> {
        match self {
            SupportViewer::Customer { lead_id, .. } => Some(lead_id),
            SupportViewer::Staff { .. } => None,
        }
    }
}

/// A customer, or staff with `access`.
fn viewer(ctx: &Context<'_>, access: Access) -> ApiResult<SupportViewer> {
    match principal(ctx) {
        Principal::Customer {
            tenant_id, lead_id, ..
        } => Ok(SupportViewer::Customer {
            tenant_id: *tenant_id,
            lead_id: *lead_id,
        }),
        other => other
            .require(access)
            .map(|tenant_id| SupportViewer::Staff { tenant_id }),
    }
}

/// The calling customer: tenant and lead. Staff get FORBIDDEN, nobody UNAUTHENTICATED.
fn customer(ctx: &Context<'_>) -> ApiResult<(Uuid, Uuid)> {
    match principal(ctx) {
        Principal::Customer {
            tenant_id, lead_id, ..
        } => Ok((*tenant_id, *lead_id)),
        Principal::Anonymous => Err(ApiError::Unauthenticated(
            "send a customer token (createCustomerToken or startVisitorSession)".into(),
        )),
        _ => Err(ApiError::Forbidden(
            "only customers do this; agents use the agent operations".into(),
        )),
    }
}

/// Longest `resumeSecret` accepted (ours are 43 characters).
const MAX_RESUME_SECRET_CHARS: usize = 200;

/// Whether the tenant has enabled web chat for anonymous visitors: a WEB_CHAT channel
/// connection in status CONNECTED. Off by default, so a tenant that never asked for a public
/// chat does not get leads (and AI spend) from anyone who knows its slug.
async fn web_chat_enabled(ctx: &Context<'_>, tenant_id: Uuid) -> ApiResult<bool> {
    Ok(state(ctx)
        .store
        .channel_connection_for(tenant_id, DomainChannel::WebChat)
        .await?
        .is_some_and(|c| c.status == WEB_CHAT_ENABLED))
}

/// The stored status of a connection that is switched on.
const WEB_CHAT_ENABLED: &str = "CONNECTED";

/// FORBIDDEN unless the tenant has enabled web chat.
async fn ensure_web_chat_enabled(ctx: &Context<'_>, tenant_id: Uuid) -> ApiResult<()> {
    if web_chat_enabled(ctx, tenant_id).await? {
        Ok(())
    } else {
        Err(ApiError::Forbidden(WEB_CHAT_DISABLED.into()))
    }
}

const WEB_CHAT_DISABLED: &str = "this tenant has not enabled web chat for visitors (an owner or \
     admin turns it on with upsertChannelConnection(input: {channel: WEB_CHAT, status: CONNECTED}))";

/// Whether the calling customer is an anonymous visitor (not a customer the tenant's backend
/// vouched for with `createCustomerToken`).
fn is_visitor(ctx: &Context<'_>) -> bool {
    matches!(principal(ctx), Principal::Customer { external_id, .. } if external_id.starts_with(VISITOR_PREFIX))
}

/// The WEB_CHAT identity prefix of anonymous visitors.
const VISITOR_PREFIX: &str = "visitor:";

/// The caller as a participant the other side sees.
async fn participant(ctx: &Context<'_>) -> ApiResult<SupportParticipant> {
    let store = &state(ctx).store;
    match principal(ctx) {
        Principal::Customer {
            tenant_id, lead_id, ..
        } => Ok(SupportParticipant {
            kind: PARTICIPANT_CUSTOMER.into(),
            id: *lead_id,
            name: store.lead(*tenant_id, *lead_id).await?.name,
        }),
        Principal::Member { user_id, .. } => agent_participant(ctx, *user_id).await,
        Principal::ApiKey { key_id, .. } => Ok(SupportParticipant {
            kind: PARTICIPANT_AGENT.into(),
            id: *key_id,
            name: "API".into(),
        }),
        Principal::Anonymous => Err(ApiError::Unauthenticated("sign in first".into())),
    }
}

/// An agent as both sides see them: by display name only. Never the e-mail, not even as a
/// fallback — participants reach customers (events, `agent`, the end-of-chat note), and an
/// agent's address is the tenant's, not the customer's to collect.
async fn agent_participant(ctx: &Context<'_>, user_id: Uuid) -> ApiResult<SupportParticipant> {
    let user = state(ctx).store.user(user_id).await?;
    Ok(SupportParticipant {
        kind: PARTICIPANT_AGENT.into(),
        id: user_id,
        name: user
            .and_then(|u| u.name)
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| AGENT_FALLBACK_NAME.into()),
    })
}

/// What customers see for an agent who has no display name.
const AGENT_FALLBACK_NAME: &str = "Agent";

const PARTICIPANT_CUSTOMER: &str = "CUSTOMER";
const PARTICIPANT_AGENT: &str = "AGENT";
const PARTICIPANT_AI: &str = "AI";

/// The session named by `id`, if the viewer may see it (NOT_FOUND otherwise).
async fn visible_session(
    ctx: &Context<'_>,
    viewer: SupportViewer,
    id: &ID,
    field: &str,
) -> ApiResult<conversations::Model> {
    state(ctx)
        .store
        .support_session(
            viewer.tenant_id(),
            parse_id(id, field)?,
            viewer.lead_filter(),
        )
        .await
}

fn publish(ctx: &Context<'_>, tenant_id: Uuid, session_id: Uuid, event: SupportEvent) {
    state(ctx)
        .bus
        .publish(tenant_id, Event::Support { session_id, event });
}

fn publish_conversation(ctx: &Context<'_>, session: &conversations::Model) {
    state(ctx).bus.publish(
        session.tenant_id,
        Event::ConversationUpdated {
            conversation: Box::new(session.clone()),
        },
    );
}

/// Who takes part in a session.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ParticipantKind {
    /// The tenant's end-user (signed-in customer or anonymous visitor).
    Customer,
    /// A member of the tenant (or an API key acting for one).
    Agent,
    /// The AI assistant.
    Ai,
}

/// Someone in a support session, as the other side sees them.
#[derive(SimpleObject, Clone)]
pub struct Participant {
    /// Customer, agent or AI.
    pub kind: ParticipantKind,
    /// The customer's lead id, or the agent's user id (nil for the AI).
    pub id: ID,
    /// What to show.
    pub name: String,
}

impl From<&SupportParticipant> for Participant {
    fn from(p: &SupportParticipant) -> Self {
        Self {
            kind: match p.kind.as_str() {
                PARTICIPANT_CUSTOMER => ParticipantKind::Customer,
                PARTICIPANT_AI => ParticipantKind::Ai,
                _ => ParticipantKind::Agent,
            },
            id: ID(p.id.to_string()),
            name: p.name.clone(),
        }
    }
}

/// A live chat between a customer and the AI assistant or an agent (a WEB_CHAT conversation).
pub struct SupportSession(pub conversations::Model);

/// A live chat between a customer and the AI assistant or an agent (a WEB_CHAT conversation).
#[Object]
impl SupportSession {
    /// The session id (also the conversation id in the inbox).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// ACTIVE (AI or agent answering), WAITING (escalated, in the queue), RESOLVED (ended).
    async fn status(&self) -> async_graphql::Result<ConversationStatus> {
        ConversationStatus::from_stored(&self.0.status)
    }
    /// Who answers: the AI, or a person (then the AI stays silent).
    async fn handled_by(&self) -> async_graphql::Result<Handler> {
        Handler::from_stored(&self.0.handled_by)
    }
    /// What the customer said it is about.
    async fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }
    /// The customer's lead id.
    async fn customer_id(&self) -> ID {
        ID(self.0.lead_id.to_string())
    }
    /// The customer's name.
    async fn customer_name(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        Ok(state(ctx)
            .store
            .lead(self.0.tenant_id, self.0.lead_id)
            .await?
            .name)
    }
    /// The agent in charge, as the customer sees them: display name, never the e-mail (null
    /// while the AI or nobody handles it).
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Participant>> {
        match self.0.assignee_user_id {
            Some(user_id) if self.0.handled_by == handler::HUMAN => {
                Ok(Some((&agent_participant(ctx, user_id).await?).into()))
            }
            _ => Ok(None),
        }
    }
    /// The assigned member with their e-mail (agents only; null for customer tokens — they see
    /// `agent`, by display name — and when unassigned).
    async fn assignee(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        if is_customer(ctx) {
            return Ok(None);
        }
        let (Some(user_id), Ok(tenant_id)) =
            (self.0.assignee_user_id, tenant_for(ctx, Access::Read))
        else {
            return Ok(None);
        };
        let store = &state(ctx).store;
        if store.membership(tenant_id, user_id).await?.is_none() {
            return Ok(None);
        }
        Ok(store.user(user_id).await?.map(User::from))
    }
    /// Seconds since the session entered the queue (WAITING only; null otherwise).
    async fn waiting_seconds(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i64>> {
        if self.0.status != status::WAITING {
            return Ok(None);
        }
        let ticket = latest_ticket(ctx, &self.0).await?;
        let since = waiting_since(&self.0, ticket.as_ref());
        Ok(Some((Utc::now() - since).num_seconds().max(0)))
    }
    /// The newest ticket opened for this session (its escalation), if any.
    async fn ticket(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Ticket>> {
        Ok(latest_ticket(ctx, &self.0).await?.map(Ticket))
    }
    /// How many replies the AI has given here.
    async fn ai_turns(&self) -> i32 {
        self.0.ai_turns
    }
    /// The messages, newest first.
    #[graphql(complexity = "crate::graphql::cost::connection_cost(first, child_complexity)")]
    async fn messages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<SupportMessage>> {
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx)
            .store
            .conversation_messages(self.0.tenant_id, self.0.id, request)
            .await?;
        connection(page, request, |m| m.id, SupportMessage)
    }
    /// When the last message was written.
    async fn last_message_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_message_at
    }
    /// When it was opened.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

async fn latest_ticket(
    ctx: &Context<'_>,
    session: &conversations::Model,
) -> ApiResult<Option<tickets::Model>> {
    Ok(state(ctx)
        .store
        .latest_session_tickets(session.tenant_id, vec![session.id])
        .await?
        .remove(&session.id))
}

/// One message of a support session, as both sides see it.
pub struct SupportMessage(pub messages::Model);

/// One message of a support session, as both sides see it.
#[Object]
impl SupportMessage {
    /// The message id (the cursor for `markRead` and for resuming `supportSessionEvents`).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The session it belongs to.
    async fn session_id(&self) -> ID {
        ID(self.0.conversation_id.to_string())
    }
    /// The text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Who wrote it: LEAD (the customer), AI, AGENT or SYSTEM.
    async fn sender_kind(&self) -> async_graphql::Result<SenderKind> {
        SenderKind::from_stored(&self.0.sender_kind)
    }
    /// The agent who wrote it (AGENT messages).
    async fn sender_user_id(&self) -> Option<ID> {
        self.0.sender_user_id.map(|id| ID(id.to_string()))
    }
    /// The sender's idempotency key, when it sent one.
    async fn client_message_id(&self) -> Option<&str> {
        self.0.client_message_id.as_deref()
    }
    /// When the other side read it.
    async fn read_at(&self) -> Option<DateTime<Utc>> {
        self.0.read_at
    }
    /// When it was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// The first event of `supportSessionEvents`: the session and its messages so far.
#[derive(SimpleObject)]
pub struct SessionHistory {
    /// The session as it is now.
    pub session: SupportSession,
    /// Messages, oldest first: the last 100, or those after `afterMessageId` when resuming.
    pub messages: Vec<SupportMessage>,
    /// Whether older (or, when resuming, further) messages were left out; page them with
    /// `supportSession(id) { messages }`.
    pub has_more: bool,
}

/// A message was written in the session.
#[derive(SimpleObject)]
pub struct MessageAdded {
    /// The message.
    pub message: SupportMessage,
}

/// Someone on the other side is typing. Without a refresh it ends with TypingStopped at
/// `expiresAt`.
#[derive(SimpleObject)]
pub struct TypingStarted {
    /// Who.
    pub participant: Participant,
    /// When it lapses without a refresh.
    pub expires_at: DateTime<Utc>,
}

/// Someone on the other side stopped typing.
#[derive(SimpleObject)]
pub struct TypingStopped {
    /// Who.
    pub participant: Participant,
    /// True when the indicator lapsed (no refresh in time) rather than being stopped.
    pub expired: bool,
}

/// A read receipt: `reader` has read the other side's messages up to `upToMessageId`.
#[derive(SimpleObject)]
pub struct MessagesRead {
    /// Who read.
    pub reader: Participant,
    /// The newest message read (every earlier message of the other side counts as read).
    pub up_to_message_id: ID,
    /// When.
    pub read_at: DateTime<Utc>,
}

/// Someone opened the session's live events.
#[derive(SimpleObject)]
pub struct ParticipantJoined {
    /// Who.
    pub participant: Participant,
}

/// Someone's live events ended (closed the chat, lost the connection).
#[derive(SimpleObject)]
pub struct ParticipantLeft {
    /// Who.
    pub participant: Participant,
}

/// The AI is composing an answer to `messageId`.
#[derive(SimpleObject)]
pub struct AiProcessing {
    /// The customer's message being answered.
    pub message_id: ID,
}

/// The AI finished its turn for `messageId`.
#[derive(SimpleObject)]
pub struct AiCompleted {
    /// The customer's message.
    pub message_id: ID,
    /// Its reply (or hand-over message); null when the AI chose to stay silent.
    pub reply_message_id: Option<ID>,
}

/// The AI could not answer `messageId` this time; the customer was told, and the turn is
/// retried when `willRetry`.
#[derive(SimpleObject)]
pub struct AiFailed {
    /// The customer's message.
    pub message_id: ID,
    /// What went wrong, in a line.
    pub error: String,
    /// Whether the job will try again.
    pub will_retry: bool,
}

/// An agent took the session.
#[derive(SimpleObject)]
pub struct SessionAssigned {
    /// The session after the assignment.
    pub session: SupportSession,
    /// The agent.
    pub agent: Participant,
}

/// The AI handed the session to people: it is WAITING in the queue with a ticket.
#[derive(SimpleObject)]
pub struct SessionEscalated {
    /// The session, now WAITING.
    pub session: SupportSession,
    /// The ticket opened for it (subject, priority, transcript so far).
    pub ticket: Ticket,
    /// Why: EXPLICIT_REQUEST, KEYWORD, NEGATIVE_SENTIMENT, SEVERAL_OPEN_TICKETS, TOO_MANY_TURNS.
    pub reason: String,
}

/// The session was ended.
#[derive(SimpleObject)]
pub struct SessionEnded {
    /// The session, now RESOLVED.
    pub session: SupportSession,
    /// What was recorded as the outcome.
    pub resolution: String,
    /// Who ended it.
    pub ended_by: Participant,
}

/// What `supportSessionEvents` delivers: first a SessionHistory, then these as they happen.
#[derive(Union)]
pub enum SupportSessionEvent {
    SessionHistory(SessionHistory),
    MessageAdded(MessageAdded),
    TypingStarted(TypingStarted),
    TypingStopped(TypingStopped),
    MessagesRead(MessagesRead),
    ParticipantJoined(ParticipantJoined),
    ParticipantLeft(ParticipantLeft),
    AiProcessing(AiProcessing),
    AiCompleted(AiCompleted),
    AiFailed(AiFailed),
    SessionAssigned(SessionAssigned),
    SessionEscalated(SessionEscalated),
    SessionEnded(SessionEnded),
}

/// The first event of `supportQueueEvents`: the queue as it is now.
#[derive(SimpleObject)]
pub struct QueueSnapshot {
    /// WAITING sessions, oldest wait first.
    pub sessions: Vec<SupportSession>,
}

/// What `supportQueueEvents` delivers: a QueueSnapshot, then sessions entering (escalated) and
/// leaving (assigned, ended) the queue.
#[derive(Union)]
pub enum SupportQueueEvent {
    QueueSnapshot(QueueSnapshot),
    SessionEscalated(SessionEscalated),
    SessionAssigned(SessionAssigned),
    SessionEnded(SessionEnded),
}

/// Maps a bus event of the session to what the subscriber sees (typing aside: the stream keeps
/// its clock).
fn session_event(event: &SupportEvent) -> Option<SupportSessionEvent> {
    let id = |id: Uuid| ID(id.to_string());
    Some(match event {
        SupportEvent::TypingStarted { .. } | SupportEvent::TypingStopped { .. } => return None,
        SupportEvent::MessagesRead {
            reader,
            up_to_message_id,
            at,
        } => SupportSessionEvent::MessagesRead(MessagesRead {
            reader: reader.into(),
            up_to_message_id: id(*up_to_message_id),
            read_at: *at,
        }),
        SupportEvent::ParticipantJoined { participant } => {
            SupportSessionEvent::ParticipantJoined(ParticipantJoined {
                participant: participant.into(),
            })
        }
        SupportEvent::ParticipantLeft { participant } => {
            SupportSessionEvent::ParticipantLeft(ParticipantLeft {
                participant: participant.into(),
            })
        }
        SupportEvent::AiProcessing { message_id } => {
            SupportSessionEvent::AiProcessing(AiProcessing {
                message_id: id(*message_id),
            })
        }
        SupportEvent::AiCompleted {
            message_id,
            reply_message_id,
        } => SupportSessionEvent::AiCompleted(AiCompleted {
            message_id: id(*message_id),
            reply_message_id: reply_message_id.map(id),
        }),
        SupportEvent::AiFailed {
            message_id,
            error,
            will_retry,
        } => SupportSessionEvent::AiFailed(AiFailed {
            message_id: id(*message_id),
            error: error.clone(),
            will_retry: *will_retry,
        }),
        SupportEvent::SessionAssigned { .. }
        | SupportEvent::SessionEscalated { .. }
        | SupportEvent::SessionEnded { .. } => match queue_event(event)? {
            SupportQueueEvent::SessionAssigned(e) => SupportSessionEvent::SessionAssigned(e),
            SupportQueueEvent::SessionEscalated(e) => SupportSessionEvent::SessionEscalated(e),
            SupportQueueEvent::SessionEnded(e) => SupportSessionEvent::SessionEnded(e),
            SupportQueueEvent::QueueSnapshot(_) => return None,
        },
    })
}

/// The queue-relevant events.
fn queue_event(event: &SupportEvent) -> Option<SupportQueueEvent> {
    Some(match event {
        SupportEvent::SessionAssigned { session, agent } => {
            SupportQueueEvent::SessionAssigned(SessionAssigned {
                session: SupportSession((**session).clone()),
                agent: agent.into(),
            })
        }
        SupportEvent::SessionEscalated {
            session,
            ticket,
            reason,
        } => SupportQueueEvent::SessionEscalated(SessionEscalated {
            session: SupportSession((**session).clone()),
            ticket: Ticket((**ticket).clone()),
            reason: reason.clone(),
        }),
        SupportEvent::SessionEnded {
            session,
            resolution,
            ended_by,
        } => SupportQueueEvent::SessionEnded(SessionEnded {
            session: SupportSession((**session).clone()),
            resolution: resolution.clone(),
            ended_by: ended_by.into(),
        }),
        _ => return None,
    })
}

/// Input of `createCustomerToken`.
#[derive(InputObject)]
pub struct CreateCustomerTokenInput {
    /// Your id for the user (at most 200 characters); the same id always maps to the same
    /// customer (lead).
    pub external_user_id: String,
    /// The user's name (for a new customer; an existing one keeps the name agents see).
    pub name: String,
    /// The user's e-mail (fills in a customer that has none).
    pub email: Option<String>,
}

/// A customer token and who it is for.
#[derive(SimpleObject)]
pub struct CustomerTokenPayload {
    /// Send as `Authorization: Bearer <token>` (HTTP) or `{"token": …}` in `connection_init`.
    pub token: String,
    /// When it stops working; ask for a new one before.
    pub expires_at: DateTime<Utc>,
    /// The customer's lead id.
    pub customer_id: ID,
    /// For visitors: the visitor id (keep it, with `resumeSecret`, to come back as the same
    /// visitor). It is readable inside the token, so it alone never lets anyone resume.
    pub visitor_id: Option<String>,
    /// For visitors: the secret that resumes this visitor next time, together with
    /// `visitorId`. Shown once and replaced at every resume (the previous one stops working);
    /// keep only the newest. Null for `createCustomerToken`.
    pub resume_secret: Option<String>,
    /// True when `startVisitorSession` continued the visitor named by `visitorId` (with its
    /// history); false for a new visitor and for `createCustomerToken`.
    pub resumed: bool,
}

/// Input of `startVisitorSession`.
#[derive(InputObject)]
pub struct StartVisitorSessionInput {
    /// The tenant whose site the visitor is on.
    pub tenant_slug: String,
    /// A name the visitor gave, if any.
    pub name: Option<String>,
    /// A visitor id from an earlier `startVisitorSession` of the same browser, to continue as
    /// that visitor; only together with its current `resumeSecret`.
    pub visitor_id: Option<String>,
    /// The `resumeSecret` the last `startVisitorSession` of this visitor returned (at most 200
    /// characters). With a missing, wrong or already-used secret — or an unknown visitor id —
    /// a new visitor starts (`resumed: false`, a new `visitorId`): nothing of the other
    /// visitor is reached, and no error says whether the id exists.
    pub resume_secret: Option<String>,
}

/// Input of `createSupportSession`.
#[derive(InputObject, Default)]
pub struct CreateSupportSessionInput {
    /// What it is about (at most 200 characters).
    pub subject: Option<String>,
}

/// A session and whether this call opened it.
#[derive(SimpleObject)]
pub struct SupportSessionPayload {
    /// The session.
    pub session: SupportSession,
    /// False when the customer's open session was returned instead (one open at a time).
    pub created: bool,
}

/// Input of `sendSupportMessage`.
#[derive(InputObject)]
pub struct SendSupportMessageInput {
    /// The session.
    pub session_id: ID,
    /// The text (1–4096 characters after trimming).
    pub text: String,
    /// Your idempotency key (at most 200 characters): a repeat returns the first message and
    /// changes nothing.
    pub client_message_id: String,
}

/// The stored message.
#[derive(SimpleObject)]
pub struct SendSupportMessagePayload {
    /// The message (the first one, for a repeated `clientMessageId`).
    pub message: SupportMessage,
    /// False for a repeat.
    pub created: bool,
}

/// Input of `setTyping`.
#[derive(InputObject)]
pub struct SetTypingInput {
    /// The session.
    pub session_id: ID,
    /// True while typing (refresh every couple of seconds), false when stopped.
    pub typing: bool,
}

/// Input of `markRead`.
#[derive(InputObject)]
pub struct MarkReadInput {
    /// The session.
    pub session_id: ID,
    /// The newest message read; everything the other side wrote up to it counts as read.
    pub up_to_message_id: ID,
}

/// Result of `markRead`.
#[derive(SimpleObject)]
pub struct MarkReadPayload {
    /// Messages that became read with this call (0 for a repeat).
    pub marked: i32,
}

/// Input of `assignSupportSession`.
#[derive(InputObject)]
pub struct AssignSupportSessionInput {
    /// The session.
    pub session_id: ID,
    /// The agent (default: the caller; required for API keys). Naming another agent reassigns.
    pub agent_id: Option<ID>,
}

/// Input of `endSupportSession`.
#[derive(InputObject)]
pub struct EndSupportSessionInput {
    /// The session.
    pub session_id: ID,
    /// The outcome, in a line (1–500 characters), kept in the transcript.
    pub resolution: String,
}

/// Filter of `supportSessions`; parts combine with AND.
#[derive(InputObject, Default)]
pub struct SupportSessionFilterInput {
    /// Only this status.
    pub status: Option<ConversationStatus>,
    /// Only those assigned to this member.
    pub assignee_id: Option<ID>,
    /// Only this customer's.
    pub customer_id: Option<ID>,
    /// Only those the AI (or a person) handles.
    pub handled_by: Option<Handler>,
}

/// Transcript formats.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum TranscriptFormat {
    /// One `[time] Who: text` line per message.
    Text,
    /// A JSON array of `{id, at, senderKind, senderUserId, body, readAt}`.
    Json,
}

/// A session's transcript.
#[derive(SimpleObject)]
pub struct SupportTranscript {
    /// The format of `content`.
    pub format: TranscriptFormat,
    /// The transcript.
    pub content: String,
    /// Messages in it.
    pub message_count: i32,
    /// True when the session had more than 10,000 messages (the first 10,000 are included).
    pub truncated: bool,
}

/// An agent with a live subscription (`supportQueueEvents` or `supportSessionEvents`).
#[derive(SimpleObject)]
pub struct OnlineAgent {
    /// The member.
    pub user: User,
    /// The last heartbeat of one of their subscriptions.
    pub last_seen_at: DateTime<Utc>,
}

#[derive(Default)]
pub struct SupportQuery;

#[Object]
impl SupportQuery {
    /// The calling customer's open session (ACTIVE or WAITING), if any. Customers only.
    async fn active_support_session(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<SupportSession>> {
        let (tenant_id, lead_id) = customer(ctx)?;
        Ok(state(ctx)
            .store
            .active_support_session(tenant_id, lead_id)
            .await?
            .map(SupportSession))
    }

    /// One session: a customer's own, or any of the tenant's for agents; others are NOT_FOUND.
    async fn support_session(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<SupportSession> {
        let viewer = viewer(ctx, Access::Read)?;
        Ok(SupportSession(
            visible_session(ctx, viewer, &id, "id").await?,
        ))
    }

    /// WAITING sessions, oldest wait first, with their wait time and escalation ticket.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::list_cost(first, child_complexity)"
    )]
    async fn support_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 100)] first: i32,
    ) -> async_graphql::Result<Vec<SupportSession>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        if !(1..=MAX_QUEUE).contains(&first) {
            return Err(
                ApiError::bad_input("first", format!("must be between 1 and {MAX_QUEUE}")).into(),
            );
        }
        let queue = state(ctx)
            .store
            .support_queue(tenant_id, u64::try_from(first).unwrap_or(100))
            .await?;
        Ok(queue.into_iter().map(|(s, _)| SupportSession(s)).collect())
    }

    /// The tenant's support sessions, newest first, filtered.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn support_sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<SupportSessionFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<SupportSession>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = ConversationFilter {
            channel: Some(DomainChannel::WebChat),
            status: filter.status.map(|s| s.as_str().to_owned()),
            lead_id: filter
                .customer_id
                .map(|id| parse_id(&id, "filter.customerId"))
                .transpose()?,
            handled_by: filter.handled_by.map(|h| h.as_str().to_owned()),
            assignee_user_id: filter
                .assignee_id
                .map(|id| parse_id(&id, "filter.assigneeId"))
                .transpose()?,
        };
        let page = state(ctx)
            .store
            .conversations(tenant_id, filter, request)
            .await?;
        connection(page, request, |c| c.id, SupportSession)
    }

    /// The session's transcript (customers: their own sessions).
    async fn transcript(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        #[graphql(default_with = "TranscriptFormat::Text")] format: TranscriptFormat,
    ) -> async_graphql::Result<SupportTranscript> {
        let viewer = viewer(ctx, Access::Read)?;
        let session = visible_session(ctx, viewer, &session_id, "sessionId").await?;
        let mut messages = state(ctx)
            .store
            .support_transcript_messages(session.tenant_id, session.id, TRANSCRIPT_CAP + 1)
            .await?;
        let truncated = messages.len() as u64 > TRANSCRIPT_CAP;
        messages.truncate(TRANSCRIPT_CAP as usize);
        let content = match format {
            TranscriptFormat::Text => transcript_text(&messages),
            TranscriptFormat::Json => transcript_json(&messages).to_string(),
        };
        Ok(SupportTranscript {
            format,
            content,
            message_count: i32::try_from(messages.len()).unwrap_or(i32::MAX),
            truncated,
        })
    }

    /// Agents online now: members with a live support subscription (on any replica).
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn online_agents(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OnlineAgent>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let state = state(ctx);
        let mut agents = Vec::new();
        for online in state.support.presence.online(tenant_id).await {
            // Someone removed meanwhile is not shown.
            if state
                .store
                .membership(tenant_id, online.user_id)
                .await?
                .is_none()
            {
                continue;
            }
            if let Some(user) = state.store.user(online.user_id).await? {
                agents.push(OnlineAgent {
                    user: user.into(),
                    last_seen_at: online.last_seen_at,
                });
            }
        }
        Ok(agents)
    }
}

/// The `setTyping` limit's key: who is typing (a member, an API key or a customer).
fn typing_key(principal: &Principal) -> String {
    match principal {
        Principal::Member { user_id, .. } => format!("user:{user_id}"),
        Principal::ApiKey { key_id, .. } => format!("key:{key_id}"),
        Principal::Customer {
            tenant_id,
            external_id,
            ..
        } => format!("customer:{tenant_id}:{external_id}"),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

#[derive(Default)]
pub struct SupportMutation;

#[Object]
impl SupportMutation {
    /// A customer token for one of your users (call it from your backend with an API key, or as
    /// a member with write access). The user becomes (or is found as) a lead with a WEB_CHAT
    /// identity `externalUserId`. The token is short-lived (`LEADLINE_CUSTOMER_TOKEN_TTL_SECONDS`)
    /// and only works for the support chat.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn create_customer_token(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomerTokenInput,
    ) -> async_graphql::Result<CustomerTokenPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let external_id = required_text(
            input.external_user_id,
            "externalUserId",
            MAX_EXTERNAL_ID_CHARS,
        )?;
        if external_id.starts_with(VISITOR_PREFIX) {
            return Err(ApiError::bad_input(
                "externalUserId",
                "the prefix visitor: is reserved for anonymous visitors",
            )
            .into());
        }
        let name = required_text(input.name, "name", 200)?;
        let email = clean_text(input.email, "email", 254)?
            .map(|e| {
                leadline_domain::tenant::Email::parse(&e)
                    .map(|e| e.as_str().to_owned())
                    .map_err(|error| ApiError::invalid("email", error))
            })
            .transpose()?;
        let state = state(ctx);
        let (lead, created) = state
            .store
            .upsert_web_chat_customer(tenant_id, &external_id, &name, email.as_deref())
            .await?;
        if created {
            state.bus.publish(
                tenant_id,
                Event::LeadUpdated {
                    lead: Box::new(lead.clone()),
                },
            );
        }
        let (token, expires_at) =
            state
                .tokens
                .issue_customer(tenant_id, lead.id, &external_id, Utc::now())?;
        Ok(CustomerTokenPayload {
            token,
            expires_at,
            customer_id: ID(lead.id.to_string()),
            visitor_id: None,
            resume_secret: None,
            resumed: false,
        })
    }

    /// An anonymous visitor's customer token for the tenant's site chat. No credentials needed;
    /// limited per client IP (`LEADLINE_VISITOR_RATE_PER_MINUTE`). Only for tenants that have
    /// enabled web chat (a WEB_CHAT channel connection, CONNECTED); otherwise FORBIDDEN.
    ///
    /// To come back as the same visitor, pass the returned `visitorId` and `resumeSecret`; the
    /// answer carries a new `resumeSecret` (the old one stops working). Without both, or with
    /// a stale secret, a new visitor starts (`resumed: false`).
    async fn start_visitor_session(
        &self,
        ctx: &Context<'_>,
        input: StartVisitorSessionInput,
    ) -> async_graphql::Result<CustomerTokenPayload> {
        let state = state(ctx);
        if let Some(ip) = ctx.data_opt::<crate::auth::ClientIp>() {
            state
                .support
                .visitor_limiter
                .check(&crate::limit::ip_key(ip.0))
                .await?;
        }
        let slug = leadline_domain::tenant::TenantSlug::parse(&input.tenant_slug)
            .map_err(|e| ApiError::invalid("tenantSlug", e))?;
        let tenant = state
            .store
            .tenant_by_slug(slug.as_str())
            .await?
            .ok_or(ApiError::NotFound("tenant"))?;
        ensure_web_chat_enabled(ctx, tenant.id).await?;
        let name = clean_text(input.name, "name", 200)?;
        let presented = clean_text(input.resume_secret, "resumeSecret", MAX_RESUME_SECRET_CHARS)?;
        let next_secret = crate::auth::random_secret(32);
        let next_hash = crate::auth::sha256_hex(&next_secret);
        // A visitor id that is not one we could have issued cannot be resumed: new visitor.
        let claimed = input
            .visitor_id
            .as_deref()
            .map(str::trim)
            .and_then(|v| Uuid::parse_str(v).ok());
        let resumed = match (claimed, presented) {
            (Some(visitor_id), Some(secret)) => {
                state
                    .store
                    .resume_visitor(
                        tenant.id,
                        visitor_id,
                        &crate::auth::sha256_hex(&secret),
                        &next_hash,
                    )
                    .await?
            }
            _ => None,
        };
        let (visitor, is_resume) = match resumed {
            Some(visitor) => (visitor, true),
            None => {
                let visitor = state
                    .store
                    .create_visitor(tenant.id, name, &next_hash)
                    .await?;
                state.bus.publish(
                    tenant.id,
                    Event::LeadUpdated {
                        lead: Box::new(visitor.lead.clone()),
                    },
                );
                (visitor, false)
            }
        };
        let external_id = format!("{VISITOR_PREFIX}{}", visitor.id);
        let (token, expires_at) =
            state
                .tokens
                .issue_customer(tenant.id, visitor.lead.id, &external_id, Utc::now())?;
        Ok(CustomerTokenPayload {
            token,
            expires_at,
            customer_id: ID(visitor.lead.id.to_string()),
            visitor_id: Some(visitor.id.to_string()),
            resume_secret: Some(next_secret),
            resumed: is_resume,
        })
    }

    /// Opens a support session for the calling customer with the AI assistant, or returns their
    /// open one (`created: false`). Customers only.
    async fn create_support_session(
        &self,
        ctx: &Context<'_>,
        input: Option<CreateSupportSessionInput>,
    ) -> async_graphql::Result<SupportSessionPayload> {
        let (tenant_id, lead_id) = customer(ctx)?;
        // A tenant that turns web chat off stops its visitors at once, whatever tokens they hold.
        if is_visitor(ctx) {
            ensure_web_chat_enabled(ctx, tenant_id).await?;
        }
        let subject = clean_text(input.unwrap_or_default().subject, "subject", 200)?;
        let (session, created) = state(ctx)
            .store
            .open_support_session(tenant_id, lead_id, subject)
            .await?;
        if created {
            publish_conversation(ctx, &session);
        }
        Ok(SupportSessionPayload {
            session: SupportSession(session),
            created,
        })
    }

    /// Writes in a session: as the customer (the AI answers while it handles the session), or as
    /// an agent (the session becomes handled by a person, assigned to the caller if nobody has
    /// it, and the AI stays silent). Idempotent on `clientMessageId`; an ended session is
    /// CONFLICT. A customer's new message is RATE_LIMITED over
    /// `LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE` (per customer) and LIMIT_REACHED
    /// (`SUPPORT_SESSION_MESSAGES`) over `LEADLINE_SUPPORT_SESSION_MAX_MESSAGES` in the session;
    /// a visitor's is FORBIDDEN once the tenant has turned web chat off.
    async fn send_support_message(
        &self,
        ctx: &Context<'_>,
        input: SendSupportMessageInput,
    ) -> async_graphql::Result<SendSupportMessagePayload> {
        let viewer = viewer(ctx, Access::Write)?;
        let text = required_text(input.text, "text", MAX_MESSAGE_CHARS)?;
        let client_message_id = required_text(
            input.client_message_id,
            "clientMessageId",
            MAX_CLIENT_MESSAGE_ID_CHARS,
        )?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        let tenant_id = session.tenant_id;
        let state = state(ctx);
        let (message, created, session) = match viewer {
            SupportViewer::Customer { lead_id, .. } => {
                let connection = state
                    .store
                    .channel_connection_for(tenant_id, DomainChannel::WebChat)
                    .await?;
                if is_visitor(ctx)
                    && connection
                        .as_ref()
                        .is_none_or(|c| c.status != WEB_CHAT_ENABLED)
                {
                    return Err(ApiError::Forbidden(WEB_CHAT_DISABLED.into()).into());
                }
                let ai_enabled = connection.is_none_or(|c| c.ai_enabled);
                let rate = state
                    .support
                    .message_limiter
                    .check(&lead_id.to_string())
                    .await;
                let stored = state
                    .store
                    .add_customer_message(
                        tenant_id,
                        session.id,
                        lead_id,
                        text,
                        client_message_id,
                        ai_enabled,
                        CustomerMessageLimits {
                            session_max: state.config.support_session_max_messages,
                            rate,
                        },
                    )
                    .await?;
                if stored.ai_job.is_some() {
                    state.jobs.wake().await;
                }
                (stored.message, stored.created, stored.conversation)
            }
            SupportViewer::Staff { .. } => {
                let actor = principal(ctx).actor();
                let metadata = match principal(ctx) {
                    Principal::ApiKey { key_id, .. } => json!({ "apiKeyId": key_id }),
                    _ => json!({}),
                };
                let change = ConversationChange {
                    handled_by: Some(handler::HUMAN),
                    // An agent answering a WAITING session has picked it up.
                    status: (session.status == status::WAITING).then_some(status::ACTIVE),
                    assignee_user_id: match (session.assignee_user_id, actor.user_id) {
                        (None, Some(user_id)) => Some(Some(user_id)),
                        _ => None,
                    },
                    ..Default::default()
                };
                let outbound = OutboundMessage {
                    sender_kind: sender::AGENT,
                    sender_user_id: actor.user_id,
                    body: text,
                    client_message_id: Some(client_message_id),
                    metadata,
                };
                // WEB_CHAT has no platform to send to: subscriptions deliver it, so no job.
                state
                    .store
                    .add_outbound(tenant_id, session.id, outbound, change, |_| None)
                    .await?
            }
        };
        if created {
            // One event per message: subscribers end the sender's typing indicator themselves
            // when the message arrives, so no TypingStopped is published here.
            state.bus.publish(
                tenant_id,
                Event::MessageAdded {
                    message: Box::new(message.clone()),
                },
            );
            if matches!(viewer, SupportViewer::Staff { .. }) {
                // Handler, status or assignee may have changed (the inbox's views follow).
                publish_conversation(ctx, &session);
            }
        }
        Ok(SendSupportMessagePayload {
            message: SupportMessage(message),
            created,
        })
    }

    /// Shows (or stops showing) the caller as typing to the other side. Nothing is stored; an
    /// indicator not refreshed within `LEADLINE_TYPING_TTL_SECONDS` ends by itself.
    async fn set_typing(
        &self,
        ctx: &Context<'_>,
        input: SetTypingInput,
    ) -> async_graphql::Result<bool> {
        let viewer = viewer(ctx, Access::Write)?;
        // Per caller, across replicas: every call is a bus event fanned out to subscribers.
        state(ctx)
            .limits
            .typing
            .check(&typing_key(principal(ctx)))
            .await?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        if !status::OPEN.contains(&session.status.as_str()) {
            return Err(ApiError::Conflict("this support session has ended".into()).into());
        }
        let who = participant(ctx).await?;
        let event = if input.typing {
            let ttl = chrono::Duration::from_std(state(ctx).config.typing_ttl)
                .unwrap_or(chrono::Duration::seconds(5));
            SupportEvent::TypingStarted {
                participant: who,
                expires_at: Utc::now() + ttl,
            }
        } else {
            SupportEvent::TypingStopped { participant: who }
        };
        publish(ctx, session.tenant_id, session.id, event);
        Ok(input.typing)
    }

    /// A read receipt: the caller read the other side's messages up to `upToMessageId` (a
    /// customer reads the AI's, agents' and system messages; an agent reads the customer's).
    /// Idempotent.
    async fn mark_read(
        &self,
        ctx: &Context<'_>,
        input: MarkReadInput,
    ) -> async_graphql::Result<MarkReadPayload> {
        let viewer = viewer(ctx, Access::Write)?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        let up_to = parse_id(&input.up_to_message_id, "upToMessageId")?;
        let side = match viewer {
            SupportViewer::Customer { .. } => ReadSide::CustomerReads,
            SupportViewer::Staff { .. } => ReadSide::AgentReads,
        };
        let marked = state(ctx)
            .store
            .mark_support_read(session.tenant_id, session.id, up_to, side)
            .await?;
        if marked > 0 {
            let reader = participant(ctx).await?;
            publish(
                ctx,
                session.tenant_id,
                session.id,
                SupportEvent::MessagesRead {
                    reader,
                    up_to_message_id: up_to,
                    at: Utc::now(),
                },
            );
        }
        Ok(MarkReadPayload {
            marked: i32::try_from(marked).unwrap_or(i32::MAX),
        })
    }

    /// Takes a session (default: for the caller) — ACTIVE, handled by a person, its tickets IN
    /// PROGRESS — and tells the queue. Refused with CONFLICT when the agent already holds
    /// `LEADLINE_SUPPORT_AGENT_CAPACITY` open sessions, when another agent took it first (name
    /// `agentId` to reassign), or when the session has ended. Audited
    /// (`support_session.assigned`).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn assign_support_session(
        &self,
        ctx: &Context<'_>,
        input: AssignSupportSessionInput,
    ) -> async_graphql::Result<SupportSessionPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let session_id = parse_id(&input.session_id, "sessionId")?;
        let reassign = input.agent_id.is_some();
        let agent = match input.agent_id {
            Some(id) => parse_id(&id, "agentId")?,
            None => principal(ctx).actor().user_id.ok_or_else(|| {
                ApiError::bad_input("agentId", "required when calling with an API key")
            })?,
        };
        let state = state(ctx);
        let store = &state.store;
        let session = store.support_session(tenant_id, session_id, None).await?;
        if !status::OPEN.contains(&session.status.as_str()) {
            return Err(ApiError::Conflict("this support session has ended".into()).into());
        }
        let membership = store
            .membership(tenant_id, agent)
            .await?
            .ok_or_else(|| ApiError::bad_input("agentId", "not a member of this tenant"))?;
        if membership.role == leadline_domain::tenant::Role::Viewer.as_str() {
            return Err(ApiError::bad_input("agentId", "a VIEWER cannot handle sessions").into());
        }
        if let Some(current) = session.assignee_user_id {
            if current != agent && !reassign && session.handled_by == handler::HUMAN {
                return Err(ApiError::Conflict(
                    "another agent has this session; name agentId to reassign it".into(),
                )
                .into());
            }
        }
        let capacity = u64::from(state.config.support_agent_capacity);
        let session = match store
            .assign_support_session(
                tenant_id,
                session_id,
                agent,
                session.assignee_user_id,
                capacity,
                principal(ctx).actor(),
            )
            .await?
        {
            Ok(session) => session,
            Err(AssignRefusal::AtCapacity { load }) => {
                return Err(ApiError::Conflict(format!(
                    "the agent already holds {load} open sessions (capacity {capacity})"
                ))
                .into())
            }
            Err(AssignRefusal::TakenMeanwhile) => {
                return Err(ApiError::Conflict(
                    "the session changed hands meanwhile; reload and retry".into(),
                )
                .into())
            }
        };
        let agent = agent_participant(ctx, agent).await?;
        publish_conversation(ctx, &session);
        publish(
            ctx,
            tenant_id,
            session.id,
            SupportEvent::SessionAssigned {
                session: Box::new(session.clone()),
                agent,
            },
        );
        Ok(SupportSessionPayload {
            session: SupportSession(session),
            created: false,
        })
    }

    /// Ends a session (agents, or the customer their own): RESOLVED, its tickets resolved, the
    /// resolution kept in the transcript as a SYSTEM message. Ending an ended session returns it
    /// unchanged. Audited (`support_session.ended`).
    async fn end_support_session(
        &self,
        ctx: &Context<'_>,
        input: EndSupportSessionInput,
    ) -> async_graphql::Result<SupportSessionPayload> {
        let viewer = viewer(ctx, Access::Write)?;
        let resolution = required_text(input.resolution, "resolution", 500)?;
        let session = visible_session(ctx, viewer, &input.session_id, "sessionId").await?;
        if !status::OPEN.contains(&session.status.as_str()) {
            return Ok(SupportSessionPayload {
                session: SupportSession(session),
                created: false,
            });
        }
        let ended_by = participant(ctx).await?;
        let state = state(ctx);
        let tenant_id = session.tenant_id;
        // The note first, keyed on the session, then the status: a retry after a failure in
        // between finds the note and finishes the job.
        let (note, created, _) = state
            .store
            .add_outbound(
                tenant_id,
                session.id,
                OutboundMessage {
                    sender_kind: sender::SYSTEM,
                    sender_user_id: principal(ctx).actor().user_id,
                    body: format!("Chat ended by {}: {resolution}", ended_by.name),
                    client_message_id: Some(format!("end:{}", session.id)),
                    metadata: json!({ "sessionEnded": { "resolution": resolution, "endedBy": ended_by } }),
                },
                ConversationChange::default(),
                |_| None,
            )
            .await?;
        if created {
            state.bus.publish(
                tenant_id,
                Event::MessageAdded {
                    message: Box::new(note),
                },
            );
        }
        let session = state
            .store
            .end_support_session(
                tenant_id,
                session.id,
                principal(ctx).actor(),
                json!({
                    "leadId": session.lead_id,
                    "resolution": resolution,
                    "endedBy": { "kind": ended_by.kind, "id": ended_by.id },
                }),
            )
            .await?;
        publish_conversation(ctx, &session);
        publish(
            ctx,
            tenant_id,
            session.id,
            SupportEvent::SessionEnded {
                session: Box::new(session.clone()),
                resolution,
                ended_by,
            },
        );
        Ok(SupportSessionPayload {
            session: SupportSession(session),
            created: false,
        })
    }
}

/// Publishes ParticipantLeft when the subscription that joined ends (the client unsubscribed or
/// the socket dropped); publishing never blocks, so Drop may do it.
struct LeaveOnDrop {
    bus: crate::bus::EventBus,
    tenant_id: Uuid,
    session_id: Uuid,
    participant: SupportParticipant,
}

impl Drop for LeaveOnDrop {
    fn drop(&mut self) {
        self.bus.publish(
            self.tenant_id,
            Event::Support {
                session_id: self.session_id,
                event: SupportEvent::ParticipantLeft {
                    participant: self.participant.clone(),
                },
            },
        );
    }
}

#[derive(Default)]
pub struct SupportSubscription;

#[Subscription]
impl SupportSubscription {
    /// A session's live events (customers: their own session; another's is NOT_FOUND and
    /// delivers nothing). First a SessionHistory — the last 100 messages, or, when resuming,
    /// those after `afterMessageId` — then messages, typing (the other side's), read receipts,
    /// participants joining and leaving, the AI's progress, assignment, escalation and the end.
    /// A message is never delivered twice on one subscription, and one missed while the
    /// subscriber lagged behind is reloaded from the database.
    async fn support_session_events(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
        after_message_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SupportSessionEvent>>> {
        let viewer = viewer(ctx, Access::Read)?;
        let session = visible_session(ctx, viewer, &session_id, "sessionId").await?;
        let after = after_message_id
            .map(|id| parse_id(&id, "afterMessageId"))
            .transpose()?;
        let me = participant(ctx).await?;
        let state = state(ctx).clone();
        let tenant_id = session.tenant_id;
        // Subscribe before reading the history: an event in between is then in both, and the
        // seen-set drops the copy, instead of in neither.
        // Scoped: this session's events only, so 1,000 open chats do not wake each other.
        let mut bus = Box::pin(state.bus.subscribe_scoped(tenant_id, session.id));
        let (history, has_more) = state
            .store
            .support_history(tenant_id, session.id, after, HISTORY_MESSAGES)
            .await?;
        let presence = match principal(ctx) {
            Principal::Member { user_id, .. } => {
                Some(state.support.presence.track(tenant_id, *user_id))
            }
            _ => None,
        };
        state.bus.publish(
            tenant_id,
            Event::Support {
                session_id: session.id,
                event: SupportEvent::ParticipantJoined {
                    participant: me.clone(),
                },
            },
        );
        let leave = LeaveOnDrop {
            bus: state.bus.clone(),
            tenant_id,
            session_id: session.id,
            participant: me.clone(),
        };
        let gauge = SubscriptionGauge::start();
        let session_id = session.id;
        let lead_id = session.lead_id;
        let mut seen: HashSet<Uuid> = history.iter().map(|m| m.id).collect();
        Ok(async_stream::stream! {
            let _held = (gauge, leave, presence);
            yield Ok(SupportSessionEvent::SessionHistory(SessionHistory {
                session: SupportSession(session),
                messages: history.into_iter().map(SupportMessage).collect(),
                has_more,
            }));
            let mut typing = TypingClock::default();
            loop {
                let expiry = typing.next_expiry();
                let sleep = async {
                    match expiry {
                        Some(at) => {
                            let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                            tokio::time::sleep(wait).await;
                        }
                        None => futures::future::pending::<()>().await,
                    }
                };
                tokio::select! {
                    () = sleep => {
                        for participant in typing.expire(Utc::now()) {
                            yield Ok(SupportSessionEvent::TypingStopped(TypingStopped {
                                participant: (&participant).into(),
                                expired: true,
                            }));
                        }
                    }
                    item = bus.next() => {
                        let Some(item) = item else { break };
                        let event = match item {
                            Ok(event) => event,
                            Err(crate::bus::BusError::Lagged(_)) => {
                                // Ephemeral events are gone; messages are not: reload them.
                                match state.store.support_history(tenant_id, session_id, None, CATCH_UP_MESSAGES).await {
                                    Ok((missed, _)) => {
                                        for message in missed {
                                            if seen.insert(message.id) {
                                                yield Ok(SupportSessionEvent::MessageAdded(MessageAdded { message: SupportMessage(message) }));
                                            }
                                        }
                                    }
                                    Err(error) => {
                                        yield Err(error.into());
                                        break;
                                    }
                                }
                                continue;
                            }
                            Err(error) => {
                                yield Err(ApiError::Unavailable(error.to_string()).into());
                                break;
                            }
                        };
                        match &*event {
                            Event::MessageAdded { message } if message.conversation_id == session_id => {
                                if !seen.insert(message.id) {
                                    continue;
                                }
                                // A message ends its author's typing indicator.
                                let author = match message.sender_kind.as_str() {
                                    sender::LEAD => Some(lead_id),
                                    _ => message.sender_user_id,
                                };
                                if let Some(stopped) = author.and_then(|id| typing.stopped(id)) {
                                    yield Ok(SupportSessionEvent::TypingStopped(TypingStopped {
                                        participant: (&stopped).into(),
                                        expired: false,
                                    }));
                                }
                                yield Ok(SupportSessionEvent::MessageAdded(MessageAdded {
                                    message: SupportMessage((**message).clone()),
                                }));
                            }
                            Event::Support { session_id: id, event } if *id == session_id => {
                                match event {
                                    SupportEvent::TypingStarted { participant, expires_at } => {
                                        // The other side's typing only.
                                        if participant.id != me.id && typing.started(participant, *expires_at) {
                                            yield Ok(SupportSessionEvent::TypingStarted(TypingStarted {
                                                participant: participant.into(),
                                                expires_at: *expires_at,
                                            }));
                                        }
                                    }
                                    SupportEvent::TypingStopped { participant } => {
                                        if participant.id != me.id && typing.stopped(participant.id).is_some() {
                                            yield Ok(SupportSessionEvent::TypingStopped(TypingStopped {
                                                participant: participant.into(),
                                                expired: false,
                                            }));
                                        }
                                    }
                                    // One's own arrival and departure are no news to oneself.
                                    SupportEvent::ParticipantJoined { participant }
                                    | SupportEvent::ParticipantLeft { participant }
                                        if participant.id == me.id => {}
                                    other => {
                                        if let Some(mapped) = session_event(other) {
                                            yield Ok(mapped);
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        })
    }

    /// The agents' queue, live: first a QueueSnapshot of the WAITING sessions, then sessions
    /// entering (SessionEscalated) and leaving (SessionAssigned, SessionEnded) it. Subscribing
    /// marks the agent online (`onlineAgents`) while the subscription lives.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn support_queue_events(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<SupportQueueEvent>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let state = state(ctx).clone();
        let bus = state.bus.subscribe(tenant_id);
        let snapshot = state
            .store
            .support_queue(tenant_id, u64::try_from(MAX_QUEUE).unwrap_or(500))
            .await?;
        let presence = match principal(ctx) {
            Principal::Member { user_id, .. } => {
                Some(state.support.presence.track(tenant_id, *user_id))
            }
            _ => None,
        };
        let gauge = SubscriptionGauge::start();
        let first = futures::stream::once(futures::future::ready(Ok(
            SupportQueueEvent::QueueSnapshot(QueueSnapshot {
                sessions: snapshot
                    .into_iter()
                    .map(|(s, _)| SupportSession(s))
                    .collect(),
            }),
        )));
        let live = bus.filter_map(move |item| {
            let _held = (&gauge, &presence);
            futures::future::ready(match item {
                Ok(event) => match &*event {
                    Event::Support { event, .. } => queue_event(event).map(Ok),
                    _ => None,
                },
                Err(crate::bus::BusError::Lagged(missed)) => {
                    tracing::warn!(missed, "support queue subscriber lagged");
                    None
                }
                Err(error) => Some(Err(ApiError::Unavailable(error.to_string()).into())),
            })
        });
        Ok(first.chain(live))
    }
}
