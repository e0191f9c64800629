//! Metering and enforcement end to end (issue 16, e2e 6 and 7): usage from AI replies and call
//! minutes reaches the Stripe fake exactly once, also when the reporting server dies after
//! Stripe accepted an event and before it could record that (6); used-up quantities give
//! LIMIT_REACHED at the point of use while inbound messages are still stored, and seats cap
//! invites (7); and `usage` charts it all.

use std::time::Duration;

use leadline_livekit::fake::FakeLiveKit;
use leadline_stripe::fake::{
    Failure, FakePrice, FakeStripe, Usage, DEFAULT_LICENSED_PRICE, DEFAULT_METERED_PRICE,
};
use leadline_whatsapp::fake::FakeWhatsApp;
use serde_json::{json, Value};

use super::webhook_url;
use crate::calls::{invoice, start, until_status, zone_at_local_hour};
use crate::harness::{error_code, fresh_database, spawn_with, wait_for, SpawnOptions, TestApp};

const MINUTES_PRICE: &str = "price_fake_call_minutes";
const AI_METER: &str = "leadline_ai_replies";
const MINUTES_METER: &str = "leadline_call_minutes";

fn write_plans(plans: Value) -> String {
    let dir = std::env::temp_dir().join(format!("leadline-plans-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("plans dir");
    let path = dir.join("plans.json");
    std::fs::write(&path, plans.to_string()).expect("plans file");
    path.to_string_lossy().into_owned()
}

fn billing_env(stripe: &FakeStripe, plans: String) -> Vec<(String, String)> {
    vec![
        ("STRIPE_SECRET_KEY".into(), stripe.secret_key().to_owned()),
        ("STRIPE_WEBHOOK_SECRET".into(), stripe.webhook_secret()),
        ("STRIPE_API_BASE".into(), stripe.base_url()),
        ("LEADLINE_PLANS".into(), plans),
        ("LEADLINE_METER_REPORT_SECONDS".into(), "1".into()),
        ("LEADLINE_JOB_LEASE_SECONDS".into(), "3".into()),
        ("LEADLINE_JOB_RETRY_BASE_MS".into(), "50".into()),
    ]
}

const CUSTOMER_TOKEN: &str =
    "mutation($input: CreateCustomerTokenInput!) { createCustomerToken(input: $input) { token } }";
const OPEN_SESSION: &str =
    "mutation { createSupportSession(input: {subject: \"order\"}) { session { id } } }";
const SEND_SUPPORT: &str =
    "mutation($input: SendSupportMessageInput!) { sendSupportMessage(input: $input) { created } }";
const SESSION_MESSAGES: &str = "query($id: ID!) { conversation(id: $id) { messages(first: 20) { edges { node { senderKind direction } } } } }";

/// A customer writes in the support chat and the AI answers: one AI reply.
async fn ai_reply_in_support_chat(app: &TestApp, owner: &str, api_key: &str, customer: &str) {
    let token = app
        .ok(
            api_key,
            CUSTOMER_TOKEN,
            json!({"input": {"externalUserId": customer, "name": customer}}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .expect("customer token")
        .to_owned();
    let session = app.ok(&token, OPEN_SESSION, json!({})).await["createSupportSession"]["session"]
        ["id"]
        .as_str()
        .expect("session")
        .to_owned();
    app.ok(
        &token,
        SEND_SUPPORT,
        json!({"input": {"sessionId": session, "text": "where is my order?", "clientMessageId": format!("{customer}-1")}}),
    )
    .await;
    app.eventually(
        owner,
        SESSION_MESSAGES,
        json!({"id": session}),
        "the AI's support reply",
        |d| {
            d["conversation"]["messages"]["edges"]
                .as_array()
                .is_some_and(|edges| edges.iter().any(|e| e["node"]["senderKind"] == "AI"))
        },
    )
    .await;
}

#[tokio::test]
async fn ai_replies_and_call_minutes_reach_stripe_exactly_once_even_after_a_worker_dies_mid_report()
{
    let stripe = FakeStripe::start().await.expect("fake stripe");
    stripe.add_price(FakePrice {
        id: MINUTES_PRICE.into(),
        product: "prod_fake_call_minutes".into(),
        usage: Usage::Metered,
        unit_amount: 5,
        interval: "month".into(),
    });
    let livekit = FakeLiveKit::start().await.expect("fake livekit");
    let plans = write_plans(json!({
        "defaultPlan": "METERED",
        "freePlan": "FREE",
        "plans": [
            {"id": "FREE", "name": "Free", "features": {}},
            {"id": "METERED", "name": "Pay as you go",
             "prices": [
                {"price": DEFAULT_LICENSED_PRICE},
                {"price": DEFAULT_METERED_PRICE, "metered": "AI_REPLIES", "meterEventName": AI_METER},
                {"price": MINUTES_PRICE, "metered": "CALL_MINUTES", "meterEventName": MINUTES_METER}
             ],
             "features": {"supportChat": true, "reminderCalls": true},
             "included": {"aiReplies": 0, "callMinutes": 0}}
        ]
    }));
    // Two processes, one after the other, on one database.
    let (database_url, redis_url, _dir) = fresh_database().await;
    let options = |stripe: &FakeStripe| SpawnOptions {
        database_url: Some(database_url.clone()),
        redis_url: Some(redis_url.clone()),
        env: billing_env(stripe, plans.clone()),
        ..Default::default()
    };
    let first = crate::calls::with_livekit_and(&livekit, options(&stripe)).await;
    let owner = first.sign_up("acme-metered").await;
    let api_key = first
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"site\", scopes: [READ, WRITE]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .expect("key")
        .to_owned();

    // Subscribe: Checkout, the payer finishes, the signed event arrives.
    let url = first
        .ok(
            &owner,
            super::CHECKOUT,
            json!({"input": {"plan": "METERED", "successUrl": "https://app.example.com/ok",
                             "cancelUrl": "https://app.example.com/billing"}}),
        )
        .await["createCheckoutSession"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let session = url.rsplit('/').next().unwrap_or_default().to_owned();
    let (_, event) = stripe.complete_checkout(&session).expect("complete");
    assert_eq!(
        stripe
            .send_event(&webhook_url(&first), &event)
            .await
            .expect("delivered"),
        200
    );
    super::wait_status(&first, &owner, "ACTIVE").await;

    // The first meter event Stripe takes is answered only after a minute: this server will
    // be gone by then, without having recorded that Stripe has it.
    stripe.fail_next(Failure::DelayAnswer(Duration::from_secs(60)));
    ai_reply_in_support_chat(&first, &owner, &api_key, "cust-1").await;
    let fake = &stripe;
    let hung = wait_for(
        "the first meter event",
        Duration::from_secs(20),
        || async move { fake.meter_events().first().cloned().ok_or("none yet") },
    )
    .await;
    // More usage while the report hangs: a second AI reply and a call of at least a minute.
    ai_reply_in_support_chat(&first, &owner, &api_key, "cust-2").await;
    let zone = zone_at_local_hour(12);
    let invoice_id = invoice(&first, &owner, "INV-9001", crate::calls::CUSTOMER, &zone).await;
    let call = start(&first, &owner, &invoice_id).await;
    let call_id = call["id"].as_str().expect("call id").to_owned();
    until_status(&first, &owner, &call_id, "DIALING").await;
    let room = format!("call-{call_id}");
    livekit
        .answer_call(&room, &format!("sip-{call_id}"))
        .await
        .expect("answer");
    until_status(&first, &owner, &call_id, "IN_PROGRESS").await;
    livekit.finish_room(&room).await.expect("finish");
    until_status(&first, &owner, &call_id, "COMPLETED").await;
    let accepted_before_the_crash = stripe.meter_events().len();
    drop(first);

    // A new server on the same database takes the hung report over.
    let second = crate::calls::with_livekit_and(&livekit, options(&stripe)).await;
    let events = wait_for(
        "all three meter events",
        Duration::from_secs(40),
        || async move {
            let events = fake.meter_events();
            (events.len() >= 3).then_some(events.clone()).ok_or(events)
        },
    )
    .await;
    // Settled: another report interval changes nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let events_now = stripe.meter_events();
    assert_eq!(events_now, events, "nothing more was counted");
    assert!(accepted_before_the_crash >= 1, "Stripe took the hung event");
    let ai: Vec<_> = events.iter().filter(|e| e.event_name == AI_METER).collect();
    let minutes: Vec<_> = events
        .iter()
        .filter(|e| e.event_name == MINUTES_METER)
        .collect();
    assert_eq!(ai.len(), 2, "{events:#?}");
    assert!(ai.iter().all(|e| e.value == "1"));
    assert_eq!(minutes.len(), 1, "{events:#?}");
    assert!(minutes[0].value.parse::<u64>().unwrap_or(0) >= 1);
    let customer = second.ok(&owner, "{ billing { status } }", json!({})).await;
    assert_eq!(customer["billing"]["status"], "ACTIVE");
    // The hung event was sent again by the second server, and Stripe answered it with the
    // first one (same identifier and Idempotency-Key) instead of counting it twice.
    let repeats: Vec<_> = stripe
        .requests()
        .into_iter()
        .filter(|r| {
            r.path == "/v1/billing/meter_events"
                && r.idempotency_key.as_deref() == Some(hung.identifier.as_str())
        })
        .collect();
    assert!(
        repeats.iter().any(|r| r.replayed),
        "the crashed report was repeated and replayed: {repeats:#?}"
    );
    let identifiers: std::collections::BTreeSet<_> =
        events.iter().map(|e| e.identifier.clone()).collect();
    assert_eq!(identifiers.len(), events.len());

    // The ledger behind it, as the tenant charts it.
    let usage = second
        .ok(
            &owner,
            "query($from: DateTime!, $to: DateTime!) { usage(from: $from, to: $to, granularity: HOUR) { items { item total points { quantity } } } }",
            json!({"from": (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339(),
                   "to": (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await;
    let total = |item: &str| {
        usage["usage"]["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["item"] == item))
            .map(|i| i["total"].as_u64().unwrap_or(0))
            .unwrap_or(0)
    };
    assert_eq!(total("AI_REPLIES"), 2, "{usage}");
    assert!(total("CALL_MINUTES") >= 1, "{usage}");
}

const CONNECT: &str = "mutation($input: UpsertChannelConnectionInput!) { upsertChannelConnection(input: $input) { connection { id } } }";
const CREATE_LEAD: &str =
    "mutation($name: String!) { createLead(input: {name: $name}) { lead { id } } }";
const UPSERT: &str = "mutation($ref: String!, $name: String!) { upsertLeadByExternalRef(input: {system: \"crm\", externalRef: $ref, name: $name}) { created lead { id name } } }";
const CONVERSATIONS: &str = "{ conversations(first: 5) { edges { node { id lead { phone } messages(first: 10) { edges { node { direction senderKind } } } } } } }";

#[tokio::test]
async fn a_used_up_quantity_gives_limit_reached_while_inbound_messages_are_still_stored() {
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let whatsapp = FakeWhatsApp::start().await.expect("fake whatsapp");
    let plans = write_plans(json!({
        "defaultPlan": "FREE",
        "freePlan": "FREE",
        "plans": [
            {"id": "FREE", "name": "Free",
             "features": {"inboxChannels": ["WHATSAPP"], "supportChat": true, "seats": 2},
             "included": {"leads": 2, "messagesSent": 0, "aiReplies": 5}}
        ]
    }));
    let mut env = billing_env(&stripe, plans);
    env.push(("WHATSAPP_API_BASE".into(), whatsapp.base_url().to_owned()));
    let app = spawn_with(SpawnOptions {
        env,
        ..Default::default()
    })
    .await;
    let owner = app.sign_up("acme-quota").await;

    // Two leads fit; a CRM's existing lead may still be updated after that, a new one not.
    let crm = app
        .ok(&owner, UPSERT, json!({"ref": "c-1", "name": "Ana"}))
        .await;
    assert_eq!(crm["upsertLeadByExternalRef"]["created"], true);
    app.ok(&owner, CREATE_LEAD, json!({"name": "Bea"})).await;
    let refused = app
        .graphql(Some(&owner), CREATE_LEAD, json!({"name": "Caro"}))
        .await;
    assert_eq!(error_code(&refused), "LIMIT_REACHED", "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["limit"], "LEADS");
    assert!(refused["data"].is_null() || refused["data"]["createLead"].is_null());
    let updated = app
        .ok(&owner, UPSERT, json!({"ref": "c-1", "name": "Ana María"}))
        .await;
    assert_eq!(updated["upsertLeadByExternalRef"]["created"], false);
    assert_eq!(
        updated["upsertLeadByExternalRef"]["lead"]["name"],
        "Ana María"
    );
    let new_ref = app
        .graphql(Some(&owner), UPSERT, json!({"ref": "c-2", "name": "Dana"}))
        .await;
    assert_eq!(error_code(&new_ref), "LIMIT_REACHED", "{new_ref}");

    // A customer's message is never refused: stored, with its new lead, past the limit.
    let credentials = whatsapp.credentials();
    app.ok(
        &owner,
        CONNECT,
        json!({"input": {"channel": "WHATSAPP", "externalAccountId": credentials.phone_number_id,
               "accessToken": credentials.access_token, "appSecret": whatsapp.app_secret(),
               "verifyToken": "wa-verify"}}),
    )
    .await;
    let inbound =
        whatsapp.signed_text_message_webhook("16505551234", "Eva", "hi, is the blue one in stock?");
    let status = app
        .http
        .post(format!("{}/api/webhook/whatsapp/acme-quota", app.base))
        .headers(inbound.headers.clone())
        .body(inbound.body.clone())
        .send()
        .await
        .expect("webhook")
        .status()
        .as_u16();
    assert_eq!(status, 200);
    let stored = app
        .eventually(
            &owner,
            CONVERSATIONS,
            json!({}),
            "the stored message",
            |d| {
                d["conversations"]["edges"][0]["node"]["messages"]["edges"]
                    .as_array()
                    .is_some_and(|m| !m.is_empty())
            },
        )
        .await;
    let conversation = &stored["conversations"]["edges"][0]["node"];
    assert_eq!(conversation["lead"]["phone"], "+16505551234");
    let conversation_id = conversation["id"].as_str().expect("id").to_owned();

    // The AI turn ran and stayed silent: no message may be sent on this plan.
    let job = app
        .eventually(
            &owner,
            "{ jobs(filter: {kind: \"ai_response\"}, first: 5) { edges { node { status result } } } }",
            json!({}),
            "the AI turn to finish",
            |d| d["jobs"]["edges"][0]["node"]["status"] == "COMPLETED",
        )
        .await;
    let result = &job["jobs"]["edges"][0]["node"]["result"];
    assert_eq!(result["code"], "LIMIT_REACHED", "{result}");
    assert_eq!(result["limit"], "MESSAGES_SENT", "{result}");
    assert!(whatsapp.sent_messages().is_empty());
    // A person's reply is refused the same way, before anything is stored or sent.
    let reply = app
        .graphql(
            Some(&owner),
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } } }",
            json!({"input": {"conversationId": conversation_id, "text": "yes, it is!"}}),
        )
        .await;
    assert_eq!(error_code(&reply), "LIMIT_REACHED", "{reply}");
    assert_eq!(reply["errors"][0]["extensions"]["limit"], "MESSAGES_SENT");
    let after = app.ok(&owner, CONVERSATIONS, json!({})).await;
    let directions: Vec<&Value> = after["conversations"]["edges"][0]["node"]["messages"]["edges"]
        .as_array()
        .map(|m| m.iter().map(|e| &e["node"]["direction"]).collect())
        .unwrap_or_default();
    assert_eq!(directions, vec![&json!("INBOUND")]);

    // What the tenant sees: three leads against two included, none left.
    let billing = app
        .ok(
            &owner,
            "{ billing { usage { item used included remaining } } }",
            json!({}),
        )
        .await;
    let leads = billing["billing"]["usage"]
        .as_array()
        .and_then(|u| u.iter().find(|l| l["item"] == "LEADS"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        leads,
        json!({"item": "LEADS", "used": 3, "included": 2, "remaining": 0})
    );

    // Seats: the owner and one pending invite fill the two; the next invite is refused.
    let invite = "mutation($email: String!) { inviteMember(input: {email: $email, role: AGENT}) { invite { id } } }";
    app.ok(&owner, invite, json!({"email": "one@acme.test"}))
        .await;
    let third = app
        .graphql(Some(&owner), invite, json!({"email": "two@acme.test"}))
        .await;
    assert_eq!(error_code(&third), "LIMIT_REACHED", "{third}");
    assert_eq!(third["errors"][0]["extensions"]["limit"], "SEATS");
}

const LIVE_START: &str = "mutation($input: StartLiveSessionInput!) { startLiveSession(input: $input) { session { id } } }";
const LIVE_SESSION: &str = "query($id: ID!) { liveSession(id: $id) { interactions(first: 10) { edges { node { authorName outcome skipReason } } } } }";
const LIVE_EVENTS: &str = "subscription($id: ID!) { liveSessionEvents(sessionId: $id) { __typename ... on LimitWarning { code } ... on ReplySkipped { reason } } }";

#[tokio::test]
async fn a_live_session_stops_answering_when_its_ai_replies_are_used_up_and_says_why() {
    use leadline_youtube::fake::{FakeYoutube, BOT_CHANNEL_ID};
    let stripe = FakeStripe::start().await.expect("fake stripe");
    let youtube = FakeYoutube::start().await.expect("fake YouTube");
    youtube.add_live_video("dQw4w9WgXcQ", "live-chat-1");
    youtube.set_polling_interval("live-chat-1", 500);
    let plans = write_plans(json!({
        "defaultPlan": "FREE",
        "freePlan": "FREE",
        "plans": [
            {"id": "FREE", "name": "Free", "features": {"liveSelling": true},
             "included": {"aiReplies": 1}}
        ]
    }));
    let mut env = billing_env(&stripe, plans);
    env.push(("YOUTUBE_API_BASE".into(), youtube.base_url().to_owned()));
    env.push((
        "YOUTUBE_ACCESS_TOKEN".into(),
        youtube.oauth_token().to_owned(),
    ));
    let app = spawn_with(SpawnOptions {
        env,
        ..Default::default()
    })
    .await;
    let owner = app.sign_up("live-quota").await;
    let hoodie = crate::live::create_hoodie(&app, &owner).await;
    let id = app
        .ok(
            &owner,
            LIVE_START,
            json!({"input": {"platform": "YOUTUBE", "products": [hoodie],
                   "youtube": {"videoId": "dQw4w9WgXcQ", "botChannelId": BOT_CHANNEL_ID},
                   "limits": {"viewerCooldownSeconds": 0}}}),
        )
        .await["startLiveSession"]["session"]["id"]
        .as_str()
        .expect("session id")
        .to_owned();
    let mut socket = app.ws(&owner).await.expect("socket");
    socket.subscribe(LIVE_EVENTS, json!({"id": id})).await;
    let outcome_of = |data: &Value, author: &str| {
        data["liveSession"]["interactions"]["edges"]
            .as_array()
            .and_then(|edges| edges.iter().find(|e| e["node"]["authorName"] == author))
            .map(|e| e["node"].clone())
            .unwrap_or(Value::Null)
    };
    // The one included AI reply is given…
    youtube.push_text("live-chat-1", "sam", "how much is the hoodie?");
    app.eventually(
        &owner,
        LIVE_SESSION,
        json!({"id": id}),
        "sam's reply",
        |d| outcome_of(d, "sam")["outcome"] == "REPLIED",
    )
    .await;
    // …then the chat is still read, but not answered, and the dashboard is told why.
    youtube.push_text("live-chat-1", "lucia", "how much is the hoodie??");
    let data = app
        .eventually(
            &owner,
            LIVE_SESSION,
            json!({"id": id}),
            "lucia's skip",
            |d| outcome_of(d, "lucia")["outcome"] == "SKIPPED",
        )
        .await;
    assert_eq!(outcome_of(&data, "lucia")["skipReason"], "LIMIT_REACHED");
    let warning = socket
        .next_data_where(Duration::from_secs(10), |d| {
            d["liveSessionEvents"]["__typename"] == "LimitWarning"
        })
        .await
        .expect("a LimitWarning event");
    assert_eq!(warning["liveSessionEvents"]["code"], "LIMIT_REACHED");
    // The session itself is still running: reading and scoring go on.
    let session = app
        .ok(
            &owner,
            "query($id: ID!) { liveSession(id: $id) { status } }",
            json!({"id": id}),
        )
        .await;
    assert_eq!(session["liveSession"]["status"], "ACTIVE");
}
