//! Billing end to end (issue 16) against the loopback Stripe: Checkout then a signed
//! `checkout.session.completed` unlocks the plan (1); a failed payment gives PAST_DUE and, once
//! the grace period is over, PAYMENT_REQUIRED, and a paid invoice restores (2); events out of
//! order end in Stripe's current state (3); a redelivery changes nothing (4); forged, stale and
//! unsigned deliveries are 401 (5). The attacks on the new operations are in `attacks`.

mod attacks;
mod metering;

use std::time::Duration;

use leadline_stripe::fake::{FakeStripe, DEFAULT_LICENSED_PRICE};
use serde_json::{json, Value};

use crate::harness::{error_code, spawn_with, SpawnOptions, TestApp, WsEvent};

/// A plans file: FREE (support chat only), PRO (sold at the fake's licensed price, live
/// selling), and an unsold ENTERPRISE.
fn plans_file(dir: &std::path::Path) -> String {
    let path = dir.join("plans.json");
    std::fs::write(
        &path,
        json!({
            "defaultPlan": "PRO",
            "freePlan": "FREE",
            "plans": [
                {"id": "FREE", "name": "Free",
                 "features": {"supportChat": true, "inboxChannels": ["WHATSAPP"], "seats": 5},
                 "included": {"aiReplies": 50}},
                {"id": "PRO", "name": "Pro",
                 "prices": [{"price": DEFAULT_LICENSED_PRICE}],
                 "features": {"liveSelling": true, "supportChat": true, "reminderCalls": true,
                              "phoneAgent": true,
                              "inboxChannels": ["WHATSAPP", "INSTAGRAM", "FACEBOOK", "TIKTOK"]}},
                {"id": "ENTERPRISE", "name": "Enterprise", "features": {"liveSelling": true}}
            ]
        })
        .to_string(),
    )
    .expect("plans file");
    path.to_string_lossy().into_owned()
}

/// An app billing through `stripe`, with `grace_days` of grace.
pub(crate) async fn billing_app(stripe: &FakeStripe, grace_days: u32) -> TestApp {
    let dir = std::env::temp_dir().join(format!("leadline-plans-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("plans dir");
    spawn_with(SpawnOptions {
        env: vec![
            ("STRIPE_SECRET_KEY".into(), stripe.secret_key().to_owned()),
            ("STRIPE_WEBHOOK_SECRET".into(), stripe.webhook_secret()),
            ("STRIPE_API_BASE".into(), stripe.base_url()),
            ("LEADLINE_PLANS".into(), plans_file(&dir)),
            ("LEADLINE_BILLING_GRACE_DAYS".into(), grace_days.to_string()),
            // A live session past the plan gate then stops at "connect your own channel", so
            // the gate's answer is seen without any platform.
            (
                "LEADLINE_SHARED_PLATFORM_CREDENTIALS".into(),
                "false".into(),
            ),
            ("LEADLINE_JOB_RETRY_BASE_MS".into(), "50".into()),
        ],
        ..Default::default()
    })
    .await
}

pub(crate) const BILLING: &str = "{ billing { enabled status cancelAtPeriodEnd currentPeriodEnd graceEndsAt plan { id } planInForce { id features { liveSelling } } usage { item used included remaining } invoices { id paymentFailed status } } }";
pub(crate) const CHECKOUT: &str = "mutation($input: CreateCheckoutSessionInput!) { createCheckoutSession(input: $input) { url } }";
const START_LIVE: &str = "mutation { startLiveSession(input: {platform: YOUTUBE, youtube: {videoId: \"dQw4w9WgXcQ\"}}) { session { id } } }";

pub(crate) fn webhook_url(app: &TestApp) -> String {
    format!("{}/api/webhook/stripe", app.base)
}

pub(crate) fn checkout_input() -> Value {
    json!({"input": {"plan": "PRO",
                     "successUrl": "https://app.example.com/billing/ok?s={CHECKOUT_SESSION_ID}",
                     "cancelUrl": "https://app.example.com/billing"}})
}

/// Opens Checkout for PRO; returns the session id (the last segment of the hosted URL).
pub(crate) async fn checkout(app: &TestApp, owner: &str) -> String {
    let data = app.ok(owner, CHECKOUT, checkout_input()).await;
    let url = data["createCheckoutSession"]["url"]
        .as_str()
        .expect("checkout url")
        .to_owned();
    url.rsplit('/').next().unwrap_or_default().to_owned()
}

/// Checkout, the payer finishes it, and the signed `checkout.session.completed` arrives;
/// waits until the tenant is ACTIVE. Returns the subscription id.
pub(crate) async fn subscribe(app: &TestApp, stripe: &FakeStripe, owner: &str) -> String {
    let session = checkout(app, owner).await;
    let (subscription, event) = stripe.complete_checkout(&session).expect("complete");
    let status = stripe
        .send_event(&webhook_url(app), &event)
        .await
        .expect("delivered");
    assert_eq!(status, 200);
    wait_status(app, owner, "ACTIVE").await;
    subscription
}

pub(crate) async fn wait_status(app: &TestApp, owner: &str, status: &str) -> Value {
    app.eventually(owner, BILLING, json!({}), status, |d| {
        d["billing"]["status"] == status
    })
    .await
}

async fn start_live(app: &TestApp, owner: &str) -> Value {
    app.graphql(Some(owner), START_LIVE, json!({})).await
}

fn extensions(response: &Value) -> &Value {
    &response["errors"][0]["extensions"]
}

async fn tenant_id(app: &TestApp, owner: &str) -> String {
    app.ok(owner, "{ me { tenant { id } } }", json!({})).await["me"]["tenant"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn checkout_then_a_signed_completion_makes_the_tenant_active_and_unlocks_its_plan() {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let app = billing_app(&stripe, 7).await;
    let owner = app.sign_up("acme-billing").await;
    let tenant = tenant_id(&app, &owner).await;

    // The plans are public; readiness says billing is on.
    let plans = app
        .graphql(None, "{ plans { id forSale } }", json!({}))
        .await;
    assert_eq!(
        plans["data"]["plans"][1],
        json!({"id": "PRO", "forSale": true}),
        "{plans}"
    );
    let ready: Value = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["billing"]["enabled"], true, "{ready}");

    // Before paying: the free plan, and live selling is PAYMENT_REQUIRED with its reason.
    app.create_lead(&owner, "Ada Buyer").await;
    let before = app.ok(&owner, BILLING, json!({})).await;
    assert_eq!(before["billing"]["status"], "NONE");
    assert_eq!(before["billing"]["planInForce"]["id"], "FREE");
    // Usage is counted from the rows themselves, against what the plan in force includes.
    let usage = &before["billing"]["usage"];
    assert!(
        usage.as_array().is_some_and(|lines| lines
            .contains(&json!({"item": "LEADS", "used": 1, "included": null, "remaining": null}))
            && lines.contains(
                &json!({"item": "AI_REPLIES", "used": 0, "included": 50, "remaining": 50})
            )),
        "{usage}"
    );
    let locked = start_live(&app, &owner).await;
    assert_eq!(error_code(&locked), "PAYMENT_REQUIRED", "{locked}");
    assert_eq!(
        extensions(&locked),
        &json!({"code": "PAYMENT_REQUIRED", "plan": "FREE", "feature": "LIVE_SELLING", "reason": "NOT_ON_PLAN"})
    );

    // Two Checkout calls at once: one customer, one session (same tenant, plan and URLs).
    let (a, b) = tokio::join!(
        app.ok(&owner, CHECKOUT, checkout_input()),
        app.ok(&owner, CHECKOUT, checkout_input())
    );
    assert_eq!(a, b, "the same session within the window");
    let customers: Vec<_> = stripe
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/customers" && r.status == 200 && !r.replayed)
        .collect();
    assert_eq!(customers.len(), 1, "one Stripe customer per tenant");
    assert_eq!(
        customers[0].field("metadata[tenant_id]"),
        Some(tenant.as_str())
    );
    let session_request = stripe
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/checkout/sessions" && r.status == 200)
        .expect("a checkout session request");
    assert_eq!(session_request.field("mode"), Some("subscription"));
    assert_eq!(
        session_request.field("client_reference_id"),
        Some(tenant.as_str())
    );
    assert_eq!(
        session_request.field("metadata[tenant_id]"),
        Some(tenant.as_str())
    );
    assert_eq!(
        session_request.field("line_items[0][price]"),
        Some(DEFAULT_LICENSED_PRICE)
    );
    assert!(session_request
        .idempotency_key
        .as_deref()
        .is_some_and(|k| k.starts_with("checkout:")));

    // A plan that is not for sale, or does not exist, is refused with the field named.
    for plan in ["ENTERPRISE", "GOLD"] {
        let refused = app
            .graphql(
                Some(&owner),
                CHECKOUT,
                json!({"input": {"plan": plan, "successUrl": "https://a.example/ok", "cancelUrl": "https://a.example/no"}}),
            )
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
        assert_eq!(extensions(&refused)["field"], "plan");
    }

    let mut ws = app.ws(&owner).await.expect("socket");
    ws.subscribe(
        "subscription { billingUpdated { plan status cancelAtPeriodEnd } }",
        json!({}),
    )
    .await;
    let session = a["createCheckoutSession"]["url"]
        .as_str()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or_default()
        .to_owned();
    let (_, completed) = stripe.complete_checkout(&session).expect("complete");
    let status = stripe
        .send_event(&webhook_url(&app), &completed)
        .await
        .expect("delivered");
    assert_eq!(status, 200);
    let active = wait_status(&app, &owner, "ACTIVE").await;
    assert_eq!(active["billing"]["plan"]["id"], "PRO");
    assert_eq!(
        active["billing"]["planInForce"]["features"]["liveSelling"],
        true
    );
    assert!(
        active["billing"]["currentPeriodEnd"].is_string(),
        "{active}"
    );
    let event = ws.next_event(Duration::from_secs(10)).await;
    match event {
        Some(WsEvent::Next(data)) => assert_eq!(
            data["data"]["billingUpdated"],
            json!({"plan": "PRO", "status": "ACTIVE", "cancelAtPeriodEnd": false})
        ),
        other => panic!("expected billingUpdated, got {other:?}"),
    }
    // Unlocked: the live session now gets past the plan to its own set-up check.
    let unlocked = start_live(&app, &owner).await;
    assert_eq!(error_code(&unlocked), "CONFLICT", "{unlocked}");

    // A second subscription is refused: plans change in the portal.
    let again = app.graphql(Some(&owner), CHECKOUT, checkout_input()).await;
    assert_eq!(error_code(&again), "CONFLICT", "{again}");
    let portal = app
        .ok(
            &owner,
            "mutation { createBillingPortalSession(input: {returnUrl: \"https://app.example.com/settings\"}) { url } }",
            json!({}),
        )
        .await;
    assert!(portal["createBillingPortalSession"]["url"]
        .as_str()
        .is_some_and(|u| u.contains("/p/session/")));

    // The change is audited.
    let audit = app
        .ok(
            &owner,
            "{ auditLog(first: 20) { edges { node { action } } } }",
            json!({}),
        )
        .await;
    assert!(
        audit.to_string().contains("billing.status_changed"),
        "{audit}"
    );
}

#[tokio::test]
async fn a_failed_payment_is_past_due_then_payment_required_after_grace_and_a_paid_invoice_restores(
) {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    // No grace: the lapse is immediate, so the test need not wait days.
    let app = billing_app(&stripe, 0).await;
    let owner = app.sign_up("late-payer").await;
    let subscription = subscribe(&app, &stripe, &owner).await;
    assert_eq!(error_code(&start_live(&app, &owner).await), "CONFLICT");

    // The renewal fails: Stripe moves the subscription to past_due and sends the invoice event.
    stripe
        .set_subscription_status(&subscription, "past_due")
        .expect("past due");
    let failed = stripe
        .invoice_payment_failed_event(
            &subscription,
            1,
            Some(leadline_stripe::fake::now() + 86_400),
        )
        .expect("event");
    assert_eq!(
        stripe
            .send_event(&webhook_url(&app), &failed)
            .await
            .expect("sent"),
        200
    );
    let owed = wait_status(&app, &owner, "PAST_DUE").await;
    assert!(owed["billing"]["graceEndsAt"].is_string(), "{owed}");
    assert_eq!(
        owed["billing"]["invoices"][0]["paymentFailed"], true,
        "{owed}"
    );
    let refused = start_live(&app, &owner).await;
    assert_eq!(error_code(&refused), "PAYMENT_REQUIRED", "{refused}");
    assert_eq!(extensions(&refused)["reason"], "PAST_DUE");
    assert_eq!(extensions(&refused)["plan"], "FREE");
    // Paid: ACTIVE again, unlocked.
    stripe
        .set_subscription_status(&subscription, "active")
        .expect("active");
    let paid = stripe.invoice_paid_event(&subscription).expect("event");
    assert_eq!(
        stripe
            .send_event(&webhook_url(&app), &paid)
            .await
            .expect("sent"),
        200
    );
    let restored = wait_status(&app, &owner, "ACTIVE").await;
    assert!(restored["billing"]["graceEndsAt"].is_null());
    assert_eq!(
        restored["billing"]["invoices"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(error_code(&start_live(&app, &owner).await), "CONFLICT");
}

#[tokio::test]
async fn events_out_of_order_end_in_the_subscriptions_current_state() {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let app = billing_app(&stripe, 7).await;
    let owner = app.sign_up("shuffled").await;
    let subscription = subscribe(&app, &stripe, &owner).await;

    // Stripe's order: canceled at period end, then ended. Delivered newest first.
    let scheduled = stripe
        .set_cancel_at_period_end(&subscription, true)
        .expect("scheduled");
    let ended = stripe
        .set_subscription_status(&subscription, "canceled")
        .expect("ended");
    let url = webhook_url(&app);
    assert_eq!(stripe.send_event(&url, &ended).await.expect("sent"), 200);
    let canceled = wait_status(&app, &owner, "CANCELED").await;
    assert_eq!(canceled["billing"]["planInForce"]["id"], "FREE");
    let reads = subscription_reads(&stripe);
    assert_eq!(
        stripe.send_event(&url, &scheduled).await.expect("sent"),
        200
    );
    // The older event's job re-reads the subscription, and nothing moves back.
    leadline_api::store::testkit::eventually(
        "the late event's job",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || async {
            let now = subscription_reads(&stripe);
            if now > reads {
                Ok(now)
            } else {
                Err(now)
            }
        },
    )
    .await
    .unwrap_or_else(|timed_out| panic!("{timed_out}"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = app.ok(&owner, BILLING, json!({})).await;
    assert_eq!(after["billing"]["status"], "CANCELED", "{after}");
    let refused = start_live(&app, &owner).await;
    assert_eq!(extensions(&refused)["reason"], "CANCELED", "{refused}");
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let app = billing_app(&stripe, 7).await;
    let owner = app.sign_up("twice-told").await;
    let session = checkout(&app, &owner).await;
    let (_, event) = stripe.complete_checkout(&session).expect("complete");
    let url = webhook_url(&app);
    let body = event.to_string();
    let first = app
        .http
        .post(&url)
        .header(
            "stripe-signature",
            leadline_stripe::webhook::signature_header(
                &[stripe.webhook_secret().as_str()],
                leadline_stripe::fake::now(),
                body.as_bytes(),
            ),
        )
        .body(body.clone())
        .send()
        .await
        .expect("sent");
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.expect("json");
    assert_eq!(first["outcome"], "stored");
    wait_status(&app, &owner, "ACTIVE").await;
    let reads_before = subscription_reads(&stripe);
    for _ in 0..3 {
        let again = app
            .http
            .post(&url)
            .header(
                "stripe-signature",
                leadline_stripe::webhook::signature_header(
                    &[stripe.webhook_secret().as_str()],
                    leadline_stripe::fake::now(),
                    body.as_bytes(),
                ),
            )
            .body(body.clone())
            .send()
            .await
            .expect("sent");
        assert_eq!(again.status(), 200);
        let again: Value = again.json().await.expect("json");
        assert_eq!(again["outcome"], "duplicate");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        subscription_reads(&stripe),
        reads_before,
        "no job ran again"
    );
    let audit = app
        .ok(
            &owner,
            "{ auditLog(first: 50) { edges { node { action } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        audit.to_string().matches("billing.status_changed").count(),
        1,
        "{audit}"
    );
}

fn subscription_reads(stripe: &FakeStripe) -> usize {
    stripe
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/v1/subscriptions/"))
        .count()
}

#[tokio::test]
async fn a_forged_stale_or_unsigned_delivery_is_401_and_stores_nothing() {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let app = billing_app(&stripe, 7).await;
    let owner = app.sign_up("forged-to").await;
    let session = checkout(&app, &owner).await;
    let (_, event) = stripe.complete_checkout(&session).expect("complete");
    let url = webhook_url(&app);
    let body = event.to_string();
    let now = leadline_stripe::fake::now();
    let forged =
        leadline_stripe::webhook::signature_header(&["whsec_attacker"], now, body.as_bytes());
    let other = leadline_stripe::webhook::signature_header(
        &[stripe.webhook_secret().as_str()],
        now,
        b"{\"id\":\"evt_other\"}",
    );
    for (what, signature, at) in [
        ("forged", Some(forged), now),
        ("signed over another body", Some(other), now),
        ("garbage", Some("t=abc,v1=zz".to_owned()), now),
        ("missing", None, now),
    ] {
        let status = stripe
            .send_raw(&url, body.as_bytes(), signature.as_deref())
            .await
            .expect("sent");
        assert_eq!(status, 401, "{what} at {at}");
    }
    let stale = stripe
        .send_event_at(&url, body.as_bytes(), now - 301)
        .await
        .expect("sent");
    assert_eq!(stale, 401, "stale");
    let future = stripe
        .send_event_at(&url, body.as_bytes(), now + 301)
        .await
        .expect("sent");
    assert_eq!(future, 401, "from the future");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let untouched = app.ok(&owner, BILLING, json!({})).await;
    assert_eq!(untouched["billing"]["status"], "NONE", "{untouched}");
    // The genuine delivery still works afterwards (nothing was stored under its id).
    assert_eq!(stripe.send_event(&url, &event).await.expect("sent"), 200);
    wait_status(&app, &owner, "ACTIVE").await;
}
