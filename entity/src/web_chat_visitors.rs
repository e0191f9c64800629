//! `web_chat_visitors`: An anonymous web-chat visitor and the hash of its current resume secret.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "web_chat_visitors")]
pub struct Model {
    /// The visitor id (the `<id>` of the WEB_CHAT identity `visitor:<id>`).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub lead_id: Uuid,
    /// Hex SHA-256 of the current resume secret; the secret itself is never stored.
    pub secret_hash: String,
    pub created_at: DateTimeUtc,
    pub rotated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
