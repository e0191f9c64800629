//! Benchmark (not a test): events across replicas. Two server processes' worth of
//! `Application`s (replica A and replica B) share one PostgreSQL database and one Redis. Dashboards
//! on A subscribe to `leadScoreChanged(leadId)` over graphql-transport-ws, one lead each; score
//! changes (`adjustLeadScore` over HTTP) go to B with `BENCH_CONCURRENCY` in flight. The latency
//! of a change is from the moment B's answer arrives to the moment A's dashboard receives the
//! event (0 when the event wins the race). Every change must arrive exactly once.
//!
//! Baseline in the same run: two bare Redis buses (one per "replica"), the same number of
//! subscribers on the first, each keeping its own lead's events, and the same number of events
//! in flight published on the second; publish → receive.
//!
//! ```text
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:55433/postgres BENCH_REDIS_URL=redis://127.0.0.1:56380 cargo bench --bench cross_replica
//! ```
//! Knobs: `BENCH_DASHBOARDS` (default 200), `BENCH_CHANGES` (default 6000), `BENCH_CONCURRENCY`
//! (default 64). Exits 1 when an event is lost or duplicated.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{
    env_number, fresh_database, graphql, next_message, subscribed_socket, until_healthy, Figures,
};
use futures::StreamExt;
use leadline_api::app::Application;
use leadline_api::bus::{Event, EventBus, LeadScoreChanged};
use leadline_api::config::Config;
use leadline_domain::ids::TenantId;
use serde_json::json;
use tokio::sync::mpsc;
use uuid::Uuid;

/// One replica serving on loopback until `stop` fires.
struct Replica {
    addr: String,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn replica(settings: &[(&'static str, String)]) -> Replica {
    let config = Config::from_lookup(|key| {
        settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    })
    .expect("config");
    let app = Application::build(config).await.expect("build");
    until_healthy("the replica's bus", || app.state().bus.is_healthy()).await;
    let addr = app.local_addr().expect("addr").to_string();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));
    Replica { addr, stop, server }
}

/// Opens one dashboard socket on `addr` watching `lead`; reports `(reason, arrival)`.
async fn dashboard(
    addr: &str,
    token: &str,
    lead: &str,
    arrivals: mpsc::UnboundedSender<(String, Instant)>,
) -> tokio::task::JoinHandle<()> {
    let mut socket = subscribed_socket(
        addr,
        token,
        "subscription($id: ID) { leadScoreChanged(leadId: $id) { leadId reason } }",
        json!({"id": lead}),
    )
    .await;
    tokio::spawn(async move {
        while let Some((value, at)) = next_message(&mut socket).await {
            if let Some(reason) = value["payload"]["data"]["leadScoreChanged"]["reason"].as_str() {
                let _ = arrivals.send((reason.to_owned(), at));
            }
        }
    })
}

/// Collects arrivals until every key of `sent` arrived (then briefly listens for duplicates)
/// or nothing came for 15 s. Returns the arrivals and the last arrival.
async fn collect(
    sent: &HashMap<String, Instant>,
    arrivals: &mut mpsc::UnboundedReceiver<(String, Instant)>,
    started: Instant,
) -> (HashMap<String, Vec<Instant>>, Instant) {
    let mut received: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut last = started;
    loop {
        let patience = if sent.keys().all(|k| received.contains_key(k)) {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(15)
        };
        match tokio::time::timeout(patience, arrivals.recv()).await {
            Ok(Some((key, at))) => {
                if sent.contains_key(&key) {
                    last = last.max(at);
                    received.entry(key).or_default().push(at);
                }
            }
            _ => break,
        }
    }
    (received, last)
}

/// The bare-bus baseline: subscribers on `receiving`, events published on `publishing`.
async fn bus_baseline(
    publishing: EventBus,
    receiving: EventBus,
    dashboards: usize,
    changes: usize,
    in_flight: usize,
) -> Figures {
    let tenant = Uuid::now_v7();
    let leads: Vec<Uuid> = (0..dashboards).map(|_| Uuid::now_v7()).collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let delivered = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for lead in &leads {
        let mut stream = Box::pin(receiving.subscribe(TenantId(tenant)));
        let (tx, lead, delivered) = (tx.clone(), *lead, delivered.clone());
        readers.push(tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                let Ok(event) = item else { continue };
                if let Event::LeadScoreChanged(change) = &*event {
                    if change.lead_id == lead {
                        delivered.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.send((change.reason.clone(), Instant::now()));
                    }
                }
            }
        }));
    }
    drop(tx);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = HashMap::new();
    let started = Instant::now();
    for i in 0..changes {
        while sent.len().saturating_sub(delivered.load(Ordering::Relaxed)) >= in_flight {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        let reason = format!("b-{i}");
        sent.insert(reason.clone(), Instant::now());
        publishing.publish(
            TenantId(tenant),
            Event::LeadScoreChanged(LeadScoreChanged {
                lead_id: leads[i % leads.len()],
                score: 1,
                previous_score: 0,
                temperature: "COLD".into(),
                signal: "bench".into(),
                reason,
                at: chrono::Utc::now(),
            }),
        );
    }
    let (received, last) = collect(&sent, &mut rx, started).await;
    for reader in readers {
        reader.abort();
    }
    Figures::from_arrivals(&sent, &received, last.saturating_duration_since(started))
}

#[tokio::main]
async fn main() {
    let dashboards = env_number("BENCH_DASHBOARDS", 200).max(1);
    let changes = env_number("BENCH_CHANGES", 6000);
    let concurrency = env_number("BENCH_CONCURRENCY", 64).max(1);
    let (Ok(admin_url), Ok(redis_url)) = (
        std::env::var("BENCH_DATABASE_URL"),
        std::env::var("BENCH_REDIS_URL"),
    ) else {
        eprintln!("cross_replica needs BENCH_DATABASE_URL (PostgreSQL) and BENCH_REDIS_URL: replicas share both");
        std::process::exit(2);
    };
    let database_url = fresh_database(&admin_url, "leadline_bench_replicas").await;
    let prefix = format!("bench-{}", Uuid::now_v7().simple());
    let settings = vec![
        ("DATABASE_URL", database_url),
        ("REDIS_URL", redis_url.clone()),
        ("LEADLINE_REDIS_PREFIX", prefix.clone()),
        ("LEADLINE_ADDR", "127.0.0.1:0".to_owned()),
        ("LEADLINE_WORKERS", "0".to_owned()),
        ("DATABASE_MAX_CONNECTIONS", (concurrency + 8).to_string()),
        // Both replicas sign and verify the same tokens, as a deployment's would.
        (
            "JWT_SECRET",
            "a-cross-replica-bench-secret-of-32-bytes-or-more".to_owned(),
        ),
        // One owner token watches every dashboard here; in production they are many users.
        (
            "LEADLINE_WS_MAX_SOCKETS_PER_PRINCIPAL",
            dashboards.max(16).to_string(),
        ),
        ("RUST_LOG", "warn".to_owned()),
    ];
    // A migrates first; B then finds the schema current.
    let a = replica(&settings).await;
    let b = replica(&settings).await;

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let owner = graphql(&http, &a.addr, None,
        "mutation { signUp(input: {email: \"bench@replicas.test\", password: \"correct horse battery\", tenantName: \"Bench\", tenantSlug: \"bench-replicas\"}) { token } }",
        json!({})).await["signUp"]["token"].as_str().expect("token").to_owned();
    eprintln!("creating {dashboards} leads…");
    let mut leads = Vec::with_capacity(dashboards);
    for i in 0..dashboards {
        let lead = graphql(
            &http,
            &a.addr,
            Some(&owner),
            "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
            json!({"input": {"name": format!("Lead {i}")}}),
        )
        .await["createLead"]["lead"]["id"]
            .as_str()
            .expect("lead")
            .to_owned();
        leads.push(lead);
    }

    eprintln!("opening {dashboards} dashboards on replica A…");
    let (arrivals_tx, mut arrivals_rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let mut sockets = Vec::new();
    for lead in &leads {
        sockets.push(dashboard(&a.addr, &owner, lead, arrivals_tx.clone()).await);
    }
    drop(arrivals_tx);

    // One probe per dashboard through B: when all have arrived, every subscription is live.
    let mut probes = HashMap::new();
    for (i, lead) in leads.iter().enumerate() {
        let reason = format!("probe-{i}");
        graphql(&http, &b.addr, Some(&owner),
            "mutation($input: AdjustLeadScoreInput!) { adjustLeadScore(input: $input) { lead { id } } }",
            json!({"input": {"leadId": lead, "delta": 1, "signal": "bench", "reason": reason}})).await;
        probes.insert(reason, Instant::now());
    }
    let (probed, _) = collect(&probes, &mut arrivals_rx, Instant::now()).await;
    assert_eq!(
        probed.len(),
        dashboards,
        "every dashboard hears its probe (only {} did)",
        probed.len()
    );

    eprintln!("{changes} score changes on replica B, {concurrency} in flight…");
    let answered: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    futures::stream::iter(0..changes)
        .map(|i| {
            let (http, addr, owner, answered) =
                (http.clone(), b.addr.clone(), owner.clone(), answered.clone());
            let lead = leads[i % leads.len()].clone();
            // Up and down by one keeps the score off its clamps, so every change moves it.
            let delta = if (i / leads.len()) % 2 == 0 { 1 } else { -1 };
            async move {
                let reason = format!("c-{i}");
                graphql(&http, &addr, Some(&owner),
                    "mutation($input: AdjustLeadScoreInput!) { adjustLeadScore(input: $input) { lead { id } } }",
                    json!({"input": {"leadId": lead, "delta": delta, "signal": "bench", "reason": reason}})).await;
                answered.lock().unwrap().insert(reason, Instant::now());
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await;
    let answered = answered.lock().unwrap().clone();
    let (received, last) = collect(&answered, &mut arrivals_rx, started).await;
    let events = Figures::from_arrivals(
        &answered,
        &received,
        last.saturating_duration_since(started),
    );
    for socket in sockets {
        socket.abort();
    }

    let publishing = EventBus::redis(&redis_url, &format!("{prefix}-baseline")).expect("bus");
    let receiving = EventBus::redis(&redis_url, &format!("{prefix}-baseline")).expect("bus");
    until_healthy("the baseline buses", || async {
        publishing.is_healthy().await && receiving.is_healthy().await
    })
    .await;
    let bus = bus_baseline(publishing, receiving, dashboards, changes, concurrency).await;

    println!("cross_replica (PostgreSQL + Redis, 2 replicas): {dashboards} dashboards on A, {changes} changes on B, {concurrency} in flight");
    events.print("event (B answer → A socket)", "evt");
    bus.print("bare bus (B publish → A recv)", "evt");
    println!(
        "  ratio event/bus: throughput {:.4}, p99 latency {:.1}x",
        events.per_second / bus.per_second.max(f64::MIN_POSITIVE),
        events.p99.as_secs_f64() / bus.p99.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    for replica in [a, b] {
        let _ = replica.stop.send(());
        let _ = replica.server.await;
    }
    if events.lost > 0 || events.duplicates > 0 {
        eprintln!("FAILED: events were lost or duplicated");
        std::process::exit(1);
    }
}
