//! `FakeTwilio` (feature `fake`): a loopback Twilio for this crate's tests and the api's
//! end-to-end tests. Point `TWILIO_API_BASE` at [`FakeTwilio::base_url`] and use
//! [`FakeTwilio::settings`].
//!
//! - REST (`rest`): `POST /2010-04-01/Accounts/{Sid}/Calls.json` (201, `CA…` sids),
//!   `POST|GET …/Calls/{CallSid}.json` on `127.0.0.1:0`. Every request must carry HTTP Basic
//!   `AccountSid:AuthToken` for the path's account (401 with code 20003 otherwise); a `To` that
//!   is not E.164/`client:`/`sip:` is 400 with 21211; an unknown call is 404 with 20404. Every
//!   request is recorded with its decoded form. Failures are injected for the next requests:
//!   any Twilio error, a 429 with `Retry-After`, a delay (a timeout for the client), a raw
//!   answer.
//!   `POST …/Messages.json` sends a text (201, `SM…` sids; `To` E.164, `From` or
//!   `MessagingServiceSid`, and `Body` required, with Twilio's codes 21211, 21603, 21602) and
//!   keeps it ([`FakeTwilio::messages`]).
//! - Webhooks (`webhooks`): signed exactly as Twilio signs them (`X-Twilio-Signature` over the
//!   URL posted to — or the public URL given — and the sorted form): an incoming call, the
//!   status callbacks and the asynchronous AMD verdict of a call created through REST, or any
//!   form.
//! - Media Streams (`media`): acts as Twilio's side of a `<Connect><Stream>` — connects to a
//!   `ws://` URL, sends `connected`, `start` (with the TwiML's `<Parameter>`s), 160-byte μ-law
//!   `media` frames, `mark`, `dtmf`, `stop`, and records everything it receives (audio bytes,
//!   `clear`, `mark`, which it echoes back as Twilio does once the audio is played).
//!
//! Not for production: it trusts its caller, keeps everything in memory and stops when dropped.

mod media;
mod rest;
mod webhooks;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::models::Call;
use crate::settings::Settings;

pub use media::{parse_stream_twiml, MediaStreamClient, StreamTwiml};
pub use webhooks::{SentWebhook, WebhookError};

/// The account the fake accepts unless started with other credentials.
pub const DEFAULT_ACCOUNT_SID: &str = "AC0000000000000000000000000000fa4e";
/// Its auth token.
pub const DEFAULT_AUTH_TOKEN: &str = "fake-twilio-auth-token-0123456789abcdef";

/// How the fake answers the next REST request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A Twilio error body `{code, message, more_info, status}` with HTTP `status`.
    Twilio {
        /// HTTP status.
        status: u16,
        /// Twilio code.
        code: u32,
        /// Message.
        message: String,
    },
    /// HTTP 429, code 20429, with `Retry-After` when given.
    RateLimited {
        /// Seconds for `Retry-After`.
        retry_after_secs: Option<u64>,
    },
    /// Wait this long, then answer normally (longer than the client's timeout: a timeout).
    Delay(Duration),
    /// A raw answer (a proxy's HTML 502...).
    Raw {
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
    },
}

impl Failure {
    /// A Twilio error.
    pub fn twilio(status: u16, code: u32, message: &str) -> Self {
        Failure::Twilio {
            status,
            code,
            message: message.to_owned(),
        }
    }
}

/// One REST request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`.
    pub method: String,
    /// `/2010-04-01/...`.
    pub path: String,
    /// `Authorization` as received.
    pub authorization: Option<String>,
    /// Whether Basic auth matched the fake's account and token.
    pub authenticated: bool,
    /// `Content-Type` as received.
    pub content_type: Option<String>,
    /// The decoded form body, in order.
    pub form: Vec<(String, String)>,
    /// The HTTP status answered.
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of a form parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a (repeated) form parameter.
    pub fn params(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// A call the fake knows: created through REST, or an incoming call it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    /// The call resource as the fake answers it.
    pub call: Call,
    /// The create form (empty for incoming calls).
    pub form: Vec<(String, String)>,
    /// Every update form, in order.
    pub updates: Vec<Vec<(String, String)>>,
    /// The TwiML the call runs last (create or update `Twiml`).
    pub twiml: Option<String>,
    /// Status callbacks sent so far (their `SequenceNumber`).
    pub(crate) callbacks_sent: u32,
}

impl FakeCall {
    /// The first value of a create-form parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
pub(crate) struct State {
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) calls: BTreeMap<String, FakeCall>,
    pub(crate) messages: Vec<crate::messaging::Message>,
    pub(crate) failures: VecDeque<Failure>,
    pub(crate) next_id: u64,
}

impl State {
    /// A fresh `XX` + 32 hex id.
    pub(crate) fn new_sid(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{:032x}", 0xfa4e_0000_0000_u64 + self.next_id)
    }
}

#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) account_sid: String,
    pub(crate) auth_token: String,
    pub(crate) state: Arc<Mutex<State>>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide its own failure behind a
        // poisoned-lock panic here.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A loopback Twilio. Stops when dropped.
pub struct FakeTwilio {
    addr: SocketAddr,
    shared: Shared,
    http: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl FakeTwilio {
    /// Starts with [`DEFAULT_ACCOUNT_SID`] and [`DEFAULT_AUTH_TOKEN`].
    pub async fn start() -> std::io::Result<FakeTwilio> {
        FakeTwilio::start_with(DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN).await
    }

    /// Starts for one account and token on `127.0.0.1:0`.
    pub async fn start_with(account_sid: &str, auth_token: &str) -> std::io::Result<FakeTwilio> {
        let shared = Shared {
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            state: Arc::new(Mutex::new(State::default())),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let router = rest::router(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(FakeTwilio {
            addr,
            shared,
            http: reqwest::Client::new(),
            _shutdown: shutdown,
        })
    }

    /// `http://127.0.0.1:<port>`: the `TWILIO_API_BASE` to use.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The account it accepts.
    pub fn account_sid(&self) -> &str {
        &self.shared.account_sid
    }

    /// The auth token it accepts and signs webhooks with.
    pub fn auth_token(&self) -> &str {
        &self.shared.auth_token
    }

    /// Settings pointing at the fake.
    pub fn settings(&self) -> Settings {
        Settings {
            account_sid: Some(self.shared.account_sid.clone()),
            auth_token: Some(self.shared.auth_token.clone()),
            api_base: Some(self.base_url()),
        }
    }

    /// Every REST request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every call the fake knows, by sid.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.shared.lock().calls.values().cloned().collect()
    }

    /// One call.
    pub fn call(&self, call_sid: &str) -> Option<FakeCall> {
        self.shared.lock().calls.get(call_sid).cloned()
    }

    /// Every text message sent through `Messages.json`, in order.
    pub fn messages(&self) -> Vec<crate::messaging::Message> {
        self.shared.lock().messages.clone()
    }

    /// Answers the next REST request with `failure` (queued: several calls fail in turn).
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().failures.push_back(failure);
    }
}
