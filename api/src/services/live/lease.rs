//! One owner per live session across `serve` replicas (ARCHITECTURE.md §2 "live pollers"): a
//! replica reads (and answers) a session's chat only while it holds the session's lease.
//!
//! The lease is a key in Redis when `REDIS_URL` is set (`SET NX PX`, renewed by the owner with a
//! check-and-extend script), else a conditional UPDATE of `live_sessions.owner_id/lease_until`
//! (`Store::claim_live_session`). Either way it expires on its own: a replica that dies (or
//! loses its network) stops renewing, and another claims the session within one lease period.
//! A replica that cannot renew stops its reader first, so two readers overlap at most until the
//! old one notices — and the interactions' unique key and the atomic budgets keep even that
//! overlap from answering a message twice.

use leadline_domain::ids::LiveSessionId;
use std::time::Duration;

use chrono::Utc;
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::services::redis_conn::RedisConn;
use crate::store::Store;

/// Take the key when free, extend it when ours; 1 when we hold it afterwards.
const CLAIM_SCRIPT: &str = r"
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Delete the key only when ours.
const RELEASE_SCRIPT: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

// One per process: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Database(Store),
    Redis {
        redis: RedisConn,
        claim: redis::Script,
        release: redis::Script,
    },
}

/// This replica's leases on live sessions.
pub struct SessionLeases {
    owner: String,
    ttl: Duration,
    backend: Backend,
}

impl std::fmt::Debug for SessionLeases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLeases")
            .field("owner", &self.owner)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl SessionLeases {
    /// Leases in the database, held for `ttl` by `owner` (this replica's id).
    pub fn database(store: Store, owner: String, ttl: Duration) -> Self {
        Self {
            owner,
            ttl,
            backend: Backend::Database(store),
        }
    }

    /// Leases in Redis at `url` (keys under `prefix`).
    pub fn redis(url: &str, prefix: &str, owner: String, ttl: Duration) -> anyhow::Result<Self> {
        Ok(Self {
            owner,
            ttl,
            backend: Backend::Redis {
                redis: RedisConn::new(url, prefix)?,
                claim: redis::Script::new(CLAIM_SCRIPT),
                release: redis::Script::new(RELEASE_SCRIPT),
            },
        })
    }

    /// This replica's id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How long a lease holds without renewal.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Claims or renews the session's lease: whether this replica holds it now.
    pub async fn claim(&self, session_id: Uuid) -> ApiResult<bool> {
        match &self.backend {
            Backend::Database(store) => {
                let now = Utc::now();
                let until = now
                    + chrono::Duration::from_std(self.ttl)
                        .unwrap_or_else(|_| chrono::Duration::seconds(10));
                store
                    .claim_live_session(LiveSessionId(session_id), &self.owner, now, until)
                    .await
            }
            Backend::Redis { redis, claim, .. } => {
                let held: i64 = redis
                    .run(
                        claim,
                        &[redis.key(&format!("live:lease:{session_id}"))],
                        &[self.owner.clone(), self.ttl.as_millis().to_string()],
                    )
                    .await
                    .map_err(|e| ApiError::Unavailable(format!("live lease: {e}")))?;
                Ok(held == 1)
            }
        }
    }

    /// Gives the session's lease up, if this replica holds it.
    pub async fn release(&self, session_id: Uuid) -> ApiResult<()> {
        match &self.backend {
            Backend::Database(store) => {
                store
                    .release_live_session(LiveSessionId(session_id), &self.owner)
                    .await
            }
            Backend::Redis { redis, release, .. } => {
                redis
                    .run::<i64>(
                        release,
                        &[redis.key(&format!("live:lease:{session_id}"))],
                        std::slice::from_ref(&self.owner),
                    )
                    .await
                    .map_err(|e| ApiError::Unavailable(format!("live lease: {e}")))?;
                Ok(())
            }
        }
    }
}
