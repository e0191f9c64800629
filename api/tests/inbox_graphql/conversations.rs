//! What members do to conversations through GraphQL: assignment, hand-back and resolution, who
//! may not change them, WEB_CHAT replies, and the subscriptions that report it.

use super::*;

#[tokio::test]
async fn assignment_hand_back_and_resolution() {
    let h = harness().await;
    let owner = h.sign_up("inbox-assign").await;
    let other = h.sign_up("inbox-assign-other").await;
    let agent = h.invite(&owner, "agent@inbox-assign.test", "AGENT").await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550005", "hola")
        .await;
    let id = seeded.conversation.id.to_string();
    const ASSIGN: &str = "mutation($input: AssignConversationInput!) { assignConversation(input: $input) { conversation { status handledBy assignee { id email } } } }";

    // Someone who is not a member here.
    let foreign = h
        .run(
            Some(&owner.principal),
            ASSIGN,
            json!({"input": {"conversationId": id, "agentId": other.user_id.to_string()}}),
        )
        .await;
    assert_eq!(error_code(&foreign), "BAD_USER_INPUT");
    assert_eq!(foreign["errors"][0]["extensions"]["field"], "agentId");

    let assigned = h
        .ok(
            &owner.principal,
            ASSIGN,
            json!({"input": {"conversationId": id, "agentId": agent.user_id.to_string()}}),
        )
        .await;
    assert_eq!(
        assigned["assignConversation"]["conversation"],
        json!({"status": "ACTIVE", "handledBy": "HUMAN", "assignee": {"id": agent.user_id.to_string(), "email": "agent@inbox-assign.test"}})
    );
    // Default assignee: the caller.
    let mine = h
        .ok(
            &owner.principal,
            ASSIGN,
            json!({"input": {"conversationId": id}}),
        )
        .await;
    assert_eq!(
        mine["assignConversation"]["conversation"]["assignee"]["id"],
        owner.user_id.to_string()
    );
    // The agent's own reply does not take the conversation from its assignee.
    let reply = h
        .ok(
            &agent.principal,
            SEND,
            json!({"input": {"conversationId": id, "text": "on it"}}),
        )
        .await;
    assert_eq!(
        reply["sendMessage"]["conversation"]["assignee"]["id"],
        owner.user_id.to_string()
    );
    let by_assignee = h
        .ok(
            &owner.principal,
            "query($id: ID!) { conversations(filter: {assigneeId: $id, handledBy: HUMAN}) { totalCount } }",
            json!({"id": owner.user_id.to_string()}),
        )
        .await;
    assert_eq!(by_assignee["conversations"]["totalCount"], 1);

    let back = h
        .ok(
            &owner.principal,
            "mutation($input: HandBackToAiInput!) { handBackToAi(input: $input) { conversation { status handledBy assignee { id } } } }",
            json!({"input": {"conversationId": id}}),
        )
        .await;
    assert_eq!(
        back["handBackToAi"]["conversation"],
        json!({"status": "ACTIVE", "handledBy": "AI", "assignee": null})
    );
    // Handed back, the AI answers the next message again.
    let next = h
        .inbound(
            owner.tenant_id,
            Channel::Whatsapp,
            "5215550005",
            "¿sigue ahí?",
        )
        .await;
    assert!(next.ai_job.is_some());

    let resolved = h
        .ok(
            &owner.principal,
            "mutation($input: ResolveConversationInput!) { resolveConversation(input: $input) { conversation { id status } } }",
            json!({"input": {"conversationId": id}}),
        )
        .await;
    assert_eq!(
        resolved["resolveConversation"]["conversation"]["status"],
        "RESOLVED"
    );
    // Resolving again changes nothing; handing back a resolved one is a CONFLICT.
    let again = h
        .ok(
            &owner.principal,
            "mutation($input: ResolveConversationInput!) { resolveConversation(input: $input) { conversation { status } } }",
            json!({"input": {"conversationId": id}}),
        )
        .await;
    assert_eq!(
        again["resolveConversation"]["conversation"]["status"],
        "RESOLVED"
    );
    let reopen = h
        .run(
            Some(&owner.principal),
            "mutation($input: HandBackToAiInput!) { handBackToAi(input: $input) { conversation { status } } }",
            json!({"input": {"conversationId": id}}),
        )
        .await;
    assert_eq!(error_code(&reopen), "CONFLICT");

    // The lead's next message opens a new conversation, for the same lead.
    let fresh = h
        .inbound(
            owner.tenant_id,
            Channel::Whatsapp,
            "5215550005",
            "otra pregunta",
        )
        .await;
    assert!(fresh.conversation_created);
    assert_ne!(fresh.conversation.id, seeded.conversation.id);
    assert_eq!(fresh.lead.id, seeded.lead.id);
    let by_lead = h
        .ok(
            &owner.principal,
            OUTSIDE_TOOLS_QUERY,
            json!({"filter": {"leadId": seeded.lead.id.to_string()}}),
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

#[tokio::test]
async fn subscriptions_see_new_messages_delivery_updates_and_conversation_changes() {
    let h = harness().await;
    let owner = h.sign_up("inbox-live").await;
    let other = h.sign_up("inbox-live-other").await;
    let seeded = h
        .inbound(owner.tenant_id, Channel::Whatsapp, "5215550007", "hola")
        .await;
    let elsewhere = h
        .inbound(owner.tenant_id, Channel::Instagram, "ig-live", "hey")
        .await;
    let id = seeded.conversation.id.to_string();

    let subscribe = |query: &str, variables: Value, principal: &Principal| {
        h.schema.execute_stream(
            Request::new(query)
                .variables(Variables::from_json(variables))
                .data(principal.clone()),
        )
    };
    let mut added = subscribe(
        "subscription($id: ID) { messageAdded(conversationId: $id) { id body direction senderKind deliveryStatus conversationId } }",
        json!({"id": id}),
        &owner.principal,
    );
    let mut updated = subscribe(
        "subscription($id: ID) { conversationUpdated(conversationId: $id) { id handledBy assignee { id } lead { id name } } }",
        json!({"id": id}),
        &owner.principal,
    );
    let mut all_added = subscribe(
        "subscription { messageAdded { body } }",
        json!({}),
        &owner.principal,
    );
    let mut delivery = subscribe(
        "subscription($id: ID) { messageUpdated(conversationId: $id) { id deliveryStatus } }",
        json!({"id": id}),
        &owner.principal,
    );
    // Another tenant's conversation id is NOT_FOUND at subscribe time.
    let mut foreign = subscribe(
        "subscription($id: ID) { conversationUpdated(conversationId: $id) { id } }",
        json!({"id": id}),
        &other.principal,
    );
    let refused = next_item(&mut foreign, Duration::from_secs(5)).await;
    assert_eq!(error_code(&refused), "NOT_FOUND");
    // A subscription's resolver (and so its bus subscription) runs on the first poll: poll each
    // stream until it waits for events, so nothing published next is missed.
    for stream in [&mut added, &mut updated, &mut all_added, &mut delivery] {
        let early = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
        assert!(early.is_err(), "no event yet: {:?}", early.ok());
    }

    // Something in the other conversation first: the filtered streams must skip it.
    h.ok(
        &owner.principal,
        SEND,
        json!({"input": {"conversationId": elsewhere.conversation.id.to_string(), "text": "elsewhere"}}),
    )
    .await;
    let sent = h
        .ok(
            &owner.principal,
            SEND,
            json!({"input": {"conversationId": id, "text": "a human here"}}),
        )
        .await;
    let message_id = sent["sendMessage"]["message"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let event = next_item(&mut added, Duration::from_secs(5)).await;
    assert_eq!(
        event["data"]["messageAdded"],
        json!({"id": message_id, "body": "a human here", "direction": "OUTBOUND", "senderKind": "AGENT", "deliveryStatus": "PENDING", "conversationId": id})
    );
    let event = next_item(&mut updated, Duration::from_secs(5)).await;
    assert_eq!(
        event["data"]["conversationUpdated"],
        json!({"id": id, "handledBy": "HUMAN", "assignee": {"id": owner.user_id.to_string()}, "lead": {"id": seeded.lead.id.to_string(), "name": "Contact 5215550007"}})
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

    // A delivery receipt (what the send worker / status webhook publishes).
    let delivered = h
        .state
        .store
        .record_send(
            TenantId(owner.tenant_id),
            message_id.parse().unwrap(),
            leadline_domain::messaging::DeliveryStatus::Sent,
            Some("wamid.TEST".into()),
            None,
            None,
        )
        .await
        .unwrap();
    h.state.bus.publish(
        TenantId(owner.tenant_id),
        leadline_api::bus::Event::MessageUpdated {
            message: Box::new(delivered),
        },
    );
    let event = next_item(&mut delivery, Duration::from_secs(5)).await;
    assert_eq!(
        event["data"]["messageUpdated"],
        json!({"id": message_id, "deliveryStatus": "SENT"})
    );

    // Hand-back and resolution reach the conversation's subscribers.
    h.ok(
        &owner.principal,
        "mutation($id: ID!) { handBackToAi(input: {conversationId: $id}) { conversation { id } } }",
        json!({"id": id}),
    )
    .await;
    let event = next_item(&mut updated, Duration::from_secs(5)).await;
    assert_eq!(event["data"]["conversationUpdated"]["handledBy"], "AI");
    assert_eq!(
        event["data"]["conversationUpdated"]["assignee"],
        Value::Null
    );
}
