//! Invoices, payment-reminder calls, their timeline and the do-not-call list (ARCHITECTURE.md
//! §3, §4 "Calls"). Every function takes the caller's tenant id, except the two the LiveKit
//! webhook needs before it knows the tenant: [`Store::call_by_room`] (the room name carries the
//! call id we made) and the webhook receipts (deduplication by the provider's event id).
//!
//! Status changes go through `domain::calls::CallStatus::apply` under a row lock, so a late or
//! repeated event never moves a call backwards, whatever the order deliveries arrive in.

use chrono::{DateTime, NaiveDate, Utc};
use leadline_domain::calls::{CallStatus, Transition};
use leadline_domain::ids::{CallId, InvoiceId, LeadId, TenantId};
use leadline_entity::{
    call_events, calls, do_not_call_numbers, invoices, leads, tickets, webhook_receipts,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::{now, paginate, Page, PageRequest, Store};
use crate::error::{ApiError, ApiResult};
use crate::jobs::{enqueue, NewJob};

/// The job that dials one payment-reminder call (`services::calls::ReminderCallHandler`).
pub const REMINDER_CALL_JOB: &str = "reminder_call";

/// Kinds of [`call_events`] rows.
pub mod event_kind {
    pub const STATUS: &str = "STATUS";
    pub const TRANSCRIPT: &str = "TRANSCRIPT";
    pub const OUTCOME: &str = "OUTCOME";
}

/// Invoice statuses.
pub mod invoice_status {
    pub const OPEN: &str = "OPEN";
    pub const PAID: &str = "PAID";
    /// The customer said it was paid already: someone should check.
    pub const CHECK_PAYMENT: &str = "CHECK_PAYMENT";
    pub const DISPUTED: &str = "DISPUTED";
}

/// A new invoice, validated by the caller.
#[derive(Debug, Clone)]
pub struct NewInvoice {
    pub invoice_number: String,
    pub customer_name: String,
    /// E.164.
    pub customer_phone: String,
    pub amount_micros: i64,
    pub original_amount_micros: Option<i64>,
    pub currency: String,
    pub due_date: NaiveDate,
    pub payment_methods: Vec<String>,
    pub company_name: Option<String>,
    pub support_phone: Option<String>,
    /// `en` or `es`.
    pub language: String,
    pub time_zone: Option<String>,
    /// The lead it belongs to; `None`: found or created by the customer's phone.
    pub lead_id: Option<LeadId>,
}

/// A call about to be stored: dialled by a job at `scheduled_for`, or BLOCKED.
#[derive(Debug, Clone)]
pub struct NewCall {
    pub invoice_id: InvoiceId,
    pub lead_id: Option<LeadId>,
    /// E.164.
    pub to_number: String,
    pub attempt: i32,
    /// `Err(reason)`: the gate refused it; it is stored BLOCKED and no job is made.
    pub plan: Result<DateTime<Utc>, String>,
}

/// What a status change asks for besides the status.
#[derive(Debug, Clone, Default)]
pub struct CallStatusChange {
    pub provider_call_id: Option<String>,
    pub error_code: Option<String>,
    /// The gate's reason, for a move to BLOCKED.
    pub blocked_reason: Option<String>,
    pub at: Option<DateTime<Utc>>,
}

/// Filter of `calls`.
#[derive(Debug, Clone, Default)]
pub struct CallFilter {
    pub status: Option<String>,
    pub outcome: Option<String>,
    pub invoice_id: Option<InvoiceId>,
    pub lead_id: Option<LeadId>,
}

async fn invoice_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<invoices::Model> {
    invoices::Entity::find_by_id(id)
        .filter(invoices::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("invoice"))
}

pub(super) async fn call_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<calls::Model> {
    calls::Entity::find_by_id(id)
        .filter(calls::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("call"))
}

/// The call row locked for a read-modify-write (PostgreSQL; SQLite has one writer).
pub(super) async fn call_for_update<C: ConnectionTrait>(
    db: &C,
    postgres: bool,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<calls::Model> {
    let mut query = calls::Entity::find_by_id(id).filter(calls::Column::TenantId.eq(tenant_id));
    if postgres {
        query = query.lock_exclusive();
    }
    query.one(db).await?.ok_or(ApiError::NotFound("call"))
}

pub(super) async fn insert_event<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    call_id: Uuid,
    kind: &str,
    payload: Value,
) -> ApiResult<call_events::Model> {
    Ok(call_events::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        call_id: Set(call_id),
        kind: Set(kind.to_owned()),
        payload: Set(payload),
        created_at: Set(now()),
    }
    .insert(db)
    .await?)
}

/// The call's stored status; an unknown value is a bug, reported as INTERNAL.
pub fn status_of(call: &calls::Model) -> ApiResult<CallStatus> {
    CallStatus::parse(&call.status)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("call {}: {e}", call.id)))
}

impl Store {
    /// Stores an invoice, tied to `lead_id` or to the tenant's lead with this phone (created
    /// when there is none). The number is unique per tenant: a second one is CONFLICT.
    pub async fn create_invoice(
        &self,
        tenant: TenantId,
        invoice: NewInvoice,
    ) -> ApiResult<invoices::Model> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let taken = invoices::Entity::find()
            .filter(invoices::Column::TenantId.eq(tenant_id))
            .filter(invoices::Column::InvoiceNumber.eq(&invoice.invoice_number))
            .one(&tx)
            .await?;
        if taken.is_some() {
            return Err(ApiError::Conflict(format!(
                "invoice {} exists already",
                invoice.invoice_number
            )));
        }
        let lead_id = match invoice.lead_id {
            Some(id) => {
                leads::Entity::find_by_id(id.uuid())
                    .filter(leads::Column::TenantId.eq(tenant_id))
                    .one(&tx)
                    .await?
                    .ok_or(ApiError::NotFound("lead"))?
                    .id
            }
            None => {
                let existing = leads::Entity::find()
                    .filter(leads::Column::TenantId.eq(tenant_id))
                    .filter(leads::Column::Phone.eq(&invoice.customer_phone))
                    .order_by_asc(leads::Column::Id)
                    .one(&tx)
                    .await?;
                match existing {
                    Some(lead) => lead.id,
                    None => {
                        super::leads::insert_lead(
                            &tx,
                            tenant_id,
                            super::NewLead {
                                name: invoice.customer_name.clone(),
                                email: None,
                                phone: Some(invoice.customer_phone.clone()),
                                company: None,
                                status: leadline_domain::lead::LeadStatus::New,
                                notes: None,
                                source_channel: None,
                            },
                        )
                        .await?
                        .id
                    }
                }
            }
        };
        let at = now();
        let row = invoices::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant_id),
            lead_id: Set(Some(lead_id)),
            invoice_number: Set(invoice.invoice_number),
            customer_name: Set(invoice.customer_name),
            customer_phone: Set(invoice.customer_phone),
            amount_micros: Set(invoice.amount_micros),
            currency: Set(invoice.currency),
            due_date: Set(invoice.due_date),
            status: Set(invoice_status::OPEN.to_owned()),
            created_at: Set(at),
            updated_at: Set(at),
            original_amount_micros: Set(invoice.original_amount_micros),
            payment_methods: Set(Some(json!(invoice.payment_methods))),
            company_name: Set(invoice.company_name),
            support_phone: Set(invoice.support_phone),
            language: Set(invoice.language),
            time_zone: Set(invoice.time_zone),
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// One invoice of the tenant.
    pub async fn invoice(&self, tenant: TenantId, id: InvoiceId) -> ApiResult<invoices::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        invoice_in(&self.db, tenant_id, id).await
    }

    /// A page of the tenant's invoices, newest first, optionally of one status.
    pub async fn invoices(
        &self,
        tenant: TenantId,
        status: Option<&str>,
        page: PageRequest,
    ) -> ApiResult<Page<invoices::Model>> {
        let tenant_id = tenant.uuid();
        let mut select = invoices::Entity::find().filter(invoices::Column::TenantId.eq(tenant_id));
        if let Some(status) = status {
            select = select.filter(invoices::Column::Status.eq(status));
        }
        paginate(&self.db, select, invoices::Column::Id, page).await
    }

    /// Sets an invoice's status (PAID, CHECK_PAYMENT, DISPUTED, OPEN).
    pub async fn set_invoice_status(
        &self,
        tenant: TenantId,
        id: InvoiceId,
        status: &str,
    ) -> ApiResult<invoices::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        let row = invoice_in(&self.db, tenant_id, id).await?;
        let mut active: invoices::ActiveModel = row.into();
        active.status = Set(status.to_owned());
        active.updated_at = Set(now());
        Ok(active.update(&self.db).await?)
    }

    /// Whether `phone` (E.164) is on the tenant's do-not-call list.
    pub async fn is_do_not_call(&self, tenant: TenantId, phone: &str) -> ApiResult<bool> {
        let tenant_id = tenant.uuid();
        Ok(do_not_call_numbers::Entity::find()
            .filter(do_not_call_numbers::Column::TenantId.eq(tenant_id))
            .filter(do_not_call_numbers::Column::Phone.eq(phone))
            .one(&self.db)
            .await?
            .is_some())
    }

    /// Puts `phone` on the do-not-call list (`blocked`) or takes it off; idempotent.
    pub async fn set_do_not_call(
        &self,
        tenant: TenantId,
        phone: &str,
        blocked: bool,
        reason: Option<String>,
    ) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let existing = do_not_call_numbers::Entity::find()
            .filter(do_not_call_numbers::Column::TenantId.eq(tenant_id))
            .filter(do_not_call_numbers::Column::Phone.eq(phone))
            .one(&self.db)
            .await?;
        match (existing, blocked) {
            (None, true) => {
                let inserted = do_not_call_numbers::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tenant_id),
                    phone: Set(phone.to_owned()),
                    reason: Set(reason),
                    created_at: Set(now()),
                }
                .insert(&self.db)
                .await;
                // A concurrent insert of the same number is the same outcome.
                match inserted {
                    Ok(_) => Ok(()),
                    Err(e) if crate::error::is_unique_violation(&e) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            (Some(row), false) => {
                do_not_call_numbers::Entity::delete_by_id(row.id)
                    .exec(&self.db)
                    .await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// When the tenant's earlier calls to `phone` were dialled (not blocked or cancelled), since
    /// `since`: what the attempt caps count.
    pub async fn call_attempts_since(
        &self,
        tenant: TenantId,
        phone: &str,
        since: DateTime<Utc>,
    ) -> ApiResult<Vec<DateTime<Utc>>> {
        let tenant_id = tenant.uuid();
        let rows = calls::Entity::find()
            .filter(calls::Column::TenantId.eq(tenant_id))
            .filter(calls::Column::ToNumber.eq(phone))
            .filter(calls::Column::StartedAt.gte(since))
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().filter_map(|c| c.started_at).collect())
    }

    /// The attempt number the next call about `invoice_id` gets (1 for the first).
    pub async fn next_attempt(&self, tenant: TenantId, invoice: InvoiceId) -> ApiResult<i32> {
        let tenant_id = tenant.uuid();
        let invoice_id = invoice.uuid();
        let last = calls::Entity::find()
            .filter(calls::Column::TenantId.eq(tenant_id))
            .filter(calls::Column::InvoiceId.eq(invoice_id))
            .order_by_desc(calls::Column::Attempt)
            .one(&self.db)
            .await?;
        Ok(last.map_or(1, |c| c.attempt.saturating_add(1)))
    }

    /// Stores a call and, unless the gate blocked it, the job that dials it at its time — in
    /// one transaction, so a stored QUEUED call always gets dialled.
    pub async fn create_call(
        &self,
        tenant: TenantId,
        call: NewCall,
    ) -> ApiResult<(calls::Model, call_events::Model)> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let at = now();
        let id = Uuid::now_v7();
        let (status, blocked_reason, scheduled_for) = planned(&call.plan);
        let row = call_row(CallRow {
            id,
            tenant_id,
            lead_id: call.lead_id.map(LeadId::uuid),
            invoice_id: Some(call.invoice_id.uuid()),
            direction: "OUTBOUND",
            provider: "LIVEKIT",
            provider_call_id: None,
            purpose: "PAYMENT_REMINDER",
            status,
            from_number: None,
            to_number: call.to_number,
            handled_by: "AI".to_owned(),
            attempt: call.attempt,
            blocked_reason: blocked_reason.clone(),
            scheduled_for,
            at,
        })
        .insert(&tx)
        .await?;
        let entry = insert_event(
            &tx,
            tenant_id,
            id,
            event_kind::STATUS,
            json!({"status": status.as_str(), "reason": blocked_reason}),
        )
        .await?;
        if let Some(when) = scheduled_for {
            let mut job = NewJob::new(tenant_id, REMINDER_CALL_JOB, json!({"call_id": id}));
            job.scheduled_for = Some(when);
            job.idempotency_key = Some(format!("reminder_call:{id}"));
            enqueue(&tx, job).await?;
        }
        tx.commit().await?;
        Ok((row, entry))
    }

    /// One call of the tenant.
    pub async fn call(&self, tenant: TenantId, id: CallId) -> ApiResult<calls::Model> {
        let tenant_id = tenant.uuid();
        let id = id.uuid();
        call_in(&self.db, tenant_id, id).await
    }

    /// A page of the tenant's calls, newest first.
    pub async fn calls(
        &self,
        tenant: TenantId,
        filter: CallFilter,
        page: PageRequest,
    ) -> ApiResult<Page<calls::Model>> {
        let tenant_id = tenant.uuid();
        let mut select = calls::Entity::find().filter(calls::Column::TenantId.eq(tenant_id));
        if let Some(status) = filter.status {
            select = select.filter(calls::Column::Status.eq(status));
        }
        if let Some(outcome) = filter.outcome {
            select = select.filter(calls::Column::Outcome.eq(outcome));
        }
        if let Some(invoice_id) = filter.invoice_id {
            select = select.filter(calls::Column::InvoiceId.eq(invoice_id.uuid()));
        }
        if let Some(lead_id) = filter.lead_id {
            select = select.filter(calls::Column::LeadId.eq(lead_id.uuid()));
        }
        paginate(&self.db, select, calls::Column::Id, page).await
    }

    /// The tenant's calls created in `[from, to)`, for `callStats` (the caller bounds the
    /// period; at most [`STATS_MAX_CALLS`] rows are read).
    pub async fn calls_between(
        &self,
        tenant: TenantId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<Vec<calls::Model>> {
        let tenant_id = tenant.uuid();
        Ok(calls::Entity::find()
            .filter(calls::Column::TenantId.eq(tenant_id))
            .filter(calls::Column::CreatedAt.gte(from))
            .filter(calls::Column::CreatedAt.lt(to))
            .limit(STATS_MAX_CALLS)
            .all(&self.db)
            .await?)
    }

    /// The call whose LiveKit room is `room` (`call-<id>`, named by us), for webhooks that
    /// arrive before the tenant is known. Not tenant-scoped: the id comes from a verified
    /// delivery, and the row names its tenant.
    pub async fn call_by_room(&self, room: &str) -> ApiResult<Option<calls::Model>> {
        let Some(id) = room
            .strip_prefix(ROOM_PREFIX)
            .and_then(|id| Uuid::parse_str(id).ok())
        else {
            return Ok(None);
        };
        Ok(calls::Entity::find_by_id(id).one(&self.db).await?)
    }

    /// Whether `provider`'s event `event_id` was handled already (a redelivery).
    pub async fn has_receipt(&self, provider: &str, event_id: &str) -> ApiResult<bool> {
        Ok(webhook_receipts::Entity::find()
            .filter(webhook_receipts::Column::Provider.eq(provider))
            .filter(webhook_receipts::Column::EventId.eq(event_id))
            .one(&self.db)
            .await?
            .is_some())
    }

    /// Records that `provider`'s event `event_id` was handled; recording it twice is the same.
    pub async fn record_receipt(&self, provider: &str, event_id: &str) -> ApiResult<()> {
        let inserted = webhook_receipts::ActiveModel {
            id: Set(Uuid::now_v7()),
            provider: Set(provider.to_owned()),
            event_id: Set(event_id.to_owned()),
            received_at: Set(now()),
        }
        .insert(&self.db)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if crate::error::is_unique_violation(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves a call to `to` if the lifecycle allows it; `None` when the change is late or
    /// repeated (ignored, nothing written). Timings follow the status: DIALING stamps
    /// `started_at`, IN_PROGRESS `answered_at`, a terminal status `ended_at` and the duration
    /// since the answer.
    pub async fn move_call(
        &self,
        tenant: TenantId,
        call: CallId,
        to: CallStatus,
        change: CallStatusChange,
    ) -> ApiResult<Option<(calls::Model, call_events::Model)>> {
        let tenant_id = tenant.uuid();
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = call_for_update(&tx, self.is_postgres(), tenant_id, call_id).await?;
        let from = status_of(&row)?;
        match from.apply(to) {
            Ok(Transition::Moved(_)) => {}
            Ok(Transition::Ignored) => {
                tx.rollback().await?;
                return Ok(None);
            }
            Err(error) => {
                // A provider event the lifecycle has no edge for: ignored like a late one, but
                // logged, since it means an event was mapped wrongly.
                tracing::warn!(call_id = %call_id, %error, "call status change refused");
                tx.rollback().await?;
                return Ok(None);
            }
        }
        let at = change.at.unwrap_or_else(now);
        let answered_at = row.answered_at;
        let mut active: calls::ActiveModel = row.into();
        active.status = Set(to.as_str().to_owned());
        if let Some(id) = change.provider_call_id {
            active.provider_call_id = Set(Some(id));
        }
        if let Some(code) = &change.error_code {
            active.error_code = Set(Some(code.clone()));
        }
        if let Some(reason) = &change.blocked_reason {
            active.blocked_reason = Set(Some(reason.clone()));
            active.scheduled_for = Set(None);
        }
        match to {
            CallStatus::Dialing => active.started_at = Set(Some(at)),
            CallStatus::InProgress => active.answered_at = Set(Some(at)),
            _ => {}
        }
        if to.is_terminal() {
            active.ended_at = Set(Some(at));
            if let Some(answered) = answered_at {
                let seconds = (at - answered).num_seconds().clamp(0, i64::from(i32::MAX));
                active.duration_seconds = Set(Some(i32::try_from(seconds).unwrap_or(i32::MAX)));
            }
        }
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        crate::store::usage::record_call_minutes(&tx, &saved).await?;
        let entry = insert_event(
            &tx,
            tenant_id,
            call_id,
            event_kind::STATUS,
            json!({"status": to.as_str(), "errorCode": change.error_code, "reason": change.blocked_reason}),
        )
        .await?;
        tx.commit().await?;
        Ok(Some((saved, entry)))
    }

    /// Moves a QUEUED call's dial to `until` with a fresh job (the gate deferred it at dial
    /// time: the tenant's hours changed, or the day's attempts ran out meanwhile). `None` when
    /// the call is no longer QUEUED (cancelled meanwhile): nothing is scheduled.
    pub async fn defer_call(
        &self,
        tenant: TenantId,
        call: CallId,
        until: DateTime<Utc>,
    ) -> ApiResult<Option<calls::Model>> {
        let tenant_id = tenant.uuid();
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = call_for_update(&tx, self.is_postgres(), tenant_id, call_id).await?;
        if status_of(&row)? != CallStatus::Queued {
            tx.rollback().await?;
            return Ok(None);
        }
        let saved_purpose = row.purpose.clone();
        let mut active: calls::ActiveModel = row.into();
        active.scheduled_for = Set(Some(until));
        active.updated_at = Set(now());
        // The phone agent's outbound calls are dialled by their own job kind.
        let kind = if saved_purpose == super::outbound_calls::OUTBOUND_SALES {
            super::outbound_calls::OUTBOUND_CALL_JOB
        } else {
            REMINDER_CALL_JOB
        };
        let saved = active.update(&tx).await?;
        let mut job = NewJob::new(tenant_id, kind, json!({"call_id": call_id}));
        job.scheduled_for = Some(until);
        job.idempotency_key = Some(format!("{kind}:{call_id}:{}", until.timestamp()));
        enqueue(&tx, job).await?;
        tx.commit().await?;
        Ok(Some(saved))
    }

    /// Merges `progress` into the call's `metadata.dial` (what a dial job has already done at
    /// LiveKit, so a retried job does not do it twice).
    pub async fn record_dial_progress(
        &self,
        tenant: TenantId,
        call: CallId,
        progress: serde_json::Value,
    ) -> ApiResult<calls::Model> {
        let tenant_id = tenant.uuid();
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = call_for_update(&tx, self.is_postgres(), tenant_id, call_id).await?;
        let mut metadata = row.metadata.clone();
        if !metadata.is_object() {
            metadata = json!({});
        }
        let mut dial = metadata.get("dial").cloned().unwrap_or_else(|| json!({}));
        if let (Some(dial), Some(new)) = (dial.as_object_mut(), progress.as_object()) {
            for (key, value) in new {
                dial.insert(key.clone(), value.clone());
            }
        }
        metadata["dial"] = dial;
        let mut active: calls::ActiveModel = row.into();
        active.metadata = Set(metadata);
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Appends transcript lines (`[{speaker, text, at}]`) to a call's timeline.
    pub async fn append_call_transcript(
        &self,
        tenant: TenantId,
        call: CallId,
        lines: Vec<Value>,
    ) -> ApiResult<Vec<call_events::Model>> {
        let tenant_id = tenant.uuid();
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        call_in(&tx, tenant_id, call_id).await?;
        let mut stored = Vec::with_capacity(lines.len());
        for line in lines {
            stored.push(insert_event(&tx, tenant_id, call_id, event_kind::TRANSCRIPT, line).await?);
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Records the call's outcome (`customerResponse` code and its details) and how it was
    /// answered, and applies its effects in the same transaction: the invoice's status (when
    /// given) and a ticket for people (when given), linked to the call's lead.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_call_outcome(
        &self,
        tenant: TenantId,
        call: CallId,
        response: &str,
        details: Value,
        answered_by: Option<&str>,
        invoice_status: Option<&str>,
        ticket: Option<crate::store::inbox::NewTicket>,
    ) -> ApiResult<(calls::Model, call_events::Model, Option<tickets::Model>)> {
        let tenant_id = tenant.uuid();
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row = call_for_update(&tx, self.is_postgres(), tenant_id, call_id).await?;
        let invoice_id = row.invoice_id;
        let call_lead = row.lead_id;
        let mut active: calls::ActiveModel = row.into();
        active.outcome = Set(Some(response.to_owned()));
        if let Some(by) = answered_by {
            active.answered_by = Set(Some(by.to_owned()));
        }
        let ticket = match ticket {
            Some(ticket) => Some(
                crate::store::inbox::ticket_row(tenant_id, call_lead, None, ticket, now())
                    .insert(&tx)
                    .await?,
            ),
            None => None,
        };
        let mut metadata = details.clone();
        if let Value::Object(map) = &mut metadata {
            map.insert("customerResponse".into(), json!(response));
            if let Some(ticket) = &ticket {
                map.insert("ticketId".into(), json!(ticket.id));
            }
        }
        active.summary = Set(details
            .get("notes")
            .and_then(Value::as_str)
            .map(str::to_owned));
        active.metadata = Set(json!({ "outcome": metadata }));
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        let entry = insert_event(&tx, tenant_id, call_id, event_kind::OUTCOME, metadata).await?;
        if let (Some(invoice_id), Some(status)) = (invoice_id, invoice_status) {
            let invoice = invoice_in(&tx, tenant_id, invoice_id).await?;
            let mut invoice: invoices::ActiveModel = invoice.into();
            invoice.status = Set(status.to_owned());
            invoice.updated_at = Set(now());
            invoice.update(&tx).await?;
        }
        tx.commit().await?;
        Ok((saved, entry, ticket))
    }

    /// A call's timeline, oldest first (at most `limit` rows).
    pub async fn call_events(
        &self,
        tenant: TenantId,
        call: CallId,
        kind: Option<&str>,
        limit: u64,
    ) -> ApiResult<Vec<call_events::Model>> {
        let tenant_id = tenant.uuid();
        let call_id = call.uuid();
        let mut select = call_events::Entity::find()
            .filter(call_events::Column::TenantId.eq(tenant_id))
            .filter(call_events::Column::CallId.eq(call_id));
        if let Some(kind) = kind {
            select = select.filter(call_events::Column::Kind.eq(kind));
        }
        Ok(select
            .order_by_asc(call_events::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}

/// Most calls `callStats` reads for one period.
pub const STATS_MAX_CALLS: u64 = 50_000;

/// Rooms are named `call-<call id>`, so a webhook finds its call without a lookup table.
pub const ROOM_PREFIX: &str = "call-";

/// The room of a call.
pub fn room_name(call: CallId) -> String {
    format!("{ROOM_PREFIX}{call}")
}

/// What tells one kind of call row from another; every other column of a new call starts
/// empty (no answer, no end, no outcome) and is filled by the call's lifecycle.
pub(super) struct CallRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub invoice_id: Option<Uuid>,
    pub direction: &'static str,
    pub provider: &'static str,
    pub provider_call_id: Option<String>,
    pub purpose: &'static str,
    pub status: CallStatus,
    pub from_number: Option<String>,
    pub to_number: String,
    pub handled_by: String,
    pub attempt: i32,
    pub blocked_reason: Option<String>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub at: DateTime<Utc>,
}

/// A new call row: the one place a call's columns are listed (reminder, outbound and inbound
/// calls), so a new column is added once.
pub(super) fn call_row(row: CallRow) -> calls::ActiveModel {
    calls::ActiveModel {
        id: Set(row.id),
        tenant_id: Set(row.tenant_id),
        lead_id: Set(row.lead_id),
        invoice_id: Set(row.invoice_id),
        direction: Set(row.direction.to_owned()),
        provider: Set(row.provider.to_owned()),
        provider_call_id: Set(row.provider_call_id),
        purpose: Set(row.purpose.to_owned()),
        status: Set(row.status.as_str().to_owned()),
        from_number: Set(row.from_number),
        to_number: Set(row.to_number),
        handled_by: Set(row.handled_by),
        started_at: Set(None),
        answered_at: Set(None),
        ended_at: Set(None),
        duration_seconds: Set(None),
        outcome: Set(None),
        transcript: Set(None),
        summary: Set(None),
        error_code: Set(None),
        cost_micros: Set(None),
        metadata: Set(json!({})),
        created_at: Set(row.at),
        updated_at: Set(row.at),
        attempt: Set(row.attempt),
        blocked_reason: Set(row.blocked_reason),
        scheduled_for: Set(row.scheduled_for),
        answered_by: Set(None),
        agent_conversation_id: Set(None),
        recording_url: Set(None),
    }
}

/// A planned call's first state: QUEUED at its time, or BLOCKED with the gate's reason.
pub(super) fn planned(
    plan: &Result<DateTime<Utc>, String>,
) -> (CallStatus, Option<String>, Option<DateTime<Utc>>) {
    match plan {
        Ok(when) => (CallStatus::Queued, None, Some(*when)),
        Err(reason) => (CallStatus::Blocked, Some(reason.clone()), None),
    }
}
