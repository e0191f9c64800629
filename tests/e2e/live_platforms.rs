//! Live sessions on Twitch and TikTok LIVE, and one owner per session across two replicas, end
//! to end against the platform fakes (the real binary, both backends where it makes sense).

use std::time::Duration;

use leadline_twitch::fake::irc::ScriptedMessage;
use leadline_twitch::fake::{FakeHelix, FakeIrc};
use leadline_youtube::fake::{FakeYoutube, BOT_CHANNEL_ID};
use serde_json::{json, Value};

use crate::harness::{error_code, scale_out, spawn_with, SpawnOptions, TestApp, WsEvent};
use crate::live::{create_hoodie, interactions};

const START: &str = "mutation($input: StartLiveSessionInput!) { startLiveSession(input: $input) { session { id status platform } } }";
const SESSION: &str = "query($id: ID!) { liveSession(id: $id) { id status stats { messagesProcessed responsesSent whispersSent whispersUsedToday whispersLimit viewers { viewerId name messages replies repliesRemaining } } interactions(first: 100) { totalCount edges { node { platformMessageId authorId authorName intent outcome skipReason response responseVia leadId } } } leads { id name score temperature } } }";
const MANUAL: &str = "mutation($input: SendManualResponseInput!) { sendManualResponse(input: $input) { via viewerId platformMessageId } }";

fn by_message<'a>(rows: &'a [Value], id: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r["platformMessageId"] == id)
}

#[tokio::test]
async fn a_twitch_session_survives_drops_answers_in_chat_whispers_the_hottest_and_refuses_the_41st_whisper(
) {
    let helix = FakeHelix::start().await.expect("fake Helix");
    helix.add_user("5001", "shopwithmaria");
    let irc = FakeIrc::start_with_token(helix.token())
        .await
        .expect("fake IRC");
    let secret = "eventsub-secret-0123456789";
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("TWITCH_API_BASE".into(), helix.base_url().to_owned()),
            ("TWITCH_IRC_URL".into(), irc.url().to_owned()),
            ("TWITCH_BOT_LOGIN".into(), "leadbot".into()),
            ("TWITCH_ACCESS_TOKEN".into(), helix.token().to_owned()),
            ("TWITCH_CLIENT_ID".into(), helix.client_id().to_owned()),
            ("TWITCH_EVENTSUB_SECRET".into(), secret.into()),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("live-twitch").await;
    let hoodie = create_hoodie(&app, &token).await;

    let bad = app
        .graphql(
            Some(&token),
            START,
            json!({"input": {"platform": "TWITCH", "twitch": {"channel": "no spaces!"}}}),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT", "{bad:#}");
    let started = app
        .ok(
            &token,
            START,
            json!({"input": {"platform": "TWITCH", "products": [hoodie],
                "twitch": {"channel": "#ShopWithMaria"},
                "limits": {"viewerCooldownSeconds": 0, "maxRepliesPerViewer": 5}}}),
        )
        .await;
    let id = started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(
        irc.wait_until(Duration::from_secs(20), |log| !log.joins.is_empty())
            .await,
        "the bot joined the channel"
    );

    // A question in chat is answered in chat (a threaded reply), paced by the bot's seat.
    let dave = ScriptedMessage::new("dave", "How much is the Ocean Hoodie?").with_id("tw-1");
    helix.add_user(&dave.user_id, "dave");
    irc.privmsg("shopwithmaria", &dave);
    let data = app
        .eventually(&token, SESSION, json!({"id": &id}), "dave's answer", |d| {
            by_message(&interactions(d), "tw-1").is_some_and(|r| r["outcome"] == "REPLIED")
        })
        .await;
    let row = by_message(&interactions(&data), "tw-1")
        .cloned()
        .unwrap_or_default();
    assert_eq!(row["responseVia"], "PUBLIC", "{row:#}");
    assert!(
        irc.wait_until(Duration::from_secs(10), |log| log
            .said
            .iter()
            .any(|s| s.text.contains("@dave Ocean Hoodie is 19.99 USD")))
            .await,
        "the answer went out in chat: {:#?}",
        irc.log().said
    );

    // A dropped socket, then a RECONNECT: the seat comes back each time and keeps reading.
    irc.drop_connections();
    assert!(
        irc.wait_until(Duration::from_secs(20), |log| log.joins.len() >= 2)
            .await,
        "re-joined after the drop"
    );
    irc.reconnect();
    assert!(
        irc.wait_until(Duration::from_secs(20), |log| log.joins.len() >= 3)
            .await,
        "re-joined after RECONNECT"
    );

    // Erin keeps asking to buy: she turns HOT, and the scarce whisper goes to her.
    let erin_lines = [
        "I want to buy the Ocean Hoodie, how do I pay?",
        "I want to buy 2 Ocean Hoodies today, size L, how much with shipping?",
        "Ready to buy the Ocean Hoodie now, send me the link please!",
    ];
    let erin_id = ScriptedMessage::new("erin", "x").user_id;
    helix.add_user(&erin_id, "erin");
    for (i, text) in erin_lines.iter().enumerate() {
        let line = ScriptedMessage::new("erin", text).with_id(&format!("tw-erin-{i}"));
        irc.privmsg("shopwithmaria", &line);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let data = app
        .eventually(
            &token,
            SESSION,
            json!({"id": &id}),
            "a whisper to erin",
            |d| {
                interactions(d)
                    .iter()
                    .any(|r| r["authorName"] == "erin" && r["responseVia"] == "WHISPER")
            },
        )
        .await;
    let erin_lead = data["liveSession"]["leads"]
        .as_array()
        .and_then(|leads| leads.iter().find(|l| l["name"] == "erin"))
        .cloned()
        .unwrap_or_default();
    assert!(
        matches!(erin_lead["temperature"].as_str(), Some("HOT" | "VERY_HOT")),
        "erin is hot: {erin_lead:#}"
    );
    let dave_rows = interactions(&data)
        .iter()
        .filter(|r| r["authorName"] == "dave")
        .count();
    assert_eq!(dave_rows, 1, "dave asked once, stored once");
    assert!(
        helix.whispers().iter().any(|w| w.to_user_id == erin_id),
        "Helix got the whisper: {:#?}",
        helix.whispers()
    );

    // The day's budget is 40 whispers: the rest of them go out by hand (Twitch allows 3 a
    // second), the 41st is refused before Helix is called.
    let mut ws = app.ws(&token).await.expect("ws");
    ws.subscribe(
        "subscription($id: ID!) { liveSessionEvents(sessionId: $id) { __typename ... on LimitWarning { code } ... on ManualResponseSent { username via } } }",
        json!({"id": id}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let used = app.ok(&token, SESSION, json!({"id": id})).await["liveSession"]["stats"]
        ["whispersUsedToday"]
        .as_i64()
        .expect("whispers used");
    assert!((1..40).contains(&used), "erin's whispers: {used}");
    for i in 0..(40 - used) {
        let login = format!("viewer{i:02}");
        helix.add_user(&format!("77{i:04}"), &login);
        let sent = app
            .ok(
                &token,
                MANUAL,
                json!({"input": {"sessionId": id, "username": login,
                       "text": "Thanks for watching! Here is 10% off: MARIA10", "via": "WHISPER"}}),
            )
            .await;
        assert_eq!(sent["sendManualResponse"]["via"], "WHISPER");
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    helix.add_user("779999", "latecomer");
    let whispers_before = helix.whispers().len();
    let refused = app
        .graphql(
            Some(&token),
            MANUAL,
            json!({"input": {"sessionId": id, "username": "latecomer",
                   "text": "One more?", "via": "WHISPER"}}),
        )
        .await;
    assert_eq!(error_code(&refused), "LIMIT_REACHED", "{refused:#}");
    assert_eq!(
        refused["errors"][0]["extensions"]["limit"], "WHISPERS_PER_DAY",
        "{refused:#}"
    );
    assert_eq!(helix.whispers().len(), whispers_before, "no 41st whisper");
    // The dashboard heard each manual whisper and, once, that the whispers ran out.
    let mut manual = 0;
    let mut exhausted = 0;
    while let Some(WsEvent::Next(event)) = ws.next_event(Duration::from_secs(2)).await {
        let event = &event["data"]["liveSessionEvents"];
        match event["__typename"].as_str() {
            Some("ManualResponseSent") => manual += 1,
            Some("LimitWarning") if event["code"] == "WHISPERS_EXHAUSTED" => exhausted += 1,
            _ => {}
        }
    }
    assert_eq!((manual, exhausted), (40 - used, 1));
    let stats = app.ok(&token, SESSION, json!({"id": id})).await;
    assert_eq!(stats["liveSession"]["stats"]["whispersUsedToday"], 40);
    assert_eq!(stats["liveSession"]["stats"]["whispersLimit"], 40);
    // A whisper is refused on YouTube-only routes: DM is TikTok's.
    let wrong_route = app
        .graphql(
            Some(&token),
            MANUAL,
            json!({"input": {"sessionId": id, "username": "dave", "text": "hi", "via": "DM"}}),
        )
        .await;
    assert_eq!(
        error_code(&wrong_route),
        "BAD_USER_INPUT",
        "{wrong_route:#}"
    );

    // EventSub: the challenge is echoed; a forged delivery is refused; a signed chat message is
    // stored once even when redelivered.
    let url = format!("{}/api/webhook/twitch/eventsub", app.base);
    let challenge = leadline_twitch::fake::eventsub::verification(
        secret,
        "es-verify-1",
        chrono::Utc::now(),
        "pogchamp-kappa-360noscope",
    );
    let answer = challenge.post(&app.http, &url).await.expect("post");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(
        answer.text().await.unwrap_or_default(),
        "pogchamp-kappa-360noscope"
    );
    let line = leadline_twitch::fake::eventsub::ChatLine {
        broadcaster_user_id: "5001".into(),
        broadcaster_user_login: "shopwithmaria".into(),
        chatter_user_id: "6006".into(),
        chatter_user_login: "frank".into(),
        message_id: "es-msg-1".into(),
        text: "How much is the Ocean Hoodie?".into(),
    };
    let forged = leadline_twitch::fake::eventsub::chat_message_notification(
        "not-the-secret",
        "es-1",
        chrono::Utc::now(),
        &line,
    );
    let refused = forged.post(&app.http, &url).await.expect("post");
    assert_eq!(refused.status().as_u16(), 401);
    let signed = leadline_twitch::fake::eventsub::chat_message_notification(
        secret,
        "es-1",
        chrono::Utc::now(),
        &line,
    );
    for _ in 0..2 {
        let accepted = signed.post(&app.http, &url).await.expect("post");
        assert_eq!(accepted.status().as_u16(), 200);
    }
    let data = app
        .eventually(
            &token,
            SESSION,
            json!({"id": &id}),
            "frank's EventSub message",
            |d| {
                by_message(&interactions(d), "es-msg-1").is_some_and(|r| r["outcome"] != "RECEIVED")
            },
        )
        .await;
    let franks = interactions(&data)
        .into_iter()
        .filter(|r| r["platformMessageId"] == "es-msg-1")
        .count();
    assert_eq!(franks, 1, "stored once");
}

#[tokio::test]
async fn a_tiktok_session_reads_polled_and_webhook_comments_and_dms_followers_only() {
    let tiktok = leadline_tiktok::fake::FakeTikTok::start()
        .await
        .expect("fake TikTok");
    tiktok.set_live("maria.shop", "room-77", true);
    tiktok.set_live_poll_interval_ms(1_000);
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("TIKTOK_API_BASE".into(), tiktok.base_url().to_owned()),
            ("TIKTOK_LIVE_API_BASE".into(), tiktok.base_url().to_owned()),
            (
                "TIKTOK_LIVE_ACCESS_TOKEN".into(),
                tiktok.live_credentials().access_token.clone(),
            ),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("live-tiktok").await;
    let hoodie = create_hoodie(&app, &token).await;
    let business = tiktok.credentials();
    app.ok(
        &token,
        "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id } } }",
        json!({"input": {"channel": "TIKTOK", "externalAccountId": business.business_id,
               "accessToken": business.access_token, "clientSecret": tiktok.client_secret()}}),
    )
    .await;
    let started = app
        .ok(
            &token,
            START,
            json!({"input": {"platform": "TIKTOK", "products": [hoodie],
                "tiktok": {"username": "@maria.shop"},
                "limits": {"viewerCooldownSeconds": 0}}}),
        )
        .await;
    let id = started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // Polled: a follower's question is answered by DM.
    tiktok.push_comment(
        "room-77",
        leadline_tiktok::fake::live_comment("c-1", "gina", "How much is the Ocean Hoodie?", true),
    );
    let data = app
        .eventually(&token, SESSION, json!({"id": &id}), "gina's DM", |d| {
            by_message(&interactions(d), "c-1").is_some_and(|r| r["outcome"] == "REPLIED")
        })
        .await;
    assert_eq!(
        by_message(&interactions(&data), "c-1").map(|r| r["responseVia"].clone()),
        Some(json!("DM"))
    );
    assert!(
        tiktok
            .sent_messages()
            .iter()
            .any(|m| m.to_string().contains("uid_gina")),
        "the DM went to gina: {:#?}",
        tiktok.sent_messages()
    );

    // By webhook: a non-follower is not DMed (TikTok's rule), and a redelivery counts once.
    let hank =
        leadline_tiktok::fake::live_comment("c-2", "hank", "How much is the Ocean Hoodie?", false);
    let signed = tiktok.signed_live_comment_webhook("room-77", &hank);
    let url = format!("{}/api/webhook/tiktok-live/live-tiktok", app.base);
    for _ in 0..2 {
        let status = app
            .http
            .post(&url)
            .headers(signed.headers.clone())
            .body(signed.body.clone())
            .send()
            .await
            .expect("webhook")
            .status()
            .as_u16();
        assert_eq!(status, 200);
    }
    let data = app
        .eventually(&token, SESSION, json!({"id": &id}), "hank's skip", |d| {
            by_message(&interactions(d), "c-2").is_some_and(|r| r["outcome"] == "SKIPPED")
        })
        .await;
    assert_eq!(
        by_message(&interactions(&data), "c-2").map(|r| r["skipReason"].clone()),
        Some(json!("TIKTOK_NOT_FOLLOWER"))
    );
    assert_eq!(
        interactions(&data)
            .iter()
            .filter(|r| r["platformMessageId"] == "c-2")
            .count(),
        1
    );
    // A forged webhook is refused.
    let forged = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("TikTok-Signature", "t=1,s=00")
        .body(signed.body.clone())
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16();
    assert_eq!(forged, 401);

    // The LIVE ends by webhook: the session stops.
    let end = tiktok.signed_live_end_webhook("room-77");
    let status = app
        .http
        .post(&url)
        .headers(end.headers.clone())
        .body(end.body.clone())
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16();
    assert_eq!(status, 200);
    app.eventually(
        &token,
        SESSION,
        json!({"id": &id}),
        "the session to stop",
        |d| d["liveSession"]["status"] == "STOPPED",
    )
    .await;
}

async fn readers(app: &TestApp) -> Option<u64> {
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with("leadline_live_readers"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
}

#[tokio::test]
async fn two_replicas_one_owner_and_a_takeover_without_double_replies() {
    let Some((admin_url, redis_url)) =
        scale_out("two_replicas_one_owner_and_a_takeover_without_double_replies")
    else {
        return;
    };
    let youtube = FakeYoutube::start().await.expect("fake YouTube");
    youtube.add_live_video("dQw4w9WgXcQ", "chat-ha");
    youtube.set_polling_interval("chat-ha", 1_000);
    let _ = (&admin_url, &redis_url);
    let (database_url, redis_url, _) = crate::harness::fresh_database().await;
    let redis_url = redis_url.expect("the Postgres pass has Redis");
    let prefix = format!("ha-{}", uuid::Uuid::now_v7().simple());
    let options = || SpawnOptions {
        database_url: Some(database_url.clone()),
        redis_url: Some(Some(redis_url.clone())),
        redis_prefix: Some(prefix.clone()),
        env: vec![
            ("YOUTUBE_API_BASE".into(), youtube.base_url().to_owned()),
            (
                "YOUTUBE_ACCESS_TOKEN".into(),
                youtube.oauth_token().to_owned(),
            ),
            ("LEADLINE_LIVE_LEASE_SECONDS".into(), "2".into()),
        ],
    };
    let first = spawn_with(options()).await;
    let second = spawn_with(options()).await;
    let token = first.sign_up("live-ha").await;
    let hoodie = create_hoodie(&first, &token).await;
    let started = first
        .ok(
            &token,
            START,
            json!({"input": {"platform": "YOUTUBE", "products": [hoodie],
                "youtube": {"videoId": "dQw4w9WgXcQ", "botChannelId": BOT_CHANNEL_ID},
                "limits": {"viewerCooldownSeconds": 0}}}),
        )
        .await;
    let id = started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    youtube.push_text("chat-ha", "alice", "How much is the Ocean Hoodie?");
    first
        .eventually(&token, SESSION, json!({"id": &id}), "alice's answer", |d| {
            interactions(d).iter().any(|r| r["outcome"] == "REPLIED")
        })
        .await;
    // Exactly one replica reads the session.
    let (a, b) = (readers(&first).await, readers(&second).await);
    assert_eq!(
        a.unwrap_or(0) + b.unwrap_or(0),
        1,
        "one reader in all: {a:?} + {b:?}"
    );
    let (owner, survivor) = if a == Some(1) {
        (first, second)
    } else {
        (second, first)
    };
    // The owner dies without a word (SIGKILL on drop): the other takes over within seconds.
    drop(owner);
    for viewer in ["bob", "carol", "dan"] {
        youtube.push_text("chat-ha", viewer, "How much is the Ocean Hoodie?");
    }
    let data = survivor
        .eventually(&token, SESSION, json!({"id": &id}), "the takeover", |d| {
            interactions(d)
                .iter()
                .filter(|r| r["outcome"] == "REPLIED")
                .count()
                == 4
        })
        .await;
    assert_eq!(readers(&survivor).await, Some(1));
    // Every question answered exactly once: four replies posted, no message stored twice.
    let rows = interactions(&data);
    assert_eq!(rows.len(), 4, "{rows:#?}");
    let posted = youtube
        .inserted("chat-ha")
        .iter()
        .filter(|m| m.to_string().contains("Ocean Hoodie is"))
        .count();
    assert_eq!(posted, 4, "no double replies");
}

#[tokio::test]
async fn leadline_demo_replays_a_stream_and_ends_with_a_summary_table() {
    let dir = std::env::temp_dir().join(format!(
        "leadline-demo-test-{}",
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let output = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
            .args(["demo", "--seconds", "8", "--messages", "120"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEADLINE_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .current_dir(&dir)
            .output(),
    )
    .await
    .expect("the demo ends by itself")
    .expect("run demo");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}: {stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("GraphiQL: http://127.0.0.1:"), "{stdout}");
    assert!(stdout.contains("liveSessionEvents(sessionId:"), "{stdout}");
    let count = |row: &str| -> i64 {
        stdout
            .lines()
            .find(|l| {
                l.starts_with(row) && l[row.len()..].trim().chars().all(|c| c.is_ascii_digit())
            })
            .and_then(|l| l[row.len()..].trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{row}` row in:\n{stdout}"))
    };
    let (messages, replies, skipped, leads) = (
        count("messages"),
        count("replies"),
        count("skipped"),
        count("leads"),
    );
    let _hot = count("hot leads");
    assert!(
        messages >= 60,
        "most of the 120 scripted messages were read: {stdout}"
    );
    assert!(replies >= 1, "the agent answered: {stdout}");
    assert!(skipped >= 1, "and stayed silent on chatter: {stdout}");
    assert!(leads >= 10, "viewers became leads: {stdout}");
    assert!(
        stdout.lines().filter(|l| l.starts_with('[')).count() >= 3,
        "a summary line a second: {stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
