//! Queue throughput: no-op jobs per second claimed, run and recorded by one worker pool, next
//! to the bare enqueue rate (inserting the same jobs, 100 per transaction) in the same run.
//!
//! `cargo bench -p leadline-api --bench job_queue` (SQLite file), or with
//! `BENCH_DATABASE_URL=postgres://…/db` for PostgreSQL. `BENCH_JOBS` (default 5000),
//! `BENCH_WORKERS` (default 16).

use std::time::{Duration, Instant};

use leadline_api::bus::EventBus;
use leadline_api::config::Config;
use leadline_api::error::ApiError;
use leadline_api::jobs::{enqueue, Handlers, JobQueue, NewJob, WorkerPool};
use leadline_api::store::Store;
use leadline_domain::ids::TenantId;
use serde_json::json;
use uuid::Uuid;

/// `ApiError` is not `Display` (see its docs), so it is converted by hand.
fn api(error: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{error:?}")
}

/// Whether any job is still waiting or running (the bench's database holds only its own).
async fn unfinished(store: &Store) -> anyhow::Result<bool> {
    use sea_orm::ConnectionTrait;
    let db = store.connection();
    let row = db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM jobs WHERE status = 'PENDING') \
               OR EXISTS (SELECT 1 FROM jobs WHERE status = 'RUNNING') THEN 1 ELSE 0 END AS busy",
        ))
        .await?
        .ok_or_else(|| anyhow::anyhow!("no row from the unfinished-jobs probe"))?;
    Ok(row.try_get::<i32>("", "busy")? != 0)
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let jobs: usize = std::env::var("BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000);
    let workers: usize = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let dir = std::env::temp_dir().join(format!("leadline-bench-{}", Uuid::now_v7().simple()));
        let _ = std::fs::create_dir_all(&dir);
        format!("sqlite://{}?mode=rwc", dir.join("bench.db").display())
    });
    let config = Config::from_lookup(|k| (k == "DATABASE_URL").then(|| url.clone()))?;
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    let tenant = leadline_api::store::testkit::seed_tenant(&store, "bench").await?;

    let started = Instant::now();
    for chunk in 0..jobs.div_ceil(100) {
        let tx = sea_orm::TransactionTrait::begin(store.connection()).await?;
        for i in 0..100.min(jobs - chunk * 100) {
            enqueue(
                &tx,
                NewJob::new(tenant, "noop", json!({"i": chunk * 100 + i})),
            )
            .await
            .map_err(api)?;
        }
        tx.commit().await?;
    }
    let enqueue_secs = started.elapsed().as_secs_f64();

    let queue = JobQueue::new(
        store.clone(),
        EventBus::in_process(),
        Duration::from_secs(60),
    );
    let pool = WorkerPool::new(
        queue.clone(),
        Handlers::builtin(),
        workers,
        Duration::from_millis(5),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let handle = tokio::spawn(pool.run(async move {
        let _ = stopped.await;
    }));
    loop {
        // Every 10 ms: is any job still PENDING or RUNNING? Each half is one probe of its
        // partial index, so watching costs the queue nothing; counting every row by status
        // each time (as this bench once did) took a share of the very database it measures.
        // Once none is left, the exact count decides.
        if !unfinished(&store).await?
            && queue
                .counts(Some(TenantId(tenant)))
                .await
                .map_err(api)?
                .completed as usize
                >= jobs
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let process_secs = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    let _ = handle.await;

    let backend = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let enqueue_rate = jobs as f64 / enqueue_secs;
    let process_rate = jobs as f64 / process_secs;
    println!("backend {backend}, {jobs} jobs, {workers} workers");
    println!("baseline enqueue (100 per transaction): {enqueue_rate:>9.0} jobs/s");
    println!("claim + run no-op + record:             {process_rate:>9.0} jobs/s");
    println!(
        "ratio processed/enqueued:               {:>9.3}",
        process_rate / enqueue_rate
    );
    Ok(())
}
