//! The Stripe client and webhook receiver of this process, built once at start from the
//! config (a leaf type, so `AppState` can hold it without importing the billing use cases).
//! Must not: decide anything about tenants or plans.

use crate::config::Config;

/// Both halves are optional: without `STRIPE_SECRET_KEY` billing is off (no client); without
/// `STRIPE_WEBHOOK_SECRET` every delivery is refused (no receiver), never accepted unverified.
#[derive(Debug, Clone, Default)]
pub struct StripeClients {
    client: Option<leadline_stripe::Client>,
    receiver: Option<leadline_stripe::Receiver>,
}

impl StripeClients {
    /// Builds what the config allows; a malformed setting stops the start (the config checked
    /// it already, so this only repeats the check).
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let client = if config.billing_enabled() {
            Some(config.stripe.client().map_err(|e| anyhow::anyhow!("{e}"))?)
        } else {
            None
        };
        let receiver = if config.stripe.webhook_secrets.is_empty() {
            None
        } else {
            Some(
                config
                    .stripe
                    .receiver()
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            )
        };
        Ok(StripeClients { client, receiver })
    }

    /// The REST client (`None`: billing is off).
    pub fn client(&self) -> Option<&leadline_stripe::Client> {
        self.client.as_ref()
    }

    /// The webhook receiver (`None`: no `STRIPE_WEBHOOK_SECRET`).
    pub fn receiver(&self) -> Option<&leadline_stripe::Receiver> {
        self.receiver.as_ref()
    }
}
