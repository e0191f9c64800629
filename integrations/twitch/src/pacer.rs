//! `SendPacer`: keeps the bot inside Twitch's chat send limits (platforms.md §2.1: 20 messages
//! per 30 s for a normal user, 100 per 30 s as moderator or broadcaster; going over gets messages
//! dropped and, historically, a 30-minute lockout).
//!
//! A token bucket whose tokens come back one by one, each exactly one window after it was spent
//! (a sliding-window log). A bucket that refills continuously would let a full bucket plus the
//! refill through in one window — up to twice the limit — which is exactly what Twitch punishes.
//! A safety margin is added to the window because Twitch counts by arrival time, and network
//! jitter can bring two of our sends closer together than we sent them.
//!
//! Pure: `now` is an argument (tokio's `Instant`, so the chat task can sleep until
//! `next_slot` and tests can run under `tokio::time::pause`).

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// How many messages per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacerConfig {
    /// Messages allowed in any window.
    pub max_messages: u32,
    /// Twitch's window (30 s).
    pub window: Duration,
    /// Added to the window (see the module docs).
    pub margin: Duration,
}

impl PacerConfig {
    /// 20 per 30 s: the bot is not a moderator in the channel (the safe default).
    pub const fn user() -> Self {
        Self {
            max_messages: 20,
            window: Duration::from_secs(30),
            margin: Duration::from_secs(1),
        }
    }

    /// 100 per 30 s: the bot is a moderator (or the broadcaster) in the channel.
    pub const fn moderator() -> Self {
        Self {
            max_messages: 100,
            window: Duration::from_secs(30),
            margin: Duration::from_secs(1),
        }
    }

    /// The window with its margin.
    pub fn span(&self) -> Duration {
        self.window + self.margin
    }
}

impl Default for PacerConfig {
    fn default() -> Self {
        Self::user()
    }
}

/// The send log of one bot account.
#[derive(Debug, Clone)]
pub struct SendPacer {
    config: PacerConfig,
    sent: VecDeque<Instant>,
}

impl SendPacer {
    /// An empty log.
    pub fn new(config: PacerConfig) -> Self {
        Self {
            config,
            sent: VecDeque::new(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> PacerConfig {
        self.config
    }

    /// Switches limits (e.g. the bot was made moderator); the log is kept.
    pub fn set_config(&mut self, config: PacerConfig) {
        self.config = config;
    }

    /// Sends counted in the window ending at `now`.
    pub fn in_window(&self, now: Instant) -> usize {
        let span = self.config.span();
        self.sent
            .iter()
            .filter(|at| now.saturating_duration_since(**at) < span)
            .count()
    }

    /// The earliest instant at or after `now` when one more message may go.
    pub fn next_slot(&self, now: Instant) -> Instant {
        let max = self.config.max_messages.max(1) as usize;
        let span = self.config.span();
        let recent: Vec<&Instant> = self
            .sent
            .iter()
            .filter(|at| now.saturating_duration_since(**at) < span)
            .collect();
        if recent.len() < max {
            return now;
        }
        // The send that must age out first is the `max`-th most recent one.
        let blocking = recent[recent.len() - max];
        (*blocking + span).max(now)
    }

    /// Spends a token at `now`, or says when the next one comes back.
    pub fn try_acquire(&mut self, now: Instant) -> Result<(), Instant> {
        let slot = self.next_slot(now);
        if slot > now {
            return Err(slot);
        }
        let span = self.config.span();
        while self
            .sent
            .front()
            .is_some_and(|at| now.saturating_duration_since(*at) >= span)
        {
            self.sent.pop_front();
        }
        self.sent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// The largest number of sends inside any window of `span` (closed-open).
    fn max_in_any_window(sends: &[Instant], span: Duration) -> usize {
        sends
            .iter()
            .map(|start| {
                sends
                    .iter()
                    .filter(|t| **t >= *start && t.duration_since(*start) < span)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_normal_user_gets_twenty_then_waits_for_the_first_to_age_out() {
        let t0 = Instant::now();
        let mut pacer = SendPacer::new(PacerConfig::user());
        for i in 0..20 {
            assert_eq!(
                pacer.try_acquire(t0 + Duration::from_millis(i * 100)),
                Ok(())
            );
        }
        let blocked = t0 + Duration::from_secs(2);
        assert_eq!(
            pacer.try_acquire(blocked),
            Err(t0 + Duration::from_secs(31))
        );
        assert_eq!(pacer.in_window(blocked), 20);
        assert_eq!(pacer.try_acquire(t0 + Duration::from_secs(31)), Ok(()));
        // The next token returns 31 s after the second send.
        assert_eq!(
            pacer.next_slot(t0 + Duration::from_secs(31)),
            t0 + Duration::from_millis(31_100)
        );
    }

    #[test]
    fn greedy_sending_never_exceeds_the_limit_in_any_window() {
        for config in [PacerConfig::user(), PacerConfig::moderator()] {
            let t0 = Instant::now();
            let mut pacer = SendPacer::new(config);
            let mut sends = Vec::new();
            let mut now = t0;
            // Send as fast as allowed for five minutes of virtual time.
            while now < t0 + Duration::from_secs(300) {
                match pacer.try_acquire(now) {
                    Ok(()) => sends.push(now),
                    Err(next) => now = next,
                }
            }
            let max = max_in_any_window(&sends, config.window);
            assert_eq!(max, config.max_messages as usize, "{config:?}");
            // And the pacer is not needlessly slow: a full window's worth every 31 s.
            assert!(
                sends.len() >= (300 / 31) * config.max_messages as usize,
                "{config:?}"
            );
        }
    }

    #[test]
    fn switching_to_moderator_limits_opens_more_slots() {
        let t0 = Instant::now();
        let mut pacer = SendPacer::new(PacerConfig::user());
        for _ in 0..20 {
            pacer.try_acquire(t0).unwrap();
        }
        assert!(pacer.try_acquire(t0).is_err());
        pacer.set_config(PacerConfig::moderator());
        assert_eq!(pacer.try_acquire(t0), Ok(()));
        assert_eq!(pacer.in_window(t0), 21);
    }
}
