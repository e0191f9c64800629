//! What one reply costs and which shared budget counters it spends, by platform and route
//! (public, whisper, DM), on the credentials the session resolved to. Shared by the pipeline
//! (deciding) and `reply` (sending a manual or retried reply).

use chrono::{DateTime, Utc};
use leadline_domain::ids::TenantId;
use leadline_domain::live::{LiveLimits, LivePlatform, Route};
use leadline_entity::live_sessions;

use super::budget;
use super::credentials::SessionAccess;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::live::platform_of;
use crate::store::live_budget::CounterSpend;

/// Whispers and YouTube units one reply by `route` costs (for the session row's counters).
pub fn route_cost(platform: LivePlatform, route: Route, limits: &LiveLimits) -> (i32, i32) {
    match (platform, route) {
        (LivePlatform::Youtube, Route::Public) => (
            0,
            i32::try_from(limits.youtube_insert_cost).unwrap_or(i32::MAX),
        ),
        (_, Route::Whisper) => (1, 0),
        _ => (0, 0),
    }
}

/// The counters a reply by `route` spends, in `decide_reply`'s order: session, viewer, then the
/// route's own budget (YouTube quota, the bot's whispers, the viewer's TikTok DMs).
pub fn reply_spends(
    session: &live_sessions::Model,
    author_id: &str,
    route: Route,
    limits: &LiveLimits,
    access: &SessionAccess,
    state: &AppState,
    now: DateTime<Utc>,
) -> ApiResult<Vec<CounterSpend>> {
    let mut spends = vec![
        budget::session_spend(session.id, limits, now),
        budget::viewer_spend(session.id, author_id, limits, now),
    ];
    spends.extend(route_spend(
        session, author_id, route, limits, access, state, now,
    )?);
    Ok(spends)
}

/// The route's own budget counter for one reply (none for Twitch public chat, which is free),
/// on the credentials `access` resolved to. Without credentials there is nothing to spend: the
/// send then fails for want of them (NO_OAUTH_TOKEN, NO_TWITCH_CREDENTIALS) and spends nothing.
pub fn route_spend(
    session: &live_sessions::Model,
    author_id: &str,
    route: Route,
    limits: &LiveLimits,
    access: &SessionAccess,
    state: &AppState,
    now: DateTime<Utc>,
) -> ApiResult<Option<CounterSpend>> {
    Ok(match (platform_of(session)?, route) {
        (LivePlatform::Youtube, Route::Public) => access.youtube.as_ref().map(|youtube| {
            budget::youtube_spend(
                &youtube.quota_owner(),
                limits.youtube_insert_cost,
                limits,
                now,
            )
        }),
        (LivePlatform::Twitch, Route::Whisper) => access
            .twitch
            .as_ref()
            .map(|bot| budget::whisper_spend(&bot.whisper_owner(), limits, now)),
        (LivePlatform::Tiktok, Route::Dm) => Some(budget::tiktok_dm_spend(
            TenantId(session.tenant_id),
            author_id,
            state.config.live_ceilings.tiktok_dms_per_viewer_per_day,
            now,
        )),
        _ => None,
    })
}
