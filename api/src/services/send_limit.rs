//! The per-tenant, per-channel outbound send rate (`LEADLINE_SEND_RATE_PER_MINUTE`,
//! ARCHITECTURE.md §2 "rate limits, quotas").
//!
//! A thin adapter over `crate::limit`'s GCRA: in process by default, in Redis (one atomic
//! script, shared by every replica) when `REDIS_URL` is set. A tenant may send a minute's
//! allowance at once, then is held to the steady rate — no window edge at which twice the
//! budget passes.
//!
//! A send over the limit is not an error of the message: the caller retries the job later. When
//! Redis cannot be reached this process counts alone (logged by the limiter), so an outage slows
//! sending down to one replica's share rather than stopping it or letting it run unlimited.
//!
//! Must not: know about messages, jobs or platforms — it only counts `(tenant, channel)` keys.

use std::time::Duration;

use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;

use crate::limit::{LimitStore, Limiter, OnOutage, Quota, Refusal};

/// The answer for one intended send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendPermit {
    /// Send now.
    Granted,
    /// Over the limit: try again after about this long.
    Limited {
        /// Until the tenant's rate has room again, at least one second.
        retry_after: Duration,
    },
}

/// Counts sends per tenant and channel. Cheap to share (hold it in an `Arc`).
#[derive(Debug)]
pub struct SendLimiter {
    limiter: Limiter,
}

impl SendLimiter {
    /// A limiter of `per_minute` sends per tenant and channel (0: unlimited), counted in `store`.
    pub fn new(per_minute: u32, store: &LimitStore) -> Self {
        Self {
            limiter: Limiter::new(
                "send",
                Quota::per_minute(per_minute),
                OnOutage::InProcess,
                store,
            ),
        }
    }

    /// An in-process limiter of `per_minute` sends per tenant and channel (0: unlimited).
    pub fn in_process(per_minute: u32) -> Self {
        Self::new(per_minute, &LimitStore::in_process())
    }

    /// Takes one send of `tenant_id` on `channel`, or says how long to wait.
    pub async fn acquire(&self, tenant_id: TenantId, channel: Channel) -> SendPermit {
        let key = format!("{tenant_id}:{}", channel.as_str());
        match self.limiter.acquire(&key).await {
            Ok(()) => SendPermit::Granted,
            Err(Refusal::Limited { retry_after }) => SendPermit::Limited { retry_after },
            // The send limit never fails closed; should that change, waiting is the safe reading.
            Err(Refusal::Unavailable) => SendPermit::Limited {
                retry_after: Duration::from_secs(1),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[tokio::test]
    async fn in_process_limit_is_per_tenant_and_channel() {
        let limiter = SendLimiter::in_process(1);
        let (a, b) = (TenantId(Uuid::now_v7()), TenantId(Uuid::now_v7()));
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
    async fn the_redis_limit_is_shared_by_replicas() {
        let Ok(url) = std::env::var("LEADLINE_TEST_REDIS_URL") else {
            eprintln!("skipped: LEADLINE_TEST_REDIS_URL is not set");
            return;
        };
        let prefix = format!("test-send-{}", Uuid::now_v7().simple());
        let (Ok(store_a), Ok(store_b)) = (
            LimitStore::redis(&url, &prefix),
            LimitStore::redis(&url, &prefix),
        ) else {
            panic!("a valid Redis URL");
        };
        store_a.warm_up().await;
        store_b.warm_up().await;
        let (a, b) = (SendLimiter::new(2, &store_a), SendLimiter::new(2, &store_b));
        let tenant = Uuid::now_v7();
        assert_eq!(
            a.acquire(TenantId(tenant), Channel::Whatsapp).await,
            SendPermit::Granted
        );
        assert_eq!(
            b.acquire(TenantId(tenant), Channel::Whatsapp).await,
            SendPermit::Granted
        );
        match a.acquire(TenantId(tenant), Channel::Whatsapp).await {
            SendPermit::Limited { retry_after } => {
                assert!(
                    retry_after >= Duration::from_secs(1) && retry_after <= Duration::from_secs(30)
                );
            }
            SendPermit::Granted => panic!("the third send in a minute passed across replicas"),
        }
        assert_eq!(
            b.acquire(TenantId(tenant), Channel::Tiktok).await,
            SendPermit::Granted
        );
    }

    #[tokio::test]
    async fn zero_means_unlimited() {
        let limiter = SendLimiter::in_process(0);
        let tenant = Uuid::now_v7();
        for _ in 0..100 {
            assert_eq!(
                limiter.acquire(TenantId(tenant), Channel::Facebook).await,
                SendPermit::Granted
            );
        }
    }
}
