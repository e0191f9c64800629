//! The phone agent's outbound calls to leads (issue 15, "Outbound"): the call row with the job
//! that dials it (one transaction), the lead's call in flight, the hang-up job, and the one
//! lookup by call id that Twilio's per-call callbacks need before the tenant is known.
//!
//! Must not: decide whether a call may be dialled (`domain::compliance`, through
//! `services::calls`' gate) or talk to Twilio.

use chrono::{DateTime, Utc};
use leadline_domain::calls::CallStatus;
use leadline_domain::conversation::Handler;
use leadline_domain::ids::{CallId, LeadId, TenantId};
use leadline_entity::{call_events, calls, leads, tenants};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set,
    TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::phone_agent::TWILIO;
use super::{now, Store};
use crate::error::{ApiError, ApiResult};
use crate::jobs::{enqueue, NewJob};

/// `calls.purpose` of the calls the agent places to leads.
pub const OUTBOUND_SALES: &str = "OUTBOUND_SALES";
/// The job that dials one outbound call (`services::phone_agent::outbound`).
pub const OUTBOUND_CALL_JOB: &str = "phone_agent_outbound_call";
/// The job that hangs up a call answered by a machine.
pub const HANG_UP_JOB: &str = "phone_agent_hang_up";
/// The job that rings a new AI lead an inbound message created
/// (`services::phone_agent::outbound::RingNewLeadHandler`).
pub const RING_NEW_LEAD_JOB: &str = "phone_agent_ring_new_lead";

/// Enqueues, in the caller's transaction, the job that rings `lead` (just created by an inbound
/// message) when allocation gave it to the AI, it has a phone, and its tenant's agent is running
/// with a number. The handler re-checks all of it, and the rest of what a call needs, when it
/// runs; this filter only spares tenants without the agent a job per new lead. A job rather than
/// a call after the commit: the ring is then as durable as the message, and the inbox (which
/// stores the message) never calls into the phone agent.
pub(super) async fn enqueue_ring_new_lead<C: ConnectionTrait>(
    db: &C,
    lead: &leads::Model,
) -> ApiResult<Option<Uuid>> {
    if lead.handler != Handler::Ai.as_str() || lead.phone.is_none() {
        return Ok(None);
    }
    let Some(tenant) = tenants::Entity::find_by_id(lead.tenant_id).one(db).await? else {
        return Ok(None);
    };
    if !tenant.agent_running || tenant.twilio_phone_number.is_none() {
        return Ok(None);
    }
    let job = NewJob::new(
        lead.tenant_id,
        RING_NEW_LEAD_JOB,
        json!({"leadId": lead.id}),
    )
    .idempotent(format!("{RING_NEW_LEAD_JOB}:{}", lead.id));
    Ok(Some(enqueue(db, job).await?.0))
}

/// An outbound call to store: dialled by a job at its time, or BLOCKED by the gate.
#[derive(Debug, Clone)]
pub struct NewOutboundCall {
    pub lead_id: LeadId,
    /// E.164.
    pub to_number: String,
    /// The tenant's Twilio number, E.164.
    pub from_number: Option<String>,
    pub attempt: i32,
    /// `Err(reason)`: the gate refused it; it is stored BLOCKED and no job is made.
    pub plan: Result<DateTime<Utc>, String>,
}

/// The lead's outbound call that is queued or under way, if any.
async fn active_in<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
) -> ApiResult<Option<calls::Model>> {
    let live = [
        CallStatus::Queued,
        CallStatus::Dialing,
        CallStatus::Ringing,
        CallStatus::InProgress,
    ]
    .map(|s| s.as_str());
    Ok(calls::Entity::find()
        .filter(calls::Column::TenantId.eq(tenant_id))
        .filter(calls::Column::LeadId.eq(lead_id))
        .filter(calls::Column::Purpose.eq(OUTBOUND_SALES))
        .filter(calls::Column::Status.is_in(live))
        .one(db)
        .await?)
}

impl Store {
    /// Stores an outbound call and, unless the gate blocked it, its dial job at its time, in
    /// one transaction (a stored QUEUED call always gets dialled). The lead is locked
    /// (PostgreSQL; SQLite has one writer) while its calls are looked at, so a lead has at
    /// most one outbound call queued or under way: a second is CONFLICT, nothing stored.
    pub async fn create_outbound_call(
        &self,
        tenant: TenantId,
        call: NewOutboundCall,
    ) -> ApiResult<(calls::Model, call_events::Model)> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let mut lead = leads::Entity::find_by_id(call.lead_id.uuid())
            .filter(leads::Column::TenantId.eq(tenant_id));
        if self.is_postgres() {
            lead = lead.lock_exclusive();
        }
        lead.one(&tx).await?.ok_or(ApiError::NotFound("lead"))?;
        if let Some(active) = active_in(&tx, tenant_id, call.lead_id.uuid()).await? {
            tx.rollback().await?;
            return Err(ApiError::Conflict(format!(
                "the lead already has an outbound call {} ({})",
                active.id, active.status
            )));
        }
        let at = now();
        let id = Uuid::now_v7();
        let (status, blocked_reason, scheduled_for) = super::calls::planned(&call.plan);
        let row = super::calls::call_row(super::calls::CallRow {
            id,
            tenant_id,
            lead_id: Some(call.lead_id.uuid()),
            invoice_id: None,
            direction: "OUTBOUND",
            provider: TWILIO,
            provider_call_id: None,
            purpose: OUTBOUND_SALES,
            status,
            from_number: call.from_number,
            to_number: call.to_number,
            handled_by: "AI".to_owned(),
            attempt: call.attempt,
            blocked_reason: blocked_reason.clone(),
            scheduled_for,
            at,
        })
        .insert(&tx)
        .await?;
        let entry = super::calls::insert_event(
            &tx,
            tenant_id,
            id,
            super::calls::event_kind::STATUS,
            json!({
                "status": status.as_str(),
                "direction": "OUTBOUND",
                "attempt": call.attempt,
                "reason": blocked_reason,
            }),
        )
        .await?;
        if let Some(when) = scheduled_for {
            let mut job = NewJob::new(tenant_id, OUTBOUND_CALL_JOB, json!({"call_id": id}));
            job.scheduled_for = Some(when);
            job.idempotency_key = Some(format!("{OUTBOUND_CALL_JOB}:{id}"));
            enqueue(&tx, job).await?;
        }
        tx.commit().await?;
        Ok((row, entry))
    }

    /// The lead's outbound call that is queued or under way, if any (at most one is).
    pub async fn active_outbound_call(
        &self,
        tenant: TenantId,
        lead: LeadId,
    ) -> ApiResult<Option<calls::Model>> {
        let lead_id = lead.uuid();
        active_in(&self.db, tenant.uuid(), lead_id).await
    }

    /// The outbound call `call_id`, for Twilio's per-call callbacks (`…/outbound/{callId}…`).
    /// Not tenant-scoped: the id is in a URL we gave Twilio, and the delivery's signature over
    /// that URL was verified before this is asked; the row names its tenant.
    pub async fn outbound_call_by_id(&self, call: CallId) -> ApiResult<Option<calls::Model>> {
        let call_id = call.uuid();
        Ok(calls::Entity::find_by_id(call_id)
            .filter(calls::Column::Purpose.eq(OUTBOUND_SALES))
            .one(&self.db)
            .await?)
    }

    /// Records the Twilio `CallSid` of a call whose create request went unanswered, when its
    /// first callback names it; a sid already recorded is kept. The call as stored after.
    pub async fn adopt_twilio_sid(
        &self,
        tenant: TenantId,
        call: CallId,
        call_sid: &str,
    ) -> ApiResult<calls::Model> {
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let row =
            super::calls::call_for_update(&tx, self.is_postgres(), tenant.uuid(), call_id).await?;
        if row.provider_call_id.is_some() {
            tx.rollback().await?;
            return Ok(row);
        }
        let mut active: calls::ActiveModel = row.into();
        active.provider_call_id = Set(Some(call_sid.to_owned()));
        active.updated_at = Set(now());
        let saved = active.update(&tx).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Queues the hang-up of call `call_id` (answered by a machine); once per call.
    pub async fn enqueue_hang_up(&self, tenant: TenantId, call: CallId) -> ApiResult<()> {
        let call_id = call.uuid();
        let tx = self.db.begin().await?;
        let job = NewJob::new(tenant.uuid(), HANG_UP_JOB, json!({"call_id": call_id}))
            .idempotent(format!("{HANG_UP_JOB}:{call_id}"));
        enqueue(&tx, job).await?;
        tx.commit().await?;
        Ok(())
    }
}
