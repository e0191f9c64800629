//! The support chat's GraphQL types: sessions and messages as both sides see them, the events
//! of the two subscriptions, and the operations' inputs and payloads. The mapping from the
//! services' values (bus events, feed items) to these types lives here too.
//!
//! Must not: decide anything (the use cases are `services::support`'s) or show a customer the
//! tenant's internals (see `graphql::inbox::is_customer`).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Union, ID};
use chrono::{DateTime, Utc};
use leadline_domain::ids::TenantId;
use leadline_entity::{conversations, messages, tickets};
use uuid::Uuid;

use super::super::inbox::{is_customer, ConversationStatus, SenderKind, Ticket};
use super::super::types::Handler;
use super::super::types::{mirror_enum, User};
use super::super::{connection, state, tenant_for, IdConnection};
use crate::auth::Access;
use crate::bus::{SupportEvent, SupportParticipant};
use crate::error::ApiResult;
use crate::services::support::session::agent_participant;
use crate::services::support::FeedItem;
use crate::store::support::waiting_since;
use crate::store::PageRequest;

mirror_enum!(
    /// Who takes part in a session.
    ParticipantKind => leadline_domain::conversation::ParticipantKind {
        /// The tenant's end-user (signed-in customer or anonymous visitor).
        Customer,
        /// A member of the tenant (or an API key acting for one).
        Agent,
        /// The AI assistant.
        Ai,
    }
);

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
            kind: p.kind.into(),
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
            .lead(TenantId(self.0.tenant_id), self.0.lead_id)
            .await?
            .name)
    }
    /// The agent in charge, as the customer sees them: display name, never the e-mail (null
    /// while the AI or nobody handles it).
    async fn agent(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Participant>> {
        match self.0.assignee_user_id {
            Some(user_id) if Handler::from_stored(&self.0.handled_by)? == Handler::Human => {
                let agent = agent_participant(&state(ctx).store, user_id).await?;
                Ok(Some((&agent).into()))
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
        if ConversationStatus::from_stored(&self.0.status)? != ConversationStatus::Waiting {
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
            .conversation_messages(TenantId(self.0.tenant_id), self.0.id, request)
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
        .latest_session_tickets(TenantId(session.tenant_id), vec![session.id])
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
pub(super) fn session_event(event: &SupportEvent) -> Option<SupportSessionEvent> {
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
pub(super) fn queue_event(event: &SupportEvent) -> Option<SupportQueueEvent> {
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

impl SupportSessionEvent {
    /// What a feed item shows the subscriber (nothing for events it does not map).
    pub(super) fn from_feed(item: FeedItem) -> Option<Self> {
        Some(match item {
            FeedItem::Message(message) => SupportSessionEvent::MessageAdded(MessageAdded {
                message: SupportMessage(*message),
            }),
            FeedItem::TypingStarted {
                participant,
                expires_at,
            } => SupportSessionEvent::TypingStarted(TypingStarted {
                participant: (&participant).into(),
                expires_at,
            }),
            FeedItem::TypingStopped {
                participant,
                expired,
            } => SupportSessionEvent::TypingStopped(TypingStopped {
                participant: (&participant).into(),
                expired,
            }),
            FeedItem::Session(event) => return session_event(&event),
            // Not an event: the subscription's lag policy turns it into an error item.
            FeedItem::Lagged { .. } => return None,
        })
    }
}
