//! Attacks on billing's operations: only an owner opens Checkout or the portal (admins,
//! agents, API keys and customer tokens are refused); another tenant's events change nothing of
//! ours and its socket hears nothing; a removed member's `billingUpdated` ends on the open
//! socket; floods of aliases are refused before anything runs; billing off refuses checkout.

use std::time::Duration;

use leadline_stripe::fake::FakeStripe;
use serde_json::json;

use super::{billing_app, checkout_input, subscribe, BILLING, CHECKOUT};
use crate::harness::{error_code, spawn_app, WsEvent};

const PORTAL: &str = "mutation { createBillingPortalSession(input: {returnUrl: \"https://app.example.com/settings\"}) { url } }";
const UPDATES: &str = "subscription { billingUpdated { plan status } }";

#[tokio::test]
async fn only_owners_open_checkout_or_the_portal() {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let app = billing_app(&stripe, 7).await;
    let owner = app.sign_up("owned-billing").await;
    let (admin, _) = app
        .member(&owner, "admin@owned-billing.test", "ADMIN")
        .await;
    let (agent, _) = app
        .member(&owner, "agent@owned-billing.test", "AGENT")
        .await;
    let key = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"backend\", scopes: [READ, WRITE]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let customer = app
        .ok(
            &owner,
            "mutation { createCustomerToken(input: {externalUserId: \"u-1\", name: \"Una\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .expect("customer token")
        .to_owned();
    for (who, token) in [
        ("admin", admin.as_str()),
        ("agent", agent.as_str()),
        ("api key", key.as_str()),
        ("customer", customer.as_str()),
    ] {
        for (operation, variables) in [(CHECKOUT, checkout_input()), (PORTAL, json!({}))] {
            let refused = app.graphql(Some(token), operation, variables).await;
            assert!(
                ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&refused)),
                "{who}: {refused}"
            );
        }
    }
    let anonymous = app.graphql(None, CHECKOUT, checkout_input()).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    // Nothing reached Stripe for any of them.
    assert!(stripe.requests().is_empty(), "{:?}", stripe.requests());
    // A customer token cannot read billing either.
    let read = app.graphql(Some(&customer), BILLING, json!({})).await;
    assert_eq!(error_code(&read), "FORBIDDEN", "{read}");
    // Bad URLs are refused naming the field, before Stripe is called.
    for (field, input) in [
        (
            "successUrl",
            json!({"plan": "PRO", "successUrl": "javascript:alert(1)", "cancelUrl": "https://a.example/"}),
        ),
        (
            "cancelUrl",
            json!({"plan": "PRO", "successUrl": "https://a.example/", "cancelUrl": "http://evil.example/"}),
        ),
    ] {
        let refused = app
            .graphql(Some(&owner), CHECKOUT, json!({"input": input}))
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], field);
    }
    assert!(stripe.requests().is_empty());

    // A flood of aliases is refused before any of them runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: createBillingPortalSession(input: {{returnUrl: \"https://a.example/{i}\"}}) {{ url }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(Some(&owner), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    let flood = format!(
        "query {{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: billing {{ status }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(Some(&owner), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    assert!(stripe.requests().is_empty());
}

#[tokio::test]
async fn another_tenants_billing_is_neither_changed_nor_heard_and_a_removed_member_stops_hearing() {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let app = billing_app(&stripe, 7).await;
    let owner = app.sign_up("payer-one").await;
    let other = app.sign_up("bystander-two").await;
    let mut other_ws = app.ws(&other).await.expect("socket");
    other_ws.subscribe(UPDATES, json!({})).await;
    let (agent, agent_id) = app.member(&owner, "agent@payer-one.test", "AGENT").await;
    let mut agent_ws = app.ws(&agent).await.expect("socket");
    agent_ws.subscribe(UPDATES, json!({})).await;
    // The member hears the tenant's change while still a member.
    subscribe(&app, &stripe, &owner).await;
    match agent_ws.next_event(Duration::from_secs(10)).await {
        Some(WsEvent::Next(data)) => {
            assert_eq!(data["data"]["billingUpdated"]["status"], "ACTIVE")
        }
        other => panic!("expected billingUpdated, got {other:?}"),
    }
    // The other tenant is untouched and heard nothing.
    let theirs = app.ok(&other, BILLING, json!({})).await;
    assert_eq!(theirs["billing"]["status"], "NONE", "{theirs}");
    assert_eq!(theirs["billing"]["invoices"], json!([]));
    assert!(
        other_ws.drain(Duration::from_millis(700)).await.is_empty(),
        "another tenant hears nothing"
    );

    // Removed on an open socket: the subscription ends, and later changes are not heard.
    app.ok(
        &owner,
        "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
        json!({"u": agent_id}),
    )
    .await;
    let ended = agent_ws.next_event(Duration::from_secs(5)).await;
    assert!(
        format!("{ended:?}").contains("UNAUTHENTICATED"),
        "the removed member's subscription ends: {ended:?}"
    );
    let subscription = app.ok(&owner, BILLING, json!({})).await;
    assert_eq!(subscription["billing"]["status"], "ACTIVE");
    let sub_id = stripe
        .requests()
        .into_iter()
        .find_map(|r| r.path.strip_prefix("/v1/subscriptions/").map(str::to_owned))
        .expect("a subscription was read");
    let ended_event = stripe
        .set_subscription_status(&sub_id, "canceled")
        .expect("canceled");
    assert_eq!(
        stripe
            .send_event(&format!("{}/api/webhook/stripe", app.base), &ended_event)
            .await
            .expect("sent"),
        200
    );
    super::wait_status(&app, &owner, "CANCELED").await;
    while let Some(event) = agent_ws.next_event(Duration::from_millis(300)).await {
        if let WsEvent::Next(data) = event {
            panic!("nothing after removal: {data}");
        }
    }
    assert!(other_ws.drain(Duration::from_millis(300)).await.is_empty());

    // The other tenant's owner cannot open the portal for our customer: it gets its own.
    let theirs = app.ok(&other, PORTAL, json!({})).await;
    let customers: Vec<_> = stripe
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/customers" && !r.replayed)
        .collect();
    assert_eq!(customers.len(), 2, "one customer per tenant");
    assert!(theirs["createBillingPortalSession"]["url"].is_string());
}

#[tokio::test]
async fn with_billing_off_everyone_is_on_the_default_plan_and_checkout_is_refused() {
    let app = spawn_app().await;
    let owner = app.sign_up("self-hosted").await;
    let billing = app.ok(&owner, BILLING, json!({})).await;
    assert_eq!(billing["billing"]["enabled"], false);
    assert_eq!(billing["billing"]["planInForce"]["id"], "UNLIMITED");
    assert_eq!(
        billing["billing"]["planInForce"]["features"]["liveSelling"],
        true
    );
    let refused = app.graphql(Some(&owner), CHECKOUT, checkout_input()).await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    let ready: serde_json::Value = app
        .http
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["billing"]["enabled"], false, "{ready}");
    assert_eq!(
        ready["billing"]["missing"],
        json!(["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
    );
    // Without a webhook secret every delivery is refused, never accepted unverified.
    let status = app
        .http
        .post(format!("{}/api/webhook/stripe", app.base))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(status, 401);
}

const USAGE: &str = "query($from: DateTime!, $to: DateTime!, $g: Granularity) { usage(from: $from, to: $to, granularity: $g) { timeZone items { item total points { start quantity } } } }";

fn usage_total(data: &serde_json::Value, item: &str) -> u64 {
    data["usage"]["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["item"] == item))
        .and_then(|i| i["total"].as_u64())
        .unwrap_or(u64::MAX)
}

#[tokio::test]
async fn usage_is_the_callers_own_for_members_only_and_bounded() {
    let app = spawn_app().await;
    let owner = app.sign_up("usage-one").await;
    let other = app.sign_up("usage-two").await;
    app.create_lead(&owner, "Ana").await;
    app.create_lead(&owner, "Bea").await;
    let now = chrono::Utc::now();
    let window = json!({"from": (now - chrono::Duration::days(1)).to_rfc3339(),
                        "to": (now + chrono::Duration::hours(1)).to_rfc3339(), "g": "DAY"});
    // Billing off: usage is still counted, per tenant.
    let mine = app.ok(&owner, USAGE, window.clone()).await;
    assert_eq!(usage_total(&mine, "LEADS"), 2, "{mine}");
    assert_eq!(mine["usage"]["timeZone"], "UTC");
    let points: u64 = mine["usage"]["items"][0]["points"]
        .as_array()
        .map(|p| p.len() as u64)
        .unwrap_or(0);
    assert!((1..=3).contains(&points), "{mine}");
    // Another tenant sees its own (nothing), never ours.
    let theirs = app.ok(&other, USAGE, window.clone()).await;
    assert_eq!(usage_total(&theirs, "LEADS"), 0, "{theirs}");
    // A customer token and an anonymous caller are refused.
    let key = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"backend\", scopes: [READ, WRITE]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let customer = app
        .ok(
            &key,
            "mutation { createCustomerToken(input: {externalUserId: \"u-9\", name: \"Una\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .expect("customer token")
        .to_owned();
    let refused = app.graphql(Some(&customer), USAGE, window.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let refused = app.graphql(None, USAGE, window.clone()).await;
    assert_eq!(error_code(&refused), "UNAUTHENTICATED", "{refused}");
    // Periods that are backwards, too long, or too fine are refused naming the field.
    for (from, to, g, field) in [
        (now, now - chrono::Duration::hours(1), "DAY", "to"),
        (now - chrono::Duration::days(400), now, "DAY", "to"),
        (now - chrono::Duration::days(40), now, "HOUR", "granularity"),
    ] {
        let refused = app
            .graphql(
                Some(&owner),
                USAGE,
                json!({"from": from.to_rfc3339(), "to": to.to_rfc3339(), "g": g}),
            )
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
        assert_eq!(
            refused["errors"][0]["extensions"]["field"], field,
            "{refused}"
        );
    }
    // A flood of aliases is refused before any of them runs.
    let flood = format!(
        "query($from: DateTime!, $to: DateTime!) {{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: usage(from: $from, to: $to) {{ items {{ total }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app
        .graphql(
            Some(&owner),
            &flood,
            json!({"from": window["from"], "to": window["to"]}),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
}
