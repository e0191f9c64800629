//! Rows that tests and benchmarks need before they can exercise the store, built in one place
//! so that a new column is added once (feature `testkit`, and this crate's own unit tests).
//!
//! Must not: be used by production code. A tenant made here has no owner and no AI context.

use leadline_entity::tenants;
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::tenants::new_tenant_row;
use super::{now, Store};

/// Inserts a bare tenant (FREE, no members, the AI takes every lead) whose name and slug start
/// with `name`, and returns its id.
pub async fn seed_tenant(store: &Store, name: &str) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    let slug = format!("{name}-{}", &id.simple().to_string()[20..]);
    tenants::Entity::insert(new_tenant_row(id, &slug, name, now()))
        .exec_without_returning(store.connection())
        .await?;
    Ok(id)
}

/// A migrated store on a private in-memory SQLite database.
pub async fn memory_store() -> anyhow::Result<Store> {
    let db = sea_orm::Database::connect("sqlite::memory:").await?;
    let store = Store::from_connection(db);
    store.migrate().await?;
    Ok(store)
}
