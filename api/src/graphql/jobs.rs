//! The job queue as operators see it: listing, counts, reviving DEAD jobs, live updates.

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, ID};
use chrono::{DateTime, Utc};
use futures::Stream;

use super::subscription::tenant_events;
use super::types::mirror_enum;
use super::{connection, parse_id, state, tenant_for, AccessGuard, IdConnection};
use crate::auth::Access;
use crate::bus::Event;
use crate::jobs::JobFilter;
use crate::store::PageRequest;

mirror_enum!(
    /// Where a job is in its life.
    JobStatus => leadline_domain::job::JobStatus {
        /// Waiting for its scheduled time.
        Pending,
        /// Claimed by a worker.
        Running,
        /// Done.
        Completed,
        /// Failed permanently (retrying could not help).
        Failed,
        /// Failed its maximum attempts; `retryJob` revives it.
        Dead,
        /// Withdrawn before it ran, because what it was for went away (`result.cancelled` says
        /// why; e.g. the follow-up of a lead whose nurture stopped). Never runs.
        Cancelled,
    }
);

/// A unit of background work.
pub struct Job(pub leadline_entity::jobs::Model);

#[Object]
impl Job {
    /// The job id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// What it does, e.g. `send_whatsapp`.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Status.
    async fn status(&self) -> async_graphql::Result<JobStatus> {
        JobStatus::from_stored(&self.0.status)
    }
    /// Higher runs first.
    async fn priority(&self) -> i32 {
        self.0.priority
    }
    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// Attempts allowed before it is DEAD.
    async fn max_attempts(&self) -> i32 {
        self.0.max_attempts
    }
    /// Not run before this time.
    async fn scheduled_for(&self) -> DateTime<Utc> {
        self.0.scheduled_for
    }
    /// The last error, if any.
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// The input.
    async fn payload(&self) -> async_graphql::Json<serde_json::Value> {
        async_graphql::Json(self.0.payload.clone())
    }
    /// The outcome, once completed.
    async fn result(&self) -> Option<async_graphql::Json<serde_json::Value>> {
        self.0.result.clone().map(async_graphql::Json)
    }
    /// The key that made enqueueing idempotent.
    async fn idempotency_key(&self) -> Option<&str> {
        self.0.idempotency_key.as_deref()
    }
    /// When it was enqueued.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When it completed.
    async fn completed_at(&self) -> Option<DateTime<Utc>> {
        self.0.completed_at
    }
}

/// Jobs by status.
#[derive(SimpleObject)]
pub struct JobQueueStats {
    /// Waiting.
    pub pending: u64,
    /// Being run.
    pub running: u64,
    /// Done.
    pub completed: u64,
    /// Failed permanently.
    pub failed: u64,
    /// Out of attempts.
    pub dead: u64,
    /// Withdrawn before they ran.
    pub cancelled: u64,
}

/// Filter for `jobs`.
#[derive(InputObject, Default)]
pub struct JobFilterInput {
    /// Only this status.
    pub status: Option<JobStatus>,
    /// Only this kind.
    pub kind: Option<String>,
}

/// Input of `retryJob`.
#[derive(InputObject)]
pub struct RetryJobInput {
    /// A DEAD or FAILED job.
    pub id: ID,
}

/// Result of `retryJob`.
#[derive(SimpleObject)]
pub struct RetryJobPayload {
    /// The job, PENDING again with its attempts reset.
    pub job: Job,
}

#[derive(Default)]
pub struct JobQuery;

#[Object]
impl JobQuery {
    /// The tenant's jobs, newest first.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        filter: Option<JobFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<Job>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let page = state(ctx)
            .jobs
            .jobs(
                tenant_id,
                JobFilter {
                    status: filter.status.map(Into::into),
                    kind: filter.kind,
                },
                request,
            )
            .await?;
        connection(page, request, |j| j.id, Job)
    }

    /// One job.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn job(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Job> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(Job(state(ctx)
            .jobs
            .job(tenant_id, parse_id(&id, "id")?)
            .await?))
    }

    /// The tenant's jobs counted by status.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn job_queue_stats(&self, ctx: &Context<'_>) -> async_graphql::Result<JobQueueStats> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let c = state(ctx).jobs.counts(Some(tenant_id)).await?;
        Ok(JobQueueStats {
            pending: c.pending,
            running: c.running,
            completed: c.completed,
            failed: c.failed,
            dead: c.dead,
            cancelled: c.cancelled,
        })
    }
}

#[derive(Default)]
pub struct JobMutation;

#[Object]
impl JobMutation {
    /// Runs a DEAD or FAILED job again from its first attempt.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn retry_job(
        &self,
        ctx: &Context<'_>,
        input: RetryJobInput,
    ) -> async_graphql::Result<RetryJobPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let job = state(ctx)
            .jobs
            .retry(tenant_id, parse_id(&input.id, "id")?)
            .await?;
        Ok(RetryJobPayload { job: Job(job) })
    }
}

#[derive(Default)]
pub struct JobSubscription;

#[Subscription]
impl JobSubscription {
    /// Status changes of the tenant's jobs (or of one job).
    async fn job_updated(
        &self,
        ctx: &Context<'_>,
        job_id: Option<ID>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<Job>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let wanted: Option<uuid::Uuid> = job_id.map(|id| parse_id(&id, "jobId")).transpose()?;
        Ok(tenant_events(ctx, tenant_id, move |event| match event {
            Event::JobUpdated { job } if wanted.is_none_or(|id| id == job.id) => {
                Some(Job((**job).clone()))
            }
            _ => None,
        }))
    }
}
