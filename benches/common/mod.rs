//! What the workspace benches share: knobs from the environment, a fresh PostgreSQL database,
//! and latency figures printed in one stable line format (so runs compare across changes).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A client WebSocket to the server under test.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// GraphQL over HTTP on `addr`, with a bearer token when given; panics on errors (a bench with
/// failing requests measures nothing). Returns `data`.
pub async fn graphql(
    http: &reqwest::Client,
    addr: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = http
        .post(format!("http://{addr}/graphql"))
        .json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let body: Value = request
        .send()
        .await
        .expect("graphql")
        .json()
        .await
        .expect("json");
    assert!(body["errors"].is_null(), "{body}");
    body["data"].clone()
}

/// A graphql-transport-ws socket on `addr`, initialised with `token` and running one
/// subscription (id "1"); the caller reads it (and answers pings).
pub async fn subscribed_socket(addr: &str, token: &str, query: &str, variables: Value) -> Socket {
    let mut request = format!("ws://{addr}/graphql/ws")
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect");
    socket
        .send(Message::Text(
            json!({"type": "connection_init", "payload": {"token": token}})
                .to_string()
                .into(),
        ))
        .await
        .expect("init");
    socket
        .send(Message::Text(
            json!({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}})
                .to_string()
                .into(),
        ))
        .await
        .expect("subscribe");
    socket
}

/// A numeric knob from the environment, or `default`.
pub fn env_number(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Creates an empty database named `{prefix}_{uuid}` on the server of `admin_url`; returns its URL.
pub async fn fresh_database(admin_url: &str, prefix: &str) -> String {
    leadline_api::store::testkit::create_postgres_database(admin_url, prefix)
        .await
        .expect("create the bench database")
}

/// Waits up to 10 s until `healthy` holds (a Redis bus subscribes in the background and refuses
/// subscriptions until then), through the test kit's `eventually`. A bus that never comes up
/// fails the bench: its figures would measure nothing.
pub async fn until_healthy<F, Fut>(what: &str, healthy: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    leadline_api::store::testkit::eventually(
        what,
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            if healthy().await {
                Ok(())
            } else {
                Err("not healthy yet")
            }
        },
    )
    .await
    .expect("the bus to come up");
}

/// The `p` quantile (0–1) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Delivery figures of one run: each key sent once, received zero or more times.
pub struct Figures {
    pub delivered: usize,
    pub lost: usize,
    pub duplicates: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Figures {
    /// Latency of a key is from its `sent` instant to its first arrival; `wall` is the run.
    pub fn from_arrivals(
        sent: &HashMap<String, Instant>,
        received: &HashMap<String, Vec<Instant>>,
        wall: Duration,
    ) -> Self {
        let mut latencies = Vec::new();
        let mut duplicates = 0;
        for (key, at) in sent {
            if let Some(arrivals) = received.get(key) {
                latencies.push(arrivals[0].saturating_duration_since(*at));
                duplicates += arrivals.len() - 1;
            }
        }
        latencies.sort();
        Self {
            delivered: latencies.len(),
            lost: sent.len() - latencies.len(),
            duplicates,
            per_second: latencies.len() as f64 / wall.as_secs_f64().max(f64::MIN_POSITIVE),
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
        }
    }

    /// Prints the stable summary line.
    pub fn print(&self, name: &str, unit: &str) {
        println!(
            "  {name:<28} {:>9.0} {unit}/s  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  delivered {} lost {} duplicates {}",
            self.per_second,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3,
            self.delivered,
            self.lost,
            self.duplicates
        );
    }
}

/// The next graphql-transport-ws message on `socket` and when it arrived, answering the server's
/// pings on the way; `None` once the socket ends.
pub async fn next_message(socket: &mut Socket) -> Option<(Value, Instant)> {
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let at = Instant::now();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if value["type"] == "ping" {
            let _ = socket
                .send(Message::Text(json!({"type": "pong"}).to_string().into()))
                .await;
            continue;
        }
        return Some((value, at));
    }
    None
}
