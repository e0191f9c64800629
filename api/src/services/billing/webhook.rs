//! The Stripe webhook (`POST /api/webhook/stripe`) and the job that applies its events.
//!
//! Front half ([`receive`]): verify `Stripe-Signature` on the raw body through the crate's
//! receiver (any `v1` against any configured secret, 300 s), find the tenant by the event's
//! customer, and store the event by its id with a `billing_stripe_event` job in one transaction.
//! No Stripe call happens here, so the answer is fast; a redelivery finds the id and changes
//! nothing. Refusals are `services::webhooks::WebhookRejection`s.
//!
//! The job ([`StripeEventHandler`]) never trusts the event's copy of the subscription: it
//! re-reads the subscription from Stripe, maps its prices to a plan, and hands the report to
//! `store::apply_subscription_report`, where `domain::billing::next_state` refuses a read older
//! than the one applied. So events in any order end in Stripe's current state. A status or plan
//! change is audited there and published here as `Event::BillingUpdated`.

use chrono::Utc;
use http::HeaderMap;
use leadline_domain::billing::{BillingStatus, SubscriptionReport};
use leadline_domain::ids::TenantId;
use leadline_entity::jobs;
use leadline_stripe::{Event as StripeEvent, EventPayload, WebhookError};
use serde_json::{json, Value};

use crate::bus::Event;
use crate::jobs::{JobFailure, JobHandler};
use crate::services::webhooks::{unavailable, WebhookRejection};
use crate::state::AppState;
use crate::store::billing::{unix_time, NewStripeEvent};
use crate::store::Stored;

/// What happened to a verified delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Stored, and a job will apply it.
    Stored,
    /// Stored for the record only (a type billing does not act on, or no tenant matched).
    Ignored,
    /// Stored before: a redelivery, nothing changed.
    Duplicate,
}

impl Delivery {
    /// The metric and answer label.
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Stored => "stored",
            Delivery::Ignored => "ignored",
            Delivery::Duplicate => "duplicate",
        }
    }
}

fn rejection(error: WebhookError) -> WebhookRejection {
    match error {
        WebhookError::MissingHeader => WebhookRejection::MissingSignature,
        WebhookError::Stale | WebhookError::FromTheFuture => WebhookRejection::StaleTimestamp,
        WebhookError::Decode(why) => WebhookRejection::BadPayload(why),
        other @ (WebhookError::MalformedHeader
        | WebhookError::NoV1Signature
        | WebhookError::Mismatch) => WebhookRejection::BadSignature(other.to_string()),
    }
}

/// The customer an event is about.
fn customer_of(event: &StripeEvent) -> Option<String> {
    match &event.payload {
        EventPayload::CheckoutSessionCompleted(session) => session.customer.clone(),
        EventPayload::SubscriptionCreated(sub)
        | EventPayload::SubscriptionUpdated(sub)
        | EventPayload::SubscriptionDeleted(sub) => Some(sub.customer.clone()),
        EventPayload::InvoicePaid(invoice) | EventPayload::InvoicePaymentFailed(invoice) => {
            invoice.customer.clone()
        }
        EventPayload::Unknown => match event.object.get("customer") {
            Some(Value::String(id)) => Some(id.clone()),
            Some(object @ Value::Object(_)) => {
                object.get("id").and_then(Value::as_str).map(str::to_owned)
            }
            _ => None,
        },
    }
}

/// The subscription an event is about (what the job re-reads).
fn subscription_of(event: &StripeEvent) -> Option<String> {
    match &event.payload {
        EventPayload::CheckoutSessionCompleted(session) => session.subscription.clone(),
        EventPayload::SubscriptionCreated(sub)
        | EventPayload::SubscriptionUpdated(sub)
        | EventPayload::SubscriptionDeleted(sub) => Some(sub.id.clone()),
        EventPayload::InvoicePaid(invoice) | EventPayload::InvoicePaymentFailed(invoice) => {
            invoice.subscription.clone()
        }
        EventPayload::Unknown => None,
    }
}

/// Verifies, stores and enqueues one delivery (see the module docs).
pub async fn receive(
    state: &AppState,
    headers: &HeaderMap,
    raw_body: &[u8],
) -> Result<Delivery, WebhookRejection> {
    let Some(receiver) = state.billing.receiver() else {
        tracing::warn!("Stripe webhook refused: STRIPE_WEBHOOK_SECRET is not set");
        return Err(WebhookRejection::MissingSecret);
    };
    let event = receiver
        .receive_headers(headers, raw_body, Utc::now().timestamp())
        .map_err(rejection)?;
    let tenant = match customer_of(&event) {
        Some(customer) => state
            .store
            .tenant_by_stripe_customer(&customer)
            .await
            .map_err(unavailable)?,
        None => None,
    };
    let apply = tenant.is_some() && !matches!(event.payload, EventPayload::Unknown);
    // Kept as received (the verified bytes), so what is stored is exactly what was signed.
    let payload: Value = serde_json::from_slice(raw_body)
        .map_err(|e| WebhookRejection::BadPayload(e.to_string()))?;
    let stored = state
        .store
        .store_stripe_event(NewStripeEvent {
            id: event.id.clone(),
            tenant_id: tenant.as_ref().map(|t| TenantId(t.id)),
            event_type: event.event_type.clone(),
            object_id: event
                .object
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            stripe_created: event.created.unwrap_or(0),
            livemode: event.livemode,
            payload,
            apply,
        })
        .await
        .map_err(unavailable)?;
    if !stored {
        return Ok(Delivery::Duplicate);
    }
    if apply {
        state.jobs.wake().await;
        Ok(Delivery::Stored)
    } else {
        Ok(Delivery::Ignored)
    }
}

/// `billing_stripe_event`: applies one stored event (see the module docs).
pub struct StripeEventHandler {
    state: AppState,
}

impl StripeEventHandler {
    /// A handler over the shared state.
    pub fn new(state: AppState) -> Self {
        StripeEventHandler { state }
    }
}

fn stripe_failure(error: leadline_stripe::Error) -> JobFailure {
    if error.is_retryable() {
        JobFailure::Retry(format!("Stripe unavailable: {error}"))
    } else {
        JobFailure::Permanent(format!("Stripe refused: {error}"))
    }
}

#[async_trait::async_trait]
impl JobHandler for StripeEventHandler {
    async fn run(&self, job: &jobs::Model) -> Result<Value, JobFailure> {
        let state = &self.state;
        let tenant = TenantId(job.tenant_id);
        let event_id = job
            .payload
            .get("eventId")
            .and_then(Value::as_str)
            .ok_or_else(|| JobFailure::Permanent("bad payload: no eventId".to_owned()))?;
        let row = state.store.stripe_event(tenant, event_id).await?;
        let raw = serde_json::to_vec(&row.payload)
            .map_err(|e| JobFailure::Permanent(format!("stored event: {e}")))?;
        let event = StripeEvent::parse(&raw)
            .map_err(|e| JobFailure::Permanent(format!("stored event: {e}")))?;
        let Some(subscription_id) = subscription_of(&event) else {
            state.store.mark_stripe_event(event_id, "ignored").await?;
            return Ok(json!({ "outcome": "ignored", "why": "no subscription" }));
        };
        let customer = state
            .store
            .tenant(tenant)
            .await?
            .stripe_customer_id
            .ok_or_else(|| JobFailure::Permanent("the tenant has no Stripe customer".to_owned()))?;
        let Some(client) = state.billing.client() else {
            return Err(JobFailure::Permanent(
                "billing is off (no STRIPE_SECRET_KEY): the event cannot be re-read".to_owned(),
            ));
        };
        let read_at = Utc::now();
        let subscription = client
            .retrieve_subscription(&subscription_id)
            .await
            .map_err(stripe_failure)?;
        if subscription.customer != customer {
            // A subscription of another customer can never change this tenant.
            state.store.mark_stripe_event(event_id, "ignored").await?;
            return Ok(json!({ "outcome": "ignored", "why": "another customer's subscription" }));
        }
        let plans = &state.config.plans;
        let plan = plans
            .plan_for_prices(subscription.items.iter().map(|i| i.price.as_str()))
            .or_else(|| {
                subscription
                    .metadata
                    .get("plan")
                    .and_then(|p| plans.plan(p))
            })
            .map(|p| p.id.clone());
        let report = SubscriptionReport {
            subscription_id: subscription.id.clone(),
            stripe_status: subscription.status.as_str().to_owned(),
            plan,
            current_period_end: subscription.current_period_end.and_then(unix_time),
            cancel_at_period_end: subscription.cancel_at_period_end,
            read_at,
        };
        let applied = state
            .store
            .apply_subscription_report(tenant, event_id, &customer, &report)
            .await?;
        if let Some(tenant_row) = &applied.changed {
            // A plan that meters usage starts the tenant's report chain (idempotent per
            // interval, so a second event changes nothing).
            let (in_force, _) = super::plan_in_force(state, tenant_row)?;
            if !in_force.metered_items().is_empty() {
                super::metering::schedule_report(state, tenant, Utc::now()).await?;
            }
            state.bus.publish(
                tenant,
                Event::BillingUpdated {
                    plan: tenant_row.plan.clone(),
                    status: BillingStatus::stored(&tenant_row.subscription_status)?,
                    current_period_end: tenant_row.billing_current_period_end,
                    cancel_at_period_end: tenant_row.billing_cancel_at_period_end,
                    at: tenant_row.updated_at,
                },
            );
        }
        Ok(json!({
            "outcome": applied.outcome,
            "subscription": subscription.id,
            "status": report.stripe_status,
        }))
    }
}
