//! `ReconnectBackoff`: exponential delays between reconnect attempts of the chat connection.
//!
//! Twitch allows 20 authentication attempts (PASS+NICK) and 20 JOINs per 10 s per user
//! (platforms.md §2.1); a reconnect loop without a delay would burn that in a second and get the
//! account locked out. Delays double from `initial` to `max`, with optional "equal jitter" (a
//! random point in the upper half) so many sessions dropped by one Twitch restart do not all come
//! back in the same instant. Pure apart from the injected randomness; tests turn jitter off and
//! use millisecond delays.

use std::time::Duration;

use rand::Rng;

/// Backoff tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// The first delay.
    pub initial: Duration,
    /// The ceiling.
    pub max: Duration,
    /// Randomise each delay within its upper half.
    pub jitter: bool,
}

impl Default for BackoffConfig {
    /// 1 s doubling to 60 s, jittered: at most ~10 logins per 10 s even if every attempt fails
    /// at once.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            jitter: true,
        }
    }
}

/// The attempt counter.
#[derive(Debug, Clone)]
pub struct ReconnectBackoff {
    config: BackoffConfig,
    attempt: u32,
}

impl ReconnectBackoff {
    /// Starts at attempt 0.
    pub fn new(config: BackoffConfig) -> Self {
        Self { config, attempt: 0 }
    }

    /// Attempts since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The ceiling of the delay for the attempt after `attempt` failures: initial × 2^attempt,
    /// capped at max.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.config
            .initial
            .checked_mul(factor)
            .unwrap_or(self.config.max)
            .min(self.config.max)
    }

    /// The delay before the next attempt; counts the attempt.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceiling(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        if self.config.jitter && !ceiling.is_zero() {
            let half = ceiling / 2;
            half + rand::thread_rng().gen_range(Duration::ZERO..=ceiling - half)
        } else {
            ceiling
        }
    }

    /// After a healthy connection: start again from `initial`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_and_reset() {
        let mut backoff = ReconnectBackoff::new(BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1_000),
            jitter: false,
        });
        let delays: Vec<u64> = (0..6)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(backoff.attempt(), 6);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
        assert_eq!(
            backoff.ceiling(200),
            Duration::from_millis(1_000),
            "no overflow"
        );
    }

    #[test]
    fn jittered_delays_stay_in_the_upper_half() {
        let mut backoff = ReconnectBackoff::new(BackoffConfig::default());
        for attempt in 0..10 {
            let ceiling = backoff.ceiling(attempt);
            let delay = backoff.next_delay();
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{delay:?} vs {ceiling:?}"
            );
        }
    }
}
