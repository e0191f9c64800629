//! Channel connections: one per tenant and channel. Secrets and tokens are stored for the
//! webhook verifiers and senders but never leave through the API; audit rows name which secret
//! changed, never its value.
//!
//! At rest the four secrets (`verify_token`, `app_secret`, `client_secret`, `access_token`) are
//! sealed (`store::sealing`): every function here seals what it writes and returns rows with
//! the secrets opened, so callers only ever see plain values and never write a raw row.

use leadline_domain::channel::{Channel, ConnectionStatus};
use leadline_domain::ids::TenantId;
use leadline_entity::channel_connections;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::audit::{record, AuditEntry};
use super::{now, paginate, Page, PageRequest, Store};
use crate::auth::Actor;
use crate::error::{is_unique_violation, ApiError, ApiResult};

/// Partial change of a connection. `None` keeps a value; an empty secret string clears it.
#[derive(Debug, Default)]
pub struct ChannelConnectionChanges {
    pub external_account_id: Option<String>,
    pub verify_token: Option<String>,
    pub app_secret: Option<String>,
    pub client_secret: Option<String>,
    pub access_token: Option<String>,
    pub ai_enabled: Option<bool>,
    pub status: Option<ConnectionStatus>,
    pub legacy_signature: Option<bool>,
    /// The account id the platform's webhooks name when it differs from `external_account_id`
    /// (TikTok: the business account's `user_openid`); an empty string clears it.
    pub webhook_account_id: Option<String>,
    /// WhatsApp: the approved template sent outside the 24 h window; `Some(None)` clears it.
    pub whatsapp_template: Option<Option<WhatsAppTemplate>>,
    /// YouTube: the tenant's own Data API key (secret; empty clears it).
    pub api_key: Option<String>,
    /// TikTok: the tenant's own LIVE wrapper token (secret; empty clears it).
    pub live_access_token: Option<String>,
    /// The non-secret parts of the tenant's own live credentials (YouTube project, Twitch bot
    /// login and client id), kept in `settings`; per field, `Some("")` clears it.
    pub live: LiveConnectionSettings,
}

/// Keys of the live credentials' non-secret parts in `channel_connections.settings`.
const YOUTUBE_PROJECT_KEY: &str = "youtubeProject";
const TWITCH_BOT_LOGIN_KEY: &str = "twitchBotLogin";
const TWITCH_CLIENT_ID_KEY: &str = "twitchClientId";

/// The non-secret parts of a tenant's own live-platform credentials, stored in the connection's
/// `settings` (validated by the caller). On a change, `None` keeps a value and `Some("")`
/// clears it; when read back, `None` means unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveConnectionSettings {
    /// YouTube: the Google project the credentials belong to (its quota is counted per project).
    pub youtube_project: Option<String>,
    /// Twitch: the login of the tenant's own bot account.
    pub twitch_bot_login: Option<String>,
    /// Twitch: the client id of the tenant's own app (sent with every Helix call).
    pub twitch_client_id: Option<String>,
}

/// The live credentials' non-secret parts stored in a connection's `settings`.
pub fn live_connection_settings(settings: &Value) -> LiveConnectionSettings {
    let get = |key: &str| {
        settings
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    LiveConnectionSettings {
        youtube_project: get(YOUTUBE_PROJECT_KEY),
        twitch_bot_login: get(TWITCH_BOT_LOGIN_KEY),
        twitch_client_id: get(TWITCH_CLIENT_ID_KEY),
    }
}

/// Key of the WhatsApp template in `channel_connections.settings`.
const WHATSAPP_TEMPLATE_KEY: &str = "whatsappTemplate";
/// Key of the webhook account id in `channel_connections.settings`.
const WEBHOOK_ACCOUNT_KEY: &str = "webhookAccountId";

/// The account id webhooks name for this connection when it differs from its external account
/// id (TikTok's `user_openid`), if one is stored.
pub fn webhook_account_id(settings: &Value) -> Option<String> {
    settings
        .get(WEBHOOK_ACCOUNT_KEY)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A WhatsApp message template approved in WhatsApp Business Manager, stored in the connection's
/// `settings` as `{"whatsappTemplate": {"name", "languageCode"}}`. Validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppTemplate {
    /// The template's name (`order_update`).
    pub name: String,
    /// The approved translation (`en_US`, `en`).
    pub language_code: String,
}

/// The WhatsApp template in a connection's `settings`, if a usable one is stored (a malformed
/// or blank entry counts as none: the send gate then blocks instead of sending a bad template).
pub fn whatsapp_template(settings: &Value) -> Option<WhatsAppTemplate> {
    let stored = settings.get(WHATSAPP_TEMPLATE_KEY)?;
    serde_json::from_value::<WhatsAppTemplate>(stored.clone())
        .ok()
        .filter(|t| !t.name.trim().is_empty() && !t.language_code.trim().is_empty())
}

fn secret(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

impl Store {
    /// Creates or updates the tenant's connection for `channel`. Returns the row and whether it
    /// was created.
    pub async fn upsert_channel_connection(
        &self,
        tenant: TenantId,
        actor: Actor,
        channel: Channel,
        changes: ChannelConnectionChanges,
    ) -> ApiResult<(channel_connections::Model, bool)> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let at = now();
        let existing = channel_connections::Entity::find()
            .filter(channel_connections::Column::TenantId.eq(tenant_id))
            .filter(channel_connections::Column::Channel.eq(channel.as_str()))
            .one(&tx)
            .await?;
        let created = existing.is_none();
        let row_id = existing.as_ref().map_or_else(Uuid::now_v7, |m| m.id);
        let mut row = match existing {
            Some(model) => model.into_active_model(),
            None => channel_connections::ActiveModel {
                id: Set(row_id),
                tenant_id: Set(tenant_id),
                channel: Set(channel.as_str().to_owned()),
                status: Set(ConnectionStatus::Connected.as_str().into()),
                ai_enabled: Set(true),
                external_account_id: Set(None),
                verify_token: Set(None),
                app_secret: Set(None),
                client_secret: Set(None),
                access_token: Set(None),
                legacy_signature: Set(false),
                api_key: Set(None),
                live_access_token: Set(None),
                settings: Set(json!({})),
                created_at: Set(at),
                updated_at: Set(at),
            },
        };
        let mut changed: Vec<&str> = Vec::new();
        if let Some(v) = changes.external_account_id {
            row.external_account_id = Set(secret(v));
            changed.push("externalAccountId");
        }
        if let Some(v) = changes.verify_token {
            row.verify_token = Set(self.sealed(tenant_id, row_id, "verify_token", v)?);
            changed.push("verifyToken");
        }
        if let Some(v) = changes.app_secret {
            row.app_secret = Set(self.sealed(tenant_id, row_id, "app_secret", v)?);
            changed.push("appSecret");
        }
        if let Some(v) = changes.client_secret {
            row.client_secret = Set(self.sealed(tenant_id, row_id, "client_secret", v)?);
            changed.push("clientSecret");
        }
        if let Some(v) = changes.access_token {
            row.access_token = Set(self.sealed(tenant_id, row_id, "access_token", v)?);
            changed.push("accessToken");
        }
        if let Some(v) = changes.ai_enabled {
            row.ai_enabled = Set(v);
            changed.push("aiEnabled");
        }
        if let Some(v) = changes.status {
            row.status = Set(v.as_str().into());
            changed.push("status");
        }
        if let Some(v) = changes.legacy_signature {
            row.legacy_signature = Set(v);
            changed.push("legacySignature");
        }
        if let Some(account) = changes.webhook_account_id {
            let mut settings = match row.settings.take() {
                Some(Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            match secret(account.trim().to_owned()) {
                Some(account) => settings.insert(WEBHOOK_ACCOUNT_KEY.into(), json!(account)),
                None => settings.remove(WEBHOOK_ACCOUNT_KEY),
            };
            row.settings = Set(Value::Object(settings));
            changed.push("webhookAccountId");
        }
        if let Some(v) = changes.api_key {
            row.api_key = Set(self.sealed(tenant_id, row_id, "api_key", v)?);
            changed.push("apiKey");
        }
        if let Some(v) = changes.live_access_token {
            row.live_access_token = Set(self.sealed(tenant_id, row_id, "live_access_token", v)?);
            changed.push("liveAccessToken");
        }
        let live = [
            (
                YOUTUBE_PROJECT_KEY,
                "projectName",
                changes.live.youtube_project,
            ),
            (
                TWITCH_BOT_LOGIN_KEY,
                "botLogin",
                changes.live.twitch_bot_login,
            ),
            (
                TWITCH_CLIENT_ID_KEY,
                "clientId",
                changes.live.twitch_client_id,
            ),
        ];
        let settings_change =
            changes.whatsapp_template.is_some() || live.iter().any(|(_, _, value)| value.is_some());
        if settings_change {
            let mut settings = match row.settings.take() {
                Some(Value::Object(map)) => map,
                _ => serde_json::Map::new(),
            };
            if let Some(template) = changes.whatsapp_template {
                match template {
                    Some(template) => {
                        settings.insert(WHATSAPP_TEMPLATE_KEY.into(), json!(template));
                    }
                    None => {
                        settings.remove(WHATSAPP_TEMPLATE_KEY);
                    }
                }
                changed.push("whatsappTemplate");
            }
            for (key, field, value) in live {
                match value {
                    None => continue,
                    Some(v) if v.is_empty() => settings.remove(key),
                    Some(v) => settings.insert(key.into(), Value::String(v)),
                };
                changed.push(field);
            }
            row.settings = Set(Value::Object(settings));
        }
        row.updated_at = Set(at);
        let saved = if created {
            row.insert(&tx).await
        } else {
            row.update(&tx).await
        };
        let saved = saved.map_err(|e| {
            if is_unique_violation(&e) {
                ApiError::Conflict(
                    "a connection for this channel was created concurrently; retry".into(),
                )
            } else {
                e.into()
            }
        })?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: if created {
                    "channel_connection.created"
                } else {
                    "channel_connection.updated"
                },
                target_type: "channel_connection",
                target_id: Some(saved.id.to_string()),
                details: json!({"channel": channel.as_str(), "changed": changed}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((self.open_connection(saved)?, created))
    }

    /// `value` sealed for this row's `column`, or `None` for an empty string (cleared).
    fn sealed(
        &self,
        tenant_id: Uuid,
        row_id: Uuid,
        column: &str,
        value: String,
    ) -> ApiResult<Option<String>> {
        secret(value)
            .map(|plain| self.seal_connection_secret(tenant_id, row_id, column, &plain))
            .transpose()
    }

    /// The tenant's connections, optionally of one channel.
    pub async fn channel_connections(
        &self,
        tenant: TenantId,
        channel: Option<Channel>,
        page: PageRequest,
    ) -> ApiResult<Page<channel_connections::Model>> {
        let tenant_id = tenant.uuid();
        let mut select = channel_connections::Entity::find()
            .filter(channel_connections::Column::TenantId.eq(tenant_id));
        if let Some(channel) = channel {
            select = select.filter(channel_connections::Column::Channel.eq(channel.as_str()));
        }
        let page = paginate(&self.db, select, channel_connections::Column::Id, page).await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(|row| self.open_connection(row))
                .collect::<ApiResult<_>>()?,
            has_next_page: page.has_next_page,
            total_count: page.total_count,
        })
    }

    /// The tenant's connection for `channel`, if any (whose credentials the senders use).
    pub async fn channel_connection_for(
        &self,
        tenant: TenantId,
        channel: Channel,
    ) -> ApiResult<Option<channel_connections::Model>> {
        let tenant_id = tenant.uuid();
        channel_connections::Entity::find()
            .filter(channel_connections::Column::TenantId.eq(tenant_id))
            .filter(channel_connections::Column::Channel.eq(channel.as_str()))
            .one(&self.db)
            .await?
            .map(|row| self.open_connection(row))
            .transpose()
    }

    /// One connection of the tenant.
    pub async fn channel_connection(
        &self,
        tenant: TenantId,
        id: Uuid,
    ) -> ApiResult<channel_connections::Model> {
        let tenant_id = tenant.uuid();
        channel_connections::Entity::find_by_id(id)
            .filter(channel_connections::Column::TenantId.eq(tenant_id))
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("channel connection"))
            .and_then(|row| self.open_connection(row))
    }

    /// Deletes a connection.
    pub async fn delete_channel_connection(
        &self,
        tenant: TenantId,
        actor: Actor,
        id: Uuid,
    ) -> ApiResult<()> {
        let tenant_id = tenant.uuid();
        let tx = self.db.begin().await?;
        let existing = channel_connections::Entity::find_by_id(id)
            .filter(channel_connections::Column::TenantId.eq(tenant_id))
            .one(&tx)
            .await?
            .ok_or(ApiError::NotFound("channel connection"))?;
        channel_connections::Entity::delete_by_id(id)
            .exec(&tx)
            .await?;
        record(
            &tx,
            tenant_id,
            actor,
            AuditEntry {
                action: "channel_connection.deleted",
                target_type: "channel_connection",
                target_id: Some(id.to_string()),
                details: json!({"channel": existing.channel}),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whatsapp_template_is_read_from_settings_and_bad_entries_count_as_none() {
        let stored = json!({"whatsappTemplate": {"name": "order_update", "languageCode": "en_US"}});
        assert_eq!(
            whatsapp_template(&stored),
            Some(WhatsAppTemplate {
                name: "order_update".into(),
                language_code: "en_US".into(),
            })
        );
        for settings in [
            json!({}),
            json!(null),
            json!({"whatsappTemplate": null}),
            json!({"whatsappTemplate": "order_update"}),
            json!({"whatsappTemplate": {"name": " ", "languageCode": "en"}}),
            json!({"whatsappTemplate": {"name": "x"}}),
        ] {
            assert_eq!(whatsapp_template(&settings), None, "{settings}");
        }
    }
}
