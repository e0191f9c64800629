//! Outbound AI calls to leads (issue 15, "Outbound"): the agent rings a lead from the
//! dealership's Twilio number, Twilio's answering-machine detection tells a person from a
//! machine, and the same bridge connects the person to the tenant's **outbound** ElevenLabs
//! agent.
//!
//! - [`enqueue_for_lead`] (a lead allocated to the AI) and [`start_outbound_call`]
//!   (`callLeadNow`): the compliance gate decides first, then a QUEUED call with its
//!   `phone_agent_outbound_call` job (now, or at the next allowed minute), or a BLOCKED call.
//! - [`OutboundCallHandler`], the job: the gate again, then Twilio's create-call with
//!   `MachineDetection=DetectMessageEnd`, `AsyncAmd`, and per-call URLs under
//!   `LEADLINE_PUBLIC_URL` (`Url` → [`answer_outbound`], `StatusCallback` →
//!   [`outbound_status`], `AsyncAmdStatusCallback` → [`outbound_amd`]). The create request is
//!   marked on the call before it is sent and its `CallSid` recorded after, so a retried job
//!   never places a second call (below).
//! - A machine or fax verdict ends the call as VOICEMAIL and queues its hang-up
//!   ([`HangUpHandler`], `Status=completed` if Twilio still has it live); VOICEMAIL, NO_ANSWER
//!   and BUSY are tried again under `domain::calls::RetryPolicy`, through the gate.
//!
//! Twilio takes no idempotency key. A create request that got an answer is settled: its
//! `CallSid` is recorded, or the mark is cleared and the job retries (a 5xx, a 429) or fails
//! the call (a 4xx). A request that got **no** answer (a timeout, a crash) may have placed the
//! call: the job does not send it again; Twilio's first callback on the call's own URLs names
//! the `CallSid` and is adopted, and a call still unconfirmed when the job runs again is FAILED
//! (`CALL_INITIATION_UNCONFIRMED`) rather than dialled twice.
//!
//! Must not: verify signatures (the HTTP shims do), write SQL, or decide whether a call may be
//! dialled (`domain::compliance`).

use chrono::{DateTime, Utc};
use leadline_domain::calls::{CallStatus, RetryPolicy};
use leadline_domain::compliance::DialDecision;
use leadline_domain::conversation::Handler;
use leadline_domain::ids::{CallId, LeadId, TenantId};
use leadline_domain::phone::PhoneNumber;
use leadline_entity::{calls, jobs, leads, tenants};
use leadline_twilio::twiml::{Response, Stream};
use leadline_twilio::{CallInstructions, CreateCall, MachineDetection, VoiceWebhook};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{
    apply_twilio_status, check_signer, dial_operator, ends_call, media_stream_url, publish,
    twilio_client_for, ReportOutcome, TwilioSigner, TOKEN_PARAMETER,
};
use crate::error::{ApiError, ApiResult};
use crate::jobs::JobFailure;
use crate::services::calls::gate_for_lead;
use crate::state::AppState;
use crate::store::calls::{status_of, CallStatusChange};
use crate::store::outbound_calls::{NewOutboundCall, OUTBOUND_SALES};
use crate::store::phone_agent::CallFinish;

/// The per-call paths: `{OUTBOUND_PATH}/{callId}` (TwiML), `…/status`, `…/amd`.
pub const OUTBOUND_PATH: &str = "/api/voice/twilio/outbound";
/// How long the lead's phone rings before Twilio reports no-answer.
const RING_TIMEOUT_SECS: u32 = 30;

/// The ElevenLabs agent that talks on the calls a tenant places.
pub fn outbound_agent_id(tenant: &tenants::Model) -> Option<&str> {
    tenant
        .elevenlabs_outbound_agent_id
        .as_deref()
        .filter(|id| !id.is_empty())
}

/// The three URLs Twilio is given for call `call_id`: TwiML, status callback, AMD verdict.
fn call_urls(public_url: &str, call_id: Uuid) -> (String, String, String) {
    let base = format!("{public_url}{OUTBOUND_PATH}/{call_id}");
    (
        base.clone(),
        format!("{base}/status"),
        format!("{base}/amd"),
    )
}

/// Why the tenant cannot place agent calls now, if it cannot.
fn not_ready(state: &AppState, tenant: &tenants::Model) -> Option<&'static str> {
    if !tenant.agent_running {
        Some("the phone agent is stopped")
    } else if tenant.twilio_phone_number.is_none() {
        Some("twilioPhoneNumber is not set")
    } else if outbound_agent_id(tenant).is_none() {
        Some("elevenlabsOutboundAgentId is not set")
    } else if state.config.public_url.is_none() {
        Some("LEADLINE_PUBLIC_URL is not configured")
    } else {
        None
    }
}

/// Decides and stores an outbound agent call to lead `lead_id` as attempt `attempt`, not
/// before `not_before` (default now): QUEUED with its dial job (then, or at the next minute the
/// gate allows), or BLOCKED with the gate's reason. BAD_USER_INPUT when the lead has no E.164
/// phone; CONFLICT when the tenant's agent cannot call (stopped, or its number, outbound agent
/// or public URL missing) or the lead already has an outbound call queued or under way.
pub async fn start_outbound_call(
    state: &AppState,
    tenant_id: TenantId,
    lead_id: Uuid,
    attempt: i32,
    not_before: Option<DateTime<Utc>>,
) -> ApiResult<calls::Model> {
    crate::services::billing::require_feature(
        state,
        tenant_id,
        leadline_domain::billing::Feature::PhoneAgent,
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
    let lead = state.store.lead(tenant_id, LeadId(lead_id)).await?;
    let phone = lead
        .phone
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_input("leadId", "the lead has no phone number to call"))?;
    let number = PhoneNumber::parse(phone, None).map_err(|e| ApiError::invalid("phone", e))?;
    let tenant = state.store.tenant(tenant_id).await?;
    if let Some(why) = not_ready(state, &tenant) {
        return Err(ApiError::Conflict(format!(
            "the phone agent cannot place calls: {why}"
        )));
    }
    let now = Utc::now().max(not_before.unwrap_or_default());
    let plan = match gate_for_lead(state, tenant_id, &lead, &number, now).await? {
        DialDecision::Dial => Ok(now),
        DialDecision::Defer { until } => Ok(until),
        DialDecision::Block(reason) => Err(reason.as_str().to_owned()),
    };
    let (call, entry) = state
        .store
        .create_outbound_call(
            tenant_id,
            NewOutboundCall {
                lead_id: LeadId(lead_id),
                to_number: number.as_str().to_owned(),
                from_number: tenant.twilio_phone_number.clone(),
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

/// What lead allocation calls for a lead it gave to the AI: an outbound agent call, through
/// the gate. `None` (logged) when the lead cannot be called by the agent — no E.164 phone, the
/// agent not set up to call, or a call to the lead already queued or under way — since a lead
/// is allocated whether or not it can be rung.
pub async fn enqueue_for_lead(
    state: &AppState,
    tenant_id: TenantId,
    lead_id: Uuid,
) -> ApiResult<Option<calls::Model>> {
    match start_outbound_call(state, tenant_id, lead_id, 1, None).await {
        Ok(call) => Ok(Some(call)),
        Err(error @ (ApiError::BadUserInput { .. } | ApiError::Conflict(_))) => {
            tracing::info!(lead_id = %lead_id, error = %error.public_message(), "no outbound call for this AI lead");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Rings a lead that allocation has just given to the AI, when its tenant's agent is set up to
/// place calls: a new lead from `createLead`, a CRM's `upsertLeadByExternalRef`, or an inbound
/// message (WhatsApp, a text to the dealership's number: any channel that gives the phone).
/// Best effort, after the lead's commit: the lead is stored whatever happens here, so a failure
/// is logged, not returned. Tenants without the outbound agent cost one tenant read and no log
/// line. A lead an inbound *call* created is never rung back (`super` says why).
pub async fn call_new_ai_lead(state: &AppState, tenant_id: TenantId, lead: &leads::Model) {
    if lead.handler != Handler::Ai.as_str() || lead.phone.is_none() {
        return;
    }
    match state.store.tenant(tenant_id).await {
        Ok(tenant) if not_ready(state, &tenant).is_none() => {}
        Ok(_) => return,
        Err(error) => {
            tracing::warn!(lead_id = %lead.id, ?error, "no outbound call for a new AI lead: tenant unreadable");
            return;
        }
    }
    if let Err(error) = enqueue_for_lead(state, tenant_id, lead.id).await {
        tracing::warn!(lead_id = %lead.id, ?error, "no outbound call for a new AI lead");
    }
}

/// The `errorCode` of an agent call cancelled because its lead went to a person.
pub const LEAD_ASSIGNED_TO_HUMAN: &str = "LEAD_ASSIGNED_TO_HUMAN";

/// Cancels the agent's outbound call to lead `lead_id` that is still QUEUED (waiting for its
/// dial job, now or at the next allowed minute): the lead went to a person, who calls
/// instead. A call already dialling or talking is left to end. The cancelled call, if any.
/// The dial job re-reads the call before it dials, so it skips a cancelled one.
pub async fn cancel_pending_for_lead(
    state: &AppState,
    tenant_id: TenantId,
    lead_id: LeadId,
) -> ApiResult<Option<calls::Model>> {
    let Some(call) = state.store.active_outbound_call(tenant_id, lead_id).await? else {
        return Ok(None);
    };
    if call.purpose != OUTBOUND_SALES || call.status != CallStatus::Queued.as_str() {
        return Ok(None);
    }
    let moved = state
        .store
        .move_call(
            tenant_id,
            CallId(call.id),
            CallStatus::Canceled,
            CallStatusChange {
                error_code: Some(LEAD_ASSIGNED_TO_HUMAN.to_owned()),
                ..Default::default()
            },
        )
        .await?;
    Ok(moved.map(|(call, entry)| {
        publish(state, &call, entry);
        call
    }))
}

/// What follows the end of an outbound call: VOICEMAIL, NO_ANSWER and BUSY are tried again
/// after the retry policy's spacing (the attempt after), through the gate like any call.
/// Failures are logged: the end itself is recorded already.
pub(crate) async fn after_end(state: &AppState, call: &calls::Model) {
    if call.purpose != OUTBOUND_SALES {
        return;
    }
    let (Ok(status), Some(lead_id)) = (status_of(call), call.lead_id) else {
        return;
    };
    let attempts = u32::try_from(call.attempt).unwrap_or(u32::MAX);
    let ended_at = call.ended_at.unwrap_or_else(Utc::now);
    let Some(when) = RetryPolicy::default().next_attempt(status, attempts, ended_at) else {
        return;
    };
    let retry = start_outbound_call(
        state,
        TenantId(call.tenant_id),
        lead_id,
        call.attempt.saturating_add(1),
        Some(when),
    )
    .await;
    match retry {
        Ok(retry) => {
            tracing::info!(call_id = %call.id, retry_id = %retry.id, status = %retry.status, "outbound call retry scheduled")
        }
        Err(error) => {
            tracing::warn!(call_id = %call.id, error = ?error, "outbound call not retried")
        }
    }
}

/// The outbound call a per-call URL names, when the delivery's `CallSid` is that call's; a call
/// whose create answer was lost adopts the sid its first callback names (and is DIALING from
/// then). `None`: not ours.
async fn callback_call(
    state: &AppState,
    call_id: Uuid,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<Option<calls::Model>> {
    let Some(call_sid) = webhook.call_sid.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let Some(call) = state.store.outbound_call_by_id(CallId(call_id)).await? else {
        return Ok(None);
    };
    let tenant_id = TenantId(call.tenant_id);
    check_signer(state, signer, tenant_id).await?;
    match call.provider_call_id.as_deref() {
        Some(known) if known == call_sid => Ok(Some(call)),
        Some(_) => {
            tracing::warn!(call_id = %call_id, "a Twilio callback named another CallSid; ignored");
            Ok(None)
        }
        None => {
            let mut call = state
                .store
                .adopt_twilio_sid(tenant_id, CallId(call_id), call_sid)
                .await?;
            if call.provider_call_id.as_deref() != Some(call_sid) {
                return Ok(None);
            }
            if let Some((moved, entry)) = state
                .store
                .move_call(
                    tenant_id,
                    CallId(call_id),
                    CallStatus::Dialing,
                    CallStatusChange::default(),
                )
                .await?
            {
                call = moved;
                publish(state, &call, entry);
            }
            Ok(Some(call))
        }
    }
}

/// `POST …/outbound/{callId}` (verified): the lead picked up; TwiML that streams the call to
/// the bridge with a call token (the outbound agent), or hangs up a call that is over.
pub async fn answer_outbound(
    state: &AppState,
    call_id: Uuid,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<String> {
    let call = callback_call(state, call_id, webhook, signer)
        .await?
        .ok_or(ApiError::NotFound("call"))?;
    if status_of(&call)?.is_terminal() {
        return Ok(Response::new().hangup().to_xml());
    }
    let tenant_id = TenantId(call.tenant_id);
    let tenant = state.store.tenant(tenant_id).await?;
    let mut call = call;
    if let Some((moved, entry)) = state
        .store
        .move_call(
            tenant_id,
            CallId(call.id),
            CallStatus::InProgress,
            CallStatusChange::default(),
        )
        .await?
    {
        call = moved;
        publish(state, &call, entry);
    }
    let (Some(public_url), Some(_), Some(call_sid)) = (
        state.config.public_url.as_deref(),
        outbound_agent_id(&tenant),
        call.provider_call_id.as_deref(),
    ) else {
        // The agent was unset while the call rang: a person takes it rather than silence.
        return Ok(dial_operator(state.config.public_url.as_deref(), &tenant).to_xml());
    };
    let ttl = chrono::Duration::from_std(state.config.media_stream_token_ttl)
        .unwrap_or(chrono::Duration::seconds(60));
    let token = state
        .tokens
        .issue_media_stream(tenant.id, call.id, call_sid, Utc::now(), ttl)?;
    Ok(Response::new()
        .connect_stream(Stream::new(media_stream_url(public_url)).parameter(TOKEN_PARAMETER, token))
        .to_xml())
}

/// `POST …/outbound/{callId}/status` (verified): the call's status callback; an unanswered
/// end is retried.
pub async fn outbound_status(
    state: &AppState,
    call_id: Uuid,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<ReportOutcome> {
    let Some(call) = callback_call(state, call_id, webhook, signer).await? else {
        return Ok(ReportOutcome::Ignored);
    };
    let (outcome, ended) = apply_twilio_status(state, call, webhook).await?;
    if let Some(ended) = ended {
        after_end(state, &ended).await;
    }
    Ok(outcome)
}

/// `POST …/outbound/{callId}/amd` (verified): answering-machine detection's verdict. A machine
/// or fax ends the call as VOICEMAIL, queues its hang-up and the retry; a person carries on,
/// recorded as `answered_by` HUMAN.
/// Deduplicated on `CallSid`.
pub async fn outbound_amd(
    state: &AppState,
    call_id: Uuid,
    webhook: &VoiceWebhook,
    signer: TwilioSigner,
) -> ApiResult<ReportOutcome> {
    let (Some(call), Some(answered_by)) = (
        callback_call(state, call_id, webhook, signer).await?,
        webhook.answered_by.as_ref(),
    ) else {
        return Ok(ReportOutcome::Ignored);
    };
    let receipt = format!("amd:{}", call.provider_call_id.as_deref().unwrap_or(""));
    if state.store.has_receipt("twilio", &receipt).await? {
        return Ok(ReportOutcome::Duplicate);
    }
    let tenant_id = TenantId(call.tenant_id);
    if answered_by.is_machine() {
        let (saved, entries) = state
            .store
            .finish_phone_call(
                tenant_id,
                CallId(call.id),
                CallFinish {
                    status: Some(CallStatus::Voicemail),
                    machine: true,
                    ..CallFinish::default()
                },
            )
            .await?;
        let ended = ends_call(&entries);
        for entry in entries {
            publish(state, &saved, entry);
        }
        if ended {
            state
                .store
                .enqueue_hang_up(tenant_id, CallId(call.id))
                .await?;
            state.jobs.wake().await;
            after_end(state, &saved).await;
        }
    } else if matches!(answered_by, leadline_twilio::AnsweredBy::Human) {
        // A person: the call carries on, and `Call.answeredBy` says who picked up. (`unknown`
        // records nothing: detection could not tell.)
        state
            .store
            .record_human_answer(tenant_id, CallId(call.id))
            .await?;
    }
    state.store.record_receipt("twilio", &receipt).await?;
    Ok(ReportOutcome::Applied)
}

/// The call a job's payload names, or why the job cannot run.
async fn job_call(state: &AppState, job: &jobs::Model) -> Result<calls::Model, JobFailure> {
    let call_id = job
        .payload
        .get("call_id")
        .and_then(Value::as_str)
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| JobFailure::Permanent("payload without a call_id".into()))?;
    match state
        .store
        .call(TenantId(job.tenant_id), CallId(call_id))
        .await
    {
        Ok(call) => Ok(call),
        Err(ApiError::NotFound(_)) => {
            Err(JobFailure::Permanent("the call no longer exists".into()))
        }
        Err(e) => Err(JobFailure::from(e)),
    }
}

/// Whether a failed create request may have been carried out by Twilio all the same: it got
/// no answer (a timeout, a dropped connection), or an answer we could not read.
fn unanswered(error: &leadline_twilio::Error) -> bool {
    matches!(
        error,
        leadline_twilio::Error::Transient { status: 0, .. } | leadline_twilio::Error::Decode(_)
    )
}

/// The seed's error kinds, with Twilio's message.
fn error_code(error: &leadline_twilio::Error) -> String {
    use leadline_twilio::Error;
    let kind = match error {
        Error::Configuration(_) | Error::Unauthorized { .. } => "CONFIGURATION",
        Error::InvalidPhoneNumber(_) => "INVALID_PHONE_NUMBER",
        _ => "CALL_INITIATION_FAILED",
    };
    format!("{kind}: {error}")
}

/// The `phone_agent_outbound_call` job: dials one QUEUED outbound call.
pub struct OutboundCallHandler {
    state: AppState,
}

impl OutboundCallHandler {
    /// The handler over the app's state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Fails the call with `code` and finishes the job (retrying cannot help).
    async fn fail(&self, call: &calls::Model, code: String) -> Result<Value, JobFailure> {
        crate::services::calls::fail_dial(&self.state, call, code).await
    }
}

#[async_trait::async_trait]
impl crate::jobs::JobHandler for OutboundCallHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let state = &self.state;
        let call = job_call(state, job).await?;
        // Cancelled, or dialled by an earlier run of this job (or adopted from a callback).
        if call.status != CallStatus::Queued.as_str() {
            return Ok(json!({"skipped": call.status}));
        }
        let tenant_id = TenantId(call.tenant_id);
        let lead = match call.lead_id {
            Some(id) => match state.store.lead(tenant_id, LeadId(id)).await {
                Ok(lead) => lead,
                Err(ApiError::NotFound(_)) => {
                    return self.fail(&call, "LEAD_REMOVED".into()).await;
                }
                Err(e) => return Err(JobFailure::from(e)),
            },
            None => return self.fail(&call, "LEAD_REMOVED".into()).await,
        };
        let number = PhoneNumber::parse(&call.to_number, None)
            .map_err(|e| JobFailure::Permanent(format!("stored number does not read: {e}")))?;
        // The gate again, on what is true now: the call may have waited hours in the queue.
        let decision = gate_for_lead(state, tenant_id, &lead, &number, Utc::now())
            .await
            .map_err(JobFailure::from)?;
        if let Some(done) =
            crate::services::calls::apply_dial_decision(state, &call, decision).await?
        {
            return Ok(done);
        }
        let tenant = state
            .store
            .tenant(tenant_id)
            .await
            .map_err(JobFailure::from)?;
        if let Some(why) = not_ready(state, &tenant) {
            return self.fail(&call, format!("CONFIGURATION: {why}")).await;
        }
        let (Some(public_url), Some(from)) = (
            state.config.public_url.as_deref(),
            tenant.twilio_phone_number.as_deref(),
        ) else {
            return self.fail(&call, "CONFIGURATION: not set up".into()).await;
        };
        let requested = call
            .metadata
            .get("dial")
            .and_then(|d| d.get("createRequested"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if requested {
            // An earlier run's create got no answer and no callback has named the call since:
            // Twilio may still have it, so it is not placed a second time.
            return self
                .fail(
                    &call,
                    "CALL_INITIATION_UNCONFIRMED: Twilio did not answer the create request".into(),
                )
                .await;
        }
        let client = twilio_client_for(state, tenant_id)
            .await
            .map_err(JobFailure::from)?;
        let (twiml_url, status_url, amd_url) = call_urls(public_url, call.id);
        let mut create = CreateCall::new(
            call.to_number.clone(),
            from.to_owned(),
            CallInstructions::Url(twiml_url),
        )
        .with_status_callback(status_url)
        .with_async_amd(MachineDetection::DetectMessageEnd, amd_url);
        create.timeout_secs = Some(RING_TIMEOUT_SECS);
        state
            .store
            .record_dial_progress(tenant_id, CallId(call.id), json!({"createRequested": true}))
            .await
            .map_err(JobFailure::from)?;
        match client.create_call(&create).await {
            Ok(placed) => {
                let moved = state
                    .store
                    .move_call(
                        tenant_id,
                        CallId(call.id),
                        CallStatus::Dialing,
                        CallStatusChange {
                            provider_call_id: Some(placed.sid.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(JobFailure::from)?;
                if let Some((call, entry)) = moved {
                    publish(state, &call, entry);
                }
                Ok(json!({"status": "DIALING", "callSid": placed.sid}))
            }
            Err(error) if unanswered(&error) => Err(JobFailure::Retry(error.to_string())),
            Err(error) => {
                // Twilio answered: no call was placed, so the next run may send it again.
                state
                    .store
                    .record_dial_progress(
                        tenant_id,
                        CallId(call.id),
                        json!({"createRequested": false}),
                    )
                    .await
                    .map_err(JobFailure::from)?;
                if error.is_retryable() {
                    Err(JobFailure::Retry(error.to_string()))
                } else {
                    self.fail(&call, error_code(&error)).await
                }
            }
        }
    }
}

/// The `phone_agent_hang_up` job: ends a call a machine answered (`Status=completed`), if
/// Twilio still has it live.
pub struct HangUpHandler {
    state: AppState,
}

impl HangUpHandler {
    /// The handler over the app's state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl crate::jobs::JobHandler for HangUpHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let call = job_call(&self.state, job).await?;
        let Some(call_sid) = call.provider_call_id.as_deref() else {
            return Ok(json!({"skipped": "no CallSid"}));
        };
        let client = twilio_client_for(&self.state, TenantId(call.tenant_id))
            .await
            .map_err(JobFailure::from)?;
        let outcome = match client.fetch_call(call_sid).await {
            Ok(live) if live.status.is_final() => Ok(json!({"alreadyEnded": live.status.as_str()})),
            Ok(_) => client
                .complete_call(call_sid)
                .await
                .map(|_| json!({"hungUp": call_sid})),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(result) => Ok(result),
            // Gone, or ended between the two requests: nothing left to hang up.
            Err(leadline_twilio::Error::NotFound(_) | leadline_twilio::Error::Rejected { .. }) => {
                Ok(json!({"alreadyEnded": true}))
            }
            Err(error) if error.is_retryable() => Err(JobFailure::Retry(error.to_string())),
            Err(error) => Err(JobFailure::Permanent(error.to_string())),
        }
    }
}

/// The `phone_agent_ring_new_lead` job (`store::outbound_calls::RING_NEW_LEAD_JOB`): rings a new
/// lead an inbound message created, through [`call_new_ai_lead`]'s checks as they stand when it
/// runs (the lead still the AI's, the agent still able to call), then [`enqueue_for_lead`]. A
/// lead that cannot be rung completes the job with why; a database failure retries it.
pub struct RingNewLeadHandler {
    state: AppState,
}

impl RingNewLeadHandler {
    /// The handler over the app's state.
    pub fn new(state: AppState) -> Self {
        Self { state }
    }
}

#[async_trait::async_trait]
impl crate::jobs::JobHandler for RingNewLeadHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let lead_id = job
            .payload
            .get("leadId")
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| JobFailure::Permanent("payload without a leadId".into()))?;
        let tenant_id = TenantId(job.tenant_id);
        let lead = match self.state.store.lead(tenant_id, LeadId(lead_id)).await {
            Ok(lead) => lead,
            Err(ApiError::NotFound(_)) => return Ok(json!({"skipped": "the lead is gone"})),
            Err(error) => return Err(error.into()),
        };
        if lead.handler != Handler::Ai.as_str() {
            return Ok(json!({"skipped": "the lead went to a person"}));
        }
        let tenant = self.state.store.tenant(tenant_id).await?;
        if let Some(why) = not_ready(&self.state, &tenant) {
            return Ok(json!({"skipped": why}));
        }
        match enqueue_for_lead(&self.state, tenant_id, lead_id).await {
            Ok(Some(call)) => Ok(json!({"callId": call.id, "status": call.status})),
            Ok(None) => Ok(json!({"skipped": "the lead cannot be called (see the log)"})),
            // The plan has no phone agent: nothing a retry would change.
            Err(error @ ApiError::PaymentRequired { .. }) => {
                Ok(json!({"skipped": error.public_message()}))
            }
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_twilio_gets_is_under_the_public_url_and_names_the_call() {
        let id = Uuid::nil();
        let (twiml, status, amd) = call_urls("https://leads.example.com", id);
        assert_eq!(
            twiml,
            "https://leads.example.com/api/voice/twilio/outbound/00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(status, format!("{twiml}/status"));
        assert_eq!(amd, format!("{twiml}/amd"));
    }

    #[test]
    fn only_an_unanswered_create_is_treated_as_possibly_placed() {
        use leadline_twilio::Error;
        assert!(unanswered(&Error::Transient {
            status: 0,
            message: "timed out".into()
        }));
        assert!(unanswered(&Error::Decode("half a body".into())));
        assert!(!unanswered(&Error::Transient {
            status: 503,
            message: "unavailable".into()
        }));
        assert!(!unanswered(&Error::RateLimited { retry_after: None }));
        assert!(!unanswered(&Error::InvalidPhoneNumber("+1".into())));
    }
}
