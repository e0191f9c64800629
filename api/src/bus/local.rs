//! The local fan-out hub: one broadcast channel per tenant with live subscribers, and one per
//! (tenant, conversation or session) for scoped subscribers. Used directly by the in-process bus
//! and as the fan-out stage behind the Redis subscriber.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::Stream;
use tokio::sync::broadcast;
use uuid::Uuid;

use super::{BusError, Delivery, Event};

/// Events buffered per tenant before a slow subscriber starts missing them.
const CHANNEL_CAPACITY: usize = 1024;

/// A channel's key: the tenant, and the scope for scoped subscribers.
type Topic = (Uuid, Option<Uuid>);

/// Per-tenant (and per-scope) broadcast channels.
#[derive(Default)]
pub struct LocalHub {
    topics: Mutex<HashMap<Topic, broadcast::Sender<Delivery>>>,
}

impl LocalHub {
    pub(crate) fn deliver(&self, tenant_id: Uuid, delivery: Delivery) {
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let scope = match &delivery {
            Delivery::Event(event) => event.scope(),
            Delivery::Missed(_) => {
                // Any of the tenant's topics may have wanted the dropped events.
                let missed = delivery.clone();
                topics.retain(|(tenant, _), sender| {
                    *tenant != tenant_id || sender.send(missed.clone()).is_ok()
                });
                return;
            }
            Delivery::Disconnected => None,
        };
        let mut targets = vec![(tenant_id, None)];
        if let Some(scope) = scope {
            targets.push((tenant_id, Some(scope)));
        }
        for topic in targets {
            if let Some(sender) = topics.get(&topic) {
                if sender.send(delivery.clone()).is_err() {
                    // Nobody listens any more: drop the channel so idle topics cost nothing.
                    topics.remove(&topic);
                } else {
                    metrics::counter!("leadline_bus_events_delivered_total").increment(1);
                }
            }
        }
    }

    /// Tells every subscriber of every tenant that the shared connection dropped.
    pub(crate) fn disconnect_all(&self) {
        let mut topics = self
            .topics
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for sender in topics.values() {
            let _ = sender.send(Delivery::Disconnected);
        }
        topics.clear();
    }

    pub(crate) fn subscribe(
        &self,
        tenant_id: Uuid,
        connected: bool,
    ) -> impl Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static {
        self.subscribe_to((tenant_id, None), connected)
    }

    /// Subscribes to one topic: a tenant's every event, or one scope's (`Event::scope`).
    pub(crate) fn subscribe_to(
        &self,
        topic: Topic,
        connected: bool,
    ) -> impl Stream<Item = Result<Arc<Event>, BusError>> + Send + 'static {
        let receiver = {
            let mut topics = self
                .topics
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            topics
                .entry(topic)
                .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
                .subscribe()
        };
        // State: the receiver while live, and whether a disconnect must be reported first (a
        // subscription made while the shared bus is down is told at once).
        let initial = (connected.then_some(receiver), !connected);
        futures::stream::unfold(initial, |(receiver, report_disconnect)| async move {
            if report_disconnect {
                return Some((Err(BusError::Disconnected), (None, false)));
            }
            let mut receiver = receiver?;
            match receiver.recv().await {
                Ok(Delivery::Event(event)) => Some((Ok(event), (Some(receiver), false))),
                Ok(Delivery::Missed(missed)) => {
                    Some((Err(BusError::Lagged(missed)), (Some(receiver), false)))
                }
                Ok(Delivery::Disconnected) | Err(broadcast::error::RecvError::Closed) => {
                    Some((Err(BusError::Disconnected), (None, false)))
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    Some((Err(BusError::Lagged(missed)), (Some(receiver), false)))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn event() -> Arc<Event> {
        Arc::new(Event::LeadScoreChanged(super::super::LeadScoreChanged {
            lead_id: Uuid::nil(),
            score: 60,
            previous_score: 50,
            temperature: "WARM".into(),
            signal: "interested".into(),
            reason: "test".into(),
            at: chrono::Utc::now(),
        }))
    }

    #[tokio::test]
    async fn events_reach_only_their_tenant() {
        let hub = LocalHub::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut sub_a = Box::pin(hub.subscribe(a, true));
        let mut sub_b = Box::pin(hub.subscribe(b, true));
        hub.deliver(a, Delivery::Event(event()));
        assert!(matches!(sub_a.next().await, Some(Ok(_))));
        let nothing =
            tokio::time::timeout(std::time::Duration::from_millis(50), sub_b.next()).await;
        assert!(nothing.is_err(), "tenant B must not see tenant A's event");
    }

    fn message_in(conversation_id: Uuid) -> Arc<Event> {
        let at = chrono::Utc::now();
        Arc::new(Event::MessageAdded {
            message: Box::new(leadline_entity::messages::Model {
                id: Uuid::now_v7(),
                tenant_id: Uuid::nil(),
                conversation_id,
                channel: "WEB_CHAT".into(),
                direction: "INBOUND".into(),
                sender_kind: "LEAD".into(),
                sender_user_id: None,
                body: "hi".into(),
                platform_message_id: None,
                client_message_id: None,
                delivery_status: "RECEIVED".into(),
                delivery_error: None,
                read_at: None,
                metadata: serde_json::json!({}),
                created_at: at,
                updated_at: at,
            }),
        })
    }

    #[tokio::test]
    async fn scoped_subscribers_see_their_scope_only_and_tenant_subscribers_see_all() {
        let hub = LocalHub::default();
        let tenant = Uuid::now_v7();
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        let mut all = Box::pin(hub.subscribe(tenant, true));
        let mut only_one = Box::pin(hub.subscribe_to((tenant, Some(one)), true));
        hub.deliver(tenant, Delivery::Event(message_in(two)));
        hub.deliver(tenant, Delivery::Event(event()));
        hub.deliver(tenant, Delivery::Event(message_in(one)));
        for _ in 0..3 {
            assert!(matches!(all.next().await, Some(Ok(_))));
        }
        let got = only_one.next().await;
        assert!(
            matches!(&got, Some(Ok(e)) if e.scope() == Some(one)),
            "only conversation one's event: {got:?}"
        );
        let nothing =
            tokio::time::timeout(std::time::Duration::from_millis(50), only_one.next()).await;
        assert!(
            nothing.is_err(),
            "nothing else reaches the scoped subscriber"
        );
        hub.disconnect_all();
        assert_eq!(
            only_one.next().await.map(|r| r.err()),
            Some(Some(BusError::Disconnected))
        );
    }

    #[tokio::test]
    async fn missed_events_reach_every_topic_of_their_tenant_only() {
        let hub = LocalHub::default();
        let (tenant, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut all = Box::pin(hub.subscribe(tenant, true));
        let mut scoped = Box::pin(hub.subscribe_to((tenant, Some(Uuid::now_v7())), true));
        let mut elsewhere = Box::pin(hub.subscribe(other, true));
        hub.deliver(tenant, Delivery::Missed(7));
        assert_eq!(
            all.next().await.map(|r| r.err()),
            Some(Some(BusError::Lagged(7)))
        );
        assert_eq!(
            scoped.next().await.map(|r| r.err()),
            Some(Some(BusError::Lagged(7)))
        );
        let nothing =
            tokio::time::timeout(std::time::Duration::from_millis(50), elsewhere.next()).await;
        assert!(nothing.is_err(), "another tenant is not told");
        // The streams go on after the news.
        hub.deliver(tenant, Delivery::Event(event()));
        assert!(matches!(all.next().await, Some(Ok(_))));
    }

    #[tokio::test]
    async fn disconnect_is_reported_then_the_stream_ends() {
        let hub = LocalHub::default();
        let mut sub = Box::pin(hub.subscribe(Uuid::now_v7(), true));
        hub.disconnect_all();
        assert_eq!(
            sub.next().await.map(|r| r.err()),
            Some(Some(BusError::Disconnected))
        );
        assert!(sub.next().await.is_none());
    }

    #[tokio::test]
    async fn subscribing_while_disconnected_reports_at_once() {
        let hub = LocalHub::default();
        let mut sub = Box::pin(hub.subscribe(Uuid::now_v7(), false));
        assert_eq!(
            sub.next().await.map(|r| r.err()),
            Some(Some(BusError::Disconnected))
        );
        assert!(sub.next().await.is_none());
    }
}
