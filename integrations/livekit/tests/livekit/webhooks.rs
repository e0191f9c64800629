//! Webhooks: the shared `livekit.json` vector, the refusals (tampered body, wrong key, expired
//! token, missing header...), and deliveries sent by the fake verified and parsed end to end.

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, HeaderValue};
use leadline_livekit::fake::FakeLiveKit;
use leadline_livekit::fake::DEFAULT_TRUNK_ID;
use leadline_livekit::token::{self, LEEWAY_SECS};
use leadline_livekit::webhook::{self, Receiver};
use leadline_livekit::{
    AccessToken, ApiCredentials, Claims, CreateSipParticipantRequest, DisconnectReason, Error,
    EventKind, KeySet, ParticipantKind, ParticipantState, SignatureProblem, SipCallStatus,
    WebhookEvent,
};
use serde::Deserialize;

use crate::support::{client, vector_file, Sink};

#[derive(Debug, Deserialize)]
struct Vector {
    api_key: String,
    api_secret: String,
    raw_body: String,
    authorization: String,
    now: i64,
    valid: bool,
}

fn vectors() -> Vec<Vector> {
    let vectors: Vec<Vector> = serde_json::from_str(&vector_file("livekit.json")).unwrap();
    assert!(!vectors.is_empty(), "livekit.json holds no vectors");
    vectors
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn headers(authorization: &str) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(
        "authorization",
        HeaderValue::from_str(authorization).unwrap(),
    );
    map.insert(
        "content-type",
        HeaderValue::from_static(webhook::CONTENT_TYPE),
    );
    map
}

fn receiver_for(vector: &Vector) -> Receiver {
    Receiver::from_settings(Some(&vector.api_key), Some(&vector.api_secret), None).unwrap()
}

/// The claims of a JWT, read without verification (to check what the vector says).
fn unverified_claims(jwt: &str) -> Claims {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn problem(result: Result<impl std::fmt::Debug, Error>) -> SignatureProblem {
    match result {
        Err(Error::SignatureInvalid(problem)) => problem,
        other => panic!("expected a signature refusal, got {other:?}"),
    }
}

#[test]
fn the_shared_vectors_verify_exactly_when_marked_valid() {
    for vector in vectors() {
        let claims = unverified_claims(&vector.authorization);
        assert_eq!(claims.iss, vector.api_key);
        // The vector's own claim is the body hash iff the vector is valid.
        assert_eq!(
            webhook::body_hash(vector.raw_body.as_bytes()) == claims.sha256.clone().unwrap(),
            vector.valid,
            "{}",
            vector.raw_body
        );
        let result = receiver_for(&vector).receive(
            &headers(&vector.authorization),
            vector.raw_body.as_bytes(),
            at(vector.now),
        );
        if vector.valid {
            let event = result.unwrap();
            assert_eq!(event.event, EventKind::ParticipantLeft);
            assert_eq!(event.room_name(), Some("call-shared"));
            assert_eq!(
                event.participant.as_ref().unwrap().identity,
                "sip_+15005550006"
            );
            assert_eq!(event.created_at, 1_732_350_000);
        } else {
            assert_eq!(problem(result), SignatureProblem::BodyMismatch);
        }
    }
}

#[test]
fn the_valid_vector_is_refused_once_tampered_expired_or_under_another_key() {
    let vector = vectors().into_iter().find(|v| v.valid).unwrap();
    let receiver = receiver_for(&vector);
    let body = vector.raw_body.as_bytes();
    let exp = unverified_claims(&vector.authorization).exp.unwrap();

    let tampered = vector
        .raw_body
        .replace("participant_left", "participant_joined");
    assert_eq!(
        problem(receiver.verify(
            &headers(&vector.authorization),
            tampered.as_bytes(),
            at(vector.now)
        )),
        SignatureProblem::BodyMismatch
    );
    let wrong_secret =
        Receiver::from_settings(Some(&vector.api_key), Some("another-secret"), None).unwrap();
    assert_eq!(
        problem(wrong_secret.verify(&headers(&vector.authorization), body, at(vector.now))),
        SignatureProblem::BadSignature
    );
    let other_key =
        Receiver::from_settings(Some("APIother"), Some(&vector.api_secret), None).unwrap();
    assert_eq!(
        problem(other_key.verify(&headers(&vector.authorization), body, at(vector.now))),
        SignatureProblem::UnknownKey
    );
    // Within the leeway it still verifies; past it, it is stale.
    assert!(receiver
        .verify(&headers(&vector.authorization), body, at(exp + LEEWAY_SECS))
        .is_ok());
    assert_eq!(
        problem(receiver.verify(
            &headers(&vector.authorization),
            body,
            at(exp + LEEWAY_SECS + 1)
        )),
        SignatureProblem::Expired
    );
    assert_eq!(
        problem(receiver.verify(&HeaderMap::new(), body, at(vector.now))),
        SignatureProblem::MissingHeader
    );
    assert_eq!(
        problem(receiver.verify(&headers(""), body, at(vector.now))),
        SignatureProblem::MissingHeader
    );
    // LiveKit sends the bare token; a Bearer-prefixed one is not what it signs.
    assert_eq!(
        problem(receiver.verify(
            &headers(&format!("Bearer {}", vector.authorization)),
            body,
            at(vector.now)
        )),
        SignatureProblem::Malformed
    );
    // A flipped signature byte.
    let mut forged = vector.authorization.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(receiver
        .verify(&headers(&forged), body, at(vector.now))
        .is_err());
}

#[test]
fn several_keys_are_accepted_and_a_token_without_sha256_is_not() {
    let a = ApiCredentials::new("APIa", "secret-a").unwrap();
    let b = ApiCredentials::new("APIb", "secret-b").unwrap();
    let receiver =
        Receiver::from_settings(Some("APIa"), Some("secret-a"), Some("APIb=secret-b")).unwrap();
    let body = br#"{"event":"room_started","room":{"sid":"RM_x","name":"call-1"},"id":"EV_1","createdAt":"1700000000"}"#;
    let now = at(1_700_000_000);
    for credentials in [&a, &b] {
        let jwt = webhook::sign(credentials, body, now).unwrap();
        let event = receiver.receive(&headers(&jwt), body, now).unwrap();
        assert_eq!(event.event, EventKind::RoomStarted);
        assert_eq!(event.id, "EV_1");
        assert_eq!(
            unverified_claims(&jwt).sha256.as_deref(),
            Some("2DT70L9CgksV6jfjuhKhGxrXown2xQeqpdB5IjeLqTU=")
        );
        assert_eq!(
            unverified_claims(&jwt).exp,
            Some(now.timestamp() + 300),
            "LiveKit's webhook tokens live 5 minutes"
        );
    }
    let no_hash = AccessToken::new(&a).to_jwt(now).unwrap();
    assert_eq!(
        problem(receiver.verify(&headers(&no_hash), body, now)),
        SignatureProblem::MissingBodyHash
    );
    // An access token of the right key verifies as a token, never as a webhook.
    assert!(token::verify(&no_hash, &KeySet::single(&a), now).is_ok());
}

#[test]
fn the_documented_sip_participant_joined_parses_with_its_attributes() {
    let credentials = ApiCredentials::new("APIk", "s").unwrap();
    let receiver = Receiver::new(KeySet::single(&credentials)).unwrap();
    let body = r#"{"event":"participant_joined","id":"EV_abc","createdAt":"1787074611","room":{"sid":"RM_x","name":"call-123","creationTime":"1787074610"},"participant":{"sid":"PA_1","identity":"pstn-123","state":"ACTIVE","joinedAt":"1787074611","kind":"SIP","attributes":{"sip.callID":"SCL_1","sip.callStatus":"active","sip.phoneNumber":"+15551234567","sip.trunkID":"ST_1","sip.trunkPhoneNumber":"+15550100000"},"permission":{"canSubscribe":true},"version":3},"numDropped":0,"somethingNew":{"a":1}}"#;
    let now = at(1_787_074_611);
    let jwt = webhook::sign(&credentials, body.as_bytes(), now).unwrap();
    let event = receiver
        .receive(&headers(&jwt), body.as_bytes(), now)
        .unwrap();
    assert_eq!(event.event, EventKind::ParticipantJoined);
    assert_eq!(event.id, "EV_abc");
    assert_eq!(event.created_at, 1_787_074_611);
    let room = event.room.as_ref().unwrap();
    assert_eq!(
        (room.sid.as_str(), room.creation_time),
        ("RM_x", 1_787_074_610)
    );
    let participant = event.sip_participant().unwrap();
    assert_eq!(participant.kind, ParticipantKind::Sip);
    assert_eq!(participant.state, ParticipantState::Active);
    assert_eq!(participant.joined_at, 1_787_074_611);
    let sip = participant.sip().unwrap();
    assert_eq!(sip.call_id.as_deref(), Some("SCL_1"));
    assert_eq!(sip.call_status, Some(SipCallStatus::Active));
    assert_eq!(sip.phone_number.as_deref(), Some("+15551234567"));
    assert_eq!(sip.trunk_id.as_deref(), Some("ST_1"));

    // Track and egress events, and unknown ones, are tolerated.
    for body in [
        r#"{"event":"track_published","id":"EV_t","room":{"name":"call-123"},"participant":{"identity":"agent","kind":"AGENT"},"track":{"sid":"TR_1","type":"AUDIO"}}"#,
        r#"{"event":"egress_ended","id":"EV_e","egressInfo":{"egressId":"EG_1","status":"EGRESS_COMPLETE"}}"#,
        r#"{"event":"room_reshuffled","id":"EV_u","createdAt":1787074612}"#,
    ] {
        let jwt = webhook::sign(&credentials, body.as_bytes(), now).unwrap();
        let event = receiver
            .receive(&headers(&jwt), body.as_bytes(), now)
            .unwrap();
        assert!(!event.id.is_empty());
        assert!(event.sip_participant().is_none());
    }
}

/// The next delivery at the sink, checked like the api's route would, then parsed.
async fn receive(sink: &mut Sink, receiver: &Receiver, expected: EventKind) -> WebhookEvent {
    let delivery = sink.next().await;
    assert_eq!(
        delivery.headers["content-type"].to_str().unwrap(),
        webhook::CONTENT_TYPE
    );
    let authorization = delivery.headers["authorization"].to_str().unwrap();
    assert!(
        !authorization.starts_with("Bearer"),
        "LiveKit sends the bare JWT"
    );
    let event = receiver
        .receive(&delivery.headers, &delivery.body, Utc::now())
        .unwrap();
    assert_eq!(event.event, expected);
    assert!(event.id.starts_with("EV_"));
    assert!((event.created_at - Utc::now().timestamp()).abs() < 60);
    assert_eq!(event.room_name(), Some("call-20"));
    event
}

#[tokio::test]
async fn webhooks_sent_by_the_fake_verify_and_tell_the_call_story() {
    let fake = FakeLiveKit::start().await.unwrap();
    let mut sink = Sink::start().await;
    fake.set_webhook_url(&sink.url);
    let receiver = Receiver::new(KeySet::single(fake.credentials())).unwrap();
    let info = client(&fake)
        .create_sip_participant(&CreateSipParticipantRequest {
            sip_trunk_id: DEFAULT_TRUNK_ID.to_owned(),
            sip_call_to: "+15005550006".to_owned(),
            room_name: "call-20".to_owned(),
            participant_identity: "pstn-20".to_owned(),
            ..CreateSipParticipantRequest::default()
        })
        .await
        .unwrap();

    let sent = fake
        .sip_participant_joined("call-20", "pstn-20", SipCallStatus::Ringing)
        .await
        .unwrap();
    assert_eq!(sent.status, Some(200));
    let ringing = receive(&mut sink, &receiver, EventKind::ParticipantJoined).await;
    let sip = ringing.sip_participant().unwrap().sip().unwrap();
    assert_eq!(sip.call_status, Some(SipCallStatus::Ringing));
    assert_eq!(sip.call_id.as_deref(), Some(info.sip_call_id.as_str()));
    assert_eq!(sip.phone_number.as_deref(), Some("+15005550006"));

    fake.answer_call("call-20", "pstn-20").await.unwrap();
    let answered = receive(&mut sink, &receiver, EventKind::ParticipantJoined).await;
    let participant = answered.sip_participant().unwrap();
    assert_eq!(participant.state, ParticipantState::Active);
    assert_eq!(
        participant.sip().unwrap().call_status,
        Some(SipCallStatus::Active)
    );
    assert_ne!(answered.id, ringing.id, "each event has its own id");

    fake.hang_up("call-20", "pstn-20", DisconnectReason::ClientInitiated)
        .await
        .unwrap();
    let left = receive(&mut sink, &receiver, EventKind::ParticipantLeft).await;
    let participant = left.sip_participant().unwrap();
    assert_eq!(
        participant.disconnect_reason,
        DisconnectReason::ClientInitiated
    );
    assert_eq!(
        participant.sip().unwrap().call_status,
        Some(SipCallStatus::Hangup)
    );
    assert!(fake.participants("call-20").is_empty());

    fake.finish_room("call-20").await.unwrap();
    let finished = receive(&mut sink, &receiver, EventKind::RoomFinished).await;
    assert!(finished.participant.is_none());
    assert!(fake.rooms().is_empty());
    assert_eq!(fake.webhooks().len(), 4);

    // A redelivered body verifies again (deduplication on `id` is the api's), but the same
    // token on another body does not.
    let sent = fake.webhooks();
    let first = &sent[0];
    let replay = headers(&first.authorization);
    assert!(receiver
        .verify(&replay, first.body.as_bytes(), Utc::now())
        .is_ok());
    assert_eq!(
        problem(receiver.verify(&replay, sent[1].body.as_bytes(), Utc::now())),
        SignatureProblem::BodyMismatch
    );
    // Five minutes and the leeway later, the delivery is stale.
    assert_eq!(
        problem(receiver.verify(
            &replay,
            first.body.as_bytes(),
            Utc::now() + Duration::seconds(300 + LEEWAY_SECS + 5)
        )),
        SignatureProblem::Expired
    );
}

#[tokio::test]
async fn deleting_a_room_sends_participant_left_then_room_finished_like_livekit() {
    let fake = FakeLiveKit::start().await.unwrap();
    let mut sink = Sink::start().await;
    fake.set_webhook_url(&sink.url);
    let lk = client(&fake);
    lk.create_sip_participant(&CreateSipParticipantRequest {
        sip_trunk_id: DEFAULT_TRUNK_ID.to_owned(),
        sip_call_to: "+15005550006".to_owned(),
        room_name: "call-21".to_owned(),
        participant_identity: "pstn-21".to_owned(),
        ..CreateSipParticipantRequest::default()
    })
    .await
    .unwrap();
    lk.delete_room("call-21").await.unwrap();
    let receiver = Receiver::new(KeySet::single(fake.credentials())).unwrap();
    let mut events = Vec::new();
    for _ in 0..2 {
        let delivery = sink.next().await;
        events.push(
            receiver
                .receive(&delivery.headers, &delivery.body, Utc::now())
                .unwrap(),
        );
    }
    assert_eq!(events[0].event, EventKind::ParticipantLeft);
    let leg = events[0].sip_participant().unwrap();
    assert_eq!(leg.identity, "pstn-21");
    assert_eq!(leg.disconnect_reason, DisconnectReason::RoomDeleted);
    assert_eq!(leg.disconnect_reason.sip_dial_failure(), None);
    assert_eq!(events[1].event, EventKind::RoomFinished);
    assert_eq!(events[1].room_name(), Some("call-21"));
    assert!(events.iter().all(|e| e.room_name() == Some("call-21")));
}

#[tokio::test]
async fn a_busy_callee_leaves_with_user_rejected() {
    let fake = FakeLiveKit::start().await.unwrap();
    let mut sink = Sink::start().await;
    fake.set_webhook_url(&sink.url);
    client(&fake)
        .create_sip_participant(&CreateSipParticipantRequest {
            sip_trunk_id: DEFAULT_TRUNK_ID.to_owned(),
            sip_call_to: "+15005550006".to_owned(),
            room_name: "call-22".to_owned(),
            ..CreateSipParticipantRequest::default()
        })
        .await
        .unwrap();
    // LiveKit's default identity for a dialled number.
    fake.hang_up(
        "call-22",
        "sip_+15005550006",
        DisconnectReason::UserRejected,
    )
    .await
    .unwrap();
    let delivery = sink.next().await;
    let event = Receiver::new(KeySet::single(fake.credentials()))
        .unwrap()
        .receive(&delivery.headers, &delivery.body, Utc::now())
        .unwrap();
    let reason = event.participant.unwrap().disconnect_reason;
    assert_eq!(reason, DisconnectReason::UserRejected);
    assert_eq!(
        reason.sip_dial_failure(),
        Some(leadline_livekit::SipDialFailure::Busy)
    );
    assert!(fake
        .hang_up("call-22", "nobody", DisconnectReason::UserRejected)
        .await
        .is_err());
}
