//! The support session's use cases: who may see a session, who the caller is to the other side,
//! and opening, writing in, typing in, reading, assigning, ending and exporting a session; and
//! which agents are online.
//!
//! A session is a WEB_CHAT conversation, so the agent's reply, the eligibility of an agent and
//! the `ConversationUpdated` publication are `services::conversation`'s; what is added here is
//! the customer's side (web chat switched on for visitors, per-customer rate and per-session
//! cap, the AI job), assignment with capacity, the end note, and the session's own events.
//!
//! Must not: see GraphQL types (resolvers parse and map), speak SQL (the store does), or decide
//! escalation (the AI turn and the domain do).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures::Stream;
use leadline_domain::channel::{Channel, ConnectionStatus};
use leadline_domain::conversation::{ConversationStatus, Handler, ParticipantKind};
use leadline_domain::ids::TenantId;
use leadline_domain::messaging::SenderKind;
use leadline_entity::{conversations, messages, users};
use serde_json::json;
use uuid::Uuid;

use super::context::{transcript_json, transcript_text};
use super::presence::PresenceGuard;
use crate::auth::{Actor, Principal};
use crate::bus::{BusError, Event, SupportEvent, SupportParticipant};
use crate::error::{ApiError, ApiResult};
use crate::services::conversation::{self, publish_conversation, AgentReply};
use crate::state::AppState;
use crate::store::support::{AssignRefusal, CustomerMessageLimits, ReadSide};
use crate::store::{ConversationChange, OutboundMessage, Store, Stored};

/// The WEB_CHAT identity prefix of anonymous visitors.
pub const VISITOR_PREFIX: &str = "visitor:";

const WEB_CHAT_DISABLED: &str = "this tenant has not enabled web chat for visitors (an owner or \
     admin turns it on with upsertChannelConnection(input: {channel: WEB_CHAT, status: CONNECTED}))";

/// Most messages a transcript holds.
const TRANSCRIPT_CAP: u64 = 10_000;

/// What customers see for an agent who has no display name.
const AGENT_FALLBACK_NAME: &str = "Agent";

/// Who is calling a support operation.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    /// A customer: only their own lead's sessions.
    Customer { tenant_id: TenantId, lead_id: Uuid },
    /// A member or an API key of the tenant.
    Staff { tenant_id: TenantId },
}

impl Viewer {
    /// The tenant the caller belongs to.
    pub fn tenant_id(self) -> TenantId {
        match self {
            Viewer::Customer { tenant_id, .. } | Viewer::Staff { tenant_id } => tenant_id,
        }
    }

    /// The only lead whose sessions the caller may see (customers), or none (staff).
    fn lead_filter(self) -> Option<Uuid> {
        match self {
            Viewer::Customer { lead_id, .. } => Some(lead_id),
            Viewer::Staff { .. } => None,
        }
    }
}

/// The session `id`, if `viewer` may see it: another customer's session is NOT_FOUND, exactly
/// like another tenant's.
pub async fn visible_session(
    store: &Store,
    viewer: Viewer,
    id: Uuid,
) -> ApiResult<conversations::Model> {
    store
        .support_session(viewer.tenant_id(), id, viewer.lead_filter())
        .await
}

/// FORBIDDEN unless the tenant has switched web chat on for anonymous visitors: a WEB_CHAT
/// channel connection in status CONNECTED. Off by default, so a tenant that never asked for a
/// public chat does not get leads (and AI spend) from anyone who knows its slug.
pub async fn ensure_web_chat_enabled(store: &Store, tenant_id: TenantId) -> ApiResult<()> {
    let enabled = store
        .channel_connection_for(tenant_id, Channel::WebChat)
        .await?
        .is_some_and(|c| c.status == ConnectionStatus::Connected.as_str());
    if enabled {
        Ok(())
    } else {
        Err(ApiError::Forbidden(WEB_CHAT_DISABLED.into()))
    }
}

/// Whether `principal` is an anonymous visitor (not a customer the tenant's backend vouched for
/// with `createCustomerToken`).
pub fn is_visitor(principal: &Principal) -> bool {
    matches!(principal, Principal::Customer { external_id, .. } if external_id.starts_with(VISITOR_PREFIX))
}

/// The caller as a participant the other side sees.
pub async fn participant(store: &Store, principal: &Principal) -> ApiResult<SupportParticipant> {
    match principal {
        Principal::Customer {
            tenant_id, lead_id, ..
        } => Ok(SupportParticipant {
            kind: ParticipantKind::Customer,
            id: *lead_id,
            name: store.lead(*tenant_id, *lead_id).await?.name,
        }),
        Principal::Member { user_id, .. } => agent_participant(store, *user_id).await,
        Principal::ApiKey { key_id, .. } => Ok(SupportParticipant {
            kind: ParticipantKind::Agent,
            id: *key_id,
            name: "API".into(),
        }),
        Principal::CallAgent { .. } => Err(ApiError::Forbidden(
            "a call token can only report on its call".into(),
        )),
        Principal::Anonymous => Err(ApiError::Unauthenticated("sign in first".into())),
    }
}

/// An agent as both sides see them: by display name only. Never the e-mail, not even as a
/// fallback — participants reach customers (events, `agent`, the end-of-chat note), and an
/// agent's address is the tenant's, not the customer's to collect.
pub async fn agent_participant(store: &Store, user_id: Uuid) -> ApiResult<SupportParticipant> {
    let user = store.user(user_id).await?;
    Ok(SupportParticipant {
        kind: ParticipantKind::Agent,
        id: user_id,
        name: user
            .and_then(|u| u.name)
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| AGENT_FALLBACK_NAME.into()),
    })
}

fn publish(state: &AppState, tenant_id: TenantId, session_id: Uuid, event: SupportEvent) {
    state
        .bus
        .publish(tenant_id, Event::Support { session_id, event });
}

fn ensure_open(session: &conversations::Model) -> ApiResult<()> {
    if ConversationStatus::stored(&session.status)?.is_open() {
        Ok(())
    } else {
        Err(ApiError::Conflict("this support session has ended".into()))
    }
}

/// Opens a session for the customer `lead_id` with the AI, or returns their open one (false).
/// The caller has refused a visitor whose tenant switched web chat off
/// ([`ensure_web_chat_enabled`]).
pub async fn open_session(
    state: &AppState,
    tenant_id: TenantId,
    lead_id: Uuid,
    subject: Option<String>,
) -> ApiResult<(conversations::Model, bool)> {
    let (session, created) = state
        .store
        .open_support_session(tenant_id, lead_id, subject)
        .await?;
    if created {
        publish_conversation(&state.bus, &session);
    }
    Ok((session, created))
}

/// A message for a session: validated text and the sender's idempotency key.
#[derive(Debug, Clone)]
pub struct NewSupportMessage {
    /// The text.
    pub text: String,
    /// The sender's idempotency key.
    pub client_message_id: String,
}

/// Writes in `session` (already authorised for `viewer`): as the customer (limited per customer
/// and per session; the AI's job enqueued while it handles the session), or as an agent (the
/// shared agent reply, which also picks a WAITING session up). Returns the message and whether
/// this call stored it.
pub async fn send_message(
    state: &AppState,
    principal: &Principal,
    viewer: Viewer,
    session: &conversations::Model,
    message: NewSupportMessage,
) -> ApiResult<(messages::Model, bool)> {
    let tenant_id = TenantId(session.tenant_id);
    let Viewer::Customer { lead_id, .. } = viewer else {
        let reply = AgentReply {
            text: message.text,
            client_message_id: Some(message.client_message_id),
            // An agent answering a WAITING session has picked it up.
            picks_up_waiting: true,
        };
        let (message, created, _) =
            conversation::agent_reply(state, principal.actor(), session, reply).await?;
        return Ok((message, created));
    };
    let connection = state
        .store
        .channel_connection_for(tenant_id, Channel::WebChat)
        .await?;
    if is_visitor(principal)
        && connection
            .as_ref()
            .is_none_or(|c| c.status != ConnectionStatus::Connected.as_str())
    {
        return Err(ApiError::Forbidden(WEB_CHAT_DISABLED.into()));
    }
    let ai_enabled = connection.is_none_or(|c| c.ai_enabled);
    // Taken before the store's transaction (the limiter may live in Redis); the store applies
    // it only to a new message, so a retry of an accepted one still gets its answer.
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
            message.text,
            message.client_message_id,
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
    if stored.created {
        // One event per message: subscribers end the sender's typing indicator themselves
        // when the message arrives, so no TypingStopped is published here.
        state.bus.publish(
            tenant_id,
            Event::MessageAdded {
                message: Box::new(stored.message.clone()),
            },
        );
    }
    Ok((stored.message, stored.created))
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
        Principal::CallAgent { call_id, .. } => format!("call:{call_id}"),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

/// Refuses a `setTyping` over the caller's rate (per caller, across replicas: every call is a
/// bus event fanned out to subscribers). Checked before the session is looked up.
pub async fn check_typing_rate(state: &AppState, principal: &Principal) -> ApiResult<()> {
    state.limits.typing.check(&typing_key(principal)).await
}

/// Shows (or stops showing) the caller as typing in an open `session`. Nothing is stored; each
/// subscriber expires the indicator itself (`feed`).
pub async fn set_typing(
    state: &AppState,
    principal: &Principal,
    session: &conversations::Model,
    typing: bool,
) -> ApiResult<()> {
    ensure_open(session)?;
    let who = participant(&state.store, principal).await?;
    let event = if typing {
        let ttl = chrono::Duration::from_std(state.config.typing_ttl)
            .unwrap_or(chrono::Duration::seconds(5));
        SupportEvent::TypingStarted {
            participant: who,
            expires_at: Utc::now() + ttl,
        }
    } else {
        SupportEvent::TypingStopped { participant: who }
    };
    publish(state, TenantId(session.tenant_id), session.id, event);
    Ok(())
}

/// A read receipt: the caller read the other side's messages up to `up_to`. Returns how many
/// became read (0 for a repeat, which tells nobody).
pub async fn mark_read(
    state: &AppState,
    principal: &Principal,
    viewer: Viewer,
    session: &conversations::Model,
    up_to: Uuid,
) -> ApiResult<u64> {
    let side = match viewer {
        Viewer::Customer { .. } => ReadSide::CustomerReads,
        Viewer::Staff { .. } => ReadSide::AgentReads,
    };
    let marked = state
        .store
        .mark_support_read(TenantId(session.tenant_id), session.id, up_to, side)
        .await?;
    if marked > 0 {
        let reader = participant(&state.store, principal).await?;
        publish(
            state,
            TenantId(session.tenant_id),
            session.id,
            SupportEvent::MessagesRead {
                reader,
                up_to_message_id: up_to,
                at: Utc::now(),
            },
        );
    }
    Ok(marked)
}

/// Gives session `session_id` to `named` (default: the caller): ACTIVE, handled by a person,
/// its tickets IN PROGRESS. CONFLICT when the session has ended, when another agent has it and
/// nobody was named (a named agent reassigns), when the agent is at capacity, or when it
/// changed hands meanwhile. Audited by the store (`support_session.assigned`).
pub async fn assign(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    named: Option<Uuid>,
    actor: Actor,
) -> ApiResult<conversations::Model> {
    let reassign = named.is_some();
    let agent = conversation::agent_or_caller(named, actor)?;
    let store = &state.store;
    let session = store.support_session(tenant_id, session_id, None).await?;
    ensure_open(&session)?;
    conversation::ensure_can_handle(store, tenant_id, agent, "sessions").await?;
    if let Some(current) = session.assignee_user_id {
        if current != agent && !reassign && Handler::stored(&session.handled_by)? == Handler::Human
        {
            return Err(ApiError::Conflict(
                "another agent has this session; name agentId to reassign it".into(),
            ));
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
            actor,
        )
        .await?
    {
        Ok(session) => session,
        Err(AssignRefusal::AtCapacity { load }) => {
            return Err(ApiError::Conflict(format!(
                "the agent already holds {load} open sessions (capacity {capacity})"
            )))
        }
        Err(AssignRefusal::TakenMeanwhile) => {
            return Err(ApiError::Conflict(
                "the session changed hands meanwhile; reload and retry".into(),
            ))
        }
    };
    let agent = agent_participant(store, agent).await?;
    publish_conversation(&state.bus, &session);
    publish(
        state,
        tenant_id,
        session.id,
        SupportEvent::SessionAssigned {
            session: Box::new(session.clone()),
            agent,
        },
    );
    Ok(session)
}

/// Ends `session` (already authorised): RESOLVED, its tickets resolved, the resolution kept in
/// the transcript as a SYSTEM note. An ended session comes back unchanged. Audited by the store
/// (`support_session.ended`).
pub async fn end(
    state: &AppState,
    principal: &Principal,
    session: conversations::Model,
    resolution: String,
) -> ApiResult<conversations::Model> {
    if !ConversationStatus::stored(&session.status)?.is_open() {
        return Ok(session);
    }
    let ended_by = participant(&state.store, principal).await?;
    let tenant_id = TenantId(session.tenant_id);
    // The note first, keyed on the session, then the status: a retry after a failure in
    // between finds the note and finishes the job.
    let (note, created, _) = state
        .store
        .add_outbound(
            tenant_id,
            session.id,
            OutboundMessage {
                sender_kind: SenderKind::System,
                sender_user_id: principal.actor().user_id,
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
            principal.actor(),
            json!({
                "leadId": session.lead_id,
                "resolution": resolution,
                "endedBy": { "kind": ended_by.kind, "id": ended_by.id },
            }),
        )
        .await?;
    publish_conversation(&state.bus, &session);
    publish(
        state,
        tenant_id,
        session.id,
        SupportEvent::SessionEnded {
            session: Box::new(session.clone()),
            resolution,
            ended_by,
        },
    );
    Ok(session)
}

/// A session's transcript.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The text, or the JSON array as text.
    pub content: String,
    /// Messages in it.
    pub message_count: usize,
    /// True when the session had more than the cap (the first ones are included).
    pub truncated: bool,
}

/// The transcript of `session` (already authorised): one `[time] Who: text` line per message,
/// or (`as_json`) a JSON array; at most 10,000 messages.
pub async fn transcript(
    store: &Store,
    session: &conversations::Model,
    as_json: bool,
) -> ApiResult<Transcript> {
    let mut messages = store
        .support_transcript_messages(TenantId(session.tenant_id), session.id, TRANSCRIPT_CAP + 1)
        .await?;
    let truncated = messages.len() as u64 > TRANSCRIPT_CAP;
    messages.truncate(TRANSCRIPT_CAP as usize);
    let content = if as_json {
        transcript_json(&messages).to_string()
    } else {
        transcript_text(&messages)
    };
    Ok(Transcript {
        content,
        message_count: messages.len(),
        truncated,
    })
}

/// The tenant's agents online now (on any replica), with their last heartbeat; someone removed
/// from the tenant meanwhile is not shown.
pub async fn online_agents(
    state: &AppState,
    tenant_id: TenantId,
) -> ApiResult<Vec<(users::Model, DateTime<Utc>)>> {
    let mut agents = Vec::new();
    for online in state.support.presence.online(tenant_id).await {
        if state
            .store
            .membership(tenant_id, online.user_id)
            .await?
            .is_none()
        {
            continue;
        }
        if let Some(user) = state.store.user(online.user_id).await? {
            agents.push((user, online.last_seen_at));
        }
    }
    Ok(agents)
}

/// The agents' queue as a subscriber opens it.
pub struct OpenedQueue<S> {
    /// WAITING sessions, oldest wait first.
    pub waiting: Vec<conversations::Model>,
    /// The tenant's events from before `waiting` was read (so none falls in between).
    pub events: S,
    /// Keeps a member online while the subscription holds it.
    pub presence: Option<PresenceGuard>,
}

/// Opens the agents' queue of `tenant_id` (at most `limit` sessions); `member` is the
/// subscriber's user id when it is a member (then counted online).
pub async fn open_queue(
    state: &AppState,
    tenant_id: TenantId,
    limit: u64,
    member: Option<Uuid>,
) -> ApiResult<OpenedQueue<impl Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static>> {
    // Subscribe before reading: an escalation in between is then delivered, not lost.
    let events = state.bus.subscribe(tenant_id);
    let waiting = state
        .store
        .support_queue(tenant_id, limit)
        .await?
        .into_iter()
        .map(|(session, _)| session)
        .collect();
    let presence = member.map(|user_id| state.support.presence.track(tenant_id, user_id));
    Ok(OpenedQueue {
        waiting,
        events,
        presence,
    })
}
