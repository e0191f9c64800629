//! `live_sessions`: A live-stream selling session on one platform.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "live_sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub platform: String,
    pub status: String,
    pub agent_enabled: bool,
    pub title: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub platform_config: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub product_ids: Json,
    #[sea_orm(column_type = "JsonBinary")]
    pub limits: Json,
    pub messages_processed: i32,
    pub responses_sent: i32,
    pub whispers_sent: i32,
    pub quota_used: i32,
    pub owner_id: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub started_at: DateTimeUtc,
    pub stopped_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
