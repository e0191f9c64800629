//! `assignLead`: owners and admins move a lead between the AI and a person; moving it to a
//! person cancels the agent's call still waiting to dial. Audited and published; refused to
//! other tenants, customers, agents and floods of aliases.

use super::*;
use crate::harness::WsEvent;

const ASSIGN: &str = "mutation($input: AssignLeadInput!) { assignLead(input: $input) { lead { id handledBy assignedAgentId } cancelledCall { id status errorCode } } }";

#[tokio::test]
async fn assign_lead_moves_a_lead_to_a_person_and_cancels_the_agents_pending_call() {
    let o = outbound(vec![Step::Close]).await;
    // Three in the morning where the dealership is: the agent's call waits for calling hours.
    o.app
        .ok(
            &o.owner,
            "mutation($z: String!) { updateTenantSettings(input: {timeZone: $z}) { tenant { id } } }",
            json!({"z": zone_at_local_hour(3)}),
        )
        .await;
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;
    let (_, sales) = o.app.member(&o.owner, "sales@sunset.test", "AGENT").await;

    // Back to the AI, which queues its call.
    let to_ai = o
        .app
        .ok(
            &o.owner,
            ASSIGN,
            json!({"input": {"leadId": lead, "handler": "AI"}}),
        )
        .await;
    assert_eq!(to_ai["assignLead"]["lead"]["handledBy"], "AI");
    assert_eq!(to_ai["assignLead"]["cancelledCall"], Value::Null);
    let queued = o.call_lead_now(&lead).await;
    assert_eq!(queued["status"], "QUEUED", "{queued}");
    assert!(queued["scheduledFor"].is_string(), "{queued}");

    let mut ws = o.app.ws(&o.owner).await.unwrap();
    ws.subscribe(
        "subscription($id: ID) { leadUpdated(leadId: $id) { id handledBy assignedAgentId } }",
        json!({"id": lead}),
    )
    .await;

    // To a person: the waiting call is cancelled, the change streamed and audited.
    let to_sales = o
        .app
        .ok(
            &o.owner,
            ASSIGN,
            json!({"input": {"leadId": lead, "handler": "HUMAN", "agentId": sales}}),
        )
        .await["assignLead"]
        .clone();
    assert_eq!(to_sales["lead"]["handledBy"], "HUMAN");
    assert_eq!(to_sales["lead"]["assignedAgentId"], sales);
    assert_eq!(to_sales["cancelledCall"]["id"], queued["id"]);
    assert_eq!(to_sales["cancelledCall"]["status"], "CANCELED");
    assert_eq!(
        to_sales["cancelledCall"]["errorCode"],
        "LEAD_ASSIGNED_TO_HUMAN"
    );
    assert_eq!(
        o.call(queued["id"].as_str().unwrap()).await["status"],
        "CANCELED"
    );
    let streamed = ws
        .next_data_where(Duration::from_secs(5), |d| d["leadUpdated"].is_object())
        .await
        .expect("the assignment is published");
    assert_eq!(streamed["leadUpdated"]["assignedAgentId"], sales);
    let audit = o
        .app
        .ok(
            &o.owner,
            "{ auditLog(first: 20) { edges { node { action targetId } } } }",
            json!({}),
        )
        .await;
    assert!(audit.to_string().contains("lead.assigned"), "{audit}");

    // The same assignment again changes nothing and publishes nothing.
    let again = o
        .app
        .ok(
            &o.owner,
            ASSIGN,
            json!({"input": {"leadId": lead, "handler": "HUMAN", "agentId": sales}}),
        )
        .await;
    assert_eq!(again["assignLead"]["cancelledCall"], Value::Null);
    assert!(!matches!(
        ws.next_event(Duration::from_millis(500)).await,
        Some(WsEvent::Next(_))
    ));
    // To the team's queue: no agent.
    let queue = o
        .app
        .ok(
            &o.owner,
            ASSIGN,
            json!({"input": {"leadId": lead, "handler": "HUMAN"}}),
        )
        .await;
    assert_eq!(queue["assignLead"]["lead"]["assignedAgentId"], Value::Null);
    assert!(o.creates().is_empty(), "nothing was dialled");
}

#[tokio::test]
async fn assign_lead_refuses_other_tenants_customers_agents_bad_agents_and_floods() {
    let o = outbound(vec![Step::Close]).await;
    let lead = o.lead(&o.owner, "Dana Buyer", Some(LEAD_PHONE)).await;
    let to_ai = json!({"input": {"leadId": lead, "handler": "AI"}});

    // Another tenant cannot move our lead, nor learn it exists; nor give it one of its people.
    let attacker = o.app.sign_up("attacker-motors").await;
    let theirs = o.app.graphql(Some(&attacker), ASSIGN, to_ai.clone()).await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");
    let (_, outsider) = o
        .app
        .member(&attacker, "outsider@attacker.test", "AGENT")
        .await;
    let refused = o
        .app
        .graphql(
            Some(&o.owner),
            ASSIGN,
            json!({"input": {"leadId": lead, "handler": "HUMAN", "agentId": outsider}}),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");

    // A customer token and an agent (who may work leads, not reassign them) change nothing.
    let customer = o
        .app
        .ok(
            &o.owner,
            "mutation { createCustomerToken(input: {externalUserId: \"u-1\", name: \"Una\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = o.app.graphql(Some(&customer), ASSIGN, to_ai.clone()).await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&refused)),
        "{refused}"
    );
    let (agent, _) = o.app.member(&o.owner, "agent@sunset.test", "AGENT").await;
    let refused = o.app.graphql(Some(&agent), ASSIGN, to_ai.clone()).await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "{refused}");

    // A viewer cannot take leads; an AI lead has no agent.
    let (_, viewer) = o.app.member(&o.owner, "viewer@sunset.test", "VIEWER").await;
    for input in [
        json!({"leadId": lead, "handler": "HUMAN", "agentId": viewer}),
        json!({"leadId": lead, "handler": "AI", "agentId": viewer}),
        json!({"leadId": "not-an-id", "handler": "AI"}),
    ] {
        let refused = o
            .app
            .graphql(Some(&o.owner), ASSIGN, json!({"input": input}))
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    }

    // A flood of aliases is refused before any of them runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!(
                "a{i}: assignLead(input: {{leadId: \"{lead}\", handler: AI}}) {{ lead {{ id }} }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = o.app.graphql(Some(&o.owner), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");

    // None of it moved the lead.
    let lead_now = o
        .app
        .ok(
            &o.owner,
            "query($id: ID!) { lead(id: $id) { handledBy assignedAgentId } }",
            json!({"id": lead}),
        )
        .await;
    assert_eq!(lead_now["lead"]["handledBy"], "HUMAN", "{lead_now}");
    assert_eq!(lead_now["lead"]["assignedAgentId"], Value::Null);
}
