//! Attacks on support (see `attacks.rs`): taking over an anonymous visitor with the id every
//! token carries, chatting anonymously with a tenant that never opened a public chat, flooding
//! a session, reading a tenant's internals through a customer token, reaching another tenant's
//! session, and changing who handles a conversation without a trace.

use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::{error_code, spawn_with, SpawnOptions, TestApp};

const START: &str = "mutation($input: StartVisitorSessionInput!) { startVisitorSession(input: $input) { token visitorId customerId resumeSecret resumed } }";
const OPEN: &str =
    "mutation { createSupportSession(input: {subject: \"help\"}) { created session { id } } }";
const SEND: &str = "mutation($input: SendSupportMessageInput!) { sendSupportMessage(input: $input) { created message { id body } } }";
const ENABLE_WEB_CHAT: &str = "mutation($status: ConnectionStatus!) { upsertChannelConnection(input: {channel: WEB_CHAT, status: $status}) { connection { status } } }";
const ASSIGN_SESSION: &str = "mutation($input: AssignSupportSessionInput!) { assignSupportSession(input: $input) { session { id status handledBy } } }";
const END_SESSION: &str = "mutation($input: EndSupportSessionInput!) { endSupportSession(input: $input) { session { id status } } }";

fn options(env: &[(&str, &str)]) -> SpawnOptions {
    SpawnOptions {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Default::default()
    }
}

/// A tenant whose owner turned web chat on; returns the owner's token.
async fn tenant_with_web_chat(app: &TestApp, slug: &str) -> String {
    let owner = app.sign_up(slug).await;
    set_web_chat(app, &owner, "CONNECTED").await;
    owner
}

async fn set_web_chat(app: &TestApp, owner: &str, status: &str) {
    let data = app
        .ok(owner, ENABLE_WEB_CHAT, json!({"status": status}))
        .await;
    assert_eq!(
        data["upsertChannelConnection"]["connection"]["status"],
        status
    );
}

/// `startVisitorSession`'s payload (panics on an error).
async fn start_visitor(app: &TestApp, slug: &str, visitor: Option<(&str, &str)>) -> Value {
    let mut input = json!({"tenantSlug": slug});
    if let Some((id, secret)) = visitor {
        input["visitorId"] = json!(id);
        if !secret.is_empty() {
            input["resumeSecret"] = json!(secret);
        }
    }
    let response = app.graphql(None, START, json!({"input": input})).await;
    assert!(response.get("errors").is_none(), "{response:#}");
    response["data"]["startVisitorSession"].clone()
}

fn field<'a>(value: &'a Value, name: &str) -> &'a str {
    value[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {value}"))
}

async fn open_session(app: &TestApp, customer: &str) -> String {
    let data = app.ok(customer, OPEN, json!({})).await;
    field(&data["createSupportSession"]["session"], "id").to_owned()
}

async fn send(app: &TestApp, token: &str, session: &str, text: &str, client_id: &str) -> Value {
    app.graphql(
        Some(token),
        SEND,
        json!({"input": {"sessionId": session, "text": text, "clientMessageId": client_id}}),
    )
    .await
}

async fn audit_actions(app: &TestApp, owner: &str) -> Vec<(String, String)> {
    let data = app
        .ok(
            owner,
            "{ auditLog(first: 100) { edges { node { action targetId } } } }",
            json!({}),
        )
        .await;
    data["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["node"]["action"].as_str().unwrap().to_owned(),
                e["node"]["targetId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_visitor_id_alone_does_not_resume_a_visitor_and_a_used_secret_stops_working() {
    let app = spawn_with(options(&[])).await;
    tenant_with_web_chat(&app, "visit-resume").await;
    let first = start_visitor(&app, "visit-resume", None).await;
    assert_eq!(first["resumed"], false);
    let visitor_id = field(&first, "visitorId").to_owned();
    let secret_1 = field(&first, "resumeSecret").to_owned();
    let token = field(&first, "token").to_owned();
    let session = open_session(&app, &token).await;
    let stored = send(
        &app,
        &token,
        &session,
        "my order 1042, card ending 4242",
        "v-1",
    )
    .await;
    assert!(stored.get("errors").is_none(), "{stored:#}");

    // The attacker read the visitor id out of a token (or guessed it) and has no secret.
    for secret in ["", "not-the-secret"] {
        let stolen = start_visitor(&app, "visit-resume", Some((visitor_id.as_str(), secret))).await;
        assert_eq!(stolen["resumed"], false, "{stolen}");
        assert_ne!(stolen["visitorId"], first["visitorId"]);
        assert_ne!(stolen["customerId"], first["customerId"]);
        let attacker = field(&stolen, "token");
        let active = app
            .ok(attacker, "{ activeSupportSession { id } }", json!({}))
            .await;
        assert_eq!(active["activeSupportSession"], Value::Null);
        let peek = app
            .graphql(
                Some(attacker),
                "query($id: ID!) { supportSession(id: $id) { id messages { edges { node { body } } } } }",
                json!({"id": session}),
            )
            .await;
        assert_eq!(error_code(&peek), "NOT_FOUND", "{peek}");
    }

    // The visitor comes back with the secret: same customer, same session, a new secret.
    let back = start_visitor(
        &app,
        "visit-resume",
        Some((visitor_id.as_str(), secret_1.as_str())),
    )
    .await;
    assert_eq!(back["resumed"], true, "{back}");
    assert_eq!(back["visitorId"], first["visitorId"]);
    assert_eq!(back["customerId"], first["customerId"]);
    let secret_2 = field(&back, "resumeSecret").to_owned();
    assert_ne!(secret_2, secret_1, "the secret rotates");
    let history = app
        .ok(
            field(&back, "token"),
            "{ activeSupportSession { id messages { edges { node { body } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(history["activeSupportSession"]["id"], session);
    assert!(history.to_string().contains("my order 1042"));

    // The secret used for that resume is spent: whoever copied it gets a new visitor.
    let replay = start_visitor(
        &app,
        "visit-resume",
        Some((visitor_id.as_str(), secret_1.as_str())),
    )
    .await;
    assert_eq!(replay["resumed"], false, "{replay}");
    assert_ne!(replay["customerId"], first["customerId"]);
    // The newest secret still works (and rotates again).
    let again = start_visitor(
        &app,
        "visit-resume",
        Some((visitor_id.as_str(), secret_2.as_str())),
    )
    .await;
    assert_eq!(again["resumed"], true, "{again}");
    assert_eq!(again["customerId"], first["customerId"]);
    assert_ne!(again["resumeSecret"], json!(secret_2));

    // Two resumes racing with one secret (a copied secret used at the same moment): one wins.
    let secret_3 = field(&again, "resumeSecret").to_owned();
    let (a, b) = tokio::join!(
        start_visitor(
            &app,
            "visit-resume",
            Some((visitor_id.as_str(), secret_3.as_str()))
        ),
        start_visitor(
            &app,
            "visit-resume",
            Some((visitor_id.as_str(), secret_3.as_str()))
        ),
    );
    assert_eq!(
        [&a, &b].iter().filter(|p| p["resumed"] == true).count(),
        1,
        "{a} {b}"
    );
    let winner = if a["resumed"] == true { &a } else { &b };

    // A visitor of one tenant cannot be resumed through another tenant, secret or not.
    tenant_with_web_chat(&app, "visit-other").await;
    let elsewhere = start_visitor(
        &app,
        "visit-other",
        Some((visitor_id.as_str(), field(winner, "resumeSecret"))),
    )
    .await;
    assert_eq!(elsewhere["resumed"], false);
    assert_ne!(elsewhere["customerId"], first["customerId"]);
}

#[tokio::test]
async fn anonymous_chat_is_refused_until_the_tenant_enables_web_chat() {
    let app = spawn_with(options(&[])).await;
    let owner = app.sign_up("visit-gated").await;
    let refused = app
        .graphql(None, START, json!({"input": {"tenantSlug": "visit-gated"}}))
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");
    assert!(refused["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("web chat"));

    set_web_chat(&app, &owner, "CONNECTED").await;
    let visitor = start_visitor(&app, "visit-gated", None).await;
    let token = field(&visitor, "token").to_owned();
    let session = open_session(&app, &token).await;
    let sent = send(&app, &token, &session, "hello", "g-1").await;
    assert!(sent.get("errors").is_none(), "{sent:#}");

    // Switched off again: new visitors are refused and existing visitors stop at once.
    set_web_chat(&app, &owner, "DISCONNECTED").await;
    let late = app
        .graphql(None, START, json!({"input": {"tenantSlug": "visit-gated"}}))
        .await;
    assert_eq!(error_code(&late), "FORBIDDEN");
    let cut = send(&app, &token, &session, "still there?", "g-2").await;
    assert_eq!(error_code(&cut), "FORBIDDEN", "{cut}");
    // Customers the tenant's backend vouches for (createCustomerToken) are not anonymous.
    let key = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"site\", scopes: [READ, WRITE]}) { key } }",
            json!({}),
        )
        .await;
    let customer = app
        .ok(
            key["createApiKey"]["key"].as_str().unwrap(),
            "mutation { createCustomerToken(input: {externalUserId: \"u-1\", name: \"Una\"}) { token } }",
            json!({}),
        )
        .await;
    let customer = customer["createCustomerToken"]["token"].as_str().unwrap();
    let theirs = open_session(&app, customer).await;
    let fine = send(&app, customer, &theirs, "hello", "c-1").await;
    assert!(fine.get("errors").is_none(), "{fine:#}");
}

#[tokio::test]
async fn a_flooding_visitor_is_rate_limited_while_another_visitor_keeps_chatting() {
    let app = spawn_with(options(&[("LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE", "3")])).await;
    tenant_with_web_chat(&app, "visit-flood").await;
    let flooder = start_visitor(&app, "visit-flood", None).await;
    let flooder = field(&flooder, "token").to_owned();
    let session = open_session(&app, &flooder).await;
    for i in 0..3 {
        let ok = send(&app, &flooder, &session, "spam", &format!("f-{i}")).await;
        assert!(ok.get("errors").is_none(), "{ok:#}");
    }
    let limited = send(&app, &flooder, &session, "spam", "f-3").await;
    assert_eq!(error_code(&limited), "RATE_LIMITED", "{limited}");
    assert!(
        limited["errors"][0]["extensions"]["retryAfterSeconds"]
            .as_u64()
            .unwrap()
            >= 1
    );
    // A retry of an accepted message is answered, not refused (nothing new is stored).
    let retry = send(&app, &flooder, &session, "spam", "f-0").await;
    assert_eq!(
        retry["data"]["sendSupportMessage"]["created"], false,
        "{retry}"
    );

    let other = start_visitor(&app, "visit-flood", None).await;
    let other = field(&other, "token").to_owned();
    let theirs = open_session(&app, &other).await;
    let fine = send(&app, &other, &theirs, "hello, a real question", "o-1").await;
    assert!(
        fine.get("errors").is_none(),
        "another visitor still chats: {fine:#}"
    );
}

#[tokio::test]
async fn a_session_holds_a_bounded_number_of_customer_messages() {
    let app = spawn_with(options(&[
        ("LEADLINE_SUPPORT_SESSION_MAX_MESSAGES", "2"),
        ("LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE", "0"),
    ]))
    .await;
    let owner = tenant_with_web_chat(&app, "visit-capped").await;
    let visitor = start_visitor(&app, "visit-capped", None).await;
    let token = field(&visitor, "token").to_owned();
    let session = open_session(&app, &token).await;
    for i in 0..2 {
        let ok = send(&app, &token, &session, "question", &format!("q-{i}")).await;
        assert!(ok.get("errors").is_none(), "{ok:#}");
    }
    let full = send(&app, &token, &session, "question", "q-2").await;
    assert_eq!(error_code(&full), "LIMIT_REACHED", "{full}");
    assert_eq!(
        full["errors"][0]["extensions"]["limit"],
        "SUPPORT_SESSION_MESSAGES"
    );
    // The agent can still answer, and a new session starts afresh once this one ends.
    app.ok(
        &owner,
        END_SESSION,
        json!({"input": {"sessionId": session, "resolution": "answered"}}),
    )
    .await;
    let next = open_session(&app, &token).await;
    assert_ne!(next, session);
    let ok = send(&app, &token, &next, "one more", "n-0").await;
    assert!(ok.get("errors").is_none(), "{ok:#}");
}

/// Polls the agent's view until the session is WAITING (the AI escalated it).
async fn wait_for_escalation(app: &TestApp, owner: &str, session: &str) {
    for _ in 0..150 {
        let data = app
            .ok(
                owner,
                "query($id: ID!) { supportSession(id: $id) { status } }",
                json!({"id": session}),
            )
            .await;
        if data["supportSession"]["status"] == "WAITING" {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the session was never escalated");
}

const INTERNALS: &str = "query($id: ID!) { supportSession(id: $id) { ticket { id subject status priority description } assignee { email } agent { kind name } } }";

#[tokio::test]
async fn a_customer_token_sees_no_ticket_internals_lead_scores_or_agent_emails() {
    let app = spawn_with(options(&[])).await;
    let owner = tenant_with_web_chat(&app, "visit-internals").await;
    let visitor = start_visitor(&app, "visit-internals", None).await;
    let token = field(&visitor, "token").to_owned();
    let lead_id = field(&visitor, "customerId").to_owned();
    let session = open_session(&app, &token).await;
    let asked = send(
        &app,
        &token,
        &session,
        "I want to talk to a human, please",
        "h-1",
    )
    .await;
    assert!(asked.get("errors").is_none(), "{asked:#}");
    wait_for_escalation(&app, &owner, &session).await;
    app.ok(
        &owner,
        ASSIGN_SESSION,
        json!({"input": {"sessionId": session}}),
    )
    .await;

    // The agent sees everything.
    let staff = app.ok(&owner, INTERNALS, json!({"id": session})).await;
    let staff = &staff["supportSession"];
    assert!(staff["ticket"]["priority"].is_string(), "{staff}");
    assert!(staff["ticket"]["description"].is_string(), "{staff}");
    assert_eq!(staff["assignee"]["email"], "owner@visit-internals.test");
    let lead = app
        .ok(
            &owner,
            "query($id: ID!) { lead(id: $id) { score } }",
            json!({"id": lead_id}),
        )
        .await;
    assert!(lead["lead"]["score"].is_number(), "{lead}");

    // The customer sees the ticket exists and who helps them by display name, nothing else.
    let response = app
        .graphql(Some(&token), INTERNALS, json!({"id": session}))
        .await;
    assert!(response.get("errors").is_none(), "{response:#}");
    let mine = &response["data"]["supportSession"];
    assert!(mine["ticket"]["id"].is_string(), "{mine}");
    assert_eq!(mine["ticket"]["priority"], Value::Null, "{mine}");
    assert_eq!(mine["ticket"]["description"], Value::Null, "{mine}");
    assert_eq!(mine["assignee"], Value::Null, "{mine}");
    assert_eq!(mine["agent"]["kind"], "AGENT");
    assert!(
        !mine.to_string().contains('@'),
        "no e-mail reaches the customer: {mine}"
    );
    let score = app
        .graphql(
            Some(&token),
            "query($id: ID!) { lead(id: $id) { score } }",
            json!({"id": lead_id}),
        )
        .await;
    assert_eq!(error_code(&score), "FORBIDDEN", "{score}");
    assert_eq!(score["data"], Value::Null);

    // Nor does the end-of-chat note or the transcript name the agent's e-mail.
    app.ok(
        &owner,
        END_SESSION,
        json!({"input": {"sessionId": session, "resolution": "sorted"}}),
    )
    .await;
    let transcript = app
        .ok(
            &token,
            "query($id: ID!) { transcript(sessionId: $id) { content } }",
            json!({"id": session}),
        )
        .await;
    let content = transcript["transcript"]["content"].as_str().unwrap();
    assert!(content.contains("Chat ended by"), "{content}");
    assert!(!content.contains("owner@visit-internals.test"), "{content}");
}

#[tokio::test]
async fn another_tenants_agent_cannot_see_assign_or_end_a_session() {
    let app = spawn_with(options(&[])).await;
    let owner = tenant_with_web_chat(&app, "visit-home").await;
    let stranger = app.sign_up("visit-stranger").await;
    let visitor = start_visitor(&app, "visit-home", None).await;
    let token = field(&visitor, "token").to_owned();
    let session = open_session(&app, &token).await;

    let look = app
        .graphql(
            Some(&stranger),
            "query($id: ID!) { supportSession(id: $id) { id } }",
            json!({"id": session}),
        )
        .await;
    assert_eq!(error_code(&look), "NOT_FOUND", "{look}");
    let take = app
        .graphql(
            Some(&stranger),
            ASSIGN_SESSION,
            json!({"input": {"sessionId": session}}),
        )
        .await;
    assert_eq!(error_code(&take), "NOT_FOUND", "{take}");
    let end = app
        .graphql(
            Some(&stranger),
            END_SESSION,
            json!({"input": {"sessionId": session, "resolution": "mine now"}}),
        )
        .await;
    assert_eq!(error_code(&end), "NOT_FOUND", "{end}");
    for mutation in [
        "mutation($id: ID!) { assignConversation(input: {conversationId: $id}) { conversation { id } } }",
        "mutation($id: ID!) { resolveConversation(input: {conversationId: $id}) { conversation { id } } }",
        "mutation($id: ID!) { handBackToAi(input: {conversationId: $id}) { conversation { id } } }",
    ] {
        let response = app
            .graphql(Some(&stranger), mutation, json!({"id": session}))
            .await;
        assert_eq!(error_code(&response), "NOT_FOUND", "{response}");
    }

    // Nothing changed, and the tenant's own agent still can.
    let mine = app
        .ok(
            &owner,
            ASSIGN_SESSION,
            json!({"input": {"sessionId": session}}),
        )
        .await;
    assert_eq!(
        mine["assignSupportSession"]["session"]["handledBy"],
        "HUMAN"
    );
    assert!(audit_actions(&app, &stranger)
        .await
        .iter()
        .all(|(action, _)| !action.starts_with("support_session")
            && !action.starts_with("conversation.")));
}

#[tokio::test]
async fn assign_resolve_hand_back_and_end_are_audited() {
    let app = spawn_with(options(&[])).await;
    let owner = tenant_with_web_chat(&app, "visit-audit").await;
    let visitor = start_visitor(&app, "visit-audit", None).await;
    let token = field(&visitor, "token").to_owned();
    let session = open_session(&app, &token).await;

    app.ok(
        &owner,
        "mutation($id: ID!) { assignConversation(input: {conversationId: $id}) { conversation { id } } }",
        json!({"id": session}),
    )
    .await;
    app.ok(
        &owner,
        "mutation($id: ID!) { handBackToAi(input: {conversationId: $id}) { conversation { handledBy } } }",
        json!({"id": session}),
    )
    .await;
    app.ok(
        &owner,
        ASSIGN_SESSION,
        json!({"input": {"sessionId": session}}),
    )
    .await;
    app.ok(
        &owner,
        END_SESSION,
        json!({"input": {"sessionId": session, "resolution": "done"}}),
    )
    .await;
    // Ending an ended session changes nothing and writes nothing.
    app.ok(
        &owner,
        END_SESSION,
        json!({"input": {"sessionId": session, "resolution": "done again"}}),
    )
    .await;
    let second = open_session(&app, &token).await;
    app.ok(
        &owner,
        "mutation($id: ID!) { resolveConversation(input: {conversationId: $id}) { conversation { status } } }",
        json!({"id": second}),
    )
    .await;

    let actions = audit_actions(&app, &owner).await;
    let on = |target: &str| -> Vec<&str> {
        let mut found: Vec<&str> = actions
            .iter()
            .filter(|(_, t)| t == target)
            .map(|(a, _)| a.as_str())
            .collect();
        found.reverse(); // the log is newest first
        found
    };
    assert_eq!(
        on(&session),
        vec![
            "conversation.assigned",
            "conversation.handed_back_to_ai",
            "support_session.assigned",
            "support_session.ended",
        ],
        "{actions:?}"
    );
    assert_eq!(on(&second), vec!["conversation.resolved"], "{actions:?}");

    // The rows say who and what: the owner, the state before and after.
    let data = app
        .ok(
            &owner,
            "{ auditLog(first: 20) { edges { node { action actorUserId details } } } }",
            json!({}),
        )
        .await;
    let handed_back = data["auditLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["action"] == "conversation.handed_back_to_ai")
        .expect("hand-back row");
    assert!(handed_back["actorUserId"].is_string());
    assert_eq!(handed_back["details"]["before"]["handledBy"], "HUMAN");
    assert_eq!(handed_back["details"]["after"]["handledBy"], "AI");
}
