//! Attacks on the operator's shared platform budgets (see `attacks.rs`): a tenant raising a
//! ceiling or the YouTube costs on its own session, spending the shared bot for everyone,
//! using the operator's credentials when the operator lends none, and connecting credentials
//! without the right to.

use std::time::Duration;

use leadline_twitch::fake::{FakeHelix, FakeIrc};
use serde_json::{json, Value};

use crate::harness::{error_code, spawn_app, spawn_with, SpawnOptions, TestApp};

const START: &str = "mutation($input: StartLiveSessionInput!) { startLiveSession(input: $input) { session { id status } } }";
const STATS: &str = "query($id: ID!) { liveSession(id: $id) { status stats { whispersUsedToday whispersLimit youtubeQuotaLimit } } }";
const MANUAL: &str = "mutation($input: SendManualResponseInput!) { sendManualResponse(input: $input) { via viewerId } }";
const CONNECT: &str = "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id channel botLogin clientId projectName hasAccessToken hasApiKey hasLiveAccessToken } } }";

/// The tenant's own bot in the fakes: a second Twitch app and account beside the operator's.
const OWN_CLIENT_ID: &str = "tenantclientid42";
const OWN_TOKEN: &str = "tenantbottoken0123456789";
const OWN_BOT_ID: &str = "900000042";

fn session_id(started: &Value) -> String {
    started["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned()
}

fn field(response: &Value) -> &str {
    response["errors"][0]["extensions"]["field"]
        .as_str()
        .unwrap_or("<none>")
}

async fn stats(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(token, STATS, json!({"id": id})).await["liveSession"]["stats"].clone()
}

/// Whispers `login` by hand in session `id` (Twitch allows 3 whispers a second: paced).
async fn whisper(app: &TestApp, token: &str, id: &str, login: &str) -> Value {
    let answer = app
        .graphql(
            Some(token),
            MANUAL,
            json!({"input": {"sessionId": id, "username": login,
                   "text": "Thanks for watching! 10% off: MARIA10", "via": "WHISPER"}}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    answer
}

async fn start_twitch(app: &TestApp, token: &str, channel: &str) -> String {
    session_id(
        &app.ok(
            token,
            START,
            json!({"input": {"platform": "TWITCH", "twitch": {"channel": channel}}}),
        )
        .await,
    )
}

/// The operator's bot in the fakes, with `extra` settings.
async fn twitch_app(helix: &FakeHelix, irc: &FakeIrc, extra: &[(&str, &str)]) -> TestApp {
    let mut env = vec![
        ("TWITCH_API_BASE".to_owned(), helix.base_url().to_owned()),
        ("TWITCH_IRC_URL".to_owned(), irc.url().to_owned()),
        ("TWITCH_BOT_LOGIN".to_owned(), "leadbot".to_owned()),
        ("TWITCH_ACCESS_TOKEN".to_owned(), helix.token().to_owned()),
        ("TWITCH_CLIENT_ID".to_owned(), helix.client_id().to_owned()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    spawn_with(SpawnOptions {
        env,
        ..SpawnOptions::default()
    })
    .await
}

async fn twitch_fakes() -> (FakeHelix, FakeIrc) {
    let helix = FakeHelix::start().await.expect("fake Helix");
    let irc = FakeIrc::start_with_token(helix.token())
        .await
        .expect("fake IRC");
    helix.add_bot(OWN_CLIENT_ID, OWN_TOKEN, OWN_BOT_ID, "shopbot");
    irc.accept_token(OWN_TOKEN);
    for (id, login) in [
        ("5001", "chana"),
        ("5002", "chanb"),
        ("5003", "chanc"),
        ("5004", "chand"),
    ] {
        helix.add_user(id, login);
    }
    for i in 0..6 {
        helix.add_user(&format!("77{i:04}"), &format!("viewer{i}"));
    }
    (helix, irc)
}

async fn connect_own_bot(app: &TestApp, token: &str) -> Value {
    app.ok(
        token,
        CONNECT,
        json!({"input": {"channel": "TWITCH", "botLogin": "ShopBot",
               "accessToken": OWN_TOKEN, "clientId": OWN_CLIENT_ID}}),
    )
    .await
}

#[tokio::test]
async fn a_tenant_cannot_raise_a_shared_ceiling_or_change_the_youtube_costs() {
    let app = spawn_with(SpawnOptions {
        env: vec![
            ("LEADLINE_TWITCH_WHISPERS_PER_DAY".into(), "3".into()),
            ("LEADLINE_YOUTUBE_QUOTA_PER_DAY".into(), "600".into()),
        ],
        ..SpawnOptions::default()
    })
    .await;
    let token = app.sign_up("ceilings").await;

    // Above the operator's ceiling: refused, naming the field and the ceiling.
    let raised = app
        .graphql(
            Some(&token),
            START,
            json!({"input": {"platform": "TWITCH", "twitch": {"channel": "chana"},
                   "limits": {"whispersPerDay": 10000}}}),
        )
        .await;
    assert_eq!(error_code(&raised), "BAD_USER_INPUT", "{raised:#}");
    assert_eq!(field(&raised), "limits.whispersPerDay", "{raised:#}");
    let message = raised["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("at most 3"), "{message}");
    let quota = app
        .graphql(
            Some(&token),
            START,
            json!({"input": {"platform": "YOUTUBE", "youtube": {"videoId": "dQw4w9WgXcQ"},
                   "limits": {"youtubeDailyQuota": 601}}}),
        )
        .await;
    assert_eq!(error_code(&quota), "BAD_USER_INPUT", "{quota:#}");
    assert_eq!(field(&quota), "limits.youtubeDailyQuota", "{quota:#}");

    // The unit costs are not a session setting at all.
    for cost in ["youtubeInsertCost", "youtubeListCost"] {
        let cheap = app
            .graphql(
                Some(&token),
                START,
                json!({"input": {"platform": "YOUTUBE", "youtube": {"videoId": "dQw4w9WgXcQ"},
                       "limits": {cost: 1}}}),
            )
            .await;
        assert!(
            cheap["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains(cost)),
            "{cheap:#}"
        );
        assert!(cheap["data"].is_null() || cheap["data"]["startLiveSession"].is_null());
    }
    let sessions = app
        .ok(&token, "{ liveSessions { totalCount } }", json!({}))
        .await;
    assert_eq!(
        sessions["liveSessions"]["totalCount"], 0,
        "nothing was started"
    );

    // Legitimate: lowering works, and omitted limits are the ceilings.
    let lowered = session_id(
        &app.ok(
            &token,
            START,
            json!({"input": {"platform": "TWITCH", "twitch": {"channel": "chana"},
                   "limits": {"whispersPerDay": 2, "youtubeDailyQuota": 100}}}),
        )
        .await,
    );
    let s = stats(&app, &token, &lowered).await;
    assert_eq!(
        (s["whispersLimit"].as_i64(), s["youtubeQuotaLimit"].as_i64()),
        (Some(2), Some(100))
    );
    let default = session_id(
        &app.ok(
            &token,
            START,
            json!({"input": {"platform": "YOUTUBE", "youtube": {"videoId": "dQw4w9WgXcQ"}}}),
        )
        .await,
    );
    let s = stats(&app, &token, &default).await;
    assert_eq!(
        (s["whispersLimit"].as_i64(), s["youtubeQuotaLimit"].as_i64()),
        (Some(3), Some(600))
    );
}

#[tokio::test]
async fn the_shared_bot_is_one_budget_for_every_tenant_and_an_own_bot_spends_its_own() {
    let (helix, irc) = twitch_fakes().await;
    let app = twitch_app(&helix, &irc, &[("LEADLINE_TWITCH_WHISPERS_PER_DAY", "3")]).await;
    let a = app.sign_up("budget-a").await;
    let b = app.sign_up("budget-b").await;
    let c = app.sign_up("budget-c").await;
    let connected = connect_own_bot(&app, &c).await;
    let connection = &connected["upsertChannelConnection"]["connection"];
    assert_eq!(connection["botLogin"], "shopbot", "{connected:#}");
    assert_eq!(connection["hasAccessToken"], true);
    assert!(
        !connected.to_string().contains(OWN_TOKEN),
        "secrets are write-only"
    );
    let session_a = start_twitch(&app, &a, "chana").await;
    let session_b = start_twitch(&app, &b, "chanb").await;
    let session_c = start_twitch(&app, &c, "chanc").await;

    // Tenant A spends the shared bot's whole day: 3 whispers.
    for i in 0..3 {
        let sent = whisper(&app, &a, &session_a, &format!("viewer{i}")).await;
        assert!(sent.get("errors").is_none(), "{sent:#}");
    }
    let shared_whispers = helix.whispers().len();
    assert_eq!(shared_whispers, 3);
    // Tenant B, on the same shared bot, finds it spent: the budget is the operator's, not B's.
    let refused = whisper(&app, &b, &session_b, "viewer3").await;
    assert_eq!(error_code(&refused), "LIMIT_REACHED", "{refused:#}");
    assert_eq!(
        refused["errors"][0]["extensions"]["limit"],
        "WHISPERS_PER_DAY"
    );
    assert_eq!(helix.whispers().len(), 3, "refused before Twitch was asked");
    assert_eq!(stats(&app, &b, &session_b).await["whispersUsedToday"], 3);

    // Tenant C whispers as its own bot, on its own budget.
    let sent = whisper(&app, &c, &session_c, "viewer4").await;
    assert!(sent.get("errors").is_none(), "{sent:#}");
    let whispers = helix.whispers();
    let last = whispers.last().expect("C's whisper");
    assert_eq!(last.from_user_id, OWN_BOT_ID, "sent as C's own bot");
    assert!(whispers[..3]
        .iter()
        .all(|w| w.from_user_id == leadline_twitch::fake::helix::BOT_USER_ID));
    let c_stats = stats(&app, &c, &session_c).await;
    assert_eq!(
        (
            c_stats["whispersUsedToday"].as_i64(),
            c_stats["whispersLimit"].as_i64()
        ),
        (Some(1), Some(3))
    );
    // ...which took nothing from (and gave nothing back to) the shared budget.
    assert_eq!(stats(&app, &a, &session_a).await["whispersUsedToday"], 3);
    let still = whisper(&app, &b, &session_b, "viewer5").await;
    assert_eq!(error_code(&still), "LIMIT_REACHED", "{still:#}");
    // C's own budget is also under the ceiling: two more, then refused.
    for login in ["viewer0", "viewer1"] {
        let sent = whisper(&app, &c, &session_c, login).await;
        assert!(sent.get("errors").is_none(), "{sent:#}");
    }
    let over = whisper(&app, &c, &session_c, "viewer2").await;
    assert_eq!(error_code(&over), "LIMIT_REACHED", "{over:#}");
}

#[tokio::test]
async fn without_shared_credentials_a_tenant_must_connect_its_own() {
    let (helix, irc) = twitch_fakes().await;
    let app = twitch_app(
        &helix,
        &irc,
        &[
            ("LEADLINE_SHARED_PLATFORM_CREDENTIALS", "false"),
            ("YOUTUBE_API_KEY", "operator-youtube-key"),
            ("TIKTOK_LIVE_ACCESS_TOKEN", "operator-live-token"),
        ],
    )
    .await;
    let token = app.sign_up("own-creds").await;

    for (input, names) in [
        (
            json!({"platform": "TWITCH", "twitch": {"channel": "chand"}}),
            "botLogin",
        ),
        (
            json!({"platform": "YOUTUBE", "youtube": {"videoId": "dQw4w9WgXcQ"}}),
            "apiKey",
        ),
        (
            json!({"platform": "TIKTOK", "tiktok": {"username": "maria.shop"}}),
            "liveAccessToken",
        ),
    ] {
        let refused = app
            .graphql(Some(&token), START, json!({"input": input}))
            .await;
        assert_eq!(error_code(&refused), "CONFLICT", "{refused:#}");
        let message = refused["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains(names), "names what to connect: {message}");
    }
    let sessions = app
        .ok(&token, "{ liveSessions { totalCount } }", json!({}))
        .await;
    assert_eq!(sessions["liveSessions"]["totalCount"], 0);
    // A webhook-only TikTok session reads nothing with the operator's LIVE token.
    app.ok(
        &token,
        START,
        json!({"input": {"platform": "TIKTOK", "tiktok": {"roomId": "room-1", "webhookOnly": true}}}),
    )
    .await;

    // With its own bot connected, the tenant streams and whispers as that bot.
    connect_own_bot(&app, &token).await;
    let id = start_twitch(&app, &token, "chand").await;
    let sent = whisper(&app, &token, &id, "viewer0").await;
    assert!(sent.get("errors").is_none(), "{sent:#}");
    assert_eq!(
        helix.whispers().last().map(|w| w.from_user_id.clone()),
        Some(OWN_BOT_ID.to_owned())
    );
    assert_eq!(stats(&app, &token, &id).await["whispersUsedToday"], 1);
}

#[tokio::test]
async fn only_the_tenants_own_admins_connect_platform_credentials() {
    let app = spawn_app().await;
    let owner = app.sign_up("creds-a").await;
    let other = app.sign_up("creds-b").await;
    let keys = app
        .ok(
            &owner,
            "mutation { r: createApiKey(input: {name: \"r\", scopes: [READ]}) { key } w: createApiKey(input: {name: \"w\", scopes: [READ, WRITE]}) { key } }",
            json!({}),
        )
        .await;
    let read_key = keys["r"]["key"].as_str().expect("read key").to_owned();
    let write_key = keys["w"]["key"].as_str().expect("write key").to_owned();
    let customer = app
        .ok(
            &write_key,
            "mutation { createCustomerToken(input: {externalUserId: \"u1\", name: \"Cus\", email: \"u1@customers.test\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .expect("customer token")
        .to_owned();
    let youtube = json!({"input": {"channel": "YOUTUBE", "apiKey": "AIza-tenant-key",
                         "accessToken": "ya29.tenant-oauth", "projectName": "shop-42"}});
    for (who, credential) in [
        ("a READ key", read_key.as_str()),
        ("a WRITE key", write_key.as_str()),
        ("a customer token", customer.as_str()),
    ] {
        let refused = app
            .graphql(Some(credential), CONNECT, youtube.clone())
            .await;
        assert!(
            matches!(error_code(&refused), "FORBIDDEN" | "UNAUTHENTICATED"),
            "{who}: {refused:#}"
        );
    }
    let none = app.graphql(None, CONNECT, youtube.clone()).await;
    assert_eq!(error_code(&none), "UNAUTHENTICATED", "{none:#}");

    // The owner connects; the secrets are never returned, only that they are set.
    let connected = app.ok(&owner, CONNECT, youtube.clone()).await;
    let connection = &connected["upsertChannelConnection"]["connection"];
    assert_eq!(connection["projectName"], "shop-42");
    assert_eq!(
        (
            connection["hasApiKey"].as_bool(),
            connection["hasAccessToken"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let listed = app
        .ok(
            &owner,
            "{ channelConnections { edges { node { id hasApiKey projectName } } } }",
            json!({}),
        )
        .await;
    for secret in ["AIza-tenant-key", "ya29.tenant-oauth"] {
        assert!(!connected.to_string().contains(secret));
        assert!(!listed.to_string().contains(secret));
    }
    // A credential on the wrong channel is refused by name.
    let wrong = app
        .graphql(
            Some(&owner),
            CONNECT,
            json!({"input": {"channel": "YOUTUBE", "botLogin": "shopbot"}}),
        )
        .await;
    assert_eq!(error_code(&wrong), "BAD_USER_INPUT", "{wrong:#}");
    assert_eq!(field(&wrong), "botLogin");

    // Another tenant cannot see or remove the connection; connecting its own touches only its own.
    let id = connection["id"].as_str().expect("connection id").to_owned();
    let peek = app
        .graphql(
            Some(&other),
            "query($id: ID!) { channelConnection(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&peek), "NOT_FOUND", "{peek:#}");
    let delete = app
        .graphql(
            Some(&other),
            "mutation($id: ID!) { deleteChannelConnection(input: {id: $id}) { deletedId } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&delete), "NOT_FOUND", "{delete:#}");
    app.ok(
        &other,
        CONNECT,
        json!({"input": {"channel": "YOUTUBE", "apiKey": "AIza-other", "projectName": "other"}}),
    )
    .await;
    let mine = app
        .ok(
            &owner,
            "{ channelConnections(channel: YOUTUBE) { totalCount edges { node { projectName } } } }",
            json!({}),
        )
        .await;
    assert_eq!(mine["channelConnections"]["totalCount"], 1);
    assert_eq!(
        mine["channelConnections"]["edges"][0]["node"]["projectName"],
        "shop-42"
    );
}
