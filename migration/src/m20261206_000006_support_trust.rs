//! Anonymous web-chat visitors and their resume secrets. A visitor's id is readable in every
//! customer token it holds (the WEB_CHAT identity `visitor:<id>`), so it must not be what lets a
//! browser come back as that visitor: coming back takes a separate random secret, of which only
//! the SHA-256 is kept, replaced on every resume (the old one stops working at once).

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000006_support_trust"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("web_chat_visitors"))
                .if_not_exists()
                // The visitor id: random (v4), made by the server, the `<id>` of `visitor:<id>`.
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("lead_id"))
                // Hex SHA-256 of the current resume secret (32 random bytes): one per visitor.
                .col(string("secret_hash"))
                .col(timestamp("created_at"))
                .col(timestamp("rotated_at"))
                .foreign_key(&mut tenant_fk("web_chat_visitors"))
                // Deleting the lead forgets the visitor (and so its way back).
                .foreign_key(&mut fk(
                    "web_chat_visitors",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![index(
                "web_chat_visitors",
                "ix_web_chat_visitors_lead",
                &["lead_id"],
                false,
            )],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["web_chat_visitors"]).await
    }
}
