//! Metered usage to Stripe (issue 16): the `billing_meter_report` job sends a tenant's
//! unreported ledger rows of the items its plan meters as billing meter events, then schedules
//! its own next run while the plan still meters something.
//!
//! Exactly once: each row's meter event carries the row's key as `identifier` (and
//! `Idempotency-Key`), and the row is marked only after Stripe accepted it. A worker killed
//! between Stripe's answer and the mark sends the same identifier again on the job's retry,
//! and Stripe keeps the first. A Stripe outage fails the run as retryable: the rows wait,
//! nothing is lost or doubled.
//!
//! The chain starts when a subscription on a metered plan is applied (the webhook job) and, for
//! tenants already on one, when the server starts. One run per tenant per interval: the job's
//! idempotency key is the interval's number.
//!
//! Must not: decide what is counted (the store writes the ledger with the thing counted).

use chrono::{DateTime, Duration, Utc};
use leadline_domain::ids::TenantId;
use leadline_entity::jobs;
use leadline_stripe::MeterEvent;
use serde_json::{json, Value};

use crate::jobs::{enqueue, JobFailure, JobHandler, NewJob};
use crate::state::AppState;

/// The job kind.
pub const METER_REPORT_JOB: &str = "billing_meter_report";

/// Rows sent per round trip to the store; a run goes on until none is left.
const BATCH: u64 = 100;

/// Most meter events one run sends (the rest go on the next run): a run stays short.
const MAX_PER_RUN: usize = 5_000;

/// How far back a row is reported: Stripe accepts meter events up to 35 days old.
const OLDEST_REPORTABLE_DAYS: i64 = 35;

/// Schedules the tenant's next report run at the start of the interval after the one `after`
/// falls in (idempotent per interval: a run scheduled for that interval already is kept).
pub async fn schedule_report(
    state: &AppState,
    tenant: TenantId,
    after: DateTime<Utc>,
) -> crate::error::ApiResult<()> {
    let interval = i64::try_from(state.config.meter_report_interval.as_secs())
        .unwrap_or(60)
        .max(1);
    let window = after.timestamp().div_euclid(interval) + 1;
    let at = DateTime::from_timestamp(window * interval, 0).unwrap_or(after);
    let mut job = NewJob::new(tenant.uuid(), METER_REPORT_JOB, json!({}))
        .idempotent(format!("meter-report:{window}"));
    job.scheduled_for = Some(at);
    enqueue(state.store.connection(), job).await?;
    Ok(())
}

/// Starts the chain for every tenant whose plan in force meters something (at server start:
/// the chain of a tenant that subscribed before this version, or whose next run was lost).
pub async fn schedule_all(state: &AppState) -> crate::error::ApiResult<usize> {
    if !state.config.billing_enabled() {
        return Ok(0);
    }
    let metered_plans: Vec<String> = state
        .config
        .plans
        .plans
        .iter()
        .filter(|plan| !plan.metered_items().is_empty())
        .map(|plan| plan.id.clone())
        .collect();
    if metered_plans.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let mut scheduled = 0;
    for tenant in state.store.tenants_on_plans(&metered_plans).await? {
        schedule_report(state, tenant, now).await?;
        scheduled += 1;
    }
    Ok(scheduled)
}

/// `billing_meter_report`: see the module docs.
pub struct MeterReportHandler {
    state: AppState,
}

impl MeterReportHandler {
    /// A handler over the shared state.
    pub fn new(state: AppState) -> Self {
        MeterReportHandler { state }
    }
}

#[async_trait::async_trait]
impl JobHandler for MeterReportHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let state = &self.state;
        let tenant = TenantId(job.tenant_id);
        let Some(client) = state.billing.client() else {
            return Ok(json!({ "reported": 0, "why": "billing is off" }));
        };
        let row = state.store.tenant(tenant).await?;
        let (plan, _) = super::plan_in_force(state, &row)?;
        let metered = plan.metered_items();
        if metered.is_empty() {
            // The chain ends here: the plan no longer meters anything.
            return Ok(json!({ "reported": 0, "why": "the plan in force meters nothing" }));
        }
        let Some(customer) = row.stripe_customer_id.clone() else {
            return Ok(json!({ "reported": 0, "why": "no Stripe customer" }));
        };
        let now = Utc::now();
        let since = now - Duration::days(OLDEST_REPORTABLE_DAYS);
        let mut reported = 0usize;
        let mut refused = 0usize;
        'runs: while reported + refused < MAX_PER_RUN {
            let batch = state
                .store
                .unreported_usage(tenant, &metered, since, BATCH)
                .await?;
            if batch.is_empty() {
                break;
            }
            for usage in &batch {
                let Some(event_name) = plan
                    .metered_price(usage.item)
                    .and_then(|price| price.meter_event_name.clone())
                else {
                    // The catalog check makes every metered price name its meter; a row of an
                    // item without one cannot be sent.
                    break 'runs;
                };
                let event = MeterEvent {
                    event_name,
                    stripe_customer_id: customer.clone(),
                    value: usage.quantity,
                    identifier: usage.identifier(),
                    timestamp: usage.occurred_at.timestamp(),
                };
                match client.report_usage(&event).await {
                    Ok(_) => reported += 1,
                    Err(error) if error.is_retryable() => {
                        // What was accepted is marked; the rest waits for the retry.
                        return Err(JobFailure::Retry(format!(
                            "Stripe unavailable after {reported} meter events: {error}"
                        )));
                    }
                    Err(error) => {
                        // Stripe will never take this one (a meter deleted, a timestamp out of
                        // range): marked so it does not block the rows behind it, and counted.
                        tracing::warn!(%tenant, identifier = %usage.identifier(), %error, "Stripe refused a meter event");
                        metrics::counter!("leadline_meter_events_refused_total").increment(1);
                        refused += 1;
                    }
                }
                state.store.mark_usage_reported(tenant, usage, now).await?;
            }
        }
        metrics::counter!("leadline_meter_events_reported_total")
            .increment(u64::try_from(reported).unwrap_or(0));
        // The next interval after this run's own (never this run's key: that would end the
        // chain on a clock that reads a little early).
        schedule_report(state, tenant, Utc::now().max(job.scheduled_for)).await?;
        Ok(json!({ "reported": reported, "refused": refused }))
    }
}
