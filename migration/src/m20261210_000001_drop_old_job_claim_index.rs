//! The job queue drops `ix_jobs_claim` `(status, scheduled_for, priority)` (issue 13). Since
//! `m20261207_000002_job_claim_indexes` the claim walks its own partial indexes and no query
//! reads this one, yet every job writes it three times (enqueue, claim, completion: a status
//! change is never a heap-only update). Only the cron shim's whole-queue counts by status
//! could use it, and those read the table instead. Same SQL on PostgreSQL and SQLite.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000001_drop_old_job_claim_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ix_jobs_claim")
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX IF NOT EXISTS ix_jobs_claim ON jobs (status, scheduled_for, priority)",
            )
            .await?;
        Ok(())
    }
}
