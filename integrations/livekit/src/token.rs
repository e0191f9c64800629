//! LiveKit access tokens (platforms.md §8): HS256 JWTs signed with the API secret, `iss` = API
//! key, `sub` = identity, `nbf`/`exp`, and the `video` and `sip` grants.
//!
//! Minting ([`AccessToken`]) serves the Twirp client, which asks for only the grants each call
//! needs (see `client::grants_for`); verifying ([`verify`]) serves the webhook receiver and the
//! fake. Verification looks the secret up by the token's `iss` in a [`KeySet`], checks the
//! signature with `jsonwebtoken` (HS256 only, so `alg: none` and RS/ES confusion are refused),
//! then checks `exp` (required) and `nbf` against the `now` it is given, with [`LEEWAY_SECS`] of
//! clock tolerance. `now` is an argument so the shared vectors, signed in the past, verify.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{Error, SignatureProblem};

/// Clock tolerance on `exp` and `nbf`, as LiveKit's verifier allows (~10 s).
pub const LEEWAY_SECS: i64 = 10;
/// Lifetime of the tokens the client mints for one server call (the SDKs use 10 minutes).
pub const SERVER_CALL_TTL: Duration = Duration::minutes(10);

fn is_false(value: &bool) -> bool {
    !*value
}

/// One API key and its secret. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiCredentials {
    /// The API key (`iss` of every token).
    pub api_key: String,
    /// The API secret (HS256 key).
    pub api_secret: String,
}

impl ApiCredentials {
    /// Credentials from a key and a secret; `Configuration` if either is blank.
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Result<Self, Error> {
        let api_key = api_key.into().trim().to_owned();
        let api_secret = api_secret.into().trim().to_owned();
        if api_key.is_empty() {
            return Err(Error::Configuration("LIVEKIT_API_KEY is empty".to_owned()));
        }
        if api_secret.is_empty() {
            return Err(Error::Configuration(
                "LIVEKIT_API_SECRET is empty".to_owned(),
            ));
        }
        Ok(Self {
            api_key,
            api_secret,
        })
    }
}

impl fmt::Debug for ApiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiCredentials")
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .finish()
    }
}

/// The `video` grant. Only the fields a server-side caller or a verifier needs are typed; the
/// rest of a participant's grant (publish/subscribe rights) is kept in `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrant {
    /// Create and delete rooms.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_create: bool,
    /// List rooms.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_list: bool,
    /// Join `room` as a participant.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_join: bool,
    /// Administer `room` (list and remove participants, dispatch agents).
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_admin: bool,
    /// Record rooms.
    #[serde(default, skip_serializing_if = "is_false")]
    pub room_record: bool,
    /// The room `room_join`/`room_admin` apply to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub room: String,
    /// Any other grant field (canPublish, hidden, agent...), kept as sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The `sip` grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipGrant {
    /// Manage trunks and dispatch rules.
    #[serde(default, skip_serializing_if = "is_false")]
    pub admin: bool,
    /// Make outbound calls (CreateSIPParticipant, TransferSIPParticipant).
    #[serde(default, skip_serializing_if = "is_false")]
    pub call: bool,
}

/// The claims of a LiveKit JWT (access token or webhook `Authorization`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The API key that signed it.
    #[serde(default)]
    pub iss: String,
    /// The identity (required by LiveKit only for `roomJoin`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sub: String,
    /// Not before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Expiry, Unix seconds (LiveKit's verifier requires it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Display name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Participant metadata.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Video grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoGrant>,
    /// SIP grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip: Option<SipGrant>,
    /// Webhooks: base64(std, padded) of the SHA-256 of the raw body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Participant attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

impl Claims {
    /// The video grant, or an empty one.
    pub fn video_grant(&self) -> VideoGrant {
        self.video.clone().unwrap_or_default()
    }

    /// The SIP grant, or an empty one.
    pub fn sip_grant(&self) -> SipGrant {
        self.sip.clone().unwrap_or_default()
    }
}

/// A token being built: identity, lifetime and grants, signed by [`AccessToken::to_jwt`].
#[derive(Debug, Clone)]
pub struct AccessToken {
    credentials: ApiCredentials,
    identity: String,
    ttl: Duration,
    video: Option<VideoGrant>,
    sip: Option<SipGrant>,
    sha256: Option<String>,
}

impl AccessToken {
    /// A token issued by `credentials.api_key`, with no identity, no grant and
    /// [`SERVER_CALL_TTL`].
    pub fn new(credentials: &ApiCredentials) -> Self {
        Self {
            credentials: credentials.clone(),
            identity: String::new(),
            ttl: SERVER_CALL_TTL,
            video: None,
            sip: None,
            sha256: None,
        }
    }

    /// Sets `sub`.
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }

    /// Sets the lifetime (`exp` = `nbf` + `ttl`).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the `video` grant.
    pub fn with_video_grant(mut self, grant: VideoGrant) -> Self {
        self.video = Some(grant);
        self
    }

    /// Sets the `sip` grant.
    pub fn with_sip_grant(mut self, grant: SipGrant) -> Self {
        self.sip = Some(grant);
        self
    }

    /// Sets the `sha256` claim (webhooks).
    pub fn with_sha256(mut self, sha256: impl Into<String>) -> Self {
        self.sha256 = Some(sha256.into());
        self
    }

    /// The claims this token carries when issued at `now`.
    pub fn claims(&self, now: DateTime<Utc>) -> Claims {
        let nbf = now.timestamp();
        Claims {
            iss: self.credentials.api_key.clone(),
            sub: self.identity.clone(),
            nbf: Some(nbf),
            exp: Some(nbf + self.ttl.num_seconds()),
            video: self.video.clone(),
            sip: self.sip.clone(),
            sha256: self.sha256.clone(),
            ..Claims::default()
        }
    }

    /// The signed JWT, issued at `now`.
    pub fn to_jwt(&self, now: DateTime<Utc>) -> Result<String, Error> {
        sign(&self.claims(now), &self.credentials.api_secret)
    }
}

/// Signs `claims` with HS256 under `secret`.
pub fn sign(claims: &Claims, secret: &str) -> Result<String, Error> {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| Error::Configuration(format!("could not sign a LiveKit token: {e}")))
}

/// The API keys a verifier accepts, each with its secret: the main key plus the extra pairs of
/// `LIVEKIT_WEBHOOK_KEYS` (several projects, or a rotation). `Debug` shows keys, not secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: BTreeMap<String, String>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding `credentials`.
    pub fn single(credentials: &ApiCredentials) -> Self {
        let mut set = Self::new();
        set.keys
            .insert(credentials.api_key.clone(), credentials.api_secret.clone());
        set
    }

    /// Adds (or replaces) one key; `Configuration` if either part is blank.
    pub fn insert(&mut self, api_key: &str, api_secret: &str) -> Result<(), Error> {
        let credentials = ApiCredentials::new(api_key, api_secret)?;
        self.keys
            .insert(credentials.api_key, credentials.api_secret);
        Ok(())
    }

    /// Parses `key=secret` pairs separated by commas, semicolons or new lines (LiveKit's own
    /// `key: secret` form is accepted too). Blank entries are skipped; a pair without a
    /// separator, key or secret is a `Configuration` error that names the position, not the
    /// secret.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let mut set = Self::new();
        for (index, entry) in text
            .split([',', ';', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let Some((key, secret)) = entry.split_once('=').or_else(|| entry.split_once(':'))
            else {
                return Err(Error::Configuration(format!(
                    "LIVEKIT_WEBHOOK_KEYS entry {} is not key=secret",
                    index + 1
                )));
            };
            set.insert(key, secret).map_err(|_| {
                Error::Configuration(format!(
                    "LIVEKIT_WEBHOOK_KEYS entry {} has an empty key or secret",
                    index + 1
                ))
            })?;
        }
        Ok(set)
    }

    /// The secret of `api_key`.
    pub fn secret(&self, api_key: &str) -> Option<&str> {
        self.keys.get(api_key).map(String::as_str)
    }

    /// The keys, sorted.
    pub fn api_keys(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Whether no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Adds every key of `other`.
    pub fn extend(&mut self, other: KeySet) {
        self.keys.extend(other.keys);
    }
}

/// Just the issuer, read before the signature is checked to pick the secret.
#[derive(Deserialize)]
struct Issuer {
    #[serde(default)]
    iss: String,
}

/// The API key a token *claims* to be issued by, read without verifying anything: only for
/// choosing which project's secret to verify it with (several projects, one endpoint).
pub fn claimed_issuer(token: &str) -> Option<String> {
    jsonwebtoken::dangerous::insecure_decode::<Issuer>(token.trim())
        .ok()
        .map(|data| data.claims.iss)
        .filter(|iss| !iss.is_empty())
}

/// Verifies `token` (a bare JWT): the secret of its `iss` in `keys`, an HS256 signature, a
/// present `exp` not past and an `nbf` not ahead of `now` (each with [`LEEWAY_SECS`]).
pub fn verify(token: &str, keys: &KeySet, now: DateTime<Utc>) -> Result<Claims, SignatureProblem> {
    let token = token.trim();
    if token.is_empty() {
        return Err(SignatureProblem::MissingHeader);
    }
    // The issuer is read unverified only to choose the secret; nothing else is trusted before
    // the signature check below.
    let issuer = jsonwebtoken::dangerous::insecure_decode::<Issuer>(token)
        .map_err(|_| SignatureProblem::Malformed)?
        .claims
        .iss;
    let secret = keys.secret(&issuer).ok_or(SignatureProblem::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::HS256);
    // Time is checked below against the given `now`, not the system clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )
    .map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => SignatureProblem::BadSignature,
        _ => SignatureProblem::Malformed,
    })?
    .claims;
    let now = now.timestamp();
    match claims.exp {
        Some(exp) if exp.saturating_add(LEEWAY_SECS) >= now => {}
        _ => return Err(SignatureProblem::Expired),
    }
    if let Some(nbf) = claims.nbf {
        if nbf.saturating_sub(LEEWAY_SECS) > now {
            return Err(SignatureProblem::NotYetValid);
        }
    }
    Ok(claims)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn creds() -> ApiCredentials {
        ApiCredentials::new("APIkey", "secret-of-key").unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn minted_tokens_carry_the_documented_claims_and_verify() {
        let token = AccessToken::new(&creds())
            .with_identity("svc")
            .with_video_grant(VideoGrant {
                room_admin: true,
                room: "call-123".into(),
                ..VideoGrant::default()
            })
            .with_sip_grant(SipGrant {
                call: true,
                ..SipGrant::default()
            });
        let claims = token.claims(at(1_700_000_000));
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"iss":"APIkey","sub":"svc","nbf":1700000000,"exp":1700000600,
                "video":{"roomAdmin":true,"room":"call-123"},"sip":{"call":true}})
        );
        let jwt = token.to_jwt(at(1_700_000_000)).unwrap();
        let verified = verify(&jwt, &KeySet::single(&creds()), at(1_700_000_100)).unwrap();
        assert_eq!(verified, claims);
    }

    #[test]
    fn expiry_nbf_and_keys_are_enforced_with_leeway() {
        let keys = KeySet::single(&creds());
        let jwt = AccessToken::new(&creds())
            .with_ttl(Duration::seconds(60))
            .to_jwt(at(1_000))
            .unwrap();
        assert!(verify(&jwt, &keys, at(1_060 + LEEWAY_SECS)).is_ok());
        assert_eq!(
            verify(&jwt, &keys, at(1_061 + LEEWAY_SECS)),
            Err(SignatureProblem::Expired)
        );
        assert!(verify(&jwt, &keys, at(1_000 - LEEWAY_SECS)).is_ok());
        assert_eq!(
            verify(&jwt, &keys, at(999 - LEEWAY_SECS)),
            Err(SignatureProblem::NotYetValid)
        );
        let other = KeySet::single(&ApiCredentials::new("APIkey", "another").unwrap());
        assert_eq!(
            verify(&jwt, &other, at(1_000)),
            Err(SignatureProblem::BadSignature)
        );
        let stranger = KeySet::single(&ApiCredentials::new("APIother", "x").unwrap());
        assert_eq!(
            verify(&jwt, &stranger, at(1_000)),
            Err(SignatureProblem::UnknownKey)
        );
        assert_eq!(
            verify("not a jwt", &keys, at(1_000)),
            Err(SignatureProblem::Malformed)
        );
        assert_eq!(
            verify("  ", &keys, at(1_000)),
            Err(SignatureProblem::MissingHeader)
        );
    }

    #[test]
    fn a_token_without_exp_is_refused() {
        let claims = Claims {
            iss: "APIkey".into(),
            ..Claims::default()
        };
        let jwt = sign(&claims, "secret-of-key").unwrap();
        assert_eq!(
            verify(&jwt, &KeySet::single(&creds()), at(1)),
            Err(SignatureProblem::Expired)
        );
    }

    #[test]
    fn unsigned_and_foreign_algorithm_tokens_are_refused() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = b64.encode(br#"{"iss":"APIkey","exp":99999999999}"#);
        for header in [
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
        ] {
            let jwt = format!("{}.{payload}.", b64.encode(header));
            assert!(verify(&jwt, &KeySet::single(&creds()), at(1)).is_err());
        }
    }

    #[test]
    fn key_lists_parse_and_never_echo_secrets() {
        let set = KeySet::parse("APIa=sa, APIb: sb\nAPIc=sc;").unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.secret("APIb"), Some("sb"));
        assert!(!format!("{set:?}").contains("sa"));
        assert!(!format!("{:?}", creds()).contains("secret-of-key"));
        assert!(KeySet::parse("").unwrap().is_empty());
        let error = KeySet::parse("APIa=sa,oops").unwrap_err();
        assert!(matches!(error, Error::Configuration(m) if m.contains("entry 2")));
        assert!(KeySet::parse("APIa=").is_err());
        assert!(ApiCredentials::new("", "x").is_err());
    }
}
