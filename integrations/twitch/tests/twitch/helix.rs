//! `HelixClient` against `FakeHelix`: request shapes, Twitch's whisper rules and error
//! classification.

use std::time::Duration;

use leadline_twitch::fake::helix::{Failure, FakeHelix, BOT_USER_ID};
use leadline_twitch::models::SendChatMessageRequest;
use leadline_twitch::{HelixClient, HelixCredentials, TwitchError};

fn client(fake: &FakeHelix) -> HelixClient {
    HelixClient::new(reqwest::Client::new(), fake.base_url())
}

fn credentials(fake: &FakeHelix) -> HelixCredentials {
    HelixCredentials::new(fake.client_id(), fake.token())
}

fn add_viewers(fake: &FakeHelix, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let id = format!("{}", 500_000 + i);
            fake.add_user(&id, &format!("viewer{i}"));
            id
        })
        .collect()
}

#[tokio::test]
async fn user_lookup_sends_login_bearer_and_client_id() {
    let fake = FakeHelix::start().await.unwrap();
    fake.add_user("141981764", "twitchdev");
    let id = client(&fake)
        .user_id(&credentials(&fake), "#TwitchDev")
        .await
        .unwrap();
    assert_eq!(id, "141981764");
    let request = &fake.requests()[0];
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.status
        ),
        ("GET", "/helix/users", 200)
    );
    assert_eq!(request.params("login"), ["twitchdev"]);
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {}", fake.token()).as_str())
    );
    assert_eq!(request.header("client-id"), Some(fake.client_id()));

    let users = client(&fake)
        .users_by_login(&credentials(&fake), &["twitchdev", "nobody", "leadbot"])
        .await
        .unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].created_at.as_deref(), Some("2016-12-14T20:32:28Z"));
    assert_eq!(
        fake.requests()[1].params("login"),
        ["twitchdev", "nobody", "leadbot"]
    );
}

#[tokio::test]
async fn an_unknown_login_is_not_found_and_bad_credentials_are_unauthorized() {
    let fake = FakeHelix::start().await.unwrap();
    let error = client(&fake)
        .user_id(&credentials(&fake), "ghost")
        .await
        .unwrap_err();
    assert!(matches!(error, TwitchError::NotFound(_)), "{error:?}");
    let wrong_token = HelixCredentials::new(fake.client_id(), "stolen");
    assert!(matches!(
        client(&fake).user_id(&wrong_token, "leadbot").await,
        Err(TwitchError::Unauthorized(_))
    ));
    let wrong_client = HelixCredentials::new("other-app", fake.token());
    assert!(matches!(
        client(&fake).user_id(&wrong_client, "leadbot").await,
        Err(TwitchError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn a_whisper_has_the_documented_shape() {
    let fake = FakeHelix::start().await.unwrap();
    let viewers = add_viewers(&fake, 1);
    client(&fake)
        .send_whisper(
            &credentials(&fake),
            BOT_USER_ID,
            &viewers[0],
            "Here is your link",
        )
        .await
        .unwrap();
    let request = &fake.requests()[0];
    assert_eq!(
        (
            request.method.as_str(),
            request.path.as_str(),
            request.status
        ),
        ("POST", "/helix/whispers", 204)
    );
    assert_eq!(request.params("from_user_id"), [BOT_USER_ID]);
    assert_eq!(request.params("to_user_id"), [viewers[0].as_str()]);
    assert_eq!(
        request.body,
        serde_json::json!({"message": "Here is your link"})
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(fake.whispers().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn twitch_itself_refuses_a_forty_first_new_recipient_with_429() {
    let fake = FakeHelix::start().await.unwrap();
    let viewers = add_viewers(&fake, 41);
    let client = client(&fake);
    for viewer in &viewers[..40] {
        client
            .send_whisper(&credentials(&fake), BOT_USER_ID, viewer, "hi")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let error = client
        .send_whisper(&credentials(&fake), BOT_USER_ID, &viewers[40], "hi")
        .await
        .unwrap_err();
    assert!(
        matches!(error, TwitchError::RateLimited { retry_after: Some(wait) } if wait >= Duration::from_secs(86_000)),
        "{error:?}"
    );
    // A recipient already whispered today is not a new one.
    client
        .send_whisper(&credentials(&fake), BOT_USER_ID, &viewers[0], "again")
        .await
        .unwrap();
    fake.new_day();
    tokio::time::sleep(Duration::from_secs(1)).await;
    client
        .send_whisper(&credentials(&fake), BOT_USER_ID, &viewers[40], "hi")
        .await
        .unwrap();
}

#[tokio::test]
async fn whisper_rules_map_to_typed_errors() {
    let fake = FakeHelix::start().await.unwrap();
    let viewers = add_viewers(&fake, 4);
    let client = client(&fake);
    let creds = credentials(&fake);
    assert!(matches!(
        client.send_whisper(&creds, "123", &viewers[0], "hi").await,
        Err(TwitchError::Unauthorized(_))
    ));
    assert!(matches!(
        client.send_whisper(&creds, BOT_USER_ID, "999", "hi").await,
        Err(TwitchError::NotFound(_))
    ));
    assert!(matches!(
        client
            .send_whisper(&creds, BOT_USER_ID, &viewers[0], " ")
            .await,
        Err(TwitchError::Rejected { status: 0, .. })
    ));
    for viewer in &viewers[..3] {
        client
            .send_whisper(&creds, BOT_USER_ID, viewer, "hi")
            .await
            .unwrap();
    }
    let fourth = client
        .send_whisper(&creds, BOT_USER_ID, &viewers[3], "hi")
        .await
        .unwrap_err();
    assert!(
        matches!(fourth, TwitchError::RateLimited { .. }),
        "{fourth:?}"
    );
}

#[tokio::test]
async fn injected_failures_are_classified() {
    let fake = FakeHelix::start().await.unwrap();
    let client = client(&fake);
    let creds = credentials(&fake);

    fake.fail_next(Failure::RateLimited { reset_in_secs: 30 });
    let limited = client.user_id(&creds, "leadbot").await.unwrap_err();
    match limited {
        TwitchError::RateLimited {
            retry_after: Some(wait),
        } => assert!(
            (Duration::from_secs(28)..=Duration::from_secs(31)).contains(&wait),
            "{wait:?}"
        ),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    fake.fail_next(Failure::ServerError(503));
    let server = client.user_id(&creds, "leadbot").await.unwrap_err();
    assert!(matches!(server, TwitchError::Transient(_)) && server.is_retryable());
    fake.fail_next(Failure::Unauthorized);
    assert!(matches!(
        client.user_id(&creds, "leadbot").await,
        Err(TwitchError::Unauthorized(_))
    ));
    fake.fail_next(Failure::Slow(Duration::from_millis(500)));
    let slow = client
        .clone()
        .with_timeout(Duration::from_millis(50))
        .user_id(&creds, "leadbot")
        .await
        .unwrap_err();
    assert!(
        matches!(&slow, TwitchError::Transient(text) if text.contains("timed out")),
        "{slow:?}"
    );
    assert_eq!(
        client.user_id(&creds, "leadbot").await.unwrap(),
        BOT_USER_ID
    );
}

#[tokio::test]
async fn a_chat_message_via_helix_has_the_documented_shape() {
    let fake = FakeHelix::start().await.unwrap();
    let sent = client(&fake)
        .send_chat_message(
            &credentials(&fake),
            &SendChatMessageRequest {
                broadcaster_id: "12826".into(),
                sender_id: BOT_USER_ID.into(),
                message: "Hello".into(),
                reply_parent_message_id: None,
            },
        )
        .await
        .unwrap();
    assert!(sent.is_sent);
    assert!(sent.message_id.starts_with("helix-msg-"));
    assert_eq!(
        fake.chat_messages()[0],
        serde_json::json!({"broadcaster_id": "12826", "sender_id": BOT_USER_ID, "message": "Hello"})
    );
}
