//! What the phone agent refuses: forged signatures and stream tokens, double bookings, invalid
//! settings and numbers another tenant holds, and the attacks every new operation gets.

use super::*;

#[tokio::test]
async fn forged_signatures_and_forged_expired_or_replayed_stream_tokens_are_refused() {
    let p = phone(
        vec![Step::Sleep(Duration::from_secs(3)), Step::Close],
        vec![("LEADLINE_MEDIA_STREAM_TOKEN_TTL_SECONDS".into(), "1".into())],
    )
    .await;
    let (url, signed) = p.url("/api/voice/twilio/incoming");
    // Another auth token, or the URL the proxy saw instead of the public one: 401, nothing stored.
    let forger = FakeTwilio::start_with(p.twilio.account_sid(), "not-the-auth-token")
        .await
        .unwrap();
    let forged = forger
        .incoming_call(&url, &signed, CALLER, NUMBER)
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.body);
    let body: Value = serde_json::from_str(&forged.body).unwrap();
    assert_eq!(error_code(&body), "UNAUTHENTICATED");
    let wrong_url = p
        .twilio
        .incoming_call(&url, &url, CALLER, NUMBER)
        .await
        .unwrap();
    assert_eq!(wrong_url.status, 401, "{}", wrong_url.body);
    let unsigned = p
        .app
        .http
        .post(&url)
        .form(&[("CallSid", "CA1"), ("To", NUMBER), ("From", CALLER)])
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let none = p
        .app
        .ok(&p.owner, "{ calls(first: 5) { totalCount } }", json!({}))
        .await;
    assert_eq!(none["calls"]["totalCount"], 0, "{none}");

    // A forged token, a token of another call, and an expired token open nothing.
    let sent = p.ring().await;
    let mut forged_params = BTreeMap::new();
    forged_params.insert(
        "token".to_owned(),
        "eyJhbGciOiJIUzI1NiJ9.e30.forged".to_owned(),
    );
    let refused = p.stream_with(&sent, Some(forged_params)).await;
    refused
        .wait_until(Duration::from_secs(5), |_| false)
        .await
        .expect_err("closed");
    assert!(refused.is_closed());
    let other = p.ring().await;
    let other_token = parse_stream_twiml(&other.body).unwrap().parameters;
    let crossed = p.stream_with(&sent, Some(other_token)).await;
    crossed
        .wait_until(Duration::from_secs(5), |_| false)
        .await
        .expect_err("closed");
    assert!(crossed.is_closed());
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let expired = p.stream(&sent).await;
    expired
        .wait_until(Duration::from_secs(5), |_| false)
        .await
        .expect_err("closed");
    assert!(expired.is_closed());
    assert!(
        p.eleven.conversations().is_empty(),
        "no conversation was opened"
    );

    // A fresh token opens the stream once; the same token again is refused.
    let fresh = p.ring().await;
    let first = p.stream(&fresh).await;
    p.eleven
        .wait_for(Duration::from_secs(5), |c| !c.is_empty())
        .await;
    let replay = p.stream(&fresh).await;
    replay
        .wait_until(Duration::from_secs(5), |_| false)
        .await
        .expect_err("closed");
    assert!(replay.is_closed());
    assert!(!first.is_closed());
    assert_eq!(p.eleven.conversations().len(), 1);

    // ElevenLabs: forged, stale and unsigned post-call webhooks are 401.
    let post_call = format!("{}/api/voice/elevenlabs/post-call", p.app.base);
    let now = Utc::now().timestamp();
    let body = br#"{"type":"post_call_transcription","event_timestamp":1,"data":{"conversation_id":"conv_fake_1"}}"#;
    let forged = signature_header("not-the-secret", now, body);
    assert_eq!(
        p.eleven
            .post_webhook_with_header(&post_call, body, Some(&forged))
            .await
            .unwrap(),
        401
    );
    assert_eq!(
        p.eleven
            .post_webhook(&post_call, body, now - 3600)
            .await
            .unwrap(),
        401
    );
    assert_eq!(
        p.eleven
            .post_webhook_with_header(&post_call, body, None)
            .await
            .unwrap(),
        401
    );
}

#[tokio::test]
async fn a_double_booking_is_refused_with_free_alternatives() {
    let day = tomorrow().format("%Y-%m-%d").to_string();
    let steps = vec![
        Step::WaitForAudio(FRAME_BYTES),
        tool(
            "schedule_appointment",
            json!({"date": day, "time": "10:00"}),
        ),
        tool(
            "schedule_appointment",
            json!({"date": day, "time": "10:00", "vehicle": "RAV4"}),
        ),
        tool(
            "schedule_appointment",
            json!({"date": day, "time": "10:10"}),
        ),
        tool(
            "schedule_appointment",
            json!({"date": day, "time": "25:00"}),
        ),
        Step::Close,
    ];
    let p = phone(steps, vec![]).await;
    let sent = p.ring().await;
    let mut twilio_side = p.stream(&sent).await;
    twilio_side.send_audio(&tone(300.0, 40)).await.unwrap();
    let conversation = p.conversation(|c| c.closed).await;
    let results: Vec<&Value> = conversation
        .tool_results
        .iter()
        .map(|r| &r.result)
        .collect();
    assert_eq!(results.len(), 4, "{results:?}");
    assert_eq!(results[0]["booked"], true, "{results:?}");
    assert_eq!(results[1]["booked"], false);
    assert_eq!(results[1]["reason"], "SLOT_FULL");
    let alternatives = results[1]["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 3, "{alternatives:?}");
    assert_eq!(alternatives[0], json!({"date": day, "time": "10:30"}));
    assert_eq!(results[2]["reason"], "NOT_A_SLOT_START");
    assert!(conversation.tool_results[3].is_error, "{results:?}");
    let appointments = p.appointments(&p.owner).await["data"]["appointments"].clone();
    assert_eq!(appointments.as_array().unwrap().len(), 1, "{appointments}");
}

#[tokio::test]
async fn settings_are_validated_and_numbers_belong_to_one_tenant() {
    let p = phone(vec![], vec![]).await;
    let settings = configure(&p.app, &p.owner, NUMBER).await;
    let shown = &settings["updateTenantSettings"]["tenant"]["settings"];
    assert_eq!(shown["twilioPhoneNumber"], NUMBER);
    assert_eq!(shown["businessHours"].as_array().unwrap().len(), 7);
    for (input, field) in [
        (json!({"twilioPhoneNumber": "12345"}), "twilioPhoneNumber"),
        (
            json!({"businessHours": [{"weekday": "MONDAY", "open": "18:00", "close": "09:00"}]}),
            "businessHours",
        ),
        (
            json!({"businessHours": [{"weekday": "MONDAY", "open": "9am", "close": "17:00"}]}),
            "businessHours",
        ),
        (
            json!({"appointmentSlotMinutes": 0}),
            "appointmentSlotMinutes",
        ),
        (json!({"appointmentsPerSlot": 51}), "appointmentsPerSlot"),
        (
            json!({"elevenlabsInboundAgentId": "agent\"; drop"}),
            "elevenlabsInboundAgentId",
        ),
    ] {
        let answer = p
            .app
            .graphql(Some(&p.owner), SETTINGS, json!({"input": input}))
            .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
        assert_eq!(
            answer["errors"][0]["extensions"]["field"], field,
            "{answer}"
        );
    }
    // Another dealership cannot take the number: it routes calls.
    let other = p.app.sign_up("other-motors").await;
    let taken = p
        .app
        .graphql(
            Some(&other),
            SETTINGS,
            json!({"input": {"twilioPhoneNumber": NUMBER}}),
        )
        .await;
    assert_eq!(error_code(&taken), "CONFLICT", "{taken}");
}

#[tokio::test]
async fn other_tenants_customers_removed_members_and_alias_floods_get_nothing() {
    let day = tomorrow().format("%Y-%m-%d").to_string();
    let p = phone(
        vec![
            Step::WaitForAudio(FRAME_BYTES),
            tool(
                "schedule_appointment",
                json!({"date": day, "time": "11:00"}),
            ),
            Step::Close,
        ],
        vec![],
    )
    .await;
    let sent = p.ring().await;
    let mut twilio_side = p.stream(&sent).await;
    twilio_side.send_audio(&tone(300.0, 40)).await.unwrap();
    p.conversation(|c| c.closed).await;
    let mine = p.appointments(&p.owner).await;
    assert_eq!(
        mine["data"]["appointments"].as_array().unwrap().len(),
        1,
        "{mine}"
    );

    // Another tenant sees none of it, and its socket hears none of our agent's switches.
    let attacker = p.app.sign_up("attacker-motors").await;
    let theirs = p.appointments(&attacker).await;
    assert_eq!(theirs["data"]["appointments"], json!([]), "{theirs}");
    let mut attacker_ws = p.app.ws(&attacker).await.unwrap();
    attacker_ws
        .subscribe("subscription { phoneAgentStatus { running } }", json!({}))
        .await;

    // A member on an open socket, then removed: the subscription ends.
    let (agent, agent_id) = p.app.member(&p.owner, "agent@sunset.test", "AGENT").await;
    let mut agent_ws = p.app.ws(&agent).await.unwrap();
    agent_ws
        .subscribe("subscription { phoneAgentStatus { running } }", json!({}))
        .await;
    p.app
        .ok(
            &p.owner,
            "mutation($u: ID!) { removeMember(input: {userId: $u}) { removedUserId } }",
            json!({"u": agent_id}),
        )
        .await;
    let ended = agent_ws.next_event(Duration::from_secs(5)).await;
    assert!(
        format!("{ended:?}").contains("UNAUTHENTICATED"),
        "the removed member's subscription ends: {ended:?}"
    );
    p.app
        .ok(
            &p.owner,
            "mutation { updateTenantSettings(input: {agentRunning: false}) { tenant { id } } }",
            json!({}),
        )
        .await;
    assert!(
        attacker_ws
            .drain(Duration::from_millis(700))
            .await
            .is_empty(),
        "another tenant hears nothing"
    );
    while let Some(event) = agent_ws.next_event(Duration::from_millis(300)).await {
        if let WsEvent::Next(data) = event {
            panic!("nothing after removal: {data}");
        }
    }

    // A customer token reads no appointments, changes no settings, subscribes to nothing.
    let customer = p
        .app
        .ok(
            &p.owner,
            "mutation { createCustomerToken(input: {externalUserId: \"u-1\", name: \"Una\"}) { token } }",
            json!({}),
        )
        .await["createCustomerToken"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let read = p.appointments(&customer).await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&read)),
        "{read}"
    );
    let write = p
        .app
        .graphql(
            Some(&customer),
            SETTINGS,
            json!({"input": {"twilioPhoneNumber": "+15005550009"}}),
        )
        .await;
    assert!(
        ["FORBIDDEN", "UNAUTHENTICATED"].contains(&error_code(&write)),
        "{write}"
    );
    if let Ok(mut customer_ws) = p.app.ws(&customer).await {
        customer_ws
            .subscribe("subscription { phoneAgentStatus { running } }", json!({}))
            .await;
        let refused = customer_ws.next_event(Duration::from_secs(5)).await;
        assert!(
            format!("{refused:?}").contains("FORBIDDEN")
                || format!("{refused:?}").contains("UNAUTHENTICATED"),
            "{refused:?}"
        );
    }

    // A flood of aliases is refused before any of them runs.
    let flood = format!(
        "query {{ {} }}",
        (0..30)
            .map(|i| format!(
                "a{i}: appointments(from: \"2026-01-01T00:00:00Z\", to: \"2026-01-02T00:00:00Z\") {{ id }}"
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = p.app.graphql(Some(&p.owner), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
    let flood = format!(
        "mutation {{ {} }}",
        (0..30)
            .map(|i| format!("a{i}: updateTenantSettings(input: {{dealershipName: \"x{i}\"}}) {{ tenant {{ id }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let refused = p.app.graphql(Some(&p.owner), &flood, json!({})).await;
    assert_eq!(error_code(&refused), "BAD_USER_INPUT", "{refused}");
}
