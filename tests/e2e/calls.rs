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

#[tokio::test]
async fn a_busy_line_is_retried_after_the_spacing_and_an_unreported_call_is_classified() {
    use leadline_livekit::models::DisconnectReason;
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-retry").await;

    // Busy: the call ends BUSY and a second attempt waits two hours, through the gate.
    let invoice_id = invoice(&app, &owner, "INV-BUSY", CUSTOMER, &zone_at_local_hour(12)).await;
    let id = start(&app, &owner, &invoice_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_status(&app, &owner, &id, "DIALING").await;
    fake.hang_up(
        &format!("call-{id}"),
        &format!("sip-{id}"),
        DisconnectReason::UserRejected,
    )
    .await
    .unwrap();
    until_status(&app, &owner, &id, "BUSY").await;
    let calls = app
        .ok(
            &owner,
            "query($f: CallsFilter) { calls(filter: $f, first: 10) { nodes { id status attempts scheduledFor } } }",
            json!({"f": {"invoiceId": invoice_id}}),
        )
        .await;
    let nodes = calls["calls"]["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 2, "{calls}");
    let retry = &nodes[0];
    assert_eq!(
        (retry["status"].as_str(), retry["attempts"].as_i64()),
        (Some("QUEUED"), Some(2))
    );
    let when =
        chrono::DateTime::parse_from_rfc3339(retry["scheduledFor"].as_str().unwrap()).unwrap();
    assert!(
        when > chrono::Utc::now() + chrono::Duration::minutes(100),
        "{when}"
    );

    // Answered, talked, ended without a reported outcome: the transcript is classified.
    let invoice_id = invoice(
        &app,
        &owner,
        "INV-TALK",
        "+16505551235",
        &zone_at_local_hour(12),
    )
    .await;
    let id = start(&app, &owner, &invoice_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_status(&app, &owner, &id, "DIALING").await;
    fake.answer_call(&format!("call-{id}"), &format!("sip-{id}"))
        .await
        .unwrap();
    until_status(&app, &owner, &id, "IN_PROGRESS").await;
    app.ok(
        &owner,
        "mutation($input: AppendCallTranscriptInput!) { appendCallTranscript(input: $input) { appended } }",
        json!({"input": {"callId": id, "lines": [
            {"speaker": "AGENT", "text": "Can you pay the invoice today?"},
            {"speaker": "CUSTOMER", "text": "I already paid it last week, I have the receipt."},
        ]}}),
    )
    .await;
    fake.finish_room(&format!("call-{id}")).await.unwrap();
    until_status(&app, &owner, &id, "COMPLETED").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let classified = loop {
        let now = call(&app, &owner, &id).await;
        if !now["outcome"].is_null() {
            break now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never classified: {now}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        classified["outcome"]["customerResponse"], "ALREADY_PAID",
        "{classified}"
    );
    assert!(classified["outcome"]["notes"]
        .as_str()
        .unwrap()
        .starts_with("classified offline"));
    assert_eq!(classified["invoice"]["status"], "CHECK_PAYMENT");
}

#[tokio::test]
async fn a_batch_is_called_once_each_and_stats_count_what_happened() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-batch").await;
    let zone = zone_at_local_hour(12);
    let a = invoice(&app, &owner, "INV-B1", "+16505551201", &zone).await;
    let b = invoice(&app, &owner, "INV-B2", "+16505551202", &zone).await;
    let batch = app
        .ok(
            &owner,
            "mutation($input: ScheduleReminderCallsInput!) { scheduleReminderCalls(input: $input) { calls { id status } } }",
            json!({"input": {"invoiceIds": [a, b, a]}}),
        )
        .await;
    let calls = batch["scheduleReminderCalls"]["calls"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(calls.len(), 2, "a repeated invoice counts once: {batch}");
    for c in &calls {
        until_status(&app, &owner, c["id"].as_str().unwrap(), "DIALING").await;
    }
    assert_eq!(fake.requests_for(Rpc::CreateSipParticipant).len(), 2);
    let first = calls[0]["id"].as_str().unwrap();
    fake.answer_call(&format!("call-{first}"), &format!("sip-{first}"))
        .await
        .unwrap();
    until_status(&app, &owner, first, "IN_PROGRESS").await;
    app.ok(
        &owner,
        "mutation($input: RecordCallOutcomeInput!) { recordCallOutcome(input: $input) { call { id } } }",
        json!({"input": {"callId": first, "customerResponse": "WILL_PAY_TODAY",
               "promisedAmount": {"amountMicros": 50_000_000, "currencyCode": "USD"}}}),
    )
    .await;

    // A paid invoice in a batch refuses the whole batch.
    app.ok(
        &owner,
        "mutation($input: InvoiceIdInput!) { markInvoicePaid(input: $input) { invoice { status } } }",
        json!({"input": {"invoiceId": b}}),
    )
    .await;
    let c = invoice(&app, &owner, "INV-B3", "+16505551203", &zone).await;
    let refused = app
        .graphql(
            Some(&owner),
            "mutation($input: ScheduleReminderCallsInput!) { scheduleReminderCalls(input: $input) { calls { id } } }",
            json!({"input": {"invoiceIds": [c, b]}}),
        )
        .await;
    assert_eq!(error_code(&refused), "CONFLICT", "{refused}");

    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let stats = app
        .ok(
            &owner,
            "query($from: DateTime!, $to: DateTime!) { callStats(from: $from, to: $to) { total connectRate byStatus { status count } byOutcome { outcome count } promised { amountMicros currencyCode } } }",
            json!({"from": from, "to": to}),
        )
        .await["callStats"]
        .clone();
    assert_eq!(stats["total"], 2, "{stats}");
    assert_eq!(stats["connectRate"], 0.5);
    assert_eq!(
        stats["byOutcome"],
        json!([{"outcome": "WILL_PAY_TODAY", "count": 1}])
    );
    assert_eq!(stats["promised"][0]["amountMicros"], 50_000_000);
    let too_long = app
        .graphql(
            Some(&owner),
            "query { callStats(from: \"2026-01-01T00:00:00Z\", to: \"2026-06-01T00:00:00Z\") { total } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&too_long), "BAD_USER_INPUT");
}

#[tokio::test]
async fn a_dispute_opens_a_ticket_and_outcomes_move_the_lead_score_with_their_reason() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-effects").await;
    let disputed = invoice(&app, &owner, "INV-2001", CUSTOMER, &zone_at_local_hour(12)).await;
    let promised = invoice(&app, &owner, "INV-2002", CUSTOMER, &zone_at_local_hour(12)).await;
    let first = start(&app, &owner, &disputed).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let outcome_of =
        "query($id: ID!) { call(id: $id) { leadId outcome { customerResponse ticketId } } }";
    let lead = app.ok(&owner, outcome_of, json!({"id": first})).await["call"]["leadId"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ws = app.ws(&owner).await.unwrap();
    ws.subscribe(
        "subscription($id: ID) { leadScoreChanged(leadId: $id) { leadId signal reason score previousScore } }",
        json!({"id": lead}),
    )
    .await;
    // Let the subscription start before the change it must see.
    tokio::time::sleep(Duration::from_millis(300)).await;

    app.ok(
        &owner,
        "mutation($input: RecordCallOutcomeInput!) { recordCallOutcome(input: $input) { call { id } } }",
        json!({"input": {"callId": first, "customerResponse": "DISPUTE", "notes": "says the meter was misread"}}),
    )
    .await;
    let after_dispute = app.ok(&owner, outcome_of, json!({"id": first})).await;
    assert_eq!(
        after_dispute["call"]["outcome"]["customerResponse"],
        "DISPUTE"
    );
    assert!(
        after_dispute["call"]["outcome"]["ticketId"].is_string(),
        "a dispute opens a ticket: {after_dispute}"
    );
    let streamed = ws
        .next_data_where(Duration::from_secs(5), |_| true)
        .await
        .expect("the score change is streamed");
    let change = &streamed["leadScoreChanged"];
    assert_eq!(change["signal"], "invoice_disputed");
    assert!(
        change["reason"].as_str().unwrap().contains("INV-2001"),
        "{change}"
    );

    let second = start(&app, &owner, &promised).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        &owner,
        "mutation($input: RecordCallOutcomeInput!) { recordCallOutcome(input: $input) { call { id } } }",
        json!({"input": {"callId": second, "customerResponse": "WILL_PAY_TODAY"}}),
    )
    .await;
    let after_promise = app.ok(&owner, outcome_of, json!({"id": second})).await;
    assert!(
        after_promise["call"]["outcome"]["ticketId"].is_null(),
        "only a dispute opens a ticket"
    );
    let history = app
        .ok(
            &owner,
            "query($id: ID!) { lead(id: $id) { score scoreHistory(first: 10) { edges { node { signal delta reason scoreBefore scoreAfter } } } } }",
            json!({"id": lead}),
        )
        .await;
    let events: Vec<&Value> = history["lead"]["scoreHistory"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .collect();
    let by_signal = |signal: &str| {
        events
            .iter()
            .find(|event| event["signal"] == signal)
            .unwrap_or_else(|| panic!("no {signal} event in {history}"))
    };
    let dispute = by_signal("invoice_disputed");
    assert_eq!(dispute["delta"], -10);
    let promise = by_signal("payment_promised");
    assert_eq!(promise["delta"], 15);
    assert!(promise["reason"].as_str().unwrap().contains("INV-2002"));
    assert_eq!(history["lead"]["score"], promise["scoreAfter"]);
}

const APPEND: &str = "mutation($input: AppendCallTranscriptInput!) { appendCallTranscript(input: $input) { appended } }";
const OUTCOME: &str = "mutation($input: RecordCallOutcomeInput!) { recordCallOutcome(input: $input) { call { id outcome { customerResponse } } } }";

#[tokio::test]
async fn the_agents_call_token_and_a_calls_key_report_on_calls_and_can_do_nothing_else() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("calls-tokens").await;
    let first = invoice(&app, &owner, "INV-3001", CUSTOMER, &zone_at_local_hour(12)).await;
    let second = invoice(
        &app,
        &owner,
        "INV-3002",
        "+16505554321",
        &zone_at_local_hour(12),
    )
    .await;
    let id = start(&app, &owner, &first).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_status(&app, &owner, &id, "DIALING").await;
    let metadata: Value = serde_json::from_str(&fake.dispatches()[0].metadata).unwrap();
    let token = metadata["report"]["token"].as_str().unwrap().to_owned();
    assert!(metadata["report"]["tokenExpiresAt"].is_string());

    // The token reports on its own call.
    let line =
        json!({"input": {"callId": id, "lines": [{"speaker": "CUSTOMER", "text": "hello"}]}});
    assert_eq!(
        app.ok(&token, APPEND, line.clone()).await["appendCallTranscript"]["appended"],
        1
    );
    // On another call, on the CRM, on anything else: FORBIDDEN.
    let other = start(&app, &owner, &second).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let elsewhere = app
        .graphql(
            Some(&token),
            OUTCOME,
            json!({"input": {"callId": other, "customerResponse": "OTHER"}}),
        )
        .await;
    assert_eq!(error_code(&elsewhere), "FORBIDDEN", "{elsewhere}");
    for (query, variables) in [
        ("{ leads(first: 5) { totalCount } }", json!({})),
        (
            "query($id: ID!) { call(id: $id) { id } }",
            json!({"id": id}),
        ),
        (
            "mutation($input: CallIdInput!) { cancelCall(input: $input) { call { id } } }",
            json!({"input": {"callId": id}}),
        ),
    ] {
        let refused = app.graphql(Some(&token), query, variables).await;
        assert_eq!(error_code(&refused), "FORBIDDEN", "{query}: {refused}");
    }
    // It cannot open a socket (nothing to subscribe to), so it cannot outlive the call there.
    let socket = app.ws(&token).await;
    assert!(
        socket
            .as_ref()
            .err()
            .is_some_and(|e| e.contains("FORBIDDEN") || e.contains("call token")),
        "a call token opened a socket: {:?}",
        socket.err()
    );
    // Many aliased reports in one request are refused before any runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: appendCallTranscript(input: {{callId: \"{id}\", lines: [{{speaker: \"AGENT\", text: \"x\"}}]}}) {{ appended }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(Some(&token), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    // A tampered token is nobody.
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        error_code(&app.graphql(Some(&tampered), APPEND, line.clone()).await),
        "UNAUTHENTICATED"
    );
    let reported = app
        .ok(
            &token,
            OUTCOME,
            json!({"input": {"callId": id, "customerResponse": "WILL_PAY_TODAY"}}),
        )
        .await;
    assert_eq!(
        reported["recordCallOutcome"]["call"]["outcome"]["customerResponse"],
        "WILL_PAY_TODAY"
    );

    // A CALLS key reports on any of its tenant's calls and reads nothing.
    let calls_key = app
        .ok(
            &owner,
            "mutation { createApiKey(input: {name: \"voice agent\", scopes: [CALLS]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let on_other =
        json!({"input": {"callId": other, "lines": [{"speaker": "AGENT", "text": "hi"}]}});
    assert_eq!(
        app.ok(&calls_key, APPEND, on_other.clone()).await["appendCallTranscript"]["appended"],
        1
    );
    for query in [
        "{ leads(first: 5) { totalCount } }",
        "{ calls(first: 5) { totalCount } }",
    ] {
        let refused = app.graphql(Some(&calls_key), query, json!({})).await;
        assert_eq!(error_code(&refused), "FORBIDDEN", "{query}: {refused}");
    }
    // Another tenant's CALLS key and call token find nothing here.
    let stranger = app.sign_up("calls-tokens-other").await;
    let stranger_key = app
        .ok(
            &stranger,
            "mutation { createApiKey(input: {name: \"their agent\", scopes: [CALLS]}) { key } }",
            json!({}),
        )
        .await["createApiKey"]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs = app.graphql(Some(&stranger_key), APPEND, on_other).await;
    assert_eq!(error_code(&theirs), "NOT_FOUND", "{theirs}");
    // A customer token cannot report.
    let customer = app
        .ok(
            &owner,
            "mutation { createCustomerToken(input: {externalUserId: \"c-1\", name: \"C\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        error_code(&app.graphql(Some(&customer), APPEND, line).await),
        "FORBIDDEN"
    );
}
