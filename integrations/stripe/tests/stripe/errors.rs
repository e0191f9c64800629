//! Error classification end to end: Stripe's error answers as the fake sends them, and
//! transport failures, each mapped to what the caller does.

use std::time::Duration;

use leadline_stripe::fake::{Failure, FakeStripe};
use leadline_stripe::{Client, Error};

use crate::support::client;

async fn customer_error(fake: &FakeStripe, stripe: &Client, failure: Failure) -> Error {
    fake.fail_next(failure);
    stripe
        .create_customer("t", None, None, "customer:t:err")
        .await
        .unwrap_err()
}

#[tokio::test]
async fn rate_limits_are_retryable() {
    let fake = FakeStripe::start().await.unwrap();
    let error = customer_error(&fake, &client(&fake), Failure::rate_limited()).await;
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(error.is_retryable());
    assert_eq!(fake.requests()[0].status, 429);
}

#[tokio::test]
async fn api_errors_and_5xx_are_retryable_with_the_same_key() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);
    let error = customer_error(&fake, &stripe, Failure::api_error()).await;
    assert!(
        matches!(
            error,
            Error::Unavailable {
                status: Some(500),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_retryable());
    // Nothing was saved for the failed attempt: the retry with the same key executes.
    let customer = stripe
        .create_customer("t", None, None, "customer:t:err")
        .await
        .unwrap();
    assert!(customer.id.starts_with("cus_"));
}

#[tokio::test]
async fn card_errors_are_terminal_and_keep_code_and_param() {
    let fake = FakeStripe::start().await.unwrap();
    let error = customer_error(&fake, &client(&fake), Failure::card_declined()).await;
    match &error {
        Error::Card {
            code,
            param,
            message,
            ..
        } => {
            assert_eq!(code.as_deref(), Some("card_declined"));
            assert_eq!(param.as_deref(), Some("payment_method"));
            assert_eq!(message, "Your card was declined.");
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn invalid_requests_are_terminal_and_keep_param() {
    let fake = FakeStripe::start().await.unwrap();
    let failure = Failure::invalid_request(
        400,
        "parameter_unknown",
        "Received unknown parameter: foo",
        Some("foo"),
    );
    let error = customer_error(&fake, &client(&fake), failure).await;
    assert!(
        matches!(&error, Error::InvalidRequest { status: 400, code: Some(c), .. } if c == "parameter_unknown"),
        "{error:?}"
    );
    assert_eq!(error.param(), Some("foo"));
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn a_wrong_key_is_unauthorized() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = Client::new(&fake.base_url(), "sk_test_wrong_key_abcd").unwrap();
    let error = stripe
        .create_customer("t", None, None, "customer:t")
        .await
        .unwrap_err();
    match &error {
        Error::Unauthorized {
            status: 401,
            message,
        } => {
            assert!(
                message.contains("abcd") && !message.contains("wrong_key"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn an_idempotency_key_in_flight_is_retryable() {
    let fake = FakeStripe::start().await.unwrap();
    let failure = Failure::Error {
        status: 409,
        kind: "idempotency_error".to_owned(),
        code: None,
        message: "There is currently another in-progress request using this Idempotent Key."
            .to_owned(),
        param: None,
    };
    let error = customer_error(&fake, &client(&fake), failure).await;
    assert!(
        matches!(error, Error::Idempotency { status: 409, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn an_error_page_that_is_not_stripes_json_is_unavailable() {
    // This pins how async-stripe reports such an answer (a decode failure without status); a
    // new async-stripe that words it differently fails here instead of misclassifying.
    let fake = FakeStripe::start().await.unwrap();
    let failure = Failure::Raw {
        status: 502,
        body: "<html><body>502 Bad Gateway</body></html>".to_owned(),
    };
    let error = customer_error(&fake, &client(&fake), failure).await;
    assert!(
        matches!(error, Error::Unavailable { status: None, .. }),
        "{error:?}"
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn a_2xx_that_is_not_the_object_is_a_decode_error() {
    let fake = FakeStripe::start().await.unwrap();
    let failure = Failure::Raw {
        status: 200,
        body: r#"{"object":"customer"}"#.to_owned(),
    };
    let error = customer_error(&fake, &client(&fake), failure).await;
    assert!(matches!(error, Error::Decode(_)), "{error:?}");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_transport_errors() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake).with_timeout(Duration::from_millis(200));
    let error = customer_error(&fake, &stripe, Failure::Delay(Duration::from_secs(2))).await;
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert!(error.is_retryable());

    // A port nothing listens on: bind one, learn it, close it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let nowhere = Client::new(&closed, fake.secret_key()).unwrap();
    let error = nowhere
        .create_customer("t", None, None, "customer:t")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error:?}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn the_fake_refuses_requests_without_the_pinned_version_or_a_key() {
    let fake = FakeStripe::start().await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/customers", fake.base_url());
    let no_version = http
        .post(&url)
        .bearer_auth(fake.secret_key())
        .header("idempotency-key", "k1")
        .form(&[("email", "a@b.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 400);
    let no_key = http
        .post(&url)
        .bearer_auth(fake.secret_key())
        .header("stripe-version", leadline_stripe::STRIPE_VERSION)
        .form(&[("email", "a@b.test")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_key.status(), 400);
    let json_body = http
        .post(&url)
        .bearer_auth(fake.secret_key())
        .header("stripe-version", leadline_stripe::STRIPE_VERSION)
        .header("idempotency-key", "k2")
        .json(&serde_json::json!({"email": "a@b.test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 400);
    let body: serde_json::Value = json_body.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(fake.requests().iter().all(|r| r.status == 400));
}
