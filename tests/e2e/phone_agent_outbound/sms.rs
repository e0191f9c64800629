//! Texts to the dealership's number (`POST /api/voice/twilio/sms`): a reply from a lead in
//! nurture stops its follow-ups and lands in its SMS conversation; Twilio's opt-out words also
//! keep the agent from ever calling the number again. Signed like every Twilio webhook.

use super::*;

const NURTURE: &str = "{ nurtureLeads(first: 20) { nodes { status stopReason lead { id } } } }";
const SETTINGS: &str = "mutation($input: UpdateTenantSettingsInput!) { updateTenantSettings(input: $input) { tenant { id } } }";
const CONVERSATIONS: &str = "query($lead: ID!) { conversations(filter: {leadId: $lead}, first: 5) { edges { node { id channel messages(first: 5) { edges { node { body direction } } } } } } }";
const ANA: &str = "+14155550123";

/// The Messaging webhook Twilio posts for a text `body` from `from` to the dealership.
fn text(o: &Outbound, sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("AccountSid", o.twilio.account_sid()),
        ("ApiVersion", "2010-04-01"),
        ("Body", body),
        ("From", from),
        ("MessageSid", sid),
        ("NumMedia", "0"),
        ("SmsSid", sid),
        ("SmsStatus", "received"),
        ("To", NUMBER),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn nurture_of(o: &Outbound, lead: &str) -> Value {
    let data = o.app.ok(&o.owner, NURTURE, json!({})).await;
    data["nurtureLeads"]["nodes"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["lead"]["id"] == lead))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_text_from_a_lead_stops_its_nurture_and_twilios_opt_out_words_stop_calls_for_good() {
    let o = outbound(vec![Step::Close]).await;
    // AI leads in nurture; the agent is off while they arrive, so none is rung at once.
    o.app
        .ok(
            &o.owner,
            SETTINGS,
            json!({"input": {"aiLeadPercentage": 100, "agentRunning": false,
                             "nurtureSchedule": {"enabled": true}}}),
        )
        .await;
    let ana = o.lead(&o.owner, "Ana Torres", Some(ANA)).await;
    let ben = o.lead(&o.owner, "Ben Ortiz", Some(LEAD_PHONE)).await;
    assert_eq!(nurture_of(&o, &ana).await["status"], "ACTIVE");
    assert_eq!(nurture_of(&o, &ben).await["status"], "ACTIVE");
    let url = format!("{}/api/voice/twilio/sms", o.public);

    // A forged text (another account's token) is refused and changes nothing.
    let forger = FakeTwilio::start_with(o.twilio.account_sid(), "not-the-auth-token")
        .await
        .unwrap();
    let forged = forger
        .post_signed(&url, text(&o, "SM0", ANA, "Is the red Civic still there?"))
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.body);
    assert_eq!(nurture_of(&o, &ana).await["status"], "ACTIVE");

    // Ana replies: her follow-ups stop, and the text waits in her SMS conversation.
    let reply = o
        .twilio
        .post_signed(&url, text(&o, "SM1", ANA, "Is the red Civic still there?"))
        .await
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.content_type.as_deref(), Some("text/xml"));
    assert!(
        reply.body.ends_with("<Response></Response>"),
        "{}",
        reply.body
    );
    let again = o
        .twilio
        .post_signed(&url, text(&o, "SM1", ANA, "Is the red Civic still there?"))
        .await
        .unwrap();
    assert_eq!(again.status, 200, "{}", again.body);
    let stopped = nurture_of(&o, &ana).await;
    assert_eq!(stopped["status"], "STOPPED", "{stopped}");
    assert_eq!(stopped["stopReason"], "REPLIED");
    assert_eq!(nurture_of(&o, &ben).await["status"], "ACTIVE");
    let conversations = o
        .app
        .ok(&o.owner, CONVERSATIONS, json!({"lead": ana}))
        .await;
    let edges = conversations["conversations"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1, "{conversations}");
    assert_eq!(edges[0]["node"]["channel"], "TWILIO");
    let messages = edges[0]["node"]["messages"]["edges"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "the redelivery is not stored twice");
    assert_eq!(messages[0]["node"]["body"], "Is the red Civic still there?");
    assert_eq!(messages[0]["node"]["direction"], "INBOUND");
    // The inbox does not send texts yet: a reply there is refused, not stored unsent.
    let conversation_id = edges[0]["node"]["id"].as_str().unwrap();
    let refused = o
        .app
        .graphql(
            Some(o.owner.as_str()),
            "mutation($c: ID!) { sendMessage(input: {conversationId: $c, text: \"Yes it is!\"}) { message { id } } }",
            json!({"c": conversation_id}),
        )
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");

    // Ben texts " stop ": out of nurture, and the agent may never call him again.
    let stop = o
        .twilio
        .post_signed(&url, text(&o, "SM2", LEAD_PHONE, " stop "))
        .await
        .unwrap();
    assert_eq!(stop.status, 200, "{}", stop.body);
    let opted_out = nurture_of(&o, &ben).await;
    assert_eq!(opted_out["status"], "STOPPED", "{opted_out}");
    assert_eq!(opted_out["stopReason"], "OPTED_OUT");
    o.app
        .ok(&o.owner, SETTINGS, json!({"input": {"agentRunning": true}}))
        .await;
    let call = o.call_lead_now(&ben).await;
    assert_eq!(call["status"], "BLOCKED", "{call}");
    let blocked = o
        .app
        .ok(
            &o.owner,
            "query($id: ID!) { call(id: $id) { blockedReason } }",
            json!({"id": call["id"]}),
        )
        .await;
    assert_eq!(blocked["call"]["blockedReason"], "DO_NOT_CALL");
    // Ana only asked a question: she can still be called.
    let call = o.call_lead_now(&ana).await;
    assert_eq!(call["status"], "QUEUED", "{call}");
}
