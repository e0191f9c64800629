//! EventSub webhooks: the shared vector, and deliveries signed by the fake's builders through
//! `verify_and_parse`, with the negative cases.

use chrono::{DateTime, Duration, Utc};
use leadline_twitch::fake::eventsub::{
    chat_message_notification, revocation, verification, ChatLine,
};
use leadline_twitch::webhook::{self, verify_and_parse};
use leadline_twitch::{Event, EventSubMessage, SignatureProblem, TwitchError};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Vector {
    secret: String,
    message_id: String,
    timestamp: String,
    raw_body: String,
    header: String,
    valid: bool,
}

/// The shared vectors; a missing or unreadable file fails the test, never skips it.
fn vectors() -> Vec<Vector> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/twitch_eventsub.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the shared Twitch EventSub vector must exist at {}: {e}",
            path.display()
        )
    });
    let vectors: Vec<Vector> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a vector list: {e}", path.display()));
    assert!(!vectors.is_empty(), "{} holds no vectors", path.display());
    vectors
}

fn headers(id: &str, ts: &str, sig: &str, kind: &str) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    map.insert(webhook::HEADER_MESSAGE_ID, id.parse().unwrap());
    map.insert(webhook::HEADER_MESSAGE_TIMESTAMP, ts.parse().unwrap());
    map.insert(webhook::HEADER_MESSAGE_SIGNATURE, sig.parse().unwrap());
    map.insert(webhook::HEADER_MESSAGE_TYPE, kind.parse().unwrap());
    map
}

fn at(ts: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(ts)
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn the_shared_vector_verifies_and_parses() {
    for vector in vectors() {
        let now = at(&vector.timestamp) + Duration::seconds(30);
        assert_eq!(
            webhook::sign(
                vector.secret.as_bytes(),
                &vector.message_id,
                &vector.timestamp,
                vector.raw_body.as_bytes()
            ) == vector.header,
            vector.valid,
            "sign() against {}",
            vector.message_id
        );
        let result = verify_and_parse(
            &headers(
                &vector.message_id,
                &vector.timestamp,
                &vector.header,
                "notification",
            ),
            vector.raw_body.as_bytes(),
            vector.secret.as_bytes(),
            now,
        );
        assert_eq!(
            result.is_ok(),
            vector.valid,
            "{}: {result:?}",
            vector.message_id
        );
        if let Ok((meta, message)) = result {
            assert_eq!(meta.message_id, vector.message_id);
            let EventSubMessage::Notification {
                event: Event::ChannelChatMessage(chat),
                ..
            } = message
            else {
                panic!("expected a channel.chat.message notification");
            };
            assert_eq!(chat.chatter_user_login, "viewer1");
            assert_eq!(chat.message.text, "link for the blue hoodie?");
        }
        // Negative cases derived from the vector.
        let tampered = vector.raw_body.replace("blue", "red");
        assert!(matches!(
            verify_and_parse(
                &headers(
                    &vector.message_id,
                    &vector.timestamp,
                    &vector.header,
                    "notification"
                ),
                tampered.as_bytes(),
                vector.secret.as_bytes(),
                now
            ),
            Err(TwitchError::SignatureInvalid(SignatureProblem::Mismatch))
        ));
        assert!(matches!(
            verify_and_parse(
                &headers(
                    &vector.message_id,
                    &vector.timestamp,
                    &vector.header,
                    "notification"
                ),
                vector.raw_body.as_bytes(),
                b"not_the_secret",
                now
            ),
            Err(TwitchError::SignatureInvalid(SignatureProblem::Mismatch))
        ));
    }
}

#[test]
fn a_fake_signed_chat_notification_verifies_and_parses() {
    let secret = "s3cr3t-for-eventsub";
    let sent_at = at("2024-02-24T17:17:50.123456789Z");
    let line = ChatLine {
        broadcaster_user_id: "141981764".into(),
        broadcaster_user_login: "twitchdev".into(),
        chatter_user_id: "129546453".into(),
        chatter_user_login: "nerixyz".into(),
        message_id: "9d0b2f7c".into(),
        text: "how much is shipping?".into(),
    };
    let delivery = chat_message_notification(secret, "befa7b53", sent_at, &line);
    let (meta, message) = verify_and_parse(
        &delivery.header_map(),
        &delivery.body,
        secret.as_bytes(),
        sent_at + Duration::seconds(2),
    )
    .unwrap();
    assert_eq!(meta.message_id, "befa7b53");
    assert_eq!(meta.timestamp, sent_at);
    assert_eq!(
        meta.subscription_type.as_deref(),
        Some("channel.chat.message")
    );
    let EventSubMessage::Notification {
        subscription,
        event: Event::ChannelChatMessage(chat),
    } = message
    else {
        panic!("expected a chat notification");
    };
    assert_eq!(subscription.status, "enabled");
    assert_eq!(chat.chatter_user_id, "129546453");
    assert_eq!(chat.message_id, "9d0b2f7c");
    assert_eq!(chat.message.text, "how much is shipping?");
    assert_eq!(chat.message.fragments[0].kind, "text");

    // Stale by more than 10 minutes, and from the future by more than 10 minutes.
    for now in [
        sent_at + Duration::minutes(10) + Duration::seconds(1),
        sent_at - Duration::minutes(11),
    ] {
        assert!(matches!(
            verify_and_parse(
                &delivery.header_map(),
                &delivery.body,
                secret.as_bytes(),
                now
            ),
            Err(TwitchError::SignatureInvalid(
                SignatureProblem::Stale { .. }
            ))
        ));
    }
    // Each required header missing.
    for name in [
        webhook::HEADER_MESSAGE_ID,
        webhook::HEADER_MESSAGE_TIMESTAMP,
        webhook::HEADER_MESSAGE_SIGNATURE,
        webhook::HEADER_MESSAGE_TYPE,
    ] {
        let mut map = delivery.header_map();
        map.remove(name);
        assert_eq!(
            verify_and_parse(&map, &delivery.body, secret.as_bytes(), sent_at).unwrap_err(),
            TwitchError::SignatureInvalid(SignatureProblem::MissingHeader(name))
        );
    }
}

#[test]
fn verification_challenges_and_revocations_are_recognised() {
    let secret = "another-secret-123";
    let now = at("2024-03-01T00:00:00Z");
    let challenge = verification(secret, "v-1", now, "pogchamp-kappa-360noscope-vohiyo");
    let (_, message) = verify_and_parse(
        &challenge.header_map(),
        &challenge.body,
        secret.as_bytes(),
        now,
    )
    .unwrap();
    assert!(matches!(
        message,
        EventSubMessage::Verification { challenge, subscription }
            if challenge == "pogchamp-kappa-360noscope-vohiyo"
                && subscription.status == "webhook_callback_verification_pending"
    ));
    let revoked = revocation(secret, "r-1", now, "authorization_revoked");
    let (meta, message) =
        verify_and_parse(&revoked.header_map(), &revoked.body, secret.as_bytes(), now).unwrap();
    assert_eq!(meta.message_type, "revocation");
    assert!(matches!(
        message,
        EventSubMessage::Revocation { subscription } if subscription.status == "authorization_revoked"
    ));
    // A delivery whose type header was swapped is still authentic but must parse by its type:
    // a verification body read as a notification has no event.
    let mut swapped = challenge.header_map();
    swapped.insert(
        webhook::HEADER_MESSAGE_TYPE,
        "notification".parse().unwrap(),
    );
    assert!(matches!(
        verify_and_parse(&swapped, &challenge.body, secret.as_bytes(), now),
        Err(TwitchError::Decode(_))
    ));
}
