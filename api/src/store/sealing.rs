//! Which stored values are sealed, and the two passes over them:
//! - [`Store::seal_existing_secrets`], run at every start after the schema migrations (the SQL
//!   migrations have no key): seals values still in plain text — rows written before sealing
//!   existed — and checks that every sealed value opens with the configured keys, so a missing
//!   key stops the start with its id instead of failing webhooks later. Idempotent.
//! - [`Store::rotate_secrets`] (`leadline rotate-secrets`): also re-seals every value sealed
//!   with an older key under the current one, after which the old key can be dropped.
//!
//! Sealed slots: `channel_connections.{verify_token, app_secret, client_secret, access_token,
//! api_key, live_access_token}` and `livekit_connections.api_secret`
//! (associated data: table, column, tenant id, row id) and `instance_settings.value` of
//! [`SEALED_SETTINGS`] (tenant `-`, the setting's key). Every write is a conditional UPDATE
//! on the value read, so a pass never overwrites a secret changed meanwhile by a running server.
//! This module never logs or returns a secret.

use std::collections::BTreeMap;

use anyhow::Context;
use leadline_entity::{channel_connections, instance_settings, livekit_connections};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::Store;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{is_sealed, key_id_of, SealError, Slot};

/// The `instance_settings` keys whose values are secrets (the generated JWT key).
pub const SEALED_SETTINGS: [&str; 1] = ["jwt_secret"];

/// The secret columns of `channel_connections`.
pub const CONNECTION_SECRET_COLUMNS: [&str; 6] = [
    "verify_token",
    "app_secret",
    "client_secret",
    "access_token",
    "api_key",
    "live_access_token",
];

/// Rows read per batch by the passes (bounded memory on large installations).
const BATCH: u64 = 500;

/// What a pass did to one table.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TableReport {
    /// Rows read.
    pub rows: u64,
    /// Plain-text values sealed.
    pub sealed: u64,
    /// Values re-sealed from an older key to the current one.
    pub resealed: u64,
}

/// What a pass did, per table.
pub type SealReport = BTreeMap<&'static str, TableReport>;

fn column_of(name: &str) -> channel_connections::Column {
    match name {
        "verify_token" => channel_connections::Column::VerifyToken,
        "app_secret" => channel_connections::Column::AppSecret,
        "client_secret" => channel_connections::Column::ClientSecret,
        "api_key" => channel_connections::Column::ApiKey,
        "live_access_token" => channel_connections::Column::LiveAccessToken,
        _ => channel_connections::Column::AccessToken,
    }
}

fn value_of<'m>(row: &'m channel_connections::Model, name: &str) -> &'m Option<String> {
    match name {
        "verify_token" => &row.verify_token,
        "app_secret" => &row.app_secret,
        "client_secret" => &row.client_secret,
        "api_key" => &row.api_key,
        "live_access_token" => &row.live_access_token,
        _ => &row.access_token,
    }
}

fn value_mut<'m>(row: &'m mut channel_connections::Model, name: &str) -> &'m mut Option<String> {
    match name {
        "verify_token" => &mut row.verify_token,
        "app_secret" => &mut row.app_secret,
        "client_secret" => &mut row.client_secret,
        "api_key" => &mut row.api_key,
        "live_access_token" => &mut row.live_access_token,
        _ => &mut row.access_token,
    }
}

/// A failure to open is a server-side configuration fault (missing key, tampered row): logged
/// with where it happened, never shown to the client.
fn open_failed(error: SealError, table: &str, column: &str, row: &str) -> ApiError {
    ApiError::Internal(anyhow::anyhow!("{table}.{column} of row {row}: {error}"))
}

/// Logs what the start-up pass sealed (a line only when it did something).
pub fn log_sealed(report: &SealReport) {
    for (table, counts) in report {
        if counts.sealed > 0 {
            tracing::info!(
                table,
                sealed = counts.sealed,
                rows = counts.rows,
                "sealed secrets stored in plain text"
            );
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    SealPlaintext,
    Rotate,
}

impl Store {
    /// Seals one secret of a connection row for storage.
    pub(crate) fn seal_connection_secret(
        &self,
        tenant_id: Uuid,
        row_id: Uuid,
        column: &str,
        plaintext: &str,
    ) -> ApiResult<String> {
        let (tenant, row) = (tenant_id.to_string(), row_id.to_string());
        self.sealer
            .seal(
                plaintext,
                &Slot {
                    table: "channel_connections",
                    column,
                    tenant: &tenant,
                    row: &row,
                },
            )
            .map_err(|e| open_failed(e, "channel_connections", column, &row))
    }

    /// The connection row with its secrets opened (what the webhook verifiers and senders use).
    pub(crate) fn open_connection(
        &self,
        mut row: channel_connections::Model,
    ) -> ApiResult<channel_connections::Model> {
        let (tenant, id) = (row.tenant_id.to_string(), row.id.to_string());
        for column in CONNECTION_SECRET_COLUMNS {
            let value = value_mut(&mut row, column);
            if let Some(stored) = value.as_deref() {
                let slot = Slot {
                    table: "channel_connections",
                    column,
                    tenant: &tenant,
                    row: &id,
                };
                let opened = self
                    .sealer
                    .open(stored, &slot)
                    .map_err(|e| open_failed(e, "channel_connections", column, &id))?;
                *value = Some(opened);
            }
        }
        Ok(row)
    }

    fn setting_slot(key: &str) -> Slot<'_> {
        Slot {
            table: "instance_settings",
            column: "value",
            tenant: "-",
            row: key,
        }
    }

    /// Seals an instance setting's value (one of [`SEALED_SETTINGS`]).
    pub(crate) fn seal_setting(&self, key: &str, plaintext: &str) -> anyhow::Result<String> {
        self.sealer
            .seal(plaintext, &Self::setting_slot(key))
            .with_context(|| format!("sealing instance_settings.value of {key}"))
    }

    /// Opens an instance setting's sealed value.
    pub(crate) fn open_setting(&self, key: &str, stored: &str) -> anyhow::Result<String> {
        self.sealer
            .open(stored, &Self::setting_slot(key))
            .with_context(|| format!("opening instance_settings.value of {key}"))
    }

    /// Seals every secret still stored in plain text and checks that every sealed one opens.
    /// Run at start-up after the migrations; idempotent (a second run seals nothing).
    pub async fn seal_existing_secrets(&self) -> anyhow::Result<SealReport> {
        self.pass(Pass::SealPlaintext, &mut |_, _| {}).await
    }

    /// Re-seals every secret with the current key (sealing plain-text ones too), calling
    /// `progress(table, rows done)` after each batch.
    pub async fn rotate_secrets(
        &self,
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> anyhow::Result<SealReport> {
        self.pass(Pass::Rotate, progress).await
    }

    async fn pass(
        &self,
        pass: Pass,
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> anyhow::Result<SealReport> {
        let mut report = SealReport::new();
        let connections = self.pass_connections(pass, progress).await?;
        report.insert("channel_connections", connections);
        let livekit = self.pass_livekit(pass).await?;
        progress("livekit_connections", livekit.rows);
        report.insert("livekit_connections", livekit);
        let settings = self.pass_settings(pass).await?;
        progress("instance_settings", settings.rows);
        report.insert("instance_settings", settings);
        Ok(report)
    }

    /// What to store instead of `stored`, if anything.
    fn replacement(
        &self,
        pass: Pass,
        stored: &str,
        slot: &Slot<'_>,
        counts: &mut TableReport,
    ) -> anyhow::Result<Option<String>> {
        let described = || format!("{}.{} of row {}", slot.table, slot.column, slot.row);
        if !is_sealed(stored) {
            counts.sealed += 1;
            return Ok(Some(
                self.sealer.seal(stored, slot).with_context(described)?,
            ));
        }
        let opened = self.sealer.open(stored, slot).with_context(described)?;
        if pass == Pass::Rotate && key_id_of(stored) != Some(self.sealer.current_key_id()) {
            counts.resealed += 1;
            return Ok(Some(
                self.sealer.seal(&opened, slot).with_context(described)?,
            ));
        }
        Ok(None)
    }

    async fn pass_connections(
        &self,
        pass: Pass,
        progress: &mut (dyn FnMut(&str, u64) + Send),
    ) -> anyhow::Result<TableReport> {
        let mut counts = TableReport::default();
        let mut after: Option<Uuid> = None;
        loop {
            let mut select = channel_connections::Entity::find()
                .order_by_asc(channel_connections::Column::Id)
                .limit(BATCH);
            if let Some(last) = after {
                select = select.filter(channel_connections::Column::Id.gt(last));
            }
            let rows = select.all(&self.db).await?;
            let Some(last) = rows.last().map(|r| r.id) else {
                break;
            };
            after = Some(last);
            for row in &rows {
                counts.rows += 1;
                let (tenant, id) = (row.tenant_id.to_string(), row.id.to_string());
                for column in CONNECTION_SECRET_COLUMNS {
                    let Some(stored) = value_of(row, column).as_deref() else {
                        continue;
                    };
                    let slot = Slot {
                        table: "channel_connections",
                        column,
                        tenant: &tenant,
                        row: &id,
                    };
                    if let Some(new) = self.replacement(pass, stored, &slot, &mut counts)? {
                        channel_connections::Entity::update_many()
                            .col_expr(column_of(column), Expr::value(new))
                            .filter(channel_connections::Column::Id.eq(row.id))
                            .filter(column_of(column).eq(stored))
                            .exec(&self.db)
                            .await?;
                    }
                }
            }
            progress("channel_connections", counts.rows);
            if (rows.len() as u64) < BATCH {
                break;
            }
        }
        Ok(counts)
    }

    async fn pass_livekit(&self, pass: Pass) -> anyhow::Result<TableReport> {
        let mut counts = TableReport::default();
        // One row per tenant at most, and few tenants bring their own project: one read.
        for row in livekit_connections::Entity::find().all(&self.db).await? {
            counts.rows += 1;
            let (tenant, id) = (row.tenant_id.to_string(), row.id.to_string());
            let slot = Slot {
                table: "livekit_connections",
                column: "api_secret",
                tenant: &tenant,
                row: &id,
            };
            if let Some(new) = self.replacement(pass, &row.api_secret, &slot, &mut counts)? {
                livekit_connections::Entity::update_many()
                    .col_expr(livekit_connections::Column::ApiSecret, Expr::value(new))
                    .filter(livekit_connections::Column::Id.eq(row.id))
                    .filter(livekit_connections::Column::ApiSecret.eq(row.api_secret.as_str()))
                    .exec(&self.db)
                    .await?;
            }
        }
        Ok(counts)
    }

    async fn pass_settings(&self, pass: Pass) -> anyhow::Result<TableReport> {
        let mut counts = TableReport::default();
        for key in SEALED_SETTINGS {
            let Some(row) = instance_settings::Entity::find_by_id(key)
                .one(&self.db)
                .await?
            else {
                continue;
            };
            counts.rows += 1;
            let slot = Self::setting_slot(key);
            if let Some(new) = self.replacement(pass, &row.value, &slot, &mut counts)? {
                instance_settings::Entity::update_many()
                    .col_expr(instance_settings::Column::Value, Expr::value(new))
                    .filter(instance_settings::Column::Key.eq(key))
                    .filter(instance_settings::Column::Value.eq(row.value.as_str()))
                    .exec(&self.db)
                    .await?;
            }
        }
        Ok(counts)
    }
}
