//! Webhooks: every official vector, platforms.md's vector, each way of being refused, secret
//! rotation, tolerant parsing of both API-version shapes, and the fake's signed deliveries
//! through a route that verifies them.

use std::collections::BTreeMap;
use std::time::Duration;

use leadline_stripe::fake::{FakeStripe, DEFAULT_LICENSED_PRICE, DEFAULT_METERED_PRICE};
use leadline_stripe::webhook::{sign_v1, signature_header};
use leadline_stripe::{Event, EventPayload, LineItem, Receiver, SubscriptionStatus, WebhookError};
use serde_json::{json, Value};

use crate::support::{now, vector_file, WebhookSink};

fn receiver(secrets: &[&str]) -> Receiver {
    Receiver::new(secrets.iter().map(|s| s.to_string()).collect()).unwrap()
}

#[test]
fn every_shared_vector_verifies_exactly_when_valid() {
    let vectors: Vec<Value> = serde_json::from_str(&vector_file("stripe.json")).unwrap();
    assert!(vectors.len() >= 4);
    for vector in &vectors {
        let secret = vector["secret"].as_str().unwrap();
        let payload = vector["payload"].as_str().unwrap();
        let header = vector["header"].as_str().unwrap();
        let now = vector["now"].as_i64().unwrap();
        let tolerance = vector["tolerance_s"].as_u64().unwrap();
        let valid = vector["valid"].as_bool().unwrap();
        let receiver = receiver(&[secret]).with_tolerance(Duration::from_secs(tolerance));
        let outcome = receiver.receive(Some(header), payload.as_bytes(), now);
        assert_eq!(outcome.is_ok(), valid, "{vector}: {outcome:?}");
        // Also through a header map, whatever the header name's case.
        let mut headers = http::HeaderMap::new();
        headers.insert("Stripe-Signature", header.parse().unwrap());
        assert_eq!(
            receiver
                .receive_headers(&headers, payload.as_bytes(), now)
                .is_ok(),
            valid
        );
        if valid {
            let event = outcome.unwrap();
            assert_eq!(event.id, "evt_shared");
            match event.payload {
                EventPayload::CheckoutSessionCompleted(session) => {
                    assert_eq!(session.session_id, "cs_test_shared");
                    assert_eq!(session.client_reference_id.as_deref(), Some("acme"));
                    assert_eq!(session.customer.as_deref(), Some("cus_123"));
                    assert_eq!(session.subscription.as_deref(), Some("sub_123"));
                    assert_eq!(session.mode.as_deref(), Some("subscription"));
                }
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn the_invalid_shared_vectors_fail_for_their_reason() {
    let vectors: Vec<Value> = serde_json::from_str(&vector_file("stripe.json")).unwrap();
    let reasons: Vec<Option<WebhookError>> = vectors
        .iter()
        .map(|v| {
            receiver(&[v["secret"].as_str().unwrap()])
                .with_tolerance(Duration::from_secs(v["tolerance_s"].as_u64().unwrap()))
                .receive(
                    v["header"].as_str(),
                    v["payload"].as_str().unwrap().as_bytes(),
                    v["now"].as_i64().unwrap(),
                )
                .err()
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            None,
            None,
            Some(WebhookError::Stale),
            Some(WebhookError::NoV1Signature)
        ]
    );
}

#[test]
fn the_platforms_vector_verifies() {
    // platforms.md §9: its body has no `data`, so it verifies but is not a parseable
    // checkout.session.completed.
    let body = r#"{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}"#;
    let v1 = "ca796b857b81e24d595a4c37abf88d2fafb533a32ede6ce4cfc9b0e892a35b08";
    assert_eq!(
        sign_v1("whsec_test_secret", 1_700_000_000, body.as_bytes()),
        v1
    );
    let receiver = receiver(&["whsec_test_secret"]);
    let header = format!("t=1700000000,v1={v1}");
    assert_eq!(
        receiver.verify(&header, body.as_bytes(), 1_700_000_100),
        Ok(())
    );
    assert!(matches!(
        receiver.receive(Some(&header), body.as_bytes(), 1_700_000_100),
        Err(WebhookError::Decode(_))
    ));
}

const SECRET: &str = "whsec_leadline_test";
const T: i64 = 1_732_350_000;
const BODY: &str = r#"{"id":"evt_1","object":"event","type":"customer.created","created":1732350000,"livemode":false,"data":{"object":{"id":"cus_1"}}}"#;

fn signed() -> String {
    signature_header(&[SECRET], T, BODY.as_bytes())
}

#[test]
fn a_stripe_webhook_with_stale_timestamp_is_rejected() {
    let r = receiver(&[SECRET]);
    assert!(r.receive(Some(&signed()), BODY.as_bytes(), T + 300).is_ok());
    assert_eq!(
        r.receive(Some(&signed()), BODY.as_bytes(), T + 301),
        Err(WebhookError::Stale)
    );
    assert_eq!(
        r.receive(Some(&signed()), BODY.as_bytes(), T - 301),
        Err(WebhookError::FromTheFuture)
    );
}

#[test]
fn forged_and_tampered_deliveries_are_mismatches() {
    let r = receiver(&[SECRET]);
    let tampered = BODY.replace("cus_1", "cus_2");
    assert_eq!(
        r.receive(Some(&signed()), tampered.as_bytes(), T),
        Err(WebhookError::Mismatch)
    );
    let other_secret = signature_header(&["whsec_attacker"], T, BODY.as_bytes());
    assert_eq!(
        r.receive(Some(&other_secret), BODY.as_bytes(), T),
        Err(WebhookError::Mismatch)
    );
    // The same digest claimed for another second.
    let v1 = sign_v1(SECRET, T, BODY.as_bytes());
    assert_eq!(
        r.receive(Some(&format!("t={},v1={v1}", T + 1)), BODY.as_bytes(), T),
        Err(WebhookError::Mismatch)
    );
    // A correct digest under v0 only does not count.
    assert_eq!(
        r.receive(Some(&format!("t={T},v0={v1}")), BODY.as_bytes(), T),
        Err(WebhookError::NoV1Signature)
    );
    // Upper-case hex is still the same bytes (Stripe sends lower case).
    assert!(r
        .receive(
            Some(&format!("t={T},v1={}", v1.to_uppercase())),
            BODY.as_bytes(),
            T
        )
        .is_ok());
}

#[test]
fn missing_and_malformed_headers_are_told_apart() {
    let r = receiver(&[SECRET]);
    assert_eq!(
        r.receive(None, BODY.as_bytes(), T),
        Err(WebhookError::MissingHeader)
    );
    assert_eq!(
        r.receive(Some("  "), BODY.as_bytes(), T),
        Err(WebhookError::MissingHeader)
    );
    assert_eq!(
        r.receive(Some("v1=abc"), BODY.as_bytes(), T),
        Err(WebhookError::MalformedHeader)
    );
    assert_eq!(
        r.receive(Some("t=soon,v1=abc"), BODY.as_bytes(), T),
        Err(WebhookError::MalformedHeader)
    );
    assert_eq!(
        r.receive(Some(&format!("t={T}")), BODY.as_bytes(), T),
        Err(WebhookError::NoV1Signature)
    );
    assert_eq!(
        r.receive_headers(&http::HeaderMap::new(), BODY.as_bytes(), T),
        Err(WebhookError::MissingHeader)
    );
}

#[test]
fn during_rotation_either_secret_verifies() {
    let both = receiver(&["whsec_old", "whsec_new"]);
    for secret in ["whsec_old", "whsec_new"] {
        let header = signature_header(&[secret], T, BODY.as_bytes());
        assert!(
            both.receive(Some(&header), BODY.as_bytes(), T).is_ok(),
            "{secret}"
        );
    }
    // Stripe signs with every active secret while one is rolled: one v1 each.
    let header = signature_header(&["whsec_new", "whsec_old"], T, BODY.as_bytes());
    assert!(receiver(&["whsec_old"])
        .receive(Some(&header), BODY.as_bytes(), T)
        .is_ok());
    assert!(receiver(&["whsec_new"])
        .receive(Some(&header), BODY.as_bytes(), T)
        .is_ok());
    assert_eq!(
        receiver(&["whsec_other"]).receive(Some(&header), BODY.as_bytes(), T),
        Err(WebhookError::Mismatch)
    );
}

fn parse(value: Value) -> Event {
    Event::parse(value.to_string().as_bytes()).unwrap()
}

#[test]
fn unknown_event_types_are_not_errors() {
    let event = Event::parse(BODY.as_bytes()).unwrap();
    assert_eq!(event.payload, EventPayload::Unknown);
    assert_eq!(event.event_type, "customer.created");
    assert_eq!(event.created, Some(T));
    assert_eq!(event.object["id"], "cus_1");
    for bad in [
        &b"[]"[..],
        b"{}",
        b"{\"type\":\"x\"}",
        b"not json",
        b"{\"id\":\"evt\"}",
    ] {
        assert!(matches!(Event::parse(bad), Err(WebhookError::Decode(_))));
    }
}

#[test]
fn subscription_events_read_basil_items_and_older_shapes() {
    let basil = parse(json!({
        "id": "evt_s1", "object": "event", "type": "customer.subscription.updated",
        "created": 1_700_000_100, "livemode": true, "api_version": "2025-03-31.basil",
        "data": {
            "object": {
                "id": "sub_1", "object": "subscription", "customer": "cus_1", "status": "past_due",
                "cancel_at_period_end": true, "canceled_at": null, "ended_at": null,
                "created": 1_690_000_000, "start_date": 1_690_000_000,
                "metadata": {"tenant_id": "t1", "n": 5},
                "items": {"object": "list", "data": [
                    {"id": "si_1", "price": {"id": "price_a", "product": "prod_a",
                        "recurring": {"interval": "month", "usage_type": "licensed"}},
                     "quantity": 2, "current_period_start": 1_700_000_000, "current_period_end": 1_702_592_000},
                    {"id": "si_2", "price": {"id": "price_b", "product": {"id": "prod_b", "object": "product"},
                        "recurring": {"interval": "year", "usage_type": "metered"}},
                     "current_period_start": 1_700_000_000, "current_period_end": 1_731_536_000}
                ]}
            },
            "previous_attributes": {"status": "active"}
        }
    }));
    assert!(basil.livemode);
    assert_eq!(basil.api_version.as_deref(), Some("2025-03-31.basil"));
    assert_eq!(basil.previous_attributes, Some(json!({"status": "active"})));
    let EventPayload::SubscriptionUpdated(sub) = basil.payload else {
        panic!("{:?}", basil.payload);
    };
    assert_eq!(sub.status, SubscriptionStatus::PastDue);
    assert_eq!(sub.customer, "cus_1");
    assert!(sub.cancel_at_period_end);
    assert_eq!(
        sub.current_period_end,
        Some(1_702_592_000),
        "the earliest item period end"
    );
    assert_eq!(sub.items[1].product.as_deref(), Some("prod_b"));
    assert_eq!(sub.items[1].quantity, None);
    assert_eq!(
        sub.metadata,
        BTreeMap::from([("tenant_id".into(), "t1".into())])
    );

    let older = parse(json!({
        "id": "evt_s2", "type": "customer.subscription.deleted", "created": 1,
        "data": {"object": {"id": "sub_2", "customer": {"id": "cus_2", "object": "customer"},
            "status": "canceled", "current_period_end": 1_650_000_000, "ended_at": 1_640_000_000,
            "items": {"data": []}}}
    }));
    let EventPayload::SubscriptionDeleted(sub) = older.payload else {
        panic!("{:?}", older.payload);
    };
    assert_eq!(sub.customer, "cus_2");
    assert_eq!(sub.current_period_end, Some(1_650_000_000));
    assert_eq!(sub.ended_at, Some(1_640_000_000));

    let future = parse(json!({
        "id": "evt_s3", "type": "customer.subscription.created",
        "data": {"object": {"id": "sub_3", "status": "some_new_status"}}
    }));
    let EventPayload::SubscriptionCreated(sub) = future.payload else {
        panic!();
    };
    assert_eq!(
        sub.status,
        SubscriptionStatus::Unknown("some_new_status".into())
    );
}

#[test]
fn invoice_events_find_the_subscription_in_either_place() {
    let basil = parse(json!({
        "id": "evt_i1", "type": "invoice.payment_failed", "created": 5,
        "data": {"object": {"id": "in_1", "customer": "cus_1", "status": "open",
            "attempt_count": 2, "next_payment_attempt": 1_700_100_000, "period_end": 1_700_000_000,
            "amount_due": 4900, "currency": "usd", "billing_reason": "subscription_cycle",
            "parent": {"type": "subscription_details",
                "subscription_details": {"subscription": "sub_1", "metadata": {}}}}}
    }));
    let EventPayload::InvoicePaymentFailed(invoice) = basil.payload else {
        panic!("{:?}", basil.payload);
    };
    assert_eq!(invoice.subscription.as_deref(), Some("sub_1"));
    assert_eq!(invoice.attempt_count, 2);
    assert_eq!(invoice.next_payment_attempt, Some(1_700_100_000));
    assert_eq!(invoice.period_end, Some(1_700_000_000));

    let older = parse(json!({
        "id": "evt_i2", "type": "invoice.paid",
        "data": {"object": {"id": "in_2", "customer": "cus_1", "subscription": "sub_9",
            "status": "paid", "next_payment_attempt": null}}
    }));
    let EventPayload::InvoicePaid(invoice) = older.payload else {
        panic!("{:?}", older.payload);
    };
    assert_eq!(invoice.subscription.as_deref(), Some("sub_9"));
    assert_eq!(invoice.next_payment_attempt, None);
    assert_eq!(invoice.attempt_count, 0);
}

#[tokio::test]
async fn the_fakes_events_arrive_signed_and_parse() {
    let fake = FakeStripe::start().await.unwrap();
    let mut sink = WebhookSink::start(vec![fake.webhook_secret()]).await;
    let stripe = crate::support::client(&fake);
    let customer = stripe
        .create_customer("tenant_5", None, None, "customer:tenant_5")
        .await
        .unwrap();
    let session = stripe
        .create_checkout_session(&leadline_stripe::CheckoutSessionRequest {
            customer: customer.id.clone(),
            line_items: vec![
                LineItem::licensed(DEFAULT_LICENSED_PRICE, 1),
                LineItem::metered(DEFAULT_METERED_PRICE),
            ],
            success_url: "https://app.test/ok".into(),
            cancel_url: "https://app.test/no".into(),
            client_reference_id: Some("tenant_5".into()),
            metadata: BTreeMap::from([("tenant_id".into(), "tenant_5".into())]),
            idempotency_key: "checkout:tenant_5".into(),
        })
        .await
        .unwrap();

    let (subscription_id, completed) = fake.complete_checkout(&session.id).unwrap();
    assert_eq!(fake.send_event(&sink.url, &completed).await.unwrap(), 200);
    let event = sink.next().await.unwrap();
    assert!(event.id.starts_with("evt_"));
    assert_eq!(
        event.api_version.as_deref(),
        Some(leadline_stripe::STRIPE_VERSION)
    );
    let EventPayload::CheckoutSessionCompleted(done) = &event.payload else {
        panic!("{:?}", event.payload);
    };
    assert_eq!(done.session_id, session.id);
    assert_eq!(done.subscription.as_deref(), Some(subscription_id.as_str()));
    assert_eq!(done.customer.as_deref(), Some(customer.id.as_str()));
    assert_eq!(done.client_reference_id.as_deref(), Some("tenant_5"));
    assert_eq!(
        done.metadata.get("tenant_id").map(String::as_str),
        Some("tenant_5")
    );
    assert_eq!(done.status.as_deref(), Some("complete"));
    assert_eq!(done.payment_status.as_deref(), Some("paid"));

    let updated = fake
        .set_subscription_status(&subscription_id, "past_due")
        .unwrap();
    assert_eq!(fake.send_event(&sink.url, &updated).await.unwrap(), 200);
    let event = sink.next().await.unwrap();
    let EventPayload::SubscriptionUpdated(sub) = &event.payload else {
        panic!("{:?}", event.payload);
    };
    assert_eq!(sub.status, SubscriptionStatus::PastDue);
    assert_eq!(
        sub.metadata.get("tenant_id").map(String::as_str),
        Some("tenant_5")
    );
    assert_eq!(event.previous_attributes, Some(json!({"status": "active"})));

    let failed = fake
        .invoice_payment_failed_event(&subscription_id, 1, Some(now() + 86_400))
        .unwrap();
    fake.send_event(&sink.url, &failed).await.unwrap();
    let EventPayload::InvoicePaymentFailed(invoice) = sink.next().await.unwrap().payload else {
        panic!();
    };
    assert!(invoice.id.starts_with("in_"));
    assert_eq!(
        invoice.subscription.as_deref(),
        Some(subscription_id.as_str())
    );
    assert_eq!(invoice.status.as_deref(), Some("open"));
    assert_eq!(invoice.attempt_count, 1);
    assert!(invoice.next_payment_attempt.is_some());
    assert_eq!(invoice.amount_due, Some(4900));

    let paid = fake.invoice_paid_event(&subscription_id).unwrap();
    fake.send_event(&sink.url, &paid).await.unwrap();
    let EventPayload::InvoicePaid(invoice) = sink.next().await.unwrap().payload else {
        panic!();
    };
    assert_eq!(invoice.status.as_deref(), Some("paid"));
    assert!(invoice.period_end.is_some());

    let deleted = fake
        .set_subscription_status(&subscription_id, "canceled")
        .unwrap();
    fake.send_event(&sink.url, &deleted).await.unwrap();
    let EventPayload::SubscriptionDeleted(sub) = sink.next().await.unwrap().payload else {
        panic!();
    };
    assert_eq!(sub.status, SubscriptionStatus::Canceled);
}

#[tokio::test]
async fn stale_forged_and_unsigned_deliveries_are_refused_by_the_route() {
    let fake = FakeStripe::start().await.unwrap();
    let mut sink = WebhookSink::start(vec![fake.webhook_secret()]).await;
    let body = BODY.as_bytes();

    assert_eq!(
        fake.send_event_at(&sink.url, body, now() - 3600)
            .await
            .unwrap(),
        400
    );
    assert_eq!(sink.next().await, Err(WebhookError::Stale));

    let forged = signature_header(&["whsec_forger"], now(), body);
    assert_eq!(
        fake.send_raw(&sink.url, body, Some(&forged)).await.unwrap(),
        400
    );
    assert_eq!(sink.next().await, Err(WebhookError::Mismatch));

    assert_eq!(fake.send_raw(&sink.url, body, None).await.unwrap(), 400);
    assert_eq!(sink.next().await, Err(WebhookError::MissingHeader));

    assert_eq!(
        fake.send_event_at(&sink.url, body, now()).await.unwrap(),
        200
    );
    assert!(sink.next().await.is_ok());
}

#[tokio::test]
async fn a_rolled_secret_verifies_at_the_route_configured_with_either() {
    let fake = FakeStripe::start().await.unwrap();
    let old = fake.webhook_secret();
    let mut old_only = WebhookSink::start(vec![old.clone()]).await;
    let mut rotated = WebhookSink::start(vec![old.clone(), "whsec_rolled_new".into()]).await;

    fake.roll_webhook_secret("whsec_rolled_new");
    assert_eq!(fake.webhook_secret(), "whsec_rolled_new");
    // While both are active every delivery carries two v1: either receiver accepts it.
    assert_eq!(
        fake.send_event_at(&old_only.url, BODY.as_bytes(), now())
            .await
            .unwrap(),
        200
    );
    assert!(old_only.next().await.is_ok());

    fake.expire_old_webhook_secrets();
    assert_eq!(
        fake.send_event_at(&rotated.url, BODY.as_bytes(), now())
            .await
            .unwrap(),
        200
    );
    assert!(rotated.next().await.is_ok(), "the second secret verifies");
    assert_eq!(
        fake.send_event_at(&old_only.url, BODY.as_bytes(), now())
            .await
            .unwrap(),
        400
    );
    assert_eq!(old_only.next().await, Err(WebhookError::Mismatch));
}
