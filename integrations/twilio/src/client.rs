//! The Calls REST API (platforms.md §6): `https://api.twilio.com/2010-04-01`, HTTP Basic
//! `AccountSid:AuthToken`, form bodies, JSON answers. One method per operation, typed results;
//! non-2xx answers are classified by [`Error::from_response`]. The client never retries.

use std::time::Duration;

use crate::error::Error;
use crate::messaging::{CreateMessage, Message, MAX_BODY_CHARS};
use crate::models::{Call, CreateCall, UpdateCall};

/// Twilio's REST base URL.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// The API version every Voice path starts with.
pub const API_VERSION: &str = "2010-04-01";
/// How long one request may take before it is a `Transient` timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// A Twilio REST client for one account.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .finish()
    }
}

/// Whether `value` is a Twilio resource id: two letters then 32 hex digits, or (as the fake and
/// older docs have) any run of ASCII letters and digits. Refusing anything else keeps a value
/// from rewriting the request path.
fn is_sid(value: &str) -> bool {
    value.len() >= 2 && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `number` is E.164: `+`, then 2 to 15 digits, the first not zero.
pub fn is_e164(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

impl Client {
    /// A client on `base_url` (no trailing path; `https://api.twilio.com` in production),
    /// sharing `http`'s pool. `Configuration` if a value is blank or the SID is malformed.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        account_sid: &str,
        auth_token: &str,
    ) -> Result<Self, Error> {
        let base_url = base_url.trim().trim_end_matches('/');
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Configuration(
                "TWILIO_API_BASE must be an http(s) URL".to_owned(),
            ));
        }
        if !is_sid(account_sid.trim()) {
            return Err(Error::Configuration(
                "TWILIO_ACCOUNT_SID is not set or not an account SID".to_owned(),
            ));
        }
        if auth_token.trim().is_empty() {
            return Err(Error::Configuration(
                "TWILIO_AUTH_TOKEN is not set".to_owned(),
            ));
        }
        Ok(Client {
            http,
            base_url: base_url.to_owned(),
            account_sid: account_sid.trim().to_owned(),
            auth_token: auth_token.trim().to_owned(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets the per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The account SID.
    pub fn account_sid(&self) -> &str {
        &self.account_sid
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn calls_url(&self) -> String {
        format!(
            "{}/{API_VERSION}/Accounts/{}/Calls.json",
            self.base_url, self.account_sid
        )
    }

    fn call_url(&self, call_sid: &str) -> Result<String, Error> {
        if !is_sid(call_sid) {
            return Err(Error::Rejected {
                status: 0,
                code: None,
                message: "not a call SID".to_owned(),
            });
        }
        Ok(format!(
            "{}/{API_VERSION}/Accounts/{}/Calls/{call_sid}.json",
            self.base_url, self.account_sid
        ))
    }

    /// Places a call (`POST …/Calls.json`, 201). `To` must be E.164 or a `client:`/`sip:`
    /// address; a malformed number is refused before sending.
    pub async fn create_call(&self, call: &CreateCall) -> Result<Call, Error> {
        let to = call.to.trim();
        if !(is_e164(to) || to.starts_with("client:") || to.starts_with("sip:")) {
            return Err(Error::InvalidPhoneNumber(format!(
                "'{to}' is not an E.164 number"
            )));
        }
        let form = call.to_form();
        let request = self.http.post(self.calls_url()).form(&form);
        self.send(request).await
    }

    /// Changes a live call (`POST …/Calls/{CallSid}.json`): new TwiML (transfer), a URL, or
    /// `Status=completed`/`canceled`.
    pub async fn update_call(&self, call_sid: &str, update: &UpdateCall) -> Result<Call, Error> {
        let url = self.call_url(call_sid)?;
        let form = update.to_form();
        self.send(self.http.post(url).form(&form)).await
    }

    /// Hangs up an answered call (`Status=completed`).
    pub async fn complete_call(&self, call_sid: &str) -> Result<Call, Error> {
        self.update_call(call_sid, &UpdateCall::Complete).await
    }

    /// Fetches a call (`GET …/Calls/{CallSid}.json`).
    pub async fn fetch_call(&self, call_sid: &str) -> Result<Call, Error> {
        let url = self.call_url(call_sid)?;
        self.send(self.http.get(url)).await
    }

    /// Sends a text message (`POST …/Messages.json`, 201). `To` must be E.164 and the body 1 to
    /// 1,600 characters; otherwise it is refused before sending.
    pub async fn create_message(&self, message: &CreateMessage) -> Result<Message, Error> {
        let to = message.to.trim();
        if !is_e164(to) {
            return Err(Error::InvalidPhoneNumber(format!(
                "'{to}' is not an E.164 number"
            )));
        }
        let chars = message.body.chars().count();
        if chars == 0 || chars > MAX_BODY_CHARS {
            return Err(Error::Rejected {
                status: 0,
                code: None,
                message: format!("a message body is 1 to {MAX_BODY_CHARS} characters"),
            });
        }
        let url = format!(
            "{}/{API_VERSION}/Accounts/{}/Messages.json",
            self.base_url, self.account_sid
        );
        self.send(self.http.post(url).form(&message.to_form()))
            .await
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, Error> {
        let response = request
            .basic_auth(&self.account_sid, Some(&self.auth_token))
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
            tracing::warn!(status, error = %error, "Twilio request failed");
            return Err(error);
        }
        serde_json::from_str(&body).map_err(|e| Error::Decode(format!("resource: {e}")))
    }
}
