//! Inbound messaging webhooks (WhatsApp, Messenger, Instagram, TikTok DMs) turned into the
//! inbox's rows: the spine's first half (ARCHITECTURE.md §5).
//!
//! The order is fixed and security-relevant: find the tenant's ACTIVE connection for the
//! channel, verify the signature on the RAW bytes with the connection's own secret (or the
//! operator's global one), and only then parse. A delivery verified only by the operator's
//! global secret must name the connection's account id (`parse_verified`): that secret signs
//! every tenant's deliveries, so it alone does not say whose one is. Each inbound message is stored by
//! [`Store::ingest_inbound`] in one transaction; events are published after its commit; a
//! delivery status moves one of our outbound messages forward.
//!
//! This module never answers HTTP (the shim in `http::webhooks` does), never calls a platform
//! or the AI (the `ai_response` job does that later), and never defaults to "no verification":
//! without a secret the delivery is refused.

mod meta;
mod tiktok;
mod whatsapp;

use chrono::{DateTime, Utc};
use http::HeaderMap;
use leadline_domain::channel::{Channel, ConnectionStatus};
use leadline_domain::ids::TenantId;
use leadline_domain::messaging::DeliveryStatus;
use leadline_entity::channel_connections;

use crate::bus::Event;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::inbox::IngestOutcome;
use crate::store::InboundMessage;

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
fn unavailable(error: ApiError) -> WebhookRejection {
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
    /// it is, so [`parse_verified`] requires it to be the connection's.
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
/// verified it (pass that to [`parse_verified`]).
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

/// One thing a verified delivery asks us to do.
#[derive(Debug, Clone)]
pub enum WebhookItem {
    /// Store a customer's message.
    Inbound(Box<InboundMessage>),
    /// Move one of our outbound messages' delivery status forward.
    Status {
        /// The platform's id of our message.
        platform_message_id: String,
        /// SENT, DELIVERED, READ or FAILED.
        status: DeliveryStatus,
        /// `code: title` on failures.
        error: Option<String>,
        /// When the platform says it happened.
        at: DateTime<Utc>,
    },
    /// Several of our messages reached the same status (Messenger's `delivery.mids[]`).
    Statuses(Vec<(String, DeliveryStatus, DateTime<Utc>)>),
    /// Addressed to another account than the connection's: skipped, counted.
    AccountMismatch {
        /// The account id the payload named.
        account_id: String,
    },
    /// Nothing to store (echoes, reactions, reads by watermark, app events): counted only.
    Ignored(&'static str),
}

/// Parses a body verified by the connection's own secret into items for this endpoint (events
/// for another account than the connection's are skipped).
pub fn parse(endpoint: &Endpoint, raw_body: &[u8]) -> Result<Vec<WebhookItem>, WebhookRejection> {
    parse_verified(endpoint, raw_body, SecretSource::Connection)
}

/// The account ids a delivery for this connection may name: its external account id (WhatsApp
/// phone number id, Page id, Instagram account id) and its webhook account id (TikTok's
/// `user_openid`, or a WhatsApp Business Account id).
fn connection_accounts(connection: &channel_connections::Model) -> Vec<String> {
    connection
        .external_account_id
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .into_iter()
        .chain(crate::store::webhook_account_id(&connection.settings))
        .collect()
}

/// Parses a verified body into items for this endpoint. Verified by the connection's own
/// secret, events naming another account are skipped (`AccountMismatch` items). Verified only
/// by the operator's shared secret, the connection must name its account and every event must
/// be for it, else the whole delivery is refused: the shared secret proves only that the
/// delivery came from the platform, not that it is this tenant's.
pub fn parse_verified(
    endpoint: &Endpoint,
    raw_body: &[u8],
    source: SecretSource,
) -> Result<Vec<WebhookItem>, WebhookRejection> {
    let accounts = connection_accounts(&endpoint.connection);
    if source == SecretSource::Operator && accounts.is_empty() {
        tracing::warn!(
            channel = %endpoint.channel,
            tenant_id = %endpoint.tenant_id,
            "webhook refused: verified by the operator's shared secret, but the connection has \
             no account id to match (set externalAccountId or webhookAccountId)"
        );
        return Err(WebhookRejection::AccountMismatch);
    }
    let items = parse_items(endpoint, raw_body, &accounts, source)?;
    if source == SecretSource::Operator {
        if let Some(WebhookItem::AccountMismatch { account_id }) = items
            .iter()
            .find(|i| matches!(i, WebhookItem::AccountMismatch { .. }))
        {
            tracing::warn!(
                channel = %endpoint.channel,
                tenant_id = %endpoint.tenant_id,
                %account_id,
                "webhook refused: signed with the operator's shared secret for another account"
            );
            return Err(WebhookRejection::AccountMismatch);
        }
    }
    Ok(items)
}

fn parse_items(
    endpoint: &Endpoint,
    raw_body: &[u8],
    accounts: &[String],
    source: SecretSource,
) -> Result<Vec<WebhookItem>, WebhookRejection> {
    let ai_enabled = endpoint.connection.ai_enabled;
    // With its own secret a connection that names no account takes every account its app
    // sends (as before); with the shared secret the list is never empty (checked above).
    let account_ok = |account: &str| accounts.is_empty() || accounts.iter().any(|a| a == account);
    match endpoint.channel {
        Channel::Whatsapp => {
            let events = leadline_whatsapp::webhook::parse(raw_body)
                .map_err(|e| WebhookRejection::BadPayload(e.to_string()))?;
            Ok(events
                .into_iter()
                .map(|event| whatsapp::whatsapp_item(event, ai_enabled, &account_ok))
                .collect())
        }
        Channel::Facebook | Channel::Instagram => {
            let events = leadline_meta::webhook::parse(raw_body)
                .map_err(|e| WebhookRejection::BadPayload(e.to_string()))?;
            let wanted = match endpoint.channel {
                Channel::Instagram => leadline_meta::Channel::Instagram,
                _ => leadline_meta::Channel::Messenger,
            };
            if events.iter().any(|e| e.channel != wanted) {
                // A Page notification posted to the Instagram URL (or the reverse) would file
                // messages under the wrong channel; the app's callback is misconfigured.
                return Err(WebhookRejection::BadPayload(format!(
                    "this endpoint receives {} notifications only",
                    match wanted {
                        leadline_meta::Channel::Instagram => "`instagram`",
                        leadline_meta::Channel::Messenger => "`page`",
                    }
                )));
            }
            Ok(events
                .into_iter()
                .map(|event| meta::meta_item(endpoint.channel, event, ai_enabled, &account_ok))
                .collect())
        }
        Channel::Tiktok => {
            let events = leadline_tiktok::webhook::parse(raw_body)
                .map_err(|e| WebhookRejection::BadPayload(e.to_string()))?;
            // TikTok names the receiving account by its open id (`user_openid`), while the
            // connection's external account id is the business id sends are made as — two
            // different ids. With its own client secret the per-tenant URL and secret bind the
            // delivery to this tenant; only a stored webhook account id (the open id) is
            // compared. With the operator's shared secret, the open id must match.
            let tiktok_accounts: Vec<String> = match source {
                SecretSource::Operator => accounts.to_vec(),
                SecretSource::Connection => {
                    crate::store::webhook_account_id(&endpoint.connection.settings)
                        .into_iter()
                        .collect()
                }
            };
            let tiktok_ok = |account: &str| {
                tiktok_accounts.is_empty() || tiktok_accounts.iter().any(|a| a == account)
            };
            Ok(events
                .into_iter()
                .map(|event| tiktok::tiktok_item(event, ai_enabled, &tiktok_ok))
                .collect())
        }
        _ => Err(WebhookRejection::BadPayload(
            "this channel has no messaging webhook".into(),
        )),
    }
}

fn at_seconds(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_else(Utc::now)
}

fn at_millis(ms: Option<i64>) -> DateTime<Utc> {
    ms.and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now)
}

/// What a delivery changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Inbound messages stored.
    pub stored: u64,
    /// Inbound messages we already had.
    pub duplicates: u64,
    /// Delivery statuses that moved a message forward.
    pub statuses_applied: u64,
    /// Items skipped because the account id did not match the connection's.
    pub account_mismatches: u64,
    /// Items with nothing to do.
    pub ignored: u64,
}

/// Applies a verified delivery's items for the endpoint's tenant. Each message commits on its
/// own, and its events are published right after that commit; the first database failure stops
/// the batch (the redelivery finds the earlier ones as duplicates). Wakes the workers once when
/// an AI turn was enqueued.
pub async fn apply(
    state: &AppState,
    endpoint: &Endpoint,
    items: Vec<WebhookItem>,
) -> Result<DeliveryReport, WebhookRejection> {
    let tenant_id = endpoint.tenant_id;
    let label = channel_label(endpoint.channel);
    let mut report = DeliveryReport::default();
    let mut wake = false;
    let mut failure = None;
    let items = items.into_iter().flat_map(|item| match item {
        WebhookItem::Statuses(list) => list
            .into_iter()
            .map(|(platform_message_id, status, at)| WebhookItem::Status {
                platform_message_id,
                status,
                error: None,
                at,
            })
            .collect(),
        other => vec![other],
    });
    for item in items {
        match item {
            WebhookItem::Statuses(_) => {}
            WebhookItem::Inbound(message) => {
                match state.store.ingest_inbound(tenant_id, &message).await {
                    Ok(IngestOutcome::Stored(ingested)) => {
                        report.stored += 1;
                        wake |= ingested.ai_job.is_some() || ingested.profile_job.is_some();
                        let ingested = *ingested;
                        if ingested.lead_created {
                            state.bus.publish(
                                tenant_id,
                                Event::LeadUpdated {
                                    lead: Box::new(ingested.lead),
                                },
                            );
                        }
                        if ingested.conversation_created {
                            crate::services::conversation::publish_conversation(
                                &state.bus,
                                &ingested.conversation,
                            );
                        }
                        state.bus.publish(
                            tenant_id,
                            Event::MessageAdded {
                                message: Box::new(ingested.message),
                            },
                        );
                    }
                    Ok(IngestOutcome::Duplicate) => report.duplicates += 1,
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                }
            }
            WebhookItem::Status {
                platform_message_id,
                status,
                error,
                at,
            } => match state
                .store
                .apply_delivery_status(
                    tenant_id,
                    endpoint.channel,
                    &platform_message_id,
                    status,
                    error,
                    at,
                )
                .await
            {
                Ok(Some(message)) => {
                    report.statuses_applied += 1;
                    state.bus.publish(
                        tenant_id,
                        Event::MessageUpdated {
                            message: Box::new(message),
                        },
                    );
                }
                // Unknown message (sent by another tool) or not newer: nothing to do.
                Ok(None) => report.ignored += 1,
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            },
            WebhookItem::AccountMismatch { account_id } => {
                tracing::warn!(
                    channel = label,
                    %tenant_id,
                    %account_id,
                    expected = endpoint.connection.external_account_id.as_deref().unwrap_or(""),
                    "webhook event for another account skipped"
                );
                metrics::counter!(
                    "leadline_webhook_rejected_total",
                    "channel" => label,
                    "reason" => "account_mismatch"
                )
                .increment(1);
                report.account_mismatches += 1;
            }
            WebhookItem::Ignored(why) => {
                tracing::debug!(channel = label, why, "webhook event ignored");
                report.ignored += 1;
            }
        }
    }
    // Jobs enqueued by messages committed before a failure still deserve a worker.
    if wake {
        state.jobs.wake().await;
    }
    match failure {
        Some(error) => Err(unavailable(error)),
        None => Ok(report),
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

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
