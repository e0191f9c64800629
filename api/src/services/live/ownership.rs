//! The supervisor's ownership loop: claims the leases of ACTIVE sessions, runs a reader for
//! each one held here, stops readers whose lease or session is gone (see `super`'s docs). Kept
//! apart from [`LiveSupervisor`]'s definition because it needs the whole `AppState` (readers
//! run the pipeline), while `AppState` holds the supervisor: the state depends on the type,
//! this loop on the state, and no module on both sides.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use uuid::Uuid;

use leadline_domain::ids::TenantId;
use leadline_domain::live::{LivePlatform, LiveSessionStatus};

use super::reader::{self, ReaderExit};
use super::{LiveSupervisor, Running};
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::live::{platform_of, status_of};

/// How often a replica deletes expired budget counters (day- and session-scoped rows).
const BUDGET_SWEEP_EVERY: Duration = Duration::from_secs(3600);

impl LiveSupervisor {
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
                Ok(true) => self.start_local(state, TenantId(session.tenant_id), session.id),
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
    fn start_local(&self, state: &AppState, tenant_id: TenantId, session_id: Uuid) {
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
                match run_reader(&state, tenant_id, session_id, &mut stopped).await {
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
}

/// Runs the session's reader (by platform) until it is stopped, the chat ends, or an error the
/// supervisor should retry.
async fn run_reader(
    state: &AppState,
    tenant_id: TenantId,
    session_id: Uuid,
    stop: &mut watch::Receiver<bool>,
) -> ApiResult<ReaderExit> {
    let session = state.store.live_session(tenant_id, session_id).await?;
    if status_of(&session)? != LiveSessionStatus::Active {
        return Ok(ReaderExit::Stopped);
    }
    match platform_of(&session)? {
        LivePlatform::Youtube => reader::run_youtube(state, tenant_id, session_id, stop).await,
        LivePlatform::Twitch => super::twitch::run(state, tenant_id, session_id, stop).await,
        LivePlatform::Tiktok => super::tiktok::run(state, tenant_id, session_id, stop).await,
    }
}
