//! `WhisperBudget`: how many whispers the bot account may still send (pure; `now` is an
//! argument and nothing here does IO).
//!
//! Twitch limits (platforms.md §2.2): 40 unique recipients per day, 3 per second, 100 per
//! minute; over that Helix answers 429 — or, worse, accepts with 204 and drops silently. Our
//! users' rule (seed 000, ARCHITECTURE.md §4) is stricter: 40 whispers per day per bot account,
//! each whisper counted. Both counting modes are offered; the default is ours.
//!
//! Twitch does not document when its "day" starts, so the daily count is a rolling 24-hour
//! window: never more than the limit in any 24 hours satisfies every reading of "per day". The
//! api persists the log (`entries`) and rebuilds the budget with `restore`.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::error::TwitchError;

/// What the daily limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhisperCounting {
    /// Every whisper (our users' "40 whispers per day").
    EveryWhisper,
    /// Distinct recipients (Twitch's own rule): a second whisper to the same viewer is free.
    UniqueRecipients,
}

/// Budget tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhisperBudgetConfig {
    /// Whispers (or recipients) per rolling 24 h: 40.
    pub daily_limit: u32,
    /// What counts against `daily_limit`.
    pub counting: WhisperCounting,
    /// Whispers per second: 3.
    pub per_second: u32,
    /// Whispers per minute: 100.
    pub per_minute: u32,
}

impl Default for WhisperBudgetConfig {
    fn default() -> Self {
        Self {
            daily_limit: 40,
            counting: WhisperCounting::EveryWhisper,
            per_second: 3,
            per_minute: 100,
        }
    }
}

/// Why a whisper may not be sent now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhisperRefusal {
    /// The daily limit is reached; the oldest counted whisper leaves the window at `retry_at`.
    #[error("the daily whisper limit of {limit} is reached until {retry_at}")]
    DailyLimit {
        /// The limit.
        limit: u32,
        /// When one more becomes possible.
        retry_at: DateTime<Utc>,
    },
    /// More than `per_second` in the last second.
    #[error("too many whispers this second; retry at {retry_at}")]
    PerSecond {
        /// When one more becomes possible.
        retry_at: DateTime<Utc>,
    },
    /// More than `per_minute` in the last minute.
    #[error("too many whispers this minute; retry at {retry_at}")]
    PerMinute {
        /// When one more becomes possible.
        retry_at: DateTime<Utc>,
    },
}

impl WhisperRefusal {
    /// When a whisper becomes possible again.
    pub fn retry_at(&self) -> DateTime<Utc> {
        match self {
            WhisperRefusal::DailyLimit { retry_at, .. }
            | WhisperRefusal::PerSecond { retry_at }
            | WhisperRefusal::PerMinute { retry_at } => *retry_at,
        }
    }

    /// As the crate's error, with the wait measured from `now`.
    pub fn into_error(self, now: DateTime<Utc>) -> TwitchError {
        TwitchError::RateLimited {
            retry_after: Some((self.retry_at() - now).to_std().unwrap_or_default()),
        }
    }
}

/// The whisper log of one bot account.
#[derive(Debug, Clone)]
pub struct WhisperBudget {
    config: WhisperBudgetConfig,
    sent: VecDeque<(DateTime<Utc>, String)>,
}

impl WhisperBudget {
    /// An empty log.
    pub fn new(config: WhisperBudgetConfig) -> Self {
        Self {
            config,
            sent: VecDeque::new(),
        }
    }

    /// A budget rebuilt from persisted `(sent_at, recipient_user_id)` entries.
    pub fn restore(
        config: WhisperBudgetConfig,
        entries: impl IntoIterator<Item = (DateTime<Utc>, String)>,
    ) -> Self {
        let mut sent: Vec<_> = entries.into_iter().collect();
        sent.sort_by_key(|(at, _)| *at);
        Self {
            config,
            sent: sent.into(),
        }
    }

    /// The log to persist (oldest first; entries older than a day are dropped on each record).
    pub fn entries(&self) -> impl Iterator<Item = &(DateTime<Utc>, String)> {
        self.sent.iter()
    }

    /// How many more whispers to new recipients fit in the daily limit at `now`.
    pub fn remaining_today(&self, now: DateTime<Utc>) -> u32 {
        self.config
            .daily_limit
            .saturating_sub(self.daily_count(now, None))
    }

    /// Whether a whisper to `recipient` may go at `now`.
    pub fn check(&self, recipient: &str, now: DateTime<Utc>) -> Result<(), WhisperRefusal> {
        let second = self.within(now, Duration::seconds(1));
        if second.len() >= self.config.per_second as usize {
            return Err(WhisperRefusal::PerSecond {
                retry_at: second[second.len() - self.config.per_second as usize]
                    + Duration::seconds(1),
            });
        }
        let minute = self.within(now, Duration::minutes(1));
        if minute.len() >= self.config.per_minute as usize {
            return Err(WhisperRefusal::PerMinute {
                retry_at: minute[minute.len() - self.config.per_minute as usize]
                    + Duration::minutes(1),
            });
        }
        if self.daily_count(now, Some(recipient)) >= self.config.daily_limit {
            return Err(WhisperRefusal::DailyLimit {
                limit: self.config.daily_limit,
                retry_at: self.daily_retry_at(now),
            });
        }
        Ok(())
    }

    /// Checks, then records: call before sending (a 204 may be a silent drop, so every attempt
    /// counts).
    pub fn try_acquire(
        &mut self,
        recipient: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WhisperRefusal> {
        self.check(recipient, now)?;
        self.record(recipient, now);
        Ok(())
    }

    /// Records a whisper sent at `now`.
    pub fn record(&mut self, recipient: &str, now: DateTime<Utc>) {
        let day_ago = now - Duration::days(1);
        while self.sent.front().is_some_and(|(at, _)| *at <= day_ago) {
            self.sent.pop_front();
        }
        self.sent.push_back((now, recipient.to_owned()));
    }

    /// Send times within `span` before `now`, oldest first.
    fn within(&self, now: DateTime<Utc>, span: Duration) -> Vec<DateTime<Utc>> {
        self.sent
            .iter()
            .map(|(at, _)| *at)
            .filter(|at| *at > now - span && *at <= now)
            .collect()
    }

    /// What counts against the daily limit in the last 24 h; with `Some(recipient)` in
    /// unique-recipient mode, a recipient already counted makes the answer 0 (it is free).
    fn daily_count(&self, now: DateTime<Utc>, recipient: Option<&str>) -> u32 {
        let day = self
            .sent
            .iter()
            .filter(|(at, _)| *at > now - Duration::days(1));
        match self.config.counting {
            WhisperCounting::EveryWhisper => day.count() as u32,
            WhisperCounting::UniqueRecipients => {
                let recipients: HashSet<&str> = day.map(|(_, r)| r.as_str()).collect();
                if recipient.is_some_and(|r| recipients.contains(r)) {
                    0
                } else {
                    recipients.len() as u32
                }
            }
        }
    }

    /// When the daily count next drops below the limit.
    fn daily_retry_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let day: Vec<&(DateTime<Utc>, String)> = self
            .sent
            .iter()
            .filter(|(at, _)| *at > now - Duration::days(1))
            .collect();
        let oldest_counted = match self.config.counting {
            // The send whose expiry brings the count to limit - 1.
            WhisperCounting::EveryWhisper => day
                .len()
                .checked_sub(self.config.daily_limit as usize)
                .and_then(|i| day.get(i))
                .map(|(at, _)| *at),
            // A recipient frees its slot one day after its last whisper.
            WhisperCounting::UniqueRecipients => {
                let mut last_by_recipient: Vec<DateTime<Utc>> = day
                    .iter()
                    .map(|(_, r)| {
                        day.iter()
                            .filter(|(_, other)| other == r)
                            .map(|(at, _)| *at)
                            .max()
                            .unwrap_or(now)
                    })
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                last_by_recipient.sort();
                last_by_recipient.first().copied()
            }
        };
        oldest_counted.unwrap_or(now) + Duration::days(1)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2024-05-01T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_forty_first_whisper_of_the_day_is_refused_with_its_retry_time() {
        let mut budget = WhisperBudget::new(WhisperBudgetConfig::default());
        // One whisper a minute to distinct viewers: within the per-second/minute limits.
        for i in 0..40 {
            let now = t0() + Duration::minutes(i);
            budget.try_acquire(&format!("viewer{i}"), now).unwrap();
        }
        let now = t0() + Duration::minutes(40);
        assert_eq!(budget.remaining_today(now), 0);
        let refusal = budget.try_acquire("viewer40", now).unwrap_err();
        assert_eq!(
            refusal,
            WhisperRefusal::DailyLimit {
                limit: 40,
                retry_at: t0() + Duration::days(1)
            }
        );
        // Every whisper counts in our mode, also to someone already whispered.
        assert!(budget.check("viewer0", now).is_err());
        assert_eq!(
            refusal.into_error(now),
            TwitchError::RateLimited {
                retry_after: Some(std::time::Duration::from_secs(24 * 3600 - 40 * 60))
            }
        );
        // A day after the first one, one slot is back.
        assert!(budget.check("viewer40", t0() + Duration::days(1)).is_ok());
    }

    #[test]
    fn unique_recipient_counting_lets_repeat_recipients_through() {
        let config = WhisperBudgetConfig {
            counting: WhisperCounting::UniqueRecipients,
            ..WhisperBudgetConfig::default()
        };
        let mut budget = WhisperBudget::new(config);
        for i in 0..40 {
            budget
                .try_acquire(&format!("v{i}"), t0() + Duration::minutes(i))
                .unwrap();
        }
        let now = t0() + Duration::minutes(50);
        budget.try_acquire("v3", now).unwrap();
        assert!(matches!(
            budget.check("new-viewer", now),
            Err(WhisperRefusal::DailyLimit { limit: 40, retry_at }) if retry_at == t0() + Duration::days(1)
        ));
    }

    #[test]
    fn per_second_and_per_minute_limits_apply() {
        let mut budget = WhisperBudget::new(WhisperBudgetConfig {
            daily_limit: 1_000,
            ..WhisperBudgetConfig::default()
        });
        for i in 0..3 {
            budget.try_acquire(&format!("a{i}"), t0()).unwrap();
        }
        assert_eq!(
            budget.check("b", t0() + Duration::milliseconds(500)),
            Err(WhisperRefusal::PerSecond {
                retry_at: t0() + Duration::seconds(1)
            })
        );
        assert!(budget.check("b", t0() + Duration::seconds(1)).is_ok());

        let mut budget = WhisperBudget::new(WhisperBudgetConfig {
            daily_limit: 1_000,
            ..WhisperBudgetConfig::default()
        });
        for i in 0..100 {
            // Three every second, as fast as allowed.
            let now = t0() + Duration::milliseconds(i / 3 * 1_000);
            budget.try_acquire(&format!("v{i}"), now).unwrap();
        }
        let now = t0() + Duration::seconds(34);
        assert_eq!(
            budget.check("x", now),
            Err(WhisperRefusal::PerMinute {
                retry_at: t0() + Duration::minutes(1)
            })
        );
    }

    #[test]
    fn a_restored_log_keeps_counting() {
        let entries = (0..40).map(|i| {
            (
                t0() - Duration::hours(1) + Duration::seconds(i),
                format!("v{i}"),
            )
        });
        let budget = WhisperBudget::restore(WhisperBudgetConfig::default(), entries);
        assert_eq!(budget.remaining_today(t0()), 0);
        assert!(budget.check("v99", t0()).is_err());
        assert_eq!(budget.entries().count(), 40);
        assert_eq!(
            budget.remaining_today(t0() + Duration::hours(23) + Duration::minutes(1)),
            40
        );
    }
}
