//! Benchmark (not a test): signed WhatsApp webhooks accepted and committed per second, each one a
//! new contact, so every request verifies the signature on the raw body and commits
//! lead + identity + conversation + message + `ai_response` job in one transaction.
//!
//! Baseline in the same run: `pgbench` (its default TPC-B-like write transaction) against the
//! same PostgreSQL server with the same client concurrency, so the figure reads as "webhooks per
//! second as a fraction of what this database commits for a small write transaction".
//!
//! ```text
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres cargo bench --bench webhook_ingest
//! ```
//! Knobs: `BENCH_REQUESTS` (default 5000), `BENCH_CONCURRENCY` (default 32), `PGBENCH` (path of
//! the pgbench binary; default: found under /usr/lib/postgresql/*/bin or on PATH). Without
//! `BENCH_DATABASE_URL` it measures a fresh SQLite file and skips pgbench.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

mod common;

use common::{env_number, fresh_database, graphql, percentile};
use leadline_api::app::Application;
use leadline_api::config::Config;
use leadline_whatsapp::fake::FakeWhatsApp;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

fn pgbench_binary() -> Option<String> {
    if let Ok(path) = std::env::var("PGBENCH") {
        return Some(path);
    }
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|d| d.path().join("bin/pgbench"))
        .filter(|p| p.exists())
        .collect();
    found.sort();
    found
        .pop()
        .map(|p| p.display().to_string())
        .or_else(|| Some("pgbench".into()))
}

/// Runs pgbench (init scale 1, then `-T 10` at `clients`) on a fresh database; returns tps and
/// the average latency in ms.
async fn pgbench(admin_url: &str, clients: usize) -> Option<(f64, f64)> {
    let url = fresh_database(admin_url, "leadline_bench_pgbench").await;
    let bin = pgbench_binary()?;
    let init = std::process::Command::new(&bin)
        .args(["-i", "-s", "1", "-q", &url])
        .output()
        .ok()?;
    if !init.status.success() {
        eprintln!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        return None;
    }
    let run = std::process::Command::new(&bin)
        .args([
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            "10",
            "-n",
            &url,
        ])
        .output()
        .ok()?;
    let out = String::from_utf8_lossy(&run.stdout);
    let number_after = |label: &str| -> Option<f64> {
        out.lines()
            .find(|l| l.starts_with(label))?
            .split('=')
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some((number_after("tps")?, number_after("latency average")?))
}

#[tokio::main]
async fn main() {
    let requests = env_number("BENCH_REQUESTS", 5000);
    let concurrency = env_number("BENCH_CONCURRENCY", 32).max(1);
    let admin_url = std::env::var("BENCH_DATABASE_URL").ok();
    let work = std::env::temp_dir().join(format!("leadline-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&work).expect("work dir");
    let database_url = match &admin_url {
        Some(admin) => fresh_database(admin, "leadline_bench_webhooks").await,
        None => format!("sqlite://{}?mode=rwc", work.join("bench.db").display()),
    };

    let fake = FakeWhatsApp::start().await.expect("fake whatsapp");
    let settings = [
        ("DATABASE_URL", database_url.clone()),
        ("LEADLINE_ADDR", "127.0.0.1:0".to_owned()),
        // Only the request path is measured: no worker drains the ai_response jobs.
        ("LEADLINE_WORKERS", "0".to_owned()),
        ("DATABASE_MAX_CONNECTIONS", (concurrency + 4).to_string()),
        ("LEADLINE_SIGNUP_RATE_PER_MINUTE", "1000".to_owned()),
    ];
    let config = Config::from_lookup(|key| {
        settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    })
    .expect("config");
    let app = Application::build(config).await.expect("build");
    let addr = app.local_addr().expect("addr").to_string();
    let base = format!("http://{addr}");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let gql = |token: Option<String>, query: &'static str, variables: Value| {
        let (http, addr) = (http.clone(), addr.clone());
        async move { graphql(&http, &addr, token.as_deref(), query, variables).await }
    };
    let signed_up = gql(
        None,
        "mutation { signUp(input: {email: \"bench@bench.test\", password: \"bench password 123\", tenantName: \"Bench\", tenantSlug: \"bench\"}) { token } }",
        json!({}),
    )
    .await;
    let token = signed_up["signUp"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    gql(
        Some(token.clone()),
        "mutation($id: String!, $secret: String!) { upsertChannelConnection(input: {channel: WHATSAPP, externalAccountId: $id, appSecret: $secret, verifyToken: \"bench\", accessToken: \"bench\"}) { created } }",
        json!({"id": fake.phone_number_id(), "secret": fake.app_secret()}),
    )
    .await;

    // Every delivery from a different customer: the full lead+conversation+message+job path.
    let deliveries: Vec<_> = (0..requests)
        .map(|i| {
            fake.signed_text_message_webhook(
                &format!("1650555{i:04}"),
                &format!("Customer {i}"),
                "Hi! Do you have the blue one in stock? How much is it?",
            )
        })
        .collect();
    let url = Arc::new(format!("{base}/api/webhook/whatsapp/bench"));
    // Warm up the connection pools (not counted).
    let warm = fake.signed_text_message_webhook("19995550000", "Warm", "hello");
    let status = http
        .post(url.as_str())
        .headers(warm.headers.clone())
        .body(warm.body.clone())
        .send()
        .await
        .expect("warm-up")
        .status();
    assert_eq!(status, 200, "the webhook refused the warm-up delivery");

    eprintln!("sending {requests} signed webhooks with {concurrency} concurrent clients…");
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for delivery in deliveries {
        let permit = gate.clone().acquire_owned().await.expect("gate");
        let http = http.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let begun = Instant::now();
            let status = http
                .post(url.as_str())
                .headers(delivery.headers)
                .body(delivery.body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            drop(permit);
            (status, begun.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut failures = 0usize;
    for task in tasks {
        let (status, took) = task.await.expect("task");
        if status == 200 {
            latencies.push(took);
        } else {
            failures += 1;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    let p50 = percentile(&latencies, 0.50);
    let p99 = percentile(&latencies, 0.99);

    // Everything committed: one ai_response job per accepted delivery (plus the warm-up).
    let stats = gql(Some(token), "{ jobQueueStats { pending } }", json!({})).await;
    let pending = stats["jobQueueStats"]["pending"].as_u64().unwrap_or(0);

    let _ = stop_tx.send(());
    let _ = server.await;

    println!("webhook_ingest: {requests} signed WhatsApp webhooks, {concurrency} concurrent clients, database {}",
        if admin_url.is_some() { "PostgreSQL" } else { "SQLite" });
    println!(
        "  accepted+committed: {rate:.0}/s  p50 {:.2} ms  p99 {:.2} ms  non-200: {failures}  jobs pending: {pending}",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    if let Some(admin) = &admin_url {
        match pgbench(admin, concurrency).await {
            Some((tps, latency)) => {
                println!(
                    "  baseline pgbench (TPC-B-like, -c {concurrency}, same server): {tps:.0} tps, avg latency {latency:.2} ms"
                );
                println!("  ratio webhooks/pgbench: {:.3}", rate / tps);
            }
            None => println!(
                "  baseline pgbench: not available (install postgresql-client or set PGBENCH)"
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
}
