//! The ElevenLabs REST API for agents (platforms.md §7), `xi-api-key` on every request:
//!
//! - `GET {api_base}/v1/convai/conversation/get-signed-url?agent_id=…` → the `wss://` URL of a
//!   private agent's conversation ([`Client::signed_url`]), and [`Client::connect_agent`] which
//!   fetches one and opens the conversation with it;
//! - `{ws_base}/v1/convai/conversation?agent_id=…` for public agents
//!   ([`Client::public_conversation_url`]);
//! - `POST {api_base}/v1/convai/twilio/outbound-call` ([`Client::outbound_call`]).
//!
//! One method per operation, typed results; non-2xx answers are classified by
//! [`Error::from_response`]. The client never retries and keeps no per-call state, so one client
//! serves every conversation of an account.

use std::time::Duration;

use crate::conversation::{connect, Conversation, ConversationOptions};
use crate::error::Error;
use crate::models::{
    ConversationInitiation, OutboundCall, OutboundCallResponse, SignedUrlResponse,
};

/// ElevenLabs' REST base URL.
pub const DEFAULT_API_BASE: &str = "https://api.elevenlabs.io";
/// ElevenLabs' WebSocket base URL.
pub const DEFAULT_WS_BASE: &str = "wss://api.elevenlabs.io";
/// The header carrying the API key.
pub const API_KEY_HEADER: &str = "xi-api-key";
/// How long one REST request may take before it is a `Transport` timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// An ElevenLabs client for one API key.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    api_base: String,
    ws_base: String,
    api_key: String,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_base", &self.api_base)
            .field("ws_base", &self.ws_base)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

fn base(value: &str, schemes: [&str; 2], name: &str) -> Result<String, Error> {
    let value = value.trim().trim_end_matches('/');
    if !schemes.iter().any(|s| value.starts_with(s)) || url::Url::parse(value).is_err() {
        return Err(Error::Configuration(format!(
            "{name} must be a {} or {} URL",
            schemes[0], schemes[1]
        )));
    }
    Ok(value.to_owned())
}

fn check_agent_id(agent_id: &str) -> Result<&str, Error> {
    let agent_id = agent_id.trim();
    if agent_id.is_empty() {
        return Err(Error::Validation {
            message: "agent_id is empty".to_owned(),
        });
    }
    Ok(agent_id)
}

impl Client {
    /// A client on `api_base` (`https://api.elevenlabs.io`) and `ws_base`
    /// (`wss://api.elevenlabs.io`), no trailing path, sharing `http`'s pool. `Configuration` if
    /// a base is not an http(s)/ws(s) URL or the key is blank.
    pub fn new(
        http: reqwest::Client,
        api_base: &str,
        ws_base: &str,
        api_key: &str,
    ) -> Result<Self, Error> {
        let api_base = base(api_base, ["http://", "https://"], "ELEVENLABS_API_BASE")?;
        let ws_base = base(ws_base, ["ws://", "wss://"], "ELEVENLABS_WS_BASE")?;
        if api_key.trim().is_empty() {
            return Err(Error::Configuration(
                "ELEVENLABS_API_KEY is not set".to_owned(),
            ));
        }
        Ok(Client {
            http,
            api_base,
            ws_base,
            api_key: api_key.trim().to_owned(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The REST base URL.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// The WebSocket base URL.
    pub fn ws_base(&self) -> &str {
        &self.ws_base
    }

    fn url(&self, base: &str, path: &str, query: &[(&str, &str)]) -> Result<String, Error> {
        let mut url = url::Url::parse(&format!("{base}{path}"))
            .map_err(|e| Error::Configuration(format!("ElevenLabs URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url.into())
    }

    /// `{ws_base}/v1/convai/conversation?agent_id=…`: a public agent's conversation URL (no key
    /// needed; private agents refuse it).
    pub fn public_conversation_url(&self, agent_id: &str) -> Result<String, Error> {
        let agent_id = check_agent_id(agent_id)?;
        self.url(
            &self.ws_base,
            "/v1/convai/conversation",
            &[("agent_id", agent_id)],
        )
    }

    /// A signed conversation URL for a private agent (`GET
    /// /v1/convai/conversation/get-signed-url`). Use it at once: its lifetime is UNCONFIRMED.
    /// 404 is `NotFound` (no such agent for this key).
    pub async fn signed_url(&self, agent_id: &str) -> Result<String, Error> {
        let agent_id = check_agent_id(agent_id)?;
        let url = self.url(
            &self.api_base,
            "/v1/convai/conversation/get-signed-url",
            &[("agent_id", agent_id)],
        )?;
        let body = self.send(self.http.get(url)).await?;
        let answer: SignedUrlResponse = serde_json::from_str(&body)
            .map_err(|e| Error::Decode(format!("get-signed-url answer: {e}")))?;
        let scheme_ok =
            url::Url::parse(&answer.signed_url).is_ok_and(|u| matches!(u.scheme(), "ws" | "wss"));
        if !scheme_ok {
            return Err(Error::Decode(
                "get-signed-url answered something that is not a ws(s) URL".to_owned(),
            ));
        }
        Ok(answer.signed_url)
    }

    /// Starts a conversation with a private agent: a fresh signed URL, then
    /// [`crate::conversation::connect`] (init frame first, then waits for the metadata).
    pub async fn connect_agent(
        &self,
        agent_id: &str,
        init: &ConversationInitiation,
        options: ConversationOptions,
    ) -> Result<Conversation, Error> {
        let url = self.signed_url(agent_id).await?;
        connect(&url, init, options).await
    }

    /// Has ElevenLabs call `to_number` through its Twilio integration (`POST
    /// /v1/convai/twilio/outbound-call`). 422 is `Validation` with ElevenLabs' message; a 2xx
    /// with `success: false` is `Rejected` (status 200) carrying its `message`.
    pub async fn outbound_call(&self, call: &OutboundCall) -> Result<OutboundCallResponse, Error> {
        check_agent_id(&call.agent_id)?;
        let url = self.url(&self.api_base, "/v1/convai/twilio/outbound-call", &[])?;
        let body = self.send(self.http.post(url).json(call)).await?;
        let answer: OutboundCallResponse = serde_json::from_str(&body)
            .map_err(|e| Error::Decode(format!("outbound-call answer: {e}")))?;
        if !answer.success {
            return Err(Error::Rejected {
                status: 200,
                message: answer.message,
            });
        }
        Ok(answer)
    }

    /// Sends with the key and timeout; the body of a 2xx, or the classified error.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<String, Error> {
        let response = request
            .header(API_KEY_HEADER, &self.api_key)
            .header(http::header::ACCEPT, "application/json")
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| Error::from_transport(&e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .text()
            .await
            .map_err(|e| Error::from_transport(&e))?;
        if !(200..300).contains(&status) {
            let error = Error::from_response(status, retry_after.as_deref(), &body);
            tracing::warn!(status, error = %error, "ElevenLabs request failed");
            return Err(error);
        }
        Ok(body)
    }
}
