//! The job queue's claim paths get partial indexes (issue 13): PENDING rows in claim order,
//! and RUNNING rows by lease expiry. The old `(status, scheduled_for, priority)` index could not
//! give the claim its order, so every claim sorted all due rows; these stay small (finished
//! jobs are in neither) and ordered. Same SQL on PostgreSQL and SQLite.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000002_job_claim_indexes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "CREATE INDEX ix_jobs_pending_claim ON jobs (priority DESC, scheduled_for) \
             WHERE status = 'PENDING'",
        )
        .await?;
        db.execute_unprepared(
            "CREATE INDEX ix_jobs_running_lease ON jobs (locked_until) WHERE status = 'RUNNING'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("DROP INDEX IF EXISTS ix_jobs_running_lease")
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS ix_jobs_pending_claim")
            .await?;
        Ok(())
    }
}
