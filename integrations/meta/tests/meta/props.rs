//! Property tests (10,000 cases each) of `X-Hub-Signature-256` and the Messenger/Instagram
//! webhook parser: nothing an attacker sends makes them panic, nothing unsigned or mutated
//! verifies, and everything Graph signs does. Bodies are both raw random bytes and structure-aware
//! notifications (the documented envelope with random, sometimes mistyped, fields).

use http::{HeaderMap, HeaderValue};
use leadline_meta::signature::{
    sign_hub_signature_256, verify_hub_signature_256, verify_hub_signature_value, HEADER,
};
use leadline_meta::webhook::{self, EventKind};
use leadline_meta::{Channel, SignatureError};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{json, Map, Value};

const CASES: u32 = 10_000;
/// `sha256=`: where the hex digest starts in the header value.
const DIGEST_START: usize = 7;

fn headers(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
    headers
}

/// A JSON value of any shape (what a mistyped field may hold).
fn any_json() -> impl Strategy<Value = Value> {
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
}

/// Usually a value of the documented type, sometimes anything.
fn typed(strategy: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![9 => strategy, 1 => any_json()].boxed()
}

fn text() -> BoxedStrategy<Value> {
    typed(".{0,24}".prop_map(Value::String))
}

/// An object with each present key (absent ones are left out, as Graph does).
fn object(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let map: Map<String, Value> = pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v?)))
        .collect();
    Value::Object(map)
}

fn party() -> impl Strategy<Value = Value> {
    typed(prop_oneof![
        "[0-9]{1,16}".prop_map(|id| json!({ "id": id })),
        any::<u64>().prop_map(|id| json!({ "id": id })),
    ])
}

fn message() -> impl Strategy<Value = Value> {
    let attachment = (
        typed(
            prop_oneof![
                Just("image"),
                Just("video"),
                Just("audio"),
                Just("file"),
                Just("fallback"),
                Just("story_mention"),
                Just("hologram"),
            ]
            .prop_map(Value::from),
        ),
        prop::option::of(typed(".{0,24}".prop_map(|url| json!({ "url": url })))),
    )
        .prop_map(|(kind, payload)| object(vec![("type", Some(kind)), ("payload", payload)]));
    (
        prop::option::of(text()),
        prop::option::of(text()),
        prop::option::of(typed(any::<bool>().prop_map(Value::Bool))),
        prop::option::of(typed(any::<bool>().prop_map(Value::Bool))),
        prop::option::of(text()),
        prop::option::of(typed(".{0,8}".prop_map(|p| json!({ "payload": p })))),
        prop::option::of(typed(".{0,8}".prop_map(|m| json!({ "mid": m })))),
        prop::option::of(typed(
            prop::collection::vec(attachment, 0..3).prop_map(Value::Array),
        )),
    )
        .prop_map(
            |(mid, text, is_echo, is_deleted, app_id, quick_reply, reply_to, attachments)| {
                object(vec![
                    ("mid", mid),
                    ("text", text),
                    ("is_echo", is_echo),
                    ("is_deleted", is_deleted),
                    ("app_id", app_id),
                    ("quick_reply", quick_reply),
                    ("reply_to", reply_to),
                    ("attachments", attachments),
                ])
            },
        )
}

/// One `messaging[]` / `standby[]` item: any subset of the documented event keys.
fn messaging_item() -> impl Strategy<Value = Value> {
    let mids = typed(prop::collection::vec(".{0,8}", 0..3).prop_map(|m| json!(m)));
    (
        prop::option::of(party()),
        prop::option::of(party()),
        prop::option::of(typed(any::<i64>().prop_map(Value::from))),
        prop::option::of(message()),
        prop::option::of(typed(
            (".{0,8}", ".{0,8}").prop_map(|(t, p)| json!({ "title": t, "payload": p })),
        )),
        prop::option::of(typed(
            (
                prop_oneof![Just("react"), Just("unreact"), Just("wave")],
                ".{0,4}",
            )
                .prop_map(|(a, e)| json!({ "action": a, "emoji": e, "mid": "m" })),
        )),
        prop::option::of(typed(any::<i64>().prop_map(|w| json!({ "watermark": w })))),
        prop::option::of(
            (mids, any::<i64>()).prop_map(|(m, w)| json!({ "mids": m, "watermark": w })),
        ),
        prop::option::of(any_json()),
    )
        .prop_map(
            |(sender, recipient, timestamp, message, postback, reaction, read, delivery, extra)| {
                object(vec![
                    ("sender", sender),
                    ("recipient", recipient),
                    ("timestamp", timestamp),
                    ("message", message),
                    ("postback", postback),
                    ("reaction", reaction),
                    ("read", read),
                    ("delivery", delivery),
                    ("surprise", extra),
                ])
            },
        )
}

/// A whole notification: `object` (usually one we serve), `entry[]` with ids, messaging and
/// standby items.
fn notification() -> impl Strategy<Value = Value> {
    let entry = (
        typed(prop_oneof![
            "[0-9]{1,16}".prop_map(Value::String),
            any::<u64>().prop_map(Value::from),
        ]),
        prop::option::of(typed(any::<i64>().prop_map(Value::from))),
        prop::option::of(typed(
            prop::collection::vec(messaging_item(), 0..3).prop_map(Value::Array),
        )),
        prop::option::of(typed(
            prop::collection::vec(messaging_item(), 0..2).prop_map(Value::Array),
        )),
    )
        .prop_map(|(id, time, messaging, standby)| {
            object(vec![
                ("id", Some(id)),
                ("time", time),
                ("messaging", messaging),
                ("standby", standby),
            ])
        });
    (
        typed(
            prop_oneof![Just("page"), Just("instagram"), Just("user"), Just("")]
                .prop_map(Value::from),
        ),
        prop::option::of(typed(
            prop::collection::vec(entry, 0..3).prop_map(Value::Array),
        )),
    )
        .prop_map(|(object_name, entry)| {
            object(vec![("object", Some(object_name)), ("entry", entry)])
        })
}

/// Raw random bytes or a serialised notification.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        notification().prop_map(|n| n.to_string().into_bytes()),
    ]
}

/// A Meta app secret: printable ASCII, never empty.
fn secret() -> impl Strategy<Value = String> {
    "[!-~]{1,48}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn parse_never_panics_on_random_bytes(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = webhook::parse(&raw);
    }

    #[test]
    fn parse_keeps_every_event_on_the_notifications_channel(notification in notification()) {
        let raw = notification.to_string();
        if let Ok(events) = webhook::parse(raw.as_bytes()) {
            let channel = match notification["object"].as_str() {
                Some("page") => Channel::Messenger,
                Some("instagram") => Channel::Instagram,
                other => panic!("object {other:?} parsed as a notification"),
            };
            for event in events {
                prop_assert_eq!(event.channel, channel);
                if let EventKind::Message(message) = &event.kind {
                    prop_assert!(!message.mid.is_empty(), "a message without mid was kept");
                }
            }
        }
    }

    #[test]
    fn a_correctly_signed_body_always_verifies(secret in secret(), other in secret(), raw in body()) {
        let signature = sign_hub_signature_256(&secret, &raw);
        prop_assert_eq!(verify_hub_signature_256(&headers(&signature), &raw, &[&secret]), Ok(()));
        prop_assert_eq!(webhook::verify(&headers(&signature), &raw, &[&other, &secret]).ok(), Some(()));
        let _ = webhook::parse(&raw);
    }

    #[test]
    fn flipping_any_byte_of_a_signed_body_is_rejected(
        secret in secret(),
        raw in body().prop_filter("non-empty", |b| !b.is_empty()),
        at in any::<Index>(),
        mask in 1u8..,
    ) {
        let signature = sign_hub_signature_256(&secret, &raw);
        let mut tampered = raw.clone();
        tampered[at.index(raw.len())] ^= mask;
        prop_assert_eq!(
            verify_hub_signature_256(&headers(&signature), &tampered, &[&secret]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn flipping_any_byte_of_the_signature_is_rejected(
        secret in secret(),
        raw in body(),
        at in any::<Index>(),
        mask in 1u8..,
    ) {
        let signature = sign_hub_signature_256(&secret, &raw);
        // The digest itself: any changed bit is a mismatch.
        let mut digest = hex::decode(&signature[DIGEST_START..]).unwrap();
        let i = at.index(digest.len());
        digest[i] ^= mask;
        let forged = format!("sha256={}", hex::encode(&digest));
        prop_assert_eq!(
            verify_hub_signature_value(&forged, &raw, &[&secret]),
            Err(SignatureError::Mismatch)
        );
        // The header text: any changed byte is refused, except a hex letter changing case
        // (the same digest, which Graph may send either way).
        let mut bytes = signature.clone().into_bytes();
        let j = at.index(bytes.len());
        bytes[j] ^= mask;
        let same_digest = j >= DIGEST_START && bytes[j].eq_ignore_ascii_case(&signature.as_bytes()[j]);
        if let Ok(text) = String::from_utf8(bytes) {
            if !same_digest {
                prop_assert!(verify_hub_signature_value(&text, &raw, &[&secret]).is_err(), "{text:?}");
            }
        }
    }

    #[test]
    fn arbitrary_signature_headers_never_verify(
        secret in secret(),
        raw in body(),
        value in prop_oneof![
            ".{0,80}",
            "sha256=[0-9a-fA-F]{64}",
            "[ \t]*sha256=[0-9a-f]{0,70}[ \t]*",
        ],
    ) {
        prop_assert!(verify_hub_signature_value(&value, &raw, &[&secret]).is_err());
        if let Ok(header) = HeaderValue::from_str(&value) {
            let mut map = HeaderMap::new();
            map.insert(HEADER, header);
            prop_assert!(webhook::verify(&map, &raw, &[&secret]).is_err());
        }
    }

    #[test]
    fn another_secrets_signature_never_verifies(
        secret in secret(),
        other in secret(),
        raw in body(),
    ) {
        prop_assume!(secret != other);
        let signature = sign_hub_signature_256(&other, &raw);
        prop_assert_eq!(
            verify_hub_signature_value(&signature, &raw, &[&secret]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn without_a_secret_nothing_verifies(raw in body(), secret in secret()) {
        let signature = sign_hub_signature_256(&secret, &raw);
        prop_assert_eq!(
            verify_hub_signature_value(&signature, &raw, &[]),
            Err(SignatureError::NoSecret)
        );
        prop_assert_eq!(
            verify_hub_signature_256(&headers(&signature), &raw, &["", ""]),
            Err(SignatureError::NoSecret)
        );
        // The empty secret is ignored, never used to sign-check.
        let unsigned = sign_hub_signature_256("", &raw);
        prop_assert!(verify_hub_signature_value(&unsigned, &raw, &[""]).is_err());
    }
}
