//! Who is calling: password hashing, member tokens (JWT HS256, algorithm pinned on decode), API
//! keys (`ll_<id>_<secret>`, only the SHA-256 of the secret stored) and the resolved `Principal`.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use leadline_domain::ids::{ApiKeyId, CallId, LeadId, TenantId, UserId};
use leadline_domain::tenant::{ApiKeyScope, Permissions, Role};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::store::Store;

/// The authenticated caller of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// No credentials were sent.
    Anonymous,
    /// A signed-in member of a tenant; the role is read from the database on every request, so a
    /// removed or demoted member loses access at once, whatever the token says.
    Member {
        user_id: Uuid,
        tenant_id: TenantId,
        role: Role,
    },
    /// An API key of a tenant.
    ApiKey {
        key_id: Uuid,
        tenant_id: TenantId,
        scopes: Vec<ApiKeyScope>,
    },
    /// A tenant's end-user in the support chat (a signed-in customer of the tenant's site, or an
    /// anonymous visitor), holding a short-lived customer token. Bound to one tenant and one
    /// lead (through its WEB_CHAT identity); has no member permissions at all, so every member
    /// operation refuses it — only the support-chat operations for its own sessions accept it.
    Customer {
        tenant_id: TenantId,
        /// The lead the customer is, in the tenant's CRM.
        lead_id: Uuid,
        /// The WEB_CHAT identity: the tenant's `externalUserId`, or `visitor:<id>`.
        external_id: String,
    },
    /// The voice agent on one call, holding the call-scoped token from its dispatch metadata.
    /// May report on that call (`appendCallTranscript`, `recordCallOutcome`) and nothing else.
    CallAgent { tenant_id: TenantId, call_id: Uuid },
}

/// The caller's IP address (attached by the HTTP layer), for per-client limits such as sign-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub std::net::IpAddr);

/// The kind of access an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Administer,
}

/// Who did something, for the audit log and score events.
#[derive(Debug, Clone, Copy, Default)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
}

impl Principal {
    /// What the principal may do.
    pub fn permissions(&self) -> Permissions {
        match self {
            Principal::Anonymous | Principal::Customer { .. } | Principal::CallAgent { .. } => {
                Permissions::default()
            }
            Principal::Member { role, .. } => role.permissions(),
            Principal::ApiKey { scopes, .. } => Permissions::for_api_key(scopes),
        }
    }

    /// Checks `access` and returns the caller's tenant: the only tenant any store call may use.
    pub fn require(&self, access: Access) -> ApiResult<TenantId> {
        let tenant_id = match self {
            Principal::Anonymous => {
                return Err(ApiError::Unauthenticated(
                    "sign in or send an API key".into(),
                ))
            }
            Principal::Customer { .. } => {
                return Err(ApiError::Forbidden(
                    "a customer token can only use the support chat".into(),
                ))
            }
            Principal::CallAgent { .. } => return Err(call_agent_only()),
            Principal::Member { tenant_id, .. } | Principal::ApiKey { tenant_id, .. } => *tenant_id,
        };
        let permissions = self.permissions();
        let allowed = match access {
            Access::Read => permissions.read,
            Access::Write => permissions.write,
            Access::Administer => permissions.administer,
        };
        if allowed {
            Ok(tenant_id)
        } else {
            Err(ApiError::Forbidden(match (self, access) {
                (Principal::ApiKey { .. }, Access::Administer) => {
                    "API keys cannot manage members, keys or channel secrets".into()
                }
                (Principal::ApiKey { .. }, _) => "this API key's scopes do not allow that".into(),
                (_, Access::Administer) => "only owners and admins can do that".into(),
                _ => "your role does not allow changes".into(),
            }))
        }
    }

    /// The member's user id and role, for operations only people can do.
    pub fn member(&self) -> ApiResult<(Uuid, TenantId, Role)> {
        match self {
            Principal::Member {
                user_id,
                tenant_id,
                role,
            } => Ok((*user_id, *tenant_id, *role)),
            Principal::ApiKey { .. } => Err(ApiError::Forbidden(
                "this operation needs a signed-in member, not an API key".into(),
            )),
            Principal::Customer { .. } => Err(ApiError::Forbidden(
                "a customer token can only use the support chat".into(),
            )),
            Principal::CallAgent { .. } => Err(call_agent_only()),
            Principal::Anonymous => Err(ApiError::Unauthenticated("sign in first".into())),
        }
    }

    /// The tenant, when the caller may report on call `call_id`: a member or key that may
    /// write, a CALLS key, or that call's own agent token.
    pub fn require_call_reporter(&self, call_id: Uuid) -> ApiResult<TenantId> {
        match self {
            Principal::CallAgent {
                tenant_id,
                call_id: own,
            } => {
                if *own == call_id {
                    Ok(*tenant_id)
                } else {
                    Err(ApiError::Forbidden(
                        "this call token reports on another call".into(),
                    ))
                }
            }
            Principal::ApiKey { tenant_id, .. } if self.permissions().report_calls => {
                Ok(*tenant_id)
            }
            Principal::Member { tenant_id, .. } if self.permissions().report_calls => {
                Ok(*tenant_id)
            }
            _ => self.require(Access::Write),
        }
    }

    /// The actor recorded in audit entries.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Member { user_id, .. } => Actor {
                user_id: Some(*user_id),
                api_key_id: None,
            },
            Principal::ApiKey { key_id, .. } => Actor {
                user_id: None,
                api_key_id: Some(*key_id),
            },
            Principal::Anonymous | Principal::Customer { .. } | Principal::CallAgent { .. } => {
                Actor::default()
            }
        }
    }
}

fn call_agent_only() -> ApiError {
    ApiError::Forbidden(
        "a call token can only report on its call (appendCallTranscript, recordCallOutcome)".into(),
    )
}

/// The audience of call-scoped agent tokens (see [`Principal::CallAgent`]).
pub const CALL_AGENT_AUDIENCE: &str = "leadline:call-agent";

/// The claims of a call-scoped agent token.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallAgentClaims {
    /// The call id.
    pub sub: Uuid,
    /// The tenant.
    pub tid: Uuid,
    /// Always [`CALL_AGENT_AUDIENCE`].
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The audience of the tokens a phone-agent call's TwiML hands to its media stream. They open
/// that one stream and are no credential anywhere else: [`authenticate`] sends every audience
/// other than the call agent's to the customer decoder, which refuses this one.
pub const MEDIA_STREAM_AUDIENCE: &str = "leadline:media-stream";

/// The claims of a media-stream token: which call of which tenant, and which Twilio call
/// (`CallSid`) may carry it.
#[derive(Debug, Serialize, Deserialize)]
pub struct MediaStreamClaims {
    /// The call id.
    pub sub: Uuid,
    /// The tenant.
    pub tid: Uuid,
    /// Twilio's `CallSid`: the stream's `start` must name the same call.
    pub csid: String,
    /// Always [`MEDIA_STREAM_AUDIENCE`].
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The audience of customer tokens. Member tokens carry none and customer tokens carry no role,
/// and each decoder requires its own shape, so neither kind is ever accepted as the other.
pub const CUSTOMER_AUDIENCE: &str = "leadline:customer";

/// The claims of a customer token (support chat end-users).
#[derive(Debug, Serialize, Deserialize)]
pub struct CustomerClaims {
    /// The lead id.
    pub sub: Uuid,
    /// The tenant.
    pub tid: Uuid,
    /// The WEB_CHAT identity the token was issued for.
    pub ext: String,
    /// Always [`CUSTOMER_AUDIENCE`].
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The claims of a member token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// The tenant the token is for.
    pub tid: Uuid,
    /// The role when the token was issued (informational; the database decides).
    pub role: String,
    /// The account's `session_version` when the token was issued: a token from before the
    /// account's sessions were revoked is refused. (A version rather than `iat`, whose whole
    /// seconds cannot order a revocation and a new sign-in within the same second.)
    #[serde(default)]
    pub sv: i32,
    pub iat: i64,
    pub exp: i64,
}

/// Issues and verifies member and customer tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: chrono::Duration,
    customer_ttl: chrono::Duration,
}

impl TokenKeys {
    /// Keys from a secret of at least 32 bytes.
    pub fn new(secret: &[u8], ttl: std::time::Duration) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            ttl: chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(12)),
            customer_ttl: chrono::Duration::hours(1),
        }
    }

    /// Sets the lifetime of customer tokens (short: they live in browsers).
    pub fn with_customer_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.customer_ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::hours(1));
        self
    }

    /// A customer token for the lead `lead_id` known on WEB_CHAT as `external_id`, and when it
    /// expires.
    pub fn issue_customer(
        &self,
        tenant_id: Uuid,
        lead_id: Uuid,
        external_id: &str,
        now: DateTime<Utc>,
    ) -> ApiResult<(String, DateTime<Utc>)> {
        let expires_at = now + self.customer_ttl;
        let claims = CustomerClaims {
            sub: lead_id,
            tid: tenant_id,
            ext: external_id.to_owned(),
            aud: CUSTOMER_AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok((token, expires_at))
    }

    /// Verifies a customer token: HS256 only, unexpired, with the customer audience.
    pub fn verify_customer(&self, token: &str) -> ApiResult<CustomerClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.set_audience(&[CUSTOMER_AUDIENCE]);
        jsonwebtoken::decode::<CustomerClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => ApiError::Unauthenticated(
                    "the customer token has expired; ask for a new one".into(),
                ),
                _ => ApiError::Unauthenticated("the token is not valid".into()),
            })
    }

    /// A token that lets the voice agent report on call `call_id` until `expires_at`.
    pub fn issue_call_agent(
        &self,
        tenant_id: Uuid,
        call_id: Uuid,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> ApiResult<String> {
        let claims = CallAgentClaims {
            sub: call_id,
            tid: tenant_id,
            aud: CALL_AGENT_AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// Verifies a call-scoped agent token: HS256 only, unexpired, with the call-agent audience.
    pub fn verify_call_agent(&self, token: &str) -> ApiResult<CallAgentClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.set_audience(&[CALL_AGENT_AUDIENCE]);
        jsonwebtoken::decode::<CallAgentClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::Unauthenticated("the call token has expired".into())
                }
                _ => ApiError::Unauthenticated("the token is not valid".into()),
            })
    }

    /// A token that opens the media stream of call `call_id` (Twilio call `call_sid`) until
    /// `now + ttl`.
    pub fn issue_media_stream(
        &self,
        tenant_id: Uuid,
        call_id: Uuid,
        call_sid: &str,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> ApiResult<String> {
        let claims = MediaStreamClaims {
            sub: call_id,
            tid: tenant_id,
            csid: call_sid.to_owned(),
            aud: MEDIA_STREAM_AUDIENCE.to_owned(),
            iat: now.timestamp(),
            exp: (now + ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// Verifies a media-stream token: HS256 only, with its audience, and unexpired with no
    /// leeway (it lives seconds; Twilio connects at once).
    pub fn verify_media_stream(&self, token: &str) -> ApiResult<MediaStreamClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.set_audience(&[MEDIA_STREAM_AUDIENCE]);
        jsonwebtoken::decode::<MediaStreamClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::Unauthenticated("the media-stream token has expired".into())
                }
                _ => ApiError::Unauthenticated("the token is not valid".into()),
            })
    }

    /// A token for `user_id` in `tenant_id`, for an account that never had its sessions revoked
    /// (session version 0); see [`TokenKeys::issue_session`].
    pub fn issue(
        &self,
        user_id: Uuid,
        tenant_id: Uuid,
        role: Role,
        now: DateTime<Utc>,
    ) -> ApiResult<String> {
        self.issue_session(user_id, tenant_id, role, 0, now)
    }

    /// A token for `user_id` in `tenant_id` under the account's current `session_version`.
    pub fn issue_session(
        &self,
        user_id: Uuid,
        tenant_id: Uuid,
        role: Role,
        session_version: i32,
        now: DateTime<Utc>,
    ) -> ApiResult<String> {
        let claims = Claims {
            sub: user_id,
            tid: tenant_id,
            role: role.as_str().to_owned(),
            sv: session_version,
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(e.into()))
    }

    /// Verifies signature and expiry. Only HS256 is accepted, so a token that names `none` or
    /// an asymmetric algorithm is refused before any key is used.
    pub fn verify(&self, token: &str) -> ApiResult<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        // Member tokens have no audience; one that names any (a customer token) is refused
        // here, whatever else it carries.
        if has_audience(token) {
            return Err(ApiError::Unauthenticated("the token is not valid".into()));
        }
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|error| match error.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::Unauthenticated("the token has expired; log in again".into())
                }
                _ => ApiError::Unauthenticated("the token is not valid".into()),
            })
    }
}

/// The (unverified) `aud` claim of a JWT, if it has one: only picks which decoder runs; the
/// decoder then verifies everything, the audience included.
fn token_audience(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|claims| {
            claims
                .get("aud")
                .map(|aud| aud.as_str().unwrap_or("").to_owned())
        })
}

/// Whether a JWT names any audience (customer and call-agent tokens do; member tokens never).
fn has_audience(token: &str) -> bool {
    token_audience(token).is_some()
}

/// Random bytes, base64url without padding.
pub fn random_secret(bytes: usize) -> String {
    let mut buffer = vec![0_u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buffer);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buffer)
}

/// Hex SHA-256, for high-entropy secrets (API keys, invite codes) where a slow hash buys nothing.
pub fn sha256_hex(value: &str) -> String {
    Sha256::digest(value.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Constant-time equality of two strings.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Argon2 runs at most once per core at a time: each hash takes tens of milliseconds of one core
/// and 19 MiB, so a flood of logins or sign-ups waits in this queue instead of filling the
/// blocking pool (512 threads) and starving everything else. Callers check their rate limits
/// before they get here, so refused attempts never queue.
fn argon2_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(1, usize::from))
    })
}

/// Runs `work` on the blocking pool under an Argon2 permit.
async fn with_argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    // The semaphore is never closed, so acquiring only fails if that invariant is broken.
    let _permit = argon2_permits()
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    // Lets operators (and the flood tests) see how much hashing requests cause.
    metrics::counter!("leadline_password_hashes_total").increment(1);
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Hashes a password with Argon2id (the crate's defaults follow OWASP's minimums). Runs on the
/// blocking pool under [`argon2_permits`]: one hash takes tens of milliseconds and must not
/// stall the async workers.
pub async fn hash_password(password: String) -> ApiResult<String> {
    with_argon2(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("argon2: {e}")))
}

/// Checks a password against a stored hash; `None` (no such user) still does the work of one
/// verification so response time does not reveal which e-mails exist.
pub async fn verify_password(password: String, stored: Option<String>) -> bool {
    // A valid Argon2id hash of a random string, used only to spend the same time.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8Hq5mXhJ1p0m4mZr3b9o5rW7Q8n8gVq8m0m1Jm8nC2Y";
    let found = stored.is_some();
    with_argon2(move || {
        let stored = stored.unwrap_or_else(|| DUMMY.to_owned());
        match PasswordHash::new(&stored) {
            Ok(hash) => Argon2::default()
                .verify_password(password.as_bytes(), &hash)
                .is_ok(),
            Err(_) => false,
        }
    })
    .await
    .unwrap_or(false)
        && found
}

/// A new API key: the full credential (shown once) and what is stored.
pub struct NewApiKey {
    pub id: Uuid,
    pub credential: String,
    pub prefix: String,
    pub secret_hash: String,
}

/// Makes a key `ll_<32 hex id>_<43 chars secret>`.
pub fn new_api_key(id: Uuid) -> NewApiKey {
    let secret = random_secret(32);
    let credential = format!("ll_{}_{}", id.simple(), secret);
    NewApiKey {
        id,
        prefix: credential[..11].to_owned(),
        secret_hash: sha256_hex(&secret),
        credential,
    }
}

/// Splits a credential into key id and secret, if it has the API-key shape.
pub fn parse_api_key(credential: &str) -> Option<(Uuid, &str)> {
    let rest = credential.strip_prefix("ll_")?;
    let (id, secret) = rest.split_once('_')?;
    Some((Uuid::parse_str(id).ok()?, secret))
}

/// Resolves a bearer credential (JWT or API key) to a principal. Any credential that is present
/// but wrong is an error — never silently anonymous.
pub async fn authenticate(
    store: &Store,
    keys: &TokenKeys,
    bearer: Option<&str>,
) -> ApiResult<Principal> {
    let Some(credential) = bearer.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(Principal::Anonymous);
    };
    if let Some((key_id, secret)) = parse_api_key(credential) {
        let key = store
            .api_key_for_auth(ApiKeyId(key_id))
            .await?
            .ok_or_else(|| ApiError::Unauthenticated("unknown API key".into()))?;
        if key.revoked_at.is_some() {
            return Err(ApiError::Unauthenticated("this API key was revoked".into()));
        }
        if !constant_time_eq(&sha256_hex(secret), &key.secret_hash) {
            return Err(ApiError::Unauthenticated("unknown API key".into()));
        }
        store.touch_api_key(&key).await;
        let scopes = key
            .scopes
            .split(',')
            .filter_map(|s| ApiKeyScope::parse(s).ok())
            .collect();
        return Ok(Principal::ApiKey {
            key_id,
            tenant_id: TenantId(key.tenant_id),
            scopes,
        });
    }
    if token_audience(credential).as_deref() == Some(CALL_AGENT_AUDIENCE) {
        let claims = keys.verify_call_agent(credential)?;
        // The call must still exist in its tenant (a deleted tenant's tokens die with it).
        match store.call(TenantId(claims.tid), CallId(claims.sub)).await {
            Ok(_) => {}
            Err(ApiError::NotFound(_)) => {
                return Err(ApiError::Unauthenticated(
                    "this call no longer exists".into(),
                ))
            }
            Err(error) => return Err(error),
        }
        return Ok(Principal::CallAgent {
            tenant_id: TenantId(claims.tid),
            call_id: claims.sub,
        });
    }
    if has_audience(credential) {
        let claims = keys.verify_customer(credential)?;
        // The identity must still exist: deleting the lead (or its identity) revokes its tokens.
        if !store
            .web_chat_identity_exists(TenantId(claims.tid), LeadId(claims.sub), &claims.ext)
            .await?
        {
            return Err(ApiError::Unauthenticated(
                "this customer no longer exists".into(),
            ));
        }
        return Ok(Principal::Customer {
            tenant_id: TenantId(claims.tid),
            lead_id: claims.sub,
            external_id: claims.ext,
        });
    }
    let claims = keys.verify(credential)?;
    // Sessions revoked after the token was issued (an address taken back from a squatter) are
    // told so, before the membership they may also have lost.
    let standing = store
        .member_standing(TenantId(claims.tid), UserId(claims.sub))
        .await?;
    let Some((_, role)) = standing.filter(|(sv, _)| *sv == claims.sv) else {
        return Err(ApiError::Unauthenticated("this session was revoked".into()));
    };
    let role = role.ok_or_else(|| {
        ApiError::Unauthenticated("this account is no longer a member of the tenant".into())
    })?;
    let role = Role::parse(&role).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(Principal::Member {
        user_id: claims.sub,
        tenant_id: TenantId(claims.tid),
        role,
    })
}

/// When a credential stops being valid by itself: the `exp` of a member or customer token
/// (verified), `None` for API keys (they live until revoked) and for anything invalid. Sockets
/// use it to end subscriptions the moment their token expires.
pub fn credential_expires_at(keys: &TokenKeys, credential: &str) -> Option<DateTime<Utc>> {
    let credential = credential.trim();
    if parse_api_key(credential).is_some() {
        return None;
    }
    let exp = if token_audience(credential).as_deref() == Some(CALL_AGENT_AUDIENCE) {
        keys.verify_call_agent(credential).ok()?.exp
    } else if has_audience(credential) {
        keys.verify_customer(credential).ok()?.exp
    } else {
        keys.verify(credential).ok()?.exp
    };
    DateTime::from_timestamp(exp, 0)
}

/// Extracts the credential from an `Authorization: Bearer …` header value.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

#[cfg(test)]
mod tests;
