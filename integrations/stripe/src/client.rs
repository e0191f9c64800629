//! The Stripe REST calls billing needs, through async-stripe's 1.0 line (see the crate docs for
//! why): one method per operation, typed results in [`crate::models`], errors classified by
//! [`Error::from_stripe`].
//!
//! - `POST /v1/customers` ([`Client::create_customer`]),
//! - `POST /v1/checkout/sessions` with `mode=subscription` ([`Client::create_checkout_session`]),
//! - `POST /v1/billing_portal/sessions` ([`Client::create_billing_portal_session`]),
//! - `GET /v1/subscriptions/{id}` ([`Client::retrieve_subscription`]),
//! - `POST /v1/billing/meter_events` ([`Client::report_usage`]).
//!
//! async-stripe sends `Authorization: Bearer sk_…`, the `Stripe-Version` it was generated for
//! ([`STRIPE_VERSION`]), form-encoded bodies in bracket syntax, and — because every POST here
//! runs with `RequestStrategy::Idempotent` — the caller's `Idempotency-Key`. It never retries
//! (the job queue does, guided by `is_retryable`, with the same key). The client keeps no
//! per-call state, so one client serves every tenant of the account.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use stripe::{Client as StripeHttp, ClientBuilder};
use stripe_billing::billing_meter_event::CreateBillingMeterEvent;
use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_billing::subscription::RetrieveSubscription;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
};
use stripe_client_core::{IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_core::customer::CreateCustomer;
use stripe_shared::CheckoutSessionMode;

use crate::error::Error;
use crate::models::{
    period_end, BillingPortalSession, BillingPortalSessionRequest, CheckoutSession,
    CheckoutSessionRequest, Customer, MeterEvent, MeterEventRecorded, Subscription,
    SubscriptionItem, SubscriptionStatus,
};

/// Stripe's API base (without `/v1`).
pub const DEFAULT_API_BASE: &str = "https://api.stripe.com";
/// How long one request may take before it is a `Transport` timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The `Stripe-Version` every request carries: the version async-stripe's types were
/// generated from, so what Stripe answers is what they decode.
pub const STRIPE_VERSION: &str = "2026-09-30.endive";

/// A Stripe client for one secret key.
#[derive(Clone)]
pub struct Client {
    http: StripeHttp,
    api_base: String,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_base", &self.api_base)
            .field("secret_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Checks a Stripe id before it goes into a URL path: async-stripe formats ids into paths
/// without escaping, so `sub_1/../customers` would reach another endpoint.
fn check_id(value: &str, what: &str) -> Result<(), Error> {
    let ok = !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Configuration(format!("{what} is not a Stripe id")))
    }
}

fn idempotency(key: &str) -> Result<RequestStrategy, Error> {
    // Stripe allows up to 255 characters; async-stripe refuses empty and longer keys.
    IdempotencyKey::new(key.trim())
        .map(RequestStrategy::Idempotent)
        .map_err(|e| Error::Configuration(format!("idempotency key: {e}")))
}

/// `https://api.stripe.com` or a fake's `http://127.0.0.1:port`, normalised to end in `/`
/// (async-stripe appends `v1/…` to it as-is).
fn api_base(value: &str) -> Result<String, Error> {
    let value = value.trim();
    let parsed = url::Url::parse(value)
        .map_err(|e| Error::Configuration(format!("STRIPE_API_BASE: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.query().is_some()
        || parsed.fragment().is_some()
        || !parsed.username().is_empty()
    {
        return Err(Error::Configuration(
            "STRIPE_API_BASE must be an http(s) URL without query, fragment or user".to_owned(),
        ));
    }
    let base = value.trim_end_matches('/');
    if base.ends_with("/v1") {
        return Err(Error::Configuration(
            "STRIPE_API_BASE must not end in /v1 (the client adds it)".to_owned(),
        ));
    }
    Ok(format!("{base}/"))
}

impl Client {
    /// A client on `api_base` (`https://api.stripe.com`, no `/v1`) with `secret_key`
    /// (`sk_…` or a restricted `rk_…`). `Configuration` if the base is not an http(s) URL or
    /// the key is blank or not a header value.
    pub fn new(api_base_url: &str, secret_key: &str) -> Result<Self, Error> {
        let api_base = api_base(api_base_url)?;
        let secret_key = secret_key.trim();
        if secret_key.is_empty() {
            return Err(Error::Configuration(
                "STRIPE_SECRET_KEY is not set".to_owned(),
            ));
        }
        let http = ClientBuilder::new(secret_key)
            .url(api_base.clone())
            // Never retry inside the library: a retry is the job queue's decision.
            .request_strategy(RequestStrategy::Once)
            .build()
            .map_err(Error::from_stripe)?;
        Ok(Client {
            http,
            api_base,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Sets the per-request timeout (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The API base in use, ending in `/`.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }

    /// Sends `request` with the timeout and, for a POST, the idempotency key.
    async fn send<R>(&self, request: &R, key: Option<&str>) -> Result<R::Output, Error>
    where
        R: StripeRequest,
        R::Output: miniserde::Deserialize,
    {
        let mut customized = request.customize().timeout(self.timeout);
        if let Some(key) = key {
            customized = customized.request_strategy(idempotency(key)?);
        }
        customized.send(&self.http).await.map_err(|e| {
            let error = Error::from_stripe(e);
            tracing::warn!(error = %error, retryable = error.is_retryable(), "Stripe request failed");
            error
        })
    }

    /// Creates the customer of one tenant (`metadata[tenant_id]`). Use a key derived from the
    /// tenant (`customer:<tenant_id>`) so a retry finds the first customer instead of making a
    /// second.
    pub async fn create_customer(
        &self,
        tenant_id: &str,
        email: Option<&str>,
        name: Option<&str>,
        idempotency_key: &str,
    ) -> Result<Customer, Error> {
        let mut metadata = HashMap::new();
        metadata.insert("tenant_id".to_owned(), tenant_id.to_owned());
        let mut request = CreateCustomer::new().metadata(metadata);
        if let Some(email) = email {
            request = request.email(email);
        }
        if let Some(name) = name {
            request = request.name(name);
        }
        let customer = self.send(&request, Some(idempotency_key)).await?;
        Ok(Customer {
            id: customer.id.as_str().to_owned(),
            email: customer.email,
            name: customer.name,
            metadata: customer.metadata.unwrap_or_default().into_iter().collect(),
            created: customer.created,
            livemode: customer.livemode,
        })
    }

    /// Creates a subscription Checkout Session for an existing customer. Metered line items
    /// go without quantity. `Decode` if Stripe answers a session without a `url`.
    pub async fn create_checkout_session(
        &self,
        session: &CheckoutSessionRequest,
    ) -> Result<CheckoutSession, Error> {
        check_id(&session.customer, "customer")?;
        if session.line_items.is_empty() {
            return Err(Error::Configuration(
                "a Checkout Session needs at least one line item".to_owned(),
            ));
        }
        let line_items: Vec<CreateCheckoutSessionLineItems> = session
            .line_items
            .iter()
            .map(|item| {
                let mut line = CreateCheckoutSessionLineItems::new();
                line.price = Some(item.price.clone());
                line.quantity = item.quantity;
                line
            })
            .collect();
        let metadata: HashMap<String, String> = session.metadata.clone().into_iter().collect();
        let mut subscription_data = CreateCheckoutSessionSubscriptionData::new();
        subscription_data.metadata = Some(metadata.clone());
        let mut request = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Subscription)
            .customer(session.customer.as_str())
            .line_items(line_items)
            .success_url(session.success_url.as_str())
            .cancel_url(session.cancel_url.as_str())
            .metadata(metadata)
            .subscription_data(subscription_data);
        if let Some(reference) = &session.client_reference_id {
            request = request.client_reference_id(reference.as_str());
        }
        let created = self.send(&request, Some(&session.idempotency_key)).await?;
        let url = created.url.ok_or_else(|| {
            Error::Decode("Checkout Session without a url (not a hosted session?)".to_owned())
        })?;
        Ok(CheckoutSession {
            id: created.id.as_str().to_owned(),
            url,
            expires_at: created.expires_at,
        })
    }

    /// Creates a billing portal session (the customer manages payment methods, invoices and
    /// cancellation on Stripe's page).
    pub async fn create_billing_portal_session(
        &self,
        session: &BillingPortalSessionRequest,
    ) -> Result<BillingPortalSession, Error> {
        check_id(&session.customer, "customer")?;
        let request = CreateBillingPortalSession::new()
            .customer(session.customer.as_str())
            .return_url(session.return_url.as_str());
        let created = self.send(&request, Some(&session.idempotency_key)).await?;
        Ok(BillingPortalSession {
            id: created.id.as_str().to_owned(),
            url: created.url,
        })
    }

    /// The current state of a subscription. 404 is `NotFound`.
    pub async fn retrieve_subscription(&self, id: &str) -> Result<Subscription, Error> {
        check_id(id, "subscription id")?;
        let request = RetrieveSubscription::new(id);
        let sub = self.send(&request, None).await?;
        let items: Vec<SubscriptionItem> = sub
            .items
            .data
            .into_iter()
            .map(|item| {
                let recurring = item.price.recurring.as_ref();
                SubscriptionItem {
                    id: item.id.as_str().to_owned(),
                    price: item.price.id.as_str().to_owned(),
                    product: Some(item.price.product.id().as_str().to_owned()),
                    quantity: item.quantity,
                    interval: recurring.map(|r| r.interval.as_str().to_owned()),
                    usage_type: recurring.map(|r| r.usage_type.as_str().to_owned()),
                    current_period_start: Some(item.current_period_start),
                    current_period_end: Some(item.current_period_end),
                }
            })
            .collect();
        Ok(Subscription {
            id: sub.id.as_str().to_owned(),
            status: SubscriptionStatus::parse(sub.status.as_str()),
            customer: sub.customer.id().as_str().to_owned(),
            // The pinned version has no subscription-level period (basil moved it to items).
            current_period_end: period_end(None, &items),
            cancel_at_period_end: sub.cancel_at_period_end,
            cancel_at: sub.cancel_at,
            canceled_at: sub.canceled_at,
            ended_at: sub.ended_at,
            trial_end: sub.trial_end,
            items,
            metadata: sub.metadata.into_iter().collect(),
            created: sub.created,
            start_date: Some(sub.start_date),
            livemode: sub.livemode,
        })
    }

    /// Reports usage as a billing meter event (`payload[stripe_customer_id]`,
    /// `payload[value]`), with `identifier` also as the `Idempotency-Key`: a retry replays the
    /// first answer, and Stripe deduplicates the identifier on its side as well.
    pub async fn report_usage(&self, event: &MeterEvent) -> Result<MeterEventRecorded, Error> {
        check_id(&event.stripe_customer_id, "stripe_customer_id")?;
        if event.event_name.trim().is_empty() {
            return Err(Error::Configuration("meter event_name is empty".to_owned()));
        }
        let mut payload = HashMap::new();
        payload.insert(
            "stripe_customer_id".to_owned(),
            event.stripe_customer_id.clone(),
        );
        payload.insert("value".to_owned(), event.value.to_string());
        let request = CreateBillingMeterEvent::new(event.event_name.as_str(), payload)
            .identifier(event.identifier.as_str())
            .timestamp(event.timestamp);
        let recorded = self.send(&request, Some(&event.identifier)).await?;
        Ok(MeterEventRecorded {
            event_name: recorded.event_name,
            identifier: recorded.identifier,
            timestamp: recorded.timestamp,
            payload: recorded.payload.into_iter().collect::<BTreeMap<_, _>>(),
            livemode: recorded.livemode,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_version_is_async_stripes() {
        assert_eq!(stripe_client_core::VERSION.as_str(), STRIPE_VERSION);
    }

    #[test]
    fn api_base_is_normalised_and_checked() {
        assert_eq!(
            api_base("https://api.stripe.com").unwrap(),
            "https://api.stripe.com/"
        );
        assert_eq!(
            api_base("http://127.0.0.1:9/").unwrap(),
            "http://127.0.0.1:9/"
        );
        assert_eq!(
            api_base("http://proxy/stripe").unwrap(),
            "http://proxy/stripe/"
        );
        for bad in [
            "",
            "ftp://x",
            "https://api.stripe.com/v1",
            "http://x?a=b",
            "not a url",
        ] {
            assert!(api_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_that_could_change_the_path_are_refused() {
        assert!(check_id("sub_1NqX2b", "id").is_ok());
        for bad in [
            "",
            "sub_1/../customers",
            "sub 1",
            "sub_1?expand=x",
            "sub_%2F",
        ] {
            assert!(check_id(bad, "id").is_err(), "{bad}");
        }
    }

    #[test]
    fn blank_key_is_a_configuration_error() {
        assert!(matches!(
            Client::new(DEFAULT_API_BASE, "  "),
            Err(Error::Configuration(_))
        ));
        let client = Client::new(DEFAULT_API_BASE, "sk_test_secret").unwrap();
        assert!(!format!("{client:?}").contains("sk_test_secret"));
    }
}
