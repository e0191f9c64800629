//! Verified LiveKit webhook events applied to their calls (deduplicated by event id, late ones
//! ignored), and what follows a call's end: a retry through the gate, or the classification of
//! an unreported call from its transcript.

use chrono::{DateTime, Utc};
use leadline_domain::calls::{CallStatus, RetryPolicy};
use leadline_domain::ids::{CallId, InvoiceId, TenantId};
use leadline_entity::calls;
use leadline_livekit::models::{EventKind, SipCallStatus, WebhookEvent};
use leadline_livekit::SipDialFailure;
use uuid::Uuid;

use super::{publish, record_outcome, start_reminder_call};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::calls::CallStatusChange;

/// Why a delivery was not applied (it is still answered 200: LiveKit must not retry it).
#[derive(Debug, PartialEq, Eq)]
pub enum LiveKitOutcome {
    /// The call moved (or the event was recorded).
    Applied,
    /// Already handled (same event id).
    Duplicate,
    /// Not about one of our calls, or a change the lifecycle ignores.
    Ignored,
}

/// Whose LiveKit project signed a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveKitSigner {
    /// The operator's (`LIVEKIT_API_KEY`, `LIVEKIT_WEBHOOK_KEYS`): any tenant's call.
    Operator,
    /// A tenant's own project: that tenant's calls only.
    Tenant(Uuid),
}

/// Applies one verified LiveKit webhook event to its call.
pub async fn handle_livekit_event(
    state: &AppState,
    event: &WebhookEvent,
    signer: LiveKitSigner,
) -> ApiResult<LiveKitOutcome> {
    let Some(room) = event.room.as_ref().map(|r| r.name.as_str()) else {
        return Ok(LiveKitOutcome::Ignored);
    };
    let Some(call) = state.store.call_by_room(room).await? else {
        return Ok(LiveKitOutcome::Ignored);
    };
    if let LiveKitSigner::Tenant(tenant_id) = signer {
        if tenant_id != call.tenant_id {
            // A tenant's own secret signs for its own calls only: room names are guessable.
            tracing::warn!(room, signer = %tenant_id, "a tenant's LiveKit project named another tenant's call; ignored");
            return Ok(LiveKitOutcome::Ignored);
        }
    }
    // The receipt is written after the event is applied, so a failure on the way (the database
    // away) leaves LiveKit's redelivery free to apply it; two copies racing in between are
    // harmless, because the lifecycle ignores a repeated move.
    if !event.id.is_empty() && state.store.has_receipt(LIVEKIT, &event.id).await? {
        return Ok(LiveKitOutcome::Duplicate);
    }
    let at = DateTime::from_timestamp(event.created_at, 0).filter(|_| event.created_at > 0);
    let sip = event
        .participant
        .as_ref()
        .and_then(|participant| participant.sip().map(|sip| (participant, sip)));
    let to = match (&event.event, sip) {
        (EventKind::ParticipantJoined, Some((_, sip))) => match sip.call_status {
            Some(SipCallStatus::Ringing) => Some(CallStatus::Ringing),
            Some(SipCallStatus::Active) | Some(SipCallStatus::Automation) => {
                Some(CallStatus::InProgress)
            }
            _ => None,
        },
        (EventKind::ParticipantLeft, Some((participant, _))) => {
            match participant.disconnect_reason.sip_dial_failure() {
                Some(SipDialFailure::Busy) | Some(SipDialFailure::Declined) => {
                    Some(CallStatus::Busy)
                }
                Some(SipDialFailure::NoAnswer) => Some(CallStatus::NoAnswer),
                Some(SipDialFailure::Other(_)) => Some(CallStatus::Failed),
                None => Some(ended(&call)),
            }
        }
        (EventKind::RoomFinished, _) => Some(ended(&call)),
        _ => None,
    };
    let Some(to) = to else {
        record_receipt(state, &event.id).await?;
        return Ok(LiveKitOutcome::Ignored);
    };
    let moved = state
        .store
        .move_call(
            TenantId(call.tenant_id),
            CallId(call.id),
            to,
            CallStatusChange {
                at,
                ..Default::default()
            },
        )
        .await?;
    record_receipt(state, &event.id).await?;
    match moved {
        Some((call, entry)) => {
            publish(state, &call, entry);
            if to.is_terminal() {
                // The call's end is recorded either way; what follows is logged when it fails
                // rather than failing the delivery (LiveKit would redeliver an event already
                // applied, and its receipt makes the redelivery a no-op).
                if let Err(error) = after_call_ended(state, &call).await {
                    tracing::warn!(call_id = %call.id, error = ?error, "after the end of a call");
                }
            }
            Ok(LiveKitOutcome::Applied)
        }
        None => Ok(LiveKitOutcome::Ignored),
    }
}

/// What follows the end of a call: an unanswered one (NO_ANSWER, BUSY, VOICEMAIL) is tried
/// again after the retry policy's spacing, through the gate like any call; an answered one
/// with a transcript but no reported outcome is classified from its transcript (the tenant's AI
/// provider, else offline).
async fn after_call_ended(state: &AppState, call: &calls::Model) -> ApiResult<()> {
    let status = crate::store::calls::status_of(call)?;
    let ended_at = call.ended_at.unwrap_or_else(Utc::now);
    let attempts = u32::try_from(call.attempt).unwrap_or(u32::MAX);
    if let (Some(when), Some(invoice_id)) = (
        RetryPolicy::default().next_attempt(status, attempts, ended_at),
        call.invoice_id,
    ) {
        let retry = start_reminder_call(
            state,
            TenantId(call.tenant_id),
            InvoiceId(invoice_id),
            Some(when),
        )
        .await;
        match retry {
            Ok(_) => {}
            // Paid meanwhile: nothing left to remind.
            Err(ApiError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        return Ok(());
    }
    if status == CallStatus::Completed && call.outcome.is_none() {
        classify_transcript(state, call).await?;
    }
    Ok(())
}

/// The classifier's reading of the transcript, recorded as the outcome: the tenant's AI
/// provider when it uses one, else offline (its notes say it was classified, and by whom, not
/// reported).
async fn classify_transcript(state: &AppState, call: &calls::Model) -> ApiResult<()> {
    use leadline_domain::call_outcome::TranscriptLine;
    let entries = state
        .store
        .call_events(
            TenantId(call.tenant_id),
            CallId(call.id),
            Some(crate::store::calls::event_kind::TRANSCRIPT),
            500,
        )
        .await?;
    let lines: Vec<TranscriptLine> = entries
        .iter()
        .filter_map(|entry| {
            let text = entry.payload.get("text")?.as_str()?;
            Some(match entry.payload.get("speaker")?.as_str()? {
                "AGENT" => TranscriptLine::agent(text),
                _ => TranscriptLine::customer(text),
            })
        })
        .collect();
    if lines.is_empty() {
        return Ok(());
    }
    let currency = match call.invoice_id {
        Some(id) => {
            state
                .store
                .invoice(TenantId(call.tenant_id), InvoiceId(id))
                .await?
                .currency
        }
        None => "USD".to_owned(),
    };
    let today = call.ended_at.unwrap_or_else(Utc::now).date_naive();
    let (guess, provider) = state
        .ai
        .classify_call_outcome(TenantId(call.tenant_id), &lines, today, &currency)
        .await?;
    let by = match provider {
        leadline_domain::analysis::Provider::Anthropic => "by Anthropic",
        leadline_domain::analysis::Provider::Openai => "by OpenAI",
        leadline_domain::analysis::Provider::OfflineFallback => {
            "offline (the AI provider was unavailable)"
        }
        leadline_domain::analysis::Provider::Offline => "offline",
    };
    record_outcome(
        state,
        TenantId(call.tenant_id),
        CallId(call.id),
        guess.to_call_outcome_by(by),
    )
    .await
    .map(|_| ())
}

const LIVEKIT: &str = "livekit";

async fn record_receipt(state: &AppState, event_id: &str) -> ApiResult<()> {
    if !event_id.is_empty() {
        state.store.record_receipt(LIVEKIT, event_id).await?;
    }
    Ok(())
}

/// How a call ends when its leg leaves or its room closes: COMPLETED once answered, NO_ANSWER
/// before.
fn ended(call: &calls::Model) -> CallStatus {
    if call.answered_at.is_some() {
        CallStatus::Completed
    } else {
        CallStatus::NoAnswer
    }
}
