//! Retries with exponential backoff and full jitter, honouring the provider's `retry-after`.
//!
//! The policy retries only errors that say so (`LlmError::is_retryable`: 429, 529/503, 5xx,
//! timeouts, connection failures). The n-th wait is a uniform draw from
//! `[0, min(max_delay, base_delay * 2^(n-1))]` ("full jitter", which spreads a thundering herd
//! best), raised to the provider's `retry-after` when it sent one. A `retry-after` longer than
//! `max_retry_after` ends the retries at once: holding a worker for minutes is worse than
//! returning the error to the job queue, which reschedules the whole job.
//!
//! The jitter source is injected so tests are deterministic, and every wait chosen is reported
//! back, so tests assert on the policy's decisions instead of on wall-clock time. Sleeping uses
//! `tokio::time::sleep`, so `tokio::time::pause` works.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;

use crate::error::LlmError;

/// Picks the jittered wait below a ceiling.
pub trait JitterSource: Send + Sync {
    /// A wait in `[0, ceiling]`.
    fn sample(&self, ceiling: Duration) -> Duration;
}

/// Uniform random jitter (production).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomJitter;

impl JitterSource for RandomJitter {
    fn sample(&self, ceiling: Duration) -> Duration {
        if ceiling.is_zero() {
            return Duration::ZERO;
        }
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::thread_rng().gen_range(0..=nanos))
    }
}

/// Always the same fraction of the ceiling (tests): `FixedJitter(1.0)` is plain exponential
/// backoff, `FixedJitter(0.0)` never waits unless the provider asked to.
#[derive(Debug, Clone, Copy)]
pub struct FixedJitter(pub f64);

impl JitterSource for FixedJitter {
    fn sample(&self, ceiling: Duration) -> Duration {
        ceiling.mul_f64(self.0.clamp(0.0, 1.0))
    }
}

/// How often and how long to retry.
#[derive(Clone)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The ceiling of the first backoff.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// The longest `retry-after` honoured; a longer one ends the retries.
    pub max_retry_after: Duration,
    jitter: Arc<dyn JitterSource>,
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_attempts", &self.max_attempts)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("max_retry_after", &self.max_retry_after)
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    /// Three attempts (the official SDKs retry twice), 500 ms base, 8 s cap, `retry-after`
    /// honoured up to 20 s, random jitter.
    fn default() -> Self {
        Self::new(3, Duration::from_millis(500), Duration::from_secs(8))
    }
}

/// The result of running an operation under a policy.
#[derive(Debug)]
pub struct Retried<T> {
    /// The last attempt's result.
    pub result: Result<T, LlmError>,
    /// Attempts made (at least 1).
    pub attempts: u32,
    /// The waits chosen before attempts 2, 3, ... in order.
    pub delays: Vec<Duration>,
}

impl RetryPolicy {
    /// A policy with random jitter and `retry-after` honoured up to 20 s.
    pub fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        Self {
            max_attempts: max_attempts.max(1),
            base_delay,
            max_delay,
            max_retry_after: Duration::from_secs(20),
            jitter: Arc::new(RandomJitter),
        }
    }

    /// Never retries.
    pub fn no_retries() -> Self {
        Self::new(1, Duration::ZERO, Duration::ZERO)
    }

    /// Replaces the jitter source.
    pub fn with_jitter(mut self, jitter: Arc<dyn JitterSource>) -> Self {
        self.jitter = jitter;
        self
    }

    /// Replaces the longest honoured `retry-after`.
    pub fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// The wait before retry number `retry` (1 for the second attempt) after `error`, or None
    /// when the error must not be retried (not retryable, or `retry-after` beyond the limit).
    /// Does not look at `max_attempts`.
    pub fn delay_for(&self, retry: u32, error: &LlmError) -> Option<Duration> {
        if !error.is_retryable() {
            return None;
        }
        let exponent = retry.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1_u32 << exponent)
            .min(self.max_delay);
        let backoff = self.jitter.sample(ceiling).min(ceiling);
        match error.retry_after() {
            Some(wait) if wait > self.max_retry_after => None,
            Some(wait) => Some(wait.max(backoff)),
            None => Some(backoff),
        }
    }

    /// Runs `operation` (given the 1-based attempt number) until it succeeds, fails with an error
    /// that must not be retried, or `max_attempts` is reached.
    pub async fn run<T, F, Fut>(&self, mut operation: F) -> Retried<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, LlmError>>,
    {
        let mut delays = Vec::new();
        let mut attempt = 1;
        loop {
            let result = operation(attempt).await;
            let error = match result {
                Ok(value) => {
                    return Retried {
                        result: Ok(value),
                        attempts: attempt,
                        delays,
                    }
                }
                Err(error) => error,
            };
            let delay = if attempt < self.max_attempts {
                self.delay_for(attempt, &error)
            } else {
                None
            };
            let Some(delay) = delay else {
                return Retried {
                    result: Err(error),
                    attempts: attempt,
                    delays,
                };
            };
            tracing::info!(attempt, ?delay, %error, "retrying LLM request");
            delays.push(delay);
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

/// The wait a response asks for: `retry-after-ms` (milliseconds, sent by some deployments and
/// read first by both official SDKs), else `retry-after` as seconds (integer or decimal) or as
/// an HTTP-date relative to `now`. Unparseable or negative values are ignored.
pub(crate) fn parse_retry_after(
    headers: &reqwest::header::HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms >= 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = header("retry-after")?;
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy(jitter: f64) -> RetryPolicy {
        RetryPolicy::new(5, Duration::from_millis(100), Duration::from_millis(1000))
            .with_jitter(Arc::new(FixedJitter(jitter)))
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_scales_it() {
        let p = policy(1.0);
        let e = LlmError::Transient("500".into());
        let waits: Vec<_> = (1..=6).filter_map(|n| p.delay_for(n, &e)).collect();
        let ms = |v: u64| Duration::from_millis(v);
        assert_eq!(
            waits,
            vec![ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(policy(0.5).delay_for(3, &e), Some(ms(200)));
        assert_eq!(policy(0.0).delay_for(3, &e), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_is_a_floor_and_too_long_a_wait_ends_the_retries() {
        let p = policy(0.0).with_max_retry_after(Duration::from_secs(10));
        let asked = |secs| LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(p.delay_for(1, &asked(3)), Some(Duration::from_secs(3)));
        assert_eq!(p.delay_for(1, &asked(11)), None);
        // A short retry-after does not shorten a longer backoff.
        let p = policy(1.0);
        let short = LlmError::Overloaded {
            retry_after: Some(Duration::from_millis(10)),
        };
        assert_eq!(p.delay_for(4, &short), Some(Duration::from_millis(800)));
    }

    #[test]
    fn random_jitter_stays_within_the_ceiling() {
        let ceiling = Duration::from_millis(250);
        for _ in 0..200 {
            assert!(RandomJitter.sample(ceiling) <= ceiling);
        }
        assert_eq!(RandomJitter.sample(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn retry_after_headers_in_every_form_are_read() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .map(|d| d.to_utc())
            .ok();
        let Some(now) = now else { panic!("valid date") };
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            parse_retry_after(&headers, now)
        };
        assert_eq!(with(&[("retry-after", "7")]), Some(Duration::from_secs(7)));
        assert_eq!(
            with(&[("retry-after", "0.5")]),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            with(&[("retry-after", "7"), ("retry-after-ms", "250")]),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            with(&[("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")]),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            with(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]),
            Some(Duration::ZERO)
        );
        assert_eq!(with(&[("retry-after", "soon")]), None);
        assert_eq!(with(&[("retry-after", "-3")]), None);
        assert_eq!(with(&[]), None);
    }

    #[tokio::test(start_paused = true)]
    async fn run_sleeps_the_chosen_delays_and_stops_on_success() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let outcome = policy(1.0)
            .run(|attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt < 3 {
                        Err(LlmError::RateLimited {
                            retry_after: Some(Duration::from_secs(2)),
                        })
                    } else {
                        Ok(attempt)
                    }
                }
            })
            .await;
        assert_eq!(outcome.result, Ok(3));
        assert_eq!(outcome.attempts, 3);
        assert_eq!(
            outcome.delays,
            vec![Duration::from_secs(2), Duration::from_secs(2)]
        );
        assert!(started.elapsed() >= Duration::from_secs(4));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn run_gives_up_after_max_attempts_and_never_retries_final_errors() {
        let outcome: Retried<()> = policy(0.0).run(|_| async { Err(LlmError::Timeout) }).await;
        assert_eq!(
            (outcome.result, outcome.attempts, outcome.delays.len()),
            (Err(LlmError::Timeout), 5, 4)
        );

        let outcome: Retried<()> = policy(0.0)
            .run(|_| async { Err(LlmError::Unauthorized("bad key".into())) })
            .await;
        assert_eq!(outcome.attempts, 1);
        assert!(outcome.delays.is_empty());
    }
}
