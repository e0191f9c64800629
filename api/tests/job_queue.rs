//! The durable job queue against a real database: SQLite by default, PostgreSQL when
//! `LEADLINE_TEST_BACKEND=postgres` (`.ci/run` sets it). Covers completion, idempotent enqueue,
//! retries ending DEAD and revived, lease expiry after a crashed worker, and 1,000 jobs shared by
//! two independent worker pools (separate connection pools, as two processes would have) with
//! every job run exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leadline_api::bus::EventBus;
use leadline_api::jobs::{enqueue, Handlers, JobFailure, JobHandler, JobQueue, NewJob, WorkerPool};
use leadline_api::store::Store;
use leadline_domain::ids::TenantId;
use leadline_domain::job::Backoff;
use serde_json::{json, Value};
use uuid::Uuid;

async fn store_at(url: &str) -> Store {
    leadline_api::store::testkit::store_at(url)
        .await
        .expect("a migrated store")
}

/// A tenant row, since jobs reference tenants.
async fn tenant(store: &Store) -> Uuid {
    leadline_api::store::testkit::seed_tenant(store, "jobs")
        .await
        .expect("tenant")
}

fn quick() -> Backoff {
    Backoff {
        base: Duration::from_millis(20),
        cap: Duration::from_millis(50),
    }
}

/// Counts how often each job ran; fails the first `fail_first` attempts of every job.
#[derive(Clone, Default)]
struct Recorder {
    runs: Arc<Mutex<HashMap<Uuid, u32>>>,
    fail_first: u32,
    permanent: bool,
}

#[async_trait::async_trait]
impl JobHandler for Recorder {
    async fn run(&self, job: &leadline_entity::jobs::Model) -> Result<Value, JobFailure> {
        let count = {
            let mut runs = self.runs.lock().unwrap();
            let entry = runs.entry(job.id).or_default();
            *entry += 1;
            *entry
        };
        if self.permanent {
            return Err(JobFailure::Permanent("bad payload".into()));
        }
        if count <= self.fail_first {
            return Err(JobFailure::Retry(format!(
                "platform returned 500 on attempt {count}"
            )));
        }
        Ok(json!({"run": count}))
    }
}

async fn wait_until<F, Fut>(limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    leadline_api::store::testkit::eventually(
        "the condition",
        limit,
        Duration::from_millis(20),
        || {
            let reached = done();
            async move {
                if reached.await {
                    Ok(())
                } else {
                    Err("not reached yet")
                }
            }
        },
    )
    .await
    .unwrap_or_else(|timed_out| panic!("{timed_out}"));
}

fn spawn_pool(
    pool: WorkerPool,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(pool.run(async move {
        let _ = stopped.await;
    }));
    (stop, handle)
}

#[tokio::test]
async fn enqueued_jobs_run_once_and_complete() {
    let store = store_at(&common::database_url("jobs").await).await;
    let tenant = tenant(&store).await;
    let queue = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(30),
    );
    let recorder = Recorder::default();
    let pool = WorkerPool::new(
        queue.clone(),
        Handlers::builtin().with("record", recorder.clone()),
        4,
        Duration::from_secs(5),
    );
    let (stop, handle) = spawn_pool(pool);
    let (id, created) = queue
        .push(NewJob::new(tenant, "record", json!({"n": 1})))
        .await
        .unwrap();
    assert!(created);
    // Woken by the enqueue, not by the 5 s poll.
    wait_until(Duration::from_secs(3), || async {
        queue.job(TenantId(tenant), id).await.unwrap().status == "COMPLETED"
    })
    .await;
    let job = queue.job(TenantId(tenant), id).await.unwrap();
    assert_eq!((job.attempts, job.result), (1, Some(json!({"run": 1}))));
    assert_eq!(recorder.runs.lock().unwrap()[&id], 1);
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn an_idempotency_key_gives_one_job_per_tenant() {
    let store = store_at(&common::database_url("jobs").await).await;
    let (a, b) = (tenant(&store).await, tenant(&store).await);
    let queue = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(30),
    );
    let (first, created) = enqueue(
        store.connection(),
        NewJob::new(a, "noop", json!({})).idempotent("msg-1"),
    )
    .await
    .unwrap();
    let (second, created_again) = enqueue(
        store.connection(),
        NewJob::new(a, "noop", json!({})).idempotent("msg-1"),
    )
    .await
    .unwrap();
    let (other, created_other) = enqueue(
        store.connection(),
        NewJob::new(b, "noop", json!({})).idempotent("msg-1"),
    )
    .await
    .unwrap();
    assert!(created && !created_again && created_other);
    assert_eq!(first, second);
    assert_ne!(first, other);
    assert_eq!(queue.total(TenantId(a)).await.unwrap(), 1);
}

#[tokio::test]
async fn failures_back_off_then_die_and_retry_job_revives_them() {
    let store = store_at(&common::database_url("jobs").await).await;
    let tenant = tenant(&store).await;
    let queue = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(30),
    )
    .with_backoff(quick());
    let always_failing = Recorder {
        fail_first: u32::MAX,
        ..Default::default()
    };
    let mut job = NewJob::new(tenant, "flaky", json!({}));
    job.max_attempts = 3;
    let (id, _) = queue.push(job).await.unwrap();
    let pool = WorkerPool::new(
        queue.clone(),
        Handlers::builtin().with("flaky", always_failing.clone()),
        2,
        Duration::from_millis(20),
    );
    let (stop, handle) = spawn_pool(pool);
    wait_until(Duration::from_secs(10), || async {
        queue.job(TenantId(tenant), id).await.unwrap().status == "DEAD"
    })
    .await;
    let dead = queue.job(TenantId(tenant), id).await.unwrap();
    assert_eq!(dead.attempts, 3);
    assert_eq!(
        dead.error.as_deref(),
        Some("platform returned 500 on attempt 3")
    );
    assert_eq!(always_failing.runs.lock().unwrap()[&id], 3);
    assert_eq!(queue.counts(Some(TenantId(tenant))).await.unwrap().dead, 1);
    stop.send(()).unwrap();
    handle.await.unwrap();

    // Revived, it runs again from attempt 1 and (now healthy) completes.
    let healthy = Recorder::default();
    let pool = WorkerPool::new(
        queue.clone(),
        Handlers::builtin().with("flaky", healthy.clone()),
        2,
        Duration::from_millis(20),
    );
    // Revive before the pool starts: a running pool may claim it before we read it back.
    let revived = queue.retry(TenantId(tenant), id).await.unwrap();
    assert_eq!((revived.status.as_str(), revived.attempts), ("PENDING", 0));
    let (stop, handle) = spawn_pool(pool);
    wait_until(Duration::from_secs(5), || async {
        queue.job(TenantId(tenant), id).await.unwrap().status == "COMPLETED"
    })
    .await;
    assert!(
        queue.retry(TenantId(tenant), id).await.is_err(),
        "a COMPLETED job is not retried"
    );
    stop.send(()).unwrap();
    handle.await.unwrap();
}

#[tokio::test]
async fn permanent_errors_and_unknown_kinds_fail_at_once() {
    let store = store_at(&common::database_url("jobs").await).await;
    let tenant = tenant(&store).await;
    let queue = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(30),
    );
    let (bad, _) = queue
        .push(NewJob::new(tenant, "strict", json!({})))
        .await
        .unwrap();
    let (unknown, _) = queue
        .push(NewJob::new(tenant, "no_such_kind", json!({})))
        .await
        .unwrap();
    let pool = WorkerPool::new(
        queue.clone(),
        Handlers::builtin().with(
            "strict",
            Recorder {
                permanent: true,
                ..Default::default()
            },
        ),
        2,
        Duration::from_millis(50),
    );
    let report = pool.process_batch(10).await.unwrap();
    assert_eq!((report.claimed, report.completed, report.failed), (2, 0, 2));
    let bad = queue.job(TenantId(tenant), bad).await.unwrap();
    let unknown = queue.job(TenantId(tenant), unknown).await.unwrap();
    assert_eq!((bad.status.as_str(), bad.attempts), ("FAILED", 1));
    assert_eq!(unknown.status, "FAILED");
    assert!(unknown.error.unwrap().contains("no handler"));
}

#[tokio::test]
async fn a_crashed_workers_job_is_reclaimed_after_its_lease_and_recorded_once() {
    let url = common::database_url("jobs").await;
    let store = store_at(&url).await;
    let tenant = tenant(&store).await;
    let crashed = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(2),
    );
    let survivor = JobQueue::new(
        store_at(&url).await,
        EventBus::in_process(),
        Duration::from_secs(30),
    );
    let (id, _) = crashed
        .push(NewJob::new(tenant, "noop", json!({})))
        .await
        .unwrap();

    let claimed = crashed.claim(10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    // While the lease holds, nobody else gets it and the sweep leaves it alone.
    assert_eq!(survivor.reclaim_lapsed().await.unwrap(), 0);
    assert!(survivor.claim(10).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    // A claim alone does not look at lapsed leases; the sweep hands the job back, once.
    assert!(survivor.claim(10).await.unwrap().is_empty());
    assert_eq!(survivor.reclaim_lapsed().await.unwrap(), 1);
    assert_eq!(crashed.reclaim_lapsed().await.unwrap(), 0);
    assert!(
        !crashed.renew(id).await.unwrap(),
        "a swept job's lease cannot be renewed"
    );
    let reclaimed = survivor.claim(10).await.unwrap();
    assert_eq!(reclaimed.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
    assert_eq!(reclaimed[0].attempts, 2);
    // The crashed worker comes back and tries to record: refused, its lease is gone.
    assert!(!crashed
        .complete(&claimed[0], json!({"by": "crashed"}))
        .await
        .unwrap());
    assert!(survivor
        .complete(&reclaimed[0], json!({"by": "survivor"}))
        .await
        .unwrap());
    let job = survivor.job(TenantId(tenant), id).await.unwrap();
    assert_eq!(
        (job.status.as_str(), job.result),
        ("COMPLETED", Some(json!({"by": "survivor"})))
    );
}

/// A running pool finds a crashed worker's job by its own sweep (no claim looks at lapsed
/// leases), runs it once more and records it; the crashed worker cannot record it any more.
#[tokio::test]
async fn a_running_pool_sweeps_up_a_crashed_workers_job_after_its_lease() {
    let url = common::database_url("jobs").await;
    let store = store_at(&url).await;
    let tenant = tenant(&store).await;
    let crashed = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(1),
    );
    let (id, _) = crashed
        .push(NewJob::new(tenant, "record", json!({})))
        .await
        .unwrap();
    let claimed = crashed.claim(10).await.unwrap();
    assert_eq!(claimed.len(), 1);

    // A 3 s lease: the pool sweeps every half second.
    let survivor = JobQueue::new(
        store_at(&url).await,
        EventBus::in_process(),
        Duration::from_secs(3),
    );
    assert_eq!(survivor.sweep_interval(), Duration::from_millis(500));
    let recorder = Recorder::default();
    let (stop, handle) = spawn_pool(WorkerPool::new(
        survivor.clone(),
        Handlers::builtin().with("record", recorder.clone()),
        2,
        Duration::from_millis(50),
    ));
    wait_until(Duration::from_secs(10), || async {
        survivor.job(TenantId(tenant), id).await.unwrap().status == "COMPLETED"
    })
    .await;
    stop.send(()).unwrap();
    handle.await.unwrap();
    let job = survivor.job(TenantId(tenant), id).await.unwrap();
    assert_eq!(
        (job.attempts, job.result),
        (2, Some(json!({"run": 1}))),
        "the lapsed attempt counts; the handler ran once here"
    );
    assert_eq!(recorder.runs.lock().unwrap()[&id], 1);
    assert!(!crashed.complete(&claimed[0], json!({})).await.unwrap());
}

#[tokio::test]
async fn two_worker_pools_run_a_thousand_jobs_exactly_once() {
    let url = common::database_url("jobs").await;
    let setup = store_at(&url).await;
    let tenant = tenant(&setup).await;
    let recorder = Recorder::default();
    let mut pools = Vec::new();
    for _ in 0..2 {
        // Separate connection pools and buses: as two processes would have.
        let queue = JobQueue::new(
            store_at(&url).await,
            EventBus::in_process(),
            Duration::from_secs(30),
        );
        pools.push(spawn_pool(WorkerPool::new(
            queue,
            Handlers::builtin().with("record", recorder.clone()),
            8,
            Duration::from_millis(20),
        )));
    }
    let queue = JobQueue::new(
        setup.clone(),
        EventBus::in_process(),
        Duration::from_secs(30),
    );
    for chunk in 0..10 {
        let tx = sea_orm::TransactionTrait::begin(setup.connection())
            .await
            .unwrap();
        for i in 0..100 {
            enqueue(
                &tx,
                NewJob::new(tenant, "record", json!({"n": chunk * 100 + i})),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    wait_until(Duration::from_secs(120), || async {
        queue
            .counts(Some(TenantId(tenant)))
            .await
            .unwrap()
            .completed
            == 1000
    })
    .await;
    for (stop, handle) in pools {
        stop.send(()).unwrap();
        handle.await.unwrap();
    }
    let runs = recorder.runs.lock().unwrap();
    assert_eq!(runs.len(), 1000);
    assert!(
        runs.values().all(|&n| n == 1),
        "some job ran twice: {:?}",
        runs.iter()
            .filter(|(_, n)| **n > 1)
            .take(5)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn released_jobs_go_back_to_the_queue_with_their_attempt_undone() {
    let url = common::database_url("jobs").await;
    let store = store_at(&url).await;
    let tenant = tenant(&store).await;
    let holder = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(60),
    );
    let other = JobQueue::new(
        store_at(&url).await,
        EventBus::in_process(),
        Duration::from_secs(60),
    );
    for i in 0..3 {
        holder
            .push(NewJob::new(tenant, "noop", json!({ "i": i })))
            .await
            .unwrap();
    }
    let held = holder.claim(10).await.unwrap();
    assert_eq!(held.len(), 3);
    assert!(other.claim(10).await.unwrap().is_empty(), "all leased");
    let handed_back: Vec<_> = held[..2].iter().map(|job| job.id).collect();
    // Another worker's release cannot touch them.
    assert_eq!(other.release(&handed_back).await.unwrap(), 0);
    assert_eq!(holder.release(&handed_back).await.unwrap(), 2);
    let mut taken: Vec<_> = other.claim(10).await.unwrap();
    taken.sort_by_key(|job| job.id);
    let mut expected = handed_back.clone();
    expected.sort();
    assert_eq!(taken.iter().map(|j| j.id).collect::<Vec<_>>(), expected);
    assert!(
        taken.iter().all(|job| job.attempts == 1),
        "the held claim did not count"
    );
    // The holder can no longer record them; the new owner can.
    assert!(!holder.complete(&held[0], json!({})).await.unwrap());
    assert!(other.complete(&taken[0], json!({})).await.unwrap());
}

#[tokio::test]
async fn a_batched_completion_records_only_the_jobs_still_leased_to_it_each_with_its_result() {
    let url = common::database_url("jobs").await;
    let store = store_at(&url).await;
    let tenant = tenant(&store).await;
    let holder = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(60),
    );
    let other = JobQueue::new(
        store_at(&url).await,
        EventBus::in_process(),
        Duration::from_secs(60),
    );
    for i in 0..4 {
        holder
            .push(NewJob::new(tenant, "noop", json!({ "i": i })))
            .await
            .unwrap();
    }
    let held = holder.claim(10).await.unwrap();
    assert_eq!(held.len(), 4);
    // One job goes back and is taken by another worker: the batch must not record it.
    assert_eq!(holder.release(&[held[3].id]).await.unwrap(), 1);
    let taken = other.claim(10).await.unwrap();
    assert_eq!(
        taken.iter().map(|j| j.id).collect::<Vec<_>>(),
        vec![held[3].id]
    );

    let done: Vec<(Uuid, Value)> = held
        .iter()
        .enumerate()
        .map(|(n, job)| (job.id, json!({ "n": n })))
        .collect();
    let mut recorded = holder.complete_many(&done).await.unwrap();
    recorded.sort();
    let mut expected: Vec<Uuid> = held[..3].iter().map(|job| job.id).collect();
    expected.sort();
    assert_eq!(recorded, expected);
    for (n, job) in held[..3].iter().enumerate() {
        let row = holder.job(TenantId(tenant), job.id).await.unwrap();
        assert_eq!(
            (row.status.as_str(), row.result, row.locked_until),
            ("COMPLETED", Some(json!({ "n": n })), None)
        );
    }
    let still = holder.job(TenantId(tenant), held[3].id).await.unwrap();
    assert_eq!(
        (still.status.as_str(), still.result),
        ("RUNNING", None),
        "another worker's job is left alone"
    );
    // Recording the same batch again changes nothing: those leases are finished.
    assert!(holder.complete_many(&done).await.unwrap().is_empty());
    assert!(holder.complete_many(&[]).await.unwrap().is_empty());
}
