//! The dealership's lead flow in GraphQL (issue 15): the nurture pipeline (`nurtureLeads`,
//! `removeFromNurture`) and `callAnalytics`. Resolvers parse, authorise and call `store`; the
//! rules and figures live in `domain::nurture` and `domain::call_analytics`.
//!
//! Members and API keys read (READ) and take leads out of nurture (WRITE); customer tokens get
//! nothing here.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use leadline_domain as domain;
use leadline_domain::call_analytics::{analyze, CallFact, Period};
use leadline_domain::calls::{AnsweredBy as DomainAnsweredBy, CallStatus as DomainCallStatus};
use leadline_domain::ids::{CallId, LeadId};
use leadline_entity::{calls, nurture_enrollments};

use super::calls::CallStatus;
use super::types::{mirror_enum, Lead};
use super::{connection, parse_id, principal, state, tenant_for, AccessGuard, IdConnection};
use crate::auth::Access;
use crate::error::ApiError;
use crate::store::nurture::NurtureFilter;
use crate::store::PageRequest;

mirror_enum!(
    /// The follow-up a lead in nurture gets next: FOLLOWUP_1 (a day after it arrived, by
    /// default), FOLLOWUP_2 (three days), then LONG_TERM (every 30 days).
    NurtureStage => domain::nurture::NurtureStage {
        /// The first follow-up.
        #[graphql(name = "FOLLOWUP_1")]
        Followup1,
        /// The second follow-up.
        #[graphql(name = "FOLLOWUP_2")]
        Followup2,
        /// The repeating long-term check-in.
        LongTerm,
    }
);

mirror_enum!(
    /// Whether a lead's follow-ups still run.
    NurtureStatus => domain::nurture::NurtureStatus {
        /// Follow-ups are scheduled.
        Active,
        /// No more follow-ups (see `stopReason`).
        Stopped,
    }
);

mirror_enum!(
    /// Why a lead's follow-ups stopped.
    NurtureStopReason => domain::nurture::StopReason {
        /// The lead wrote back.
        Replied,
        /// An appointment was booked.
        Booked,
        /// The lead asked us to stop ("STOP", "baja").
        OptedOut,
        /// A member took the lead out (`removeFromNurture`).
        Removed,
        /// The lead has no channel a follow-up could go on.
        Unreachable,
        /// The lead was given to a person (`assignLead` to HUMAN), who follows it up.
        AssignedToHuman,
    }
);

mirror_enum!(
    /// Where a follow-up went.
    NurtureChannel => domain::nurture::NurtureChannel {
        /// The lead's WhatsApp conversation (a template outside the 24 h window).
        Whatsapp,
        /// A text message (Twilio Messaging).
        Sms,
        /// An e-mail.
        Email,
    }
);

mirror_enum!(
    /// The width of one bucket of a series.
    Granularity => domain::call_analytics::Granularity {
        /// One bucket per hour of the tenant's clock.
        Hour,
        /// One bucket per day of the tenant's clock (midnight to midnight).
        Day,
    }
);

/// A lead in the nurture pipeline.
pub struct NurtureLead(nurture_enrollments::Model);

#[Object]
impl NurtureLead {
    /// The enrolment id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The lead.
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Lead> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Lead(
            state(ctx)
                .store
                .lead(tenant_id, LeadId(self.0.lead_id))
                .await?,
        ))
    }
    /// The next follow-up (or, once stopped, the one that would have been next).
    async fn stage(&self) -> async_graphql::Result<NurtureStage> {
        NurtureStage::from_stored(&self.0.step)
    }
    /// ACTIVE or STOPPED.
    async fn status(&self) -> async_graphql::Result<NurtureStatus> {
        NurtureStatus::from_stored(&self.0.status)
    }
    /// Why it stopped.
    async fn stop_reason(&self) -> async_graphql::Result<Option<NurtureStopReason>> {
        self.0
            .stop_reason
            .as_deref()
            .map(NurtureStopReason::from_stored)
            .transpose()
    }
    /// Where the last follow-up went.
    async fn channel(&self) -> async_graphql::Result<Option<NurtureChannel>> {
        self.0
            .channel
            .as_deref()
            .map(NurtureChannel::from_stored)
            .transpose()
    }
    /// Follow-ups sent so far.
    async fn follow_ups_sent(&self) -> i32 {
        self.0.steps_sent
    }
    /// When the last follow-up went out.
    async fn last_contacted_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_sent_at
    }
    /// When the next follow-up is due (null once stopped).
    async fn next_follow_up_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_run_at
    }
    /// When the lead entered nurture.
    async fn enrolled_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// Filter of `nurtureLeads`; the parts combine with AND.
#[derive(InputObject, Default)]
pub struct NurtureLeadsFilter {
    /// ACTIVE or STOPPED.
    pub status: Option<NurtureStatus>,
    /// The next follow-up.
    pub stage: Option<NurtureStage>,
}

/// Input of `removeFromNurture`.
#[derive(InputObject)]
pub struct RemoveFromNurtureInput {
    /// The lead to stop following up.
    pub lead_id: ID,
}

/// The answer of `removeFromNurture`.
#[derive(SimpleObject)]
pub struct RemoveFromNurturePayload {
    /// The lead's nurture, now STOPPED (REMOVED, or the reason it had already stopped for).
    pub nurture_lead: NurtureLead,
}

/// Calls of one bucket of `callAnalytics.series`.
#[derive(SimpleObject)]
pub struct CallVolume {
    /// Where the bucket starts.
    pub start: DateTime<Utc>,
    /// Calls created in it.
    pub total: u32,
    /// Of which received.
    pub inbound: u32,
    /// Of which placed.
    pub outbound: u32,
    /// Of which a person answered.
    pub answered: u32,
    /// Of which booked an appointment.
    pub appointments_booked: u32,
}

/// One of the period's most recent calls.
#[derive(SimpleObject)]
pub struct RecentCall {
    /// The call id (`call(id:)` has the rest).
    pub id: ID,
    /// INBOUND or OUTBOUND.
    pub direction: String,
    /// Where the call is in its life.
    pub status: CallStatus,
    /// The outcome as recorded (e.g. APPOINTMENT_BOOKED, TRANSFERRED, NOT_INTERESTED), if any.
    pub outcome: Option<String>,
    /// Whether an appointment was booked on it.
    pub appointment_booked: bool,
    /// The lead, when known.
    pub lead_id: Option<ID>,
    /// Seconds from answer to end.
    pub duration_seconds: Option<i32>,
    /// When the call was created.
    pub created_at: DateTime<Utc>,
}

/// A period's call figures (`callAnalytics`).
#[derive(SimpleObject)]
pub struct CallAnalytics {
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end (excluded).
    pub to: DateTime<Utc>,
    /// The IANA zone buckets follow (the tenant's `timeZone`, else UTC).
    pub time_zone: String,
    /// Calls created in the period.
    pub total_calls: u32,
    /// Received.
    pub inbound_calls: u32,
    /// Placed.
    pub outbound_calls: u32,
    /// Answered by a person (not a machine).
    pub answered_calls: u32,
    /// Handed to a human (outcome or status TRANSFERRED).
    pub transferred_calls: u32,
    /// Mean seconds of the calls that have a duration.
    pub average_duration_seconds: Option<f64>,
    /// Median seconds of the calls that have a duration.
    pub median_duration_seconds: Option<f64>,
    /// Calls on which an appointment was booked.
    pub appointments_booked: u32,
    /// Appointments booked ÷ answered calls (0 when none was answered).
    pub conversion_rate: f64,
    /// Billed minutes (each call's duration rounded up to whole minutes).
    pub telephony_minutes: i64,
    /// Billed minutes × the tenant's `callMinuteRateMicros`, in micro-USD.
    pub telephony_cost_micros: i64,
    /// The AI's cost on the period's days (`aiUsage`), in micro-USD.
    pub ai_cost_micros: i64,
    /// Distinct leads the calls were with.
    pub leads: u32,
    /// (telephony + AI cost) ÷ leads, in micro-USD; null without leads.
    pub cost_per_lead_micros: Option<i64>,
    /// Calls per hour or day, every bucket of the period included.
    pub series: Vec<CallVolume>,
    /// The period's most recent calls (at most `recent`), newest first.
    pub recent_calls: Vec<RecentCall>,
}

/// Most recent calls `callAnalytics` may list.
const MAX_RECENT: i32 = 50;

/// What a stored call is to the analytics.
fn fact(call: &calls::Model, booked: bool) -> CallFact {
    let status = DomainCallStatus::parse(&call.status).ok();
    let machine = call.answered_by.as_deref() == Some(DomainAnsweredBy::Machine.as_str())
        || status == Some(DomainCallStatus::Voicemail);
    let outcome = call.outcome.as_deref();
    CallFact {
        at: call.created_at,
        lead_id: call.lead_id,
        inbound: call.direction == "INBOUND",
        answered: call.answered_at.is_some() && !machine,
        transferred: outcome == Some("TRANSFERRED") || call.status == "TRANSFERRED",
        booked: booked || outcome == Some("APPOINTMENT_BOOKED"),
        duration_seconds: call.duration_seconds.map(i64::from),
    }
}

#[derive(Default)]
pub struct LeadFlowQuery;

#[Object]
impl LeadFlowQuery {
    /// Leads in the nurture pipeline, newest enrolment first.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn nurture_leads(
        &self,
        ctx: &Context<'_>,
        filter: Option<NurtureLeadsFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<NurtureLead>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let page = state(ctx)
            .store
            .nurture_enrollments(
                tenant_id,
                NurtureFilter {
                    status: filter.status.map(Into::into),
                    stage: filter.stage.map(Into::into),
                },
                request,
            )
            .await?;
        connection(page, request, |e| e.id, NurtureLead)
    }

    /// The dealership's call figures for calls created in `[from, to)` (at most 366 days; HOUR
    /// buckets at most 744): volumes, answers, transfers, durations, appointments, conversion,
    /// cost per lead, a series in the tenant's time zone and the most recent calls.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn call_analytics(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the period (included).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the period (excluded).")] to: DateTime<Utc>,
        #[graphql(desc = "Bucket width of `series`.", default_with = "Granularity::Day")]
        granularity: Granularity,
        #[graphql(
            desc = "How many recent calls to list (0–50, default 10).",
            default = 10
        )]
        recent: i32,
    ) -> async_graphql::Result<CallAnalytics> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        if !(0..=MAX_RECENT).contains(&recent) {
            return Err(ApiError::bad_input("recent", "must be between 0 and 50").into());
        }
        let store = &state(ctx).store;
        let tenant = store.tenant(tenant_id).await?;
        let zone_name = tenant.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
        let zone = domain::compliance::parse_time_zone("timeZone", &zone_name)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored time zone: {e}")))?;
        let period = Period::new(from, to, granularity.into(), zone).map_err(|e| match e {
            domain::DomainError::OutOfRange { field, .. } => ApiError::invalid(field, e),
            other => ApiError::invalid("to", other),
        })?;
        let mut rows = store.calls_between(tenant_id, from, to).await?;
        let ids: Vec<CallId> = rows.iter().map(|c| CallId(c.id)).collect();
        let booked = store.calls_with_appointments(tenant_id, &ids).await?;
        let facts: Vec<CallFact> = rows
            .iter()
            .map(|c| fact(c, booked.contains(&c.id)))
            .collect();
        // `aiUsage` is kept per UTC day: the days the period touches.
        let last_day = (to - chrono::Duration::nanoseconds(1)).date_naive();
        let ai_cost = store
            .ai_usage(tenant_id, Some(from.date_naive()), Some(last_day))
            .await?
            .iter()
            .map(|u| u.cost_micros)
            .fold(0i64, i64::saturating_add);
        let figures = analyze(&facts, &period, tenant.call_minute_rate_micros, ai_cost);
        rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let recent_calls = rows
            .iter()
            .take(usize::try_from(recent).unwrap_or(0))
            .map(|c| {
                Ok(RecentCall {
                    id: ID(c.id.to_string()),
                    direction: c.direction.clone(),
                    status: CallStatus::from_stored(&c.status)?,
                    outcome: c.outcome.clone(),
                    appointment_booked: fact(c, booked.contains(&c.id)).booked,
                    lead_id: c.lead_id.map(|id| ID(id.to_string())),
                    duration_seconds: c.duration_seconds,
                    created_at: c.created_at,
                })
            })
            .collect::<async_graphql::Result<Vec<_>>>()?;
        Ok(CallAnalytics {
            from,
            to,
            time_zone: zone_name,
            total_calls: figures.total,
            inbound_calls: figures.inbound,
            outbound_calls: figures.outbound,
            answered_calls: figures.answered,
            transferred_calls: figures.transferred,
            average_duration_seconds: figures.average_duration_seconds,
            median_duration_seconds: figures.median_duration_seconds,
            appointments_booked: figures.appointments_booked,
            conversion_rate: figures.conversion_rate,
            telephony_minutes: figures.telephony_minutes,
            telephony_cost_micros: figures.telephony_cost_micros,
            ai_cost_micros: figures.ai_cost_micros,
            leads: figures.leads,
            cost_per_lead_micros: figures.cost_per_lead_micros,
            series: figures
                .series
                .into_iter()
                .map(|b| CallVolume {
                    start: b.start,
                    total: b.total,
                    inbound: b.inbound,
                    outbound: b.outbound,
                    answered: b.answered,
                    appointments_booked: b.booked,
                })
                .collect(),
            recent_calls,
        })
    }
}

#[derive(Default)]
pub struct LeadFlowMutation;

#[Object]
impl LeadFlowMutation {
    /// Stops a lead's follow-ups (STOPPED, REMOVED) and cancels the one waiting to go out;
    /// audited. NOT_FOUND when the lead (of this tenant) was never in nurture; a lead already
    /// stopped is returned as it is.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn remove_from_nurture(
        &self,
        ctx: &Context<'_>,
        input: RemoveFromNurtureInput,
    ) -> async_graphql::Result<RemoveFromNurturePayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let lead_id = parse_id(&input.lead_id, "leadId")?;
        let row = crate::services::nurture::remove_from_nurture(
            state(ctx),
            tenant_id,
            principal(ctx).actor(),
            LeadId(lead_id),
        )
        .await?;
        Ok(RemoveFromNurturePayload {
            nurture_lead: NurtureLead(row),
        })
    }
}
