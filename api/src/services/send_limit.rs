//! The per-tenant, per-channel outbound send rate (`LEADLINE_SEND_RATE_PER_MINUTE`,
//! ARCHITECTURE.md §2 "rate limits, quotas").
//!
//! Two backends behind one type: an in-process token bucket (the embedded default; each process
//! counts alone), and, when `REDIS_URL` is set, a fixed one-minute window counted in Redis with
//! one atomic script (INCR, then EXPIRE on the first hit) so every replica shares the count.
//!
//! A send over the limit is not an error of the message: the caller retries the job later. When
//! Redis cannot be reached the in-process bucket decides instead (logged), so an outage slows
//! sending down to one replica's share rather than stopping it or letting it run unlimited.
//!
//! Must not: know about messages, jobs or platforms — it only counts `(tenant, channel)` keys.

use std::time::Duration;

use chrono::Utc;
use leadline_domain::channel::Channel;
use uuid::Uuid;

use crate::services::ai::RateLimiter;
use crate::services::redis_conn::RedisConn;

/// INCR the window's key; the first hit sets its expiry (two windows, so a clock a little off
/// between replicas cannot reset a live count). Atomic, because Redis runs a script as a whole.
const WINDOW_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return n
";

/// The answer for one intended send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPermit {
    /// Send now.
    Granted,
    /// Over the limit: try again after about this long.
    Limited {
        /// Until the window (or bucket) has room again, at least one second.
        retry_after: Duration,
    },
}

struct RedisWindow {
    redis: RedisConn,
    script: redis::Script,
}

/// Counts sends per tenant and channel. Cheap to share (hold it in an `Arc`).
pub struct SendLimiter {
    per_minute: u32,
    local: RateLimiter<(Uuid, &'static str)>,
    redis: Option<RedisWindow>,
}

impl std::fmt::Debug for SendLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendLimiter")
            .field("per_minute", &self.per_minute)
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

impl SendLimiter {
    /// An in-process limiter of `per_minute` sends per tenant and channel (0: unlimited).
    pub fn in_process(per_minute: u32) -> Self {
        Self {
            per_minute,
            local: RateLimiter::new(per_minute),
            redis: None,
        }
    }

    /// A limiter shared through Redis at `url` (keys under `prefix`). The connection is opened
    /// on first use, so a Redis that is down at start does not stop the server.
    pub fn redis(per_minute: u32, url: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self {
            per_minute,
            local: RateLimiter::new(per_minute),
            redis: Some(RedisWindow {
                redis: RedisConn::new(url, prefix)?,
                script: redis::Script::new(WINDOW_SCRIPT),
            }),
        })
    }

    /// Takes one send of `tenant_id` on `channel`, or says how long to wait.
    pub async fn acquire(&self, tenant_id: Uuid, channel: Channel) -> SendPermit {
        if self.per_minute == 0 {
            return SendPermit::Granted;
        }
        if let Some(redis) = &self.redis {
            match redis.hit(tenant_id, channel).await {
                Ok((count, retry_after)) => {
                    return if count <= u64::from(self.per_minute) {
                        SendPermit::Granted
                    } else {
                        SendPermit::Limited { retry_after }
                    };
                }
                Err(error) => {
                    tracing::warn!(%error, "send rate counter in Redis unavailable; counting in this process");
                }
            }
        }
        match self.local.check((tenant_id, channel.as_str())) {
            Ok(()) => SendPermit::Granted,
            Err(crate::error::ApiError::RateLimited { retry_after_secs }) => SendPermit::Limited {
                retry_after: Duration::from_secs(retry_after_secs.max(1)),
            },
            // `check` refuses only with RATE_LIMITED; anything else would be a bug there, and
            // sending is the safer reading than losing the message.
            Err(_) => SendPermit::Granted,
        }
    }
}

impl RedisWindow {
    /// Counts one hit in the current minute's window: the count and the time left in it.
    async fn hit(&self, tenant_id: Uuid, channel: Channel) -> anyhow::Result<(u64, Duration)> {
        let now = Utc::now().timestamp();
        let window = now.div_euclid(60);
        let left = Duration::from_secs(u64::try_from(60 - now.rem_euclid(60)).unwrap_or(60));
        let key = self.redis.key(&format!(
            "send_rate:{tenant_id}:{}:{window}",
            channel.as_str()
        ));
        let count: u64 = self
            .redis
            .run(&self.script, &[key], &["120".to_owned()])
            .await?;
        Ok((count, left.max(Duration::from_secs(1))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_limit_is_per_tenant_and_channel() {
        let limiter = SendLimiter::in_process(1);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(
            limiter.acquire(a, Channel::Whatsapp).await,
            SendPermit::Granted
        );
        assert!(matches!(
            limiter.acquire(a, Channel::Whatsapp).await,
            SendPermit::Limited { .. }
        ));
        assert_eq!(
            limiter.acquire(a, Channel::Tiktok).await,
            SendPermit::Granted
        );
        assert_eq!(
            limiter.acquire(b, Channel::Whatsapp).await,
            SendPermit::Granted
        );
    }

    #[tokio::test]
    async fn zero_means_unlimited() {
        let limiter = SendLimiter::in_process(0);
        let tenant = Uuid::now_v7();
        for _ in 0..100 {
            assert_eq!(
                limiter.acquire(tenant, Channel::Facebook).await,
                SendPermit::Granted
            );
        }
    }
}
