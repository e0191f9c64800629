//! Post-call webhooks: the appendix vector exactly, each way of being refused, tolerant parsing,
//! and the fake's signed deliveries through a route that verifies them.

use std::time::Duration;

use leadline_elevenlabs::fake::{AgentScript, FakeElevenLabs, Step, DEFAULT_AGENT_ID};
use leadline_elevenlabs::webhook::{sign_v0, signature_header};
use leadline_elevenlabs::{
    ConversationInitiation, ConversationOptions, PostCallEvent, PostCallEventType, Receiver,
    WebhookError,
};

use crate::support::{client, now, WebhookSink};

// platforms.md, Appendix: ElevenLabs.
const SECRET: &str = "wsec_test";
const T: i64 = 1_739_537_297;
const BODY: &str = r#"{"type":"post_call_transcription","event_timestamp":1739537297,"data":{}}"#;
const V0: &str = "d8a0fc2a9a570a47e6ccaf1aafe3739f64d26a9dfac82f7d1a617fade715152a";

fn header() -> String {
    format!("t={T},v0={V0}")
}

fn receiver() -> Receiver {
    Receiver::new(SECRET).unwrap()
}

#[test]
fn the_appendix_vector_verifies_and_parses() {
    assert_eq!(sign_v0(SECRET, T, BODY.as_bytes()), V0);
    let event = receiver()
        .receive_signature(Some(&header()), BODY.as_bytes(), T)
        .unwrap();
    assert_eq!(event.kind, PostCallEventType::PostCallTranscription);
    assert_eq!(event.event_timestamp, Some(T));
    assert_eq!(event.data, Default::default());
}

#[test]
fn the_header_is_found_whatever_its_case() {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::HeaderName::from_static("elevenlabs-signature"),
        header().parse().unwrap(),
    );
    assert!(receiver()
        .receive(&headers, BODY.as_bytes(), T + 60)
        .is_ok());
    let parsed: http::HeaderName = "ElevenLabs-Signature".parse().unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(parsed, header().parse().unwrap());
    assert!(receiver().receive(&headers, BODY.as_bytes(), T).is_ok());
}

#[test]
fn a_tampered_body_is_a_mismatch() {
    let tampered = BODY.replace("{}", r#"{"status":"done"}"#);
    let error = receiver()
        .receive_signature(Some(&header()), tampered.as_bytes(), T)
        .unwrap_err();
    assert_eq!(error, WebhookError::Mismatch);
}

#[test]
fn a_tampered_signature_or_another_secret_is_a_mismatch() {
    let flipped = format!("t={T},v0={}0", &V0[..V0.len() - 1]);
    assert_eq!(
        receiver().receive_signature(Some(&flipped), BODY.as_bytes(), T),
        Err(WebhookError::Mismatch)
    );
    // The same digest claimed for another second.
    let moved = format!("t={},v0={V0}", T + 1);
    assert_eq!(
        receiver().receive_signature(Some(&moved), BODY.as_bytes(), T),
        Err(WebhookError::Mismatch)
    );
    assert_eq!(
        Receiver::new("wsec_other")
            .unwrap()
            .receive_signature(Some(&header()), BODY.as_bytes(), T),
        Err(WebhookError::Mismatch)
    );
}

#[test]
fn a_signature_older_than_thirty_minutes_is_stale() {
    let at_limit = T + 30 * 60;
    assert!(receiver()
        .receive_signature(Some(&header()), BODY.as_bytes(), at_limit)
        .is_ok());
    assert_eq!(
        receiver().receive_signature(Some(&header()), BODY.as_bytes(), at_limit + 1),
        Err(WebhookError::Stale)
    );
    let tight = receiver().with_tolerance(Duration::from_secs(60));
    assert_eq!(
        tight.receive_signature(Some(&header()), BODY.as_bytes(), T + 61),
        Err(WebhookError::Stale)
    );
}

#[test]
fn a_signature_from_the_future_is_refused_beyond_the_skew() {
    assert!(receiver()
        .receive_signature(Some(&header()), BODY.as_bytes(), T - 5 * 60)
        .is_ok());
    assert_eq!(
        receiver().receive_signature(Some(&header()), BODY.as_bytes(), T - 5 * 60 - 1),
        Err(WebhookError::FromTheFuture)
    );
}

#[test]
fn a_missing_or_malformed_header_is_refused() {
    assert_eq!(
        receiver().receive_signature(None, BODY.as_bytes(), T),
        Err(WebhookError::MissingHeader)
    );
    assert_eq!(
        receiver().receive_signature(Some("  "), BODY.as_bytes(), T),
        Err(WebhookError::MissingHeader)
    );
    assert_eq!(
        receiver().receive(&http::HeaderMap::new(), BODY.as_bytes(), T),
        Err(WebhookError::MissingHeader)
    );
    for malformed in [
        format!("v0={V0}"),
        format!("t={T}"),
        format!("t=soon,v0={V0}"),
    ] {
        assert_eq!(
            receiver().receive_signature(Some(&malformed), BODY.as_bytes(), T),
            Err(WebhookError::MalformedHeader),
            "{malformed}"
        );
    }
}

#[test]
fn any_of_several_v0_may_match() {
    let rotated = format!("t={T},v0={},v0=nothex,v0={V0}", "ab".repeat(32));
    assert!(receiver()
        .receive_signature(Some(&rotated), BODY.as_bytes(), T)
        .is_ok());
    let spaced = format!(" t={T} , v0={V0} ");
    assert!(receiver()
        .receive_signature(Some(&spaced), BODY.as_bytes(), T)
        .is_ok());
}

#[test]
fn a_signed_body_that_is_not_the_envelope_is_a_decode_error() {
    let body = b"not json";
    let header = signature_header(SECRET, T, body);
    assert!(matches!(
        receiver().receive_signature(Some(&header), body, T),
        Err(WebhookError::Decode(_))
    ));
}

#[test]
fn a_blank_secret_cannot_make_a_receiver() {
    assert!(Receiver::new(" ").is_err());
}

#[test]
fn a_full_transcription_parses_and_unknown_fields_are_tolerated() {
    let body = serde_json::json!({
        "type": "post_call_transcription",
        "event_timestamp": 1739537297,
        "data": {
            "agent_id": "agent_1",
            "conversation_id": "conv_1",
            "status": "done",
            "user_id": null,
            "transcript": [
                {"role": "agent", "message": "Hello Alice", "time_in_call_secs": 0,
                 "tool_calls": [], "feedback": null},
                {"role": "user", "message": "I need help", "time_in_call_secs": 3.5},
                {"role": "agent", "message": null, "time_in_call_secs": 5},
                "a turn of an unexpected shape"
            ],
            "metadata": {"start_time_unix_secs": 1739537000, "call_duration_secs": 22,
                         "cost": 296, "phone_call": {"type": "twilio"}},
            "analysis": {
                "transcript_summary": "Alice asked for help.",
                "call_successful": "success",
                "data_collection_results": {"amount": {"value": 42}},
                "evaluation_criteria_results": {},
                "new_field": true
            },
            "conversation_initiation_client_data": {"dynamic_variables": {"customer_name": "Alice"}}
        }
    })
    .to_string();
    let event = PostCallEvent::parse(body.as_bytes()).unwrap();

    assert_eq!(event.kind, PostCallEventType::PostCallTranscription);
    let data = &event.data;
    assert_eq!(data.agent_id.as_deref(), Some("agent_1"));
    assert_eq!(data.conversation_id.as_deref(), Some("conv_1"));
    assert_eq!(data.status.as_deref(), Some("done"));
    assert_eq!(data.transcript.len(), 3);
    assert_eq!(data.transcript[1].message.as_deref(), Some("I need help"));
    assert_eq!(data.transcript[1].time_in_call_secs, Some(3.5));
    assert_eq!(data.transcript[2].message, None);
    let metadata = data.metadata.as_ref().unwrap();
    assert_eq!(metadata.call_duration_secs, Some(22.0));
    assert_eq!(metadata.other["cost"], 296);
    let analysis = data.analysis.as_ref().unwrap();
    assert_eq!(analysis.call_successful.as_deref(), Some("success"));
    assert_eq!(
        analysis.data_collection_results["amount"],
        serde_json::json!({"value": 42})
    );
    assert_eq!(
        event.raw_data["conversation_initiation_client_data"]["dynamic_variables"]["customer_name"],
        "Alice"
    );
}

#[test]
fn other_types_and_odd_shapes_parse_without_failing() {
    let failure = br#"{"type":"call_initiation_failure","event_timestamp":"1739537297","data":{"agent_id":"a","conversation_id":"c","failure_reason":"busy","metadata":"not an object"}}"#;
    let event = PostCallEvent::parse(failure).unwrap();
    assert_eq!(event.kind, PostCallEventType::CallInitiationFailure);
    assert_eq!(event.event_timestamp, Some(1_739_537_297));
    assert_eq!(event.data.failure_reason.as_deref(), Some("busy"));
    assert_eq!(event.data.metadata, None);

    let audio = br#"{"type":"post_call_audio","data":{"conversation_id":"c","full_audio":"AAAA"}}"#;
    let event = PostCallEvent::parse(audio).unwrap();
    assert_eq!(event.kind, PostCallEventType::PostCallAudio);
    assert_eq!(event.data.full_audio.as_deref(), Some("AAAA"));

    let future = br#"{"type":"post_call_summary_v2","event_timestamp":1}"#;
    let event = PostCallEvent::parse(future).unwrap();
    assert_eq!(
        event.kind,
        PostCallEventType::Unknown("post_call_summary_v2".into())
    );
    assert_eq!(event.kind.as_str(), "post_call_summary_v2");
}

#[tokio::test]
async fn the_fakes_signed_webhook_passes_a_verifying_route_and_a_forgery_does_not() {
    let script = vec![
        Step::AgentResponse("Hello".into()),
        Step::UserTranscript("Hi".into()),
        Step::Close,
    ];
    let fake = FakeElevenLabs::start_default(AgentScript::new(DEFAULT_AGENT_ID, script))
        .await
        .unwrap();
    let mut conversation = client(&fake)
        .connect_agent(
            DEFAULT_AGENT_ID,
            &ConversationInitiation::default().with_variable("lead", "L-1"),
            ConversationOptions::default(),
        )
        .await
        .unwrap();
    while conversation.receiver().recv().await.unwrap().is_some() {}
    let recorded = fake
        .wait_for(Duration::from_secs(5), |c| c.iter().all(|c| c.closed))
        .await;
    let mut sink = WebhookSink::start(fake.webhook_secret()).await;
    let body = fake.post_call_transcription(&recorded[0], now());

    let status = fake.post_webhook(&sink.url, &body, now()).await.unwrap();

    assert_eq!(status, 200);
    let event = sink.next().await.unwrap();
    assert_eq!(
        event.data.conversation_id.as_deref(),
        Some(conversation.conversation_id())
    );
    let turns: Vec<(String, Option<String>)> = event
        .data
        .transcript
        .iter()
        .map(|t| (t.role.clone(), t.message.clone()))
        .collect();
    assert_eq!(
        turns,
        vec![
            ("agent".to_owned(), Some("Hello".to_owned())),
            ("user".to_owned(), Some("Hi".to_owned()))
        ]
    );

    let forged = signature_header("wsec_guess", now(), &body);
    let status = fake
        .post_webhook_with_header(&sink.url, &body, Some(&forged))
        .await
        .unwrap();
    assert_eq!(status, 401);
    assert_eq!(sink.next().await, Err(WebhookError::Mismatch));
    let stale = fake
        .post_webhook(&sink.url, &body, now() - 31 * 60)
        .await
        .unwrap();
    assert_eq!(stale, 401);
    assert_eq!(sink.next().await, Err(WebhookError::Stale));
}
