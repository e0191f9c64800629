//! Payment-reminder calls end to end, against the fake LiveKit: an invoice, the compliance
//! gate, the dial (room, agent dispatch, SIP participant, each with a JWT the fake checks), the
//! signed webhooks that move the call, the agent's transcript and outcome, `callEvents` over
//! graphql-transport-ws, and the attacks every new operation gets.

use std::time::Duration;

use chrono::Timelike;
use leadline_livekit::fake::{
    Failure, FakeLiveKit, DEFAULT_API_KEY, DEFAULT_API_SECRET, DEFAULT_TRUNK_ID,
};
use leadline_livekit::models::Rpc;
use serde_json::{json, Value};

use crate::harness::{error_code, spawn_with, SpawnOptions, TestApp};

pub(crate) const CUSTOMER: &str = "+16505551234";
pub(crate) const AGENT: &str = "reminder-agent";

const CREATE_INVOICE: &str = "mutation($input: CreateInvoiceInput!) { createInvoice(input: $input) { invoice { id status leadId phone amountDue { amountMicros currencyCode } } } }";
pub(crate) const START: &str = "mutation($input: StartPaymentReminderCallInput!) { startPaymentReminderCall(input: $input) { call { id status blockedReason scheduledFor attempts } } }";
pub(crate) const CALL: &str = "query($id: ID!) { call(id: $id) { id status connected durationSeconds attempts blockedReason errorCode livekitCallId toNumber outcome { customerResponse notes promisedDate promisedAmount { amountMicros currencyCode } answeredBy } transcript { speaker text } invoice { invoiceNumber status } } }";

/// An IANA zone whose local time is now `hour` o'clock (give or take the minutes): a fixed
/// offset, so the test does not depend on today's DST.
pub(crate) fn zone_at_local_hour(hour: i64) -> String {
    let now = chrono::Utc::now().hour() as i64;
    let mut offset = hour - now;
    if offset < -12 {
        offset += 24;
    }
    if offset > 14 {
        offset -= 24;
    }
    // `Etc/GMT-3` is UTC+3: the sign is inverted by the standard.
    match offset {
        0 => "Etc/GMT".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

pub(crate) async fn with_livekit(fake: &FakeLiveKit) -> TestApp {
    with_livekit_and(fake, SpawnOptions::default()).await
}

/// An app whose operator LiveKit is `fake`, with `options` (their `env` is added to it).
pub(crate) async fn with_livekit_and(fake: &FakeLiveKit, options: SpawnOptions) -> TestApp {
    let mut env = vec![
        ("LIVEKIT_API_URL".into(), fake.base_url().to_owned()),
        ("LIVEKIT_API_KEY".into(), DEFAULT_API_KEY.into()),
        ("LIVEKIT_API_SECRET".into(), DEFAULT_API_SECRET.into()),
        ("LIVEKIT_SIP_TRUNK_ID".into(), DEFAULT_TRUNK_ID.into()),
        ("LIVEKIT_AGENT_NAME".into(), AGENT.into()),
    ];
    env.extend(options.env.clone());
    let app = spawn_with(SpawnOptions { env, ..options }).await;
    fake.set_webhook_url(format!("{}/api/webhook/livekit", app.base));
    app
}

pub(crate) async fn invoice(
    app: &TestApp,
    token: &str,
    number: &str,
    phone: &str,
    zone: &str,
) -> String {
    let data = app
        .ok(
            token,
            CREATE_INVOICE,
            json!({"input": {
                "invoiceNumber": number, "customerName": "Ana Díaz", "phone": phone,
                "amountDue": {"amountMicros": 120_000_000, "currencyCode": "USD"},
                "originalAmount": {"amountMicros": 150_000_000, "currencyCode": "USD"},
                "dueDate": "2026-12-01", "paymentMethods": ["bank transfer", "card"],
                "companyName": "Acme Water", "supportPhone": "+16505550000",
                "timeZone": zone,
            }}),
        )
        .await;
    data["createInvoice"]["invoice"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) async fn start(app: &TestApp, token: &str, invoice_id: &str) -> Value {
    app.ok(token, START, json!({"input": {"invoiceId": invoice_id}}))
        .await["startPaymentReminderCall"]["call"]
        .clone()
}

pub(crate) async fn call(app: &TestApp, token: &str, id: &str) -> Value {
    app.ok(token, CALL, json!({"id": id})).await["call"].clone()
}

/// Waits until the call reaches `status` (the dial job and webhooks are asynchronous).
pub(crate) async fn until_status(app: &TestApp, token: &str, id: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = call(app, token, id).await;
        if now["status"] == status {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "call never reached {status}: {now:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post_raw(app: &TestApp, body: &str, authorization: &str) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/api/webhook/livekit", app.base))
        .header("content-type", "application/webhook+json")
        .header("authorization", authorization)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_reminder_call_dials_through_livekit_and_its_webhooks_carry_it_to_completed() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-happy").await;
    let invoice_id = invoice(&app, &owner, "INV-1001", CUSTOMER, &zone_at_local_hour(12)).await;

    // Subscribed to the tenant's calls before the call exists, so no step can be missed.
    let mut ws = app.ws(&owner).await.unwrap();
    ws.subscribe(
        "subscription { callEvents { kind status line { speaker text } call { id status } } }",
        json!({}),
    )
    .await;
    let queued = start(&app, &owner, &invoice_id).await;
    assert_eq!(queued["status"], "QUEUED", "{queued}");
    assert_eq!(queued["attempts"], 1);
    let id = queued["id"].as_str().unwrap().to_owned();
    let room = format!("call-{id}");

    let dialing = until_status(&app, &owner, &id, "DIALING").await;
    assert!(dialing["livekitCallId"]
        .as_str()
        .unwrap()
        .starts_with("SCL_"));
    // The fake saw each call with a token it verified, in order: room, dispatch, dial.
    let rooms = fake.requests_for(Rpc::CreateRoom);
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].body["name"], room);
    assert!(
        rooms[0].claims.is_some(),
        "the room call carried a valid JWT"
    );
    let dispatches = fake.dispatches();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].agent_name, AGENT);
    let metadata: Value = serde_json::from_str(&dispatches[0].metadata).unwrap();
    assert_eq!(metadata["context"]["invoiceNumber"], "INV-1001");
    assert_eq!(
        metadata["context"]["amountDue"]["amountMicros"],
        120_000_000
    );
    assert!(metadata["prompt"].as_str().unwrap().contains("INV-1001"));
    let dials = fake.requests_for(Rpc::CreateSipParticipant);
    assert_eq!(dials.len(), 1);
    assert_eq!(dials[0].body["sip_call_to"], CUSTOMER);
    assert_eq!(dials[0].body["sip_trunk_id"], DEFAULT_TRUNK_ID);

    // The customer answers; the agent reports what it hears and how it ends.
    fake.answer_call(&room, &format!("sip-{id}")).await.unwrap();
    until_status(&app, &owner, &id, "IN_PROGRESS").await;
    app.ok(
        &owner,
        "mutation($input: AppendCallTranscriptInput!) { appendCallTranscript(input: $input) { appended } }",
        json!({"input": {"callId": id, "lines": [
            {"speaker": "AGENT", "text": "Hi Ana, this is an AI assistant calling about invoice INV-1001."},
            {"speaker": "CUSTOMER", "text": "I will pay the 120 today."},
        ]}}),
    )
    .await;
    app.ok(
        &owner,
        "mutation($input: RecordCallOutcomeInput!) { recordCallOutcome(input: $input) { call { id } } }",
        json!({"input": {"callId": id, "customerResponse": "WILL_PAY_TODAY", "notes": "pays by transfer",
               "promisedAmount": {"amountMicros": 120_000_000, "currencyCode": "USD"}, "answeredBy": "HUMAN"}}),
    )
    .await;
    fake.finish_room(&room).await.unwrap();
    let done = until_status(&app, &owner, &id, "COMPLETED").await;
    assert_eq!(done["connected"], true);
    assert!(done["durationSeconds"].as_i64().unwrap() >= 0);
    assert_eq!(done["outcome"]["customerResponse"], "WILL_PAY_TODAY");
    assert_eq!(done["outcome"]["answeredBy"], "HUMAN");
    assert_eq!(
        done["outcome"]["promisedAmount"]["amountMicros"],
        120_000_000
    );
    assert_eq!(done["transcript"].as_array().unwrap().len(), 2);

    // Every step reached the subscription, in order.
    let mut seen = Vec::new();
    for _ in 0..10 {
        let Some(event) = ws.next_data_where(Duration::from_secs(5), |_| true).await else {
            break;
        };
        let event = &event["callEvents"];
        seen.push(match event["kind"].as_str().unwrap() {
            "STATUS" => event["status"].as_str().unwrap().to_owned(),
            other => other.to_owned(),
        });
        if seen.last().map(String::as_str) == Some("COMPLETED") {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "QUEUED",
            "DIALING",
            "IN_PROGRESS",
            "TRANSCRIPT",
            "TRANSCRIPT",
            "OUTCOME",
            "COMPLETED"
        ]
    );

    // A redelivery of the last webhook changes nothing; a forged one is refused.
    let last = fake.webhooks().last().cloned().unwrap();
    let (status, body) = post_raw(&app, &last.body, &last.authorization).await;
    assert_eq!((status, body["outcome"].as_str()), (200, Some("duplicate")));
    let (status, _) = post_raw(&app, &last.body, "eyJhbGciOiJIUzI1NiJ9.e30.forged").await;
    assert_eq!(status, 401);
    let tampered = last.body.replace("room_finished", "participant_joined");
    let (status, _) = post_raw(&app, &tampered, &last.authorization).await;
    assert_eq!(status, 401, "a body that does not match its signed hash");
    assert_eq!(call(&app, &owner, &id).await["status"], "COMPLETED");
}

#[tokio::test]
async fn the_gate_blocks_listed_numbers_and_defers_night_calls_without_dialling() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-gate").await;

    app.ok(
        &owner,
        "mutation { setDoNotCall(input: {phone: \"+1 650 555 9876\", blocked: true, reason: \"asked\"}) { phone blocked } }",
        json!({}),
    )
    .await;
    let listed = invoice(
        &app,
        &owner,
        "INV-DNC",
        "+16505559876",
        &zone_at_local_hour(12),
    )
    .await;
    let blocked = start(&app, &owner, &listed).await;
    assert_eq!(blocked["status"], "BLOCKED", "{blocked}");
    assert_eq!(blocked["blockedReason"], "DO_NOT_CALL");

    let night = invoice(&app, &owner, "INV-NIGHT", CUSTOMER, &zone_at_local_hour(3)).await;
    let deferred = start(&app, &owner, &night).await;
    assert_eq!(deferred["status"], "QUEUED", "{deferred}");
    let when =
        chrono::DateTime::parse_from_rfc3339(deferred["scheduledFor"].as_str().unwrap()).unwrap();
    assert!(
        when > chrono::Utc::now() + chrono::Duration::hours(3),
        "deferred to the morning, got {when}"
    );

    // Give the workers time to pick anything up: nothing may be dialled.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(fake.requests_for(Rpc::CreateSipParticipant).is_empty());
    let id = deferred["id"].as_str().unwrap();
    assert_eq!(call(&app, &owner, id).await["status"], "QUEUED");

    // The night call can still be cancelled before it is dialled; the blocked one cannot.
    let cancelled = app
        .ok(
            &owner,
            "mutation($input: CallIdInput!) { cancelCall(input: $input) { call { status } } }",
            json!({"input": {"callId": id}}),
        )
        .await;
    assert_eq!(cancelled["cancelCall"]["call"]["status"], "CANCELED");
    let refused = app
        .graphql(
            Some(&owner),
            "mutation($input: CallIdInput!) { cancelCall(input: $input) { call { status } } }",
            json!({"input": {"callId": blocked["id"]}}),
        )
        .await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");
}

#[tokio::test]
async fn a_livekit_refusal_fails_the_call_and_missing_settings_are_named() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-fail").await;
    fake.fail_next(
        Rpc::CreateSipParticipant,
        Failure::twirp("invalid_argument", "number not reachable"),
    );
    let invoice_id = invoice(&app, &owner, "INV-4XX", CUSTOMER, &zone_at_local_hour(12)).await;
    let id = start(&app, &owner, &invoice_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = until_status(&app, &owner, &id, "FAILED").await;
    assert!(
        failed["errorCode"]
            .as_str()
            .unwrap()
            .starts_with("CALL_INITIATION_FAILED"),
        "{failed}"
    );

    // Without LiveKit settings the call fails with what is missing, and /readyz says so.
    let bare = spawn_with(SpawnOptions::default()).await;
    let token = bare.sign_up("calls-bare").await;
    let invoice_id = invoice(&bare, &token, "INV-CFG", CUSTOMER, &zone_at_local_hour(12)).await;
    let id = start(&bare, &token, &invoice_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let failed = until_status(&bare, &token, &id, "FAILED").await;
    assert!(
        failed["errorCode"]
            .as_str()
            .unwrap()
            .contains("LIVEKIT_API_URL"),
        "{failed}"
    );
    let ready: Value = bare
        .http
        .get(format!("{}/readyz", bare.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["reminderCalls"]["configured"], false, "{ready}");
}

#[tokio::test]
async fn invoices_and_calls_are_validated() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-valid").await;
    for (field, patch) in [
        ("phone", json!({"phone": "555-1234"})),
        (
            "amountDue",
            json!({"amountDue": {"amountMicros": 0, "currencyCode": "USD"}}),
        ),
        ("dueDate", json!({"dueDate": "01/12/2026"})),
        ("timeZone", json!({"timeZone": "Mars/Olympus"})),
        ("language", json!({"language": "fr"})),
        (
            "originalAmount",
            json!({"originalAmount": {"amountMicros": 1, "currencyCode": "USD"}}),
        ),
    ] {
        let mut input = json!({
            "invoiceNumber": "INV-V", "customerName": "Ana", "phone": CUSTOMER,
            "amountDue": {"amountMicros": 5_000_000, "currencyCode": "USD"}, "dueDate": "2026-12-01",
        });
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        let refused = app
            .graphql(Some(&owner), CREATE_INVOICE, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{field}: {refused}");
        assert_eq!(refused["errors"][0]["extensions"]["field"], field);
    }
    let first = invoice(&app, &owner, "INV-DUP", CUSTOMER, "America/Los_Angeles").await;
    let again = app
        .graphql(
            Some(&owner),
            CREATE_INVOICE,
            json!({"input": {"invoiceNumber": "INV-DUP", "customerName": "Ana", "phone": CUSTOMER,
                   "amountDue": {"amountMicros": 5_000_000, "currencyCode": "USD"}, "dueDate": "2026-12-01"}}),
        )
        .await;
    assert_eq!(error_code(&again), "CONFLICT");
    app.ok(
        &owner,
        "mutation($input: InvoiceIdInput!) { markInvoicePaid(input: $input) { invoice { status } } }",
        json!({"input": {"invoiceId": first}}),
    )
    .await;
    let paid = app
        .graphql(Some(&owner), START, json!({"input": {"invoiceId": first}}))
        .await;
    assert_eq!(error_code(&paid), "CONFLICT", "{paid}");
    let list = app
        .ok(
            &owner,
            "{ invoices(first: 5) { totalCount nodes { invoiceNumber status } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["invoices"]["totalCount"], 1);
    assert_eq!(list["invoices"]["nodes"][0]["status"], "PAID");
}

#[tokio::test]
async fn other_tenants_customers_readers_and_alias_floods_get_nothing() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let victim = app.sign_up("calls-victim").await;
    let attacker = app.sign_up("calls-attacker").await;
    let invoice_id = invoice(&app, &victim, "INV-V1", CUSTOMER, &zone_at_local_hour(12)).await;
    let call_id = start(&app, &victim, &invoice_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Another tenant: every read and write is NOT_FOUND, and lists are empty.
    for (query, variables) in [
        (CALL, json!({"id": call_id})),
        ("query($id: ID!) { invoice(id: $id) { id } }", json!({"id": invoice_id})),
        (START, json!({"input": {"invoiceId": invoice_id}})),
        (
            "mutation($input: CallIdInput!) { cancelCall(input: $input) { call { id } } }",
            json!({"input": {"callId": call_id}}),
        ),
        (
            "mutation($input: RecordCallOutcomeInput!) { recordCallOutcome(input: $input) { call { id } } }",
            json!({"input": {"callId": call_id, "customerResponse": "DISPUTE"}}),
        ),
        (
            "mutation($input: AppendCallTranscriptInput!) { appendCallTranscript(input: $input) { appended } }",
            json!({"input": {"callId": call_id, "lines": [{"speaker": "AGENT", "text": "x"}]}}),
        ),
    ] {
        let answer = app.graphql(Some(&attacker), query, variables).await;
        assert_eq!(error_code(&answer), "NOT_FOUND", "{query}: {answer}");
    }
    let lists = app
        .ok(
            &attacker,
            "{ calls(first: 10) { totalCount } invoices(first: 10) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(lists["calls"]["totalCount"], 0);
    assert_eq!(lists["invoices"]["totalCount"], 0);
    // A batch naming the victim's invoice stores nothing, not even the attacker's own call.
    let own = invoice(&app, &attacker, "INV-A1", CUSTOMER, &zone_at_local_hour(12)).await;
    let batch = app
        .graphql(
            Some(&attacker),
            "mutation($input: ScheduleReminderCallsInput!) { scheduleReminderCalls(input: $input) { calls { id } } }",
            json!({"input": {"invoiceIds": [own, invoice_id]}}),
        )
        .await;
    assert_eq!(error_code(&batch), "NOT_FOUND", "{batch}");
    let calls = app
        .ok(&attacker, "{ calls(first: 10) { totalCount } }", json!({}))
        .await;
    assert_eq!(calls["calls"]["totalCount"], 0, "{calls}");
    let mut ws = app.ws(&attacker).await.unwrap();
    ws.subscribe(
        "subscription($id: ID) { callEvents(callId: $id) { kind } }",
        json!({"id": call_id}),
    )
    .await;
    let refused = ws.next_event(Duration::from_secs(5)).await;
    assert!(
        format!("{refused:?}").contains("NOT_FOUND"),
        "subscribing to another tenant's call: {refused:?}"
    );

    // A customer token and a READ key cannot touch calls.
    let customer = app
        .ok(
            &victim,
            "mutation { createCustomerToken(input: {externalUserId: \"u-1\", name: \"Una\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reader = app
        .ok(
            &victim,
            "mutation { createApiKey(input: {name: \"reader\", scopes: [READ]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for (who, token, expected) in [
        (
            "customer",
            customer.as_str(),
            ["FORBIDDEN", "UNAUTHENTICATED"],
        ),
        ("reader", reader.as_str(), ["FORBIDDEN", "FORBIDDEN"]),
    ] {
        let answer = app
            .graphql(
                Some(token),
                START,
                json!({"input": {"invoiceId": invoice_id}}),
            )
            .await;
        assert!(
            expected.contains(&error_code(&answer)),
            "{who} starting a call: {answer}"
        );
    }
    let customer_read = app
        .graphql(Some(&customer), CALL, json!({"id": call_id}))
        .await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&customer_read)),
        "{customer_read}"
    );
    let customer_stats = app
        .graphql(
            Some(&customer),
            "{ callStats(from: \"2026-01-01T00:00:00Z\", to: \"2026-01-02T00:00:00Z\") { total } }",
            json!({}),
        )
        .await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&customer_stats)),
        "{customer_stats}"
    );

    // A flood of aliases is refused before any of them runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: setDoNotCall(input: {{phone: \"+1650555{i:04}\", blocked: true}}) {{ phone }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(Some(&victim), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
}

#[tokio::test]
async fn a_removed_members_call_subscription_ends() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-removed").await;
    let (agent, agent_id) = app
        .member(&owner, "agent@calls-removed.test", "AGENT")
        .await;
    let mut ws = app.ws(&agent).await.unwrap();
    ws.subscribe("subscription { callEvents { kind } }", json!({}))
        .await;
    app.ok(
        &owner,
        "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
        json!({"u": agent_id}),
    )
    .await;
    let ended = ws.next_event(Duration::from_secs(5)).await;
    assert!(
        format!("{ended:?}").contains("UNAUTHENTICATED"),
        "the removed agent's subscription ends: {ended:?}"
    );
    // And a call started afterwards reaches nobody on that socket.
    let invoice_id = invoice(&app, &owner, "INV-R1", CUSTOMER, &zone_at_local_hour(12)).await;
    start(&app, &owner, &invoice_id).await;
    use crate::harness::WsEvent;
    while let Some(event) = ws.next_event(Duration::from_millis(500)).await {
        match event {
            WsEvent::Next(data) => panic!("no call event after removal: {data}"),
            WsEvent::Complete | WsEvent::Closed(_) => break,
            WsEvent::Error(_) => {}
        }
    }
}

#[test]
fn eval_scores_the_offline_call_outcome_classifier_on_the_held_out_split() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_clear()
            .output()
            .expect("run leadline eval")
    };
    let output = run(&[
        "eval",
        "--task",
        "call-outcome",
        "domain/data/calls/outcomes.jsonl",
        "--split",
        "test",
        "--json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert!(
        report["examples"].as_u64().unwrap_or_default() >= 60,
        "{report}"
    );
    let f1 = report["macroF1"].as_f64().unwrap_or_default();
    assert!(f1 >= 0.9, "call-outcome macro-F1 on the test split: {f1}");
    // The intent task still needs its catalog, and says so.
    let missing = run(&["eval", "domain/data/analysis/test.jsonl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--catalog"));
}

mod outcomes;
