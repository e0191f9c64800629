//! What happens after a reminder call is dialled: retries after a busy line, classification of
//! an unreported call, batches and stats, disputes and scores, and the agent's call token.

use super::*;

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
