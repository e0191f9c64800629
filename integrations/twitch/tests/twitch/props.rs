//! Property tests (10,000 cases each) of what Twitch sends us: EventSub webhook verification
//! (HMAC over id + timestamp + body, 10-minute window), the EventSub webhook and WebSocket
//! parsers, and the IRC line parser with its `PRIVMSG` reading. Nothing an attacker sends makes
//! them panic, nothing unsigned, mutated, stale or signed with another secret verifies, and every
//! delivery signed now does. Bodies are raw random bytes and structure-aware EventSub envelopes
//! with random, sometimes mistyped, fields.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use leadline_twitch::eventsub::{self, EventSubMessage};
use leadline_twitch::irc::{escape_tag_value, lines, unescape_tag_value};
use leadline_twitch::webhook::{
    self, HEADER_MESSAGE_ID, HEADER_MESSAGE_RETRY, HEADER_MESSAGE_SIGNATURE,
    HEADER_MESSAGE_TIMESTAMP, HEADER_MESSAGE_TYPE,
};
use leadline_twitch::{ChatMessage, IrcMessage, SignatureProblem, TwitchError};
use proptest::prelude::*;
use proptest::sample::Index;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

const CASES: u32 = 10_000;
/// `sha256=`: where the hex digest starts in the signature header.
const DIGEST_START: usize = 7;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(CASES)
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn rfc3339(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

fn delivery(id: &str, timestamp: &str, signature: &str, kind: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (HEADER_MESSAGE_ID, id),
        (HEADER_MESSAGE_TIMESTAMP, timestamp),
        (HEADER_MESSAGE_SIGNATURE, signature),
        (HEADER_MESSAGE_TYPE, kind),
        (HEADER_MESSAGE_RETRY, "0"),
    ] {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    headers
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

fn subscription() -> BoxedStrategy<Value> {
    fields(vec![
        ("id", text("[a-f0-9-]{0,12}")),
        (
            "status",
            one_of(&["enabled", "authorization_revoked", "user_removed"]),
        ),
        (
            "type",
            one_of(&[
                eventsub::CHANNEL_CHAT_MESSAGE,
                "channel.follow",
                "stream.online",
            ]),
        ),
        ("version", text("[0-9]")),
        ("condition", any_json()),
        ("transport", any_json()),
        ("created_at", text(".{0,12}")),
    ])
}

fn chat_event() -> BoxedStrategy<Value> {
    let fragment = fields(vec![
        ("type", one_of(&["text", "emote", "cheermote", "mention"])),
        ("text", text(".{0,12}")),
        ("emote", any_json()),
        ("mention", any_json()),
    ]);
    fields(vec![
        ("broadcaster_user_id", text("[0-9]{0,10}")),
        ("broadcaster_user_login", text("[a-z_]{0,10}")),
        ("chatter_user_id", text("[0-9]{0,10}")),
        ("chatter_user_login", text("[a-z_]{0,10}")),
        ("chatter_user_name", text(".{0,10}")),
        ("message_id", text("[a-f0-9-]{0,12}")),
        (
            "message",
            fields(vec![
                ("text", text(".{0,24}")),
                (
                    "fragments",
                    typed(prop::collection::vec(fragment, 0..3).prop_map(Value::Array)),
                ),
            ]),
        ),
        (
            "badges",
            typed(
                prop::collection::vec(
                    fields(vec![("set_id", text("[a-z]{0,10}")), ("id", text("[0-9]"))]),
                    0..3,
                )
                .prop_map(Value::Array),
            ),
        ),
        ("message_type", text("[a-z_]{0,10}")),
        ("cheer", any_json()),
        ("reply", any_json()),
    ])
}

/// A webhook body: subscription, and an event or a challenge.
fn envelope() -> BoxedStrategy<Value> {
    fields(vec![
        ("subscription", subscription()),
        ("event", prop_oneof![chat_event(), any_json()].boxed()),
        ("challenge", text(".{0,16}")),
    ])
}

/// A WebSocket frame: metadata and a payload of session, subscription and event.
fn ws_frame() -> BoxedStrategy<Value> {
    fields(vec![
        (
            "metadata",
            fields(vec![
                ("message_id", text(".{0,8}")),
                (
                    "message_type",
                    one_of(&[
                        "session_welcome",
                        "session_keepalive",
                        "session_reconnect",
                        "notification",
                        "revocation",
                        "party",
                    ]),
                ),
                ("message_timestamp", text(".{0,12}")),
            ]),
        ),
        (
            "payload",
            fields(vec![
                (
                    "session",
                    fields(vec![
                        ("id", text(".{0,8}")),
                        ("status", text("[a-z]{0,8}")),
                        (
                            "keepalive_timeout_seconds",
                            typed(any::<u64>().prop_map(Value::from)),
                        ),
                        ("reconnect_url", text(".{0,12}")),
                    ]),
                ),
                ("subscription", subscription()),
                ("event", prop_oneof![chat_event(), any_json()].boxed()),
            ]),
        ),
    ])
}

/// Raw random bytes or a serialised envelope.
fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        envelope().prop_map(|e| e.to_string().into_bytes()),
    ]
    .boxed()
}

/// An EventSub secret: 10–100 ASCII characters (Twitch's rule).
fn secret() -> impl Strategy<Value = String> {
    "[!-~]{10,100}"
}

fn message_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("notification".to_owned()),
        Just("webhook_callback_verification".to_owned()),
        Just("revocation".to_owned()),
        "[a-z_]{0,12}",
    ]
}

/// An IRC line: optional tags and prefix, a command, middle and trailing parameters — or noise.
fn irc_line() -> impl Strategy<Value = String> {
    let tag = ("[a-z-]{1,10}", prop::option::of(".{0,12}")).prop_map(|(k, v)| match v {
        Some(v) => format!("{k}={}", escape_tag_value(&v)),
        None => k,
    });
    let structured = (
        prop::option::of(prop::collection::vec(tag, 1..4)),
        prop::option::of("[a-z0-9_]{0,10}(![a-z]{0,6}@[a-z.]{0,10})?"),
        prop_oneof![
            Just("PRIVMSG".to_owned()),
            Just("PING".to_owned()),
            Just("USERNOTICE".to_owned()),
            "[0-9]{3}",
            "[A-Za-z0-9]{0,8}",
        ],
        prop::collection::vec("[#a-z0-9]{0,8}", 0..3),
        prop::option::of(".{0,24}"),
    )
        .prop_map(|(tags, prefix, command, middle, trailing)| {
            let mut line = String::new();
            if let Some(tags) = tags {
                line.push('@');
                line.push_str(&tags.join(";"));
                line.push(' ');
            }
            if let Some(prefix) = prefix {
                line.push(':');
                line.push_str(&prefix);
                line.push(' ');
            }
            line.push_str(&command);
            for param in middle {
                line.push(' ');
                line.push_str(&param);
            }
            if let Some(trailing) = trailing {
                line.push_str(" :");
                line.push_str(&trailing);
            }
            line.push_str("\r\n");
            line
        });
    prop_oneof![structured, ".{0,80}", "[@: a-zA-Z0-9;=\\\\\r\n]{0,40}"]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_correctly_signed_delivery_always_verifies(
        secret in secret(),
        id in "[!-~]{1,40}",
        raw in body(),
        kind in message_type(),
        now in 1_000_000_000i64..4_100_000_000,
        skew in -600i64..=600,
    ) {
        let timestamp = rfc3339(at(now + skew));
        let signature = webhook::sign(secret.as_bytes(), &id, &timestamp, &raw);
        let headers = delivery(&id, &timestamp, &signature, &kind);
        let meta = webhook::verify(&headers, &raw, secret.as_bytes(), at(now));
        prop_assert!(meta.is_ok(), "{meta:?}");
        let parsed = webhook::verify_and_parse(&headers, &raw, secret.as_bytes(), at(now));
        prop_assert!(!matches!(parsed, Err(TwitchError::SignatureInvalid(_))), "{parsed:?}");
    }

    #[test]
    fn a_delivery_outside_ten_minutes_is_stale(
        secret in secret(),
        raw in body(),
        now in 1_000_000_000i64..4_100_000_000,
        skew in prop_oneof![-100_000i64..-600, 601i64..100_000],
    ) {
        let timestamp = rfc3339(at(now + skew));
        let signature = webhook::sign(secret.as_bytes(), "id", &timestamp, &raw);
        let verified = webhook::verify(&delivery("id", &timestamp, &signature, "notification"), &raw, secret.as_bytes(), at(now));
        prop_assert!(
            matches!(verified, Err(TwitchError::SignatureInvalid(SignatureProblem::Stale { .. }))),
            "{verified:?}"
        );
        prop_assert!(webhook::check_timestamp(&timestamp, at(now) + Duration::seconds(skew)).is_ok());
    }

    #[test]
    fn flipping_any_byte_of_a_signed_body_or_its_headers_is_rejected(
        secret in secret(),
        raw in body().prop_filter("non-empty", |b| !b.is_empty()),
        now in 1_000_000_000i64..4_100_000_000,
        at_byte in any::<Index>(),
        mask in 1u8..,
    ) {
        let id = "7c1b7bd2-6fd6-4ef6-8f0c-03b3c3d13d44";
        let timestamp = rfc3339(at(now));
        let signature = webhook::sign(secret.as_bytes(), id, &timestamp, &raw);
        let mut tampered = raw.clone();
        tampered[at_byte.index(raw.len())] ^= mask;
        prop_assert_eq!(
            webhook::verify_signature(secret.as_bytes(), id, &timestamp, &tampered, &signature),
            Err(SignatureProblem::Mismatch)
        );
        // The id and the timestamp are signed too.
        let mut other_id = id.as_bytes().to_vec();
        other_id[at_byte.index(id.len())] ^= mask;
        if let Ok(other_id) = String::from_utf8(other_id) {
            prop_assert!(webhook::verify_signature(secret.as_bytes(), &other_id, &timestamp, &raw, &signature).is_err());
        }
    }

    #[test]
    fn flipping_any_byte_of_the_signature_is_rejected(
        secret in secret(),
        raw in body(),
        at_byte in any::<Index>(),
        mask in 1u8..,
    ) {
        let (id, timestamp) = ("id-1", "2021-02-19T23:47:00.8091512Z");
        let signature = webhook::sign(secret.as_bytes(), id, timestamp, &raw);
        let mut bytes = signature.clone().into_bytes();
        let j = at_byte.index(bytes.len());
        bytes[j] ^= mask;
        let same_digest = j >= DIGEST_START && bytes[j].eq_ignore_ascii_case(&signature.as_bytes()[j]);
        if let Ok(text) = String::from_utf8(bytes) {
            if !same_digest {
                prop_assert!(
                    webhook::verify_signature(secret.as_bytes(), id, timestamp, &raw, &text).is_err(),
                    "{text:?}"
                );
            }
        }
    }

    #[test]
    fn arbitrary_headers_never_verify(
        secret in secret(),
        raw in body(),
        now in 1_000_000_000i64..4_100_000_000,
        id in ".{0,40}",
        signature in prop_oneof![".{0,80}", "sha256=[0-9a-fA-F]{64}", "sha256=[0-9a-f]{0,70}"],
        missing in prop::option::of(0usize..4),
    ) {
        let timestamp = rfc3339(at(now));
        prop_assert!(webhook::verify_signature(secret.as_bytes(), &id, &timestamp, &raw, &signature).is_err());
        let mut headers = HeaderMap::new();
        for (i, (name, value)) in [
            (HEADER_MESSAGE_ID, id.as_str()),
            (HEADER_MESSAGE_TIMESTAMP, timestamp.as_str()),
            (HEADER_MESSAGE_SIGNATURE, signature.as_str()),
            (HEADER_MESSAGE_TYPE, "notification"),
        ]
        .into_iter()
        .enumerate()
        {
            if missing == Some(i) {
                continue;
            }
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
        prop_assert!(webhook::verify(&headers, &raw, secret.as_bytes(), at(now)).is_err());
        // Signed with another secret.
        let forged = webhook::sign(format!("{secret}x").as_bytes(), "id", &timestamp, &raw);
        prop_assert_eq!(
            webhook::verify_signature(secret.as_bytes(), "id", &timestamp, &raw, &forged),
            Err(SignatureProblem::Mismatch)
        );
    }

    #[test]
    fn webhook_bodies_parse_without_panicking(kind in message_type(), raw in body()) {
        match eventsub::parse_webhook(&kind, &raw) {
            Ok(EventSubMessage::Verification { challenge, .. }) => {
                prop_assert_eq!(kind.as_str(), "webhook_callback_verification");
                let _ = challenge;
            }
            Ok(EventSubMessage::Notification { .. }) => prop_assert_eq!(kind.as_str(), "notification"),
            Ok(EventSubMessage::Revocation { .. }) => prop_assert_eq!(kind.as_str(), "revocation"),
            Err(_) => {}
        }
    }

    #[test]
    fn websocket_frames_parse_without_panicking(
        frame in prop_oneof![ws_frame().prop_map(|f| f.to_string()), ".{0,200}"],
    ) {
        let _ = eventsub::parse_ws_frame(&frame);
    }

    #[test]
    fn irc_lines_parse_without_panicking(frame in irc_line()) {
        for line in lines(&frame) {
            if let Ok(message) = IrcMessage::parse(line) {
                prop_assert!(!message.command.is_empty());
                let _ = (message.nick(), message.trailing(), message.to_line());
                if let Some(chat) = ChatMessage::from_irc(&message) {
                    prop_assert_eq!(message.command.as_str(), "PRIVMSG");
                    let _ = chat;
                }
            }
        }
    }

    #[test]
    fn tag_values_survive_escaping(value in ".{0,40}", raw in ".{0,40}") {
        prop_assert_eq!(unescape_tag_value(&escape_tag_value(&value)), value);
        let _ = unescape_tag_value(&raw);
    }
}
