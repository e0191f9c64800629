//! LiveKit webhooks (platforms.md §8): the single front door for verifying and parsing them.
//!
//! - algorithm: the `Authorization` header holds a bare JWT (no `Bearer`), HS256 with the API
//!   secret of the key in its `iss`; any of several configured keys ([`KeySet`]);
//! - freshness: `exp` is required (LiveKit signs for 5 minutes), `nbf` honoured, both with
//!   `token::LEEWAY_SECS` of tolerance against the `now` given;
//! - body binding: the claim `sha256` must equal base64 (standard alphabet, padded) of the
//!   SHA-256 of the raw body bytes exactly as received, compared in constant time.
//!
//! Only then is the body parsed as protojson (camelCase, int64 strings, enum names) into a
//! [`WebhookEvent`]; unknown events and fields are kept or ignored, never an error. There is no
//! way to parse without verifying (CONVENTIONS.md: verification is mandatory). Deduplication of
//! redeliveries is the caller's, on [`WebhookEvent::id`].

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{Error, SignatureProblem};
use crate::models::WebhookEvent;
use crate::token::{self, AccessToken, ApiCredentials, Claims, KeySet};

/// The header carrying the JWT.
pub const AUTHORIZATION: &str = "authorization";
/// The `Content-Type` LiveKit posts with.
pub const CONTENT_TYPE: &str = "application/webhook+json";
/// How long LiveKit's webhook tokens are valid.
pub const TOKEN_TTL: Duration = Duration::minutes(5);

/// `sha256` claim value for `raw_body`: base64 (standard, padded) of its SHA-256.
pub fn body_hash(raw_body: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(raw_body))
}

/// The `Authorization` value LiveKit would send with `raw_body` at `now` (the fake signs with
/// it).
pub fn sign(
    credentials: &ApiCredentials,
    raw_body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, Error> {
    AccessToken::new(credentials)
        .with_ttl(TOKEN_TTL)
        .with_sha256(body_hash(raw_body))
        .to_jwt(now)
}

/// The API key a delivery's `Authorization` token claims as its issuer, unverified: which
/// project's receiver should verify it, when one endpoint serves several projects.
pub fn claimed_issuer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(token::claimed_issuer)
}

/// Verifies and parses LiveKit webhooks for a set of API keys.
#[derive(Debug, Clone)]
pub struct Receiver {
    keys: KeySet,
}

impl Receiver {
    /// A receiver accepting tokens issued by any key of `keys`; `Configuration` if it is empty.
    pub fn new(keys: KeySet) -> Result<Self, Error> {
        if keys.is_empty() {
            return Err(Error::Configuration(
                "no LiveKit API key to verify webhooks with (LIVEKIT_API_KEY/LIVEKIT_API_SECRET \
                 or LIVEKIT_WEBHOOK_KEYS)"
                    .to_owned(),
            ));
        }
        Ok(Self { keys })
    }

    /// A receiver from the settings: the main key (`LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`,
    /// both or neither) plus the `key=secret` pairs of `LIVEKIT_WEBHOOK_KEYS`.
    pub fn from_settings(
        api_key: Option<&str>,
        api_secret: Option<&str>,
        webhook_keys: Option<&str>,
    ) -> Result<Self, Error> {
        fn blank(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        let mut keys = KeySet::new();
        match (blank(api_key), blank(api_secret)) {
            (Some(key), Some(secret)) => keys.insert(key, secret)?,
            (None, None) => {}
            (Some(_), None) => {
                return Err(Error::Configuration(
                    "LIVEKIT_API_KEY is set without LIVEKIT_API_SECRET".to_owned(),
                ))
            }
            (None, Some(_)) => {
                return Err(Error::Configuration(
                    "LIVEKIT_API_SECRET is set without LIVEKIT_API_KEY".to_owned(),
                ))
            }
        }
        if let Some(extra) = blank(webhook_keys) {
            keys.extend(KeySet::parse(extra)?);
        }
        Self::new(keys)
    }

    /// The accepted keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies the `Authorization` JWT of a delivery against `raw_body` at `now`, returning its
    /// claims.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        raw_body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Claims, Error> {
        let authorization = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
            .ok_or(SignatureProblem::MissingHeader)?;
        self.verify_authorization(authorization, raw_body, now)
    }

    /// [`Receiver::verify`] given the header's value.
    pub fn verify_authorization(
        &self,
        authorization: &str,
        raw_body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Claims, Error> {
        // Authenticity and freshness first: a forged token learns nothing about the body check.
        let claims = token::verify(authorization, &self.keys, now)?;
        let claimed = claims
            .sha256
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(SignatureProblem::MissingBodyHash)?;
        let actual = body_hash(raw_body);
        if claimed.len() == actual.len() && bool::from(claimed.as_bytes().ct_eq(actual.as_bytes()))
        {
            Ok(claims)
        } else {
            Err(SignatureProblem::BodyMismatch.into())
        }
    }

    /// Verifies a delivery, then parses its body: the one way to get a [`WebhookEvent`].
    pub fn receive(
        &self,
        headers: &HeaderMap,
        raw_body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<WebhookEvent, Error> {
        self.verify(headers, raw_body, now)?;
        parse(raw_body)
    }
}

/// Parses a verified body. Unknown events and fields are tolerated; only a body that is not a
/// JSON object with an `event` is `Decode`.
fn parse(raw_body: &[u8]) -> Result<WebhookEvent, Error> {
    let event: WebhookEvent = serde_json::from_slice(raw_body)
        .map_err(|e| Error::Decode(format!("LiveKit webhook body: {e}")))?;
    if event.event.as_str().is_empty() {
        return Err(Error::Decode("LiveKit webhook without an event".to_owned()));
    }
    Ok(event)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn the_platforms_cheat_sheet_hash_matches() {
        let body = br#"{"event":"room_started","room":{"sid":"RM_x","name":"call-1"},"id":"EV_1","createdAt":"1700000000"}"#;
        assert_eq!(
            body_hash(body),
            "2DT70L9CgksV6jfjuhKhGxrXown2xQeqpdB5IjeLqTU="
        );
    }

    #[test]
    fn settings_need_a_key_and_name_the_missing_half() {
        assert!(matches!(
            Receiver::from_settings(None, None, None),
            Err(Error::Configuration(_))
        ));
        assert!(matches!(
            Receiver::from_settings(Some("APIk"), None, None),
            Err(Error::Configuration(m)) if m.contains("LIVEKIT_API_SECRET")
        ));
        let receiver =
            Receiver::from_settings(Some("APIk"), Some("s"), Some("APIx=sx,APIy=sy")).unwrap();
        assert_eq!(receiver.keys().len(), 3);
        let only_extra = Receiver::from_settings(None, Some(" "), Some("APIx=sx")).unwrap();
        assert_eq!(only_extra.keys().api_keys().collect::<Vec<_>>(), ["APIx"]);
    }

    #[test]
    fn parse_tolerates_unknown_events_and_refuses_non_events() {
        let event = parse(br#"{"event":"sip_hiccup","id":"EV_9","brandNew":{"x":1}}"#).unwrap();
        assert_eq!(event.event.as_str(), "sip_hiccup");
        assert!(parse(b"[]").is_err());
        assert!(parse(br#"{"id":"EV_1"}"#).is_err());
        assert!(parse(b"").is_err());
    }
}
