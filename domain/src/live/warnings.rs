//! One-shot limit warnings: a budget threshold crossed by one spend, for a single notification
//! to the creator.
//!
//! Owns: [`LimitWarning`] and [`limit_warnings`]. Must not: remember what was warned — comparing
//! the counters before and after a spend is what makes each warning fire once.

use super::decision::ReplyCounters;
use super::limits::LiveLimits;

/// A budget threshold that was just crossed, for a one-time notification to the creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitWarning {
    /// YouTube quota use reached 80 %: polling and replies will stop soon.
    QuotaAt80Percent {
        /// Units used now.
        used: u32,
        /// The daily quota.
        limit: u32,
    },
    /// The last Twitch whisper of the day was used.
    WhispersExhausted,
    /// The session's last automatic reply was sent.
    SessionRepliesExhausted,
}

impl LimitWarning {
    /// The stable stored name, e.g. `"QUOTA_AT_80_PERCENT"`.
    pub fn code(&self) -> &'static str {
        match self {
            LimitWarning::QuotaAt80Percent { .. } => "QUOTA_AT_80_PERCENT",
            LimitWarning::WhispersExhausted => "WHISPERS_EXHAUSTED",
            LimitWarning::SessionRepliesExhausted => "SESSION_REPLIES_EXHAUSTED",
        }
    }
}

/// The warnings whose threshold lies between `before` (not reached) and `after` (reached), in a
/// fixed order (quota, whispers, session). Comparing the counters around one spend makes each
/// warning fire exactly once, without a "warned already" flag; a daily reset (after < before)
/// crosses nothing. A limit of 0 (path switched off) never warns: it was reached from the start.
pub fn limit_warnings(
    before: &ReplyCounters,
    after: &ReplyCounters,
    limits: &LiveLimits,
) -> Vec<LimitWarning> {
    let mut warnings = Vec::new();
    // used ≥ 80 % of quota, in integers: used × 5 ≥ quota × 4.
    let quota_80 = |used: u32| u64::from(used) * 5 >= u64::from(limits.youtube_daily_quota) * 4;
    if !quota_80(before.youtube_units_used_today) && quota_80(after.youtube_units_used_today) {
        warnings.push(LimitWarning::QuotaAt80Percent {
            used: after.youtube_units_used_today,
            limit: limits.youtube_daily_quota,
        });
    }
    let crossed = |b: u32, a: u32, limit: u32| b < limit && a >= limit;
    if crossed(
        before.whispers_used_today,
        after.whispers_used_today,
        limits.whispers_per_day,
    ) {
        warnings.push(LimitWarning::WhispersExhausted);
    }
    if crossed(
        before.session_replies,
        after.session_replies,
        limits.max_replies_per_session,
    ) {
        warnings.push(LimitWarning::SessionRepliesExhausted);
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::fixtures::t0;
    use crate::live::{LivePlatform, Route};

    // ---- limit_warnings ----

    #[test]
    fn quota_80_percent_warning_fires_once_on_crossing() {
        let l = LiveLimits::default();
        let units = |u| ReplyCounters {
            youtube_units_used_today: u,
            ..ReplyCounters::default()
        };
        assert_eq!(limit_warnings(&units(7_950), &units(7_999), &l), vec![]);
        assert_eq!(
            limit_warnings(&units(7_999), &units(8_000), &l),
            vec![LimitWarning::QuotaAt80Percent {
                used: 8_000,
                limit: 10_000
            }]
        );
        assert_eq!(
            limit_warnings(&units(7_960), &units(8_010), &l),
            vec![LimitWarning::QuotaAt80Percent {
                used: 8_010,
                limit: 10_000
            }]
        );
        assert_eq!(
            limit_warnings(&units(8_000), &units(8_050), &l),
            vec![],
            "already above"
        );
        assert_eq!(
            limit_warnings(&units(9_000), &units(0), &l),
            vec![],
            "daily reset"
        );

        // Walking the counter up by real spends emits exactly one warning.
        let mut c = ReplyCounters::default();
        let mut emitted = Vec::new();
        for _ in 0..200 {
            let before = c;
            c.record_reply(LivePlatform::Youtube, Route::Public, &l, t0());
            emitted.extend(limit_warnings(&before, &c, &l));
        }
        let quota: Vec<_> = emitted
            .iter()
            .filter(|w| matches!(w, LimitWarning::QuotaAt80Percent { .. }))
            .collect();
        assert_eq!(quota.len(), 1);
    }

    #[test]
    fn quota_80_percent_uses_exact_integer_arithmetic() {
        // 80 % of 999 is 799.2: 799 is below, 800 is at or above.
        let l = LiveLimits {
            youtube_daily_quota: 999,
            ..LiveLimits::default()
        };
        let units = |u| ReplyCounters {
            youtube_units_used_today: u,
            ..ReplyCounters::default()
        };
        assert_eq!(limit_warnings(&units(0), &units(799), &l), vec![]);
        assert_eq!(limit_warnings(&units(799), &units(800), &l).len(), 1);
        let huge = LiveLimits {
            youtube_daily_quota: u32::MAX,
            ..LiveLimits::default()
        };
        assert_eq!(
            limit_warnings(&units(0), &units(u32::MAX), &huge).len(),
            1,
            "no overflow"
        );
        let off = LiveLimits {
            youtube_daily_quota: 0,
            ..LiveLimits::default()
        };
        assert_eq!(
            limit_warnings(&units(0), &units(50), &off),
            vec![],
            "quota 0 never warns"
        );
    }

    #[test]
    fn whisper_and_session_exhaustion_warn_on_the_last_one_only() {
        let l = LiveLimits::default();
        let c = |whispers, session| ReplyCounters {
            whispers_used_today: whispers,
            session_replies: session,
            ..ReplyCounters::default()
        };
        assert_eq!(limit_warnings(&c(38, 98), &c(39, 99), &l), vec![]);
        assert_eq!(
            limit_warnings(&c(39, 99), &c(40, 100), &l),
            vec![
                LimitWarning::WhispersExhausted,
                LimitWarning::SessionRepliesExhausted
            ]
        );
        assert_eq!(limit_warnings(&c(40, 100), &c(41, 101), &l), vec![]);
        assert_eq!(limit_warnings(&c(40, 100), &c(0, 100), &l), vec![], "reset");
        let off = LiveLimits {
            whispers_per_day: 0,
            max_replies_per_session: 0,
            ..l
        };
        assert_eq!(limit_warnings(&c(0, 0), &c(1, 1), &off), vec![]);
    }

    #[test]
    fn warning_codes_are_stable() {
        assert_eq!(
            LimitWarning::QuotaAt80Percent { used: 1, limit: 1 }.code(),
            "QUOTA_AT_80_PERCENT"
        );
        assert_eq!(LimitWarning::WhispersExhausted.code(), "WHISPERS_EXHAUSTED");
        assert_eq!(
            LimitWarning::SessionRepliesExhausted.code(),
            "SESSION_REPLIES_EXHAUSTED"
        );
    }
}
