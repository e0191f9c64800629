//! The live-stream sales agent (issue 5): one supervised reader per ACTIVE session, feeding
//! every chat message through [`pipeline::handle_message`], on YouTube, Twitch and TikTok LIVE.
//!
//! Ownership across replicas: the [`LiveSupervisor`]'s loop claims (or renews) the lease of each
//! ACTIVE session every third of `LEADLINE_LIVE_LEASE_SECONDS` ([`lease`]); it runs a reader only
//! for the sessions whose lease it holds, stops a reader whose lease it lost or whose session
//! stopped, and so takes over a dead replica's sessions within one lease period.

pub mod budget;
pub mod credentials;
pub mod lease;
pub mod pipeline;
pub mod reader;
pub mod reply;
pub mod tiktok;
pub mod twitch;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};
use uuid::Uuid;

use crate::config::Config;
use crate::state::AppState;
use crate::store::Store;

use self::budget::LiveBudget;
use self::lease::SessionLeases;

/// How often a replica deletes expired budget counters (day- and session-scoped rows).
const BUDGET_SWEEP_EVERY: Duration = Duration::from_secs(3600);

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

    /// The ownership loop (see the module docs), until `stop` turns true; then every reader is
    /// stopped and its lease given up, so another replica takes over at once.
    pub async fn run(self: Arc<Self>, state: AppState, mut stop: watch::Receiver<bool>) {
        let period = (self.leases.ttl() / 3).max(Duration::from_millis(500));
        let mut last_sweep: Option<tokio::time::Instant> = None;
        loop {
            self.tick(&state).await;
            if last_sweep.is_none_or(|at| at.elapsed() >= BUDGET_SWEEP_EVERY) {
                last_sweep = Some(tokio::time::Instant::now());
                match self.budget.sweep(chrono::Utc::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired live budget counters swept"),
                    Err(error) => tracing::warn!(?error, "could not sweep live budget counters"),
                }
            }
            tokio::select! {
                _ = stop.wait_for(|stopped| *stopped) => break,
                () = tokio::time::sleep(period) => {}
                () = self.wake.notified() => {}
            }
        }
        let ids: Vec<Uuid> = self.lock().keys().copied().collect();
        self.stop_all().await;
        for id in ids {
            if let Err(error) = self.leases.release(id).await {
                tracing::warn!(%id, ?error, "could not release a live session lease");
            }
        }
    }

    async fn tick(&self, state: &AppState) {
        let sessions = match state.store.active_live_sessions().await {
            Ok(sessions) => sessions,
            Err(error) => {
                tracing::error!(?error, "could not list the active live sessions");
                return;
            }
        };
        let active: HashSet<Uuid> = sessions.iter().map(|s| s.id).collect();
        let stale: Vec<Uuid> = self
            .lock()
            .keys()
            .filter(|id| !active.contains(id))
            .copied()
            .collect();
        for id in stale {
            self.stop_local(id);
            let _ = self.leases.release(id).await;
        }
        for session in sessions {
            match self.leases.claim(session.id).await {
                Ok(true) => self.start_local(state, session.tenant_id, session.id),
                Ok(false) => {
                    // Another replica owns it (or took it over while we stalled).
                    self.stop_local(session.id);
                }
                Err(error) => {
                    // Ownership cannot be proven: stop reading rather than risk two readers.
                    tracing::warn!(id = %session.id, ?error, "live lease unavailable; reader paused");
                    self.stop_local(session.id);
                }
            }
        }
        metrics::gauge!("leadline_live_readers").set(self.lock().len() as f64);
    }

    /// Starts the session's reader here unless it already runs. The task restarts the reader
    /// with backoff after an error, until the session is stopped or its chat is over.
    fn start_local(&self, state: &AppState, tenant_id: Uuid, session_id: Uuid) {
        let mut readers = self.lock();
        if readers
            .get(&session_id)
            .is_some_and(|running| !running.task.is_finished())
        {
            return;
        }
        tracing::info!(%session_id, owner = self.leases.owner(), "live reader starting");
        let (stop, mut stopped) = watch::channel(false);
        let state = state.clone();
        let task = tokio::spawn(async move {
            let mut attempt = 0u32;
            loop {
                match reader::run_reader(&state, tenant_id, session_id, &mut stopped).await {
                    Ok(exit) => {
                        tracing::info!(%session_id, ?exit, "live reader finished");
                        return;
                    }
                    Err(error) => {
                        attempt = attempt.saturating_add(1);
                        let wait = reader::backoff(attempt);
                        tracing::warn!(%session_id, ?error, ?wait, "live reader failed; restarting");
                        tokio::select! {
                            _ = stopped.changed() => return,
                            () = tokio::time::sleep(wait) => {}
                        }
                    }
                }
            }
        });
        readers.insert(session_id, Running { stop, task });
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
