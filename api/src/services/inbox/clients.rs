//! The messaging platforms' clients (WhatsApp, Messenger/Instagram, TikTok), built once per
//! process and held in `AppState`. A leaf: it knows the configuration and the integration
//! crates, never the state or the jobs that use it (so `state` does not reach back into the
//! send jobs).

use std::time::Duration;

use crate::config::Config;

/// Connect timeout of the platform clients (the request timeout is each client's own, 15 s).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The platform clients, built once per process over one shared HTTP pool. Stateless about
/// tenants: credentials come from the channel connection on every call.
#[derive(Debug, Clone)]
pub struct PlatformClients {
    /// WhatsApp Cloud API (`WHATSAPP_API_BASE`).
    pub whatsapp: leadline_whatsapp::Client,
    /// Messenger and Instagram Send API (`META_API_BASE`).
    pub meta: leadline_meta::Client,
    /// TikTok Business messaging (`TIKTOK_API_BASE`).
    pub tiktok: leadline_tiktok::Client,
}

impl PlatformClients {
    /// Builds the clients from the configured API bases.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            whatsapp: leadline_whatsapp::Client::new(http.clone(), &config.whatsapp_api_base),
            meta: leadline_meta::Client::new(http.clone(), &config.meta_api_base),
            tiktok: leadline_tiktok::Client::new(http, &config.tiktok_api_base),
        })
    }
}
