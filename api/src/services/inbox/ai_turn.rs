//! The `ai_response` job: the AI's turn after a customer's message (ARCHITECTURE.md §5).
//!
//! One run: load the conversation; skip when it is no longer the AI's to answer (not ACTIVE,
//! handled by a human) or when a later customer message arrived (that message's own job answers,
//! so a burst gets one reply, not one per line). Ask `AiService::suggest_reply` with the recent
//! history; apply the analysis' score deltas; check escalation. An escalation opens a ticket,
//! sets the conversation WAITING and sends ONE hand-over message; otherwise the reply is stored
//! and its send job enqueued in the same transaction.
//!
//! Re-runs (a worker died mid-job, the lease lapsed) are safe at every step: the reply and the
//! hand-over message are keyed `ai:{messageId}` / `handover:{messageId}` (one per inbound
//! message, with one `send:{id}` job), score deltas are applied only when no score event from
//! this message exists yet, and a stored hand-over whose escalation did not commit is escalated
//! again from what it recorded.
//!
//! A channel's front end follows the turn through one hook, a [`TurnObserver`] registered for
//! that channel by the worker registry (`api::workers`): WEB_CHAT's
//! (`services::support::WebChatTurns`) adds the customer's context and tells the support
//! session how the turn goes. Other channels have none, and the turn never asks which channel
//! it is on to decide whom to tell.
//!
//! Must not: call a platform (the send job does), or decide windows, scores or escalation rules
//! (the domain does).

use std::sync::Arc;

use chrono::Utc;
use leadline_domain::analysis::{Analysis, HistoryTurn, Speaker};
use leadline_domain::billing::{Feature, UsageItem};
use leadline_domain::channel::Channel;
use leadline_domain::conversation::{ConversationStatus, Handler};
use leadline_domain::escalation::{check_escalation, Escalation, EscalationInput};
use leadline_domain::ids::{ConversationId, LeadId, MessageId, TenantId};
use leadline_domain::lead::inbox_signal_delta;
use leadline_domain::messaging::{MessageDirection, SenderKind};
use leadline_entity::{conversations, jobs, messages, tickets};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use super::send::send_job;
use crate::auth::Actor;
use crate::bus::{Event, LeadScoreChanged};
use crate::error::ApiError;
use crate::jobs::{JobFailure, JobHandler};
use crate::services::ai::{AiRequest, MAX_HISTORY_TURNS, MAX_TEXT_CHARS};
use crate::services::conversation::{author, publish_conversation};
use crate::state::AppState;
use crate::store::{ConversationChange, NewTicket, OutboundMessage, ScoreAdjustment};

/// What the customer is told when a person takes over. Fixed text on purpose: the AI has just
/// been judged not to be the right one to answer, so it does not compose this one.
pub const HANDOVER_TEXT: &str = "Thanks for your patience. I'm passing this conversation to a member of our team, who will get back to you here shortly.";

/// What a channel's front end is told about an AI turn, and what it adds to the AI's history.
/// Every method defaults to doing nothing. Notifications only: an observer cannot change the
/// turn's outcome (`context` aside, whose failure retries the turn like any read).
#[async_trait::async_trait]
pub trait TurnObserver: Send + Sync {
    /// Text the AI reads first, as one SYSTEM turn (clipped like any history turn).
    async fn context(
        &self,
        _conversation: &conversations::Model,
    ) -> Result<Option<String>, JobFailure> {
        Ok(None)
    }
    /// The AI started answering `trigger_id`.
    fn processing(&self, _conversation: &conversations::Model, _trigger_id: Uuid) {}
    /// The turn for `trigger_id` ended with `reply_id` (the reply or the hand-over), or with
    /// silence.
    fn completed(
        &self,
        _conversation: &conversations::Model,
        _trigger_id: Uuid,
        _reply_id: Option<Uuid>,
    ) {
    }
    /// The AI could not answer `trigger_id`; the job fails with `failure` (and may retry).
    async fn failed(
        &self,
        _job: &jobs::Model,
        _conversation: &conversations::Model,
        _trigger_id: Uuid,
        _failure: &JobFailure,
    ) {
    }
    /// The conversation (as it is now, WAITING) was escalated with `ticket` for `reason`.
    fn escalated(
        &self,
        _conversation: &conversations::Model,
        _ticket: &tickets::Model,
        _reason: String,
    ) {
    }
}

/// The observer of channels nobody follows.
struct Unobserved;

impl TurnObserver for Unobserved {}

/// The `ai_response` job handler.
pub struct AiTurnHandler {
    state: AppState,
    observers: Vec<(Channel, Arc<dyn TurnObserver>)>,
}

impl AiTurnHandler {
    /// The handler, over the shared state, with no observers.
    pub fn new(state: AppState) -> Self {
        Self {
            state,
            observers: Vec::new(),
        }
    }

    /// Tells `observer` about the turns on `channel`.
    pub fn observing(mut self, channel: Channel, observer: impl TurnObserver + 'static) -> Self {
        self.observers.push((channel, Arc::new(observer)));
        self
    }

    fn observer(&self, channel: Channel) -> &dyn TurnObserver {
        self.observers
            .iter()
            .find(|(c, _)| *c == channel)
            .map_or(&Unobserved as &dyn TurnObserver, |(_, o)| o.as_ref())
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AiTurnPayload {
    conversation_id: Uuid,
    message_id: Uuid,
}

/// Client message id of the AI's reply to inbound message `id`.
fn reply_key(id: Uuid) -> String {
    format!("ai:{id}")
}

/// Client message id of the hand-over message caused by inbound message `id`.
fn handover_key(id: Uuid) -> String {
    format!("handover:{id}")
}

fn skipped(why: &str) -> Result<Value, JobFailure> {
    Ok(json!({ "skipped": why }))
}

#[async_trait::async_trait]
impl JobHandler for AiTurnHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let payload: AiTurnPayload = serde_json::from_value(job.payload.clone())
            .map_err(|e| JobFailure::Permanent(format!("bad payload: {e}")))?;
        let tenant_id = TenantId(job.tenant_id);
        let store = &self.state.store;
        let conversation = store
            .conversation(tenant_id, ConversationId(payload.conversation_id))
            .await
            .map_err(JobFailure::from)?;
        let channel = Channel::parse(&conversation.channel)
            .map_err(|e| JobFailure::Permanent(e.to_string()))?;
        let observer = self.observer(channel);

        // Already answered by an earlier run of this job?
        let limit = self.state.config.ai_history_messages.max(1);
        let recent = store
            .recent_messages(tenant_id, ConversationId(conversation.id), limit + 1)
            .await
            .map_err(JobFailure::from)?;
        if let Some(handover) = recent
            .iter()
            .find(|m| m.client_message_id.as_deref() == Some(&handover_key(payload.message_id)))
        {
            if conversation.status == ConversationStatus::Active.as_str()
                && conversation.handled_by == Handler::Ai.as_str()
            {
                // The hand-over was stored but the escalation did not commit: finish it.
                return self
                    .finish_escalation(observer, &conversation, handover)
                    .await;
            }
            return skipped("already handed over to a person");
        }
        if let Some(reply) = recent
            .iter()
            .find(|m| m.client_message_id.as_deref() == Some(&reply_key(payload.message_id)))
        {
            return Ok(json!({ "replyMessageId": reply.id, "alreadyAnswered": true }));
        }

        if conversation.status != ConversationStatus::Active.as_str() {
            return skipped(&format!("conversation is {}", conversation.status));
        }
        if conversation.handled_by == Handler::Human.as_str() {
            return skipped("a person handles this conversation");
        }
        let Some(position) = recent.iter().position(|m| m.id == payload.message_id) else {
            // More than a history's worth of messages came after it: long superseded.
            return skipped("the conversation moved on past this message");
        };
        let trigger = &recent[position];
        if recent[position + 1..]
            .iter()
            .any(|m| m.direction == MessageDirection::Inbound.as_str())
        {
            return skipped("a later customer message will be answered instead");
        }
        let text = clip(&trigger.body);
        if text.trim().is_empty() {
            return skipped("the message has no text to answer");
        }
        // The plan gate (issue 16): the customer's message is stored already; without the
        // feature the AI stays silent instead of failing, and people can still answer.
        let (feature, on_channel) = match channel {
            Channel::WebChat => (Feature::SupportChat, None),
            other => (Feature::InboxChannels, Some(other)),
        };
        match crate::services::billing::require_feature(&self.state, tenant_id, feature, on_channel)
            .await
        {
            Ok(()) => {}
            Err(ApiError::PaymentRequired { plan, reason, .. }) => {
                return Ok(json!({
                    "skipped": "the plan in force does not include this AI reply",
                    "code": "PAYMENT_REQUIRED",
                    "plan": plan,
                    "feature": feature.as_str(),
                    "reason": reason,
                }))
            }
            Err(other) => return Err(other.into()),
        }
        // The included quantities: an AI reply is one AI reply and one message sent. Used up
        // on a plan that does not bill beyond them, the AI stays silent the same way.
        for item in [UsageItem::AiReplies, UsageItem::MessagesSent] {
            match crate::services::billing::require_quota(&self.state, tenant_id, item, 1).await {
                Ok(()) => {}
                Err(ApiError::LimitReached { limit, .. }) => {
                    return Ok(json!({
                        "skipped": "the plan's included quantity is used up",
                        "code": "LIMIT_REACHED",
                        "limit": limit,
                    }))
                }
                Err(other) => return Err(other.into()),
            }
        }
        // What the channel's front end adds (the support chat: the customer's profile and
        // tickets) comes first, as one SYSTEM turn.
        let context = observer
            .context(&conversation)
            .await?
            .map(|text| HistoryTurn {
                speaker: Speaker::System,
                text: clip(&text),
            });
        let room = MAX_HISTORY_TURNS - usize::from(context.is_some());
        let history: Vec<HistoryTurn> = context
            .into_iter()
            .chain(
                recent[..position]
                    .iter()
                    .rev()
                    .take(room)
                    .rev()
                    .filter(|m| !m.body.trim().is_empty())
                    .map(|m| HistoryTurn {
                        speaker: speaker(&m.sender_kind),
                        text: clip(&m.body),
                    }),
            )
            .collect();

        observer.processing(&conversation, trigger.id);
        let suggested = match self
            .state
            .ai
            .suggest_reply(
                tenant_id,
                AiRequest {
                    text: text.clone(),
                    channel,
                    product_ids: None,
                    history,
                },
            )
            .await
        {
            Ok(suggested) => suggested,
            Err(error) => {
                let failure = ai_failure(error);
                observer
                    .failed(job, &conversation, trigger.id, &failure)
                    .await;
                return Err(failure);
            }
        };
        let analysis = &suggested.analyzed.analysis;

        let score_changes = self.apply_signals(&conversation, trigger, analysis).await?;

        let settings = store
            .ai_context(tenant_id)
            .await
            .map_err(JobFailure::from)?;
        let keywords: Vec<String> =
            serde_json::from_value(settings.escalation_keywords.clone()).unwrap_or_default();
        let open_tickets = store
            .open_ticket_count(tenant_id, LeadId(conversation.lead_id))
            .await
            .map_err(JobFailure::from)?;
        let escalation = check_escalation(&EscalationInput {
            message: &text,
            analysis,
            escalation_keywords: &keywords,
            ai_turns: u32::try_from(conversation.ai_turns).unwrap_or(0),
            auto_escalate_after_messages: settings
                .auto_escalate_after_messages
                .and_then(|n| u32::try_from(n).ok()),
            open_tickets: u32::try_from(open_tickets).unwrap_or(u32::MAX),
            unresolved: true,
        });
        if let Some(escalation) = escalation {
            let result = self
                .escalate(
                    observer,
                    &conversation,
                    trigger,
                    &recent,
                    escalation,
                    score_changes,
                )
                .await?;
            let handover = result["handoverMessageId"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok());
            observer.completed(&conversation, trigger.id, handover);
            return Ok(result);
        }

        let reply_text = suggested.reply.text.trim().to_owned();
        if reply_text.is_empty() {
            observer.completed(&conversation, trigger.id, None);
            return Ok(
                json!({ "skipped": "the AI had nothing to say", "scoreChanges": score_changes }),
            );
        }
        let (reply, created, _) = store
            .add_outbound(
                tenant_id,
                ConversationId(conversation.id),
                OutboundMessage {
                    sender_kind: SenderKind::Ai,
                    sender_user_id: None,
                    body: reply_text,
                    client_message_id: Some(reply_key(trigger.id)),
                    metadata: json!({
                        "inReplyTo": trigger.id,
                        "intent": analysis.intent.as_str(),
                        "provider": suggested.reply.provider,
                    }),
                },
                ConversationChange {
                    add_ai_turns: 1,
                    ..Default::default()
                },
                |message| send_job(tenant_id, channel, message.id),
            )
            .await
            .map_err(JobFailure::from)?;
        if created {
            self.state.bus.publish(
                tenant_id,
                Event::MessageAdded {
                    message: Box::new(reply.clone()),
                },
            );
            self.state.jobs.wake().await;
        }
        observer.completed(&conversation, trigger.id, Some(reply.id));
        Ok(json!({ "replyMessageId": reply.id, "scoreChanges": score_changes }))
    }
}

impl AiTurnHandler {
    /// Applies each signal's inbox delta to the lead, once per inbound message. Returns how many
    /// changes were applied.
    async fn apply_signals(
        &self,
        conversation: &conversations::Model,
        trigger: &messages::Model,
        analysis: &Analysis,
    ) -> Result<usize, JobFailure> {
        let store = &self.state.store;
        let tenant_id = TenantId(conversation.tenant_id);
        if analysis.signals.is_empty() {
            return Ok(0);
        }
        if store
            .score_events_from_message(tenant_id, MessageId(trigger.id))
            .await
            .map_err(JobFailure::from)?
            > 0
        {
            // An earlier run of this job applied them already.
            return Ok(0);
        }
        let mut seen = Vec::new();
        let mut lead = None;
        for hit in &analysis.signals {
            // One delta per kind of signal: "urgent… asap… today" is one urgency.
            if seen.contains(&hit.signal) {
                continue;
            }
            seen.push(hit.signal);
            let (updated, event) = store
                .adjust_lead_score(
                    tenant_id,
                    Actor::default(),
                    LeadId(conversation.lead_id),
                    ScoreAdjustment {
                        delta: inbox_signal_delta(hit.signal),
                        signal: hit.signal.as_str().to_owned(),
                        reason: format!("{}: \"{}\"", hit.signal.as_str(), hit.evidence),
                        source_message_id: Some(MessageId(trigger.id)),
                    },
                )
                .await
                .map_err(JobFailure::from)?;
            self.state.bus.publish(
                tenant_id,
                Event::LeadScoreChanged(LeadScoreChanged::from(&event)),
            );
            lead = Some(updated);
        }
        if let Some(lead) = lead {
            self.state.bus.publish(
                tenant_id,
                Event::LeadUpdated {
                    lead: Box::new(lead),
                },
            );
        }
        Ok(seen.len())
    }

    /// Stores the hand-over message (with its send job and the escalation it stands for), then
    /// escalates. In this order so that a crash in between leaves a record to finish from.
    async fn escalate(
        &self,
        observer: &dyn TurnObserver,
        conversation: &conversations::Model,
        trigger: &messages::Model,
        recent: &[messages::Model],
        escalation: Escalation,
        score_changes: usize,
    ) -> Result<Value, JobFailure> {
        let store = &self.state.store;
        let tenant_id = TenantId(conversation.tenant_id);
        let channel = Channel::parse(&conversation.channel)
            .map_err(|e| JobFailure::Permanent(e.to_string()))?;
        let lead_name = store
            .lead(tenant_id, LeadId(conversation.lead_id))
            .await
            .map(|lead| lead.name)
            .unwrap_or_else(|_| "unknown lead".to_owned());
        let reason = match &escalation.keyword {
            Some(keyword) => format!("{} ({keyword})", escalation.reason.as_str()),
            None => escalation.reason.as_str().to_owned(),
        };
        let subject: String = format!("Escalation: {reason} — {lead_name}")
            .chars()
            .take(200)
            .collect();
        let description = transcript(recent, trigger.id);
        let (handover, created, _) = store
            .add_outbound(
                tenant_id,
                ConversationId(conversation.id),
                OutboundMessage {
                    sender_kind: SenderKind::System,
                    sender_user_id: None,
                    body: HANDOVER_TEXT.to_owned(),
                    client_message_id: Some(handover_key(trigger.id)),
                    metadata: json!({
                        "inReplyTo": trigger.id,
                        "escalation": {
                            "reason": escalation.reason.as_str(),
                            "priority": escalation.priority.as_str(),
                            "keyword": escalation.keyword,
                            "subject": subject,
                            "description": description,
                        },
                    }),
                },
                ConversationChange::default(),
                |message| send_job(tenant_id, channel, message.id),
            )
            .await
            .map_err(JobFailure::from)?;
        if created {
            self.state.bus.publish(
                tenant_id,
                Event::MessageAdded {
                    message: Box::new(handover.clone()),
                },
            );
            self.state.jobs.wake().await;
        }
        let mut result = self
            .finish_escalation(observer, conversation, &handover)
            .await?;
        result["scoreChanges"] = json!(score_changes);
        Ok(result)
    }

    /// Opens the ticket and sets the conversation WAITING, from what the hand-over recorded.
    async fn finish_escalation(
        &self,
        observer: &dyn TurnObserver,
        conversation: &conversations::Model,
        handover: &messages::Model,
    ) -> Result<Value, JobFailure> {
        let recorded = &handover.metadata["escalation"];
        let text = |key: &str, default: &str| {
            recorded[key]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| default.to_owned())
        };
        let (ticket, conversation) = self
            .state
            .store
            .escalate_conversation(
                TenantId(conversation.tenant_id),
                ConversationId(conversation.id),
                NewTicket {
                    subject: text("subject", "Escalation"),
                    description: text("description", ""),
                    priority: text("priority", "MEDIUM"),
                },
            )
            .await
            .map_err(JobFailure::from)?;
        publish_conversation(&self.state.bus, &conversation);
        observer.escalated(&conversation, &ticket, text("reason", "UNKNOWN"));
        Ok(json!({
            "escalated": text("reason", "UNKNOWN"),
            "ticketId": ticket.id,
            "handoverMessageId": handover.id,
        }))
    }
}

/// AI errors: a busy or absent provider may answer later; refused input never will.
fn ai_failure(error: ApiError) -> JobFailure {
    JobFailure::from(error)
}

fn speaker(kind: &str) -> Speaker {
    match SenderKind::parse(kind) {
        Ok(SenderKind::Lead) => Speaker::Lead,
        Ok(SenderKind::Agent) => Speaker::Agent,
        Ok(SenderKind::System) => Speaker::System,
        Ok(SenderKind::Ai) | Err(_) => Speaker::Ai,
    }
}

/// At most the AI service's limit of characters (a longer message is answered on its start
/// rather than refused).
fn clip(text: &str) -> String {
    text.chars().take(MAX_TEXT_CHARS).collect()
}

/// The conversation up to and including `until`, one line per message, for the ticket.
fn transcript(recent: &[messages::Model], until: Uuid) -> String {
    let mut lines = Vec::new();
    for message in recent {
        let who = author(message);
        lines.push(format!(
            "[{}] {who}: {}",
            message
                .created_at
                .with_timezone(&Utc)
                .format("%Y-%m-%d %H:%M"),
            message.body
        ));
        if message.id == until {
            break;
        }
    }
    lines.join("\n")
}
