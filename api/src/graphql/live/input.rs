//! The live sessions' GraphQL inputs and their validation: limits under the operator's
//! ceilings, and each platform's stored config. Must not: touch the store (resolvers do).

use async_graphql::{InputObject, ID};
use chrono::Duration;
use leadline_domain::live::{LiveCeilings, LiveLimits, LivePlatformConfig};
use leadline_youtube::VideoId;

use super::super::clean_text;
use super::types::{LivePlatform, LiveSessionStatus, ReplyVia};
use crate::error::ApiError;

/// Which YouTube live stream to read.
#[derive(InputObject)]
pub struct YoutubeLiveInput {
    /// The video id (11 characters).
    pub video_id: Option<String>,
    /// Any YouTube URL of the video (watch, youtu.be, live, shorts).
    pub url: Option<String>,
    /// The channel id the bot posts as, so its own lines are ignored from the first poll on
    /// (otherwise learned from the first reply).
    pub bot_channel_id: Option<String>,
}

/// Which Twitch channel to read.
#[derive(InputObject)]
pub struct TwitchLiveInput {
    /// The channel's login (e.g. `shopwithmaria`, with or without `#`).
    pub channel: String,
}

/// Which TikTok LIVE to read.
#[derive(InputObject)]
pub struct TiktokLiveInput {
    /// The creator's TikTok username (`@name` or `name`); the reader looks up the live room.
    pub username: Option<String>,
    /// The live room id, when known (skips the status lookup; required with `webhookOnly`).
    pub room_id: Option<String>,
    /// Comments arrive only by webhook (`/api/webhook/tiktok-live/{tenantSlug}`); no polling.
    pub webhook_only: Option<bool>,
}

/// Input of `sendManualResponse`.
#[derive(InputObject)]
pub struct SendManualResponseInput {
    /// The session.
    pub session_id: ID,
    /// The viewer: their display name as shown in chat (or their platform id).
    pub username: String,
    /// The text (YouTube ≤ 200 characters, Twitch ≤ 500, TikTok ≤ 1,000).
    pub text: String,
    /// The route.
    pub via: ReplyVia,
}

/// Per-session overrides of the live agent's limits (ARCHITECTURE.md §4 defaults otherwise).
/// The shared platform budgets (`whispersPerDay`, `youtubeDailyQuota`) can only be lowered
/// below the operator's ceilings: a higher value is refused (BAD_USER_INPUT naming the field
/// and the ceiling), not silently clamped. The YouTube unit costs are the operator's, not a
/// session setting.
#[derive(InputObject, Default)]
pub struct LiveLimitsInput {
    /// Least analysis confidence for a reply (0–1, default 0.70).
    pub min_confidence: Option<f64>,
    /// Most replies per viewer per session (default 3).
    pub max_replies_per_viewer: Option<i32>,
    /// Least seconds between two replies to one viewer (default 30).
    pub viewer_cooldown_seconds: Option<i32>,
    /// Most replies per session (default 100).
    pub max_replies_per_session: Option<i32>,
    /// Twitch whispers per day for the bot account: at most, and by default, the operator's
    /// ceiling (40 unless configured: Twitch's limit for an unverified bot).
    pub whispers_per_day: Option<i32>,
    /// YouTube quota units per day: at most, and by default, the operator's ceiling (10,000
    /// unless configured).
    pub youtube_daily_quota: Option<i32>,
}

fn count(value: Option<i32>, field: &str, default: u32) -> Result<u32, ApiError> {
    match value {
        None => Ok(default),
        Some(n) => u32::try_from(n)
            .map_err(|_| ApiError::bad_input(format!("limits.{field}"), "must not be negative")),
    }
}

impl LiveLimitsInput {
    /// The session's limits under `ceilings`: omitted shared budgets take the ceiling, a value
    /// above it is refused, and the unit costs are the operator's.
    pub(super) fn into_limits(self, ceilings: &LiveCeilings) -> Result<LiveLimits, ApiError> {
        let d = ceilings.default_limits();
        let limits = LiveLimits {
            min_confidence: self
                .min_confidence
                .map(|c| c as f32)
                .unwrap_or(d.min_confidence),
            max_replies_per_viewer: count(
                self.max_replies_per_viewer,
                "maxRepliesPerViewer",
                d.max_replies_per_viewer,
            )?,
            viewer_cooldown: match self.viewer_cooldown_seconds {
                None => d.viewer_cooldown,
                Some(s) => Duration::seconds(i64::from(s)),
            },
            max_replies_per_session: count(
                self.max_replies_per_session,
                "maxRepliesPerSession",
                d.max_replies_per_session,
            )?,
            whispers_per_day: count(self.whispers_per_day, "whispersPerDay", d.whispers_per_day)?,
            youtube_daily_quota: count(
                self.youtube_daily_quota,
                "youtubeDailyQuota",
                d.youtube_daily_quota,
            )?,
            youtube_insert_cost: d.youtube_insert_cost,
            youtube_list_cost: d.youtube_list_cost,
        };
        // The ceiling first: its refusal names the operator's limit, the clearer message.
        ceilings.check(&limits).map_err(ceiling_error)?;
        limits
            .validate()
            .map_err(|e| ApiError::invalid("limits", e))?;
        Ok(ceilings.apply(&limits))
    }
}

/// A ceiling refusal as BAD_USER_INPUT on `limits.<field>`.
fn ceiling_error(error: leadline_domain::DomainError) -> ApiError {
    match error {
        leadline_domain::DomainError::OutOfRange { field, message } => {
            ApiError::bad_input(format!("limits.{field}"), message)
        }
        other => ApiError::invalid("limits", other),
    }
}

/// Input of `startLiveSession`.
#[derive(InputObject)]
pub struct StartLiveSessionInput {
    /// The platform; its own config (`youtube`, `twitch` or `tiktok`) is required.
    pub platform: LivePlatform,
    /// The products the agent may talk about (default: every active product).
    pub products: Option<Vec<ID>>,
    /// Whether the agent answers (default true).
    pub agent_enabled: Option<bool>,
    /// A title for the dashboard.
    pub title: Option<String>,
    /// The YouTube stream (required for YOUTUBE).
    pub youtube: Option<YoutubeLiveInput>,
    /// The Twitch channel (required for TWITCH).
    pub twitch: Option<TwitchLiveInput>,
    /// The TikTok LIVE (required for TIKTOK).
    pub tiktok: Option<TiktokLiveInput>,
    /// Limit overrides.
    pub limits: Option<LiveLimitsInput>,
}

/// Input of `stopLiveSession`.
#[derive(InputObject)]
pub struct StopLiveSessionInput {
    /// The session id.
    pub id: ID,
}

/// Input of `setAgentEnabled`.
#[derive(InputObject)]
pub struct SetAgentEnabledInput {
    /// The session id.
    pub session_id: ID,
    /// On or off.
    pub enabled: bool,
}

/// Filter for `liveSessions`; parts combine with AND.
#[derive(InputObject, Default)]
pub struct LiveSessionFilterInput {
    /// Status.
    pub status: Option<LiveSessionStatus>,
    /// Platform.
    pub platform: Option<LivePlatform>,
}

/// The stored platform config of a new session, from its platform's input.
pub(super) fn platform_config(
    input: &StartLiveSessionInput,
) -> Result<LivePlatformConfig, ApiError> {
    match input.platform {
        LivePlatform::Youtube => {
            let youtube = input
                .youtube
                .as_ref()
                .ok_or_else(|| ApiError::bad_input("youtube", "required for YOUTUBE"))?;
            let reference = youtube
                .video_id
                .clone()
                .or_else(|| youtube.url.clone())
                .ok_or_else(|| ApiError::bad_input("youtube", "give a videoId or a url"))?;
            let video = VideoId::parse(&reference)
                .map_err(|e| ApiError::bad_input("youtube", e.to_string()))?;
            Ok(LivePlatformConfig {
                video_id: Some(video.as_str().to_owned()),
                bot_channel_id: clean_text(
                    youtube.bot_channel_id.clone(),
                    "youtube.botChannelId",
                    100,
                )?,
                ..Default::default()
            })
        }
        LivePlatform::Twitch => {
            let twitch = input
                .twitch
                .as_ref()
                .ok_or_else(|| ApiError::bad_input("twitch", "required for TWITCH"))?;
            let channel = twitch
                .channel
                .trim()
                .trim_start_matches('#')
                .to_ascii_lowercase();
            // Twitch logins: 4–25 characters of letters, digits and underscores.
            let valid = (3..=25).contains(&channel.len())
                && channel
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(ApiError::bad_input(
                    "twitch.channel",
                    "a Twitch login: 3–25 letters, digits or underscores",
                ));
            }
            Ok(LivePlatformConfig {
                channel: Some(channel),
                ..Default::default()
            })
        }
        LivePlatform::Tiktok => {
            let tiktok = input
                .tiktok
                .as_ref()
                .ok_or_else(|| ApiError::bad_input("tiktok", "required for TIKTOK"))?;
            let username = clean_text(tiktok.username.clone(), "tiktok.username", 100)?
                .map(|u| u.trim_start_matches('@').to_owned());
            let room_id = clean_text(tiktok.room_id.clone(), "tiktok.roomId", 100)?;
            let webhook_only = tiktok.webhook_only.unwrap_or(false);
            if username.is_none() && room_id.is_none() {
                return Err(ApiError::bad_input(
                    "tiktok",
                    "give the creator's username or the room id",
                ));
            }
            if webhook_only && room_id.is_none() {
                return Err(ApiError::bad_input(
                    "tiktok.roomId",
                    "required with webhookOnly: webhooks name the room",
                ));
            }
            Ok(LivePlatformConfig {
                username,
                room_id,
                webhook_only,
                ..Default::default()
            })
        }
    }
}
