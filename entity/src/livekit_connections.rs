//! `livekit_connections`: a tenant's own LiveKit project, used for its calls in preference to
//! the operator's `LIVEKIT_*` settings. `api_secret` is sealed at rest.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One row (at most one per tenant).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "livekit_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub api_url: String,
    /// The project's API key: every LiveKit token's `iss`.
    pub api_key: String,
    /// Sealed.
    #[sea_orm(column_type = "Text")]
    pub api_secret: String,
    pub sip_trunk_id: String,
    pub agent_name: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Relations are expressed as explicit joins in the stores.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
