//! The durable job queue (ARCHITECTURE.md §5): every side effect runs as a job that is retried
//! with backoff and ends DEAD with its error, never silently dropped.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000004_create_jobs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("jobs"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(string("kind"))
                .col(json("payload"))
                .col(string_default("status", "PENDING"))
                .col(integer("priority", 0))
                .col(integer("attempts", 0))
                .col(integer("max_attempts", 5))
                .col(timestamp("scheduled_for"))
                .col(timestamp_null("locked_until"))
                .col(string_null("locked_by"))
                .col(text_null("error"))
                .col(json_null("result"))
                .col(string_null("idempotency_key"))
                .col(timestamp_null("completed_at"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("jobs"))
                .to_owned(),
            vec![
                index(
                    "jobs",
                    "ux_jobs_tenant_idempotency",
                    &["tenant_id", "idempotency_key"],
                    true,
                ),
                index(
                    "jobs",
                    "ix_jobs_claim",
                    &["status", "scheduled_for", "priority"],
                    false,
                ),
                index(
                    "jobs",
                    "ix_jobs_tenant_status",
                    &["tenant_id", "status"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["jobs"]).await
    }
}
