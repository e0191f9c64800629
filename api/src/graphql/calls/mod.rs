//! Payment-reminder calls in GraphQL: invoices, calls, the do-not-call list, what the voice
//! agent reports (transcript lines and the outcome), and `callEvents`. Resolvers parse,
//! authorise and call `store` or `services::calls`; the rules live in the domain.
//!
//! Members with write access (and WRITE API keys, which is how a voice agent worker reports)
//! change things; readers read. Customer tokens get nothing here.

use async_graphql::{Context, Object, Subscription, ID};
use chrono::{DateTime, NaiveDate, Utc};
use futures::Stream;
use leadline_domain as domain;
use leadline_domain::calls::{CallStatus as DomainCallStatus, CustomerResponse as DomainResponse};
use leadline_domain::ids::TenantId;
use leadline_entity::calls;
use serde_json::{json, Value};
use uuid::Uuid;

use super::catalog::MoneyInput;
use super::leads::scoped_events;
use super::types::Money;
use super::{connection, parse_id, state, tenant_for, AccessGuard, IdConnection};
use crate::auth::{Access, Principal};
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::services::calls as service;
use crate::store::calls::{event_kind, invoice_status, CallFilter, NewInvoice};
use crate::store::PageRequest;

mod types;

pub use types::*;
use types::{MAX_LINE_CHARS, MAX_TRANSCRIPT_LINES};

/// The caller's tenant and the call it may report on: an anonymous caller is told to sign in
/// before its input is read; then the id is parsed and the caller checked against that call
/// (`Principal::require_call_reporter`).
fn call_reporter(ctx: &Context<'_>, call_id: &ID) -> ApiResult<(TenantId, Uuid)> {
    let principal = super::principal(ctx);
    if matches!(principal, Principal::Anonymous) {
        return Err(ApiError::Unauthenticated(
            "sign in, or send an API key or the call's token".into(),
        ));
    }
    let call_id = parse_id(call_id, "callId")?;
    Ok((principal.require_call_reporter(call_id)?, call_id))
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

    /// Has the dealership's AI phone agent call a lead now: the lead's E.164 phone is rung from
    /// the tenant's `twilioPhoneNumber` and, when a person answers, talks to the outbound agent
    /// (`elevenlabsOutboundAgentId`). The compliance gate decides first, as for every call:
    /// BLOCKED (never dialled), or QUEUED now or at the next allowed minute (`scheduledFor`).
    /// An answering machine ends the call as VOICEMAIL and it is tried again later. A lead
    /// without a phone is BAD_USER_INPUT; CONFLICT when the agent is stopped or not set up to
    /// call, or the lead already has an outbound call queued or under way.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn call_lead_now(
        &self,
        ctx: &Context<'_>,
        input: CallLeadNowInput,
    ) -> async_graphql::Result<CallPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let lead_id = parse_id(&input.lead_id, "leadId")?;
        let call = crate::services::phone_agent::outbound::start_outbound_call(
            state(ctx),
            tenant_id,
            lead_id,
            1,
            None,
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
