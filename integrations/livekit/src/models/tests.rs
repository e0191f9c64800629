use super::*;

#[test]
fn responses_parse_in_both_casings_with_int64_strings() {
    let snake: Room = serde_json::from_str(
        r#"{"sid":"RM_1","name":"call-1","empty_timeout":300,"creation_time":"1700000000","num_participants":2}"#,
    )
    .unwrap();
    let camel: Room = serde_json::from_str(
        r#"{"sid":"RM_1","name":"call-1","emptyTimeout":300,"creationTime":1700000000,"numParticipants":"2"}"#,
    )
    .unwrap();
    assert_eq!(snake, camel);
    assert_eq!(snake.creation_time, 1_700_000_000);
    let sip: SipParticipantInfo = serde_json::from_str(
        r#"{"participantId":"PA_1","participantIdentity":"pstn","roomName":"r","sipCallId":"SCL_1"}"#,
    )
    .unwrap();
    assert_eq!(sip.sip_call_id, "SCL_1");
}

#[test]
fn enums_read_names_numbers_and_unknown_values() {
    let p: ParticipantInfo =
        serde_json::from_str(r#"{"kind":3,"state":"ACTIVE","disconnectReason":"USER_REJECTED"}"#)
            .unwrap();
    assert!(p.is_sip());
    assert_eq!(p.state, ParticipantState::Active);
    assert_eq!(p.disconnect_reason, DisconnectReason::UserRejected);
    assert_eq!(
        p.disconnect_reason.sip_dial_failure(),
        Some(crate::SipDialFailure::Busy)
    );
    assert_eq!(
        DisconnectReason::UserUnavailable.sip_dial_failure(),
        Some(crate::SipDialFailure::NoAnswer)
    );
    assert_eq!(DisconnectReason::ClientInitiated.sip_dial_failure(), None);
    let q: ParticipantInfo = serde_json::from_str(r#"{"kind":"ROBOT","state":9}"#).unwrap();
    assert_eq!(q.kind, ParticipantKind::Other("ROBOT".into()));
    assert_eq!(q.state, ParticipantState::Other("9".into()));
    let absent: ParticipantInfo = serde_json::from_str("{}").unwrap();
    assert_eq!(absent.kind, ParticipantKind::Standard);
    assert_eq!(absent.state, ParticipantState::Joining);
}

#[test]
fn sip_requests_write_snake_case_and_protobuf_durations() {
    let request = CreateSipParticipantRequest {
        sip_trunk_id: "ST_1".into(),
        sip_call_to: "+15551234567".into(),
        room_name: "call-1".into(),
        participant_identity: "pstn-1".into(),
        ringing_timeout: Some(Duration::from_secs(30)),
        max_call_duration: Some(Duration::from_millis(1500)),
        wait_until_answered: true,
        ..Default::default()
    };
    let json = serde_json::to_value(&request).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"sip_trunk_id":"ST_1","sip_call_to":"+15551234567",
            "room_name":"call-1","participant_identity":"pstn-1","play_dialtone":false,
            "ringing_timeout":"30s","max_call_duration":"1.500s","wait_until_answered":true})
    );
    let back: CreateSipParticipantRequest = serde_json::from_value(json).unwrap();
    assert_eq!(back, request);
    let camel: CreateSipParticipantRequest = serde_json::from_str(
        r#"{"sipTrunkId":"ST_1","sipCallTo":"+1555","roomName":"r","ringingTimeout":"2.5s"}"#,
    )
    .unwrap();
    assert_eq!(camel.ringing_timeout, Some(Duration::from_millis(2500)));
}

#[test]
fn rpc_paths_name_the_right_services() {
    assert_eq!(
        Rpc::CreateSipParticipant.path(),
        "/twirp/livekit.SIP/CreateSIPParticipant"
    );
    assert_eq!(
        Rpc::from_parts("livekit.AgentDispatchService", "CreateDispatch"),
        Some(Rpc::CreateDispatch)
    );
    assert_eq!(
        Rpc::from_parts("livekit.SIPService", "CreateSIPParticipant"),
        None
    );
}
