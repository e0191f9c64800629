//! The live agent's limits and the platform budgets (ARCHITECTURE.md §4): a session's tunable
//! [`LiveLimits`], the operator's [`LiveCeilings`] that every tenant shares, the YouTube quota
//! check and the calendar days the daily budgets are counted in.
//!
//! Owns: the defaults, sane ranges and ceilings, and the platforms' documented daily numbers
//! (Twitch whispers, YouTube quota units, TikTok DMs per viewer). Must not: count anything — the
//! counters are [`super::ReplyCounters`], loaded and stored by the live session service.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::platform::YoutubeCall;
use crate::DomainError;

/// The live agent's limits for one session (ARCHITECTURE.md §4 defaults; each session can tune
/// the anti-spam limits and lower the shared budgets, then [`LiveCeilings::check`] and
/// [`LiveLimits::validate`] before storing, and [`LiveCeilings::apply`] before spending).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveLimits {
    /// Least analysis confidence (0..=1) for an automatic reply: a wrong public answer in front
    /// of the whole stream costs more than a missed one.
    pub min_confidence: f32,
    /// Most replies to one viewer in one session, so the bot never looks like it is stalking.
    pub max_replies_per_viewer: u32,
    /// Least time between two replies to one viewer.
    pub viewer_cooldown: Duration,
    /// Most replies in one session, so the chat never looks bot-run.
    pub max_replies_per_session: u32,
    /// Twitch whispers per day per bot account (a hard platform limit).
    pub whispers_per_day: u32,
    /// YouTube Data API quota units per day for the project.
    pub youtube_daily_quota: u32,
    /// Units one `liveChatMessages.insert` costs. A fact about Google's API, so the operator's
    /// (`LiveCeilings::apply` overwrites it): a tenant that could set it could spend the shared
    /// project's quota for free.
    pub youtube_insert_cost: u32,
    /// Units one `liveChatMessages.list` costs (the operator's, like the insert cost).
    pub youtube_list_cost: u32,
}

/// Default least confidence for an automatic reply (ARCHITECTURE.md §4).
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.70;
/// Default replies per viewer per session (ARCHITECTURE.md §4).
pub const DEFAULT_MAX_REPLIES_PER_VIEWER: u32 = 3;
/// Default seconds between replies to one viewer (ARCHITECTURE.md §4).
pub const DEFAULT_VIEWER_COOLDOWN_SECS: i64 = 30;
/// Default replies per session (ARCHITECTURE.md §4).
pub const DEFAULT_MAX_REPLIES_PER_SESSION: u32 = 100;
/// Default Twitch whispers per day (ARCHITECTURE.md §4; seed: "HARD LIMIT").
pub const DEFAULT_WHISPERS_PER_DAY: u32 = 40;
/// Default YouTube quota units per day (ARCHITECTURE.md §4).
pub const DEFAULT_YOUTUBE_DAILY_QUOTA: u32 = 10_000;
/// Default units per `liveChatMessages.insert` (ARCHITECTURE.md §4, from the seed).
pub const DEFAULT_YOUTUBE_INSERT_COST: u32 = 50;
/// Default units per `liveChatMessages.list` (ARCHITECTURE.md §4).
pub const DEFAULT_YOUTUBE_LIST_COST: u32 = 5;

impl Default for LiveLimits {
    /// The ARCHITECTURE.md §4 defaults: 0.70, 3 per viewer, 30 s, 100 per session, 40 whispers,
    /// 10,000 units with list 5 / insert 50.
    fn default() -> Self {
        Self {
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            max_replies_per_viewer: DEFAULT_MAX_REPLIES_PER_VIEWER,
            viewer_cooldown: Duration::seconds(DEFAULT_VIEWER_COOLDOWN_SECS),
            max_replies_per_session: DEFAULT_MAX_REPLIES_PER_SESSION,
            whispers_per_day: DEFAULT_WHISPERS_PER_DAY,
            youtube_daily_quota: DEFAULT_YOUTUBE_DAILY_QUOTA,
            youtube_insert_cost: DEFAULT_YOUTUBE_INSERT_COST,
            youtube_list_cost: DEFAULT_YOUTUBE_LIST_COST,
        }
    }
}

/// Upper bound for the per-viewer, per-session and whisper settings: far above any real stream,
/// low enough that a typo (an extra zero or two) is caught.
pub const MAX_COUNT_SETTING: u32 = 10_000;
/// Upper bound for the YouTube daily quota setting (Google grants extensions, not unlimited).
pub const MAX_YOUTUBE_QUOTA: u32 = 1_000_000;
/// Upper bound for one YouTube call's unit cost.
pub const MAX_YOUTUBE_CALL_COST: u32 = 10_000;

impl LiveLimits {
    /// Refuses settings outside sane ranges, naming the (GraphQL) field: confidence 0..=1 and
    /// finite, cooldown 0 s..=1 h, per-viewer / per-session / whispers 0..=10,000 (0 switches that
    /// path off), quota 0..=1,000,000, unit costs 1..=10,000 (a free call would make the quota
    /// meaningless).
    pub fn validate(&self) -> Result<(), DomainError> {
        let out = |field: &'static str, message: String| DomainError::OutOfRange { field, message };
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(out(
                "minConfidence",
                format!("must be between 0 and 1, got {}", self.min_confidence),
            ));
        }
        if self.viewer_cooldown < Duration::zero() || self.viewer_cooldown > Duration::hours(1) {
            return Err(out(
                "viewerCooldown",
                format!(
                    "must be between 0 and 3600 seconds, got {}",
                    self.viewer_cooldown.num_seconds()
                ),
            ));
        }
        let counts = [
            ("maxRepliesPerViewer", self.max_replies_per_viewer),
            ("maxRepliesPerSession", self.max_replies_per_session),
            ("whispersPerDay", self.whispers_per_day),
        ];
        for (field, value) in counts {
            if value > MAX_COUNT_SETTING {
                return Err(out(
                    field,
                    format!("must be at most {MAX_COUNT_SETTING}, got {value}"),
                ));
            }
        }
        if self.youtube_daily_quota > MAX_YOUTUBE_QUOTA {
            return Err(out(
                "youtubeDailyQuota",
                format!(
                    "must be at most {MAX_YOUTUBE_QUOTA}, got {}",
                    self.youtube_daily_quota
                ),
            ));
        }
        let costs = [
            ("youtubeInsertCost", self.youtube_insert_cost),
            ("youtubeListCost", self.youtube_list_cost),
        ];
        for (field, value) in costs {
            if value == 0 || value > MAX_YOUTUBE_CALL_COST {
                return Err(out(
                    field,
                    format!("must be between 1 and {MAX_YOUTUBE_CALL_COST}, got {value}"),
                ));
            }
        }
        Ok(())
    }

    /// Quota units one YouTube call costs under these limits.
    pub fn youtube_cost(&self, call: YoutubeCall) -> u32 {
        match call {
            YoutubeCall::List => self.youtube_list_cost,
            YoutubeCall::Insert => self.youtube_insert_cost,
        }
    }
}

/// The operator's ceilings for the platform budgets every tenant shares (operator
/// configuration, never tenant input): whispers per Twitch bot and day, YouTube quota units per
/// Google project and Pacific day, the unit costs Google charges per call, and TikTok DMs per
/// viewer and day.
///
/// A session's limits may only *lower* a ceiling: [`LiveCeilings::check`] refuses a higher value
/// when the session is configured (refused rather than silently clamped, so a creator never
/// believes they have a budget they do not), and [`LiveCeilings::apply`] lowers whatever is
/// stored before anything is spent, so a session stored before the ceilings existed (or before
/// the operator lowered them) cannot exceed them either. The unit costs are not limits at all:
/// they are facts about Google's API, so `apply` always replaces them with the operator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveCeilings {
    /// Most whispers one Twitch bot account sends per (UTC) day.
    pub whispers_per_day: u32,
    /// Most YouTube Data API units one Google project spends per Pacific day.
    pub youtube_daily_quota: u32,
    /// Units one `liveChatMessages.insert` costs.
    pub youtube_insert_cost: u32,
    /// Units one `liveChatMessages.list` costs.
    pub youtube_list_cost: u32,
    /// Most TikTok DMs one viewer receives per day.
    pub tiktok_dms_per_viewer_per_day: u32,
}

/// TikTok's documented cap on direct messages a business sends one user per day (seed 001). The
/// platform rule lives here once: [`crate::messaging::TIKTOK_DAILY_LIMIT`] (the inbox send gate)
/// and [`DEFAULT_TIKTOK_DMS_PER_VIEWER_PER_DAY`] (the operator ceiling's default) are this value,
/// and `leadline-tiktok`'s `dm_rules` copy names it (integrations do not depend on domain).
pub const TIKTOK_DMS_PER_USER_PER_DAY: u32 = 10;
/// Default of the operator's TikTok DM ceiling: TikTok's documented cap,
/// [`TIKTOK_DMS_PER_USER_PER_DAY`].
pub const DEFAULT_TIKTOK_DMS_PER_VIEWER_PER_DAY: u32 = TIKTOK_DMS_PER_USER_PER_DAY;
/// Upper bound for the TikTok DM ceiling (a sanity bound for the operator's setting).
pub const MAX_TIKTOK_DMS_PER_VIEWER_PER_DAY: u32 = 1_000;

impl Default for LiveCeilings {
    /// The platforms' documented numbers: 40 whispers a day for an unverified bot, 10,000
    /// units a day per project with insert 50 / list 5, 10 DMs a day per TikTok user.
    fn default() -> Self {
        Self {
            whispers_per_day: DEFAULT_WHISPERS_PER_DAY,
            youtube_daily_quota: DEFAULT_YOUTUBE_DAILY_QUOTA,
            youtube_insert_cost: DEFAULT_YOUTUBE_INSERT_COST,
            youtube_list_cost: DEFAULT_YOUTUBE_LIST_COST,
            tiktok_dms_per_viewer_per_day: DEFAULT_TIKTOK_DMS_PER_VIEWER_PER_DAY,
        }
    }
}

impl LiveCeilings {
    /// Refuses ceilings the session limits could not live under: each within the same sane
    /// ranges as [`LiveLimits::validate`] (so the default limits, which take the ceilings, are
    /// always valid), and unit costs of at least 1. Named by the field, for the start-up error.
    pub fn validate(&self) -> Result<(), DomainError> {
        let out = |field: &'static str, message: String| DomainError::OutOfRange { field, message };
        let bounded = [
            (
                "whispersPerDay",
                self.whispers_per_day,
                0,
                MAX_COUNT_SETTING,
            ),
            (
                "youtubeDailyQuota",
                self.youtube_daily_quota,
                0,
                MAX_YOUTUBE_QUOTA,
            ),
            (
                "youtubeInsertCost",
                self.youtube_insert_cost,
                1,
                MAX_YOUTUBE_CALL_COST,
            ),
            (
                "youtubeListCost",
                self.youtube_list_cost,
                1,
                MAX_YOUTUBE_CALL_COST,
            ),
            (
                "tiktokDmsPerViewerPerDay",
                self.tiktok_dms_per_viewer_per_day,
                0,
                MAX_TIKTOK_DMS_PER_VIEWER_PER_DAY,
            ),
        ];
        for (field, value, min, max) in bounded {
            if value < min || value > max {
                return Err(out(
                    field,
                    format!("must be between {min} and {max}, got {value}"),
                ));
            }
        }
        Ok(())
    }

    /// The limits a session gets when it sets none: the ARCHITECTURE.md §4 defaults, with the
    /// shared budgets at the operator's ceilings and the operator's unit costs.
    pub fn default_limits(&self) -> LiveLimits {
        self.apply(&LiveLimits {
            whispers_per_day: self.whispers_per_day,
            youtube_daily_quota: self.youtube_daily_quota,
            ..LiveLimits::default()
        })
    }

    /// Refuses session limits above a ceiling, naming the (GraphQL) field and the ceiling.
    /// Costs are not checked here: they are not the session's to set (see [`Self::apply`]).
    pub fn check(&self, limits: &LiveLimits) -> Result<(), DomainError> {
        let shared = [
            (
                "whispersPerDay",
                limits.whispers_per_day,
                self.whispers_per_day,
            ),
            (
                "youtubeDailyQuota",
                limits.youtube_daily_quota,
                self.youtube_daily_quota,
            ),
        ];
        for (field, value, ceiling) in shared {
            if value > ceiling {
                return Err(DomainError::OutOfRange {
                    field,
                    message: format!(
                        "must be at most {ceiling} (this server's ceiling for a shared platform budget), got {value}"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The limits budgets are actually spent against: the session's shared-budget limits
    /// lowered to the ceilings, and the operator's unit costs whatever the session stored.
    pub fn apply(&self, limits: &LiveLimits) -> LiveLimits {
        LiveLimits {
            whispers_per_day: limits.whispers_per_day.min(self.whispers_per_day),
            youtube_daily_quota: limits.youtube_daily_quota.min(self.youtube_daily_quota),
            youtube_insert_cost: self.youtube_insert_cost,
            youtube_list_cost: self.youtube_list_cost,
            ..*limits
        }
    }
}

/// Whether a YouTube call still fits in today's quota: used + cost ≤ quota (exactly at the quota
/// is allowed — the quota is what Google lets us spend). The session service asks this before
/// each poll too, so running out stops polling cleanly instead of failing with 403.
pub fn youtube_call_allowed(units_used_today: u32, call: YoutubeCall, limits: &LiveLimits) -> bool {
    units_used_today.saturating_add(limits.youtube_cost(call)) <= limits.youtube_daily_quota
}

/// The YouTube quota day `at` falls in. Google resets every project's quota "at midnight Pacific
/// time" (platforms.md §1), so the day is the America/Los_Angeles calendar date, DST included:
/// a fixed UTC-8 would move the reset by an hour for half of the year.
pub fn youtube_quota_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
}

/// The day Twitch's whisper budget is counted in. Twitch documents "40 per day" without a reset
/// time, so we count UTC calendar days: one boundary every replica agrees on.
pub fn whisper_day(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    // ---- operator ceilings ----

    fn ceilings(whispers: u32, quota: u32) -> LiveCeilings {
        LiveCeilings {
            whispers_per_day: whispers,
            youtube_daily_quota: quota,
            ..LiveCeilings::default()
        }
    }

    #[test]
    fn default_ceilings_are_the_platforms_documented_numbers_and_valid() {
        let c = LiveCeilings::default();
        assert_eq!(c.whispers_per_day, 40);
        assert_eq!(c.youtube_daily_quota, 10_000);
        assert_eq!(c.youtube_insert_cost, 50);
        assert_eq!(c.youtube_list_cost, 5);
        assert_eq!(c.tiktok_dms_per_viewer_per_day, 10);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.default_limits(), LiveLimits::default());
    }

    #[test]
    fn session_limits_may_lower_a_ceiling_but_never_raise_it() {
        let c = ceilings(3, 600);
        let at = |whispers, quota| LiveLimits {
            whispers_per_day: whispers,
            youtube_daily_quota: quota,
            ..LiveLimits::default()
        };
        // Table: (whispers, quota) → refusing field.
        let cases = [
            (0, 0, None),
            (3, 600, None),
            (2, 100, None),
            (4, 600, Some("whispersPerDay")),
            (10_000, 600, Some("whispersPerDay")),
            (3, 601, Some("youtubeDailyQuota")),
            (u32::MAX, u32::MAX, Some("whispersPerDay")),
        ];
        for (whispers, quota, refused) in cases {
            match (c.check(&at(whispers, quota)), refused) {
                (Ok(()), None) => {}
                (Err(DomainError::OutOfRange { field, message }), Some(want)) => {
                    assert_eq!(field, want);
                    assert!(message.contains("at most"), "{message}");
                }
                (other, want) => panic!("({whispers}, {quota}): {other:?}, wanted {want:?}"),
            }
        }
        let refused = c.check(&at(10_000, 1)).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err("whispersPerDay: must be at most 3 (this server's ceiling for a shared platform budget), got 10000".into())
        );
    }

    #[test]
    fn stored_limits_are_spent_under_the_ceilings_with_the_operators_costs() {
        let c = LiveCeilings {
            youtube_insert_cost: 20,
            ..ceilings(3, 600)
        };
        // An old session stored generous limits and a cheap insert.
        let stored = LiveLimits {
            whispers_per_day: 10_000,
            youtube_daily_quota: 1_000_000,
            youtube_insert_cost: 1,
            youtube_list_cost: 1,
            max_replies_per_viewer: 7,
            ..LiveLimits::default()
        };
        let spent = c.apply(&stored);
        assert_eq!(spent.whispers_per_day, 3);
        assert_eq!(spent.youtube_daily_quota, 600);
        assert_eq!(spent.youtube_insert_cost, 20);
        assert_eq!(spent.youtube_list_cost, 5);
        // The anti-spam limits are the session's own.
        assert_eq!(spent.max_replies_per_viewer, 7);
        // A lower session limit stays lower.
        let modest = LiveLimits {
            whispers_per_day: 1,
            youtube_daily_quota: 100,
            ..LiveLimits::default()
        };
        assert_eq!(c.apply(&modest).whispers_per_day, 1);
        assert_eq!(c.apply(&modest).youtube_daily_quota, 100);
        // With the operator's costs a reply needs its real price.
        assert!(!youtube_call_allowed(
            590,
            YoutubeCall::Insert,
            &c.apply(&stored)
        ));
    }

    #[test]
    fn the_default_limits_take_the_ceilings_so_they_always_pass_the_check() {
        for c in [ceilings(0, 0), ceilings(3, 60), LiveCeilings::default()] {
            let limits = c.default_limits();
            assert_eq!(limits.whispers_per_day, c.whispers_per_day);
            assert_eq!(limits.youtube_daily_quota, c.youtube_daily_quota);
            assert_eq!(c.check(&limits), Ok(()));
            assert_eq!(limits.validate(), Ok(()));
        }
    }

    #[test]
    fn ceilings_outside_sane_ranges_are_refused_naming_the_setting() {
        let cases = [
            (
                LiveCeilings {
                    youtube_insert_cost: 0,
                    ..LiveCeilings::default()
                },
                "youtubeInsertCost",
            ),
            (
                LiveCeilings {
                    youtube_list_cost: 0,
                    ..LiveCeilings::default()
                },
                "youtubeListCost",
            ),
            (
                LiveCeilings {
                    whispers_per_day: MAX_COUNT_SETTING + 1,
                    ..LiveCeilings::default()
                },
                "whispersPerDay",
            ),
            (
                LiveCeilings {
                    youtube_daily_quota: MAX_YOUTUBE_QUOTA + 1,
                    ..LiveCeilings::default()
                },
                "youtubeDailyQuota",
            ),
            (
                LiveCeilings {
                    tiktok_dms_per_viewer_per_day: MAX_TIKTOK_DMS_PER_VIEWER_PER_DAY + 1,
                    ..LiveCeilings::default()
                },
                "tiktokDmsPerViewerPerDay",
            ),
        ];
        for (c, want) in cases {
            match c.validate() {
                Err(DomainError::OutOfRange { field, .. }) => assert_eq!(field, want),
                other => panic!("{c:?}: {other:?}"),
            }
        }
    }

    // ---- limits ----

    #[test]
    fn default_limits_are_the_architecture_defaults_and_valid() {
        let l = LiveLimits::default();
        assert_eq!(l.min_confidence, 0.70);
        assert_eq!(l.max_replies_per_viewer, 3);
        assert_eq!(l.viewer_cooldown, Duration::seconds(30));
        assert_eq!(l.max_replies_per_session, 100);
        assert_eq!(l.whispers_per_day, 40);
        assert_eq!(l.youtube_daily_quota, 10_000);
        assert_eq!(l.youtube_insert_cost, 50);
        assert_eq!(l.youtube_list_cost, 5);
        assert_eq!(l.validate(), Ok(()));
    }

    #[test]
    fn validate_accepts_range_edges_and_rejects_beyond() {
        let d = LiveLimits::default();
        let ok = [
            LiveLimits {
                min_confidence: 0.0,
                ..d
            },
            LiveLimits {
                min_confidence: 1.0,
                ..d
            },
            LiveLimits {
                viewer_cooldown: Duration::zero(),
                ..d
            },
            LiveLimits {
                viewer_cooldown: Duration::hours(1),
                ..d
            },
            LiveLimits {
                max_replies_per_viewer: 0,
                ..d
            },
            LiveLimits {
                max_replies_per_session: 10_000,
                ..d
            },
            LiveLimits {
                whispers_per_day: 10_000,
                ..d
            },
            LiveLimits {
                youtube_daily_quota: 0,
                ..d
            },
            LiveLimits {
                youtube_daily_quota: 1_000_000,
                ..d
            },
            LiveLimits {
                youtube_insert_cost: 20,
                ..d
            },
            LiveLimits {
                youtube_list_cost: 10_000,
                ..d
            },
        ];
        for l in ok {
            assert_eq!(l.validate(), Ok(()), "{l:?}");
        }
        let bad = [
            (
                LiveLimits {
                    min_confidence: -0.01,
                    ..d
                },
                "minConfidence",
            ),
            (
                LiveLimits {
                    min_confidence: 1.01,
                    ..d
                },
                "minConfidence",
            ),
            (
                LiveLimits {
                    min_confidence: f32::NAN,
                    ..d
                },
                "minConfidence",
            ),
            (
                LiveLimits {
                    viewer_cooldown: Duration::seconds(-1),
                    ..d
                },
                "viewerCooldown",
            ),
            (
                LiveLimits {
                    viewer_cooldown: Duration::seconds(3601),
                    ..d
                },
                "viewerCooldown",
            ),
            (
                LiveLimits {
                    max_replies_per_viewer: 10_001,
                    ..d
                },
                "maxRepliesPerViewer",
            ),
            (
                LiveLimits {
                    max_replies_per_session: 10_001,
                    ..d
                },
                "maxRepliesPerSession",
            ),
            (
                LiveLimits {
                    whispers_per_day: 10_001,
                    ..d
                },
                "whispersPerDay",
            ),
            (
                LiveLimits {
                    youtube_daily_quota: 1_000_001,
                    ..d
                },
                "youtubeDailyQuota",
            ),
            (
                LiveLimits {
                    youtube_insert_cost: 0,
                    ..d
                },
                "youtubeInsertCost",
            ),
            (
                LiveLimits {
                    youtube_list_cost: 0,
                    ..d
                },
                "youtubeListCost",
            ),
            (
                LiveLimits {
                    youtube_list_cost: 10_001,
                    ..d
                },
                "youtubeListCost",
            ),
        ];
        for (l, want) in bad {
            match l.validate() {
                Err(DomainError::OutOfRange { field, .. }) => assert_eq!(field, want, "{l:?}"),
                other => panic!("{l:?}: expected OutOfRange({want}), got {other:?}"),
            }
        }
    }

    #[test]
    fn youtube_call_allowed_at_exactly_the_quota() {
        let l = LiveLimits::default();
        assert!(youtube_call_allowed(9_950, YoutubeCall::Insert, &l));
        assert!(!youtube_call_allowed(9_951, YoutubeCall::Insert, &l));
        assert!(youtube_call_allowed(9_995, YoutubeCall::List, &l));
        assert!(!youtube_call_allowed(9_996, YoutubeCall::List, &l));
        assert!(
            !youtube_call_allowed(u32::MAX, YoutubeCall::List, &l),
            "no overflow"
        );
    }

    // ---- quota day, whisper day, whisper preference ----

    #[test]
    fn youtube_quota_day_turns_at_pacific_midnight_with_dst() {
        // Winter (PST, UTC-8): 07:59 UTC is still the previous Pacific day, 08:00 the next.
        let winter = |h, m| {
            Utc.with_ymd_and_hms(2026, 1, 15, h, m, 0)
                .single()
                .unwrap_or_default()
        };
        assert_eq!(
            youtube_quota_day(winter(7, 59)),
            NaiveDate::from_ymd_opt(2026, 1, 14).unwrap_or_default()
        );
        assert_eq!(
            youtube_quota_day(winter(8, 0)),
            NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default()
        );
        // Summer (PDT, UTC-7): the boundary is 07:00 UTC.
        let summer = |h, m| {
            Utc.with_ymd_and_hms(2026, 7, 15, h, m, 0)
                .single()
                .unwrap_or_default()
        };
        assert_eq!(
            youtube_quota_day(summer(6, 59)),
            NaiveDate::from_ymd_opt(2026, 7, 14).unwrap_or_default()
        );
        assert_eq!(
            youtube_quota_day(summer(7, 0)),
            NaiveDate::from_ymd_opt(2026, 7, 15).unwrap_or_default()
        );
        assert_eq!(
            whisper_day(summer(6, 59)),
            NaiveDate::from_ymd_opt(2026, 7, 15).unwrap_or_default()
        );
    }
}
