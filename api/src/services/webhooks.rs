//! The messaging webhooks' front half, shared by every shim that receives a tenant's
//! signed delivery (`http::webhooks` for the inbox, `http::live_webhooks` for TikTok LIVE, the
//! voice shims for their refusals): which tenant and connection a delivery is addressed to,
//! which secret signs it, the signature check through each platform crate's front door, and
//! [`WebhookRejection`], the one list of reasons a delivery is refused with its metric label and
//! HTTP answer (ARCHITECTURE.md §6).
//!
//! This module never parses a payload into rows (`services::inbox::ingest` and
//! `services::live::routing` do) and never answers HTTP; it never defaults to "no
//! verification": without a secret the delivery is refused.

use chrono::{DateTime, Utc};
use http::HeaderMap;
use leadline_domain::channel::{Channel, ConnectionStatus};
use leadline_domain::ids::TenantId;
use leadline_entity::channel_connections;

use crate::error::ApiError;
use crate::state::AppState;

/// The channels that receive messaging webhooks, by their path segment
/// (`/api/webhook/{segment}/{tenantSlug}`).
pub fn channel_for_segment(segment: &str) -> Option<Channel> {
    match segment {
        "whatsapp" => Some(Channel::Whatsapp),
        "instagram" => Some(Channel::Instagram),
        "facebook" => Some(Channel::Facebook),
        "tiktok" => Some(Channel::Tiktok),
        _ => None,
    }
}

/// The lower-case metric label of a webhook channel (bounded: four values).
pub fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Whatsapp => "whatsapp",
        Channel::Instagram => "instagram",
        Channel::Facebook => "facebook",
        Channel::Tiktok => "tiktok",
        _ => "other",
    }
}

/// Why a delivery (or a verification handshake) was refused. Each variant names its metric
/// reason and its HTTP answer; the text is for logs, never sent to the platform.
#[derive(Debug)]
pub enum WebhookRejection {
    /// No tenant has this slug (404).
    UnknownTenant,
    /// The tenant has no connection for this channel, or it is switched off (404).
    NotConnected,
    /// Neither the connection nor the operator configured a secret (401).
    MissingSecret,
    /// No signature header (401).
    MissingSignature,
    /// A signature that is malformed or does not match the body (401).
    BadSignature(String),
    /// A correctly signed but too old (or too new) timestamp: a possible replay (401).
    StaleTimestamp,
    /// Verified only by the operator's shared secret, but naming an account that is not the
    /// connection's (or the connection names none): a delivery for another tenant (401).
    AccountMismatch,
    /// The GET handshake's token is wrong or the query incomplete (403).
    VerificationRefused(String),
    /// A verified body that is not a notification of this channel (400).
    BadPayload(String),
    /// The database did not answer; the platform should redeliver (503).
    DatabaseUnavailable(ApiError),
}

impl WebhookRejection {
    /// The `reason` label of `leadline_webhook_rejected_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            WebhookRejection::UnknownTenant => "unknown_tenant",
            WebhookRejection::NotConnected => "not_connected",
            WebhookRejection::MissingSecret => "missing_secret",
            WebhookRejection::MissingSignature => "missing_signature",
            WebhookRejection::BadSignature(_) => "bad_signature",
            WebhookRejection::StaleTimestamp => "stale_timestamp",
            WebhookRejection::AccountMismatch => "account_mismatch",
            WebhookRejection::VerificationRefused(_) => "verification_refused",
            WebhookRejection::BadPayload(_) => "bad_payload",
            WebhookRejection::DatabaseUnavailable(_) => "database_unavailable",
        }
    }

    /// The error answered (its status and stable code). Messages stay generic: a prober learns
    /// nothing about which secret or tenant exists beyond what the status already says.
    pub fn to_api_error(&self) -> ApiError {
        match self {
            WebhookRejection::UnknownTenant | WebhookRejection::NotConnected => {
                ApiError::NotFound("webhook endpoint")
            }
            WebhookRejection::MissingSecret => ApiError::Unauthenticated(
                "webhook signature cannot be verified: no secret is configured".into(),
            ),
            WebhookRejection::MissingSignature => {
                ApiError::Unauthenticated("webhook signature header missing".into())
            }
            WebhookRejection::BadSignature(_)
            | WebhookRejection::StaleTimestamp
            | WebhookRejection::AccountMismatch => {
                ApiError::Unauthenticated("webhook signature invalid".into())
            }
            WebhookRejection::VerificationRefused(_) => {
                ApiError::Forbidden("verification token mismatch".into())
            }
            WebhookRejection::BadPayload(reason) => ApiError::bad_input("body", reason.clone()),
            WebhookRejection::DatabaseUnavailable(_) => {
                ApiError::Unavailable("the database is unavailable; redeliver later".into())
            }
        }
    }
}

/// Any database failure while handling a delivery is reported as "unavailable": the platform
/// redelivers on 5xx, and since every message is one transaction nothing partial stays behind.
pub(crate) fn unavailable(error: ApiError) -> WebhookRejection {
    WebhookRejection::DatabaseUnavailable(error)
}

/// The tenant and its connection a webhook is addressed to.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The tenant.
    pub tenant_id: TenantId,
    /// Which channel (from the path).
    pub channel: Channel,
    /// The tenant's connection for it (CONNECTED).
    pub connection: channel_connections::Model,
}

/// Finds the tenant by slug and its active connection for `channel`.
pub async fn endpoint(
    state: &AppState,
    tenant_slug: &str,
    channel: Channel,
) -> Result<Endpoint, WebhookRejection> {
    let tenant = state
        .store
        .tenant_by_slug(tenant_slug)
        .await
        .map_err(unavailable)?
        .ok_or(WebhookRejection::UnknownTenant)?;
    // Through the store, which opens the sealed secrets.
    let connection = state
        .store
        .channel_connection_for(TenantId(tenant.id), channel)
        .await
        .map_err(unavailable)?
        .filter(|c| c.status == ConnectionStatus::Connected.as_str())
        .ok_or(WebhookRejection::NotConnected)?;
    Ok(Endpoint {
        tenant_id: TenantId(tenant.id),
        channel,
        connection,
    })
}

/// Answers the GET subscription handshake: the challenge to echo, or why not.
///
/// Graph products use `hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` (platforms.md
/// §4, §5); TikTok uses `challenge` + `verify_token` (its crate's `verification_challenge`).
/// Both compare the token in constant time and never accept an empty configured token.
pub fn verification_answer(
    endpoint: &Endpoint,
    query: &[(String, String)],
) -> Result<String, WebhookRejection> {
    let expected = endpoint.connection.verify_token.as_deref().unwrap_or("");
    if endpoint.channel == Channel::Tiktok {
        let get = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        return leadline_tiktok::webhook::verification_challenge(
            get("challenge"),
            get("verify_token"),
            expected,
        )
        .map(str::to_owned)
        .ok_or_else(|| {
            WebhookRejection::VerificationRefused("token mismatch or no challenge".into())
        });
    }
    let hub = leadline_meta::subscription::HubChallenge::from_pairs(
        query.iter().map(|(k, v)| (k.as_str(), v.clone())),
    );
    hub.answer(expected)
        .map(str::to_owned)
        .map_err(|refused| WebhookRejection::VerificationRefused(refused.to_string()))
}

/// Which secret verified a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource {
    /// The connection's own `appSecret` / `clientSecret`: the delivery is the tenant's.
    Connection,
    /// The operator's shared `META_APP_SECRET` / `TIKTOK_CLIENT_SECRET`, which signs deliveries
    /// for every tenant on the operator's app: only the account id in the payload says whose
    /// it is, so [`crate::services::inbox::ingest::parse_verified`] requires it to be the connection's.
    Operator,
}

/// The secret that signs this connection's webhooks: the connection's own wins; the operator's
/// global one (`META_APP_SECRET` / `TIKTOK_CLIENT_SECRET`) is used only when it has none, so a
/// tenant with its own app cannot be impersonated with the shared secret.
fn signing_secret<'a>(
    state: &'a AppState,
    endpoint: &'a Endpoint,
) -> Option<(&'a str, SecretSource)> {
    let (own, global) = match endpoint.channel {
        Channel::Tiktok => (
            endpoint.connection.client_secret.as_deref(),
            state.config.tiktok_client_secret.as_deref(),
        ),
        _ => (
            endpoint.connection.app_secret.as_deref(),
            state.config.meta_app_secret.as_deref(),
        ),
    };
    own.filter(|s| !s.is_empty())
        .map(|s| (s, SecretSource::Connection))
        .or(global
            .filter(|s| !s.is_empty())
            .map(|s| (s, SecretSource::Operator)))
}

/// Verifies the delivery's signature over `raw_body` exactly as received; says which secret
/// verified it (pass that to [`crate::services::inbox::ingest::parse_verified`]).
pub fn verify_signature(
    state: &AppState,
    endpoint: &Endpoint,
    headers: &HeaderMap,
    raw_body: &[u8],
    now: DateTime<Utc>,
) -> Result<SecretSource, WebhookRejection> {
    let Some((secret, source)) = signing_secret(state, endpoint) else {
        let which = match endpoint.channel {
            Channel::Tiktok => "clientSecret / TIKTOK_CLIENT_SECRET",
            _ => "appSecret / META_APP_SECRET",
        };
        tracing::warn!(
            channel = %endpoint.channel,
            tenant_id = %endpoint.tenant_id,
            "webhook refused: no signing secret configured ({which})"
        );
        return Err(WebhookRejection::MissingSecret);
    };
    match endpoint.channel {
        Channel::Tiktok => {
            // The legacy scheme stays off unless the connection opted in; when on, its
            // timestamp gets the same replay window as the current scheme.
            let options = leadline_tiktok::VerifyOptions {
                allow_legacy: endpoint.connection.legacy_signature,
                ..Default::default()
            };
            match leadline_tiktok::webhook::verify(headers, raw_body, &[secret], now, &options) {
                Ok(_) => Ok(source),
                Err(leadline_tiktok::Error::SignatureInvalid(e)) => Err(tiktok_signature(&e)),
                Err(other) => Err(WebhookRejection::BadSignature(other.to_string())),
            }
        }
        _ => match leadline_meta::webhook::verify(headers, raw_body, &[secret]) {
            Ok(()) => Ok(source),
            Err(leadline_meta::Error::SignatureInvalid(e)) => Err(meta_signature(&e)),
            Err(other) => Err(WebhookRejection::BadSignature(other.to_string())),
        },
    }
}

fn meta_signature(error: &leadline_meta::SignatureError) -> WebhookRejection {
    use leadline_meta::SignatureError as E;
    match error {
        E::NoSecret => WebhookRejection::MissingSecret,
        E::MissingHeader(_) => WebhookRejection::MissingSignature,
        E::Stale { .. } => WebhookRejection::StaleTimestamp,
        E::MalformedHeader { .. } | E::Mismatch => {
            WebhookRejection::BadSignature(error.to_string())
        }
    }
}

fn tiktok_signature(error: &leadline_tiktok::SignatureError) -> WebhookRejection {
    use leadline_tiktok::SignatureError as E;
    match error {
        E::NoSecret => WebhookRejection::MissingSecret,
        E::MissingHeader(_) => WebhookRejection::MissingSignature,
        E::Stale { .. } => WebhookRejection::StaleTimestamp,
        E::MalformedHeader { .. } | E::Mismatch => {
            WebhookRejection::BadSignature(error.to_string())
        }
    }
}

/// An endpoint for `channel` with no secrets, for the tests and properties of this module.
#[cfg(test)]
pub(crate) fn endpoint_for(
    channel: Channel,
    external: Option<&str>,
    settings: serde_json::Value,
) -> Endpoint {
    let at = Utc::now();
    Endpoint {
        tenant_id: TenantId(uuid::Uuid::nil()),
        channel,
        connection: channel_connections::Model {
            id: uuid::Uuid::nil(),
            tenant_id: uuid::Uuid::nil(),
            channel: channel.as_str().to_owned(),
            status: ConnectionStatus::Connected.as_str().into(),
            ai_enabled: true,
            external_account_id: external.map(str::to_owned),
            verify_token: None,
            app_secret: None,
            client_secret: None,
            access_token: None,
            legacy_signature: false,
            api_key: None,
            live_access_token: None,
            settings,
            created_at: at,
            updated_at: at,
        },
    }
}
