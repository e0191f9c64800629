//! `QuotaMeter`: the project's daily YouTube Data API quota as a pure counter — which call costs
//! how much, how much of today's budget is used, whether the next call still fits, and when the
//! 80 % alert line is crossed. `now` is always an argument; nothing here reads a clock or does IO.
//!
//! Quota facts (platforms.md §1, ARCHITECTURE.md §4): every call costs at least one unit even
//! when it fails; the default budget is 10,000 units per project per day; `videos.list` costs 1,
//! `liveChatMessages.list` 5, and `liveChatMessages.insert` is configurable — the official
//! reference now says 20, our users' existing setup budgets 50 (the default here, the safer side).
//! The quota day resets at midnight Pacific Time, which observes US daylight saving time; the
//! rule is coded in [`pacific_offset`] rather than pulled from a time-zone database because it
//! is one fixed rule (in force since 2007) and this keeps the crate free of tz data.
//!
//! The api persists `(day, used)` (in-process or in Redis when scaled out, ARCHITECTURE.md §2)
//! and rebuilds a meter with [`QuotaMeter::restore`].

use chrono::{DateTime, Datelike, Duration as ChronoDuration, NaiveDate, TimeZone, Utc, Weekday};

use crate::error::YoutubeError;

/// A billable API operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaOperation {
    /// `videos.list`.
    VideosList,
    /// `liveChatMessages.list`.
    MessagesList,
    /// `liveChatMessages.insert`.
    MessagesInsert,
}

/// Unit cost of each operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCosts {
    /// `videos.list` (1).
    pub videos_list: u64,
    /// `liveChatMessages.list` (5).
    pub messages_list: u64,
    /// `liveChatMessages.insert` (50 by default; the official reference says 20).
    pub messages_insert: u64,
}

impl Default for QuotaCosts {
    fn default() -> Self {
        Self {
            videos_list: 1,
            messages_list: 5,
            messages_insert: 50,
        }
    }
}

impl QuotaCosts {
    /// The cost of `operation`.
    pub fn of(&self, operation: QuotaOperation) -> u64 {
        match operation {
            QuotaOperation::VideosList => self.videos_list,
            QuotaOperation::MessagesList => self.messages_list,
            QuotaOperation::MessagesInsert => self.messages_insert,
        }
    }
}

/// Budget, costs and the alert line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Unit costs.
    pub costs: QuotaCosts,
    /// Units per quota day (10,000 by default).
    pub daily_budget: u64,
    /// The alert line in percent of the budget (80 by default).
    pub alert_percent: u8,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            costs: QuotaCosts::default(),
            daily_budget: 10_000,
            alert_percent: 80,
        }
    }
}

/// Where the quota stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaStatus {
    /// The Pacific calendar day these numbers belong to.
    pub day: NaiveDate,
    /// Units used today.
    pub used: u64,
    /// Units left today.
    pub remaining: u64,
    /// The daily budget.
    pub budget: u64,
    /// Whether usage is at or past the alert line.
    pub over_alert: bool,
    /// The next reset (midnight Pacific) in UTC.
    pub resets_at: DateTime<Utc>,
}

/// The result of charging one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCharge {
    /// Units this call cost.
    pub cost: u64,
    /// The status after the charge.
    pub status: QuotaStatus,
    /// True for exactly the charge that took usage from below the alert line to at or past it
    /// (once per quota day): raise the alert then.
    pub crossed_alert: bool,
}

/// Why the meter refuses a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the call needs {needed} units but only {remaining} remain until {resets_at}")]
pub struct QuotaRefusal {
    /// The call's cost.
    pub needed: u64,
    /// Units left today.
    pub remaining: u64,
    /// When the budget comes back.
    pub resets_at: DateTime<Utc>,
}

impl From<QuotaRefusal> for YoutubeError {
    fn from(_: QuotaRefusal) -> Self {
        YoutubeError::QuotaExceeded {
            reason: "localBudget".to_owned(),
        }
    }
}

/// The daily quota counter of one Google Cloud project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaMeter {
    config: QuotaConfig,
    day: NaiveDate,
    used: u64,
}

impl QuotaMeter {
    /// A fresh meter for the quota day containing `now`.
    pub fn new(config: QuotaConfig, now: DateTime<Utc>) -> Self {
        Self {
            config,
            day: quota_day(now),
            used: 0,
        }
    }

    /// A meter rebuilt from persisted counters (`day` is a Pacific calendar day).
    pub fn restore(config: QuotaConfig, day: NaiveDate, used: u64) -> Self {
        Self { config, day, used }
    }

    /// The configuration.
    pub fn config(&self) -> &QuotaConfig {
        &self.config
    }

    /// Where the quota stands at `now` (a new Pacific day starts from zero).
    pub fn status(&self, now: DateTime<Utc>) -> QuotaStatus {
        let (day, used) = self.current(now);
        self.status_of(day, used, now)
    }

    /// Whether `operation` still fits in today's budget.
    pub fn check(&self, operation: QuotaOperation, now: DateTime<Utc>) -> Result<(), QuotaRefusal> {
        let (_, used) = self.current(now);
        let needed = self.config.costs.of(operation);
        let remaining = self.config.daily_budget.saturating_sub(used);
        if needed > remaining {
            return Err(QuotaRefusal {
                needed,
                remaining,
                resets_at: next_reset(now),
            });
        }
        Ok(())
    }

    /// Checks, then charges: call this before sending the request (a call costs its units even
    /// when it fails, so charging up front is exact).
    pub fn try_charge(
        &mut self,
        operation: QuotaOperation,
        now: DateTime<Utc>,
    ) -> Result<QuotaCharge, QuotaRefusal> {
        self.check(operation, now)?;
        Ok(self.charge(operation, now))
    }

    /// Records a call that was made, whether or not it fit (usage may exceed the budget if the
    /// caller sent it anyway; `remaining` then reads 0).
    pub fn charge(&mut self, operation: QuotaOperation, now: DateTime<Utc>) -> QuotaCharge {
        let (day, before) = self.current(now);
        let cost = self.config.costs.of(operation);
        let after = before.saturating_add(cost);
        self.day = day;
        self.used = after;
        QuotaCharge {
            cost,
            status: self.status_of(day, after, now),
            crossed_alert: !self.over_alert(before) && self.over_alert(after),
        }
    }

    /// YouTube answered `quotaExceeded`: Google's count wins over ours, so the rest of today is
    /// marked spent.
    pub fn mark_exhausted(&mut self, now: DateTime<Utc>) {
        let (day, used) = self.current(now);
        self.day = day;
        self.used = used.max(self.config.daily_budget);
    }

    /// (day, used) as of `now`: a later Pacific day starts from zero.
    fn current(&self, now: DateTime<Utc>) -> (NaiveDate, u64) {
        let today = quota_day(now);
        if today > self.day {
            (today, 0)
        } else {
            (self.day, self.used)
        }
    }

    fn over_alert(&self, used: u64) -> bool {
        // used / budget >= percent / 100, in integers.
        u128::from(used) * 100
            >= u128::from(self.config.daily_budget) * u128::from(self.config.alert_percent)
    }

    fn status_of(&self, day: NaiveDate, used: u64, now: DateTime<Utc>) -> QuotaStatus {
        QuotaStatus {
            day,
            used,
            remaining: self.config.daily_budget.saturating_sub(used),
            budget: self.config.daily_budget,
            over_alert: self.over_alert(used),
            resets_at: next_reset(now),
        }
    }
}

/// The UTC offset of US Pacific Time at `instant`: UTC−7 from the second Sunday of March 02:00
/// local (10:00 UTC) until the first Sunday of November 02:00 local (09:00 UTC), else UTC−8.
pub fn pacific_offset(instant: DateTime<Utc>) -> ChronoDuration {
    let year = instant.year();
    let starts = nth_sunday(year, 3, 2).and_hms_opt(10, 0, 0);
    let ends = nth_sunday(year, 11, 1).and_hms_opt(9, 0, 0);
    match (starts, ends) {
        (Some(starts), Some(ends))
            if instant >= Utc.from_utc_datetime(&starts)
                && instant < Utc.from_utc_datetime(&ends) =>
        {
            ChronoDuration::hours(-7)
        }
        _ => ChronoDuration::hours(-8),
    }
}

/// The Pacific calendar day (YouTube's quota day) containing `instant`.
pub fn quota_day(instant: DateTime<Utc>) -> NaiveDate {
    (instant + pacific_offset(instant)).date_naive()
}

/// The next midnight Pacific after `instant`, in UTC.
pub fn next_reset(instant: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = quota_day(instant).succ_opt().unwrap_or(NaiveDate::MAX);
    let midnight = tomorrow.and_time(chrono::NaiveTime::MIN);
    // Transitions happen at 02:00 local, so midnight is never ambiguous: try standard time and
    // switch to daylight time if that instant falls inside DST.
    let standard = Utc.from_utc_datetime(&midnight) + ChronoDuration::hours(8);
    if pacific_offset(standard) == ChronoDuration::hours(-7) {
        standard - ChronoDuration::hours(1)
    } else {
        standard
    }
}

/// The `n`th Sunday of `month` in `year`.
fn nth_sunday(year: i32, month: u32, n: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n as u8)
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_quota_day_follows_pacific_time_with_daylight_saving() {
        let cases = [
            // Winter: UTC-8, so 07:59 UTC is still the previous Pacific day.
            ("2024-01-15T07:59:59Z", "2024-01-14"),
            ("2024-01-15T08:00:00Z", "2024-01-15"),
            // Summer: UTC-7.
            ("2024-07-04T06:59:59Z", "2024-07-03"),
            ("2024-07-04T07:00:00Z", "2024-07-04"),
            // 2024 DST began Sunday 10 March at 10:00 UTC, ended Sunday 3 November at 09:00 UTC.
            ("2024-03-10T09:59:59Z", "2024-03-10"),
            ("2024-03-11T06:59:59Z", "2024-03-10"),
            ("2024-03-11T07:00:00Z", "2024-03-11"),
            ("2024-11-03T06:59:59Z", "2024-11-02"),
            ("2024-11-03T07:00:00Z", "2024-11-03"),
            ("2024-11-04T07:59:59Z", "2024-11-03"),
            ("2024-11-04T08:00:00Z", "2024-11-04"),
            // New Year's Eve in Pacific while UTC is already in January.
            ("2025-01-01T05:00:00Z", "2024-12-31"),
        ];
        for (instant, expected) in cases {
            assert_eq!(quota_day(at(instant)), day(expected), "{instant}");
        }
        assert_eq!(
            pacific_offset(at("2024-03-10T10:00:00Z")),
            ChronoDuration::hours(-7)
        );
        assert_eq!(
            pacific_offset(at("2024-11-03T09:00:00Z")),
            ChronoDuration::hours(-8)
        );
    }

    #[test]
    fn the_reset_is_the_next_pacific_midnight() {
        let cases = [
            ("2024-01-15T12:00:00Z", "2024-01-16T08:00:00Z"),
            ("2024-07-04T12:00:00Z", "2024-07-05T07:00:00Z"),
            // Day of the spring change: midnight that night is already daylight time.
            ("2024-03-10T12:00:00Z", "2024-03-11T07:00:00Z"),
            // Evening before the spring change: midnight is still standard time.
            ("2024-03-10T01:00:00Z", "2024-03-10T08:00:00Z"),
            // Day of the autumn change: midnight that night is standard time again.
            ("2024-11-03T12:00:00Z", "2024-11-04T08:00:00Z"),
            ("2024-11-02T12:00:00Z", "2024-11-03T07:00:00Z"),
        ];
        for (now, expected) in cases {
            assert_eq!(next_reset(at(now)), at(expected), "{now}");
        }
    }

    #[test]
    fn default_costs_are_our_users_setup() {
        let config = QuotaConfig::default();
        assert_eq!(config.daily_budget, 10_000);
        assert_eq!(config.costs.of(QuotaOperation::MessagesList), 5);
        assert_eq!(config.costs.of(QuotaOperation::MessagesInsert), 50);
        assert_eq!(config.costs.of(QuotaOperation::VideosList), 1);
        assert_eq!(config.alert_percent, 80);
    }

    #[test]
    fn usage_and_the_alert_crossing_are_reported_once() {
        let now = at("2024-01-15T12:00:00Z");
        let mut meter = QuotaMeter::new(QuotaConfig::default(), now);
        // 7,950 units of inserts: below the 8,000 line.
        for _ in 0..159 {
            let charge = meter
                .try_charge(QuotaOperation::MessagesInsert, now)
                .unwrap();
            assert!(!charge.crossed_alert);
        }
        assert_eq!(meter.status(now).used, 7_950);
        assert!(!meter.status(now).over_alert);
        let charge = meter
            .try_charge(QuotaOperation::MessagesInsert, now)
            .unwrap();
        assert!(charge.crossed_alert, "8,000 of 10,000 is the 80 % line");
        assert_eq!(
            (charge.status.used, charge.status.remaining),
            (8_000, 2_000)
        );
        assert!(charge.status.over_alert);
        let charge = meter.try_charge(QuotaOperation::MessagesList, now).unwrap();
        assert!(!charge.crossed_alert, "the crossing is reported once");
        assert_eq!(charge.status.remaining, 1_995);
    }

    #[test]
    fn a_call_that_does_not_fit_is_refused_until_midnight_pacific() {
        let now = at("2024-01-15T12:00:00Z");
        let config = QuotaConfig {
            daily_budget: 60,
            ..QuotaConfig::default()
        };
        let mut meter = QuotaMeter::new(config, now);
        meter
            .try_charge(QuotaOperation::MessagesInsert, now)
            .unwrap();
        let refusal = meter
            .try_charge(QuotaOperation::MessagesInsert, now)
            .unwrap_err();
        assert_eq!(
            refusal,
            QuotaRefusal {
                needed: 50,
                remaining: 10,
                resets_at: at("2024-01-16T08:00:00Z")
            }
        );
        assert_eq!(meter.status(now).used, 50, "a refusal costs nothing");
        // Two list calls still fit, a third does not.
        meter.try_charge(QuotaOperation::MessagesList, now).unwrap();
        meter.try_charge(QuotaOperation::MessagesList, now).unwrap();
        assert!(meter.check(QuotaOperation::MessagesList, now).is_err());
        assert!(matches!(
            YoutubeError::from(refusal),
            YoutubeError::QuotaExceeded { reason } if reason == "localBudget"
        ));
        // One second before the reset: still spent. At the reset: a fresh day.
        assert!(meter
            .check(QuotaOperation::MessagesList, at("2024-01-16T07:59:59Z"))
            .is_err());
        let tomorrow = at("2024-01-16T08:00:00Z");
        assert_eq!(meter.status(tomorrow).used, 0);
        let charge = meter
            .try_charge(QuotaOperation::MessagesInsert, tomorrow)
            .unwrap();
        assert_eq!(charge.status.day, day("2024-01-16"));
        assert_eq!(charge.status.used, 50);
    }

    #[test]
    fn the_apis_quota_error_marks_the_day_spent() {
        let now = at("2024-07-01T20:00:00Z");
        let mut meter = QuotaMeter::new(QuotaConfig::default(), now);
        meter.charge(QuotaOperation::MessagesList, now);
        meter.mark_exhausted(now);
        let status = meter.status(now);
        assert_eq!((status.used, status.remaining), (10_000, 0));
        assert!(meter.check(QuotaOperation::VideosList, now).is_err());
        assert_eq!(meter.status(at("2024-07-02T07:00:00Z")).remaining, 10_000);
    }

    #[test]
    fn configured_costs_and_restored_counters_are_used() {
        let config = QuotaConfig {
            costs: QuotaCosts {
                messages_insert: 20,
                ..QuotaCosts::default()
            },
            daily_budget: 100,
            alert_percent: 50,
        };
        let now = at("2024-01-15T12:00:00Z");
        let mut meter = QuotaMeter::restore(config, day("2024-01-15"), 40);
        let charge = meter.charge(QuotaOperation::MessagesInsert, now);
        assert_eq!(charge.cost, 20);
        assert!(charge.crossed_alert);
        assert_eq!(charge.status.remaining, 40);
        // A stale restored day does not leak into today.
        let stale = QuotaMeter::restore(config, day("2024-01-10"), 100);
        assert_eq!(stale.status(now).used, 0);
    }
}
