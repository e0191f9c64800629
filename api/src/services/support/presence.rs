//! Which agents are online, from their live support subscriptions (`onlineAgents`).
//!
//! In process, a count of open subscriptions per agent; with Redis, a sorted set per tenant
//! whose members (`user:replica`) carry a heartbeat time refreshed while the subscription
//! lives, so every replica sees every agent and a replica that dies stops counting after the
//! TTL.
//!
//! Must not: fail anything because Redis is away (presence is advisory: a failed call is
//! logged and forgotten), or decide who may see the list (the resolver authorises).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use leadline_domain::ids::TenantId;
use uuid::Uuid;

use crate::services::redis_conn::RedisConn;

/// Presence on the shared Redis connection helper: one sorted set per tenant.
struct RedisPresence {
    conn: RedisConn,
}

impl RedisPresence {
    fn key(&self, tenant_id: TenantId) -> String {
        self.conn.key(&format!("presence:{tenant_id}"))
    }

    /// Runs `command`; a failure is logged and forgotten (presence is advisory), and the helper
    /// reconnects on the next call.
    async fn run<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Option<T> {
        match self.conn.query(&command).await {
            Ok(value) => Some(value),
            Err(error) => {
                tracing::warn!(error = %error, "presence: redis call failed");
                None
            }
        }
    }
}

/// One online agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineAgent {
    pub user_id: Uuid,
    /// The last heartbeat (now, in process).
    pub last_seen_at: DateTime<Utc>,
}

/// Which agents hold a live subscription (see the module docs).
pub struct Presence {
    ttl: Duration,
    /// This process's id in Redis members, so one replica's leaving never hides another's agent.
    replica: Uuid,
    local: Mutex<HashMap<(Uuid, Uuid), usize>>,
    redis: Option<Arc<RedisPresence>>,
}

impl Presence {
    /// In process, or shared through Redis at `url` under `prefix`.
    pub fn new(ttl: Duration, redis: Option<(&str, &str)>) -> anyhow::Result<Self> {
        let redis = match redis {
            Some((url, prefix)) => Some(Arc::new(RedisPresence {
                conn: RedisConn::new(url, prefix)?,
            })),
            None => None,
        };
        Ok(Self {
            ttl,
            replica: Uuid::now_v7(),
            local: Mutex::new(HashMap::new()),
            redis,
        })
    }

    fn member(&self, user_id: Uuid) -> String {
        format!("{user_id}:{}", self.replica)
    }

    /// Counts `user_id` online while the returned guard lives (hold it in the subscription).
    pub fn track(self: &Arc<Self>, tenant_id: TenantId, user_id: Uuid) -> PresenceGuard {
        {
            let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            *local.entry((tenant_id.uuid(), user_id)).or_insert(0) += 1;
        }
        let heartbeat = self.redis.clone().map(|redis| {
            let key = redis.key(tenant_id);
            let member = self.member(user_id);
            let every = (self.ttl / 3).max(Duration::from_secs(1));
            tokio::spawn(async move {
                loop {
                    let score = Utc::now().timestamp_millis();
                    redis
                        .run::<i64>(redis::cmd("ZADD").arg(&key).arg(score).arg(&member).clone())
                        .await;
                    tokio::time::sleep(every).await;
                }
            })
        });
        PresenceGuard {
            presence: self.clone(),
            tenant_id,
            user_id,
            heartbeat,
        }
    }

    fn release(&self, tenant_id: TenantId, user_id: Uuid) {
        let gone = {
            let mut local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            match local.get_mut(&(tenant_id.uuid(), user_id)) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                Some(_) => {
                    local.remove(&(tenant_id.uuid(), user_id));
                    true
                }
                None => false,
            }
        };
        if let (true, Some(redis)) = (gone, self.redis.clone()) {
            let key = redis.key(tenant_id);
            let member = self.member(user_id);
            // Drop runs outside async; the removal is best effort (the TTL covers a failure).
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    redis
                        .run::<i64>(redis::cmd("ZREM").arg(&key).arg(&member).clone())
                        .await;
                });
            }
        }
    }

    /// The agents online in `tenant_id`, each once, most recently seen first.
    pub async fn online(&self, tenant_id: TenantId) -> Vec<OnlineAgent> {
        let now = Utc::now();
        let Some(redis) = &self.redis else {
            let local = self.local.lock().unwrap_or_else(|p| p.into_inner());
            let mut agents: Vec<_> = local
                .keys()
                .filter(|(tenant, _)| *tenant == tenant_id.uuid())
                .map(|(_, user_id)| OnlineAgent {
                    user_id: *user_id,
                    last_seen_at: now,
                })
                .collect();
            agents.sort_by_key(|a| a.user_id);
            return agents;
        };
        let key = redis.key(tenant_id);
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let oldest = now.timestamp_millis().saturating_sub(ttl_ms);
        // Heartbeats of replicas that died without saying goodbye.
        redis
            .run::<i64>(
                redis::cmd("ZREMRANGEBYSCORE")
                    .arg(&key)
                    .arg("-inf")
                    .arg(format!("({oldest}"))
                    .clone(),
            )
            .await;
        let members: Vec<(String, f64)> = redis
            .run(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&key)
                    .arg(oldest)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .clone(),
            )
            .await
            .unwrap_or_default();
        latest_per_user(members)
    }
}

/// Folds `user:replica` members with millisecond scores into one entry per user.
fn latest_per_user(members: Vec<(String, f64)>) -> Vec<OnlineAgent> {
    let mut seen: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for (member, score) in members {
        let Some(user_id) = member
            .split_once(':')
            .and_then(|(user, _)| Uuid::parse_str(user).ok())
        else {
            continue;
        };
        let Some(at) = DateTime::from_timestamp_millis(score as i64) else {
            continue;
        };
        let entry = seen.entry(user_id).or_insert(at);
        *entry = (*entry).max(at);
    }
    let mut agents: Vec<_> = seen
        .into_iter()
        .map(|(user_id, last_seen_at)| OnlineAgent {
            user_id,
            last_seen_at,
        })
        .collect();
    agents.sort_by(|a, b| {
        b.last_seen_at
            .cmp(&a.last_seen_at)
            .then(a.user_id.cmp(&b.user_id))
    });
    agents
}

/// Keeps an agent online while it lives; dropping it (the subscription ended) releases them.
pub struct PresenceGuard {
    presence: Arc<Presence>,
    tenant_id: TenantId,
    user_id: Uuid,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for PresenceGuard {
    fn drop(&mut self) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.abort();
        }
        self.presence.release(self.tenant_id, self.user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_members_fold_to_one_entry_per_user() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let agents = latest_per_user(vec![
            (format!("{a}:r1"), 1_000.0),
            (format!("{a}:r2"), 3_000.0),
            (format!("{b}:r1"), 2_000.0),
            ("garbage".into(), 5_000.0),
        ]);
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[0].user_id, a);
        assert_eq!(agents[0].last_seen_at.timestamp_millis(), 3_000);
        assert_eq!(agents[1].user_id, b);
    }

    #[tokio::test]
    async fn in_process_presence_counts_live_subscriptions() -> anyhow::Result<()> {
        let presence = Arc::new(Presence::new(Duration::from_secs(30), None)?);
        let (tenant, agent) = (Uuid::now_v7(), Uuid::now_v7());
        let first = presence.track(TenantId(tenant), agent);
        let second = presence.track(TenantId(tenant), agent);
        assert_eq!(presence.online(TenantId(tenant)).await.len(), 1);
        assert!(presence.online(TenantId(Uuid::now_v7())).await.is_empty());
        drop(first);
        assert_eq!(presence.online(TenantId(tenant)).await.len(), 1);
        drop(second);
        assert!(presence.online(TenantId(tenant)).await.is_empty());
        Ok(())
    }
}
