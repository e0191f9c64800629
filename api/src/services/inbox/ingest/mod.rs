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
use leadline_domain::channel::Channel;
use leadline_domain::messaging::DeliveryStatus;

use crate::bus::Event;

use crate::services::webhooks::{unavailable, Endpoint, SecretSource, WebhookRejection};
use crate::state::AppState;
use crate::store::inbox::{IngestOutcome, Ingested};
use crate::store::InboundMessage;
use leadline_domain::ids::TenantId;

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
fn connection_accounts(connection: &leadline_entity::channel_connections::Model) -> Vec<String> {
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

/// Publishes what one stored inbound message created, after its commit: the new lead, the new
/// conversation, the message. Shared by every path that ingests a message (the messaging
/// webhooks, the phone agent's inbound texts).
pub(crate) fn publish_ingested(state: &AppState, tenant_id: TenantId, ingested: Ingested) {
    state.jobs.announce(&ingested.cancelled_jobs);
    if ingested.lead_created {
        state.bus.publish(
            tenant_id,
            Event::LeadUpdated {
                lead: Box::new(ingested.lead),
            },
        );
    }
    if ingested.conversation_created {
        crate::services::conversation::publish_conversation(&state.bus, &ingested.conversation);
    }
    state.bus.publish(
        tenant_id,
        Event::MessageAdded {
            message: Box::new(ingested.message),
        },
    );
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
    let label = crate::services::webhooks::channel_label(endpoint.channel);
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
                        wake |= ingested.ai_job.is_some()
                            || ingested.profile_job.is_some()
                            || ingested.ring_job.is_some();
                        publish_ingested(state, tenant_id, *ingested);
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

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
