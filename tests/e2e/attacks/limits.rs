//! Attacks on limits (see `attacks.rs`): password hashing on demand (aliased and batched
//! logins), login floods across e-mails from one address, queries that multiply their cost
//! through nested connections or hundreds of root aliases, and replicas that would each grant
//! the whole login budget. Each attack is refused with its code while legitimate use works.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{
    error_code, fresh_database, scale_out, spawn_app, spawn_with, SpawnOptions, TestApp, WsEvent,
};

const PASSWORD: &str = "correct horse battery";

/// How many passwords the server has hashed or verified so far (its `/metrics` counter).
async fn password_hashes(app: &TestApp) -> u64 {
    let text = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|line| line.strip_prefix("leadline_password_hashes_total "))
        .map_or(0, |value| value.trim().parse::<f64>().unwrap_or(0.0) as u64)
}

fn login_field(alias: &str, email: &str, password: &str) -> String {
    format!("{alias}: login(input: {{email: \"{email}\", password: \"{password}\"}}) {{ token }}")
}

async fn login(app: &TestApp, email: &str, password: &str) -> Value {
    app.graphql(
        None,
        "mutation($input: LoginInput!) { login(input: $input) { token } }",
        json!({"input": {"email": email, "password": password}}),
    )
    .await
}

#[tokio::test]
async fn aliased_login_flood_is_refused_before_any_password_is_hashed() {
    let app = spawn_app().await;
    app.sign_up("flooded").await;
    let before = password_hashes(&app).await;
    let fields: Vec<String> = (0..300)
        .map(|i| login_field(&format!("a{i}"), "owner@flooded.test", &format!("guess{i}")))
        .collect();
    // The client's 30 s timeout bounds the test: 300 hashes queued on two cores would take
    // far longer, the refusal comes before any of them.
    let flood = app
        .graphql(
            None,
            &format!("mutation {{ {} }}", fields.join(" ")),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&flood), "BAD_USER_INPUT", "{flood}");
    assert!(
        flood["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("one authentication mutation")),
        "{flood}"
    );
    assert!(flood["data"].is_null(), "no resolver ran: {flood}");
    assert_eq!(
        password_hashes(&app).await,
        before,
        "the flood hashed nothing"
    );

    // Fragments spread at the root count too.
    let spread = app
        .graphql(
            None,
            &format!(
                "mutation {{ ...F {} }} fragment F on MutationRoot {{ {} }}",
                login_field("outer", "owner@flooded.test", "x"),
                login_field("inner", "owner@flooded.test", "y")
            ),
            json!({}),
        )
        .await;
    assert_eq!(error_code(&spread), "BAD_USER_INPUT", "{spread}");
    assert_eq!(password_hashes(&app).await, before);

    // The server stays responsive and the real owner still signs in.
    let ok = login(&app, "owner@flooded.test", PASSWORD).await;
    assert!(ok["data"]["login"]["token"].is_string(), "{ok}");
}

#[tokio::test]
async fn a_batch_of_logins_is_refused_whole_but_one_login_in_a_batch_works() {
    let app = spawn_app().await;
    app.sign_up("batched").await;
    let before = password_hashes(&app).await;
    let one = |password: &str| json!({"query": format!("mutation {{ {} }}", login_field("l", "owner@batched.test", password))});
    let batch: Vec<Value> = (0..10).map(|i| one(&format!("guess{i}"))).collect();
    let response = app
        .http
        .post(format!("{}/graphql", app.base))
        .json(&batch)
        .send()
        .await
        .expect("batch");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(
        password_hashes(&app).await,
        before,
        "the batch hashed nothing"
    );

    let mixed = vec![one(PASSWORD), json!({"query": "{ __typename }"})];
    let answers: Value = app
        .http
        .post(format!("{}/graphql", app.base))
        .json(&mixed)
        .send()
        .await
        .expect("batch")
        .json()
        .await
        .expect("json");
    assert!(answers[0]["data"]["l"]["token"].is_string(), "{answers}");
    assert_eq!(answers[1]["data"]["__typename"], "QueryRoot");
}

#[tokio::test]
async fn two_logins_on_one_socket_operation_are_refused() {
    let app = spawn_app().await;
    let token = app.sign_up("socketed").await;
    let mut ws = app.ws(&token).await.expect("ws");
    ws.subscribe(
        &format!(
            "mutation {{ {} {} }}",
            login_field("a", "owner@socketed.test", "x"),
            login_field("b", "owner@socketed.test", "y")
        ),
        json!({}),
    )
    .await;
    match ws.next_event(Duration::from_secs(10)).await {
        Some(WsEvent::Error(errors)) => {
            assert_eq!(
                errors[0]["extensions"]["code"], "BAD_USER_INPUT",
                "{errors}"
            );
        }
        Some(WsEvent::Next(payload)) => {
            assert_eq!(error_code(&payload), "BAD_USER_INPUT", "{payload}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_login_flood_across_many_emails_from_one_address_is_rate_limited() {
    let app = spawn_with(SpawnOptions {
        env: vec![("LEADLINE_LOGIN_IP_RATE_PER_MINUTE".into(), "5".into())],
        ..Default::default()
    })
    .await;
    app.sign_up("sprayed").await;
    // Legitimate use first: it counts against this address like any attempt.
    let ok = login(&app, "owner@sprayed.test", PASSWORD).await;
    assert!(ok["data"]["login"]["token"].is_string(), "{ok}");
    for i in 0..4 {
        let guess = login(&app, &format!("victim{i}@sprayed.test"), "password1").await;
        assert_eq!(error_code(&guess), "UNAUTHENTICATED", "{guess}");
    }
    let before = password_hashes(&app).await;
    let limited = login(&app, "victim9@sprayed.test", "password1").await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .is_some_and(|s| (1..=60).contains(&s)),
        "{limited}"
    );
    assert_eq!(
        password_hashes(&app).await,
        before,
        "a refused attempt hashes nothing"
    );
}

#[tokio::test]
async fn nested_connections_beyond_the_cost_limit_are_refused_while_a_dashboard_passes() {
    let app = spawn_app().await;
    let token = app.sign_up("costly").await;
    app.create_lead(&token, "Ada").await;
    let dashboard = app
        .graphql(
            Some(&token),
            "{ me { tenant { id } } \
               leads(first: 100) { totalCount edges { node { id name email phone company status \
                 score temperature sourceChannel notes createdAt updatedAt \
                 identities { channel externalId displayName createdAt } \
                 scoreHistory(first: 5) { edges { node { delta reason } } } } } } \
               conversations(first: 20) { totalCount edges { node { id } } } }",
            json!({}),
        )
        .await;
    assert!(dashboard.get("errors").is_none(), "{dashboard}");
    assert_eq!(dashboard["data"]["leads"]["totalCount"], 1);

    let nested = app
        .graphql(
            Some(&token),
            "{ leads(first: 100) { edges { node { identities { channel externalId } \
               scoreHistory(first: 100) { edges { node { id delta reason scoreBefore scoreAfter } } } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&nested), "BAD_USER_INPUT", "{nested}");
    assert!(nested["data"].is_null(), "{nested}");
}

#[tokio::test]
async fn too_many_root_aliases_are_refused() {
    let app = spawn_app().await;
    let token = app.sign_up("aliased").await;
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n).map(|i| format!("t{i}: tenant {{ id }}")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let wide = app.graphql(Some(&token), &aliases(200), json!({})).await;
    assert_eq!(error_code(&wide), "BAD_USER_INPUT", "{wide}");
    assert!(
        wide["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("root fields")),
        "{wide}"
    );
    let fine = app.graphql(Some(&token), &aliases(20), json!({})).await;
    assert!(fine.get("errors").is_none(), "{fine}");
}

#[tokio::test]
async fn two_replicas_share_one_login_budget() {
    let Some(_) = scale_out("two_replicas_share_one_login_budget") else {
        return;
    };
    let (database_url, redis_url, _) = fresh_database().await;
    let options = SpawnOptions {
        database_url: Some(database_url),
        redis_url: Some(redis_url),
        redis_prefix: Some(format!("limits-{}", uuid::Uuid::now_v7().simple())),
        env: vec![("LEADLINE_LOGIN_RATE_PER_MINUTE".into(), "4".into())],
    };
    let replica_a = spawn_with(options.clone()).await;
    let replica_b = spawn_with(options).await;
    replica_a.sign_up("shared-budget").await;
    replica_a.sign_up("bystander").await;
    let email = "owner@shared-budget.test";
    // 4 attempts split across the replicas use the whole budget …
    for replica in [&replica_a, &replica_b, &replica_a, &replica_b] {
        let guess = login(replica, email, "wrong password").await;
        assert_eq!(error_code(&guess), "UNAUTHENTICATED", "{guess}");
    }
    // … so the 5th is refused on either, even with the right password.
    for replica in [&replica_a, &replica_b] {
        let refused = login(replica, email, PASSWORD).await;
        assert_eq!(error_code(&refused), "RATE_LIMITED", "{refused}");
        assert!(refused["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .is_some_and(|s| s >= 1));
    }
    // Another account is not affected.
    let other = login(&replica_b, "owner@bystander.test", PASSWORD).await;
    assert!(other["data"]["login"]["token"].is_string(), "{other}");
}
