//! A circuit breaker: closed → open after N consecutive failed calls → half-open after a
//! cool-down (one probe call goes through) → closed when the probe succeeds, open again when it
//! fails.
//!
//! "Failed" means the provider was unavailable: a retryable error left after the retries
//! (429, 529/503, 5xx, timeout, connection). A 401, a 400 or an unusable answer shows the
//! provider is up, so they count as successes here; those errors still reach the caller.
//!
//! Time is passed in (`tokio::time::Instant`), so the state machine is a plain function of its
//! inputs and tests drive it with `tokio::time::pause`/`advance`. No IO, no locking: the owner
//! (`ResilientProvider`) holds breakers behind its own mutex.

use std::time::Duration;

use tokio::time::Instant;

/// Thresholds of a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// Consecutive failed calls that open the breaker (at least 1).
    pub failure_threshold: u32,
    /// How long the breaker stays open before letting a probe through. Also the longest a probe
    /// may stay unanswered before another probe is allowed (a cancelled call never reports).
    pub cool_down: Duration,
}

impl Default for BreakerConfig {
    /// Five failed calls in a row open the breaker for 30 s.
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The externally visible state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Calls go through.
    Closed,
    /// Calls are refused until the cool-down ends.
    Open,
    /// One probe call is allowed (or in flight).
    HalfOpen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inner {
    Closed { consecutive_failures: u32 },
    Open { until: Instant },
    HalfOpen { probe_started: Option<Instant> },
}

/// One breaker (the resilient provider keeps one per provider credential).
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    config: BreakerConfig,
    inner: Inner,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(config: BreakerConfig) -> Self {
        let config = BreakerConfig {
            failure_threshold: config.failure_threshold.max(1),
            ..config
        };
        Self {
            config,
            inner: Inner::Closed {
                consecutive_failures: 0,
            },
        }
    }

    /// The state at `now` (an open breaker whose cool-down ended reads as half-open).
    pub fn state(&self, now: Instant) -> BreakerState {
        match self.inner {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { until } if now < until => BreakerState::Open,
            Inner::Open { .. } | Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call at `now`. True: go ahead, then report with `record_success` or
    /// `record_failure`. False: the breaker is open (or a probe is already in flight).
    pub fn try_acquire(&mut self, now: Instant) -> bool {
        match self.inner {
            Inner::Closed { .. } => true,
            Inner::Open { until } if now < until => false,
            Inner::Open { .. }
            | Inner::HalfOpen {
                probe_started: None,
            } => {
                self.inner = Inner::HalfOpen {
                    probe_started: Some(now),
                };
                true
            }
            Inner::HalfOpen {
                probe_started: Some(started),
            } => {
                // A probe that never reported (its caller was cancelled) must not wedge the
                // breaker half-open forever: after a cool-down, allow another.
                if now.saturating_duration_since(started) >= self.config.cool_down {
                    self.inner = Inner::HalfOpen {
                        probe_started: Some(now),
                    };
                    true
                } else {
                    false
                }
            }
        }
    }

    /// The call succeeded (or failed in a way that shows the provider is up): close.
    pub fn record_success(&mut self) {
        self.inner = Inner::Closed {
            consecutive_failures: 0,
        };
    }

    /// The call failed because the provider was unavailable.
    pub fn record_failure(&mut self, now: Instant) {
        self.inner = match self.inner {
            Inner::Closed {
                consecutive_failures,
            } => {
                let failures = consecutive_failures.saturating_add(1);
                if failures >= self.config.failure_threshold {
                    tracing::warn!(failures, "LLM circuit breaker opened");
                    Inner::Open {
                        until: now + self.config.cool_down,
                    }
                } else {
                    Inner::Closed {
                        consecutive_failures: failures,
                    }
                }
            }
            // A failed probe (or a late report while open) re-opens for a full cool-down.
            Inner::HalfOpen { .. } | Inner::Open { .. } => Inner::Open {
                until: now + self.config.cool_down,
            },
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> CircuitBreaker {
        CircuitBreaker::new(BreakerConfig {
            failure_threshold: 3,
            cool_down: Duration::from_secs(10),
        })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_consecutive_failures_only() {
        let mut b = breaker();
        let now = Instant::now();
        b.record_failure(now);
        b.record_failure(now);
        b.record_success(); // a success in between resets the count
        b.record_failure(now);
        b.record_failure(now);
        assert_eq!(b.state(now), BreakerState::Closed);
        assert!(b.try_acquire(now));
        b.record_failure(now);
        assert_eq!(b.state(now), BreakerState::Open);
        assert!(!b.try_acquire(now + Duration::from_secs(9)));
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_one_probe_through_and_closes_on_success() {
        let mut b = breaker();
        let start = Instant::now();
        for _ in 0..3 {
            b.record_failure(start);
        }
        let later = start + Duration::from_secs(10);
        assert_eq!(b.state(later), BreakerState::HalfOpen);
        assert!(b.try_acquire(later));
        assert!(
            !b.try_acquire(later + Duration::from_secs(1)),
            "only one probe at a time"
        );
        b.record_success();
        assert_eq!(b.state(later), BreakerState::Closed);
        assert!(b.try_acquire(later));
    }

    #[tokio::test(start_paused = true)]
    async fn failed_probe_reopens_and_a_lost_probe_does_not_wedge_the_breaker() {
        let mut b = breaker();
        let start = Instant::now();
        for _ in 0..3 {
            b.record_failure(start);
        }
        let probe = start + Duration::from_secs(10);
        assert!(b.try_acquire(probe));
        b.record_failure(probe);
        assert_eq!(b.state(probe + Duration::from_secs(9)), BreakerState::Open);
        let next = probe + Duration::from_secs(10);
        assert!(b.try_acquire(next));
        // That probe never reports; after another cool-down a new one is allowed.
        assert!(!b.try_acquire(next + Duration::from_secs(5)));
        assert!(b.try_acquire(next + Duration::from_secs(10)));
    }
}
