//! The live-stream sales agent: sessions on YouTube, Twitch or TikTok Live and every chat
//! message they saw with what the agent decided.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000005_create_live_selling"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("live_sessions"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(string("platform"))
                .col(string_default("status", "ACTIVE"))
                .col(boolean("agent_enabled", true))
                .col(string_null("title"))
                .col(json("platform_config"))
                .col(json("product_ids"))
                .col(json("limits"))
                .col(integer("messages_processed", 0))
                .col(integer("responses_sent", 0))
                .col(integer("whispers_sent", 0))
                .col(integer("quota_used", 0))
                // Which replica reads this session's chat, and until when its lease holds.
                .col(string_null("owner_id"))
                .col(timestamp_null("lease_until"))
                .col(timestamp("started_at"))
                .col(timestamp_null("stopped_at"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("live_sessions"))
                .to_owned(),
            vec![index(
                "live_sessions",
                "ix_live_sessions_tenant_status",
                &["tenant_id", "status"],
                false,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("live_interactions"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("session_id"))
                .col(uuid_null("lead_id"))
                .col(string("platform_message_id"))
                .col(string("author_id"))
                .col(string("author_name"))
                .col(text("text"))
                .col(string_null("intent"))
                .col(double_null("confidence"))
                .col(uuid_null("matched_product_id"))
                .col(text_null("response"))
                .col(string_null("response_via"))
                .col(string_default("outcome", "PENDING"))
                .col(string_null("skip_reason"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("live_interactions"))
                .foreign_key(&mut fk(
                    "live_interactions",
                    "session_id",
                    "live_sessions",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "live_interactions",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![
                index(
                    "live_interactions",
                    "ux_live_interactions_session_message",
                    &["session_id", "platform_message_id"],
                    true,
                ),
                index(
                    "live_interactions",
                    "ix_live_interactions_session_created",
                    &["session_id", "created_at"],
                    false,
                ),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(manager, &["live_interactions", "live_sessions"]).await
    }
}
