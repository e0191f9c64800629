//! Properties, 10,000 cases each: arbitrary headers and bodies never verify and never panic; a
//! correct signature always verifies and any change to the body, time or secret does not; no
//! frame text makes the parsers panic.

use leadline_elevenlabs::webhook::signature_header;
use leadline_elevenlabs::{ClientMessage, PostCallEvent, Receiver, ServerEvent};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 10_000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_headers_and_bodies_never_verify(
        header in ".{0,120}",
        t in any::<i64>(),
        v0 in "[0-9a-f]{0,70}",
        body in prop::collection::vec(any::<u8>(), 0..128),
        now in any::<i64>(),
    ) {
        let receiver = Receiver::new("wsec_prop").unwrap();
        prop_assert!(receiver.receive_signature(Some(&header), &body, now).is_err());
        let shaped = format!("t={t},v0={v0}");
        prop_assert!(receiver.receive_signature(Some(&shaped), &body, now).is_err());
        if let Ok(value) = http::HeaderValue::from_str(&header) {
            let mut headers = http::HeaderMap::new();
            headers.insert("elevenlabs-signature", value);
            prop_assert!(receiver.receive(&headers, &body, now).is_err());
        }
    }

    #[test]
    fn signed_bodies_verify_and_any_change_refuses(
        body in prop::collection::vec(any::<u8>(), 0..128),
        extra in any::<u8>(),
        age in 0i64..(30 * 60),
        t in 0i64..4_000_000_000,
    ) {
        let receiver = Receiver::new("wsec_prop").unwrap();
        let header = signature_header("wsec_prop", t, &body);
        let verified = receiver.verify(&header, &body, t + age);
        prop_assert!(verified.is_ok());
        let mut longer = body.clone();
        longer.push(extra);
        prop_assert!(receiver.verify(&header, &longer, t + age).is_err());
        prop_assert!(receiver.verify(&header, &body, t + 30 * 60 + 1).is_err());
        let other = Receiver::new("wsec_other").unwrap();
        prop_assert!(other.verify(&header, &body, t + age).is_err());
    }

    #[test]
    fn arbitrary_frames_never_panic(text in ".{0,200}", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = ServerEvent::parse(&text);
        let _ = ClientMessage::parse(&text);
        let _ = PostCallEvent::parse(text.as_bytes());
        let _ = PostCallEvent::parse(&bytes);
    }

    #[test]
    fn client_frames_round_trip(text in ".{0,60}", id in any::<u64>()) {
        for message in [
            ClientMessage::UserMessage { text: text.clone() },
            ClientMessage::ContextualUpdate { text: text.clone() },
            ClientMessage::Pong { event_id: id },
            ClientMessage::UserAudioChunk(text.clone()),
        ] {
            prop_assert_eq!(ClientMessage::parse(&message.to_json()), Ok(message));
        }
    }
}
