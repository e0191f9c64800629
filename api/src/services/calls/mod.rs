//! Payment-reminder calls over LiveKit SIP (ARCHITECTURE.md §4 "Calls", §5): the use cases the
//! GraphQL resolvers and the LiveKit webhook call, and the `reminder_call` job that dials.
//!
//! - This file: [`start_reminder_call`] (the compliance gate decides before anything is stored;
//!   a refusal is a BLOCKED call that is never dialled, hours outside the recipient's window
//!   defer the job to the next allowed minute), cancelling, the agent's transcript and outcome.
//! - `gate`: the facts the gate decides on (`domain::compliance::check_dial`), read fresh.
//! - `dial`: [`ReminderCallHandler`], the gate again, then room `call-<id>`, agent dispatch with
//!   the prompt and invoice context as metadata, SIP dial on the tenant's project (its own, else
//!   the operator's). Timeouts and 5xx retry under the job's backoff without repeating a step
//!   LiveKit carried out; a LiveKit 4xx or a missing setting fails the call with its reason.
//! - `webhook`: [`handle_livekit_event`], verified deliveries, deduplicated by event id, move
//!   the call through the lifecycle (late or repeated events change nothing); after the end, a
//!   retry through the gate or the classification of an unreported call.
//!
//! Every change is published as `Event::Call` after its transaction commits.
//!
//! Must not: parse GraphQL or HTTP, or write SQL (the store does).

mod dial;
mod gate;
mod webhook;

pub use dial::{settings_for, tenant_livekit_url, ReminderCallHandler};
pub(crate) use gate::gate_for_lead;
pub use webhook::{handle_livekit_event, LiveKitOutcome, LiveKitSigner};

use self::gate::gate;

use chrono::{DateTime, Utc};
use leadline_domain::calls::{AnsweredBy, CallOutcome, CallStatus, CustomerResponse};
use leadline_domain::compliance::DialDecision;
use leadline_domain::ids::{CallId, InvoiceId, LeadId, TenantId};
use leadline_domain::money::Money;
use leadline_domain::phone::PhoneNumber;
use leadline_domain::DomainError;
use leadline_entity::{call_events, calls};
use serde_json::{json, Value};

use crate::auth::Actor;
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::calls::{CallStatusChange, NewCall};
use crate::store::inbox::NewTicket;
use crate::store::ScoreAdjustment;
/// Publishes a call change for `callEvents`.
pub(crate) fn publish(state: &AppState, call: &calls::Model, entry: call_events::Model) {
    state.bus.publish(
        TenantId(call.tenant_id),
        Event::Call {
            call: Box::new(call.clone()),
            entry: Box::new(entry),
        },
    );
}

/// What a dial job does with the gate's second decision, taken right before it dials: `None`
/// to dial; otherwise the job's result after the call was moved to BLOCKED (and published) or
/// deferred to the next allowed minute. Shared by the reminder and the phone agent's dial jobs.
pub(crate) async fn apply_dial_decision(
    state: &AppState,
    call: &calls::Model,
    decision: DialDecision,
) -> Result<Option<Value>, crate::jobs::JobFailure> {
    let (tenant, call_id) = (TenantId(call.tenant_id), CallId(call.id));
    match decision {
        DialDecision::Dial => Ok(None),
        DialDecision::Block(reason) => {
            let moved = state
                .store
                .move_call(
                    tenant,
                    call_id,
                    CallStatus::Blocked,
                    CallStatusChange {
                        blocked_reason: Some(reason.as_str().to_owned()),
                        ..Default::default()
                    },
                )
                .await
                .map_err(crate::jobs::JobFailure::from)?;
            if let Some((call, entry)) = moved {
                publish(state, &call, entry);
            }
            Ok(Some(
                json!({"status": "BLOCKED", "reason": reason.as_str()}),
            ))
        }
        DialDecision::Defer { until } => {
            state
                .store
                .defer_call(tenant, call_id, until)
                .await
                .map_err(crate::jobs::JobFailure::from)?;
            Ok(Some(json!({"deferredUntil": until.to_rfc3339()})))
        }
    }
}

/// Fails a call that its dial job cannot place with `code`, publishes the change, and finishes
/// the job (retrying cannot help). Shared by the reminder and the phone agent's dial jobs.
pub(crate) async fn fail_dial(
    state: &AppState,
    call: &calls::Model,
    code: String,
) -> Result<Value, crate::jobs::JobFailure> {
    let moved = state
        .store
        .move_call(
            TenantId(call.tenant_id),
            CallId(call.id),
            CallStatus::Failed,
            CallStatusChange {
                error_code: Some(code.clone()),
                ..Default::default()
            },
        )
        .await
        .map_err(crate::jobs::JobFailure::from)?;
    if let Some((call, entry)) = moved {
        publish(state, &call, entry);
    }
    Ok(json!({"status": "FAILED", "error": code}))
}

/// Decides and stores a reminder call about `invoice_id`, not before `not_before` (default
/// now): QUEUED with its dial job (now or at the next allowed minute), or BLOCKED with the
/// gate's reason.
pub async fn start_reminder_call(
    state: &AppState,
    tenant_id: TenantId,
    invoice_id: InvoiceId,
    not_before: Option<DateTime<Utc>>,
) -> ApiResult<calls::Model> {
    crate::services::billing::require_feature(
        state,
        tenant_id,
        leadline_domain::billing::Feature::ReminderCalls,
        None,
    )
    .await?;
    // At least a minute of the included call minutes must be left to place a call.
    crate::services::billing::require_quota(
        state,
        tenant_id,
        leadline_domain::billing::UsageItem::CallMinutes,
        1,
    )
    .await?;
    let invoice = state.store.invoice(tenant_id, invoice_id).await?;
    if invoice.status == crate::store::calls::invoice_status::PAID {
        return Err(ApiError::Conflict(format!(
            "invoice {} is paid; there is nothing to remind",
            invoice.invoice_number
        )));
    }
    let number = PhoneNumber::parse(&invoice.customer_phone, None)
        .map_err(|e| ApiError::invalid("phone", e))?;
    let now = Utc::now().max(not_before.unwrap_or_default());
    let (decision, _) = gate(state, tenant_id, &invoice, &number, now).await?;
    let plan = match decision {
        DialDecision::Dial => Ok(now),
        DialDecision::Defer { until } => Ok(until),
        DialDecision::Block(reason) => Err(reason.as_str().to_owned()),
    };
    let attempt = state.store.next_attempt(tenant_id, invoice_id).await?;
    let (call, entry) = state
        .store
        .create_call(
            tenant_id,
            NewCall {
                invoice_id,
                lead_id: invoice.lead_id.map(LeadId),
                to_number: number.as_str().to_owned(),
                attempt,
                plan,
            },
        )
        .await?;
    if call.status == CallStatus::Queued.as_str() {
        state.jobs.wake().await;
    }
    publish(state, &call, entry);
    Ok(call)
}

/// Cancels a call that has not been answered yet (QUEUED, DIALING, RINGING); CONFLICT once it
/// is live or over.
pub async fn cancel_call(
    state: &AppState,
    tenant_id: TenantId,
    call_id: CallId,
) -> ApiResult<calls::Model> {
    let call = state.store.call(tenant_id, call_id).await?;
    let status = crate::store::calls::status_of(&call)?;
    if !matches!(
        status,
        CallStatus::Queued | CallStatus::Dialing | CallStatus::Ringing
    ) {
        return Err(ApiError::Conflict(format!(
            "a {} call cannot be cancelled",
            status.as_str()
        )));
    }
    match state
        .store
        .move_call(
            tenant_id,
            call_id,
            CallStatus::Canceled,
            CallStatusChange::default(),
        )
        .await?
    {
        Some((call, entry)) => {
            publish(state, &call, entry);
            Ok(call)
        }
        None => Err(ApiError::Conflict(
            "the call moved on meanwhile; read it again".into(),
        )),
    }
}

/// Appends the agent's transcript lines and publishes each.
pub async fn append_transcript(
    state: &AppState,
    tenant_id: TenantId,
    call_id: CallId,
    lines: Vec<Value>,
) -> ApiResult<Vec<call_events::Model>> {
    let entries = state
        .store
        .append_call_transcript(tenant_id, call_id, lines)
        .await?;
    let call = state.store.call(tenant_id, call_id).await?;
    for entry in &entries {
        publish(state, &call, entry.clone());
    }
    Ok(entries)
}

/// Records the agent's outcome after `CallOutcome::validate` against the invoice (currency,
/// at most the amount due, not dated before the call, nothing promised by a machine), and its
/// effect on the invoice: ALREADY_PAID flags it for checking, DISPUTE marks it disputed.
pub async fn record_outcome(
    state: &AppState,
    tenant_id: TenantId,
    call_id: CallId,
    report: CallOutcome,
) -> ApiResult<calls::Model> {
    let call = state.store.call(tenant_id, call_id).await?;
    let invoice = match call.invoice_id {
        Some(id) => Some(state.store.invoice(tenant_id, InvoiceId(id)).await?),
        None => None,
    };
    if report
        .promised_amount
        .as_ref()
        .is_some_and(|amount| amount.amount_micros() <= 0)
    {
        return Err(ApiError::bad_input("promisedAmount", "must be more than 0"));
    }
    if let Some(invoice) = &invoice {
        let due = Money::parse(invoice.amount_micros, &invoice.currency)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("invoice {}: {e}", invoice.id)))?;
        report
            .validate(&due, call.created_at.date_naive())
            .map_err(|e| match &e {
                DomainError::OutOfRange { field, .. } => ApiError::invalid(field, e),
                _ => ApiError::invalid("input", e),
            })?;
    }
    let invoice_status = match report.customer_response {
        CustomerResponse::AlreadyPaid => Some(crate::store::calls::invoice_status::CHECK_PAYMENT),
        CustomerResponse::Dispute => Some(crate::store::calls::invoice_status::DISPUTED),
        _ => None,
    };
    let details = json!({
        "notes": report.notes,
        "promisedDate": report.promised_date.map(|d| d.to_string()),
        "promisedAmount": report.promised_amount.as_ref().map(|m| json!({
            "amountMicros": m.amount_micros(),
            "currencyCode": m.currency_code(),
        })),
        "answeredBy": report.answered_by.map(AnsweredBy::as_str),
    });
    let response = report.customer_response;
    let what = match &invoice {
        Some(invoice) => format!("invoice {}", invoice.invoice_number),
        None => "a reminder call".to_owned(),
    };
    let ticket = response.opens_ticket().then(|| NewTicket {
        subject: format!("Disputed on a reminder call: {what}")
            .chars()
            .take(200)
            .collect(),
        description: format!(
            "The customer disputed {what} on call {call_id}.\n\nAgent's notes: {}",
            report.notes.as_deref().unwrap_or("(none)")
        ),
        priority: "HIGH".into(),
    });
    let (call, entry, _ticket) = state
        .store
        .record_call_outcome(
            tenant_id,
            call_id,
            response.as_str(),
            details,
            report.answered_by.map(AnsweredBy::as_str),
            invoice_status.filter(|_| invoice.is_some()),
            ticket,
        )
        .await?;
    publish(state, &call, entry);
    if let (Some(lead_id), Some((delta, signal))) = (call.lead_id, response.score_effect()) {
        // After the outcome committed: a score that fails to move (the lead was deleted
        // meanwhile) does not undo what the call established.
        let adjustment = ScoreAdjustment {
            delta,
            signal: signal.to_owned(),
            reason: format!("{} on a reminder call about {what}", response.as_str()),
            source_message_id: None,
        };
        match state
            .store
            .adjust_lead_score(tenant_id, Actor::default(), LeadId(lead_id), adjustment)
            .await
        {
            Ok((lead, event)) => {
                state
                    .bus
                    .publish(tenant_id, Event::LeadScoreChanged((&event).into()));
                state.bus.publish(
                    tenant_id,
                    Event::LeadUpdated {
                        lead: Box::new(lead),
                    },
                );
            }
            Err(ApiError::NotFound(_)) => {}
            Err(error) => {
                tracing::warn!(error = ?error, call = %call_id, "the call's outcome could not move its lead's score")
            }
        }
    }
    Ok(call)
}
