//! Every vector in `shared/vectors/meta.json` through the shared `X-Hub-Signature-256` checker,
//! plus the negative cases the vectors do not cover.

use std::path::PathBuf;

use http::{HeaderMap, HeaderValue};
use leadline_meta::signature::{
    sign_hub_signature_256, verify_hub_signature_256, SignatureError, HEADER,
};
use leadline_meta::{webhook, Error};
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
    headers.insert("X-Hub-Signature-256", HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn every_shared_meta_vector_passes() {
    for (i, vector) in vectors().iter().enumerate() {
        let outcome = verify_hub_signature_256(
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
        // The same verdict through the crate's webhook entry point.
        let through_webhook = webhook::verify(
            &headers(&vector.header),
            vector.raw_body.as_bytes(),
            &[&vector.app_secret],
        );
        assert_eq!(through_webhook.is_ok(), vector.valid, "vector {i}");
        if vector.valid {
            assert_eq!(
                sign_hub_signature_256(&vector.app_secret, vector.raw_body.as_bytes()),
                vector.header
            );
        }
    }
}

#[test]
fn the_missing_prefix_vector_is_malformed_and_the_altered_body_a_mismatch() {
    let vectors = vectors();
    let altered = vectors
        .iter()
        .find(|v| v.note.as_deref() == Some("body altered after signing"))
        .expect("meta.json has the altered-body vector");
    assert_eq!(
        verify_hub_signature_256(
            &headers(&altered.header),
            altered.raw_body.as_bytes(),
            &[&altered.app_secret]
        ),
        Err(SignatureError::Mismatch)
    );
    let unprefixed = vectors
        .iter()
        .find(|v| v.note.as_deref() == Some("missing sha256= prefix"))
        .expect("meta.json has the missing-prefix vector");
    assert!(matches!(
        verify_hub_signature_256(
            &headers(&unprefixed.header),
            unprefixed.raw_body.as_bytes(),
            &[&unprefixed.app_secret]
        ),
        Err(SignatureError::MalformedHeader { .. })
    ));
}

#[test]
fn tampered_body_wrong_secret_missing_and_malformed_headers_are_rejected() {
    let valid = vectors()
        .into_iter()
        .find(|v| v.valid)
        .expect("a valid vector");
    let body = valid.raw_body.as_bytes();
    let good = headers(&valid.header);
    let secret = valid.app_secret.as_str();

    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert_eq!(
        verify_hub_signature_256(&good, &tampered, &[secret]),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_hub_signature_256(&good, body, &["wrong_secret"]),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_hub_signature_256(&HeaderMap::new(), body, &[secret]),
        Err(SignatureError::MissingHeader(HEADER))
    );
    for malformed in ["sha256=", "sha256=not-hex", "sha512=abcd", "sha256 = 04bf"] {
        assert!(
            matches!(
                verify_hub_signature_256(&headers(malformed), body, &[secret]),
                Err(SignatureError::MalformedHeader { .. })
            ),
            "{malformed}"
        );
    }
    assert_eq!(
        webhook::verify(&good, &tampered, &[secret]),
        Err(Error::SignatureInvalid(SignatureError::Mismatch))
    );
}
