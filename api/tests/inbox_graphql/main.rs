//! The inbox's GraphQL surface, in process: the schema of a real `Application` (port 0, no job
//! workers) over a real database — SQLite by default, PostgreSQL (+ Redis for the bus, when
//! `LEADLINE_TEST_REDIS_URL` is set) with `LEADLINE_TEST_BACKEND=postgres`. Conversations are
//! seeded through `Store::ingest_inbound`, the webhooks' own entry point; callers are real members
//! signed up (and invited) through the schema.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

use std::time::Duration;

use async_graphql::{Request, Variables};
use futures::stream::BoxStream;
use futures::StreamExt;
use leadline_api::app::Application;
use leadline_api::auth::{authenticate, Principal};
use leadline_api::config::Config;
use leadline_api::graphql::{build_schema, AppSchema, SchemaLimits};
use leadline_api::state::AppState;
use leadline_api::store::{InboundContact, InboundMessage, IngestOutcome, Ingested};
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use serde_json::{json, Value};
use uuid::Uuid;

/// The application's state and schema, built as `serve` builds them.
struct Harness {
    state: AppState,
    schema: AppSchema,
    _app: Application,
}

/// A signed-in member of a fresh tenant.
struct Member {
    principal: Principal,
    tenant_id: Uuid,
    user_id: Uuid,
}

async fn harness() -> Harness {
    let url = common::database_url("inbox").await;
    let redis = match std::env::var("LEADLINE_TEST_BACKEND").as_deref() {
        Ok("postgres") => std::env::var("LEADLINE_TEST_REDIS_URL").ok(),
        _ => None,
    };
    let prefix = format!("inbox-{}", Uuid::now_v7().simple());
    let config = Config::from_lookup(|key| match key {
        "DATABASE_URL" => Some(url.clone()),
        "REDIS_URL" => redis.clone(),
        "LEADLINE_REDIS_PREFIX" => Some(prefix.clone()),
        "LEADLINE_ADDR" => Some("127.0.0.1:0".into()),
        "LEADLINE_WORKERS" => Some("0".into()),
        "JWT_SECRET" => Some("an-inbox-test-secret-of-at-least-32-bytes".into()),
        _ => None,
    })
    .expect("config");
    let app = Application::build(config).await.expect("build");
    let state = app.state().clone();
    let expected_bus = if redis.is_some() {
        "redis"
    } else {
        "in-process"
    };
    assert_eq!(state.bus.backend_name(), expected_bus);
    let schema = build_schema(
        Some(state.clone()),
        SchemaLimits {
            max_depth: state.config.max_depth,
            max_complexity: state.config.max_complexity,
            max_root_fields: state.config.max_root_fields,
            introspection: true,
        },
    );
    Harness {
        state,
        schema,
        _app: app,
    }
}

impl Harness {
    /// Runs one operation as `principal` (anonymous when `None`); the whole response as JSON.
    async fn run(&self, principal: Option<&Principal>, query: &str, variables: Value) -> Value {
        let mut request = Request::new(query).variables(Variables::from_json(variables));
        if let Some(principal) = principal {
            request = request.data(principal.clone());
        }
        serde_json::to_value(self.schema.execute(request).await).expect("json")
    }

    /// Runs an operation that must succeed; its `data`.
    async fn ok(&self, principal: &Principal, query: &str, variables: Value) -> Value {
        let response = self.run(Some(principal), query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    async fn principal_for(&self, token: &str) -> Principal {
        authenticate(&self.state.store, &self.state.tokens, Some(token))
            .await
            .expect("token authenticates")
    }

    /// Signs up a new tenant through the schema; its owner.
    async fn sign_up(&self, slug: &str) -> Member {
        let response = self
            .run(
                None,
                "mutation($input: SignUpInput!) { signUp(input: $input) { token user { id } tenant { id } } }",
                json!({"input": {"email": format!("owner@{slug}.test"), "password": "correct horse battery", "tenantName": slug, "tenantSlug": slug}}),
            )
            .await;
        let auth = &response["data"]["signUp"];
        let token = auth["token"]
            .as_str()
            .unwrap_or_else(|| panic!("sign up failed: {response:#}"));
        Member {
            principal: self.principal_for(token).await,
            tenant_id: auth["tenant"]["id"].as_str().unwrap().parse().unwrap(),
            user_id: auth["user"]["id"].as_str().unwrap().parse().unwrap(),
        }
    }

    /// Invites `email` as `role` and accepts the invite with the code from the invite e-mail
    /// (the harness runs no workers, so the `send_email` job is run here); the new member.
    async fn invite(&self, owner: &Member, email: &str, role: &str) -> Member {
        let data = self
            .ok(
                &owner.principal,
                "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invite { id email role } } }",
                json!({"input": {"email": email, "role": role}}),
            )
            .await;
        assert_eq!(data["inviteMember"]["invite"]["email"], email);
        let code = self
            .mailed_code(owner.tenant_id, "invite", "Invite code: ")
            .await;
        let accepted = self
            .run(
                None,
                "mutation($input: AcceptInviteInput!) { acceptInvite(input: $input) { token user { id } } }",
                json!({"input": {"code": code, "password": "another horse battery"}}),
            )
            .await;
        let token = accepted["data"]["acceptInvite"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("accept failed: {accepted:#}"));
        Member {
            principal: self.principal_for(token).await,
            tenant_id: owner.tenant_id,
            user_id: accepted["data"]["acceptInvite"]["user"]["id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
        }
    }

    /// Runs the tenant's newest `send_email` job of `kind` as a worker would and returns the
    /// secret after `marker` in the message it wrote to the outbox.
    async fn mailed_code(&self, tenant_id: Uuid, kind: &str, marker: &str) -> String {
        let job = self
            .jobs_of(tenant_id, leadline_api::mailer::SEND_EMAIL_JOB)
            .await
            .into_iter()
            .find(|j| j.payload["kind"] == kind)
            .expect("a send_email job");
        let handler = leadline_api::mailer::SendEmailHandler::new(
            self.state.store.clone(),
            self.state.mailer.clone(),
        );
        let result = leadline_api::jobs::JobHandler::run(&handler, &job)
            .await
            .expect("the mail is sent");
        let file = result["file"].as_str().expect("written to the outbox");
        let message = std::fs::read_to_string(file).expect("the outbox file");
        message
            .lines()
            .find_map(|line| line.strip_prefix(marker))
            .unwrap_or_else(|| panic!("no {marker:?} in {message}"))
            .trim()
            .to_owned()
    }

    /// Stores one inbound message as a webhook would.
    async fn inbound(
        &self,
        tenant_id: Uuid,
        channel: Channel,
        external_id: &str,
        body: &str,
    ) -> Ingested {
        let message = InboundMessage {
            contact: InboundContact {
                channel,
                external_id: external_id.to_owned(),
                phone: (channel == Channel::Whatsapp).then(|| format!("+{external_id}")),
                display_name: Some(format!("Contact {external_id}")),
            },
            platform_message_id: format!("pm-{}", Uuid::now_v7().simple()),
            body: body.to_owned(),
            metadata: json!({"type": "text"}),
            sent_at: chrono::Utc::now(),
            ai_enabled: true,
        };
        match self
            .state
            .store
            .ingest_inbound(TenantId(tenant_id), &message)
            .await
            .expect("ingest")
        {
            IngestOutcome::Stored(ingested) => *ingested,
            IngestOutcome::Duplicate => panic!("unexpected duplicate"),
        }
    }

    /// The tenant's jobs of `kind`.
    async fn jobs_of(&self, tenant_id: Uuid, kind: &str) -> Vec<leadline_entity::jobs::Model> {
        let page = self
            .state
            .jobs
            .jobs(
                TenantId(tenant_id),
                leadline_api::jobs::JobFilter {
                    status: None,
                    kind: Some(kind.to_owned()),
                },
                leadline_api::store::PageRequest::parse(Some(100), None).unwrap(),
            )
            .await
            .unwrap();
        page.items
    }
}

fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("expected an error: {response:#}"))
}

/// The exact shape outside tools send; it must keep working.
const OUTSIDE_TOOLS_QUERY: &str = r#"
query($filter: ConversationFilterInput, $first: Int, $after: String, $messages: Int) {
  conversations(filter: $filter, first: $first, after: $after) {
    totalCount
    edges {
      node {
        id channel status handledBy
        lead { id name phone score }
        messages(first: $messages) {
          totalCount
          edges { node { id body direction senderKind deliveryStatus } }
        }
      }
    }
  }
}"#;

const SEND: &str = r#"
mutation($input: SendMessageInput!) {
  sendMessage(input: $input) {
    message { id conversationId body direction senderKind senderUserId deliveryStatus clientMessageId }
    conversation { id status handledBy assignee { id email } }
  }
}"#;

#[tokio::test]
async fn the_outside_tools_query_lists_conversations_with_lead_and_messages() {
    let h = harness().await;
    let owner = h.sign_up("inbox-list").await;
    let first = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550001", "hola")
        .await;
    h.inbound(owner.tenant_id, Channel::Whatsapp, "5215550001", "¿precio?")
        .await;
    let insta = h
        .inbound(owner.tenant_id, Channel::Instagram, "ig-778899", "hi there")
        .await;
    h.inbound(owner.tenant_id, Channel::Facebook, "psid-42", "hello")
        .await;
    h.inbound(
        owner.tenant_id,
        Channel::Tiktok,
        "open-id-9",
        "is it in stock?",
    )
    .await;

    let data = h
        .ok(
            &owner.principal,
            OUTSIDE_TOOLS_QUERY,
            json!({"messages": 10}),
        )
        .await;
    let connection = &data["conversations"];
    assert_eq!(connection["totalCount"], 4);
    let edges = connection["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 4);
    // Newest first: TikTok was opened last.
    assert_eq!(edges[0]["node"]["channel"], "TIKTOK");
    let whatsapp = edges
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["channel"] == "WHATSAPP")
        .unwrap();
    assert_eq!(whatsapp["id"], first.conversation.id.to_string());
    assert_eq!(whatsapp["status"], "ACTIVE");
    assert_eq!(whatsapp["handledBy"], "AI");
    assert_eq!(
        whatsapp["lead"],
        json!({"id": first.lead.id.to_string(), "name": "Contact 5215550001", "phone": "+5215550001", "score": 50})
    );
    assert_eq!(whatsapp["messages"]["totalCount"], 2);
    let messages = whatsapp["messages"]["edges"].as_array().unwrap();
    assert_eq!(
        messages[0]["node"],
        json!({"id": messages[0]["node"]["id"], "body": "¿precio?", "direction": "INBOUND", "senderKind": "LEAD", "deliveryStatus": "RECEIVED"})
    );
    assert_eq!(messages[1]["node"]["body"], "hola");

    // Filters: channel, status, leadId (and combinations).
    let by_channel = h
        .ok(
            &owner.principal,
            OUTSIDE_TOOLS_QUERY,
            json!({"filter": {"channel": "INSTAGRAM"}}),
        )
        .await;
    assert_eq!(by_channel["conversations"]["totalCount"], 1);
    assert_eq!(
        by_channel["conversations"]["edges"][0]["node"]["id"],
        insta.conversation.id.to_string()
    );
    let by_lead = h
        .ok(
            &owner.principal,
            OUTSIDE_TOOLS_QUERY,
            json!({"filter": {"leadId": first.lead.id.to_string(), "status": "ACTIVE"}}),
        )
        .await;
    assert_eq!(by_lead["conversations"]["totalCount"], 1);
    let resolved = h
        .ok(
            &owner.principal,
            OUTSIDE_TOOLS_QUERY,
            json!({"filter": {"status": "RESOLVED"}}),
        )
        .await;
    assert_eq!(resolved["conversations"]["totalCount"], 0);
    let human = h
        .ok(
            &owner.principal,
            OUTSIDE_TOOLS_QUERY,
            json!({"filter": {"handledBy": "HUMAN"}}),
        )
        .await;
    assert_eq!(human["conversations"]["totalCount"], 0);

    // Pagination with after cursors walks every conversation once.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = h
            .ok(
                &owner.principal,
                "query($after: String) { conversations(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } }",
                json!({"after": after}),
            )
            .await;
        let page = &page["conversations"];
        assert_eq!(page["totalCount"], 4);
        seen.extend(
            page["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["id"].as_str().unwrap().to_owned()),
        );
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 4);
    seen.dedup();
    assert_eq!(seen.len(), 4);

    // Messages paginate too.
    let page = h
        .ok(
            &owner.principal,
            "query($id: ID!) { conversation(id: $id) { messages(first: 1) { pageInfo { hasNextPage endCursor } nodes { body } } } }",
            json!({"id": first.conversation.id.to_string()}),
        )
        .await;
    let cursor = page["conversation"]["messages"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = h
        .ok(
            &owner.principal,
            "query($id: ID!, $after: String) { conversation(id: $id) { messages(first: 1, after: $after) { pageInfo { hasNextPage } nodes { body } } } }",
            json!({"id": first.conversation.id.to_string(), "after": cursor}),
        )
        .await;
    assert_eq!(
        next["conversation"]["messages"]["nodes"],
        json!([{"body": "hola"}])
    );
    assert_eq!(
        next["conversation"]["messages"]["pageInfo"]["hasNextPage"],
        false
    );

    // A bad filter id is BAD_USER_INPUT naming it; no credentials is UNAUTHENTICATED.
    let bad = h
        .run(
            Some(&owner.principal),
            OUTSIDE_TOOLS_QUERY,
            json!({"filter": {"leadId": "nope"}}),
        )
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    assert_eq!(bad["errors"][0]["extensions"]["field"], "filter.leadId");
    let anonymous = h.run(None, OUTSIDE_TOOLS_QUERY, json!({})).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

#[tokio::test]
async fn another_tenants_conversation_is_not_found() {
    let h = harness().await;
    let a = h.sign_up("inbox-tenant-a").await;
    let b = h.sign_up("inbox-tenant-b").await;
    let theirs = h
        .inbound(b.tenant_id, Channel::Whatsapp, "5215550002", "private")
        .await;
    let id = theirs.conversation.id.to_string();
    let response = h
        .run(
            Some(&a.principal),
            "query($id: ID!) { conversation(id: $id) { id } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(error_code(&response), "NOT_FOUND");
    let send = h
        .run(
            Some(&a.principal),
            SEND,
            json!({"input": {"conversationId": id, "text": "hi"}}),
        )
        .await;
    assert_eq!(error_code(&send), "NOT_FOUND");
    let listed = h.ok(&a.principal, OUTSIDE_TOOLS_QUERY, json!({})).await;
    assert_eq!(listed["conversations"]["totalCount"], 0);
    // The owner sees it, tickets included (none yet).
    let mine = h
        .ok(
            &b.principal,
            "query($id: ID!) { conversation(id: $id) { id aiTurns lastInboundAt tickets { id } assignee { id } lead { name } } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(mine["conversation"]["tickets"], json!([]));
    assert_eq!(mine["conversation"]["assignee"], Value::Null);
}

#[tokio::test]
async fn send_message_stores_a_pending_reply_with_one_send_job_and_pauses_the_ai() {
    let h = harness().await;
    let owner = h.sign_up("inbox-send").await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550003", "hola")
        .await;
    let conversation_id = seeded.conversation.id.to_string();
    let input = json!({"input": {"conversationId": conversation_id, "text": "  Hi! How can I help?  ", "clientMessageId": "c-1"}});

    let data = h.ok(&owner.principal, SEND, input.clone()).await;
    let payload = &data["sendMessage"];
    let message = &payload["message"];
    assert_eq!(message["body"], "Hi! How can I help?");
    assert_eq!(message["direction"], "OUTBOUND");
    assert_eq!(message["senderKind"], "AGENT");
    assert_eq!(message["senderUserId"], owner.user_id.to_string());
    assert_eq!(message["deliveryStatus"], "PENDING");
    assert_eq!(message["clientMessageId"], "c-1");
    assert_eq!(message["conversationId"], conversation_id);
    assert_eq!(payload["conversation"]["handledBy"], "HUMAN");
    assert_eq!(payload["conversation"]["status"], "ACTIVE");
    assert_eq!(
        payload["conversation"]["assignee"],
        json!({"id": owner.user_id.to_string(), "email": "owner@inbox-send.test"})
    );

    let jobs = h.jobs_of(owner.tenant_id, "send_whatsapp").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].payload, json!({"messageId": message["id"]}));
    assert_eq!(
        jobs[0].idempotency_key.as_deref(),
        Some(format!("send:{}", message["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(jobs[0].status, "PENDING");
    assert_eq!(
        jobs[0].max_attempts,
        leadline_api::jobs::DEFAULT_MAX_ATTEMPTS
    );

    // The same clientMessageId again: the first message, no second job.
    let again = h.ok(&owner.principal, SEND, input).await;
    assert_eq!(again["sendMessage"]["message"]["id"], message["id"]);
    assert_eq!(h.jobs_of(owner.tenant_id, "send_whatsapp").await.len(), 1);
    let listed = h
        .ok(
            &owner.principal,
            "query($id: ID!) { conversation(id: $id) { handledBy messages { totalCount nodes { direction } } } }",
            json!({"id": conversation_id}),
        )
        .await;
    assert_eq!(listed["conversation"]["messages"]["totalCount"], 2);
    assert_eq!(listed["conversation"]["handledBy"], "HUMAN");

    // The AI is paused there: the lead's next message enqueues no AI turn.
    let next = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550003", "gracias")
        .await;
    assert_eq!(next.conversation.id, seeded.conversation.id);
    assert!(next.ai_job.is_none(), "the AI must stay silent");

    // Other channels get their own send job kind.
    for (channel, external, kind) in [
        (Channel::Instagram, "ig-1", "send_instagram"),
        (Channel::Facebook, "psid-1", "send_facebook"),
        (Channel::Tiktok, "tt-1", "send_tiktok"),
    ] {
        let other = h.inbound(owner.tenant_id, channel, external, "hey").await;
        h.ok(
            &owner.principal,
            SEND,
            json!({"input": {"conversationId": other.conversation.id.to_string(), "text": "hello"}}),
        )
        .await;
        assert_eq!(h.jobs_of(owner.tenant_id, kind).await.len(), 1, "{kind}");
    }
}

#[tokio::test]
async fn invalid_replies_are_refused_with_typed_errors() {
    let h = harness().await;
    let owner = h.sign_up("inbox-invalid").await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550004", "hola")
        .await;
    let id = seeded.conversation.id.to_string();

    let empty = h
        .run(
            Some(&owner.principal),
            SEND,
            json!({"input": {"conversationId": id, "text": "   "}}),
        )
        .await;
    assert_eq!(error_code(&empty), "BAD_USER_INPUT");
    assert_eq!(empty["errors"][0]["extensions"]["field"], "text");
    let long = h
        .run(
            Some(&owner.principal),
            SEND,
            json!({"input": {"conversationId": id, "text": "x".repeat(4097)}}),
        )
        .await;
    assert_eq!(error_code(&long), "BAD_USER_INPUT");
    assert_eq!(long["errors"][0]["extensions"]["field"], "text");
    let exactly = h
        .run(
            Some(&owner.principal),
            SEND,
            json!({"input": {"conversationId": id, "text": "é".repeat(4096)}}),
        )
        .await;
    assert!(exactly.get("errors").is_none(), "{exactly:#}");
    let bad_id = h
        .run(
            Some(&owner.principal),
            SEND,
            json!({"input": {"conversationId": "not-an-id", "text": "hi"}}),
        )
        .await;
    assert_eq!(error_code(&bad_id), "BAD_USER_INPUT");
    assert_eq!(bad_id["errors"][0]["extensions"]["field"], "conversationId");

    // Resolved: replies are a CONFLICT, and nothing was stored or enqueued by the attempt.
    h.ok(
        &owner.principal,
        "mutation($input: ResolveConversationInput!) { resolveConversation(input: $input) { conversation { status } } }",
        json!({"input": {"conversationId": id}}),
    )
    .await;
    let before = h.jobs_of(owner.tenant_id, "send_whatsapp").await.len();
    let conflict = h
        .run(
            Some(&owner.principal),
            SEND,
            json!({"input": {"conversationId": id, "text": "still there?"}}),
        )
        .await;
    assert_eq!(error_code(&conflict), "CONFLICT");
    assert!(conflict["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("resolved"));
    assert_eq!(
        h.jobs_of(owner.tenant_id, "send_whatsapp").await.len(),
        before
    );
}

mod conversations;
