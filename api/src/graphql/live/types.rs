//! The live sessions' GraphQL enums (mirrors of `domain::live`) and output objects: a session,
//! its numbers and its interactions. Must not: decide or write anything (resolvers call the
//! services).

use async_graphql::{Context, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};
use leadline_domain::ids::TenantId;
use leadline_domain::live::LiveSessionStatus as DomainStatus;
use leadline_entity::{live_interactions, live_sessions};

use super::super::types::{mirror_enum, Lead, Temperature};
use super::super::{connection, state, IdConnection};
use crate::store::live::{platform_config_of, platform_of, session_product_ids, status_of};
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
    async fn video_id(&self) -> async_graphql::Result<Option<String>> {
        Ok(platform_config_of(&self.0)?.video_id)
    }
    /// The Twitch channel login.
    async fn twitch_channel(&self) -> async_graphql::Result<Option<String>> {
        Ok(platform_config_of(&self.0)?.channel)
    }
    /// The TikTok username.
    async fn tiktok_username(&self) -> async_graphql::Result<Option<String>> {
        Ok(platform_config_of(&self.0)?.username)
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
            .live_session_stats(TenantId(self.0.tenant_id), self.0.id)
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
            .live_viewer_counts(TenantId(self.0.tenant_id), self.0.id, 100)
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
            .live_interactions(TenantId(self.0.tenant_id), self.0.id, request)
            .await?;
        connection(page, request, |i| i.id, LiveInteraction)
    }
    /// The viewers' leads, hottest first.
    async fn leads(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Lead>> {
        Ok(state(ctx)
            .store
            .live_session_leads(TenantId(self.0.tenant_id), self.0.id)
            .await?
            .into_iter()
            .map(Lead)
            .collect())
    }
}
