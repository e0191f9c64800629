//! Durable-job rules (ARCHITECTURE.md §5): statuses, exponential backoff with jitter, and what
//! happens after a failed attempt. Pure: the caller passes the jitter sample and the clock.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Waiting for `scheduled_for`.
    Pending,
    /// Claimed by a worker whose lease runs until `locked_until`.
    Running,
    /// Done; `result` holds the outcome.
    Completed,
    /// Failed permanently (a bad request that retrying cannot fix).
    Failed,
    /// Failed `max_attempts` times; `error` holds the last error. `retryJob` revives it.
    Dead,
    /// Withdrawn while still waiting (what it was for went away, e.g. a stopped nurture
    /// sequence); `result` says why. Never runs and is never revived.
    Cancelled,
}

impl JobStatus {
    /// Every status.
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Pending,
        JobStatus::Running,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Dead,
        JobStatus::Cancelled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "PENDING",
            JobStatus::Running => "RUNNING",
            JobStatus::Completed => "COMPLETED",
            JobStatus::Failed => "FAILED",
            JobStatus::Dead => "DEAD",
            JobStatus::Cancelled => "CANCELLED",
        }
    }

    /// Parses the stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        JobStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "job status",
                value: value.to_owned(),
            })
    }
}

/// How retries are spaced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub base: Duration,
    /// Longest delay.
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// Delay before attempt `attempts + 1`, given `attempts` made so far (≥ 1): `base · 2^(attempts−1)`
    /// capped, then "equal jitter" — half fixed, half scaled by `jitter` in 0..=1 — so retries of
    /// many jobs that failed together spread out instead of stampeding, yet never come sooner than
    /// half the nominal delay.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        let nominal = self.base.saturating_mul(1_u32 << exponent).min(self.cap);
        let jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        nominal / 2 + nominal.mul_f64(jitter / 2.0)
    }
}

/// What to do after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again after this delay.
    RetryIn(Duration),
    /// Give up: the job is DEAD with its last error.
    Dead,
    /// Give up at once: the error says retrying cannot help.
    Failed,
}

/// Decides the next step after attempt number `attempts` (1-based) failed.
pub fn after_failure(
    attempts: u32,
    max_attempts: u32,
    retryable: bool,
    backoff: &Backoff,
    jitter: f64,
) -> AfterFailure {
    if !retryable {
        AfterFailure::Failed
    } else if attempts >= max_attempts {
        AfterFailure::Dead
    } else {
        AfterFailure::RetryIn(backoff.delay(attempts, jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered_within_bounds() {
        let b = Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(60),
        };
        assert_eq!(b.delay(1, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(b.delay(20, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(u32::MAX, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(2, f64::NAN), Duration::from_secs(2));
        for attempts in 1..12 {
            let low = b.delay(attempts, 0.0);
            let high = b.delay(attempts, 1.0);
            let mid = b.delay(attempts, 0.5);
            assert!(
                low <= mid && mid <= high && high <= b.cap,
                "attempt {attempts}"
            );
        }
    }

    #[test]
    fn failures_retry_until_max_then_die() {
        let b = Backoff::default();
        assert!(matches!(
            after_failure(1, 3, true, &b, 0.5),
            AfterFailure::RetryIn(_)
        ));
        assert_eq!(after_failure(3, 3, true, &b, 0.5), AfterFailure::Dead);
        assert_eq!(after_failure(1, 3, false, &b, 0.5), AfterFailure::Failed);
    }

    #[test]
    fn statuses_round_trip() {
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Ok(s));
        }
    }
}
