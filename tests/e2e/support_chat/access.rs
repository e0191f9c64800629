//! Who may see what in the support chat, and how it holds up: customers see only their own
//! sessions, reconnection without duplicates, an AI failure, rate limits and capacity, and two
//! replicas through Redis.

use super::*;

#[tokio::test]
async fn customers_see_only_their_own_sessions_and_customer_tokens_are_not_members() {
    let app = spawn_with(app_options(&[])).await;
    let acme = tenant(&app, "chat-isolation").await;
    let alice = customer_token(&app, &acme.api_key, "alice", "Alice").await;
    let bob = customer_token(&app, &acme.api_key, "bob", "Bob").await;
    let alices = open_session(&app, &alice, "mine").await;
    send(&app, &alice, &alices, "private details", "a-1").await;

    // Query and mutation: NOT_FOUND, as if it did not exist.
    let peek = app
        .graphql(
            Some(&bob),
            "query($id: ID!) { supportSession(id: $id) { id } }",
            json!({"id": alices}),
        )
        .await;
    assert_eq!(error_code(&peek), "NOT_FOUND");
    let write = app
        .graphql(
            Some(&bob),
            SEND,
            json!({"input": {"sessionId": alices, "text": "hi", "clientMessageId": "b-1"}}),
        )
        .await;
    assert_eq!(error_code(&write), "NOT_FOUND");

    // Subscription: an error and no events.
    let mut bob_ws = app.ws(&bob).await.expect("bob socket");
    bob_ws
        .subscribe(SESSION_EVENTS, json!({"id": alices}))
        .await;
    // graphql-transport-ws carries a resolver's error as `next` with `errors` (and no data),
    // then `complete`.
    match bob_ws.next_event(WAIT).await {
        Some(WsEvent::Next(payload)) => {
            assert_eq!(payload["data"], Value::Null, "{payload}");
            assert_eq!(
                payload["errors"][0]["extensions"]["code"], "NOT_FOUND",
                "{payload}"
            );
        }
        other => panic!("expected a subscription error, got {other:?}"),
    }
    assert!(matches!(
        bob_ws.next_event(WAIT).await,
        Some(WsEvent::Complete)
    ));
    send(&app, &alice, &alices, "more private details", "a-2").await;
    assert!(
        bob_ws.drain(Duration::from_secs(2)).await.is_empty(),
        "no events reach another customer"
    );

    // A customer token is not a member: member operations refuse it.
    let members_only = app
        .graphql(Some(&alice), "{ conversations { totalCount } }", json!({}))
        .await;
    assert_eq!(error_code(&members_only), "FORBIDDEN");
    let queue = app
        .graphql(Some(&alice), "{ supportQueue { id } }", json!({}))
        .await;
    assert_eq!(error_code(&queue), "FORBIDDEN");
    let mint = app
        .graphql(
            Some(&alice),
            "mutation { createCustomerToken(input: {externalUserId: \"x\", name: \"x\"}) { token } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&mint), "FORBIDDEN");
    // And a member is not a customer.
    let as_member = app
        .graphql(
            Some(&acme.owner),
            "mutation { createSupportSession { session { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&as_member), "FORBIDDEN");
    // A forged customer token (signed with another key) is refused at the transport.
    let mut parts: Vec<String> = alice.split('.').map(str::to_owned).collect();
    parts[2] = "AAAA".into();
    let forged = app
        .graphql(
            Some(&parts.join(".")),
            "{ activeSupportSession { id } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&forged), "UNAUTHENTICATED");
    // Bad input is typed.
    let blank = app
        .graphql(
            Some(&alice),
            SEND,
            json!({"input": {"sessionId": alices, "text": "   ", "clientMessageId": "a-3"}}),
        )
        .await;
    assert_eq!(error_code(&blank), "BAD_USER_INPUT");
    assert_eq!(blank["errors"][0]["extensions"]["field"], "text");
}

#[tokio::test]
async fn a_reconnecting_client_resumes_with_history_and_no_duplicate_messages() {
    let app = spawn_with(app_options(&[])).await;
    let acme = tenant(&app, "chat-resume").await;
    let customer = customer_token(&app, &acme.api_key, "resumer", "Rita").await;
    let session = open_session(&app, &customer, "resume").await;
    // A person handles the session so only the messages we send appear.
    app.ok(
        &acme.owner,
        "mutation($input: AssignSupportSessionInput!) { assignSupportSession(input: $input) { session { id } } }",
        json!({"input": {"sessionId": session}}),
    )
    .await;

    let mut first = app.ws(&customer).await.expect("socket");
    first
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    first
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history");
    let mut seen: Vec<String> = Vec::new();
    for i in 0..3 {
        send(
            &app,
            &acme.owner,
            &session,
            &format!("live {i}"),
            &format!("l-{i}"),
        )
        .await;
        let added = first
            .next_data_where(WAIT, is("MessageAdded"))
            .await
            .expect("live message");
        seen.push(event(&added)["message"]["id"].as_str().unwrap().to_owned());
    }
    drop(first);

    // Messages while away.
    for i in 0..2 {
        send(
            &app,
            &acme.owner,
            &session,
            &format!("away {i}"),
            &format!("w-{i}"),
        )
        .await;
    }

    let mut second = app.ws(&customer).await.expect("socket again");
    second
        .subscribe(
            SESSION_EVENTS,
            json!({"id": session, "after": seen.last().unwrap()}),
        )
        .await;
    let history = second
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history on resume");
    let bodies: Vec<&str> = event(&history)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, vec!["away 0", "away 1"], "only what was missed");
    send(&app, &acme.owner, &session, "back live", "b-0").await;
    let rest = second.drain(Duration::from_secs(2)).await;
    let added: Vec<&str> = rest
        .iter()
        .filter(|d| is("MessageAdded")(d))
        .map(|d| event(d)["message"]["body"].as_str().unwrap())
        .collect();
    assert_eq!(added, vec!["back live"], "no message twice: {rest:?}");
}

#[tokio::test]
async fn an_ai_failure_tells_the_customer_and_the_turn_is_retried() {
    // One AI request per tenant and minute: the second message's turn is refused (RATE_LIMITED)
    // and retried later.
    let app = spawn_with(app_options(&[
        ("LEADLINE_AI_RATE_PER_MINUTE", "1"),
        ("LEADLINE_JOB_RETRY_BASE_MS", "200"),
    ]))
    .await;
    let acme = tenant(&app, "chat-aifail").await;
    let customer = customer_token(&app, &acme.api_key, "unlucky", "Uma").await;
    let session = open_session(&app, &customer, "help").await;
    let mut ws = app.ws(&customer).await.expect("socket");
    ws.subscribe(SESSION_EVENTS, json!({"id": session})).await;
    ws.next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history");
    send(&app, &customer, &session, "Do you ship to Spain?", "u-1").await;
    ws.next_data_where(WAIT, is("AiCompleted"))
        .await
        .expect("first turn answers");
    let second = send(&app, &customer, &session, "And to Portugal?", "u-2").await;
    // The notice is stored (and published) before the event that reports the failure.
    let notice = ws
        .next_data_where(WAIT, message_from("SYSTEM"))
        .await
        .expect("the customer is told");
    assert!(event(&notice)["message"]["body"]
        .as_str()
        .unwrap()
        .contains("can't answer right now"));
    let failed = ws
        .next_data_where(WAIT, is("AiFailed"))
        .await
        .expect("AiFailed");
    assert_eq!(event(&failed)["messageId"], second["message"]["id"]);
    assert_eq!(event(&failed)["willRetry"], true);
    assert!(event(&failed)["error"]
        .as_str()
        .unwrap()
        .contains("RATE_LIMITED"));
    // The job retries (LEADLINE_JOB_RETRY_BASE_MS is short here): another AiFailed follows, and
    // the customer is still told only once.
    let retried = ws
        .next_data_where(WAIT, is("AiFailed"))
        .await
        .expect("the turn is retried");
    assert_eq!(event(&retried)["messageId"], second["message"]["id"]);
    let transcript = app
        .ok(
            &customer,
            "query($id: ID!) { transcript(sessionId: $id) { content } }",
            json!({"id": session}),
        )
        .await;
    assert_eq!(
        transcript["transcript"]["content"]
            .as_str()
            .unwrap()
            .matches("can't answer right now")
            .count(),
        1
    );
}

#[tokio::test]
async fn visitors_are_rate_limited_per_ip_and_agents_have_a_capacity() {
    let app = spawn_with(app_options(&[
        ("LEADLINE_VISITOR_RATE_PER_MINUTE", "2"),
        ("LEADLINE_SUPPORT_AGENT_CAPACITY", "1"),
    ]))
    .await;
    let acme = tenant(&app, "chat-visitors").await;
    // Anonymous visitors only where the tenant has turned web chat on.
    app.ok(
        &acme.owner,
        "mutation { upsertChannelConnection(input: {channel: WEB_CHAT, status: CONNECTED}) { created } }",
        json!({}),
    )
    .await;
    let start = "mutation($input: StartVisitorSessionInput!) { startVisitorSession(input: $input) { token visitorId customerId resumeSecret } }";
    let first = app
        .graphql(
            None,
            start,
            json!({"input": {"tenantSlug": "chat-visitors"}}),
        )
        .await;
    let visitor = first["data"]["startVisitorSession"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let visitor_id = first["data"]["startVisitorSession"]["visitorId"]
        .as_str()
        .unwrap()
        .to_owned();
    let resume_secret = first["data"]["startVisitorSession"]["resumeSecret"]
        .as_str()
        .unwrap()
        .to_owned();
    // Coming back with the visitor id and its resume secret is the same customer.
    let again = app
        .graphql(
            None,
            start,
            json!({"input": {"tenantSlug": "chat-visitors", "visitorId": visitor_id, "resumeSecret": resume_secret}}),
        )
        .await;
    assert_eq!(
        again["data"]["startVisitorSession"]["customerId"],
        first["data"]["startVisitorSession"]["customerId"]
    );
    let limited = app
        .graphql(
            None,
            start,
            json!({"input": {"tenantSlug": "chat-visitors"}}),
        )
        .await;
    assert_eq!(error_code(&limited), "RATE_LIMITED");
    let unknown = app
        .graphql(
            None,
            start,
            json!({"input": {"tenantSlug": "no-such-tenant"}}),
        )
        .await;
    assert!(["NOT_FOUND", "RATE_LIMITED"].contains(&error_code(&unknown)));

    // Capacity 1: the second session is refused for the same agent.
    let one = open_session(&app, &visitor, "first").await;
    let customer = customer_token(&app, &acme.api_key, "second", "Sam").await;
    let two = open_session(&app, &customer, "second").await;
    let assign = "mutation($input: AssignSupportSessionInput!) { assignSupportSession(input: $input) { session { id } } }";
    app.ok(&acme.owner, assign, json!({"input": {"sessionId": one}}))
        .await;
    let full = app
        .graphql(
            Some(&acme.owner),
            assign,
            json!({"input": {"sessionId": two}}),
        )
        .await;
    assert_eq!(error_code(&full), "CONFLICT");

    // Two sessions assigned to one agent at the same moment: the capacity holds (one wins).
    let agent_token = acme.owner.clone();
    app.ok(
        &agent_token,
        "mutation($input: EndSupportSessionInput!) { endSupportSession(input: $input) { session { id } } }",
        json!({"input": {"sessionId": one, "resolution": "done"}}),
    )
    .await;
    let third_customer = customer_token(&app, &acme.api_key, "third", "Tia").await;
    let three = open_session(&app, &third_customer, "third").await;
    let (a, b) = tokio::join!(
        app.graphql(
            Some(&agent_token),
            assign,
            json!({"input": {"sessionId": two}})
        ),
        app.graphql(
            Some(&agent_token),
            assign,
            json!({"input": {"sessionId": three}})
        ),
    );
    let won = [&a, &b]
        .iter()
        .filter(|r| r["data"]["assignSupportSession"]["session"]["id"].is_string())
        .count();
    assert_eq!(won, 1, "exactly one within capacity: {a:#} {b:#}");
    assert!([error_code(&a), error_code(&b)].contains(&"CONFLICT"));
}

#[tokio::test]
async fn customer_and_agent_on_two_replicas_chat_through_redis() {
    let Some(_) = scale_out("support_chat_two_replicas") else {
        return;
    };
    let (database_url, redis_url, _) = fresh_database().await;
    let options = SpawnOptions {
        database_url: Some(database_url),
        redis_url: Some(redis_url),
        redis_prefix: Some(format!("support-{}", uuid::Uuid::now_v7().simple())),
        env: vec![("LEADLINE_TYPING_TTL_SECONDS".into(), "2".into())],
    };
    let replica_a = spawn_with(options.clone()).await;
    let replica_b = spawn_with(options).await;
    let acme = tenant(&replica_a, "chat-replicas").await;
    let customer = customer_token(&replica_b, &acme.api_key, "far-away", "Fay").await;
    let session = open_session(&replica_a, &customer, "replicas").await;

    let mut customer_ws = replica_a.ws(&customer).await.expect("customer on A");
    customer_ws
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    customer_ws
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history on A");
    let mut agent_ws = replica_b.ws(&acme.owner).await.expect("agent on B");
    agent_ws
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    agent_ws
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history on B");

    // Presence crosses replicas: the agent subscribed on B is online as seen from A.
    let online = replica_a
        .ok(
            &acme.owner,
            "{ onlineAgents { user { email } lastSeenAt } }",
            json!({}),
        )
        .await;
    assert_eq!(
        online["onlineAgents"][0]["user"]["email"], "owner@chat-replicas.test",
        "{online}"
    );

    // A customer message through B reaches the agent on B and the AI's reply the customer on A.
    send(
        &replica_b,
        &customer,
        &session,
        "Is my order shipped?",
        "f-1",
    )
    .await;
    agent_ws
        .next_data_where(WAIT, message_from("LEAD"))
        .await
        .expect("agent on B sees the customer's message");
    customer_ws
        .next_data_where(WAIT, message_from("AI"))
        .await
        .expect("customer on A sees the AI's reply");

    // Typing set through A, seen on B, lapsing there.
    replica_a
        .ok(
            &customer,
            "mutation($input: SetTypingInput!) { setTyping(input: $input) }",
            json!({"input": {"sessionId": session, "typing": true}}),
        )
        .await;
    agent_ws
        .next_data_where(WAIT, is("TypingStarted"))
        .await
        .expect("typing across replicas");
    let lapsed = agent_ws
        .next_data_where(WAIT, is("TypingStopped"))
        .await
        .expect("lapses across replicas");
    assert_eq!(event(&lapsed)["expired"], true);

    // The agent on B answers; the customer on A reads it.
    replica_b
        .ok(
            &acme.owner,
            "mutation($input: AssignSupportSessionInput!) { assignSupportSession(input: $input) { session { id } } }",
            json!({"input": {"sessionId": session}}),
        )
        .await;
    send(
        &replica_b,
        &acme.owner,
        &session,
        "Shipped yesterday.",
        "agent-f-1",
    )
    .await;
    let from_agent = customer_ws
        .next_data_where(WAIT, message_from("AGENT"))
        .await
        .expect("the agent's message crosses replicas");
    let message_id = event(&from_agent)["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    replica_a
        .ok(
            &customer,
            "mutation($input: MarkReadInput!) { markRead(input: $input) { marked } }",
            json!({"input": {"sessionId": session, "upToMessageId": message_id}}),
        )
        .await;
    agent_ws
        .next_data_where(WAIT, is("MessagesRead"))
        .await
        .expect("receipt across replicas");
}
