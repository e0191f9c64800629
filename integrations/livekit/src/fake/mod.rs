//! `FakeLiveKit` (feature `fake`): a loopback LiveKit for this crate's tests and the api's
//! end-to-end tests. Point `LIVEKIT_API_URL` at [`FakeLiveKit::base_url`] and use
//! [`FakeLiveKit::credentials`] and [`DEFAULT_TRUNK_ID`].
//!
//! - Twirp (`twirp`): `RoomService` CreateRoom/DeleteRoom/ListParticipants, `SIP`
//!   CreateSIPParticipant, `AgentDispatchService` CreateDispatch/ListDispatch, on `127.0.0.1:0`. Every request
//!   must carry a Bearer JWT signed with the fake's key (401 `unauthenticated` otherwise,
//!   expired included) whose grants suffice for the method as LiveKit's server checks them
//!   (403 `permission_denied` otherwise). Rooms, participants and dispatches are kept, so the
//!   methods agree with each other. Every request is recorded with its body and token claims.
//! - Failures are injected per method: a delay (then a normal answer, if the client still
//!   waits), a lost answer (carried out, then answered too late: the ambiguous timeout), a
//!   Twirp error (4xx/5xx, SIP statuses in
//!   `meta`), or a raw HTTP answer.
//! - Webhooks (`events`): signed exactly like LiveKit (bare JWT in `Authorization` with the body's
//!   `sha256`, `Content-Type: application/webhook+json`), posted to the URL given with
//!   [`FakeLiveKit::set_webhook_url`]: the callee answering, hanging up, the room finishing
//!   (DeleteRoom also sends `room_finished`, as LiveKit does), or any body.
//!
//! Not for production: it trusts its caller, keeps everything in memory and stops when dropped.

mod events;
mod twirp;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;

use crate::models::{AgentDispatch, ParticipantInfo, Room, Rpc};
use crate::token::{ApiCredentials, Claims, KeySet};

pub use events::{SentWebhook, WebhookError};

/// The API key the fake accepts unless started with other credentials.
pub const DEFAULT_API_KEY: &str = "APIfakeLiveKit";
/// Its secret.
pub const DEFAULT_API_SECRET: &str = "fake-livekit-secret-0123456789abcdef";
/// The outbound SIP trunk the fake knows.
pub const DEFAULT_TRUNK_ID: &str = "ST_fakeTrunk01";
/// The number of that trunk (`sip.trunkPhoneNumber`).
pub const DEFAULT_TRUNK_NUMBER: &str = "+15550100000";

/// How the fake answers the next request of a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Wait this long, then answer normally (longer than the client's timeout: a timeout).
    /// A client that gives up first closes the connection and the request is not carried out.
    Delay(Duration),
    /// Carry the request out at once, then wait this long before answering: the answer is
    /// lost to a client that gives up first, though LiveKit did what it asked (the ambiguous
    /// timeout a retried dial must not repeat).
    AnswerLost(Duration),
    /// A Twirp error: HTTP status from the code (platforms.md §8), `{"code","msg","meta"}`.
    Twirp {
        /// Twirp code.
        code: String,
        /// Message.
        msg: String,
        /// Meta (`sip_status_code`, `sip_status`).
        meta: BTreeMap<String, String>,
    },
    /// A raw answer (a proxy's HTML 502...).
    Raw {
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
    },
}

impl Failure {
    /// A Twirp error with no meta.
    pub fn twirp(code: &str, msg: &str) -> Self {
        Failure::Twirp {
            code: code.to_owned(),
            msg: msg.to_owned(),
            meta: BTreeMap::new(),
        }
    }

    /// A failed SIP dial as LiveKit reports it with `wait_until_answered`: 486 `Busy Here`,
    /// 480 `Temporarily Unavailable`...
    pub fn sip(sip_status_code: u16, sip_status: &str) -> Self {
        Failure::Twirp {
            code: "unavailable".to_owned(),
            msg: format!("sip call failed: {sip_status_code} {sip_status}"),
            meta: BTreeMap::from([
                ("sip_status_code".to_owned(), sip_status_code.to_string()),
                ("sip_status".to_owned(), sip_status.to_owned()),
            ]),
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// The method, when the path named one the fake serves.
    pub rpc: Option<Rpc>,
    /// `/twirp/...` path.
    pub path: String,
    /// The `Authorization` header as received.
    pub authorization: Option<String>,
    /// The claims of the Bearer token, when it verified.
    pub claims: Option<Claims>,
    /// `Content-Type` as received.
    pub content_type: Option<String>,
    /// The JSON body (`Null` if not JSON).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct FakeRoom {
    pub(crate) room: Room,
    pub(crate) participants: Vec<ParticipantInfo>,
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) rooms: BTreeMap<String, FakeRoom>,
    pub(crate) dispatches: Vec<AgentDispatch>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) failures: HashMap<Rpc, VecDeque<Failure>>,
    pub(crate) trunks: BTreeSet<String>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) webhooks: Vec<SentWebhook>,
    pub(crate) counter: u64,
}

impl State {
    /// A fresh id with LiveKit's prefix (`RM_`, `PA_`, `SCL_`, `AD_`, `EV_`).
    pub(crate) fn next_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}fake{:08}", self.counter)
    }
}

pub(crate) struct Shared {
    pub(crate) credentials: ApiCredentials,
    pub(crate) keys: KeySet,
    pub(crate) http: reqwest::Client,
    pub(crate) state: Mutex<State>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test must not turn every later request into a panic.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The fake LiveKit server.
pub struct FakeLiveKit {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeLiveKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeLiveKit")
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl Drop for FakeLiveKit {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl FakeLiveKit {
    /// Starts a fake accepting [`DEFAULT_API_KEY`]/[`DEFAULT_API_SECRET`] with the trunk
    /// [`DEFAULT_TRUNK_ID`].
    pub async fn start() -> std::io::Result<Self> {
        let credentials = ApiCredentials {
            api_key: DEFAULT_API_KEY.to_owned(),
            api_secret: DEFAULT_API_SECRET.to_owned(),
        };
        Self::start_with(credentials).await
    }

    /// Starts a fake that accepts (and signs webhooks with) `credentials`.
    pub async fn start_with(credentials: ApiCredentials) -> std::io::Result<Self> {
        let state = State {
            trunks: BTreeSet::from([DEFAULT_TRUNK_ID.to_owned()]),
            ..State::default()
        };
        let shared = Arc::new(Shared {
            keys: KeySet::single(&credentials),
            credentials,
            http: reqwest::Client::new(),
            state: Mutex::new(state),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let router = twirp::router(Arc::clone(&shared));
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "fake LiveKit stopped with an error");
            }
        });
        Ok(Self {
            base_url: format!("http://{addr}"),
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:<port>`: what `LIVEKIT_API_URL` should be.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The accepted key and secret (`LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`).
    pub fn credentials(&self) -> &ApiCredentials {
        &self.shared.credentials
    }

    /// Makes `trunk_id` a known outbound trunk.
    pub fn add_trunk(&self, trunk_id: &str) {
        self.shared.lock().trunks.insert(trunk_id.to_owned());
    }

    /// Answers the next request of `rpc` not yet scripted with `failure`.
    pub fn fail_next(&self, rpc: Rpc, failure: Failure) {
        self.shared
            .lock()
            .failures
            .entry(rpc)
            .or_default()
            .push_back(failure);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The requests of one method, in order.
    pub fn requests_for(&self, rpc: Rpc) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.rpc == Some(rpc))
            .cloned()
            .collect()
    }

    /// The rooms that exist now.
    pub fn rooms(&self) -> Vec<Room> {
        self.shared
            .lock()
            .rooms
            .values()
            .map(|r| r.room.clone())
            .collect()
    }

    /// The participants of `room` now (empty if there is no such room).
    pub fn participants(&self, room: &str) -> Vec<ParticipantInfo> {
        self.shared
            .lock()
            .rooms
            .get(room)
            .map(|r| r.participants.clone())
            .unwrap_or_default()
    }

    /// The agent dispatches created so far.
    pub fn dispatches(&self) -> Vec<AgentDispatch> {
        self.shared.lock().dispatches.clone()
    }

    /// Where webhooks go (e.g. `http://127.0.0.1:port/api/webhook/livekit`).
    pub fn set_webhook_url(&self, url: impl Into<String>) {
        self.shared.lock().webhook_url = Some(url.into());
    }

    /// The webhooks sent so far, in order.
    pub fn webhooks(&self) -> Vec<SentWebhook> {
        self.shared.lock().webhooks.clone()
    }
}
