//! The Twirp client against the fake: each method's request shape and token grants, the fake's
//! refusals of tokens without the grants, and the classification of timeouts, 4xx and 5xx.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use leadline_livekit::fake::{
    Failure, FakeLiveKit, RecordedRequest, DEFAULT_TRUNK_ID, DEFAULT_TRUNK_NUMBER,
};
use leadline_livekit::models::{sip_attr, RoomAgentDispatch};
use leadline_livekit::{
    AccessToken, ApiCredentials, Claims, Client, CreateAgentDispatchRequest, CreateRoomRequest,
    CreateSipParticipantRequest, Error, ParticipantKind, Rpc, SipCallStatus, SipDialFailure,
    VideoGrant,
};
use serde_json::json;

use crate::support::client;

fn dial(room: &str) -> CreateSipParticipantRequest {
    CreateSipParticipantRequest {
        sip_trunk_id: DEFAULT_TRUNK_ID.to_owned(),
        sip_call_to: "+15005550006".to_owned(),
        room_name: room.to_owned(),
        participant_identity: "pstn-call-1".to_owned(),
        participant_name: "Ada Debtor".to_owned(),
        participant_metadata: r#"{"callId":"c-1"}"#.to_owned(),
        participant_attributes: BTreeMap::from([("leadline.callId".to_owned(), "c-1".to_owned())]),
        play_dialtone: true,
        ..CreateSipParticipantRequest::default()
    }
}

/// The one request of `rpc` the fake saw, with its claims.
fn only(fake: &FakeLiveKit, rpc: Rpc) -> (RecordedRequest, Claims) {
    let requests = fake.requests_for(rpc);
    assert_eq!(requests.len(), 1, "{rpc:?}: {requests:?}");
    let request = requests.into_iter().next().unwrap();
    assert_eq!(request.path, rpc.path());
    assert!(request
        .authorization
        .as_deref()
        .unwrap()
        .starts_with("Bearer "));
    assert_eq!(request.content_type.as_deref(), Some("application/json"));
    let claims = request.claims.clone().expect("the token verified");
    assert_eq!(claims.iss, fake.credentials().api_key);
    assert_eq!(claims.sub, "leadline");
    let (nbf, exp) = (claims.nbf.unwrap(), claims.exp.unwrap());
    assert_eq!(exp - nbf, 600, "server tokens live 10 minutes");
    assert!((nbf - Utc::now().timestamp()).abs() < 60);
    (request, claims)
}

fn video(claims: &Claims) -> VideoGrant {
    claims.video.clone().expect("a video grant")
}

#[tokio::test]
async fn create_room_sends_the_room_with_only_room_create() {
    let fake = FakeLiveKit::start().await.unwrap();
    let request = CreateRoomRequest {
        empty_timeout: Some(300),
        departure_timeout: Some(20),
        max_participants: Some(3),
        metadata: r#"{"callId":"c-1"}"#.to_owned(),
        agents: vec![RoomAgentDispatch {
            agent_name: "collector".to_owned(),
            metadata: "{}".to_owned(),
        }],
        ..CreateRoomRequest::named("call-1")
    };
    let room = client(&fake).create_room(&request).await.unwrap();
    assert!(room.sid.starts_with("RM_"), "{room:?}");
    assert_eq!(room.name, "call-1");
    assert_eq!(room.empty_timeout, 300);
    assert_eq!(room.max_participants, 3);
    assert!(room.creation_time > 1_700_000_000);
    let (recorded, claims) = only(&fake, Rpc::CreateRoom);
    assert_eq!(
        recorded.body,
        json!({"name":"call-1","empty_timeout":300,"departure_timeout":20,"max_participants":3,
            "metadata":"{\"callId\":\"c-1\"}","agents":[{"agent_name":"collector","metadata":"{}"}]})
    );
    assert_eq!(
        video(&claims),
        VideoGrant {
            room_create: true,
            ..VideoGrant::default()
        }
    );
    assert_eq!(claims.sip, None);
    assert_eq!(fake.rooms().len(), 1);
    assert_eq!(fake.dispatches()[0].agent_name, "collector");

    // Creating it again answers the same room, as LiveKit does.
    let again = client(&fake).create_room(&request).await.unwrap();
    assert_eq!(again.sid, room.sid);
}

#[tokio::test]
async fn delete_room_removes_it_and_an_unknown_room_is_a_terminal_not_found() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake);
    lk.create_room(&CreateRoomRequest::named("call-2"))
        .await
        .unwrap();
    lk.delete_room("call-2").await.unwrap();
    assert!(fake.rooms().is_empty());
    let deletes = fake.requests_for(Rpc::DeleteRoom);
    assert_eq!(deletes[0].body, json!({"room":"call-2"}));
    let claims = deletes[0].claims.clone().unwrap();
    assert!(video(&claims).room_create);
    assert!(!video(&claims).room_admin);
    assert_eq!(claims.sip, None);

    let error = lk.delete_room("call-2").await.unwrap_err();
    assert!(
        matches!(&error, Error::CallInitiation { status: 404, code, .. } if code == "not_found"),
        "{error:?}"
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn sip_dial_sends_the_documented_fields_with_only_sip_call() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake);
    let info = lk.create_sip_participant(&dial("call-3")).await.unwrap();
    assert!(info.sip_call_id.starts_with("SCL_"), "{info:?}");
    assert!(info.participant_id.starts_with("PA_"));
    assert_eq!(info.participant_identity, "pstn-call-1");
    assert_eq!(info.room_name, "call-3");
    let (recorded, claims) = only(&fake, Rpc::CreateSipParticipant);
    assert_eq!(
        recorded.body,
        json!({"sip_trunk_id":DEFAULT_TRUNK_ID,"sip_call_to":"+15005550006","room_name":"call-3",
            "participant_identity":"pstn-call-1","participant_name":"Ada Debtor",
            "participant_metadata":"{\"callId\":\"c-1\"}",
            "participant_attributes":{"leadline.callId":"c-1"},"play_dialtone":true})
    );
    assert_eq!(claims.video, None, "a dial needs no video grant");
    let sip = claims.sip.unwrap();
    assert!(sip.call && !sip.admin);

    // The room exists now, with the phone leg in it.
    let participants = fake.participants("call-3");
    assert_eq!(participants.len(), 1);
    let leg = &participants[0];
    assert_eq!(leg.kind, ParticipantKind::Sip);
    let attributes = leg.sip().unwrap();
    assert_eq!(
        attributes.call_id.as_deref(),
        Some(info.sip_call_id.as_str())
    );
    assert_eq!(attributes.call_status, Some(SipCallStatus::Dialing));
    assert_eq!(attributes.phone_number.as_deref(), Some("+15005550006"));
    assert_eq!(attributes.trunk_id.as_deref(), Some(DEFAULT_TRUNK_ID));
    assert_eq!(
        attributes.trunk_phone_number.as_deref(),
        Some(DEFAULT_TRUNK_NUMBER)
    );
    assert_eq!(leg.attributes["leadline.callId"], "c-1");
}

#[tokio::test]
async fn waiting_until_answered_sends_the_flag_and_uses_the_longer_timeout() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake)
        .with_timeout(Duration::from_millis(300))
        .with_answer_timeout(Duration::from_secs(5));
    // The callee takes longer to answer than an ordinary call may take.
    fake.fail_next(
        Rpc::CreateSipParticipant,
        Failure::Delay(Duration::from_millis(800)),
    );
    let request = CreateSipParticipantRequest {
        wait_until_answered: true,
        ringing_timeout: Some(Duration::from_secs(30)),
        ..dial("call-4")
    };
    let info = lk.create_sip_participant(&request).await.unwrap();
    let recorded = &fake.requests_for(Rpc::CreateSipParticipant)[0];
    assert_eq!(recorded.body["wait_until_answered"], json!(true));
    assert_eq!(recorded.body["ringing_timeout"], json!("30s"));
    let leg = &fake.participants("call-4")[0];
    assert_eq!(leg.identity, info.participant_identity);
    assert_eq!(leg.sip().unwrap().call_status, Some(SipCallStatus::Active));
}

#[tokio::test]
async fn list_participants_needs_admin_of_that_room_and_agrees_with_the_dial() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake);
    lk.create_sip_participant(&dial("call-5")).await.unwrap();
    let participants = lk.list_participants("call-5").await.unwrap();
    assert_eq!(participants, fake.participants("call-5"));
    assert!(participants[0].is_sip());
    let (recorded, claims) = only(&fake, Rpc::ListParticipants);
    assert_eq!(recorded.body, json!({"room":"call-5"}));
    assert_eq!(
        video(&claims),
        VideoGrant {
            room_admin: true,
            room: "call-5".to_owned(),
            ..VideoGrant::default()
        }
    );
    assert_eq!(claims.sip, None);
    let error = lk.list_participants("no-such-room").await.unwrap_err();
    assert!(matches!(&error, Error::CallInitiation { code, .. } if code == "not_found"));
}

#[tokio::test]
async fn dispatch_sends_agent_room_and_json_metadata_with_admin_of_that_room() {
    let fake = FakeLiveKit::start().await.unwrap();
    let metadata = json!({"invoiceNumber":"INV-001","amountDue":"1000.00 USD","callToken":"t"});
    let request =
        CreateAgentDispatchRequest::with_json_metadata("collector", "call-6", &metadata).unwrap();
    let dispatch = client(&fake).create_dispatch(&request).await.unwrap();
    assert!(dispatch.id.starts_with("AD_"));
    assert_eq!(dispatch.agent_name, "collector");
    assert_eq!(dispatch.room, "call-6");
    assert!(dispatch.state.unwrap().created_at > 0);
    let (recorded, claims) = only(&fake, Rpc::CreateDispatch);
    assert_eq!(recorded.body["agent_name"], json!("collector"));
    assert_eq!(recorded.body["room"], json!("call-6"));
    let sent: serde_json::Value =
        serde_json::from_str(recorded.body["metadata"].as_str().unwrap()).unwrap();
    assert_eq!(sent, metadata);
    assert_eq!(
        video(&claims),
        VideoGrant {
            room_admin: true,
            room: "call-6".to_owned(),
            ..VideoGrant::default()
        }
    );
    assert_eq!(claims.sip, None);
    assert_eq!(fake.dispatches().len(), 1);
}

#[tokio::test]
async fn list_dispatch_shows_a_rooms_agents_with_admin_of_that_room() {
    let fake = FakeLiveKit::start().await.unwrap();
    let client = client(&fake);
    let request =
        CreateAgentDispatchRequest::with_json_metadata("collector", "call-7", &json!({})).unwrap();
    let first = client.create_dispatch(&request).await.unwrap();
    let other =
        CreateAgentDispatchRequest::with_json_metadata("collector", "call-8", &json!({})).unwrap();
    client.create_dispatch(&other).await.unwrap();
    let listed = client.list_dispatch("call-7").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, first.id);
    assert_eq!(listed[0].agent_name, "collector");
    let (recorded, claims) = only(&fake, Rpc::ListDispatch);
    assert_eq!(
        recorded.path,
        "/twirp/livekit.AgentDispatchService/ListDispatch"
    );
    assert_eq!(recorded.body, json!({"room": "call-7"}));
    assert_eq!(
        video(&claims),
        VideoGrant {
            room_admin: true,
            room: "call-7".to_owned(),
            ..VideoGrant::default()
        }
    );
    // A room LiveKit does not have is its 404.
    let missing = client.list_dispatch("call-none").await;
    assert!(
        matches!(&missing, Err(Error::CallInitiation { .. })),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_lost_answer_times_out_though_livekit_carried_the_request_out() {
    let fake = FakeLiveKit::start().await.unwrap();
    fake.add_trunk(DEFAULT_TRUNK_ID);
    fake.fail_next(
        Rpc::CreateSipParticipant,
        Failure::AnswerLost(Duration::from_secs(2)),
    );
    let client = client(&fake).with_timeout(Duration::from_millis(200));
    let outcome = client.create_sip_participant(&dial("call-9")).await;
    assert!(
        matches!(&outcome, Err(e) if e.is_retryable()),
        "a timeout is retryable: {outcome:?}"
    );
    // The participant is there all the same: what a retried dial must find before dialling.
    let participants = client.list_participants("call-9").await.unwrap();
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0].identity, "pstn-call-1");
}

async fn post_with(
    fake: &FakeLiveKit,
    rpc: Rpc,
    token: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{}", fake.base_url(), rpc.path()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_fake_refuses_tokens_without_the_needed_grant() {
    let fake = FakeLiveKit::start().await.unwrap();
    let grantless = AccessToken::new(fake.credentials())
        .to_jwt(Utc::now())
        .unwrap();
    for rpc in Rpc::ALL {
        let (status, body) = post_with(
            &fake,
            rpc,
            &grantless,
            json!({"room":"r","name":"r",
            "room_name":"r","sip_trunk_id":DEFAULT_TRUNK_ID,"sip_call_to":"+15005550006",
            "agent_name":"a"}),
        )
        .await;
        assert_eq!(status, 403, "{rpc:?}");
        assert_eq!(body["code"], json!("permission_denied"), "{rpc:?}");
    }
    // Admin of another room is not admin of this one.
    let elsewhere = AccessToken::new(fake.credentials())
        .with_video_grant(VideoGrant {
            room_admin: true,
            room: "other".to_owned(),
            ..VideoGrant::default()
        })
        .to_jwt(Utc::now())
        .unwrap();
    let (status, _) = post_with(
        &fake,
        Rpc::CreateDispatch,
        &elsewhere,
        json!({"agent_name":"a","room":"call-7"}),
    )
    .await;
    assert_eq!(status, 403);
    // roomAdmin does not allow creating rooms.
    let (status, _) = post_with(&fake, Rpc::CreateRoom, &elsewhere, json!({"name":"x"})).await;
    assert_eq!(status, 403);
    assert!(fake.rooms().is_empty(), "a refused call changes nothing");
    assert!(fake.dispatches().is_empty());
}

#[tokio::test]
async fn the_fake_refuses_missing_forged_and_expired_tokens() {
    let fake = FakeLiveKit::start().await.unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}{}", fake.base_url(), Rpc::CreateRoom.path()))
        .json(&json!({"name":"x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let forged = ApiCredentials::new(fake.credentials().api_key.clone(), "not-the-secret").unwrap();
    let forger = Client::new(reqwest::Client::new(), fake.base_url(), forged).unwrap();
    let error = forger
        .create_room(&CreateRoomRequest::named("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::CallInitiation { status: 401, code, .. } if code == "unauthenticated"),
        "{error:?}"
    );
    assert!(!error.is_retryable());

    let expired = AccessToken::new(fake.credentials())
        .with_video_grant(VideoGrant {
            room_create: true,
            ..VideoGrant::default()
        })
        .with_ttl(chrono::Duration::seconds(60))
        .to_jwt(Utc::now() - chrono::Duration::seconds(600))
        .unwrap();
    let (status, body) = post_with(&fake, Rpc::CreateRoom, &expired, json!({"name":"x"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    assert!(fake.rooms().is_empty());
    assert!(fake.requests().iter().all(|r| r.status == 401));
}

#[tokio::test]
async fn a_timeout_is_a_retryable_network_timeout() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake).with_timeout(Duration::from_millis(200));
    fake.fail_next(
        Rpc::CreateSipParticipant,
        Failure::Delay(Duration::from_millis(1500)),
    );
    let error = lk
        .create_sip_participant(&dial("call-8"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NetworkTimeout(_)), "{error:?}");
    assert!(error.is_retryable());
    // The next attempt goes through.
    lk.create_sip_participant(&dial("call-8")).await.unwrap();

    // LiveKit's own deadline is a timeout too.
    fake.fail_next(
        Rpc::CreateRoom,
        Failure::twirp("deadline_exceeded", "took too long"),
    );
    let error = lk
        .create_room(&CreateRoomRequest::named("call-8"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NetworkTimeout(_)), "{error:?}");
}

#[tokio::test]
async fn a_4xx_is_a_terminal_call_initiation_failure_with_code_and_msg() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake);
    fake.fail_next(
        Rpc::CreateSipParticipant,
        Failure::twirp("invalid_argument", "number not allowed by trunk"),
    );
    let error = lk
        .create_sip_participant(&dial("call-9"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        Error::CallInitiation {
            status: 400,
            code: "invalid_argument".to_owned(),
            msg: "number not allowed by trunk".to_owned(),
            sip_status_code: None,
            sip_status: None,
        }
    );
    assert!(!error.is_retryable());

    // A busy line reported while waiting for the answer carries its SIP status.
    fake.fail_next(Rpc::CreateSipParticipant, Failure::sip(486, "Busy Here"));
    let busy = lk
        .create_sip_participant(&CreateSipParticipantRequest {
            wait_until_answered: true,
            ..dial("call-9")
        })
        .await
        .unwrap_err();
    assert_eq!(busy.sip_dial_failure(), Some(SipDialFailure::Busy));
    assert!(!busy.is_retryable());

    // An unknown trunk is LiveKit's not_found.
    let error = lk
        .create_sip_participant(&CreateSipParticipantRequest {
            sip_trunk_id: "ST_unknown".to_owned(),
            ..dial("call-9")
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::CallInitiation { status: 404, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_5xx_is_a_retryable_transient_failure() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake);
    fake.fail_next(
        Rpc::CreateDispatch,
        Failure::twirp("unavailable", "no worker"),
    );
    let request = CreateAgentDispatchRequest {
        agent_name: "collector".to_owned(),
        room: "call-10".to_owned(),
        metadata: "{}".to_owned(),
    };
    let error = lk.create_dispatch(&request).await.unwrap_err();
    assert!(
        matches!(&error, Error::Transient { status: 503, code, .. } if code == "unavailable"),
        "{error:?}"
    );
    assert!(error.is_retryable());
    fake.fail_next(
        Rpc::CreateDispatch,
        Failure::Raw {
            status: 502,
            body: "<html>bad gateway</html>".to_owned(),
        },
    );
    let error = lk.create_dispatch(&request).await.unwrap_err();
    assert!(
        matches!(error, Error::Transient { status: 502, .. }),
        "{error:?}"
    );
    fake.fail_next(Rpc::CreateDispatch, Failure::twirp("internal", "boom"));
    assert!(lk
        .create_dispatch(&request)
        .await
        .unwrap_err()
        .is_retryable());
    lk.create_dispatch(&request).await.unwrap();
}

#[tokio::test]
async fn bad_input_and_missing_settings_are_refused_before_sending() {
    let fake = FakeLiveKit::start().await.unwrap();
    let lk = client(&fake);
    let error = lk
        .create_sip_participant(&CreateSipParticipantRequest {
            sip_call_to: "555-1234".to_owned(),
            ..dial("call-11")
        })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidPhoneNumber(_)), "{error:?}");
    assert!(!error.is_retryable());
    let error = lk
        .create_sip_participant(&CreateSipParticipantRequest {
            sip_trunk_id: String::new(),
            ..dial("call-11")
        })
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::Configuration(m) if m.contains("LIVEKIT_SIP_TRUNK_ID")));
    let error = lk
        .create_dispatch(&CreateAgentDispatchRequest {
            room: "call-11".to_owned(),
            ..CreateAgentDispatchRequest::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::Configuration(m) if m.contains("LIVEKIT_AGENT_NAME")));
    let error = lk
        .create_room(&CreateRoomRequest::named(" "))
        .await
        .unwrap_err();
    assert!(matches!(&error, Error::CallInitiation { status: 0, .. }));
    assert!(fake.requests().is_empty(), "nothing reached LiveKit");
    let error = Client::from_settings(
        reqwest::Client::new(),
        Some(fake.base_url()),
        None,
        Some("s"),
    )
    .unwrap_err();
    assert!(matches!(&error, Error::Configuration(m) if m.contains("LIVEKIT_API_KEY")));
}

#[tokio::test]
async fn an_unreachable_livekit_is_transient() {
    let fake = FakeLiveKit::start().await.unwrap();
    let url = fake.base_url().to_owned();
    let credentials = fake.credentials().clone();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let lk = Client::new(reqwest::Client::new(), &url, credentials)
        .unwrap()
        .with_timeout(Duration::from_secs(2));
    let error = lk
        .create_room(&CreateRoomRequest::named("x"))
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
}

#[tokio::test]
async fn the_phone_number_can_be_hidden_from_attributes() {
    let fake = FakeLiveKit::start().await.unwrap();
    client(&fake)
        .create_sip_participant(&CreateSipParticipantRequest {
            hide_phone_number: true,
            ..dial("call-12")
        })
        .await
        .unwrap();
    let leg = &fake.participants("call-12")[0];
    assert!(!leg.attributes.contains_key(sip_attr::PHONE_NUMBER));
    assert!(leg.attributes.contains_key(sip_attr::CALL_ID));
}
