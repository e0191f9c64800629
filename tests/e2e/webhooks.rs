//! The messaging webhook shims (`/api/webhook/{whatsapp|instagram|facebook|tiktok}/{slug}`),
//! driven with deliveries signed by the platforms' fakes: handshake, signature checks on the
//! raw body, one lead + one `ai_response` job per new contact, redelivery changing nothing,
//! size limit, secrets precedence, TikTok's legacy scheme and replay window, metrics, and (on
//! the Postgres pass) a database outage answered 503 and healed by the redelivery.
//!
//! Workers are off (`LEADLINE_WORKERS=0`) so the `ai_response` jobs stay where the webhook put
//! them and the counts below are exact.

use std::time::Duration;

use leadline_meta::fake::FakeMeta;
use leadline_tiktok::fake::FakeTikTok;
use leadline_whatsapp::fake::{FakeWhatsApp, FakeWhatsAppConfig};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde_json::{json, Value};

use crate::harness::{
    error_code, fresh_database, scale_out, spawn_with, swap_authority, SpawnOptions, TcpProxy,
    TestApp,
};

const VERIFY_TOKEN: &str = "verify-me-please";
/// A number libphonenumber accepts (UK mobile), so the lead gets an E.164 phone.
const WA_FROM: &str = "447911123456";

/// A delivery: the exact signed bytes and the headers the platform sends with them.
#[derive(Clone)]
struct Delivery {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Delivery {
    /// The same body with one byte changed after signing.
    fn tampered(&self) -> Self {
        let text = String::from_utf8(self.body.clone()).unwrap();
        let tampered = text.replacen("hello", "hellO", 1);
        assert_ne!(tampered, text, "the body carries the word hello");
        Self {
            headers: self.headers.clone(),
            body: tampered.into_bytes(),
        }
    }

    /// The same body without any signature header.
    fn unsigned(&self) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        Self {
            headers,
            body: self.body.clone(),
        }
    }
}

fn meta_delivery(signed: leadline_meta::fake::SignedWebhook) -> Delivery {
    Delivery {
        headers: signed.headers,
        body: signed.body,
    }
}

fn tiktok_delivery(signed: leadline_tiktok::fake::SignedWebhook) -> Delivery {
    Delivery {
        headers: signed.headers,
        body: signed.body,
    }
}

async fn app_with(env: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![("LEADLINE_WORKERS".to_owned(), "0".to_owned())];
    vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    spawn_with(SpawnOptions {
        env: vars,
        ..Default::default()
    })
    .await
}

async fn connect(app: &TestApp, token: &str, input: Value) {
    app.ok(
        token,
        "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id } } }",
        json!({ "input": input }),
    )
    .await;
}

async fn post(app: &TestApp, segment: &str, slug: &str, delivery: &Delivery) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/api/webhook/{segment}/{slug}", app.base))
        .headers(delivery.headers.clone())
        .body(delivery.body.clone())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn get(app: &TestApp, segment: &str, slug: &str, query: &str) -> (u16, String, String) {
    let response = app
        .http
        .get(format!("{}/api/webhook/{segment}/{slug}?{query}", app.base))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

async fn leads(app: &TestApp, token: &str) -> Vec<Value> {
    let data = app
        .ok(
            token,
            "{ leads(first: 50) { nodes { name phone score temperature sourceChannel identities { channel externalId displayName } } } }",
            json!({}),
        )
        .await;
    data["leads"]["nodes"].as_array().unwrap().clone()
}

async fn ai_jobs(app: &TestApp, token: &str) -> i64 {
    let data = app
        .ok(
            token,
            r#"{ jobs(filter: {kind: "ai_response"}) { totalCount } }"#,
            json!({}),
        )
        .await;
    data["jobs"]["totalCount"].as_i64().unwrap()
}

async fn metrics(app: &TestApp) -> String {
    app.http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// The value of `name{…}` whose labels include every one of `labels`, or 0.
fn metric_value(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// One channel's scenario, as the platform would run it.
struct Case {
    segment: &'static str,
    channel: &'static str,
    connection: Value,
    delivery: Delivery,
    lead_name: &'static str,
    external_id: &'static str,
    phone: Option<&'static str>,
}

/// Handshake, first delivery, redelivery, forged and unsigned deliveries for one channel.
async fn the_whole_round_trip(case: Case, verify_query: impl Fn(&str) -> String) {
    let app = app_with(&[]).await;
    let slug = format!("acme-{}", case.segment);
    let token = app.sign_up(&slug).await;
    connect(&app, &token, case.connection.clone()).await;

    let (status, content_type, body) =
        get(&app, case.segment, &slug, &verify_query(VERIFY_TOKEN)).await;
    assert_eq!((status, body.as_str()), (200, "1158201444"));
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let (status, _, body) = get(&app, case.segment, &slug, &verify_query("wrong-token")).await;
    assert_eq!(status, 403);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(error_code(&body), "FORBIDDEN");

    let (status, body) = post(&app, case.segment, &slug, &case.delivery).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"ok": true, "stored": 1, "duplicates": 0}));
    let found = leads(&app, &token).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    let lead = &found[0];
    assert!(
        lead["name"].as_str().unwrap().starts_with(case.lead_name),
        "{lead}"
    );
    assert_eq!(lead["score"], 50);
    assert_eq!(lead["temperature"], "WARM");
    assert_eq!(lead["sourceChannel"], case.channel);
    assert_eq!(lead["phone"], json!(case.phone));
    assert_eq!(lead["identities"][0]["channel"], case.channel);
    assert_eq!(lead["identities"][0]["externalId"], case.external_id);
    assert_eq!(ai_jobs(&app, &token).await, 1);

    // At-least-once delivery: the same bytes again change nothing.
    let (status, body) = post(&app, case.segment, &slug, &case.delivery).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"ok": true, "stored": 0, "duplicates": 1}));

    let (status, body) = post(&app, case.segment, &slug, &case.delivery.tampered()).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let (status, body) = post(&app, case.segment, &slug, &case.delivery.unsigned()).await;
    assert_eq!(status, 401, "{body}");

    assert_eq!(leads(&app, &token).await.len(), 1);
    assert_eq!(ai_jobs(&app, &token).await, 1);

    let text = metrics(&app).await;
    let channel_label = format!("channel=\"{}\"", case.segment);
    for reason in ["bad_signature", "missing_signature", "verification_refused"] {
        assert_eq!(
            metric_value(
                &text,
                "leadline_webhook_rejected_total",
                &[&channel_label, &format!("reason=\"{reason}\"")]
            ),
            1.0,
            "{reason} in\n{text}"
        );
    }
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_deliveries_total",
            &[&channel_label, "outcome=\"stored\""]
        ),
        1.0
    );
}

fn hub_query(token: &str) -> String {
    format!("hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444")
}

#[tokio::test]
async fn whatsapp_delivery_creates_one_warm_lead_and_one_ai_job_and_redelivery_changes_nothing() {
    let fake = FakeWhatsApp::start().await.unwrap();
    let delivery =
        fake.signed_text_message_webhook(WA_FROM, "Sheena Nelson", "hello, what colors?");
    the_whole_round_trip(
        Case {
            segment: "whatsapp",
            channel: "WHATSAPP",
            connection: json!({
                "channel": "WHATSAPP",
                "verifyToken": VERIFY_TOKEN,
                "appSecret": fake.app_secret(),
                "externalAccountId": fake.phone_number_id(),
            }),
            delivery: meta_delivery(delivery),
            lead_name: "Sheena Nelson",
            external_id: WA_FROM,
            phone: Some("+447911123456"),
        },
        hub_query,
    )
    .await;
}

/// A WhatsApp lead has its phone even when libphonenumber does not list the number's range:
/// the `wa_id` is the number (WhatsApp registered it by SMS), so the lead carries it in E.164.
#[tokio::test]
async fn a_whatsapp_lead_has_its_phone_even_outside_the_number_metadata() {
    let app = app_with(&[]).await;
    let token = app.sign_up("wa-phone").await;
    let fake = FakeWhatsApp::start().await.unwrap();
    connect(
        &app,
        &token,
        json!({"channel": "WHATSAPP", "appSecret": fake.app_secret(), "externalAccountId": fake.phone_number_id()}),
    )
    .await;
    for (from, name) in [("15550100123", "Range Unlisted"), (WA_FROM, "Listed Range")] {
        let delivery = meta_delivery(fake.signed_text_message_webhook(from, name, "hola!"));
        let (status, body) = post(&app, "whatsapp", "wa-phone", &delivery).await;
        assert_eq!(status, 200, "{body}");
    }
    let found = leads(&app, &token).await;
    assert_eq!(found.len(), 2, "{found:#?}");
    for lead in &found {
        let external_id = lead["identities"][0]["externalId"].as_str().unwrap();
        assert_eq!(lead["phone"], json!(format!("+{external_id}")), "{lead}");
    }
}

#[tokio::test]
async fn facebook_delivery_creates_one_warm_lead_and_one_ai_job_and_redelivery_changes_nothing() {
    let fake = FakeMeta::start().await.unwrap();
    let delivery = fake.signed_message_webhook(
        leadline_meta::Channel::Messenger,
        "2400000000000042",
        "hello from messenger",
    );
    the_whole_round_trip(
        Case {
            segment: "facebook",
            channel: "FACEBOOK",
            connection: json!({
                "channel": "FACEBOOK",
                "verifyToken": VERIFY_TOKEN,
                "appSecret": fake.app_secret(),
                "externalAccountId": fake.page_id(),
            }),
            delivery: meta_delivery(delivery),
            // Graph sends no profile name with messages (and the shim makes no outbound call).
            lead_name: "Messenger user 000042",
            external_id: "2400000000000042",
            phone: None,
        },
        hub_query,
    )
    .await;
}

#[tokio::test]
async fn instagram_delivery_creates_one_warm_lead_and_one_ai_job_and_redelivery_changes_nothing() {
    let fake = FakeMeta::start().await.unwrap();
    let delivery = fake.signed_message_webhook(
        leadline_meta::Channel::Instagram,
        "17841400000000077",
        "hello from instagram",
    );
    the_whole_round_trip(
        Case {
            segment: "instagram",
            channel: "INSTAGRAM",
            connection: json!({
                "channel": "INSTAGRAM",
                "verifyToken": VERIFY_TOKEN,
                "appSecret": fake.app_secret(),
                "externalAccountId": fake.page_id(),
            }),
            delivery: meta_delivery(delivery),
            lead_name: "Instagram user 000077",
            external_id: "17841400000000077",
            phone: None,
        },
        hub_query,
    )
    .await;
}

#[tokio::test]
async fn tiktok_delivery_creates_one_warm_lead_and_one_ai_job_and_redelivery_changes_nothing() {
    let fake = FakeTikTok::start().await.unwrap();
    let delivery = fake.signed_dm_webhook("user.openid.123456", "hello from tiktok");
    the_whole_round_trip(
        Case {
            segment: "tiktok",
            channel: "TIKTOK",
            connection: json!({
                "channel": "TIKTOK",
                "verifyToken": VERIFY_TOKEN,
                "clientSecret": fake.client_secret(),
                "externalAccountId": "act.fakebusinessopenid",
            }),
            delivery: tiktok_delivery(delivery),
            lead_name: "TikTok user 123456",
            external_id: "user.openid.123456",
            phone: None,
        },
        |token| format!("challenge=1158201444&verify_token={token}"),
    )
    .await;
}

#[tokio::test]
async fn unknown_tenant_unknown_channel_and_unconnected_channels_are_not_found() {
    let app = app_with(&[("META_APP_SECRET", "global-secret")]).await;
    let token = app.sign_up("notfound-co").await;
    let fake = FakeWhatsApp::start().await.unwrap();
    let delivery = meta_delivery(fake.signed_text_message_webhook(WA_FROM, "A", "hello"));

    let (status, body) = post(&app, "whatsapp", "no-such-tenant", &delivery).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "NOT_FOUND");
    let (status, body) = post(&app, "myspace", "notfound-co", &delivery).await;
    assert_eq!(status, 404);
    assert_eq!(error_code(&body), "NOT_FOUND");
    // Not connected at all, even though a global secret exists.
    let (status, _) = post(&app, "whatsapp", "notfound-co", &delivery).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&app, "whatsapp", "notfound-co", &hub_query(VERIFY_TOKEN)).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&app, "whatsapp", "nobody", &hub_query(VERIFY_TOKEN)).await;
    assert_eq!(status, 404);

    // Connected but switched off.
    connect(
        &app,
        &token,
        json!({"channel": "WHATSAPP", "verifyToken": VERIFY_TOKEN, "appSecret": fake.app_secret(), "status": "DISCONNECTED"}),
    )
    .await;
    let (status, _) = post(&app, "whatsapp", "notfound-co", &delivery).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&app, "whatsapp", "notfound-co", &hub_query(VERIFY_TOKEN)).await;
    assert_eq!(status, 404);
    assert!(leads(&app, &token).await.is_empty());

    let text = metrics(&app).await;
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"whatsapp\"", "reason=\"unknown_tenant\""]
        ),
        2.0,
        "{text}"
    );
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"whatsapp\"", "reason=\"not_connected\""]
        ),
        4.0
    );
}

#[tokio::test]
async fn oversized_webhook_body_is_refused_with_413_before_anything_else() {
    let app = app_with(&[("LEADLINE_WEBHOOK_MAX_BODY_BYTES", "1024")]).await;
    let token = app.sign_up("big-co").await;
    let fake = FakeWhatsApp::start().await.unwrap();
    connect(
        &app,
        &token,
        json!({"channel": "WHATSAPP", "appSecret": fake.app_secret()}),
    )
    .await;
    let long = "hello ".repeat(400);
    let delivery = meta_delivery(fake.signed_text_message_webhook(WA_FROM, "Big", &long));
    assert!(delivery.body.len() > 1024);
    let (status, body) = post(&app, "whatsapp", "big-co", &delivery).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["errors"][0]["message"].is_string());
    // The limit comes before the tenant lookup.
    let (status, _) = post(&app, "whatsapp", "nobody-at-all", &delivery).await;
    assert_eq!(status, 413);
    // A small one still passes.
    let small = meta_delivery(fake.signed_text_message_webhook(WA_FROM, "Big", "hello"));
    assert_eq!(post(&app, "whatsapp", "big-co", &small).await.0, 200);
    assert_eq!(leads(&app, &token).await.len(), 1);
    let text = metrics(&app).await;
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"whatsapp\"", "reason=\"too_large\""]
        ),
        2.0,
        "{text}"
    );
}

#[tokio::test]
async fn per_tenant_app_secret_wins_over_the_global_one_which_serves_connections_without_one() {
    let app = app_with(&[("META_APP_SECRET", "global-meta-secret")]).await;
    let own = FakeWhatsApp::start().await.unwrap();
    let global = FakeWhatsApp::start_with(FakeWhatsAppConfig {
        app_secret: "global-meta-secret".into(),
        ..Default::default()
    })
    .await
    .unwrap();

    let own_token = app.sign_up("own-secret").await;
    connect(
        &app,
        &own_token,
        json!({"channel": "WHATSAPP", "appSecret": own.app_secret()}),
    )
    .await;
    let by_global = meta_delivery(global.signed_text_message_webhook(WA_FROM, "G", "hello"));
    let (status, _) = post(&app, "whatsapp", "own-secret", &by_global).await;
    assert_eq!(
        status, 401,
        "the shared secret must not open a tenant with its own"
    );
    let by_own = meta_delivery(own.signed_text_message_webhook(WA_FROM, "O", "hello"));
    assert_eq!(post(&app, "whatsapp", "own-secret", &by_own).await.0, 200);

    let shared_token = app.sign_up("shared-secret").await;
    // The shared secret serves only a connection that names its account (the number the
    // delivery is for): see attacks::secrets for a delivery naming another one.
    connect(
        &app,
        &shared_token,
        json!({"channel": "WHATSAPP", "externalAccountId": global.phone_number_id()}),
    )
    .await;
    assert_eq!(
        post(&app, "whatsapp", "shared-secret", &by_global).await.0,
        200
    );
    assert_eq!(
        post(&app, "whatsapp", "shared-secret", &by_own).await.0,
        401
    );
    assert_eq!(leads(&app, &own_token).await.len(), 1);
    assert_eq!(leads(&app, &shared_token).await.len(), 1);
}

#[tokio::test]
async fn webhook_without_any_configured_secret_is_refused() {
    let app = app_with(&[]).await;
    let token = app.sign_up("no-secret").await;
    connect(&app, &token, json!({"channel": "FACEBOOK"})).await;
    let fake = FakeMeta::start().await.unwrap();
    let delivery = meta_delivery(fake.signed_message_webhook(
        leadline_meta::Channel::Messenger,
        "2400000000000042",
        "hello",
    ));
    let (status, body) = post(&app, "facebook", "no-secret", &delivery).await;
    assert_eq!(status, 401, "{body}");
    assert!(leads(&app, &token).await.is_empty());
    let text = metrics(&app).await;
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"facebook\"", "reason=\"missing_secret\""]
        ),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn tiktok_legacy_signature_is_accepted_only_when_the_connection_opts_in() {
    let app = app_with(&[]).await;
    let token = app.sign_up("legacy-co").await;
    let fake = FakeTikTok::start().await.unwrap();
    connect(
        &app,
        &token,
        json!({"channel": "TIKTOK", "clientSecret": fake.client_secret()}),
    )
    .await;
    let legacy = tiktok_delivery(fake.legacy_signed_dm_webhook("user.legacy.1", "hello"));
    let (status, _) = post(&app, "tiktok", "legacy-co", &legacy).await;
    assert_eq!(status, 401);
    assert!(leads(&app, &token).await.is_empty());

    connect(
        &app,
        &token,
        json!({"channel": "TIKTOK", "legacySignature": true}),
    )
    .await;
    let (status, body) = post(&app, "tiktok", "legacy-co", &legacy).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], 1);
    assert_eq!(leads(&app, &token).await.len(), 1);
}

#[tokio::test]
async fn tiktok_webhook_with_stale_timestamp_is_rejected() {
    let app = app_with(&[("TIKTOK_CLIENT_SECRET", "fake-tiktok-client-secret")]).await;
    let token = app.sign_up("stale-co").await;
    // No secret of its own: the global TIKTOK_CLIENT_SECRET (the fake's) verifies it, for the
    // account the connection names (the fake business account's open id).
    connect(
        &app,
        &token,
        json!({"channel": "TIKTOK", "webhookAccountId": "act.fakebusinessopenid"}),
    )
    .await;
    let fake = FakeTikTok::start().await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let stale = tiktok_delivery(fake.signed_dm_webhook_at("user.stale.1", "hello", now - 301));
    let (status, body) = post(&app, "tiktok", "stale-co", &stale).await;
    assert_eq!(status, 401, "{body}");
    let fresh = tiktok_delivery(fake.signed_dm_webhook("user.stale.1", "hello"));
    assert_eq!(post(&app, "tiktok", "stale-co", &fresh).await.0, 200);
    assert_eq!(leads(&app, &token).await.len(), 1);
    let text = metrics(&app).await;
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"tiktok\"", "reason=\"stale_timestamp\""]
        ),
        1.0,
        "{text}"
    );
}

#[tokio::test]
async fn whatsapp_status_for_an_unknown_message_is_a_no_op() {
    let app = app_with(&[]).await;
    let token = app.sign_up("status-co").await;
    let fake = FakeWhatsApp::start().await.unwrap();
    connect(
        &app,
        &token,
        json!({"channel": "WHATSAPP", "appSecret": fake.app_secret()}),
    )
    .await;
    for (status, error) in [
        ("delivered", None),
        ("failed", Some((131_026, "Message undeliverable"))),
    ] {
        let delivery =
            meta_delivery(fake.signed_status_webhook("wamid.unknown", WA_FROM, status, error));
        let (code, body) = post(&app, "whatsapp", "status-co", &delivery).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body, json!({"ok": true, "stored": 0, "duplicates": 0}));
    }
    assert!(leads(&app, &token).await.is_empty());
    assert_eq!(ai_jobs(&app, &token).await, 0);
}

#[tokio::test]
async fn echoes_and_events_for_another_account_are_skipped_without_failing_the_batch() {
    let app = app_with(&[]).await;
    let token = app.sign_up("skip-co").await;
    let meta = FakeMeta::start().await.unwrap();
    connect(
        &app,
        &token,
        json!({"channel": "FACEBOOK", "appSecret": meta.app_secret(), "externalAccountId": meta.page_id()}),
    )
    .await;
    let echo = meta_delivery(meta.signed_echo_webhook(
        leadline_meta::Channel::Messenger,
        "2400000000000042",
        "hello from the page",
        Some(meta.app_id()),
    ));
    let (status, body) = post(&app, "facebook", "skip-co", &echo).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], 0);

    // An Instagram notification on the Messenger URL is a misconfigured callback.
    let instagram = meta_delivery(meta.signed_message_webhook(
        leadline_meta::Channel::Instagram,
        "1784",
        "hello",
    ));
    assert_eq!(post(&app, "facebook", "skip-co", &instagram).await.0, 400);

    let wa = FakeWhatsApp::start().await.unwrap();
    connect(
        &app,
        &token,
        json!({"channel": "WHATSAPP", "appSecret": wa.app_secret(), "externalAccountId": "999999999"}),
    )
    .await;
    let other = meta_delivery(wa.signed_text_message_webhook(WA_FROM, "Other", "hello"));
    let (status, body) = post(&app, "whatsapp", "skip-co", &other).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], 0);
    assert!(leads(&app, &token).await.is_empty());

    // A correctly signed body that is not a notification.
    let garbage = meta_delivery(wa.sign_raw(b"not json at all".to_vec()));
    let (status, body) = post(&app, "whatsapp", "skip-co", &garbage).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    let text = metrics(&app).await;
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"whatsapp\"", "reason=\"account_mismatch\""]
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"whatsapp\"", "reason=\"bad_payload\""]
        ),
        1.0
    );
    assert!(text.contains("leadline_webhook_duration_seconds"), "{text}");
}

#[tokio::test]
async fn database_outage_answers_503_and_the_redelivery_stores_exactly_once() {
    if scale_out("database_outage_answers_503_and_the_redelivery_stores_exactly_once").is_none() {
        return;
    }
    let (database_url, redis_url, _dir) = fresh_database().await;
    let (_, postgres) = swap_authority(&database_url, "unused");
    let proxy = TcpProxy::start(postgres).await;
    let (proxied_url, _) = swap_authority(&database_url, &proxy.addr);
    let app = spawn_with(SpawnOptions {
        database_url: Some(proxied_url),
        redis_url: Some(redis_url),
        env: vec![("LEADLINE_WORKERS".into(), "0".into())],
        ..Default::default()
    })
    .await;
    let token = app.sign_up("outage-co").await;
    let fake = FakeWhatsApp::start().await.unwrap();
    connect(
        &app,
        &token,
        json!({"channel": "WHATSAPP", "appSecret": fake.app_secret()}),
    )
    .await;
    let delivery = meta_delivery(fake.signed_text_message_webhook(WA_FROM, "Outage", "hello"));

    proxy.cut();
    let (status, body) = post(&app, "whatsapp", "outage-co", &delivery).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(error_code(&body), "UNAVAILABLE");

    proxy.restore();
    // The platform keeps redelivering; the first one after the pool reconnects is stored.
    let body = leadline_api::store::testkit::eventually(
        "a redelivery stored after the outage",
        Duration::from_secs(60),
        Duration::from_millis(250),
        || async {
            let (status, body) = post(&app, "whatsapp", "outage-co", &delivery).await;
            if status == 200 {
                Ok(body)
            } else {
                Err((status, body))
            }
        },
    )
    .await
    .unwrap_or_else(|timed_out| panic!("{timed_out}"));
    assert_eq!(body, json!({"ok": true, "stored": 1, "duplicates": 0}));
    let (status, body) = post(&app, "whatsapp", "outage-co", &delivery).await;
    assert_eq!((status, body["duplicates"].as_i64()), (200, Some(1)));
    assert_eq!(leads(&app, &token).await.len(), 1);
    assert_eq!(ai_jobs(&app, &token).await, 1);
    let text = metrics(&app).await;
    assert!(
        metric_value(
            &text,
            "leadline_webhook_rejected_total",
            &["channel=\"whatsapp\"", "reason=\"database_unavailable\""]
        ) >= 1.0,
        "{text}"
    );
}
