//! The GraphQL types of payment-reminder calls: the state enums, `Invoice`, `Call` and its
//! outcome and transcript, the inputs and payloads. The resolvers are in `mod.rs`.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use leadline_domain::calls::{CallStatus as DomainCallStatus, CustomerResponse as DomainResponse};
use leadline_domain::ids::{CallId, InvoiceId, TenantId};
use leadline_entity::{call_events, calls, invoices};
use serde_json::Value;

use crate::graphql::catalog::MoneyInput;
use crate::graphql::state;
use crate::graphql::types::{mirror_enum, Money};
use crate::store::calls::{event_kind, invoice_status};

/// Most transcript lines one `appendCallTranscript` takes, and most a call shows.
pub(super) const MAX_TRANSCRIPT_LINES: usize = 200;
/// Longest transcript line, in characters.
pub(super) const MAX_LINE_CHARS: usize = 4_000;

mirror_enum!(
    /// Where a call is in its life: QUEUED (waiting for its dial job, possibly deferred to the
    /// recipient's calling hours), DIALING, RINGING, IN_PROGRESS (answered), then COMPLETED,
    /// NO_ANSWER, BUSY, VOICEMAIL, FAILED (see `errorCode`), CANCELED, or BLOCKED (refused by
    /// the compliance gate, see `blockedReason`; never dialled).
    CallStatus => DomainCallStatus {
        Queued, Dialing, Ringing, InProgress, Completed, NoAnswer, Busy, Voicemail, Failed,
        Canceled, Blocked
    }
);
mirror_enum!(
    /// What the customer said (the seed's categories): ALREADY_PAID flags the invoice
    /// CHECK_PAYMENT, DISPUTE marks it DISPUTED.
    CustomerResponse => DomainResponse { WillPayToday, AlreadyPaid, Dispute, NoAnswer, Other }
);
mirror_enum!(
    /// Who picked up.
    AnsweredBy => leadline_domain::calls::AnsweredBy { Human, Machine }
);

/// Where an invoice stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Unpaid: reminder calls may be made.
    Open,
    /// Paid (`markInvoicePaid`).
    Paid,
    /// The customer says it is paid: someone should check.
    CheckPayment,
    /// The customer disputes it.
    Disputed,
}

impl InvoiceStatus {
    fn from_stored(value: &str) -> Self {
        match value {
            invoice_status::PAID => Self::Paid,
            invoice_status::CHECK_PAYMENT => Self::CheckPayment,
            invoice_status::DISPUTED => Self::Disputed,
            _ => Self::Open,
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Open => invoice_status::OPEN,
            Self::Paid => invoice_status::PAID,
            Self::CheckPayment => invoice_status::CHECK_PAYMENT,
            Self::Disputed => invoice_status::DISPUTED,
        }
    }
}

/// An invoice a reminder call is about.
pub struct Invoice(pub(super) invoices::Model);

#[Object]
impl Invoice {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The tenant's own number for it (unique per tenant).
    async fn invoice_number(&self) -> &str {
        &self.0.invoice_number
    }
    async fn customer_name(&self) -> &str {
        &self.0.customer_name
    }
    /// E.164.
    async fn phone(&self) -> &str {
        &self.0.customer_phone
    }
    async fn amount_due(&self) -> Money {
        Money::from_parts(self.0.amount_micros, &self.0.currency)
    }
    /// The amount first invoiced (the amount due when not given).
    async fn original_amount(&self) -> Money {
        Money::from_parts(
            self.0
                .original_amount_micros
                .unwrap_or(self.0.amount_micros),
            &self.0.currency,
        )
    }
    /// `YYYY-MM-DD`.
    async fn due_date(&self) -> String {
        self.0.due_date.to_string()
    }
    async fn status(&self) -> InvoiceStatus {
        InvoiceStatus::from_stored(&self.0.status)
    }
    async fn payment_methods(&self) -> Vec<String> {
        self.0
            .payment_methods
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default()
    }
    async fn company_name(&self) -> Option<&str> {
        self.0.company_name.as_deref()
    }
    /// E.164 number the customer can call with questions.
    async fn support_phone(&self) -> Option<&str> {
        self.0.support_phone.as_deref()
    }
    /// `en` or `es`: the call's language.
    async fn language(&self) -> &str {
        &self.0.language
    }
    /// IANA zone used for calling hours when the number's country does not settle it.
    async fn time_zone(&self) -> Option<&str> {
        self.0.time_zone.as_deref()
    }
    /// The lead it belongs to.
    async fn lead_id(&self) -> Option<ID> {
        self.0.lead_id.map(|id| ID(id.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A transcript line the agent reported.
#[derive(SimpleObject, Clone)]
pub struct TranscriptLine {
    /// `AGENT` or `CUSTOMER`.
    pub speaker: String,
    pub text: String,
    pub at: DateTime<Utc>,
}

impl TranscriptLine {
    pub(super) fn from_event(entry: &call_events::Model) -> Option<Self> {
        Some(Self {
            speaker: entry.payload.get("speaker")?.as_str()?.to_owned(),
            text: entry.payload.get("text")?.as_str()?.to_owned(),
            at: entry
                .payload
                .get("at")
                .and_then(Value::as_str)
                .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
                .map_or(entry.created_at, |at| at.with_timezone(&Utc)),
        })
    }
}

/// How the call ended for the invoice.
#[derive(SimpleObject, Clone)]
pub struct CallOutcome {
    pub customer_response: CustomerResponse,
    pub notes: Option<String>,
    /// `YYYY-MM-DD`.
    pub promised_date: Option<String>,
    pub promised_amount: Option<Money>,
    pub answered_by: Option<AnsweredBy>,
    /// The ticket a DISPUTE opened for people to follow up (linked to the call's lead).
    pub ticket_id: Option<ID>,
}

impl CallOutcome {
    fn from_call(call: &calls::Model) -> Option<Self> {
        let response = DomainResponse::parse(call.outcome.as_deref()?).ok()?;
        let outcome = call.metadata.get("outcome");
        let text = |key: &str| {
            outcome
                .and_then(|o| o.get(key))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let promised_amount = outcome.and_then(|o| o.get("promisedAmount")).and_then(|m| {
            Some(Money::from_parts(
                m.get("amountMicros")?.as_i64()?,
                m.get("currencyCode")?.as_str()?,
            ))
        });
        let answered_by = call
            .answered_by
            .as_deref()
            .and_then(|a| leadline_domain::calls::AnsweredBy::parse(a).ok())
            .map(AnsweredBy::from);
        Some(Self {
            customer_response: response.into(),
            notes: text("notes"),
            promised_date: text("promisedDate"),
            promised_amount,
            answered_by,
            ticket_id: text("ticketId").map(ID),
        })
    }
}

/// A payment-reminder call.
pub struct Call(pub(crate) calls::Model);

#[Object]
impl Call {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn status(&self) -> async_graphql::Result<CallStatus> {
        CallStatus::from_stored(&self.0.status)
    }
    /// Whether the customer picked up.
    async fn connected(&self) -> bool {
        self.0.answered_at.is_some()
    }
    /// Who picked up, as answering-machine detection (the agent's outbound calls) or the
    /// reminder call's report says: HUMAN or MACHINE; null while nothing said so.
    async fn answered_by(&self) -> async_graphql::Result<Option<AnsweredBy>> {
        use crate::store::Stored;
        Ok(self
            .0
            .answered_by
            .as_deref()
            .map(leadline_domain::calls::AnsweredBy::stored)
            .transpose()?
            .map(AnsweredBy::from))
    }
    /// From the answer to the end.
    async fn duration_seconds(&self) -> Option<i32> {
        self.0.duration_seconds
    }
    /// 1 for the first call about the invoice, then 2, 3…
    async fn attempts(&self) -> i32 {
        self.0.attempt
    }
    /// Why the compliance gate refused it: DO_NOT_CALL, NO_CONSENT, DAILY_ATTEMPT_CAP,
    /// WEEKLY_ATTEMPT_CAP.
    async fn blocked_reason(&self) -> Option<&str> {
        self.0.blocked_reason.as_deref()
    }
    /// Why it failed, e.g. `CALL_INITIATION_FAILED: …` or `CONFIGURATION: …`.
    async fn error_code(&self) -> Option<&str> {
        self.0.error_code.as_deref()
    }
    /// LiveKit's SIP call id.
    async fn livekit_call_id(&self) -> Option<&str> {
        self.0.provider_call_id.as_deref()
    }
    /// The number dialled (E.164).
    async fn to_number(&self) -> &str {
        &self.0.to_number
    }
    // The dealership AI phone agent (issue 15).
    /// INBOUND (a caller rang the dealership's Twilio number) or OUTBOUND.
    async fn direction(&self) -> &str {
        &self.0.direction
    }
    /// The caller's number (E.164), on inbound calls whose caller did not withhold it.
    async fn from_number(&self) -> Option<&str> {
        self.0.from_number.as_deref()
    }
    /// AI while the agent talks, HUMAN once the call went to a person.
    async fn handled_by(&self) -> &str {
        &self.0.handled_by
    }
    /// How a phone-agent call ended (null while it runs, and on payment-reminder calls).
    async fn agent_outcome(&self) -> Option<crate::graphql::phone_agent::PhoneCallOutcome> {
        self.0
            .outcome
            .as_deref()
            .and_then(|o| leadline_domain::dealership::PhoneCallOutcome::parse(o).ok())
            .map(Into::into)
    }
    /// Whether the operator took the call after a transfer (null until Twilio reports how the
    /// transfer's dial ended, and on calls never transferred).
    async fn transfer_result(&self) -> Option<crate::graphql::phone_agent::TransferResult> {
        self.0
            .metadata
            .get("transfer")
            .and_then(|t| t.get("result"))
            .and_then(serde_json::Value::as_str)
            .and_then(|r| leadline_domain::dealership::TransferResult::parse(r).ok())
            .map(Into::into)
    }
    /// The agent's summary of the call, once it reported one.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// Where the call's recording is kept, when it was recorded.
    async fn recording_url(&self) -> Option<&str> {
        self.0.recording_url.as_deref()
    }
    /// The ElevenLabs conversation the agent held on the call (`conv_…`).
    async fn agent_conversation_id(&self) -> Option<&str> {
        self.0.agent_conversation_id.as_deref()
    }
    /// Not dialled before this (deferred to the recipient's calling hours).
    async fn scheduled_for(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_for
    }
    async fn started_at(&self) -> Option<DateTime<Utc>> {
        self.0.started_at
    }
    async fn answered_at(&self) -> Option<DateTime<Utc>> {
        self.0.answered_at
    }
    async fn ended_at(&self) -> Option<DateTime<Utc>> {
        self.0.ended_at
    }
    /// What the agent reported, once it has.
    async fn outcome(&self) -> Option<CallOutcome> {
        CallOutcome::from_call(&self.0)
    }
    /// The transcript so far (at most 200 lines).
    async fn transcript(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TranscriptLine>> {
        let entries = state(ctx)
            .store
            .call_events(
                TenantId(self.0.tenant_id),
                CallId(self.0.id),
                Some(event_kind::TRANSCRIPT),
                MAX_TRANSCRIPT_LINES as u64,
            )
            .await?;
        Ok(entries
            .iter()
            .filter_map(TranscriptLine::from_event)
            .collect())
    }
    /// The invoice it is about.
    async fn invoice(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Invoice>> {
        match self.0.invoice_id {
            Some(id) => Ok(Some(Invoice(
                state(ctx)
                    .store
                    .invoice(TenantId(self.0.tenant_id), InvoiceId(id))
                    .await?,
            ))),
            None => Ok(None),
        }
    }
    /// The lead called.
    async fn lead_id(&self) -> Option<ID> {
        self.0.lead_id.map(|id| ID(id.to_string()))
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// One change of a call, as `callEvents` streams it.
#[derive(SimpleObject)]
pub struct CallEvent {
    /// STATUS, TRANSCRIPT or OUTCOME; on phone-agent calls also APPOINTMENT, TRANSFER and
    /// TRANSFER_RESULT (whether the operator took the transferred call).
    pub kind: String,
    /// The call after the change.
    pub call: Call,
    /// The new status (STATUS events).
    pub status: Option<CallStatus>,
    /// The line (TRANSCRIPT events).
    pub line: Option<TranscriptLine>,
    pub at: DateTime<Utc>,
}

/// Input of `createInvoice`.
#[derive(InputObject)]
pub struct CreateInvoiceInput {
    /// 1–100 characters, unique per tenant.
    pub invoice_number: String,
    /// 1–200 characters.
    pub customer_name: String,
    /// The customer's number, E.164 (`+15551234567`).
    pub phone: String,
    /// What is owed now (more than 0).
    pub amount_due: MoneyInput,
    /// What was first invoiced (same currency, at least the amount due).
    pub original_amount: Option<MoneyInput>,
    /// `YYYY-MM-DD`.
    pub due_date: String,
    /// How the customer can pay, e.g. "bank transfer" (at most 10).
    pub payment_methods: Option<Vec<String>>,
    /// The lead it belongs to (default: found or created by the phone).
    pub lead_id: Option<ID>,
    /// Who the invoice is from (at most 200 characters).
    pub company_name: Option<String>,
    /// E.164 number for the customer's questions.
    pub support_phone: Option<String>,
    /// `en` (default) or `es`.
    pub language: Option<String>,
    /// IANA zone of the customer, for calling hours when the number's country does not settle it.
    pub time_zone: Option<String>,
}

/// Input naming an invoice.
#[derive(InputObject)]
pub struct InvoiceIdInput {
    pub invoice_id: ID,
}

/// Input of `startPaymentReminderCall`.
#[derive(InputObject)]
pub struct StartPaymentReminderCallInput {
    pub invoice_id: ID,
    /// Not dialled before this (default: now; calling hours may defer it further).
    pub not_before: Option<DateTime<Utc>>,
}

/// Input naming a call.
#[derive(InputObject)]
pub struct CallIdInput {
    pub call_id: ID,
}

/// Input of `recordCallOutcome`.
#[derive(InputObject)]
pub struct RecordCallOutcomeInput {
    pub call_id: ID,
    pub customer_response: CustomerResponse,
    /// At most 2,000 characters.
    pub notes: Option<String>,
    /// `YYYY-MM-DD`, today or later.
    pub promised_date: Option<String>,
    /// In the invoice's currency, at most the amount due.
    pub promised_amount: Option<MoneyInput>,
    pub answered_by: Option<AnsweredBy>,
}

/// One transcript line.
#[derive(InputObject)]
pub struct TranscriptLineInput {
    /// `AGENT` or `CUSTOMER`.
    pub speaker: String,
    /// 1–4,000 characters.
    pub text: String,
    /// When it was said (default: now).
    pub at: Option<DateTime<Utc>>,
}

/// Input of `appendCallTranscript`.
#[derive(InputObject)]
pub struct AppendCallTranscriptInput {
    pub call_id: ID,
    /// 1–200 lines.
    pub lines: Vec<TranscriptLineInput>,
}

/// Input of `setDoNotCall`.
#[derive(InputObject)]
pub struct SetDoNotCallInput {
    /// E.164.
    pub phone: String,
    /// true: never call it; false: take it off the list.
    pub blocked: bool,
    /// Why (at most 500 characters).
    pub reason: Option<String>,
}

/// Filter of `calls`.
#[derive(InputObject, Default)]
pub struct CallsFilter {
    pub status: Option<CallStatus>,
    pub outcome: Option<CustomerResponse>,
    pub invoice_id: Option<ID>,
    pub lead_id: Option<ID>,
}

/// The answer of invoice mutations.
#[derive(SimpleObject)]
pub struct InvoicePayload {
    pub invoice: Invoice,
}

/// The answer of call mutations.
#[derive(SimpleObject)]
pub struct CallPayload {
    pub call: Call,
}

/// Input of `callLeadNow`.
#[derive(InputObject)]
pub struct CallLeadNowInput {
    /// The lead to call (its phone must be E.164).
    pub lead_id: ID,
}

/// Input of `scheduleReminderCalls`.
#[derive(InputObject)]
pub struct ScheduleReminderCallsInput {
    /// 1–100 invoices, each called once (duplicates count once).
    pub invoice_ids: Vec<ID>,
    /// Not dialled before this (default: now; calling hours may defer each call further).
    pub not_before: Option<DateTime<Utc>>,
}

/// The answer of `scheduleReminderCalls`: one call per invoice, in the order given.
#[derive(SimpleObject)]
pub struct ScheduleReminderCallsPayload {
    pub calls: Vec<Call>,
}

/// Calls of a period, as `callStats` counts them.
#[derive(SimpleObject)]
pub struct CallStats {
    /// Calls created in the period.
    pub total: i32,
    /// How many ended in each status (statuses with none are left out).
    pub by_status: Vec<StatusCount>,
    /// How many got each outcome.
    pub by_outcome: Vec<OutcomeCount>,
    /// Answered calls ÷ calls that were dialled (0 when none was).
    pub connect_rate: f64,
    /// Mean seconds from answer to end, of answered calls that ended.
    pub average_duration_seconds: Option<f64>,
    /// Sum of the amounts promised, per currency.
    pub promised: Vec<Money>,
}

/// A status and how many calls are in it.
#[derive(SimpleObject)]
pub struct StatusCount {
    pub status: CallStatus,
    pub count: i32,
}

/// An outcome and how many calls got it.
#[derive(SimpleObject)]
pub struct OutcomeCount {
    pub outcome: CustomerResponse,
    pub count: i32,
}

/// The answer of `appendCallTranscript`.
#[derive(SimpleObject)]
pub struct AppendCallTranscriptPayload {
    /// Lines stored.
    pub appended: i32,
}

/// The answer of `setDoNotCall`.
#[derive(SimpleObject)]
pub struct SetDoNotCallPayload {
    pub phone: String,
    pub blocked: bool,
}
