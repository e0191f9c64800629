//! The live agent's budgets hit exactly at their bounds, on the database (SQLite by default,
//! PostgreSQL when `LEADLINE_TEST_BACKEND=postgres`) and, on the Postgres pass, in Redis — the
//! same cases against both implementations: replies per session and per viewer, the viewer
//! cooldown (measured from the send), whispers per day, YouTube quota per Pacific day (landing
//! exactly on the quota allowed), TikTok DMs per viewer and day, refunds, and many concurrent
//! spenders never overspending the last unit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use leadline_api::config::Config;
use leadline_api::services::live::budget::{self, LiveBudget};
use leadline_api::store::Store;
use leadline_domain::ids::TenantId;
use leadline_domain::live::LiveLimits;
use uuid::Uuid;

/// Every budget implementation this pass can test: the database, and Redis on the Postgres pass.
async fn budgets() -> Vec<(&'static str, Arc<LiveBudget>)> {
    let url = common::database_url("budget").await;
    let config =
        Config::from_lookup(|key| (key == "DATABASE_URL").then(|| url.clone())).expect("config");
    let store = Store::connect(&config).await.expect("connect");
    store.migrate().await.expect("migrate");
    let mut all = vec![("database", Arc::new(LiveBudget::database(store)))];
    if std::env::var("LEADLINE_TEST_BACKEND").as_deref() == Ok("postgres") {
        let redis = std::env::var("LEADLINE_TEST_REDIS_URL").expect("LEADLINE_TEST_REDIS_URL");
        let prefix = format!("budget-{}", Uuid::now_v7().simple());
        all.push((
            "redis",
            Arc::new(LiveBudget::redis(&redis, &prefix).expect("redis budget")),
        ));
    }
    all
}

fn t0() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 18, 0, 0)
        .single()
        .unwrap()
}

#[tokio::test]
async fn session_and_viewer_limits_and_the_cooldown_hit_exactly_at_their_bounds() {
    for (name, budget) in budgets().await {
        let limits = LiveLimits {
            max_replies_per_viewer: 3,
            max_replies_per_session: 6,
            viewer_cooldown: Duration::seconds(30),
            ..LiveLimits::default()
        };
        let session = Uuid::now_v7();
        let spends = |viewer: &str, at| {
            vec![
                budget::session_spend(session, &limits, at),
                budget::viewer_spend(session, viewer, &limits, at),
            ]
        };
        let mut at = t0();
        // Three replies to alice, 30 s apart: allowed; the fourth is the viewer limit.
        for i in 0..3 {
            let r = budget.reserve(spends("alice", at), at).await.unwrap();
            assert!(r.is_ok(), "{name}: alice reply {i}");
            at += Duration::seconds(30);
        }
        let refused = budget.reserve(spends("alice", at), at).await.unwrap();
        assert_eq!(
            refused.map(|_| ()).unwrap_err().index,
            1,
            "{name}: viewer limit"
        );
        // Cooldown: bob at t, then t+29.999 s refused (retry in 1 ms), t+30 s allowed.
        let r = budget
            .reserve(spends("bob", at), at)
            .await
            .unwrap()
            .unwrap();
        budget.sent(&r, at).await.unwrap();
        let early = at + Duration::milliseconds(29_999);
        let refused = budget.reserve(spends("bob", early), early).await.unwrap();
        let refusal = refused.map(|_| ()).unwrap_err();
        assert_eq!(
            (refusal.index, refusal.retry_in_ms),
            (1, 1),
            "{name}: cooldown"
        );
        // The cooldown runs from the send: a reply sent 5 s after its reservation blocks until
        // 30 s after the send.
        let on_time = at + Duration::seconds(30);
        let r = budget
            .reserve(spends("bob", on_time), on_time)
            .await
            .unwrap()
            .unwrap();
        let sent_at = on_time + Duration::seconds(5);
        budget.sent(&r, sent_at).await.unwrap();
        let after_reserve = on_time + Duration::seconds(31);
        let refused = budget
            .reserve(spends("bob", after_reserve), after_reserve)
            .await
            .unwrap();
        assert_eq!(
            refused.map(|_| ()).unwrap_err().retry_in_ms,
            4_000,
            "{name}: cooldown from the send"
        );
        // Session: bob's third reply is the session's 6th (3 alice + 3 bob); the 7th, to anyone,
        // is the session limit.
        let later = at + Duration::seconds(300);
        assert!(budget
            .reserve(spends("bob", later), later)
            .await
            .unwrap()
            .is_ok());
        let refused = budget.reserve(spends("carol", later), later).await.unwrap();
        assert_eq!(
            refused.map(|_| ()).unwrap_err().index,
            0,
            "{name}: session limit"
        );
        // A refund gives the unit back: the session has room for exactly one more.
        let other = Uuid::now_v7();
        let one = LiveLimits {
            max_replies_per_session: 1,
            ..limits
        };
        let r = budget
            .reserve(vec![budget::session_spend(other, &one, later)], later)
            .await
            .unwrap()
            .unwrap();
        assert!(budget
            .reserve(vec![budget::session_spend(other, &one, later)], later)
            .await
            .unwrap()
            .is_err());
        budget.refund(&r).await.unwrap();
        assert!(
            budget
                .reserve(vec![budget::session_spend(other, &one, later)], later)
                .await
                .unwrap()
                .is_ok(),
            "{name}: refunded"
        );
    }
}

#[tokio::test]
async fn whispers_quota_and_dms_are_daily_and_land_exactly_on_their_limits() {
    for (name, budget) in budgets().await {
        let limits = LiveLimits::default();
        let bot = format!("bot-{}", Uuid::now_v7().simple());
        let at = t0();
        for i in 0..40 {
            let r = budget
                .reserve(vec![budget::whisper_spend(&bot, &limits, at)], at)
                .await
                .unwrap();
            assert!(r.is_ok(), "{name}: whisper {}", i + 1);
        }
        let forty_first = budget
            .reserve(vec![budget::whisper_spend(&bot, &limits, at)], at)
            .await
            .unwrap();
        assert!(forty_first.is_err(), "{name}: the 41st whisper");
        // The next UTC day has a fresh budget.
        let tomorrow = at + Duration::days(1);
        assert!(budget
            .reserve(
                vec![budget::whisper_spend(&bot, &limits, tomorrow)],
                tomorrow
            )
            .await
            .unwrap()
            .is_ok());

        // Quota 10,000: 199 inserts of 50 = 9,950, then a poll of 5 and a poll of 45 land on
        // exactly 10,000 (allowed); one more unit is refused.
        let project = format!("p-{}", Uuid::now_v7().simple());
        for _ in 0..199 {
            let spend = budget::youtube_spend(&project, 50, &limits, at);
            assert!(budget.reserve(vec![spend], at).await.unwrap().is_ok());
        }
        for cost in [5, 45] {
            let spend = budget::youtube_spend(&project, cost, &limits, at);
            let r = budget.reserve(vec![spend], at).await.unwrap().unwrap();
            if cost == 45 {
                assert_eq!(r.used_after, vec![10_000], "{name}: exactly the quota");
            }
        }
        let spend = budget::youtube_spend(&project, 1, &limits, at);
        assert!(budget.reserve(vec![spend], at).await.unwrap().is_err());
        // Quota resets at midnight Pacific (08:00 UTC in winter), not at midnight UTC.
        let utc_midnight = Utc
            .with_ymd_and_hms(2026, 11, 24, 0, 30, 0)
            .single()
            .unwrap();
        let spend = budget::youtube_spend(&project, 1, &limits, utc_midnight);
        assert!(
            budget
                .reserve(vec![spend], utc_midnight)
                .await
                .unwrap()
                .is_err(),
            "{name}: still the same Pacific day"
        );
        let pacific_midnight = Utc
            .with_ymd_and_hms(2026, 11, 24, 8, 0, 0)
            .single()
            .unwrap();
        let spend = budget::youtube_spend(&project, 1, &limits, pacific_midnight);
        assert!(budget
            .reserve(vec![spend], pacific_midnight)
            .await
            .unwrap()
            .is_ok());

        // TikTok: 10 DMs a viewer a day.
        let tenant = Uuid::now_v7();
        for _ in 0..10 {
            let spend = budget::tiktok_dm_spend(TenantId(tenant), "uid_gina", 10, at);
            assert!(budget.reserve(vec![spend], at).await.unwrap().is_ok());
        }
        let spend = budget::tiktok_dm_spend(TenantId(tenant), "uid_gina", 10, at);
        assert!(budget.reserve(vec![spend], at).await.unwrap().is_err());

        // Three days on, every counter above is over: the database sweeps them (Redis expired
        // its keys on its own), and nothing current is touched.
        let current = budget::session_spend(Uuid::now_v7(), &limits, at + Duration::days(3));
        budget
            .reserve(vec![current], at + Duration::days(3))
            .await
            .unwrap()
            .unwrap();
        let swept = budget.sweep(at + Duration::days(3)).await.unwrap();
        if name == "database" {
            assert!(swept >= 4, "{name}: swept {swept}");
        }
        assert_eq!(budget.sweep(at + Duration::days(3)).await.unwrap(), 0);
    }
}

#[tokio::test]
async fn concurrent_spenders_never_share_the_last_unit() {
    for (name, budget) in budgets().await {
        let limits = LiveLimits {
            max_replies_per_session: 7,
            ..LiveLimits::default()
        };
        let session = Uuid::now_v7();
        let at = t0();
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let budget = Arc::clone(&budget);
            tasks.push(tokio::spawn(async move {
                budget
                    .reserve(vec![budget::session_spend(session, &limits, at)], at)
                    .await
                    .map(|r| r.is_ok())
            }));
        }
        let mut granted = 0;
        for task in tasks {
            if task.await.unwrap().unwrap() {
                granted += 1;
            }
        }
        assert_eq!(granted, 7, "{name}: exactly the limit, never more");
    }
}
