//! The Graph webhook subscription handshake, shared by Messenger, Instagram and WhatsApp
//! (platforms.md §4 "Webhooks. Verify", §5 "same GET verify"):
//! `GET ?hub.mode=subscribe&hub.verify_token=<yours>&hub.challenge=<x>` is answered `200` with the
//! raw challenge as the body only when the token is the tenant's; anything else gets `403`.
//!
//! This module decides; it does no IO. The api's shim deserialises the query into
//! [`HubChallenge`] (axum `Query<HubChallenge>` works as is) and writes the answer.

use serde::Deserialize;
use subtle::ConstantTimeEq;

/// The query Graph sends to verify a callback URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct HubChallenge {
    /// `hub.mode`, always `subscribe` from Graph.
    #[serde(rename = "hub.mode")]
    pub mode: Option<String>,
    /// `hub.verify_token`: the token the tenant typed into the app dashboard.
    #[serde(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    /// `hub.challenge`: the value to echo back.
    #[serde(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// Why a subscription handshake is refused (answer `403`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionRefused {
    /// The tenant has no verify token configured: we never accept an empty one.
    #[error("no verify token is configured")]
    NoTokenConfigured,
    /// `hub.mode` is absent or not `subscribe`.
    #[error("hub.mode is not `subscribe`")]
    WrongMode,
    /// `hub.challenge` is absent or empty.
    #[error("hub.challenge is missing")]
    MissingChallenge,
    /// `hub.verify_token` is absent or not the configured one.
    #[error("hub.verify_token does not match")]
    TokenMismatch,
}

impl HubChallenge {
    /// Builds the query from decoded `(name, value)` pairs (names as Graph sends them,
    /// `hub.mode`...); unknown names are ignored.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let mut query = Self::default();
        for (name, value) in pairs {
            match name.as_ref() {
                "hub.mode" => query.mode = Some(value.into()),
                "hub.verify_token" => query.verify_token = Some(value.into()),
                "hub.challenge" => query.challenge = Some(value.into()),
                _ => {}
            }
        }
        query
    }

    /// The body to answer with `200` (the raw challenge), or why to answer `403`. The token is
    /// compared in constant time: it is a shared secret.
    pub fn answer(&self, expected_token: &str) -> Result<&str, SubscriptionRefused> {
        if expected_token.is_empty() {
            return Err(SubscriptionRefused::NoTokenConfigured);
        }
        if self.mode.as_deref() != Some("subscribe") {
            return Err(SubscriptionRefused::WrongMode);
        }
        let challenge = self
            .challenge
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(SubscriptionRefused::MissingChallenge)?;
        let token = self.verify_token.as_deref().unwrap_or_default();
        if bool::from(token.as_bytes().ct_eq(expected_token.as_bytes())) {
            Ok(challenge)
        } else {
            Err(SubscriptionRefused::TokenMismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(mode: &str, token: &str, challenge: &str) -> HubChallenge {
        HubChallenge::from_pairs([
            ("hub.mode", mode),
            ("hub.verify_token", token),
            ("hub.challenge", challenge),
            ("other", "ignored"),
        ])
    }

    #[test]
    fn the_challenge_is_echoed_only_for_the_right_token() {
        assert_eq!(
            query("subscribe", "tok", "1158201444").answer("tok"),
            Ok("1158201444")
        );
        assert_eq!(
            query("subscribe", "nope", "1158201444").answer("tok"),
            Err(SubscriptionRefused::TokenMismatch)
        );
        assert_eq!(
            query("subscribe", "to", "1158201444").answer("tok"),
            Err(SubscriptionRefused::TokenMismatch)
        );
    }

    #[test]
    fn wrong_mode_missing_challenge_and_empty_token_are_refused() {
        assert_eq!(
            query("unsubscribe", "tok", "c").answer("tok"),
            Err(SubscriptionRefused::WrongMode)
        );
        assert_eq!(
            query("subscribe", "tok", "").answer("tok"),
            Err(SubscriptionRefused::MissingChallenge)
        );
        assert_eq!(
            query("subscribe", "", "c").answer(""),
            Err(SubscriptionRefused::NoTokenConfigured)
        );
        assert_eq!(
            HubChallenge::default().answer("tok"),
            Err(SubscriptionRefused::WrongMode)
        );
    }

    #[test]
    fn the_query_deserialises_from_graphs_dotted_names() {
        let parsed: HubChallenge = serde_json::from_value(serde_json::json!({
            "hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "42"
        }))
        .unwrap_or_default();
        assert_eq!(parsed, query("subscribe", "tok", "42"));
    }
}
