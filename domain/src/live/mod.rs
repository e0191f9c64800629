//! The live-stream sales agent's rules (ARCHITECTURE.md §4, "Live agent" and "Live lead score";
//! seed 000): how hot a chatting viewer is, and whether the agent may answer a chat message now,
//! by which route.
//!
//! Owns: the four-component live lead score and its explanation, the reply decision with its
//! per-viewer / per-session / per-day limits, the platform budgets (Twitch whispers, YouTube
//! quota units), the one-shot limit warnings and the whisper priority. Must not: read or write
//! counters, talk to a platform, generate reply text or decide TikTok's DM window — the live
//! session service loads the counters, calls these functions with `now`, sends, and records the
//! result (TikTok's 24 h window is [`crate::messaging`]'s, which enforces the 10-a-day cap
//! defined here as [`TIKTOK_DMS_PER_USER_PER_DAY`]).
//!
//! Everything here is a plain function of its arguments, so every rule and boundary is pinned by
//! the table tests next to it. Every item is re-exported here, so callers keep naming
//! `live::X` whichever file it lives in:
//!
//! - `score`: the live lead score ([`ViewerActivity`], [`live_score`], [`score_reason`]);
//! - `details`: the price / size / quantity heuristic feeding the score's specificity;
//! - `platform`: [`LivePlatform`], [`Route`], [`YoutubeCall`];
//! - `limits`: [`LiveLimits`], the operator's [`LiveCeilings`], the YouTube quota check and the
//!   budget days;
//! - `decision`: [`decide_reply`], [`SkipReason`], [`ReplyCounters`];
//! - `warnings`: [`limit_warnings`];
//! - `whisper`: [`whisper_priority`], [`prefers_whisper`].

mod decision;
mod details;
mod limits;
mod platform;
mod score;
mod session_config;
mod warnings;
mod whisper;

#[cfg(test)]
mod fixtures;

pub use decision::{decide_reply, Decision, ReplyCounters, ReplyInput, SkipReason};
pub use details::mentions_price_size_or_quantity;
pub use limits::{
    whisper_day, youtube_call_allowed, youtube_quota_day, LiveCeilings, LiveLimits,
    DEFAULT_MAX_REPLIES_PER_SESSION, DEFAULT_MAX_REPLIES_PER_VIEWER, DEFAULT_MIN_CONFIDENCE,
    DEFAULT_TIKTOK_DMS_PER_VIEWER_PER_DAY, DEFAULT_VIEWER_COOLDOWN_SECS, DEFAULT_WHISPERS_PER_DAY,
    DEFAULT_YOUTUBE_DAILY_QUOTA, DEFAULT_YOUTUBE_INSERT_COST, DEFAULT_YOUTUBE_LIST_COST,
    MAX_COUNT_SETTING, MAX_TIKTOK_DMS_PER_VIEWER_PER_DAY, MAX_YOUTUBE_CALL_COST, MAX_YOUTUBE_QUOTA,
    TIKTOK_DMS_PER_USER_PER_DAY,
};
pub use platform::{InteractionOutcome, LivePlatform, LiveSessionStatus, Route, YoutubeCall};
pub use score::{
    live_score, score_reason, signal_purchase_points, LiveScore, ViewerActivity, DETAILS_POINTS,
    ENGAGEMENT_BY_MESSAGES, ENGAGEMENT_MAX, EXTRA_PRODUCT_POINTS, FIRST_PRODUCT_POINTS,
    PRODUCTS_POINTS_CAP, PRODUCT_INQUIRY_POINTS, PRODUCT_INQUIRY_POINTS_CAP,
    PURCHASE_INTENT_POINTS, PURCHASE_MAX, SENTIMENT_MAX, SPECIFICITY_MAX,
};
pub use session_config::LivePlatformConfig;
pub use warnings::{limit_warnings, LimitWarning};
pub use whisper::{prefers_whisper, whisper_priority, HOT_MIN_TOTAL, VERY_HOT_MIN_TOTAL};
