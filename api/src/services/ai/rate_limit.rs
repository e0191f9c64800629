//! Token buckets per key: per tenant for the AI operations (`LEADLINE_AI_RATE_PER_MINUTE`), per
//! e-mail for login attempts.
//!
//! A bucket holds up to `per_minute` tokens, refills continuously at `per_minute / 60` tokens a
//! second, and each request takes one: a tenant may burst up to the whole minute's allowance,
//! then is held to the steady rate. Time comes in as an argument, so the arithmetic is tested
//! without sleeping.
//!
//! Scope: in-process. Each replica keeps its own buckets, so N replicas admit up to N times the
//! rate; a Redis-backed limiter shared by replicas (ARCHITECTURE.md §2) is future work.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Buckets kept before full (idle) ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// One tenant's bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket admitting `per_minute` requests a minute (at least 1).
    pub fn full(per_minute: u32, now: Instant) -> Self {
        let capacity = f64::from(per_minute.max(1));
        Self {
            capacity,
            per_second: capacity / 60.0,
            tokens: capacity,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        // A clock that went backwards (it cannot with `Instant`, but tests pass any value)
        // adds nothing rather than panicking.
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        self.updated = self.updated.max(now);
    }

    /// Takes one token, or says how long until one is available.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }

    /// Whether the bucket would be full at `now` (then it can be forgotten).
    fn is_full_at(&self, now: Instant) -> bool {
        let mut probe = *self;
        probe.refill(now);
        probe.tokens >= probe.capacity
    }
}

/// The buckets of every key (tenant, e-mail, …) seen by this process.
#[derive(Debug)]
pub struct RateLimiter<K = Uuid> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, TokenBucket>>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// `per_minute` requests a minute per tenant; 0 admits everything.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits one request of `tenant` now, or refuses it with RATE_LIMITED.
    pub fn check(&self, key: K) -> ApiResult<()> {
        self.check_at(key, Instant::now())
    }

    /// Admits one request of `tenant` at `now`, or refuses it with RATE_LIMITED and the whole
    /// seconds until a token is back (at least 1).
    pub fn check_at(&self, key: K, now: Instant) -> ApiResult<()> {
        if self.per_minute == 0 {
            return Ok(());
        }
        // A poisoned lock only means another request panicked mid-update; the counts are still
        // usable.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            buckets.retain(|_, bucket| !bucket.is_full_at(now));
        }
        let bucket = buckets
            .entry(key)
            .or_insert_with(|| TokenBucket::full(self.per_minute, now));
        bucket.try_take(now).map_err(|wait| ApiError::RateLimited {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry_after(result: ApiResult<()>) -> Option<u64> {
        match result {
            Err(ApiError::RateLimited { retry_after_secs }) => Some(retry_after_secs),
            _ => None,
        }
    }

    /// The wait in whole milliseconds (the float arithmetic is exact only to a few ns).
    fn wait_ms(result: Result<(), Duration>) -> Option<u64> {
        result
            .err()
            .map(|d| (d.as_secs_f64() * 1000.0).round() as u64)
    }

    #[test]
    fn a_full_bucket_admits_a_burst_of_the_minute_allowance_then_refuses() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(3, t0);
        assert_eq!(bucket.try_take(t0), Ok(()));
        assert_eq!(bucket.try_take(t0), Ok(()));
        assert_eq!(bucket.try_take(t0), Ok(()));
        // 3 a minute refills one token every 20 s.
        assert_eq!(wait_ms(bucket.try_take(t0)), Some(20_000));
        assert_eq!(
            wait_ms(bucket.try_take(t0 + Duration::from_secs(5))),
            Some(15_000)
        );
        assert_eq!(bucket.try_take(t0 + Duration::from_millis(20_001)), Ok(()));
        assert!(bucket.try_take(t0 + Duration::from_secs(21)).is_err());
    }

    #[test]
    fn refill_never_exceeds_the_capacity() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(2, t0);
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(bucket.try_take(later), Ok(()));
        assert_eq!(bucket.try_take(later), Ok(()));
        assert!(bucket.try_take(later).is_err());
    }

    #[test]
    fn an_earlier_instant_adds_no_tokens_and_does_not_panic() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut bucket = TokenBucket::full(1, t0);
        assert_eq!(bucket.try_take(t0), Ok(()));
        assert!(bucket.try_take(t0 - Duration::from_secs(50)).is_err());
    }

    #[test]
    fn tenants_have_separate_buckets_and_retry_after_is_rounded_up() {
        let limiter = RateLimiter::new(60);
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at(a, t0).is_ok());
        }
        assert_eq!(retry_after(limiter.check_at(a, t0)), Some(1));
        assert!(limiter.check_at(b, t0).is_ok(), "b is not limited by a");
        // 60 a minute is one a second: after 1.5 s one token is back, the next is 0.5 s away.
        let later = t0 + Duration::from_millis(1500);
        assert!(limiter.check_at(a, later).is_ok());
        assert_eq!(retry_after(limiter.check_at(a, later)), Some(1));

        let slow = RateLimiter::new(1);
        assert!(slow.check_at(a, t0).is_ok());
        assert_eq!(
            retry_after(slow.check_at(a, t0 + Duration::from_millis(100))),
            Some(60)
        );
    }

    #[test]
    fn zero_switches_the_limit_off() {
        let limiter = RateLimiter::new(0);
        let tenant = Uuid::now_v7();
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(limiter.check_at(tenant, t0).is_ok());
        }
    }
}
