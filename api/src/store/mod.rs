//! Repositories over sea-orm. Architecture invariant: every function that reads or writes tenant
//! data takes the caller's `tenant_id` and filters by it, so another tenant's row is simply
//! "not found". GraphQL code never builds queries itself.

mod ai_context;
mod ai_usage;
mod allocation;
mod api_keys;
mod audit;
pub mod billing;
pub mod call_analytics;
pub mod call_settings;
pub mod calls;
mod channels;
pub mod columns;
pub mod inbox;
mod lead_assignment;
mod leads;
pub mod live;
pub mod live_budget;
mod members;
pub mod nurture;
pub mod outbound_calls;
pub mod phone_agent;
mod products;
pub mod sealing;
mod standing;
pub mod support;
mod tenants;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod usage;

use std::time::Duration;

use base64::Engine;
use sea_orm::{ColumnTrait, Statement};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};

pub use ai_context::AiContextChanges;
pub use ai_usage::AiUsageIncrement;
pub use audit::AuditEntry;
pub use channels::{
    live_connection_settings, webhook_account_id, whatsapp_template, ChannelConnectionChanges,
    LiveConnectionSettings, WhatsAppTemplate,
};
pub use columns::Stored;
pub use inbox::{
    ConversationChange, ConversationFilter, InboundContact, InboundMessage, IngestOutcome,
    Ingested, NewTicket, OutboundMessage,
};
pub use lead_assignment::{LeadAssigned, LeadAssignment};
pub use leads::{LeadChanges, LeadFilter, NewLead, ScoreAdjustment};
pub use members::{AcceptPlan, Acceptance, InviteRequest};
pub use products::{ProductChanges, ProductFilter};
pub use tenants::TenantSettingsChanges;

/// The database handle plus the few facts about the backend the queries depend on.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// Where hot read paths (authentication, listings) run: on SQLite a pool of read-only
    /// connections beside the one writer, so reads neither queue behind writes nor behind each
    /// other (WAL lets them read the last commit while a write is in progress); elsewhere the
    /// same pool as `db`. Only reads that need no transaction of their own go here.
    reader: DatabaseConnection,
    /// Seals secrets on write and opens them on read (`store::sealing`).
    sealer: std::sync::Arc<crate::secrets::Sealer>,
}

impl Store {
    /// Connects (creating the SQLite file if needed) and loads the secret keys (creating the
    /// key file if needed). Does not migrate.
    pub async fn connect(config: &Config) -> anyhow::Result<Self> {
        let sealer = crate::secrets::Sealer::from_sources(&config.key_sources())?;
        let mut options = ConnectOptions::new(config.database_url.clone());
        options
            .sqlx_logging(false)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(5));
        if config.is_postgres() {
            options
                .max_connections(config.database_max_connections)
                .min_connections(1);
        } else {
            // SQLite admits one writer at a time; one pooled connection turns would-be
            // SQLITE_BUSY lock upgrades into an orderly queue. WAL keeps readers cheap.
            options.max_connections(1).map_sqlx_sqlite_opts(|sqlite| {
                sqlite
                    .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true)
                    .create_if_missing(true)
            });
        }
        let db = Database::connect(options).await?;
        let reader = if config.is_postgres() || is_sqlite_memory(&config.database_url) {
            // One in-memory SQLite database is private to its one connection.
            db.clone()
        } else {
            let mut options = ConnectOptions::new(config.database_url.clone());
            options
                .sqlx_logging(false)
                .connect_timeout(Duration::from_secs(5))
                .acquire_timeout(Duration::from_secs(5))
                .max_connections(SQLITE_READERS)
                .min_connections(1)
                .map_sqlx_sqlite_opts(|sqlite| {
                    sqlite
                        .read_only(true)
                        .busy_timeout(Duration::from_secs(5))
                        .foreign_keys(true)
                });
            Database::connect(options).await?
        };
        Ok(Self {
            db,
            reader,
            sealer: std::sync::Arc::new(sealer),
        })
    }

    /// Wraps an existing connection, sealing with a key that lives as long as the process.
    pub fn from_connection(db: DatabaseConnection) -> Self {
        Self {
            reader: db.clone(),
            db,
            sealer: std::sync::Arc::new(crate::secrets::Sealer::ephemeral()),
        }
    }

    /// The sealer (key ids, for reports).
    pub fn sealer(&self) -> &crate::secrets::Sealer {
        &self.sealer
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        use leadline_migration::MigratorTrait;
        leadline_migration::Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// The connection, for services that compose their own transactions.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Whether this is PostgreSQL (row locks are available).
    pub fn is_postgres(&self) -> bool {
        self.db.get_database_backend() == DbBackend::Postgres
    }

    /// `SELECT 1`, for readiness.
    pub async fn ping(&self) -> bool {
        let statement = Statement::from_string(self.db.get_database_backend(), "SELECT 1");
        matches!(
            tokio::time::timeout(Duration::from_secs(2), self.db.execute(statement)).await,
            Ok(Ok(_))
        )
    }
}

/// Read-only SQLite connections beside the writer: enough to keep both cores of a small
/// machine busy with reads while a request waits on the database.
const SQLITE_READERS: u32 = 4;

/// Whether a SQLite URL names an in-memory database (which another connection cannot open).
fn is_sqlite_memory(database_url: &str) -> bool {
    database_url.contains(":memory:") || database_url.contains("mode=memory")
}

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;
/// Page size when the client does not say.
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// A validated `first`/`after` pair. Pages run newest first: ids are UUID v7, so id order is
/// creation order and a cursor is just the last id seen.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub first: u64,
    pub after: Option<Uuid>,
    /// Whether the page's `total_count` is wanted (a COUNT over every matching row); when it
    /// is not, the count is skipped and reported as 0.
    pub count_total: bool,
}

impl PageRequest {
    /// Validates client input: `first` in 1..=100, `after` a cursor this API issued.
    pub fn parse(first: Option<i32>, after: Option<&str>) -> ApiResult<Self> {
        let first = match first {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE_SIZE => n as u64,
            Some(n) => {
                return Err(ApiError::bad_input(
                    "first",
                    format!("must be between 1 and {MAX_PAGE_SIZE}, got {n}"),
                ))
            }
        };
        let after = after.map(decode_cursor).transpose()?;
        Ok(Self {
            first,
            after,
            count_total: true,
        })
    }

    /// The same page without its total count (the client did not ask for `totalCount`).
    pub fn without_total(mut self) -> Self {
        self.count_total = false;
        self
    }
}

/// One page of rows.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub total_count: u64,
}

/// An opaque cursor for a row id.
pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

/// Reads a cursor back; anything else is BAD_USER_INPUT on `after`.
pub fn decode_cursor(cursor: &str) -> ApiResult<Uuid> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::bad_input("after", "not a cursor returned by this API"))
}

/// Runs `select` as one newest-first page keyed on `id_column`, with the total count of rows
/// matching the filter (ignoring the cursor) when the request wants it.
pub async fn paginate<E, C>(
    db: &C,
    select: Select<E>,
    id_column: E::Column,
    page: PageRequest,
) -> ApiResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let total_count = if page.count_total {
        select.clone().count(db).await?
    } else {
        0
    };
    let mut query = select;
    if let Some(after) = page.after {
        query = query.filter(id_column.lt(after));
    }
    let mut items = query
        .order_by_desc(id_column)
        .limit(page.first + 1)
        .all(db)
        .await?;
    let has_next_page = items.len() as u64 > page.first;
    items.truncate(page.first as usize);
    Ok(Page {
        items,
        has_next_page,
        total_count,
    })
}

/// The current time, truncated to microseconds so values read back from either backend compare
/// equal to what was written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).ok(), Some(id));
        assert!(
            matches!(decode_cursor("!!"), Err(ApiError::BadUserInput { field, .. }) if field == "after")
        );
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(
            PageRequest::parse(None, None).map(|p| p.first).ok(),
            Some(DEFAULT_PAGE_SIZE)
        );
        assert!(PageRequest::parse(Some(0), None).is_err());
        assert!(PageRequest::parse(Some(101), None).is_err());
        assert!(PageRequest::parse(Some(-5), None).is_err());
    }
}
