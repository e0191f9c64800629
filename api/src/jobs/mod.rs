//! The durable job queue (ARCHITECTURE.md §5): every side effect (AI turns, outbound sends, …)
//! is a row in `jobs` that a worker claims, runs and records. Work is never silently dropped:
//! a failed attempt is retried with backoff and ends DEAD with its last error.
//!
//! Claiming: PostgreSQL uses `FOR UPDATE SKIP LOCKED`, so any number of workers on any number of
//! replicas take disjoint jobs; SQLite has one writer and one pooled connection, so its claim is
//! a single serialised statement. A claim is a lease (`locked_until`) that the running worker
//! renews; a job whose worker died goes back to PENDING once its lease lapses (a sweep each
//! worker pool runs now and then, not every claim) and is claimed again. Completion only counts
//! when the lease is still ours (`locked_by`), so a reclaimed job is never recorded twice.

mod worker;

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadline_domain::ids::TenantId;
use leadline_domain::job::{after_failure, AfterFailure, Backoff, JobStatus};
use leadline_entity::jobs;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, QueryTrait, Statement,
};
use serde_json::Value;
use uuid::Uuid;

pub use worker::{Handlers, JobFailure, JobHandler, NoopHandler, WorkerPool};

use crate::bus::{Event, EventBus};
use crate::error::{ApiError, ApiResult};
use crate::store::{now, paginate, Page, PageRequest, Store};

/// Default number of attempts before a job is DEAD.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 5;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub tenant_id: Uuid,
    /// The handler that runs it, e.g. `send_whatsapp`.
    pub kind: String,
    pub payload: Value,
    /// Higher runs first.
    pub priority: i32,
    pub max_attempts: i32,
    /// Not before this time (default: now).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Unique per tenant: enqueueing the same key twice gives one job.
    pub idempotency_key: Option<String>,
}

impl NewJob {
    /// A job with default priority and attempts.
    pub fn new(tenant_id: Uuid, kind: impl Into<String>, payload: Value) -> Self {
        Self {
            tenant_id,
            kind: kind.into(),
            payload,
            priority: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            scheduled_for: None,
            idempotency_key: None,
        }
    }

    /// Sets the idempotency key.
    pub fn idempotent(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// Counts by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueCounts {
    pub pending: u64,
    pub running: u64,
    pub completed: u64,
    pub failed: u64,
    pub dead: u64,
    pub cancelled: u64,
}

/// Filter for job listings.
#[derive(Debug, Default)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<String>,
}

/// Inserts a job on `db` (pass the caller's transaction so the job commits with the change that
/// caused it). Returns the job id and whether it was new; an existing idempotency key returns the
/// existing job. Call [`JobQueue::wake`] after the commit.
pub async fn enqueue<C: ConnectionTrait>(db: &C, job: NewJob) -> ApiResult<(Uuid, bool)> {
    let at = now();
    let id = Uuid::now_v7();
    let row = jobs::ActiveModel {
        id: Set(id),
        tenant_id: Set(job.tenant_id),
        kind: Set(job.kind),
        payload: Set(job.payload),
        status: Set(JobStatus::Pending.as_str().into()),
        priority: Set(job.priority),
        attempts: Set(0),
        max_attempts: Set(job.max_attempts.max(1)),
        scheduled_for: Set(job.scheduled_for.unwrap_or(at)),
        locked_until: Set(None),
        locked_by: Set(None),
        error: Set(None),
        result: Set(None),
        idempotency_key: Set(job.idempotency_key.clone()),
        completed_at: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    };
    let inserted = jobs::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([jobs::Column::TenantId, jobs::Column::IdempotencyKey])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await;
    match inserted {
        Ok(1) => Ok((id, true)),
        Ok(_) | Err(DbErr::RecordNotInserted) => {
            let existing = jobs::Entity::find()
                .filter(jobs::Column::TenantId.eq(job.tenant_id))
                .filter(jobs::Column::IdempotencyKey.eq(job.idempotency_key))
                .one(db)
                .await?
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("idempotent job vanished")))?;
            Ok((existing.id, false))
        }
        Err(error) => Err(error.into()),
    }
}

/// Cancels job `job_id` of `tenant` while it is still PENDING: CANCELLED, with `{"cancelled":
/// why}` as its result, so it is never claimed. Runs on `db` (pass the caller's transaction, so
/// the cancel commits with the change that made the job pointless, as [`enqueue`] does); announce
/// the returned row after the commit with [`JobQueue::announce`].
///
/// `None` when the job is not PENDING: a worker's lease is never taken away (that job's handler
/// re-checks whether it still has work: the backstop), and a finished job stays as it ended. On
/// PostgreSQL a job being claimed at this very moment is row-locked by the claim; the update
/// waits for it and then finds it RUNNING, so a job is cancelled or run, never both.
pub async fn cancel_pending<C: ConnectionTrait>(
    db: &C,
    tenant: TenantId,
    job_id: Uuid,
    why: &str,
) -> ApiResult<Option<jobs::Model>> {
    let at = now();
    let mut query = jobs::Entity::update_many()
        .col_expr(
            jobs::Column::Status,
            Expr::value(JobStatus::Cancelled.as_str()),
        )
        .col_expr(
            jobs::Column::Result,
            Expr::value(serde_json::json!({ "cancelled": why })),
        )
        .col_expr(jobs::Column::UpdatedAt, Expr::value(at))
        .filter(jobs::Column::Id.eq(job_id))
        .filter(jobs::Column::TenantId.eq(tenant.uuid()))
        .filter(jobs::Column::Status.eq(JobStatus::Pending.as_str()))
        .into_query();
    // RETURNING on both backends, as `finish_rows` does.
    query.returning_all();
    let statement = db.get_database_backend().build(&query);
    Ok(jobs::Entity::find().from_raw_sql(statement).one(db).await?)
}

/// The queue handle: claims, completes and reports. Cheap to clone.
#[derive(Clone)]
pub struct JobQueue {
    store: Store,
    bus: EventBus,
    /// This process's worker identity (host + pid + random), recorded in `locked_by`.
    worker_id: String,
    lease: Duration,
    backoff: Backoff,
    wake: std::sync::Arc<tokio::sync::Notify>,
    /// Set while a cross-replica wake is scheduled: a burst of enqueues (every chat message
    /// enqueues its AI turn) sends one `JobsAvailable` per [`REMOTE_WAKE_COALESCE`], not one each.
    remote_wake_pending: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// How long cross-replica wakes are gathered before one is published. Local workers are woken
/// at once; other replicas also poll, so a few milliseconds here cost nothing in pickup time.
const REMOTE_WAKE_COALESCE: Duration = Duration::from_millis(2);

/// The topic workers listen on for "new work": the nil tenant is never a real tenant.
pub(crate) const QUEUE_TOPIC: TenantId = TenantId(Uuid::nil());

/// The update that hands jobs back to the queue: PENDING, with no owner and no lease (the
/// caller adds which rows, and what else changes).
fn back_to_pending() -> sea_orm::UpdateMany<jobs::Entity> {
    jobs::Entity::update_many()
        .col_expr(
            jobs::Column::Status,
            Expr::value(JobStatus::Pending.as_str()),
        )
        .col_expr(jobs::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(
            jobs::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
}

impl JobQueue {
    /// A queue over `store`, announcing on `bus`.
    pub fn new(store: Store, bus: EventBus, lease: Duration) -> Self {
        let worker_id = format!(
            "{}-{}",
            std::process::id(),
            &Uuid::now_v7().simple().to_string()[20..]
        );
        Self {
            store,
            bus,
            worker_id,
            lease,
            backoff: Backoff::default(),
            wake: Default::default(),
            remote_wake_pending: Default::default(),
        }
    }

    /// Uses a different backoff (tests use short delays).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// This worker's id.
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Enqueues outside any transaction and wakes the workers.
    pub async fn push(&self, job: NewJob) -> ApiResult<(Uuid, bool)> {
        let outcome = enqueue(self.store.connection(), job).await?;
        if outcome.1 {
            self.wake().await;
        }
        Ok(outcome)
    }

    /// Tells idle workers, here and on every replica, that work is waiting. (Subscribers hear
    /// of status changes through `JobUpdated`, published when a job finishes or is retried.)
    pub async fn wake(&self) {
        use std::sync::atomic::Ordering;
        self.wake.notify_waiters();
        if self.remote_wake_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let pending = self.remote_wake_pending.clone();
        let bus = self.bus.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REMOTE_WAKE_COALESCE).await;
            // Cleared before publishing: a wake that arrives meanwhile schedules the next one,
            // so no enqueue is ever left without a wake after it.
            pending.store(false, Ordering::Release);
            bus.publish(QUEUE_TOPIC, Event::JobsAvailable);
        });
    }

    pub(crate) fn local_wake(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    pub(crate) fn bus(&self) -> &EventBus {
        &self.bus
    }

    /// Claims up to `limit` due PENDING jobs for this worker, in claim order (priority, then
    /// when due). A job whose lease lapsed comes back through [`JobQueue::reclaim_lapsed`]
    /// first, so each claim walks one small ordered index and nothing else.
    pub async fn claim(&self, limit: u64) -> ApiResult<Vec<jobs::Model>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let at = now();
        let until =
            at + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60));
        let db = self.store.connection();
        let backend = db.get_database_backend();
        let sql = match backend {
            // The first `limit` due rows of `ix_jobs_pending_claim` that no other claim holds.
            // A CTE, as a row-locking one is evaluated exactly once (a LIMIT subquery inside
            // `IN` could be rescanned by a join and lock more rows than it returns).
            DbBackend::Postgres => {
                "WITH picked AS (SELECT id FROM jobs WHERE status = 'PENDING' AND scheduled_for <= $3 \
                   ORDER BY priority DESC, scheduled_for ASC LIMIT $4 FOR UPDATE SKIP LOCKED) \
                 UPDATE jobs SET status = 'RUNNING', locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3 \
                 WHERE id IN (SELECT id FROM picked) \
                 RETURNING *"
            }
            // SQLite has one writer at a time, so no row locks are needed.
            _ => {
                "UPDATE jobs SET status = 'RUNNING', locked_by = ?1, locked_until = ?2, attempts = attempts + 1, updated_at = ?3 \
                 WHERE id IN (SELECT id FROM jobs WHERE status = 'PENDING' AND scheduled_for <= ?3 \
                   ORDER BY priority DESC, scheduled_for ASC LIMIT ?4) \
                 RETURNING *"
            }
        };
        let statement = Statement::from_sql_and_values(
            backend,
            sql,
            [
                self.worker_id.clone().into(),
                until.into(),
                at.into(),
                (limit as i64).into(),
            ],
        );
        Ok(jobs::Entity::find().from_raw_sql(statement).all(db).await?)
    }

    /// Hands every job whose lease lapsed (its worker died, or stalled past the lease) back to
    /// the queue: PENDING and due at once, the lapsed attempt still counted, no owner. Its old
    /// worker can then neither renew nor record it, and the next claim runs it again. Returns
    /// how many came back.
    ///
    /// The worker pool runs this sweep every [`JobQueue::sweep_interval`] and the cron shim
    /// before each batch, rather than every claim paying for a second index walk. Several
    /// processes may sweep at once: each row is updated by one of them, and only while it is
    /// still RUNNING with its lease lapsed.
    pub async fn reclaim_lapsed(&self) -> ApiResult<u64> {
        let at = now();
        let result = back_to_pending()
            .col_expr(jobs::Column::UpdatedAt, Expr::value(at))
            .filter(jobs::Column::Status.eq(JobStatus::Running.as_str()))
            .filter(jobs::Column::LockedUntil.lt(at))
            .exec(self.store.connection())
            .await?;
        if result.rows_affected > 0 {
            tracing::warn!(
                jobs = result.rows_affected,
                "leases lapsed; those jobs are back in the queue"
            );
        }
        Ok(result.rows_affected)
    }

    /// How often the worker pool sweeps for lapsed leases: a sixth of the lease, so a crashed
    /// worker's job waits at most that long beyond its lease (and a 60 s lease costs one cheap
    /// statement every 10 s per process, whatever the load).
    pub fn sweep_interval(&self) -> Duration {
        self.lease / 6
    }

    /// Hands claimed jobs this worker has not started back to the queue (PENDING, the claim's
    /// attempt undone), so another worker takes them now instead of after their lease.
    pub async fn release(&self, job_ids: &[Uuid]) -> ApiResult<u64> {
        if job_ids.is_empty() {
            return Ok(0);
        }
        let result = back_to_pending()
            .col_expr(
                jobs::Column::Attempts,
                Expr::col(jobs::Column::Attempts).sub(1),
            )
            .filter(jobs::Column::Id.is_in(job_ids.iter().copied()))
            .filter(jobs::Column::LockedBy.eq(self.worker_id.clone()))
            .filter(jobs::Column::Status.eq(JobStatus::Running.as_str()))
            .exec(self.store.connection())
            .await?;
        Ok(result.rows_affected)
    }

    /// Extends this worker's lease on a running job; false if the lease was lost.
    pub async fn renew(&self, job_id: Uuid) -> ApiResult<bool> {
        let until =
            now() + chrono::Duration::from_std(self.lease).unwrap_or(chrono::Duration::seconds(60));
        let result = jobs::Entity::update_many()
            .col_expr(jobs::Column::LockedUntil, Expr::value(until))
            .filter(jobs::Column::Id.eq(job_id))
            .filter(jobs::Column::LockedBy.eq(self.worker_id.clone()))
            .filter(jobs::Column::Status.eq(JobStatus::Running.as_str()))
            .exec(self.store.connection())
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Records success; false if another worker had taken the job over (nothing recorded).
    pub async fn complete(&self, job: &jobs::Model, result: Value) -> ApiResult<bool> {
        let at = now();
        let update = jobs::Entity::update_many()
            .col_expr(
                jobs::Column::Status,
                Expr::value(JobStatus::Completed.as_str()),
            )
            .col_expr(jobs::Column::Result, Expr::value(result))
            .col_expr(jobs::Column::Error, Expr::value(Option::<String>::None))
            .col_expr(jobs::Column::CompletedAt, Expr::value(at))
            .col_expr(
                jobs::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(at));
        self.finish(job, update).await
    }

    /// Records a failed attempt: retried later with backoff, or DEAD/FAILED with the error.
    pub async fn fail(&self, job: &jobs::Model, error: &str, retryable: bool) -> ApiResult<bool> {
        let at = now();
        let attempts = u32::try_from(job.attempts).unwrap_or(u32::MAX);
        let max = u32::try_from(job.max_attempts).unwrap_or(1);
        let jitter: f64 = rand::random();
        let error = truncate(error, 2000);
        let update = jobs::Entity::update_many()
            .col_expr(jobs::Column::Error, Expr::value(error))
            .col_expr(
                jobs::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(at));
        let update = match after_failure(attempts, max, retryable, &self.backoff, jitter) {
            AfterFailure::RetryIn(delay) => update
                .col_expr(
                    jobs::Column::Status,
                    Expr::value(JobStatus::Pending.as_str()),
                )
                .col_expr(
                    jobs::Column::ScheduledFor,
                    Expr::value(
                        at + chrono::Duration::from_std(delay)
                            .unwrap_or(chrono::Duration::seconds(60)),
                    ),
                ),
            AfterFailure::Dead => {
                update.col_expr(jobs::Column::Status, Expr::value(JobStatus::Dead.as_str()))
            }
            AfterFailure::Failed => update.col_expr(
                jobs::Column::Status,
                Expr::value(JobStatus::Failed.as_str()),
            ),
        };
        self.finish(job, update).await
    }

    /// Records the success of several jobs in one statement, each only while its lease is still
    /// ours (as [`JobQueue::complete`]); returns the ids recorded. The worker pool gathers the
    /// successes that finish while one batch is being written into the next, so a busy queue
    /// pays one round trip and one commit per batch instead of per job.
    pub async fn complete_many(&self, done: &[(Uuid, Value)]) -> ApiResult<Vec<Uuid>> {
        let Some(((first_id, first_result), rest)) = done.split_first() else {
            return Ok(Vec::new());
        };
        let at = now();
        // No ELSE: every row the WHERE admits is one of the WHENs.
        let results = rest.iter().fold(
            Expr::case(
                jobs::Column::Id.eq(*first_id),
                Expr::value(first_result.clone()),
            ),
            |case, (id, result)| case.case(jobs::Column::Id.eq(*id), Expr::value(result.clone())),
        );
        let update = jobs::Entity::update_many()
            .col_expr(
                jobs::Column::Status,
                Expr::value(JobStatus::Completed.as_str()),
            )
            .col_expr(jobs::Column::Result, results.into())
            .col_expr(jobs::Column::Error, Expr::value(Option::<String>::None))
            .col_expr(jobs::Column::CompletedAt, Expr::value(at))
            .col_expr(
                jobs::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(jobs::Column::UpdatedAt, Expr::value(at))
            .filter(jobs::Column::Id.is_in(done.iter().map(|(id, _)| *id)));
        Ok(self
            .finish_rows(update)
            .await?
            .into_iter()
            .map(|row| row.id)
            .collect())
    }

    async fn finish(
        &self,
        job: &jobs::Model,
        update: sea_orm::UpdateMany<jobs::Entity>,
    ) -> ApiResult<bool> {
        let recorded = !self
            .finish_rows(update.filter(jobs::Column::Id.eq(job.id)))
            .await?
            .is_empty();
        if !recorded {
            tracing::warn!(job = %job.id, kind = %job.kind, "lease lost before the job finished; another worker owns it now");
        }
        Ok(recorded)
    }

    /// Applies a finishing update to the rows it names that this worker still holds, and
    /// announces each row it changed.
    async fn finish_rows(
        &self,
        update: sea_orm::UpdateMany<jobs::Entity>,
    ) -> ApiResult<Vec<jobs::Model>> {
        // One round trip: the updated rows come back with the update (RETURNING, which both
        // backends have; sea-orm's own `exec_with_returning` refuses SQLite at run time).
        let mut query = update
            .filter(jobs::Column::LockedBy.eq(self.worker_id.clone()))
            .filter(jobs::Column::Status.eq(JobStatus::Running.as_str()))
            .into_query();
        query.returning_all();
        let db = self.store.connection();
        let statement = db.get_database_backend().build(&query);
        let updated = jobs::Entity::find().from_raw_sql(statement).all(db).await?;
        for row in &updated {
            self.bus.publish(
                TenantId(row.tenant_id),
                Event::JobUpdated {
                    job: Box::new(row.clone()),
                },
            );
        }
        Ok(updated)
    }

    /// Cancels a PENDING job of the tenant (see [`cancel_pending`]) and announces it; `None` when
    /// it was not PENDING (running, finished, or not this tenant's).
    pub async fn cancel(
        &self,
        tenant: TenantId,
        job_id: Uuid,
        why: &str,
    ) -> ApiResult<Option<jobs::Model>> {
        let cancelled = cancel_pending(self.store.connection(), tenant, job_id, why).await?;
        self.announce(cancelled.iter());
        Ok(cancelled)
    }

    /// Tells `jobUpdated` subscribers about jobs changed outside the queue's own methods (a
    /// cancel inside a caller's transaction), after that transaction committed.
    pub fn announce<'a>(&self, changed: impl IntoIterator<Item = &'a jobs::Model>) {
        for job in changed {
            self.bus.publish(
                TenantId(job.tenant_id),
                Event::JobUpdated {
                    job: Box::new(job.clone()),
                },
            );
        }
    }

    /// Revives a DEAD or FAILED job of the tenant: attempts reset, due now.
    pub async fn retry(&self, tenant: TenantId, job_id: Uuid) -> ApiResult<jobs::Model> {
        let tenant_id = tenant.uuid();
        let job = self.job(tenant, job_id).await?;
        let status = JobStatus::parse(&job.status).map_err(|e| ApiError::Internal(e.into()))?;
        if !matches!(status, JobStatus::Dead | JobStatus::Failed) {
            return Err(ApiError::Conflict(format!(
                "only DEAD or FAILED jobs can be retried; this one is {}",
                status.as_str()
            )));
        }
        let at = now();
        jobs::Entity::update_many()
            .col_expr(
                jobs::Column::Status,
                Expr::value(JobStatus::Pending.as_str()),
            )
            .col_expr(jobs::Column::Attempts, Expr::value(0))
            .col_expr(jobs::Column::ScheduledFor, Expr::value(at))
            .col_expr(jobs::Column::LockedBy, Expr::value(Option::<String>::None))
            .col_expr(jobs::Column::UpdatedAt, Expr::value(at))
            .filter(jobs::Column::Id.eq(job_id))
            .filter(jobs::Column::TenantId.eq(tenant_id))
            .filter(jobs::Column::Status.eq(status.as_str()))
            .exec(self.store.connection())
            .await?;
        let job = self.job(tenant, job_id).await?;
        self.bus.publish(
            tenant,
            Event::JobUpdated {
                job: Box::new(job.clone()),
            },
        );
        self.wake().await;
        Ok(job)
    }

    /// One job of the tenant.
    pub async fn job(&self, tenant: TenantId, job_id: Uuid) -> ApiResult<jobs::Model> {
        jobs::Entity::find_by_id(job_id)
            .filter(jobs::Column::TenantId.eq(tenant.uuid()))
            .one(self.store.connection())
            .await?
            .ok_or(ApiError::NotFound("job"))
    }

    /// A page of the tenant's jobs, newest first.
    pub async fn jobs(
        &self,
        tenant: TenantId,
        filter: JobFilter,
        page: PageRequest,
    ) -> ApiResult<Page<jobs::Model>> {
        let mut select = jobs::Entity::find().filter(jobs::Column::TenantId.eq(tenant.uuid()));
        if let Some(status) = filter.status {
            select = select.filter(jobs::Column::Status.eq(status.as_str()));
        }
        if let Some(kind) = filter.kind {
            select = select.filter(jobs::Column::Kind.eq(kind));
        }
        paginate(self.store.connection(), select, jobs::Column::Id, page).await
    }

    /// Counts by status, for one tenant or (None) the whole queue.
    pub async fn counts(&self, tenant: Option<TenantId>) -> ApiResult<QueueCounts> {
        let mut query = jobs::Entity::find()
            .select_only()
            .column(jobs::Column::Status)
            .column_as(jobs::Column::Id.count(), "n")
            .group_by(jobs::Column::Status);
        if let Some(tenant) = tenant {
            query = query.filter(jobs::Column::TenantId.eq(tenant.uuid()));
        }
        let rows: Vec<(String, i64)> = query.into_tuple().all(self.store.connection()).await?;
        let mut counts = QueueCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match JobStatus::parse(&status) {
                Ok(JobStatus::Pending) => counts.pending += n,
                Ok(JobStatus::Running) => counts.running += n,
                Ok(JobStatus::Completed) => counts.completed += n,
                Ok(JobStatus::Failed) => counts.failed += n,
                Ok(JobStatus::Dead) => counts.dead += n,
                Ok(JobStatus::Cancelled) => counts.cancelled += n,
                Err(_) => {}
            }
        }
        Ok(counts)
    }

    /// Total jobs of the tenant (for tests and reports).
    pub async fn total(&self, tenant: TenantId) -> ApiResult<u64> {
        Ok(jobs::Entity::find()
            .filter(jobs::Column::TenantId.eq(tenant.uuid()))
            .count(self.store.connection())
            .await?)
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
