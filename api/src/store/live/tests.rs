//! The live store against a fresh SQLite database.
#![allow(clippy::expect_used)]

use super::*;
use crate::store::{now, PageRequest, Store};
use leadline_domain::analysis::Analysis;
use leadline_domain::analysis::{Intent, Language, ProductMatch, Provider};
use leadline_domain::ids::TenantId;
use leadline_domain::lead::Temperature;

async fn store() -> Store {
    crate::store::testkit::memory_store()
        .await
        .expect("in-memory store")
}

async fn tenant(store: &Store) -> Uuid {
    crate::store::testkit::seed_tenant(store, "live")
        .await
        .expect("tenant row")
}

fn analysis(intent: Intent, product: Option<&str>) -> Analysis {
    Analysis {
        intent,
        confidence: 0.9,
        signals: Vec::new(),
        sentiment: 0.5,
        wants_human: false,
        matched_product: product.map(|id| ProductMatch {
            product_id: id.to_owned(),
            name: "Hoodie".to_owned(),
            score: 0.9,
        }),
        language: Language::English,
        provider: Provider::Offline,
    }
}

fn session(limits: LiveLimits) -> NewLiveSession {
    NewLiveSession {
        platform: LivePlatform::Youtube,
        agent_enabled: true,
        title: None,
        platform_config: leadline_domain::live::LivePlatformConfig {
            video_id: Some("abc".into()),
            ..Default::default()
        },
        product_ids: vec![],
        limits,
    }
}

fn interaction(session_id: Uuid, message_id: &str, author: &str) -> NewLiveInteraction {
    NewLiveInteraction {
        session_id,
        lead_id: None,
        platform_message_id: message_id.to_owned(),
        author_id: author.to_owned(),
        author_name: author.to_owned(),
        text: "hi".to_owned(),
        intent: Some("OTHER".to_owned()),
        confidence: Some(0.5),
        matched_product_id: None,
    }
}

#[tokio::test]
async fn one_replica_holds_a_session_lease_until_it_expires_or_is_released() {
    let store = store().await;
    let a = tenant(&store).await;
    let s = store
        .create_live_session(TenantId(a), session(LiveLimits::default()))
        .await
        .expect("create");
    let t = now();
    let until = t + chrono::Duration::seconds(10);
    assert!(store
        .claim_live_session(s.id, "r1", t, until)
        .await
        .expect("claim"));
    // Another replica cannot take it while the lease holds; the owner renews.
    assert!(!store
        .claim_live_session(s.id, "r2", t, until)
        .await
        .expect("claim"));
    assert!(store
        .claim_live_session(s.id, "r1", t, until)
        .await
        .expect("renew"));
    // Expired: the other replica takes over, and the old owner cannot renew.
    let later = until + chrono::Duration::milliseconds(1);
    let later_until = later + chrono::Duration::seconds(10);
    assert!(store
        .claim_live_session(s.id, "r2", later, later_until)
        .await
        .expect("take"));
    assert!(!store
        .claim_live_session(s.id, "r1", later, later_until)
        .await
        .expect("lost"));
    // Released by its owner (only): free for anyone at once.
    store.release_live_session(s.id, "r1").await.expect("no-op");
    assert!(!store
        .claim_live_session(s.id, "r1", later, later_until)
        .await
        .expect("still r2"));
    store
        .release_live_session(s.id, "r2")
        .await
        .expect("release");
    assert!(store
        .claim_live_session(s.id, "r1", later, later_until)
        .await
        .expect("free"));
    // A stopped session is nobody's.
    store
        .stop_live_session(TenantId(a), s.id)
        .await
        .expect("stop");
    assert!(!store
        .claim_live_session(s.id, "r1", later, later_until)
        .await
        .expect("stopped"));
}

#[tokio::test]
async fn sessions_are_tenant_scoped_and_stop_idempotently() {
    let store = store().await;
    let (a, b) = (tenant(&store).await, tenant(&store).await);
    let limits = LiveLimits {
        max_replies_per_viewer: 2,
        ..LiveLimits::default()
    };
    let created = store
        .create_live_session(TenantId(a), session(limits))
        .await
        .expect("create");
    assert_eq!(created.status, LiveSessionStatus::Active.as_str());
    assert_eq!(limits_from_json(&created.limits), limits);
    assert!(matches!(
        store.live_session(TenantId(b), created.id).await,
        Err(ApiError::NotFound(_))
    ));
    let page = PageRequest::parse(None, None).expect("page");
    let listed = store
        .live_sessions(TenantId(a), LiveSessionFilter::default(), page)
        .await
        .expect("list");
    assert_eq!(listed.total_count, 1);
    assert_eq!(store.active_live_sessions().await.expect("active").len(), 1);
    let stopped = store
        .stop_live_session(TenantId(a), created.id)
        .await
        .expect("stop");
    assert_eq!(stopped.status, LiveSessionStatus::Stopped.as_str());
    let again = store
        .stop_live_session(TenantId(a), created.id)
        .await
        .expect("stop");
    assert_eq!(again.stopped_at, stopped.stopped_at);
    assert!(store
        .active_live_sessions()
        .await
        .expect("active")
        .is_empty());
}

#[tokio::test]
async fn duplicates_are_refused_and_viewer_replies_are_counted() {
    let store = store().await;
    let a = tenant(&store).await;
    let s = store
        .create_live_session(TenantId(a), session(LiveLimits::default()))
        .await
        .expect("create");
    let first = store
        .record_live_interaction(TenantId(a), interaction(s.id, "m1", "UCv"))
        .await
        .expect("insert")
        .expect("new");
    assert!(store
        .record_live_interaction(TenantId(a), interaction(s.id, "m1", "UCv"))
        .await
        .expect("insert")
        .is_none());
    assert!(store
        .live_message_seen(TenantId(a), s.id, "m1")
        .await
        .expect("seen"));
    store
        .set_live_interaction_outcome(
            TenantId(a),
            first.id,
            InteractionOutcome::Replied {
                text: "x".into(),
                via: "PUBLIC".into(),
            },
        )
        .await
        .expect("outcome");
    let (count, last) = store
        .live_viewer_replies(TenantId(a), s.id, "UCv")
        .await
        .expect("count");
    assert_eq!(count, 1);
    assert_eq!(last, Some(first.created_at));
    store
        .add_live_counters(
            TenantId(a),
            s.id,
            CounterDelta {
                messages: 1,
                responses: 1,
                whispers: 1,
                quota_units: 55,
            },
        )
        .await
        .expect("counters");
    let s = store.live_session(TenantId(a), s.id).await.expect("get");
    assert_eq!(
        (
            s.messages_processed,
            s.responses_sent,
            s.whispers_sent,
            s.quota_used
        ),
        (1, 1, 1, 55)
    );
}

#[tokio::test]
async fn a_viewer_lead_is_created_once_and_scored_with_events() {
    let store = store().await;
    let a = tenant(&store).await;
    let s = store
        .create_live_session(TenantId(a), session(LiveLimits::default()))
        .await
        .expect("create");
    let at = now();
    let first = store
        .record_live_viewer(
            TenantId(a),
            LiveViewerMessage {
                session_id: s.id,
                platform: LivePlatform::Youtube,
                author_id: "UCviewer",
                author_name: "Viewer",
                analysis: &analysis(Intent::ProductInquiry, Some("p1")),
                text: "how much is the hoodie?",
                at,
            },
        )
        .await
        .expect("viewer");
    assert!(first.created);
    let event = first.score_event.expect("score moved");
    assert_eq!(event.score_after, first.score.total);
    assert!(event.reason.contains("purchase"), "{}", event.reason);
    let second = store
        .record_live_viewer(
            TenantId(a),
            LiveViewerMessage {
                session_id: s.id,
                platform: LivePlatform::Youtube,
                author_id: "UCviewer",
                author_name: "Viewer",
                analysis: &analysis(Intent::PurchaseIntent, Some("p1")),
                text: "I'll buy it",
                at,
            },
        )
        .await
        .expect("viewer");
    assert!(!second.created);
    assert_eq!(second.lead.id, first.lead.id);
    assert!(second.score.total > first.score.total);
    assert_eq!(second.lead.score, second.score.total);
    assert_eq!(
        second.lead.temperature,
        Temperature::for_live_score(second.score.total).as_str()
    );
    let identities = store
        .lead_identities(TenantId(a), first.lead.id)
        .await
        .expect("identities");
    assert_eq!(identities.len(), 1);
    assert_eq!(
        identities
            .first()
            .map(|i| (i.channel.as_str(), i.external_id.as_str())),
        Some(("YOUTUBE", "UCviewer"))
    );
}
