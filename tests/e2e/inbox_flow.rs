//! The inbox spine end to end, per channel, against each platform's loopback fake: a signed
//! webhook comes in → lead + conversation + message → the `ai_response` job (run by the server's
//! own workers) → the fake receives the exact Send API request → a status webhook → DELIVERED.
//! Plus the faults the issue names: 429 then success, 500 forever then `retryJob`, a worker
//! killed mid-job, and a message outside the 24-hour window. Runs on the embedded default and on
//! Postgres+Redis.

use std::time::{Duration, Instant};

use leadline_llm::fake::{Behavior, FakeAnthropic};
use leadline_meta::client::Channel as MetaChannel;
use leadline_meta::fake::{Failure as MetaFailure, FakeMeta, SignedWebhook};
use leadline_meta::models::UserProfile;
use leadline_tiktok::fake::{Failure as TikTokFailure, FakeTikTok};
use leadline_whatsapp::fake::FakeWhatsApp;
use serde_json::{json, Value};

use crate::harness::{spawn_with, SpawnOptions, TestApp, WsEvent};

/// The three fakes (Messenger and Instagram share one Graph fake, as they share Graph).
struct Platforms {
    whatsapp: FakeWhatsApp,
    meta: FakeMeta,
    tiktok: FakeTikTok,
}

impl Platforms {
    async fn start() -> Self {
        Self {
            whatsapp: FakeWhatsApp::start().await.expect("fake WhatsApp"),
            meta: FakeMeta::start().await.expect("fake Meta"),
            tiktok: FakeTikTok::start().await.expect("fake TikTok"),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "WHATSAPP_API_BASE".into(),
                self.whatsapp.base_url().to_owned(),
            ),
            ("META_API_BASE".into(), self.meta.base_url().to_owned()),
            ("TIKTOK_API_BASE".into(), self.tiktok.base_url().to_owned()),
            // Retries in tenths of a second, so fault tests finish quickly.
            ("LEADLINE_JOB_RETRY_BASE_MS".into(), "100".into()),
            ("LEADLINE_WORKERS".into(), "2".into()),
        ]
    }
}

const CONNECT: &str = "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id } } }";

/// Connects all four channels of the signed-in tenant to the fakes.
async fn connect_channels(app: &TestApp, token: &str, platforms: &Platforms) {
    let whatsapp = platforms.whatsapp.credentials();
    let meta = platforms.meta.credentials();
    let tiktok = platforms.tiktok.credentials();
    let inputs = [
        json!({"channel": "WHATSAPP", "externalAccountId": whatsapp.phone_number_id,
               "accessToken": whatsapp.access_token, "appSecret": platforms.whatsapp.app_secret(),
               "verifyToken": "wa-verify"}),
        json!({"channel": "FACEBOOK", "externalAccountId": platforms.meta.page_id(),
               "accessToken": meta.access_token, "appSecret": platforms.meta.app_secret(),
               "verifyToken": "fb-verify"}),
        json!({"channel": "INSTAGRAM", "externalAccountId": platforms.meta.page_id(),
               "accessToken": meta.access_token, "appSecret": platforms.meta.app_secret(),
               "verifyToken": "ig-verify"}),
        json!({"channel": "TIKTOK", "externalAccountId": tiktok.business_id,
               "accessToken": tiktok.access_token, "clientSecret": platforms.tiktok.client_secret()}),
    ];
    for input in inputs {
        app.ok(token, CONNECT, json!({ "input": input })).await;
    }
}

async fn deliver(app: &TestApp, channel: &str, slug: &str, signed: &SignedWebhook) -> u16 {
    app.http
        .post(format!("{}/api/webhook/{channel}/{slug}", app.base))
        .headers(signed.headers.clone())
        .body(signed.body.clone())
        .send()
        .await
        .expect("webhook request")
        .status()
        .as_u16()
}

const CONVERSATIONS: &str = "query($channel: Channel) { conversations(filter: {channel: $channel}, first: 10) { totalCount edges { node { id channel status handledBy lead { id name phone score } messages(first: 20) { totalCount edges { node { id body direction senderKind deliveryStatus deliveryError platformMessageId } } } } } } }";

/// The messages of the only conversation on `channel`, newest first.
fn messages(data: &Value) -> Vec<Value> {
    data["conversations"]["edges"][0]["node"]["messages"]["edges"]
        .as_array()
        .map(|edges| edges.iter().map(|e| e["node"].clone()).collect())
        .unwrap_or_default()
}

fn ai_reply(data: &Value) -> Option<Value> {
    messages(data)
        .into_iter()
        .find(|m| m["direction"] == "OUTBOUND" && m["senderKind"] == "AI")
}

/// Waits for the AI's reply on `channel` to reach `status`; returns (conversation data, reply).
async fn reply_with_status(
    app: &TestApp,
    token: &str,
    channel: &str,
    status: &str,
) -> (Value, Value) {
    let data = app
        .eventually(
            token,
            CONVERSATIONS,
            json!({ "channel": channel }),
            &format!("the AI reply on {channel} to be {status}"),
            |d| ai_reply(d).is_some_and(|m| m["deliveryStatus"] == status),
        )
        .await;
    let reply = ai_reply(&data).expect("reply");
    (data, reply)
}

async fn inbox_app(slug: &str, extra: Vec<(String, String)>) -> (TestApp, Platforms, String) {
    let platforms = Platforms::start().await;
    let mut env = platforms.env();
    env.extend(extra);
    let app = spawn_with(SpawnOptions {
        env,
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up(slug).await;
    connect_channels(&app, &token, &platforms).await;
    (app, platforms, token)
}

#[tokio::test]
async fn whatsapp_message_in_ai_reply_out_then_delivered_and_read() {
    let (app, platforms, token) = inbox_app("flow-wa", vec![]).await;
    let inbound = platforms.whatsapp.signed_text_message_webhook(
        "16505551234",
        "Maria Lopez",
        "Hi! How much is your cheapest plan? I need it this week",
    );
    assert_eq!(deliver(&app, "whatsapp", "flow-wa", &inbound).await, 200);

    let (data, reply) = reply_with_status(&app, &token, "WHATSAPP", "SENT").await;
    let conversation = &data["conversations"]["edges"][0]["node"];
    assert_eq!(data["conversations"]["totalCount"], 1);
    assert_eq!(conversation["channel"], "WHATSAPP");
    assert_eq!(conversation["status"], "ACTIVE");
    assert_eq!(conversation["handledBy"], "AI");
    assert_eq!(conversation["lead"]["name"], "Maria Lopez");
    assert_eq!(conversation["lead"]["phone"], "+16505551234");
    let inbound_row = messages(&data)
        .into_iter()
        .find(|m| m["direction"] == "INBOUND")
        .expect("inbound message stored");
    assert_eq!(
        inbound_row["platformMessageId"].as_str(),
        inbound.message_id.as_deref()
    );

    // The exact Cloud API request.
    let sent = platforms.whatsapp.sent_messages();
    assert_eq!(sent.len(), 1, "one send: {sent:#?}");
    assert_eq!(sent[0]["messaging_product"], "whatsapp");
    assert_eq!(sent[0]["to"], "16505551234");
    assert_eq!(sent[0]["type"], "text");
    assert_eq!(sent[0]["text"]["body"], reply["body"]);
    let wamid = reply["platformMessageId"]
        .as_str()
        .expect("the platform's id is stored")
        .to_owned();

    for (status, expected) in [("delivered", "DELIVERED"), ("read", "READ")] {
        let update = platforms
            .whatsapp
            .signed_status_webhook(&wamid, "16505551234", status, None);
        assert_eq!(deliver(&app, "whatsapp", "flow-wa", &update).await, 200);
        reply_with_status(&app, &token, "WHATSAPP", expected).await;
    }
    // A late "sent" never moves the message backwards.
    let late = platforms
        .whatsapp
        .signed_status_webhook(&wamid, "16505551234", "sent", None);
    assert_eq!(deliver(&app, "whatsapp", "flow-wa", &late).await, 200);
    reply_with_status(&app, &token, "WHATSAPP", "READ").await;
}

/// A Messenger/Instagram `delivery` event for `mid`, signed by the fake.
fn delivery_webhook(meta: &FakeMeta, object: &str, psid: &str, mid: &str) -> SignedWebhook {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    meta.signed_webhook(&json!({
        "object": object,
        "entry": [{
            "id": meta.page_id(),
            "time": now_ms,
            "messaging": [{
                "sender": {"id": psid},
                "recipient": {"id": meta.page_id()},
                "timestamp": now_ms,
                "delivery": {"mids": [mid], "watermark": now_ms}
            }]
        }]
    }))
}

async fn meta_round_trip(channel: MetaChannel, path: &str, stored: &str, object: &str) {
    let slug = format!("flow-{path}");
    let (app, platforms, token) = inbox_app(&slug, vec![]).await;
    let psid = "6543210987654321";
    // The webhook carries no name: a `fetch_profile` job asks the User Profile API for it.
    platforms.meta.add_profile(UserProfile {
        id: psid.into(),
        first_name: Some("Lucia".into()),
        last_name: Some("Gomez".into()),
        name: Some("Lucia Gomez".into()).filter(|_| object == "instagram"),
        ..UserProfile::default()
    });
    let inbound = platforms.meta.signed_message_webhook(
        channel,
        psid,
        "Hello, do you ship to Spain? What does it cost?",
    );
    assert_eq!(deliver(&app, path, &slug, &inbound).await, 200);

    let (_, reply) = reply_with_status(&app, &token, stored, "SENT").await;
    let sent = platforms.meta.sent_messages();
    assert_eq!(sent.len(), 1, "one send: {sent:#?}");
    assert_eq!(sent[0]["recipient"]["id"], psid);
    assert_eq!(sent[0]["messaging_type"], "RESPONSE");
    assert_eq!(sent[0]["message"]["text"], reply["body"]);
    assert!(sent[0].get("tag").is_none(), "no tag inside the window");

    app.eventually(
        &token,
        CONVERSATIONS,
        json!({ "channel": stored }),
        "the lead to be named from its profile",
        |d| d["conversations"]["edges"][0]["node"]["lead"]["name"] == "Lucia Gomez",
    )
    .await;

    let mid = reply["platformMessageId"].as_str().expect("mid stored");
    let delivered = delivery_webhook(&platforms.meta, object, psid, mid);
    assert_eq!(deliver(&app, path, &slug, &delivered).await, 200);
    reply_with_status(&app, &token, stored, "DELIVERED").await;
}

#[tokio::test]
async fn messenger_message_in_ai_reply_out_then_delivered() {
    meta_round_trip(MetaChannel::Messenger, "facebook", "FACEBOOK", "page").await;
}

#[tokio::test]
async fn instagram_message_in_ai_reply_out_then_delivered() {
    meta_round_trip(
        MetaChannel::Instagram,
        "instagram",
        "INSTAGRAM",
        "instagram",
    )
    .await;
}

#[tokio::test]
async fn tiktok_message_in_ai_reply_out() {
    let (app, platforms, token) = inbox_app("flow-tt", vec![]).await;
    let inbound = platforms.tiktok.signed_dm_webhook(
        "open_id_fan_42",
        "hey is the hoodie still available? price?",
    );
    let signed = SignedWebhook {
        headers: inbound.headers.clone(),
        body: inbound.body.clone(),
        message_id: inbound.message_id.clone(),
    };
    assert_eq!(deliver(&app, "tiktok", "flow-tt", &signed).await, 200);
    let (_, reply) = reply_with_status(&app, &token, "TIKTOK", "SENT").await;
    let sent = platforms.tiktok.sent_messages();
    assert_eq!(sent.len(), 1, "one send: {sent:#?}");
    let body = sent[0].to_string();
    assert!(body.contains("open_id_fan_42"), "recipient in {body}");
    assert!(
        body.contains(reply["body"].as_str().expect("body")),
        "text in {body}"
    );
}

const DEAD_SENDS: &str =
    "{ jobs(filter: {status: DEAD}) { edges { node { id kind error attempts } } } }";

#[tokio::test]
async fn a_429_is_retried_and_delivered_once_and_a_500_forever_ends_dead_until_retried() {
    let (app, platforms, token) = inbox_app("flow-faults", vec![]).await;
    // 429 once, then success: one delivered send.
    platforms.whatsapp.fail_next(
        1,
        MetaFailure::RateLimited {
            retry_after_secs: None,
        },
    );
    let first =
        platforms
            .whatsapp
            .signed_text_message_webhook("16505550001", "Ana", "How much is it?");
    assert_eq!(deliver(&app, "whatsapp", "flow-faults", &first).await, 200);
    reply_with_status(&app, &token, "WHATSAPP", "SENT").await;
    assert_eq!(platforms.whatsapp.sent_messages().len(), 1);

    // 500 on every attempt (5 attempts by default): the send job ends DEAD with the platform's
    // error and the message FAILED; nothing is lost: once the platform is back, retryJob sends it.
    platforms.tiktok.fail_next(5, TikTokFailure::ServerError);
    let inbound = platforms
        .tiktok
        .signed_dm_webhook("open_id_dead_letter", "Price of the blue one?");
    let inbound = SignedWebhook {
        headers: inbound.headers,
        body: inbound.body,
        message_id: inbound.message_id,
    };
    assert_eq!(deliver(&app, "tiktok", "flow-faults", &inbound).await, 200);
    let is_dead_send = |j: &Value| j["node"]["kind"] == "send_tiktok";
    let dead = app
        .eventually(&token, DEAD_SENDS, json!({}), "a DEAD send job", |d| {
            d["jobs"]["edges"]
                .as_array()
                .is_some_and(|e| e.iter().any(is_dead_send))
        })
        .await;
    let job = dead["jobs"]["edges"]
        .as_array()
        .and_then(|e| e.iter().find(|j| is_dead_send(j)))
        .expect("dead job")["node"]
        .clone();
    assert_eq!(job["attempts"], 5, "{job}");
    assert!(
        job["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{job}"
    );
    let (_, failed) = reply_with_status(&app, &token, "TIKTOK", "FAILED").await;
    assert!(failed["deliveryError"]
        .as_str()
        .is_some_and(|e| !e.is_empty()));
    assert!(platforms.tiktok.sent_messages().is_empty());
    assert_eq!(
        platforms.tiktok.requests().len(),
        5,
        "five attempts reached TikTok"
    );

    app.ok(
        &token,
        "mutation($id: ID!) { retryJob(input: {id: $id}) { job { status } } }",
        json!({ "id": job["id"] }),
    )
    .await;
    reply_with_status(&app, &token, "TIKTOK", "SENT").await;
    assert_eq!(platforms.tiktok.sent_messages().len(), 1);
}

#[tokio::test]
async fn a_worker_killed_mid_job_is_taken_over_and_the_customer_gets_one_reply() {
    let anthropic = FakeAnthropic::start().await.expect("fake Anthropic");
    let platforms = Platforms::start().await;
    let (database_url, redis_url, _) = crate::harness::fresh_database().await;
    let mut env = platforms.env();
    env.extend([
        (
            "ANTHROPIC_API_KEY".to_owned(),
            anthropic.api_key().to_owned(),
        ),
        (
            "ANTHROPIC_API_BASE".to_owned(),
            anthropic.base_url().to_owned(),
        ),
        ("LEADLINE_JOB_LEASE_SECONDS".to_owned(), "3".to_owned()),
        ("LEADLINE_AI_TIMEOUT_SECONDS".to_owned(), "60".to_owned()),
    ]);
    let options = SpawnOptions {
        database_url: Some(database_url),
        redis_url: Some(redis_url),
        redis_prefix: Some(format!("kill-{}", uuid::Uuid::now_v7().simple())),
        env,
    };
    let first = spawn_with(options.clone()).await;
    let token = first.sign_up("flow-kill").await;
    connect_channels(&first, &token, &platforms).await;
    first
        .ok(
            &token,
            "mutation { updateAiContext(input: {provider: ANTHROPIC}) { aiContext { provider } } }",
            json!({}),
        )
        .await;
    // The first AI call hangs, so the worker is busy with the job when it dies.
    anthropic.push(Behavior::Slow {
        delay: Duration::from_secs(120),
        then: Box::new(Behavior::Auto),
    });
    let inbound =
        platforms
            .whatsapp
            .signed_text_message_webhook("16505559999", "Kim", "How much is it?");
    assert_eq!(
        deliver(&first, "whatsapp", "flow-kill", &inbound).await,
        200
    );
    first
        .eventually(
            &token,
            "{ jobs(filter: {status: RUNNING, kind: \"ai_response\"}) { totalCount } }",
            json!({}),
            "the ai_response job to be running",
            |d| d["jobs"]["totalCount"] == 1,
        )
        .await;
    // Killed only once its AI request is in flight (else the next process would get the slow
    // answer meant for this one).
    let started = Instant::now();
    while anthropic.request_count() == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "no AI request");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(first); // SIGKILL: no graceful shutdown, the lease is simply left to lapse.

    let second = spawn_with(options).await;
    let (data, _) = reply_with_status(&second, &token, "WHATSAPP", "SENT").await;
    let replies = messages(&data)
        .into_iter()
        .filter(|m| m["direction"] == "OUTBOUND")
        .count();
    assert_eq!(replies, 1, "one reply stored: {data:#}");
    assert_eq!(
        platforms.whatsapp.sent_messages().len(),
        1,
        "the platform saw one send"
    );
}

/// A dashboard subscribed over graphql-transport-ws sees the customer's message and then the
/// AI's reply, live, in order.
#[tokio::test]
async fn a_dashboard_sees_the_inbound_message_and_the_ai_reply_live() {
    let (app, platforms, token) = inbox_app("flow-live", vec![]).await;
    let mut ws = app.ws(&token).await.expect("ws");
    ws.subscribe(
        "subscription { messageAdded { conversationId direction senderKind body } }",
        json!({}),
    )
    .await;
    let inbound = platforms.whatsapp.signed_text_message_webhook(
        "16505557777",
        "Live Viewer",
        "How much is shipping?",
    );
    assert_eq!(deliver(&app, "whatsapp", "flow-live", &inbound).await, 200);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match ws.next_event(Duration::from_secs(20)).await {
            Some(WsEvent::Next(payload)) => seen.push(payload["data"]["messageAdded"].clone()),
            other => panic!("expected messageAdded events, got {other:?} after {seen:#?}"),
        }
    }
    assert_eq!(seen[0]["direction"], "INBOUND");
    assert_eq!(seen[0]["body"], "How much is shipping?");
    assert_eq!(seen[1]["direction"], "OUTBOUND");
    assert_eq!(seen[1]["senderKind"], "AI");
    assert_eq!(seen[0]["conversationId"], seen[1]["conversationId"]);
}
