//! The six LiveKit settings in one value, as the api's config reads them (this crate reads no
//! environment variable): `LIVEKIT_API_URL`, `LIVEKIT_API_KEY`, `LIVEKIT_API_SECRET`,
//! `LIVEKIT_SIP_TRUNK_ID`, `LIVEKIT_AGENT_NAME` and `LIVEKIT_WEBHOOK_KEYS`.
//!
//! A missing setting is never a panic: [`Settings::missing`] names what a call would need (for
//! `/readyz` details), and each accessor answers `Error::Configuration` naming the variable when
//! the call is attempted. A tenant's own LiveKit connection is simply another `Settings`.

use std::fmt;

use crate::client::Client;
use crate::error::Error;
use crate::webhook::Receiver;

/// One LiveKit project's settings. `Debug` never shows the secret or the webhook keys.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `LIVEKIT_API_URL`: `https://…` or `wss://…` of the project.
    pub api_url: Option<String>,
    /// `LIVEKIT_API_KEY`.
    pub api_key: Option<String>,
    /// `LIVEKIT_API_SECRET`.
    pub api_secret: Option<String>,
    /// `LIVEKIT_SIP_TRUNK_ID`: the outbound trunk (`ST_…`) every dial goes through.
    pub sip_trunk_id: Option<String>,
    /// `LIVEKIT_AGENT_NAME`: the voice agent dispatched into each call's room.
    pub agent_name: Option<String>,
    /// `LIVEKIT_WEBHOOK_KEYS`: extra `key=secret` pairs whose webhooks are accepted too.
    pub webhook_keys: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Settings")
            .field("api_url", &self.api_url)
            .field("api_key", &self.api_key)
            .field("api_secret", &secret(&self.api_secret))
            .field("sip_trunk_id", &self.sip_trunk_id)
            .field("agent_name", &self.agent_name)
            .field("webhook_keys", &secret(&self.webhook_keys))
            .finish()
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Settings {
    /// The names of the settings a payment-reminder call needs that are unset or blank, in a
    /// stable order (empty: calls can be attempted). `LIVEKIT_WEBHOOK_KEYS` is optional.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("LIVEKIT_API_URL", &self.api_url),
            ("LIVEKIT_API_KEY", &self.api_key),
            ("LIVEKIT_API_SECRET", &self.api_secret),
            ("LIVEKIT_SIP_TRUNK_ID", &self.sip_trunk_id),
            ("LIVEKIT_AGENT_NAME", &self.agent_name),
        ]
        .into_iter()
        .filter(|(_, value)| present(value).is_none())
        .map(|(name, _)| name)
        .collect()
    }

    /// The Twirp client (URL, key and secret), sharing `http`'s pool.
    pub fn client(&self, http: reqwest::Client) -> Result<Client, Error> {
        Client::from_settings(
            http,
            present(&self.api_url),
            present(&self.api_key),
            present(&self.api_secret),
        )
    }

    /// The webhook receiver: the main key plus `LIVEKIT_WEBHOOK_KEYS`.
    pub fn receiver(&self) -> Result<Receiver, Error> {
        Receiver::from_settings(
            present(&self.api_key),
            present(&self.api_secret),
            present(&self.webhook_keys),
        )
    }

    /// The trunk id, or `Configuration` naming `LIVEKIT_SIP_TRUNK_ID`.
    pub fn sip_trunk_id(&self) -> Result<&str, Error> {
        present(&self.sip_trunk_id)
            .ok_or_else(|| Error::Configuration("LIVEKIT_SIP_TRUNK_ID is not set".to_owned()))
    }

    /// The agent name, or `Configuration` naming `LIVEKIT_AGENT_NAME`.
    pub fn agent_name(&self) -> Result<&str, Error> {
        present(&self.agent_name)
            .ok_or_else(|| Error::Configuration("LIVEKIT_AGENT_NAME is not set".to_owned()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn full() -> Settings {
        Settings {
            api_url: Some("wss://project.livekit.cloud".into()),
            api_key: Some("APIkey".into()),
            api_secret: Some("top-secret".into()),
            sip_trunk_id: Some("ST_1".into()),
            agent_name: Some("collector".into()),
            webhook_keys: Some("APIold=old-secret".into()),
        }
    }

    #[test]
    fn complete_settings_build_a_client_and_a_receiver() {
        let settings = full();
        assert!(settings.missing().is_empty());
        let client = settings.client(reqwest::Client::new()).unwrap();
        assert_eq!(client.base_url(), "https://project.livekit.cloud");
        assert_eq!(settings.receiver().unwrap().keys().len(), 2);
        assert_eq!(settings.sip_trunk_id().unwrap(), "ST_1");
        assert_eq!(settings.agent_name().unwrap(), "collector");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("top-secret") && !shown.contains("old-secret"));
    }

    #[test]
    fn missing_and_blank_settings_are_named_never_panicked_on() {
        let settings = Settings {
            api_secret: Some("  ".into()),
            sip_trunk_id: None,
            ..full()
        };
        assert_eq!(
            settings.missing(),
            ["LIVEKIT_API_SECRET", "LIVEKIT_SIP_TRUNK_ID"]
        );
        assert!(
            matches!(settings.client(reqwest::Client::new()), Err(Error::Configuration(m)) if m.contains("LIVEKIT_API_SECRET"))
        );
        assert!(
            matches!(settings.sip_trunk_id(), Err(Error::Configuration(m)) if m.contains("LIVEKIT_SIP_TRUNK_ID"))
        );
        assert_eq!(Settings::default().missing().len(), 5);
        assert!(Settings::default().receiver().is_err());
    }
}
