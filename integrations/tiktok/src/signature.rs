//! TikTok webhook signatures, both schemes, on the raw bytes and in constant time:
//!
//! - current (platforms.md §3 and Appendix): `TikTok-Signature: t=<unix s>,s=<hex>` where
//!   `s = hex(HMAC-SHA256(key = client_secret, t + "." + raw_body))`; the header name is matched
//!   case-insensitively (the docs also write `Tiktok-Signature`). TikTok documents no tolerance,
//!   so it is the caller's (`VerifyOptions::tolerance`, 300 s by default, both directions).
//! - legacy (seed 001, the system our users run today): `X-Tiktok-Signature: <hex>` where
//!   `hex(SHA-256(client_secret + timestamp + raw_body))`. Opt-in only (`allow_legacy`): a plain
//!   hash with a secret prefix is weaker than an HMAC. Its timestamp gets the same replay window
//!   as the current scheme (`VerifyOptions::tolerance`): without one, a captured legacy delivery
//!   could be replayed forever.
//!
//! Never defaults to "no verification": an empty secret list is an error, never a pass.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use crate::error::SignatureError;

/// The current scheme's header.
pub const HEADER: &str = "tiktok-signature";
/// The legacy scheme's header.
pub const LEGACY_HEADER: &str = "x-tiktok-signature";
/// Where the legacy scheme's timestamp is read from first. The seed does not say which header
/// carries it (UNCONFIRMED); without the header, the body's `create_time` is used (the shared
/// vector's timestamp equals its body's `create_time`).
pub const LEGACY_TIMESTAMP_HEADER: &str = "x-tiktok-timestamp";
/// Default replay tolerance of the current scheme (platforms.md §3: "300 s is a common choice").
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// How strict `verify` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyOptions {
    /// The largest allowed |now − t| for the current scheme.
    pub tolerance: Duration,
    /// Accept the legacy `X-Tiktok-Signature` scheme when `TikTok-Signature` is absent.
    pub allow_legacy: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            tolerance: DEFAULT_TOLERANCE,
            allow_legacy: false,
        }
    }
}

/// Which scheme a verified webhook used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `TikTok-Signature: t=..,s=..`.
    Current,
    /// `X-Tiktok-Signature` (legacy, opt-in).
    Legacy,
}

/// Verifies a webhook: the current scheme when its header is present, else the legacy one if
/// allowed. Any of `client_secrets` may match (rotation). `now` comes from the caller.
pub fn verify(
    headers: &HeaderMap,
    raw_body: &[u8],
    client_secrets: &[&str],
    now: DateTime<Utc>,
    options: &VerifyOptions,
) -> Result<Scheme, SignatureError> {
    if let Some(value) = single_header(headers, HEADER)? {
        verify_signature_header(value, raw_body, client_secrets, now, options.tolerance)?;
        return Ok(Scheme::Current);
    }
    if options.allow_legacy {
        if let Some(signature) = single_header(headers, LEGACY_HEADER)? {
            let timestamp = match single_header(headers, LEGACY_TIMESTAMP_HEADER)? {
                Some(t) => t.trim().to_owned(),
                None => body_create_time(raw_body)
                    .ok_or(SignatureError::MissingHeader(LEGACY_TIMESTAMP_HEADER))?,
            };
            verify_legacy(signature, &timestamp, raw_body, client_secrets)?;
            // Checked after the signature, as for the current scheme: a forged header is a
            // mismatch, not stale.
            let t_secs: i64 = timestamp.parse().map_err(|_| {
                malformed(LEGACY_TIMESTAMP_HEADER, "the timestamp is not an integer")
            })?;
            let now_secs = now.timestamp();
            if now_secs.abs_diff(t_secs) > options.tolerance.as_secs() {
                return Err(SignatureError::Stale {
                    timestamp: t_secs,
                    now: now_secs,
                });
            }
            return Ok(Scheme::Legacy);
        }
    }
    Err(SignatureError::MissingHeader(HEADER))
}

/// Verifies a `t=<unix s>,s=<hex>[,s=<hex>]` value: the signature first, then the timestamp
/// (so a forged header is reported as a mismatch, not as stale).
pub fn verify_signature_header(
    value: &str,
    raw_body: &[u8],
    client_secrets: &[&str],
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let secrets = non_empty(client_secrets)?;
    let mut timestamp: Option<&str> = None;
    let mut signatures = Vec::new();
    for part in value.split(',') {
        let Some((key, val)) = part.split_once('=') else {
            return Err(malformed(HEADER, "an element is not key=value"));
        };
        match key.trim() {
            "t" if timestamp.is_some() => return Err(malformed(HEADER, "t is repeated")),
            "t" => timestamp = Some(val.trim()),
            "s" => signatures.push(decode_digest(val.trim(), HEADER)?),
            // Unknown elements are ignored, as Stripe-style headers add them over time.
            _ => {}
        }
    }
    let t = timestamp.ok_or_else(|| malformed(HEADER, "no t= element"))?;
    let t_secs: i64 = t
        .parse()
        .map_err(|_| malformed(HEADER, "t is not an integer"))?;
    if signatures.is_empty() {
        return Err(malformed(HEADER, "no s= element"));
    }
    let mut matched = Choice::from(0);
    for secret in &secrets {
        let expected = hmac_sha256(secret, &[t.as_bytes(), b".", raw_body]);
        for provided in &signatures {
            matched |= expected.as_slice().ct_eq(provided);
        }
    }
    if !bool::from(matched) {
        return Err(SignatureError::Mismatch);
    }
    let now_secs = now.timestamp();
    if now_secs.abs_diff(t_secs) > tolerance.as_secs() {
        return Err(SignatureError::Stale {
            timestamp: t_secs,
            now: now_secs,
        });
    }
    Ok(())
}

/// Verifies the legacy `hex(SHA-256(client_secret + timestamp + raw_body))` (the digest only;
/// [`verify`] also enforces the replay window on `timestamp`, so a redelivery after the window
/// is refused like any stale delivery — TikTok retries, the sender re-signs).
pub fn verify_legacy(
    signature_hex: &str,
    timestamp: &str,
    raw_body: &[u8],
    client_secrets: &[&str],
) -> Result<(), SignatureError> {
    let secrets = non_empty(client_secrets)?;
    let provided = decode_digest(signature_hex.trim(), LEGACY_HEADER)?;
    let matched = secrets.iter().fold(Choice::from(0), |acc, secret| {
        acc | legacy_digest(secret, timestamp, raw_body)
            .as_slice()
            .ct_eq(&provided)
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The current header value for `raw_body` signed at `timestamp` (fakes and tests).
pub fn sign(client_secret: &str, timestamp: i64, raw_body: &[u8]) -> String {
    let t = timestamp.to_string();
    let s = hmac_sha256(client_secret, &[t.as_bytes(), b".", raw_body]);
    format!("t={t},s={}", hex::encode(s))
}

/// The legacy header value (fakes and tests).
pub fn sign_legacy(client_secret: &str, timestamp: &str, raw_body: &[u8]) -> String {
    hex::encode(legacy_digest(client_secret, timestamp, raw_body))
}

fn legacy_digest(secret: &str, timestamp: &str, raw_body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(secret.as_bytes());
    hash.update(timestamp.as_bytes());
    hash.update(raw_body);
    hash.finalize().into()
}

fn hmac_sha256(secret: &str, parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps it total.
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

fn non_empty<'a>(secrets: &[&'a str]) -> Result<Vec<&'a str>, SignatureError> {
    let secrets: Vec<&str> = secrets.iter().copied().filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() {
        Err(SignatureError::NoSecret)
    } else {
        Ok(secrets)
    }
}

fn decode_digest(value: &str, header: &'static str) -> Result<Vec<u8>, SignatureError> {
    let bytes = hex::decode(value).map_err(|_| malformed(header, "the digest is not hex"))?;
    if bytes.len() == 32 {
        Ok(bytes)
    } else {
        Err(malformed(header, "the digest is not 32 bytes"))
    }
}

fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, SignatureError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(malformed(name, "the header is repeated"));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| malformed(name, "the value is not visible ASCII"))
}

/// `create_time` of the body, as the decimal string the legacy scheme concatenates.
fn body_create_time(raw_body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(raw_body).ok()?;
    match value.get("create_time")? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn malformed(header: &'static str, reason: &'static str) -> SignatureError {
    SignatureError::MalformedHeader { header, reason }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // platforms.md Appendix vector (computed there with Python's hmac).
    const BODY: &[u8] = br#"{"client_key":"bwo2m45353a6k85","event":"authorization.removed","create_time":1615338610,"user_openid":"act.example","content":"{\"reason\": 1 }"}"#;
    const DIGEST: &str = "0a9ddd83c645c6eebde8a1eb6b845217e40c9d92cb2f19207f41b07c2b57825d";

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn the_appendix_vector_signs_and_verifies() {
        assert_eq!(
            sign("test_client_secret", 1_633_174_587, BODY),
            format!("t=1633174587,s={DIGEST}")
        );
        let value = format!("t=1633174587,s={DIGEST}");
        assert_eq!(
            verify_signature_header(
                &value,
                BODY,
                &["test_client_secret"],
                at(1_633_174_600),
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn spaces_unknown_elements_and_extra_signatures_are_tolerated() {
        let value = format!(" t=1633174587 , v9=x, s={}, s={DIGEST}", "00".repeat(32));
        assert_eq!(
            verify_signature_header(
                &value,
                BODY,
                &["test_client_secret"],
                at(1_633_174_587),
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn future_timestamps_beyond_the_tolerance_are_stale_too() {
        let value = format!("t=1633174587,s={DIGEST}");
        assert_eq!(
            verify_signature_header(
                &value,
                BODY,
                &["test_client_secret"],
                at(1_633_174_587 - 301),
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::Stale {
                timestamp: 1_633_174_587,
                now: 1_633_174_286
            })
        );
        assert_eq!(
            verify_signature_header(
                &value,
                BODY,
                &["test_client_secret"],
                at(1_633_174_587 + 300),
                DEFAULT_TOLERANCE
            ),
            Ok(())
        );
    }

    #[test]
    fn a_forged_stale_header_is_a_mismatch() {
        let value = format!("t=1,s={DIGEST}");
        assert_eq!(
            verify_signature_header(
                &value,
                BODY,
                &["test_client_secret"],
                at(1_633_174_587),
                DEFAULT_TOLERANCE
            ),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_values_are_named() {
        for value in [
            String::new(),
            format!("s={DIGEST}"),
            "t=1633174587".to_owned(),
            format!("t=abc,s={DIGEST}"),
            format!("t=1,t=2,s={DIGEST}"),
            "t=1633174587,s=nothex".to_owned(),
            "t=1633174587,s=abcd".to_owned(),
            DIGEST.to_owned(),
        ] {
            assert!(
                matches!(
                    verify_signature_header(
                        &value,
                        BODY,
                        &["test_client_secret"],
                        at(1_633_174_587),
                        DEFAULT_TOLERANCE
                    ),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "{value:?}"
            );
        }
    }

    #[test]
    fn no_secret_is_a_refusal() {
        let value = format!("t=1633174587,s={DIGEST}");
        assert_eq!(
            verify_signature_header(&value, BODY, &[""], at(1_633_174_587), DEFAULT_TOLERANCE),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(
            verify_legacy(DIGEST, "1", BODY, &[]),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn legacy_signatures_are_off_by_default_and_held_to_the_replay_window() {
        let signature = sign_legacy("s", "1615338610", BODY);
        let mut headers = HeaderMap::new();
        headers.insert(LEGACY_HEADER, signature.parse().unwrap());
        let legacy = VerifyOptions {
            allow_legacy: true,
            ..VerifyOptions::default()
        };
        // Off unless opted in.
        assert_eq!(
            verify(
                &headers,
                BODY,
                &["s"],
                at(1_615_338_610),
                &VerifyOptions::default()
            ),
            Err(SignatureError::MissingHeader(HEADER))
        );
        // The body's create_time, within 300 s either way.
        for now in [1_615_338_610, 1_615_338_610 + 300, 1_615_338_610 - 300] {
            assert_eq!(
                verify(&headers, BODY, &["s"], at(now), &legacy),
                Ok(Scheme::Legacy)
            );
        }
        for now in [1_615_338_610 + 301, 1_615_338_610 - 301] {
            assert_eq!(
                verify(&headers, BODY, &["s"], at(now), &legacy),
                Err(SignatureError::Stale {
                    timestamp: 1_615_338_610,
                    now
                })
            );
        }
        // A forged signature on an old timestamp is a mismatch, not stale.
        assert_eq!(
            verify(&headers, BODY, &["wrong"], at(0), &legacy),
            Err(SignatureError::Mismatch)
        );
        // The timestamp header, when present, is the one signed and checked.
        headers.insert(LEGACY_TIMESTAMP_HEADER, "1615338610".parse().unwrap());
        assert_eq!(
            verify(&headers, BODY, &["s"], at(1_615_338_700), &legacy),
            Ok(Scheme::Legacy)
        );
    }

    #[test]
    fn legacy_signatures_round_trip_and_read_create_time_from_the_body() {
        let signature = sign_legacy("s", "1615338610", BODY);
        assert_eq!(
            verify_legacy(&signature, "1615338610", BODY, &["s"]),
            Ok(())
        );
        assert_eq!(
            verify_legacy(&signature, "1615338611", BODY, &["s"]),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(body_create_time(BODY).as_deref(), Some("1615338610"));
    }
}
