//! `ai_contexts`: A tenant's AI settings.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ai_contexts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub system_prompt: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub business_hours: Json,
    pub timezone: String,
    pub response_style: String,
    pub temperature: f64,
    pub max_tokens: i32,
    #[sea_orm(column_type = "JsonBinary")]
    pub escalation_keywords: Json,
    pub auto_escalate_after_messages: Option<i32>,
    pub provider: String,
    pub model: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
