//! Shared spend counters of the live agent (replies per session and viewer, whispers per bot and
//! day, YouTube quota per project and day), used when no Redis is configured. One row per
//! counter, changed only inside a transaction that checks every limit of a reply before spending
//! any, so two writers can never both spend the last unit.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261124_000001_create_live_budget_counters"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("live_budget_counters"))
                .if_not_exists()
                .col(ColumnDef::new(n("key")).string().not_null().primary_key())
                .col(big_integer("used", 0))
                // Unix milliseconds of the last spend that starts a cooldown (viewer counters).
                .col(big_integer_null("last_at_ms"))
                // After this the counter is meaningless (its day or session is over): swept.
                .col(timestamp("expires_at"))
                .to_owned(),
            vec![index(
                "live_budget_counters",
                "ix_live_budget_counters_expires_at",
                &["expires_at"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["live_budget_counters"]).await
    }
}
