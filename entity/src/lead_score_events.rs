//! `lead_score_events`: One change of a lead's score, with why.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "lead_score_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Uuid,
    pub delta: i32,
    pub signal: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    pub score_before: i32,
    pub score_after: i32,
    pub temperature_after: String,
    pub source_message_id: Option<Uuid>,
    pub actor_user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
