//! Properties of the webhook front door over 10,000 generated cases each: arbitrary
//! `Authorization` values and bodies never verify and never panic; the valid vector's token never
//! vouches for another body nor survives another signature; and bodies that are correctly
//! signed but arbitrary never panic the parser.

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use leadline_livekit::webhook::{self, Receiver};
use leadline_livekit::{ApiCredentials, Error, KeySet};
use proptest::prelude::*;
use serde_json::Value;

const KEY: &str = "APIkeyshared";
const SECRET: &str = "livekit_secret_shared";
/// The valid vector of `shared/vectors/livekit.json`, inlined so the generators can mutate it.
const VECTOR_BODY: &str = r#"{"event":"participant_left","room":{"name":"call-shared"},"participant":{"identity":"sip_+15005550006"},"createdAt":"1732350000"}"#;
const VECTOR_JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJBUElrZXlzaGFyZWQiLCJuYmYiOjE3MzIzNDk5OTAsImV4cCI6MTczMjM1MDYwMCwic2hhMjU2IjoiWmVhMFBWWFRWenZ3c2ZwamNUeldBcmdPOVM4NW1kZWI4RzdoTkxvUDBhST0ifQ.eDsxwTI6Dpd23HfACVQLKZ6zOygnCtv1tvD0XRbp6sM";
const VECTOR_NOW: i64 = 1_732_350_000;

fn receiver() -> Receiver {
    Receiver::new(KeySet::single(&ApiCredentials::new(KEY, SECRET).unwrap())).unwrap()
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(VECTOR_NOW, 0).unwrap()
}

/// Verifies through both doors (header map and raw value); both must refuse.
fn refused(receiver: &Receiver, authorization: &str, body: &[u8]) -> bool {
    let direct = receiver.verify_authorization(authorization, body, now());
    let through_headers = match HeaderValue::from_str(authorization) {
        Ok(value) => {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", value);
            receiver.receive(&headers, body, now()).map(|_| ())
        }
        Err(_) => Err(Error::Decode("not a header value".to_owned())),
    };
    matches!(direct, Err(Error::SignatureInvalid(_))) && through_headers.is_err()
}

fn authorization() -> impl Strategy<Value = String> {
    let [header, payload, _] = {
        let mut parts = VECTOR_JWT.split('.');
        [
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        ]
    };
    prop_oneof![
        // Anything at all.
        ".*",
        // JWT-shaped base64url noise.
        "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,120}\\.[A-Za-z0-9_-]{0,60}",
        // The vector's header and claims with a random signature.
        "[A-Za-z0-9_-]{43}".prop_map(move |sig| format!("{header}.{payload}.{sig}")),
        // The vector's header and signature with random claims.
        "[A-Za-z0-9_-]{10,200}".prop_map(move |claims| format!(
            "{header}.{claims}.{}",
            VECTOR_JWT.rsplit('.').next().unwrap_or_default()
        )),
        // Bearer-prefixed or padded forms of the real token.
        Just(format!("Bearer {VECTOR_JWT}")),
        Just(format!("{VECTOR_JWT}=")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            ".{0,12}",
            Just("SIP".to_owned()),
            Just("ACTIVE".to_owned()),
            Just("participant_joined".to_owned()),
            Just("1732350000".to_owned()),
            Just("99999999999999999999999".to_owned()),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("event".to_owned()),
            Just("id".to_owned()),
            Just("createdAt".to_owned()),
            Just("created_at".to_owned()),
            Just("room".to_owned()),
            Just("participant".to_owned()),
            Just("kind".to_owned()),
            Just("state".to_owned()),
            Just("attributes".to_owned()),
            Just("joinedAt".to_owned()),
            Just("disconnectReason".to_owned()),
            Just("numDropped".to_owned()),
            Just("creationTime".to_owned()),
            ".{0,6}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_authorizations_and_bodies_never_verify(
        authorization in authorization(),
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assert!(refused(&receiver(), &authorization, &body));
    }

    #[test]
    fn the_vector_token_never_vouches_for_another_body(
        body in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        prop_assume!(body != VECTOR_BODY.as_bytes());
        prop_assert!(refused(&receiver(), VECTOR_JWT, &body));
    }

    #[test]
    fn correctly_signed_arbitrary_bodies_never_panic_the_parser(
        value in json_value(),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        raw in any::<bool>(),
    ) {
        let body = if raw { bytes } else { value.to_string().into_bytes() };
        let credentials = ApiCredentials::new(KEY, SECRET).unwrap();
        let jwt = webhook::sign(&credentials, &body, now()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_str(&jwt).unwrap());
        match receiver().receive(&headers, &body, now()) {
            Ok(event) => prop_assert!(!event.event.as_str().is_empty()),
            Err(error) => prop_assert!(matches!(error, Error::Decode(_)), "{error:?}"),
        }
    }
}

#[test]
fn the_inlined_vector_is_the_shared_one() {
    let shared: Vec<Value> =
        serde_json::from_str(&crate::support::vector_file("livekit.json")).unwrap();
    let valid = shared
        .iter()
        .find(|v| v["valid"] == Value::Bool(true))
        .unwrap();
    assert_eq!(valid["raw_body"], VECTOR_BODY);
    assert_eq!(valid["authorization"], VECTOR_JWT);
    assert_eq!(valid["now"], VECTOR_NOW);
    assert_eq!(valid["api_key"], KEY);
    assert_eq!(valid["api_secret"], SECRET);
    assert!(receiver()
        .verify_authorization(VECTOR_JWT, VECTOR_BODY.as_bytes(), now())
        .is_ok());
}
