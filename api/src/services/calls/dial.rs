//! The `reminder_call` job: the gate again, then room, agent dispatch and SIP dial at the
//! tenant's LiveKit project (its own, else the operator's), each step recorded so a retry never
//! repeats one that LiveKit already carried out.

use chrono::{Duration, Utc};
use leadline_domain::analysis::Language;
use leadline_domain::calls::{reminder_prompt, CallContext, CallStatus, InvoiceFacts};
use leadline_domain::compliance::{recipient_zone, ZoneHints};
use leadline_domain::ids::{CallId, InvoiceId, TenantId};
use leadline_domain::money::Money;
use leadline_domain::phone::PhoneNumber;
use leadline_entity::{calls, invoices, jobs};
use leadline_livekit::models::{
    CreateAgentDispatchRequest, CreateRoomRequest, CreateSipParticipantRequest,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::gate::gate;
use super::publish;
use crate::error::{ApiError, ApiResult};
use crate::jobs::JobFailure;
use crate::state::AppState;
use crate::store::calls::{room_name, CallStatusChange};

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
        super::fail_dial(&self.state, call, code).await
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
        let call = match state
            .store
            .call(TenantId(job.tenant_id), CallId(call_id))
            .await
        {
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
            .invoice(TenantId(call.tenant_id), InvoiceId(invoice_id))
            .await
            .map_err(JobFailure::from)?;
        let number = PhoneNumber::parse(&call.to_number, None)
            .map_err(|e| JobFailure::Permanent(format!("stored number does not read: {e}")))?;
        // The gate again, on what is true now: the call may have waited hours in the queue.
        let (decision, recipient) = gate(
            state,
            TenantId(call.tenant_id),
            &invoice,
            &number,
            Utc::now(),
        )
        .await
        .map_err(JobFailure::from)?;
        if let Some(done) = super::apply_dial_decision(state, &call, decision).await? {
            return Ok(done);
        }
        let settings = settings_for(state, TenantId(call.tenant_id))
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
                        TenantId(call.tenant_id),
                        CallId(call.id),
                        CallStatus::Dialing,
                        CallStatusChange {
                            provider_call_id: Some(sip_call_id.clone()),
                            ..Default::default()
                        },
                    )
                    .await
                    .map_err(JobFailure::from)?;
                if let Some((call, entry)) = moved {
                    publish(state, &call, entry);
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
    tenant_id: TenantId,
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
    let room = room_name(CallId(call.id));
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
            .record_dial_progress(
                TenantId(call.tenant_id),
                CallId(call.id),
                json!({"dispatchRequested": true}),
            )
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
        .record_dial_progress(
            TenantId(call.tenant_id),
            CallId(call.id),
            json!({"sipDialRequested": true}),
        )
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
