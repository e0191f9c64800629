//! Leadline's view of Stripe's objects: what the billing code reads, in plain types that do not
//! leak async-stripe's generated ones (so the api depends on this crate only, and a future
//! async-stripe can be swapped in here).
//!
//! - Requests: [`CheckoutSessionRequest`] (with [`LineItem`]s, metered ones without quantity),
//!   [`BillingPortalSessionRequest`], [`MeterEvent`]. Every POST carries an idempotency key the
//!   caller chooses (a stable id of the thing being billed), so a retry never bills twice.
//! - Answers: [`Customer`], [`CheckoutSession`], [`BillingPortalSession`], [`Subscription`],
//!   [`MeterEventRecorded`].
//! - Webhooks: [`Event`], the envelope (`id`, `type`, `created`, `livemode`, `api_version`,
//!   `data.object` kept raw, `data.previous_attributes`) and its [`EventPayload`], typed for the
//!   types billing acts on and [`EventPayload::Unknown`] for every other type (not an error:
//!   an endpoint may be subscribed to more than billing reads).
//!
//! Webhook objects are read tolerantly from JSON (missing optional fields are `None`, an
//! expanded object counts by its `id`), because events are rendered in the API version of the
//! webhook endpoint, which may differ from the version the client pins. Since
//! `2025-03-31.basil` the billing period lives on each subscription item, not the
//! subscription; and an invoice's subscription is at `parent.subscription_details.subscription`
//! (basil+) or top-level `subscription` (older). Both shapes are read.
//!
//! Ordering: Stripe does not deliver events in order (platforms.md §9). Each payload keeps the
//! object's own timestamps (`created`, period start/end, `canceled_at`, `ended_at`) and the
//! event keeps `created`, so the api can refuse to apply an event older than the last one it
//! applied to the same subscription — or, when in doubt, call `retrieve_subscription`, which
//! always answers the current state.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::WebhookError;

/// A Stripe customer, as created for one Leadline tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// `cus_…`.
    pub id: String,
    /// `email`.
    pub email: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `metadata`; carries `tenant_id`.
    pub metadata: BTreeMap<String, String>,
    /// `created` (unix seconds).
    pub created: i64,
    /// `livemode`.
    pub livemode: bool,
}

/// One line of a subscription Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    /// `price_…` (a recurring price).
    pub price: String,
    /// `quantity`; `None` for a metered price, where Stripe refuses a quantity (usage is
    /// reported later with meter events).
    pub quantity: Option<u64>,
}

impl LineItem {
    /// A licensed (per-seat or flat) price with its quantity.
    pub fn licensed(price: impl Into<String>, quantity: u64) -> Self {
        LineItem {
            price: price.into(),
            quantity: Some(quantity),
        }
    }

    /// A metered (usage-based) price: no quantity.
    pub fn metered(price: impl Into<String>) -> Self {
        LineItem {
            price: price.into(),
            quantity: None,
        }
    }
}

/// `POST /v1/checkout/sessions` with `mode=subscription`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSessionRequest {
    /// The existing customer (`cus_…`) to subscribe.
    pub customer: String,
    /// At least one recurring price.
    pub line_items: Vec<LineItem>,
    /// Where Stripe sends the payer after success; may contain `{CHECKOUT_SESSION_ID}`, which
    /// Stripe replaces.
    pub success_url: String,
    /// Where Stripe sends the payer who backs out.
    pub cancel_url: String,
    /// `client_reference_id`: echoed in `checkout.session.completed` (the tenant id).
    pub client_reference_id: Option<String>,
    /// `metadata` of the session, also set as `subscription_data[metadata]` so every
    /// `customer.subscription.*` event carries it too.
    pub metadata: BTreeMap<String, String>,
    /// The `Idempotency-Key`.
    pub idempotency_key: String,
}

/// A created Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSession {
    /// `cs_…`.
    pub id: String,
    /// Where to redirect the payer.
    pub url: String,
    /// `expires_at` (24 h after creation by default).
    pub expires_at: i64,
}

/// `POST /v1/billing_portal/sessions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingPortalSessionRequest {
    /// `cus_…`.
    pub customer: String,
    /// Where the portal's "return" link leads.
    pub return_url: String,
    /// The `Idempotency-Key` (every POST carries one; a portal session is short-lived, so any
    /// per-click id will do).
    pub idempotency_key: String,
}

/// A created billing portal session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingPortalSession {
    /// `bps_…`.
    pub id: String,
    /// The portal URL (short-lived; redirect at once).
    pub url: String,
}

/// A subscription's status. Unknown values are kept, not refused (Stripe adds statuses).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubscriptionStatus {
    /// `incomplete`: first payment not yet made (23 h to complete).
    Incomplete,
    /// `incomplete_expired`: first payment never made; terminal.
    IncompleteExpired,
    /// `trialing`.
    Trialing,
    /// `active`.
    Active,
    /// `past_due`: a renewal payment failed; Stripe is retrying.
    PastDue,
    /// `canceled`: terminal.
    Canceled,
    /// `unpaid`: retries exhausted; the subscription stays but invoices are not paid.
    Unpaid,
    /// `paused`: a trial ended without a payment method.
    Paused,
    /// Anything else, as sent.
    Unknown(String),
}

impl SubscriptionStatus {
    /// Reads Stripe's string.
    pub fn parse(value: &str) -> Self {
        match value {
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "canceled" => Self::Canceled,
            "unpaid" => Self::Unpaid,
            "paused" => Self::Paused,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// Stripe's string.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
            Self::Unknown(other) => other,
        }
    }
}

/// One item of a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionItem {
    /// `si_…`.
    pub id: String,
    /// `price.id`.
    pub price: String,
    /// `price.product` (its id).
    pub product: Option<String>,
    /// `quantity` (absent for metered prices).
    pub quantity: Option<u64>,
    /// `price.recurring.interval` (`month`, `year`…).
    pub interval: Option<String>,
    /// `price.recurring.usage_type` (`licensed` or `metered`).
    pub usage_type: Option<String>,
    /// `current_period_start` (basil+: on the item).
    pub current_period_start: Option<i64>,
    /// `current_period_end` (basil+: on the item).
    pub current_period_end: Option<i64>,
}

/// A subscription, from `retrieve_subscription` or a `customer.subscription.*` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// `sub_…`.
    pub id: String,
    /// `status`.
    pub status: SubscriptionStatus,
    /// `customer` (its id).
    pub customer: String,
    /// When the current period ends: the subscription's own `current_period_end` when the
    /// object has one (API versions before basil), else the earliest `current_period_end` of
    /// its items (the next time anything renews). `None` without items or periods.
    pub current_period_end: Option<i64>,
    /// `cancel_at_period_end`.
    pub cancel_at_period_end: bool,
    /// `cancel_at`.
    pub cancel_at: Option<i64>,
    /// `canceled_at`.
    pub canceled_at: Option<i64>,
    /// `ended_at`.
    pub ended_at: Option<i64>,
    /// `trial_end`.
    pub trial_end: Option<i64>,
    /// `items.data` (the first page; Stripe includes up to 10 items, more than Leadline
    /// plans have).
    pub items: Vec<SubscriptionItem>,
    /// `metadata` (from `subscription_data[metadata]` at Checkout).
    pub metadata: BTreeMap<String, String>,
    /// `created`.
    pub created: i64,
    /// `start_date`.
    pub start_date: Option<i64>,
    /// `livemode`.
    pub livemode: bool,
}

/// Picks the subscription's period end (see [`Subscription::current_period_end`]).
pub(crate) fn period_end(top_level: Option<i64>, items: &[SubscriptionItem]) -> Option<i64> {
    top_level.or_else(|| items.iter().filter_map(|i| i.current_period_end).min())
}

/// `POST /v1/billing/meter_events`: usage for a metered price whose meter has `event_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterEvent {
    /// The meter's `event_name`.
    pub event_name: String,
    /// `payload[stripe_customer_id]` (the meter's default customer mapping key).
    pub stripe_customer_id: String,
    /// `payload[value]` (the meter's default value key): a whole quantity.
    pub value: u64,
    /// `identifier`: Stripe deduplicates events with the same identifier (for at least 24 h);
    /// also sent as the `Idempotency-Key`. Use a stable id of the usage (the conversation or
    /// call being billed), never a random one.
    pub identifier: String,
    /// `timestamp` (unix seconds) of the usage; Stripe accepts the past 35 days and up to 5
    /// minutes ahead.
    pub timestamp: i64,
}

/// What Stripe answered for a meter event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterEventRecorded {
    /// `event_name`.
    pub event_name: String,
    /// `identifier`.
    pub identifier: String,
    /// `timestamp`.
    pub timestamp: i64,
    /// `payload`.
    pub payload: BTreeMap<String, String>,
    /// `livemode`.
    pub livemode: bool,
}

/// `checkout.session.completed`: the payer finished Checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutSessionCompleted {
    /// `cs_…`.
    pub session_id: String,
    /// `customer` (its id).
    pub customer: Option<String>,
    /// `subscription` (its id), for `mode=subscription`.
    pub subscription: Option<String>,
    /// `client_reference_id` as sent at creation (the tenant id).
    pub client_reference_id: Option<String>,
    /// `metadata` as sent at creation.
    pub metadata: BTreeMap<String, String>,
    /// `mode`.
    pub mode: Option<String>,
    /// `status` (`complete`).
    pub status: Option<String>,
    /// `payment_status` (`paid`, `unpaid`, `no_payment_required`).
    pub payment_status: Option<String>,
    /// `customer_details.email`.
    pub customer_email: Option<String>,
}

/// `invoice.paid` / `invoice.payment_failed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    /// `in_…`.
    pub id: String,
    /// `customer` (its id).
    pub customer: Option<String>,
    /// The subscription billed: `parent.subscription_details.subscription` (basil+) or
    /// `subscription` (older versions).
    pub subscription: Option<String>,
    /// `status` (`paid`, `open`, …).
    pub status: Option<String>,
    /// `period_end`.
    pub period_end: Option<i64>,
    /// `attempt_count`.
    pub attempt_count: u64,
    /// `next_payment_attempt`: when Stripe retries (`None`: no more retries).
    pub next_payment_attempt: Option<i64>,
    /// `amount_due` (smallest currency unit).
    pub amount_due: Option<i64>,
    /// `currency`.
    pub currency: Option<String>,
    /// `billing_reason`.
    pub billing_reason: Option<String>,
    /// `hosted_invoice_url`.
    pub hosted_invoice_url: Option<String>,
    /// `created`.
    pub created: Option<i64>,
}

/// What an event is about, for the types billing acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPayload {
    /// `checkout.session.completed`.
    CheckoutSessionCompleted(CheckoutSessionCompleted),
    /// `customer.subscription.created`.
    SubscriptionCreated(Subscription),
    /// `customer.subscription.updated`.
    SubscriptionUpdated(Subscription),
    /// `customer.subscription.deleted` (the subscription ended: `canceled`).
    SubscriptionDeleted(Subscription),
    /// `invoice.paid`.
    InvoicePaid(Invoice),
    /// `invoice.payment_failed`.
    InvoicePaymentFailed(Invoice),
    /// Any other type: acknowledge and ignore.
    Unknown,
}

/// A verified Stripe event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `evt_…`: deduplicate on it (Stripe retries deliveries).
    pub id: String,
    /// `type`, as sent.
    pub event_type: String,
    /// `created` (unix seconds). Always present on Stripe's events.
    pub created: Option<i64>,
    /// `livemode`.
    pub livemode: bool,
    /// `api_version` the event was rendered in.
    pub api_version: Option<String>,
    /// `request.idempotency_key` of the API request that caused it, when any.
    pub request_idempotency_key: Option<String>,
    /// `data.object`, raw.
    pub object: Value,
    /// `data.previous_attributes` (on `*.updated`).
    pub previous_attributes: Option<Value>,
    /// The typed payload.
    pub payload: EventPayload,
}

fn string(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn int(value: &Value, key: &str) -> Option<i64> {
    value.get(key).and_then(Value::as_i64)
}

/// An expandable field: an id string, or an expanded object counted by its `id`.
fn id_of(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(id) => Some(id.clone()),
        object @ Value::Object(_) => string(object, "id"),
        _ => None,
    }
}

/// `metadata`: string values only (Stripe's metadata values are strings).
fn metadata(value: &Value) -> BTreeMap<String, String> {
    value
        .get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn required_id(object: &Value, what: &str) -> Result<String, WebhookError> {
    string(object, "id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| WebhookError::Decode(format!("{what} without an id")))
}

impl Subscription {
    /// Reads a subscription object (a webhook's `data.object`).
    pub fn from_json(object: &Value) -> Result<Subscription, WebhookError> {
        let id = required_id(object, "subscription")?;
        let items: Vec<SubscriptionItem> = object
            .get("items")
            .and_then(|i| i.get("data"))
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(item_from_json).collect())
            .unwrap_or_default();
        Ok(Subscription {
            id,
            status: SubscriptionStatus::parse(
                object.get("status").and_then(Value::as_str).unwrap_or(""),
            ),
            customer: id_of(object, "customer").unwrap_or_default(),
            current_period_end: period_end(int(object, "current_period_end"), &items),
            cancel_at_period_end: object
                .get("cancel_at_period_end")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            cancel_at: int(object, "cancel_at"),
            canceled_at: int(object, "canceled_at"),
            ended_at: int(object, "ended_at"),
            trial_end: int(object, "trial_end"),
            items,
            metadata: metadata(object),
            created: int(object, "created").unwrap_or(0),
            start_date: int(object, "start_date"),
            livemode: object
                .get("livemode")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

fn item_from_json(item: &Value) -> Option<SubscriptionItem> {
    let price = item.get("price");
    let recurring = price.and_then(|p| p.get("recurring"));
    Some(SubscriptionItem {
        id: string(item, "id")?,
        price: price
            .and_then(|p| string(p, "id"))
            .or_else(|| string(item, "price"))
            .unwrap_or_default(),
        product: price.and_then(|p| id_of(p, "product")),
        quantity: item.get("quantity").and_then(Value::as_u64),
        interval: recurring.and_then(|r| string(r, "interval")),
        usage_type: recurring.and_then(|r| string(r, "usage_type")),
        current_period_start: int(item, "current_period_start"),
        current_period_end: int(item, "current_period_end"),
    })
}

impl CheckoutSessionCompleted {
    /// Reads a Checkout Session object.
    pub fn from_json(object: &Value) -> Result<Self, WebhookError> {
        Ok(CheckoutSessionCompleted {
            session_id: required_id(object, "checkout session")?,
            customer: id_of(object, "customer"),
            subscription: id_of(object, "subscription"),
            client_reference_id: string(object, "client_reference_id"),
            metadata: metadata(object),
            mode: string(object, "mode"),
            status: string(object, "status"),
            payment_status: string(object, "payment_status"),
            customer_email: object
                .get("customer_details")
                .and_then(|d| string(d, "email")),
        })
    }
}

impl Invoice {
    /// Reads an invoice object.
    pub fn from_json(object: &Value) -> Result<Self, WebhookError> {
        let parent_subscription = object
            .get("parent")
            .and_then(|p| p.get("subscription_details"))
            .and_then(|d| id_of(d, "subscription"));
        Ok(Invoice {
            id: required_id(object, "invoice")?,
            customer: id_of(object, "customer"),
            subscription: parent_subscription.or_else(|| id_of(object, "subscription")),
            status: string(object, "status"),
            period_end: int(object, "period_end"),
            attempt_count: object
                .get("attempt_count")
                .and_then(Value::as_u64)
                .unwrap_or(0),
            next_payment_attempt: int(object, "next_payment_attempt"),
            amount_due: int(object, "amount_due"),
            currency: string(object, "currency"),
            billing_reason: string(object, "billing_reason"),
            hosted_invoice_url: string(object, "hosted_invoice_url"),
            created: int(object, "created"),
        })
    }
}

impl Event {
    /// Parses a (verified) event body. `id`, `type` and, for the typed types, `data.object`
    /// with an `id` are required; everything else is read tolerantly.
    pub fn parse(raw_body: &[u8]) -> Result<Event, WebhookError> {
        let value: Value = serde_json::from_slice(raw_body)
            .map_err(|e| WebhookError::Decode(format!("not JSON: {e}")))?;
        if !value.is_object() {
            return Err(WebhookError::Decode("not a JSON object".to_owned()));
        }
        let id = string(&value, "id")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| WebhookError::Decode("event without an id".to_owned()))?;
        let event_type = string(&value, "type")
            .ok_or_else(|| WebhookError::Decode("event without a type".to_owned()))?;
        let data = value.get("data");
        let object = data
            .and_then(|d| d.get("object"))
            .cloned()
            .unwrap_or(Value::Null);
        let typed = |what: &str| -> Result<&Value, WebhookError> {
            if object.is_object() {
                Ok(&object)
            } else {
                Err(WebhookError::Decode(format!(
                    "{what} event without data.object"
                )))
            }
        };
        let payload = match event_type.as_str() {
            "checkout.session.completed" => EventPayload::CheckoutSessionCompleted(
                CheckoutSessionCompleted::from_json(typed(&event_type)?)?,
            ),
            "customer.subscription.created" => {
                EventPayload::SubscriptionCreated(Subscription::from_json(typed(&event_type)?)?)
            }
            "customer.subscription.updated" => {
                EventPayload::SubscriptionUpdated(Subscription::from_json(typed(&event_type)?)?)
            }
            "customer.subscription.deleted" => {
                EventPayload::SubscriptionDeleted(Subscription::from_json(typed(&event_type)?)?)
            }
            "invoice.paid" => EventPayload::InvoicePaid(Invoice::from_json(typed(&event_type)?)?),
            "invoice.payment_failed" => {
                EventPayload::InvoicePaymentFailed(Invoice::from_json(typed(&event_type)?)?)
            }
            _ => EventPayload::Unknown,
        };
        Ok(Event {
            id,
            created: int(&value, "created"),
            livemode: value
                .get("livemode")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            api_version: string(&value, "api_version"),
            request_idempotency_key: value
                .get("request")
                .and_then(|r| string(r, "idempotency_key")),
            previous_attributes: data
                .and_then(|d| d.get("previous_attributes"))
                .filter(|p| !p.is_null())
                .cloned(),
            object,
            payload,
            event_type,
        })
    }
}
