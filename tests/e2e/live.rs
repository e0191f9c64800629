//! The live-stream sales agent end to end against the YouTube fake: a session reads a scripted
//! chat at the pace the fake dictates, answers only qualifying questions in public chat (within
//! the per-viewer limit), records every decision with its reason, scores the viewers as leads,
//! streams it all over `liveSessionEvents`, and stops polling when stopped. Runs on the embedded
//! default and on Postgres+Redis.

use std::time::{Duration, Instant};

use leadline_youtube::fake::{text_message, FakeYoutube, BOT_CHANNEL_ID};
use serde_json::{json, Value};

use crate::harness::{error_code, spawn_with, SpawnOptions, TestApp, WsEvent};

const VIDEO: &str = "dQw4w9WgXcQ";
const CHAT: &str = "live-chat-1";

const START: &str = "mutation($input: StartLiveSessionInput!) { startLiveSession(input: $input) { session { id status platform agentEnabled } } }";
const STOP: &str =
    "mutation($id: ID!) { stopLiveSession(input: {id: $id}) { session { id status } } }";
const SESSION: &str = "query($id: ID!) { liveSession(id: $id) { id status agentEnabled stats { active messagesProcessed responsesSent responsesRemaining youtubeQuotaUsedToday intents { intent count } leadsByTemperature { temperature count } } interactions(first: 50) { totalCount edges { node { platformMessageId authorId authorName text intent confidence outcome skipReason response responseVia leadId } } } leads { id name score temperature } } }";
const EVENTS: &str = "subscription($id: ID!) { liveSessionEvents(sessionId: $id) { __typename ... on ChatMessageAnalyzed { interaction { authorName intent } } ... on ReplySent { interaction { authorName response } } ... on ReplySkipped { reason interaction { authorName } } ... on LeadScoreChange { leadId score reason } } }";

/// The catalogue product the live tests talk about.
pub(crate) async fn create_hoodie(app: &TestApp, token: &str) -> String {
    let data = app
        .ok(
            token,
            "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } } }",
            json!({"input": {
                "name": "Ocean Hoodie",
                "description": "Heavy cotton hoodie in ocean blue.",
                "price": {"amountMicros": 19_990_000, "currencyCode": "USD"},
                "purchaseLink": "https://shop.example/ocean-hoodie",
                "keywords": ["hoodie", "sudadera"]
            }}),
        )
        .await;
    data["createProduct"]["product"]["id"]
        .as_str()
        .expect("product id")
        .to_owned()
}

/// The interactions of a `liveSession` answer.
pub(crate) fn interactions(data: &Value) -> Vec<Value> {
    data["liveSession"]["interactions"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default()
}

/// Polls the live session `id` until `done` holds, failing after 30 s.
async fn until_session(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    app.eventually(token, SESSION, json!({"id": id}), what, done)
        .await
}

#[tokio::test]
async fn a_youtube_session_answers_qualifying_questions_within_limits_and_scores_viewers() {
    let youtube = FakeYoutube::start().await.expect("fake YouTube");
    youtube.add_live_video(VIDEO, CHAT);
    // The poller's floor is 1 s; the fake polices that we never poll faster than told.
    youtube.set_polling_interval(CHAT, 1_000);
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("YOUTUBE_API_BASE".into(), youtube.base_url().to_owned()),
            (
                "YOUTUBE_ACCESS_TOKEN".into(),
                youtube.oauth_token().to_owned(),
            ),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("live-yt").await;
    let hoodie = create_hoodie(&app, &token).await;

    // Honest refusals first.
    let twitch = app
        .graphql(
            Some(&token),
            START,
            json!({"input": {"platform": "TWITCH", "products": [hoodie]}}),
        )
        .await;
    assert_eq!(error_code(&twitch), "BAD_USER_INPUT", "{twitch:#}");
    let bad_limits = app
        .graphql(
            Some(&token),
            START,
            json!({"input": {"platform": "YOUTUBE", "youtube": {"videoId": VIDEO},
                             "limits": {"minConfidence": 1.5}}}),
        )
        .await;
    assert_eq!(error_code(&bad_limits), "BAD_USER_INPUT", "{bad_limits:#}");

    let started = app
        .ok(
            &token,
            START,
            json!({"input": {
                "platform": "YOUTUBE",
                "products": [hoodie],
                "youtube": {"url": format!("https://www.youtube.com/watch?v={VIDEO}"),
                            "botChannelId": BOT_CHANNEL_ID},
                // No cooldown, so the per-viewer limit is reached within one test.
                "limits": {"viewerCooldownSeconds": 0, "maxRepliesPerViewer": 3}
            }}),
        )
        .await;
    let session = &started["startLiveSession"]["session"];
    assert_eq!(session["status"], "ACTIVE");
    assert_eq!(session["platform"], "YOUTUBE");
    let id = session["id"].as_str().expect("session id").to_owned();

    let mut ws = app.ws(&token).await.expect("ws");
    ws.subscribe(EVENTS, json!({"id": id})).await;
    // Let the subscription register before the chat starts talking.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let question = "How much is the Ocean Hoodie?";
    let first = youtube.push_text(CHAT, "alice", question);
    youtube.push_text(CHAT, "bob", "I want to buy the Ocean Hoodie, how do I pay?");
    youtube.push_text(CHAT, "carol", "hello everyone, lovely stream");
    youtube.push_raw(
        CHAT,
        text_message(
            "LCC.bot-line",
            CHAT,
            BOT_CHANNEL_ID,
            "Shop bot",
            "Welcome to the stream!",
        ),
    );
    // The same message again (a platform redelivery).
    youtube.push_raw(
        CHAT,
        text_message(&first, CHAT, "UCalice", "alice", question),
    );
    for _ in 0..3 {
        youtube.push_text(CHAT, "alice", question);
    }

    let data = until_session(&app, &token, &id, "all six viewer messages decided", |d| {
        let rows = interactions(d);
        rows.len() == 6 && rows.iter().all(|r| r["outcome"] != "RECEIVED")
    })
    .await;
    let rows = interactions(&data);
    // Neither the bot's line nor the duplicate was stored.
    assert!(rows
        .iter()
        .all(|r| r["platformMessageId"] != "LCC.bot-line"));
    assert_eq!(
        rows.iter()
            .filter(|r| r["platformMessageId"] == first.as_str())
            .count(),
        1
    );
    let alice: Vec<&Value> = rows.iter().filter(|r| r["authorName"] == "alice").collect();
    assert_eq!(alice.len(), 4, "{data:#}");
    assert_eq!(
        alice.iter().filter(|r| r["outcome"] == "REPLIED").count(),
        3,
        "{data:#}"
    );
    // Newest first: the 4th question is the one over the limit.
    assert_eq!(alice[0]["outcome"], "SKIPPED");
    assert_eq!(alice[0]["skipReason"], "VIEWER_LIMIT");
    for replied in alice.iter().filter(|r| r["outcome"] == "REPLIED") {
        assert_eq!(replied["intent"], "PRODUCT_INQUIRY");
        assert_eq!(replied["responseVia"], "PUBLIC");
        let response = replied["response"].as_str().unwrap_or_default();
        assert!(response.contains("Ocean Hoodie"), "{response}");
        assert!(response.contains("19.99 USD"), "{response}");
        assert!(
            response.contains("https://shop.example/ocean-hoodie"),
            "{response}"
        );
    }
    let bob = rows.iter().find(|r| r["authorName"] == "bob").expect("bob");
    assert_eq!(bob["outcome"], "REPLIED", "{bob:#}");
    let carol = rows
        .iter()
        .find(|r| r["authorName"] == "carol")
        .expect("carol");
    assert_eq!(carol["outcome"], "SKIPPED");
    assert_eq!(carol["skipReason"], "NOT_AN_INTENT", "{carol:#}");

    // Exactly the four qualifying replies reached the chat, as the bot.
    let inserted = youtube.inserted(CHAT);
    assert_eq!(inserted.len(), 4, "{inserted:#?}");
    assert!(
        youtube.violations().is_empty(),
        "{:?}",
        youtube.violations()
    );

    let live = &data["liveSession"];
    let stats = &live["stats"];
    assert_eq!(stats["active"], true);
    assert_eq!(stats["messagesProcessed"], 6);
    assert_eq!(stats["responsesSent"], 4);
    assert_eq!(stats["responsesRemaining"], 96);
    let lists = youtube
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/liveChat/messages"))
        .count() as i64;
    let quota = stats["youtubeQuotaUsedToday"].as_i64().unwrap_or_default();
    // Each list is 5 units and each insert 50. A poll's units are reserved before it waits out
    // the polling interval, so the next poll may already be counted, and the last list may land
    // between the two reads.
    assert!(
        (lists - 1..=lists + 1).any(|l| quota == l * 5 + 200),
        "quota {quota} for {lists} lists"
    );
    let intents = stats["intents"].as_array().cloned().unwrap_or_default();
    assert!(
        intents.contains(&json!({"intent": "PRODUCT_INQUIRY", "count": 4})),
        "{intents:#?}"
    );

    // Three viewer leads, each with a live score and its temperature.
    let leads = live["leads"].as_array().cloned().unwrap_or_default();
    assert_eq!(leads.len(), 3, "{leads:#?}");
    let by_temperature: i64 = stats["leadsByTemperature"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["count"].as_i64().unwrap_or_default())
                .sum()
        })
        .unwrap_or_default();
    assert_eq!(by_temperature, 3);
    let alice_lead = leads
        .iter()
        .find(|l| l["name"] == "alice")
        .expect("alice's lead");
    let carol_lead = leads
        .iter()
        .find(|l| l["name"] == "carol")
        .expect("carol's lead");
    assert!(
        alice_lead["score"].as_i64() > carol_lead["score"].as_i64(),
        "{leads:#?}"
    );

    // The dashboard saw the analyses, the replies, the skips and the score changes.
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && seen.len() < 4 {
        match ws.next_event(Duration::from_secs(2)).await {
            Some(WsEvent::Next(payload)) => {
                let kind = payload["data"]["liveSessionEvents"]["__typename"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                seen.insert(kind);
            }
            Some(other) => panic!("subscription ended: {other:?}"),
            None => {}
        }
    }
    for kind in [
        "ChatMessageAnalyzed",
        "ReplySent",
        "ReplySkipped",
        "LeadScoreChange",
    ] {
        assert!(seen.contains(kind), "no {kind} event; saw {seen:?}");
    }

    // Stop: no more polling.
    let stopped = app.ok(&token, STOP, json!({"id": id})).await;
    assert_eq!(stopped["stopLiveSession"]["session"]["status"], "STOPPED");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after_stop = youtube.requests().len();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(
        youtube.requests().len(),
        after_stop,
        "still polling after stop"
    );
    let data = app.ok(&token, SESSION, json!({"id": id})).await;
    assert_eq!(data["liveSession"]["stats"]["active"], false);

    // Another tenant cannot see the session.
    let other = app.sign_up("live-yt-other").await;
    let hidden = app.graphql(Some(&other), SESSION, json!({"id": id})).await;
    assert_eq!(error_code(&hidden), "NOT_FOUND", "{hidden:#}");
}

/// Each viewer is answered in the language they wrote in; the price and link stay verbatim.
#[tokio::test]
async fn a_spanish_live_chat_question_gets_a_spanish_reply() {
    let youtube = FakeYoutube::start().await.expect("fake YouTube");
    youtube.add_live_video(VIDEO, CHAT);
    youtube.set_polling_interval(CHAT, 1_000);
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("YOUTUBE_API_BASE".into(), youtube.base_url().to_owned()),
            (
                "YOUTUBE_ACCESS_TOKEN".into(),
                youtube.oauth_token().to_owned(),
            ),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("live-es").await;
    let hoodie = create_hoodie(&app, &token).await;
    let started = app
        .ok(
            &token,
            START,
            json!({"input": {
                "platform": "YOUTUBE",
                "products": [hoodie],
                "youtube": {"videoId": VIDEO, "botChannelId": BOT_CHANNEL_ID},
                "limits": {"viewerCooldownSeconds": 0}
            }}),
        )
        .await;
    let id = started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned();
    youtube.push_text(CHAT, "lucia", "¿cuánto cuesta la sudadera?");
    youtube.push_text(CHAT, "sam", "how much is the hoodie?");
    let data = until_session(&app, &token, &id, "both questions answered", |d| {
        let rows = interactions(d);
        rows.len() == 2 && rows.iter().all(|r| r["outcome"] == "REPLIED")
    })
    .await;
    let rows = interactions(&data);
    let response = |author: &str| {
        rows.iter()
            .find(|r| r["authorName"] == author)
            .and_then(|r| r["response"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        response("lucia"),
        "@lucia Ocean Hoodie cuesta 19.99 USD. Cómpralo aquí: https://shop.example/ocean-hoodie"
    );
    assert_eq!(
        response("sam"),
        "@sam Ocean Hoodie is 19.99 USD. Get it here: https://shop.example/ocean-hoodie"
    );
    app.ok(&token, STOP, json!({"id": id})).await;
}

#[tokio::test]
async fn a_youtube_session_stops_cleanly_when_its_quota_runs_out() {
    let youtube = FakeYoutube::start().await.expect("fake YouTube");
    youtube.add_live_video(VIDEO, CHAT);
    youtube.set_polling_interval(CHAT, 1_000);
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("YOUTUBE_API_BASE".into(), youtube.base_url().to_owned()),
            (
                "YOUTUBE_ACCESS_TOKEN".into(),
                youtube.oauth_token().to_owned(),
            ),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("live-quota").await;
    let hoodie = create_hoodie(&app, &token).await;
    // 60 units: two lists (10) and one reply (50) fit; nothing more does.
    let started = app
        .ok(
            &token,
            START,
            json!({"input": {"platform": "YOUTUBE", "products": [hoodie],
                             "youtube": {"videoId": VIDEO},
                             "limits": {"youtubeDailyQuota": 60}}}),
        )
        .await;
    let id = started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned();
    let mut ws = app.ws(&token).await.expect("ws");
    ws.subscribe(
        "subscription($id: ID!) { liveSessionEvents(sessionId: $id) { __typename ... on LimitWarning { code } ... on SessionStopped { reason session { status } } } }",
        json!({"id": id}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    youtube.push_text(CHAT, "alice", "How much is the Ocean Hoodie?");
    youtube.push_text(CHAT, "bob", "How much is the Ocean Hoodie?");

    let data = until_session(&app, &token, &id, "the session to stop", |d| {
        d["liveSession"]["status"] == "STOPPED"
    })
    .await;
    let stats = &data["liveSession"]["stats"];
    assert!(
        stats["youtubeQuotaUsedToday"].as_i64().unwrap_or(i64::MAX) <= 60,
        "{stats:#}"
    );
    let rows = interactions(&data);
    assert!(
        rows.iter().any(|r| r["skipReason"] == "QUOTA_EXHAUSTED"),
        "{rows:#?}"
    );
    assert!(youtube.inserted(CHAT).len() <= 1);

    let mut codes = Vec::new();
    let mut stop_reason = None;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && stop_reason.is_none() {
        if let Some(WsEvent::Next(payload)) = ws.next_event(Duration::from_secs(2)).await {
            let event = &payload["data"]["liveSessionEvents"];
            match event["__typename"].as_str() {
                Some("LimitWarning") => {
                    codes.push(event["code"].as_str().unwrap_or_default().to_owned())
                }
                Some("SessionStopped") => {
                    assert_eq!(event["session"]["status"], "STOPPED");
                    stop_reason = event["reason"].as_str().map(str::to_owned);
                }
                _ => {}
            }
        }
    }
    assert_eq!(stop_reason.as_deref(), Some("QUOTA_EXHAUSTED"));
    assert!(
        codes.iter().any(|c| c == "QUOTA_AT_80_PERCENT"),
        "{codes:?}"
    );
    assert!(codes.iter().any(|c| c == "QUOTA_EXHAUSTED"), "{codes:?}");
    // No request after the stop.
    let after = youtube.requests().len();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(youtube.requests().len(), after);
    assert!(
        youtube.violations().is_empty(),
        "{:?}",
        youtube.violations()
    );
}

#[tokio::test]
async fn a_youtube_session_rides_out_a_server_error_and_stops_when_the_stream_goes_offline() {
    let youtube = FakeYoutube::start().await.expect("fake YouTube");
    youtube.add_live_video(VIDEO, CHAT);
    youtube.set_polling_interval(CHAT, 1_000);
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("YOUTUBE_API_BASE".into(), youtube.base_url().to_owned()),
            (
                "YOUTUBE_ACCESS_TOKEN".into(),
                youtube.oauth_token().to_owned(),
            ),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("live-offline").await;
    let hoodie = create_hoodie(&app, &token).await;
    // The reader's first request (the video lookup) gets a 503: the supervisor restarts the
    // reader after its backoff, and the session carries on.
    youtube.fail_next(leadline_youtube::fake::Failure::ServerError(503));
    youtube.push_text(CHAT, "alice", "How much is the Ocean Hoodie?");
    let started = app
        .ok(
            &token,
            START,
            json!({"input": {"platform": "YOUTUBE", "products": [hoodie],
                             "youtube": {"videoId": VIDEO}}}),
        )
        .await;
    let id = started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned();

    let data = until_session(&app, &token, &id, "alice's question answered", |d| {
        interactions(d).iter().any(|r| r["outcome"] == "REPLIED")
    })
    .await;
    assert_eq!(data["liveSession"]["status"], "ACTIVE");
    assert_eq!(
        youtube.requests().first().map(|r| r.status),
        Some(503),
        "the first request was the injected failure"
    );
    youtube.go_offline(CHAT, "2024-01-01T11:00:00Z");
    until_session(&app, &token, &id, "the session to stop", |d| {
        d["liveSession"]["status"] == "STOPPED"
    })
    .await;
    let after = youtube.requests().len();
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        youtube.requests().len(),
        after,
        "still polling after offline"
    );
    assert_eq!(youtube.inserted(CHAT).len(), 1);
    assert!(
        youtube.violations().is_empty(),
        "{:?}",
        youtube.violations()
    );
}

#[tokio::test]
async fn an_unknown_platform_is_bad_input_and_an_unknown_stored_one_is_internal_not_youtube() {
    let youtube = FakeYoutube::start().await.expect("fake YouTube");
    youtube.add_live_video(VIDEO, CHAT);
    let (database_url, redis_url, _dir) = crate::harness::fresh_database().await;
    let app = spawn_with(SpawnOptions {
        database_url: Some(database_url.clone()),
        redis_url: Some(redis_url),
        env: vec![
            ("YOUTUBE_API_BASE".into(), youtube.base_url().to_owned()),
            (
                "YOUTUBE_ACCESS_TOKEN".into(),
                youtube.oauth_token().to_owned(),
            ),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("live-platforms").await;

    // Input: a platform this build does not know is refused as the client's mistake.
    let refused = app
        .graphql(
            Some(&token),
            START,
            json!({"input": {"platform": "KICK", "youtube": {"videoId": VIDEO}}}),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused:#}");

    let started = app
        .ok(
            &token,
            START,
            json!({"input": {"platform": "YOUTUBE", "youtube": {"videoId": VIDEO}}}),
        )
        .await;
    let id = started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned();
    app.ok(&token, STOP, json!({"id": id})).await;

    // Storage: a row written by a newer build (the only session in this database). It used to
    // read back as YOUTUBE; now it is INTERNAL and logged, and the rest of the row still reads.
    let db = sea_orm::Database::connect(database_url.as_str())
        .await
        .expect("connect");
    sea_orm::ConnectionTrait::execute_unprepared(&db, "UPDATE live_sessions SET platform = 'KICK'")
        .await
        .expect("rewrite the platform");
    let platform = app
        .graphql(
            Some(&token),
            "query($id: ID!) { liveSession(id: $id) { id platform } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&platform), "INTERNAL", "{platform:#}");
    assert!(
        !platform.to_string().contains("YOUTUBE"),
        "never taken for YouTube: {platform:#}"
    );
    let status = app
        .ok(
            &token,
            "query($id: ID!) { liveSession(id: $id) { id status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(status["liveSession"]["status"], "STOPPED");
    let log = std::fs::read_to_string(app.dir.join("server.log")).unwrap_or_default();
    assert!(
        log.contains("a stored column holds a value this build does not know")
            && log.contains("KICK"),
        "the unknown value is logged"
    );
}
