//! Rows that tests and benchmarks need before they can exercise the store, built in one place
//! so that a new column is added once (feature `testkit`, and this crate's own unit tests).
//!
//! Must not: be used by production code. A tenant made here has no owner and no AI context.

use leadline_entity::tenants;
use sea_orm::{ActiveValue::Set, EntityTrait};
use uuid::Uuid;

use super::{now, Store};

/// Inserts a bare tenant (FREE, no members, the AI takes every lead) whose name and slug start
/// with `name`, and returns its id.
pub async fn seed_tenant(store: &Store, name: &str) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    let at = now();
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(id),
        slug: Set(format!("{name}-{}", &id.simple().to_string()[20..])),
        name: Set(name.to_owned()),
        plan: Set("FREE".into()),
        subscription_status: Set("NONE".into()),
        stripe_customer_id: Set(None),
        agent_running: Set(false),
        ai_lead_percentage: Set(100),
        agent_name: Set(None),
        human_operator_number: Set(None),
        default_phone_region: Set(None),
        elevenlabs_agent_id: Set(None),
        livekit_agent_name: Set(None),
        time_zone: Set(None),
        call_policy: Set(None),
        created_at: Set(at),
        updated_at: Set(at),
    })
    .exec_without_returning(store.connection())
    .await?;
    Ok(id)
}
