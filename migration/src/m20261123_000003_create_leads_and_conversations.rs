//! Leads and how we reach them: leads, their per-channel identities, conversations, messages,
//! score events and support tickets.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261123_000003_create_leads_and_conversations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create(
            manager,
            Table::create()
                .table(n("leads"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(string("name"))
                .col(string_null("email"))
                .col(string_null("phone"))
                .col(string_null("company"))
                .col(string_default("status", "NEW"))
                .col(integer("score", 50))
                .col(string_default("temperature", "WARM"))
                .col(string_null("source_channel"))
                .col(text_null("notes"))
                // Dealership allocation: who works this lead (AI or HUMAN), and which member.
                .col(string_default("handler", "AI"))
                .col(uuid_null("assigned_user_id"))
                .col(json("metadata"))
                .col(timestamp_null("last_contacted_at"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("leads"))
                .foreign_key(&mut fk(
                    "leads",
                    "assigned_user_id",
                    "users",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![
                index(
                    "leads",
                    "ix_leads_tenant_status",
                    &["tenant_id", "status"],
                    false,
                ),
                index(
                    "leads",
                    "ix_leads_tenant_score",
                    &["tenant_id", "score"],
                    false,
                ),
                index(
                    "leads",
                    "ix_leads_tenant_phone",
                    &["tenant_id", "phone"],
                    false,
                ),
            ],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("lead_identities"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("lead_id"))
                // A channel name (WHATSAPP, TWITCH, …) or EXTERNAL for third-party CRM references.
                .col(string("channel"))
                .col(string("external_id"))
                .col(string_null("display_name"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("lead_identities"))
                .foreign_key(&mut fk(
                    "lead_identities",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![
                index(
                    "lead_identities",
                    "ux_lead_identities_tenant_channel_external",
                    &["tenant_id", "channel", "external_id"],
                    true,
                ),
                index(
                    "lead_identities",
                    "ix_lead_identities_lead",
                    &["lead_id"],
                    false,
                ),
            ],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("conversations"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("lead_id"))
                .col(string("channel"))
                .col(string_default("status", "ACTIVE"))
                .col(string_default("handled_by", "AI"))
                .col(uuid_null("assignee_user_id"))
                .col(string_null("subject"))
                .col(integer("ai_turns", 0))
                .col(timestamp_null("last_inbound_at"))
                .col(timestamp_null("last_message_at"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("conversations"))
                .foreign_key(&mut fk(
                    "conversations",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "conversations",
                    "assignee_user_id",
                    "users",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![
                index(
                    "conversations",
                    "ix_conversations_tenant_status",
                    &["tenant_id", "status"],
                    false,
                ),
                index(
                    "conversations",
                    "ix_conversations_lead_channel",
                    &["lead_id", "channel"],
                    false,
                ),
            ],
        )
        .await?;
        // One open conversation per lead and channel. Both backends accept this partial index.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_conversations_open_per_lead_channel \
                 ON conversations (tenant_id, lead_id, channel) WHERE status IN ('ACTIVE', 'WAITING')",
            )
            .await?;

        create(
            manager,
            Table::create()
                .table(n("messages"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("conversation_id"))
                .col(string("channel"))
                .col(string("direction"))
                .col(string("sender_kind"))
                .col(uuid_null("sender_user_id"))
                .col(text("body"))
                .col(string_null("platform_message_id"))
                .col(string_null("client_message_id"))
                .col(string_default("delivery_status", "PENDING"))
                .col(text_null("delivery_error"))
                .col(timestamp_null("read_at"))
                .col(json("metadata"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("messages"))
                .foreign_key(&mut fk(
                    "messages",
                    "conversation_id",
                    "conversations",
                    ForeignKeyAction::Cascade,
                ))
                .to_owned(),
            vec![
                // Dedup of platform redeliveries; NULLs (our own outbound before send) are distinct.
                index(
                    "messages",
                    "ux_messages_platform_id",
                    &["tenant_id", "channel", "platform_message_id"],
                    true,
                ),
                index(
                    "messages",
                    "ux_messages_client_id",
                    &["conversation_id", "client_message_id"],
                    true,
                ),
                index(
                    "messages",
                    "ix_messages_conversation_created",
                    &["conversation_id", "created_at"],
                    false,
                ),
            ],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("lead_score_events"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid("lead_id"))
                .col(integer("delta", 0))
                .col(string("signal"))
                .col(text("reason"))
                .col(integer("score_before", 0))
                .col(integer("score_after", 0))
                .col(string("temperature_after"))
                .col(uuid_null("source_message_id"))
                .col(uuid_null("actor_user_id"))
                .col(timestamp("created_at"))
                .foreign_key(&mut tenant_fk("lead_score_events"))
                .foreign_key(&mut fk(
                    "lead_score_events",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::Cascade,
                ))
                .foreign_key(&mut fk(
                    "lead_score_events",
                    "source_message_id",
                    "messages",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![index(
                "lead_score_events",
                "ix_lead_score_events_lead",
                &["lead_id", "created_at"],
                false,
            )],
        )
        .await?;

        create(
            manager,
            Table::create()
                .table(n("tickets"))
                .if_not_exists()
                .col(id())
                .col(uuid("tenant_id"))
                .col(uuid_null("lead_id"))
                .col(uuid_null("conversation_id"))
                .col(string("subject"))
                .col(text("description"))
                .col(string_default("priority", "MEDIUM"))
                .col(string_default("status", "OPEN"))
                .col(uuid_null("assignee_user_id"))
                .col(timestamp_null("resolved_at"))
                .col(timestamp("created_at"))
                .col(timestamp("updated_at"))
                .foreign_key(&mut tenant_fk("tickets"))
                .foreign_key(&mut fk(
                    "tickets",
                    "lead_id",
                    "leads",
                    ForeignKeyAction::SetNull,
                ))
                .foreign_key(&mut fk(
                    "tickets",
                    "conversation_id",
                    "conversations",
                    ForeignKeyAction::SetNull,
                ))
                .to_owned(),
            vec![
                index(
                    "tickets",
                    "ix_tickets_tenant_status",
                    &["tenant_id", "status"],
                    false,
                ),
                index("tickets", "ix_tickets_lead", &["lead_id"], false),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        drop_all(
            manager,
            &[
                "tickets",
                "lead_score_events",
                "messages",
                "conversations",
                "lead_identities",
                "leads",
            ],
        )
        .await
    }
}
