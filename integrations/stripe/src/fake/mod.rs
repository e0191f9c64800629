//! `FakeStripe` (feature `fake`): a loopback Stripe for this crate's tests and the api's
//! billing end-to-end tests. Point `STRIPE_API_BASE` at [`FakeStripe::base_url`] (or use
//! [`FakeStripe::settings`]).
//!
//! - Every request: `Authorization: Bearer <key>` must be the fake's key (401 with Stripe's
//!   error object otherwise) and `Stripe-Version` must be [`crate::STRIPE_VERSION`] (400 otherwise:
//!   stricter than Stripe, which falls back to the account's default, because pinning is what
//!   the client promises).
//! - Every POST: `Content-Type: application/x-www-form-urlencoded`, decoded with bracket syntax
//!   (`form`), and an `Idempotency-Key` (required here, optional at Stripe, for the same
//!   reason). A repeated key with the same method, path and parameters replays the first
//!   answer with `Idempotent-Replayed: true`; with anything else it is 400
//!   `idempotency_error`, as Stripe answers. Only successful answers are saved (Stripe saves
//!   nothing for requests refused before they execute).
//! - Endpoints (`rest`): `POST /v1/customers`, `POST /v1/checkout/sessions`
//!   (`mode=subscription`, known prices, quantity required for licensed and refused for
//!   metered prices, known customer), `POST /v1/billing_portal/sessions`,
//!   `GET /v1/subscriptions/{id}`, `POST /v1/billing/meter_events` (deduplicated by
//!   `identifier`), and the `url`s it hands out (`GET /c/pay/{id}`, `GET /p/session/{id}`).
//!   Answers are complete objects of the pinned version (`objects`), ids shaped like Stripe's
//!   (`cus_…`, `cs_test_…`, `sub_…`, `si_…`, `bps_…`, `in_…`, `evt_…`).
//! - State the tests drive: prices ([`FakeStripe::add_price`]), finishing Checkout
//!   ([`FakeStripe::complete_checkout`]), subscriptions it mutates
//!   ([`FakeStripe::set_subscription_status`], …) so `retrieve_subscription` sees the latest,
//!   injected failures ([`FakeStripe::fail_next`]: 429, 5xx, 4xx error objects, raw answers,
//!   late answers to requests already applied,
//!   delays).
//! - Webhooks (`webhooks`): event bodies in Stripe's shape and [`FakeStripe::send_event`],
//!   which signs them as Stripe does (one `v1` per active secret, see
//!   [`FakeStripe::roll_webhook_secret`]) and POSTs them.
//!
//! Not for production: it trusts its caller, keeps everything in memory, uses the system clock
//! for `created`, and stops when dropped.

mod form;
mod objects;
mod rest;
mod webhooks;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::sync::oneshot;

use crate::models::LineItem;
use crate::settings::Settings;

pub use webhooks::FakeError;

/// The secret key the fake accepts unless started with another.
pub const DEFAULT_SECRET_KEY: &str = "sk_test_fake_51LeadlineFakeStripeKey0123456789";
/// The endpoint secret the fake signs webhooks with, unless rolled.
pub const DEFAULT_WEBHOOK_SECRET: &str = "whsec_fake_leadline_0123456789abcdef";
/// A licensed monthly price the fake knows from the start.
pub const DEFAULT_LICENSED_PRICE: &str = "price_fake_pro_monthly";
/// A metered monthly price the fake knows from the start (its meter's `event_name` is
/// [`DEFAULT_METER_EVENT`]).
pub const DEFAULT_METERED_PRICE: &str = "price_fake_usage_monthly";
/// The meter event name of [`DEFAULT_METERED_PRICE`].
pub const DEFAULT_METER_EVENT: &str = "leadline_conversations";

/// How a price is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// Per unit, quantity given at Checkout.
    Licensed,
    /// From meter events; no quantity at Checkout.
    Metered,
}

/// A price the fake knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePrice {
    /// `price_…`.
    pub id: String,
    /// `prod_…`.
    pub product: String,
    /// Licensed or metered.
    pub usage: Usage,
    /// Amount per unit in cents.
    pub unit_amount: i64,
    /// `month` or `year`.
    pub interval: String,
}

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ….
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// `Authorization`, as sent.
    pub authorization: Option<String>,
    /// `Stripe-Version`, as sent.
    pub stripe_version: Option<String>,
    /// `Idempotency-Key`, as sent.
    pub idempotency_key: Option<String>,
    /// `Content-Type`, as sent.
    pub content_type: Option<String>,
    /// The raw body (form-encoded for POSTs).
    pub body: String,
    /// The body's `(name, value)` pairs, in order, decoded.
    pub form: Vec<(String, String)>,
    /// The body read with bracket syntax (`Null` when it is not valid bracket syntax).
    pub params: Value,
    /// The status the fake answered.
    pub status: u16,
    /// Whether the answer was an idempotent replay.
    pub replayed: bool,
}

impl RecordedRequest {
    /// The value of one form field (`metadata[tenant_id]`), if sent.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A meter event the fake accepted (once per `identifier`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedMeterEvent {
    /// `event_name`.
    pub event_name: String,
    /// `identifier`.
    pub identifier: String,
    /// `payload[stripe_customer_id]`.
    pub stripe_customer_id: String,
    /// `payload[value]`, as sent.
    pub value: String,
    /// `timestamp`.
    pub timestamp: i64,
}

/// A failure to answer the next request with (queued: several requests fail in turn). The
/// failure is answered before any check, like a problem in front of the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// An answer with Stripe's error object.
    Error {
        /// HTTP status.
        status: u16,
        /// `type`.
        kind: String,
        /// `code`.
        code: Option<String>,
        /// `message`.
        message: String,
        /// `param`.
        param: Option<String>,
    },
    /// This status and body, as-is (a proxy's page).
    Raw {
        /// HTTP status.
        status: u16,
        /// Body.
        body: String,
    },
    /// Waits this long, then answers normally (for client timeouts).
    Delay(Duration),
    /// Does what the request asks at once, then waits this long before answering: the change
    /// is made although the client may never hear of it (a crash or timeout after Stripe
    /// committed).
    DelayAnswer(Duration),
}

impl Failure {
    /// 429 as Stripe answers it.
    pub fn rate_limited() -> Self {
        Failure::Error {
            status: 429,
            kind: "invalid_request_error".to_owned(),
            code: Some("rate_limit".to_owned()),
            message: "Too many requests hit the API too quickly. We recommend an exponential \
                      backoff of your requests."
                .to_owned(),
            param: None,
        }
    }

    /// 500 `api_error`.
    pub fn api_error() -> Self {
        Failure::Error {
            status: 500,
            kind: "api_error".to_owned(),
            code: None,
            message: "An unknown error occurred".to_owned(),
            param: None,
        }
    }

    /// 402 `card_error` `card_declined`.
    pub fn card_declined() -> Self {
        Failure::Error {
            status: 402,
            kind: "card_error".to_owned(),
            code: Some("card_declined".to_owned()),
            message: "Your card was declined.".to_owned(),
            param: Some("payment_method".to_owned()),
        }
    }

    /// A 4xx `invalid_request_error` with this code, message and param.
    pub fn invalid_request(status: u16, code: &str, message: &str, param: Option<&str>) -> Self {
        Failure::Error {
            status,
            kind: "invalid_request_error".to_owned(),
            code: Some(code.to_owned()),
            message: message.to_owned(),
            param: param.map(str::to_owned),
        }
    }
}

/// A saved idempotent answer.
#[derive(Debug, Clone)]
struct Saved {
    method: String,
    path: String,
    /// The parameters, sorted: Stripe compares parameters, not bytes (a client may send the
    /// same metadata in another order).
    params: Vec<(String, String)>,
    status: u16,
    body: Value,
}

#[derive(Debug, Default)]
struct State {
    counter: u64,
    prices: BTreeMap<String, FakePrice>,
    customers: BTreeMap<String, Value>,
    sessions: BTreeMap<String, Value>,
    /// What a session will subscribe to: its line items and `subscription_data[metadata]`.
    session_lines: BTreeMap<String, (Vec<LineItem>, BTreeMap<String, String>)>,
    subscriptions: BTreeMap<String, Value>,
    meter_events: Vec<RecordedMeterEvent>,
    idempotency: HashMap<String, Saved>,
    requests: Vec<RecordedRequest>,
    failures: VecDeque<Failure>,
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

#[derive(Clone)]
pub(crate) struct Shared {
    secret_key: String,
    /// Newest first: the secrets Stripe signs with (several while one is rolled).
    webhook_secrets: Arc<Mutex<Vec<String>>>,
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock must not hide the state from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A Stripe-looking id: `prefix` + 14 (or 24 for sessions) characters of base 62, unique
    /// per fake (the counter) and across fakes (the port).
    fn new_id(&self, state: &mut State, prefix: &str) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let n = state.next();
        let len = if prefix.starts_with("cs_") { 24 } else { 14 };
        // splitmix64 of (port, counter): distinct inputs give distinct-looking ids.
        let mut x = (u64::from(self.addr.port()) << 40) ^ n;
        let mut out = String::with_capacity(prefix.len() + len);
        out.push_str(prefix);
        for _ in 0..len {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            let index = usize::try_from(z % 62).unwrap_or(0);
            out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'0')));
        }
        out
    }
}

/// Unix seconds now (the fake's clock).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A loopback Stripe on 127.0.0.1 (see the module docs).
pub struct FakeStripe {
    shared: Shared,
    http: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl std::fmt::Debug for FakeStripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeStripe")
            .field("addr", &self.shared.addr)
            .finish_non_exhaustive()
    }
}

impl FakeStripe {
    /// Starts on 127.0.0.1:0 with [`DEFAULT_SECRET_KEY`], [`DEFAULT_WEBHOOK_SECRET`] and the
    /// two default prices.
    pub async fn start() -> std::io::Result<FakeStripe> {
        FakeStripe::start_with_key(DEFAULT_SECRET_KEY).await
    }

    /// Starts accepting `secret_key`.
    pub async fn start_with_key(secret_key: &str) -> std::io::Result<FakeStripe> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Shared {
            secret_key: secret_key.to_owned(),
            webhook_secrets: Arc::new(Mutex::new(vec![DEFAULT_WEBHOOK_SECRET.to_owned()])),
            addr,
            state: Arc::new(Mutex::new(State::default())),
        };
        let (shutdown, stopped) = oneshot::channel::<()>();
        let router = rest::router(shared.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        let fake = FakeStripe {
            shared,
            http: reqwest::Client::new(),
            _shutdown: shutdown,
        };
        fake.add_price(FakePrice {
            id: DEFAULT_LICENSED_PRICE.to_owned(),
            product: "prod_FakeLeadlinePro".to_owned(),
            usage: Usage::Licensed,
            unit_amount: 4900,
            interval: "month".to_owned(),
        });
        fake.add_price(FakePrice {
            id: DEFAULT_METERED_PRICE.to_owned(),
            product: "prod_FakeLeadlineUsage".to_owned(),
            usage: Usage::Metered,
            unit_amount: 2,
            interval: "month".to_owned(),
        });
        Ok(fake)
    }

    /// `http://127.0.0.1:<port>`: the `STRIPE_API_BASE` to use.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    /// The key it accepts.
    pub fn secret_key(&self) -> &str {
        &self.shared.secret_key
    }

    /// The newest endpoint secret it signs webhooks with.
    pub fn webhook_secret(&self) -> String {
        self.webhook_secrets()
            .into_iter()
            .next()
            .unwrap_or_default()
    }

    /// Every secret it signs with, newest first.
    pub fn webhook_secrets(&self) -> Vec<String> {
        self.shared
            .webhook_secrets
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Rolls the endpoint secret as the Dashboard does with an expiry: `new` becomes the
    /// newest, the previous ones keep signing (one `v1` each) until
    /// [`FakeStripe::expire_old_webhook_secrets`].
    pub fn roll_webhook_secret(&self, new: &str) {
        let mut secrets = self
            .shared
            .webhook_secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        secrets.insert(0, new.to_owned());
    }

    /// Keeps only the newest secret.
    pub fn expire_old_webhook_secrets(&self) {
        let mut secrets = self
            .shared
            .webhook_secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        secrets.truncate(1);
    }

    /// Settings pointing at the fake, with its key and secrets.
    pub fn settings(&self) -> Settings {
        Settings {
            secret_key: Some(self.shared.secret_key.clone()),
            webhook_secrets: self.webhook_secrets(),
            api_base: Some(self.base_url()),
        }
    }

    /// Adds (or replaces) a price.
    pub fn add_price(&self, price: FakePrice) {
        self.shared.lock().prices.insert(price.id.clone(), price);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every meter event accepted, once per identifier, in order.
    pub fn meter_events(&self) -> Vec<RecordedMeterEvent> {
        self.shared.lock().meter_events.clone()
    }

    /// A customer as the fake holds it.
    pub fn customer(&self, id: &str) -> Option<Value> {
        self.shared.lock().customers.get(id).cloned()
    }

    /// A Checkout Session as the fake holds it.
    pub fn checkout_session(&self, id: &str) -> Option<Value> {
        self.shared.lock().sessions.get(id).cloned()
    }

    /// A subscription as the fake holds it (what `GET /v1/subscriptions/{id}` answers).
    pub fn subscription(&self, id: &str) -> Option<Value> {
        self.shared.lock().subscriptions.get(id).cloned()
    }

    /// Answers the next request with `failure` (queued).
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().failures.push_back(failure);
    }

    /// Creates an `active` subscription for `customer` with `items` directly (as if bought
    /// elsewhere); returns its id. Unknown prices are created as licensed.
    pub fn create_subscription(
        &self,
        customer: &str,
        items: &[LineItem],
        metadata: BTreeMap<String, String>,
    ) -> String {
        let mut state = self.shared.lock();
        objects::new_subscription(&self.shared, &mut state, customer, items, metadata, now())
    }

    /// Finishes a Checkout Session as the payer would: creates its subscription (`active`,
    /// the session's items, `subscription_data[metadata]`), marks the session `complete` and
    /// `paid`, and returns the subscription id with the `checkout.session.completed` event.
    pub fn complete_checkout(&self, session_id: &str) -> Result<(String, Value), FakeError> {
        let mut state = self.shared.lock();
        let session = state
            .sessions
            .get(session_id)
            .cloned()
            .ok_or_else(|| FakeError::Unknown(session_id.to_owned()))?;
        let customer = session
            .get("customer")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let (items, metadata) = state
            .session_lines
            .get(session_id)
            .cloned()
            .unwrap_or_default();
        let subscription =
            objects::new_subscription(&self.shared, &mut state, &customer, &items, metadata, now());
        let completed = state.sessions.get_mut(session_id).map(|s| {
            s["status"] = Value::from("complete");
            s["payment_status"] = Value::from("paid");
            s["subscription"] = Value::from(subscription.clone());
            s["customer_details"] = serde_json::json!({
                "email": state_customer_email(&customer),
                "name": null,
            });
            s.clone()
        });
        let session = completed.ok_or_else(|| FakeError::Unknown(session_id.to_owned()))?;
        let event = webhooks::event(
            &self.shared,
            &mut state,
            "checkout.session.completed",
            session,
            None,
        );
        Ok((subscription, event))
    }

    /// Sets a subscription's `status` (and, for `canceled`, `canceled_at`/`ended_at`); returns
    /// the matching `customer.subscription.updated` event (`customer.subscription.deleted`
    /// for `canceled`) with `previous_attributes`.
    pub fn set_subscription_status(&self, id: &str, status: &str) -> Result<Value, FakeError> {
        let mut state = self.shared.lock();
        let subscription = state
            .subscriptions
            .get_mut(id)
            .ok_or_else(|| FakeError::Unknown(id.to_owned()))?;
        let previous = subscription.get("status").cloned().unwrap_or(Value::Null);
        subscription["status"] = Value::from(status);
        let kind = if status == "canceled" {
            let at = now();
            subscription["canceled_at"] = Value::from(at);
            subscription["ended_at"] = Value::from(at);
            "customer.subscription.deleted"
        } else {
            "customer.subscription.updated"
        };
        let object = subscription.clone();
        let previous_attributes = (kind == "customer.subscription.updated")
            .then(|| serde_json::json!({ "status": previous }));
        Ok(webhooks::event(
            &self.shared,
            &mut state,
            kind,
            object,
            previous_attributes,
        ))
    }

    /// Sets `cancel_at_period_end` (and `cancel_at`: the earliest item period end); returns
    /// the `customer.subscription.updated` event.
    pub fn set_cancel_at_period_end(&self, id: &str, cancel: bool) -> Result<Value, FakeError> {
        let mut state = self.shared.lock();
        let subscription = state
            .subscriptions
            .get_mut(id)
            .ok_or_else(|| FakeError::Unknown(id.to_owned()))?;
        let previous = subscription
            .get("cancel_at_period_end")
            .cloned()
            .unwrap_or(Value::Bool(false));
        let period_end = subscription
            .pointer("/items/data/0/current_period_end")
            .cloned()
            .unwrap_or(Value::Null);
        subscription["cancel_at_period_end"] = Value::Bool(cancel);
        subscription["cancel_at"] = if cancel { period_end } else { Value::Null };
        let object = subscription.clone();
        Ok(webhooks::event(
            &self.shared,
            &mut state,
            "customer.subscription.updated",
            object,
            Some(serde_json::json!({ "cancel_at_period_end": previous })),
        ))
    }

    /// Moves a subscription's items to the next period (as a renewal does); returns the
    /// `customer.subscription.updated` event.
    pub fn renew_subscription(&self, id: &str) -> Result<Value, FakeError> {
        let mut state = self.shared.lock();
        let subscription = state
            .subscriptions
            .get_mut(id)
            .ok_or_else(|| FakeError::Unknown(id.to_owned()))?;
        let mut previous_items = Value::Null;
        if let Some(items) = subscription
            .pointer_mut("/items/data")
            .and_then(Value::as_array_mut)
        {
            previous_items = Value::Array(items.clone());
            for item in items {
                let start = item
                    .get("current_period_end")
                    .and_then(Value::as_i64)
                    .unwrap_or_else(now);
                item["current_period_start"] = Value::from(start);
                item["current_period_end"] = Value::from(start + objects::PERIOD_SECONDS);
            }
        }
        let object = subscription.clone();
        Ok(webhooks::event(
            &self.shared,
            &mut state,
            "customer.subscription.updated",
            object,
            Some(serde_json::json!({ "items": { "data": previous_items } })),
        ))
    }
}

/// Checkout collects the payer's e-mail; the fake has none to collect, so it reports a
/// placeholder that is obviously the fake's.
fn state_customer_email(customer: &str) -> String {
    format!("{customer}@fake-stripe.invalid")
}
