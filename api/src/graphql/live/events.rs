//! What `liveSessionEvents` streams: the dashboard events, mapped from the bus's `LiveEvent`.
//! Must not: filter by session or tenant (the subscription does).

use async_graphql::{SimpleObject, Union, ID};

use super::super::leads::LeadScoreChange;
use super::super::types::Temperature;
use super::types::{LiveInteraction, LiveSession};
use crate::bus::LiveEvent;

/// The agent was switched on or off.
#[derive(SimpleObject)]
pub struct AgentToggled {
    /// Now on.
    pub enabled: bool,
}

/// The creator answered a viewer by hand.
#[derive(SimpleObject)]
pub struct ManualResponseSent {
    /// The viewer's name as given.
    pub username: String,
    /// The text.
    pub text: String,
    /// PUBLIC, WHISPER or DM.
    pub via: String,
}

/// A chat message was analysed and stored.
#[derive(SimpleObject)]
pub struct ChatMessageAnalyzed {
    /// The interaction.
    pub interaction: LiveInteraction,
}

/// The agent answered.
#[derive(SimpleObject)]
pub struct ReplySent {
    /// The interaction with its response.
    pub interaction: LiveInteraction,
}

/// The agent stayed silent, or the send failed.
#[derive(SimpleObject)]
pub struct ReplySkipped {
    /// The skip reason (or send error code).
    pub reason: String,
    /// The interaction.
    pub interaction: LiveInteraction,
}

/// A budget threshold was crossed.
#[derive(SimpleObject)]
pub struct LimitWarning {
    /// e.g. QUOTA_AT_80_PERCENT, SESSION_REPLIES_EXHAUSTED, QUOTA_EXHAUSTED.
    pub code: String,
    /// For people.
    pub message: String,
}

/// The session started.
#[derive(SimpleObject)]
pub struct SessionStarted {
    /// The session.
    pub session: LiveSession,
}

/// The session stopped.
#[derive(SimpleObject)]
pub struct SessionStopped {
    /// Why (STOPPED_BY_USER, CHAT_ENDED, STREAM_OFFLINE, QUOTA_EXHAUSTED, …).
    pub reason: String,
    /// The session.
    pub session: LiveSession,
}

/// What a session's dashboard sees.
#[derive(Union)]
pub enum LiveSessionEvent {
    /// A chat message with its analysis.
    ChatMessageAnalyzed(ChatMessageAnalyzed),
    /// A reply.
    ReplySent(ReplySent),
    /// A skip.
    ReplySkipped(ReplySkipped),
    /// A viewer's score moved.
    LeadScoreChanged(LeadScoreChange),
    /// A limit warning.
    LimitWarning(LimitWarning),
    /// The agent was switched.
    AgentToggled(AgentToggled),
    /// A manual reply went out.
    ManualResponseSent(ManualResponseSent),
    /// Started.
    SessionStarted(SessionStarted),
    /// Stopped.
    SessionStopped(SessionStopped),
}

pub(super) fn to_graphql(event: &LiveEvent) -> LiveSessionEvent {
    match event {
        LiveEvent::ChatMessageAnalyzed { interaction } => {
            LiveSessionEvent::ChatMessageAnalyzed(ChatMessageAnalyzed {
                interaction: LiveInteraction((**interaction).clone()),
            })
        }
        LiveEvent::ReplySent { interaction } => LiveSessionEvent::ReplySent(ReplySent {
            interaction: LiveInteraction((**interaction).clone()),
        }),
        LiveEvent::ReplySkipped { interaction } => LiveSessionEvent::ReplySkipped(ReplySkipped {
            reason: interaction.skip_reason.clone().unwrap_or_default(),
            interaction: LiveInteraction((**interaction).clone()),
        }),
        LiveEvent::LeadScoreChanged(change) => {
            LiveSessionEvent::LeadScoreChanged(LeadScoreChange {
                lead_id: ID(change.lead_id.to_string()),
                score: change.score,
                previous_score: change.previous_score,
                temperature: Temperature::from_stored(&change.temperature)
                    .unwrap_or(Temperature::Cold),
                signal: change.signal.clone(),
                reason: change.reason.clone(),
                at: change.at,
            })
        }
        LiveEvent::LimitWarning { code, message } => LiveSessionEvent::LimitWarning(LimitWarning {
            code: code.clone(),
            message: message.clone(),
        }),
        LiveEvent::AgentToggled { enabled } => {
            LiveSessionEvent::AgentToggled(AgentToggled { enabled: *enabled })
        }
        LiveEvent::ManualResponseSent {
            username,
            text,
            via,
        } => LiveSessionEvent::ManualResponseSent(ManualResponseSent {
            username: username.clone(),
            text: text.clone(),
            via: via.clone(),
        }),
        LiveEvent::SessionStarted { session } => LiveSessionEvent::SessionStarted(SessionStarted {
            session: LiveSession((**session).clone()),
        }),
        LiveEvent::SessionStopped { session, reason } => {
            LiveSessionEvent::SessionStopped(SessionStopped {
                reason: reason.clone(),
                session: LiveSession((**session).clone()),
            })
        }
    }
}
