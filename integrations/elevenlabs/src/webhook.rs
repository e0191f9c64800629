//! ElevenLabs post-call webhooks (platforms.md §7): the single front door for verifying and
//! parsing them. Split as hyperswitch does (CONVENTIONS.md):
//!
//! - which bytes are signed: `t + "." + raw_body`, where `t` is the unix-seconds value of the
//!   `ElevenLabs-Signature: t=<unix s>,v0=<hex>` header and `raw_body` is the body exactly as
//!   received (never re-serialised JSON);
//! - which algorithm: `v0 = hex(HMAC-SHA256(secret, signed bytes))`, compared in constant time
//!   against every `v0` in the header (more than one may be present while a secret rotates);
//! - which secret: the webhook secret shown when the webhook was created in ElevenLabs.
//!
//! Then the time: ElevenLabs' SDK refuses `t` older than 30 minutes; we do too, and also refuse
//! `t` more than 5 minutes ahead of our clock (a forged far-future `t` would otherwise stay
//! "fresh" forever if the secret ever leaked). The signature is checked before the time, so
//! [`WebhookError::Stale`] means "authentic but too old" in the logs.
//!
//! Only then is the body parsed into a [`PostCallEvent`]; there is no way to parse without
//! verifying (CONVENTIONS.md: verification is mandatory). `now` is an argument so tests and the
//! api decide the clock. Deduplication (ElevenLabs retries) is the api's job, on
//! `conversation_id` + `type`.

use std::time::Duration;

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{Error, WebhookError};
use crate::models::PostCallEvent;

/// The header carrying the signature (lower case, as `http` stores names; matching is
/// case-insensitive).
pub const SIGNATURE_HEADER: &str = "elevenlabs-signature";
/// How old `t` may be: 30 minutes, as ElevenLabs' SDK (`webhooks_custom.py`).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(30 * 60);
/// How far ahead of our clock `t` may be (clock skew between ElevenLabs and us).
pub const DEFAULT_FUTURE_SKEW: Duration = Duration::from_secs(5 * 60);
/// At most this many `v0` entries are tried: a header stuffed with candidates costs no more than
/// a rotation would.
const MAX_SIGNATURES: usize = 8;

fn mac(secret: &str, timestamp: &str, raw_body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this never fails; an error would only mean a bug, and
    // an empty MAC matches nothing.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(raw_body);
    mac.finalize().into_bytes().to_vec()
}

/// `hex(HMAC-SHA256(secret, t + "." + raw_body))`: the `v0` value (without `v0=`).
pub fn sign_v0(secret: &str, timestamp: i64, raw_body: &[u8]) -> String {
    hex::encode(mac(secret, &timestamp.to_string(), raw_body))
}

/// The full `ElevenLabs-Signature` header value for `raw_body` at `timestamp` (the fake signs
/// with it): `t=<timestamp>,v0=<hex>`.
pub fn signature_header(secret: &str, timestamp: i64, raw_body: &[u8]) -> String {
    format!("t={timestamp},v0={}", sign_v0(secret, timestamp, raw_body))
}

/// The parsed header: `t` as sent (the signed bytes use its exact text) and the `v0` digests.
struct ParsedHeader<'a> {
    timestamp_text: &'a str,
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

fn parse_header(value: &str) -> Result<ParsedHeader<'_>, WebhookError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    let mut saw_v0 = false;
    for part in value.split(',') {
        let Some((key, val)) = part.trim().split_once('=') else {
            continue;
        };
        match key.trim() {
            // The first `t` counts; a second one cannot move the signed time.
            "t" if timestamp.is_none() => {
                let text = val.trim();
                if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(WebhookError::MalformedHeader);
                }
                let seconds = text
                    .parse::<i64>()
                    .map_err(|_| WebhookError::MalformedHeader)?;
                timestamp = Some((text, seconds));
            }
            "v0" => {
                saw_v0 = true;
                // An entry that is not hex cannot match; it does not hide the others.
                if let Ok(bytes) = hex::decode(val.trim()) {
                    if signatures.len() < MAX_SIGNATURES {
                        signatures.push(bytes);
                    }
                }
            }
            // Other schemes (a future `v1`) are ignored, as Stripe-style headers expect.
            _ => {}
        }
    }
    let (timestamp_text, timestamp) = timestamp.ok_or(WebhookError::MalformedHeader)?;
    if !saw_v0 {
        return Err(WebhookError::MalformedHeader);
    }
    Ok(ParsedHeader {
        timestamp_text,
        timestamp,
        signatures,
    })
}

/// Verifies and parses ElevenLabs post-call webhooks for one webhook secret.
#[derive(Clone)]
pub struct Receiver {
    secret: String,
    tolerance: Duration,
    future_skew: Duration,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("secret", &"<redacted>")
            .field("tolerance", &self.tolerance)
            .field("future_skew", &self.future_skew)
            .finish()
    }
}

impl Receiver {
    /// A receiver checking signatures with `secret`; `Configuration` if it is blank (a blank
    /// key would make every forger's HMAC valid).
    pub fn new(secret: &str) -> Result<Self, Error> {
        if secret.trim().is_empty() {
            return Err(Error::Configuration(
                "ELEVENLABS_WEBHOOK_SECRET is not set: webhooks cannot be verified".to_owned(),
            ));
        }
        Ok(Receiver {
            secret: secret.to_owned(),
            tolerance: DEFAULT_TOLERANCE,
            future_skew: DEFAULT_FUTURE_SKEW,
        })
    }

    /// Sets how old `t` may be (default 30 minutes).
    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Sets how far in the future `t` may be (default 5 minutes).
    pub fn with_future_skew(mut self, skew: Duration) -> Self {
        self.future_skew = skew;
        self
    }

    /// Checks the `ElevenLabs-Signature` value `header` over `raw_body` at `now_unix` (seconds).
    pub fn verify(&self, header: &str, raw_body: &[u8], now_unix: i64) -> Result<(), WebhookError> {
        let parsed = parse_header(header)?;
        let expected = mac(&self.secret, parsed.timestamp_text, raw_body);
        // Every candidate is compared, so timing does not tell which one (if any) matched.
        let mut matched = subtle::Choice::from(0);
        for given in &parsed.signatures {
            matched |= expected.ct_eq(given);
        }
        if !bool::from(matched) || expected.is_empty() {
            return Err(WebhookError::Mismatch);
        }
        // i128: neither a huge `t` nor a huge `now` can overflow the difference.
        let age = i128::from(now_unix) - i128::from(parsed.timestamp);
        if age > i128::from(self.tolerance.as_secs()) {
            return Err(WebhookError::Stale);
        }
        if -age > i128::from(self.future_skew.as_secs()) {
            return Err(WebhookError::FromTheFuture);
        }
        Ok(())
    }

    /// Verifies a delivery given its `ElevenLabs-Signature` value (`None` when absent), then
    /// parses it. Answer 401 to the signature errors, 400 to `Decode`, 200 otherwise.
    pub fn receive_signature(
        &self,
        header: Option<&str>,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<PostCallEvent, WebhookError> {
        let header = header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .ok_or(WebhookError::MissingHeader)?;
        self.verify(header, raw_body, now_unix)?;
        PostCallEvent::parse(raw_body).map_err(|e| match e {
            Error::Decode(message) => WebhookError::Decode(message),
            other => WebhookError::Decode(other.to_string()),
        })
    }

    /// Verifies a delivery given its headers (the signature header is found whatever its case),
    /// then parses it.
    pub fn receive(
        &self,
        headers: &HeaderMap,
        raw_body: &[u8],
        now_unix: i64,
    ) -> Result<PostCallEvent, WebhookError> {
        let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
        self.receive_signature(header, raw_body, now_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // platforms.md, Appendix.
    const SECRET: &str = "wsec_test";
    const T: i64 = 1_739_537_297;
    const BODY: &str =
        r#"{"type":"post_call_transcription","event_timestamp":1739537297,"data":{}}"#;
    const V0: &str = "d8a0fc2a9a570a47e6ccaf1aafe3739f64d26a9dfac82f7d1a617fade715152a";

    #[test]
    fn signs_the_appendix_vector() {
        assert_eq!(sign_v0(SECRET, T, BODY.as_bytes()), V0);
        assert_eq!(
            signature_header(SECRET, T, BODY.as_bytes()),
            format!("t={T},v0={V0}")
        );
    }

    #[test]
    fn header_parsing_refuses_what_it_cannot_read() {
        for header in [
            "",
            "v0=ab",
            "t=,v0=ab",
            "t=12a,v0=ab",
            "t=-5,v0=ab",
            "t=1",
            "garbage",
        ] {
            assert!(
                matches!(parse_header(header), Err(WebhookError::MalformedHeader)),
                "{header}"
            );
        }
        let parsed = parse_header(" t=5 , v0=zz, v0=0a0b ,v1=ff");
        assert!(matches!(parsed, Ok(p) if p.timestamp == 5 && p.signatures == vec![vec![10, 11]]));
    }
}
