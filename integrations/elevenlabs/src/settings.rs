//! The ElevenLabs settings in one value, as the api's config reads them (this crate reads no
//! environment variable): `ELEVENLABS_API_KEY`, `ELEVENLABS_API_BASE`, `ELEVENLABS_WS_BASE` and
//! `ELEVENLABS_WEBHOOK_SECRET`.
//!
//! A missing setting is never a panic: [`Settings::missing`] names what calls and webhooks need
//! (for `/readyz` details), and [`Settings::client`]/[`Settings::receiver`] answer
//! `Error::Configuration` naming the variable. A tenant's own ElevenLabs key is simply another
//! `Settings`.

use std::fmt;

use crate::client::{Client, DEFAULT_API_BASE, DEFAULT_WS_BASE};
use crate::error::Error;
use crate::webhook::Receiver;

/// One ElevenLabs account's settings. `Debug` never shows the API key or the webhook secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `ELEVENLABS_API_KEY`: sent as `xi-api-key`.
    pub api_key: Option<String>,
    /// `ELEVENLABS_API_BASE`: `https://api.elevenlabs.io` when unset (the fake's URL in tests).
    pub api_base: Option<String>,
    /// `ELEVENLABS_WS_BASE`: where public-agent conversations connect. When unset it follows
    /// `api_base` (`http` → `ws`, `https` → `wss`), so pointing `ELEVENLABS_API_BASE` at a fake
    /// moves both; `wss://api.elevenlabs.io` when both are unset.
    pub ws_base: Option<String>,
    /// `ELEVENLABS_WEBHOOK_SECRET`: verifies `ElevenLabs-Signature` on post-call webhooks.
    pub webhook_secret: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Settings")
            .field("api_key", &secret(&self.api_key))
            .field("api_base", &self.api_base)
            .field("ws_base", &self.ws_base)
            .field("webhook_secret", &secret(&self.webhook_secret))
            .finish()
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Settings {
    /// Settings with the API key and webhook secret, on the production endpoints.
    pub fn new(api_key: &str, webhook_secret: &str) -> Self {
        Settings {
            api_key: Some(api_key.to_owned()),
            webhook_secret: Some(webhook_secret.to_owned()),
            ..Settings::default()
        }
    }

    /// The names of the required settings that are unset or blank, in a stable order (empty:
    /// conversations can be started and webhooks verified). The two bases have defaults.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("ELEVENLABS_API_KEY", &self.api_key),
            ("ELEVENLABS_WEBHOOK_SECRET", &self.webhook_secret),
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

    /// The WebSocket base URL in use (see [`Settings::ws_base`] the field).
    pub fn ws_base(&self) -> String {
        if let Some(ws) = present(&self.ws_base) {
            return ws.to_owned();
        }
        match present(&self.api_base) {
            Some(api) => {
                if let Some(rest) = api.strip_prefix("https://") {
                    format!("wss://{rest}")
                } else if let Some(rest) = api.strip_prefix("http://") {
                    format!("ws://{rest}")
                } else {
                    api.to_owned()
                }
            }
            None => DEFAULT_WS_BASE.to_owned(),
        }
    }

    /// The client, sharing `http`'s pool.
    pub fn client(&self, http: reqwest::Client) -> Result<Client, Error> {
        let key = present(&self.api_key)
            .ok_or_else(|| Error::Configuration("ELEVENLABS_API_KEY is not set".to_owned()))?;
        Client::new(http, self.api_base(), &self.ws_base(), key)
    }

    /// The post-call webhook receiver.
    pub fn receiver(&self) -> Result<Receiver, Error> {
        let secret = present(&self.webhook_secret).ok_or_else(|| {
            Error::Configuration("ELEVENLABS_WEBHOOK_SECRET is not set".to_owned())
        })?;
        Receiver::new(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_names_the_unset_required_settings() {
        assert_eq!(
            Settings::default().missing(),
            vec!["ELEVENLABS_API_KEY", "ELEVENLABS_WEBHOOK_SECRET"]
        );
        let blank = Settings {
            api_key: Some("  ".into()),
            webhook_secret: Some("wsec".into()),
            ..Settings::default()
        };
        assert_eq!(blank.missing(), vec!["ELEVENLABS_API_KEY"]);
        assert!(Settings::new("k", "s").missing().is_empty());
        assert!(matches!(
            blank.client(reqwest::Client::new()),
            Err(Error::Configuration(_))
        ));
    }

    #[test]
    fn ws_base_follows_api_base_unless_set() {
        assert_eq!(Settings::default().ws_base(), DEFAULT_WS_BASE);
        assert_eq!(Settings::default().api_base(), DEFAULT_API_BASE);
        let fake = Settings {
            api_base: Some("http://127.0.0.1:9".into()),
            ..Settings::default()
        };
        assert_eq!(fake.ws_base(), "ws://127.0.0.1:9");
        let both = Settings {
            api_base: Some("https://eu.example".into()),
            ws_base: Some("wss://ws.example".into()),
            ..Settings::default()
        };
        assert_eq!(both.ws_base(), "wss://ws.example");
        assert!(!format!("{:?}", Settings::new("sk_secret", "wsec")).contains("sk_secret"));
    }
}
