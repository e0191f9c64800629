//! What decides whether and how a reminder call is dialled, end to end: the tenant's calling
//! policy and a lead's consent (checked when the call is asked for and again right before the
//! dial), a tenant's own LiveKit project (its calls and its webhooks, and nobody else's), a
//! timed-out dial that is retried without a second agent or a second ring, two replicas
//! dialling a batch once, and an unreported call classified by the tenant's AI provider. Each
//! new operation also gets its attacks.

use std::time::Duration;

use leadline_livekit::fake::{Failure, FakeLiveKit, DEFAULT_TRUNK_ID};
use leadline_livekit::models::Rpc;
use leadline_livekit::ApiCredentials;
use serde_json::{json, Value};

use crate::calls::{
    call, invoice, start, until_status, with_livekit, with_livekit_and, zone_at_local_hour,
    CUSTOMER,
};
use crate::harness::{error_code, fresh_database, scale_out, SpawnOptions, TestApp, WsEvent};

const POLICY: &str = "mutation($input: UpdateCallPolicyInput!) { updateCallPolicy(input: $input) { policy { callingHoursStart callingHoursEnd requireConsent maxAttemptsPerDay maxAttemptsPerWeek custom } } }";
const CONSENT: &str = "mutation($input: RecordCallConsentInput!) { recordCallConsent(input: $input) { lead { id callConsent callConsentAt } } }";
const SET_LIVEKIT: &str = "mutation($input: SetLiveKitConnectionInput!) { setLiveKitConnection(input: $input) { connection { apiUrl apiKey sipTrunkId agentName } } }";

fn policy(start: &str, end: &str, consent: bool, day: i32, week: i32) -> Value {
    json!({"input": {
        "callingHoursStart": start, "callingHoursEnd": end, "requireConsent": consent,
        "maxAttemptsPerDay": day, "maxAttemptsPerWeek": week,
    }})
}

async fn lead_of(app: &TestApp, token: &str, invoice_id: &str) -> String {
    app.ok(
        token,
        "query($id: ID!) { invoice(id: $id) { leadId } }",
        json!({"id": invoice_id}),
    )
    .await["invoice"]["leadId"]
        .as_str()
        .expect("the invoice has a lead")
        .to_owned()
}

fn sip_dials_to(fake: &FakeLiveKit, room: &str) -> usize {
    fake.requests_for(Rpc::CreateSipParticipant)
        .iter()
        .filter(|r| r.body["room_name"] == room)
        .count()
}

#[tokio::test]
async fn consent_and_the_tenants_policy_decide_and_the_gate_runs_again_before_the_dial() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("policy-gate").await;
    let default = app
        .ok(&owner, "{ callPolicy { callingHoursStart callingHoursEnd requireConsent maxAttemptsPerDay maxAttemptsPerWeek custom } }", json!({}))
        .await;
    assert_eq!(
        default["callPolicy"],
        json!({"callingHoursStart": "08:00", "callingHoursEnd": "21:00", "requireConsent": false,
               "maxAttemptsPerDay": 3, "maxAttemptsPerWeek": 7, "custom": false})
    );

    // Consent required: a lead with nothing recorded is BLOCKED and never dialled.
    app.ok(&owner, POLICY, policy("08:00", "21:00", true, 3, 7))
        .await;
    let noon = zone_at_local_hour(12);
    let invoice_id = invoice(&app, &owner, "INV-P1", CUSTOMER, &noon).await;
    let blocked = start(&app, &owner, &invoice_id).await;
    assert_eq!(blocked["status"], "BLOCKED", "{blocked}");
    assert_eq!(blocked["blockedReason"], "NO_CONSENT");
    let lead = lead_of(&app, &owner, &invoice_id).await;
    let granted = app
        .ok(
            &owner,
            CONSENT,
            json!({"input": {"leadId": lead, "consent": "GRANTED", "source": "web form"}}),
        )
        .await;
    assert_eq!(
        granted["recordCallConsent"]["lead"]["callConsent"],
        "GRANTED"
    );
    assert!(granted["recordCallConsent"]["lead"]["callConsentAt"].is_string());
    let allowed = start(&app, &owner, &invoice_id).await;
    let allowed_id = allowed["id"].as_str().unwrap().to_owned();
    until_status(&app, &owner, &allowed_id, "DIALING").await;

    // Queued for later, then the lead revokes: the dial job's own gate blocks it.
    let later = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let queued = app
        .ok(
            &owner,
            "mutation($input: StartPaymentReminderCallInput!) { startPaymentReminderCall(input: $input) { call { id status } } }",
            json!({"input": {"invoiceId": invoice_id, "notBefore": later}}),
        )
        .await["startPaymentReminderCall"]["call"]
        .clone();
    assert_eq!(queued["status"], "QUEUED", "{queued}");
    let queued_id = queued["id"].as_str().unwrap().to_owned();
    app.ok(
        &owner,
        CONSENT,
        json!({"input": {"leadId": lead, "consent": "REVOKED", "source": "asked on the phone"}}),
    )
    .await;
    let refused = until_status(&app, &owner, &queued_id, "BLOCKED").await;
    assert_eq!(refused["blockedReason"], "NO_CONSENT", "{refused}");
    assert_eq!(sip_dials_to(&fake, &format!("call-{queued_id}")), 0);
    let audit = app
        .ok(
            &owner,
            "{ auditLog(first: 20) { nodes { action details } } }",
            json!({}),
        )
        .await;
    let consent_entries: Vec<&Value> = audit["auditLog"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "lead.call_consent_recorded")
        .collect();
    assert_eq!(consent_entries.len(), 2, "{audit}");

    // A narrower window than the built-in one defers a call that the default would dial now.
    app.ok(
        &owner,
        CONSENT,
        json!({"input": {"leadId": lead, "consent": "GRANTED"}}),
    )
    .await;
    app.ok(&owner, POLICY, policy("14:00", "20:00", false, 1, 2))
        .await;
    let other = invoice(&app, &owner, "INV-P2", "+16505559876", &noon).await;
    let deferred = start(&app, &owner, &other).await;
    assert_eq!(deferred["status"], "QUEUED", "{deferred}");
    let at =
        chrono::DateTime::parse_from_rfc3339(deferred["scheduledFor"].as_str().unwrap()).unwrap();
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(
        wait > chrono::Duration::minutes(60) && wait < chrono::Duration::hours(3),
        "deferred to the tenant's 14:00, about two hours ahead: {wait}"
    );
    // The daily cap of 1: CUSTOMER was already dialled today.
    let capped = start(&app, &owner, &invoice_id).await;
    assert_eq!(capped["blockedReason"], "DAILY_ATTEMPT_CAP", "{capped}");
    // Reset gives the built-in policy back.
    let reset = app
        .ok(&owner, POLICY, json!({"input": {"reset": true}}))
        .await;
    assert_eq!(reset["updateCallPolicy"]["policy"]["custom"], false);
}

#[tokio::test]
async fn bad_policies_and_consents_are_refused_with_the_field_named() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let owner = app.sign_up("policy-input").await;
    for (input, field) in [
        (policy("07:30", "18:00", false, 2, 5), "callingHours"),
        (policy("09:00", "22:00", false, 2, 5), "callingHours"),
        (policy("18:00", "09:00", false, 2, 5), "callingHoursEnd"),
        (policy("9am", "18:00", false, 2, 5), "callingHoursStart"),
        (policy("09:00", "18:00", false, 4, 7), "maxAttemptsPerDay"),
        (policy("09:00", "18:00", false, 2, 8), "maxAttemptsPerWeek"),
        (
            json!({"input": {"callingHoursStart": "09:00"}}),
            "callingHoursEnd",
        ),
        (
            json!({"input": {"reset": true, "requireConsent": true}}),
            "reset",
        ),
    ] {
        let answer = app.graphql(Some(&owner), POLICY, input.clone()).await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{input}: {answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["field"], field,
            "{input}: {answer}"
        );
    }
    let unchanged = app.ok(&owner, "{ callPolicy { custom } }", json!({})).await;
    assert_eq!(unchanged["callPolicy"]["custom"], false);
    for (lead, code) in [
        ("not-an-id", "BAD_USER_INPUT"),
        ("00000000-0000-7000-8000-000000000000", "NOT_FOUND"),
    ] {
        let answer = app
            .graphql(
                Some(&owner),
                CONSENT,
                json!({"input": {"leadId": lead, "consent": "GRANTED"}}),
            )
            .await;
        assert_eq!(error_code(&answer), code, "{answer}");
    }
    let zone = app
        .graphql(
            Some(&owner),
            "mutation { updateTenantSettings(input: {timeZone: \"Mars/Olympus\"}) { tenant { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&zone), "BAD_USER_INPUT", "{zone}");
    let set = app
        .ok(
            &owner,
            "mutation { updateTenantSettings(input: {timeZone: \"America/Bogota\"}) { tenant { settings { timeZone } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        set["updateTenantSettings"]["tenant"]["settings"]["timeZone"],
        "America/Bogota"
    );
}

#[tokio::test]
async fn policy_consent_and_livekit_settings_refuse_other_tenants_customers_agents_and_floods() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit(&fake).await;
    let victim = app.sign_up("policy-victim").await;
    let attacker = app.sign_up("policy-attacker").await;
    let invoice_id = invoice(&app, &victim, "INV-V", CUSTOMER, &zone_at_local_hour(12)).await;
    let lead = lead_of(&app, &victim, &invoice_id).await;

    // Another tenant cannot touch the victim's lead, and its own settings are its own.
    let foreign = app
        .graphql(
            Some(&attacker),
            CONSENT,
            json!({"input": {"leadId": lead, "consent": "REVOKED"}}),
        )
        .await;
    assert_eq!(error_code(&foreign), "NOT_FOUND", "{foreign}");
    app.ok(&attacker, POLICY, policy("10:00", "12:00", true, 1, 1))
        .await;
    let victims = app
        .ok(
            &victim,
            "{ callPolicy { custom } liveKitConnection { apiKey } }",
            json!({}),
        )
        .await;
    assert_eq!(victims["callPolicy"]["custom"], false);
    assert!(victims["liveKitConnection"].is_null());

    // Agents record consent but do not set policy or LiveKit; customers and readers get nothing.
    let (agent, _) = app
        .member(&victim, "agent@policy-victim.test", "AGENT")
        .await;
    app.ok(
        &agent,
        CONSENT,
        json!({"input": {"leadId": lead, "consent": "GRANTED"}}),
    )
    .await;
    let customer = app
        .ok(
            &victim,
            "mutation { createCustomerToken(input: {externalUserId: \"u-p\", name: \"Pia\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let livekit = json!({"input": {"apiUrl": fake.base_url(), "apiKey": "APIx", "apiSecret": "0123456789abcdef0123", "sipTrunkId": DEFAULT_TRUNK_ID, "agentName": "a"}});
    for (who, token) in [("agent", agent.as_str()), ("customer", customer.as_str())] {
        for (query, variables) in [
            (POLICY, policy("09:00", "18:00", false, 1, 1)),
            (SET_LIVEKIT, livekit.clone()),
            (
                "mutation { removeLiveKitConnection { removed } }",
                json!({}),
            ),
            ("{ liveKitConnection { apiKey } }", json!({})),
        ] {
            let answer = app.graphql(Some(token), query, variables).await;
            assert!(
                ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&answer)),
                "{who}: {query}: {answer}"
            );
        }
    }
    let customer_consent = app
        .graphql(
            Some(&customer),
            CONSENT,
            json!({"input": {"leadId": lead, "consent": "REVOKED"}}),
        )
        .await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&customer_consent)),
        "{customer_consent}"
    );

    // A removed admin's open socket can no longer change the policy.
    let (admin, admin_id) = app
        .member(&victim, "admin@policy-victim.test", "ADMIN")
        .await;
    let mut ws = app.ws(&admin).await.unwrap();
    app.ok(
        &victim,
        "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
        json!({"u": admin_id}),
    )
    .await;
    ws.subscribe(POLICY, policy("09:00", "10:00", true, 1, 1))
        .await;
    match ws.next_event(Duration::from_secs(5)).await {
        Some(WsEvent::Next(payload)) => {
            assert_eq!(error_code(&payload), "UNAUTHENTICATED", "{payload}")
        }
        other => panic!("expected a refusal on the socket, got {other:?}"),
    }
    let still = app
        .ok(&victim, "{ callPolicy { custom } }", json!({}))
        .await;
    assert_eq!(still["callPolicy"]["custom"], false);

    // A flood of aliases is refused before any runs.
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: recordCallConsent(input: {{leadId: \"{lead}\", consent: REVOKED}}) {{ lead {{ id }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = app.graphql(Some(&victim), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    let lead_now = app
        .ok(
            &victim,
            "query($id: ID!) { lead(id: $id) { callConsent } }",
            json!({"id": lead}),
        )
        .await;
    assert_eq!(lead_now["lead"]["callConsent"], "GRANTED");
}

#[tokio::test]
async fn a_tenants_own_livekit_project_dials_its_calls_and_signs_for_them_alone() {
    let operator = FakeLiveKit::start().await.unwrap();
    let own = FakeLiveKit::start_with(
        ApiCredentials::new("APItenantOwn", "tenant-own-secret-0123456789").unwrap(),
    )
    .await
    .unwrap();
    let app = with_livekit(&operator).await;
    own.set_webhook_url(format!("{}/api/webhook/livekit", app.base));
    let tenant = app.sign_up("own-livekit").await;
    let neighbour = app.sign_up("own-livekit-neighbour").await;

    for (input, field) in [
        (json!({"apiUrl": "ftp://example.com"}), "apiUrl"),
        (json!({"apiSecret": "short"}), "apiSecret"),
        (json!({"sipTrunkId": "trunk-1"}), "sipTrunkId"),
        (json!({"apiKey": "  "}), "apiKey"),
    ] {
        let mut whole = json!({"apiUrl": own.base_url(), "apiKey": "APItenantOwn",
            "apiSecret": "tenant-own-secret-0123456789", "sipTrunkId": DEFAULT_TRUNK_ID,
            "agentName": "tenant-agent"});
        for (k, v) in input.as_object().unwrap() {
            whole[k] = v.clone();
        }
        let answer = app
            .graphql(Some(&tenant), SET_LIVEKIT, json!({"input": whole}))
            .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{input}: {answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["field"], field,
            "{answer}"
        );
    }
    let set = app
        .ok(
            &tenant,
            SET_LIVEKIT,
            json!({"input": {"apiUrl": own.base_url(), "apiKey": "APItenantOwn",
                "apiSecret": "tenant-own-secret-0123456789", "sipTrunkId": DEFAULT_TRUNK_ID,
                "agentName": "tenant-agent"}}),
        )
        .await;
    assert_eq!(
        set["setLiveKitConnection"]["connection"]["agentName"],
        "tenant-agent"
    );
    let audit = app
        .ok(
            &tenant,
            "{ auditLog(first: 5) { nodes { action details } } }",
            json!({}),
        )
        .await
        .to_string();
    assert!(audit.contains("livekit_connection.upserted"), "{audit}");
    assert!(
        !audit.contains("tenant-own-secret"),
        "the secret is never logged: {audit}"
    );

    // The tenant's call goes through its own project; the operator's sees nothing.
    let invoice_id = invoice(&app, &tenant, "INV-O1", CUSTOMER, &zone_at_local_hour(12)).await;
    let id = start(&app, &tenant, &invoice_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_status(&app, &tenant, &id, "DIALING").await;
    assert!(operator.requests().is_empty(), "{:?}", operator.requests());
    assert_eq!(own.dispatches().len(), 1);
    assert_eq!(own.dispatches()[0].agent_name, "tenant-agent");
    assert_eq!(sip_dials_to(&own, &format!("call-{id}")), 1);
    // Its webhooks, signed with its own secret, move its call.
    let room = format!("call-{id}");
    let answered = own.answer_call(&room, &format!("sip-{id}")).await.unwrap();
    assert_eq!(answered.status, Some(200), "{answered:?}");
    until_status(&app, &tenant, &id, "IN_PROGRESS").await;
    // The same delivery again changes nothing (deduplicated by its event id)...
    let post = |body: String, authorization: String| {
        let app = &app;
        async move {
            let response = app
                .http
                .post(format!("{}/api/webhook/livekit", app.base))
                .header("content-type", "application/webhook+json")
                .header("authorization", authorization)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, replayed) = post(answered.body.clone(), answered.authorization.clone()).await;
    assert_eq!(
        (status, replayed["outcome"].as_str()),
        (200, Some("duplicate")),
        "{replayed}"
    );
    // ...and one that claims the tenant's key but is signed with another secret is 401.
    let finish = json!({"event": "room_finished", "id": "EV_forged_key",
        "room": {"name": room.clone(), "sid": "RM_y"},
        "createdAt": chrono::Utc::now().timestamp().to_string()})
    .to_string();
    let impostor = ApiCredentials::new("APItenantOwn", "not-the-tenant-secret-0123456789").unwrap();
    let forged_key =
        leadline_livekit::webhook::sign(&impostor, finish.as_bytes(), chrono::Utc::now()).unwrap();
    let (status, _) = post(finish, forged_key).await;
    assert_eq!(status, 401);
    assert_eq!(call(&app, &tenant, &id).await["status"], "IN_PROGRESS");

    // The neighbour's call (through the operator) is out of the tenant project's reach, even
    // with a valid signature naming its room.
    let theirs = invoice(
        &app,
        &neighbour,
        "INV-N1",
        "+16505550199",
        &zone_at_local_hour(12),
    )
    .await;
    let their_id = start(&app, &neighbour, &theirs).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_status(&app, &neighbour, &their_id, "DIALING").await;
    let body = json!({"event": "room_finished", "id": "EV_forged_1",
        "room": {"name": format!("call-{their_id}"), "sid": "RM_x"},
        "createdAt": chrono::Utc::now().timestamp().to_string()})
    .to_string();
    let signed = own.sign_webhook(&body).unwrap();
    let forged = app
        .http
        .post(format!("{}/api/webhook/livekit", app.base))
        .header("content-type", "application/webhook+json")
        .header("authorization", signed)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 200);
    let answer: Value = forged.json().await.unwrap();
    assert_eq!(answer["outcome"], "ignored", "{answer}");
    assert_eq!(call(&app, &neighbour, &their_id).await["status"], "DIALING");

    // Removed: the tenant's calls are the operator's again.
    let removed = app
        .ok(
            &tenant,
            "mutation { removeLiveKitConnection { removed } }",
            json!({}),
        )
        .await;
    assert_eq!(removed["removeLiveKitConnection"]["removed"], true);
    let next = invoice(
        &app,
        &tenant,
        "INV-O2",
        "+16505550111",
        &zone_at_local_hour(12),
    )
    .await;
    let next_id = start(&app, &tenant, &next).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_status(&app, &tenant, &next_id, "DIALING").await;
    assert_eq!(sip_dials_to(&operator, &format!("call-{next_id}")), 1);
}

#[tokio::test]
async fn a_timed_out_dial_is_retried_without_a_second_agent_or_a_second_ring() {
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit_and(
        &fake,
        SpawnOptions {
            env: vec![
                ("LIVEKIT_REQUEST_TIMEOUT_MS".into(), "300".into()),
                ("LEADLINE_JOB_RETRY_BASE_MS".into(), "100".into()),
            ],
            ..Default::default()
        },
    )
    .await;
    let owner = app.sign_up("dial-timeouts").await;

    // LiveKit does not answer the room in time: the job retries and the call is dialled.
    fake.fail_next(Rpc::CreateRoom, Failure::Delay(Duration::from_secs(2)));
    let first = invoice(&app, &owner, "INV-T1", CUSTOMER, &zone_at_local_hour(12)).await;
    let id = start(&app, &owner, &first).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dialing = until_status(&app, &owner, &id, "DIALING").await;
    assert!(dialing["livekitCallId"].is_string(), "{dialing}");
    let room = format!("call-{id}");
    let room_calls = fake
        .requests_for(Rpc::CreateRoom)
        .iter()
        .filter(|r| r.body["name"] == room)
        .count();
    assert!(room_calls >= 2, "the room call was retried: {room_calls}");
    assert_eq!(sip_dials_to(&fake, &room), 1);

    // LiveKit carries out the dispatch and then the dial, but both answers are lost: each
    // retry finds what was done and does not repeat it.
    fake.fail_next(
        Rpc::CreateDispatch,
        Failure::AnswerLost(Duration::from_secs(1)),
    );
    fake.fail_next(
        Rpc::CreateSipParticipant,
        Failure::AnswerLost(Duration::from_secs(1)),
    );
    let second = invoice(
        &app,
        &owner,
        "INV-T2",
        "+16505550123",
        &zone_at_local_hour(12),
    )
    .await;
    let id = start(&app, &owner, &second).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dialing = until_status(&app, &owner, &id, "DIALING").await;
    let room = format!("call-{id}");
    let dispatches: Vec<_> = fake
        .dispatches()
        .into_iter()
        .filter(|d| d.room == room)
        .collect();
    assert_eq!(dispatches.len(), 1, "one agent: {dispatches:?}");
    assert_eq!(sip_dials_to(&fake, &room), 1, "one ring");
    let leg = fake
        .participants(&room)
        .into_iter()
        .find(|p| p.identity == format!("sip-{id}"))
        .expect("the SIP leg");
    assert_eq!(
        dialing["livekitCallId"].as_str(),
        leg.attributes.get("sip.callID").map(String::as_str),
        "the adopted leg's call id"
    );
    assert!(!fake.requests_for(Rpc::ListDispatch).is_empty());
    assert!(!fake.requests_for(Rpc::ListParticipants).is_empty());
}

#[tokio::test]
async fn two_replicas_dial_a_scheduled_batch_exactly_once() {
    let Some(_) = scale_out("two_replicas_one_batch") else {
        return;
    };
    let fake = FakeLiveKit::start().await.unwrap();
    let (database_url, redis_url, _) = fresh_database().await;
    let options = SpawnOptions {
        database_url: Some(database_url),
        redis_url: Some(redis_url),
        redis_prefix: Some(format!("batch-{}", uuid::Uuid::now_v7().simple())),
        env: vec![("LEADLINE_WORKERS".into(), "4".into())],
    };
    let replica_a = with_livekit_and(&fake, options.clone()).await;
    let replica_b = with_livekit_and(&fake, options).await;
    let owner = replica_a.sign_up("two-replica-batch").await;
    let noon = zone_at_local_hour(12);
    let mut invoices = Vec::new();
    for i in 0..20 {
        invoices.push(
            invoice(
                &replica_b,
                &owner,
                &format!("INV-B{i:02}"),
                &format!("+1650555{:04}", 3000 + i),
                &noon,
            )
            .await,
        );
    }
    let not_before = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    let batch = replica_b
        .ok(
            &owner,
            "mutation($input: ScheduleReminderCallsInput!) { scheduleReminderCalls(input: $input) { calls { id status } } }",
            json!({"input": {"invoiceIds": invoices, "notBefore": not_before}}),
        )
        .await;
    let ids: Vec<String> = batch["scheduleReminderCalls"]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 20);
    for id in &ids {
        until_status(&replica_a, &owner, id, "DIALING").await;
    }
    for id in &ids {
        let room = format!("call-{id}");
        assert_eq!(sip_dials_to(&fake, &room), 1, "{room} dialled once");
        assert_eq!(
            fake.dispatches().iter().filter(|d| d.room == room).count(),
            1,
            "{room} got one agent"
        );
    }
    assert_eq!(fake.requests_for(Rpc::CreateSipParticipant).len(), 20);
}

/// A call answered, talked through (the agent asks, the customer says `said`) and ended at the
/// fake LiveKit without a reported outcome; returns the call once it has been classified.
async fn unreported_call(
    app: &TestApp,
    fake: &FakeLiveKit,
    owner: &str,
    number: &str,
    phone: &str,
    said: &str,
) -> Value {
    let invoice_id = invoice(app, owner, number, phone, &zone_at_local_hour(12)).await;
    let id = start(app, owner, &invoice_id).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_status(app, owner, &id, "DIALING").await;
    fake.answer_call(&format!("call-{id}"), &format!("sip-{id}"))
        .await
        .unwrap();
    until_status(app, owner, &id, "IN_PROGRESS").await;
    app.ok(
        owner,
        "mutation($input: AppendCallTranscriptInput!) { appendCallTranscript(input: $input) { appended } }",
        json!({"input": {"callId": id, "lines": [
            {"speaker": "AGENT", "text": "Can you pay the invoice today?"},
            {"speaker": "CUSTOMER", "text": said},
        ]}}),
    )
    .await;
    fake.finish_room(&format!("call-{id}")).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = call(app, owner, &id).await;
        if !now["outcome"].is_null() {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never classified: {now}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_unreported_call_is_classified_by_the_tenants_ai_provider_or_offline_when_it_fails() {
    use leadline_llm::fake::{Behavior, FakeAnthropic};
    let llm = FakeAnthropic::start().await.unwrap();
    let fake = FakeLiveKit::start().await.unwrap();
    let app = with_livekit_and(
        &fake,
        SpawnOptions {
            env: vec![
                ("ANTHROPIC_API_KEY".into(), llm.api_key().to_owned()),
                ("ANTHROPIC_API_BASE".into(), llm.base_url().to_owned()),
            ],
            ..Default::default()
        },
    )
    .await;
    let owner = app.sign_up("call-llm-classifier").await;
    app.ok(
        &owner,
        "mutation($input: UpdateAiContextInput!) { updateAiContext(input: $input) { aiContext { provider } } }",
        json!({"input": {"provider": "ANTHROPIC"}}),
    )
    .await;

    let said = "I can do half of it, sixty dollars, before the bank closes tonight";
    llm.push(Behavior::Respond(json!({
        "customer_response": "WILL_PAY_TODAY", "confidence": 0.82, "promised_date": null,
        "promised_amount": "60.00", "answered_by": "HUMAN",
        "evidence": ["sixty dollars, before the bank closes tonight", "words nobody said"],
    })));
    let classified = unreported_call(&app, &fake, &owner, "INV-L1", CUSTOMER, said).await;
    let outcome = &classified["outcome"];
    assert_eq!(
        outcome["customerResponse"], "WILL_PAY_TODAY",
        "{classified}"
    );
    assert_eq!(outcome["promisedAmount"]["amountMicros"], 60_000_000);
    assert_eq!(outcome["answeredBy"], "HUMAN");
    let notes = outcome["notes"].as_str().unwrap();
    assert!(notes.starts_with("classified by Anthropic"), "{notes}");
    assert!(
        !notes.contains("nobody said"),
        "ungrounded evidence is dropped: {notes}"
    );
    let sent = llm
        .requests()
        .into_iter()
        .find(|r| r.body.to_string().contains("record_call_outcome"))
        .expect("the classifier's request");
    let body = sent.body.to_string();
    assert!(
        body.contains(said),
        "the transcript is in the prompt: {body}"
    );

    // The provider down: the offline classifier answers, and the notes say why.
    llm.set_default(Behavior::ServerError);
    let fallback = unreported_call(
        &app,
        &fake,
        &owner,
        "INV-L2",
        "+16505550177",
        "I already paid it last week, I have the receipt.",
    )
    .await;
    assert_eq!(
        fallback["outcome"]["customerResponse"], "ALREADY_PAID",
        "{fallback}"
    );
    assert!(
        fallback["outcome"]["notes"]
            .as_str()
            .unwrap()
            .starts_with("classified offline (the AI provider was unavailable)"),
        "{fallback}"
    );
}
