//! EventSub webhook verification (platforms.md §2.4): which algorithm, which bytes, which secret.
//!
//! - algorithm: HMAC-SHA256, hex, header `Twitch-Eventsub-Message-Signature: sha256=<hex>`;
//! - signed bytes: `message_id + timestamp + raw_body`, plain concatenation of the header values
//!   exactly as received and the body bytes exactly as received (never re-serialised JSON);
//! - secret: the one given when the subscription was created (10–100 ASCII chars).
//!
//! The comparison is constant-time (`subtle`) on the decoded digest. A correctly signed message
//! whose timestamp is more than 10 minutes away from `now` is refused as a replay; `now` is an
//! argument. Verification is mandatory: there is no "skip" path (CONVENTIONS.md, hyperswitch's
//! lesson). Seen-id deduplication is the caller's (it needs storage); `WebhookMeta::message_id`
//! is the key.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::{SignatureProblem, TwitchError};
use crate::eventsub::{parse_webhook, EventSubMessage};

/// `Twitch-Eventsub-Message-Id`.
pub const HEADER_MESSAGE_ID: &str = "Twitch-Eventsub-Message-Id";
/// `Twitch-Eventsub-Message-Retry`.
pub const HEADER_MESSAGE_RETRY: &str = "Twitch-Eventsub-Message-Retry";
/// `Twitch-Eventsub-Message-Type`.
pub const HEADER_MESSAGE_TYPE: &str = "Twitch-Eventsub-Message-Type";
/// `Twitch-Eventsub-Message-Signature`.
pub const HEADER_MESSAGE_SIGNATURE: &str = "Twitch-Eventsub-Message-Signature";
/// `Twitch-Eventsub-Message-Timestamp`.
pub const HEADER_MESSAGE_TIMESTAMP: &str = "Twitch-Eventsub-Message-Timestamp";
/// `Twitch-Eventsub-Subscription-Type`.
pub const HEADER_SUBSCRIPTION_TYPE: &str = "Twitch-Eventsub-Subscription-Type";
/// `Twitch-Eventsub-Subscription-Version`.
pub const HEADER_SUBSCRIPTION_VERSION: &str = "Twitch-Eventsub-Subscription-Version";

/// Twitch's replay window: 10 minutes.
pub const TOLERANCE: Duration = Duration::minutes(10);

/// What the headers of a verified delivery say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookMeta {
    /// Dedupe on it: Twitch may deliver the same message more than once.
    pub message_id: String,
    /// `notification`, `webhook_callback_verification` or `revocation`.
    pub message_type: String,
    /// The signed timestamp.
    pub timestamp: DateTime<Utc>,
    /// `Twitch-Eventsub-Message-Retry`, when present.
    pub retry: Option<u32>,
    /// `Twitch-Eventsub-Subscription-Type`, when present.
    pub subscription_type: Option<String>,
    /// `Twitch-Eventsub-Subscription-Version`, when present.
    pub subscription_version: Option<String>,
}

/// `sha256=<hex>` for these inputs (what Twitch sends; the fake signs with it).
pub fn sign(secret: &[u8], message_id: &str, timestamp: &str, raw_body: &[u8]) -> String {
    format!(
        "sha256={}",
        to_hex(&digest(secret, message_id, timestamp, raw_body))
    )
}

/// Checks `signature_header` against the HMAC of `message_id + timestamp + raw_body`, in
/// constant time.
pub fn verify_signature(
    secret: &[u8],
    message_id: &str,
    timestamp: &str,
    raw_body: &[u8],
    signature_header: &str,
) -> Result<(), SignatureProblem> {
    let hex = signature_header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureProblem::Malformed)?;
    let given = from_hex(hex).ok_or(SignatureProblem::Malformed)?;
    let expected = digest(secret, message_id, timestamp, raw_body);
    if given.len() == expected.len() && bool::from(given.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(SignatureProblem::Mismatch)
    }
}

/// Checks that the RFC 3339 `timestamp` is within [`TOLERANCE`] of `now` (either side: a
/// timestamp from the future is as suspicious as an old one).
pub fn check_timestamp(
    timestamp: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SignatureProblem> {
    let at = DateTime::parse_from_rfc3339(timestamp.trim())
        .map_err(|_| SignatureProblem::BadTimestamp)?
        .with_timezone(&Utc);
    let distance = (now - at).abs();
    if distance > TOLERANCE {
        return Err(SignatureProblem::Stale {
            age_secs: distance.num_seconds(),
        });
    }
    Ok(at)
}

/// Verifies a delivery: required headers present, signature valid, timestamp fresh.
pub fn verify(
    headers: &HeaderMap,
    raw_body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<WebhookMeta, TwitchError> {
    let required = |name: &'static str| {
        header(headers, name).ok_or(TwitchError::SignatureInvalid(
            SignatureProblem::MissingHeader(name),
        ))
    };
    let message_id = required(HEADER_MESSAGE_ID)?;
    let timestamp = required(HEADER_MESSAGE_TIMESTAMP)?;
    let signature = required(HEADER_MESSAGE_SIGNATURE)?;
    let message_type = required(HEADER_MESSAGE_TYPE)?;
    // Authenticity first: a forged message learns nothing about our clock.
    verify_signature(secret, message_id, timestamp, raw_body, signature)?;
    let timestamp = check_timestamp(timestamp, now)?;
    Ok(WebhookMeta {
        message_id: message_id.to_owned(),
        message_type: message_type.to_owned(),
        timestamp,
        retry: header(headers, HEADER_MESSAGE_RETRY).and_then(|r| r.trim().parse().ok()),
        subscription_type: header(headers, HEADER_SUBSCRIPTION_TYPE).map(str::to_owned),
        subscription_version: header(headers, HEADER_SUBSCRIPTION_VERSION).map(str::to_owned),
    })
}

/// [`verify`], then [`parse_webhook`] by the verified message type.
pub fn verify_and_parse(
    headers: &HeaderMap,
    raw_body: &[u8],
    secret: &[u8],
    now: DateTime<Utc>,
) -> Result<(WebhookMeta, EventSubMessage), TwitchError> {
    let meta = verify(headers, raw_body, secret, now)?;
    let message = parse_webhook(&meta.message_type, raw_body)?;
    Ok((meta, message))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn digest(secret: &[u8], message_id: &str, timestamp: &str, raw_body: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return Vec::new(),
    };
    mac.update(message_id.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(raw_body);
    mac.finalize().into_bytes().to_vec()
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[(b >> 4) as usize] as char,
                DIGITS[(b & 0xf) as usize] as char,
            ]
        })
        .collect()
}

fn from_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    let nibble = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The known-answer vector of platforms.md §2.4 (twitch_api's `verify_request` test).
    const SECRET: &[u8] = b"secretabcd";
    const ID: &str = "ae2ff348-e102-16be-a3eb-6830c1bf38d2";
    const TS: &str = "2021-02-19T23:47:00.8091512Z";
    const BODY: &str = r#"{"subscription":{"id":"ae2ff348-e102-16be-a3eb-6830c1bf38d2","status":"enabled","type":"channel.follow","version":"1","condition":{"broadcaster_user_id":"44429626"},"transport":{"method":"webhook","callback":"null"},"created_at":"2021-02-19T23:47:00.7621315Z"},"event":{"user_id":"28408015","user_login":"testFromUser","user_name":"testFromUser","broadcaster_user_id":"44429626","broadcaster_user_login":"44429626","broadcaster_user_name":"testBroadcaster"}}"#;
    const SIG: &str = "sha256=d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823";

    fn headers(id: &str, ts: &str, sig: &str, kind: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in [
            (HEADER_MESSAGE_ID, id),
            (HEADER_MESSAGE_TIMESTAMP, ts),
            (HEADER_MESSAGE_SIGNATURE, sig),
            (HEADER_MESSAGE_TYPE, kind),
            (HEADER_MESSAGE_RETRY, "0"),
            (HEADER_SUBSCRIPTION_TYPE, "channel.follow"),
            (HEADER_SUBSCRIPTION_VERSION, "1"),
        ] {
            map.insert(name, value.parse().unwrap());
        }
        map
    }

    fn shortly_after(ts: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(ts)
            .unwrap()
            .with_timezone(&Utc)
            + Duration::seconds(3)
    }

    #[test]
    fn the_platforms_md_known_answer_signs_and_verifies() {
        assert_eq!(BODY.len(), 458);
        assert_eq!(sign(SECRET, ID, TS, BODY.as_bytes()), SIG);
        let meta = verify(
            &headers(ID, TS, SIG, "notification"),
            BODY.as_bytes(),
            SECRET,
            shortly_after(TS),
        )
        .unwrap();
        assert_eq!(meta.message_id, ID);
        assert_eq!(meta.retry, Some(0));
        assert_eq!(meta.subscription_type.as_deref(), Some("channel.follow"));
    }

    #[test]
    fn tampering_wrong_secrets_staleness_and_missing_headers_are_refused() {
        let now = shortly_after(TS);
        let tampered = BODY.replace("testFromUser", "evilFromUser");
        let problem = |result: Result<WebhookMeta, TwitchError>| match result {
            Err(TwitchError::SignatureInvalid(problem)) => problem,
            other => panic!("expected a signature problem, got {other:?}"),
        };
        let ok_headers = headers(ID, TS, SIG, "notification");
        assert_eq!(
            problem(verify(&ok_headers, tampered.as_bytes(), SECRET, now)),
            SignatureProblem::Mismatch
        );
        assert_eq!(
            problem(verify(&ok_headers, BODY.as_bytes(), b"secretabce", now)),
            SignatureProblem::Mismatch
        );
        assert_eq!(
            problem(verify(
                &headers("other-id", TS, SIG, "notification"),
                BODY.as_bytes(),
                SECRET,
                now
            )),
            SignatureProblem::Mismatch
        );
        let later = now + Duration::minutes(10);
        assert!(matches!(
            problem(verify(&ok_headers, BODY.as_bytes(), SECRET, later)),
            SignatureProblem::Stale { age_secs } if age_secs == 603
        ));
        let earlier = now - Duration::minutes(11);
        assert!(matches!(
            problem(verify(&ok_headers, BODY.as_bytes(), SECRET, earlier)),
            SignatureProblem::Stale { .. }
        ));
        // Exactly at the tolerance edge is still accepted.
        let edge = DateTime::parse_from_rfc3339(TS)
            .unwrap()
            .with_timezone(&Utc)
            + TOLERANCE;
        assert!(verify(&ok_headers, BODY.as_bytes(), SECRET, edge).is_ok());

        for missing in [
            HEADER_MESSAGE_ID,
            HEADER_MESSAGE_TIMESTAMP,
            HEADER_MESSAGE_SIGNATURE,
            HEADER_MESSAGE_TYPE,
        ] {
            let mut map = ok_headers.clone();
            map.remove(missing);
            assert_eq!(
                problem(verify(&map, BODY.as_bytes(), SECRET, now)),
                SignatureProblem::MissingHeader(missing)
            );
        }
        for bad in [
            "d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823",
            "sha256=xyz",
            "sha256=d10f5",
            "sha1=d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823",
        ] {
            assert_eq!(
                problem(verify(
                    &headers(ID, TS, bad, "notification"),
                    BODY.as_bytes(),
                    SECRET,
                    now
                )),
                SignatureProblem::Malformed,
                "{bad}"
            );
        }
        // A truncated but well-formed digest is a mismatch, not a panic.
        assert_eq!(
            problem(verify(
                &headers(ID, TS, "sha256=d10f5bd9", "notification"),
                BODY.as_bytes(),
                SECRET,
                now
            )),
            SignatureProblem::Mismatch
        );
        let bad_ts = "yesterday";
        let sig = sign(SECRET, ID, bad_ts, BODY.as_bytes());
        assert_eq!(
            problem(verify(
                &headers(ID, bad_ts, &sig, "notification"),
                BODY.as_bytes(),
                SECRET,
                now
            )),
            SignatureProblem::BadTimestamp
        );
    }

    #[test]
    fn verify_and_parse_reads_the_verified_type() {
        let (meta, message) = verify_and_parse(
            &headers(ID, TS, SIG, "notification"),
            BODY.as_bytes(),
            SECRET,
            shortly_after(TS),
        )
        .unwrap();
        assert_eq!(meta.message_type, "notification");
        assert!(matches!(
            message,
            EventSubMessage::Notification { event: crate::eventsub::Event::Other { kind, .. }, .. }
                if kind == "channel.follow"
        ));
    }

    #[test]
    fn hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        assert_eq!(from_hex("ABCDEF"), Some(vec![0xab, 0xcd, 0xef]));
        assert_eq!(from_hex("abc"), None);
    }
}
