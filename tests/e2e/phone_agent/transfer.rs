//! The transfer's outcome: every `<Dial>` to the operator reports to `…/dial-status`, whose
//! signed `DialCallStatus` is recorded on the call (TRANSFER_RESULT), and a caller nobody
//! answered hears so and is hung up on.

use super::*;

const DIAL_STATUS: &str = "/api/voice/twilio/dial-status";
const TRANSFER: &str =
    "query($id: ID!) { call(id: $id) { id agentOutcome handledBy transferResult } }";

/// The `<Dial action>` delivery Twilio posts for call `sid` once the operator's leg ended.
fn dial_params(p: &Phone, sid: &str, status: &str, dial_sid: &str) -> Vec<(String, String)> {
    vec![
        ("AccountSid".into(), p.twilio.account_sid().to_owned()),
        ("CallSid".into(), sid.to_owned()),
        ("From".into(), CALLER.into()),
        ("To".into(), NUMBER.into()),
        ("Direction".into(), "inbound".into()),
        ("CallStatus".into(), "in-progress".into()),
        ("DialCallStatus".into(), status.into()),
        ("DialCallSid".into(), dial_sid.into()),
        ("DialCallDuration".into(), "0".into()),
    ]
}

async fn transfer_of(p: &Phone) -> Value {
    let id = p.only_call().await["id"].clone();
    p.app.ok(&p.owner, TRANSFER, json!({"id": id})).await["call"].clone()
}

#[tokio::test]
async fn an_unanswered_transfer_is_recorded_and_the_caller_hears_so_before_the_hang_up() {
    let steps = vec![
        Step::WaitForAudio(FRAME_BYTES),
        Step::UserTranscript("Can I talk to a person?".into()),
        tool("transfer_to_human", json!({"reason": "wants a person"})),
        Step::Sleep(Duration::from_millis(200)),
        Step::Close,
    ];
    let p = phone(steps, vec![]).await;
    let mut ws = p.app.ws(&p.owner).await.unwrap();
    ws.subscribe(
        "subscription { callEvents { kind call { transferResult } } }",
        json!({}),
    )
    .await;
    let sent = p.ring().await;
    let mut twilio_side = p.stream(&sent).await;
    twilio_side.send_audio(&tone(300.0, 40)).await.unwrap();
    p.conversation(|c| c.closed).await;
    let sid = call_sid(&sent);
    let updated = p.twilio.call(&sid).unwrap();
    let form = updated.updates.last().expect("a REST update of the call");
    let twiml = &form.iter().find(|(k, _)| k == "Twiml").unwrap().1;
    assert!(
        twiml.contains(&format!(r#"action="{PUBLIC}{DIAL_STATUS}""#)),
        "{twiml}"
    );
    assert_eq!(transfer_of(&p).await["transferResult"], Value::Null);

    // A forged `<Dial action>` is refused and changes nothing.
    let (url, signed) = p.url(DIAL_STATUS);
    let forger = FakeTwilio::start_with(p.twilio.account_sid(), "not-the-auth-token")
        .await
        .unwrap();
    let forged = forger
        .post_signed_as(&url, &signed, dial_params(&p, &sid, "answered", "CA0dial"))
        .await
        .unwrap();
    assert_eq!(forged.status, 401, "{}", forged.body);
    assert_eq!(transfer_of(&p).await["transferResult"], Value::Null);

    // Nobody answered: recorded, and the caller is told before the line is hung up.
    let missed = p
        .twilio
        .post_signed_as(&url, &signed, dial_params(&p, &sid, "no-answer", "CA1dial"))
        .await
        .unwrap();
    assert_eq!(missed.status, 200, "{}", missed.body);
    assert_eq!(missed.content_type.as_deref(), Some("text/xml"));
    assert!(missed.body.contains("<Say>"), "{}", missed.body);
    assert!(missed.body.contains("<Hangup/>"), "{}", missed.body);
    let call = transfer_of(&p).await;
    assert_eq!(call["transferResult"], "NO_ANSWER");
    assert_eq!(call["agentOutcome"], "TRANSFERRED");
    // A redelivery answers the same TwiML and records nothing new.
    let again = p
        .twilio
        .post_signed_as(&url, &signed, dial_params(&p, &sid, "no-answer", "CA1dial"))
        .await
        .unwrap();
    assert_eq!(again.body, missed.body);
    let results = ws
        .drain(Duration::from_millis(800))
        .await
        .into_iter()
        .filter(|d| d["callEvents"]["kind"] == "TRANSFER_RESULT")
        .collect::<Vec<_>>();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(
        results[0]["callEvents"]["call"]["transferResult"],
        "NO_ANSWER"
    );
}

#[tokio::test]
async fn with_the_agent_stopped_the_operators_answer_is_recorded_and_the_call_simply_ends() {
    let p = phone(vec![], vec![]).await;
    p.app
        .ok(
            &p.owner,
            "mutation { updateTenantSettings(input: {agentRunning: false}) { tenant { id } } }",
            json!({}),
        )
        .await;
    let sent = p.ring().await;
    assert!(
        sent.body
            .contains(&format!(r#"action="{PUBLIC}{DIAL_STATUS}""#)),
        "{}",
        sent.body
    );
    let (url, signed) = p.url(DIAL_STATUS);
    let answered = p
        .twilio
        .post_signed_as(
            &url,
            &signed,
            dial_params(&p, &call_sid(&sent), "completed", "CA2dial"),
        )
        .await
        .unwrap();
    assert_eq!(answered.status, 200, "{}", answered.body);
    assert!(!answered.body.contains("<Say>"), "{}", answered.body);
    assert!(answered.body.contains("<Hangup/>"), "{}", answered.body);
    assert_eq!(transfer_of(&p).await["transferResult"], "ANSWERED");

    // A busy operator on a call we do not know: still an apology, never silence.
    let unknown = p
        .twilio
        .post_signed_as(
            &url,
            &signed,
            dial_params(&p, "CAunknown", "busy", "CA3dial"),
        )
        .await
        .unwrap();
    assert_eq!(unknown.status, 200, "{}", unknown.body);
    assert!(unknown.body.contains("<Say>"), "{}", unknown.body);
    assert_eq!(transfer_of(&p).await["transferResult"], "ANSWERED");
}
