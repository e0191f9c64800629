//! # leadline-stripe
//!
//! Stripe Billing for Leadline (issue #16, platforms.md §9): a customer per tenant, a
//! subscription bought through hosted Checkout, the customer portal, the subscription's
//! current state, usage reported as billing meter events, and the signed webhooks that tell
//! the api what happened.
//!
//! - [`client::Client`]: `create_customer`, `create_checkout_session` (`mode=subscription`,
//!   metered items without quantity), `create_billing_portal_session`,
//!   `retrieve_subscription`, `report_usage` (billing meter events). Every POST carries the
//!   caller's `Idempotency-Key`; every request the pinned `Stripe-Version`
//!   ([`client::STRIPE_VERSION`]); the base URL is injectable (`STRIPE_API_BASE`).
//! - [`models`]: Leadline's plain view of Stripe's objects and events.
//! - [`webhook::Receiver`]: the single front door for webhooks — `Stripe-Signature:
//!   t=…,v1=…` over `t + "." + raw body`, HMAC-SHA256 compared in constant time, any `v1`
//!   against any of several secrets (rotation), 300 s tolerance both ways — then parsed into an
//!   [`Event`] with typed payloads for checkout, subscription and invoice events.
//! - [`error::Error`]: Stripe's error object classified by what the caller does, with
//!   `is_retryable()`; [`WebhookError`] for refused deliveries.
//! - [`settings::Settings`]: `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET` (several),
//!   `STRIPE_API_BASE`, with `missing()` for `/readyz`.
//! - `fake` (feature `fake`): [`fake::FakeStripe`], a loopback Stripe that checks what the
//!   client sends (key, version, idempotency, form encoding), answers Stripe's shapes and
//!   errors, keeps mutable subscriptions and deduplicated meter events, and signs and posts
//!   webhook events.
//!
//! ## Why async-stripe's 1.0 line (`=1.0.0-rc.10`), and how much of it
//!
//! The issue allows the 1.0 line (split crates) or the 0.x line. Checked on crates.io
//! (`cargo info async-stripe`, December 2026: 0.41.0 is the newest 0.x, 1.0.0-rc.10 the newest
//! 1.0):
//!
//! - **0.x cannot do the job.** 0.41 is generated from API version `2023-10-16`: it has no
//!   billing meter events (only the legacy usage records Stripe removed in
//!   `2025-03-31.basil`) and its subscription type still has the period on the subscription.
//!   It also brings a second HTTP/TLS stack (hyper 0.14, hyper-rustls 0.24 / rustls 0.21,
//!   http-types, uuid 0.8, thiserror 1) next to the workspace's hyper 1 / rustls 0.23.
//!   (`Client::from_url` would have given the base URL.)
//! - **1.0 fits.** `ClientBuilder::url` sets the base URL (it appends `v1/…` to it, and its
//!   connector accepts `http://`, so the fake works); features `rustls-tls-webpki-roots` +
//!   `rustls-ring` with default features off give rustls on hyper 1 / hyper-rustls 0.27 / ring
//!   — the stack reqwest already links, no native-tls or OpenSSL. Only the resources used are
//!   compiled: `async-stripe-core/customer`, `async-stripe-checkout/checkout_session`,
//!   `async-stripe-billing/{billing_portal_session, subscription, billing_meter_event}`
//!   (`async-stripe-shared` holds the object types and is always compiled whole).
//!   `RequestStrategy::Idempotent` sends `Idempotency-Key`; requests are form-encoded with
//!   bracket syntax and carry `Stripe-Version: 2026-09-30.endive`.
//!
//! The costs of 1.0, kept visible: it is a release candidate (pinned with `=`); it declares
//! `rust-version = 1.89`, above the workspace's 1.85; its errors drop the response headers
//! (`Request-Id`, `Stripe-Should-Retry`) and, for an error answer that is not Stripe's JSON,
//! the status too (see [`error`]); its hyper client keeps no idle connections (a TLS
//! handshake per call — fine at billing's rate); its generated types require every
//! non-nullable field of the pinned version, so the fake answers complete objects.
//!
//! Webhooks do not go through async-stripe: `async-stripe-webhook` verifies against one
//! secret with its own clock, and parses every event into generated types of the client's
//! pinned version (compiling every resource crate), while events arrive in the endpoint's
//! version. [`webhook`] verifies with several secrets and an injected `now`, and [`models`]
//! reads events tolerantly.
//!
//! Architecture invariant: this crate talks to Stripe and nothing else. It stores nothing
//! (the api persists customers, subscriptions and processed event ids), retries nothing (the
//! job queue does, guided by `is_retryable`, with the same idempotency key), and reads no
//! environment variable.
#![warn(missing_docs)]

pub mod client;
pub mod error;
pub mod models;
pub mod settings;
pub mod webhook;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{Client, DEFAULT_API_BASE, STRIPE_VERSION};
pub use error::{Error, WebhookError};
pub use models::{
    BillingPortalSession, BillingPortalSessionRequest, CheckoutSession, CheckoutSessionCompleted,
    CheckoutSessionRequest, Customer, Event, EventPayload, Invoice, LineItem, MeterEvent,
    MeterEventRecorded, Subscription, SubscriptionItem, SubscriptionStatus,
};
pub use settings::Settings;
pub use webhook::Receiver;
