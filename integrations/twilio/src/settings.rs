//! The Twilio settings in one value, as the api's config reads them (this crate reads no
//! environment variable): `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_API_BASE` and the
//! request timeout.
//!
//! A missing setting is never a panic: [`Settings::missing`] names what calls need (for
//! `/readyz` details), and [`Settings::client`]/[`Settings::receiver`] answer
//! `Error::Configuration` naming the variable. A tenant's own Twilio connection is simply another
//! `Settings`.

use std::fmt;
use std::time::Duration;

use crate::client::{Client, DEFAULT_API_BASE, DEFAULT_TIMEOUT};
use crate::error::Error;
use crate::webhook::Receiver;

/// One Twilio account's settings. `Debug` never shows the auth token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `TWILIO_ACCOUNT_SID` (`AC…`).
    pub account_sid: Option<String>,
    /// `TWILIO_AUTH_TOKEN`: authenticates REST calls and signs webhooks.
    pub auth_token: Option<String>,
    /// `TWILIO_API_BASE`: `https://api.twilio.com` when unset (the fake's URL in tests).
    pub api_base: Option<String>,
    /// How long one REST request may take (`TWILIO_HTTP_TIMEOUT_MS` in the api);
    /// [`crate::client::DEFAULT_TIMEOUT`] when unset.
    pub timeout: Option<Duration>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("account_sid", &self.account_sid)
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Settings {
    /// The names of the required settings that are unset or blank, in a stable order (empty:
    /// calls can be placed and webhooks verified). `TWILIO_API_BASE` has a default.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("TWILIO_ACCOUNT_SID", &self.account_sid),
            ("TWILIO_AUTH_TOKEN", &self.auth_token),
        ]
        .into_iter()
        .filter(|(_, value)| present(value).is_none())
        .map(|(name, _)| name)
        .collect()
    }

    /// The REST base URL in use.
    pub fn api_base(&self) -> &str {
        present(&self.api_base).unwrap_or(DEFAULT_API_BASE)
    }

    /// The REST client, sharing `http`'s pool.
    pub fn client(&self, http: reqwest::Client) -> Result<Client, Error> {
        let sid = present(&self.account_sid)
            .ok_or_else(|| Error::Configuration("TWILIO_ACCOUNT_SID is not set".to_owned()))?;
        let token = present(&self.auth_token)
            .ok_or_else(|| Error::Configuration("TWILIO_AUTH_TOKEN is not set".to_owned()))?;
        Client::new(
            http,
            self.api_base(),
            sid,
            token,
            self.timeout.unwrap_or(DEFAULT_TIMEOUT),
        )
    }

    /// The webhook receiver: the auth token, and the account SID webhooks must carry when set.
    pub fn receiver(&self) -> Result<Receiver, Error> {
        let token = present(&self.auth_token)
            .ok_or_else(|| Error::Configuration("TWILIO_AUTH_TOKEN is not set".to_owned()))?;
        let receiver = Receiver::new(token)?;
        Ok(match present(&self.account_sid) {
            Some(sid) => receiver.with_account_sid(sid),
            None => receiver,
        })
    }
}
