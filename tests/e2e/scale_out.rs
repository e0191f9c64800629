//! Several replicas on one PostgreSQL and one Redis behave as one system, and a Redis outage is
//! survived: queries keep working, subscribers are told, readiness flips, the bus reconnects.
//! These run on the Postgres+Redis pass of `.ci/run`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::harness::{
    error_code, fresh_database, scale_out, spawn_with, wait_for, SpawnOptions, WsEvent,
};

const SCORE_SUB: &str = "subscription { leadScoreChanged { leadId score previousScore } }";

#[tokio::test]
async fn a_subscriber_on_one_replica_sees_a_change_made_on_another() {
    let Some(_) = scale_out("two_replicas") else {
        return;
    };
    let (database_url, redis_url, _) = fresh_database().await;
    let prefix = format!("replicas-{}", uuid::Uuid::now_v7().simple());
    let options = SpawnOptions {
        database_url: Some(database_url),
        redis_url: Some(redis_url),
        redis_prefix: Some(prefix),
        env: vec![],
    };
    let replica_a = spawn_with(options.clone()).await;
    let replica_b = spawn_with(options).await;

    // Tokens work on both: the generated JWT secret lives in the shared database.
    let token = replica_a.sign_up("replicas").await;
    let lead = replica_b.create_lead(&token, "Shared").await;
    let mut ws = replica_a.ws(&token).await.expect("ws on A");
    ws.subscribe(SCORE_SUB, json!({})).await;
    replica_b
        .ok(&token, "mutation($id: ID!) { adjustLeadScore(input: {leadId: $id, delta: 15, signal: \"urgent\", reason: \"via B\"}) { lead { score } } }", json!({"id": lead}))
        .await;
    match ws.next_event(Duration::from_secs(10)).await {
        Some(WsEvent::Next(p)) => assert_eq!(
            p["data"]["leadScoreChanged"],
            json!({"leadId": lead, "score": 65, "previousScore": 50})
        ),
        other => panic!("replica A did not see B's change: {other:?}"),
    }
}

#[tokio::test]
async fn a_member_removed_on_one_replica_is_refused_on_another_at_once() {
    let Some(_) = scale_out("removal_over_http") else {
        return;
    };
    let (database_url, redis_url, _) = fresh_database().await;
    let options = SpawnOptions {
        database_url: Some(database_url),
        redis_url: Some(redis_url),
        redis_prefix: Some(format!("revoke-{}", uuid::Uuid::now_v7().simple())),
        env: vec![],
    };
    let replica_a = spawn_with(options.clone()).await;
    let replica_b = spawn_with(options.without_workers()).await;
    let owner = replica_a.sign_up("revoke-replicas").await;
    let (admin, admin_id) = replica_a
        .member(&owner, "admin@revoke-replicas.test", "ADMIN")
        .await;
    // A has just served the member (whatever it may keep about them is warm).
    replica_a
        .ok(&admin, "{ leads(first: 5) { totalCount } }", json!({}))
        .await;

    replica_b
        .ok(
            &owner,
            "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
            json!({"u": admin_id}),
        )
        .await;

    // The very next request on A is refused: no waiting for a message between replicas.
    let refused = replica_a
        .graphql(
            Some(&admin),
            "{ leads(first: 5) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
}

/// A private redis-server on a free port, so the test can kill and restart it.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { port, child: None };
        redis.restart().await;
        redis
    }

    async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server must be installed for this test (.ci/run installs it)");
        self.child = Some(child);
        let port = self.port;
        wait_for(
            "redis-server to start",
            Duration::from_secs(10),
            || async move {
                tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .map(drop)
            },
        )
        .await;
    }

    async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

async fn ready_status(app: &crate::harness::TestApp) -> u16 {
    app.http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

async fn wait_for_status(app: &crate::harness::TestApp, want: u16, limit: Duration) {
    wait_for(&format!("readyz to answer {want}"), limit, || async {
        match ready_status(app).await {
            status if status == want => Ok(()),
            status => Err(status),
        }
    })
    .await;
}

#[tokio::test]
async fn redis_outage_is_reported_survived_and_recovered() {
    let Some(_) = scale_out("redis_outage") else {
        return;
    };
    let mut redis = PrivateRedis::start().await;
    let app = spawn_with(SpawnOptions {
        redis_url: Some(Some(redis.url())),
        ..Default::default()
    })
    .await;
    let token = app.sign_up("outage").await;
    let lead = app.create_lead(&token, "Resilient").await;
    let mut ws = app.ws(&token).await.expect("ws");
    ws.subscribe(SCORE_SUB, json!({})).await;

    redis.kill().await;
    // The subscriber is told (an error, then completion) — never silence.
    let mut told = false;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        match ws.next_event(Duration::from_secs(10)).await {
            Some(WsEvent::Next(p)) if p["errors"][0]["extensions"]["code"] == "UNAVAILABLE" => {
                told = true
            }
            Some(WsEvent::Error(_)) => told = true,
            Some(WsEvent::Complete) | Some(WsEvent::Closed(_)) => break,
            Some(other) => panic!("unexpected {other:?}"),
            None => break,
        }
    }
    assert!(told, "the subscriber was not told the bus went away");
    wait_for_status(&app, 503, Duration::from_secs(10)).await;
    // Queries and mutations keep working without Redis.
    let adjusted = app
        .ok(&token, "mutation($id: ID!) { adjustLeadScore(input: {leadId: $id, delta: 5, signal: \"x\", reason: \"during outage\"}) { lead { score } } }", json!({"id": lead}))
        .await;
    assert_eq!(adjusted["adjustLeadScore"]["lead"]["score"], 55);

    redis.restart().await;
    wait_for_status(&app, 200, Duration::from_secs(20)).await;
    let mut ws = app.ws(&token).await.expect("ws after recovery");
    ws.subscribe(SCORE_SUB, json!({})).await;
    app.ok(&token, "mutation($id: ID!) { adjustLeadScore(input: {leadId: $id, delta: 5, signal: \"x\", reason: \"after\"}) { lead { score } } }", json!({"id": lead})).await;
    match ws.next_event(Duration::from_secs(10)).await {
        Some(WsEvent::Next(p)) => assert_eq!(p["data"]["leadScoreChanged"]["score"], 60),
        other => panic!("no event after Redis came back: {other:?}"),
    }
}

/// Two `serve` processes on one Postgres share one queue: 1,000 jobs, each run exactly once, by
/// both processes. The jobs are inserted in ten batches over three seconds so both processes'
/// polls (and not just whichever woke first) take part.
#[tokio::test]
async fn two_serve_processes_run_each_of_1000_jobs_exactly_once() {
    let Some(_) = scale_out("two_processes_one_queue") else {
        return;
    };
    let (database_url, redis_url, _) = fresh_database().await;
    let prefix = format!("queue-{}", uuid::Uuid::now_v7().simple());
    let options = SpawnOptions {
        database_url: Some(database_url.clone()),
        redis_url: Some(redis_url),
        redis_prefix: Some(prefix),
        env: vec![("LEADLINE_WORKERS".into(), "4".into())],
    };
    let replica_a = spawn_with(options.clone()).await;
    let _replica_b = spawn_with(options).await;
    replica_a.sign_up("two-queues").await;

    let db = sea_orm::Database::connect(database_url.as_str())
        .await
        .expect("connect");
    let tenant: uuid::Uuid = {
        let row = db
            .query_one(Statement::from_string(
                DbBackend::Postgres,
                "SELECT id FROM tenants WHERE slug = 'two-queues'",
            ))
            .await
            .expect("tenant query")
            .expect("tenant row");
        row.try_get("", "id").expect("id")
    };
    for _ in 0..10 {
        db.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "INSERT INTO jobs (id, tenant_id, kind, payload, status, priority, attempts, max_attempts, \
             scheduled_for, created_at, updated_at) \
             SELECT gen_random_uuid(), $1, 'noop', '{}'::jsonb, 'PENDING', 0, 0, 5, now(), now(), now() \
             FROM generate_series(1, 100)",
            [tenant.into()],
        ))
        .await
        .expect("insert jobs");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one(Statement::from_string(DbBackend::Postgres, sql))
                .await
                .expect("count query")
                .expect("count row");
            row.try_get_by_index::<i64>(0).expect("count")
        }
    };
    wait_for(
        "the 1,000 jobs to finish",
        Duration::from_secs(90),
        || async {
            match count("SELECT count(*) FROM jobs WHERE kind = 'noop' AND status = 'COMPLETED'")
                .await
            {
                done if done >= 1000 => Ok(()),
                done => Err(done),
            }
        },
    )
    .await;
    assert_eq!(
        count("SELECT count(*) FROM jobs WHERE kind = 'noop' AND (status <> 'COMPLETED' OR attempts <> 1)")
            .await,
        0,
        "a job ran more than once or did not complete"
    );
    let workers = db
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            "SELECT locked_by, count(*) AS n FROM jobs WHERE kind = 'noop' GROUP BY locked_by",
        ))
        .await
        .expect("distribution");
    let pids: std::collections::BTreeSet<String> = workers
        .iter()
        .filter_map(|row| row.try_get::<String>("", "locked_by").ok())
        .filter_map(|worker| worker.split('-').next().map(str::to_owned))
        .collect();
    eprintln!(
        "jobs per worker: {:?}",
        workers
            .iter()
            .map(|r| (
                r.try_get::<String>("", "locked_by").ok(),
                r.try_get::<i64>("", "n").ok()
            ))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        pids.len(),
        2,
        "both processes should have run jobs: {pids:?}"
    );
}
