//! Property tests (10,000 cases each) of TikTok's webhook checks and parsers: the current
//! `TikTok-Signature` scheme (with its replay window), the opt-in legacy `X-Tiktok-Signature`
//! scheme, the DM webhook parser, the LIVE webhook parser, LIVE comments from the wrapper and the
//! `challenge`/`verify_token` handshake. Nothing an attacker sends makes them panic, nothing
//! unsigned, mutated, stale or signed with another secret verifies, and everything correctly
//! signed now does. Bodies are raw random bytes and structure-aware events with random, sometimes
//! mistyped, fields (`content` as a JSON string or an object).

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use leadline_tiktok::live::{self, LiveComment, LiveEvent};
use leadline_tiktok::signature::{
    self, sign, sign_legacy, verify_legacy, verify_signature_header, Scheme, VerifyOptions,
    DEFAULT_TOLERANCE, HEADER, LEGACY_HEADER, LEGACY_TIMESTAMP_HEADER,
};
use leadline_tiktok::webhook::{self, verification_challenge, InboundEvent};
use leadline_tiktok::SignatureError;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

const CASES: u32 = 10_000;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(CASES)
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn current(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
    headers
}

fn legacy_opt_in() -> VerifyOptions {
    VerifyOptions {
        allow_legacy: true,
        ..VerifyOptions::default()
    }
}

/// A JSON value of any shape (what a mistyped field may hold).
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Usually a value of the documented type, sometimes anything.
fn typed(strategy: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![9 => strategy, 1 => any_json()].boxed()
}

fn text(pattern: &'static str) -> BoxedStrategy<Value> {
    typed(pattern.prop_map(Value::String))
}

fn int() -> BoxedStrategy<Value> {
    typed(any::<i64>().prop_map(Value::from))
}

fn one_of(values: &'static [&'static str]) -> BoxedStrategy<Value> {
    typed(prop::sample::select(values).prop_map(Value::from))
}

/// An object whose documented keys are each present or not.
fn fields(pairs: Vec<(&'static str, BoxedStrategy<Value>)>) -> BoxedStrategy<Value> {
    pairs
        .into_iter()
        .map(|(key, value)| prop::option::weighted(0.8, value.prop_map(move |v| (key, v))))
        .collect::<Vec<_>>()
        .prop_map(|pairs| {
            Value::Object(
                pairs
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect(),
            )
        })
        .boxed()
}

/// `content`: the documented string of serialised JSON, or (seed 001) the object itself.
fn content(inner: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
    prop_oneof![
        inner.clone().prop_map(|v| Value::String(v.to_string())),
        inner,
        ".{0,16}".prop_map(Value::String),
    ]
    .boxed()
}

fn dm_content() -> BoxedStrategy<Value> {
    fields(vec![
        ("message_id", text("[a-z0-9]{0,10}")),
        ("open_id", text("[a-z0-9.]{0,10}")),
        ("conversation_id", text("[a-z0-9]{0,8}")),
        (
            "message_type",
            one_of(&["text", "TEXT", "image", "share_post", "sticker"]),
        ),
        ("text", text(".{0,24}")),
        (
            "message_content",
            fields(vec![
                ("text", text(".{0,24}")),
                ("image_url", text(".{0,12}")),
                ("media_id", text(".{0,8}")),
                ("share_url", text(".{0,12}")),
            ]),
        ),
    ])
}

fn live_user() -> BoxedStrategy<Value> {
    fields(vec![
        ("user_id", text("[0-9 ]{0,10}")),
        ("unique_id", text("[a-z_]{0,10}")),
        ("nickname", text(".{0,10}")),
        ("is_follower", typed(any::<bool>().prop_map(Value::Bool))),
    ])
}

fn live_comment() -> BoxedStrategy<Value> {
    fields(vec![
        ("room_id", text("[0-9 ]{0,10}")),
        ("comment_id", text("[a-z0-9 ]{0,10}")),
        ("create_time", int()),
        ("text", text(".{0,24}")),
        ("user", live_user()),
    ])
}

/// One TikTok for Developers webhook event of any kind we read (or not).
fn event() -> BoxedStrategy<Value> {
    let any_content = prop_oneof![
        dm_content(),
        live_comment(),
        fields(vec![("reason", int()), ("room_id", text("[0-9]{0,8}"))]),
        any_json(),
    ]
    .boxed();
    fields(vec![
        ("client_key", text("[a-z0-9]{0,12}")),
        (
            "event",
            one_of(&[
                webhook::EVENT_DIRECT_MESSAGE,
                webhook::EVENT_AUTHORIZATION_REMOVED,
                live::EVENT_LIVE_COMMENT,
                live::EVENT_LIVE_END,
                "video.publish.complete",
            ]),
        ),
        ("create_time", int()),
        ("user_openid", text("[a-z0-9.]{0,12}")),
        ("content", content(any_content)),
    ])
}

/// Raw random bytes or a serialised event.
fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        event().prop_map(|e| e.to_string().into_bytes()),
    ]
    .boxed()
}

/// A client secret: printable ASCII, never empty.
fn secret() -> impl Strategy<Value = String> {
    "[!-~]{1,48}"
}

/// A plausible clock (2001–2100), in unix seconds.
fn now_secs() -> impl Strategy<Value = i64> {
    1_000_000_000i64..4_100_000_000
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn dm_parse_never_panics_and_keeps_ids(raw in body()) {
        if let Ok(events) = webhook::parse(&raw) {
            prop_assert_eq!(events.len(), 1);
            if let InboundEvent::DirectMessage(dm) = &events[0] {
                prop_assert!(!dm.message_id.is_empty() && !dm.sender_open_id.is_empty());
            }
        }
    }

    #[test]
    fn live_parse_never_panics_and_keeps_ids(raw in body()) {
        if let Ok(events) = live::parse_live_webhook(&raw) {
            for event in events {
                match event {
                    LiveEvent::Comment { room_id, comment } => {
                        prop_assert!(!room_id.trim().is_empty());
                        prop_assert!(!comment.comment_id.trim().is_empty());
                        prop_assert!(!comment.user.user_id.trim().is_empty());
                    }
                    LiveEvent::End { room_id, .. } => prop_assert!(!room_id.trim().is_empty()),
                    LiveEvent::Other { .. } => {}
                }
            }
        }
    }

    #[test]
    fn wrapper_comments_never_panic(comment in prop_oneof![live_comment(), any_json()]) {
        if let Ok(comment) = LiveComment::from_wire(comment) {
            prop_assert!(!comment.comment_id.trim().is_empty());
        }
    }

    #[test]
    fn a_correctly_signed_body_verifies_within_the_window(
        secret in secret(),
        other in secret(),
        raw in body(),
        now in now_secs(),
        skew in -300i64..=300,
    ) {
        let headers = current(&sign(&secret, now + skew, &raw));
        let verified = signature::verify(&headers, &raw, &[&other, &secret], at(now), &VerifyOptions::default());
        prop_assert_eq!(verified, Ok(Scheme::Current));
        // Through the webhook module too, and the LIVE entry point, which verifies first.
        prop_assert!(webhook::verify(&headers, &raw, &[&secret], at(now), &legacy_opt_in()).is_ok());
        let live = live::verify_and_parse_live_webhook(&headers, &raw, &[&secret], at(now), &VerifyOptions::default());
        prop_assert!(!matches!(live, Err(leadline_tiktok::Error::SignatureInvalid(_))), "{live:?}");
    }

    #[test]
    fn a_signature_outside_the_window_is_stale(
        secret in secret(),
        raw in body(),
        now in now_secs(),
        skew in prop_oneof![-100_000i64..-300, 301i64..100_000],
    ) {
        let value = sign(&secret, now + skew, &raw);
        prop_assert_eq!(
            verify_signature_header(&value, &raw, &[&secret], at(now), DEFAULT_TOLERANCE),
            Err(SignatureError::Stale { timestamp: now + skew, now })
        );
    }

    #[test]
    fn flipping_any_byte_of_a_signed_body_is_rejected(
        secret in secret(),
        raw in body().prop_filter("non-empty", |b| !b.is_empty()),
        now in now_secs(),
        at_byte in any::<Index>(),
        mask in 1u8..,
    ) {
        let mut tampered = raw.clone();
        tampered[at_byte.index(raw.len())] ^= mask;
        let value = sign(&secret, now, &raw);
        prop_assert_eq!(
            verify_signature_header(&value, &tampered, &[&secret], at(now), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        let timestamp = now.to_string();
        let legacy = sign_legacy(&secret, &timestamp, &raw);
        prop_assert_eq!(
            verify_legacy(&legacy, &timestamp, &tampered, &[&secret]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn flipping_any_byte_of_the_signature_is_rejected(
        secret in secret(),
        raw in body(),
        now in now_secs(),
        at_byte in any::<Index>(),
        mask in 1u8..,
    ) {
        let value = sign(&secret, now, &raw);
        let digest_start = value.len() - 64;
        let mut bytes = value.clone().into_bytes();
        let j = at_byte.index(bytes.len());
        bytes[j] ^= mask;
        // A hex letter changing case is the same digest; any other change must be refused
        // (a changed `t` changes the signed bytes, a changed key or separator is malformed).
        let same_digest = j >= digest_start && bytes[j].eq_ignore_ascii_case(&value.as_bytes()[j]);
        if let Ok(text) = String::from_utf8(bytes) {
            if !same_digest {
                let verified = verify_signature_header(&text, &raw, &[&secret], at(now), DEFAULT_TOLERANCE);
                prop_assert!(verified.is_err(), "{text:?} verified");
            }
        }
        let timestamp = now.to_string();
        let legacy = sign_legacy(&secret, &timestamp, &raw);
        let mut bytes = legacy.clone().into_bytes();
        let j = at_byte.index(bytes.len());
        bytes[j] ^= mask;
        if let Ok(text) = String::from_utf8(bytes) {
            if !text.eq_ignore_ascii_case(&legacy) {
                prop_assert!(verify_legacy(&text, &timestamp, &raw, &[&secret]).is_err(), "{text:?}");
            }
        }
    }

    #[test]
    fn the_legacy_scheme_verifies_only_when_the_connection_opted_in(
        secret in secret(),
        raw in body(),
        now in now_secs(),
        with_timestamp_header in any::<bool>(),
    ) {
        let timestamp = now.to_string();
        let mut headers = HeaderMap::new();
        headers.insert(LEGACY_HEADER, HeaderValue::from_str(&sign_legacy(&secret, &timestamp, &raw)).unwrap());
        if with_timestamp_header {
            headers.insert(LEGACY_TIMESTAMP_HEADER, HeaderValue::from_str(&timestamp).unwrap());
        }
        prop_assert_eq!(
            signature::verify(&headers, &raw, &[&secret], at(now), &VerifyOptions::default()),
            Err(SignatureError::MissingHeader(HEADER))
        );
        let opted_in = signature::verify(&headers, &raw, &[&secret], at(now), &legacy_opt_in());
        if with_timestamp_header {
            prop_assert_eq!(opted_in, Ok(Scheme::Legacy));
        } else {
            // Without the header, only a body whose `create_time` is that timestamp verifies.
            prop_assert!(opted_in.is_err());
        }
    }

    #[test]
    fn arbitrary_headers_never_verify(
        secret in secret(),
        raw in body(),
        now in now_secs(),
        name in prop_oneof![Just(HEADER), Just(LEGACY_HEADER), Just(LEGACY_TIMESTAMP_HEADER)],
        value in prop_oneof![
            ".{0,90}",
            "t=[0-9]{1,10},s=[0-9a-f]{64}",
            "[0-9a-fA-F]{64}",
            "t=[0-9]{1,10}(,s=[0-9a-f]{0,66}){0,3}(,[a-z]=.{0,4})?",
        ],
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
        prop_assert!(signature::verify(&headers, &raw, &[&secret], at(now), &legacy_opt_in()).is_err());
        prop_assert!(verify_legacy(&value, &now.to_string(), &raw, &[&secret]).is_err());
        // Signed with another secret, or checked with none.
        let forged = sign(&format!("{secret}x"), now, &raw);
        prop_assert_eq!(
            verify_signature_header(&forged, &raw, &[&secret], at(now), DEFAULT_TOLERANCE),
            Err(SignatureError::Mismatch)
        );
        prop_assert_eq!(
            verify_signature_header(&sign(&secret, now, &raw), &raw, &["", ""], at(now), Duration::from_secs(300)),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn the_handshake_answers_only_the_configured_token(
        challenge in prop::option::of(".{0,16}"),
        token in prop::option::of(".{0,16}"),
        expected in ".{0,16}",
    ) {
        let answer = verification_challenge(challenge.as_deref(), token.as_deref(), &expected);
        if let Some(answer) = answer {
            prop_assert!(!expected.is_empty());
            prop_assert_eq!(token.as_deref(), Some(expected.as_str()));
            prop_assert_eq!(Some(answer), challenge.as_deref());
        }
        if let Some(challenge) = challenge.as_deref().filter(|c| !c.is_empty()) {
            if !expected.is_empty() {
                prop_assert_eq!(
                    verification_challenge(Some(challenge), Some(&expected), &expected),
                    Some(challenge)
                );
            }
        }
    }
}
