//! Nurture enrolments (issue 15, `domain::nurture`): a row per lead in the sequence, and the
//! `nurture_step` job that sends its next follow-up. Enrolment, each recorded step with the
//! next step's job, and every stop happen in one transaction each, so a sequence never has two
//! live jobs and a stop is never overtaken by a step (a step re-reads the row under a lock
//! before it records anything).
//!
//! Must not: send messages or decide the schedule (`services::nurture` and the domain do).

use chrono::{DateTime, Utc};
use leadline_domain::channel::Channel;
use leadline_domain::ids::{LeadId, NurtureEnrollmentId, TenantId};
use leadline_domain::messaging::MessageDirection;
use leadline_domain::nurture::{
    NurtureChannel, NurtureSchedule, NurtureStage, NurtureStatus, StopReason, SEQUENCE,
};
use leadline_entity::{
    appointments, conversations, jobs, leads, messages, nurture_enrollments, tenants,
};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{cancel_pending, enqueue, NewJob};

/// The job that sends one follow-up (`services::nurture::NurtureStepHandler`).
pub const NURTURE_STEP_JOB: &str = "nurture_step";

/// Filter of `nurtureLeads`; parts combine with AND.
#[derive(Debug, Clone, Default)]
pub struct NurtureFilter {
    pub status: Option<NurtureStatus>,
    pub stage: Option<NurtureStage>,
}

/// The tenant's nurture schedule: the stored one, else the defaults (off). A stored document
/// this build cannot read is logged and treated as off, so no lead is messaged on a guess.
pub fn schedule_of(tenant: &tenants::Model) -> NurtureSchedule {
    match &tenant.nurture_schedule {
        None => NurtureSchedule::default(),
        Some(value) => serde_json::from_value(value.clone()).unwrap_or_else(|error| {
            tracing::error!(tenant = %tenant.id, %error, "unreadable nurture schedule; nurture is off");
            NurtureSchedule {
                enabled: false,
                ..NurtureSchedule::default()
            }
        }),
    }
}

/// The job that runs step `step` (0-based count of follow-ups already sent) of `enrollment_id`
/// at `due`; the key makes a re-enqueue of the same step one job.
fn step_job(tenant_id: Uuid, enrollment_id: Uuid, step: i32, due: DateTime<Utc>) -> NewJob {
    let mut job = NewJob::new(
        tenant_id,
        NURTURE_STEP_JOB,
        json!({ "enrollmentId": enrollment_id, "step": step }),
    )
    .idempotent(format!("{NURTURE_STEP_JOB}:{enrollment_id}:{step}"));
    job.scheduled_for = Some(due);
    job
}

/// Enrolls a new AI lead of `tenant` when its schedule is on and the lead has a phone or an
/// e-mail to write to; in the caller's transaction. Returns the first step's job.
pub(super) async fn enroll_new_lead<C: ConnectionTrait>(
    db: &C,
    tenant: &tenants::Model,
    lead: &leads::Model,
) -> ApiResult<Option<Uuid>> {
    let schedule = schedule_of(tenant);
    if !schedule.enabled || (lead.phone.is_none() && lead.email.is_none()) {
        return Ok(None);
    }
    let at = now();
    let id = Uuid::now_v7();
    let due = schedule.first_due(at);
    let (job_id, _) = enqueue(db, step_job(tenant.id, id, 0, due)).await?;
    nurture_enrollments::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant.id),
        lead_id: Set(lead.id),
        sequence: Set(SEQUENCE.to_owned()),
        step: Set(NurtureStage::Followup1.as_str().to_owned()),
        status: Set(NurtureStatus::Active.as_str().to_owned()),
        next_run_at: Set(Some(due)),
        job_id: Set(Some(job_id)),
        channel: Set(None),
        stop_reason: Set(None),
        steps_sent: Set(0),
        last_sent_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(db)
    .await?;
    Ok(Some(job_id))
}

/// A sequence a stop ended, and its waiting step job that the stop cancelled (`None` when the
/// step was already running: its handler re-reads the row and skips, the backstop).
#[derive(Debug, Clone)]
pub struct NurtureStopped {
    pub enrollment: nurture_enrollments::Model,
    pub cancelled_job: Option<jobs::Model>,
}

/// Stops `row` (ACTIVE, read under the caller's lock) for `reason` and cancels its waiting step
/// job, in the caller's transaction: a stopped sequence never leaves a job behind that would
/// run only to find nothing to do.
async fn stop_locked<C: ConnectionTrait>(
    db: &C,
    row: nurture_enrollments::Model,
    reason: StopReason,
) -> ApiResult<NurtureStopped> {
    let job_id = row.job_id;
    let tenant = TenantId(row.tenant_id);
    let mut active = row.into_active_model();
    active.status = Set(NurtureStatus::Stopped.as_str().to_owned());
    active.stop_reason = Set(Some(reason.as_str().to_owned()));
    active.next_run_at = Set(None);
    active.updated_at = Set(now());
    let enrollment = active.update(db).await?;
    let cancelled_job = match job_id {
        Some(job_id) => {
            let why = format!("nurture stopped: {}", reason.as_str());
            cancel_pending(db, tenant, job_id, &why).await?
        }
        None => None,
    };
    Ok(NurtureStopped {
        enrollment,
        cancelled_job,
    })
}

/// Stops the lead's active sequence for `reason` in the caller's transaction (an inbound
/// message: REPLIED or OPTED_OUT; a booking; the lead given to a person) and cancels its
/// waiting step job. Returns what was stopped (nothing when no sequence was active).
pub(super) async fn stop_lead_nurture<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    lead_id: Uuid,
    reason: StopReason,
) -> ApiResult<Vec<NurtureStopped>> {
    let mut query = nurture_enrollments::Entity::find()
        .filter(nurture_enrollments::Column::TenantId.eq(tenant_id))
        .filter(nurture_enrollments::Column::LeadId.eq(lead_id))
        .filter(nurture_enrollments::Column::Status.eq(NurtureStatus::Active.as_str()));
    // Locked, so a step recording its next job meanwhile cannot leave that job uncancelled.
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    let mut stopped = Vec::new();
    for row in query.all(db).await? {
        stopped.push(stop_locked(db, row, reason).await?);
    }
    Ok(stopped)
}

/// The enrolment row locked for a read-modify-write (PostgreSQL; SQLite has one writer).
async fn enrollment_for_update<C: ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<nurture_enrollments::Model> {
    let mut query = nurture_enrollments::Entity::find_by_id(id)
        .filter(nurture_enrollments::Column::TenantId.eq(tenant_id));
    if db.get_database_backend() == DbBackend::Postgres {
        query = query.lock_exclusive();
    }
    query
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("nurture enrollment"))
}

/// What a step checks before it writes: did the lead answer, book or opt out since `since`.
#[derive(Debug, Clone, Default)]
pub struct NurtureSignals {
    /// The lead's inbound messages since then, oldest first (at most 20).
    pub replies: Vec<String>,
    /// An appointment was booked with the lead since then.
    pub booked: bool,
    /// The lead's open WhatsApp conversation, if it has one it has written in.
    pub whatsapp_conversation: Option<Uuid>,
}

impl Store {
    /// A page of the tenant's nurture enrolments, newest first.
    pub async fn nurture_enrollments(
        &self,
        tenant_id: TenantId,
        filter: NurtureFilter,
        page: PageRequest,
    ) -> ApiResult<Page<nurture_enrollments::Model>> {
        let mut select = nurture_enrollments::Entity::find()
            .filter(nurture_enrollments::Column::TenantId.eq(tenant_id.uuid()));
        if let Some(status) = filter.status {
            select = select.filter(nurture_enrollments::Column::Status.eq(status.as_str()));
        }
        if let Some(stage) = filter.stage {
            select = select.filter(nurture_enrollments::Column::Step.eq(stage.as_str()));
        }
        paginate(&self.db, select, nurture_enrollments::Column::Id, page).await
    }

    /// One enrolment of the tenant.
    pub async fn nurture_enrollment(
        &self,
        tenant_id: TenantId,
        id: NurtureEnrollmentId,
    ) -> ApiResult<nurture_enrollments::Model> {
        let id = id.uuid();
        nurture_enrollments::Entity::find_by_id(id)
            .filter(nurture_enrollments::Column::TenantId.eq(tenant_id.uuid()))
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("nurture enrollment"))
    }

    /// Takes the lead out of nurture (REMOVED) and cancels its waiting step job, audited. NOT_FOUND
    /// when the lead (of this tenant) was never enrolled; a stopped sequence is returned as it is.
    pub async fn remove_from_nurture(
        &self,
        tenant_id: TenantId,
        actor: Actor,
        lead_id: LeadId,
    ) -> ApiResult<NurtureStopped> {
        let tx = self.db.begin().await?;
        let found = nurture_enrollments::Entity::find()
            .filter(nurture_enrollments::Column::TenantId.eq(tenant_id.uuid()))
            .filter(nurture_enrollments::Column::LeadId.eq(lead_id.uuid()))
            .filter(nurture_enrollments::Column::Sequence.eq(SEQUENCE))
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("nurture enrollment"))?;
        let row = enrollment_for_update(&tx, tenant_id.uuid(), found.id).await?;
        if row.status != NurtureStatus::Active.as_str() {
            tx.rollback().await?;
            return Ok(NurtureStopped {
                enrollment: row,
                cancelled_job: None,
            });
        }
        let stopped = stop_locked(&tx, row, StopReason::Removed).await?;
        record(
            &tx,
            tenant_id.uuid(),
            actor,
            AuditEntry {
                action: "lead.nurture_removed",
                target_type: "lead",
                target_id: Some(lead_id.to_string()),
                details: json!({
                    "stage": stopped.enrollment.step,
                    "stepsSent": stopped.enrollment.steps_sent,
                    "cancelledJob": stopped.cancelled_job.as_ref().map(|j| j.id),
                }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(stopped)
    }

    /// Stops one sequence for `reason` (a step found a reply, a booking, an opt-out, or no
    /// channel) and cancels its step job if that is still waiting. A sequence already stopped
    /// keeps its first reason.
    pub async fn stop_nurture(
        &self,
        tenant_id: TenantId,
        id: NurtureEnrollmentId,
        reason: StopReason,
    ) -> ApiResult<NurtureStopped> {
        let id = id.uuid();
        let tx = self.db.begin().await?;
        let row = enrollment_for_update(&tx, tenant_id.uuid(), id).await?;
        if row.status != NurtureStatus::Active.as_str() {
            tx.rollback().await?;
            return Ok(NurtureStopped {
                enrollment: row,
                cancelled_job: None,
            });
        }
        let stopped = stop_locked(&tx, row, reason).await?;
        tx.commit().await?;
        Ok(stopped)
    }

    /// Records that follow-up number `step` went out on `channel` and schedules the next one
    /// (`next` at `due`) with its job, in one transaction. Returns `None` when the sequence was
    /// stopped or moved on meanwhile (nothing is written).
    pub async fn record_nurture_step(
        &self,
        tenant_id: TenantId,
        id: NurtureEnrollmentId,
        step: i32,
        channel: NurtureChannel,
        next: (NurtureStage, DateTime<Utc>),
    ) -> ApiResult<Option<nurture_enrollments::Model>> {
        let id = id.uuid();
        let tx = self.db.begin().await?;
        let row = enrollment_for_update(&tx, tenant_id.uuid(), id).await?;
        if row.status != NurtureStatus::Active.as_str() || row.steps_sent != step {
            tx.rollback().await?;
            return Ok(None);
        }
        let (stage, due) = next;
        let (job_id, _) = enqueue(&tx, step_job(tenant_id.uuid(), id, step + 1, due)).await?;
        let at = now();
        let mut active = row.into_active_model();
        active.step = Set(stage.as_str().to_owned());
        active.channel = Set(Some(channel.as_str().to_owned()));
        active.steps_sent = Set(step + 1);
        active.last_sent_at = Set(Some(at));
        active.next_run_at = Set(Some(due));
        active.job_id = Set(Some(job_id));
        active.updated_at = Set(at);
        let row = active.update(&tx).await?;
        // A text or an e-mail is one message sent (a WhatsApp follow-up is an inbox message,
        // counted where it is stored); keyed by the step, so a retried step counts once.
        if channel != NurtureChannel::Whatsapp {
            let step_kind = format!("nurture_step_{step}");
            crate::store::usage::record_usage(
                &tx,
                tenant_id.uuid(),
                &[crate::store::usage::UsageRecord {
                    item: leadline_domain::billing::UsageItem::MessagesSent,
                    quantity: 1,
                    source_kind: &step_kind,
                    source_id: id,
                    at,
                }],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Some(row))
    }

    /// What the lead did since `since`: its inbound messages, a booking, and its open WhatsApp
    /// conversation (the one a follow-up would go to).
    pub async fn nurture_signals(
        &self,
        tenant_id: TenantId,
        lead_id: LeadId,
        since: DateTime<Utc>,
    ) -> ApiResult<NurtureSignals> {
        let tenant = tenant_id.uuid();
        let lead = lead_id.uuid();
        let conversation_ids: Vec<Uuid> = conversations::Entity::find()
            .select_only()
            .column(conversations::Column::Id)
            .filter(conversations::Column::TenantId.eq(tenant))
            .filter(conversations::Column::LeadId.eq(lead))
            .into_tuple()
            .all(&self.db)
            .await?;
        let replies: Vec<String> = if conversation_ids.is_empty() {
            Vec::new()
        } else {
            messages::Entity::find()
                .select_only()
                .column(messages::Column::Body)
                .filter(messages::Column::TenantId.eq(tenant))
                .filter(messages::Column::ConversationId.is_in(conversation_ids))
                .filter(messages::Column::Direction.eq(MessageDirection::Inbound.as_str()))
                .filter(messages::Column::CreatedAt.gt(since))
                .order_by_asc(messages::Column::Id)
                .limit(20)
                .into_tuple()
                .all(&self.db)
                .await?
        };
        let booked = appointments::Entity::find()
            .filter(appointments::Column::TenantId.eq(tenant))
            .filter(appointments::Column::LeadId.eq(lead))
            .filter(appointments::Column::CreatedAt.gt(since))
            .count(&self.db)
            .await?
            > 0;
        let whatsapp_conversation = conversations::Entity::find()
            .filter(conversations::Column::TenantId.eq(tenant))
            .filter(conversations::Column::LeadId.eq(lead))
            .filter(conversations::Column::Channel.eq(Channel::Whatsapp.as_str()))
            .filter(conversations::Column::Status.is_in(super::inbox::open_statuses()))
            .filter(conversations::Column::LastInboundAt.is_not_null())
            .one(&self.db)
            .await?
            .map(|c| c.id);
        Ok(NurtureSignals {
            replies,
            booked,
            whatsapp_conversation,
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use chrono::Utc;
    use leadline_domain::channel::Channel;
    use leadline_domain::lead::LeadStatus;
    use serde_json::json;

    use super::*;
    use crate::store::testkit::{memory_store, seed_tenant};
    use crate::store::{InboundContact, InboundMessage, IngestOutcome, NewLead};

    fn message(from: &str, id: &str, body: &str) -> InboundMessage {
        InboundMessage {
            contact: InboundContact {
                channel: Channel::Whatsapp,
                external_id: from.to_owned(),
                phone: None,
                display_name: Some("Carla".into()),
            },
            platform_message_id: id.to_owned(),
            body: body.to_owned(),
            metadata: json!({}),
            sent_at: Utc::now(),
            ai_enabled: true,
        }
    }

    async fn set_tenant(store: &Store, tenant: TenantId, percentage: i32, nurture: bool) {
        let row = tenants::Entity::find_by_id(tenant.uuid())
            .one(store.connection())
            .await
            .unwrap()
            .unwrap();
        let mut row = row.into_active_model();
        row.ai_lead_percentage = Set(percentage);
        row.nurture_schedule = Set(Some(json!(NurtureSchedule {
            enabled: nurture,
            ..NurtureSchedule::default()
        })));
        row.update(store.connection()).await.unwrap();
    }

    fn lead(name: &str, phone: Option<&str>) -> NewLead {
        NewLead {
            name: name.into(),
            email: None,
            phone: phone.map(str::to_owned),
            company: None,
            status: LeadStatus::New,
            notes: None,
            source_channel: None,
        }
    }

    #[tokio::test]
    async fn a_stop_cancels_a_waiting_step_but_never_takes_a_leased_one() {
        let store = memory_store().await.expect("store");
        let tenant = TenantId(seed_tenant(&store, "leased").await.unwrap());
        set_tenant(&store, tenant, 100, true).await;
        let ana = store
            .create_lead(tenant, lead("Ana", Some("+14155550102")))
            .await
            .unwrap();
        let ben = store
            .create_lead(tenant, lead("Ben", Some("+14155550103")))
            .await
            .unwrap();
        let page = PageRequest::parse(None, None).unwrap();
        let all = store
            .nurture_enrollments(tenant, NurtureFilter::default(), page)
            .await
            .unwrap();
        let of = |lead: &leads::Model| {
            all.items
                .iter()
                .find(|e| e.lead_id == lead.id)
                .cloned()
                .unwrap()
        };
        let (ana_row, ben_row) = (of(&ana), of(&ben));
        // A worker holds Ben's step (as a claim leaves it).
        let ben_job = ben_row.job_id.unwrap();
        let mut leased = jobs::Entity::find_by_id(ben_job)
            .one(store.connection())
            .await
            .unwrap()
            .unwrap()
            .into_active_model();
        leased.status = Set("RUNNING".into());
        leased.locked_by = Set(Some("worker-1".into()));
        leased.update(store.connection()).await.unwrap();

        let actor = crate::auth::Actor::default();
        let removed = store
            .remove_from_nurture(tenant, actor, LeadId(ana.id))
            .await
            .unwrap();
        assert_eq!(removed.enrollment.stop_reason.as_deref(), Some("REMOVED"));
        let cancelled = removed.cancelled_job.expect("Ana's waiting step");
        assert_eq!(
            (cancelled.id, cancelled.status.as_str()),
            (ana_row.job_id.unwrap(), "CANCELLED")
        );
        let stopped = store
            .stop_nurture(tenant, NurtureEnrollmentId(ben_row.id), StopReason::Booked)
            .await
            .unwrap();
        assert_eq!(stopped.enrollment.status, "STOPPED");
        assert!(
            stopped.cancelled_job.is_none(),
            "a leased job is left to its handler"
        );
        let still = jobs::Entity::find_by_id(ben_job)
            .one(store.connection())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(still.status, "RUNNING");
        // A second stop finds nothing left to cancel.
        let again = store
            .remove_from_nurture(tenant, actor, LeadId(ana.id))
            .await
            .unwrap();
        assert!(again.cancelled_job.is_none());
    }

    #[tokio::test]
    async fn inbound_leads_are_allocated_and_a_human_lead_s_conversation_waits_for_a_person() {
        let store = memory_store().await.expect("store");
        let tenant = TenantId(seed_tenant(&store, "split").await.unwrap());
        set_tenant(&store, tenant, 50, false).await;
        let mut handled = Vec::new();
        for i in 0..4 {
            let IngestOutcome::Stored(stored) = store
                .ingest_inbound(
                    tenant,
                    &message(&format!("1650555000{i}"), &format!("m{i}"), "hi"),
                )
                .await
                .unwrap()
            else {
                panic!("stored");
            };
            handled.push((
                stored.lead.handler.clone(),
                stored.conversation.handled_by.clone(),
                stored.ai_job.is_some(),
            ));
        }
        let human = ("HUMAN".to_owned(), "HUMAN".to_owned(), false);
        let ai = ("AI".to_owned(), "AI".to_owned(), true);
        assert_eq!(handled, [human.clone(), ai.clone(), human, ai]);
        // CRM leads continue the same sequence.
        let next = store.create_lead(tenant, lead("Five", None)).await.unwrap();
        assert_eq!(next.handler, "HUMAN");
    }

    #[tokio::test]
    async fn ai_leads_are_enrolled_when_nurture_is_on_and_a_reply_stops_them() {
        let store = memory_store().await.expect("store");
        let tenant = TenantId(seed_tenant(&store, "nurture").await.unwrap());
        // Off: nobody is enrolled.
        store
            .create_lead(tenant, lead("Off", Some("+14155550100")))
            .await
            .unwrap();
        let page = PageRequest::parse(None, None).unwrap();
        let none = store
            .nurture_enrollments(tenant, NurtureFilter::default(), page)
            .await
            .unwrap();
        assert_eq!(none.total_count, 0);

        set_tenant(&store, tenant, 100, true).await;
        // No phone and no e-mail: nothing to write to.
        store.create_lead(tenant, lead("Mute", None)).await.unwrap();
        let crm = store
            .create_lead(tenant, lead("Crm", Some("+14155550101")))
            .await
            .unwrap();
        let IngestOutcome::Stored(first) = store
            .ingest_inbound(tenant, &message("16505550009", "w1", "Hola"))
            .await
            .unwrap()
        else {
            panic!("stored");
        };
        let all = store
            .nurture_enrollments(tenant, NurtureFilter::default(), page)
            .await
            .unwrap();
        assert_eq!(all.total_count, 2);
        assert!(all.items.iter().any(|e| e.lead_id == crm.id));
        let enrolled = all
            .items
            .iter()
            .find(|e| e.lead_id == first.lead.id)
            .expect("the WhatsApp lead");
        assert_eq!(enrolled.step, "FOLLOWUP_1");
        assert!(enrolled.job_id.is_some());

        // Its first message is not a reply; its second is, and "STOP" elsewhere is an opt-out.
        let signals = store
            .nurture_signals(tenant, LeadId(first.lead.id), enrolled.created_at)
            .await
            .unwrap();
        assert!(signals.replies.is_empty());
        assert!(signals.whatsapp_conversation.is_some());
        store
            .ingest_inbound(tenant, &message("16505550009", "w2", "STOP"))
            .await
            .unwrap();
        let stopped = store
            .nurture_enrollment(tenant, NurtureEnrollmentId(enrolled.id))
            .await
            .unwrap();
        assert_eq!(
            (stopped.status.as_str(), stopped.stop_reason.as_deref()),
            ("STOPPED", Some("OPTED_OUT"))
        );
        // Its waiting step was cancelled with the stop: it will never be claimed.
        let step = jobs::Entity::find_by_id(enrolled.job_id.unwrap())
            .one(store.connection())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(step.status, "CANCELLED");
        assert_eq!(step.attempts, 0);
        assert_eq!(
            step.result,
            Some(json!({ "cancelled": "nurture stopped: OPTED_OUT" }))
        );
        // A stopped sequence records no step.
        let recorded = store
            .record_nurture_step(
                tenant,
                NurtureEnrollmentId(enrolled.id),
                0,
                NurtureChannel::Whatsapp,
                (NurtureStage::Followup2, Utc::now()),
            )
            .await
            .unwrap();
        assert!(recorded.is_none());
    }
}
