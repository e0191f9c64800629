//! The phone agent's client tools, answered while the caller waits (ElevenLabs gives a client
//! tool a response timeout, so each runs under [`TOOL_TIMEOUT`] and answers an error rather
//! than nothing):
//!
//! - `schedule_appointment {date: "YYYY-MM-DD", time: "HH:MM", name?, phone?, vehicle?, notes?}`
//!   books within the dealership's business hours and slot capacity, in its time zone
//!   (`domain::dealership::decide_booking`); a taken or closed time is refused with up to three
//!   free alternatives in the result, so the agent can offer them at once.
//! - `transfer_to_human {reason?}` points the live call at the human operator (Twilio REST:
//!   new TwiML with `<Dial>`, which also ends the media stream) and marks it TRANSFERRED.
//!
//! Results are JSON objects the agent reads (`booked`, `transferred`, `message`, …); a refusal
//! the agent should talk about is not an error, bad arguments or a failure are.

use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Utc};
use leadline_domain::compliance::{parse_time_zone, Tz};
use leadline_domain::dealership::{
    decide_booking, local_time, BookingDecision, BookingRequest, ALTERNATIVES,
};
use leadline_domain::ids::{CallId, TenantId};
use leadline_domain::phone::PhoneNumber;
use leadline_twilio::UpdateCall;
use serde_json::{json, Value};
use uuid::Uuid;

use super::{business_hours_of, dial_operator, publish, slot_rules_of, twilio_client_for};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::phone_agent::NewAppointment;

/// `schedule_appointment`.
pub const SCHEDULE_APPOINTMENT: &str = "schedule_appointment";
/// `transfer_to_human`.
pub const TRANSFER_TO_HUMAN: &str = "transfer_to_human";
/// How long a tool may take: under ElevenLabs' default client-tool response timeout, so the
/// agent hears an error instead of waiting in silence.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(8);

/// The call a tool runs for (from the verified media-stream token).
#[derive(Debug, Clone)]
pub struct ToolCall {
    pub tenant_id: TenantId,
    pub call_id: Uuid,
    /// Twilio's `CallSid`, for the transfer.
    pub call_sid: String,
}

/// Runs tool `name` with `parameters`: the result for `client_tool_result`, and whether it is
/// an error.
pub async fn run_tool(
    state: &AppState,
    call: &ToolCall,
    name: &str,
    parameters: &Value,
) -> (Value, bool) {
    let run = async {
        match name {
            SCHEDULE_APPOINTMENT => schedule_appointment(state, call, parameters).await,
            TRANSFER_TO_HUMAN => transfer_to_human(state, call, parameters).await,
            other => Err(ApiError::bad_input(
                "tool",
                format!("unknown tool {other:?}; this agent has schedule_appointment and transfer_to_human"),
            )),
        }
    };
    match tokio::time::timeout(TOOL_TIMEOUT, run).await {
        Ok(Ok(result)) => (result, false),
        Ok(Err(error)) => {
            // `public_message` logs an INTERNAL cause and shows the agent nothing of it.
            (
                json!({"error": error.code(), "message": error.public_message()}),
                true,
            )
        }
        Err(_) => (
            json!({"error": "TIMEOUT", "message": "the tool took too long; try again"}),
            true,
        ),
    }
}

fn text(parameters: &Value, name: &str, max: usize) -> ApiResult<Option<String>> {
    match parameters.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.chars().count() > max {
                return Err(ApiError::bad_input(
                    name,
                    format!("at most {max} characters"),
                ));
            }
            Ok((!s.is_empty()).then(|| s.to_owned()))
        }
        Some(_) => Err(ApiError::bad_input(name, "must be a string")),
    }
}

/// `date` and `time` as the dealership's local time.
fn requested(parameters: &Value) -> ApiResult<NaiveDateTime> {
    let date = text(parameters, "date", 10)?
        .ok_or_else(|| ApiError::bad_input("date", "is required (YYYY-MM-DD)"))?;
    let time = text(parameters, "time", 8)?
        .ok_or_else(|| ApiError::bad_input("time", "is required (HH:MM, 24-hour)"))?;
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| ApiError::bad_input("date", "must be YYYY-MM-DD"))?;
    let time = NaiveTime::parse_from_str(&time, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(&time, "%H:%M:%S"))
        .map_err(|_| ApiError::bad_input("time", "must be HH:MM, 24-hour"))?;
    Ok(date.and_time(time))
}

fn slot_json(local: NaiveDateTime) -> Value {
    json!({"date": local.format("%Y-%m-%d").to_string(), "time": local.format("%H:%M").to_string()})
}

async fn schedule_appointment(
    state: &AppState,
    call: &ToolCall,
    parameters: &Value,
) -> ApiResult<Value> {
    let local = requested(parameters)?;
    let name = text(parameters, "name", 120)?;
    let vehicle = text(parameters, "vehicle", 200)?;
    let notes = text(parameters, "notes", 1000)?;
    let tenant = state.store.tenant(call.tenant_id).await?;
    let phone = match text(parameters, "phone", 32)? {
        Some(raw) => Some(
            PhoneNumber::parse(&raw, tenant.default_phone_region.as_deref())
                .map_err(|e| ApiError::invalid("phone", e))?
                .as_str()
                .to_owned(),
        ),
        None => None,
    };
    let zone: Tz = match tenant.time_zone.as_deref() {
        Some(name) => parse_time_zone("timeZone", name)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("tenant {}: {e}", tenant.id)))?,
        None => Tz::UTC,
    };
    let hours = business_hours_of(&tenant)?;
    let rules = slot_rules_of(&tenant)?;
    // Two attempts: the second after the slot filled between our read and our write.
    for _ in 0..2 {
        let day_start = local.date().and_time(NaiveTime::MIN).and_utc();
        let booked: Vec<_> = state
            .store
            .appointments_between(
                call.tenant_id,
                day_start - chrono::Duration::days(2),
                day_start + chrono::Duration::days(17),
                20_000,
            )
            .await?
            .into_iter()
            .map(|a| a.scheduled_at)
            .collect();
        let request = BookingRequest {
            local,
            zone,
            hours: &hours,
            rules,
            now: Utc::now(),
            booked: &booked,
        };
        match decide_booking(&request) {
            BookingDecision::Book { starts_at } => {
                let booked = state
                    .store
                    .book_appointment(
                        call.tenant_id,
                        NewAppointment {
                            call_id: CallId(call.call_id),
                            starts_at,
                            duration_minutes: i32::try_from(rules.minutes()).unwrap_or(30),
                            per_slot: rules.per_slot(),
                            vehicle: vehicle.clone(),
                            notes: notes.clone(),
                            contact_name: name.clone(),
                            contact_phone: phone.clone(),
                        },
                    )
                    .await?;
                if let Some(booked) = booked {
                    let appointment = booked.appointment;
                    publish(state, &booked.call, booked.entry);
                    state.jobs.announce(&booked.cancelled_jobs);
                    let at = local_time(zone, appointment.scheduled_at);
                    return Ok(json!({
                        "booked": true,
                        "appointmentId": appointment.id,
                        "date": at.format("%Y-%m-%d").to_string(),
                        "time": at.format("%H:%M").to_string(),
                        "timeZone": zone.name(),
                        "durationMinutes": appointment.duration_minutes,
                        "message": format!(
                            "Booked for {} at {}.",
                            at.format("%A %-d %B"),
                            at.format("%H:%M")
                        ),
                    }));
                }
            }
            BookingDecision::Refuse {
                reason,
                alternatives,
            } => {
                let offered: Vec<Value> = alternatives.iter().copied().map(slot_json).collect();
                let listed = alternatives
                    .iter()
                    .map(|a| a.format("%A %-d %B at %H:%M").to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Ok(json!({
                    "booked": false,
                    "reason": reason.as_str(),
                    "alternatives": offered,
                    "timeZone": zone.name(),
                    "message": if listed.is_empty() {
                        "That time cannot be booked and nothing is free in the next two weeks.".to_owned()
                    } else {
                        format!("That time cannot be booked ({}). Free times: {listed}.", reason.as_str())
                    },
                }));
            }
        }
    }
    // The slot filled twice under us: report it full with whatever is free now.
    Ok(json!({
        "booked": false,
        "reason": "SLOT_FULL",
        "alternatives": Vec::<Value>::with_capacity(ALTERNATIVES),
        "message": "That time was just taken; please choose another.",
    }))
}

async fn transfer_to_human(
    state: &AppState,
    call: &ToolCall,
    parameters: &Value,
) -> ApiResult<Value> {
    let reason = text(parameters, "reason", 500)?;
    let tenant = state.store.tenant(call.tenant_id).await?;
    let Some(operator) = tenant.human_operator_number.clone() else {
        return Err(ApiError::Conflict(
            "no human operator number is set; offer to take a message instead".into(),
        ));
    };
    let twiml = dial_operator(state.config.public_url.as_deref(), &tenant).to_xml();
    twilio_client_for(state, call.tenant_id)
        .await?
        .update_call(&call.call_sid, &UpdateCall::Twiml(twiml))
        .await
        .map_err(|e| ApiError::Unavailable(format!("Twilio refused the transfer: {e}")))?;
    let (saved, entry) = state
        .store
        .mark_call_transferred(call.tenant_id, CallId(call.call_id), &operator, reason)
        .await?;
    publish(state, &saved, entry);
    Ok(json!({"transferred": true, "message": "Transferring you to a person now."}))
}
