//! What members do to conversations through GraphQL: assignment, hand-back and resolution, who
//! may not change them, WEB_CHAT replies, and the subscriptions that report it.

use super::*;

const ASSIGN: &str = "mutation($input: AssignConversationInput!) { assignConversation(input: $input) { conversation { status handledBy assignee { id email } } } }";
const HAND_BACK: &str = "mutation($input: HandBackToAiInput!) { handBackToAi(input: $input) { conversation { status handledBy assignee { id } } } }";
const RESOLVE: &str = "mutation($input: ResolveConversationInput!) { resolveConversation(input: $input) { conversation { id status } } }";

/// A tenant with an AGENT and one open WhatsApp conversation from `phone`.
struct Assignable {
    owner: Member,
    agent: Member,
    seeded: Ingested,
    /// The conversation's id, as GraphQL takes it.
    id: String,
}

async fn assignable(h: &Harness, slug: &str, phone: &str) -> Assignable {
    let owner = h.sign_up(slug).await;
    let agent = h
        .invite(&owner, &format!("agent@{slug}.test"), "AGENT")
        .await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::Whatsapp, phone, "hola")
        .await;
    let id = seeded.conversation.id.to_string();
    Assignable {
        owner,
        agent,
        seeded,
        id,
    }
}

#[tokio::test]
async fn assigning_to_someone_who_is_not_a_member_is_refused_on_agent_id() {
    let h = harness().await;
    let a = assignable(&h, "inbox-assign-foreign", "5215550015").await;
    let other = h.sign_up("inbox-assign-other").await;
    let foreign = h
        .run(
            Some(&a.owner.principal),
            ASSIGN,
            json!({"input": {"conversationId": a.id, "agentId": other.user_id.to_string()}}),
        )
        .await;
    assert_eq!(error_code(&foreign), "BAD_USER_INPUT");
    assert_eq!(foreign["errors"][0]["extensions"]["field"], "agentId");
}

#[tokio::test]
async fn assignment_goes_to_the_named_agent_or_the_caller_and_hands_the_conversation_to_a_human() {
    let h = harness().await;
    let a = assignable(&h, "inbox-assign", "5215550005").await;
    let assigned = h
        .ok(
            &a.owner.principal,
            ASSIGN,
            json!({"input": {"conversationId": a.id, "agentId": a.agent.user_id.to_string()}}),
        )
        .await;
    assert_eq!(
        assigned["assignConversation"]["conversation"],
        json!({"status": "ACTIVE", "handledBy": "HUMAN", "assignee": {"id": a.agent.user_id.to_string(), "email": "agent@inbox-assign.test"}})
    );
    // Default assignee: the caller.
    let mine = h
        .ok(
            &a.owner.principal,
            ASSIGN,
            json!({"input": {"conversationId": a.id}}),
        )
        .await;
    assert_eq!(
        mine["assignConversation"]["conversation"]["assignee"]["id"],
        a.owner.user_id.to_string()
    );
    let by_assignee = h
        .ok(
            &a.owner.principal,
            "query($id: ID!) { conversations(filter: {assigneeId: $id, handledBy: HUMAN}) { totalCount } }",
            json!({"id": a.owner.user_id.to_string()}),
        )
        .await;
    assert_eq!(by_assignee["conversations"]["totalCount"], 1);
}

#[tokio::test]
async fn another_agents_reply_does_not_take_the_conversation_from_its_assignee() {
    let h = harness().await;
    let a = assignable(&h, "inbox-assign-reply", "5215550025").await;
    h.ok(
        &a.owner.principal,
        ASSIGN,
        json!({"input": {"conversationId": a.id}}),
    )
    .await;
    let reply = h
        .ok(
            &a.agent.principal,
            SEND,
            json!({"input": {"conversationId": a.id, "text": "on it"}}),
        )
        .await;
    assert_eq!(
        reply["sendMessage"]["conversation"]["assignee"]["id"],
        a.owner.user_id.to_string()
    );
}

#[tokio::test]
async fn a_conversation_handed_back_to_the_ai_is_unassigned_and_the_ai_answers_again() {
    let h = harness().await;
    let a = assignable(&h, "inbox-hand-back", "5215550035").await;
    h.ok(
        &a.owner.principal,
        ASSIGN,
        json!({"input": {"conversationId": a.id}}),
    )
    .await;
    let back = h
        .ok(
            &a.owner.principal,
            HAND_BACK,
            json!({"input": {"conversationId": a.id}}),
        )
        .await;
    assert_eq!(
        back["handBackToAi"]["conversation"],
        json!({"status": "ACTIVE", "handledBy": "AI", "assignee": null})
    );
    let next = h
        .inbound(
            a.owner.tenant_id,
            Channel::Whatsapp,
            "5215550035",
            "¿sigue ahí?",
        )
        .await;
    assert!(next.ai_job.is_some());
}

#[tokio::test]
async fn resolving_twice_changes_nothing_and_a_resolved_conversation_cannot_be_handed_back() {
    let h = harness().await;
    let a = assignable(&h, "inbox-resolve", "5215550045").await;
    for _ in 0..2 {
        let resolved = h
            .ok(
                &a.owner.principal,
                RESOLVE,
                json!({"input": {"conversationId": a.id}}),
            )
            .await;
        assert_eq!(
            resolved["resolveConversation"]["conversation"]["status"],
            "RESOLVED"
        );
    }
    let reopen = h
        .run(
            Some(&a.owner.principal),
            HAND_BACK,
            json!({"input": {"conversationId": a.id}}),
        )
        .await;
    assert_eq!(error_code(&reopen), "CONFLICT");
}

#[tokio::test]
async fn after_resolution_the_leads_next_message_opens_a_new_conversation_for_the_same_lead() {
    let h = harness().await;
    let a = assignable(&h, "inbox-reopen", "5215550055").await;
    h.ok(
        &a.owner.principal,
        RESOLVE,
        json!({"input": {"conversationId": a.id}}),
    )
    .await;
    let fresh = h
        .inbound(
            a.owner.tenant_id,
            Channel::Whatsapp,
            "5215550055",
            "otra pregunta",
        )
        .await;
    assert!(fresh.conversation_created);
    assert_ne!(fresh.conversation.id, a.seeded.conversation.id);
    assert_eq!(fresh.lead.id, a.seeded.lead.id);
    let by_lead = h
        .ok(
            &a.owner.principal,
            OUTSIDE_TOOLS_QUERY,
            json!({"filter": {"leadId": a.seeded.lead.id.to_string()}}),
        )
        .await;
    assert_eq!(by_lead["conversations"]["totalCount"], 2);
}

#[tokio::test]
async fn viewers_and_read_keys_cannot_change_conversations() {
    let h = harness().await;
    let owner = h.sign_up("inbox-viewer").await;
    let viewer = h.invite(&owner, "viewer@inbox-viewer.test", "VIEWER").await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550006", "hola")
        .await;
    let id = seeded.conversation.id.to_string();

    // Viewers read...
    let listed = h
        .ok(&viewer.principal, OUTSIDE_TOOLS_QUERY, json!({}))
        .await;
    assert_eq!(listed["conversations"]["totalCount"], 1);
    // ...but do not reply, assign, hand back or resolve.
    let send = h
        .run(
            Some(&viewer.principal),
            SEND,
            json!({"input": {"conversationId": id, "text": "hi"}}),
        )
        .await;
    assert_eq!(error_code(&send), "FORBIDDEN");
    for mutation in [
        "mutation($id: ID!) { assignConversation(input: {conversationId: $id}) { conversation { id } } }",
        "mutation($id: ID!) { handBackToAi(input: {conversationId: $id}) { conversation { id } } }",
        "mutation($id: ID!) { resolveConversation(input: {conversationId: $id}) { conversation { id } } }",
    ] {
        let response = h
            .run(Some(&viewer.principal), mutation, json!({"id": id}))
            .await;
        assert_eq!(error_code(&response), "FORBIDDEN", "{mutation}");
    }
    // Nobody may assign a conversation to a viewer.
    let to_viewer = h
        .run(
            Some(&owner.principal),
            "mutation($id: ID!, $user: ID) { assignConversation(input: {conversationId: $id, agentId: $user}) { conversation { id } } }",
            json!({"id": id, "user": viewer.user_id.to_string()}),
        )
        .await;
    assert_eq!(error_code(&to_viewer), "BAD_USER_INPUT");

    // A READ-scope API key cannot reply either.
    let key = h
        .ok(
            &owner.principal,
            "mutation { createApiKey(input: {name: \"dashboard\", scopes: [READ]}) { key } }",
            json!({}),
        )
        .await;
    let key = h
        .principal_for(key["createApiKey"]["key"].as_str().unwrap())
        .await;
    let send = h
        .run(
            Some(&key),
            SEND,
            json!({"input": {"conversationId": id, "text": "hi"}}),
        )
        .await;
    assert_eq!(error_code(&send), "FORBIDDEN");
    assert!(h.jobs_of(owner.tenant_id, "send_whatsapp").await.is_empty());
}

#[tokio::test]
async fn web_chat_replies_are_stored_without_a_send_job() {
    let h = harness().await;
    let owner = h.sign_up("inbox-webchat").await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::WebChat, "visitor-1", "hello")
        .await;
    let data = h
        .ok(
            &owner.principal,
            SEND,
            json!({"input": {"conversationId": seeded.conversation.id.to_string(), "text": "hi!"}}),
        )
        .await;
    assert_eq!(data["sendMessage"]["message"]["deliveryStatus"], "PENDING");
    let jobs = h
        .state
        .jobs
        .jobs(
            TenantId(owner.tenant_id),
            leadline_api::jobs::JobFilter::default(),
            leadline_api::store::PageRequest::parse(Some(100), None).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        // Channel sends are `send_<channel>`; the sign-up's `send_email` is account mail.
        jobs.items
            .iter()
            .all(|j| !j.kind.starts_with("send_") || j.kind == "send_email"),
        "no send job on WEB_CHAT: {:?}",
        jobs.items.iter().map(|j| &j.kind).collect::<Vec<_>>()
    );
}

/// Next item of a subscription stream, within `limit`.
async fn next_item(
    stream: &mut BoxStream<'static, async_graphql::Response>,
    limit: Duration,
) -> Value {
    let response = tokio::time::timeout(limit, stream.next())
        .await
        .expect("a subscription event in time")
        .expect("the stream is open");
    serde_json::to_value(response).expect("json")
}

/// A tenant with two conversations (WhatsApp, the one subscribed to; Instagram, elsewhere), and
/// another tenant.
struct Watched {
    owner: Member,
    other: Member,
    seeded: Ingested,
    elsewhere: Ingested,
    /// The WhatsApp conversation's id, as GraphQL takes it.
    id: String,
}

async fn watched(h: &Harness, slug: &str) -> Watched {
    let owner = h.sign_up(slug).await;
    let other = h.sign_up(&format!("{slug}-other")).await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550007", "hola")
        .await;
    let elsewhere = h
        .inbound(owner.tenant_id, Channel::Instagram, "ig-live", "hey")
        .await;
    let id = seeded.conversation.id.to_string();
    Watched {
        owner,
        other,
        seeded,
        elsewhere,
        id,
    }
}

fn subscribe(
    h: &Harness,
    query: &str,
    variables: Value,
    principal: &Principal,
) -> BoxStream<'static, async_graphql::Response> {
    h.schema.execute_stream(
        Request::new(query)
            .variables(Variables::from_json(variables))
            .data(principal.clone()),
    )
}

/// `subscribe`, then polls the stream until it waits for events: a subscription's resolver (and
/// so its bus subscription) runs on the first poll, and an event published before would be
/// missed.
async fn subscribed(
    h: &Harness,
    query: &str,
    variables: Value,
    principal: &Principal,
) -> BoxStream<'static, async_graphql::Response> {
    let mut stream = subscribe(h, query, variables, principal);
    let early = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
    assert!(early.is_err(), "no event yet: {:?}", early.ok());
    stream
}

/// A member's reply in `conversation`; returns the message's id.
async fn reply(h: &Harness, owner: &Member, conversation: &str, text: &str) -> String {
    let sent = h
        .ok(
            &owner.principal,
            SEND,
            json!({"input": {"conversationId": conversation, "text": text}}),
        )
        .await;
    sent["sendMessage"]["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_subscription_to_another_tenants_conversation_is_not_found() {
    let h = harness().await;
    let w = watched(&h, "inbox-live-foreign").await;
    let mut foreign = subscribe(
        &h,
        "subscription($id: ID) { conversationUpdated(conversationId: $id) { id } }",
        json!({"id": w.id}),
        &w.other.principal,
    );
    let refused = next_item(&mut foreign, Duration::from_secs(5)).await;
    assert_eq!(error_code(&refused), "NOT_FOUND");
}

#[tokio::test]
async fn message_added_for_one_conversation_skips_the_others_and_unfiltered_sees_them_all() {
    let h = harness().await;
    let w = watched(&h, "inbox-live-added").await;
    let mut added = subscribed(
        &h,
        "subscription($id: ID) { messageAdded(conversationId: $id) { id body direction senderKind deliveryStatus conversationId } }",
        json!({"id": w.id}),
        &w.owner.principal,
    )
    .await;
    let mut all_added = subscribed(
        &h,
        "subscription { messageAdded { body } }",
        json!({}),
        &w.owner.principal,
    )
    .await;
    // Something in the other conversation first: the filtered stream must skip it.
    reply(
        &h,
        &w.owner,
        &w.elsewhere.conversation.id.to_string(),
        "elsewhere",
    )
    .await;
    let message_id = reply(&h, &w.owner, &w.id, "a human here").await;
    let event = next_item(&mut added, Duration::from_secs(5)).await;
    assert_eq!(
        event["data"]["messageAdded"],
        json!({"id": message_id, "body": "a human here", "direction": "OUTBOUND", "senderKind": "AGENT", "deliveryStatus": "PENDING", "conversationId": w.id})
    );
    let first = next_item(&mut all_added, Duration::from_secs(5)).await;
    let second = next_item(&mut all_added, Duration::from_secs(5)).await;
    assert_eq!(
        (
            &first["data"]["messageAdded"]["body"],
            &second["data"]["messageAdded"]["body"]
        ),
        (&json!("elsewhere"), &json!("a human here"))
    );
}

#[tokio::test]
async fn conversation_updated_reports_an_agents_takeover_and_the_hand_back_to_the_ai() {
    let h = harness().await;
    let w = watched(&h, "inbox-live-updated").await;
    let mut updated = subscribed(
        &h,
        "subscription($id: ID) { conversationUpdated(conversationId: $id) { id handledBy assignee { id } lead { id name } } }",
        json!({"id": w.id}),
        &w.owner.principal,
    )
    .await;
    // A reply elsewhere changes another conversation: the filtered stream must skip it.
    reply(
        &h,
        &w.owner,
        &w.elsewhere.conversation.id.to_string(),
        "elsewhere",
    )
    .await;
    reply(&h, &w.owner, &w.id, "a human here").await;
    let event = next_item(&mut updated, Duration::from_secs(5)).await;
    assert_eq!(
        event["data"]["conversationUpdated"],
        json!({"id": w.id, "handledBy": "HUMAN", "assignee": {"id": w.owner.user_id.to_string()}, "lead": {"id": w.seeded.lead.id.to_string(), "name": "Contact 5215550007"}})
    );
    h.ok(
        &w.owner.principal,
        "mutation($id: ID!) { handBackToAi(input: {conversationId: $id}) { conversation { id } } }",
        json!({"id": w.id}),
    )
    .await;
    let event = next_item(&mut updated, Duration::from_secs(5)).await;
    assert_eq!(event["data"]["conversationUpdated"]["handledBy"], "AI");
    assert_eq!(
        event["data"]["conversationUpdated"]["assignee"],
        Value::Null
    );
}

#[tokio::test]
async fn message_updated_reports_a_delivery_receipt() {
    let h = harness().await;
    let w = watched(&h, "inbox-live-delivery").await;
    let mut delivery = subscribed(
        &h,
        "subscription($id: ID) { messageUpdated(conversationId: $id) { id deliveryStatus } }",
        json!({"id": w.id}),
        &w.owner.principal,
    )
    .await;
    let message_id = reply(&h, &w.owner, &w.id, "a human here").await;
    // A delivery receipt (what the send worker / status webhook publishes).
    let delivered = h
        .state
        .store
        .record_send(
            TenantId(w.owner.tenant_id),
            MessageId(message_id.parse().unwrap()),
            leadline_domain::messaging::DeliveryStatus::Sent,
            Some("wamid.TEST".into()),
            None,
            None,
        )
        .await
        .unwrap();
    h.state.bus.publish(
        TenantId(w.owner.tenant_id),
        leadline_api::bus::Event::MessageUpdated {
            message: Box::new(delivered),
        },
    );
    let event = next_item(&mut delivery, Duration::from_secs(5)).await;
    assert_eq!(
        event["data"]["messageUpdated"],
        json!({"id": message_id, "deliveryStatus": "SENT"})
    );
}
