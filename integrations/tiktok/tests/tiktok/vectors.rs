//! Every vector in `shared/vectors/tiktok.json` (current scheme) and `tiktok_legacy.json`
//! (legacy scheme), plus the negative cases: tampered body, wrong secret, missing header,
//! malformed header, stale timestamp, legacy not opted into.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use leadline_tiktok::signature::{self, Scheme, VerifyOptions, DEFAULT_TOLERANCE};
use leadline_tiktok::{webhook, Error, SignatureError};
use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Vector {
    client_secret: String,
    raw_body: String,
    header: String,
    now: i64,
    valid: bool,
    #[serde(default)]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LegacyVector {
    client_secret: String,
    timestamp: String,
    raw_body: String,
    header: String,
    valid: bool,
}

fn load<T: DeserializeOwned>(name: &str) -> Vec<T> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the shared signature vectors must be present at {}: {e}",
            path.display()
        )
    });
    let vectors: Vec<T> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name} is not a vector list: {e}"));
    assert!(!vectors.is_empty(), "{name} holds no vectors");
    vectors
}

fn at(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap()
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

#[test]
fn every_shared_tiktok_vector_passes() {
    for (i, vector) in load::<Vector>("tiktok.json").iter().enumerate() {
        // Header name as the docs write it; HTTP header names are case-insensitive.
        let outcome = webhook::verify(
            &headers(&[("TikTok-Signature", &vector.header)]),
            vector.raw_body.as_bytes(),
            &[&vector.client_secret],
            at(vector.now),
            &VerifyOptions::default(),
        );
        assert_eq!(
            outcome.is_ok(),
            vector.valid,
            "vector {i} ({:?}): {outcome:?}",
            vector.note
        );
        if vector.valid {
            assert_eq!(outcome, Ok(Scheme::Current));
        }
        if vector.note.as_deref() == Some("stale timestamp") {
            assert!(matches!(
                outcome,
                Err(Error::SignatureInvalid(SignatureError::Stale { .. }))
            ));
        }
    }
}

#[test]
fn every_shared_legacy_vector_passes_when_legacy_is_allowed() {
    let legacy = VerifyOptions {
        allow_legacy: true,
        ..VerifyOptions::default()
    };
    for (i, vector) in load::<LegacyVector>("tiktok_legacy.json")
        .iter()
        .enumerate()
    {
        let body = vector.raw_body.as_bytes();
        let secrets = [vector.client_secret.as_str()];
        assert_eq!(
            signature::verify_legacy(&vector.header, &vector.timestamp, body, &secrets).is_ok(),
            vector.valid,
            "vector {i}"
        );
        // Timestamp in its header...
        let with_header = headers(&[
            ("X-Tiktok-Signature", &vector.header),
            ("X-Tiktok-Timestamp", &vector.timestamp),
        ]);
        let signed_at: i64 = vector.timestamp.parse().unwrap();
        let outcome = webhook::verify(&with_header, body, &secrets, at(signed_at), &legacy);
        assert_eq!(outcome.is_ok(), vector.valid, "vector {i}: {outcome:?}");
        if vector.valid {
            assert_eq!(outcome, Ok(Scheme::Legacy));
            // ...or, without it, the body's create_time (the vector's timestamp is that value).
            let without = headers(&[("X-Tiktok-Signature", &vector.header)]);
            assert_eq!(
                webhook::verify(&without, body, &secrets, at(signed_at + 300), &legacy),
                Ok(Scheme::Legacy)
            );
            // The replay window holds for the legacy scheme too, in both directions.
            for now in [signed_at + 301, signed_at - 301, 0] {
                assert!(
                    matches!(
                        webhook::verify(&with_header, body, &secrets, at(now), &legacy),
                        Err(Error::SignatureInvalid(SignatureError::Stale { .. }))
                    ),
                    "vector {i} at {now}"
                );
            }
            // Legacy is opt-in: by default the same request is unsigned.
            assert_eq!(
                webhook::verify(
                    &with_header,
                    body,
                    &secrets,
                    at(signed_at),
                    &VerifyOptions::default()
                ),
                Err(Error::SignatureInvalid(SignatureError::MissingHeader(
                    signature::HEADER
                )))
            );
            assert_eq!(
                signature::verify_legacy(&vector.header, &vector.timestamp, b"{}", &secrets),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                signature::verify_legacy(&vector.header, "1732350001", body, &secrets),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                signature::verify_legacy(&vector.header, &vector.timestamp, body, &["wrong"]),
                Err(SignatureError::Mismatch)
            );
        }
    }
}

#[test]
fn tampered_body_wrong_secret_missing_malformed_and_stale_are_rejected() {
    let vector = load::<Vector>("tiktok.json")
        .into_iter()
        .find(|v| v.valid)
        .expect("a valid vector");
    let body = vector.raw_body.as_bytes();
    let secret = vector.client_secret.as_str();
    let now = at(vector.now);
    let good = headers(&[("tiktok-signature", &vector.header)]);
    let options = VerifyOptions::default();
    let refused = |headers: &HeaderMap, body: &[u8], secret: &str, now| match webhook::verify(
        headers,
        body,
        &[secret],
        now,
        &options,
    ) {
        Err(Error::SignatureInvalid(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    };

    let tampered = vector.raw_body.replace("XL", "XS");
    assert_eq!(
        refused(&good, tampered.as_bytes(), secret, now),
        SignatureError::Mismatch
    );
    assert_eq!(
        refused(&good, body, "wrong_secret", now),
        SignatureError::Mismatch
    );
    assert_eq!(
        refused(&HeaderMap::new(), body, secret, now),
        SignatureError::MissingHeader(signature::HEADER)
    );
    let digest = vector.header.split("s=").nth(1).unwrap();
    for malformed in [
        format!("s={digest}"),
        "t=1732350000".to_owned(),
        format!("t=yesterday,s={digest}"),
        "t=1732350000,s=zz".to_owned(),
        digest.to_owned(),
    ] {
        assert!(
            matches!(
                refused(
                    &headers(&[("tiktok-signature", &malformed)]),
                    body,
                    secret,
                    now
                ),
                SignatureError::MalformedHeader { .. }
            ),
            "{malformed}"
        );
    }
    let t = 1_732_350_000;
    let tolerance = DEFAULT_TOLERANCE.as_secs() as i64;
    assert_eq!(
        refused(&good, body, secret, at(t + tolerance + 1)),
        SignatureError::Stale {
            timestamp: t,
            now: t + tolerance + 1
        }
    );
    assert!(webhook::verify(&good, body, &[secret], at(t + tolerance), &options).is_ok());
    // A caller may tighten the window.
    let strict = VerifyOptions {
        tolerance: std::time::Duration::from_secs(1),
        ..options
    };
    assert!(webhook::verify(&good, body, &[secret], now, &strict).is_err());
}
