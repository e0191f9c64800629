//! Redis pub/sub backend: one publisher connection and ONE pattern subscription per process.
//!
//! Channel names are `{prefix}:tenant:{tenant_id}`; the subscriber listens on `{prefix}:tenant:*`
//! and hands each message to the local hub, which fans it out to this process's subscribers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use redis::aio::MultiplexedConnection;
use tokio::sync::{mpsc, Mutex};

use super::{Delivery, Envelope, LocalHub};

/// Events waiting to be published before new ones are dropped (and counted): bounds memory
/// while Redis is away instead of letting a queue grow without limit.
const PUBLISH_QUEUE: usize = 10_000;
/// How long one Redis round trip may take before it counts as a failure.
const IO_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(super) struct RedisBus {
    outbox: mpsc::Sender<Envelope>,
    subscribed: Arc<AtomicBool>,
    client: redis::Client,
    ping_connection: Mutex<Option<MultiplexedConnection>>,
}

impl RedisBus {
    pub(super) fn start(url: &str, prefix: &str, hub: Arc<LocalHub>) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let (outbox, inbox) = mpsc::channel(PUBLISH_QUEUE);
        let subscribed = Arc::new(AtomicBool::new(false));
        tokio::spawn(publish_loop(
            client.clone(),
            format!("{prefix}:tenant:"),
            inbox,
        ));
        tokio::spawn(subscribe_loop(
            client.clone(),
            format!("{prefix}:tenant:*"),
            hub,
            subscribed.clone(),
        ));
        Ok(Self {
            outbox,
            subscribed,
            client,
            ping_connection: Mutex::new(None),
        })
    }

    pub(super) fn publish(&self, envelope: Envelope) {
        if self.outbox.try_send(envelope).is_err() {
            metrics::counter!("leadline_bus_events_dropped_total", "reason" => "queue_full")
                .increment(1);
            tracing::warn!("event bus publish queue is full; event dropped");
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

/// Most events sent to Redis in one pipelined round trip.
const MAX_BATCH: usize = 512;

/// Publishes in pipelined batches: everything queued while the previous round trip was in
/// flight goes out in the next one, in order. One PUBLISH awaited at a time capped a process
/// at one event per round trip, so under load events waited seconds in the queue.
async fn publish_loop(
    client: redis::Client,
    channel_prefix: String,
    mut inbox: mpsc::Receiver<Envelope>,
) {
    let mut connection: Option<MultiplexedConnection> = None;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while inbox.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut pipeline = redis::pipe();
        let mut count = 0_u64;
        for envelope in batch.drain(..) {
            match serde_json::to_string(&envelope) {
                Ok(payload) => {
                    pipeline
                        .cmd("PUBLISH")
                        .arg(format!("{channel_prefix}{}", envelope.tenant_id))
                        .arg(payload)
                        .ignore();
                    count += 1;
                }
                Err(error) => tracing::error!(%error, "event could not be serialised; dropped"),
            }
        }
        if count == 0 {
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
            tracing::warn!(
                count,
                "redis unavailable; events dropped (subscribers were told of the disconnect)"
            );
        }
    }
}

async fn subscribe_loop(
    client: redis::Client,
    pattern: String,
    hub: Arc<LocalHub>,
    subscribed: Arc<AtomicBool>,
) {
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
                        let payload: Vec<u8> = message.get_payload_bytes().to_vec();
                        match serde_json::from_slice::<Envelope>(&payload) {
                            Ok(envelope) => hub.deliver(
                                envelope.tenant_id,
                                Delivery::Event(Arc::new(envelope.event)),
                            ),
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
