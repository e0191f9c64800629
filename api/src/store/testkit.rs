//! Rows that tests and benchmarks need before they can exercise the store, built in one place
//! so that a new column is added once (feature `testkit`, and this crate's own unit tests).
//!
//! Must not: be used by production code. A tenant made here has no owner and no AI context.

use leadline_entity::tenants;
use sea_orm::EntityTrait;
use uuid::Uuid;

use super::tenants::new_tenant_row;
use super::{now, Store};

/// Inserts a bare tenant (FREE, no members, the AI takes every lead) whose name and slug start
/// with `name`, and returns its id.
pub async fn seed_tenant(store: &Store, name: &str) -> Result<Uuid, sea_orm::DbErr> {
    let id = Uuid::now_v7();
    let slug = format!("{name}-{}", &id.simple().to_string()[20..]);
    tenants::Entity::insert(new_tenant_row(id, &slug, name, now()))
        .exec_without_returning(store.connection())
        .await?;
    Ok(id)
}

/// A migrated store on a private in-memory SQLite database.
pub async fn memory_store() -> anyhow::Result<Store> {
    let db = sea_orm::Database::connect("sqlite::memory:").await?;
    let store = Store::from_connection(db);
    store.migrate().await?;
    Ok(store)
}

/// The backend a test pass runs on, from `LEADLINE_TEST_BACKEND` (as `.ci/run` sets it): the
/// embedded default, or PostgreSQL and Redis from `LEADLINE_TEST_DATABASE_URL` (an admin URL:
/// each test gets a database of its own) and `LEADLINE_TEST_REDIS_URL`.
#[derive(Clone, Debug)]
pub enum TestBackend {
    /// A fresh SQLite file per test and the in-process bus.
    Embedded,
    /// A fresh database per test on this server, and this Redis.
    Postgres {
        /// Connects to an existing database with the right to create others.
        admin_url: String,
        /// The shared Redis (tests keep apart by key prefix).
        redis_url: String,
    },
}

/// The backend of this test pass. The Postgres pass without its URLs is an error, never a
/// silent fall back to SQLite (that would test less while saying it tested more).
pub fn test_backend() -> anyhow::Result<TestBackend> {
    match std::env::var("LEADLINE_TEST_BACKEND").as_deref() {
        Ok("postgres") => {
            let var = |name: &str| {
                std::env::var(name)
                    .map_err(|_| anyhow::anyhow!("LEADLINE_TEST_BACKEND=postgres needs {name}"))
            };
            Ok(TestBackend::Postgres {
                admin_url: var("LEADLINE_TEST_DATABASE_URL")?,
                redis_url: var("LEADLINE_TEST_REDIS_URL")?,
            })
        }
        _ => Ok(TestBackend::Embedded),
    }
}

/// Creates an empty database named `{prefix}_{uuid}` on the server of `admin_url` and returns
/// its URL.
pub async fn create_postgres_database(admin_url: &str, prefix: &str) -> anyhow::Result<String> {
    use sea_orm::ConnectionTrait;
    let name = format!("{prefix}_{}", Uuid::now_v7().simple());
    let admin = sea_orm::Database::connect(admin_url).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    let _ = admin.close().await;
    let (server, _) = admin_url
        .rsplit_once('/')
        .ok_or_else(|| anyhow::anyhow!("the admin URL {admin_url} names no database"))?;
    Ok(format!("{server}/{name}"))
}

/// A fresh, empty database for one test on the backend of this pass, named after `label`: a
/// new SQLite file in its own temporary directory, or a new PostgreSQL database.
pub async fn fresh_database_url(label: &str) -> anyhow::Result<String> {
    match test_backend()? {
        TestBackend::Postgres { admin_url, .. } => {
            create_postgres_database(&admin_url, &format!("leadline_{label}")).await
        }
        TestBackend::Embedded => {
            let dir =
                std::env::temp_dir().join(format!("leadline-{label}-{}", Uuid::now_v7().simple()));
            std::fs::create_dir_all(&dir)?;
            Ok(format!(
                "sqlite://{}?mode=rwc",
                dir.join(format!("{label}.db")).display()
            ))
        }
    }
}

/// A migrated store on the database at `url`.
pub async fn store_at(url: &str) -> anyhow::Result<Store> {
    let config =
        crate::config::Config::from_lookup(|key| (key == "DATABASE_URL").then(|| url.to_owned()))?;
    let store = Store::connect(&config).await?;
    store.migrate().await?;
    Ok(store)
}

/// Runs `attempt` every `every` until it answers `Ok`, for at most `limit`; then the error says
/// what was awaited and the last attempt's answer. Workers, buses and other replicas act
/// asynchronously, so tests wait for an outcome instead of sleeping a guessed time.
pub async fn eventually<T, E, F, Fut>(
    what: &str,
    limit: std::time::Duration,
    every: std::time::Duration,
    mut attempt: F,
) -> anyhow::Result<T>
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    let started = std::time::Instant::now();
    loop {
        let last = match attempt().await {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        if started.elapsed() >= limit {
            anyhow::bail!("timed out after {limit:?} waiting for {what}; last answer: {last:#?}");
        }
        tokio::time::sleep(every).await;
    }
}
