//! The event bus: tenant-scoped events for subscriptions and workers.
//!
//! Two backends behind one type (ARCHITECTURE.md §2): in-process (a tokio broadcast channel per
//! tenant) and Redis pub/sub. With Redis every process holds exactly ONE pub/sub connection,
//! pattern-subscribed to all tenant channels, and fans messages out locally through the same
//! per-tenant hub the in-process backend uses — so a thousand GraphQL subscribers cost one Redis
//! connection, not a thousand.
//!
//! Failure behaviour: publishing never blocks or fails the caller (a mutation succeeds even when
//! Redis is down; the loss is logged and counted). When the Redis subscription drops, every local
//! subscriber receives `BusError::Disconnected` and its stream ends — never silence — while the
//! bus reconnects by itself with backoff.

mod local;
mod redis_backend;

use std::sync::Arc;

use futures::Stream;
use leadline_domain::ids::TenantId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use local::LocalHub;

/// Something that happened in a tenant, as subscribers see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Event {
    /// A lead's score moved.
    LeadScoreChanged(LeadScoreChanged),
    /// A lead's fields changed (or it was created).
    LeadUpdated {
        lead: Box<leadline_entity::leads::Model>,
    },
    /// A job changed status.
    JobUpdated {
        job: Box<leadline_entity::jobs::Model>,
    },
    /// A message was stored in a conversation (inbound, or outbound and its delivery changes).
    MessageAdded {
        message: Box<leadline_entity::messages::Model>,
    },
    /// A message's delivery status changed (SENT, DELIVERED, READ, FAILED, BLOCKED).
    MessageUpdated {
        message: Box<leadline_entity::messages::Model>,
    },
    /// A conversation's status, handler or assignee changed (or it was opened).
    ConversationUpdated {
        conversation: Box<leadline_entity::conversations::Model>,
    },
    /// Work was enqueued: wakes idle workers on every replica (published on the queue topic).
    JobsAvailable,
    /// Something happened in a live-stream session (`liveSessionEvents`).
    Live {
        /// The session it belongs to.
        session_id: Uuid,
        /// What happened.
        event: LiveEvent,
    },
    /// Something happened in a support chat session (`supportSessionEvents`,
    /// `supportQueueEvents`). Messages themselves travel as [`Event::MessageAdded`].
    Support {
        /// The session (a WEB_CHAT conversation) it belongs to.
        session_id: Uuid,
        /// What happened.
        event: SupportEvent,
    },
    /// A call's status changed, or a transcript line or its outcome arrived (`callEvents`).
    Call {
        /// The call as it is after the change.
        call: Box<leadline_entity::calls::Model>,
        /// The timeline entry.
        entry: Box<leadline_entity::call_events::Model>,
    },
    /// The tenant's AI phone agent was started or stopped (`phoneAgentStatus`).
    PhoneAgentStatus {
        /// Whether it now answers calls.
        running: bool,
        /// The member who switched it, when it was one.
        changed_by: Option<Uuid>,
        /// When.
        at: chrono::DateTime<chrono::Utc>,
    },
    /// The tenant's plan or billing status changed (`billingUpdated`), after the change that
    /// caused it (a Stripe event applied by the billing job) committed.
    BillingUpdated {
        /// The plan bought (its id).
        plan: String,
        /// The standing.
        status: leadline_domain::billing::BillingStatus,
        /// When the current period ends.
        current_period_end: Option<chrono::DateTime<chrono::Utc>>,
        /// Whether the subscription ends at the period's end.
        cancel_at_period_end: bool,
        /// When.
        at: chrono::DateTime<chrono::Utc>,
    },
    /// Someone's access to the tenant changed (removed, role changed, key revoked, lead
    /// deleted). Published after the change commits; open sockets of that principal
    /// re-authenticate and end their subscriptions if the principal is gone or changed.
    /// Publish it with [`EventBus::access_changed`].
    AccessChanged {
        /// Whose access changed.
        subject: AccessSubject,
    },
}

/// Whose access changed, in [`Event::AccessChanged`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccessSubject {
    /// A member: removed, role changed, or their sessions revoked.
    Member { user_id: Uuid },
    /// An API key: revoked (or its scopes changed).
    ApiKey { key_id: Uuid },
    /// A lead, and so the customer tokens bound to it: deleted, or its identities changed.
    Lead { lead_id: Uuid },
    /// Everyone in the tenant re-checks (for changes that are not one principal's).
    Everyone,
}

/// The scope [`Event::AccessChanged`] travels on, so sockets watching for access changes are
/// not woken by the tenant's other traffic. No conversation or session has the nil id (ours
/// are UUID v7).
pub const ACCESS_SCOPE: Uuid = Uuid::nil();

impl Event {
    /// The conversation, session, call or lead one event belongs to, if any: such events also reach the
    /// subscribers of that scope alone ([`EventBus::subscribe_scoped`]), so a subscription to one
    /// chat is not woken by every other chat of the tenant.
    pub fn scope(&self) -> Option<Uuid> {
        match self {
            Event::MessageAdded { message } | Event::MessageUpdated { message } => {
                Some(message.conversation_id)
            }
            Event::ConversationUpdated { conversation } => Some(conversation.id),
            Event::Live { session_id, .. } | Event::Support { session_id, .. } => Some(*session_id),
            Event::AccessChanged { .. } => Some(ACCESS_SCOPE),
            Event::Call { call, .. } => Some(call.id),
            // A dashboard watching one lead is not woken by the tenant's other leads.
            Event::LeadScoreChanged(change) => Some(change.lead_id),
            Event::LeadUpdated { lead } => Some(lead.id),
            Event::JobUpdated { .. }
            | Event::JobsAvailable
            | Event::PhoneAgentStatus { .. }
            | Event::BillingUpdated { .. } => None,
        }
    }
}

/// Who takes part in a support session, as the other side sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportParticipant {
    /// Customer, agent or AI (serialized under its stable name, e.g. `CUSTOMER`).
    pub kind: leadline_domain::conversation::ParticipantKind,
    /// The lead id (customer) or user id (agent); nil for the AI.
    pub id: Uuid,
    /// What to show.
    pub name: String,
}

/// What a support session's participants (and the agents' queue) are told about.
///
/// Typing is deliberately only here, never stored: it is worthless a few seconds later.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SupportEvent {
    /// A participant is typing; without a refresh it counts as stopped at `expires_at`.
    TypingStarted {
        participant: SupportParticipant,
        expires_at: chrono::DateTime<chrono::Utc>,
    },
    /// A participant stopped typing (said so, or sent their message).
    TypingStopped { participant: SupportParticipant },
    /// `reader` has read every message of the other side up to `up_to_message_id`.
    MessagesRead {
        reader: SupportParticipant,
        up_to_message_id: Uuid,
        at: chrono::DateTime<chrono::Utc>,
    },
    /// A participant opened the session's event stream.
    ParticipantJoined { participant: SupportParticipant },
    /// A participant's event stream ended.
    ParticipantLeft { participant: SupportParticipant },
    /// The AI started answering `message_id`.
    AiProcessing { message_id: Uuid },
    /// The AI finished its turn for `message_id` (with a reply, or escalated, or chose silence).
    AiCompleted {
        message_id: Uuid,
        reply_message_id: Option<Uuid>,
    },
    /// The AI turn for `message_id` failed; the job retries when `will_retry`.
    AiFailed {
        message_id: Uuid,
        error: String,
        will_retry: bool,
    },
    /// A person took the session.
    SessionAssigned {
        session: Box<leadline_entity::conversations::Model>,
        agent: SupportParticipant,
    },
    /// The AI handed the session to people: it waits in the queue with its ticket.
    SessionEscalated {
        session: Box<leadline_entity::conversations::Model>,
        ticket: Box<leadline_entity::tickets::Model>,
        reason: String,
    },
    /// The session was ended (RESOLVED).
    SessionEnded {
        session: Box<leadline_entity::conversations::Model>,
        resolution: String,
        ended_by: SupportParticipant,
    },
}

/// What a live session's dashboard is told about.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LiveEvent {
    /// A chat message was analysed and stored (outcome still RECEIVED).
    ChatMessageAnalyzed {
        /// The stored interaction.
        interaction: Box<leadline_entity::live_interactions::Model>,
    },
    /// The agent answered a chat message.
    ReplySent {
        /// The interaction with its response.
        interaction: Box<leadline_entity::live_interactions::Model>,
    },
    /// The agent stayed silent (or the send failed); the interaction says why.
    ReplySkipped {
        /// The interaction with its skip reason.
        interaction: Box<leadline_entity::live_interactions::Model>,
    },
    /// A viewer's live score moved.
    LeadScoreChanged(LeadScoreChanged),
    /// A budget threshold was crossed (quota at 80 %, session replies exhausted, …).
    LimitWarning {
        /// `LimitWarning::code` or `QUOTA_EXHAUSTED`.
        code: String,
        /// For people.
        message: String,
    },
    /// The session started (or its reader resumed).
    SessionStarted {
        /// The session row.
        session: Box<leadline_entity::live_sessions::Model>,
    },
    /// The creator switched the agent on or off (`setAgentEnabled`).
    AgentToggled {
        /// Now on.
        enabled: bool,
    },
    /// The creator answered a viewer by hand (`sendManualResponse`).
    ManualResponseSent {
        /// The viewer's name as given.
        username: String,
        /// The text sent.
        text: String,
        /// PUBLIC, WHISPER or DM.
        via: String,
    },
    /// The session stopped: by the creator, at the end of the chat, or out of quota.
    SessionStopped {
        /// The session row.
        session: Box<leadline_entity::live_sessions::Model>,
        /// Why (`STOPPED_BY_USER`, `CHAT_ENDED`, `QUOTA_EXHAUSTED`, or the platform error).
        reason: String,
    },
}

/// Payload of [`Event::LeadScoreChanged`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeadScoreChanged {
    pub lead_id: Uuid,
    pub score: i32,
    pub previous_score: i32,
    pub temperature: String,
    pub signal: String,
    pub reason: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl From<&leadline_entity::lead_score_events::Model> for LeadScoreChanged {
    /// The event for a recorded score change (one shape wherever scores move).
    fn from(event: &leadline_entity::lead_score_events::Model) -> Self {
        Self {
            lead_id: event.lead_id,
            score: event.score_after,
            previous_score: event.score_before,
            temperature: event.temperature_after.clone(),
            signal: event.signal.clone(),
            reason: event.reason.clone(),
            at: event.created_at,
        }
    }
}

/// Why a subscription stream ended or skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    /// The connection to the shared bus dropped; subscribe again once it is back.
    #[error("the event bus connection was lost; resubscribe")]
    Disconnected,
    /// This subscriber was too slow and missed events.
    #[error("the subscriber fell behind and missed {0} events")]
    Lagged(u64),
}

/// What the local hub delivers to each subscriber.
#[derive(Debug, Clone)]
pub(crate) enum Delivery {
    Event(Arc<Event>),
    /// Events of this tenant were dropped before reaching the subscriber (a publisher's queue
    /// overflowed): it must reload instead of trusting its picture.
    Missed(u64),
    Disconnected,
}

/// The bus handle: cheap to clone, shared by the whole process.
#[derive(Clone)]
pub struct EventBus {
    hub: Arc<LocalHub>,
    redis: Option<Arc<redis_backend::RedisBus>>,
}

impl EventBus {
    /// The in-process bus of the embedded default.
    pub fn in_process() -> Self {
        Self {
            hub: Arc::new(LocalHub::default()),
            redis: None,
        }
    }

    /// The Redis bus. Starts its publisher and its single subscriber connection in the
    /// background; fails only if the URL is malformed (an unreachable Redis is retried).
    pub fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let hub = Arc::new(LocalHub::default());
        let redis = redis_backend::RedisBus::start(url, prefix, hub.clone())?;
        Ok(Self {
            hub,
            redis: Some(Arc::new(redis)),
        })
    }

    /// Publishes `event` to `tenant`'s subscribers on every replica. Never blocks.
    ///
    /// This process's subscribers get it at once, before Redis sees it (they do not wait on a
    /// round trip, nor lose it when the publish queue is full); other replicas get it through
    /// Redis, and this process drops the echo.
    pub fn publish(&self, tenant: TenantId, event: Event) {
        let tenant_id = tenant.uuid();
        metrics::counter!("leadline_bus_events_published_total").increment(1);
        match &self.redis {
            Some(redis) => {
                let event = Arc::new(event);
                self.hub.deliver(tenant_id, Delivery::Event(event.clone()));
                redis.publish(tenant_id, event);
            }
            None => self
                .hub
                .deliver(tenant_id, Delivery::Event(Arc::new(event))),
        }
    }

    /// Tells every replica that `subject`'s access to `tenant_id` changed. Call it after the
    /// change commits (a socket re-reading before the commit would see the old state).
    pub fn access_changed(&self, tenant: TenantId, subject: AccessSubject) {
        self.publish(tenant, Event::AccessChanged { subject });
    }

    /// Subscribes to [`Event::AccessChanged`] of `tenant_id` only. Like every subscription,
    /// the stream ends after yielding `BusError::Disconnected`.
    pub fn subscribe_access(
        &self,
        tenant: TenantId,
    ) -> impl Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static {
        self.subscribe_scoped(tenant, ACCESS_SCOPE)
    }

    /// Subscribes to `tenant`'s events. The stream ends after yielding `BusError::Disconnected`.
    pub fn subscribe(
        &self,
        tenant: TenantId,
    ) -> impl Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static {
        let tenant_id = tenant.uuid();
        let connected = self.redis.as_ref().is_none_or(|r| r.is_subscribed());
        self.hub.subscribe(tenant_id, connected)
    }

    /// Subscribes to the events of one conversation or session of `tenant` ([`Event::scope`]):
    /// the same events as [`EventBus::subscribe`] filtered to that scope, but without waking
    /// this subscriber for the tenant's other traffic.
    pub fn subscribe_scoped(
        &self,
        tenant: TenantId,
        scope: Uuid,
    ) -> impl Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static {
        let tenant_id = tenant.uuid();
        let connected = self.redis.as_ref().is_none_or(|r| r.is_subscribed());
        self.hub.subscribe_to((tenant_id, Some(scope)), connected)
    }

    /// Whether the shared backend (Redis) answers; always true in process.
    pub async fn is_healthy(&self) -> bool {
        match &self.redis {
            Some(redis) => redis.ping().await,
            None => true,
        }
    }

    /// Which backend this is, for logs.
    pub fn backend_name(&self) -> &'static str {
        if self.redis.is_some() {
            "redis"
        } else {
            "in-process"
        }
    }
}
