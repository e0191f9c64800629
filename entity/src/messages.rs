//! `messages`: One message of a conversation.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub conversation_id: Uuid,
    pub channel: String,
    pub direction: String,
    pub sender_kind: String,
    pub sender_user_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub platform_message_id: Option<String>,
    pub client_message_id: Option<String>,
    pub delivery_status: String,
    #[sea_orm(column_type = "Text")]
    pub delivery_error: Option<String>,
    pub read_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "JsonBinary")]
    pub metadata: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
