//! The state every request handler shares: built once at start by `app::Application::build`.

use std::sync::Arc;

use crate::auth::TokenKeys;
use crate::bus::EventBus;
use crate::config::Config;
use crate::jobs::JobQueue;
use crate::limit::RequestLimits;
use crate::services::ai::AiService;
use crate::services::inbox::PlatformClients;
use crate::services::send_limit::SendLimiter;
use crate::store::Store;

/// Cheap to clone; everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub bus: EventBus,
    pub tokens: TokenKeys,
    pub config: Arc<Config>,
    /// The AI questions (analysis, suggested replies), per tenant.
    pub ai: AiService,
    /// The durable job queue.
    pub jobs: JobQueue,
    /// Login (per e-mail, per IP, global), sign-up and typing limits, shared by replicas through
    /// Redis when configured.
    pub limits: Arc<RequestLimits>,
    /// The WhatsApp, Messenger/Instagram and TikTok clients the send jobs use (built once).
    pub platforms: Arc<PlatformClients>,
    /// Outbound sends per tenant and channel (shared through Redis when configured).
    pub send_limiter: Arc<SendLimiter>,
    /// The live-session readers of this process (YouTube chat).
    pub live: Arc<crate::services::live::LiveSupervisor>,
    /// The support chat's per-process parts (visitor limit, agent presence).
    pub support: Arc<crate::services::support::SupportRuntime>,
    /// Outbound account e-mail (SMTP or the outbox folder), used by the `send_email` job.
    pub mailer: Arc<crate::mailer::Mailer>,
    /// The Stripe client and webhook receiver (billing is off without a key).
    pub billing: Arc<crate::services::billing::StripeClients>,
}
