//! Tenants' own live-platform credentials on their channel connections (issue 11, operator
//! budgets): a YouTube Data API key (`api_key`) and the TikTok LIVE wrapper's token
//! (`live_access_token`). Both are secrets, written and read only through the store's channel
//! connection functions like the other secret columns; the non-secret parts (Google project,
//! Twitch bot login and client id) live in the connection's `settings`.

use sea_orm_migration::prelude::*;

use crate::columns::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000004_live_operator_budgets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in ["api_key", "live_access_token"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("channel_connections"))
                        .add_column(text_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["live_access_token", "api_key"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(n("channel_connections"))
                        .drop_column(n(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
