//! Live-stream selling sessions: start/stop a session, switch its agent, answer a viewer by hand,
//! read its stats, interactions and viewer leads, and follow it live with `liveSessionEvents`.
//!
//! This module holds the resolvers (parse, authorise, call `store`/`services::live`, map);
//! `types` the enums and output objects, `input` the inputs and their validation, `events` the
//! dashboard events. Must not: read a chat, reply or spend a budget itself
//! (`services::live` does).

mod events;
mod input;
mod types;

use async_graphql::{Context, Object, Subscription, ID};
use futures::Stream;
use leadline_domain::ids::{LiveSessionId, ProductId};
use leadline_domain::live::{LivePlatform as DomainPlatform, LiveSessionStatus as DomainStatus};
use uuid::Uuid;

use super::subscription::scoped_events;
use super::{clean_text, connection, parse_id, state, tenant_for, AccessGuard, IdConnection};
use crate::auth::Access;
use crate::bus::{Event, LiveEvent};
use crate::error::ApiError;
use crate::services::live::events::publish;
use crate::store::live::{platform_of, status_of, LiveSessionFilter, NewLiveSession};
use crate::store::PageRequest;

use events::{to_graphql, LiveSessionEvent};
use input::{
    platform_config, LiveSessionFilterInput, SendManualResponseInput, SetAgentEnabledInput,
    StartLiveSessionInput, StopLiveSessionInput,
};
use types::{LiveSession, LiveSessionPayload, SendManualResponsePayload};

#[derive(Default)]
pub struct LiveQuery;

#[Object]
impl LiveQuery {
    /// The tenant's live sessions, newest first.
    #[graphql(
        guard = "AccessGuard(Access::Read)",
        complexity = "crate::graphql::cost::connection_cost(first, child_complexity)"
    )]
    async fn live_sessions(
        &self,
        ctx: &Context<'_>,
        filter: Option<LiveSessionFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<LiveSession>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let request = PageRequest::parse(first, after.as_deref())?;
        let filter = filter.unwrap_or_default();
        let filter = LiveSessionFilter {
            status: filter.status.map(Into::into),
            platform: filter.platform.map(Into::into),
        };
        let page = state(ctx)
            .store
            .live_sessions(tenant_id, filter, request)
            .await?;
        connection(page, request, |s| s.id, LiveSession)
    }

    /// One session; another tenant's is NOT_FOUND.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn live_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<LiveSession> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(LiveSession(
            state(ctx)
                .store
                .live_session(tenant_id, parse_id(&id, "id")?)
                .await?,
        ))
    }
}

#[derive(Default)]
pub struct LiveMutation;

#[Object]
impl LiveMutation {
    /// Starts a session; a replica claims it and starts its chat reader within moments. Several
    /// sessions may run at once, per tenant and across tenants. The session reads and replies
    /// with the tenant's own platform credentials (its YOUTUBE, TWITCH or TIKTOK channel
    /// connection) when it has them, else with the operator's shared ones; when the operator
    /// lends none (`LEADLINE_SHARED_PLATFORM_CREDENTIALS=false`) a tenant without its own is
    /// refused with CONFLICT naming what to connect.
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn start_live_session(
        &self,
        ctx: &Context<'_>,
        input: StartLiveSessionInput,
    ) -> async_graphql::Result<LiveSessionPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let config = platform_config(&input)?;
        let app = state(ctx);
        let limits = input
            .limits
            .unwrap_or_default()
            .into_limits(&app.config.live_ceilings)?;
        let webhook_only = input
            .tiktok
            .as_ref()
            .and_then(|t| t.webhook_only)
            .unwrap_or(false);
        crate::services::billing::require_feature(
            app,
            tenant_id,
            leadline_domain::billing::Feature::LiveSelling,
            None,
        )
        .await?;
        crate::services::billing::require_quota(
            app,
            tenant_id,
            leadline_domain::billing::UsageItem::LiveSessions,
            1,
        )
        .await?;
        crate::services::live::credentials::require_for_start(
            app,
            tenant_id,
            input.platform.into(),
            webhook_only,
        )
        .await?;
        let mut product_ids = Vec::new();
        for id in input.products.unwrap_or_default() {
            let id: ProductId = parse_id(&id, "products")?;
            // Refuses another tenant's (or an unknown) product.
            app.store.product(tenant_id, id).await?;
            product_ids.push(id);
        }
        let session = app
            .store
            .create_live_session(
                tenant_id,
                NewLiveSession {
                    platform: input.platform.into(),
                    agent_enabled: input.agent_enabled.unwrap_or(true),
                    title: clean_text(input.title, "title", 200)?,
                    platform_config: config,
                    product_ids,
                    limits,
                },
            )
            .await?;
        publish(
            app,
            tenant_id,
            session.id,
            LiveEvent::SessionStarted {
                session: Box::new(session.clone()),
            },
        );
        app.live.wake();
        Ok(LiveSessionPayload {
            session: LiveSession(session),
        })
    }

    /// Stops a session and its reader (idempotent).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn stop_live_session(
        &self,
        ctx: &Context<'_>,
        input: StopLiveSessionInput,
    ) -> async_graphql::Result<LiveSessionPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let app = state(ctx);
        let id: Uuid = parse_id(&input.id, "id")?;
        let before = app.store.live_session(tenant_id, LiveSessionId(id)).await?;
        app.live.stop(id);
        let session = app
            .store
            .stop_live_session(tenant_id, LiveSessionId(id))
            .await?;
        if status_of(&before)? == DomainStatus::Active {
            publish(
                app,
                tenant_id,
                id,
                LiveEvent::SessionStopped {
                    session: Box::new(session.clone()),
                    reason: "STOPPED_BY_USER".into(),
                },
            );
        }
        Ok(LiveSessionPayload {
            session: LiveSession(session),
        })
    }

    /// Answers a viewer by hand: in public chat, by Twitch whisper, or by TikTok DM. Spends the
    /// route's platform budget (LIMIT_REACHED with `extensions.limit` when it is used up, e.g.
    /// the 41st whisper of the day); the agent's own per-viewer limits do not apply. The viewer
    /// must have chatted in the session (a Twitch whisper may also name any login).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn send_manual_response(
        &self,
        ctx: &Context<'_>,
        input: SendManualResponseInput,
    ) -> async_graphql::Result<SendManualResponsePayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let app = state(ctx);
        let session = app
            .store
            .live_session(tenant_id, parse_id(&input.session_id, "sessionId")?)
            .await?;
        if status_of(&session)? != DomainStatus::Active {
            return Err(ApiError::Conflict("the session is stopped".into()).into());
        }
        let username = clean_text(Some(input.username), "username", 100)?
            .ok_or_else(|| ApiError::bad_input("username", "required"))?;
        let max_chars = match platform_of(&session)? {
            DomainPlatform::Youtube => 200,
            DomainPlatform::Twitch => 480,
            DomainPlatform::Tiktok => 1000,
        };
        let text = clean_text(Some(input.text), "text", max_chars)?
            .ok_or_else(|| ApiError::bad_input("text", "required"))?;
        let sent = crate::services::live::reply::send_manual(
            app,
            tenant_id,
            &session,
            &username,
            &text,
            input.via.into(),
        )
        .await?;
        publish(
            app,
            tenant_id,
            session.id,
            LiveEvent::ManualResponseSent {
                username,
                text,
                via: sent.route.as_str().to_owned(),
            },
        );
        Ok(SendManualResponsePayload {
            via: input.via,
            viewer_id: sent.viewer_id,
            platform_message_id: sent.posted.message_id,
        })
    }

    /// Switches the session's agent on or off (the reader keeps reading and scoring).
    #[graphql(guard = "AccessGuard(Access::Write)")]
    async fn set_agent_enabled(
        &self,
        ctx: &Context<'_>,
        input: SetAgentEnabledInput,
    ) -> async_graphql::Result<LiveSessionPayload> {
        let tenant_id = tenant_for(ctx, Access::Write)?;
        let app = state(ctx);
        let session = app
            .store
            .set_live_agent_enabled(
                tenant_id,
                parse_id(&input.session_id, "sessionId")?,
                input.enabled,
            )
            .await?;
        publish(
            app,
            tenant_id,
            session.id,
            LiveEvent::AgentToggled {
                enabled: input.enabled,
            },
        );
        Ok(LiveSessionPayload {
            session: LiveSession(session),
        })
    }
}

#[derive(Default)]
pub struct LiveSubscription;

#[Subscription]
impl LiveSubscription {
    /// Everything that happens in one of the tenant's live sessions.
    async fn live_session_events(
        &self,
        ctx: &Context<'_>,
        session_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<LiveSessionEvent>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        // NOT_FOUND for another tenant's session, before subscribing.
        let wanted = state(ctx)
            .store
            .live_session(tenant_id, parse_id(&session_id, "sessionId")?)
            .await?
            .id;
        Ok(scoped_events(
            ctx,
            tenant_id,
            Some(wanted),
            move |event| match event {
                Event::Live { session_id, event } if *session_id == wanted => {
                    Some(to_graphql(event))
                }
                _ => None,
            },
        ))
    }
}
