//! Attacks on secrets (see `attacks.rs`): a database dump must reveal no channel secret and no
//! usable JWT key (and the key that seals them lives beside the database, mode 0600, never in
//! it); rotating the key keeps everything working; the operator's shared webhook secret does
//! not open another account's delivery; a stale legacy TikTok signature is refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use leadline_tiktok::fake::FakeTikTok;
use leadline_whatsapp::fake::{FakeWhatsApp, FakeWhatsAppConfig};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{json, Value};

use crate::harness::{
    backend, error_code, fresh_database, postgres_key_file, spawn_with, Backend, SpawnOptions,
    TestApp,
};

const APP_SECRET: &str = "wa-app-secret-SEALME-1f2e3d4c";
const ACCESS_TOKEN: &str = "wa-access-token-SEALME-9c8d7e6f";
const VERIFY_TOKEN: &str = "wa-verify-token-SEALME-77aa55bb";
const YOUTUBE_API_KEY: &str = "AIza-yt-key-SEALME-5b6c7d8e";
const YOUTUBE_ACCESS_TOKEN: &str = "ya29.yt-oauth-SEALME-1a2b3c4d";
const TIKTOK_LIVE_TOKEN: &str = "tt-live-token-SEALME-9f8e7d6c";
/// A rotation key (`<id>:<base64 of 32 bytes>`).
const NEW_KEY: &str = "rotated:q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";

const CONNECT: &str = "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id hasAppSecret hasAccessToken hasVerifyToken } } }";

async fn post_webhook(
    app: &TestApp,
    segment: &str,
    slug: &str,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> u16 {
    app.http
        .post(format!("{}/api/webhook/{segment}/{slug}", app.base))
        .headers(headers.clone())
        .body(body.to_vec())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn lead_count(app: &TestApp, token: &str) -> u64 {
    app.ok(token, "{ leads(first: 1) { totalCount } }", json!({}))
        .await["leads"]["totalCount"]
        .as_u64()
        .unwrap()
}

/// Waits until the fake WhatsApp number has accepted `n` sends (the server's workers send the
/// AI's replies with the connection's access token).
async fn wait_for_sends(fake: &FakeWhatsApp, n: usize) {
    let started = Instant::now();
    while fake.sent_messages().len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "expected {n} sends, the fake has {:#?}",
            fake.sent_messages()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every text the database holds. SQLite: the raw bytes of the database file and its WAL (what
/// a stolen file gives). PostgreSQL: every column of every table, cast to text (a logical dump).
async fn dump(database_url: &str, sqlite_dir: &Path) -> String {
    match backend() {
        Backend::Embedded => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(sqlite_dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name.starts_with("leadline.db") {
                    all.extend(std::fs::read(&path).unwrap());
                }
            }
            assert!(all.len() > 4096, "the database file was found");
            String::from_utf8_lossy(&all).into_owned()
        }
        Backend::Postgres { .. } => {
            let db = sea_orm::Database::connect(database_url).await.unwrap();
            let backend = db.get_database_backend();
            let columns = db
                .query_all(Statement::from_string(
                    backend,
                    "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = 'public'",
                ))
                .await
                .unwrap();
            let mut all = String::new();
            for column in &columns {
                let table: String = column.try_get("", "t").unwrap();
                let name: String = column.try_get("", "c").unwrap();
                let rows = db
                    .query_all(Statement::from_string(
                        backend,
                        format!("SELECT \"{name}\"::text AS v FROM \"{table}\""),
                    ))
                    .await
                    .unwrap();
                for row in rows {
                    if let Some(value) = row.try_get::<Option<String>>("", "v").unwrap() {
                        all.push_str(&value);
                        all.push('\n');
                    }
                }
            }
            let _ = db.close().await;
            assert!(
                all.contains("channel_connection.created"),
                "the dump read the rows"
            );
            all
        }
    }
}

/// The stored (sealed) values: the JWT key and the connection's secrets.
async fn stored_secrets(database_url: &str) -> Vec<String> {
    let db = sea_orm::Database::connect(database_url).await.unwrap();
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    for sql in [
        "SELECT value AS v FROM instance_settings WHERE key = 'jwt_secret'",
        "SELECT app_secret AS v FROM channel_connections WHERE app_secret IS NOT NULL",
        "SELECT access_token AS v FROM channel_connections WHERE access_token IS NOT NULL",
        "SELECT verify_token AS v FROM channel_connections WHERE verify_token IS NOT NULL",
        "SELECT api_key AS v FROM channel_connections WHERE api_key IS NOT NULL",
        "SELECT live_access_token AS v FROM channel_connections WHERE live_access_token IS NOT NULL",
    ] {
        let rows = db
            .query_all(Statement::from_string(backend, sql))
            .await
            .unwrap();
        assert!(!rows.is_empty(), "{sql}");
        for row in rows {
            values.push(row.try_get::<String>("", "v").unwrap());
        }
    }
    let _ = db.close().await;
    values
}

/// The owner's claims signed with `key`: what someone holding the dump would try.
fn forged_token(real: &str, key: &str) -> String {
    let payload = real.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

fn sqlite_dir(database_url: &str) -> PathBuf {
    let path = database_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap();
    Path::new(path).parent().unwrap().to_path_buf()
}

async fn spawn(database_url: &str, redis: &Option<String>, env: Vec<(String, String)>) -> TestApp {
    spawn_with(SpawnOptions {
        database_url: Some(database_url.to_owned()),
        redis_url: Some(redis.clone()),
        env,
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn a_database_dump_holds_no_channel_secret_nor_a_usable_jwt_key_and_rotation_keeps_it_working(
) {
    let (database_url, redis, db_dir) = fresh_database().await;
    let fake = FakeWhatsApp::start_with(FakeWhatsAppConfig {
        app_secret: APP_SECRET.into(),
        access_token: ACCESS_TOKEN.into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let base_env = vec![
        ("WHATSAPP_API_BASE".to_owned(), fake.base_url().to_owned()),
        ("LEADLINE_WORKERS".to_owned(), "1".to_owned()),
    ];
    let app = spawn(&database_url, &redis, base_env.clone()).await;
    // The generated key: beside the SQLite file; for PostgreSQL where the harness points every
    // process of the database (LEADLINE_SECRET_KEY_FILE).
    let key_file = match backend() {
        Backend::Embedded => sqlite_dir(&database_url).join("leadline.key"),
        Backend::Postgres { .. } => postgres_key_file(&database_url).unwrap(),
    };
    assert!(key_file.exists(), "{} exists", key_file.display());
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the key file is private");
    }

    let token = app.sign_up("sealed-co").await;
    let data = app
        .ok(
            &token,
            CONNECT,
            json!({"input": {"channel": "WHATSAPP", "externalAccountId": fake.phone_number_id(),
                   "appSecret": APP_SECRET, "accessToken": ACCESS_TOKEN, "verifyToken": VERIFY_TOKEN}}),
        )
        .await;
    assert_eq!(
        data["upsertChannelConnection"]["connection"]["hasAppSecret"],
        true
    );

    // The tenant's own live credentials are channel secrets too.
    for input in [
        json!({"channel": "YOUTUBE", "apiKey": YOUTUBE_API_KEY,
               "accessToken": YOUTUBE_ACCESS_TOKEN, "projectName": "sealed-project"}),
        json!({"channel": "TIKTOK", "liveAccessToken": TIKTOK_LIVE_TOKEN}),
    ] {
        app.ok(&token, CONNECT, json!({ "input": input })).await;
    }

    // Legitimate use: the handshake (verify token), a signed delivery (app secret), the AI's
    // reply sent (access token).
    let challenge = app
        .http
        .get(format!(
            "{}/api/webhook/whatsapp/sealed-co?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=4242",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(challenge.status(), 200);
    assert_eq!(challenge.text().await.unwrap(), "4242");
    let inbound = fake.signed_text_message_webhook("16505551234", "Ana", "hello, the price?");
    assert_eq!(
        post_webhook(
            &app,
            "whatsapp",
            "sealed-co",
            &inbound.headers,
            &inbound.body
        )
        .await,
        200
    );
    wait_for_sends(&fake, 1).await;

    // The attack: everything in the database, as text.
    let dumped = dump(&database_url, &db_dir).await;
    for secret in [
        APP_SECRET,
        ACCESS_TOKEN,
        VERIFY_TOKEN,
        YOUTUBE_API_KEY,
        YOUTUBE_ACCESS_TOKEN,
        TIKTOK_LIVE_TOKEN,
    ] {
        assert!(!dumped.contains(secret), "{secret} is in the database");
    }
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    let key_material = key_text.trim().split_once(':').unwrap().1;
    assert!(
        !dumped.contains(key_material),
        "the sealing key is in the database"
    );
    let stored = stored_secrets(&database_url).await;
    for value in &stored {
        assert!(value.starts_with("sealed:v1:"), "{value}");
    }
    // The JWT key is sealed too: signing the owner's claims with what the dump holds fails.
    let forged = forged_token(&token, &stored[0]);
    let refused = app
        .graphql(Some(&forged), "{ leads { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    drop(app);
    // The server is killed on drop; let it go before another process opens the database.
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Rotation to a configured key, then the generated key file is dropped.
    let mut rotate = std::process::Command::new(env!("CARGO_BIN_EXE_leadline"));
    rotate
        .arg("rotate-secrets")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &database_url)
        .env("LEADLINE_SECRET_KEY", NEW_KEY)
        .env("LEADLINE_SECRET_KEY_FILE", &key_file)
        .env("RUST_LOG", "warn");
    let output = rotate.output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        printed.contains("channel_connections: 3 rows, 6 re-sealed"),
        "{printed}"
    );
    assert!(
        printed.contains("instance_settings: 1 rows, 1 re-sealed"),
        "{printed}"
    );
    for value in stored_secrets(&database_url).await {
        assert!(value.starts_with("sealed:v1:rotated:"), "{value}");
    }
    std::fs::remove_file(&key_file).unwrap();

    let mut env = base_env.clone();
    env.push(("LEADLINE_SECRET_KEY".into(), NEW_KEY.into()));
    env.push((
        "LEADLINE_SECRET_KEY_FILE".into(),
        key_file.display().to_string(),
    ));
    let app = spawn(&database_url, &redis, env).await;
    // The JWT key survived the rotation (the owner's token still works), and so did every
    // channel secret.
    assert_eq!(lead_count(&app, &token).await, 1);
    let inbound = fake.signed_text_message_webhook("16505559876", "Bo", "hello again");
    assert_eq!(
        post_webhook(
            &app,
            "whatsapp",
            "sealed-co",
            &inbound.headers,
            &inbound.body
        )
        .await,
        200
    );
    wait_for_sends(&fake, 2).await;
    let dumped = dump(&database_url, &db_dir).await;
    for secret in [APP_SECRET, ACCESS_TOKEN, VERIFY_TOKEN] {
        assert!(!dumped.contains(secret), "{secret} is in the database");
    }
    assert!(
        !key_file.exists(),
        "no key file is generated when the key is configured"
    );
}

#[tokio::test]
async fn the_operator_webhook_secret_does_not_open_a_delivery_for_another_account() {
    let operator = FakeWhatsApp::start_with(FakeWhatsAppConfig {
        app_secret: "operator-meta-secret".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let tiktok = FakeTikTok::start().await.unwrap();
    let (database_url, redis, _) = fresh_database().await;
    let env = vec![
        ("LEADLINE_WORKERS".to_owned(), "0".to_owned()),
        (
            "META_APP_SECRET".to_owned(),
            "operator-meta-secret".to_owned(),
        ),
        (
            "TIKTOK_CLIENT_SECRET".to_owned(),
            tiktok.client_secret().to_owned(),
        ),
    ];
    let app = spawn(&database_url, &redis, env).await;
    let token = app.sign_up("victim-co").await;

    // A genuine delivery for the operator app's number, posted to a tenant whose connection
    // is another number: refused, not filed under the victim.
    let delivery = operator.signed_text_message_webhook("16505551234", "Eve", "hello");
    for input in [
        json!({"channel": "WHATSAPP", "externalAccountId": "999000111"}),
        // Naming no account at all is no better: the shared secret cannot say whose it is.
        json!({"channel": "WHATSAPP", "externalAccountId": ""}),
    ] {
        app.ok(&token, CONNECT, json!({ "input": input })).await;
        assert_eq!(
            post_webhook(
                &app,
                "whatsapp",
                "victim-co",
                &delivery.headers,
                &delivery.body
            )
            .await,
            401
        );
    }
    assert_eq!(lead_count(&app, &token).await, 0);
    // Legitimate: the connection names the number the delivery is for.
    app.ok(
        &token,
        CONNECT,
        json!({"input": {"channel": "WHATSAPP", "externalAccountId": operator.phone_number_id()}}),
    )
    .await;
    assert_eq!(
        post_webhook(
            &app,
            "whatsapp",
            "victim-co",
            &delivery.headers,
            &delivery.body
        )
        .await,
        200
    );
    assert_eq!(lead_count(&app, &token).await, 1);

    // TikTok: the delivery's account is its `user_openid`.
    let dm = tiktok.signed_dm_webhook("user.eve", "hello");
    app.ok(
        &token,
        CONNECT,
        json!({"input": {"channel": "TIKTOK", "webhookAccountId": "act.someone-else"}}),
    )
    .await;
    assert_eq!(
        post_webhook(&app, "tiktok", "victim-co", &dm.headers, &dm.body).await,
        401
    );
    assert_eq!(lead_count(&app, &token).await, 1);
    app.ok(
        &token,
        CONNECT,
        json!({"input": {"channel": "TIKTOK", "webhookAccountId": "act.fakebusinessopenid"}}),
    )
    .await;
    assert_eq!(
        post_webhook(&app, "tiktok", "victim-co", &dm.headers, &dm.body).await,
        200
    );
    assert_eq!(lead_count(&app, &token).await, 2);
}

#[tokio::test]
async fn a_stale_legacy_tiktok_signature_is_refused() {
    let fake = FakeTikTok::start().await.unwrap();
    let (database_url, redis, _) = fresh_database().await;
    let app = spawn(
        &database_url,
        &redis,
        vec![("LEADLINE_WORKERS".to_owned(), "0".to_owned())],
    )
    .await;
    let token = app.sign_up("legacy-window").await;
    app.ok(
        &token,
        CONNECT,
        json!({"input": {"channel": "TIKTOK", "clientSecret": fake.client_secret()}}),
    )
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let fresh = fake.legacy_signed_dm_webhook("user.legacy.fresh", "hello");
    // Off unless the connection opts in.
    assert_eq!(
        post_webhook(&app, "tiktok", "legacy-window", &fresh.headers, &fresh.body).await,
        401
    );
    app.ok(
        &token,
        CONNECT,
        json!({"input": {"channel": "TIKTOK", "legacySignature": true}}),
    )
    .await;
    // A correctly signed legacy delivery from an hour ago: a replay.
    let body = fake.dm_webhook_body("user.legacy.stale", "hello", "m-stale-1", now - 3600);
    let stale = fake.sign_legacy(body, &(now - 3600).to_string());
    assert_eq!(
        post_webhook(&app, "tiktok", "legacy-window", &stale.headers, &stale.body).await,
        401
    );
    assert_eq!(lead_count(&app, &token).await, 0);
    assert_eq!(
        post_webhook(&app, "tiktok", "legacy-window", &fresh.headers, &fresh.body).await,
        200
    );
    assert_eq!(lead_count(&app, &token).await, 1);
}
