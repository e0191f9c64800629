//! The chat reader of one ACTIVE session (YouTube here; `twitch` and `tiktok` beside it): resolves the live chat from the video, polls it
//! at the pace the API dictates (`pollingIntervalMillis`, `nextPageToken`, via
//! `leadline_youtube::LiveChatPoller`), and feeds every viewer message to the pipeline.
//!
//! Quota: every list call reserves the operator's list cost (`LEADLINE_YOUTUBE_LIST_COST`) of
//! the project's daily budget before polling — the tenant's own project when it connected its
//! own YouTube credentials, else the operator's (`YOUTUBE_PROJECT`, Pacific day, shared by all
//! tenants, sessions and replicas) — so running out stops the session with a `QUOTA_EXHAUSTED`
//! event instead of a 403.

use std::time::Duration;

use leadline_domain::ids::TenantId;
use leadline_domain::live::{LivePlatformConfig, LiveSessionStatus};
use leadline_youtube::{ChatEnd, LiveChatPoller, PollerConfig, VideoId};
use tokio::sync::watch;
use uuid::Uuid;

use super::budget;
use super::events::publish;
use super::pipeline::{handle_message, ChatMessage, SessionContext};
use crate::bus::LiveEvent;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::live::{platform_config_of, status_of, CounterDelta};

/// How a reader run ended.
#[derive(Debug)]
pub enum ReaderExit {
    /// Asked to stop (stopLiveSession, shutdown) or the session is no longer ACTIVE.
    Stopped,
    /// The chat is over for good; the session was stopped with this reason.
    Finished(String),
}

/// The YouTube reader.
pub(super) async fn run_youtube(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    stop: &mut watch::Receiver<bool>,
) -> ApiResult<ReaderExit> {
    let store = &state.store;
    let session = store.live_session(tenant_id, session_id).await?;
    if status_of(&session)? != LiveSessionStatus::Active {
        return Ok(ReaderExit::Stopped);
    }
    // The tenant's own YouTube credentials when it connected them, else the operator's.
    let Some(access) = super::credentials::youtube(state, tenant_id).await? else {
        let reason = "NO_YOUTUBE_CREDENTIALS";
        finish(state, tenant_id, session_id, reason).await?;
        return Ok(ReaderExit::Finished(reason.into()));
    };
    let credentials = access.read.clone();
    let quota_owner = access.quota_owner();
    let client = state.live.youtube();
    let mut config = platform_config_of(&session)?;
    let chat_id = match config.live_chat_id.clone() {
        Some(id) => id,
        None => {
            let video = config
                .video_id
                .as_deref()
                .and_then(|v| VideoId::parse(v).ok())
                .ok_or_else(|| ApiError::bad_input("youtube", "the session has no video id"))?;
            match client.active_live_chat_id(&credentials, &video).await {
                Ok(id) => id,
                Err(error) if !error.is_retryable() => {
                    return give_up(
                        state,
                        tenant_id,
                        session_id,
                        format!("CHAT_UNAVAILABLE: {error}"),
                    )
                    .await;
                }
                Err(error) => return Err(ApiError::Unavailable(error.to_string())),
            }
        }
    };
    config.live_chat_id = Some(chat_id.clone());
    remember(state, tenant_id, session_id, &config).await?;
    let mut ctx = SessionContext::for_config(&config);
    let page_token = config.page_token.clone();
    let mut poller = LiveChatPoller::resume(chat_id, PollerConfig::default(), page_token);

    loop {
        if *stop.borrow() {
            return Ok(ReaderExit::Stopped);
        }
        let session = store.live_session(tenant_id, session_id).await?;
        if status_of(&session)? != LiveSessionStatus::Active {
            return Ok(ReaderExit::Stopped);
        }
        let limits = budget::session_limits(&state.config.live_ceilings, &session);
        // The poll's quota is reserved before it is made (per Google project and Pacific day,
        // shared by every session and replica), and given back if no request went out.
        let now = crate::store::now();
        let spend = budget::youtube_spend(&quota_owner, limits.youtube_list_cost, &limits, now);
        let reservation = match state.live.budget.reserve(vec![spend], now).await? {
            Ok(reservation) => reservation,
            Err(_) => {
                let used = state
                    .live
                    .budget
                    .values(&[budget::youtube_quota_key(&quota_owner, now)], now)
                    .await?
                    .into_values()
                    .next()
                    .map(|v| v.used)
                    .unwrap_or(0);
                publish(
                    state,
                    tenant_id,
                    session_id,
                    LiveEvent::LimitWarning {
                        code: "QUOTA_EXHAUSTED".into(),
                        message: format!(
                            "{used} of {} YouTube quota units used today; polling stopped",
                            limits.youtube_daily_quota
                        ),
                    },
                );
                finish(state, tenant_id, session_id, "QUOTA_EXHAUSTED").await?;
                return Ok(ReaderExit::Finished("QUOTA_EXHAUSTED".into()));
            }
        };
        let polled = tokio::select! {
            _ = stop.changed() => {
                state.live.budget.refund(&reservation).await?;
                return Ok(ReaderExit::Stopped);
            }
            polled = poller.poll(&client, &credentials) => polled,
        };
        let batch = match polled {
            Ok(batch) => batch,
            Err(error) => {
                if poller.ended().is_some() {
                    return give_up(
                        state,
                        tenant_id,
                        session_id,
                        format!("CHAT_FAILED: {error}"),
                    )
                    .await;
                }
                // A failed request still costs quota; Google bills it, so no refund.
                tracing::warn!(%session_id, %error, "live chat poll failed; the poller waits");
                continue;
            }
        };
        if batch.requested {
            let cost = i32::try_from(limits.youtube_list_cost).unwrap_or(i32::MAX);
            store
                .add_live_counters(
                    tenant_id,
                    session_id,
                    CounterDelta {
                        quota_units: cost,
                        ..Default::default()
                    },
                )
                .await?;
            for warning in budget::spend_warnings(&reservation, &limits) {
                publish(
                    state,
                    tenant_id,
                    session_id,
                    LiveEvent::LimitWarning {
                        code: warning.code().to_owned(),
                        message: format!("{warning:?}"),
                    },
                );
            }
        } else {
            state.live.budget.refund(&reservation).await?;
        }
        for message in batch.messages {
            if !message.snippet.kind.is_viewer_text() {
                continue;
            }
            let Some(text) = message.text().map(str::to_owned) else {
                continue;
            };
            let (author_id, author_name) = match &message.author_details {
                Some(a) => (a.channel_id.clone(), a.display_name.clone()),
                None => (
                    message
                        .snippet
                        .author_channel_id
                        .clone()
                        .unwrap_or_default(),
                    String::new(),
                ),
            };
            if author_id.is_empty() {
                continue;
            }
            let chat = ChatMessage {
                id: message.id.clone(),
                author_id,
                author_name,
                text,
                is_follower: None,
            };
            handle_message(
                state,
                tenant_id,
                session_id,
                &mut ctx,
                chat,
                crate::store::now(),
            )
            .await?;
        }
        // Persist the token after the page was handled, so a restart re-reads at most this page
        // (and the interactions' unique key drops what was already stored).
        if let Some(token) = poller.page_token().map(str::to_owned) {
            config.page_token = Some(token);
            remember(state, tenant_id, session_id, &config).await?;
        }
        if let Some(end) = batch.ended {
            let reason = match end {
                ChatEnd::Offline { .. } => "STREAM_OFFLINE".to_owned(),
                ChatEnd::ChatEnded => "CHAT_ENDED".to_owned(),
                ChatEnd::Failed(error) => format!("CHAT_FAILED: {error}"),
            };
            finish(state, tenant_id, session_id, &reason).await?;
            return Ok(ReaderExit::Finished(reason));
        }
    }
}

/// Stops the session for good with `reason` and ends the reader.
pub(super) async fn give_up(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    reason: String,
) -> ApiResult<ReaderExit> {
    finish(state, tenant_id, session_id, &reason).await?;
    Ok(ReaderExit::Finished(reason))
}

/// Stores the session's platform config after the reader resolved an id or moved its cursor,
/// so a restarted reader — here or on another replica — picks up where this one was.
pub(super) async fn remember(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    config: &LivePlatformConfig,
) -> ApiResult<()> {
    state
        .store
        .set_live_platform_config(tenant_id, session_id, config)
        .await
}

/// Stops the session and tells the dashboard why.
pub async fn finish(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    reason: &str,
) -> ApiResult<()> {
    let session = state.store.stop_live_session(tenant_id, session_id).await?;
    publish(
        state,
        tenant_id,
        session_id,
        LiveEvent::SessionStopped {
            session: Box::new(session),
            reason: reason.to_owned(),
        },
    );
    Ok(())
}

/// The wait before restart `attempt` (1, 2, 4 … capped at 60 s).
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.min(6)).min(Duration::from_secs(60))
}
