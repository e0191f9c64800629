//! Property tests (10,000 cases each) of the WhatsApp webhook: `verify` (through the shared
//! `X-Hub-Signature-256`) and `parse`. Nothing an attacker sends makes them panic, nothing
//! unsigned or mutated verifies, everything signed does. Bodies are raw random bytes and
//! structure-aware `whatsapp_business_account` notifications with random, sometimes mistyped,
//! fields.

use http::{HeaderMap, HeaderValue};
use leadline_meta::signature::{sign_hub_signature_256, HEADER};
use leadline_whatsapp::webhook::{self, InboundEvent, OBJECT};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

const CASES: u32 = 10_000;

fn headers(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
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

fn list(item: BoxedStrategy<Value>, max: usize) -> BoxedStrategy<Value> {
    typed(prop::collection::vec(item, 0..max).prop_map(Value::Array))
}

fn platform_error() -> BoxedStrategy<Value> {
    fields(vec![
        ("code", int()),
        ("title", text(".{0,8}")),
        ("message", text(".{0,8}")),
        ("error_data", fields(vec![("details", text(".{0,8}"))])),
    ])
}

fn media() -> BoxedStrategy<Value> {
    fields(vec![
        ("id", text("[0-9]{1,8}")),
        ("mime_type", text("[a-z]{1,5}/[a-z]{1,5}")),
        ("sha256", text("[a-f0-9]{0,8}")),
        ("caption", text(".{0,12}")),
        ("filename", text(".{0,8}")),
    ])
}

fn message() -> BoxedStrategy<Value> {
    fields(vec![
        ("from", text("[0-9]{0,16}")),
        ("id", text("wamid\\.[A-Za-z0-9]{0,8}")),
        (
            "timestamp",
            typed(prop_oneof![
                any::<i64>().prop_map(|t| Value::String(t.to_string())),
                any::<i64>().prop_map(Value::from),
            ]),
        ),
        (
            "type",
            one_of(&[
                "text",
                "image",
                "audio",
                "video",
                "document",
                "sticker",
                "location",
                "contacts",
                "interactive",
                "button",
                "reaction",
                "unsupported",
                "order",
            ]),
        ),
        ("text", fields(vec![("body", text(".{0,24}"))])),
        ("image", media()),
        ("audio", media()),
        ("document", media()),
        (
            "location",
            fields(vec![
                (
                    "latitude",
                    typed(any::<f64>().prop_filter_map("finite", |f| {
                        serde_json::Number::from_f64(f).map(Value::Number)
                    })),
                ),
                ("longitude", int()),
                ("name", text(".{0,8}")),
                ("address", text(".{0,8}")),
            ]),
        ),
        ("contacts", any_json()),
        (
            "interactive",
            fields(vec![
                ("type", one_of(&["button_reply", "list_reply", "nfm_reply"])),
                (
                    "button_reply",
                    fields(vec![("id", text(".{0,6}")), ("title", text(".{0,12}"))]),
                ),
                (
                    "list_reply",
                    fields(vec![
                        ("id", text(".{0,6}")),
                        ("title", text(".{0,12}")),
                        ("description", text(".{0,12}")),
                    ]),
                ),
            ]),
        ),
        (
            "button",
            fields(vec![("payload", text(".{0,8}")), ("text", text(".{0,8}"))]),
        ),
        (
            "reaction",
            fields(vec![
                ("message_id", text(".{0,8}")),
                ("emoji", text(".{0,2}")),
            ]),
        ),
        ("context", fields(vec![("id", text(".{0,8}"))])),
        ("errors", list(platform_error(), 2)),
    ])
}

fn status() -> BoxedStrategy<Value> {
    fields(vec![
        ("id", text("wamid\\.[A-Za-z0-9]{0,8}")),
        ("recipient_id", text("[0-9]{0,16}")),
        (
            "status",
            one_of(&["sent", "delivered", "read", "failed", "deleted"]),
        ),
        (
            "timestamp",
            typed(any::<i64>().prop_map(|t| Value::String(t.to_string()))),
        ),
        ("conversation", fields(vec![("id", text(".{0,8}"))])),
        ("pricing", fields(vec![("category", text("[a-z]{0,10}"))])),
        ("errors", list(platform_error(), 2)),
    ])
}

fn notification() -> BoxedStrategy<Value> {
    let value = fields(vec![
        ("messaging_product", text("whatsapp")),
        (
            "metadata",
            fields(vec![
                ("phone_number_id", text("[0-9]{0,12}")),
                ("display_phone_number", text("[0-9 +]{0,16}")),
            ]),
        ),
        (
            "contacts",
            list(
                fields(vec![
                    ("wa_id", text("[0-9]{0,16}")),
                    ("profile", fields(vec![("name", text(".{0,12}"))])),
                ]),
                2,
            ),
        ),
        ("messages", list(message(), 3)),
        ("statuses", list(status(), 2)),
        ("errors", list(platform_error(), 2)),
    ]);
    let change = fields(vec![
        (
            "field",
            one_of(&["messages", "message_template_status_update"]),
        ),
        ("value", value),
    ]);
    let entry = fields(vec![
        ("id", text("[0-9]{0,12}")),
        ("changes", list(change, 3)),
    ]);
    fields(vec![
        (
            "object",
            one_of(&[OBJECT, OBJECT, OBJECT, "page", "instagram"]),
        ),
        ("entry", list(entry, 3)),
    ])
}

/// Raw random bytes or a serialised notification.
fn body() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        notification().prop_map(|n| n.to_string().into_bytes()),
    ]
    .boxed()
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
    fn parse_reads_only_whatsapp_notifications_and_keeps_ids(notification in notification()) {
        let raw = notification.to_string();
        if let Ok(events) = webhook::parse(raw.as_bytes()) {
            prop_assert_eq!(notification["object"].as_str(), Some(OBJECT));
            for event in events {
                if let InboundEvent::Message(message) = event {
                    // Decoding requires both: without them there is nothing to dedup on.
                    let _ = (message.text(), &message.from, &message.message_id);
                }
            }
        }
    }

    #[test]
    fn a_correctly_signed_body_always_verifies(secret in secret(), raw in body()) {
        let signature = sign_hub_signature_256(&secret, &raw);
        prop_assert!(webhook::verify(&headers(&signature), &raw, &[&secret]).is_ok());
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
        prop_assert!(webhook::verify(&headers(&signature), &tampered, &[&secret]).is_err());
    }

    #[test]
    fn flipping_any_byte_of_the_signature_is_rejected(
        secret in secret(),
        raw in body(),
        at in any::<Index>(),
        mask in 1u8..,
    ) {
        let signature = sign_hub_signature_256(&secret, &raw);
        let mut bytes = signature.clone().into_bytes();
        let j = at.index(bytes.len());
        bytes[j] ^= mask;
        // A hex letter changing case is the same digest; any other change must be refused.
        let same_digest = j >= 7 && bytes[j].eq_ignore_ascii_case(&signature.as_bytes()[j]);
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            if !same_digest {
                let mut map = HeaderMap::new();
                map.insert(HEADER, value);
                prop_assert!(webhook::verify(&map, &raw, &[&secret]).is_err());
            }
        }
    }

    #[test]
    fn arbitrary_headers_never_verify(
        secret in secret(),
        raw in body(),
        name in prop_oneof![Just(HEADER), Just("x-hub-signature"), Just("x-signature")],
        value in prop_oneof![".{0,80}", "sha256=[0-9a-fA-F]{64}"],
    ) {
        let mut map = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(name, value);
        }
        prop_assert!(webhook::verify(&map, &raw, &[&secret]).is_err());
        // A signature made with another secret, or no secret at all, is refused as well.
        let forged = sign_hub_signature_256(&format!("{secret}x"), &raw);
        prop_assert!(webhook::verify(&headers(&forged), &raw, &[&secret]).is_err());
        prop_assert!(webhook::verify(&headers(&forged), &raw, &[""]).is_err());
    }
}
