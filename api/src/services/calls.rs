//! Payment-reminder calls over LiveKit SIP (ARCHITECTURE.md §4 "Calls", §5): the use cases the
//! GraphQL resolvers and the LiveKit webhook call, and the `reminder_call` job that dials.
//!
//! - [`start_reminder_call`]: the compliance gate (`domain::compliance::check_dial`) decides
//!   before anything is stored; a refusal is a BLOCKED call that is never dialled, hours outside
//!   the recipient's window defer the job to the next allowed minute.
//! - [`ReminderCallHandler`]: room `call-<id>`, agent dispatch with the prompt and invoice
//!   context as metadata, SIP dial on the configured trunk. Timeouts and 5xx retry under the
//!   job's backoff; a LiveKit 4xx or a missing setting fails the call with its reason.
//! - [`handle_livekit_event`]: verified deliveries, deduplicated by event id, move the call
//!   through the lifecycle; late or repeated events change nothing.
//!
//! Every change is published as `Event::Call` after its transaction commits.
//!
//! Must not: parse GraphQL or HTTP, or write SQL (the store does).

use chrono::{DateTime, Duration, Utc};
use leadline_domain::analysis::Language;
use leadline_domain::calls::{
    reminder_prompt, AnsweredBy, CallContext, CallOutcome, CallStatus, CustomerResponse,
    InvoiceFacts, RetryPolicy,
};
use leadline_domain::compliance::{
    check_dial, parse_time_zone, recipient_zone, Consent, DialCheck, DialDecision, Tz, ZoneHints,
};
use leadline_domain::money::Money;
use leadline_domain::phone::PhoneNumber;
use leadline_domain::DomainError;
use leadline_entity::{call_events, calls, invoices, jobs, leads};
use leadline_livekit::models::{
    CreateAgentDispatchRequest, CreateRoomRequest, CreateSipParticipantRequest, EventKind,
    SipCallStatus, WebhookEvent,
};
use leadline_livekit::SipDialFailure;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::auth::Actor;
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::jobs::JobFailure;
use crate::state::AppState;
use crate::store::calls::{room_name, CallStatusChange, NewCall};
use crate::store::inbox::NewTicket;
use crate::store::ScoreAdjustment;

/// The zone of a tenant that set none, when neither the number, the invoice nor the lead
/// settles the recipient's.
const DEFAULT_TENANT_ZONE: Tz = Tz::UTC;

/// A stored zone; stored zones were validated on the way in, so an unreadable one is logged
/// and skipped (the next hint, or the tenant's, decides) rather than failing the call.
fn stored_zone(what: &str, zone: Option<&str>) -> Option<Tz> {
    let zone = zone?;
    match parse_time_zone("timeZone", zone) {
        Ok(tz) => Some(tz),
        Err(error) => {
            tracing::warn!(%error, what, "a stored time zone does not read; ignored");
            None
        }
    }
}

/// What the gate and the agent's context know about where the recipient is.
fn zone_hints(invoice: &invoices::Model, lead: Option<&leads::Model>, tenant: Tz) -> ZoneHints {
    ZoneHints {
        invoice: stored_zone("invoice", invoice.time_zone.as_deref()),
        lead: stored_zone("lead", lead.and_then(|l| l.time_zone.as_deref())),
        tenant,
    }
}

/// The facts about a call's recipient, read fresh for each decision.
struct Recipient {
    lead: Option<leads::Model>,
    tenant_zone: Tz,
}

impl Recipient {
    async fn read(state: &AppState, tenant_id: Uuid, invoice: &invoices::Model) -> ApiResult<Self> {
        let lead = match invoice.lead_id {
            Some(id) => match state.store.lead(tenant_id, id).await {
                Ok(lead) => Some(lead),
                Err(ApiError::NotFound(_)) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let tenant = state.store.tenant(tenant_id).await?;
        Ok(Self {
            lead,
            tenant_zone: stored_zone("tenant", tenant.time_zone.as_deref())
                .unwrap_or(DEFAULT_TENANT_ZONE),
        })
    }

    fn zones(&self, invoice: &invoices::Model) -> ZoneHints {
        zone_hints(invoice, self.lead.as_ref(), self.tenant_zone)
    }

    fn consent(&self) -> ApiResult<Consent> {
        match &self.lead {
            None => Ok(Consent::Unknown),
            Some(lead) => Consent::parse(&lead.call_consent)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("lead {}: {e}", lead.id))),
        }
    }
}

/// The compliance gate for one dial of `number` about `invoice` at `now`, on facts read now:
/// the tenant's policy and zone, the lead's consent and zone, the do-not-call list and the
/// number's earlier attempts. Run when a call is asked for and again right before it is
/// dialled, so a consent revoked, a number listed or a policy tightened in between still holds.
async fn gate(
    state: &AppState,
    tenant_id: Uuid,
    invoice: &invoices::Model,
    number: &PhoneNumber,
    now: DateTime<Utc>,
) -> ApiResult<(DialDecision, Recipient)> {
    let recipient = Recipient::read(state, tenant_id, invoice).await?;
    let policy = state.store.call_policy(tenant_id).await?.policy;
    let earlier = state
        .store
        .call_attempts_since(tenant_id, number.as_str(), now - Duration::days(7))
        .await?;
    let on_list = state
        .store
        .is_do_not_call(tenant_id, number.as_str())
        .await?;
    let decision = check_dial(&DialCheck {
        number,
        now,
        zones: recipient.zones(invoice),
        policy,
        on_do_not_call_list: on_list,
        consent: recipient.consent()?,
        earlier_attempts: &earlier,
    });
    Ok((decision, recipient))
}

/// Publishes a call change for `callEvents`.
fn publish(state: &AppState, call: calls::Model, entry: call_events::Model) {
    state.bus.publish(
        call.tenant_id,
        Event::Call {
            call: Box::new(call),
            entry: Box::new(entry),
        },
    );
}

/// Decides and stores a reminder call about `invoice_id`, not before `not_before` (default
/// now): QUEUED with its dial job (now or at the next allowed minute), or BLOCKED with the
/// gate's reason.
pub async fn start_reminder_call(
    state: &AppState,
    tenant_id: Uuid,
    invoice_id: Uuid,
    not_before: Option<DateTime<Utc>>,
) -> ApiResult<calls::Model> {
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
                lead_id: invoice.lead_id,
                to_number: number.as_str().to_owned(),
                attempt,
                plan,
            },
        )
        .await?;
    if call.status == CallStatus::Queued.as_str() {
        state.jobs.wake().await;
    }
    publish(state, call.clone(), entry);
    Ok(call)
}

/// Cancels a call that has not been answered yet (QUEUED, DIALING, RINGING); CONFLICT once it
/// is live or over.
pub async fn cancel_call(
    state: &AppState,
    tenant_id: Uuid,
    call_id: Uuid,
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
            publish(state, call.clone(), entry);
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
    tenant_id: Uuid,
    call_id: Uuid,
    lines: Vec<Value>,
) -> ApiResult<Vec<call_events::Model>> {
    let entries = state
        .store
        .append_call_transcript(tenant_id, call_id, lines)
        .await?;
    let call = state.store.call(tenant_id, call_id).await?;
    for entry in &entries {
        publish(state, call.clone(), entry.clone());
    }
    Ok(entries)
}

/// Records the agent's outcome after `CallOutcome::validate` against the invoice (currency,
/// at most the amount due, not dated before the call, nothing promised by a machine), and its
/// effect on the invoice: ALREADY_PAID flags it for checking, DISPUTE marks it disputed.
pub async fn record_outcome(
    state: &AppState,
    tenant_id: Uuid,
    call_id: Uuid,
    report: CallOutcome,
) -> ApiResult<calls::Model> {
    let call = state.store.call(tenant_id, call_id).await?;
    let invoice = match call.invoice_id {
        Some(id) => Some(state.store.invoice(tenant_id, id).await?),
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
    publish(state, call.clone(), entry);
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
            .adjust_lead_score(tenant_id, Actor::default(), lead_id, adjustment)
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

/// How long the agent's call-scoped token lives: the call plus time to file its outcome after
/// the room closes, bounded so a leaked token dies the same day.
const CALL_TOKEN_TTL: Duration = Duration::hours(6);

/// The agent's instructions and the facts it may quote, for the dispatch metadata.
fn agent_metadata(
    call: &calls::Model,
    invoice: &invoices::Model,
    zones: ZoneHints,
    report_token: &str,
) -> ApiResult<Value> {
    let broken = |e: leadline_domain::DomainError| {
        ApiError::Internal(anyhow::anyhow!("invoice {}: {e}", invoice.id))
    };
    let amount_due = Money::parse(invoice.amount_micros, &invoice.currency).map_err(broken)?;
    let original = Money::parse(
        invoice
            .original_amount_micros
            .unwrap_or(invoice.amount_micros),
        &invoice.currency,
    )
    .map_err(broken)?;
    let payment_methods: Vec<String> = invoice
        .payment_methods
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let number = PhoneNumber::parse(&call.to_number, None).map_err(broken)?;
    let (zone, _) = recipient_zone(&number, zones);
    let today = Utc::now().with_timezone(&zone).date_naive();
    let context = CallContext::new(
        InvoiceFacts {
            customer_name: invoice.customer_name.clone(),
            invoice_number: invoice.invoice_number.clone(),
            original_amount: original,
            amount_due: amount_due.clone(),
            due_date: invoice.due_date,
            payment_methods: payment_methods.clone(),
            company_name: invoice.company_name.clone().unwrap_or_default(),
            support_phone: invoice.support_phone.clone(),
        },
        today,
    );
    let language = if invoice.language == "es" {
        Language::Spanish
    } else {
        Language::English
    };
    Ok(json!({
        "callId": call.id,
        "tenantId": call.tenant_id,
        "attempt": call.attempt,
        "language": invoice.language,
        "prompt": reminder_prompt(&context, language),
        "context": {
            "customerName": context.customer_name,
            "invoiceNumber": context.invoice_number,
            "amountDue": {
                "amountMicros": amount_due.amount_micros(),
                "currencyCode": amount_due.currency_code(),
                "formatted": amount_due.display(),
            },
            "dueDate": context.due_date.to_string(),
            "daysUntilDue": context.days_until_due,
            "isOverdue": context.is_overdue,
            "paymentMethods": payment_methods,
            "companyName": context.company_name,
            "supportPhone": context.support_phone,
        },
        // How the agent reports back: `appendCallTranscript` and `recordCallOutcome`, with this
        // call's own token as the bearer (it can do nothing else, and only for this call), or
        // with an API key that has the CALLS scope.
        "report": {
            "mutations": ["appendCallTranscript", "recordCallOutcome"],
            "token": report_token,
            "tokenExpiresAt": (Utc::now() + CALL_TOKEN_TTL).to_rfc3339(),
        },
    }))
}

/// The `reminder_call` job: dials one QUEUED call.
pub struct ReminderCallHandler {
    state: AppState,
}

impl ReminderCallHandler {
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Fails the call with `code` and finishes the job (retrying cannot help).
    async fn fail(&self, call: &calls::Model, code: String) -> Result<Value, JobFailure> {
        let moved = self
            .state
            .store
            .move_call(
                call.tenant_id,
                call.id,
                CallStatus::Failed,
                CallStatusChange {
                    error_code: Some(code.clone()),
                    ..Default::default()
                },
            )
            .await
            .map_err(JobFailure::from)?;
        if let Some((call, entry)) = moved {
            publish(&self.state, call, entry);
        }
        Ok(json!({"status": "FAILED", "error": code}))
    }
}

#[async_trait::async_trait]
impl crate::jobs::JobHandler for ReminderCallHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let call_id = job
            .payload
            .get("call_id")
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| JobFailure::Permanent("payload without a call_id".into()))?;
        let state = &self.state;
        let call = match state.store.call(job.tenant_id, call_id).await {
            Ok(call) => call,
            Err(ApiError::NotFound(_)) => {
                return Err(JobFailure::Permanent("the call no longer exists".into()))
            }
            Err(e) => return Err(JobFailure::from(e)),
        };
        // Cancelled or already dialled by an earlier run of this job: nothing to do.
        if call.status != CallStatus::Queued.as_str() {
            return Ok(json!({"skipped": call.status}));
        }
        let Some(invoice_id) = call.invoice_id else {
            return self
                .fail(&call, "CALL_INITIATION_FAILED: no invoice".into())
                .await;
        };
        let invoice = state
            .store
            .invoice(call.tenant_id, invoice_id)
            .await
            .map_err(JobFailure::from)?;
        let number = PhoneNumber::parse(&call.to_number, None)
            .map_err(|e| JobFailure::Permanent(format!("stored number does not read: {e}")))?;
        // The gate again, on what is true now: the call may have waited hours in the queue.
        let (decision, recipient) = gate(state, call.tenant_id, &invoice, &number, Utc::now())
            .await
            .map_err(JobFailure::from)?;
        match decision {
            DialDecision::Dial => {}
            DialDecision::Block(reason) => {
                let moved = state
                    .store
                    .move_call(
                        call.tenant_id,
                        call.id,
                        CallStatus::Blocked,
                        CallStatusChange {
                            blocked_reason: Some(reason.as_str().to_owned()),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(JobFailure::from)?;
                if let Some((call, entry)) = moved {
                    publish(state, call, entry);
                }
                return Ok(json!({"status": "BLOCKED", "reason": reason.as_str()}));
            }
            DialDecision::Defer { until } => {
                state
                    .store
                    .defer_call(call.tenant_id, call.id, until)
                    .await
                    .map_err(JobFailure::from)?;
                return Ok(json!({"deferredUntil": until.to_rfc3339()}));
            }
        }
        let settings = settings_for(state, call.tenant_id)
            .await
            .map_err(JobFailure::from)?;
        let missing = settings.missing();
        if !missing.is_empty() {
            return self
                .fail(
                    &call,
                    format!("CONFIGURATION: {} not set", missing.join(", ")),
                )
                .await;
        }
        let report_token = state
            .tokens
            .issue_call_agent(call.tenant_id, call.id, Utc::now(), CALL_TOKEN_TTL)
            .map_err(JobFailure::from)?;
        let metadata = agent_metadata(&call, &invoice, recipient.zones(&invoice), &report_token)
            .map_err(JobFailure::from)?;
        let dialled = dial(state, &settings, &call, &invoice, metadata).await;
        match dialled {
            Ok(sip_call_id) => {
                let moved = state
                    .store
                    .move_call(
                        call.tenant_id,
                        call.id,
                        CallStatus::Dialing,
                        CallStatusChange {
                            provider_call_id: Some(sip_call_id.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(JobFailure::from)?;
                if let Some((call, entry)) = moved {
                    publish(state, call, entry);
                }
                Ok(json!({"status": "DIALING", "livekitCallId": sip_call_id}))
            }
            Err(DialError::Store(e)) => Err(JobFailure::from(e)),
            Err(DialError::LiveKit(e)) if e.is_retryable() => Err(JobFailure::Retry(e.to_string())),
            Err(DialError::LiveKit(e)) => self.fail(&call, error_code(&e)).await,
        }
    }
}

/// The seed's error kinds, with LiveKit's message.
fn error_code(error: &leadline_livekit::Error) -> String {
    use leadline_livekit::Error;
    let kind = match error {
        Error::Configuration(_) => "CONFIGURATION",
        Error::InvalidPhoneNumber(_) => "INVALID_PHONE_NUMBER",
        Error::NetworkTimeout(_) => "NETWORK_TIMEOUT",
        _ => "CALL_INITIATION_FAILED",
    };
    format!("{kind}: {error}")
}

/// One connection pool for every LiveKit call of the process (the client sets its own timeouts
/// per request).
fn livekit_http() -> &'static reqwest::Client {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    HTTP.get_or_init(reqwest::Client::new)
}

/// The LiveKit project a tenant's calls go through: its own when it set one, else the
/// operator's `LIVEKIT_*` settings.
pub async fn settings_for(
    state: &AppState,
    tenant_id: Uuid,
) -> ApiResult<leadline_livekit::Settings> {
    Ok(match state.store.livekit_connection(tenant_id).await? {
        Some(own) => leadline_livekit::Settings {
            api_url: Some(own.api_url),
            api_key: Some(own.api_key),
            api_secret: Some(own.api_secret),
            sip_trunk_id: Some(own.sip_trunk_id),
            agent_name: Some(own.agent_name),
            webhook_keys: None,
        },
        None => state.config.livekit.clone(),
    })
}

/// A tenant's LiveKit URL, normalised (`wss://` → `https://`). In production it must be https
/// to a host name or public address, because the server sends signed requests there: a
/// tenant must not make it call into the operator's own network.
pub fn tenant_livekit_url(url: &str, environment: crate::config::Environment) -> ApiResult<String> {
    let normalized = leadline_livekit::client::normalize_api_url(url)
        .map_err(|_| ApiError::bad_input("apiUrl", "must be an https:// or wss:// URL"))?;
    let parsed = reqwest::Url::parse(&normalized)
        .map_err(|e| ApiError::bad_input("apiUrl", format!("is not a URL: {e}")))?;
    if parsed.username() != "" || parsed.password().is_some() {
        return Err(ApiError::bad_input(
            "apiUrl",
            "must not carry credentials; the API key and secret are separate fields",
        ));
    }
    if environment == crate::config::Environment::Production {
        if parsed.scheme() != "https" {
            return Err(ApiError::bad_input(
                "apiUrl",
                "must use https in production",
            ));
        }
        let private = match parsed.host() {
            Some(url::Host::Domain(name)) => {
                let name = name.to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
            }
            Some(url::Host::Ipv4(ip)) => {
                ip.is_private() || ip.is_loopback() || ip.is_link_local() || ip.is_unspecified()
            }
            Some(url::Host::Ipv6(ip)) => {
                ip.is_loopback()
                    || ip.is_unspecified()
                    || (ip.segments()[0] & 0xfe00) == 0xfc00
                    || (ip.segments()[0] & 0xffc0) == 0xfe80
            }
            None => true,
        };
        if private {
            return Err(ApiError::bad_input(
                "apiUrl",
                "must name a public host in production",
            ));
        }
    }
    Ok(normalized)
}

/// Why a dial stopped.
enum DialError {
    /// LiveKit answered with an error or not at all.
    LiveKit(leadline_livekit::Error),
    /// Recording what was done failed.
    Store(ApiError),
}

impl From<leadline_livekit::Error> for DialError {
    fn from(error: leadline_livekit::Error) -> Self {
        DialError::LiveKit(error)
    }
}

impl From<ApiError> for DialError {
    fn from(error: ApiError) -> Self {
        DialError::Store(error)
    }
}

/// Room, dispatch, dial: the LiveKit call id of the SIP leg.
///
/// A retried job (after a timeout) must not ask for a second agent or ring the customer
/// twice, because a timed-out request may have been carried out. So each step is recorded
/// on the call (`metadata.dial`) before or after it is sent, and a retry looks at LiveKit
/// before repeating one: the room is created idempotently by LiveKit itself; the dispatch is
/// skipped when the room already has our agent (ListDispatch); the SIP participant is
/// adopted when the room already has it (ListParticipants).
async fn dial(
    state: &AppState,
    settings: &leadline_livekit::Settings,
    call: &calls::Model,
    invoice: &invoices::Model,
    metadata: Value,
) -> Result<String, DialError> {
    let client = settings
        .client(livekit_http().clone())?
        .with_timeout(state.config.livekit_request_timeout);
    let agent_name = settings.agent_name()?.to_owned();
    let room = room_name(call.id);
    let progress = call.metadata.get("dial").cloned().unwrap_or(Value::Null);
    let identity = format!("sip-{}", call.id);
    client
        .create_room(&CreateRoomRequest {
            name: room.clone(),
            // An unanswered room closes itself after two minutes.
            empty_timeout: Some(120),
            metadata: json!({"callId": call.id}).to_string(),
            ..Default::default()
        })
        .await?;
    let dispatched = if progress.get("dispatchRequested").is_some() {
        client
            .list_dispatch(&room)
            .await?
            .into_iter()
            .any(|d| d.agent_name == agent_name)
    } else {
        false
    };
    if !dispatched {
        state
            .store
            .record_dial_progress(call.tenant_id, call.id, json!({"dispatchRequested": true}))
            .await?;
        client
            .create_dispatch(&CreateAgentDispatchRequest {
                agent_name,
                room: room.clone(),
                metadata: metadata.to_string(),
            })
            .await?;
    }
    if progress.get("sipDialRequested").is_some() {
        let existing = client.list_participants(&room).await?;
        if let Some(leg) = existing.iter().find(|p| p.identity == identity) {
            let sip_call_id = leg
                .sip()
                .and_then(|sip| sip.call_id)
                .unwrap_or_else(|| leg.sid.clone());
            return Ok(sip_call_id);
        }
    }
    state
        .store
        .record_dial_progress(call.tenant_id, call.id, json!({"sipDialRequested": true}))
        .await?;
    let participant = client
        .create_sip_participant(&CreateSipParticipantRequest {
            sip_trunk_id: settings.sip_trunk_id()?.to_owned(),
            sip_call_to: call.to_number.clone(),
            room_name: room,
            participant_identity: identity,
            participant_name: invoice.customer_name.clone(),
            ..Default::default()
        })
        .await?;
    Ok(participant.sip_call_id)
}

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
            call.tenant_id,
            call.id,
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
            publish(state, call.clone(), entry);
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
        let retry = start_reminder_call(state, call.tenant_id, invoice_id, Some(when)).await;
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
            call.tenant_id,
            call.id,
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
        Some(id) => state.store.invoice(call.tenant_id, id).await?.currency,
        None => "USD".to_owned(),
    };
    let today = call.ended_at.unwrap_or_else(Utc::now).date_naive();
    let (guess, provider) = state
        .ai
        .classify_call_outcome(call.tenant_id, &lines, today, &currency)
        .await?;
    let by = match provider {
        leadline_domain::analysis::Provider::Anthropic => "by Anthropic",
        leadline_domain::analysis::Provider::Openai => "by OpenAI",
        leadline_domain::analysis::Provider::OfflineFallback => {
            "offline (the AI provider was unavailable)"
        }
        leadline_domain::analysis::Provider::Offline => "offline",
    };
    record_outcome(state, call.tenant_id, call.id, guess.to_call_outcome_by(by))
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
