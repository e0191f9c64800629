//! The Redis event bus between two processes' worth of buses (two `EventBus::redis` on one
//! Redis, as two replicas have): a burst of events published on one reaches a subscriber on
//! the other complete and in order; the publisher hears itself once; overflow is announced as lag.
//! Runs where `LEADLINE_TEST_REDIS_URL` is set (both passes of
//! `.ci/run`); says so and returns elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt;
use leadline_api::bus::{Event, EventBus, LeadScoreChanged};
use leadline_domain::ids::TenantId;
use uuid::Uuid;

fn score_event(lead_id: Uuid, score: i32) -> Event {
    Event::LeadScoreChanged(LeadScoreChanged {
        lead_id,
        score,
        previous_score: score - 1,
        temperature: "WARM".into(),
        signal: "test".into(),
        reason: "burst".into(),
        at: chrono::Utc::now(),
    })
}

#[tokio::test]
async fn a_burst_published_on_one_replica_arrives_whole_and_in_order_on_the_other() {
    let Ok(url) = std::env::var("LEADLINE_TEST_REDIS_URL") else {
        eprintln!("needs LEADLINE_TEST_REDIS_URL (set by .ci/run); skipped");
        return;
    };
    let prefix = format!("test-bus-{}", Uuid::now_v7().simple());
    let publisher = EventBus::redis(&url, &prefix).expect("publisher bus");
    let subscriber = EventBus::redis(&url, &prefix).expect("subscriber bus");
    // Wait until the subscriber's pattern subscription is live (it connects in the background).
    let started = std::time::Instant::now();
    while !subscriber.is_healthy().await {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis bus never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tenant = Uuid::now_v7();
    let lead = Uuid::now_v7();
    let mut events = Box::pin(subscriber.subscribe(TenantId(tenant)));
    // More than one pipelined batch, published without yielding: the publisher must keep them
    // all (the queue holds 10,000) and in order.
    const BURST: i32 = 5_000;
    for score in 1..=BURST {
        publisher.publish(TenantId(tenant), score_event(lead, score));
    }
    let mut expected = 1;
    while expected <= BURST {
        let next = tokio::time::timeout(Duration::from_secs(20), events.next())
            .await
            .unwrap_or_else(|_| panic!("stalled after {} events", expected - 1))
            .expect("stream ended")
            .unwrap_or_else(|e| panic!("bus error after {} events: {e}", expected - 1));
        match next.as_ref() {
            Event::LeadScoreChanged(change) => assert_eq!(change.score, expected),
            other => panic!("unexpected event {other:?}"),
        }
        expected += 1;
    }
}

/// Two buses on one Redis, both subscribed; `None` where no Redis is configured.
async fn two_replicas() -> Option<(EventBus, EventBus)> {
    let Ok(url) = std::env::var("LEADLINE_TEST_REDIS_URL") else {
        eprintln!("needs LEADLINE_TEST_REDIS_URL (set by .ci/run); skipped");
        return None;
    };
    let prefix = format!("test-bus-{}", Uuid::now_v7().simple());
    let a = EventBus::redis(&url, &prefix).expect("bus a");
    let b = EventBus::redis(&url, &prefix).expect("bus b");
    let started = std::time::Instant::now();
    while !(a.is_healthy().await && b.is_healthy().await) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "redis bus never subscribed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Some((a, b))
}

/// Scores received until `quiet` passes with nothing new.
async fn drain_scores(
    events: &mut (impl futures::Stream<Item = Result<std::sync::Arc<Event>, leadline_api::bus::BusError>>
              + Unpin),
    quiet: Duration,
) -> Vec<Result<i32, leadline_api::bus::BusError>> {
    let mut got = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(quiet, events.next()).await {
        got.push(item.map(|event| match event.as_ref() {
            Event::LeadScoreChanged(change) => change.score,
            other => panic!("unexpected event {other:?}"),
        }));
    }
    got
}

#[tokio::test]
async fn the_publishing_replica_delivers_locally_once_and_the_other_through_redis() {
    let Some((a, b)) = two_replicas().await else {
        return;
    };
    let tenant = Uuid::now_v7();
    let lead = Uuid::now_v7();
    let mut on_a = Box::pin(a.subscribe(TenantId(tenant)));
    let mut on_b = Box::pin(b.subscribe(TenantId(tenant)));
    for score in 1..=3 {
        a.publish(TenantId(tenant), score_event(lead, score));
    }
    let quiet = Duration::from_millis(500);
    // A hears its own events once (local delivery; the Redis echo is dropped), B once from Redis.
    assert_eq!(
        drain_scores(&mut on_a, quiet).await,
        vec![Ok(1), Ok(2), Ok(3)]
    );
    assert_eq!(
        drain_scores(&mut on_b, quiet).await,
        vec![Ok(1), Ok(2), Ok(3)]
    );
    // And the other way round.
    b.publish(TenantId(tenant), score_event(lead, 4));
    assert_eq!(drain_scores(&mut on_a, quiet).await, vec![Ok(4)]);
    assert_eq!(drain_scores(&mut on_b, quiet).await, vec![Ok(4)]);
}

#[tokio::test]
async fn events_dropped_on_overflow_are_announced_as_lag_on_the_other_replica() {
    let Some((a, b)) = two_replicas().await else {
        return;
    };
    let tenant = Uuid::now_v7();
    let lead = Uuid::now_v7();
    // Scoped watchers of one conversation: the flood (tenant-wide score events) does not reach
    // them, but the news that the tenant's events were dropped must.
    let conversation = Uuid::now_v7();
    let mut watcher_on_a = Box::pin(a.subscribe_scoped(TenantId(tenant), conversation));
    let mut watcher_on_b = Box::pin(b.subscribe_scoped(TenantId(tenant), conversation));
    let mut other_tenant_on_b = Box::pin(b.subscribe(TenantId(Uuid::now_v7())));
    // Published without yielding on this single-threaded runtime, so A's publisher cannot
    // drain: the queue keeps 10,000 and the last 500 are dropped.
    for score in 1..=10_500 {
        a.publish(TenantId(tenant), score_event(lead, score));
    }
    let told = tokio::time::timeout(Duration::from_secs(10), watcher_on_b.next())
        .await
        .expect("B's watcher is told")
        .expect("stream open");
    assert_eq!(
        told.err(),
        Some(leadline_api::bus::BusError::Lagged(500)),
        "the count of dropped events"
    );
    let quiet = Duration::from_millis(500);
    // A delivered everything locally, so its watcher missed nothing; another tenant hears nothing.
    assert!(drain_scores(&mut watcher_on_a, quiet).await.is_empty());
    assert!(drain_scores(&mut other_tenant_on_b, quiet).await.is_empty());
    // The bus goes on: the next event reaches B's tenant-wide subscribers.
    let mut tenant_on_b = Box::pin(b.subscribe(TenantId(tenant)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.publish(TenantId(tenant), score_event(lead, 20_000));
    let next = drain_scores(&mut tenant_on_b, Duration::from_secs(2)).await;
    assert!(next.contains(&Ok(20_000)), "{next:?}");
}
