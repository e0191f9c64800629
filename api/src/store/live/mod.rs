//! Live-stream selling sessions, their chat interactions and the viewers' leads
//! (ARCHITECTURE.md §5, "Live sessions").
//!
//! A session row carries its limits and platform state (JSON) and the counters the reply decision
//! needs (replies sent, quota units spent); per-viewer counts are derived from the interactions,
//! so they can never disagree with what was recorded. Duplicates are refused by the unique key
//! `(session_id, platform_message_id)`: recording an interaction is the dedup check.
//!
//! `sessions` (create, list, stop, counters, stats), `interactions` (one chat message and its
//! outcome), `viewers` (the viewer's lead and live score), `lease` (which replica reads a
//! session, without Redis). This module holds the shared row types and the one reader of the
//! stored platform and status. Must not: call a platform or decide a reply (`services::live`).

mod interactions;
mod lease;
mod sessions;
#[cfg(test)]
mod tests;
mod viewers;

pub use viewers::{LiveViewerMessage, ViewerCount};

use chrono::Duration;
use leadline_domain::live::{
    LiveLimits, LivePlatform, LivePlatformConfig, LiveScore, LiveSessionStatus,
};
use leadline_entity::{lead_score_events, leads, live_sessions};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

use super::Stored;
use crate::error::{ApiError, ApiResult};

/// The `lead_score_events.signal` of live score changes.
pub const LIVE_SCORE_SIGNAL: &str = "LIVE_CHAT";

/// A validated new session.
#[derive(Debug, Clone)]
pub struct NewLiveSession {
    pub platform: LivePlatform,
    pub agent_enabled: bool,
    pub title: Option<String>,
    /// Platform state, e.g. the video id for YouTube.
    pub platform_config: LivePlatformConfig,
    pub product_ids: Vec<Uuid>,
    pub limits: LiveLimits,
}

/// Filter for session listings; parts combine with AND.
#[derive(Debug, Default, Clone)]
pub struct LiveSessionFilter {
    pub status: Option<LiveSessionStatus>,
    pub platform: Option<LivePlatform>,
}

/// One chat message as the pipeline stores it.
#[derive(Debug, Clone)]
pub struct NewLiveInteraction {
    pub session_id: Uuid,
    pub lead_id: Option<Uuid>,
    pub platform_message_id: String,
    pub author_id: String,
    pub author_name: String,
    pub text: String,
    pub intent: Option<String>,
    pub confidence: Option<f64>,
    pub matched_product_id: Option<Uuid>,
}

/// What happened to an interaction after the decision.
#[derive(Debug, Clone)]
pub enum InteractionOutcome {
    /// A reply went out by `via` (`PUBLIC`, `WHISPER`, `DM`).
    Replied { text: String, via: String },
    /// Silence, with the `SkipReason` code.
    Skipped { reason: String },
    /// The send failed; `code` is the platform error.
    Failed { code: String },
}

/// What to add to a session's counters (messages stored, replies, whispers, YouTube units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterDelta {
    /// Chat messages stored.
    pub messages: i32,
    /// Replies sent.
    pub responses: i32,
    /// Whispers sent.
    pub whispers: i32,
    /// YouTube units spent by this session.
    pub quota_units: i32,
}

/// A viewer's lead after one message, with the score change if there was one.
#[derive(Debug, Clone)]
pub struct ViewerLead {
    pub lead: leads::Model,
    pub created: bool,
    pub score: LiveScore,
    pub score_event: Option<lead_score_events::Model>,
}

/// Aggregates of one session for the dashboard.
#[derive(Debug, Clone, Default)]
pub struct LiveSessionStats {
    /// `(intent, count)`, most frequent first.
    pub intents: Vec<(String, i64)>,
    /// `(temperature, count)` over the session's viewers' leads.
    pub leads_by_temperature: Vec<(String, i64)>,
}

/// The stored form of [`LiveLimits`] (camelCase JSON, cooldown in seconds).
pub fn limits_to_json(limits: &LiveLimits) -> Value {
    json!({
        "minConfidence": limits.min_confidence,
        "maxRepliesPerViewer": limits.max_replies_per_viewer,
        "viewerCooldownSecs": limits.viewer_cooldown.num_seconds(),
        "maxRepliesPerSession": limits.max_replies_per_session,
        "whispersPerDay": limits.whispers_per_day,
        "youtubeDailyQuota": limits.youtube_daily_quota,
        "youtubeInsertCost": limits.youtube_insert_cost,
        "youtubeListCost": limits.youtube_list_cost,
    })
}

/// Reads stored limits back; a missing or malformed field takes its default, so a row written
/// by an older version still loads.
pub fn limits_from_json(value: &Value) -> LiveLimits {
    let defaults = LiveLimits::default();
    let count = |name: &str, default: u32| {
        value
            .get(name)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(default)
    };
    LiveLimits {
        min_confidence: value
            .get("minConfidence")
            .and_then(Value::as_f64)
            .map(|f| f as f32)
            .unwrap_or(defaults.min_confidence),
        max_replies_per_viewer: count("maxRepliesPerViewer", defaults.max_replies_per_viewer),
        viewer_cooldown: value
            .get("viewerCooldownSecs")
            .and_then(Value::as_i64)
            .map(Duration::seconds)
            .unwrap_or(defaults.viewer_cooldown),
        max_replies_per_session: count("maxRepliesPerSession", defaults.max_replies_per_session),
        whispers_per_day: count("whispersPerDay", defaults.whispers_per_day),
        youtube_daily_quota: count("youtubeDailyQuota", defaults.youtube_daily_quota),
        youtube_insert_cost: count("youtubeInsertCost", defaults.youtube_insert_cost),
        youtube_list_cost: count("youtubeListCost", defaults.youtube_list_cost),
    }
}

/// The session's product ids (ignores anything that is not a UUID string).
pub fn session_product_ids(session: &live_sessions::Model) -> Vec<Uuid> {
    session
        .product_ids
        .as_array()
        .map(|ids| {
            ids.iter()
                .filter_map(Value::as_str)
                .filter_map(|s| Uuid::parse_str(s).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The key of one session's activity in a lead's metadata: the live score is per viewer *per
/// session* (ARCHITECTURE.md §4), and a viewer may watch several streams.
fn activity_key(session_id: Uuid) -> String {
    session_id.to_string()
}

async fn session_in<C: sea_orm::ConnectionTrait>(
    db: &C,
    tenant_id: Uuid,
    id: Uuid,
) -> ApiResult<live_sessions::Model> {
    live_sessions::Entity::find_by_id(id)
        .filter(live_sessions::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("live session"))
}

/// The session's platform: the one place `live_sessions.platform` is read. Only names we wrote
/// are there, so an unknown one is logged and INTERNAL, never taken for YouTube.
pub fn platform_of(session: &live_sessions::Model) -> ApiResult<LivePlatform> {
    LivePlatform::stored(&session.platform)
}

/// The session's platform state. Every stored config was written by us from a
/// [`LivePlatformConfig`], so one that does not read is logged and INTERNAL, never defaulted
/// (a default would send the reader looking up a different video or room).
pub fn platform_config_of(session: &live_sessions::Model) -> ApiResult<LivePlatformConfig> {
    serde_json::from_value(session.platform_config.clone()).map_err(|error| {
        tracing::error!(session = %session.id, %error, "a live session's stored platform config does not read");
        ApiError::Internal(anyhow::Error::new(error).context("reading a live session's platform config"))
    })
}

/// The session's status (ACTIVE or STOPPED); an unknown stored value is logged and INTERNAL.
pub fn status_of(session: &live_sessions::Model) -> ApiResult<LiveSessionStatus> {
    LiveSessionStatus::stored(&session.status)
}

#[cfg(test)]
mod limits_json {
    use super::*;

    #[test]
    fn limits_round_trip_and_old_rows_take_defaults() {
        let limits = LiveLimits {
            min_confidence: 0.5,
            max_replies_per_viewer: 1,
            viewer_cooldown: Duration::seconds(0),
            max_replies_per_session: 7,
            whispers_per_day: 3,
            youtube_daily_quota: 60,
            youtube_insert_cost: 20,
            youtube_list_cost: 1,
        };
        assert_eq!(limits_from_json(&limits_to_json(&limits)), limits);
        assert_eq!(limits_from_json(&json!({})), LiveLimits::default());
        assert_eq!(
            limits_from_json(&json!({"maxRepliesPerViewer": -1})),
            LiveLimits::default()
        );
    }
}
