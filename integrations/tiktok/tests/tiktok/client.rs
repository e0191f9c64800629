//! The DM client against `FakeTikTok`: exact request shape and headers, error classification
//! (HTTP statuses and envelope codes), and fake-signed webhooks in both schemes.

use std::time::Duration;

use chrono::Utc;
use leadline_tiktok::fake::{Failure, FakeTikTok};
use leadline_tiktok::webhook::{self, DmContent, InboundEvent};
use leadline_tiktok::{BusinessCredentials, Client, Error, Scheme, SignatureError, VerifyOptions};
use serde_json::json;

fn client(fake: &FakeTikTok) -> Client {
    Client::new(reqwest::Client::new(), fake.base_url())
}

#[tokio::test]
async fn send_text_posts_the_envelope_request_with_the_access_token_header() {
    let fake = FakeTikTok::start().await.unwrap();
    let sent = client(&fake)
        .send_text(&fake.credentials(), "oid_lead_1", "Yes, XL is in stock!")
        .await
        .unwrap();
    assert!(sent.message_id.starts_with("msg_"), "{sent:?}");
    assert!(sent.request_id.is_some());

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/open_api/v1.3/business/message/send/");
    assert_eq!(
        request.header("access-token"),
        Some(fake.credentials().access_token.as_str())
    );
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({"business_id": fake.credentials().business_id, "open_id": "oid_lead_1",
               "message_type": "text", "message_content": {"text": "Yes, XL is in stock!"}})
    );
    assert_eq!(fake.sent_messages(), vec![request.body.clone()]);
}

#[tokio::test]
async fn errors_are_classified() {
    let fake = FakeTikTok::start().await.unwrap();
    let client = client(&fake).with_timeout(Duration::from_millis(300));
    let creds = fake.credentials();
    let send = || client.send_text(&creds, "oid_lead_1", "hi");

    // Like the real API: a bad token is HTTP 200 with code 40105.
    let wrong = BusinessCredentials {
        access_token: "act.wrong".into(),
        ..fake.credentials()
    };
    assert!(matches!(
        client.send_text(&wrong, "oid", "hi").await,
        Err(Error::Unauthorized(_))
    ));
    assert_eq!(fake.requests()[0].status, Some(200));

    let other_business = BusinessCredentials {
        business_id: "42".into(),
        ..fake.credentials()
    };
    assert!(matches!(
        client.send_text(&other_business, "oid", "hi").await,
        Err(Error::Rejected { code: 40002, .. })
    ));

    fake.fail_next(1, Failure::Unauthorized);
    assert!(matches!(send().await, Err(Error::Unauthorized(_))));

    fake.fail_next(1, Failure::NotFound);
    assert!(matches!(send().await, Err(Error::NotFound(_))));

    fake.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: Some(12),
        },
    );
    let limited = send().await.unwrap_err();
    assert_eq!(
        limited,
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(12))
        }
    );
    assert!(limited.is_retryable());

    fake.fail_next(
        1,
        Failure::ApiError {
            code: 40100,
            message: "Too many requests".into(),
        },
    );
    assert_eq!(send().await, Err(Error::RateLimited { retry_after: None }));

    fake.fail_next(
        1,
        Failure::ApiError {
            code: 40010,
            message: "Messaging window closed".into(),
        },
    );
    let rejected = send().await.unwrap_err();
    assert_eq!(
        rejected,
        Error::Rejected {
            code: 40010,
            message: "Messaging window closed".into()
        }
    );
    assert!(!rejected.is_retryable());

    fake.fail_next(1, Failure::ServerError);
    let server = send().await.unwrap_err();
    assert!(
        matches!(server, Error::Transient(_)) && server.is_retryable(),
        "{server:?}"
    );

    fake.fail_next(1, Failure::Delay(Duration::from_secs(2)));
    assert_eq!(send().await, Err(Error::Timeout));

    fake.fail_next(1, Failure::MalformedBody);
    assert!(matches!(send().await, Err(Error::Decode(_))));

    assert!(send().await.is_ok());
}

#[tokio::test]
async fn the_fake_validates_required_fields() {
    let fake = FakeTikTok::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/open_api/v1.3/business/message/send/", fake.base_url());
    let creds = fake.credentials();
    for (body, needle) in [
        (
            json!({"business_id": creds.business_id, "message_type":"text","message_content":{"text":"x"}}),
            "open_id",
        ),
        (
            json!({"business_id": creds.business_id, "open_id":"o","message_type":"video","message_content":{"text":"x"}}),
            "message_type",
        ),
        (
            json!({"business_id": creds.business_id, "open_id":"o","message_type":"text","message_content":{}}),
            "message_content.text",
        ),
        (
            json!({"business_id": creds.business_id, "open_id":"o","message_type":"text","message_content":{"text":"x".repeat(6001)}}),
            "6000",
        ),
    ] {
        let answer: serde_json::Value = http
            .post(&url)
            .header("Access-Token", &creds.access_token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["code"], 40002, "{answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(needle),
            "{answer}"
        );
    }
    let no_token: serde_json::Value = http
        .post(&url)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(no_token["code"], 40104);
    assert!(fake.sent_messages().is_empty());
}

#[tokio::test]
async fn fake_signed_webhooks_verify_in_both_schemes_and_parse() {
    let fake = FakeTikTok::start().await.unwrap();
    let secrets = [fake.client_secret()];
    let signed = fake.signed_dm_webhook("oid_lead_7", "¿Tienen envío gratis?");
    assert_eq!(
        webhook::verify(
            &signed.headers,
            &signed.body,
            &secrets,
            Utc::now(),
            &VerifyOptions::default()
        ),
        Ok(Scheme::Current)
    );
    let events = webhook::parse(&signed.body).unwrap();
    let InboundEvent::DirectMessage(dm) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(dm.sender_open_id, "oid_lead_7");
    assert_eq!(Some(&dm.message_id), signed.message_id.as_ref());
    assert_eq!(
        dm.content,
        DmContent::Text {
            text: "¿Tienen envío gratis?".into()
        }
    );

    let stale = fake.signed_dm_webhook_at("oid_lead_7", "old", Utc::now().timestamp() - 3600);
    assert!(matches!(
        webhook::verify(
            &stale.headers,
            &stale.body,
            &secrets,
            Utc::now(),
            &VerifyOptions::default()
        ),
        Err(Error::SignatureInvalid(SignatureError::Stale { .. }))
    ));

    let legacy = fake.legacy_signed_dm_webhook("oid_lead_8", "legacy hola");
    let allow = VerifyOptions {
        allow_legacy: true,
        ..VerifyOptions::default()
    };
    assert_eq!(
        webhook::verify(&legacy.headers, &legacy.body, &secrets, Utc::now(), &allow),
        Ok(Scheme::Legacy)
    );
    assert!(webhook::verify(
        &legacy.headers,
        &legacy.body,
        &secrets,
        Utc::now(),
        &VerifyOptions::default()
    )
    .is_err());
    assert!(webhook::verify(
        &legacy.headers,
        &legacy.body,
        &["wrong"],
        Utc::now(),
        &allow
    )
    .is_err());
}
