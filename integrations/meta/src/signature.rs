//! `X-Hub-Signature-256`, the webhook signature of every Graph product: Messenger, Instagram and
//! WhatsApp Cloud API (platforms.md §4, §5 and the Appendix): `sha256=<hex HMAC-SHA256(app
//! secret, raw body)>`.
//!
//! This is the only implementation in the workspace; `leadline-whatsapp` calls it. It works on
//! the raw bytes as received (Graph escapes unicode in the payload, so re-serialised JSON would
//! not match) and compares in constant time. Graph signs no timestamp, so there is no replay
//! window here: callers dedup on message ids (`mid`, `wamid`).
//!
//! It must not default to "no verification": an empty secret list is an error, never a pass.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::{Choice, ConstantTimeEq};

/// The header Graph signs webhooks with (matched case-insensitively, as HTTP header names are).
pub const HEADER: &str = "x-hub-signature-256";
/// The prefix before the hex digest.
const PREFIX: &str = "sha256=";

/// Why a webhook signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No (non-empty) secret was configured for this tenant: we refuse rather than accept
    /// unsigned traffic.
    #[error("no webhook secret is configured")]
    NoSecret,
    /// The signature header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// The header is present but not in the documented shape.
    #[error("malformed {header} header: {reason}")]
    MalformedHeader {
        /// The header's name.
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Well formed, but no configured secret produces this digest over these bytes.
    #[error("signature does not match the body")]
    Mismatch,
    /// The signed timestamp is too far from now (schemes that sign a timestamp, e.g. TikTok's).
    #[error("timestamp {timestamp} is outside the tolerance around {now}")]
    Stale {
        /// The signed timestamp (unix seconds).
        timestamp: i64,
        /// Our clock (unix seconds).
        now: i64,
    },
}

/// The header value Graph would send for `raw_body` signed with `app_secret`:
/// `sha256=<lowercase hex>`. Used by the fakes and tests to build signed webhooks.
pub fn sign_hub_signature_256(app_secret: &str, raw_body: &[u8]) -> String {
    format!("{PREFIX}{}", hex::encode(digest(app_secret, raw_body)))
}

/// Verifies `X-Hub-Signature-256` in `headers` over `raw_body`, accepting a match with any of
/// `app_secrets` (more than one during a secret rotation). Empty secrets are ignored; if none is
/// left the webhook is refused with `NoSecret`.
pub fn verify_hub_signature_256(
    headers: &HeaderMap,
    raw_body: &[u8],
    app_secrets: &[&str],
) -> Result<(), SignatureError> {
    let mut values = headers.get_all(HEADER).iter();
    let value = values.next().ok_or(SignatureError::MissingHeader(HEADER))?;
    if values.next().is_some() {
        // Two signatures leave us guessing which one Graph meant; a proxy or an attacker added one.
        return Err(malformed("the header is repeated"));
    }
    let value = value
        .to_str()
        .map_err(|_| malformed("the value is not visible ASCII"))?;
    verify_hub_signature_value(value, raw_body, app_secrets)
}

/// Verifies a header value already taken out of the request (`sha256=<hex>`).
pub fn verify_hub_signature_value(
    header_value: &str,
    raw_body: &[u8],
    app_secrets: &[&str],
) -> Result<(), SignatureError> {
    let secrets: Vec<&str> = app_secrets
        .iter()
        .copied()
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.is_empty() {
        return Err(SignatureError::NoSecret);
    }
    let hex_digest = header_value
        .trim()
        .strip_prefix(PREFIX)
        .ok_or_else(|| malformed("the value does not start with `sha256=`"))?;
    let provided = hex::decode(hex_digest).map_err(|_| malformed("the digest is not hex"))?;
    if provided.len() != 32 {
        return Err(malformed("the digest is not 32 bytes"));
    }
    // Every secret is tried (no early exit), and each comparison is constant time.
    let matched = secrets.iter().fold(Choice::from(0), |acc, secret| {
        acc | digest(secret, raw_body).as_slice().ct_eq(&provided)
    });
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

fn malformed(reason: &'static str) -> SignatureError {
    SignatureError::MalformedHeader {
        header: HEADER,
        reason,
    }
}

/// HMAC-SHA256(key = app secret, message = raw body).
fn digest(app_secret: &str, raw_body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail; the fallback keeps this
    // function total without an unwrap.
    match Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(raw_body);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // platforms.md Appendix vector, computed there with Python's hmac.
    const APPENDIX_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    const APPENDIX_SIG: &str =
        "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756";

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "X-Hub-Signature-256",
            value
                .parse()
                .unwrap_or_else(|_| http::HeaderValue::from_static("x")),
        );
        headers
    }

    #[test]
    fn the_appendix_vector_signs_and_verifies() {
        assert_eq!(
            sign_hub_signature_256("test_app_secret", APPENDIX_BODY),
            APPENDIX_SIG
        );
        assert_eq!(
            verify_hub_signature_256(&headers(APPENDIX_SIG), APPENDIX_BODY, &["test_app_secret"]),
            Ok(())
        );
    }

    #[test]
    fn uppercase_hex_is_the_same_digest() {
        let upper = format!("sha256={}", APPENDIX_SIG[7..].to_uppercase());
        assert_eq!(
            verify_hub_signature_value(&upper, APPENDIX_BODY, &["test_app_secret"]),
            Ok(())
        );
    }

    #[test]
    fn any_configured_secret_may_match_during_rotation() {
        assert_eq!(
            verify_hub_signature_value(APPENDIX_SIG, APPENDIX_BODY, &["old", "test_app_secret"]),
            Ok(())
        );
        assert_eq!(
            verify_hub_signature_value(APPENDIX_SIG, APPENDIX_BODY, &["old", "other"]),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn no_secret_is_a_refusal_not_a_pass() {
        assert_eq!(
            verify_hub_signature_value(APPENDIX_SIG, APPENDIX_BODY, &[]),
            Err(SignatureError::NoSecret)
        );
        assert_eq!(
            verify_hub_signature_value(APPENDIX_SIG, APPENDIX_BODY, &[""]),
            Err(SignatureError::NoSecret)
        );
    }

    #[test]
    fn malformed_values_are_named() {
        for value in [
            "dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756",
            "sha1=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756",
            "sha256=zz",
            "sha256=dec6",
        ] {
            assert!(
                matches!(
                    verify_hub_signature_value(value, APPENDIX_BODY, &["test_app_secret"]),
                    Err(SignatureError::MalformedHeader { .. })
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn a_missing_or_repeated_header_is_refused() {
        assert_eq!(
            verify_hub_signature_256(&HeaderMap::new(), APPENDIX_BODY, &["test_app_secret"]),
            Err(SignatureError::MissingHeader(HEADER))
        );
        let mut twice = headers(APPENDIX_SIG);
        twice.append(HEADER, http::HeaderValue::from_static(APPENDIX_SIG));
        assert!(matches!(
            verify_hub_signature_256(&twice, APPENDIX_BODY, &["test_app_secret"]),
            Err(SignatureError::MalformedHeader { .. })
        ));
    }
}
