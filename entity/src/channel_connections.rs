//! `channel_connections`: A tenant's connection to one channel; secrets are write-only at the API.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "channel_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub channel: String,
    pub status: String,
    pub ai_enabled: bool,
    pub external_account_id: Option<String>,
    pub verify_token: Option<String>,
    pub app_secret: Option<String>,
    pub client_secret: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub access_token: Option<String>,
    pub legacy_signature: bool,
    /// YouTube: the tenant's own Data API key (secret).
    #[sea_orm(column_type = "Text")]
    pub api_key: Option<String>,
    /// TikTok: the tenant's own token for the LIVE wrapper (secret).
    #[sea_orm(column_type = "Text")]
    pub live_access_token: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub settings: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
