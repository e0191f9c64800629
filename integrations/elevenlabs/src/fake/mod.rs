//! `FakeElevenLabs` (feature `fake`): a loopback ElevenLabs for this crate's tests and the api's
//! bridge tests. Point `ELEVENLABS_API_BASE` at [`FakeElevenLabs::base_url`] (the WebSocket base
//! follows it) or use [`FakeElevenLabs::settings`].
//!
//! - REST (`rest`): `GET /v1/convai/conversation/get-signed-url?agent_id=` (checks `xi-api-key`:
//!   401 otherwise; an unknown agent is 404) answering a `ws://` URL on the fake itself with a
//!   fresh `conversation_signature`; `POST /v1/convai/twilio/outbound-call` (401, 404, 422 on a
//!   `to_number` that is not E.164 or a blank `agent_phone_number_id`, else `success`,
//!   `conversation_id`, `callSid`). Every REST request is recorded; failures (429, 5xx, raw
//!   answers) are injected with [`FakeElevenLabs::fail_next`].
//! - Conversation (`conversation`): `GET /v1/convai/conversation?agent_id=…` upgrades to a
//!   WebSocket only with a signature the fake issued (or for an agent marked public; 403
//!   otherwise). The first client frame must be `conversation_initiation_client_data`, else the
//!   fake records a violation and closes with 1008. It answers `conversation_initiation_metadata`
//!   (`ulaw_8000` both ways), then plays the agent's [`Step`]s in order while a reader records
//!   every client frame. Protocol violations (an unknown or unreadable frame, audio before init,
//!   a second init, a missing or unexpected pong, a tool result for an unknown `tool_call_id`,
//!   non-base64 audio) are collected for [`FakeElevenLabs::violations`], which a well-behaved
//!   client leaves empty.
//! - Webhooks (`webhooks`): posts post-call webhooks signed as ElevenLabs signs them.
//!
//! Not for production: it trusts its caller, keeps everything in memory and stops when dropped.

mod conversation;
mod rest;
mod webhooks;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use base64::Engine as _;
use tokio::sync::{oneshot, Notify};

use crate::models::{ClientMessage, ConversationInitiation, OutboundCall, ServerEvent};
use crate::settings::Settings;

pub use webhooks::FakeError;

/// The API key the fake accepts unless started with another.
pub const DEFAULT_API_KEY: &str = "sk_fake_elevenlabs_0123456789abcdef";
/// The secret the fake signs post-call webhooks with.
pub const DEFAULT_WEBHOOK_SECRET: &str = "wsec_fake_elevenlabs";
/// The agent of [`AgentScript::default`].
pub const DEFAULT_AGENT_ID: &str = "agent_fake_0001";

/// One thing the scripted agent does, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Sends one `audio` event carrying these bytes (base64-encoded by the fake) with the next
    /// `event_id`.
    Audio(Vec<u8>),
    /// Sends `agent_response`.
    AgentResponse(String),
    /// Sends `agent_response_correction`.
    AgentResponseCorrection {
        /// What the agent meant to say.
        original: String,
        /// What was heard before the interruption.
        corrected: String,
    },
    /// Sends `user_transcript` with this text.
    UserTranscript(String),
    /// Waits until at least this many bytes of user audio arrived since the conversation
    /// started (a violation after the step timeout).
    WaitForAudio(usize),
    /// Sends `user_transcript` whose text is the user audio heard since the last echo, read as
    /// UTF-8 (lossily): the fake's "speech recognition" is the identity, so a test that sends
    /// `b"hello"` as audio sees the agent hear "hello".
    EchoHeard,
    /// Sends `interruption` with the `event_id` of the last audio sent.
    Interruption,
    /// Sends `ping` with the next `event_id` and waits for the `pong` carrying it (a violation
    /// after the step timeout).
    Ping {
        /// `ping_ms` to report.
        ping_ms: Option<u64>,
    },
    /// Sends `client_tool_call` with a fresh `tool_call_id` (`tc_<n>`) and waits for the
    /// matching `client_tool_result` (a violation after the step timeout).
    ToolCall {
        /// Which tool.
        tool_name: String,
        /// Its arguments.
        parameters: serde_json::Value,
    },
    /// Sends an event of a type clients must ignore (`vad_score`…).
    UnknownEvent(String),
    /// Sends this text frame as-is.
    Raw(String),
    /// Waits.
    Sleep(Duration),
    /// Closes the conversation normally (1000). Without it the fake keeps reading until the
    /// client closes.
    Close,
}

/// An agent the fake knows and what it does in every conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentScript {
    /// `agent_id`.
    pub agent_id: String,
    /// Whether conversations without a signature are accepted (a public agent).
    pub public: bool,
    /// The steps, played after `conversation_initiation_metadata`.
    pub steps: Vec<Step>,
    /// How long a waiting step (pong, tool result, audio) waits before recording a violation.
    pub step_timeout: Duration,
}

impl Default for AgentScript {
    fn default() -> Self {
        AgentScript {
            agent_id: DEFAULT_AGENT_ID.to_owned(),
            public: false,
            steps: Vec::new(),
            step_timeout: Duration::from_secs(5),
        }
    }
}

impl AgentScript {
    /// A private agent playing `steps`.
    pub fn new(agent_id: &str, steps: Vec<Step>) -> Self {
        AgentScript {
            agent_id: agent_id.to_owned(),
            steps,
            ..AgentScript::default()
        }
    }

    /// Accepts unsigned conversations.
    pub fn public(mut self) -> Self {
        self.public = true;
        self
    }
}

/// A `client_tool_result` the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    /// The id it answered.
    pub tool_call_id: String,
    /// What the tool returned.
    pub result: serde_json::Value,
    /// Whether the tool failed.
    pub is_error: bool,
}

/// One conversation as the fake saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordedConversation {
    /// `conv_fake_<n>`.
    pub conversation_id: String,
    /// The agent connected to.
    pub agent_id: String,
    /// The init frame, once received.
    pub init: Option<ConversationInitiation>,
    /// Every client frame, parsed, in order.
    pub client_frames: Vec<ClientMessage>,
    /// Every `user_audio_chunk` payload exactly as received (for byte-for-byte relay checks).
    pub user_audio_chunks: Vec<String>,
    /// Every `pong`'s `event_id`.
    pub pongs: Vec<u64>,
    /// Every `client_tool_result`.
    pub tool_results: Vec<ToolResult>,
    /// Every `user_message` text.
    pub user_messages: Vec<String>,
    /// Every `contextual_update` text.
    pub contextual_updates: Vec<String>,
    /// How many `user_activity` frames arrived.
    pub user_activity: usize,
    /// Every event the fake sent, in order.
    pub sent: Vec<ServerEvent>,
    /// Whether every step was played.
    pub script_finished: bool,
    /// Whether the socket is closed (by either side).
    pub closed: bool,
}

impl RecordedConversation {
    /// The user audio received, decoded and concatenated (undecodable chunks are skipped and
    /// were recorded as violations).
    pub fn user_audio(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in &self.user_audio_chunks {
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(chunk) {
                out.extend_from_slice(&bytes);
            }
        }
        out
    }

    /// The `dynamic_variables` of the init frame, as JSON.
    pub fn dynamic_variables(&self) -> serde_json::Value {
        self.init
            .as_ref()
            .and_then(|i| serde_json::to_value(&i.dynamic_variables).ok())
            .unwrap_or(serde_json::Value::Null)
    }
}

/// One REST request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// `xi-api-key` as received.
    pub api_key: Option<String>,
    /// The JSON body, when there was one.
    pub body: Option<serde_json::Value>,
    /// The HTTP status answered.
    pub status: u16,
}

/// An outbound call the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeOutboundCall {
    /// The request.
    pub request: OutboundCall,
    /// `conv_fake_<n>`.
    pub conversation_id: String,
    /// `CA…`.
    pub call_sid: String,
}

/// How the fake answers the next REST request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP `status` with `{"detail":{"status":"…","message":…}}`.
    Status {
        /// HTTP status.
        status: u16,
        /// The message.
        message: String,
    },
    /// HTTP 429 with `Retry-After` when given.
    RateLimited {
        /// Seconds for `Retry-After`.
        retry_after_secs: Option<u64>,
    },
    /// Wait this long, then answer normally (longer than the client's timeout: a timeout).
    Delay(Duration),
    /// A raw answer (a proxy's HTML 502…).
    Raw {
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
    },
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) agents: BTreeMap<String, AgentScript>,
    pub(crate) signatures: BTreeMap<String, String>,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) conversations: Vec<RecordedConversation>,
    pub(crate) outbound_calls: Vec<FakeOutboundCall>,
    pub(crate) violations: Vec<String>,
    pub(crate) failures: VecDeque<Failure>,
    pub(crate) next_id: u64,
}

impl State {
    pub(crate) fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) api_key: String,
    pub(crate) webhook_secret: String,
    pub(crate) addr: SocketAddr,
    pub(crate) state: Arc<Mutex<State>>,
    /// Woken whenever a conversation records something, for [`FakeElevenLabs::wait_for`].
    pub(crate) changed: Arc<Notify>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide its own failure behind a
        // poisoned-lock panic here.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn violation(&self, conversation: Option<&str>, what: String) {
        let entry = match conversation {
            Some(id) => format!("{id}: {what}"),
            None => what,
        };
        tracing::debug!(violation = %entry, "fake ElevenLabs saw a protocol violation");
        self.lock().violations.push(entry);
        self.changed.notify_waiters();
    }
}

/// A loopback ElevenLabs. Stops when dropped.
pub struct FakeElevenLabs {
    shared: Shared,
    http: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl FakeElevenLabs {
    /// Starts on `127.0.0.1:0` accepting `api_key`, with one agent.
    pub async fn start(api_key: &str, agent: AgentScript) -> std::io::Result<FakeElevenLabs> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let mut state = State::default();
        state.agents.insert(agent.agent_id.clone(), agent);
        let shared = Shared {
            api_key: api_key.to_owned(),
            webhook_secret: DEFAULT_WEBHOOK_SECRET.to_owned(),
            addr,
            state: Arc::new(Mutex::new(state)),
            changed: Arc::new(Notify::new()),
        };
        let (shutdown, stopped) = oneshot::channel::<()>();
        let router = rest::router(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(FakeElevenLabs {
            shared,
            http: reqwest::Client::new(),
            _shutdown: shutdown,
        })
    }

    /// Starts with [`DEFAULT_API_KEY`] and `agent`.
    pub async fn start_default(agent: AgentScript) -> std::io::Result<FakeElevenLabs> {
        FakeElevenLabs::start(DEFAULT_API_KEY, agent).await
    }

    /// Adds (or replaces) an agent.
    pub fn add_agent(&self, agent: AgentScript) {
        self.shared
            .lock()
            .agents
            .insert(agent.agent_id.clone(), agent);
    }

    /// `http://127.0.0.1:<port>`: the `ELEVENLABS_API_BASE` to use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// `ws://127.0.0.1:<port>`: the `ELEVENLABS_WS_BASE` to use.
    pub fn ws_base(&self) -> String {
        format!("ws://{}", self.shared.addr)
    }

    /// The key it accepts.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    /// The secret its webhooks are signed with.
    pub fn webhook_secret(&self) -> &str {
        &self.shared.webhook_secret
    }

    /// Settings pointing at the fake.
    pub fn settings(&self) -> Settings {
        Settings {
            api_key: Some(self.shared.api_key.clone()),
            api_base: Some(self.base_url()),
            ws_base: Some(self.ws_base()),
            webhook_secret: Some(self.shared.webhook_secret.clone()),
        }
    }

    /// Every conversation so far, in the order they were opened.
    pub fn conversations(&self) -> Vec<RecordedConversation> {
        self.shared.lock().conversations.clone()
    }

    /// One conversation by id.
    pub fn conversation(&self, conversation_id: &str) -> Option<RecordedConversation> {
        self.shared
            .lock()
            .conversations
            .iter()
            .find(|c| c.conversation_id == conversation_id)
            .cloned()
    }

    /// Every protocol violation seen, as `conv_…: what` (or just `what` before a conversation
    /// had an id). A correct client leaves this empty.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    /// Every REST request, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every outbound call accepted.
    pub fn outbound_calls(&self) -> Vec<FakeOutboundCall> {
        self.shared.lock().outbound_calls.clone()
    }

    /// Answers the next REST request with `failure` (queued: several requests fail in turn).
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().failures.push_back(failure);
    }

    /// Waits until `done` holds for the conversations recorded so far, or `timeout`; returns
    /// them either way (the test asserts).
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[RecordedConversation]) -> bool,
    ) -> Vec<RecordedConversation> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Created before the check: `notify_waiters` reaches it even before it is polled.
            let notified = self.shared.changed.notified();
            let conversations = self.conversations();
            if done(&conversations) {
                return conversations;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.conversations();
            }
        }
    }
}
