//! One lazily opened, self-healing Redis connection for the services that keep shared state in
//! Redis (send rate, live budgets, live-session leases through atomic scripts; support presence
//! through plain commands): opened on first use, so a Redis that is down at start does not stop
//! the server, and dropped after a failure or a timeout, so the next call reconnects.
//!
//! Must not: retry or fall back by itself; each caller decides what a failure means (a limit
//! falls back in process, presence forgets the call).

use std::time::Duration;

use redis::aio::MultiplexedConnection;

/// How long one Redis call may take before the caller falls back or gives up.
pub const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// A Redis client with keys under one prefix.
pub struct RedisConn {
    client: redis::Client,
    prefix: String,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConn")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl RedisConn {
    /// A client for `url` (not connected yet); keys go under `prefix`.
    pub fn new(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
            prefix: prefix.to_owned(),
            connection: tokio::sync::Mutex::new(None),
        })
    }

    /// `"{prefix}:{name}"`.
    pub fn key(&self, name: &str) -> String {
        format!("{}:{name}", self.prefix)
    }

    /// Runs `script` with `keys` and `args` within [`REDIS_TIMEOUT`].
    pub async fn run<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        keys: &[String],
        args: &[String],
    ) -> anyhow::Result<T> {
        let mut connection = self.connection().await?;
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        match tokio::time::timeout(REDIS_TIMEOUT, invocation.invoke_async::<T>(&mut connection))
            .await
        {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                self.forget().await;
                Err(error.into())
            }
            Err(elapsed) => {
                self.forget().await;
                Err(elapsed.into())
            }
        }
    }

    /// Runs one plain command within [`REDIS_TIMEOUT`].
    pub async fn query<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> anyhow::Result<T> {
        let mut connection = self.connection().await?;
        match tokio::time::timeout(REDIS_TIMEOUT, command.query_async::<T>(&mut connection)).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                self.forget().await;
                Err(error.into())
            }
            Err(elapsed) => {
                self.forget().await;
                Err(elapsed.into())
            }
        }
    }

    async fn connection(&self) -> anyhow::Result<MultiplexedConnection> {
        let mut guard = self.connection.lock().await;
        if let Some(connection) = guard.as_ref() {
            return Ok(connection.clone());
        }
        let connection = tokio::time::timeout(
            REDIS_TIMEOUT,
            self.client.get_multiplexed_async_connection(),
        )
        .await??;
        *guard = Some(connection.clone());
        Ok(connection)
    }

    /// Drops the connection so the next call reconnects.
    async fn forget(&self) {
        *self.connection.lock().await = None;
    }
}
