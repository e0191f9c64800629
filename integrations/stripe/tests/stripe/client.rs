//! The client against the fake: what goes on the wire (form encoding in bracket syntax, key,
//! pinned version, idempotency keys) and what comes back, for every operation.

use std::collections::BTreeMap;

use leadline_stripe::fake::{
    FakeStripe, DEFAULT_LICENSED_PRICE, DEFAULT_METERED_PRICE, DEFAULT_METER_EVENT,
};
use leadline_stripe::{
    BillingPortalSessionRequest, CheckoutSessionRequest, Error, LineItem, MeterEvent,
    SubscriptionStatus, STRIPE_VERSION,
};

use crate::support::{client, now};

fn tenant_metadata() -> BTreeMap<String, String> {
    BTreeMap::from([("tenant_id".to_owned(), "tenant_42".to_owned())])
}

fn checkout(customer: &str, key: &str) -> CheckoutSessionRequest {
    CheckoutSessionRequest {
        customer: customer.to_owned(),
        line_items: vec![
            LineItem::licensed(DEFAULT_LICENSED_PRICE, 3),
            LineItem::metered(DEFAULT_METERED_PRICE),
        ],
        success_url: "https://app.leadline.test/billing/ok?session_id={CHECKOUT_SESSION_ID}"
            .to_owned(),
        cancel_url: "https://app.leadline.test/billing/cancel".to_owned(),
        client_reference_id: Some("tenant_42".to_owned()),
        metadata: tenant_metadata(),
        idempotency_key: key.to_owned(),
    }
}

#[tokio::test]
async fn customer_and_checkout_go_out_form_encoded_with_key_version_and_idempotency() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);

    let customer = stripe
        .create_customer(
            "tenant_42",
            Some("owner@acme.test"),
            Some("Acme & Co"),
            "customer:tenant_42",
        )
        .await
        .unwrap();
    assert!(customer.id.starts_with("cus_"), "{}", customer.id);
    assert_eq!(customer.email.as_deref(), Some("owner@acme.test"));
    assert_eq!(customer.name.as_deref(), Some("Acme & Co"));
    assert_eq!(customer.metadata, tenant_metadata());
    assert!(!customer.livemode);

    let session = stripe
        .create_checkout_session(&checkout(&customer.id, "checkout:tenant_42:1"))
        .await
        .unwrap();
    assert!(session.id.starts_with("cs_test_"), "{}", session.id);
    assert!(session.url.starts_with(&fake.base_url()), "{}", session.url);
    assert!(session.url.ends_with(&session.id));
    assert!(session.expires_at > now());

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("Bearer {}", fake.secret_key()).as_str())
        );
        assert_eq!(request.stripe_version.as_deref(), Some(STRIPE_VERSION));
        assert_eq!(
            request.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(request.status, 200);
    }

    let created = &requests[0];
    assert_eq!(created.path, "/v1/customers");
    assert_eq!(
        created.idempotency_key.as_deref(),
        Some("customer:tenant_42")
    );
    assert_eq!(created.field("metadata[tenant_id]"), Some("tenant_42"));
    assert_eq!(created.field("email"), Some("owner@acme.test"));
    // `&` in a value is percent-encoded, not a field separator.
    assert_eq!(created.field("name"), Some("Acme & Co"));
    assert!(
        created.body.contains("metadata%5Btenant_id%5D=tenant_42")
            || created.body.contains("metadata[tenant_id]=tenant_42")
    );

    let session_request = &requests[1];
    assert_eq!(session_request.path, "/v1/checkout/sessions");
    assert_eq!(
        session_request.idempotency_key.as_deref(),
        Some("checkout:tenant_42:1")
    );
    assert_eq!(session_request.field("mode"), Some("subscription"));
    assert_eq!(
        session_request.field("customer"),
        Some(customer.id.as_str())
    );
    assert_eq!(
        session_request.field("line_items[0][price]"),
        Some(DEFAULT_LICENSED_PRICE)
    );
    assert_eq!(session_request.field("line_items[0][quantity]"), Some("3"));
    assert_eq!(
        session_request.field("line_items[1][price]"),
        Some(DEFAULT_METERED_PRICE)
    );
    assert_eq!(
        session_request.field("line_items[1][quantity]"),
        None,
        "a metered item carries no quantity"
    );
    assert_eq!(
        session_request.field("success_url"),
        Some("https://app.leadline.test/billing/ok?session_id={CHECKOUT_SESSION_ID}")
    );
    assert_eq!(
        session_request.field("cancel_url"),
        Some("https://app.leadline.test/billing/cancel")
    );
    assert_eq!(
        session_request.field("client_reference_id"),
        Some("tenant_42")
    );
    assert_eq!(
        session_request.field("metadata[tenant_id]"),
        Some("tenant_42")
    );
    assert_eq!(
        session_request.field("subscription_data[metadata][tenant_id]"),
        Some("tenant_42")
    );
    // The fake read the same brackets as nested objects and arrays.
    assert_eq!(
        session_request.params["line_items"][1]["price"],
        DEFAULT_METERED_PRICE
    );

    let held = fake.checkout_session(&session.id).unwrap();
    assert_eq!(held["status"], "open");
    assert_eq!(held["client_reference_id"], "tenant_42");
}

#[tokio::test]
async fn a_repeated_idempotency_key_replays_the_first_answer() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);
    let first = stripe
        .create_customer("t1", Some("a@t1.test"), None, "customer:t1")
        .await
        .unwrap();
    let again = stripe
        .create_customer("t1", Some("a@t1.test"), None, "customer:t1")
        .await
        .unwrap();
    assert_eq!(first, again);
    let requests = fake.requests();
    assert!(!requests[0].replayed);
    assert!(requests[1].replayed);

    // The same key for a different request is Stripe's idempotency_error: a bug, terminal.
    let error = stripe
        .create_customer("t1", Some("other@t1.test"), None, "customer:t1")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Idempotency { status: 400, .. }),
        "{error:?}"
    );
    assert!(!error.is_retryable());
    // A different key is a different customer.
    let other = stripe
        .create_customer("t1", Some("a@t1.test"), None, "customer:t1:b")
        .await
        .unwrap();
    assert_ne!(other.id, first.id);
}

#[tokio::test]
async fn retrieve_subscription_reflects_the_latest_state() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);
    let customer = stripe
        .create_customer("tenant_42", None, None, "customer:tenant_42")
        .await
        .unwrap();
    let session = stripe
        .create_checkout_session(&checkout(&customer.id, "checkout:1"))
        .await
        .unwrap();
    let (subscription_id, _event) = fake.complete_checkout(&session.id).unwrap();

    let subscription = stripe
        .retrieve_subscription(&subscription_id)
        .await
        .unwrap();
    assert_eq!(subscription.id, subscription_id);
    assert_eq!(subscription.status, SubscriptionStatus::Active);
    assert_eq!(subscription.customer, customer.id);
    assert!(!subscription.cancel_at_period_end);
    assert_eq!(subscription.metadata, tenant_metadata());
    assert_eq!(subscription.items.len(), 2);
    let licensed = &subscription.items[0];
    assert_eq!(licensed.price, DEFAULT_LICENSED_PRICE);
    assert_eq!(licensed.quantity, Some(3));
    assert_eq!(licensed.usage_type.as_deref(), Some("licensed"));
    assert_eq!(licensed.interval.as_deref(), Some("month"));
    let metered = &subscription.items[1];
    assert_eq!(metered.quantity, None);
    assert_eq!(metered.usage_type.as_deref(), Some("metered"));
    let period_end = subscription.current_period_end.unwrap();
    assert_eq!(Some(period_end), licensed.current_period_end);
    assert!(period_end > subscription.created);

    let get = fake.requests().pop().unwrap();
    assert_eq!(get.method, "GET");
    assert_eq!(get.path, format!("/v1/subscriptions/{subscription_id}"));
    assert_eq!(get.idempotency_key, None, "GETs carry no idempotency key");
    assert_eq!(get.stripe_version.as_deref(), Some(STRIPE_VERSION));

    fake.set_subscription_status(&subscription_id, "past_due")
        .unwrap();
    fake.set_cancel_at_period_end(&subscription_id, true)
        .unwrap();
    let later = stripe
        .retrieve_subscription(&subscription_id)
        .await
        .unwrap();
    assert_eq!(later.status, SubscriptionStatus::PastDue);
    assert!(later.cancel_at_period_end);
    assert_eq!(later.cancel_at, Some(period_end));

    fake.renew_subscription(&subscription_id).unwrap();
    let renewed = stripe
        .retrieve_subscription(&subscription_id)
        .await
        .unwrap();
    assert!(renewed.current_period_end.unwrap() > period_end);

    fake.set_subscription_status(&subscription_id, "canceled")
        .unwrap();
    let ended = stripe
        .retrieve_subscription(&subscription_id)
        .await
        .unwrap();
    assert_eq!(ended.status, SubscriptionStatus::Canceled);
    assert!(ended.canceled_at.is_some() && ended.ended_at.is_some());

    let missing = stripe
        .retrieve_subscription("sub_doesnotexist")
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    assert!(!missing.is_retryable());
}

#[tokio::test]
async fn the_billing_portal_session_is_created_for_the_customer() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);
    let customer = stripe
        .create_customer("t7", None, None, "customer:t7")
        .await
        .unwrap();
    let portal = stripe
        .create_billing_portal_session(&BillingPortalSessionRequest {
            customer: customer.id.clone(),
            return_url: "https://app.leadline.test/settings/billing".to_owned(),
            idempotency_key: "portal:t7:req_1".to_owned(),
        })
        .await
        .unwrap();
    assert!(portal.id.starts_with("bps_"), "{}", portal.id);
    assert!(portal.url.starts_with(&fake.base_url()));
    let request = fake.requests().pop().unwrap();
    assert_eq!(request.path, "/v1/billing_portal/sessions");
    assert_eq!(request.field("customer"), Some(customer.id.as_str()));
    assert_eq!(
        request.field("return_url"),
        Some("https://app.leadline.test/settings/billing")
    );
    assert_eq!(request.idempotency_key.as_deref(), Some("portal:t7:req_1"));

    let unknown = stripe
        .create_billing_portal_session(&BillingPortalSessionRequest {
            customer: "cus_unknown".to_owned(),
            return_url: "https://app.leadline.test".to_owned(),
            idempotency_key: "portal:x".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.param(), Some("customer"));
}

#[tokio::test]
async fn meter_events_are_sent_once_per_identifier() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);
    let customer = stripe
        .create_customer("t9", None, None, "customer:t9")
        .await
        .unwrap();
    let at = now() - 60;
    let event = MeterEvent {
        event_name: DEFAULT_METER_EVENT.to_owned(),
        stripe_customer_id: customer.id.clone(),
        value: 7,
        identifier: "conversation:0192f0c1-usage".to_owned(),
        timestamp: at,
    };
    let recorded = stripe.report_usage(&event).await.unwrap();
    assert_eq!(recorded.identifier, event.identifier);
    assert_eq!(recorded.timestamp, at);
    assert_eq!(recorded.payload.get("value").map(String::as_str), Some("7"));
    // A retry of the same report (a job that timed out) is replayed, not counted twice.
    let again = stripe.report_usage(&event).await.unwrap();
    assert_eq!(again, recorded);

    let request = fake.requests().pop().unwrap();
    assert_eq!(request.path, "/v1/billing/meter_events");
    assert_eq!(request.field("event_name"), Some(DEFAULT_METER_EVENT));
    assert_eq!(
        request.field("payload[stripe_customer_id]"),
        Some(customer.id.as_str())
    );
    assert_eq!(request.field("payload[value]"), Some("7"));
    assert_eq!(request.field("identifier"), Some(event.identifier.as_str()));
    assert_eq!(request.field("timestamp"), Some(at.to_string().as_str()));
    assert_eq!(
        request.idempotency_key.as_deref(),
        Some(event.identifier.as_str())
    );
    assert!(request.replayed);

    // Stripe also deduplicates on `identifier` itself, whatever the Idempotency-Key: a raw
    // request with another key and the same identifier is not counted again.
    let raw = reqwest::Client::new()
        .post(format!("{}/v1/billing/meter_events", fake.base_url()))
        .bearer_auth(fake.secret_key())
        .header("stripe-version", STRIPE_VERSION)
        .header("idempotency-key", "another-key")
        .form(&[
            ("event_name", DEFAULT_METER_EVENT),
            ("payload[stripe_customer_id]", customer.id.as_str()),
            ("payload[value]", "7"),
            ("identifier", event.identifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);

    let other = MeterEvent {
        identifier: "conversation:0192f0c2-usage".to_owned(),
        value: 2,
        ..event.clone()
    };
    stripe.report_usage(&other).await.unwrap();

    let events = fake.meter_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].value, "7");
    assert_eq!(events[0].stripe_customer_id, customer.id);
    assert_eq!(events[1].value, "2");

    // The same identifier with another value is the same Idempotency-Key for another request.
    let conflicting = MeterEvent { value: 8, ..event };
    let error = stripe.report_usage(&conflicting).await.unwrap_err();
    assert!(
        matches!(error, Error::Idempotency { status: 400, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn checkout_refusals_name_the_parameter() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);
    let customer = stripe
        .create_customer("t3", None, None, "customer:t3")
        .await
        .unwrap();

    let mut unknown_price = checkout(&customer.id, "checkout:bad-price");
    unknown_price.line_items = vec![LineItem::licensed("price_x", 1)];
    let error = stripe
        .create_checkout_session(&unknown_price)
        .await
        .unwrap_err();
    match &error {
        Error::InvalidRequest {
            status: 400,
            code,
            message,
            param,
        } => {
            assert_eq!(code.as_deref(), Some("resource_missing"));
            assert_eq!(message, "No such price: 'price_x'");
            assert_eq!(param.as_deref(), Some("line_items[0][price]"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.is_retryable());

    let mut metered_with_quantity = checkout(&customer.id, "checkout:bad-quantity");
    metered_with_quantity.line_items = vec![LineItem::licensed(DEFAULT_METERED_PRICE, 1)];
    let error = stripe
        .create_checkout_session(&metered_with_quantity)
        .await
        .unwrap_err();
    assert_eq!(error.param(), Some("line_items[0][quantity]"));

    // A refused request saved nothing: the same key works once the request is fixed.
    let fixed = checkout(&customer.id, "checkout:bad-quantity");
    assert!(stripe.create_checkout_session(&fixed).await.is_ok());
}

#[tokio::test]
async fn unusable_arguments_are_refused_before_anything_is_sent() {
    let fake = FakeStripe::start().await.unwrap();
    let stripe = client(&fake);
    let path_changing = stripe
        .retrieve_subscription("sub_1/../../customers")
        .await
        .unwrap_err();
    assert!(matches!(path_changing, Error::Configuration(_)));
    let no_key = stripe
        .create_customer("t", None, None, "")
        .await
        .unwrap_err();
    assert!(matches!(no_key, Error::Configuration(_)));
    let too_long = stripe
        .create_customer("t", None, None, &"k".repeat(256))
        .await
        .unwrap_err();
    assert!(matches!(too_long, Error::Configuration(_)));
    let mut empty = checkout("cus_x", "k");
    empty.line_items.clear();
    assert!(matches!(
        stripe.create_checkout_session(&empty).await,
        Err(Error::Configuration(_))
    ));
    assert!(fake.requests().is_empty());
}
