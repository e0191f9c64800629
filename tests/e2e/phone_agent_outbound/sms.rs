//! Texts to the dealership's number (`POST /api/voice/twilio/sms`): a reply from a lead in
//! nurture stops its follow-ups and lands in its SMS conversation, where a person answers it by
//! SMS from the inbox (`sendMessage`, the `send_sms` job); Twilio's opt-out words also keep the
//! agent from ever calling or texting the number again. A first text from a new number that the
//! AI gets is rung back by the agent. Signed like every Twilio webhook.

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

const SEND: &str = "mutation($c: ID!, $t: String!) { sendMessage(input: {conversationId: $c, text: $t}) { message { id body direction deliveryStatus deliveryError } } }";
const MESSAGES: &str = "query($c: ID!) { conversation(id: $c) { messages(first: 20) { edges { node { id body direction deliveryStatus deliveryError } } } } }";

/// `token`'s reply `text` in conversation `conversation`, as stored.
async fn send_reply(o: &Outbound, token: &str, conversation: &str, text: &str) -> Value {
    o.app
        .ok(token, SEND, json!({"c": conversation, "t": text}))
        .await["sendMessage"]["message"]
        .clone()
}

async fn messages_of(o: &Outbound, conversation: &str) -> Vec<Value> {
    let data = o
        .app
        .ok(&o.owner, MESSAGES, json!({"c": conversation}))
        .await;
    data["conversation"]["messages"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// Waits for message `id` of `conversation` to reach delivery status `status`.
async fn until_delivery(o: &Outbound, conversation: &str, id: &str, status: &str) -> Value {
    leadline_api::store::testkit::eventually(
        &format!("message {id} to be {status}"),
        Duration::from_secs(20),
        Duration::from_millis(100),
        || async {
            let found = messages_of(o, conversation)
                .await
                .into_iter()
                .find(|m| m["id"] == id)
                .unwrap_or(Value::Null);
            if found["deliveryStatus"] == status {
                Ok(found)
            } else {
                Err(found)
            }
        },
    )
    .await
    .unwrap_or_else(|timed_out| panic!("{timed_out}"))
}

/// The lead's SMS conversation, once its first text is stored.
async fn sms_conversation(o: &Outbound, lead: &str) -> String {
    let data = o
        .app
        .ok(&o.owner, CONVERSATIONS, json!({"lead": lead}))
        .await;
    data["conversations"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("an SMS conversation")
        .to_owned()
}

/// Ana texts the dealership (`sid`, `body`): waits for her lead; returns her SMS conversation.
async fn texted(o: &Outbound, sid: &str, body: &str) -> String {
    let url = format!("{}/api/voice/twilio/sms", o.public);
    let first = o
        .twilio
        .post_signed(&url, text(o, sid, ANA, body))
        .await
        .unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    let lead = o
        .app
        .eventually(
            &o.owner,
            "{ leads(first: 5) { nodes { id phone } } }",
            json!({}),
            "the texting lead",
            |d| d["leads"]["nodes"][0]["phone"] == ANA,
        )
        .await["leads"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    sms_conversation(o, &lead).await
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
    // A person answers from the inbox: the reply goes out by SMS from the number Ana texted.
    let conversation_id = edges[0]["node"]["id"].as_str().unwrap();
    let sent = send_reply(&o, &o.owner, conversation_id, "Yes it is! Come by today.").await;
    assert_eq!(sent["deliveryStatus"], "PENDING", "{sent}");
    let sent = until_delivery(&o, conversation_id, sent["id"].as_str().unwrap(), "SENT").await;
    assert!(sent["deliveryError"].is_null(), "{sent}");
    let texts = o.twilio.messages();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0].to.as_deref(), Some(ANA));
    assert_eq!(texts[0].from.as_deref(), Some(NUMBER));
    assert_eq!(texts[0].body.as_deref(), Some("Yes it is! Come by today."));

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
    // Nor texted: a reply in his conversation is refused and nothing is stored or sent.
    let bens = o
        .app
        .ok(&o.owner, CONVERSATIONS, json!({"lead": ben}))
        .await;
    let bens = bens["conversations"]["edges"][0]["node"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let refused = o
        .app
        .graphql(
            Some(&o.owner),
            SEND,
            json!({"c": bens, "t": "Are you sure?"}),
        )
        .await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("OPTED_OUT")),
        "{refused}"
    );
    assert_eq!(messages_of(&o, &bens).await.len(), 1, "only his STOP");
    assert_eq!(o.twilio.messages().len(), 1, "only Ana's reply");
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

#[tokio::test]
async fn an_sms_reply_is_sent_once_through_a_twilio_outage_and_a_refused_one_fails_clearly() {
    let o = outbound(vec![Step::Close]).await;
    let conversation = texted(&o, "SM10", "Do you have the Civic in red?").await;

    // Twilio is down for one attempt: the reply stays PENDING with the error, then goes out
    // on the retry, and Twilio holds it once.
    o.twilio
        .fail_next(Failure::twilio(503, 20500, "Service unavailable"));
    let sent = send_reply(&o, &o.owner, &conversation, "We do! Want to see it?").await;
    let sent = until_delivery(&o, &conversation, sent["id"].as_str().unwrap(), "SENT").await;
    assert!(sent["deliveryError"].is_null(), "{sent}");
    let creates = o
        .twilio
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
        .count();
    assert_eq!(creates, 2, "one refused attempt, one accepted");
    let texts = o.twilio.messages();
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert_eq!(texts[0].to.as_deref(), Some(ANA));
    assert_eq!(texts[0].from.as_deref(), Some(NUMBER));
    assert_eq!(texts[0].body.as_deref(), Some("We do! Want to see it?"));
    // The same reply again (its idempotency key) sends nothing more.
    let again = o
        .app
        .ok(
            &o.owner,
            "mutation($c: ID!) { a: sendMessage(input: {conversationId: $c, text: \"Hi\", clientMessageId: \"k-1\"}) { message { id } } b: sendMessage(input: {conversationId: $c, text: \"Hi\", clientMessageId: \"k-1\"}) { message { id } } }",
            json!({"c": conversation}),
        )
        .await;
    assert_eq!(again["a"]["message"]["id"], again["b"]["message"]["id"]);
    until_delivery(
        &o,
        &conversation,
        again["a"]["message"]["id"].as_str().unwrap(),
        "SENT",
    )
    .await;
    assert_eq!(o.twilio.messages().len(), 2);

    // A permanent refusal: FAILED with Twilio's code and message, not retried.
    o.twilio.fail_next(Failure::twilio(
        400,
        21610,
        "Attempt to send to unsubscribed recipient",
    ));
    let refused = send_reply(&o, &o.owner, &conversation, "Still there?").await;
    let failed = until_delivery(&o, &conversation, refused["id"].as_str().unwrap(), "FAILED").await;
    let error = failed["deliveryError"].as_str().unwrap_or_default();
    assert!(error.contains("21610"), "{failed}");
    assert_eq!(o.twilio.messages().len(), 2);

    // Too long for one text message: refused before anything is stored.
    let long = "x".repeat(1601);
    let refused = o
        .app
        .graphql(Some(&o.owner), SEND, json!({"c": conversation, "t": long}))
        .await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
}

#[tokio::test]
async fn sms_replies_refuse_other_tenants_customers_removed_members_and_floods() {
    let o = outbound(vec![Step::Close]).await;
    let conversation = texted(&o, "SM20", "Hello?").await;
    let args = json!({"c": conversation, "t": "Hi from someone else"});

    // Another tenant cannot text our lead, nor learn the conversation exists.
    let attacker = o.app.sign_up("attacker-motors").await;
    let theirs = o.app.graphql(Some(&attacker), SEND, args.clone()).await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");

    // A customer token and a removed member change nothing.
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
    let refused = o.app.graphql(Some(&customer), SEND, args.clone()).await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&refused)),
        "{refused}"
    );
    let (agent, agent_id) = o.app.member(&o.owner, "agent@sunset.test", "AGENT").await;
    o.app
        .ok(
            &o.owner,
            "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
            json!({"u": agent_id}),
        )
        .await;
    let removed = o.app.graphql(Some(&agent), SEND, args.clone()).await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&removed)),
        "{removed}"
    );

    // A flood of aliases is refused before any of them runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!(
                "a{i}: sendMessage(input: {{conversationId: \"{conversation}\", text: \"spam {i}\"}}) {{ message {{ id }} }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = o.app.graphql(Some(&o.owner), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(o.twilio.messages().is_empty(), "nothing was texted");
    assert_eq!(
        messages_of(&o, &conversation).await.len(),
        1,
        "only the lead's text"
    );
}

#[tokio::test]
async fn a_first_text_from_a_new_number_is_rung_back_when_the_ai_gets_the_lead() {
    let o = outbound(vec![Step::Close]).await;
    let url = format!("{}/api/voice/twilio/sms", o.public);
    // At 0 % the new lead goes to the sales team: nobody rings it.
    let human = o
        .twilio
        .post_signed(
            &url,
            text(&o, "SM30", "+16505551299", "Price of the Civic?"),
        )
        .await
        .unwrap();
    assert_eq!(human.status, 200, "{}", human.body);
    o.app
        .eventually(
            &o.owner,
            "{ leads(first: 5) { nodes { handledBy phone } } }",
            json!({}),
            "the human lead",
            |d| d["leads"]["nodes"][0]["phone"] == "+16505551299",
        )
        .await;

    // Every new lead to the AI: the next new number is rung back from the dealership's number.
    o.app
        .ok(
            &o.owner,
            SETTINGS,
            json!({"input": {"aiLeadPercentage": 100}}),
        )
        .await;
    let ai = o
        .twilio
        .post_signed(&url, text(&o, "SM31", ANA, "Is the red Civic still there?"))
        .await
        .unwrap();
    assert_eq!(ai.status, 200, "{}", ai.body);
    let placed = o.placed().await;
    assert_eq!(placed.param("To"), Some(ANA));
    assert_eq!(placed.param("From"), Some(NUMBER));
    // Her next text is no new lead: no second call.
    let again = o
        .twilio
        .post_signed(&url, text(&o, "SM32", ANA, "Hello?"))
        .await
        .unwrap();
    assert_eq!(again.status, 200, "{}", again.body);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let creates = o.creates();
    assert_eq!(creates.len(), 1, "only Ana is rung, once");
}

#[tokio::test]
async fn an_sms_reply_goes_out_on_the_dealerships_own_twilio_account() {
    const OWN_SID: &str = "AC0123456789abcdef0123456789abcdef";
    const OWN_TOKEN: &str = "the-dealership-s-own-auth-token";
    let o = outbound(vec![Step::Close]).await;
    // One Twilio server answers both accounts' REST calls, as the real one does.
    o.twilio.add_account(OWN_SID, OWN_TOKEN);
    o.app
        .ok(
            &o.owner,
            "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id } } }",
            json!({"input": {"channel": "TWILIO", "externalAccountId": OWN_SID, "accessToken": OWN_TOKEN}}),
        )
        .await;
    let own = FakeTwilio::start_with(OWN_SID, OWN_TOKEN).await.unwrap();
    let url = format!("{}/api/voice/twilio/sms", o.public);
    let mut params = text(&o, "SM40", ANA, "Hi, still open on Sunday?");
    for (key, value) in &mut params {
        if key == "AccountSid" {
            *value = OWN_SID.to_owned();
        }
    }
    let first = own.post_signed(&url, params).await.unwrap();
    assert_eq!(first.status, 200, "{}", first.body);
    let lead = o
        .app
        .eventually(
            &o.owner,
            "{ leads(first: 5) { nodes { id phone } } }",
            json!({}),
            "the texting lead",
            |d| d["leads"]["nodes"][0]["phone"] == ANA,
        )
        .await["leads"]["nodes"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conversation = sms_conversation(&o, &lead).await;
    let sent = send_reply(&o, &o.owner, &conversation, "Yes, 10 to 4.").await;
    until_delivery(&o, &conversation, sent["id"].as_str().unwrap(), "SENT").await;
    let creates: Vec<RecordedRequest> = o
        .twilio
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
        .collect();
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert!(
        creates[0]
            .path
            .contains(&format!("/Accounts/{OWN_SID}/Messages.json")),
        "{:?}",
        creates[0]
    );
    assert!(creates[0].authenticated);
    assert_eq!(creates[0].param("From"), Some(NUMBER));
    assert_eq!(creates[0].param("To"), Some(ANA));
}
