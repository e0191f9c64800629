//! The fake's webhook half: event bodies in Stripe's envelope (platforms.md §9, `api_version`
//! = the pinned version) and a sender that signs them exactly as Stripe does
//! (`Stripe-Signature: t=<unix s>,v1=<hex>` per active secret) and POSTs them.

use serde_json::{json, Value};

use super::{now, objects, FakeStripe, Shared, State};
use crate::client::STRIPE_VERSION;
use crate::webhook::{signature_header, SIGNATURE_HEADER};

/// Why the fake could not build or deliver something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FakeError {
    /// No object with this id in the fake.
    #[error("the fake has no object {0}")]
    Unknown(String),
    /// The POST did not reach the receiver.
    #[error("webhook delivery failed: {0}")]
    Delivery(String),
}

/// Wraps `object` in an event envelope of `kind`.
pub(crate) fn event(
    shared: &Shared,
    state: &mut State,
    kind: &str,
    object: Value,
    previous_attributes: Option<Value>,
) -> Value {
    let id = shared.new_id(state, "evt_");
    let mut data = json!({ "object": object });
    if let Some(previous) = previous_attributes {
        data["previous_attributes"] = previous;
    }
    json!({
        "id": id,
        "object": "event",
        "api_version": STRIPE_VERSION,
        "created": now(),
        "data": data,
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind
    })
}

impl FakeStripe {
    /// A `checkout.session.completed` event for a session (as it is now; see
    /// [`FakeStripe::complete_checkout`], which also returns one).
    pub fn checkout_session_completed_event(&self, session_id: &str) -> Result<Value, FakeError> {
        let mut state = self.shared.lock();
        let session = state
            .sessions
            .get(session_id)
            .cloned()
            .ok_or_else(|| FakeError::Unknown(session_id.to_owned()))?;
        Ok(event(
            &self.shared,
            &mut state,
            "checkout.session.completed",
            session,
            None,
        ))
    }

    /// A `customer.subscription.{created,updated,deleted}` event (`action` is the suffix) for
    /// a subscription as it is now, with `previous_attributes` when given.
    pub fn subscription_event(
        &self,
        action: &str,
        subscription_id: &str,
        previous_attributes: Option<Value>,
    ) -> Result<Value, FakeError> {
        let mut state = self.shared.lock();
        let subscription = state
            .subscriptions
            .get(subscription_id)
            .cloned()
            .ok_or_else(|| FakeError::Unknown(subscription_id.to_owned()))?;
        Ok(event(
            &self.shared,
            &mut state,
            &format!("customer.subscription.{action}"),
            subscription,
            previous_attributes,
        ))
    }

    /// A `customer.subscription.updated` event for a subscription as it is now.
    pub fn subscription_updated_event(
        &self,
        subscription_id: &str,
        previous_attributes: Option<Value>,
    ) -> Result<Value, FakeError> {
        self.subscription_event("updated", subscription_id, previous_attributes)
    }

    /// An `invoice.paid` event for the subscription's current period (`status: paid`,
    /// `attempt_count: 1`, no next attempt).
    pub fn invoice_paid_event(&self, subscription_id: &str) -> Result<Value, FakeError> {
        self.invoice_event(subscription_id, "invoice.paid", "paid", 1, None)
    }

    /// An `invoice.payment_failed` event (`status: open`) after `attempt_count` attempts, with
    /// Stripe's next retry at `next_payment_attempt` (`None`: retries exhausted).
    pub fn invoice_payment_failed_event(
        &self,
        subscription_id: &str,
        attempt_count: u64,
        next_payment_attempt: Option<i64>,
    ) -> Result<Value, FakeError> {
        self.invoice_event(
            subscription_id,
            "invoice.payment_failed",
            "open",
            attempt_count,
            next_payment_attempt,
        )
    }

    fn invoice_event(
        &self,
        subscription_id: &str,
        kind: &str,
        status: &str,
        attempt_count: u64,
        next_payment_attempt: Option<i64>,
    ) -> Result<Value, FakeError> {
        let mut state = self.shared.lock();
        let subscription = state
            .subscriptions
            .get(subscription_id)
            .cloned()
            .ok_or_else(|| FakeError::Unknown(subscription_id.to_owned()))?;
        let invoice_id = self.shared.new_id(&mut state, "in_");
        let invoice = objects::invoice(
            &invoice_id,
            &subscription,
            status,
            attempt_count,
            next_payment_attempt,
            "subscription_cycle",
            now(),
        );
        Ok(event(&self.shared, &mut state, kind, invoice, None))
    }

    /// Signs `event` now with every active secret and POSTs it to `url` as Stripe does;
    /// returns the HTTP status the receiver answered.
    pub async fn send_event(&self, url: &str, event: &Value) -> Result<u16, FakeError> {
        self.send_event_at(url, event.to_string().as_bytes(), now())
            .await
    }

    /// Signs `body` (sent byte for byte) at `timestamp` with every active secret and POSTs it.
    pub async fn send_event_at(
        &self,
        url: &str,
        body: &[u8],
        timestamp: i64,
    ) -> Result<u16, FakeError> {
        let secrets = self.webhook_secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let header = signature_header(&secrets, timestamp, body);
        self.send_raw(url, body, Some(&header)).await
    }

    /// POSTs `body` with any `Stripe-Signature` value (or none): forged, stale, tampered.
    pub async fn send_raw(
        &self,
        url: &str,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<u16, FakeError> {
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json; charset=utf-8")
            .header(
                "user-agent",
                "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            )
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FakeError::Delivery(e.to_string()))?;
        Ok(response.status().as_u16())
    }
}
