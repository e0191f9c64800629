//! `live_interactions`: One live chat message and what the agent did with it.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "live_interactions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub session_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub platform_message_id: String,
    pub author_id: String,
    pub author_name: String,
    #[sea_orm(column_type = "Text")]
    pub text: String,
    pub intent: Option<String>,
    pub confidence: Option<f64>,
    pub matched_product_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub response: Option<String>,
    pub response_via: Option<String>,
    pub outcome: String,
    pub skip_reason: Option<String>,
    pub created_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
