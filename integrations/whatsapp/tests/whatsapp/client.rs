//! The Cloud API client against `FakeWhatsApp`: exact request shape and headers, error
//! classification, and fake-signed webhooks that verify with the crate's own verifier.

use std::time::Duration;

use leadline_whatsapp::fake::{Failure, FakeWhatsApp};
use leadline_whatsapp::models::{
    DeliveryStatus, Template, TemplateComponent, TemplateLanguage, TemplateParameter,
};
use leadline_whatsapp::webhook::{self, InboundEvent, MessageContent};
use leadline_whatsapp::{Client, Error, PhoneNumberCredentials};
use serde_json::json;

fn client(fake: &FakeWhatsApp) -> Client {
    Client::new(reqwest::Client::new(), fake.base_url())
}

fn order_update() -> Template {
    Template {
        name: "order_update".into(),
        language: TemplateLanguage {
            code: "en_US".into(),
            policy: Some("deterministic".into()),
        },
        components: vec![
            TemplateComponent {
                kind: "body".into(),
                sub_type: None,
                index: None,
                parameters: vec![TemplateParameter::Text {
                    text: "Alice".into(),
                }],
            },
            TemplateComponent {
                kind: "button".into(),
                sub_type: Some("quick_reply".into()),
                index: Some("0".into()),
                parameters: vec![TemplateParameter::Payload {
                    payload: "YES".into(),
                }],
            },
        ],
    }
}

#[tokio::test]
async fn send_text_posts_the_cloud_api_body_with_a_bearer_token() {
    let fake = FakeWhatsApp::start().await.unwrap();
    let sent = client(&fake)
        .send_text(&fake.credentials(), "16505551234", "Hello", Some("wamid.X"))
        .await
        .unwrap();
    assert!(sent.message_id.starts_with("wamid."), "{sent:?}");
    assert_eq!(sent.wa_id.as_deref(), Some("16505551234"));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/v21.0/{}/messages", fake.phone_number_id())
    );
    assert_eq!(request.query, None);
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {}", fake.credentials().access_token).as_str())
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"text","text":{"preview_url":false,"body":"Hello"},"context":{"message_id":"wamid.X"}})
    );
    assert_eq!(request.status, Some(200));
}

#[tokio::test]
async fn templates_pass_a_closed_window_that_refuses_free_form_text() {
    let fake = FakeWhatsApp::start().await.unwrap();
    fake.close_window("16505551234");
    let client = client(&fake);
    let refused = client
        .send_text(&fake.credentials(), "16505551234", "late", None)
        .await
        .unwrap_err();
    assert!(refused.is_outside_window(), "{refused:?}");
    assert!(!refused.is_retryable());
    match &refused {
        Error::Rejected {
            status,
            code,
            message,
        } => {
            assert_eq!((*status, *code), (400, 131_047));
            assert!(message.contains("24 hours"), "{message}");
        }
        other => panic!("{other:?}"),
    }

    let sent = client
        .send_template(&fake.credentials(), "16505551234", &order_update())
        .await
        .unwrap();
    assert_eq!(sent.message_status.as_deref(), Some("accepted"));
    assert_eq!(
        fake.requests()[1].body,
        json!({"messaging_product":"whatsapp","recipient_type":"individual","to":"16505551234","type":"template","template":{"name":"order_update","language":{"code":"en_US","policy":"deterministic"},
         "components":[{"type":"body","parameters":[{"type":"text","text":"Alice"}]},{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"YES"}]}]}})
    );
    assert_eq!(fake.sent_messages().len(), 1);
}

#[tokio::test]
async fn mark_read_sends_the_status_body() {
    let fake = FakeWhatsApp::start().await.unwrap();
    client(&fake)
        .mark_read(&fake.credentials(), "wamid.IN")
        .await
        .unwrap();
    assert_eq!(
        fake.requests()[0].body,
        json!({"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN"})
    );
    assert!(fake.sent_messages().is_empty());
}

#[tokio::test]
async fn errors_are_classified() {
    let fake = FakeWhatsApp::start().await.unwrap();
    let client = client(&fake).with_timeout(Duration::from_millis(300));
    let creds = fake.credentials();
    let send = || client.send_text(&creds, "16505551234", "hi", None);

    let wrong_token = PhoneNumberCredentials {
        access_token: "EAAwrong".into(),
        ..fake.credentials()
    };
    assert!(matches!(
        client.send_text(&wrong_token, "1", "hi", None).await,
        Err(Error::Unauthorized(_))
    ));
    let wrong_number = PhoneNumberCredentials {
        phone_number_id: "999".into(),
        ..fake.credentials()
    };
    assert!(matches!(
        client.send_text(&wrong_number, "1", "hi", None).await,
        Err(Error::NotFound(_))
    ));

    fake.fail_next(1, Failure::Unauthorized);
    assert!(matches!(send().await, Err(Error::Unauthorized(_))));

    fake.fail_next(1, Failure::NotFound);
    assert!(matches!(send().await, Err(Error::NotFound(_))));

    fake.fail_next(
        1,
        Failure::RateLimited {
            retry_after_secs: Some(30),
        },
    );
    let limited = send().await.unwrap_err();
    assert_eq!(
        limited,
        Error::RateLimited {
            retry_after: Some(Duration::from_secs(30))
        }
    );
    assert_eq!(limited.retry_after(), Some(Duration::from_secs(30)));
    assert!(limited.is_retryable());

    fake.fail_next(1, Failure::GraphError {
        status: 400,
        code: 132_000,
        subcode: None,
        message: "(#132000) Number of parameters does not match the expected number of params".into(),
        details: Some("body: number of localizable_params (0) does not match the expected number of params (1)".into()),
    });
    let rejected = send().await.unwrap_err();
    assert!(
        matches!(rejected, Error::Rejected { status: 400, code: 132_000, ref message } if message.contains("localizable_params")),
        "{rejected:?}"
    );

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
async fn the_fake_validates_like_the_cloud_api() {
    let fake = FakeWhatsApp::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/v21.0/{}/messages",
        fake.base_url(),
        fake.phone_number_id()
    );
    for (body, needle) in [
        (
            json!({"to":"1","type":"text","text":{"body":"x"}}),
            "messaging_product",
        ),
        (
            json!({"messaging_product":"whatsapp","type":"text","text":{"body":"x"}}),
            "to",
        ),
        (
            json!({"messaging_product":"whatsapp","to":"1","type":"text","text":{}}),
            "text['body']",
        ),
        (
            json!({"messaging_product":"whatsapp","to":"1","type":"text","text":{"body":"x".repeat(4097)}}),
            "4096",
        ),
        (
            json!({"messaging_product":"whatsapp","to":"1","type":"template","template":{"language":{"code":"en_US"}}}),
            "template['name']",
        ),
        (
            json!({"messaging_product":"whatsapp","to":"1","type":"template","template":{"name":"t"}}),
            "language",
        ),
        (
            json!({"messaging_product":"whatsapp","to":"1","type":"telepathy"}),
            "type",
        ),
    ] {
        let response = http
            .post(&url)
            .bearer_auth(fake.credentials().access_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], 100, "{error}");
        assert!(
            error["error"]["message"].as_str().unwrap().contains(needle),
            "{error}"
        );
    }
    assert!(fake.sent_messages().is_empty());
}

#[tokio::test]
async fn fake_signed_webhooks_verify_and_parse() {
    let fake = FakeWhatsApp::start().await.unwrap();
    let signed =
        fake.signed_text_message_webhook("5215512345678", "María José", "¿Tienen el modelo 2024?");
    webhook::verify(&signed.headers, &signed.body, &[fake.app_secret()]).unwrap();
    assert!(webhook::verify(&signed.headers, &signed.body, &["wrong"]).is_err());
    let events = webhook::parse(&signed.body).unwrap();
    let InboundEvent::Message(message) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(Some(&message.message_id), signed.message_id.as_ref());
    assert_eq!(message.phone_number_id, fake.phone_number_id());
    assert_eq!(message.profile_name.as_deref(), Some("María José"));
    assert_eq!(message.text(), Some("¿Tienen el modelo 2024?"));

    let image = fake.signed_message_webhook(
        "5215512345678",
        "María José",
        json!({"type":"image","image":{"id":"MEDIA_1","mime_type":"image/jpeg","sha256":"h"}}),
    );
    webhook::verify(&image.headers, &image.body, &[fake.app_secret()]).unwrap();
    let events = webhook::parse(&image.body).unwrap();
    assert!(
        matches!(&events[0], InboundEvent::Message(m) if matches!(&m.content, MessageContent::Media { id, .. } if id == "MEDIA_1"))
    );

    let sent = client(&fake)
        .send_text(&fake.credentials(), "5215512345678", "¡Sí!", None)
        .await
        .unwrap();
    let failed = fake.signed_status_webhook(
        &sent.message_id,
        "5215512345678",
        "failed",
        Some((131_026, "Message undeliverable")),
    );
    webhook::verify(&failed.headers, &failed.body, &[fake.app_secret()]).unwrap();
    let events = webhook::parse(&failed.body).unwrap();
    let InboundEvent::Status(status) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(status.message_id, sent.message_id);
    assert_eq!(status.status, DeliveryStatus::Failed);
    assert_eq!(status.errors[0].code, 131_026);
}
