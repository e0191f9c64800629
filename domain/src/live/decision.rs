//! The reply decision (ARCHITECTURE.md §4, "Live agent"): whether the agent answers one chat
//! message now, by which route, or why it stays silent.
//!
//! Owns: [`decide_reply`] with its fixed order of checks, [`SkipReason`] codes and
//! [`ReplyCounters`] (what a reply spends, next to what it checks, so the two never disagree).
//! Must not: send, count in storage, or decide TikTok's DM window (that is [`crate::messaging`]).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::limits::{youtube_call_allowed, LiveLimits};
use super::platform::{LivePlatform, Route, YoutubeCall};
use crate::analysis::{Analysis, Intent};

/// What has been spent so far, as the reply decision needs it: one viewer's replies in this
/// session, the session's replies, and today's platform budgets (the caller resets the daily ones
/// at the platform's reset time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyCounters {
    /// Replies sent to this viewer in this session.
    pub viewer_replies: u32,
    /// When this viewer was last replied to in this session.
    pub viewer_last_reply_at: Option<DateTime<Utc>>,
    /// Replies sent in this session, to anyone.
    pub session_replies: u32,
    /// Twitch whispers sent today by this bot account.
    pub whispers_used_today: u32,
    /// YouTube quota units spent today (polls and replies).
    pub youtube_units_used_today: u32,
}

impl ReplyCounters {
    /// Counts a reply that was sent by `route` on `platform` at `now`: the viewer's and session's
    /// counts, the viewer's cooldown start, and the route's budget (a whisper, or a YouTube
    /// insert's units). Keeping this next to [`decide_reply`] means spending and checking can
    /// never disagree about what a reply costs.
    pub fn record_reply(
        &mut self,
        platform: LivePlatform,
        route: Route,
        limits: &LiveLimits,
        now: DateTime<Utc>,
    ) {
        self.viewer_replies = self.viewer_replies.saturating_add(1);
        self.viewer_last_reply_at = Some(now);
        self.session_replies = self.session_replies.saturating_add(1);
        match (platform, route) {
            (LivePlatform::Twitch, Route::Whisper) => {
                self.whispers_used_today = self.whispers_used_today.saturating_add(1);
            }
            (LivePlatform::Youtube, Route::Public) => {
                self.record_youtube_call(YoutubeCall::Insert, limits)
            }
            _ => {}
        }
    }

    /// Counts the units of a YouTube call (e.g. each chat poll).
    pub fn record_youtube_call(&mut self, call: YoutubeCall, limits: &LiveLimits) {
        self.youtube_units_used_today = self
            .youtube_units_used_today
            .saturating_add(limits.youtube_cost(call));
    }
}

/// Why the agent stays silent on a message. Every skip is recorded with its [`SkipReason::code`],
/// so a creator can see why a question went unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The intent is neither PRODUCT_INQUIRY nor PURCHASE_INTENT.
    NotAnIntent,
    /// The analysis is less sure than [`LiveLimits::min_confidence`] (or its confidence is NaN).
    LowConfidence,
    /// The message is not about a product of this session's catalogue, so there is nothing
    /// true to say (replies never invent products or prices).
    UnknownProduct,
    /// The viewer already got [`LiveLimits::max_replies_per_viewer`] replies this session.
    ViewerLimit,
    /// The viewer was answered less than [`LiveLimits::viewer_cooldown`] ago.
    ViewerCooldown {
        /// Whole seconds (rounded up, at least 1) until a reply would be allowed.
        retry_in_secs: i64,
    },
    /// The session already sent [`LiveLimits::max_replies_per_session`] replies.
    SessionLimit,
    /// No Twitch whispers left today and no public fallback allowed.
    WhisperBudgetExhausted,
    /// Today's YouTube quota cannot pay for another insert.
    QuotaExhausted,
    /// The TikTok viewer already got today's DMs (TikTok's per-user daily cap).
    DmDailyLimit,
    /// The creator switched the agent off for this session.
    AgentDisabled,
    /// The message is the bot's own (answering ourselves would loop).
    OwnMessage,
    /// The message was already handled (a platform redelivery or a repeated poll page).
    Duplicate,
}

impl SkipReason {
    /// The stable stored name, e.g. `"VIEWER_COOLDOWN"`.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::NotAnIntent => "NOT_AN_INTENT",
            SkipReason::LowConfidence => "LOW_CONFIDENCE",
            SkipReason::UnknownProduct => "UNKNOWN_PRODUCT",
            SkipReason::ViewerLimit => "VIEWER_LIMIT",
            SkipReason::ViewerCooldown { .. } => "VIEWER_COOLDOWN",
            SkipReason::SessionLimit => "SESSION_LIMIT",
            SkipReason::WhisperBudgetExhausted => "WHISPER_BUDGET_EXHAUSTED",
            SkipReason::QuotaExhausted => "QUOTA_EXHAUSTED",
            SkipReason::DmDailyLimit => "DM_DAILY_LIMIT",
            SkipReason::AgentDisabled => "AGENT_DISABLED",
            SkipReason::OwnMessage => "OWN_MESSAGE",
            SkipReason::Duplicate => "DUPLICATE",
        }
    }
}

/// Everything [`decide_reply`] looks at for one chat message.
#[derive(Debug, Clone, Copy)]
pub struct ReplyInput<'a> {
    /// The message's analysis (intent, confidence).
    pub analysis: &'a Analysis,
    /// The matched product is in this session's catalogue.
    pub product_known: bool,
    /// The creator has the agent switched on for this session.
    pub agent_enabled: bool,
    /// The message was sent by our own bot account.
    pub own_message: bool,
    /// The message was already processed (same platform message id).
    pub duplicate: bool,
    /// Where the stream runs: decides the routes and which budget a reply spends.
    pub platform: LivePlatform,
    /// The session's preferred route (mapped by [`LivePlatform::route_for`]).
    pub preferred: Route,
    /// When no whisper is left, answer in public chat instead of staying silent. A session
    /// setting: some creators want product talk kept out of chat.
    pub allow_public_fallback: bool,
    /// What has been spent so far.
    pub counters: &'a ReplyCounters,
    /// The session's limits.
    pub limits: &'a LiveLimits,
    /// The current time (domain code never reads the clock).
    pub now: DateTime<Utc>,
}

/// The outcome for one chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Answer, by this (platform-resolved) route; then [`ReplyCounters::record_reply`].
    Reply {
        /// The route the reply must take.
        route: Route,
    },
    /// Stay silent, for this reason.
    Skip(SkipReason),
}

/// Decides whether the live agent answers a chat message, and how (ARCHITECTURE.md §4).
///
/// The checks run in a fixed order and the first failing one is the reason, so the recorded
/// reason is the most fundamental one:
/// 1. not a viewer message to act on: [`SkipReason::OwnMessage`], [`SkipReason::Duplicate`];
/// 2. the creator's switch: [`SkipReason::AgentDisabled`];
/// 3. the message itself: intent ([`SkipReason::NotAnIntent`]), confidence ≥ `min_confidence`
///    ([`SkipReason::LowConfidence`]; exactly the threshold replies), product known
///    ([`SkipReason::UnknownProduct`]);
/// 4. the anti-spam limits: session ([`SkipReason::SessionLimit`]), then viewer count
///    ([`SkipReason::ViewerLimit`]), then viewer cooldown ([`SkipReason::ViewerCooldown`]);
/// 5. the route's budget. Twitch whisper with none left: falls back to Public when
///    `allow_public_fallback` (public Twitch chat is free and unlimited), else
///    [`SkipReason::WhisperBudgetExhausted`]. YouTube public: the insert must fit the quota
///    ([`SkipReason::QuotaExhausted`]; landing exactly on the quota is allowed). Twitch public
///    has no budget; TikTok DM's window and per-user limit are checked by
///    [`crate::messaging`] when the DM is sent.
pub fn decide_reply(input: &ReplyInput) -> Decision {
    let limits = input.limits;
    let counters = input.counters;
    let skip = Decision::Skip;

    if input.own_message {
        return skip(SkipReason::OwnMessage);
    }
    if input.duplicate {
        return skip(SkipReason::Duplicate);
    }
    if !input.agent_enabled {
        return skip(SkipReason::AgentDisabled);
    }
    if !matches!(
        input.analysis.intent,
        Intent::ProductInquiry | Intent::PurchaseIntent
    ) {
        return skip(SkipReason::NotAnIntent);
    }
    // A NaN confidence is low, never high.
    let confidence = input.analysis.confidence;
    if confidence.is_nan() || confidence < limits.min_confidence {
        return skip(SkipReason::LowConfidence);
    }
    if !input.product_known {
        return skip(SkipReason::UnknownProduct);
    }
    if counters.session_replies >= limits.max_replies_per_session {
        return skip(SkipReason::SessionLimit);
    }
    if counters.viewer_replies >= limits.max_replies_per_viewer {
        return skip(SkipReason::ViewerLimit);
    }
    if let Some(last) = counters.viewer_last_reply_at {
        let elapsed = input.now - last;
        if elapsed < limits.viewer_cooldown {
            return skip(SkipReason::ViewerCooldown {
                retry_in_secs: retry_in_secs(limits.viewer_cooldown, elapsed),
            });
        }
    }

    match input.platform.route_for(input.preferred) {
        Route::Whisper => {
            if counters.whispers_used_today < limits.whispers_per_day {
                Decision::Reply {
                    route: Route::Whisper,
                }
            } else if input.allow_public_fallback {
                Decision::Reply {
                    route: Route::Public,
                }
            } else {
                skip(SkipReason::WhisperBudgetExhausted)
            }
        }
        Route::Public if input.platform == LivePlatform::Youtube => {
            if youtube_call_allowed(
                counters.youtube_units_used_today,
                YoutubeCall::Insert,
                limits,
            ) {
                Decision::Reply {
                    route: Route::Public,
                }
            } else {
                skip(SkipReason::QuotaExhausted)
            }
        }
        route => Decision::Reply { route },
    }
}

/// Seconds until the cooldown ends, rounded up and at least 1 (a "retry in 0 s" would invite a
/// retry that is still refused). When the last reply lies in the future (clock skew between
/// workers) it is at most the full cooldown, never longer.
fn retry_in_secs(cooldown: Duration, elapsed: Duration) -> i64 {
    let remaining_ms = (cooldown - elapsed.max(Duration::zero())).num_milliseconds();
    ((remaining_ms + 999) / 1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::fixtures::*;

    #[test]
    fn record_reply_spends_the_routes_budget() {
        let l = LiveLimits::default();
        let later = t0() + Duration::seconds(42);
        let cases = [
            (LivePlatform::Youtube, Route::Public, 0, 50),
            (LivePlatform::Twitch, Route::Whisper, 1, 0),
            (LivePlatform::Twitch, Route::Public, 0, 0),
            (LivePlatform::Tiktok, Route::Dm, 0, 0),
        ];
        for (platform, route, whispers, units) in cases {
            let mut c = ReplyCounters::default();
            c.record_reply(platform, route, &l, later);
            assert_eq!(c.viewer_replies, 1);
            assert_eq!(c.session_replies, 1);
            assert_eq!(c.viewer_last_reply_at, Some(later));
            assert_eq!(c.whispers_used_today, whispers, "{platform:?} {route:?}");
            assert_eq!(c.youtube_units_used_today, units, "{platform:?} {route:?}");
        }
        let mut c = ReplyCounters::default();
        c.record_youtube_call(YoutubeCall::List, &l);
        assert_eq!(c.youtube_units_used_today, 5);
    }

    // ---- decide_reply ----

    struct Case {
        analysis: Analysis,
        product_known: bool,
        agent_enabled: bool,
        own_message: bool,
        duplicate: bool,
        platform: LivePlatform,
        preferred: Route,
        allow_public_fallback: bool,
        counters: ReplyCounters,
        limits: LiveLimits,
        now: DateTime<Utc>,
    }

    impl Case {
        fn ok() -> Self {
            Self {
                analysis: analysis(Intent::ProductInquiry, 0.9),
                product_known: true,
                agent_enabled: true,
                own_message: false,
                duplicate: false,
                platform: LivePlatform::Twitch,
                preferred: Route::Public,
                allow_public_fallback: false,
                counters: ReplyCounters::default(),
                limits: LiveLimits::default(),
                now: t0(),
            }
        }

        fn decide(&self) -> Decision {
            decide_reply(&ReplyInput {
                analysis: &self.analysis,
                product_known: self.product_known,
                agent_enabled: self.agent_enabled,
                own_message: self.own_message,
                duplicate: self.duplicate,
                platform: self.platform,
                preferred: self.preferred,
                allow_public_fallback: self.allow_public_fallback,
                counters: &self.counters,
                limits: &self.limits,
                now: self.now,
            })
        }
    }

    const PUBLIC: Decision = Decision::Reply {
        route: Route::Public,
    };

    #[test]
    fn happy_path_replies_publicly() {
        assert_eq!(Case::ok().decide(), PUBLIC);
    }

    #[test]
    fn only_product_inquiry_and_purchase_intent_are_answered() {
        for intent in Intent::ALL {
            let case = Case {
                analysis: analysis(intent, 0.95),
                ..Case::ok()
            };
            let want = match intent {
                Intent::ProductInquiry | Intent::PurchaseIntent => PUBLIC,
                _ => Decision::Skip(SkipReason::NotAnIntent),
            };
            assert_eq!(case.decide(), want, "{intent:?}");
        }
    }

    #[test]
    fn confidence_threshold_is_inclusive_and_nan_is_low() {
        let cases = [
            (0.70, PUBLIC),
            (0.71, PUBLIC),
            (1.0, PUBLIC),
            (0.699_99, Decision::Skip(SkipReason::LowConfidence)),
            (0.0, Decision::Skip(SkipReason::LowConfidence)),
            (f32::NAN, Decision::Skip(SkipReason::LowConfidence)),
        ];
        for (confidence, want) in cases {
            let case = Case {
                analysis: analysis(Intent::PurchaseIntent, confidence),
                ..Case::ok()
            };
            assert_eq!(case.decide(), want, "confidence {confidence}");
        }
    }

    #[test]
    fn unknown_product_is_skipped() {
        let case = Case {
            product_known: false,
            ..Case::ok()
        };
        assert_eq!(case.decide(), Decision::Skip(SkipReason::UnknownProduct));
    }

    #[test]
    fn own_duplicate_and_disabled_are_skipped_first() {
        let low = analysis(Intent::Other, 0.1);
        let own = Case {
            own_message: true,
            duplicate: true,
            agent_enabled: false,
            analysis: low.clone(),
            ..Case::ok()
        };
        assert_eq!(own.decide(), Decision::Skip(SkipReason::OwnMessage));
        let dup = Case {
            duplicate: true,
            agent_enabled: false,
            analysis: low.clone(),
            ..Case::ok()
        };
        assert_eq!(dup.decide(), Decision::Skip(SkipReason::Duplicate));
        let off = Case {
            agent_enabled: false,
            analysis: low,
            ..Case::ok()
        };
        assert_eq!(off.decide(), Decision::Skip(SkipReason::AgentDisabled));
    }

    #[test]
    fn message_checks_run_in_order() {
        let not_intent_low = Case {
            analysis: analysis(Intent::Praise, 0.1),
            product_known: false,
            ..Case::ok()
        };
        assert_eq!(
            not_intent_low.decide(),
            Decision::Skip(SkipReason::NotAnIntent)
        );
        let low_unknown = Case {
            analysis: analysis(Intent::ProductInquiry, 0.1),
            product_known: false,
            ..Case::ok()
        };
        assert_eq!(
            low_unknown.decide(),
            Decision::Skip(SkipReason::LowConfidence)
        );
        let unknown_over_limits = Case {
            product_known: false,
            counters: ReplyCounters {
                session_replies: 100,
                viewer_replies: 3,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(
            unknown_over_limits.decide(),
            Decision::Skip(SkipReason::UnknownProduct)
        );
    }

    #[test]
    fn third_reply_allowed_fourth_refused() {
        let third = Case {
            counters: ReplyCounters {
                viewer_replies: 2,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(third.decide(), PUBLIC);
        let fourth = Case {
            counters: ReplyCounters {
                viewer_replies: 3,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(fourth.decide(), Decision::Skip(SkipReason::ViewerLimit));
    }

    #[test]
    fn cooldown_29s_refused_30s_allowed() {
        let at = |secs: i64, millis: i64| Case {
            counters: ReplyCounters {
                viewer_replies: 1,
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            now: t0() + Duration::seconds(secs) + Duration::milliseconds(millis),
            ..Case::ok()
        };
        let cooldown = |retry_in_secs| Decision::Skip(SkipReason::ViewerCooldown { retry_in_secs });
        assert_eq!(at(0, 0).decide(), cooldown(30));
        assert_eq!(at(1, 0).decide(), cooldown(29));
        assert_eq!(at(29, 0).decide(), cooldown(1));
        assert_eq!(at(29, 999).decide(), cooldown(1), "rounded up, never 0");
        assert_eq!(at(29, 1).decide(), cooldown(1));
        assert_eq!(at(30, 0).decide(), PUBLIC);
        assert_eq!(at(3_600, 0).decide(), PUBLIC);
        // Clock skew: the last reply is "in the future"; wait at most the full cooldown.
        assert_eq!(at(-10, 0).decide(), cooldown(30));
    }

    #[test]
    fn zero_cooldown_never_waits() {
        let case = Case {
            counters: ReplyCounters {
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            limits: LiveLimits {
                viewer_cooldown: Duration::zero(),
                ..LiveLimits::default()
            },
            ..Case::ok()
        };
        assert_eq!(case.decide(), PUBLIC);
    }

    #[test]
    fn hundredth_session_reply_allowed_then_session_limit() {
        let with = |n| Case {
            counters: ReplyCounters {
                session_replies: n,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(with(99).decide(), PUBLIC);
        assert_eq!(with(100).decide(), Decision::Skip(SkipReason::SessionLimit));
        assert_eq!(
            with(u32::MAX).decide(),
            Decision::Skip(SkipReason::SessionLimit)
        );
    }

    #[test]
    fn session_limit_is_reported_before_viewer_limits() {
        let case = Case {
            counters: ReplyCounters {
                session_replies: 100,
                viewer_replies: 3,
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(case.decide(), Decision::Skip(SkipReason::SessionLimit));
        let viewer_then_cooldown = Case {
            counters: ReplyCounters {
                viewer_replies: 3,
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(
            viewer_then_cooldown.decide(),
            Decision::Skip(SkipReason::ViewerLimit)
        );
    }

    #[test]
    fn zero_limits_switch_replies_off() {
        let per_viewer = Case {
            limits: LiveLimits {
                max_replies_per_viewer: 0,
                ..LiveLimits::default()
            },
            ..Case::ok()
        };
        assert_eq!(per_viewer.decide(), Decision::Skip(SkipReason::ViewerLimit));
        let per_session = Case {
            limits: LiveLimits {
                max_replies_per_session: 0,
                ..LiveLimits::default()
            },
            ..Case::ok()
        };
        assert_eq!(
            per_session.decide(),
            Decision::Skip(SkipReason::SessionLimit)
        );
    }

    #[test]
    fn routes_are_resolved_per_platform() {
        let cases = [
            (LivePlatform::Youtube, Route::Public, Route::Public),
            (LivePlatform::Youtube, Route::Whisper, Route::Public),
            (LivePlatform::Youtube, Route::Dm, Route::Public),
            (LivePlatform::Twitch, Route::Public, Route::Public),
            (LivePlatform::Twitch, Route::Whisper, Route::Whisper),
            (LivePlatform::Twitch, Route::Dm, Route::Whisper),
            (LivePlatform::Tiktok, Route::Public, Route::Dm),
            (LivePlatform::Tiktok, Route::Whisper, Route::Dm),
            (LivePlatform::Tiktok, Route::Dm, Route::Dm),
        ];
        for (platform, preferred, want) in cases {
            assert_eq!(
                platform.route_for(preferred),
                want,
                "{platform:?} {preferred:?}"
            );
            let case = Case {
                platform,
                preferred,
                ..Case::ok()
            };
            assert_eq!(case.decide(), Decision::Reply { route: want });
        }
    }

    #[test]
    fn whisper_budget_last_one_used_then_fallback_or_skip() {
        let with = |used, fallback, preferred| Case {
            preferred,
            allow_public_fallback: fallback,
            counters: ReplyCounters {
                whispers_used_today: used,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        let whisper = Decision::Reply {
            route: Route::Whisper,
        };
        assert_eq!(with(39, false, Route::Whisper).decide(), whisper);
        assert_eq!(
            with(40, false, Route::Whisper).decide(),
            Decision::Skip(SkipReason::WhisperBudgetExhausted)
        );
        assert_eq!(with(40, true, Route::Whisper).decide(), PUBLIC);
        assert_eq!(
            with(40, true, Route::Dm).decide(),
            PUBLIC,
            "Twitch DM is a whisper"
        );
        // Public Twitch replies never touch the whisper budget.
        assert_eq!(with(40, false, Route::Public).decide(), PUBLIC);
    }

    #[test]
    fn youtube_reply_needs_quota_for_one_insert() {
        let with = |used| Case {
            platform: LivePlatform::Youtube,
            counters: ReplyCounters {
                youtube_units_used_today: used,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(with(0).decide(), PUBLIC);
        assert_eq!(with(9_950).decide(), PUBLIC, "remaining == insert cost");
        assert_eq!(
            with(9_951).decide(),
            Decision::Skip(SkipReason::QuotaExhausted)
        );
        assert_eq!(
            with(10_000).decide(),
            Decision::Skip(SkipReason::QuotaExhausted)
        );
        // The configurable cost (official reference: 20) moves the boundary.
        let cheaper = Case {
            limits: LiveLimits {
                youtube_insert_cost: 20,
                ..LiveLimits::default()
            },
            ..with(9_980)
        };
        assert_eq!(cheaper.decide(), PUBLIC);
        // Quota is YouTube's: a Twitch public reply ignores it.
        let twitch = Case {
            platform: LivePlatform::Twitch,
            ..with(10_000)
        };
        assert_eq!(twitch.decide(), PUBLIC);
    }

    #[test]
    fn tiktok_dm_has_no_budget_here() {
        let case = Case {
            platform: LivePlatform::Tiktok,
            counters: ReplyCounters {
                whispers_used_today: 1_000,
                youtube_units_used_today: 1_000_000,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(case.decide(), Decision::Reply { route: Route::Dm });
    }

    #[test]
    fn skip_codes_are_stable_and_distinct() {
        let all = [
            (SkipReason::NotAnIntent, "NOT_AN_INTENT"),
            (SkipReason::LowConfidence, "LOW_CONFIDENCE"),
            (SkipReason::UnknownProduct, "UNKNOWN_PRODUCT"),
            (SkipReason::ViewerLimit, "VIEWER_LIMIT"),
            (
                SkipReason::ViewerCooldown { retry_in_secs: 5 },
                "VIEWER_COOLDOWN",
            ),
            (SkipReason::SessionLimit, "SESSION_LIMIT"),
            (
                SkipReason::WhisperBudgetExhausted,
                "WHISPER_BUDGET_EXHAUSTED",
            ),
            (SkipReason::QuotaExhausted, "QUOTA_EXHAUSTED"),
            (SkipReason::AgentDisabled, "AGENT_DISABLED"),
            (SkipReason::OwnMessage, "OWN_MESSAGE"),
            (SkipReason::Duplicate, "DUPLICATE"),
        ];
        for (reason, code) in all {
            assert_eq!(reason.code(), code);
        }
        let mut codes: Vec<&str> = all.iter().map(|(r, _)| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
