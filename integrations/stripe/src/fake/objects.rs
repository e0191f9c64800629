//! The fake's objects in Stripe's JSON shapes for the pinned version (docs.stripe.com/api,
//! async-stripe's generated types of `2026-09-30.endive`): every field those types require is
//! present, so the real client decodes what the fake answers — a missing field would fail the
//! crate's own tests, not production.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{FakePrice, Shared, State, Usage};
use crate::models::LineItem;

/// One billing period in the fake: 30 days.
pub(crate) const PERIOD_SECONDS: i64 = 30 * 24 * 60 * 60;
/// Checkout Sessions expire after 24 h by default (platforms.md §9).
const SESSION_LIFETIME: i64 = 24 * 60 * 60;

/// Stripe's error object.
pub(crate) fn error(kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Value {
    let mut error = json!({
        "type": kind,
        "message": message,
        "request_log_url": "https://dashboard.stripe.com/test/logs/req_fake",
    });
    if let Some(code) = code {
        error["code"] = Value::from(code);
        error["doc_url"] = Value::from(format!("https://stripe.com/docs/error-codes/{code}"));
    }
    if let Some(param) = param {
        error["param"] = Value::from(param);
    }
    json!({ "error": error })
}

fn metadata_value(metadata: &BTreeMap<String, String>) -> Value {
    Value::Object(
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

pub(crate) fn customer(
    id: &str,
    email: Option<&str>,
    name: Option<&str>,
    metadata: &BTreeMap<String, String>,
    created: i64,
) -> Value {
    json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": email,
        "invoice_prefix": "FAKE0001",
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": metadata_value(metadata),
        "name": name,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null
    })
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn checkout_session(
    id: &str,
    url: &str,
    customer: &str,
    client_reference_id: Option<&str>,
    metadata: &BTreeMap<String, String>,
    success_url: &str,
    cancel_url: Option<&str>,
    created: i64,
) -> Value {
    let session = json!({
        "id": id,
        "object": "checkout.session",
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": null,
        "amount_total": null,
        "automatic_tax": {"enabled": false, "liability": null, "provider": null, "status": null},
        "billing_address_collection": null,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": null,
        "consent": null,
        "consent_collection": null,
        "created": created,
        "currency": "usd",
    });
    // Two halves: one `json!` this large exceeds the macro recursion limit.
    let rest = json!({
        "custom_fields": [],
        "custom_text": {
            "after_submit": null,
            "shipping_address": null,
            "submit": null,
            "terms_of_service_acceptance": null
        },
        "customer": customer,
        "customer_creation": null,
        "customer_details": null,
        "customer_email": null,
        "expires_at": created + SESSION_LIFETIME,
        "invoice": null,
        "invoice_creation": null,
        "livemode": false,
        "locale": null,
        "metadata": metadata_value(metadata),
        "mode": "subscription",
        "payment_intent": null,
        "payment_link": null,
        "payment_method_collection": "always",
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": false},
        "recovered_from": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_options": [],
        "status": "open",
        "submit_type": null,
        "subscription": null,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": url
    });
    merge(session, rest)
}

/// `base` with the fields of `more` added (both objects).
fn merge(mut base: Value, more: Value) -> Value {
    if let (Some(base), Value::Object(more)) = (base.as_object_mut(), more) {
        base.extend(more);
    }
    base
}

pub(crate) fn billing_portal_session(
    id: &str,
    url: &str,
    customer: &str,
    return_url: Option<&str>,
    created: i64,
) -> Value {
    json!({
        "id": id,
        "object": "billing_portal.session",
        "configuration": "bpc_FakeDefaultConfig",
        "created": created,
        "customer": customer,
        "flow": null,
        "livemode": false,
        "locale": null,
        "on_behalf_of": null,
        "return_url": return_url,
        "url": url
    })
}

fn price(price: &FakePrice, created: i64) -> Value {
    let usage_type = match price.usage {
        Usage::Licensed => "licensed",
        Usage::Metered => "metered",
    };
    json!({
        "id": price.id,
        "object": "price",
        "active": true,
        "billing_scheme": "per_unit",
        "created": created,
        "currency": "usd",
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": null,
        "metadata": {},
        "nickname": null,
        "product": price.product,
        "recurring": {
            "interval": price.interval,
            "interval_count": 1,
            "meter": if price.usage == Usage::Metered { Value::from("mtr_FakeLeadline") } else { Value::Null },
            "trial_period_days": null,
            "usage_type": usage_type
        },
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": "recurring",
        "unit_amount": price.unit_amount,
        "unit_amount_decimal": price.unit_amount.to_string()
    })
}

/// The legacy `plan` Stripe still renders next to `price` on subscription items.
fn plan(price: &FakePrice, created: i64) -> Value {
    let usage_type = match price.usage {
        Usage::Licensed => "licensed",
        Usage::Metered => "metered",
    };
    json!({
        "id": price.id,
        "object": "plan",
        "active": true,
        "amount": price.unit_amount,
        "amount_decimal": price.unit_amount.to_string(),
        "billing_scheme": "per_unit",
        "created": created,
        "currency": "usd",
        "interval": price.interval,
        "interval_count": 1,
        "livemode": false,
        "metadata": {},
        "meter": null,
        "nickname": null,
        "product": price.product,
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": usage_type
    })
}

/// Creates a subscription in `state` for `customer` with `items` (unknown prices become
/// licensed monthly prices), `active`, its period starting `now`; returns its id.
pub(crate) fn new_subscription(
    shared: &Shared,
    state: &mut State,
    customer: &str,
    items: &[LineItem],
    metadata: BTreeMap<String, String>,
    now: i64,
) -> String {
    let id = shared.new_id(state, "sub_");
    let mut data = Vec::new();
    for item in items {
        let known = state.prices.get(&item.price).cloned();
        let price_info = known.unwrap_or_else(|| FakePrice {
            id: item.price.clone(),
            product: "prod_FakeUnknown".to_owned(),
            usage: Usage::Licensed,
            unit_amount: 1000,
            interval: "month".to_owned(),
        });
        let item_id = shared.new_id(state, "si_");
        let quantity = match price_info.usage {
            // Stripe renders no quantity on metered items.
            Usage::Metered => Value::Null,
            Usage::Licensed => Value::from(item.quantity.unwrap_or(1)),
        };
        data.push(json!({
            "id": item_id,
            "object": "subscription_item",
            "billing_thresholds": null,
            "created": now,
            "current_period_end": now + PERIOD_SECONDS,
            "current_period_start": now,
            "discounts": [],
            "metadata": {},
            "plan": plan(&price_info, now),
            "price": price(&price_info, now),
            "quantity": quantity,
            "subscription": id,
            "tax_rates": []
        }));
    }
    let subscription = json!({
        "id": id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": {"disabled_reason": null, "enabled": false, "liability": null},
        "billing_cycle_anchor": now,
        "billing_cycle_anchor_config": null,
        "billing_mode": {"type": "flexible", "flexible": null, "updated_at": null},
        "billing_schedules": [],
        "billing_thresholds": null,
        "cancel_at": null,
        "cancel_at_period_end": false,
        "canceled_at": null,
        "cancellation_details": {"comment": null, "feedback": null, "reason": null},
        "collection_method": "charge_automatically",
        "created": now,
        "currency": "usd",
        "customer": customer,
        "days_until_due": null,
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "ended_at": null,
    });
    let rest = json!({
        "invoice_settings": {"account_tax_ids": null, "issuer": {"type": "self"}},
        "items": {
            "object": "list",
            "data": data,
            "has_more": false,
            "total_count": items.len(),
            "url": format!("/v1/subscription_items?subscription={id}")
        },
        "latest_invoice": null,
        "livemode": false,
        "metadata": metadata_value(&metadata),
        "next_pending_invoice_item_invoice": null,
        "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": {
            "payment_method_options": null,
            "payment_method_types": null,
            "save_default_payment_method": "off"
        },
        "pending_invoice_item_interval": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": null,
        "start_date": now,
        "status": "active",
        "test_clock": null,
        "transfer_data": null,
        "trial_end": null,
        "trial_settings": null,
        "trial_start": null
    });
    let subscription = merge(subscription, rest);
    state.subscriptions.insert(id.clone(), subscription);
    id
}

/// An invoice of `subscription` (basil+ shape: the subscription under
/// `parent.subscription_details`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn invoice(
    id: &str,
    subscription: &Value,
    status: &str,
    attempt_count: u64,
    next_payment_attempt: Option<i64>,
    billing_reason: &str,
    now: i64,
) -> Value {
    let customer = subscription.get("customer").cloned().unwrap_or(Value::Null);
    let subscription_id = subscription.get("id").cloned().unwrap_or(Value::Null);
    let period_start = subscription
        .pointer("/items/data/0/current_period_start")
        .cloned()
        .unwrap_or(Value::from(now));
    let period_end = subscription
        .pointer("/items/data/0/current_period_end")
        .cloned()
        .unwrap_or(Value::from(now));
    let amount: i64 = subscription
        .pointer("/items/data")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let unit = i.pointer("/price/unit_amount").and_then(Value::as_i64);
                    let quantity = i.get("quantity").and_then(Value::as_i64);
                    unit.unwrap_or(0) * quantity.unwrap_or(0)
                })
                .sum()
        })
        .unwrap_or(0);
    let paid = status == "paid";
    json!({
        "id": id,
        "object": "invoice",
        "account_country": "US",
        "amount_due": amount,
        "amount_paid": if paid { amount } else { 0 },
        "amount_remaining": if paid { 0 } else { amount },
        "attempt_count": attempt_count,
        "attempted": attempt_count > 0,
        "auto_advance": !paid,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": now,
        "currency": "usd",
        "customer": customer,
        "hosted_invoice_url": format!("https://invoice.stripe.com/i/fake/{id}"),
        "livemode": false,
        "metadata": {},
        "next_payment_attempt": next_payment_attempt,
        "number": format!("FAKE0001-{}", attempt_count.max(1)),
        "parent": {
            "quote_details": null,
            "subscription_details": {
                "metadata": subscription.get("metadata").cloned().unwrap_or(json!({})),
                "subscription": subscription_id
            },
            "type": "subscription_details"
        },
        "period_end": period_end,
        "period_start": period_start,
        "status": status,
        "status_transitions": {
            "finalized_at": now,
            "marked_uncollectible_at": null,
            "paid_at": if paid { Value::from(now) } else { Value::Null },
            "voided_at": null
        },
        "subtotal": amount,
        "total": amount
    })
}

pub(crate) fn meter_event(
    event_name: &str,
    identifier: &str,
    payload: &BTreeMap<String, String>,
    timestamp: i64,
    created: i64,
) -> Value {
    json!({
        "object": "billing.meter_event",
        "created": created,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": false,
        "payload": metadata_value(payload),
        "timestamp": timestamp
    })
}
