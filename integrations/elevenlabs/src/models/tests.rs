use super::*;

#[test]
fn documented_server_frames_parse() {
    let frames = [
        (
            r#"{"type":"conversation_initiation_metadata","conversation_initiation_metadata_event":{"conversation_id":"conv_1","agent_output_audio_format":"ulaw_8000","user_input_audio_format":"ulaw_8000"}}"#,
            ServerEvent::ConversationInitiationMetadata(ConversationInitiationMetadata {
                conversation_id: "conv_1".into(),
                agent_output_audio_format: ULAW_8000.into(),
                user_input_audio_format: ULAW_8000.into(),
            }),
        ),
        (
            r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC","event_id":7}}"#,
            ServerEvent::Audio {
                audio_base_64: "AAEC".into(),
                event_id: 7,
            },
        ),
        (
            r#"{"type":"ping","ping_event":{"event_id":12,"ping_ms":50}}"#,
            ServerEvent::Ping {
                event_id: 12,
                ping_ms: Some(50),
            },
        ),
        (
            r#"{"type":"client_tool_call","client_tool_call":{"tool_name":"transfer","tool_call_id":"tc_1","parameters":{"reason":"billing"}}}"#,
            ServerEvent::ClientToolCall {
                tool_name: "transfer".into(),
                tool_call_id: "tc_1".into(),
                parameters: serde_json::json!({"reason": "billing"}),
            },
        ),
        (
            r#"{"type":"vad_score","vad_score_event":{"vad_score":0.9}}"#,
            ServerEvent::Unknown {
                kind: "vad_score".into(),
            },
        ),
    ];
    for (text, expected) in frames {
        assert_eq!(ServerEvent::parse(text), Ok(expected.clone()), "{text}");
        assert_eq!(ServerEvent::parse(&expected.to_json()), Ok(expected));
    }
    assert!(ServerEvent::parse(r#"{"type":"audio"}"#).is_err());
    assert!(ServerEvent::parse("not json").is_err());
}

#[test]
fn audio_frames_have_no_type_and_round_trip() {
    let frame = ClientMessage::UserAudioChunk("AAEC/+==".into()).to_json();
    assert_eq!(frame, r#"{"user_audio_chunk":"AAEC/+=="}"#);
    assert_eq!(
        ClientMessage::parse(&frame),
        Ok(ClientMessage::UserAudioChunk("AAEC/+==".into()))
    );
    // Text that is not base64 is still escaped properly, never spliced in raw.
    let odd = ClientMessage::UserAudioChunk("a\"b".into()).to_json();
    assert_eq!(
        ClientMessage::parse(&odd),
        Ok(ClientMessage::UserAudioChunk("a\"b".into()))
    );
}

#[test]
fn init_frame_carries_type_and_dynamic_variables() {
    let init = ConversationInitiation::default()
        .with_variable("customer_name", "Alice")
        .with_variable("amount_due", 42)
        .with_variable("vip", true);
    let json = ClientMessage::ConversationInitiationClientData(init.clone()).to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
    assert_eq!(value["type"], "conversation_initiation_client_data");
    assert_eq!(value["dynamic_variables"]["customer_name"], "Alice");
    assert_eq!(value["dynamic_variables"]["amount_due"], 42);
    assert_eq!(value["dynamic_variables"]["vip"], true);
    assert_eq!(
        ClientMessage::parse(&json),
        Ok(ClientMessage::ConversationInitiationClientData(init))
    );
}
