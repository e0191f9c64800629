//! Redis pub/sub backend: one publisher connection and ONE pattern subscription per process.
//!
//! Channel names are `{prefix}:tenant:{tenant_id}`; the subscriber listens on `{prefix}:tenant:*`
//! and hands each message to the local hub, which fans it out to this process's subscribers.
//! The publishing process has already delivered its own events locally (`EventBus::publish`), so
//! it recognises its echo by the payload's leading `origin` and skips it without decoding.
//!
//! Overflow is never silent: events dropped because the publish queue was full (or Redis refused
//! a batch) are counted per tenant, and the next batch carries one "missed" marker per such
//! tenant, which every other replica turns into `BusError::Lagged` for that tenant's subscribers
//! so they reload.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, Mutex};
use uuid::Uuid;

use super::{Delivery, Event, LocalHub};

/// Events waiting to be published before new ones are dropped (and counted): bounds memory
/// while Redis is away instead of letting a queue grow without limit.
const PUBLISH_QUEUE: usize = 10_000;
/// How long one Redis round trip may take before it counts as a failure.
const IO_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Most events sent to Redis in one pipelined round trip.
const MAX_BATCH: usize = 512;

/// What goes out on a tenant channel. `origin` is serialised first so a process can spot its
/// own echo from the payload's first bytes.
#[derive(Serialize)]
struct Outgoing<'a> {
    origin: Uuid,
    tenant_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a Event>,
    /// Events of the tenant this publisher had to drop since its last marker.
    #[serde(skip_serializing_if = "Option::is_none")]
    missed: Option<u64>,
}

/// What comes in: an event, or a missed-events marker.
#[derive(Deserialize)]
struct Incoming {
    tenant_id: Uuid,
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    missed: Option<u64>,
}

/// Events dropped per tenant, not yet announced.
type Missed = Arc<StdMutex<HashMap<Uuid, u64>>>;

fn count_missed(missed: &Missed, tenant_id: Uuid, count: u64) {
    let mut missed = missed
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let first = !missed.contains_key(&tenant_id);
    *missed.entry(tenant_id).or_default() += count;
    if first {
        tracing::warn!(%tenant_id, "event bus dropped events; that tenant's subscribers on other replicas will be told to reload");
    }
}

pub(super) struct RedisBus {
    outbox: mpsc::Sender<(Uuid, Arc<Event>)>,
    missed: Missed,
    subscribed: Arc<AtomicBool>,
    client: redis::Client,
    ping_connection: Mutex<Option<MultiplexedConnection>>,
}

impl RedisBus {
    pub(super) fn start(url: &str, prefix: &str, hub: Arc<LocalHub>) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let (outbox, inbox) = mpsc::channel(PUBLISH_QUEUE);
        let subscribed = Arc::new(AtomicBool::new(false));
        let missed = Missed::default();
        let origin = Uuid::new_v4();
        tokio::spawn(publish_loop(
            client.clone(),
            format!("{prefix}:tenant:"),
            inbox,
            origin,
            missed.clone(),
        ));
        tokio::spawn(subscribe_loop(
            client.clone(),
            format!("{prefix}:tenant:*"),
            hub,
            subscribed.clone(),
            origin,
        ));
        Ok(Self {
            outbox,
            missed,
            subscribed,
            client,
            ping_connection: Mutex::new(None),
        })
    }

    /// Queues `event` for the other replicas (this one delivered it already).
    pub(super) fn publish(&self, tenant_id: Uuid, event: Arc<Event>) {
        if self.outbox.try_send((tenant_id, event)).is_err() {
            metrics::counter!("leadline_bus_events_dropped_total", "reason" => "queue_full")
                .increment(1);
            count_missed(&self.missed, tenant_id, 1);
        }
    }

    pub(super) fn is_subscribed(&self) -> bool {
        self.subscribed.load(Ordering::SeqCst)
    }

    /// Ready means: Redis answers PING and our subscription is live.
    pub(super) async fn ping(&self) -> bool {
        let mut slot = self.ping_connection.lock().await;
        if slot.is_none() {
            *slot =
                tokio::time::timeout(IO_TIMEOUT, self.client.get_multiplexed_async_connection())
                    .await
                    .ok()
                    .and_then(Result::ok);
        }
        let Some(connection) = slot.as_mut() else {
            return false;
        };
        let answered = matches!(
            tokio::time::timeout(
                IO_TIMEOUT,
                redis::cmd("PING").query_async::<String>(connection)
            )
            .await,
            Ok(Ok(_))
        );
        if !answered {
            *slot = None;
        }
        answered && self.is_subscribed()
    }
}

/// Publishes in pipelined batches: everything queued while the previous round trip was in
/// flight goes out in the next one, in order, led by the missed-events markers. One PUBLISH
/// awaited at a time capped a process at one event per round trip, so under load events waited
/// seconds in the queue.
async fn publish_loop(
    client: redis::Client,
    channel_prefix: String,
    mut inbox: mpsc::Receiver<(Uuid, Arc<Event>)>,
    origin: Uuid,
    missed: Missed,
) {
    let mut connection: Option<MultiplexedConnection> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut pipeline = redis::pipe();
        let mut count = 0_u64;
        let markers = std::mem::take(&mut *missed.lock().unwrap_or_else(|p| p.into_inner()));
        let items = markers
            .iter()
            .map(|(tenant_id, missed)| Outgoing {
                origin,
                tenant_id: *tenant_id,
                event: None,
                missed: Some(*missed),
            })
            .chain(batch.iter().map(|(tenant_id, event)| Outgoing {
                origin,
                tenant_id: *tenant_id,
                event: Some(&**event),
                missed: None,
            }));
        for item in items {
            match serde_json::to_string(&item) {
                Ok(payload) => {
                    pipeline
                        .cmd("PUBLISH")
                        .arg(format!("{channel_prefix}{}", item.tenant_id))
                        .arg(payload)
                        .ignore();
                    count += 1;
                }
                Err(error) => tracing::error!(%error, "event could not be serialised; dropped"),
            }
        }
        if count == 0 {
            batch.clear();
            continue;
        }
        if connection.is_none() {
            connection =
                tokio::time::timeout(IO_TIMEOUT, client.get_multiplexed_async_connection())
                    .await
                    .ok()
                    .and_then(Result::ok);
        }
        let sent = match connection.as_mut() {
            Some(conn) => matches!(
                tokio::time::timeout(IO_TIMEOUT, pipeline.query_async::<()>(conn)).await,
                Ok(Ok(()))
            ),
            None => false,
        };
        if sent {
            metrics::histogram!("leadline_bus_publish_batch_size").record(count as f64);
        } else {
            connection = None;
            metrics::counter!("leadline_bus_events_dropped_total", "reason" => "redis_unavailable")
                .increment(count);
            // Announced with the next batch that gets through, with the markers not sent now.
            for (tenant_id, dropped) in markers {
                count_missed(&missed, tenant_id, dropped);
            }
            for (tenant_id, _) in &batch {
                count_missed(&missed, *tenant_id, 1);
            }
        }
        batch.clear();
    }
}

async fn subscribe_loop(
    client: redis::Client,
    pattern: String,
    hub: Arc<LocalHub>,
    subscribed: Arc<AtomicBool>,
    origin: Uuid,
) {
    let own_echo = format!("{{\"origin\":\"{origin}\"");
    let mut backoff = Duration::from_millis(100);
    loop {
        match tokio::time::timeout(IO_TIMEOUT, client.get_async_pubsub()).await {
            Ok(Ok(mut pubsub)) => {
                if pubsub.psubscribe(&pattern).await.is_ok() {
                    subscribed.store(true, Ordering::SeqCst);
                    backoff = Duration::from_millis(100);
                    tracing::info!(%pattern, "event bus subscribed to redis");
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        metrics::counter!("leadline_bus_events_received_total").increment(1);
                        let payload = message.get_payload_bytes();
                        if payload.starts_with(own_echo.as_bytes()) {
                            continue;
                        }
                        match serde_json::from_slice::<Incoming>(payload) {
                            Ok(Incoming {
                                tenant_id,
                                event: Some(event),
                                ..
                            }) => hub.deliver(tenant_id, Delivery::Event(Arc::new(event))),
                            Ok(Incoming {
                                tenant_id,
                                missed: Some(missed),
                                ..
                            }) => hub.deliver(tenant_id, Delivery::Missed(missed)),
                            Ok(_) => tracing::warn!("empty message on the bus; ignored"),
                            Err(error) => {
                                tracing::warn!(%error, "undecodable event on the bus; ignored")
                            }
                        }
                    }
                }
            }
            Ok(Err(error)) => tracing::debug!(%error, "redis pub/sub connect failed"),
            Err(_) => tracing::debug!("redis pub/sub connect timed out"),
        }
        if subscribed.swap(false, Ordering::SeqCst) {
            tracing::warn!(
                "event bus lost its redis subscription; telling subscribers and reconnecting"
            );
            hub.disconnect_all();
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
