//! The usage ledger (issue 16): one row per counted thing (an AI reply, a message sent, a lead,
//! a live session, a call's billed minutes), written in the same transaction as the thing it
//! counts. Its key is the item and the source row, so a retried write counts once; metered
//! rows are reported to Stripe by a job that marks `reported_at`, and the row's key is the
//! meter event's identifier, so a report repeated after a crash is deduplicated by Stripe.
//!
//! Usage recorded before this migration is not back-filled: the counts start at the upgrade.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000001_usage_ledger"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("usage_ledger"))
                .if_not_exists()
                // AI_REPLIES, CALL_MINUTES, LIVE_SESSIONS, MESSAGES_SENT or LEADS.
                .col(string("item"))
                // The counted row (`message:<uuid>`, `call:<uuid>`…): with `item`, the key.
                .col(string("source"))
                .col(uuid("tenant_id"))
                .col(big_integer("quantity", 1))
                .col(timestamp("occurred_at"))
                // When the metered report to Stripe was accepted (null: not reported).
                .col(timestamp_null("reported_at"))
                .primary_key(Index::create().col(n("item")).col(n("source")))
                .foreign_key(&mut tenant_fk("usage_ledger"))
                .to_owned(),
            vec![
                // Period sums, series and the reporter's scan all read one tenant's item by time.
                index(
                    "usage_ledger",
                    "ix_usage_ledger_tenant_item_time",
                    &["tenant_id", "item", "occurred_at"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["usage_ledger"]).await
    }
}
