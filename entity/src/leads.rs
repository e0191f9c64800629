//! `leads`: A prospective buyer.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "leads")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company: Option<String>,
    pub status: String,
    pub score: i32,
    pub temperature: String,
    pub source_channel: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub notes: Option<String>,
    pub handler: String,
    pub assigned_user_id: Option<Uuid>,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub last_contacted_at: Option<DateTimeUtc>,
    /// GRANTED | REVOKED | UNKNOWN: what the lead said about being called.
    pub call_consent: String,
    pub call_consent_at: Option<DateTimeUtc>,
    /// IANA zone of the lead, a hint for calling hours.
    pub time_zone: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
