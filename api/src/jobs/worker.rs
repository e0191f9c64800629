//! Workers: claim due jobs, run their handler while renewing the lease, record the outcome.
//! Woken at once when work is enqueued (locally, or on any replica through the bus), and by a
//! slow poll as a safety net for scheduled retries and lapsed leases.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::StreamExt;
use leadline_entity::jobs;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::{JobQueue, QUEUE_TOPIC};
use crate::error::ApiResult;

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobFailure {
    /// Worth retrying later (timeouts, 429, 5xx).
    Retry(String),
    /// Retrying cannot help (bad payload, unknown kind, a 4xx that will not change).
    Permanent(String),
}

/// What a job does about a store or service error: retry what may pass (database hiccups, rate
/// limits, outages, lost races), give up on what cannot (missing rows, refused input).
/// The job's error text is the public message (jobs are visible to the tenant); an internal
/// cause is logged by `public_message`, never stored.
impl From<crate::error::ApiError> for JobFailure {
    fn from(error: crate::error::ApiError) -> Self {
        use crate::error::ApiError;
        let text = format!("{}: {}", error.code(), error.public_message());
        match error {
            ApiError::NotFound(_)
            | ApiError::BadUserInput { .. }
            | ApiError::Forbidden(_)
            | ApiError::Unauthenticated(_)
            | ApiError::LimitReached { .. }
            | ApiError::PaymentRequired { .. } => JobFailure::Permanent(text),
            ApiError::RateLimited { .. }
            | ApiError::Unavailable(_)
            | ApiError::Conflict(_)
            | ApiError::Internal(_) => JobFailure::Retry(text),
        }
    }
}

/// Runs one kind of job.
#[async_trait::async_trait]
pub trait JobHandler: Send + Sync {
    /// Does the work; the returned value is stored as the job's `result`.
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure>;
}

/// `noop`: completes at once. Used by the queue-throughput benchmark and health probes.
pub struct NoopHandler;

#[async_trait::async_trait]
impl JobHandler for NoopHandler {
    async fn run(&self, _job: &jobs::Model) -> Result<Value, JobFailure> {
        Ok(json!({"ok": true}))
    }
}

/// Handlers by job kind.
#[derive(Clone, Default)]
pub struct Handlers {
    by_kind: HashMap<String, Arc<dyn JobHandler>>,
}

impl Handlers {
    /// The built-in handlers.
    pub fn builtin() -> Self {
        Self::default().with("noop", NoopHandler)
    }

    /// Registers `handler` for `kind`.
    pub fn with(mut self, kind: &str, handler: impl JobHandler + 'static) -> Self {
        self.by_kind.insert(kind.to_owned(), Arc::new(handler));
        self
    }

    fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.by_kind.get(kind).cloned()
    }
}

/// What one batch did (the cron shim reports it).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BatchReport {
    pub claimed: u64,
    pub completed: u64,
    pub failed: u64,
}

/// A pool of workers in this process.
#[derive(Clone)]
pub struct WorkerPool {
    queue: JobQueue,
    handlers: Arc<Handlers>,
    concurrency: usize,
    poll_interval: Duration,
    /// While [`WorkerPool::run`] runs: where successes go to be recorded in batches.
    recorder: Option<mpsc::Sender<Success>>,
}

/// A job that succeeded, waiting for the pool's recorder; `recorded` hears whether the
/// completion counted (`None`: the write failed, and the recorder logged why).
struct Success {
    job_id: Uuid,
    result: Value,
    recorded: oneshot::Sender<Option<bool>>,
}

/// Most successes written by one statement (a bound on its size and parameters).
const MAX_COMPLETION_BATCH: usize = 256;

/// Writes successes as they come: whatever arrived while the last batch was being written is
/// the next batch, so an idle queue adds no delay and a busy one shares each round trip.
async fn record_successes(queue: JobQueue, mut successes: mpsc::Receiver<Success>) {
    let mut batch = Vec::with_capacity(MAX_COMPLETION_BATCH);
    while successes.recv_many(&mut batch, MAX_COMPLETION_BATCH).await > 0 {
        let done: Vec<(Uuid, Value)> = batch
            .iter_mut()
            .map(|success| (success.job_id, std::mem::take(&mut success.result)))
            .collect();
        match queue.complete_many(&done).await {
            Ok(recorded) => {
                let recorded: std::collections::HashSet<Uuid> = recorded.into_iter().collect();
                for success in batch.drain(..) {
                    let ok = recorded.contains(&success.job_id);
                    if !ok {
                        tracing::warn!(job = %success.job_id, "lease lost before the job finished; another worker owns it now");
                    }
                    let _ = success.recorded.send(Some(ok));
                }
            }
            Err(error) => {
                tracing::error!(error = ?error, jobs = batch.len(), "could not record a batch of completed jobs");
                for success in batch.drain(..) {
                    let _ = success.recorded.send(None);
                }
            }
        }
    }
}

impl WorkerPool {
    /// `concurrency` jobs at once; `poll_interval` bounds how late a scheduled retry runs.
    pub fn new(
        queue: JobQueue,
        handlers: Handlers,
        concurrency: usize,
        poll_interval: Duration,
    ) -> Self {
        Self {
            queue,
            handlers: Arc::new(handlers),
            concurrency: concurrency.max(1),
            poll_interval,
            recorder: None,
        }
    }

    /// Runs until `shutdown` resolves, then lets running jobs finish.
    ///
    /// Claims ahead: up to twice `concurrency` jobs are held (claimed, leased) so a freed slot
    /// starts the next job without a round trip, and each claim brings a batch instead of the
    /// one or two slots that just freed. The next claim is in flight while held jobs start, so
    /// a busy pool never stops to wait for it. Lapsed leases are swept back to the queue every
    /// [`JobQueue::sweep_interval`]. A held job whose lease may be getting old is renewed
    /// before it starts (see [`WorkerPool::execute`]); held jobs left at shutdown are released.
    ///
    /// A job's slot is freed when its handler returns; successes are then recorded in batches
    /// by one recorder task (see [`JobQueue::complete_many`]), which is drained before this
    /// returns.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let (successes, pending_successes) = mpsc::channel(self.concurrency * 4);
        let recorder = tokio::spawn(record_successes(self.queue.clone(), pending_successes));
        let this = WorkerPool {
            recorder: Some(successes),
            ..self
        };
        this.run_with_recorder(shutdown).await;
        // Every clone holding the sender is gone once its job was recorded, so this ends after
        // the last success is written.
        if let Err(error) = recorder.await {
            tracing::error!(error = ?error, "the job recorder stopped unexpectedly");
        }
    }

    async fn run_with_recorder(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let slots = Arc::new(Semaphore::new(self.concurrency));
        let wake = self.queue.local_wake();
        let mut remote = Box::pin(self.queue.bus().subscribe(QUEUE_TOPIC));
        let mut held: VecDeque<(jobs::Model, Instant)> = VecDeque::new();
        let prefetch = self.concurrency * 2;
        let sweep_every = self.queue.sweep_interval();
        // The first sweep runs at once: jobs a crashed predecessor left behind come back now.
        let mut last_sweep: Option<Instant> = None;
        tokio::pin!(shutdown);
        tracing::info!(
            worker = self.queue.worker_id(),
            concurrency = self.concurrency,
            "job workers started"
        );
        // The claim in flight, if any: it runs beside the dispatching below, so the jobs already
        // held keep starting while the next batch is on its way.
        let mut claiming: Option<BoxFuture<'static, (u64, ApiResult<Vec<jobs::Model>>)>> = None;
        // The last claim came back short (or failed): nothing more is due right now, so the
        // next claim waits for a reason — a slot freed while jobs were waiting for one, a
        // wake, or the poll (as a claim per started job would be a claim per job).
        let mut drained = false;
        let mut notified = Box::pin(wake.notified());
        loop {
            if last_sweep.is_none_or(|at| at.elapsed() >= sweep_every) {
                if let Err(error) = self.queue.reclaim_lapsed().await {
                    tracing::warn!(error = ?error, "sweeping lapsed leases failed; retrying at the next sweep");
                }
                last_sweep = Some(Instant::now());
            }
            if claiming.is_none() && !drained && held.len() < self.concurrency {
                // Listening from before the claim: a job enqueued while it runs (too late for
                // it) wakes the idle wait below instead of waiting for the poll.
                notified = Box::pin(wake.notified());
                notified.as_mut().enable();
                let want = (prefetch - held.len()) as u64;
                let queue = self.queue.clone();
                claiming = Some(Box::pin(async move { (want, queue.claim(want).await) }));
            }
            while !held.is_empty() {
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    break;
                };
                if let Some((job, claimed_at)) = held.pop_front() {
                    self.start(job, claimed_at, permit);
                }
            }
            if claiming.is_none() && held.is_empty() {
                // Idle (a claim started above unless the queue was drained).
                tokio::select! {
                    () = &mut notified => {}
                    event = remote.next() => {
                        if event.is_none() {
                            // The bus dropped (Redis outage): resubscribe; polling covers the gap.
                            remote = Box::pin(self.queue.bus().subscribe(QUEUE_TOPIC));
                            tokio::time::sleep(self.poll_interval).await;
                        }
                    }
                    () = tokio::time::sleep(self.poll_interval) => {}
                    () = &mut shutdown => break,
                }
                drained = false;
                continue;
            }
            tokio::select! {
                (want, claimed) = async {
                    match claiming.as_mut() {
                        Some(claim) => claim.await,
                        None => std::future::pending().await,
                    }
                } => {
                    claiming = None;
                    match claimed {
                        Ok(jobs) => {
                            drained = (jobs.len() as u64) < want;
                            let at = Instant::now();
                            held.extend(jobs.into_iter().map(|job| (job, at)));
                        }
                        Err(error) => {
                            drained = true;
                            tracing::warn!(error = ?error, "claiming jobs failed; retrying shortly");
                        }
                    }
                }
                permit = slots.clone().acquire_owned(), if !held.is_empty() => {
                    if let (Ok(permit), Some((job, claimed_at))) = (permit, held.pop_front()) {
                        self.start(job, claimed_at, permit);
                        drained = false;
                    }
                }
                () = &mut shutdown => break,
            }
        }
        // A claim still in flight is let finish, so what it took goes back with the rest.
        if let Some(claim) = claiming.take() {
            if let (_, Ok(jobs)) = claim.await {
                held.extend(jobs.into_iter().map(|job| (job, Instant::now())));
            }
        }
        if !held.is_empty() {
            let ids: Vec<_> = held.iter().map(|(job, _)| job.id).collect();
            if let Err(error) = self.queue.release(&ids).await {
                tracing::warn!(error = ?error, "could not release held jobs; they run again when their lease lapses");
            }
        }
        // Let running jobs finish (they hold permits).
        let _ = slots.acquire_many(self.concurrency as u32).await;
        tracing::info!("job workers stopped");
    }

    /// Runs a held job on its own task, in the slot `permit` holds.
    fn start(&self, job: jobs::Model, claimed_at: Instant, permit: OwnedSemaphorePermit) {
        let pool = self.clone();
        tokio::spawn(async move {
            pool.execute_held(job, claimed_at, permit).await;
        });
    }

    /// Starts a held job: one that waited in the prefetch for over a third of its lease gets
    /// its lease renewed first, and is dropped if the lease was lost meanwhile (another worker
    /// may run it; it must not run twice).
    async fn execute_held(
        &self,
        job: jobs::Model,
        claimed_at: Instant,
        permit: OwnedSemaphorePermit,
    ) -> bool {
        if claimed_at.elapsed() > self.queue.lease / 3 {
            match self.queue.renew(job.id).await {
                Ok(true) => {}
                Ok(false) => return false,
                Err(error) => {
                    tracing::warn!(error = ?error, job = %job.id, "could not renew a held job's lease; leaving it to lapse");
                    return false;
                }
            }
        }
        self.execute(job, Some(permit)).await
    }

    /// Claims up to `max_jobs` and runs them here, one after another (the cron shim).
    /// Jobs whose lease lapsed are swept back to the queue first, as no pool may be running.
    pub async fn process_batch(&self, max_jobs: u64) -> crate::error::ApiResult<BatchReport> {
        self.queue.reclaim_lapsed().await?;
        let claimed = self.queue.claim(max_jobs).await?;
        let mut report = BatchReport {
            claimed: claimed.len() as u64,
            ..Default::default()
        };
        for job in claimed {
            if self.execute(job, None).await {
                report.completed += 1;
            } else {
                report.failed += 1;
            }
        }
        Ok(report)
    }

    /// Runs one claimed job with a lease heartbeat; true when it completed. `slot` is released
    /// as soon as the handler returns, before the outcome is recorded.
    async fn execute(&self, job: jobs::Model, slot: Option<OwnedSemaphorePermit>) -> bool {
        if job.attempts > job.max_attempts {
            // Every earlier claim ended with the worker dying mid-job: stop the crash loop.
            let _ = self
                .queue
                .fail(
                    &job,
                    "abandoned: the worker stopped during every attempt",
                    true,
                )
                .await;
            return false;
        }
        let Some(handler) = self.handlers.get(&job.kind) else {
            let _ = self
                .queue
                .fail(
                    &job,
                    &format!("no handler for job kind {:?}", job.kind),
                    false,
                )
                .await;
            return false;
        };
        let heartbeat = {
            let queue = self.queue.clone();
            let id = job.id;
            let every = queue.lease / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match queue.renew(id).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(error) => {
                            tracing::warn!(error = ?error, job = %id, "lease renewal failed")
                        }
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        let outcome = handler.run(&job).await;
        heartbeat.abort();
        drop(slot);
        metrics::histogram!("leadline_job_duration_seconds", "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
        let (recorded, ok) = match outcome {
            Ok(result) => (self.record_success(&job, result).await, true),
            Err(JobFailure::Retry(error)) => (self.queue.fail(&job, &error, true).await, false),
            Err(JobFailure::Permanent(error)) => {
                (self.queue.fail(&job, &error, false).await, false)
            }
        };
        let outcome = if ok { "completed" } else { "failed" };
        metrics::counter!("leadline_jobs_total", "kind" => job.kind.clone(), "outcome" => outcome)
            .increment(1);
        if let Err(error) = recorded {
            tracing::error!(error = ?error, job = %job.id, "could not record the job outcome; its lease will lapse and it will run again");
        }
        ok
    }

    /// Records a success through the pool's recorder when it runs, else on its own.
    async fn record_success(
        &self,
        job: &jobs::Model,
        result: Value,
    ) -> crate::error::ApiResult<bool> {
        let Some(recorder) = &self.recorder else {
            return self.queue.complete(job, result).await;
        };
        let (recorded, outcome) = oneshot::channel();
        let success = Success {
            job_id: job.id,
            result,
            recorded,
        };
        if recorder.send(success).await.is_err() {
            return Err(crate::error::ApiError::Internal(anyhow::anyhow!(
                "the job recorder has stopped"
            )));
        }
        match outcome.await {
            Ok(Some(recorded)) => Ok(recorded),
            _ => Err(crate::error::ApiError::Internal(anyhow::anyhow!(
                "the batch that held this job could not be recorded"
            ))),
        }
    }
}
