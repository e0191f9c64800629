//! The Stripe settings in one value, as the api's config reads them (this crate reads no
//! environment variable): `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` (several, for
//! rotation) and `STRIPE_API_BASE`.
//!
//! A missing setting is never a panic: [`Settings::missing`] names what billing needs (for
//! `/readyz` details), and [`Settings::client`]/[`Settings::receiver`] answer
//! `Error::Configuration` naming the variable.

use std::fmt;

use crate::client::{Client, DEFAULT_API_BASE};
use crate::error::Error;
use crate::webhook::Receiver;

/// One Stripe account's settings. `Debug` never shows the key or the webhook secrets.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `STRIPE_SECRET_KEY`: `sk_live_…`/`sk_test_…` (or a restricted `rk_…`).
    pub secret_key: Option<String>,
    /// `STRIPE_WEBHOOK_SECRET`: the endpoint's `whsec_…`; while one is rolled, the old and the
    /// new (see [`Settings::parse_webhook_secrets`] for the variable's format).
    pub webhook_secrets: Vec<String>,
    /// `STRIPE_API_BASE`: `https://api.stripe.com` when unset (the fake's URL in tests).
    pub api_base: Option<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "webhook_secrets",
                &format!("<{} redacted>", self.webhook_secrets.len()),
            )
            .field("api_base", &self.api_base)
            .finish()
    }
}

fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Settings {
    /// Settings with a key and one webhook secret, on Stripe's API.
    pub fn new(secret_key: &str, webhook_secret: &str) -> Self {
        Settings {
            secret_key: Some(secret_key.to_owned()),
            webhook_secrets: vec![webhook_secret.to_owned()],
            api_base: None,
        }
    }

    /// Reads the value of `STRIPE_WEBHOOK_SECRET`: secrets separated by commas and/or
    /// whitespace (a `whsec_…` contains neither), blanks dropped.
    pub fn parse_webhook_secrets(value: &str) -> Vec<String> {
        value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// The names of the required settings that are unset or blank, in a stable order (empty:
    /// billing works). `STRIPE_API_BASE` has a default.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if present(&self.secret_key).is_none() {
            missing.push("STRIPE_SECRET_KEY");
        }
        if !self.webhook_secrets.iter().any(|s| !s.trim().is_empty()) {
            missing.push("STRIPE_WEBHOOK_SECRET");
        }
        missing
    }

    /// The API base in use.
    pub fn api_base(&self) -> &str {
        present(&self.api_base).unwrap_or(DEFAULT_API_BASE)
    }

    /// The client.
    pub fn client(&self) -> Result<Client, Error> {
        let key = present(&self.secret_key)
            .ok_or_else(|| Error::Configuration("STRIPE_SECRET_KEY is not set".to_owned()))?;
        Client::new(self.api_base(), key)
    }

    /// The webhook receiver, with every non-blank secret.
    pub fn receiver(&self) -> Result<Receiver, Error> {
        let secrets: Vec<String> = self
            .webhook_secrets
            .iter()
            .filter(|s| !s.trim().is_empty())
            .cloned()
            .collect();
        Receiver::new(secrets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_names_the_unset_required_settings() {
        assert_eq!(
            Settings::default().missing(),
            vec!["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"]
        );
        let blank = Settings {
            secret_key: Some(" ".into()),
            webhook_secrets: vec!["".into(), "whsec_a".into()],
            api_base: None,
        };
        assert_eq!(blank.missing(), vec!["STRIPE_SECRET_KEY"]);
        assert!(matches!(blank.client(), Err(Error::Configuration(_))));
        assert!(blank.receiver().is_ok());
        assert!(Settings::new("sk_test_x", "whsec_x").missing().is_empty());
        assert!(matches!(
            Settings::default().receiver(),
            Err(Error::Configuration(_))
        ));
    }

    #[test]
    fn webhook_secrets_are_split_on_commas_and_spaces() {
        assert_eq!(
            Settings::parse_webhook_secrets(" whsec_a, whsec_b\nwhsec_c,, "),
            vec!["whsec_a", "whsec_b", "whsec_c"]
        );
        assert!(Settings::parse_webhook_secrets(" , ").is_empty());
    }

    #[test]
    fn api_base_defaults_and_debug_hides_secrets() {
        assert_eq!(Settings::default().api_base(), DEFAULT_API_BASE);
        let settings = Settings::new("sk_test_hidden", "whsec_hidden");
        let shown = format!("{settings:?}");
        assert!(!shown.contains("sk_test_hidden") && !shown.contains("whsec_hidden"));
    }
}
