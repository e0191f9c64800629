//! Attacks on sockets (see `attacks.rs`): a WebSocket must not keep the identity it was opened
//! with — every operation is authorised as things are now, and subscriptions end with an error
//! when their token expires or their member, role, key or customer goes away, on any replica.
//! Per-IP limits hold on sockets; sockets, operations and messages are bounded; `/metrics` and
//! the schema explorer are closed where the operator says so.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{
    error_code, fresh_database, scale_out, spawn_app, spawn_with, SpawnOptions, WsClient, WsEvent,
};

const WAIT: Duration = Duration::from_secs(15);
const SCORES: &str = "subscription { leadScoreChanged { leadId score } }";
const CREATE_KEY: &str =
    "mutation { createApiKey(input: {name: \"backdoor\", scopes: [WRITE]}) { key } }";
const ADJUST: &str = "mutation($id: ID!) { adjustLeadScore(input: {leadId: $id, delta: 5, signal: \"urgent\", reason: \"test\"}) { lead { score } } }";

fn env(pairs: &[(&str, &str)]) -> SpawnOptions {
    SpawnOptions {
        env: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    }
}

/// Runs one query or mutation on the socket and returns its response (data and errors).
async fn over_socket(ws: &mut WsClient, query: &str, variables: Value) -> Value {
    ws.subscribe(query, variables).await;
    let payload = match ws.next_event(WAIT).await {
        Some(WsEvent::Next(payload)) => payload,
        other => panic!("expected a response on the socket, got {other:?}"),
    };
    match ws.next_event(WAIT).await {
        Some(WsEvent::Complete) => payload,
        other => panic!("the operation did not complete: {other:?}"),
    }
}

/// Waits for a subscription to end: skips data, returns the error it ended with (and checks
/// that the stream then completed).
async fn ended_with(ws: &mut WsClient, limit: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_event(left).await {
            Some(WsEvent::Next(payload)) if payload.get("errors").is_some() => {
                match ws.next_event(WAIT).await {
                    Some(WsEvent::Complete) => return payload,
                    other => panic!("the stream did not complete after its error: {other:?}"),
                }
            }
            Some(WsEvent::Next(_)) => continue,
            other => panic!("expected the subscription to end with an error, got {other:?}"),
        }
    }
}

fn message(response: &Value) -> String {
    response["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

const REMOVE: &str = "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }";

#[tokio::test]
async fn removed_member_socket_cannot_create_api_key() {
    let app = spawn_app().await;
    let owner = app.sign_up("sock-removed").await;
    let (removed, removed_id) = app.member(&owner, "gone@sock-removed.test", "ADMIN").await;
    let (kept, _) = app.member(&owner, "kept@sock-removed.test", "ADMIN").await;
    let mut removed_ws = app.ws(&removed).await.expect("removed admin's socket");
    let mut kept_ws = app.ws(&kept).await.expect("kept admin's socket");
    // Both sockets work while both are members.
    let before = over_socket(&mut removed_ws, "{ me { role } }", json!({})).await;
    assert_eq!(before["data"]["me"]["role"], "ADMIN", "{before}");

    app.ok(&owner, REMOVE, json!({"u": removed_id})).await;

    let backdoor = over_socket(&mut removed_ws, CREATE_KEY, json!({})).await;
    assert_eq!(error_code(&backdoor), "UNAUTHENTICATED", "{backdoor}");
    assert!(backdoor["data"].is_null(), "{backdoor}");
    let legit = over_socket(&mut kept_ws, CREATE_KEY, json!({})).await;
    assert!(
        legit["data"]["createApiKey"]["key"].is_string(),
        "a member still in the tenant keeps working: {legit}"
    );
}

#[tokio::test]
async fn demoted_admin_socket_is_forbidden_admin_operations() {
    let app = spawn_app().await;
    let owner = app.sign_up("sock-demoted").await;
    let (admin, admin_id) = app.member(&owner, "admin@sock-demoted.test", "ADMIN").await;
    let mut ws = app.ws(&admin).await.expect("admin socket");
    let allowed = over_socket(&mut ws, CREATE_KEY, json!({})).await;
    assert!(
        allowed["data"]["createApiKey"]["key"].is_string(),
        "{allowed}"
    );

    app.ok(
        &owner,
        "mutation($u: ID!) { updateMemberRole(input: {userId: $u, role: AGENT}) { member { role } } }",
        json!({"u": admin_id}),
    )
    .await;

    let refused = over_socket(&mut ws, CREATE_KEY, json!({})).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    let me = over_socket(&mut ws, "{ me { role } }", json!({})).await;
    assert_eq!(
        me["data"]["me"]["role"], "AGENT",
        "reads use the new role: {me}"
    );
}

#[tokio::test]
async fn revoked_api_key_socket_is_refused() {
    let app = spawn_app().await;
    let owner = app.sign_up("sock-key").await;
    let created = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"reader\", scopes: [READ]}) { key apiKey { id } } }",
            json!({}),
        )
        .await;
    let key = created["createApiKey"]["key"].as_str().unwrap().to_owned();
    let key_id = created["createApiKey"]["apiKey"]["id"].as_str().unwrap();
    let mut ws = app.ws(&key).await.expect("key socket");
    let mut subscription = app.ws(&key).await.expect("second key socket");
    subscription.subscribe(SCORES, json!({})).await;
    let before = over_socket(&mut ws, "{ leads { totalCount } }", json!({})).await;
    assert_eq!(before["data"]["leads"]["totalCount"], 0, "{before}");

    app.ok(
        &owner,
        "mutation($id: ID!) { revokeApiKey(input: {id: $id}) { apiKey { id } } }",
        json!({"id": key_id}),
    )
    .await;

    let after = over_socket(&mut ws, "{ leads { totalCount } }", json!({})).await;
    assert_eq!(error_code(&after), "UNAUTHENTICATED", "{after}");
    assert!(message(&after).contains("revoked"), "{after}");
    let ended = ended_with(&mut subscription, WAIT).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED", "{ended}");
    assert!(
        app.ws(&key).await.is_err(),
        "a revoked key cannot open a socket"
    );
}

#[tokio::test]
async fn removed_member_subscription_ends_and_nothing_further_arrives() {
    let app = spawn_app().await;
    let owner = app.sign_up("sock-sub").await;
    let lead = app.create_lead(&owner, "Watched").await;
    let (agent, agent_id) = app.member(&owner, "agent@sock-sub.test", "AGENT").await;
    let mut ws = app.ws(&agent).await.expect("agent socket");
    ws.subscribe(SCORES, json!({})).await;
    app.ok(&owner, ADJUST, json!({"id": lead})).await;
    let seen = ws
        .next_data_where(WAIT, |data| data["leadScoreChanged"]["leadId"] == lead)
        .await;
    assert!(seen.is_some(), "a member's subscription delivers");

    app.ok(&owner, REMOVE, json!({"u": agent_id})).await;

    let ended = ended_with(&mut ws, WAIT).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED", "{ended}");
    assert!(message(&ended).contains("no longer a member"), "{ended}");
    app.ok(&owner, ADJUST, json!({"id": lead})).await;
    let after = ws.next_event(Duration::from_secs(2)).await;
    assert!(after.is_none(), "nothing arrives after the end: {after:?}");
}

#[tokio::test]
async fn subscription_ends_when_its_token_expires() {
    // Tokens carry whole seconds, so a TTL of N s lasts between N-1 and N s.
    let app = spawn_with(env(&[("JWT_TTL_SECONDS", "4")])).await;
    let owner = app.sign_up("sock-expiry").await;
    let started = std::time::Instant::now();
    let mut ws = app.ws(&owner).await.expect("socket");
    ws.subscribe(SCORES, json!({})).await;
    let ended = ended_with(&mut ws, Duration::from_secs(10)).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED", "{ended}");
    assert!(message(&ended).contains("expired"), "{ended}");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "ended at expiry, not before: {:?}",
        started.elapsed()
    );
    let later = over_socket(&mut ws, "{ me { role } }", json!({})).await;
    assert_eq!(error_code(&later), "UNAUTHENTICATED", "{later}");
}

#[tokio::test]
async fn customer_socket_is_cut_when_its_lead_is_deleted() {
    let app = spawn_app().await;
    let owner = app.sign_up("sock-customer").await;
    let key = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"site\", scopes: [READ, WRITE]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let minted = |external: &'static str| {
        let (app, key) = (&app, key.clone());
        async move {
            let data = app
                .ok(
                    &key,
                    "mutation($input: CreateCustomerTokenInput!) { createCustomerToken(input: $input) { token customerId } }",
                    json!({"input": {"externalUserId": external, "name": external}}),
                )
                .await;
            (
                data["createCustomerToken"]["token"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                data["createCustomerToken"]["customerId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        }
    };
    let (doomed, doomed_lead) = minted("doomed").await;
    let (other, _) = minted("other").await;
    let session = app
        .ok(
            &doomed,
            "mutation { createSupportSession(input: {subject: \"help\"}) { session { id } } }",
            json!({}),
        )
        .await["createSupportSession"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = app.ws(&doomed).await.expect("customer socket");
    let mut other_ws = app.ws(&other).await.expect("other customer socket");
    ws.subscribe(
        "subscription($id: ID!) { supportSessionEvents(sessionId: $id) { __typename } }",
        json!({"id": session}),
    )
    .await;

    app.ok(
        &owner,
        "mutation($id: ID!) { deleteLead(input: {id: $id}) { deletedId } }",
        json!({"id": doomed_lead}),
    )
    .await;

    let ended = ended_with(&mut ws, WAIT).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED", "{ended}");
    let again = over_socket(
        &mut ws,
        "mutation { createSupportSession { session { id } } }",
        json!({}),
    )
    .await;
    assert_eq!(error_code(&again), "UNAUTHENTICATED", "{again}");
    let fine = over_socket(
        &mut other_ws,
        "mutation { createSupportSession { session { id } } }",
        json!({}),
    )
    .await;
    assert!(
        fine["data"]["createSupportSession"]["session"]["id"].is_string(),
        "another customer is untouched: {fine}"
    );
}

#[tokio::test]
async fn sign_up_over_a_socket_hits_the_ip_limit() {
    let app = spawn_with(env(&[("LEADLINE_SIGNUP_RATE_PER_MINUTE", "2")])).await;
    // The first sign-up (over POST) spends one of the two.
    let token = app.sign_up("sock-signup").await;
    let mut ws = app.ws(&token).await.expect("socket");
    let sign_up = |n: u32| json!({"input": {"email": format!("o{n}@sock-signup-{n}.test"), "password": "correct horse battery", "tenantName": format!("t{n}"), "tenantSlug": format!("sock-signup-{n}")}});
    const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) { token } }";
    let second = over_socket(&mut ws, SIGN_UP, sign_up(2)).await;
    assert!(
        second["data"]["signUp"]["token"].is_string(),
        "within the limit: {second}"
    );
    let third = over_socket(&mut ws, SIGN_UP, sign_up(3)).await;
    assert_eq!(error_code(&third), "RATE_LIMITED", "{third}");
}

#[tokio::test]
async fn ws_flood_of_operations_sockets_and_bytes_is_refused() {
    let app = spawn_with(env(&[
        ("LEADLINE_WS_MAX_OPERATIONS", "3"),
        ("LEADLINE_WS_MAX_SOCKETS_PER_PRINCIPAL", "2"),
        ("LEADLINE_MAX_BODY_BYTES", "16384"),
    ]))
    .await;
    let owner = app.sign_up("sock-flood").await;

    // Operations at once on one socket.
    let mut ws = app.ws(&owner).await.expect("first socket");
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(ws.subscribe(SCORES, json!({})).await);
    }
    let quiet = ws.next_event(Duration::from_millis(500)).await;
    assert!(quiet.is_none(), "three subscriptions run: {quiet:?}");
    ws.subscribe(SCORES, json!({})).await;
    let refused = ended_with(&mut ws, WAIT).await;
    assert_eq!(error_code(&refused), "LIMIT_REACHED", "{refused}");
    assert!(message(&refused).contains("at most 3"), "{refused}");
    ws.complete(&ids[0]).await;
    assert!(matches!(ws.next_event(WAIT).await, Some(WsEvent::Complete)));
    let usable = over_socket(&mut ws, "{ me { role } }", json!({})).await;
    assert_eq!(usable["data"]["me"]["role"], "OWNER", "{usable}");

    // Sockets per principal: the socket above and one more; a third is refused.
    let second = app.ws(&owner).await.expect("second socket");
    let third = app.ws(&owner).await;
    let refusal = third.err().expect("a third socket is refused");
    assert!(refusal.contains("at most 2 sockets"), "{refusal}");
    // Other principals are not affected.
    let key = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"k\"}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let _key_socket = app.ws(&key).await.expect("an API key has its own count");
    // Closing a socket gives its place back.
    drop(second);
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(socket) = app.ws(&owner).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut reopened = reopened.expect("a closed socket's place is freed");

    // A message larger than the body limit closes the socket with 1009.
    let huge = json!({"id": "big", "type": "subscribe", "payload": {"query": format!("{{ me {{ role }} }} #{}", "x".repeat(20_000))}});
    reopened.send_text(huge.to_string()).await.expect("send");
    match reopened.next_event(WAIT).await {
        Some(WsEvent::Closed(reason)) => assert!(reason.contains("1009"), "{reason}"),
        other => panic!("an oversized message must close the socket: {other:?}"),
    }
    let still = over_socket(&mut ws, "{ me { role } }", json!({})).await;
    assert_eq!(still["data"]["me"]["role"], "OWNER", "{still}");
    // Under the limit, a message three times the socket's initial 4 KiB read buffer is read
    // whole: the buffer grows for it.
    let long = over_socket(
        &mut ws,
        &format!("{{ me {{ role }} }} #{}", "y".repeat(12_000)),
        json!({}),
    )
    .await;
    assert_eq!(long["data"]["me"]["role"], "OWNER", "{long}");
}

#[tokio::test]
async fn removal_on_one_replica_cuts_a_socket_on_another() {
    let Some(_) = scale_out("removal_across_replicas") else {
        return;
    };
    let (database_url, redis_url, _) = fresh_database().await;
    let options = SpawnOptions {
        database_url: Some(database_url),
        redis_url: Some(redis_url),
        redis_prefix: Some(format!("sockets-{}", uuid::Uuid::now_v7().simple())),
        env: vec![],
    };
    let replica_a = spawn_with(options.clone()).await;
    let replica_b = spawn_with(options.without_workers()).await;
    let owner = replica_a.sign_up("sock-replicas").await;
    let (admin, admin_id) = replica_a
        .member(&owner, "admin@sock-replicas.test", "ADMIN")
        .await;
    let mut on_a = replica_a.ws(&admin).await.expect("socket on A");
    on_a.subscribe(SCORES, json!({})).await;

    replica_b.ok(&owner, REMOVE, json!({"u": admin_id})).await;

    let ended = ended_with(&mut on_a, WAIT).await;
    assert_eq!(error_code(&ended), "UNAUTHENTICATED", "{ended}");
    let backdoor = over_socket(&mut on_a, CREATE_KEY, json!({})).await;
    assert_eq!(error_code(&backdoor), "UNAUTHENTICATED", "{backdoor}");
}

#[tokio::test]
async fn metrics_need_the_token_and_carry_no_field_names() {
    let app = spawn_with(env(&[("LEADLINE_METRICS_TOKEN", "scrape-me-please")])).await;
    let token = app.sign_up("sock-metrics").await;
    app.ok(
        &token,
        "query SomeClientChosenName { leads { totalCount } }",
        json!({}),
    )
    .await;
    let url = format!("{}/metrics", app.base);
    let anonymous = app.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    let wrong = app
        .http
        .get(&url)
        .bearer_auth("scrape-me-pleasE")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let scraped = app
        .http
        .get(&url)
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        text.contains("leadline_graphql_requests_total{operation=\"query\",outcome=\"ok\"}"),
        "{text}"
    );
    assert!(
        text.contains("operation=\"mutation\""),
        "sign-up counted: {text}"
    );
    for leaked in ["SomeClientChosenName", "leads", "signUp"] {
        assert!(
            !text.contains(&format!("operation=\"{leaked}"))
                && !text.contains(&format!("query {leaked}"))
                && !text.contains(&format!("mutation {leaked}")),
            "{leaked} must not be a label:\n{text}"
        );
    }
}

#[tokio::test]
async fn production_hides_introspection_and_graphiql_unless_asked() {
    let app = spawn_with(env(&[("LEADLINE_ENV", "production")])).await;
    let token = app.sign_up("sock-prod").await;
    let response = app
        .graphql(
            Some(&token),
            "{ __schema { queryType { name } } }",
            json!({}),
        )
        .await;
    // async-graphql answers a disabled introspection field with null rather than an error:
    // either way, nothing of the schema is disclosed.
    assert!(response["data"]["__schema"].is_null(), "{response}");
    let page = app
        .http
        .get(format!("{}/graphql", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    let body: Value = page.json().await.unwrap();
    assert_eq!(error_code(&body), "NOT_FOUND", "{body}");
    // Everything else works as usual.
    assert_eq!(
        app.ok(&token, "{ tenant { slug } }", json!({})).await["tenant"]["slug"],
        "sock-prod"
    );

    let reopened = spawn_with(env(&[
        ("LEADLINE_ENV", "production"),
        ("LEADLINE_INTROSPECTION", "true"),
    ]))
    .await;
    let token = reopened.sign_up("sock-prod-open").await;
    let schema = reopened
        .ok(&token, "{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(schema["__schema"]["queryType"]["name"], "QueryRoot");
    let page = reopened
        .http
        .get(format!("{}/graphql", reopened.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
}
