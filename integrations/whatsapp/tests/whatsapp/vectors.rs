//! Every vector in `shared/vectors/meta.json` (they are WhatsApp bodies) through
//! `leadline_whatsapp::webhook::verify`, plus negative cases; valid vectors also parse.

use std::path::PathBuf;

use http::{HeaderMap, HeaderValue};
use leadline_whatsapp::webhook::{self, InboundEvent, MessageContent};
use leadline_whatsapp::{Error, SignatureError};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Vector {
    app_secret: String,
    raw_body: String,
    header: String,
    valid: bool,
    #[serde(default)]
    note: Option<String>,
}

fn vectors() -> Vec<Vector> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/meta.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the shared signature vectors must be present at {}: {e}",
            path.display()
        )
    });
    let vectors: Vec<Vector> = serde_json::from_str(&text).expect("meta.json is a vector list");
    assert!(!vectors.is_empty(), "meta.json holds no vectors");
    vectors
}

fn headers(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-hub-signature-256", HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn every_shared_meta_vector_passes_through_the_whatsapp_verifier() {
    for (i, vector) in vectors().iter().enumerate() {
        let outcome = webhook::verify(
            &headers(&vector.header),
            vector.raw_body.as_bytes(),
            &[&vector.app_secret],
        );
        assert_eq!(
            outcome.is_ok(),
            vector.valid,
            "vector {i} ({:?}): {outcome:?}",
            vector.note
        );
        if vector.valid {
            // The signed bytes hold raw UTF-8 (María José, ¿, 🚗): parse them as received.
            let events = webhook::parse(vector.raw_body.as_bytes()).unwrap();
            let InboundEvent::Message(message) = &events[0] else {
                panic!("{events:?}")
            };
            assert_eq!(message.profile_name.as_deref(), Some("María José"));
            assert_eq!(
                message.content,
                MessageContent::Text {
                    body: "Hola, ¿cuánto cuesta? 🚗".into()
                }
            );
        }
    }
}

#[test]
fn tampered_body_wrong_secret_missing_and_malformed_headers_are_rejected() {
    let valid = vectors()
        .into_iter()
        .find(|v| v.valid)
        .expect("a valid vector");
    let body = valid.raw_body.as_bytes();
    let secret = valid.app_secret.as_str();
    let good = headers(&valid.header);

    let tampered = valid.raw_body.replace("5215512345678", "5215512345679");
    assert_eq!(
        webhook::verify(&good, tampered.as_bytes(), &[secret]),
        Err(Error::SignatureInvalid(SignatureError::Mismatch))
    );
    assert_eq!(
        webhook::verify(&good, body, &["not_the_secret"]),
        Err(Error::SignatureInvalid(SignatureError::Mismatch))
    );
    assert!(matches!(
        webhook::verify(&HeaderMap::new(), body, &[secret]),
        Err(Error::SignatureInvalid(SignatureError::MissingHeader(_)))
    ));
    assert!(matches!(
        webhook::verify(&headers("sha256=xyz"), body, &[secret]),
        Err(Error::SignatureInvalid(
            SignatureError::MalformedHeader { .. }
        ))
    ));
    assert_eq!(
        webhook::verify(&good, body, &[]),
        Err(Error::SignatureInvalid(SignatureError::NoSecret))
    );
}
