//! Listings get an index in their own order (issue 13): every connection pages newest first by
//! id within one tenant, and without a `(tenant_id, id)` index the database either sorts all of
//! the tenant's rows for each page or walks the primary key across every tenant. With it a page
//! reads its rows and stops, whatever the tenant's size. Same SQL on PostgreSQL and SQLite.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000002_scale_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("CREATE INDEX ix_leads_tenant_id ON leads (tenant_id, id)")
            .await?;
        // The sales team's queue: `leads(filter: {handledBy: HUMAN})`.
        db.execute_unprepared(
            "CREATE INDEX ix_leads_tenant_handler_id ON leads (tenant_id, handler, id)",
        )
        .await?;
        // `scoreHistory` of one lead, newest first.
        db.execute_unprepared(
            "CREATE INDEX ix_lead_score_events_lead_id ON lead_score_events (lead_id, id)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for index in [
            "ix_lead_score_events_lead_id",
            "ix_leads_tenant_handler_id",
            "ix_leads_tenant_id",
        ] {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {index}"))
                .await?;
        }
        Ok(())
    }
}
