//! The live-stream sales agent (issue 5): one supervised reader per ACTIVE session, feeding
//! every chat message through [`pipeline::handle_message`], on YouTube, Twitch and TikTok LIVE.
//!
//! Ownership across replicas: the [`LiveSupervisor`]'s loop claims (or renews) the lease of each
//! ACTIVE session every third of `LEADLINE_LIVE_LEASE_SECONDS` ([`lease`]); it runs a reader only
//! for the sessions whose lease it holds, stops a reader whose lease it lost or whose session
//! stopped, and so takes over a dead replica's sessions within one lease period.

pub mod budget;
pub mod credentials;
pub mod events;
pub mod lease;
mod ownership;
pub mod pipeline;
pub mod reader;
pub mod reply;
pub mod routing;
pub mod spend;
pub mod tiktok;
pub mod twitch;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::config::Config;
use crate::store::Store;

use self::budget::LiveBudget;
use self::lease::SessionLeases;

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// The platform clients the readers and replies use (built once).
#[derive(Debug, Clone)]
pub struct LiveClients {
    /// YouTube Data API.
    pub youtube: leadline_youtube::Client,
    /// Twitch Helix (users, whispers, chat messages).
    pub helix: leadline_twitch::HelixClient,
    /// The TikTok LIVE wrapper.
    pub tiktok_live: leadline_tiktok::live::LiveClient,
}

/// Starts, restarts and stops the session readers of this process, under leases.
pub struct LiveSupervisor {
    clients: LiveClients,
    /// The shared spend counters (replies, whispers, quota).
    pub budget: LiveBudget,
    leases: SessionLeases,
    readers: Mutex<HashMap<Uuid, Running>>,
    wake: Notify,
}

impl std::fmt::Debug for LiveSupervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSupervisor")
            .field("owner", &self.leases.owner())
            .field("readers", &self.lock().len())
            .finish()
    }
}

impl LiveSupervisor {
    /// A supervisor for this replica: clients on the configured bases, budgets and leases in
    /// Redis when configured, else in the database.
    pub fn new(config: &Config, store: &Store) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        let owner = format!("replica-{}", Uuid::now_v7());
        let (budget, leases) = match &config.redis_url {
            Some(url) => (
                LiveBudget::redis(url, &config.redis_prefix)?,
                SessionLeases::redis(url, &config.redis_prefix, owner, config.live_lease)?,
            ),
            None => (
                LiveBudget::database(store.clone()),
                SessionLeases::database(store.clone(), owner, config.live_lease),
            ),
        };
        Ok(Self {
            clients: LiveClients {
                youtube: leadline_youtube::Client::new(http.clone(), &config.youtube_api_base),
                helix: leadline_twitch::HelixClient::new(http.clone(), &config.twitch_api_base),
                tiktok_live: leadline_tiktok::live::LiveClient::new(
                    http,
                    &config.tiktok_live_api_base,
                ),
            },
            budget,
            leases,
            readers: Mutex::new(HashMap::new()),
            wake: Notify::new(),
        })
    }

    /// The platform clients.
    pub fn clients(&self) -> &LiveClients {
        &self.clients
    }

    /// The YouTube client the readers and the pipeline share.
    pub fn youtube(&self) -> leadline_youtube::Client {
        self.clients.youtube.clone()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Running>> {
        // A panicked reader must not take the supervisor down with it.
        self.readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Asks the loop to look at the sessions now (a session was started or stopped here).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    fn stop_local(&self, session_id: Uuid) {
        if let Some(running) = self.lock().remove(&session_id) {
            let _ = running.stop.send(true);
        }
    }

    /// Stops the session's reader if it runs here and wakes the loop (stopLiveSession).
    pub fn stop(&self, session_id: Uuid) {
        self.stop_local(session_id);
        self.wake();
    }

    /// Stops every reader and waits for them (shutdown).
    pub async fn stop_all(&self) {
        let running: Vec<Running> = self.lock().drain().map(|(_, r)| r).collect();
        for r in &running {
            let _ = r.stop.send(true);
        }
        for r in running {
            let _ = r.task.await;
        }
    }

    /// Whether a reader task runs for the session in this process.
    pub fn is_running(&self, session_id: Uuid) -> bool {
        self.lock()
            .get(&session_id)
            .is_some_and(|running| !running.task.is_finished())
    }
}

/// Shared handle in `AppState`.
pub type SharedSupervisor = Arc<LiveSupervisor>;
