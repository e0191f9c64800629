//! The live-stream sales agent (issue 5, YouTube slice): one supervised reader task per ACTIVE
//! session, feeding each chat message through [`pipeline::handle_message`].
//!
//! Single replica only in this slice: the supervisor owns every ACTIVE session it sees; with
//! several `serve` replicas each would read (and answer) the same chat. The lease
//! (`live_sessions.owner_id`/`lease_until`) is not implemented yet.

pub mod pipeline;
pub mod reader;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use uuid::Uuid;

use crate::state::AppState;

struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts, restarts and stops the session readers of this process.
pub struct LiveSupervisor {
    youtube: leadline_youtube::Client,
    readers: Mutex<HashMap<Uuid, Running>>,
}

impl std::fmt::Debug for LiveSupervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSupervisor")
            .field("readers", &self.lock().len())
            .finish()
    }
}

impl LiveSupervisor {
    /// A supervisor whose readers talk to YouTube at `youtube_api_base`.
    pub fn new(youtube_api_base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(Self {
            youtube: leadline_youtube::Client::new(http, youtube_api_base),
            readers: Mutex::new(HashMap::new()),
        })
    }

    /// The YouTube client the readers and the pipeline share.
    pub fn youtube(&self) -> leadline_youtube::Client {
        self.youtube.clone()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Running>> {
        // A panicked reader must not take the supervisor down with it.
        self.readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts the reader of every ACTIVE session (boot).
    pub async fn resume_all(&self, state: &AppState) {
        match state.store.active_live_sessions().await {
            Ok(sessions) => {
                for session in sessions {
                    self.start(state, session.tenant_id, session.id);
                }
            }
            Err(error) => tracing::error!(?error, "could not list the active live sessions"),
        }
    }

    /// Starts the session's reader unless it already runs. The task restarts the reader with
    /// backoff after an error, until the session is stopped or its chat is over.
    pub fn start(&self, state: &AppState, tenant_id: Uuid, session_id: Uuid) {
        let mut readers = self.lock();
        if readers
            .get(&session_id)
            .is_some_and(|running| !running.task.is_finished())
        {
            return;
        }
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

    /// Stops the session's reader (no-op when none runs).
    pub fn stop(&self, session_id: Uuid) {
        if let Some(running) = self.lock().remove(&session_id) {
            let _ = running.stop.send(true);
        }
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

    /// Whether a reader task runs for the session.
    pub fn is_running(&self, session_id: Uuid) -> bool {
        self.lock()
            .get(&session_id)
            .is_some_and(|running| !running.task.is_finished())
    }
}

/// Shared handle in `AppState`.
pub type SharedSupervisor = Arc<LiveSupervisor>;
