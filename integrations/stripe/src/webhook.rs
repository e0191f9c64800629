//! Stripe webhooks (platforms.md §9): the single front door for verifying and parsing them.
//! Split as hyperswitch does (CONVENTIONS.md):
//!
//! - which bytes are signed: `t + "." + raw_body`, where `t` is the text of `t=` in
//!   `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…][,v0=<hex>]` and `raw_body` is the body
//!   exactly as received (never re-serialised JSON);
//! - which algorithm: `v1 = hex(HMAC-SHA256(secret, signed bytes))`; `v0` (Stripe's legacy
//!   test-mode scheme) is never accepted;
//! - which secret: the endpoint's `whsec_…` string used as the key as-is (not base64-decoded).
//!   Several secrets may be configured while one is rolled in the Dashboard (Stripe then signs
//!   each delivery with every active secret, one `v1` each): ANY `v1` matching ANY secret
//!   passes. Every candidate is compared in constant time, and all of them are compared, so the
//!   timing tells nothing about which (if any) matched.
//!
//! Then the time: `t` must be within the tolerance of `now` (300 s, stripe-python's
//! `DEFAULT_TOLERANCE`) in both directions — stripe-python checks only the past; a `t` far in
//! the future would stay "fresh" for ever if a secret ever leaked. The signature is checked
//! before the time, so [`WebhookError::Stale`] in the logs means "authentic but too old".
//!
//! Only then is the body parsed into an [`Event`]; there is no way to parse an unverified body
//! (CONVENTIONS.md: verification is mandatory). `now` is an argument so tests and the api
//! decide the clock. Deduplication (Stripe retries for up to ~3 days) is the api's job, on
//! `event.id`; ordering too — see [`crate::models`].

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{Error, WebhookError};
use crate::models::Event;

/// The header carrying the signature (lower case, as `http` stores names).
pub const SIGNATURE_HEADER: &str = "stripe-signature";
/// How far `t` may be from `now`, either way: 300 s (stripe-python `DEFAULT_TOLERANCE`).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// At most this many `v1` entries are tried: a header stuffed with candidates costs no more
/// than a rotation does (Stripe sends one per active secret).
const MAX_SIGNATURES: usize = 8;
/// At most this many secrets are configured (one current, a few being rolled).
const MAX_SECRETS: usize = 8;
/// A `Stripe-Signature` longer than this is not Stripe's.
const MAX_HEADER_LEN: usize = 4096;

fn mac(secret: &str, timestamp: &str, raw_body: &[u8]) -> Option<[u8; 32]> {
    // HMAC takes keys of any length, so this cannot fail; `None` would match nothing.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(raw_body);
    Some(mac.finalize().into_bytes().into())
}

/// `hex(HMAC-SHA256(secret, t + "." + raw_body))`: one `v1` value (without `v1=`).
pub fn sign_v1(secret: &str, timestamp: i64, raw_body: &[u8]) -> String {
    mac(secret, &timestamp.to_string(), raw_body)
        .map(hex::encode)
        .unwrap_or_default()
}

/// The full `Stripe-Signature` value for `raw_body` at `timestamp`, one `v1` per secret (as
/// Stripe sends while a secret is being rolled): `t=<timestamp>,v1=<hex>[,v1=<hex>…]`. The
/// fake signs with it.
pub fn signature_header(secrets: &[&str], timestamp: i64, raw_body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&sign_v1(secret, timestamp, raw_body));
    }
    header
}

/// The parsed header: `t` as sent (the signed bytes use its exact text) and the `v1` digests.
#[derive(Debug)]
struct ParsedHeader<'a> {
    timestamp_text: &'a str,
    timestamp: i64,
    signatures: Vec<[u8; 32]>,
}

fn parse_header(value: &str) -> Result<ParsedHeader<'_>, WebhookError> {
    if value.len() > MAX_HEADER_LEN {
        return Err(WebhookError::MalformedHeader);
    }
    let mut timestamp = None;
    let mut signatures = Vec::new();
    let mut saw_v1 = false;
    for part in value.split(',') {
        // stripe-python splits on "," then "=" and ignores anything that is not a pair.
        let Some((key, val)) = part.split_once('=') else {
            continue;
        };
        match key.trim() {
            // The first `t` counts; a second one cannot move the signed time.
            "t" if timestamp.is_none() => {
                let text = val.trim();
                if text.is_empty() || text.len() > 18 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(WebhookError::MalformedHeader);
                }
                let seconds = text
                    .parse::<i64>()
                    .map_err(|_| WebhookError::MalformedHeader)?;
                timestamp = Some((text, seconds));
            }
            "v1" => {
                saw_v1 = true;
                // An entry that is not 32 bytes of hex cannot match; it does not hide others.
                let mut digest = [0u8; 32];
                if hex::decode_to_slice(val.trim(), &mut digest).is_ok()
                    && signatures.len() < MAX_SIGNATURES
                {
                    signatures.push(digest);
                }
            }
            // `v0` (test-mode legacy scheme) and unknown future schemes are ignored.
            _ => {}
        }
    }
    let (timestamp_text, timestamp) = timestamp.ok_or(WebhookError::MalformedHeader)?;
    if !saw_v1 {
        return Err(WebhookError::NoV1Signature);
    }
    Ok(ParsedHeader {
        timestamp_text,
        timestamp,
        signatures,
    })
}

/// Verifies and parses Stripe webhook deliveries for one endpoint, with one or more endpoint
/// secrets (rotation).
#[derive(Clone)]
pub struct Receiver {
    secrets: Vec<String>,
    tolerance: Duration,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("secrets", &format!("<{} redacted>", self.secrets.len()))
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Receiver {
    /// A receiver accepting signatures by any of `secrets` (surrounding whitespace trimmed).
    /// `Configuration` if there is none, or one is blank (a blank key would let anyone sign),
    /// or there are more than 8.
    pub fn new(secrets: Vec<String>) -> Result<Self, Error> {
        let secrets: Vec<String> = secrets.into_iter().map(|s| s.trim().to_owned()).collect();
        if secrets.is_empty() {
            return Err(Error::Configuration(
                "STRIPE_WEBHOOK_SECRET is not set: webhooks cannot be verified".to_owned(),
            ));
        }
        if secrets.iter().any(String::is_empty) {
            return Err(Error::Configuration(
                "STRIPE_WEBHOOK_SECRET contains a blank secret".to_owned(),
            ));
        }
        if secrets.len() > MAX_SECRETS {
            return Err(Error::Configuration(format!(
                "STRIPE_WEBHOOK_SECRET has {} secrets; at most {MAX_SECRETS} are allowed",
                secrets.len()
            )));
        }
        Ok(Receiver {
            secrets,
            tolerance: DEFAULT_TOLERANCE,
        })
    }

    /// Sets how far `t` may be from `now`, either way (default 300 s).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Checks the `Stripe-Signature` value `header` over `raw_body` at `now_unix` (seconds).
    pub fn verify(&self, header: &str, raw_body: &[u8], now_unix: i64) -> Result<(), WebhookError> {
        let parsed = parse_header(header)?;
        let mut matched = subtle::Choice::from(0);
        for secret in &self.secrets {
            let Some(expected) = mac(secret, parsed.timestamp_text, raw_body) else {
                continue;
            };
            for given in &parsed.signatures {
                matched |= expected.as_slice().ct_eq(given.as_slice());
            }
        }
        if !bool::from(matched) {
            return Err(WebhookError::Mismatch);
        }
        // i128: neither a huge `t` nor a huge `now` can overflow the difference.
        let age = i128::from(now_unix) - i128::from(parsed.timestamp);
        let tolerance = i128::from(self.tolerance.as_secs());
        if age > tolerance {
            return Err(WebhookError::Stale);
        }
        if -age > tolerance {
            return Err(WebhookError::FromTheFuture);
        }
        Ok(())
    }

    /// Verifies a delivery given its `Stripe-Signature` value (`None` when absent), then parses
    /// it. Answer 2xx at once on `Ok` (Stripe times out slow endpoints and retries), 400
    /// otherwise.
    pub fn receive(
        &self,
        signature_header: Option<&str>,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<Event, WebhookError> {
        let header = signature_header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(WebhookError::MissingHeader)?;
        self.verify(header, raw_body, now_unix)?;
        Event::parse(raw_body)
    }

    /// As [`Receiver::receive`], finding `Stripe-Signature` in `headers` whatever its case. A
    /// value that is not visible ASCII counts as missing.
    pub fn receive_headers(
        &self,
        headers: &http::HeaderMap,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<Event, WebhookError> {
        let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        self.receive(header, raw_body, now_unix)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // platforms.md §9.
    const SECRET: &str = "whsec_test_secret";
    const T: i64 = 1_700_000_000;
    const BODY: &str =
        r#"{"id":"evt_test_1","object":"event","type":"checkout.session.completed"}"#;
    const V1: &str = "ca796b857b81e24d595a4c37abf88d2fafb533a32ede6ce4cfc9b0e892a35b08";

    #[test]
    fn signs_the_platforms_vector() {
        assert_eq!(sign_v1(SECRET, T, BODY.as_bytes()), V1);
        assert_eq!(
            signature_header(&[SECRET], T, BODY.as_bytes()),
            format!("t={T},v1={V1}")
        );
    }

    #[test]
    fn header_parsing_tells_malformed_from_no_v1() {
        for header in [
            "",
            "v1=ab",
            "t=,v1=ab",
            "t=12a,v1=ab",
            "t=-5,v1=ab",
            "garbage",
            "t",
        ] {
            assert_eq!(
                parse_header(header).map(|_| ()),
                Err(WebhookError::MalformedHeader),
                "{header}"
            );
        }
        for header in ["t=1", "t=1,v0=abcd", "t=1,v2=ff"] {
            assert_eq!(
                parse_header(header).map(|_| ()),
                Err(WebhookError::NoV1Signature),
                "{header}"
            );
        }
        let header = format!(" t=5 , v1=zz, v1={V1} ,v0=ff, t=9");
        let parsed = parse_header(&header).unwrap();
        assert_eq!(parsed.timestamp, 5);
        assert_eq!(parsed.signatures.len(), 1);
    }

    #[test]
    fn refuses_empty_or_blank_secrets() {
        assert!(matches!(
            Receiver::new(vec![]),
            Err(Error::Configuration(_))
        ));
        assert!(matches!(
            Receiver::new(vec!["whsec_a".into(), "  ".into()]),
            Err(Error::Configuration(_))
        ));
        let receiver = Receiver::new(vec![format!(" {SECRET}\n")]).unwrap();
        assert!(receiver
            .verify(&format!("t={T},v1={V1}"), BODY.as_bytes(), T)
            .is_ok());
        assert!(!format!("{receiver:?}").contains(SECRET));
    }

    #[test]
    fn tolerance_applies_both_ways_and_is_inclusive() {
        let receiver = Receiver::new(vec![SECRET.into()]).unwrap();
        let header = format!("t={T},v1={V1}");
        assert!(receiver.verify(&header, BODY.as_bytes(), T + 300).is_ok());
        assert!(receiver.verify(&header, BODY.as_bytes(), T - 300).is_ok());
        assert_eq!(
            receiver.verify(&header, BODY.as_bytes(), T + 301),
            Err(WebhookError::Stale)
        );
        assert_eq!(
            receiver.verify(&header, BODY.as_bytes(), T - 301),
            Err(WebhookError::FromTheFuture)
        );
        let wide = receiver.with_tolerance(Duration::from_secs(3600));
        assert!(wide.verify(&header, BODY.as_bytes(), T + 3600).is_ok());
    }
}
