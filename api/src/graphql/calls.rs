//! Payment-reminder calls in GraphQL: invoices, calls, the do-not-call list, what the voice
//! agent reports (transcript lines and the outcome), and `callEvents`. Resolvers parse,
//! authorise and call `store` or `services::calls`; the rules live in the domain.
//!
//! Members with write access (and WRITE API keys, which is how a voice agent worker reports)
//! change things; readers read. Customer tokens get nothing here.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, NaiveDate, Utc};
use futures::Stream;
use leadline_domain as domain;
use leadline_domain::calls::{CallStatus as DomainCallStatus, CustomerResponse as DomainResponse};
use leadline_entity::{call_events, calls, invoices};
use serde_json::{json, Value};
use uuid::Uuid;

use super::catalog::MoneyInput;
use super::leads::scoped_events;
use super::types::{mirror_enum, Money};
use super::{connection, parse_id, state, tenant_for, AccessGuard, IdConnection};
use crate::auth::{Access, Principal};
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::services::calls as service;
use crate::store::calls::{event_kind, invoice_status, CallFilter, NewInvoice};
use crate::store::PageRequest;

/// Most transcript lines one `appendCallTranscript` takes, and most a call shows.
const MAX_TRANSCRIPT_LINES: usize = 200;
/// Longest transcript line, in characters.
const MAX_LINE_CHARS: usize = 4_000;

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

    fn as_str(self) -> &'static str {
        match self {
            Self::Open => invoice_status::OPEN,
            Self::Paid => invoice_status::PAID,
            Self::CheckPayment => invoice_status::CHECK_PAYMENT,
            Self::Disputed => invoice_status::DISPUTED,
        }
    }
}

/// An invoice a reminder call is about.
pub struct Invoice(invoices::Model);

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
    fn from_event(entry: &call_events::Model) -> Option<Self> {
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

/// The caller's tenant and the call it may report on: an anonymous caller is told to sign in
/// before its input is read; then the id is parsed and the caller checked against that call
/// (`Principal::require_call_reporter`).
fn call_reporter(ctx: &Context<'_>, call_id: &ID) -> ApiResult<(Uuid, Uuid)> {
    let principal = super::principal(ctx);
    if matches!(principal, Principal::Anonymous) {
        return Err(ApiError::Unauthenticated(
            "sign in, or send an API key or the call's token".into(),
        ));
    }
    let call_id = parse_id(call_id, "callId")?;
    Ok((principal.require_call_reporter(call_id)?, call_id))
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
pub struct Call(calls::Model);

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
                self.0.tenant_id,
                self.0.id,
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
                state(ctx).store.invoice(self.0.tenant_id, id).await?,
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
    /// STATUS, TRANSCRIPT or OUTCOME.
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

fn text(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("must be 1 to {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn optional_text(field: &str, value: Option<String>, max: usize) -> ApiResult<Option<String>> {
    value
        .filter(|v| !v.trim().is_empty())
        .map(|v| text(field, &v, max))
        .transpose()
}

fn e164(field: &str, value: &str) -> ApiResult<String> {
    domain::phone::PhoneNumber::parse(value, None)
        .map(|n| n.as_str().to_owned())
        .map_err(|e| ApiError::invalid(field, e))
}

fn date(field: &str, value: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_input(field, "must be a date as YYYY-MM-DD"))
}

fn money(field: &str, input: &MoneyInput) -> ApiResult<domain::money::Money> {
    domain::money::Money::parse(input.amount_micros, &input.currency_code)
        .map_err(|e| ApiError::invalid(field, e))
}

fn new_invoice(input: CreateInvoiceInput) -> ApiResult<NewInvoice> {
    let amount = money("amountDue", &input.amount_due)?;
    if amount.amount_micros() <= 0 {
        return Err(ApiError::bad_input("amountDue", "must be more than 0"));
    }
    let original = input
        .original_amount
        .as_ref()
        .map(|m| money("originalAmount", m))
        .transpose()?;
    if let Some(original) = &original {
        if original.currency_code() != amount.currency_code()
            || original.amount_micros() < amount.amount_micros()
        {
            return Err(ApiError::bad_input(
                "originalAmount",
                "must be in the same currency and at least the amount due",
            ));
        }
    }
    let payment_methods = input.payment_methods.unwrap_or_default();
    if payment_methods.len() > 10 {
        return Err(ApiError::bad_input("paymentMethods", "at most 10"));
    }
    let payment_methods = payment_methods
        .iter()
        .map(|m| text("paymentMethods", m, 100))
        .collect::<ApiResult<Vec<_>>>()?;
    let language = match input.language.as_deref().map(str::trim) {
        None | Some("") | Some("en") => "en",
        Some("es") => "es",
        Some(_) => return Err(ApiError::bad_input("language", "must be en or es")),
    };
    let time_zone = match input.time_zone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(zone) => Some(
            domain::compliance::parse_time_zone("timeZone", zone)
                .map_err(|e| ApiError::invalid("timeZone", e))?
                .name()
                .to_owned(),
        ),
    };
    Ok(NewInvoice {
        invoice_number: text("invoiceNumber", &input.invoice_number, 100)?,
        customer_name: text("customerName", &input.customer_name, 200)?,
        customer_phone: e164("phone", &input.phone)?,
        amount_micros: amount.amount_micros(),
        original_amount_micros: original.map(|m| m.amount_micros()),
        currency: amount.currency_code().to_owned(),
        due_date: date("dueDate", &input.due_date)?,
        payment_methods,
        company_name: optional_text("companyName", input.company_name, 200)?,
        support_phone: input
            .support_phone
            .filter(|p| !p.trim().is_empty())
            .map(|p| e164("supportPhone", &p))
            .transpose()?,
        language: language.to_owned(),
        time_zone,
        lead_id: input
            .lead_id
            .as_ref()
            .map(|id| parse_id(id, "leadId"))
            .transpose()?,
    })
}

#[derive(Default)]
pub struct CallsQuery;

#[Object]
impl CallsQuery {
    /// One invoice.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn invoice(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Invoice> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Invoice(
            state(ctx)
                .store
                .invoice(tenant_id, parse_id(&id, "id")?)
                .await?,
        ))
    }

    /// The tenant's invoices, newest first.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        status: Option<InvoiceStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Invoice>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx)
            .store
            .invoices(tenant_id, status.map(InvoiceStatus::as_str), request)
            .await?;
        connection(page, request, |i| i.id, Invoice)
    }

    /// Calls created in `[from, to)` (at most 31 days): counts by status and outcome, connect
    /// rate, average duration and the amounts promised.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn call_stats(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> async_graphql::Result<CallStats> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        if to <= from || to - from > chrono::Duration::days(31) {
            return Err(ApiError::bad_input(
                "to",
                "must be after `from` and at most 31 days after it",
            )
            .into());
        }
        let rows = state(ctx).store.calls_between(tenant_id, from, to).await?;
        Ok(call_stats(&rows))
    }

    /// One call.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn call(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Call> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Call(
            state(ctx)
                .store
                .call(tenant_id, parse_id(&id, "id")?)
                .await?,
        ))
    }

    /// The tenant's calls, newest first.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn calls(
        &self,
        ctx: &Context<'_>,
        filter: Option<CallsFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Call>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = CallFilter {
            status: filter
                .status
                .map(|s| DomainCallStatus::from(s).as_str().to_owned()),
            outcome: filter
                .outcome
                .map(|o| DomainResponse::from(o).as_str().to_owned()),
            invoice_id: filter
                .invoice_id
                .as_ref()
                .map(|id| parse_id(id, "filter.invoiceId"))
                .transpose()?,
            lead_id: filter
                .lead_id
                .as_ref()
                .map(|id| parse_id(id, "filter.leadId"))
                .transpose()?,
        };
        let page = state(ctx).store.calls(tenant_id, filter, request).await?;
        connection(page, request, |c| c.id, Call)
    }
}

#[derive(Default)]
pub struct CallsMutation;

fn call_stats(rows: &[calls::Model]) -> CallStats {
    use std::collections::BTreeMap;
    let mut by_status: BTreeMap<&'static str, i32> = BTreeMap::new();
    let mut by_outcome: BTreeMap<&'static str, i32> = BTreeMap::new();
    let mut promised: BTreeMap<String, i64> = BTreeMap::new();
    let (mut dialled, mut answered) = (0u32, 0u32);
    let (mut seconds, mut ended) = (0i64, 0i64);
    for call in rows {
        if let Ok(status) = DomainCallStatus::parse(&call.status) {
            *by_status.entry(status.as_str()).or_default() += 1;
        }
        if let Some(outcome) = call
            .outcome
            .as_deref()
            .and_then(|o| DomainResponse::parse(o).ok())
        {
            *by_outcome.entry(outcome.as_str()).or_default() += 1;
        }
        if call.started_at.is_some() {
            dialled += 1;
        }
        if call.answered_at.is_some() {
            answered += 1;
        }
        if let Some(d) = call.duration_seconds {
            seconds += i64::from(d);
            ended += 1;
        }
        if let Some(amount) = call
            .metadata
            .get("outcome")
            .and_then(|o| o.get("promisedAmount"))
        {
            if let (Some(micros), Some(currency)) = (
                amount.get("amountMicros").and_then(Value::as_i64),
                amount.get("currencyCode").and_then(Value::as_str),
            ) {
                let sum = promised.entry(currency.to_owned()).or_default();
                *sum = sum.saturating_add(micros);
            }
        }
    }
    let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
    CallStats {
        total: count(rows.len()),
        by_status: by_status
            .into_iter()
            .filter_map(|(status, count)| {
                Some(StatusCount {
                    status: DomainCallStatus::parse(status).ok()?.into(),
                    count,
                })
            })
            .collect(),
        by_outcome: by_outcome
            .into_iter()
            .filter_map(|(outcome, count)| {
                Some(OutcomeCount {
                    outcome: DomainResponse::parse(outcome).ok()?.into(),
                    count,
                })
            })
            .collect(),
        connect_rate: if dialled == 0 {
            0.0
        } else {
            f64::from(answered) / f64::from(dialled)
        },
        average_duration_seconds: (ended > 0).then(|| seconds as f64 / ended as f64),
        promised: promised
            .into_iter()
            .map(|(currency, micros)| Money::from_parts(micros, &currency))
            .collect(),
    }
}

#[Object]
impl CallsMutation {
    /// Stores an invoice to remind its customer of. The phone must be E.164; the lead is found
    /// or created by it unless `leadId` is given. A second invoice with the same number is
    /// CONFLICT.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn create_invoice(
        &self,
        ctx: &Context<'_>,
        input: CreateInvoiceInput,
    ) -> async_graphql::Result<InvoicePayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let invoice = state(ctx)
            .store
            .create_invoice(tenant_id, new_invoice(input)?)
            .await?;
        Ok(InvoicePayload {
            invoice: Invoice(invoice),
        })
    }

    /// Marks an invoice paid: no further reminder call can be started for it.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn mark_invoice_paid(
        &self,
        ctx: &Context<'_>,
        input: InvoiceIdInput,
    ) -> async_graphql::Result<InvoicePayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let invoice = state(ctx)
            .store
            .set_invoice_status(
                tenant_id,
                parse_id(&input.invoice_id, "invoiceId")?,
                invoice_status::PAID,
            )
            .await?;
        Ok(InvoicePayload {
            invoice: Invoice(invoice),
        })
    }

    /// Starts a payment-reminder call about an invoice. The compliance gate decides first: a
    /// number on the do-not-call list or over its attempt caps gives a BLOCKED call (never
    /// dialled); outside the recipient's calling hours (08:00–21:00 local) the call is QUEUED
    /// for the next allowed minute (`scheduledFor`). A paid invoice is CONFLICT.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn start_payment_reminder_call(
        &self,
        ctx: &Context<'_>,
        input: StartPaymentReminderCallInput,
    ) -> async_graphql::Result<CallPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let call = service::start_reminder_call(
            state(ctx),
            tenant_id,
            parse_id(&input.invoice_id, "invoiceId")?,
            input.not_before,
        )
        .await?;
        Ok(CallPayload { call: Call(call) })
    }

    /// Starts one reminder call per invoice (1–100), each through the compliance gate like
    /// `startPaymentReminderCall`. An invoice that cannot be called (unknown, paid) fails the
    /// whole request before any call is stored, so a batch is all or nothing.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn schedule_reminder_calls(
        &self,
        ctx: &Context<'_>,
        input: ScheduleReminderCallsInput,
    ) -> async_graphql::Result<ScheduleReminderCallsPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        if input.invoice_ids.is_empty() || input.invoice_ids.len() > 100 {
            return Err(ApiError::bad_input("invoiceIds", "must name 1 to 100 invoices").into());
        }
        let mut ids = Vec::with_capacity(input.invoice_ids.len());
        for id in &input.invoice_ids {
            let id = parse_id(id, "invoiceIds")?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        // Every invoice is checked first, so a bad one stores nothing.
        for id in &ids {
            let invoice = state(ctx).store.invoice(tenant_id, *id).await?;
            if invoice.status == invoice_status::PAID {
                return Err(ApiError::Conflict(format!(
                    "invoice {} is paid; there is nothing to remind",
                    invoice.invoice_number
                ))
                .into());
            }
        }
        let mut calls = Vec::with_capacity(ids.len());
        for id in ids {
            calls.push(Call(
                service::start_reminder_call(state(ctx), tenant_id, id, input.not_before).await?,
            ));
        }
        Ok(ScheduleReminderCallsPayload { calls })
    }

    /// Cancels a call that has not been answered (QUEUED, DIALING, RINGING).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn cancel_call(
        &self,
        ctx: &Context<'_>,
        input: CallIdInput,
    ) -> async_graphql::Result<CallPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let call = service::cancel_call(state(ctx), tenant_id, parse_id(&input.call_id, "callId")?)
            .await?;
        Ok(CallPayload { call: Call(call) })
    }

    /// The voice agent's report of how the call went. ALREADY_PAID flags the invoice
    /// CHECK_PAYMENT, DISPUTE marks it DISPUTED.
    ///
    /// Accepted from a member or API key that may write, an API key with the CALLS scope, or
    /// the call-scoped token from the agent's dispatch metadata (for that call only).
    async fn record_call_outcome(
        &self,
        ctx: &Context<'_>,
        input: RecordCallOutcomeInput,
    ) -> async_graphql::Result<CallPayload> {
        let (tenant_id, call_id) = call_reporter(ctx, &input.call_id)?;
        let report = leadline_domain::calls::CallOutcome {
            customer_response: input.customer_response.into(),
            notes: optional_text(
                "notes",
                input.notes,
                leadline_domain::calls::MAX_NOTES_CHARS,
            )?,
            promised_date: input
                .promised_date
                .as_deref()
                .map(|d| date("promisedDate", d))
                .transpose()?,
            promised_amount: input
                .promised_amount
                .as_ref()
                .map(|m| money("promisedAmount", m))
                .transpose()?,
            answered_by: input.answered_by.map(Into::into),
        };
        let call = service::record_outcome(state(ctx), tenant_id, call_id, report).await?;
        Ok(CallPayload { call: Call(call) })
    }

    /// Appends transcript lines as the agent hears them (1–200 per call of this mutation).
    /// Accepted from the same callers as `recordCallOutcome`.
    async fn append_call_transcript(
        &self,
        ctx: &Context<'_>,
        input: AppendCallTranscriptInput,
    ) -> async_graphql::Result<AppendCallTranscriptPayload> {
        let (tenant_id, call_id) = call_reporter(ctx, &input.call_id)?;
        if input.lines.is_empty() || input.lines.len() > MAX_TRANSCRIPT_LINES {
            return Err(ApiError::bad_input(
                "lines",
                format!("must hold 1 to {MAX_TRANSCRIPT_LINES} lines"),
            )
            .into());
        }
        let now = Utc::now();
        let lines = input
            .lines
            .into_iter()
            .map(|line| {
                let speaker = match line.speaker.trim().to_ascii_uppercase().as_str() {
                    "AGENT" => "AGENT",
                    "CUSTOMER" => "CUSTOMER",
                    _ => {
                        return Err(ApiError::bad_input(
                            "lines.speaker",
                            "must be AGENT or CUSTOMER",
                        ))
                    }
                };
                Ok(json!({
                    "speaker": speaker,
                    "text": text("lines.text", &line.text, MAX_LINE_CHARS)?,
                    "at": line.at.unwrap_or(now).to_rfc3339(),
                }))
            })
            .collect::<ApiResult<Vec<_>>>()?;
        let stored = service::append_transcript(state(ctx), tenant_id, call_id, lines).await?;
        Ok(AppendCallTranscriptPayload {
            appended: i32::try_from(stored.len()).unwrap_or(i32::MAX),
        })
    }

    /// Puts a number on the tenant's do-not-call list (or takes it off). Calls to a listed
    /// number are BLOCKED and never dialled.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn set_do_not_call(
        &self,
        ctx: &Context<'_>,
        input: SetDoNotCallInput,
    ) -> async_graphql::Result<SetDoNotCallPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let phone = e164("phone", &input.phone)?;
        let reason = optional_text("reason", input.reason, 500)?;
        state(ctx)
            .store
            .set_do_not_call(tenant_id, &phone, input.blocked, reason)
            .await?;
        Ok(SetDoNotCallPayload {
            phone,
            blocked: input.blocked,
        })
    }
}

#[derive(Default)]
pub struct CallsSubscription;

#[Subscription]
impl CallsSubscription {
    /// Changes of one call, or of every call of the tenant: status changes, transcript lines
    /// and outcomes, on every replica.
    async fn call_events(
        &self,
        ctx: &Context<'_>,
        call_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<CallEvent>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let wanted = match call_id {
            Some(id) => Some(
                state(ctx)
                    .store
                    .call(tenant_id, parse_id(&id, "callId")?)
                    .await?
                    .id,
            ),
            None => None,
        };
        Ok(scoped_events(
            ctx,
            tenant_id,
            wanted,
            move |event| match event {
                Event::Call { call, entry } if wanted.is_none_or(|id| id == call.id) => {
                    let status = (entry.kind == event_kind::STATUS)
                        .then(|| {
                            entry
                                .payload
                                .get("status")
                                .and_then(Value::as_str)
                                .and_then(|s| DomainCallStatus::parse(s).ok())
                                .map(CallStatus::from)
                        })
                        .flatten();
                    let line = (entry.kind == event_kind::TRANSCRIPT)
                        .then(|| TranscriptLine::from_event(entry))
                        .flatten();
                    Some(CallEvent {
                        kind: entry.kind.clone(),
                        call: Call((**call).clone()),
                        status,
                        line,
                        at: entry.created_at,
                    })
                }
                _ => None,
            },
        ))
    }
}
