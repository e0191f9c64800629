//! The Send API client against `FakeMeta`: exact request shape, error classification, and
//! fake-signed webhooks that verify with the crate's own checker.

use std::time::Duration;

use leadline_meta::fake::{Failure, FakeMeta};
use leadline_meta::models::{MessageTag, SenderAction, UserProfile};
use leadline_meta::webhook::{self, EventKind};
use leadline_meta::{Channel, Client, Error, PageCredentials, SendPolicy};
use serde_json::json;

fn client(fake: &FakeMeta) -> Client {
    Client::new(reqwest::Client::new(), fake.base_url())
}

#[tokio::test]
async fn send_text_posts_the_send_api_body_with_a_bearer_token() {
    let fake = FakeMeta::start().await.unwrap();
    let sent = client(&fake)
        .send_text(
            &fake.credentials(),
            "PSID_1",
            "Hola, ¿en qué te ayudo?",
            SendPolicy::Response,
        )
        .await
        .unwrap();
    assert_eq!(sent.recipient_id.as_deref(), Some("PSID_1"));
    assert!(sent
        .message_id
        .as_deref()
        .is_some_and(|m| m.starts_with("m_")));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/v21.0/{}/messages", fake.page_id()));
    assert_eq!(request.query, None, "the token never travels in the URL");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {}", fake.credentials().access_token).as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({"recipient":{"id":"PSID_1"},"messaging_type":"RESPONSE","message":{"text":"Hola, ¿en qué te ayudo?"}})
    );
    assert_eq!(request.status, Some(200));
    assert_eq!(fake.sent_messages(), vec![request.body.clone()]);
}

#[tokio::test]
async fn a_closed_window_is_rejected_until_tagged_human_agent() {
    let fake = FakeMeta::start().await.unwrap();
    fake.close_window("PSID_2");
    let client = client(&fake);
    let refused = client
        .send_text(
            &fake.credentials(),
            "PSID_2",
            "late reply",
            SendPolicy::Response,
        )
        .await
        .unwrap_err();
    assert!(refused.is_outside_window(), "{refused:?}");
    assert!(!refused.is_retryable());
    assert!(matches!(
        refused,
        Error::Rejected {
            status: 400,
            code: 10,
            subcode: Some(2_018_278),
            ..
        }
    ));

    client
        .send_text(
            &fake.credentials(),
            "PSID_2",
            "A person here: how can I help?",
            SendPolicy::Tag(MessageTag::HumanAgent),
        )
        .await
        .unwrap();
    assert_eq!(
        fake.requests()[1].body,
        json!({"recipient":{"id":"PSID_2"},"messaging_type":"MESSAGE_TAG","tag":"HUMAN_AGENT","message":{"text":"A person here: how can I help?"}})
    );
}

#[tokio::test]
async fn sender_actions_carry_no_message() {
    let fake = FakeMeta::start().await.unwrap();
    let answer = client(&fake)
        .sender_action(&fake.credentials(), "PSID_1", SenderAction::TypingOn)
        .await
        .unwrap();
    assert_eq!(answer.message_id, None);
    assert_eq!(
        fake.requests()[0].body,
        json!({"recipient":{"id":"PSID_1"},"sender_action":"typing_on"})
    );
    assert_eq!(
        client(&fake)
            .sender_action(&fake.credentials(), "PSID_1", SenderAction::Unknown)
            .await,
        Err(Error::Unsupported("unknown sender_action"))
    );
}

#[tokio::test]
async fn the_profile_lookup_asks_for_the_channels_fields() {
    let fake = FakeMeta::start().await.unwrap();
    fake.add_profile(UserProfile {
        id: "PSID_9".into(),
        first_name: Some("María".into()),
        last_name: Some("José".into()),
        profile_pic: Some("https://cdn.example/p.jpg".into()),
        name: Some("ignored for messenger".into()),
        ..UserProfile::default()
    });
    let profile = client(&fake)
        .user_profile(&fake.credentials(), "PSID_9", Channel::Messenger)
        .await
        .unwrap();
    assert_eq!(profile.display_name().as_deref(), Some("María José"));
    assert_eq!(profile.name, None, "only the requested fields come back");
    let request = &fake.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("GET", "/v21.0/PSID_9")
    );
    assert_eq!(
        request.query.as_deref(),
        Some("fields=first_name%2Clast_name%2Cprofile_pic")
    );
    let unknown = client(&fake)
        .user_profile(&fake.credentials(), "nobody", Channel::Instagram)
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::NotFound(_)), "{unknown:?}");
}

#[tokio::test]
async fn errors_are_classified() {
    let fake = FakeMeta::start().await.unwrap();
    let client = client(&fake).with_timeout(Duration::from_millis(300));
    let creds = fake.credentials();
    let send = || client.send_text(&creds, "PSID_1", "hi", SendPolicy::Response);

    let wrong_token = PageCredentials {
        access_token: "EAAwrong".into(),
        ..fake.credentials()
    };
    let refused = client
        .send_text(&wrong_token, "PSID_1", "hi", SendPolicy::Response)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::Unauthorized(ref m) if m.contains("access token")),
        "{refused:?}"
    );

    let wrong_page = PageCredentials {
        page_id: "999".into(),
        ..fake.credentials()
    };
    let missing = client
        .send_text(&wrong_page, "PSID_1", "hi", SendPolicy::Response)
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing:?}");

    fake.fail_next(1, Failure::Unauthorized);
    assert!(matches!(send().await, Err(Error::Unauthorized(_))));

    fake.fail_next(1, Failure::NotFound);
    assert!(matches!(send().await, Err(Error::NotFound(_))));

    fake.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: Some(17),
        },
    );
    let limited = send().await.unwrap_err();
    assert_eq!(
        limited,
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(17))
        }
    );
    assert!(limited.is_retryable());

    fake.fail_next(
        1,
        Failure::GraphError {
            status: 400,
            code: 551,
            subcode: Some(1_545_041),
            message: "(#551) This person isn't available right now.".into(),
            details: None,
        },
    );
    assert_eq!(
        send().await,
        Err(Error::Rejected {
            status: 400,
            code: 551,
            subcode: Some(1_545_041),
            message: "(#551) This person isn't available right now.".into()
        })
    );

    fake.fail_next(1, Failure::ServerError);
    let server = send().await.unwrap_err();
    assert!(
        matches!(server, Error::Transient(_)) && server.is_retryable(),
        "{server:?}"
    );

    fake.fail_next(1, Failure::Delay(Duration::from_secs(2)));
    let slow = send().await.unwrap_err();
    assert_eq!(slow, Error::Timeout);
    assert!(slow.is_retryable());

    fake.fail_next(1, Failure::MalformedBody);
    assert!(matches!(send().await, Err(Error::Decode(_))));

    // The fake is healthy again once the injected failures are used up.
    assert!(send().await.is_ok());
}

#[tokio::test]
async fn the_fake_validates_like_graph() {
    let fake = FakeMeta::start().await.unwrap();
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        http.post(format!(
            "{}/v21.0/{}/messages",
            fake.base_url(),
            fake.page_id()
        ))
        .bearer_auth(fake.credentials().access_token)
        .json(&body)
        .send()
    };
    for (body, needle) in [
        (
            json!({"messaging_type":"RESPONSE","message":{"text":"x"}}),
            "recipient",
        ),
        (
            json!({"recipient":{"id":"U"},"message":{"text":"x"}}),
            "messaging_type",
        ),
        (
            json!({"recipient":{"id":"U"},"messaging_type":"MESSAGE_TAG","message":{"text":"x"}}),
            "tag",
        ),
        (
            json!({"recipient":{"id":"U"},"messaging_type":"RESPONSE","tag":"HUMAN_AGENT","message":{"text":"x"}}),
            "tag",
        ),
        (
            json!({"recipient":{"id":"U"},"messaging_type":"RESPONSE","message":{"text":"x".repeat(2001)}}),
            "2000",
        ),
    ] {
        let response = post(body).await.unwrap();
        assert_eq!(response.status(), 400);
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], 100);
        assert_eq!(error["error"]["type"], "OAuthException");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(needle),
            "{error}"
        );
    }
    assert!(fake.sent_messages().is_empty());
}

#[tokio::test]
async fn fake_signed_webhooks_verify_and_parse() {
    let fake = FakeMeta::start().await.unwrap();
    let signed = fake.signed_message_webhook(Channel::Instagram, "IGSID_7", "¿Tienen talla M? 👕");
    webhook::verify(&signed.headers, &signed.body, &[fake.app_secret()]).unwrap();
    assert!(webhook::verify(&signed.headers, &signed.body, &["other-secret"]).is_err());
    let events = webhook::parse(&signed.body).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].channel, Channel::Instagram);
    assert_eq!(events[0].sender_id, "IGSID_7");
    match &events[0].kind {
        EventKind::Message(message) => {
            assert_eq!(Some(&message.mid), signed.message_id.as_ref());
            assert_eq!(message.text.as_deref(), Some("¿Tienen talla M? 👕"));
        }
        other => panic!("{other:?}"),
    }

    let echo = fake.signed_echo_webhook(Channel::Messenger, "PSID_1", "sent by a person", None);
    webhook::verify(&echo.headers, &echo.body, &[fake.app_secret()]).unwrap();
    let events = webhook::parse(&echo.body).unwrap();
    assert!(matches!(&events[0].kind, EventKind::Echo(e) if !e.is_from_app(fake.app_id())));
    let ours = fake.signed_echo_webhook(Channel::Messenger, "PSID_1", "bot", Some(fake.app_id()));
    let events = webhook::parse(&ours.body).unwrap();
    assert!(matches!(&events[0].kind, EventKind::Echo(e) if e.is_from_app(fake.app_id())));
}
