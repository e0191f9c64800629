//! The conversation WebSocket against the fake's scripted agent: init first, audio both ways
//! byte for byte, ping/pong, a tool call round trip, the interruption gate, unknown and
//! unreadable events ignored.

use std::time::Duration;

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use leadline_elevenlabs::fake::{AgentScript, FakeElevenLabs, Step, ToolResult, DEFAULT_AGENT_ID};
use leadline_elevenlabs::models::ULAW_8000;
use leadline_elevenlabs::{
    ClientMessage, ConversationInitiation, ConversationOptions, ConversationReceiver, Error,
    ServerEvent,
};
use tokio_tungstenite::tungstenite::Message;

use crate::support::client;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn audio(event_id: u64, bytes: &[u8]) -> ServerEvent {
    ServerEvent::Audio {
        audio_base_64: b64(bytes),
        event_id,
    }
}

/// Every event until the conversation closes, answering tool calls with "transferred".
async fn drain(
    receiver: &mut ConversationReceiver,
    sender: &leadline_elevenlabs::ConversationSender,
) -> Vec<ServerEvent> {
    let mut events = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(10), receiver.recv())
        .await
        .expect("the conversation ends within 10 s")
        .unwrap()
    {
        if let ServerEvent::ClientToolCall { tool_call_id, .. } = &event {
            sender
                .client_tool_result(tool_call_id, "transferred", false)
                .await
                .unwrap();
        }
        events.push(event);
    }
    events
}

#[tokio::test]
async fn a_full_conversation_follows_the_protocol() {
    // What the caller says, as the base64 Twilio hands the bridge.
    let caller = ["aGVsbG8g", "YWdl", "bnQ="]; // "hello agent"
    let late = audio(3, b"stale").to_json();
    let script = vec![
        Step::Audio(b"agent says hi".to_vec()),
        Step::AgentResponse("Hello Alice".into()),
        Step::WaitForAudio(11),
        Step::EchoHeard,
        Step::Ping { ping_ms: Some(20) },
        Step::ToolCall {
            tool_name: "transfer".into(),
            parameters: serde_json::json!({"reason": "billing"}),
        },
        Step::UnknownEvent("vad_score".into()),
        Step::Raw("this is not json".into()),
        Step::Audio(b"second turn".to_vec()),
        Step::Interruption,
        // A frame of the interrupted turn arriving late: the gate drops it.
        Step::Raw(late),
        Step::Audio(b"after".to_vec()),
        Step::Close,
    ];
    let fake = FakeElevenLabs::start_default(AgentScript::new(DEFAULT_AGENT_ID, script))
        .await
        .unwrap();
    let init = ConversationInitiation::default()
        .with_variable("customer_name", "Alice")
        .with_variable("amount_due", 42.5)
        .with_variable("vip", true);

    let conversation = client(&fake)
        .connect_agent(DEFAULT_AGENT_ID, &init, ConversationOptions::default())
        .await
        .unwrap();
    assert_eq!(conversation.metadata().agent_output_audio_format, ULAW_8000);
    assert_eq!(conversation.metadata().user_input_audio_format, ULAW_8000);
    let conversation_id = conversation.conversation_id().to_owned();
    let (sender, mut receiver) = conversation.split();
    for chunk in caller {
        sender.send_audio_base64(chunk).await.unwrap();
    }
    let events = drain(&mut receiver, &sender).await;

    assert_eq!(
        events,
        vec![
            audio(1, b"agent says hi"),
            ServerEvent::AgentResponse {
                agent_response: "Hello Alice".into()
            },
            ServerEvent::UserTranscript {
                user_transcript: "hello agent".into()
            },
            ServerEvent::Ping {
                event_id: 2,
                ping_ms: Some(20)
            },
            ServerEvent::ClientToolCall {
                tool_name: "transfer".into(),
                tool_call_id: "tc_1".into(),
                parameters: serde_json::json!({"reason": "billing"}),
            },
            ServerEvent::Unknown {
                kind: "vad_score".into()
            },
            audio(3, b"second turn"),
            ServerEvent::Interruption { event_id: 3 },
            audio(4, b"after"),
        ]
    );
    assert_eq!(receiver.dropped_audio(), 1);
    assert_eq!(receiver.malformed_frames(), 1);
    assert_eq!(receiver.close_reason().map(|c| c.0), Some(1000));

    let recorded = fake
        .wait_for(Duration::from_secs(5), |c| c.iter().all(|c| c.closed))
        .await;
    assert_eq!(fake.violations(), Vec::<String>::new());
    let recorded = &recorded[0];
    assert_eq!(recorded.conversation_id, conversation_id);
    assert!(matches!(
        recorded.client_frames[0],
        ClientMessage::ConversationInitiationClientData(_)
    ));
    assert_eq!(
        recorded.dynamic_variables(),
        serde_json::json!({"customer_name": "Alice", "amount_due": 42.5, "vip": true})
    );
    assert_eq!(recorded.user_audio_chunks, caller);
    assert_eq!(recorded.user_audio(), b"hello agent");
    assert_eq!(recorded.pongs, vec![2]);
    assert_eq!(
        recorded.tool_results,
        vec![ToolResult {
            tool_call_id: "tc_1".into(),
            result: serde_json::json!("transferred"),
            is_error: false,
        }]
    );
    assert!(recorded.script_finished);
}

#[tokio::test]
async fn mulaw_frames_are_relayed_byte_for_byte_both_ways() {
    // 160-byte μ-law frames (20 ms at 8 kHz) with every byte value, as Twilio sends them.
    let frames: Vec<Vec<u8>> = (0..8u8)
        .map(|f| {
            (0..160u16)
                .map(|i| (i as u8).wrapping_mul(7).wrapping_add(f))
                .collect()
        })
        .collect();
    let twilio_payloads: Vec<String> = frames.iter().map(|f| b64(f)).collect();
    let agent_frames: Vec<Vec<u8>> = frames.iter().rev().cloned().collect();
    let mut script: Vec<Step> = agent_frames.iter().cloned().map(Step::Audio).collect();
    script.push(Step::WaitForAudio(160 * 8));
    script.push(Step::Close);
    let fake = FakeElevenLabs::start_default(AgentScript::new(DEFAULT_AGENT_ID, script))
        .await
        .unwrap();

    let conversation = client(&fake)
        .connect_agent(
            DEFAULT_AGENT_ID,
            &ConversationInitiation::default(),
            ConversationOptions::default(),
        )
        .await
        .unwrap();
    let (sender, mut receiver) = conversation.split();
    let relay = {
        let sender = sender.clone();
        let payloads = twilio_payloads.clone();
        tokio::spawn(async move {
            for payload in &payloads {
                // What the bridge does with Twilio's `media.payload`: hand over the &str.
                sender.send_audio_base64(payload).await.unwrap();
            }
        })
    };
    let events = drain(&mut receiver, &sender).await;
    relay.await.unwrap();

    let agent_payloads: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Audio { audio_base_64, .. } => Some(audio_base_64.clone()),
            _ => None,
        })
        .collect();
    let expected: Vec<String> = agent_frames.iter().map(|f| b64(f)).collect();
    assert_eq!(agent_payloads, expected);
    let recorded = fake
        .wait_for(Duration::from_secs(5), |c| c.iter().all(|c| c.closed))
        .await;
    assert_eq!(recorded[0].user_audio_chunks, twilio_payloads);
    assert_eq!(recorded[0].user_audio(), frames.concat());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn non_base64_audio_is_refused_before_it_reaches_the_socket() {
    let fake = FakeElevenLabs::start_default(AgentScript::default())
        .await
        .unwrap();
    let conversation = client(&fake)
        .connect_agent(
            DEFAULT_AGENT_ID,
            &ConversationInitiation::default(),
            ConversationOptions::default(),
        )
        .await
        .unwrap();
    let error = conversation
        .sender()
        .send_audio_base64("\"},{\"type\":\"user_message")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Validation { .. }));
    conversation.sender().close().await.unwrap();
    let recorded = fake
        .wait_for(Duration::from_secs(5), |c| c.iter().all(|c| c.closed))
        .await;
    assert!(recorded[0].user_audio_chunks.is_empty());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn with_automatic_pongs_off_the_caller_answers_and_a_missed_pong_is_a_violation() {
    let script = vec![
        Step::Ping { ping_ms: None },
        Step::Ping { ping_ms: None },
        Step::Close,
    ];
    let agent = AgentScript {
        step_timeout: Duration::from_millis(300),
        ..AgentScript::new(DEFAULT_AGENT_ID, script)
    };
    let fake = FakeElevenLabs::start_default(agent).await.unwrap();
    let options = ConversationOptions {
        answer_pings: false,
        ..ConversationOptions::default()
    };
    let conversation = client(&fake)
        .connect_agent(
            DEFAULT_AGENT_ID,
            &ConversationInitiation::default(),
            options,
        )
        .await
        .unwrap();
    let (sender, mut receiver) = conversation.split();

    // Answer the first ping by hand, ignore the second.
    let first = receiver.recv().await.unwrap().unwrap();
    assert_eq!(
        first,
        ServerEvent::Ping {
            event_id: 1,
            ping_ms: None
        }
    );
    sender.pong(1).await.unwrap();
    let second = receiver.recv().await.unwrap().unwrap();
    assert!(matches!(second, ServerEvent::Ping { event_id: 2, .. }));
    assert_eq!(receiver.recv().await.unwrap(), None);

    let recorded = fake
        .wait_for(Duration::from_secs(5), |c| c.iter().all(|c| c.closed))
        .await;
    assert_eq!(recorded[0].pongs, vec![1]);
    let violations = fake.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].ends_with("no pong for ping 2"),
        "{violations:?}"
    );
}

#[tokio::test]
async fn the_fake_flags_a_wrong_tool_call_id_and_unknown_client_frames() {
    let script = vec![
        Step::ToolCall {
            tool_name: "lookup".into(),
            parameters: serde_json::json!({}),
        },
        Step::Close,
    ];
    let agent = AgentScript {
        step_timeout: Duration::from_millis(300),
        ..AgentScript::new(DEFAULT_AGENT_ID, script)
    };
    let fake = FakeElevenLabs::start_default(agent).await.unwrap();
    let conversation = client(&fake)
        .connect_agent(
            DEFAULT_AGENT_ID,
            &ConversationInitiation::default(),
            ConversationOptions::default(),
        )
        .await
        .unwrap();
    let (sender, mut receiver) = conversation.split();
    let call = receiver.recv().await.unwrap().unwrap();
    assert!(matches!(call, ServerEvent::ClientToolCall { .. }));
    sender
        .client_tool_result("tc_wrong", "x", true)
        .await
        .unwrap();
    sender
        .send(&ClientMessage::Unknown {
            kind: "made_up".into(),
        })
        .await
        .unwrap();
    assert_eq!(receiver.recv().await.unwrap(), None);

    let violations = fake.violations();
    assert!(
        violations
            .iter()
            .any(|v| v.contains("'tc_wrong', which was not called")),
        "{violations:?}"
    );
    assert!(
        violations.iter().any(|v| v.contains("made_up")),
        "{violations:?}"
    );
    assert!(violations
        .iter()
        .any(|v| v.ends_with("no client_tool_result for tc_1")));
}

#[tokio::test]
async fn user_messages_context_and_activity_reach_the_agent() {
    let fake = FakeElevenLabs::start_default(AgentScript::default())
        .await
        .unwrap();
    let conversation = client(&fake)
        .connect_agent(
            DEFAULT_AGENT_ID,
            &ConversationInitiation::default(),
            ConversationOptions::default(),
        )
        .await
        .unwrap();
    let sender = conversation.sender().clone();
    sender.user_message("I want to pay").await.unwrap();
    sender.contextual_update("caller is on hold").await.unwrap();
    sender.user_activity().await.unwrap();
    sender.close().await.unwrap();

    let recorded = fake
        .wait_for(Duration::from_secs(5), |c| c.iter().all(|c| c.closed))
        .await;
    assert_eq!(recorded[0].user_messages, vec!["I want to pay"]);
    assert_eq!(recorded[0].contextual_updates, vec!["caller is on hold"]);
    assert_eq!(recorded[0].user_activity, 1);
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert!(sender
        .user_activity()
        .await
        .is_err_and(|e| e == Error::Closed));
}

#[tokio::test]
async fn the_fake_closes_a_conversation_that_does_not_start_with_init() {
    let fake = FakeElevenLabs::start_default(AgentScript::default())
        .await
        .unwrap();
    let url = client(&fake).signed_url(DEFAULT_AGENT_ID).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .unwrap();

    ws.send(Message::text(r#"{"user_audio_chunk":"AAAA"}"#))
        .await
        .unwrap();
    let mut close_code = None;
    while let Some(Ok(message)) = ws.next().await {
        if let Message::Close(frame) = message {
            close_code = frame.map(|f| u16::from(f.code));
            break;
        }
    }

    assert_eq!(close_code, Some(1008));
    let violations = fake.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].ends_with("audio before init"),
        "{violations:?}"
    );
}
