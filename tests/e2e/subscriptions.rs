//! Live subscriptions over graphql-transport-ws: delivery, filters, tenant isolation, auth.

use std::time::Duration;

use serde_json::json;

use crate::harness::{spawn_app, WsClient, WsEvent};

const SCORE_SUB: &str = "subscription($leadId: ID) { leadScoreChanged(leadId: $leadId) { leadId score previousScore temperature signal reason } }";
const ADJUST: &str = "mutation($id: ID!, $d: Int!) { adjustLeadScore(input: {leadId: $id, delta: $d, signal: \"interested\", reason: \"asked price\"}) { lead { score } } }";

#[tokio::test]
async fn score_changes_reach_subscribers_of_the_same_tenant_only() {
    let app = spawn_app().await;
    let a = app.sign_up("subs-a").await;
    let b = app.sign_up("subs-b").await;
    let lead = app.create_lead(&a, "Watched").await;
    let other = app.create_lead(&a, "Other").await;

    let mut all = app.ws(&a).await.expect("ws a");
    all.subscribe(SCORE_SUB, json!({})).await;
    let mut one = app.ws(&a).await.expect("ws a2");
    one.subscribe(SCORE_SUB, json!({"leadId": other})).await;
    let mut spy = app.ws(&b).await.expect("ws b");
    spy.subscribe(SCORE_SUB, json!({})).await;

    app.ok(&a, ADJUST, json!({"id": lead, "d": 10})).await;
    match all.next_event(Duration::from_secs(5)).await {
        Some(WsEvent::Next(payload)) => assert_eq!(
            payload["data"]["leadScoreChanged"],
            json!({"leadId": lead, "score": 60, "previousScore": 50, "temperature": "WARM", "signal": "interested", "reason": "asked price"})
        ),
        other => panic!("expected an event, got {other:?}"),
    }
    assert!(
        one.next_event(Duration::from_millis(500)).await.is_none(),
        "the lead filter let another lead through"
    );
    assert!(
        spy.next_event(Duration::from_millis(500)).await.is_none(),
        "tenant B saw tenant A's event"
    );

    app.ok(&a, ADJUST, json!({"id": other, "d": -10})).await;
    assert!(
        matches!(one.next_event(Duration::from_secs(5)).await, Some(WsEvent::Next(p)) if p["data"]["leadScoreChanged"]["score"] == 40)
    );
}

#[tokio::test]
async fn subscribing_to_another_tenants_lead_is_refused() {
    let app = spawn_app().await;
    let a = app.sign_up("own-a").await;
    let b = app.sign_up("own-b").await;
    let lead = app.create_lead(&a, "Private").await;
    let mut spy = app.ws(&b).await.expect("ws");
    spy.subscribe(SCORE_SUB, json!({"leadId": lead})).await;
    match spy.next_event(Duration::from_secs(5)).await {
        Some(WsEvent::Error(errors)) => {
            assert_eq!(errors[0]["extensions"]["code"], "NOT_FOUND", "{errors}")
        }
        Some(WsEvent::Next(payload)) => assert_eq!(
            payload["errors"][0]["extensions"]["code"], "NOT_FOUND",
            "{payload}"
        ),
        other => panic!("expected NOT_FOUND, got {other:?}"),
    }
    app.ok(&a, ADJUST, json!({"id": lead, "d": 5})).await;
    assert!(
        !matches!(spy.next_event(Duration::from_millis(500)).await, Some(WsEvent::Next(p)) if p["data"].is_object() && !p["data"].is_null())
    );
}

#[tokio::test]
async fn lead_updates_stream_with_the_new_fields() {
    let app = spawn_app().await;
    let t = app.sign_up("updates").await;
    let lead = app.create_lead(&t, "Before").await;
    let mut ws = app.ws(&t).await.expect("ws");
    ws.subscribe(
        "subscription($id: ID) { leadUpdated(leadId: $id) { id name status } }",
        json!({"id": lead}),
    )
    .await;
    app.ok(&t, "mutation($id: ID!) { updateLead(input: {id: $id, name: \"After\", status: NURTURE}) { lead { id } } }", json!({"id": lead})).await;
    match ws.next_event(Duration::from_secs(5)).await {
        Some(WsEvent::Next(p)) => assert_eq!(
            p["data"]["leadUpdated"],
            json!({"id": lead, "name": "After", "status": "NURTURE"})
        ),
        other => panic!("expected leadUpdated, got {other:?}"),
    }
}

#[tokio::test]
async fn websocket_needs_a_valid_token() {
    let app = spawn_app().await;
    for payload in [
        json!({}),
        json!({"token": "forged"}),
        json!({"Authorization": "Bearer nope"}),
    ] {
        assert!(
            WsClient::connect(&app.addr, payload.clone()).await.is_err(),
            "{payload} was accepted"
        );
    }
    let t = app.sign_up("sockets").await;
    assert!(
        WsClient::connect(&app.addr, json!({"Authorization": format!("Bearer {t}")}))
            .await
            .is_ok()
    );
}
