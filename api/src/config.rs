//! The one typed configuration, read once at start from the environment and validated there.
//! Nothing else in the program reads environment variables.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{bail, Context};

/// Everything the server needs to start.
#[derive(Clone)]
pub struct Config {
    /// `DATABASE_URL`; default: the SQLite file `leadline.db` in the working directory.
    pub database_url: String,
    /// `REDIS_URL`; unset means the in-process event bus and counters.
    pub redis_url: Option<String>,
    /// Prefix for every Redis key and channel (`LEADLINE_REDIS_PREFIX`, default `leadline`), so
    /// several deployments or test runs can share one Redis.
    pub redis_prefix: String,
    /// `LEADLINE_ADDR`, default 127.0.0.1:8080. Port 0 picks a free port (printed at start).
    pub addr: SocketAddr,
    /// `JWT_SECRET`; unset means a random secret generated once and kept in the database, so
    /// tokens survive restarts and every replica agrees without configuration.
    pub jwt_secret: Option<String>,
    /// `LEADLINE_ENV` (`development` | `production`, default `development`). Production turns
    /// introspection and GraphiQL off unless `LEADLINE_INTROSPECTION=true` says otherwise.
    pub environment: Environment,
    /// Lifetime of a member token (`JWT_TTL_SECONDS`, default 12 h, at least 1 s). Open
    /// sockets end their subscriptions when it runs out.
    pub jwt_ttl: Duration,
    /// `CRON_SECRET` for the seed-compatible cron shim.
    pub cron_secret: Option<String>,
    /// `LEADLINE_INTROSPECTION`: schema introspection and GraphiQL at `GET /graphql` (default on
    /// in development — this is a developer platform —, off in production).
    pub introspection: bool,
    /// `LEADLINE_METRICS_TOKEN`: when set, `/metrics` answers only requests with
    /// `Authorization: Bearer <this token>` (401 otherwise).
    pub metrics_token: Option<String>,
    /// Operations (subscriptions, queries, mutations) running at once on one WebSocket
    /// (`LEADLINE_WS_MAX_OPERATIONS`, default 32, between 1 and 10000); the next one is refused
    /// with LIMIT_REACHED and the socket stays open.
    pub ws_max_operations: usize,
    /// Open WebSockets per principal — member, API key or customer — on this process
    /// (`LEADLINE_WS_MAX_SOCKETS_PER_PRINCIPAL`, default 16, between 1 and 10000); one more is
    /// refused at `connection_init`.
    pub ws_max_sockets_per_principal: usize,
    /// Largest accepted request body (`LEADLINE_MAX_BODY_BYTES`, default 1 MiB).
    pub max_body_bytes: usize,
    /// GraphQL depth limit (`LEADLINE_MAX_DEPTH`, default 12).
    pub max_depth: usize,
    /// GraphQL complexity limit (`LEADLINE_MAX_COMPLEXITY`, default 10000). A field costs 1 plus
    /// its selection; a connection costs `first` (20 when absent) times its selection.
    pub max_complexity: usize,
    /// Root fields (aliases and fields from fragments included) one operation may select
    /// (`LEADLINE_MAX_ROOT_FIELDS`, default 20, at least 1).
    pub max_root_fields: usize,
    /// PostgreSQL pool size (`DATABASE_MAX_CONNECTIONS`, default 16).
    pub database_max_connections: u32,
    /// Jobs run at once by this process's workers (`LEADLINE_WORKERS`, default 4; 0 in `serve`
    /// leaves the jobs to `leadline worker` processes).
    pub workers: usize,
    /// How long a claimed job stays ours without renewal (`LEADLINE_JOB_LEASE_SECONDS`, default 60).
    pub job_lease: Duration,
    /// Read the client address from the last `X-Forwarded-For` entry (`LEADLINE_TRUST_FORWARDED_FOR`,
    /// default false): set it only behind a proxy that appends that header.
    pub trust_forwarded_for: bool,
    /// Sign-ups allowed per client IP and minute (`LEADLINE_SIGNUP_RATE_PER_MINUTE`, default 10;
    /// 0 turns the limit off).
    pub signup_rate_per_minute: u32,
    /// Login attempts per e-mail address and minute, across replicas when Redis is configured
    /// (`LEADLINE_LOGIN_RATE_PER_MINUTE`, default 10; 0 turns the limit off).
    pub login_rate_per_minute: u32,
    /// Login attempts per client IP (IPv6: per /64) and minute
    /// (`LEADLINE_LOGIN_IP_RATE_PER_MINUTE`, default 30; 0 turns the limit off).
    pub login_ip_rate_per_minute: u32,
    /// Login attempts of the whole deployment per minute, a ceiling on password hashing
    /// (`LEADLINE_LOGIN_GLOBAL_RATE_PER_MINUTE`, default 600; 0 turns the limit off).
    pub login_global_rate_per_minute: u32,
    /// `setTyping` calls per principal and minute (`LEADLINE_TYPING_RATE_PER_MINUTE`, default
    /// 120; 0 turns the limit off).
    pub typing_rate_per_minute: u32,
    /// Log filter in `RUST_LOG` syntax (default `info,sqlx=warn,sea_orm=warn`).
    pub log_filter: String,
    /// Structured JSON logs (`LEADLINE_LOG_FORMAT=json`) instead of human-readable lines.
    pub log_json: bool,
    /// `ANTHROPIC_API_KEY`: the operator's key, used for every tenant set to ANTHROPIC. Unset:
    /// those tenants are answered by the offline analyzer (`OFFLINE_FALLBACK`).
    pub anthropic_api_key: Option<String>,
    /// `OPENAI_API_KEY`: as `anthropic_api_key`, for tenants set to OPENAI.
    pub openai_api_key: Option<String>,
    /// `ANTHROPIC_API_BASE`: scheme + host + port of the Anthropic API (default
    /// `https://api.anthropic.com`); tests point it at a loopback fake.
    pub anthropic_api_base: String,
    /// `OPENAI_API_BASE`: scheme + host + port of the OpenAI API (default `https://api.openai.com`).
    pub openai_api_base: String,
    /// `LEADLINE_AI_PROVIDER` (`offline` | `anthropic` | `openai`, default `offline`): the
    /// provider for tenants whose stored provider is unset or unrecognised. The tenant's own
    /// setting always wins: sign-up stores OFFLINE, so a tenant answers with an LLM only after
    /// `updateAiContext(provider: ANTHROPIC | OPENAI)`.
    pub ai_default_provider: AiProviderKind,
    /// Time limit of one HTTP request to an LLM provider (`LEADLINE_AI_TIMEOUT_SECONDS`, default
    /// 15). Retries may add up to two more attempts.
    pub ai_timeout: Duration,
    /// AI requests (`analyzeMessage`, `suggestReply`) each tenant may make per minute on this
    /// process (`LEADLINE_AI_RATE_PER_MINUTE`, default 60; 0 switches the limit off).
    pub ai_rate_per_minute: u32,
    /// `WHATSAPP_API_BASE`: scheme + host + port of the WhatsApp Cloud API (default
    /// `https://graph.facebook.com`); the client adds `/{version}/{phone_number_id}/messages`.
    pub whatsapp_api_base: String,
    /// `META_API_BASE`: scheme + host + port of the Messenger/Instagram Send API (default
    /// `https://graph.facebook.com`).
    pub meta_api_base: String,
    /// `TIKTOK_API_BASE`: scheme + host + port of the TikTok Business API (default
    /// `https://business-api.tiktok.com`).
    pub tiktok_api_base: String,
    /// `YOUTUBE_API_BASE`: scheme + host + port of the YouTube Data API (default
    /// `https://www.googleapis.com`); the client adds `/youtube/v3/…`.
    pub youtube_api_base: String,
    /// `YOUTUBE_ACCESS_TOKEN`: the OAuth token of the channel the live agent speaks as. Needed to
    /// post replies (`liveChatMessages.insert`); also used for reading when set.
    pub youtube_access_token: Option<String>,
    /// `YOUTUBE_API_KEY`: a project key for reading public live chats when no OAuth token is set
    /// (the agent then cannot reply and records why).
    pub youtube_api_key: Option<String>,
    /// `YOUTUBE_PROJECT`: the name of the Google project the YouTube credentials belong to
    /// (default `default`). Quota is counted per project and Pacific day, shared by every session
    /// and replica using it.
    pub youtube_project: String,
    /// `TWITCH_API_BASE`: scheme + host + port of the Twitch Helix API (default
    /// `https://api.twitch.tv`); the client adds `/helix/…`.
    pub twitch_api_base: String,
    /// `TWITCH_IRC_URL`: Twitch chat over WebSocket (default `wss://irc-ws.chat.twitch.tv:443`).
    pub twitch_irc_url: String,
    /// `TWITCH_BOT_LOGIN`: the login of the bot account the agent chats as.
    pub twitch_bot_login: Option<String>,
    /// `TWITCH_ACCESS_TOKEN`: the bot's user token (`chat:read chat:edit user:manage:whispers`).
    pub twitch_access_token: Option<String>,
    /// `TWITCH_CLIENT_ID`: the app's client id, sent with every Helix call.
    pub twitch_client_id: Option<String>,
    /// `TWITCH_EVENTSUB_SECRET`: the secret EventSub signs `channel.chat.message` deliveries with
    /// (`POST /api/webhook/twitch/eventsub`); deliveries are refused while it is unset.
    pub twitch_eventsub_secret: Option<String>,
    /// `TIKTOK_LIVE_API_BASE`: the TikTok LIVE wrapper service (our documented JSON, see
    /// `integrations/README.md`; default `http://127.0.0.1:8091`, TikTok has no public LIVE API).
    pub tiktok_live_api_base: String,
    /// `TIKTOK_LIVE_ACCESS_TOKEN`: the token the LIVE wrapper expects in `Access-Token`.
    pub tiktok_live_access_token: Option<String>,
    /// How long a replica's claim on a live session holds without renewal
    /// (`LEADLINE_LIVE_LEASE_SECONDS`, default 10): another replica takes a dead owner's
    /// sessions over within about this long. Renewed every third of it.
    pub live_lease: Duration,
    /// `META_APP_SECRET`: the Meta app secret that signs WhatsApp, Messenger and Instagram
    /// webhooks when a tenant's channel connection has no `appSecret` of its own.
    pub meta_app_secret: Option<String>,
    /// `TIKTOK_CLIENT_SECRET`: signs TikTok webhooks when the connection has no `clientSecret`.
    pub tiktok_client_secret: Option<String>,
    /// `LEADLINE_SECRET_KEY`: `<id>:<base64 of 32 bytes>` (or the bare base64), the key that
    /// seals channel secrets and the generated JWT key at rest. Unset: a key generated into
    /// the key file (see `secret_key_file`). Replicas sharing a database must share it.
    pub secret_key: Option<String>,
    /// `LEADLINE_SECRET_KEYS_OLD`: comma-separated `<id>:<key>` that still open values sealed
    /// before a rotation, until `leadline rotate-secrets` has re-sealed them.
    pub secret_keys_old: Option<String>,
    /// `LEADLINE_SECRET_KEY_FILE`: where the generated key is kept (mode 0600). Default:
    /// `leadline.key` beside the SQLite file, or in the working directory for PostgreSQL.
    pub secret_key_file: Option<std::path::PathBuf>,
    /// Largest webhook body accepted (`LEADLINE_WEBHOOK_MAX_BODY_BYTES`, default 1 MiB); larger
    /// deliveries get 413 before any parsing.
    pub webhook_max_body_bytes: usize,
    /// Outbound inbox messages each tenant may send per channel per minute, across all replicas
    /// when Redis is configured (`LEADLINE_SEND_RATE_PER_MINUTE`, default 60; 0 switches it off).
    /// A send over the limit is retried later, never dropped.
    pub send_rate_per_minute: u32,
    /// How many earlier messages of a conversation the AI turn reads
    /// (`LEADLINE_AI_HISTORY_MESSAGES`, default 20).
    pub ai_history_messages: u64,
    /// Delay before a failed job's first retry (`LEADLINE_JOB_RETRY_BASE_MS`, default 2000); it
    /// doubles per attempt with jitter, capped at ten minutes. Tests shorten it.
    pub job_retry_base: Duration,
    /// Lifetime of a support-chat customer token (`LEADLINE_CUSTOMER_TOKEN_TTL_SECONDS`, default
    /// 3600, between 60 and 86400): short, because it lives in a browser.
    pub customer_token_ttl: Duration,
    /// Anonymous visitor sessions (`startVisitorSession`) per client IP and minute
    /// (`LEADLINE_VISITOR_RATE_PER_MINUTE`, default 20; 0 turns the limit off).
    pub visitor_rate_per_minute: u32,
    /// Support-chat messages one customer (visitor or signed-in customer) may send per minute
    /// (`LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE`, default 20; 0 turns the limit off). Over it,
    /// `sendSupportMessage` is RATE_LIMITED with `retryAfterSeconds`.
    pub customer_messages_per_minute: u32,
    /// Most messages a customer may write in one support session
    /// (`LEADLINE_SUPPORT_SESSION_MAX_MESSAGES`, default 500; 0 means no limit). Over it,
    /// `sendSupportMessage` is LIMIT_REACHED (`SUPPORT_SESSION_MESSAGES`): end the session and
    /// start a new one.
    pub support_session_max_messages: u64,
    /// How long a typing indicator lasts without a refresh (`LEADLINE_TYPING_TTL_SECONDS`,
    /// default 5, between 1 and 60); then subscribers receive TypingStopped.
    pub typing_ttl: Duration,
    /// Open support sessions one agent may hold (`LEADLINE_SUPPORT_AGENT_CAPACITY`, default 5;
    /// 0 means no limit).
    pub support_agent_capacity: u32,
    /// How long an agent counts as online after their last live subscription's heartbeat
    /// (`LEADLINE_PRESENCE_TTL_SECONDS`, default 30, between 3 and 600).
    pub presence_ttl: Duration,
    /// The ceilings of the platform budgets the operator's credentials share across tenants;
    /// a session's limits may only lower them (`leadline_domain::live::LiveCeilings`):
    /// `LEADLINE_TWITCH_WHISPERS_PER_DAY` (per bot and UTC day, default 40, Twitch's limit for
    /// an unverified bot), `LEADLINE_YOUTUBE_QUOTA_PER_DAY` (units per Google project and
    /// Pacific day, default 10,000), `LEADLINE_YOUTUBE_INSERT_COST` / `LEADLINE_YOUTUBE_LIST_COST`
    /// (units per `liveChatMessages.insert` / `.list`, default 50 / 5 — Google's numbers; no
    /// tenant can change them) and `LEADLINE_TIKTOK_DMS_PER_VIEWER_PER_DAY` (default 10).
    pub live_ceilings: leadline_domain::live::LiveCeilings,
    /// Payment-reminder calls through LiveKit SIP: `LIVEKIT_API_URL`, `LIVEKIT_API_KEY`,
    /// `LIVEKIT_API_SECRET`, `LIVEKIT_SIP_TRUNK_ID`, `LIVEKIT_AGENT_NAME` and the optional
    /// `LIVEKIT_WEBHOOK_KEYS` (`key=secret,…`). Unset: calls fail with a CONFIGURATION reason
    /// when dialled, and `/readyz` names what is missing.
    pub livekit: leadline_livekit::Settings,
    /// `TWILIO_SMS_FROM`: the number (E.164) or Messaging Service (`MG…`) follow-up texts are
    /// sent from. Unset: no SMS.
    pub twilio_sms_from: Option<String>,
    /// How long one LiveKit server call may take before it counts as a timeout and the dial
    /// job retries (`LIVEKIT_REQUEST_TIMEOUT_MS`, default 10,000, LiveKit's SDK default).
    pub livekit_request_timeout: Duration,
    /// The dealership AI phone agent's Twilio account: `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`
    /// (verifies `X-Twilio-Signature` and authenticates REST calls) and `TWILIO_API_BASE`
    /// (default `https://api.twilio.com`; the fake's URL in tests), and `timeout`: how long one
    /// REST request may take before it counts as unanswered (`TWILIO_HTTP_TIMEOUT_MS`, default
    /// 15,000, Twilio's libraries' default; 50 to 120,000). Nurture follow-ups by SMS use it
    /// too; unset, they go by WhatsApp or e-mail only.
    pub twilio: leadline_twilio::Settings,
    /// The phone agent's ElevenLabs account: `ELEVENLABS_API_KEY`, `ELEVENLABS_API_BASE`
    /// (default `https://api.elevenlabs.io`), `ELEVENLABS_WS_BASE` (follows the API base when
    /// unset) and `ELEVENLABS_WEBHOOK_SECRET` (verifies post-call webhooks).
    pub elevenlabs: leadline_elevenlabs::Settings,
    /// `LEADLINE_PUBLIC_URL`: the `https://host[/prefix]` Twilio reaches this server at, without
    /// a trailing slash. Twilio signs the URL it was configured with, so webhook signatures are
    /// checked against this plus the path, never against what a proxy forwarded; the media
    /// stream's `wss://` URL is built from it too. Unset: phone-agent webhooks are refused.
    pub public_url: Option<String>,
    /// How long the call token in an incoming call's `<Stream>` stays valid
    /// (`LEADLINE_MEDIA_STREAM_TOKEN_TTL_SECONDS`, default 60, between 1 and 600): Twilio opens
    /// the stream at once, so a short life limits what a leaked TwiML answer is worth.
    pub media_stream_token_ttl: Duration,
    /// Whether live sessions of tenants without their own YouTube, Twitch or TikTok LIVE
    /// connection may use the operator's credentials above (`LEADLINE_SHARED_PLATFORM_CREDENTIALS`,
    /// default true). Off: such a tenant's `startLiveSession` is refused until it connects its own.
    pub shared_platform_credentials: bool,
    /// `SMTP_URL`: where outbound e-mail (invites, address verification) goes, e.g.
    /// `smtps://user:pass@smtp.example.com:465` (implicit TLS) or
    /// `smtp://user:pass@smtp.example.com:587?tls=required` (STARTTLS). Unset: every message is
    /// written to [`Config::mail_outbox_dir`] instead, so a fresh install needs no mail account.
    pub smtp_url: Option<String>,
    /// `SMTP_FROM`: the sender, e.g. `Leadline <no-reply@example.com>` (default
    /// `Leadline <no-reply@localhost>`).
    pub smtp_from: String,
    /// The outbox folder used when `SMTP_URL` is unset: `outbox/` beside the SQLite file, or in
    /// the working directory for PostgreSQL. One `.eml` file per message.
    pub mail_outbox_dir: std::path::PathBuf,
    /// Billing through Stripe: `STRIPE_SECRET_KEY` (unset: billing is off and every tenant is
    /// on the plans file's `defaultPlan`), `STRIPE_WEBHOOK_SECRET` (the endpoint's `whsec_…`;
    /// several, separated by commas, while one is rolled) and `STRIPE_API_BASE` (default
    /// `https://api.stripe.com`; the fake's URL in tests).
    pub stripe: leadline_stripe::Settings,
    /// The plans (`LEADLINE_PLANS`: the path of a JSON plans file, see
    /// `domain/data/billing/plans.json`; unset: those built-in plans). Read and checked at
    /// start: a file that does not parse stops the start naming what is wrong.
    pub plans: std::sync::Arc<leadline_domain::billing::PlanCatalog>,
    /// Where the plans came from (the path, or `built-in`), for `/readyz`.
    pub plans_source: String,
    /// How long a tenant whose renewal payment failed (PAST_DUE) keeps its plan
    /// (`LEADLINE_BILLING_GRACE_DAYS`, default 7, at most 90; 0: none).
    pub billing_grace: chrono::Duration,
    /// How often metered usage is reported to Stripe, per tenant on a metered plan
    /// (`LEADLINE_METER_REPORT_SECONDS`, default 60, 1 to 3600).
    pub meter_report_interval: Duration,
}

/// Where the server runs (`LEADLINE_ENV`): production hides what helps developers explore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// The default: introspection and GraphiQL on.
    Development,
    /// Introspection and GraphiQL off unless `LEADLINE_INTROSPECTION=true`.
    Production,
}

/// Which AI provider answers when a tenant has not chosen one (`LEADLINE_AI_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AiProviderKind {
    /// The built-in offline analyzer.
    Offline,
    /// Anthropic Messages.
    Anthropic,
    /// OpenAI Chat Completions.
    OpenAi,
}

impl AiProviderKind {
    /// Parses `offline`, `anthropic` or `openai` (case-insensitive).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "offline" => Some(Self::Offline),
            "anthropic" => Some(Self::Anthropic),
            "openai" => Some(Self::OpenAi),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Config {
    // Hand-written so secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &redact_url(&self.database_url))
            .field("redis", &self.redis_url.as_deref().map(redact_url))
            .field("addr", &self.addr)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<set>"))
            .field(
                "secret_keys_old",
                &self.secret_keys_old.as_ref().map(|_| "<set>"),
            )
            .field("secret_key_file", &self.secret_key_file)
            .field("environment", &self.environment)
            .field("livekit", &self.livekit)
            .field("twilio", &self.twilio)
            .field("elevenlabs", &self.elevenlabs)
            .field("public_url", &self.public_url)
            .field("twilio_sms_from", &self.twilio_sms_from)
            .field("introspection", &self.introspection)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| "<set>"),
            )
            .field("max_body_bytes", &self.max_body_bytes)
            .field(
                "anthropic_api_key",
                &self.anthropic_api_key.as_ref().map(|_| "<set>"),
            )
            .field(
                "openai_api_key",
                &self.openai_api_key.as_ref().map(|_| "<set>"),
            )
            .field("anthropic_api_base", &self.anthropic_api_base)
            .field("openai_api_base", &self.openai_api_base)
            .field("ai_default_provider", &self.ai_default_provider)
            .field("ai_rate_per_minute", &self.ai_rate_per_minute)
            .field("smtp", &self.smtp_url.as_deref().map(redact_url))
            .field("smtp_from", &self.smtp_from)
            .field("stripe", &self.stripe)
            .field("plans", &self.plans_source)
            .finish_non_exhaustive()
    }
}

/// The folder of the SQLite file of `database_url`; `None` for PostgreSQL and in-memory SQLite.
/// Files that belong with the database (the key file, the mail outbox) go there.
fn sqlite_dir(database_url: &str) -> Option<std::path::PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") || database_url.contains("mode=memory") {
        return None;
    }
    let dir = std::path::Path::new(path)
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or_else(|| std::path::Path::new("."));
    Some(dir.to_path_buf())
}

/// `outbox/` beside the SQLite file of `database_url`, else in the working directory.
fn outbox_dir(database_url: &str) -> std::path::PathBuf {
    sqlite_dir(database_url)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
        .join("outbox")
}

/// The live budgets' ceilings from `LEADLINE_*` (see [`Config::live_ceilings`]), refused at start
/// when out of range: a ceiling no session could live under is a typo, not a setting.
fn live_ceilings(
    number: &impl Fn(&str, u64) -> anyhow::Result<u64>,
) -> anyhow::Result<leadline_domain::live::LiveCeilings> {
    use leadline_domain::live::LiveCeilings;
    let d = LiveCeilings::default();
    let setting = |key: &str, default: u32| -> anyhow::Result<u32> {
        u32::try_from(number(key, u64::from(default))?)
            .with_context(|| format!("{key} is too large"))
    };
    let ceilings = LiveCeilings {
        whispers_per_day: setting("LEADLINE_TWITCH_WHISPERS_PER_DAY", d.whispers_per_day)?,
        youtube_daily_quota: setting("LEADLINE_YOUTUBE_QUOTA_PER_DAY", d.youtube_daily_quota)?,
        youtube_insert_cost: setting("LEADLINE_YOUTUBE_INSERT_COST", d.youtube_insert_cost)?,
        youtube_list_cost: setting("LEADLINE_YOUTUBE_LIST_COST", d.youtube_list_cost)?,
        tiktok_dms_per_viewer_per_day: setting(
            "LEADLINE_TIKTOK_DMS_PER_VIEWER_PER_DAY",
            d.tiktok_dms_per_viewer_per_day,
        )?,
    };
    ceilings
        .validate()
        .map_err(|e| anyhow::anyhow!("live budget ceiling {e}"))?;
    Ok(ceilings)
}

/// Hides the password of a `scheme://user:password@host/…` URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Reads the plans file named by `LEADLINE_PLANS` (JSON: `serde_json` is already in every
/// crate, the file is small and written once, and JSON's errors name line and column); unset
/// means the built-in plans.
fn plans(
    path: Option<String>,
) -> anyhow::Result<(
    std::sync::Arc<leadline_domain::billing::PlanCatalog>,
    String,
)> {
    use leadline_domain::billing::PlanCatalog;
    let Some(path) = path else {
        return Ok((
            std::sync::Arc::new(PlanCatalog::builtin()),
            "built-in".to_owned(),
        ));
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("LEADLINE_PLANS: cannot read the plans file {path}"))?;
    let catalog = PlanCatalog::from_json(&text)
        .map_err(|e| anyhow::anyhow!("LEADLINE_PLANS ({path}): {e}"))?;
    Ok((std::sync::Arc::new(catalog), path))
}

impl Config {
    /// Whether billing is on: a Stripe secret key is configured.
    pub fn billing_enabled(&self) -> bool {
        self.stripe
            .secret_key
            .as_deref()
            .is_some_and(|k| !k.trim().is_empty())
    }

    /// What the AI phone agent still needs, for `/readyz`: the Twilio and ElevenLabs settings
    /// and `LEADLINE_PUBLIC_URL`, in a stable order.
    pub fn phone_agent_missing(&self) -> Vec<&'static str> {
        let mut missing = self.twilio.missing();
        missing.extend(self.elevenlabs.missing());
        if self.public_url.is_none() {
            missing.push("LEADLINE_PUBLIC_URL");
        }
        missing
    }

    /// Reads the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |key: &str| {
            lookup(key)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let database_url =
            get("DATABASE_URL").unwrap_or_else(|| "sqlite://leadline.db?mode=rwc".to_owned());
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            bail!("DATABASE_URL must start with sqlite:, postgres:// or postgresql://");
        }
        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                bail!("REDIS_URL must start with redis:// or rediss://");
            }
        }
        let addr = get("LEADLINE_ADDR")
            .unwrap_or_else(|| "127.0.0.1:8080".to_owned())
            .parse()
            .context("LEADLINE_ADDR must be host:port, e.g. 127.0.0.1:8080")?;
        let jwt_secret = get("JWT_SECRET");
        if let Some(secret) = &jwt_secret {
            if secret.len() < 32 {
                bail!("JWT_SECRET must be at least 32 bytes (HS256 keys shorter than the hash are weak)");
            }
        }
        // Validated here so a malformed key stops the start with the variable's name.
        let secret_key = get("LEADLINE_SECRET_KEY");
        if let Some(spec) = &secret_key {
            crate::secrets::KeySpec::parse(spec).context("LEADLINE_SECRET_KEY")?;
        }
        let secret_keys_old = get("LEADLINE_SECRET_KEYS_OLD");
        if let Some(list) = &secret_keys_old {
            crate::secrets::parse_key_list(list)?;
        }
        let public_url = match get("LEADLINE_PUBLIC_URL") {
            Some(url) => {
                let trimmed = url.trim_end_matches('/').to_owned();
                let parsed = url::Url::parse(&trimmed).context(
                    "LEADLINE_PUBLIC_URL must be an absolute URL, e.g. https://leads.example.com",
                )?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
                    bail!("LEADLINE_PUBLIC_URL must be an http(s) URL without a query");
                }
                Some(trimmed)
            }
            None => None,
        };
        let number = |key: &str, default: u64| -> anyhow::Result<u64> {
            match get(key) {
                Some(v) => v
                    .parse()
                    .with_context(|| format!("{key} must be a whole number")),
                None => Ok(default),
            }
        };
        let flag = |key: &str, default: bool| -> anyhow::Result<bool> {
            match get(key).as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => Ok(default),
                Some("1" | "true" | "yes" | "on") => Ok(true),
                Some("0" | "false" | "no" | "off") => Ok(false),
                Some(_) => bail!("{key} must be true or false"),
            }
        };
        let api_base = |key: &str, default: &str| -> anyhow::Result<String> {
            let base = get(key).unwrap_or_else(|| default.to_owned());
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                bail!("{key} must be scheme + host (+ port), e.g. {default}");
            }
            Ok(base.trim_end_matches('/').to_owned())
        };
        let ai_default_provider = match get("LEADLINE_AI_PROVIDER") {
            None => AiProviderKind::Offline,
            Some(value) => AiProviderKind::parse(&value)
                .context("LEADLINE_AI_PROVIDER must be offline, anthropic or openai")?,
        };
        let smtp_url = get("SMTP_URL");
        if let Some(url) = &smtp_url {
            if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
                bail!("SMTP_URL must start with smtp:// or smtps://");
            }
        }
        let smtp_from =
            get("SMTP_FROM").unwrap_or_else(|| "Leadline <no-reply@localhost>".to_owned());
        if smtp_from.parse::<lettre::message::Mailbox>().is_err() {
            bail!("SMTP_FROM must be an address, e.g. Leadline <no-reply@example.com>");
        }
        let mail_outbox_dir = outbox_dir(&database_url);
        let environment = match get("LEADLINE_ENV")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(_) => bail!("LEADLINE_ENV must be development or production"),
        };
        let (plans, plans_source) = plans(get("LEADLINE_PLANS"))?;
        let stripe = leadline_stripe::Settings {
            secret_key: get("STRIPE_SECRET_KEY"),
            webhook_secrets: get("STRIPE_WEBHOOK_SECRET")
                .map(|v| leadline_stripe::Settings::parse_webhook_secrets(&v))
                .unwrap_or_default(),
            api_base: get("STRIPE_API_BASE"),
        };
        // Checked now, so a bad base or secret list stops the start with the variable's name.
        if stripe.secret_key.is_some() {
            stripe
                .client()
                .map_err(|e| anyhow::anyhow!("Stripe settings: {e}"))?;
        }
        if !stripe.webhook_secrets.is_empty() {
            stripe
                .receiver()
                .map_err(|e| anyhow::anyhow!("STRIPE_WEBHOOK_SECRET: {e}"))?;
        }
        let ws_limit = |key: &str, default: u64| -> anyhow::Result<usize> {
            Ok(usize::try_from(number(key, default)?.clamp(1, 10_000))?)
        };
        Ok(Self {
            smtp_url,
            smtp_from,
            mail_outbox_dir,
            database_url,
            redis_url,
            redis_prefix: get("LEADLINE_REDIS_PREFIX").unwrap_or_else(|| "leadline".to_owned()),
            addr,
            jwt_secret,
            environment,
            jwt_ttl: Duration::from_secs(number("JWT_TTL_SECONDS", 12 * 3600)?.max(1)),
            cron_secret: get("CRON_SECRET"),
            introspection: flag(
                "LEADLINE_INTROSPECTION",
                environment == Environment::Development,
            )?,
            metrics_token: get("LEADLINE_METRICS_TOKEN"),
            ws_max_operations: ws_limit("LEADLINE_WS_MAX_OPERATIONS", 32)?,
            ws_max_sockets_per_principal: ws_limit("LEADLINE_WS_MAX_SOCKETS_PER_PRINCIPAL", 16)?,
            max_body_bytes: usize::try_from(number("LEADLINE_MAX_BODY_BYTES", 1024 * 1024)?)?,
            max_depth: usize::try_from(number("LEADLINE_MAX_DEPTH", 12)?)?,
            max_complexity: usize::try_from(number("LEADLINE_MAX_COMPLEXITY", 10_000)?)?,
            max_root_fields: usize::try_from(number("LEADLINE_MAX_ROOT_FIELDS", 20)?.max(1))?,
            database_max_connections: u32::try_from(
                number("DATABASE_MAX_CONNECTIONS", 16)?.clamp(1, 1000),
            )?,
            workers: usize::try_from(number("LEADLINE_WORKERS", 4)?.min(256))?,
            job_lease: Duration::from_secs(
                number("LEADLINE_JOB_LEASE_SECONDS", 60)?.clamp(3, 3600),
            ),
            signup_rate_per_minute: u32::try_from(
                number("LEADLINE_SIGNUP_RATE_PER_MINUTE", 10)?.min(100_000),
            )?,
            login_rate_per_minute: u32::try_from(
                number("LEADLINE_LOGIN_RATE_PER_MINUTE", 10)?.min(100_000),
            )?,
            login_ip_rate_per_minute: u32::try_from(
                number("LEADLINE_LOGIN_IP_RATE_PER_MINUTE", 30)?.min(100_000),
            )?,
            login_global_rate_per_minute: u32::try_from(
                number("LEADLINE_LOGIN_GLOBAL_RATE_PER_MINUTE", 600)?.min(1_000_000),
            )?,
            typing_rate_per_minute: u32::try_from(
                number("LEADLINE_TYPING_RATE_PER_MINUTE", 120)?.min(100_000),
            )?,
            trust_forwarded_for: flag("LEADLINE_TRUST_FORWARDED_FOR", false)?,
            log_filter: get("RUST_LOG").unwrap_or_else(|| "info,sqlx=warn,sea_orm=warn".to_owned()),
            log_json: get("LEADLINE_LOG_FORMAT").as_deref() == Some("json"),
            anthropic_api_key: get("ANTHROPIC_API_KEY"),
            openai_api_key: get("OPENAI_API_KEY"),
            anthropic_api_base: api_base(
                "ANTHROPIC_API_BASE",
                leadline_llm::anthropic::DEFAULT_BASE_URL,
            )?,
            openai_api_base: api_base("OPENAI_API_BASE", leadline_llm::openai::DEFAULT_BASE_URL)?,
            ai_default_provider,
            ai_timeout: Duration::from_secs(
                number("LEADLINE_AI_TIMEOUT_SECONDS", 15)?.clamp(1, 600),
            ),
            ai_rate_per_minute: u32::try_from(number("LEADLINE_AI_RATE_PER_MINUTE", 60)?)
                .context("LEADLINE_AI_RATE_PER_MINUTE is too large")?,
            whatsapp_api_base: api_base(
                "WHATSAPP_API_BASE",
                leadline_meta::graph::DEFAULT_BASE_URL,
            )?,
            meta_api_base: api_base("META_API_BASE", leadline_meta::graph::DEFAULT_BASE_URL)?,
            tiktok_api_base: api_base(
                "TIKTOK_API_BASE",
                leadline_tiktok::client::DEFAULT_BASE_URL,
            )?,
            youtube_api_base: api_base("YOUTUBE_API_BASE", leadline_youtube::DEFAULT_BASE_URL)?,
            youtube_access_token: get("YOUTUBE_ACCESS_TOKEN"),
            youtube_api_key: get("YOUTUBE_API_KEY"),
            youtube_project: get("YOUTUBE_PROJECT").unwrap_or_else(|| "default".to_owned()),
            twitch_api_base: api_base("TWITCH_API_BASE", leadline_twitch::helix::DEFAULT_BASE_URL)?,
            twitch_irc_url: match get("TWITCH_IRC_URL") {
                None => leadline_twitch::DEFAULT_IRC_URL.to_owned(),
                Some(url) if url.starts_with("ws://") || url.starts_with("wss://") => url,
                Some(_) => bail!("TWITCH_IRC_URL must be a ws:// or wss:// URL"),
            },
            twitch_bot_login: get("TWITCH_BOT_LOGIN"),
            twitch_access_token: get("TWITCH_ACCESS_TOKEN"),
            twitch_client_id: get("TWITCH_CLIENT_ID"),
            twitch_eventsub_secret: get("TWITCH_EVENTSUB_SECRET"),
            tiktok_live_api_base: api_base("TIKTOK_LIVE_API_BASE", "http://127.0.0.1:8091")?,
            tiktok_live_access_token: get("TIKTOK_LIVE_ACCESS_TOKEN"),
            live_lease: Duration::from_secs(
                number("LEADLINE_LIVE_LEASE_SECONDS", 10)?.clamp(2, 600),
            ),
            meta_app_secret: get("META_APP_SECRET"),
            tiktok_client_secret: get("TIKTOK_CLIENT_SECRET"),
            secret_key,
            secret_keys_old,
            secret_key_file: get("LEADLINE_SECRET_KEY_FILE").map(std::path::PathBuf::from),
            webhook_max_body_bytes: usize::try_from(
                number("LEADLINE_WEBHOOK_MAX_BODY_BYTES", 1024 * 1024)?.clamp(1024, 64 << 20),
            )?,
            send_rate_per_minute: u32::try_from(number("LEADLINE_SEND_RATE_PER_MINUTE", 60)?)
                .context("LEADLINE_SEND_RATE_PER_MINUTE is too large")?,
            ai_history_messages: number("LEADLINE_AI_HISTORY_MESSAGES", 20)?.clamp(1, 50),
            job_retry_base: Duration::from_millis(
                number("LEADLINE_JOB_RETRY_BASE_MS", 2000)?.clamp(10, 600_000),
            ),
            customer_token_ttl: Duration::from_secs(
                number("LEADLINE_CUSTOMER_TOKEN_TTL_SECONDS", 3600)?.clamp(60, 86_400),
            ),
            visitor_rate_per_minute: u32::try_from(
                number("LEADLINE_VISITOR_RATE_PER_MINUTE", 20)?.min(100_000),
            )?,
            customer_messages_per_minute: u32::try_from(
                number("LEADLINE_CUSTOMER_MESSAGES_PER_MINUTE", 20)?.min(100_000),
            )?,
            support_session_max_messages: number("LEADLINE_SUPPORT_SESSION_MAX_MESSAGES", 500)?
                .min(10_000_000),
            typing_ttl: Duration::from_secs(number("LEADLINE_TYPING_TTL_SECONDS", 5)?.clamp(1, 60)),
            support_agent_capacity: u32::try_from(
                number("LEADLINE_SUPPORT_AGENT_CAPACITY", 5)?.min(100_000),
            )?,
            presence_ttl: Duration::from_secs(
                number("LEADLINE_PRESENCE_TTL_SECONDS", 30)?.clamp(3, 600),
            ),
            live_ceilings: live_ceilings(&number)?,
            livekit: leadline_livekit::Settings {
                api_url: get("LIVEKIT_API_URL"),
                api_key: get("LIVEKIT_API_KEY"),
                api_secret: get("LIVEKIT_API_SECRET"),
                sip_trunk_id: get("LIVEKIT_SIP_TRUNK_ID"),
                agent_name: get("LIVEKIT_AGENT_NAME"),
                webhook_keys: get("LIVEKIT_WEBHOOK_KEYS"),
            },
            twilio_sms_from: get("TWILIO_SMS_FROM"),
            livekit_request_timeout: Duration::from_millis(
                number("LIVEKIT_REQUEST_TIMEOUT_MS", 10_000)?.clamp(50, 120_000),
            ),
            shared_platform_credentials: flag("LEADLINE_SHARED_PLATFORM_CREDENTIALS", true)?,
            twilio: leadline_twilio::Settings {
                account_sid: get("TWILIO_ACCOUNT_SID"),
                auth_token: get("TWILIO_AUTH_TOKEN"),
                api_base: get("TWILIO_API_BASE"),
                timeout: Some(Duration::from_millis(
                    number("TWILIO_HTTP_TIMEOUT_MS", 15_000)?.clamp(50, 120_000),
                )),
            },
            elevenlabs: leadline_elevenlabs::Settings {
                api_key: get("ELEVENLABS_API_KEY"),
                api_base: get("ELEVENLABS_API_BASE"),
                ws_base: get("ELEVENLABS_WS_BASE"),
                webhook_secret: get("ELEVENLABS_WEBHOOK_SECRET"),
            },
            public_url,
            media_stream_token_ttl: Duration::from_secs(
                number("LEADLINE_MEDIA_STREAM_TOKEN_TTL_SECONDS", 60)?.clamp(1, 600),
            ),
            stripe,
            plans,
            plans_source,
            billing_grace: chrono::Duration::days(i64::try_from(
                number("LEADLINE_BILLING_GRACE_DAYS", 7)?.min(90),
            )?),
            meter_report_interval: Duration::from_secs(
                number("LEADLINE_METER_REPORT_SECONDS", 60)?.clamp(1, 3600),
            ),
        })
    }

    /// Whether the database is PostgreSQL (row locks, SKIP LOCKED) rather than SQLite.
    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// Where the sealing keys come from (see `secrets`): the key file is
    /// `LEADLINE_SECRET_KEY_FILE`, else `leadline.key` beside the SQLite file, else (PostgreSQL)
    /// in the working directory; none for an in-memory SQLite database.
    pub fn key_sources(&self) -> crate::secrets::KeySources {
        let in_working_dir = self.secret_key_file.is_none() && self.is_postgres();
        let file = match &self.secret_key_file {
            Some(path) => Some(path.clone()),
            None if in_working_dir => Some(std::path::PathBuf::from(crate::secrets::KEY_FILE_NAME)),
            None => {
                sqlite_dir(&self.database_url).map(|dir| dir.join(crate::secrets::KEY_FILE_NAME))
            }
        };
        crate::secrets::KeySources {
            key: self.secret_key.clone(),
            old: self.secret_keys_old.clone(),
            file,
            file_in_working_dir: in_working_dir,
        }
    }
}

#[cfg(test)]
mod tests;
