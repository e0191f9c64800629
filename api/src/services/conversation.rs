//! Conversations as agents work them, shared by the inbox and the support chat (a support
//! session is a WEB_CHAT conversation): the agent's reply, who may handle a conversation,
//! assignment, hand-back to the AI, resolution, and the one `ConversationUpdated` publication
//! that follows every change.
//!
//! Must not: see GraphQL or HTTP types (callers pass parsed ids and the principal's `Actor`),
//! speak SQL (the store does), or talk to a platform (a reply's send job does, after commit).

use leadline_domain::channel::Channel;
use leadline_domain::conversation::{ConversationStatus, Handler};
use leadline_domain::ids::{ConversationId, LeadId, TenantId, UserId};
use leadline_domain::messaging::SenderKind;
use leadline_entity::{conversations, messages};
use serde_json::json;

use crate::auth::Actor;
use crate::bus::{Event, EventBus};
use crate::error::{ApiError, ApiResult};
use crate::services::inbox::{send_job, send_job_kind};
use crate::state::AppState;
use crate::store::{ConversationChange, OutboundMessage, Store, Stored};

/// Tells the inbox's views (and the support queue's) that `conversation` changed or is new.
pub fn publish_conversation(bus: &EventBus, conversation: &conversations::Model) {
    bus.publish(
        TenantId(conversation.tenant_id),
        Event::ConversationUpdated {
            conversation: Box::new(conversation.clone()),
        },
    );
}

/// Who wrote `message`, as a transcript line names them: the inbox's escalation tickets and the
/// support chat's transcripts read alike.
pub fn author(message: &messages::Model) -> &'static str {
    // A transcript line for a value this build does not know still reads sensibly.
    match SenderKind::parse(&message.sender_kind) {
        Ok(SenderKind::Lead) => "Customer",
        Ok(SenderKind::Ai) => "AI",
        Ok(SenderKind::Agent) => "Agent",
        Ok(SenderKind::System) | Err(_) => "System",
    }
}

/// An agent's reply, already validated by the caller.
#[derive(Debug, Clone)]
pub struct AgentReply {
    /// The text.
    pub text: String,
    /// The sender's idempotency key.
    pub client_message_id: Option<String>,
    /// Whether replying to a WAITING conversation makes it ACTIVE. The support chat's agent
    /// has picked the session up from the queue by answering; the inbox keeps the status until
    /// someone assigns or resolves it (each area's documented behaviour).
    pub picks_up_waiting: bool,
}

/// A stored reply: the message, whether this call stored it (false for a repeated
/// `client_message_id`), and the conversation after it.
pub type ReplyOutcome = (messages::Model, bool, conversations::Model);

/// Stores an agent's reply in `conversation`: handled by a HUMAN from now on (which pauses the
/// AI there), assigned to the writing member when nobody has it (an API key takes nobody), with
/// its `send_{channel}` job in the same transaction on channels we send to. The store checks
/// the status inside its transaction, after the idempotency lookup, so a retried send still
/// gets its first answer. Publishes `MessageAdded` then `ConversationUpdated` for a new message
/// and wakes the workers when a job was enqueued.
pub async fn agent_reply(
    state: &AppState,
    actor: Actor,
    conversation: &conversations::Model,
    reply: AgentReply,
) -> ApiResult<ReplyOutcome> {
    let tenant_id = TenantId(conversation.tenant_id);
    let channel = Channel::stored(&conversation.channel)?;
    // The same job (kind, payload, idempotency key) the AI turn enqueues for its replies.
    let sends = send_job_kind(channel).is_some();
    // The plan gate for outbound messages, on the channels the inbox sends to (a support-chat
    // reply is delivered by subscription and never refused). A text goes out from the phone
    // agent's number, so it needs the phone agent (`domain::billing::reply_feature`).
    if sends {
        let (feature, on) = leadline_domain::billing::reply_feature(channel);
        crate::services::billing::require_feature(state, tenant_id, feature, on).await?;
        crate::services::billing::require_quota(
            state,
            tenant_id,
            leadline_domain::billing::UsageItem::MessagesSent,
            1,
        )
        .await?;
    }
    if channel == Channel::Twilio {
        sms_reply_allowed(state, tenant_id, conversation, &reply.text).await?;
    }
    let metadata = match actor.api_key_id {
        Some(key_id) => json!({ "apiKeyId": key_id }),
        None => json!({}),
    };
    let change = ConversationChange {
        handled_by: Some(Handler::Human),
        status: (reply.picks_up_waiting
            && ConversationStatus::stored(&conversation.status)? == ConversationStatus::Waiting)
            .then_some(ConversationStatus::Active),
        // The first agent to answer takes the conversation; an API key takes nobody.
        assignee_user_id: match (conversation.assignee_user_id, actor.user_id) {
            (None, Some(user_id)) => Some(Some(UserId(user_id))),
            _ => None,
        },
        ..Default::default()
    };
    let outbound = OutboundMessage {
        sender_kind: SenderKind::Agent,
        sender_user_id: actor.user_id.map(UserId),
        body: reply.text,
        client_message_id: reply.client_message_id,
        metadata,
    };
    // WEB_CHAT has no platform to send to (`send_job` is None): subscriptions deliver it.
    let (message, created, conversation) = state
        .store
        .add_outbound(
            tenant_id,
            ConversationId(conversation.id),
            outbound,
            change,
            |message| send_job(tenant_id, channel, message.id),
        )
        .await?;
    if created {
        state.bus.publish(
            tenant_id,
            Event::MessageAdded {
                message: Box::new(message.clone()),
            },
        );
        publish_conversation(&state.bus, &conversation);
        if sends {
            state.jobs.wake().await;
        }
    }
    Ok((message, created, conversation))
}

/// What a text reply must pass before it is stored (its send job checks the opt-out again, in
/// the send gate, in case the number opts out meanwhile): Twilio's body limit, and the lead's
/// number not opted out of texts (it texted STOP: CONFLICT, nothing stored).
async fn sms_reply_allowed(
    state: &AppState,
    tenant_id: TenantId,
    conversation: &conversations::Model,
    text: &str,
) -> ApiResult<()> {
    let max = leadline_twilio::messaging::MAX_BODY_CHARS;
    if text.chars().count() > max {
        return Err(ApiError::bad_input(
            "text",
            format!("a text message is at most {max} characters"),
        ));
    }
    let identity = state
        .store
        .lead_identity(tenant_id, LeadId(conversation.lead_id), Channel::Twilio)
        .await;
    let number = match identity {
        Ok(identity) => identity.external_id,
        // No number to text: the send job records why (FAILED), as on the other channels.
        Err(ApiError::NotFound(_)) => return Ok(()),
        Err(error) => return Err(error),
    };
    if state.store.is_do_not_call(tenant_id, &number).await? {
        return Err(ApiError::Conflict(format!(
            "OPTED_OUT: {number} texted STOP and is on the do-not-call list; it may not be texted"
        )));
    }
    Ok(())
}

/// The input field that names the agent of an assignment, in the inbox and the support chat
/// alike (`assignConversation`, `assignSupportSession`): errors about the agent point at it.
pub const AGENT_FIELD: &str = "agentId";

/// The agent an assignment names: `named`, else the calling member. An API key must name one
/// (BAD_USER_INPUT on [`AGENT_FIELD`]).
pub fn agent_or_caller(named: Option<UserId>, actor: Actor) -> ApiResult<UserId> {
    match named {
        Some(agent) => Ok(agent),
        None => actor.user_id.map(UserId).ok_or_else(|| {
            ApiError::bad_input(AGENT_FIELD, "required when calling with an API key")
        }),
    }
}

/// Refuses (BAD_USER_INPUT on [`AGENT_FIELD`]) an agent who is not a member of the tenant or is
/// a VIEWER; `what` names what they would handle ("conversations", "sessions").
pub async fn ensure_can_handle(
    store: &Store,
    tenant_id: TenantId,
    agent: UserId,
    what: &str,
) -> ApiResult<()> {
    let membership = store
        .membership(tenant_id, agent)
        .await?
        .ok_or_else(|| ApiError::bad_input(AGENT_FIELD, "not a member of this tenant"))?;
    if membership.role == leadline_domain::tenant::Role::Viewer.as_str() {
        return Err(ApiError::bad_input(
            AGENT_FIELD,
            format!("a VIEWER cannot handle {what}"),
        ));
    }
    Ok(())
}

/// The conversation, refused with CONFLICT when it is RESOLVED or CLOSED (`doing` completes
/// the message, e.g. "assign it").
async fn open_conversation(
    store: &Store,
    tenant_id: TenantId,
    id: ConversationId,
    doing: &str,
) -> ApiResult<conversations::Model> {
    let conversation = store.conversation(tenant_id, id).await?;
    if !ConversationStatus::stored(&conversation.status)?.is_open() {
        return Err(ApiError::Conflict(format!(
            "this conversation is {}: you cannot {doing} here; the lead's next message opens a \
             new conversation",
            conversation.status.to_lowercase()
        )));
    }
    Ok(conversation)
}

/// Assigns an open conversation to `named` (default: the caller) and hands it to a HUMAN.
/// Audited (`conversation.assigned`).
pub async fn assign(
    state: &AppState,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    named: Option<UserId>,
    actor: Actor,
) -> ApiResult<conversations::Model> {
    let agent = agent_or_caller(named, actor)?;
    let store = &state.store;
    open_conversation(store, tenant_id, conversation_id, "assign it").await?;
    ensure_can_handle(store, tenant_id, agent, "conversations").await?;
    let change = ConversationChange {
        handled_by: Some(Handler::Human),
        assignee_user_id: Some(Some(agent)),
        ..Default::default()
    };
    apply(
        state,
        tenant_id,
        conversation_id,
        change,
        actor,
        "conversation.assigned",
    )
    .await
}

/// Hands an open conversation back to the AI: ACTIVE, handled by the AI, unassigned. Audited
/// (`conversation.handed_back_to_ai`).
pub async fn hand_back_to_ai(
    state: &AppState,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    actor: Actor,
) -> ApiResult<conversations::Model> {
    let store = &state.store;
    open_conversation(store, tenant_id, conversation_id, "hand it back to the AI").await?;
    let change = ConversationChange {
        status: Some(ConversationStatus::Active),
        handled_by: Some(Handler::Ai),
        assignee_user_id: Some(None),
        ..Default::default()
    };
    apply(
        state,
        tenant_id,
        conversation_id,
        change,
        actor,
        "conversation.handed_back_to_ai",
    )
    .await
}

/// Applies an agent's change to a conversation (audited as `audit_action`) and tells its
/// subscribers.
async fn apply(
    state: &AppState,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    change: ConversationChange,
    actor: Actor,
    audit_action: &str,
) -> ApiResult<conversations::Model> {
    let conversation = state
        .store
        .change_conversation(tenant_id, conversation_id, change, actor, audit_action)
        .await?;
    publish_conversation(&state.bus, &conversation);
    Ok(conversation)
}

/// Marks the conversation RESOLVED. A RESOLVED one comes back unchanged (nothing published);
/// a CLOSED one is CONFLICT. Audited (`conversation.resolved`).
pub async fn resolve(
    state: &AppState,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    actor: Actor,
) -> ApiResult<conversations::Model> {
    let store = &state.store;
    let current = store.conversation(tenant_id, conversation_id).await?;
    match ConversationStatus::stored(&current.status)? {
        ConversationStatus::Resolved => return Ok(current),
        ConversationStatus::Closed => {
            return Err(ApiError::Conflict(
                "this conversation is closed; it cannot be resolved".into(),
            ))
        }
        ConversationStatus::Active | ConversationStatus::Waiting => {}
    }
    let change = ConversationChange {
        status: Some(ConversationStatus::Resolved),
        ..Default::default()
    };
    apply(
        state,
        tenant_id,
        conversation_id,
        change,
        actor,
        "conversation.resolved",
    )
    .await
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    fn written_by(sender_kind: &str) -> messages::Model {
        let at = chrono::Utc::now();
        messages::Model {
            id: Uuid::now_v7(),
            tenant_id: Uuid::now_v7(),
            conversation_id: Uuid::now_v7(),
            channel: "WEB_CHAT".into(),
            direction: "OUTBOUND".into(),
            sender_kind: sender_kind.into(),
            sender_user_id: None,
            body: "hi".into(),
            platform_message_id: None,
            client_message_id: None,
            delivery_status: "SENT".into(),
            delivery_error: None,
            read_at: None,
            metadata: json!({}),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn a_transcript_names_every_sender_kind_and_reads_an_unknown_one_as_system() {
        for (kind, label) in [
            (SenderKind::Lead.as_str(), "Customer"),
            (SenderKind::Ai.as_str(), "AI"),
            (SenderKind::Agent.as_str(), "Agent"),
            (SenderKind::System.as_str(), "System"),
            ("ROBOT", "System"),
        ] {
            assert_eq!(author(&written_by(kind)), label, "{kind}");
        }
    }
}
