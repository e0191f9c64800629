//! Live-stream selling sessions (issue 5, YouTube slice): start/stop a session, switch its agent,
//! read its stats, interactions and viewer leads, and follow it live with `liveSessionEvents`.

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription, Union, ID};
use chrono::{DateTime, Duration, Utc};
use futures::Stream;
use leadline_domain::live::{
    LiveCeilings, LiveLimits, LivePlatform as DomainPlatform, LiveSessionStatus as DomainStatus,
};
use leadline_entity::{live_interactions, live_sessions};
use leadline_youtube::VideoId;
use serde_json::json;
use uuid::Uuid;

use super::leads::LeadScoreChange;
use super::subscription::scoped_events;
use super::types::{mirror_enum, Lead, Temperature};
use super::{clean_text, connection, parse_id, state, tenant_for, AccessGuard, IdConnection};
use crate::auth::Access;
use crate::bus::{Event, LiveEvent};
use crate::error::ApiError;
use crate::services::live::events::publish;
use crate::store::live::{
    platform_of, session_product_ids, status_of, LiveSessionFilter, NewLiveSession,
};
use crate::store::PageRequest;

mirror_enum!(
    /// A live-stream platform.
    LivePlatform => leadline_domain::live::LivePlatform {
        /// YouTube Live chat.
        Youtube,
        /// Twitch chat (IRC; whispers through Helix).
        Twitch,
        /// TikTok LIVE (through a wrapper service and its webhooks; DMs through the TikTok
        /// connection).
        Tiktok,
    }
);

mirror_enum!(
    /// Whether a session's reader runs.
    LiveSessionStatus => leadline_domain::live::LiveSessionStatus {
        /// The chat is being read.
        Active,
        /// Stopped by the creator, at the chat's end, or out of quota.
        Stopped,
    }
);

mirror_enum!(
    /// What the agent did with one chat message.
    InteractionOutcome => leadline_domain::live::InteractionOutcome {
        /// Stored and analysed; no decision yet.
        Received,
        /// The agent answered.
        Replied,
        /// The agent stayed silent (`skipReason` says why).
        Skipped,
        /// The reply could not be sent (`skipReason` holds the send error).
        Failed,
    }
);

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

mirror_enum!(
    /// How a manual reply reaches the viewer.
    ReplyVia => leadline_domain::live::Route {
        /// In the public chat (YouTube, Twitch), addressed to the viewer with @name.
        Public,
        /// A Twitch whisper (spends today's whisper budget).
        Whisper,
        /// A TikTok direct message (follower, 24 h window, daily cap).
        Dm,
    }
);

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

/// Result of `sendManualResponse`.
#[derive(SimpleObject)]
pub struct SendManualResponsePayload {
    /// The route taken.
    pub via: ReplyVia,
    /// The viewer's platform id (empty for a public line to an unknown name).
    pub viewer_id: String,
    /// The platform's id of the posted message, when it says.
    pub platform_message_id: Option<String>,
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
    fn into_limits(self, ceilings: &LiveCeilings) -> Result<LiveLimits, ApiError> {
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

/// Result of the session mutations.
#[derive(SimpleObject)]
pub struct LiveSessionPayload {
    /// The session.
    pub session: LiveSession,
}

/// A count per intent.
#[derive(SimpleObject)]
pub struct IntentCount {
    /// The intent (e.g. PRODUCT_INQUIRY).
    pub intent: String,
    /// Messages with it.
    pub count: i64,
}

/// A count per temperature.
#[derive(SimpleObject)]
pub struct TemperatureCount {
    /// The temperature.
    pub temperature: Temperature,
    /// Viewer leads with it.
    pub count: i64,
}

/// One viewer's numbers in a session.
#[derive(SimpleObject)]
pub struct ViewerStats {
    /// The platform id.
    pub viewer_id: String,
    /// The display name.
    pub name: String,
    /// Messages.
    pub messages: i64,
    /// Automatic replies they got.
    pub replies: i64,
    /// Replies left under `maxRepliesPerViewer`.
    pub replies_remaining: i64,
}

/// A session's numbers.
#[derive(SimpleObject)]
pub struct LiveSessionStats {
    /// The reader runs (status ACTIVE).
    pub active: bool,
    /// Chat messages stored.
    pub messages_processed: i32,
    /// Replies sent.
    pub responses_sent: i32,
    /// Replies left under `maxRepliesPerSession`.
    pub responses_remaining: i32,
    /// YouTube quota units this session spent (polls and replies).
    pub youtube_quota_used_by_session: i32,
    /// YouTube quota units the Google project spent today (Pacific day, every session).
    pub youtube_quota_used_today: i32,
    /// The daily quota limit.
    pub youtube_quota_limit: i32,
    /// Whispers this session sent.
    pub whispers_sent: i32,
    /// Whispers the bot account sent today (UTC day, every session); Twitch only.
    pub whispers_used_today: i32,
    /// The daily whisper budget.
    pub whispers_limit: i32,
    /// Per-viewer numbers, most active first (at most 100 viewers).
    pub viewers: Vec<ViewerStats>,
    /// Messages per intent, most frequent first.
    pub intents: Vec<IntentCount>,
    /// Viewer leads per temperature.
    pub leads_by_temperature: Vec<TemperatureCount>,
}

/// One chat message and what the agent did with it.
pub struct LiveInteraction(pub live_interactions::Model);

#[Object]
impl LiveInteraction {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The platform's message id.
    async fn platform_message_id(&self) -> &str {
        &self.0.platform_message_id
    }
    /// The author's platform id (YouTube channel id).
    async fn author_id(&self) -> &str {
        &self.0.author_id
    }
    /// The author's display name.
    async fn author_name(&self) -> &str {
        &self.0.author_name
    }
    /// The message.
    async fn text(&self) -> &str {
        &self.0.text
    }
    /// The analysed intent (absent when the analysis was unavailable).
    async fn intent(&self) -> Option<&str> {
        self.0.intent.as_deref()
    }
    /// The analysis confidence, 0–1.
    async fn confidence(&self) -> Option<f64> {
        self.0.confidence
    }
    /// The catalogue product the message is about.
    async fn matched_product_id(&self) -> Option<ID> {
        self.0.matched_product_id.map(|id| ID(id.to_string()))
    }
    /// The viewer's lead.
    async fn lead_id(&self) -> Option<ID> {
        self.0.lead_id.map(|id| ID(id.to_string()))
    }
    /// What the agent did with it.
    async fn outcome(&self) -> async_graphql::Result<InteractionOutcome> {
        InteractionOutcome::from_stored(&self.0.outcome)
    }
    /// Why the agent stayed silent (e.g. VIEWER_LIMIT), or the send error.
    async fn skip_reason(&self) -> Option<&str> {
        self.0.skip_reason.as_deref()
    }
    /// The reply sent.
    async fn response(&self) -> Option<&str> {
        self.0.response.as_deref()
    }
    /// How the reply went out (PUBLIC, WHISPER, DM).
    async fn response_via(&self) -> Option<&str> {
        self.0.response_via.as_deref()
    }
    /// When the message was stored.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A live selling session.
pub struct LiveSession(pub live_sessions::Model);

#[Object]
impl LiveSession {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Platform.
    async fn platform(&self) -> async_graphql::Result<LivePlatform> {
        Ok(platform_of(&self.0)?.into())
    }
    /// Status.
    async fn status(&self) -> async_graphql::Result<LiveSessionStatus> {
        Ok(status_of(&self.0)?.into())
    }
    /// Whether the agent answers.
    async fn agent_enabled(&self) -> bool {
        self.0.agent_enabled
    }
    /// Title.
    async fn title(&self) -> Option<&str> {
        self.0.title.as_deref()
    }
    /// The YouTube video id.
    async fn video_id(&self) -> Option<String> {
        self.0
            .platform_config
            .get("videoId")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
    /// The Twitch channel login.
    async fn twitch_channel(&self) -> Option<String> {
        self.0
            .platform_config
            .get("channel")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
    /// The TikTok username.
    async fn tiktok_username(&self) -> Option<String> {
        self.0
            .platform_config
            .get("username")
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    }
    /// The products the agent may talk about (empty: every active product).
    async fn product_ids(&self) -> Vec<ID> {
        session_product_ids(&self.0)
            .into_iter()
            .map(|id| ID(id.to_string()))
            .collect()
    }
    /// Started.
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    /// Stopped.
    async fn stopped_at(&self) -> Option<DateTime<Utc>> {
        self.0.stopped_at
    }
    /// The session's numbers.
    async fn stats(&self, ctx: &Context<'_>) -> async_graphql::Result<LiveSessionStats> {
        let app = state(ctx);
        // What the budgets are spent against (the operator's ceilings applied), not what the
        // session once stored.
        let limits =
            crate::services::live::budget::session_limits(&app.config.live_ceilings, &self.0);
        let access = crate::services::live::credentials::for_session(app, &self.0).await?;
        let stats = state(ctx)
            .store
            .live_session_stats(self.0.tenant_id, self.0.id)
            .await?;
        let cap = i32::try_from(limits.max_replies_per_session).unwrap_or(i32::MAX);
        let now = crate::store::now();
        let snapshot = crate::services::live::pipeline::budget_snapshot(
            app, &self.0, "", &limits, &access, now,
        )
        .await?;
        let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        let per_viewer = i64::from(limits.max_replies_per_viewer);
        let viewers = app
            .store
            .live_viewer_counts(self.0.tenant_id, self.0.id, 100)
            .await?
            .into_iter()
            .map(|v| ViewerStats {
                replies_remaining: (per_viewer - v.replies).max(0),
                viewer_id: v.author_id,
                name: v.author_name,
                messages: v.messages,
                replies: v.replies,
            })
            .collect();
        Ok(LiveSessionStats {
            active: status_of(&self.0)? == DomainStatus::Active,
            messages_processed: self.0.messages_processed,
            responses_sent: self.0.responses_sent,
            responses_remaining: (cap - self.0.responses_sent).max(0),
            youtube_quota_used_by_session: self.0.quota_used,
            youtube_quota_used_today: clamp(snapshot.youtube_units_used_today),
            youtube_quota_limit: clamp(limits.youtube_daily_quota),
            whispers_sent: self.0.whispers_sent,
            whispers_used_today: clamp(snapshot.whispers_used_today),
            whispers_limit: clamp(limits.whispers_per_day),
            viewers,
            intents: stats
                .intents
                .into_iter()
                .map(|(intent, count)| IntentCount { intent, count })
                .collect(),
            leads_by_temperature: stats
                .leads_by_temperature
                .into_iter()
                .filter_map(|(t, count)| {
                    Temperature::from_stored(&t)
                        .ok()
                        .map(|temperature| TemperatureCount { temperature, count })
                })
                .collect(),
        })
    }
    /// The chat messages, newest first.
    #[graphql(complexity = "crate::graphql::cost::connection_cost(first, child_complexity)")]
    async fn interactions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IdConnection<LiveInteraction>> {
        let request = PageRequest::parse(first, after.as_deref())?;
        let page = state(ctx)
            .store
            .live_interactions(self.0.tenant_id, self.0.id, request)
            .await?;
        connection(page, request, |i| i.id, LiveInteraction)
    }
    /// The viewers' leads, hottest first.
    async fn leads(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Lead>> {
        Ok(state(ctx)
            .store
            .live_session_leads(self.0.tenant_id, self.0.id)
            .await?
            .into_iter()
            .map(Lead)
            .collect())
    }
}

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
        crate::services::live::credentials::require_for_start(
            app,
            tenant_id,
            input.platform.into(),
            webhook_only,
        )
        .await?;
        let mut product_ids = Vec::new();
        for id in input.products.unwrap_or_default() {
            let id: Uuid = parse_id(&id, "products")?;
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
        let id = parse_id(&input.id, "id")?;
        let before = app.store.live_session(tenant_id, id).await?;
        app.live.stop(id);
        let session = app.store.stop_live_session(tenant_id, id).await?;
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

/// The agent was switched on or off.
#[derive(SimpleObject)]
pub struct AgentToggled {
    /// Now on.
    pub enabled: bool,
}

/// The creator answered a viewer by hand.
#[derive(SimpleObject)]
pub struct ManualResponseSent {
    /// The viewer's name as given.
    pub username: String,
    /// The text.
    pub text: String,
    /// PUBLIC, WHISPER or DM.
    pub via: String,
}

/// A chat message was analysed and stored.
#[derive(SimpleObject)]
pub struct ChatMessageAnalyzed {
    /// The interaction.
    pub interaction: LiveInteraction,
}

/// The agent answered.
#[derive(SimpleObject)]
pub struct ReplySent {
    /// The interaction with its response.
    pub interaction: LiveInteraction,
}

/// The agent stayed silent, or the send failed.
#[derive(SimpleObject)]
pub struct ReplySkipped {
    /// The skip reason (or send error code).
    pub reason: String,
    /// The interaction.
    pub interaction: LiveInteraction,
}

/// A budget threshold was crossed.
#[derive(SimpleObject)]
pub struct LimitWarning {
    /// e.g. QUOTA_AT_80_PERCENT, SESSION_REPLIES_EXHAUSTED, QUOTA_EXHAUSTED.
    pub code: String,
    /// For people.
    pub message: String,
}

/// The session started.
#[derive(SimpleObject)]
pub struct SessionStarted {
    /// The session.
    pub session: LiveSession,
}

/// The session stopped.
#[derive(SimpleObject)]
pub struct SessionStopped {
    /// Why (STOPPED_BY_USER, CHAT_ENDED, STREAM_OFFLINE, QUOTA_EXHAUSTED, …).
    pub reason: String,
    /// The session.
    pub session: LiveSession,
}

/// What a session's dashboard sees.
#[derive(Union)]
pub enum LiveSessionEvent {
    /// A chat message with its analysis.
    ChatMessageAnalyzed(ChatMessageAnalyzed),
    /// A reply.
    ReplySent(ReplySent),
    /// A skip.
    ReplySkipped(ReplySkipped),
    /// A viewer's score moved.
    LeadScoreChanged(LeadScoreChange),
    /// A limit warning.
    LimitWarning(LimitWarning),
    /// The agent was switched.
    AgentToggled(AgentToggled),
    /// A manual reply went out.
    ManualResponseSent(ManualResponseSent),
    /// Started.
    SessionStarted(SessionStarted),
    /// Stopped.
    SessionStopped(SessionStopped),
}

fn to_graphql(event: &LiveEvent) -> LiveSessionEvent {
    match event {
        LiveEvent::ChatMessageAnalyzed { interaction } => {
            LiveSessionEvent::ChatMessageAnalyzed(ChatMessageAnalyzed {
                interaction: LiveInteraction((**interaction).clone()),
            })
        }
        LiveEvent::ReplySent { interaction } => LiveSessionEvent::ReplySent(ReplySent {
            interaction: LiveInteraction((**interaction).clone()),
        }),
        LiveEvent::ReplySkipped { interaction } => LiveSessionEvent::ReplySkipped(ReplySkipped {
            reason: interaction.skip_reason.clone().unwrap_or_default(),
            interaction: LiveInteraction((**interaction).clone()),
        }),
        LiveEvent::LeadScoreChanged(change) => {
            LiveSessionEvent::LeadScoreChanged(LeadScoreChange {
                lead_id: ID(change.lead_id.to_string()),
                score: change.score,
                previous_score: change.previous_score,
                temperature: Temperature::from_stored(&change.temperature)
                    .unwrap_or(Temperature::Cold),
                signal: change.signal.clone(),
                reason: change.reason.clone(),
                at: change.at,
            })
        }
        LiveEvent::LimitWarning { code, message } => LiveSessionEvent::LimitWarning(LimitWarning {
            code: code.clone(),
            message: message.clone(),
        }),
        LiveEvent::AgentToggled { enabled } => {
            LiveSessionEvent::AgentToggled(AgentToggled { enabled: *enabled })
        }
        LiveEvent::ManualResponseSent {
            username,
            text,
            via,
        } => LiveSessionEvent::ManualResponseSent(ManualResponseSent {
            username: username.clone(),
            text: text.clone(),
            via: via.clone(),
        }),
        LiveEvent::SessionStarted { session } => LiveSessionEvent::SessionStarted(SessionStarted {
            session: LiveSession((**session).clone()),
        }),
        LiveEvent::SessionStopped { session, reason } => {
            LiveSessionEvent::SessionStopped(SessionStopped {
                reason: reason.clone(),
                session: LiveSession((**session).clone()),
            })
        }
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

/// The stored platform config of a new session, from its platform's input.
fn platform_config(input: &StartLiveSessionInput) -> Result<serde_json::Value, ApiError> {
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
            let mut config = json!({"videoId": video.as_str()});
            if let Some(bot) =
                clean_text(youtube.bot_channel_id.clone(), "youtube.botChannelId", 100)?
            {
                config["botChannelId"] = json!(bot);
            }
            Ok(config)
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
            Ok(json!({"channel": channel}))
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
            let mut config = json!({"webhookOnly": webhook_only});
            if let Some(username) = username {
                config["username"] = json!(username);
            }
            if let Some(room_id) = room_id {
                config["roomId"] = json!(room_id);
            }
            Ok(config)
        }
    }
}
