//! The TikTok LIVE reader of one ACTIVE session. TikTok has no public LIVE API (platforms.md §3),
//! so comments come from a wrapper service speaking our documented JSON (`leadline_tiktok::live`):
//! the reader asks the wrapper for the creator's live status (the room id), then polls the room's
//! comments honouring the wrapper's cursor and interval until the LIVE ends. Comments delivered
//! by webhook (`POST /api/webhook/tiktok-live/{tenantSlug}`) go through the same pipeline; the
//! interactions' unique key makes a comment seen both ways count once.

use leadline_domain::ids::TenantId;
use leadline_domain::live::LiveSessionStatus;
use leadline_tiktok::live::{LiveCommentPoller, LiveCredentials, LiveEnd, PollerConfig};
use tokio::sync::watch;
use uuid::Uuid;

use super::pipeline::{handle_message, ChatMessage, SessionContext};
use super::reader::{finish, give_up, remember, ReaderExit};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::live::{platform_config_of, status_of};

/// A LIVE comment as the pipeline's chat message.
pub fn chat_message(comment: &leadline_tiktok::live::LiveComment) -> ChatMessage {
    let user = &comment.user;
    ChatMessage {
        id: comment.comment_id.clone(),
        author_id: user.user_id.clone(),
        author_name: if user.nickname.is_empty() {
            user.unique_id.clone()
        } else {
            user.nickname.clone()
        },
        text: comment.text.clone(),
        is_follower: Some(user.is_follower),
    }
}

/// Runs the session's TikTok LIVE reader until it is stopped, the LIVE ends, or it fails.
pub async fn run(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    stop: &mut watch::Receiver<bool>,
) -> ApiResult<ReaderExit> {
    let store = &state.store;
    let session = store.live_session(tenant_id, session_id).await?;
    let mut platform_config = platform_config_of(&session)?;
    if platform_config.webhook_only {
        // Comments arrive by webhook only: nothing to poll; wait until stopped.
        let _ = stop.changed().await;
        return Ok(ReaderExit::Stopped);
    }
    // The tenant's own LIVE token when it connected one, else the operator's (if shared).
    let Some(access) = super::credentials::tiktok_live(state, tenant_id).await? else {
        let reason = "NO_TIKTOK_LIVE_CREDENTIALS";
        finish(state, tenant_id, session_id, reason).await?;
        return Ok(ReaderExit::Finished(reason.into()));
    };
    let credentials = LiveCredentials::new(access.token);
    let client = &state.live.clients().tiktok_live;
    let username = platform_config.username.clone().unwrap_or_default();
    let room_id = match platform_config.room_id.clone() {
        Some(room) => room,
        None => match client.live_status(&credentials, &username).await {
            Ok(status) => match status.room_id.filter(|_| status.is_live) {
                Some(room) => room,
                None => {
                    let reason = "NOT_LIVE";
                    finish(state, tenant_id, session_id, reason).await?;
                    return Ok(ReaderExit::Finished(reason.into()));
                }
            },
            Err(error) if !error.is_retryable() => {
                return give_up(
                    state,
                    tenant_id,
                    session_id,
                    format!("LIVE_UNAVAILABLE: {error}"),
                )
                .await;
            }
            Err(error) => return Err(ApiError::Unavailable(error.to_string())),
        },
    };
    platform_config.room_id = Some(room_id.clone());
    remember(state, tenant_id, session_id, &platform_config).await?;
    let cursor = platform_config.cursor.clone();
    let mut poller = LiveCommentPoller::resume(room_id, PollerConfig::default(), cursor);
    let mut ctx = SessionContext::default();
    loop {
        if status_of(&store.live_session(tenant_id, session_id).await?)?
            != LiveSessionStatus::Active
        {
            return Ok(ReaderExit::Stopped);
        }
        let polled = tokio::select! {
            _ = stop.changed() => return Ok(ReaderExit::Stopped),
            polled = poller.poll(client, &credentials) => polled,
        };
        let batch = match polled {
            Ok(batch) => batch,
            Err(error) => {
                if poller.ended().is_some() {
                    return give_up(
                        state,
                        tenant_id,
                        session_id,
                        format!("LIVE_FAILED: {error}"),
                    )
                    .await;
                }
                tracing::warn!(%session_id, %error, "TikTok LIVE poll failed; the poller waits");
                continue;
            }
        };
        for comment in &batch.comments {
            handle_message(
                state,
                tenant_id,
                session_id,
                &mut ctx,
                chat_message(comment),
                crate::store::now(),
            )
            .await?;
        }
        if let Some(cursor) = poller.cursor().map(str::to_owned) {
            platform_config.cursor = Some(cursor);
            remember(state, tenant_id, session_id, &platform_config).await?;
        }
        if let Some(end) = batch.ended {
            let reason = match end {
                LiveEnd::Ended => "LIVE_ENDED".to_owned(),
                LiveEnd::Failed(error) => format!("LIVE_FAILED: {error}"),
            };
            finish(state, tenant_id, session_id, &reason).await?;
            return Ok(ReaderExit::Finished(reason));
        }
    }
}
