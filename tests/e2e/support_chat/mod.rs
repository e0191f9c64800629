//! The support live chat end to end: customers (customer tokens) and agents (member tokens) on
//! separate graphql-transport-ws sockets against the real binary — history on join, typing that
//! expires, read receipts, the AI's turn with its events, escalation in English and Spanish to
//! the queue, assignment, the AI's silence afterwards, isolation between customers, resuming
//! without duplicates, and two replicas on PostgreSQL + Redis.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{
    error_code, fresh_database, scale_out, spawn_with, SpawnOptions, TestApp, WsEvent,
};

const WAIT: Duration = Duration::from_secs(15);

const SESSION_EVENTS: &str = r#"subscription($id: ID!, $after: ID) {
  supportSessionEvents(sessionId: $id, afterMessageId: $after) {
    __typename
    ... on SessionHistory { hasMore session { id status } messages { id body senderKind clientMessageId } }
    ... on MessageAdded { message { id body senderKind clientMessageId } }
    ... on TypingStarted { participant { kind id name } expiresAt }
    ... on TypingStopped { participant { kind id } expired }
    ... on MessagesRead { reader { kind id } upToMessageId }
    ... on ParticipantJoined { participant { kind id } }
    ... on ParticipantLeft { participant { kind id } }
    ... on AiProcessing { messageId }
    ... on AiCompleted { messageId replyMessageId }
    ... on AiFailed { messageId error willRetry }
    ... on SessionAssigned { session { id status handledBy } agent { kind id name } }
    ... on SessionEscalated { reason session { id status } ticket { id priority } }
    ... on SessionEnded { resolution session { id status } }
  }
}"#;

const QUEUE_EVENTS: &str = r#"subscription {
  supportQueueEvents {
    __typename
    ... on QueueSnapshot { sessions { id status } }
    ... on SessionEscalated { reason session { id status waitingSeconds } ticket { id priority subject description } }
    ... on SessionAssigned { session { id status } agent { id } }
    ... on SessionEnded { session { id status } resolution }
  }
}"#;

const SEND: &str = "mutation($input: SendSupportMessageInput!) { sendSupportMessage(input: $input) { created message { id body senderKind } } }";

/// A tenant with an owner (who acts as the agent) and a WRITE API key for its backend.
struct Tenant {
    owner: String,
    api_key: String,
}

async fn tenant(app: &TestApp, slug: &str) -> Tenant {
    let owner = app.sign_up(slug).await;
    let data = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"site backend\", scopes: [READ, WRITE]}) { key secret } }",
            json!({}),
        )
        .await;
    Tenant {
        owner,
        api_key: data["createApiKey"]["key"].as_str().unwrap().to_owned(),
    }
}

async fn customer_token(app: &TestApp, api_key: &str, external_id: &str, name: &str) -> String {
    let data = app
        .ok(
            api_key,
            "mutation($input: CreateCustomerTokenInput!) { createCustomerToken(input: $input) { token expiresAt customerId } }",
            json!({"input": {"externalUserId": external_id, "name": name, "email": format!("{external_id}@customers.test")}}),
        )
        .await;
    data["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn open_session(app: &TestApp, customer: &str, subject: &str) -> String {
    let data = app
        .ok(
            customer,
            "mutation($input: CreateSupportSessionInput) { createSupportSession(input: $input) { created session { id status } } }",
            json!({"input": {"subject": subject}}),
        )
        .await;
    assert_eq!(
        data["createSupportSession"]["session"]["status"], "ACTIVE",
        "{data}"
    );
    data["createSupportSession"]["session"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn send(app: &TestApp, token: &str, session: &str, text: &str, client_id: &str) -> Value {
    let data = app
        .ok(
            token,
            SEND,
            json!({"input": {"sessionId": session, "text": text, "clientMessageId": client_id}}),
        )
        .await;
    data["sendSupportMessage"].clone()
}

fn event(data: &Value) -> &Value {
    &data["supportSessionEvents"]
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |data| event(data)["__typename"] == kind
}

fn message_from(sender: &'static str) -> impl Fn(&Value) -> bool {
    move |data| {
        event(data)["__typename"] == "MessageAdded"
            && event(data)["message"]["senderKind"] == sender
    }
}

fn app_options(env: &[(&str, &str)]) -> SpawnOptions {
    SpawnOptions {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    }
}

#[tokio::test]
async fn customer_and_agent_chat_live_with_history_ai_turn_typing_and_read_receipts() {
    let app = spawn_with(app_options(&[("LEADLINE_TYPING_TTL_SECONDS", "1")])).await;
    let acme = tenant(&app, "chat-acme").await;
    let customer = customer_token(&app, &acme.api_key, "user-1", "Ana Pérez").await;
    let session = open_session(&app, &customer, "Order 1042").await;

    // Reopening returns the same open session; activeSupportSession finds it.
    let again = app
        .ok(
            &customer,
            "mutation { createSupportSession { created session { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(again["createSupportSession"]["created"], false);
    assert_eq!(again["createSupportSession"]["session"]["id"], session);
    let active = app
        .ok(
            &customer,
            "{ activeSupportSession { id status handledBy } }",
            json!({}),
        )
        .await;
    assert_eq!(active["activeSupportSession"]["id"], session);

    // A message before anyone listens, then the history on join.
    let first = send(&app, &customer, &session, "Hi there", "c-1").await;
    let repeat = send(&app, &customer, &session, "Hi there", "c-1").await;
    assert_eq!(repeat["created"], false);
    assert_eq!(repeat["message"]["id"], first["message"]["id"]);

    let mut agent = app.ws(&acme.owner).await.expect("agent socket");
    agent
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    let history = agent
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history");
    let messages = event(&history)["messages"].as_array().unwrap().clone();
    assert_eq!(messages[0]["body"], "Hi there");
    assert_eq!(messages[0]["senderKind"], "LEAD");
    assert_eq!(
        messages
            .iter()
            .filter(|m| m["clientMessageId"] == "c-1")
            .count(),
        1,
        "the repeated clientMessageId stored one message"
    );

    let mut customer_ws = app.ws(&customer).await.expect("customer socket");
    customer_ws
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    customer_ws
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("customer history");
    let joined = agent
        .next_data_where(WAIT, is("ParticipantJoined"))
        .await
        .expect("agent sees the customer join");
    assert_eq!(event(&joined)["participant"]["kind"], "CUSTOMER");

    // The AI's turn: processing, the customer's message, the reply, completed.
    let question = send(
        &app,
        &customer,
        &session,
        "What are your opening hours?",
        "c-2",
    )
    .await;
    let question_id = question["message"]["id"].as_str().unwrap().to_owned();
    let processing = customer_ws
        .next_data_where(WAIT, is("AiProcessing"))
        .await
        .expect("AiProcessing");
    assert_eq!(event(&processing)["messageId"], question_id);
    let reply = customer_ws
        .next_data_where(WAIT, message_from("AI"))
        .await
        .expect("the AI's reply reaches the customer");
    let reply_id = event(&reply)["message"]["id"].as_str().unwrap().to_owned();
    let completed = customer_ws
        .next_data_where(WAIT, is("AiCompleted"))
        .await
        .expect("AiCompleted");
    assert_eq!(event(&completed)["messageId"], question_id);
    assert_eq!(event(&completed)["replyMessageId"], reply_id);
    agent
        .next_data_where(WAIT, message_from("AI"))
        .await
        .expect("the agent sees the AI's reply too");

    // Typing reaches the other side and lapses without a refresh.
    app.ok(
        &customer,
        "mutation($input: SetTypingInput!) { setTyping(input: $input) }",
        json!({"input": {"sessionId": session, "typing": true}}),
    )
    .await;
    let typing = agent
        .next_data_where(WAIT, is("TypingStarted"))
        .await
        .expect("the agent sees the customer typing");
    assert_eq!(event(&typing)["participant"]["kind"], "CUSTOMER");
    assert_eq!(event(&typing)["participant"]["name"], "Ana Pérez");
    let started = std::time::Instant::now();
    let stopped = agent
        .next_data_where(WAIT, is("TypingStopped"))
        .await
        .expect("the indicator lapses");
    assert_eq!(event(&stopped)["expired"], true);
    assert!(started.elapsed() < Duration::from_secs(5));

    // An explicit stop is not expired; the sender never sees their own typing.
    app.ok(
        &acme.owner,
        "mutation($input: SetTypingInput!) { setTyping(input: $input) }",
        json!({"input": {"sessionId": session, "typing": true}}),
    )
    .await;
    let agent_typing = customer_ws
        .next_data_where(WAIT, is("TypingStarted"))
        .await
        .expect("the customer sees the agent typing");
    assert_eq!(event(&agent_typing)["participant"]["kind"], "AGENT");
    app.ok(
        &acme.owner,
        "mutation($input: SetTypingInput!) { setTyping(input: $input) }",
        json!({"input": {"sessionId": session, "typing": false}}),
    )
    .await;
    let agent_stopped = customer_ws
        .next_data_where(WAIT, is("TypingStopped"))
        .await
        .expect("explicit stop");
    assert_eq!(event(&agent_stopped)["expired"], false);

    // Read receipts: the customer read up to the AI's reply; the agent is told; repeats are no-ops.
    let read = app
        .ok(
            &customer,
            "mutation($input: MarkReadInput!) { markRead(input: $input) { marked } }",
            json!({"input": {"sessionId": session, "upToMessageId": reply_id}}),
        )
        .await;
    assert!(read["markRead"]["marked"].as_i64().unwrap() >= 1);
    let receipt = agent
        .next_data_where(WAIT, is("MessagesRead"))
        .await
        .expect("read receipt");
    assert_eq!(event(&receipt)["reader"]["kind"], "CUSTOMER");
    assert_eq!(event(&receipt)["upToMessageId"], reply_id);
    let again = app
        .ok(
            &customer,
            "mutation($input: MarkReadInput!) { markRead(input: $input) { marked } }",
            json!({"input": {"sessionId": session, "upToMessageId": reply_id}}),
        )
        .await;
    assert_eq!(again["markRead"]["marked"], 0);

    // Leaving is seen; the transcript holds the whole conversation.
    drop(customer_ws);
    let left = agent
        .next_data_where(WAIT, is("ParticipantLeft"))
        .await
        .expect("the agent sees the customer leave");
    assert_eq!(event(&left)["participant"]["kind"], "CUSTOMER");
    let transcript = app
        .ok(
            &acme.owner,
            "query($id: ID!) { transcript(sessionId: $id, format: TEXT) { content messageCount truncated } }",
            json!({"id": session}),
        )
        .await;
    let text = transcript["transcript"]["content"].as_str().unwrap();
    assert!(
        text.contains("Customer: What are your opening hours?"),
        "{text}"
    );
    assert!(text.contains("AI: "), "{text}");
    let json_transcript = app
        .ok(
            &customer,
            "query($id: ID!) { transcript(sessionId: $id, format: JSON) { content messageCount } }",
            json!({"id": session}),
        )
        .await;
    let parsed: Value =
        serde_json::from_str(json_transcript["transcript"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(
        parsed.as_array().unwrap().len() as i64,
        json_transcript["transcript"]["messageCount"]
            .as_i64()
            .unwrap()
    );
}

const DELIVERY: &str = "query($id: ID!) { conversation(id: $id) { messages(first: 50) { edges { node { id senderKind deliveryStatus } } } } }";

/// The delivery status of message `id` of `session`, as agents see it in the inbox.
async fn delivery_status(app: &TestApp, owner: &str, session: &str, id: &str) -> String {
    let data = app.ok(owner, DELIVERY, json!({"id": session})).await;
    data["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["id"] == id)
        .map(|e| e["node"]["deliveryStatus"].as_str().unwrap().to_owned())
        .unwrap_or_else(|| panic!("message {id} not in {data}"))
}

/// Polls until message `id` has `want` (or the wait ends, then fails showing the last status).
async fn wait_delivery(app: &TestApp, owner: &str, session: &str, id: &str, want: &str) {
    let started = std::time::Instant::now();
    loop {
        let status = delivery_status(app, owner, session, id).await;
        if status == want {
            return;
        }
        assert!(
            started.elapsed() < WAIT,
            "{id} is still {status}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_web_chat_reply_becomes_delivered_once_it_reaches_the_customer_socket() {
    let app = spawn_with(SpawnOptions::default()).await;
    let acme = tenant(&app, "chat-delivery").await;
    let customer = customer_token(&app, &acme.api_key, "user-d", "Dana").await;
    let session = open_session(&app, &customer, "Delivery").await;

    // Nobody listens: the AI's reply waits PENDING.
    send(
        &app,
        &customer,
        &session,
        "What are your opening hours?",
        "d-1",
    )
    .await;
    let started = std::time::Instant::now();
    let ai_reply = loop {
        let data = app.ok(&acme.owner, DELIVERY, json!({"id": session})).await;
        let found = data["conversation"]["messages"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["node"]["senderKind"] == "AI")
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned());
        if let Some(id) = found {
            break id;
        }
        assert!(started.elapsed() < WAIT, "no AI reply: {data}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // An agent watching is not the customer.
    let mut agent = app.ws(&acme.owner).await.expect("agent socket");
    agent
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    agent
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("agent history");
    assert_eq!(
        delivery_status(&app, &acme.owner, &session, &ai_reply).await,
        "PENDING",
        "an agent's socket is not the customer's"
    );

    // The customer connects: the history carries the reply, which is now DELIVERED.
    let mut customer_ws = app.ws(&customer).await.expect("customer socket");
    customer_ws
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    customer_ws
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history");
    wait_delivery(&app, &acme.owner, &session, &ai_reply, "DELIVERED").await;

    // Live: an agent's reply reaches the connected customer and becomes DELIVERED.
    let reply = app
        .ok(
            &acme.owner,
            SEND,
            json!({"input": {"sessionId": session, "text": "We open at 9.", "clientMessageId": "a-1"}}),
        )
        .await;
    let reply = reply["sendSupportMessage"]["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    customer_ws
        .next_data_where(WAIT, message_from("AGENT"))
        .await
        .expect("the customer gets the agent's reply");
    wait_delivery(&app, &acme.owner, &session, &reply, "DELIVERED").await;

    // Read wins, and a reconnect never moves a message back.
    app.ok(
        &customer,
        "mutation($input: MarkReadInput!) { markRead(input: $input) { marked } }",
        json!({"input": {"sessionId": session, "upToMessageId": reply}}),
    )
    .await;
    drop(customer_ws);
    let mut again = app.ws(&customer).await.expect("customer socket again");
    again
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    again
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history again");
    assert_eq!(
        delivery_status(&app, &acme.owner, &session, &reply).await,
        "READ"
    );
    assert_eq!(
        delivery_status(&app, &acme.owner, &session, &ai_reply).await,
        "READ"
    );
}

/// Escalates by an explicit request in `language`, then checks queue, assignment, the agent's
/// messages reaching the customer and the AI's silence.
async fn escalation_flow(app: &TestApp, acme: &Tenant, external_id: &str, request: &str) {
    let customer = customer_token(app, &acme.api_key, external_id, "Luis").await;
    let session = open_session(app, &customer, "Billing").await;
    let mut queue = app.ws(&acme.owner).await.expect("queue socket");
    queue.subscribe(QUEUE_EVENTS, json!({})).await;
    queue
        .next_data_where(WAIT, |d| {
            d["supportQueueEvents"]["__typename"] == "QueueSnapshot"
        })
        .await
        .expect("queue snapshot");
    let mut customer_ws = app.ws(&customer).await.expect("customer socket");
    customer_ws
        .subscribe(SESSION_EVENTS, json!({"id": session}))
        .await;
    customer_ws
        .next_data_where(WAIT, is("SessionHistory"))
        .await
        .expect("history");

    send(
        app,
        &customer,
        &session,
        request,
        &format!("{external_id}-1"),
    )
    .await;
    let escalated = queue
        .next_data_where(WAIT, |d| {
            d["supportQueueEvents"]["__typename"] == "SessionEscalated"
                && d["supportQueueEvents"]["session"]["id"] == session
        })
        .await
        .unwrap_or_else(|| panic!("no SessionEscalated for {request:?}"));
    let escalated = &escalated["supportQueueEvents"];
    assert_eq!(escalated["reason"], "EXPLICIT_REQUEST");
    assert_eq!(escalated["session"]["status"], "WAITING");
    assert!(
        escalated["ticket"]["description"]
            .as_str()
            .unwrap()
            .contains(request),
        "the ticket carries the transcript so far: {escalated}"
    );
    let handover = customer_ws
        .next_data_where(WAIT, message_from("SYSTEM"))
        .await
        .expect("the AI says once that a person is coming");
    assert!(event(&handover)["message"]["body"]
        .as_str()
        .unwrap()
        .contains("member of our team"));
    customer_ws
        .next_data_where(WAIT, is("SessionEscalated"))
        .await
        .expect("the customer's stream shows the escalation");

    // The queue query (the shape outside tools rely on).
    let listed = app
        .ok(
            &acme.owner,
            "{ supportQueue { id status waitingSeconds ticket { id priority } } }",
            json!({}),
        )
        .await;
    let entry = listed["supportQueue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == session)
        .cloned()
        .expect("session in the queue");
    assert_eq!(entry["status"], "WAITING");
    assert!(entry["waitingSeconds"].as_i64().unwrap() >= 0);
    assert_eq!(entry["ticket"]["id"], escalated["ticket"]["id"]);

    // The agent takes it: the queue and the customer are told.
    let assigned = app
        .ok(
            &acme.owner,
            "mutation($input: AssignSupportSessionInput!) { assignSupportSession(input: $input) { session { id status handledBy assignee { email } } } }",
            json!({"input": {"sessionId": session}}),
        )
        .await;
    assert_eq!(
        assigned["assignSupportSession"]["session"]["status"],
        "ACTIVE"
    );
    assert_eq!(
        assigned["assignSupportSession"]["session"]["handledBy"],
        "HUMAN"
    );
    queue
        .next_data_where(WAIT, |d| {
            d["supportQueueEvents"]["__typename"] == "SessionAssigned"
                && d["supportQueueEvents"]["session"]["id"] == session
        })
        .await
        .expect("the queue sees the assignment");
    let on_customer = customer_ws
        .next_data_where(WAIT, is("SessionAssigned"))
        .await
        .expect("the customer sees the assignment");
    assert_eq!(event(&on_customer)["agent"]["kind"], "AGENT");

    // The agent's message reaches the customer; the customer's next message gets no AI reply.
    send(app, &acme.owner, &session, "Hi Luis, I'm on it.", "agent-1").await;
    let from_agent = customer_ws
        .next_data_where(WAIT, message_from("AGENT"))
        .await
        .expect("the agent's message reaches the customer");
    assert_eq!(event(&from_agent)["message"]["body"], "Hi Luis, I'm on it.");
    send(
        app,
        &customer,
        &session,
        "Thanks! Any news?",
        &format!("{external_id}-2"),
    )
    .await;
    let after: Vec<Value> = customer_ws.drain(Duration::from_secs(3)).await;
    assert!(
        after.iter().all(|d| !message_from("AI")(d)
            && !is("AiProcessing")(d)
            && !message_from("SYSTEM")(d)),
        "the AI stays silent after the hand-over: {after:?}"
    );

    // Ending resolves it and is seen by both.
    app.ok(
        &acme.owner,
        "mutation($input: EndSupportSessionInput!) { endSupportSession(input: $input) { session { status } } }",
        json!({"input": {"sessionId": session, "resolution": "refund issued"}}),
    )
    .await;
    let ended = customer_ws
        .next_data_where(WAIT, is("SessionEnded"))
        .await
        .expect("SessionEnded");
    assert_eq!(event(&ended)["session"]["status"], "RESOLVED");
    let late = app
        .graphql(
            Some(&customer),
            SEND,
            json!({"input": {"sessionId": session, "text": "hello?", "clientMessageId": format!("{external_id}-3")}}),
        )
        .await;
    assert_eq!(error_code(&late), "CONFLICT");
}

#[tokio::test]
async fn an_explicit_request_for_a_person_escalates_in_english_and_spanish() {
    let app = spawn_with(app_options(&[])).await;
    let acme = tenant(&app, "chat-escalate").await;
    escalation_flow(&app, &acme, "en-user", "I want to talk to a human, please").await;
    escalation_flow(
        &app,
        &acme,
        "es-user",
        "Quiero hablar con una persona, por favor",
    )
    .await;
}

mod access;
