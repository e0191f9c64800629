//! The Redis event bus between two processes' worth of buses (two `EventBus::redis` on one
//! Redis, as two replicas have): a burst of events published on one reaches a subscriber on
//! the other complete and in order. Runs where `LEADLINE_TEST_REDIS_URL` is set (both passes of
//! `.ci/run`); says so and returns elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::StreamExt;
use leadline_api::bus::{Event, EventBus, LeadScoreChanged};
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
    let mut events = Box::pin(subscriber.subscribe(tenant));
    // More than one pipelined batch, published without yielding: the publisher must keep them
    // all (the queue holds 10,000) and in order.
    const BURST: i32 = 5_000;
    for score in 1..=BURST {
        publisher.publish(tenant, score_event(lead, score));
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
