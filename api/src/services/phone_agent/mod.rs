//! The dealership AI phone agent (issue 15, seed 004): a caller rings the dealership's Twilio
//! number, an ElevenLabs agent answers over a Media Stream, books appointments and hands the
//! call to a person when asked.
//!
//! - This file: [`answer_incoming`] (the verified incoming-call webhook: tenant by the called
//!   number, call and lead stored, TwiML that streams to the bridge with a short-lived call
//!   token — or dials the human operator when the agent is stopped), [`twilio_status`] and
//!   [`elevenlabs_post_call`] (the two reports that finish a call, deduplicated, in either
//!   order).
//! - `bridge`: [`Bridge`], the real-time relay between Twilio's Media Stream and the ElevenLabs
//!   conversation; it knows nothing of HTTP (it takes a stream and a sink of text frames).
//! - `tools`: the agent's client tools, `schedule_appointment` and `transfer_to_human`.
//! - `sms`: texts to the dealership's number (a reply stops the lead's follow-ups; Twilio's
//!   opt-out words also put the number on the do-not-call list).
//! - `routes`: which use case each verified Twilio delivery runs ([`handle_twilio`]), so the
//!   HTTP shims share one verify-then-dispatch path.
//! - [`dial_status`]: every `<Dial>` to the operator carries `action=…/dial-status`; its
//!   `DialCallStatus` is recorded on the call (TRANSFER_RESULT), and a caller nobody answered
//!   hears so and is hung up on rather than left in silence.
//!
//! A tenant's own Twilio account (its TWILIO channel connection) places and changes its calls
//! ([`twilio_client_for`]) and signs its webhooks; a delivery about a tenant must be signed by
//! the account that tenant uses ([`check_signer`]), the operator's being the fallback.
//!
//! Every change is published as `Event::Call` after it commits. Must not: verify signatures
//! (the HTTP shims do, through the crates' front doors), write SQL, or decide booking and
//! outcome rules (`domain::dealership`).

mod bridge;
pub mod outbound;
mod routes;
pub mod sms;
mod tools;

pub use bridge::{Bridge, BridgeEnd};
pub use routes::{handle_twilio, TwilioAnswer, TwilioRoute};
pub use tools::{run_tool, ToolCall, SCHEDULE_APPOINTMENT, TRANSFER_TO_HUMAN};

use leadline_domain::calls::CallStatus;
use leadline_domain::dealership::{BusinessHours, PhoneCallOutcome, SlotRules, TransferResult};
use leadline_domain::ids::{CallId, TenantId};
use leadline_domain::phone::PhoneNumber;
use leadline_elevenlabs::{PostCallEvent, PostCallEventType};
use leadline_entity::{call_events, calls, tenants};
use leadline_twilio::twiml::{Dial, Response, Say, Stream};
use leadline_twilio::VoiceWebhook;
use serde_json::Value;

use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::services::twilio::http;
use crate::state::AppState;
use crate::store::calls::CallStatusChange;
use crate::store::phone_agent::{CallFinish, NewInboundCall};

pub(crate) use crate::services::twilio::twilio_client_for;

/// The path of the media-stream WebSocket (`wss://` + public host + this).
pub const MEDIA_STREAM_PATH: &str = "/api/voice/twilio/media-stream";
/// The `<Parameter>` carrying the call token.
pub const TOKEN_PARAMETER: &str = "token";
/// How long the operator's phone rings before Twilio gives up.
const DIAL_TIMEOUT_SECS: u32 = 30;
/// Where Twilio posts the `DialCallStatus` of every `<Dial>` to the operator.
pub const DIAL_STATUS_PATH: &str = "/api/voice/twilio/dial-status";
/// What a caller hears when the operator did not take the call.
const NOBODY_ANSWERED: &str =
    "Sorry, nobody is available to take your call right now. Please try again later. Goodbye.";

/// Publishes a call change for `callEvents` (the calls domain's one publisher).
pub(crate) use crate::services::calls::publish;

/// The ElevenLabs agent that answers a tenant's incoming calls (the older single agent id is
/// used when no inbound one is set).
pub fn inbound_agent_id(tenant: &tenants::Model) -> Option<&str> {
    tenant
        .elevenlabs_inbound_agent_id
        .as_deref()
        .or(tenant.elevenlabs_agent_id.as_deref())
        .filter(|id| !id.is_empty())
}

/// The week the agent books in: the tenant's, or the default one (Mon–Fri 09–18, Sat 09–14).
/// A stored week that no longer reads is INTERNAL (it was validated when set).
pub fn business_hours_of(tenant: &tenants::Model) -> ApiResult<BusinessHours> {
    match &tenant.business_hours {
        None => Ok(BusinessHours::default()),
        Some(stored) => BusinessHours::from_stored(stored)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("tenant {}: {e}", tenant.id))),
    }
}

/// The slot rules of a tenant row (validated when they were set).
pub fn slot_rules_of(tenant: &tenants::Model) -> ApiResult<SlotRules> {
    let minutes = u32::try_from(tenant.appointment_slot_minutes).unwrap_or(0);
    let per_slot = u32::try_from(tenant.appointments_per_slot).unwrap_or(0);
    SlotRules::new(minutes, per_slot)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("tenant {}: {e}", tenant.id)))
}

/// `wss://host/prefix` + [`MEDIA_STREAM_PATH`] from the public URL.
fn media_stream_url(public_url: &str) -> String {
    let ws = if let Some(rest) = public_url.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = public_url.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        public_url.to_owned()
    };
    format!("{ws}{MEDIA_STREAM_PATH}")
}

/// TwiML that hands the caller to the tenant's operator, or apologises when it has none. The
/// `<Dial>` reports how it went to [`DIAL_STATUS_PATH`] under the public URL (when there is
/// one), whose answer decides what the caller hears next.
pub(crate) fn dial_operator(public_url: Option<&str>, tenant: &tenants::Model) -> Response {
    match tenant.human_operator_number.as_deref() {
        Some(number) => {
            let dial = Dial::new(number).timeout(DIAL_TIMEOUT_SECS);
            Response::new().dial(match public_url {
                Some(public) => dial.action(format!("{public}{DIAL_STATUS_PATH}")),
                None => dial,
            })
        }
        None => Response::new()
            .say(Say::new(
                "Sorry, nobody can take your call right now. Please call again later.",
            ))
            .hangup(),
    }
}

/// What the caller hears once the operator's `<Dial>` ended: nothing more when someone took
/// the call, else a short apology, then the line is hung up. Voicemail is deliberately not
/// offered (see [`dial_status`]).
fn after_dial(result: Option<TransferResult>) -> String {
    match result {
        Some(result) if result.answered() => Response::new().hangup().to_xml(),
        _ => Response::new()
            .say(Say::new(NOBODY_ANSWERED))
            .hangup()
            .to_xml(),
    }
}

/// The tenant and call a verified Twilio callback is about: the tenant by our number (`To` on
/// an incoming call, `From` on one we placed), then the call by its `CallSid`. `None`: not a
/// call of ours.
async fn call_of_webhook(
    state: &AppState,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<Option<calls::Model>> {
    let Some(call_sid) = webhook.call_sid.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let mut tenant = None;
    for number in [webhook.to.as_deref(), webhook.from.as_deref()]
        .into_iter()
        .flatten()
    {
        if let Ok(number) = PhoneNumber::parse(number, None) {
            tenant = state.store.tenant_by_twilio_number(number.as_str()).await?;
            if tenant.is_some() {
                break;
            }
        }
    }
    let Some(tenant) = tenant else {
        return Ok(None);
    };
    check_signer(state, signer, TenantId(tenant.id)).await?;
    state
        .store
        .call_by_twilio_sid(TenantId(tenant.id), call_sid)
        .await
}

/// A verified `<Dial action>` delivery (`POST /api/voice/twilio/dial-status`): records
/// whether the operator took the call (answered, busy, no-answer, failed, canceled) with a
/// TRANSFER_RESULT entry, deduplicated on the dialled leg's `DialCallSid`, and answers the
/// TwiML the caller's leg runs next ([`after_dial`]). A call we do not know still gets that
/// TwiML, so no caller is left in silence.
///
/// No voicemail is offered when nobody answered: taking one needs `<Record>`, a recording
/// callback, somewhere to keep the audio and a recording notice where the caller's state
/// requires two-party consent. The caller's number is on the call and its lead, and the
/// missed transfer is on the call's timeline, so the sales team calls back instead.
pub async fn dial_status(
    state: &AppState,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<String> {
    let result = webhook
        .dial_call_status
        .as_ref()
        .and_then(|status| TransferResult::from_dial_call_status(status.as_str()));
    let Some(call) = call_of_webhook(state, webhook, signer).await? else {
        return Ok(after_dial(result));
    };
    let Some(result) = result else {
        return Ok(after_dial(None));
    };
    let receipt = format!(
        "dial:{}:{}",
        call.provider_call_id.as_deref().unwrap_or_default(),
        webhook.dial_call_sid.as_deref().unwrap_or_default()
    );
    if !state.store.has_receipt("twilio", &receipt).await? {
        let (saved, entry) = state
            .store
            .record_transfer_result(
                TenantId(call.tenant_id),
                call.id,
                result,
                webhook.dial_call_sid.clone(),
                webhook.dial_call_duration_secs,
            )
            .await?;
        publish(state, &saved, entry);
        state.store.record_receipt("twilio", &receipt).await?;
    }
    Ok(after_dial(Some(result)))
}

/// Answers a verified incoming-call webhook with TwiML: the call (INBOUND, its lead found or
/// created by the caller's number) is stored first, then either a `<Connect><Stream>` to the
/// bridge carrying a call token, or a `<Dial>` to the human operator when the agent is stopped
/// (or has no ElevenLabs agent). A redelivery answers the same way and stores nothing new.
pub async fn answer_incoming(
    state: &AppState,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<String> {
    let called = webhook
        .to
        .as_deref()
        .and_then(|to| PhoneNumber::parse(to, None).ok())
        .ok_or(ApiError::NotFound("phone number"))?;
    let tenant = state
        .store
        .tenant_by_twilio_number(called.as_str())
        .await?
        .ok_or(ApiError::NotFound("phone number"))?;
    check_signer(state, signer, TenantId(tenant.id)).await?;
    let call_sid = webhook
        .call_sid
        .as_deref()
        .filter(|sid| !sid.is_empty())
        .ok_or_else(|| ApiError::bad_input("CallSid", "missing"))?;
    let caller = webhook
        .from
        .as_deref()
        .and_then(|from| PhoneNumber::parse(from, None).ok())
        .map(|n| n.as_str().to_owned());
    let public_url = state.config.public_url.as_deref();
    let tenant_id = TenantId(tenant.id);
    let agent_ready =
        tenant.agent_running && inbound_agent_id(&tenant).is_some() && public_url.is_some();
    // The plan gate: without the phone agent in force the call goes to the human operator,
    // as when the agent is stopped, so no caller meets an error.
    let entitled = if agent_ready {
        match crate::services::billing::require_feature(
            state,
            tenant_id,
            leadline_domain::billing::Feature::PhoneAgent,
            None,
        )
        .await
        {
            Ok(()) => true,
            Err(ApiError::PaymentRequired { plan, reason, .. }) => {
                tracing::info!(%tenant_id, plan = %plan, reason, "phone agent not in the plan in force: the call goes to a person");
                false
            }
            Err(other) => return Err(other),
        }
    } else {
        false
    };
    // With the included call minutes used up (on a plan that does not bill beyond them), the
    // call goes to a person too: the caller is answered either way.
    let entitled = entitled
        && match crate::services::billing::require_quota(
            state,
            tenant_id,
            leadline_domain::billing::UsageItem::CallMinutes,
            1,
        )
        .await
        {
            Ok(()) => true,
            Err(ApiError::LimitReached { limit, .. }) => {
                tracing::info!(%tenant_id, limit, "included call minutes used up: the call goes to a person");
                false
            }
            Err(other) => return Err(other),
        };
    let agent_answers = agent_ready && entitled;
    // A lead this call creates is allocated like any new lead, but never rung back by the
    // outbound agent, as new leads from `createLead` and inbound messages are
    // (`outbound::call_new_ai_lead`, `RING_NEW_LEAD_JOB`): the caller is already on the line,
    // with the agent or a person, and a second call would ring them while they talk to us.
    let stored = state
        .store
        .start_inbound_call(
            tenant_id,
            NewInboundCall {
                call_sid: call_sid.to_owned(),
                from: caller,
                caller_name: webhook.caller_name.clone(),
                to: called.as_str().to_owned(),
                handled_by: if agent_answers { "AI" } else { "HUMAN" },
            },
        )
        .await?;
    let mut call = stored.call;
    if let Some(entry) = stored.entry {
        publish(state, &call, entry);
    }
    if let Some(lead) = stored.new_lead {
        state.bus.publish(
            TenantId(tenant.id),
            Event::LeadUpdated {
                lead: Box::new(lead),
            },
        );
    }
    // Twilio runs the TwiML we answer: the caller is connected from here on.
    if let Some((moved, entry)) = state
        .store
        .move_call(
            TenantId(tenant.id),
            CallId(call.id),
            CallStatus::InProgress,
            CallStatusChange::default(),
        )
        .await?
    {
        call = moved;
        publish(state, &call, entry);
    }
    let (Some(public_url), true) = (public_url, agent_answers) else {
        return Ok(dial_operator(public_url, &tenant).to_xml());
    };
    let ttl = chrono::Duration::from_std(state.config.media_stream_token_ttl)
        .unwrap_or(chrono::Duration::seconds(60));
    let token =
        state
            .tokens
            .issue_media_stream(tenant.id, call.id, call_sid, chrono::Utc::now(), ttl)?;
    Ok(Response::new()
        .connect_stream(Stream::new(media_stream_url(public_url)).parameter(TOKEN_PARAMETER, token))
        .to_xml())
}

/// What a report did to its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The call moved or got its details.
    Applied,
    /// A redelivery: nothing changed.
    Duplicate,
    /// Not a call of ours, or nothing to do.
    Ignored,
}

fn domain_status(status: &leadline_twilio::CallStatus) -> Option<CallStatus> {
    use leadline_twilio::CallStatus as T;
    Some(match status {
        T::Ringing => CallStatus::Ringing,
        T::InProgress => CallStatus::InProgress,
        T::Completed => CallStatus::Completed,
        T::Busy => CallStatus::Busy,
        T::NoAnswer => CallStatus::NoAnswer,
        T::Failed => CallStatus::Failed,
        T::Canceled => CallStatus::Canceled,
        _ => return None,
    })
}

/// A verified Twilio status callback posted to `/api/voice/twilio/status`: the call by
/// [`call_of_webhook`], then [`apply_twilio_status`]; an outbound call that ended unanswered
/// is retried.
pub async fn twilio_status(
    state: &AppState,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<ReportOutcome> {
    if webhook.call_status.is_none() {
        return Ok(ReportOutcome::Ignored);
    }
    let Some(call) = call_of_webhook(state, webhook, signer).await? else {
        return Ok(ReportOutcome::Ignored);
    };
    let (outcome, ended) = apply_twilio_status(state, call, webhook).await?;
    if let Some(ended) = ended {
        outbound::after_end(state, &ended).await;
    }
    Ok(outcome)
}

/// Applies a verified status callback to `call` (whose `CallSid` it names): moves it (never
/// backwards), and at the end writes its duration and recording and decides its outcome.
/// Deduplicated on `CallSid` + status + `SequenceNumber`. The call as saved when this delivery
/// ended it (for what follows an end: an outbound call's retry).
pub(crate) async fn apply_twilio_status(
    state: &AppState,
    call: calls::Model,
    webhook: &VoiceWebhook,
) -> ApiResult<(ReportOutcome, Option<calls::Model>)> {
    let (Some(call_sid), Some(status)) = (webhook.call_sid.as_deref(), &webhook.call_status) else {
        return Ok((ReportOutcome::Ignored, None));
    };
    let tenant_id = TenantId(call.tenant_id);
    let receipt = format!(
        "status:{call_sid}:{}:{}",
        status.as_str(),
        webhook
            .sequence_number
            .map(|n| n.to_string())
            .unwrap_or_default()
    );
    if state.store.has_receipt("twilio", &receipt).await? {
        return Ok((ReportOutcome::Duplicate, None));
    }
    let Some(to) = domain_status(status) else {
        return Ok((ReportOutcome::Ignored, None));
    };
    let mut ended = None;
    if to.is_terminal() {
        let machine = webhook.answered_by.as_ref().is_some_and(|a| a.is_machine());
        let finish = CallFinish {
            status: Some(if machine && to == CallStatus::Completed {
                CallStatus::Voicemail
            } else {
                to
            }),
            duration_seconds: webhook
                .call_duration_secs
                .map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
            recording_url: webhook.recording_url.clone(),
            machine,
            ..CallFinish::default()
        };
        let (saved, entries) = state
            .store
            .finish_phone_call(tenant_id, CallId(call.id), finish)
            .await?;
        if ends_call(&entries) {
            ended = Some(saved.clone());
        }
        for entry in entries {
            publish(state, &saved, entry);
        }
    } else if let Some((saved, entry)) = state
        .store
        .move_call(tenant_id, CallId(call.id), to, CallStatusChange::default())
        .await?
    {
        publish(state, &saved, entry);
    }
    state.store.record_receipt("twilio", &receipt).await?;
    Ok((ReportOutcome::Applied, ended))
}

/// Whether these timeline entries moved their call to a final status (written only when the
/// move happened, under the call's lock: one delivery of many sees it).
pub(crate) fn ends_call(entries: &[call_events::Model]) -> bool {
    entries.iter().any(|entry| {
        entry.kind == crate::store::calls::event_kind::STATUS
            && entry
                .payload
                .get("status")
                .and_then(Value::as_str)
                .and_then(|s| CallStatus::parse(s).ok())
                .is_some_and(CallStatus::is_terminal)
    })
}

/// The agent's own verdict, from the `outcome` data-collection item of its analysis (a value
/// such as `NOT_INTERESTED`, or `{ "value": "not_interested" }`), when it has one.
fn agent_verdict(event: &PostCallEvent) -> Option<PhoneCallOutcome> {
    let item = event
        .data
        .analysis
        .as_ref()?
        .data_collection_results
        .get("outcome")?;
    let text = match item {
        Value::String(s) => s.as_str(),
        other => other.get("value")?.as_str()?,
    };
    PhoneCallOutcome::parse(&text.trim().to_ascii_uppercase().replace([' ', '-'], "_")).ok()
}

/// A verified ElevenLabs post-call webhook: the transcript, the analysis summary, the duration
/// (unless Twilio reported it) and the outcome. Deduplicated on type + conversation id; a
/// conversation we do not know is ignored (answered 200, so ElevenLabs does not disable the
/// webhook over it).
pub async fn elevenlabs_post_call(
    state: &AppState,
    event: &PostCallEvent,
) -> ApiResult<ReportOutcome> {
    let Some(conversation_id) = event.data.conversation_id.as_deref() else {
        return Ok(ReportOutcome::Ignored);
    };
    let Some(call) = state
        .store
        .call_by_agent_conversation(conversation_id)
        .await?
    else {
        return Ok(ReportOutcome::Ignored);
    };
    let receipt = format!("{}:{conversation_id}", event.kind.as_str());
    if state.store.has_receipt("elevenlabs", &receipt).await? {
        return Ok(ReportOutcome::Duplicate);
    }
    let finish = match &event.kind {
        PostCallEventType::PostCallTranscription => {
            let transcript = event
                .data
                .transcript
                .iter()
                .filter_map(|turn| {
                    let message = turn.message.as_deref()?.trim();
                    (!message.is_empty()).then(|| format!("{}: {message}", turn.role))
                })
                .collect::<Vec<_>>()
                .join("\n");
            let duration = event
                .data
                .metadata
                .as_ref()
                .and_then(|m| m.call_duration_secs)
                .filter(|_| call.duration_seconds.is_none())
                .map(|secs| secs.round().clamp(0.0, f64::from(i32::MAX)) as i32);
            Some(CallFinish {
                duration_seconds: duration,
                transcript: (!transcript.is_empty()).then_some(transcript),
                summary: event
                    .data
                    .analysis
                    .as_ref()
                    .and_then(|a| a.transcript_summary.clone()),
                agent_verdict: agent_verdict(event),
                ..CallFinish::default()
            })
        }
        PostCallEventType::CallInitiationFailure => Some(CallFinish {
            status: Some(CallStatus::Failed),
            ..CallFinish::default()
        }),
        PostCallEventType::PostCallAudio | PostCallEventType::Unknown(_) => None,
    };
    let outcome = match finish {
        Some(finish) => {
            let (saved, entries) = state
                .store
                .finish_phone_call(TenantId(call.tenant_id), CallId(call.id), finish)
                .await?;
            for entry in entries {
                publish(state, &saved, entry);
            }
            ReportOutcome::Applied
        }
        None => ReportOutcome::Ignored,
    };
    state.store.record_receipt("elevenlabs", &receipt).await?;
    Ok(outcome)
}

/// Whose Twilio auth token verified a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioSigner {
    /// The operator's account (`TWILIO_AUTH_TOKEN`).
    Operator,
    /// This tenant's own account (its TWILIO connection).
    Tenant(TenantId),
}

/// The receivers that may verify a Twilio delivery, each with whose account it is: the
/// operator's (when configured), then every tenant account with the SID the delivery claims
/// (`AccountSid`, read before verification only to narrow the search: the signature decides).
pub async fn twilio_receivers(
    state: &AppState,
    claimed_account: Option<&str>,
) -> ApiResult<Vec<(leadline_twilio::Receiver, TwilioSigner)>> {
    let mut receivers = Vec::new();
    if let Ok(operator) = state.config.twilio.receiver() {
        receivers.push((operator, TwilioSigner::Operator));
    }
    if let Some(claimed) = claimed_account.map(str::trim).filter(|s| !s.is_empty()) {
        for account in state.store.twilio_accounts_by_sid(claimed).await? {
            if let Ok(receiver) = leadline_twilio::Receiver::new(&account.auth_token) {
                receivers.push((
                    receiver.with_account_sid(&account.account_sid),
                    TwilioSigner::Tenant(account.tenant_id),
                ));
            }
        }
    }
    Ok(receivers)
}

/// Refuses (UNAUTHENTICATED, before anything is stored) a delivery about `tenant`'s calls,
/// number or texts that is not signed by the account the tenant uses: its own when it
/// connected one, else the operator's. So one tenant's token never moves another's calls, and
/// the operator's shared token does not speak for a tenant with its own account.
pub(crate) async fn check_signer(
    state: &AppState,
    signer: TwilioSigner,
    tenant: TenantId,
) -> ApiResult<()> {
    let own = state.store.tenant_twilio_account(tenant).await?;
    let signed_by_its_account = match (signer, own) {
        (TwilioSigner::Operator, None) => true,
        (TwilioSigner::Tenant(by), Some(_)) => by == tenant,
        _ => false,
    };
    if signed_by_its_account {
        Ok(())
    } else {
        Err(ApiError::Unauthenticated(
            "the delivery is not signed by this number's Twilio account".into(),
        ))
    }
}

/// The ElevenLabs client of the operator's account.
pub(crate) fn elevenlabs_client(state: &AppState) -> ApiResult<leadline_elevenlabs::Client> {
    state
        .config
        .elevenlabs
        .client(http().clone())
        .map_err(|e| ApiError::Unavailable(format!("ElevenLabs: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_url_follows_the_public_scheme() {
        assert_eq!(
            media_stream_url("https://leads.example.com/x"),
            "wss://leads.example.com/x/api/voice/twilio/media-stream"
        );
        assert_eq!(
            media_stream_url("http://127.0.0.1:8080"),
            "ws://127.0.0.1:8080/api/voice/twilio/media-stream"
        );
    }
}
