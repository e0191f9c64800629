//! Benchmark (not a test): 1,000 concurrent support sessions, each with its customer subscribed
//! to `supportSessionEvents` over graphql-transport-ws, exchanging messages through one server
//! process. Each customer sends `BENCH_MESSAGES` messages (`sendSupportMessage` over HTTP, the
//! full path: auth, idempotency lookup, insert + `ai_response` job in one transaction, publish);
//! the latency of a message is from just before its HTTP request to its `MessageAdded` on the
//! customer's socket. Every message must arrive exactly once (loss and duplicates are counted).
//!
//! Baseline in the same run: the bare event bus (the same backend: in process, or Redis when
//! `BENCH_REDIS_URL` is set) with the same number of subscribers, each filtering for its own
//! session, publish → receive. The report gives both and their ratio.
//!
//! ```text
//! cargo bench --bench support_sessions
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:55434/postgres BENCH_REDIS_URL=redis://127.0.0.1:56381 cargo bench --bench support_sessions
//! ```
//! Knobs: `BENCH_SESSIONS` (default 1000), `BENCH_MESSAGES` per session (default 5),
//! `BENCH_CONCURRENCY` (in-flight sends, default 64). The AI's turns are not part of the figure
//! (`LEADLINE_WORKERS=0`: the `ai_response` jobs are committed but not run).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
mod common;

use common::{
    env_number, fresh_database, graphql, next_message, subscribed_socket, until_healthy, Figures,
};
use leadline_api::app::Application;
use leadline_api::bus::{Event, EventBus, SupportEvent};
use leadline_api::config::Config;
use leadline_domain::ids::TenantId;
use serde_json::{json, Value};
use tokio::sync::{mpsc, Semaphore};
use uuid::Uuid;

/// Bare bus: `sessions` subscribers, each keeping only its session's events, the same fan-out
/// shape as the chat. The publisher keeps at most `in_flight` events undelivered (the chat's
/// concurrency), so the baseline measures the bus's delivery, not a burst overrunning its
/// buffers.
async fn bus_baseline(
    bus: EventBus,
    sessions: usize,
    per_session: usize,
    in_flight: usize,
) -> Figures {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let tenant = Uuid::now_v7();
    let ids: Vec<Uuid> = (0..sessions).map(|_| Uuid::now_v7()).collect();
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let delivered = Arc::new(AtomicUsize::new(0));
    let mut readers = Vec::new();
    for id in &ids {
        let mut stream = Box::pin(bus.subscribe(TenantId(tenant)));
        let (tx, id, delivered) = (tx.clone(), *id, delivered.clone());
        readers.push(tokio::spawn(async move {
            while let Some(item) = stream.next().await {
                // A lagging subscriber misses events (counted as lost below) but keeps going.
                let Ok(event) = item else { continue };
                if let Event::Support {
                    session_id,
                    event: SupportEvent::AiProcessing { message_id },
                } = &*event
                {
                    if *session_id == id {
                        delivered.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.send((message_id.to_string(), Instant::now()));
                    }
                }
            }
        }));
    }
    drop(tx);
    // Let the Redis subscription settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = HashMap::new();
    let started = Instant::now();
    for _ in 0..per_session {
        for id in &ids {
            while sent.len().saturating_sub(delivered.load(Ordering::Relaxed)) >= in_flight {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            let message_id = Uuid::now_v7();
            sent.insert(message_id.to_string(), Instant::now());
            bus.publish(
                TenantId(tenant),
                Event::Support {
                    session_id: *id,
                    event: SupportEvent::AiProcessing { message_id },
                },
            );
        }
    }
    let mut received: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut last = started;
    while received.len() < sent.len() {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some((key, at))) => {
                last = last.max(at);
                received.entry(key).or_default().push(at);
            }
            _ => break,
        }
    }
    for reader in readers {
        reader.abort();
    }
    Figures::from_arrivals(&sent, &received, last.saturating_duration_since(started))
}

#[tokio::main]
async fn main() {
    let sessions = env_number("BENCH_SESSIONS", 1000);
    let per_session = env_number("BENCH_MESSAGES", 5);
    let concurrency = env_number("BENCH_CONCURRENCY", 64).max(1);
    let admin_url = std::env::var("BENCH_DATABASE_URL").ok();
    let redis_url = std::env::var("BENCH_REDIS_URL").ok();
    let work = std::env::temp_dir().join(format!("leadline-bench-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&work).expect("work dir");
    let database_url = match &admin_url {
        Some(admin) => fresh_database(admin, "leadline_bench_support").await,
        None => format!("sqlite://{}?mode=rwc", work.join("bench.db").display()),
    };
    let prefix = format!("bench-{}", Uuid::now_v7().simple());
    let mut settings = vec![
        ("DATABASE_URL", database_url.clone()),
        ("LEADLINE_ADDR", "127.0.0.1:0".to_owned()),
        ("LEADLINE_WORKERS", "0".to_owned()),
        ("DATABASE_MAX_CONNECTIONS", (concurrency + 8).to_string()),
        ("LEADLINE_REDIS_PREFIX", prefix.clone()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    if let Some(url) = &redis_url {
        settings.push(("REDIS_URL", url.clone()));
    }
    let config = Config::from_lookup(|key| {
        settings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    })
    .expect("config");
    let app = Application::build(config).await.expect("build");
    let addr = app.local_addr().expect("addr").to_string();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let gql = {
        let (http, addr) = (http.clone(), addr.clone());
        move |token: String, query: &'static str, variables: Value| {
            let (http, addr) = (http.clone(), addr.clone());
            async move { graphql(&http, &addr, Some(&token), query, variables).await }
        }
    };
    let signed_up = graphql(&http, &addr, None, "mutation { signUp(input: {email: \"bench@support.test\", password: \"correct horse battery\", tenantName: \"Bench\", tenantSlug: \"bench-support\"}) { token } }", json!({})).await;
    let owner = signed_up["signUp"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let key = gql(
        owner,
        "mutation { createApiKey(input: {name: \"bench\", scopes: [READ, WRITE]}) { key } }",
        json!({}),
    )
    .await["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();

    // Customers and their sessions.
    eprintln!("setting up {sessions} customers and sessions…");
    let limit = Arc::new(Semaphore::new(concurrency));
    let setups = futures::future::join_all((0..sessions).map(|i| {
        let (gql, key, limit) = (gql.clone(), key.clone(), limit.clone());
        async move {
            let _permit = limit.acquire().await.expect("permit");
            let token = gql(
                key,
                "mutation($input: CreateCustomerTokenInput!) { createCustomerToken(input: $input) { token } }",
                json!({"input": {"externalUserId": format!("bench-{i}"), "name": format!("Customer {i}")}}),
            )
            .await["createCustomerToken"]["token"]
                .as_str()
                .expect("customer token")
                .to_owned();
            let session = gql(
                token.clone(),
                "mutation { createSupportSession { session { id } } }",
                json!({}),
            )
            .await["createSupportSession"]["session"]["id"]
                .as_str()
                .expect("session")
                .to_owned();
            (token, session)
        }
    }))
    .await;

    // One socket per customer, subscribed to its session; each reports MessageAdded arrivals.
    eprintln!("opening {sessions} subscriptions…");
    let (arrivals_tx, mut arrivals_rx) = mpsc::unbounded_channel::<(String, Instant)>();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let mut sockets = Vec::new();
    for (token, session) in &setups {
        let mut socket = subscribed_socket(
            &addr,
            token,
            "subscription($id: ID!) { supportSessionEvents(sessionId: $id) { __typename ... on MessageAdded { message { clientMessageId } } } }",
            json!({"id": session}),
        )
        .await;
        let (arrivals, ready) = (arrivals_tx.clone(), ready_tx.clone());
        sockets.push(tokio::spawn(async move {
            while let Some((value, at)) = next_message(&mut socket).await {
                let event = &value["payload"]["data"]["supportSessionEvents"];
                match event["__typename"].as_str() {
                    Some("SessionHistory") => {
                        let _ = ready.send(());
                    }
                    Some("MessageAdded") => {
                        if let Some(key) = event["message"]["clientMessageId"].as_str() {
                            let _ = arrivals.send((key.to_owned(), at));
                        }
                    }
                    _ => {}
                }
            }
        }));
    }
    drop(ready_tx);
    for _ in 0..sessions {
        ready_rx.recv().await.expect("every subscription starts");
    }

    eprintln!("exchanging {} messages…", sessions * per_session);
    let sent_at: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    // When each send's HTTP answer came back: the delivery part of the latency is measured from
    // there (0 when the event wins the race), as the cross-replica bench does.
    let answered_at: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let started = Instant::now();
    let sends = futures::stream::iter((0..per_session).flat_map(|round| {
        setups
            .iter()
            .enumerate()
            .map(move |(i, (token, session))| (round, i, token.clone(), session.clone()))
    }))
    .map(|(round, i, token, session)| {
        let (gql, sent_at, answered_at) = (gql.clone(), sent_at.clone(), answered_at.clone());
        async move {
            let key = format!("m-{i}-{round}");
            sent_at
                .lock()
                .unwrap()
                .insert(key.clone(), Instant::now());
            gql(
                token,
                "mutation($input: SendSupportMessageInput!) { sendSupportMessage(input: $input) { created } }",
                json!({"input": {"sessionId": session, "text": format!("message {round} of {i}"), "clientMessageId": key}}),
            )
            .await;
            answered_at.lock().unwrap().insert(key, Instant::now());
        }
    })
    .buffer_unordered(concurrency);
    sends.collect::<Vec<_>>().await;
    let sent = sent_at.lock().unwrap().clone();
    let mut received: HashMap<String, Vec<Instant>> = HashMap::new();
    let mut last = started;
    loop {
        let arrived: usize = received.len();
        if arrived >= sent.len() {
            // Keep listening briefly for duplicates.
            if let Ok(Some((key, at))) =
                tokio::time::timeout(Duration::from_millis(500), arrivals_rx.recv()).await
            {
                received.entry(key).or_default().push(at);
                continue;
            }
            break;
        }
        match tokio::time::timeout(Duration::from_secs(15), arrivals_rx.recv()).await {
            Ok(Some((key, at))) => {
                last = last.max(at);
                received.entry(key).or_default().push(at);
            }
            _ => break,
        }
    }
    let chat = Figures::from_arrivals(&sent, &received, last.saturating_duration_since(started));
    let answered = answered_at.lock().unwrap().clone();
    let delivery = Figures::from_arrivals(
        &answered,
        &received,
        last.saturating_duration_since(started),
    );
    for socket in sockets {
        socket.abort();
    }

    let baseline_bus = match &redis_url {
        Some(url) => EventBus::redis(url, &format!("{prefix}-baseline")).expect("redis bus"),
        None => EventBus::in_process(),
    };
    // A Redis bus refuses subscriptions until its own subscription is live (they would end at
    // once with Disconnected): wait for that, as `/readyz` does for the server.
    until_healthy("the baseline bus", || baseline_bus.is_healthy()).await;
    let bus = bus_baseline(baseline_bus, sessions, per_session, concurrency).await;

    let backend = match (&admin_url, &redis_url) {
        (Some(_), Some(_)) => "PostgreSQL + Redis",
        (Some(_), None) => "PostgreSQL, in-process bus",
        (None, Some(_)) => "SQLite, Redis bus",
        (None, None) => "SQLite, in-process bus",
    };
    println!("support_sessions ({backend}): {sessions} subscribed sessions, {per_session} messages each, {concurrency} in flight");
    chat.print("chat (send → MessageAdded)", "msg");
    delivery.print("delivery (answer → Added)", "msg");
    bus.print("bare bus (publish → recv)", "msg");
    println!(
        "  ratio chat/bus: throughput {:.4}, p99 latency {:.1}x",
        chat.per_second / bus.per_second.max(f64::MIN_POSITIVE),
        chat.p99.as_secs_f64() / bus.p99.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    // Little's law: with `concurrency` sends in flight, a send's own round trip is about
    // concurrency / throughput, whatever the bus does; this line separates the two.
    println!(
        "  ratio delivery/bus: p99 latency {:.1}x; send round trip by Little's law {:.1} ms",
        delivery.p99.as_secs_f64() / bus.p99.as_secs_f64().max(f64::MIN_POSITIVE),
        concurrency as f64 / chat.per_second.max(f64::MIN_POSITIVE) * 1e3
    );
    let _ = stop_tx.send(());
    let _ = server.await;
    if chat.lost > 0 || chat.duplicates > 0 {
        eprintln!("FAILED: messages were lost or duplicated");
        std::process::exit(1);
    }
}
