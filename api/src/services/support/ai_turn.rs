//! The support chat's view of an AI turn (`services::inbox::ai_turn`): the WEB_CHAT
//! [`TurnObserver`]. It gives the AI the customer's profile and recent tickets, and tells the
//! session's subscribers how the turn goes (`AiProcessing`, then `AiCompleted` or `AiFailed` —
//! after leaving the customer one clear message, while the job retries) and the agents' queue
//! about an escalation (`SessionEscalated`).
//!
//! Must not: decide anything about the turn (whether to answer, escalate or retry is the AI
//! turn's and the domain's), or fail it: these are notifications, and a notice that cannot be
//! stored is logged while the `AiFailed` event still goes out.

use leadline_domain::ids::TenantId;
use leadline_entity::{conversations, jobs, tickets};
use serde_json::json;
use uuid::Uuid;

use super::context::{customer_context, CONTEXT_TICKETS};
use crate::bus::{Event, SupportEvent};
use crate::jobs::JobFailure;
use crate::services::inbox::ai_turn::TurnObserver;
use crate::state::AppState;
use crate::store::{ConversationChange, OutboundMessage};
use leadline_domain::messaging::SenderKind;

/// What a support-chat customer is told when the AI cannot answer right now (once per message;
/// the turn is retried and answers when it can).
pub const AI_FAILED_TEXT: &str = "Sorry, our assistant can't answer right now. We'll reply here as soon as possible, or a member of our team will help you.";

/// Client message id of the notice that the AI could not answer inbound message `id`.
fn failure_notice_key(id: Uuid) -> String {
    format!("ai-failed:{id}")
}

/// The WEB_CHAT observer of AI turns (see the module docs).
pub struct WebChatTurns {
    state: AppState,
}

impl WebChatTurns {
    /// The observer, over the shared state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Publishes a support-chat event of `session`.
    fn publish(&self, session: &conversations::Model, event: SupportEvent) {
        self.state.bus.publish(
            TenantId(session.tenant_id),
            Event::Support {
                session_id: session.id,
                event,
            },
        );
    }
}

#[async_trait::async_trait]
impl TurnObserver for WebChatTurns {
    async fn context(
        &self,
        conversation: &conversations::Model,
    ) -> Result<Option<String>, JobFailure> {
        let store = &self.state.store;
        let lead = store
            .lead(TenantId(conversation.tenant_id), conversation.lead_id)
            .await
            .map_err(JobFailure::from)?;
        let tickets = store
            .lead_recent_tickets(
                TenantId(conversation.tenant_id),
                conversation.lead_id,
                CONTEXT_TICKETS,
            )
            .await
            .map_err(JobFailure::from)?;
        Ok(Some(customer_context(&lead, &tickets)))
    }

    fn processing(&self, conversation: &conversations::Model, trigger_id: Uuid) {
        self.publish(
            conversation,
            SupportEvent::AiProcessing {
                message_id: trigger_id,
            },
        );
    }

    fn completed(
        &self,
        conversation: &conversations::Model,
        trigger_id: Uuid,
        reply_id: Option<Uuid>,
    ) {
        self.publish(
            conversation,
            SupportEvent::AiCompleted {
                message_id: trigger_id,
                reply_message_id: reply_id,
            },
        );
    }

    /// Leaves the customer one clear message (once per inbound message, however many retries)
    /// and tells the session's subscribers that this turn failed and whether it is retried.
    async fn failed(
        &self,
        job: &jobs::Model,
        conversation: &conversations::Model,
        trigger_id: Uuid,
        failure: &JobFailure,
    ) {
        let (error, will_retry) = match failure {
            JobFailure::Retry(text) => (text.clone(), job.attempts < job.max_attempts),
            JobFailure::Permanent(text) => (text.clone(), false),
        };
        let notice = self
            .state
            .store
            .add_outbound(
                TenantId(conversation.tenant_id),
                conversation.id,
                OutboundMessage {
                    sender_kind: SenderKind::System,
                    sender_user_id: None,
                    body: AI_FAILED_TEXT.to_owned(),
                    client_message_id: Some(failure_notice_key(trigger_id)),
                    metadata: json!({ "inReplyTo": trigger_id, "aiFailed": error }),
                },
                ConversationChange::default(),
                // WEB_CHAT: delivered by the subscriptions, no send job.
                |_| None,
            )
            .await;
        match notice {
            Ok((message, true, _)) => self.state.bus.publish(
                TenantId(conversation.tenant_id),
                Event::MessageAdded {
                    message: Box::new(message),
                },
            ),
            Ok(_) => {}
            // The AiFailed event below still tells the subscribers; the retry tries again.
            Err(error) => tracing::warn!(error = ?error, "could not store the AI-failure notice"),
        }
        self.publish(
            conversation,
            SupportEvent::AiFailed {
                message_id: trigger_id,
                error,
                will_retry,
            },
        );
    }

    fn escalated(&self, session: &conversations::Model, ticket: &tickets::Model, reason: String) {
        // Into the agents' support queue.
        self.publish(
            session,
            SupportEvent::SessionEscalated {
                session: Box::new(session.clone()),
                ticket: Box::new(ticket.clone()),
                reason,
            },
        );
    }
}
