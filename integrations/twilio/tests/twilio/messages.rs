//! Twilio Messaging (SMS) against the fake: the documented form with Basic auth, the Message
//! resource, refusals before sending, and Twilio's error codes classified.

use leadline_twilio::fake::{Failure, FakeTwilio};
use leadline_twilio::messaging::{CreateMessage, Sender};
use leadline_twilio::Error;

use crate::support::client;

fn text(to: &str, body: &str) -> CreateMessage {
    CreateMessage {
        to: to.to_owned(),
        sender: Sender::parse("+15005550006"),
        body: body.to_owned(),
        status_callback: None,
    }
}

#[tokio::test]
async fn create_message_posts_the_documented_form_and_reads_the_resource() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = client(&fake);
    let sent = client
        .create_message(&text("+14155550100", "Hi Ana, still interested?"))
        .await
        .unwrap();
    assert!(
        sent.sid.starts_with("SM") && sent.sid.len() == 34,
        "{sent:?}"
    );
    assert_eq!(sent.status, "queued");
    assert_eq!(sent.to.as_deref(), Some("+14155550100"));
    assert_eq!(sent.body.as_deref(), Some("Hi Ana, still interested?"));

    let request = &fake.requests()[0];
    assert_eq!(
        (request.method.as_str(), request.path.clone()),
        (
            "POST",
            format!("/2010-04-01/Accounts/{}/Messages.json", fake.account_sid())
        )
    );
    assert!(request.authenticated);
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(request.param("To"), Some("+14155550100"));
    assert_eq!(request.param("From"), Some("+15005550006"));
    assert_eq!(request.param("Body"), Some("Hi Ana, still interested?"));
    assert_eq!(request.param("MessagingServiceSid"), None);
    assert_eq!(fake.messages().len(), 1);

    // A Messaging Service instead of a number.
    let via_service = CreateMessage {
        sender: Sender::parse("MG0123456789abcdef0123456789abcdef"),
        ..text("+14155550100", "Hola")
    };
    let sent = client.create_message(&via_service).await.unwrap();
    assert_eq!(sent.status, "accepted");
    let request = &fake.requests()[1];
    assert_eq!(
        request.param("MessagingServiceSid"),
        Some("MG0123456789abcdef0123456789abcdef")
    );
    assert_eq!(request.param("From"), None);
}

#[tokio::test]
async fn bad_numbers_and_bodies_are_refused_before_sending() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = client(&fake);
    assert!(matches!(
        client.create_message(&text("0414 555", "Hi")).await,
        Err(Error::InvalidPhoneNumber(_))
    ));
    assert!(matches!(
        client.create_message(&text("+14155550100", "")).await,
        Err(Error::Rejected { .. })
    ));
    let long = "x".repeat(1_601);
    assert!(client
        .create_message(&text("+14155550100", &long))
        .await
        .is_err());
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn twilio_errors_on_messages_are_classified() {
    let fake = FakeTwilio::start().await.unwrap();
    let client = client(&fake);
    fake.fail_next(Failure::RateLimited {
        retry_after_secs: Some(3),
    });
    let limited = client
        .create_message(&text("+14155550100", "Hi"))
        .await
        .unwrap_err();
    assert!(limited.is_retryable(), "{limited:?}");
    fake.fail_next(Failure::twilio(400, 21211, "The 'To' number is not valid."));
    let invalid = client
        .create_message(&text("+14155550100", "Hi"))
        .await
        .unwrap_err();
    assert!(!invalid.is_retryable(), "{invalid:?}");
    fake.fail_next(Failure::twilio(503, 20500, "Service unavailable"));
    let outage = client
        .create_message(&text("+14155550100", "Hi"))
        .await
        .unwrap_err();
    assert!(outage.is_retryable(), "{outage:?}");
    assert!(fake.messages().is_empty());
}
