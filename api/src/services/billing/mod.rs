//! Billing's use cases (issue 16): the entitlement gate every gated operation calls
//! ([`require_feature`]), the owner's Checkout and portal sessions, and — in [`webhook`] — the
//! Stripe webhook's front half and the job that applies each stored event.
//!
//! Owns: which plan is in force for a tenant now (through `domain::billing`, with the
//! operator's catalog, `LEADLINE_BILLING_GRACE_DAYS` and whether billing is on), the one Stripe
//! customer per tenant, the Checkout idempotency window. Must not: store rows itself (`store::billing`
//! does), answer HTTP, or know GraphQL types. Stripe is called only from here and the job,
//! never on the webhook path.

pub mod clients;
pub mod metering;
pub mod webhook;

use chrono::{DateTime, Utc};
use leadline_domain::billing::{
    check_feature, check_quota, check_seats, entitlement, Feature, Plan, UsageItem,
};
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_stripe::{BillingPortalSessionRequest, CheckoutSessionRequest, LineItem};
use sha2::{Digest, Sha256};

pub use clients::StripeClients;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::billing::billing_state_of;

/// How long a repeated `createCheckoutSession` for the same tenant, plan and URLs answers the
/// same session (Stripe replays the first answer for the same `Idempotency-Key`): a double
/// click or a retried request does not open a second Checkout.
pub const CHECKOUT_IDEMPOTENCY_WINDOW_SECONDS: i64 = 600;

/// Longest URL accepted for Checkout and the portal (Stripe's own limit is 5000).
const MAX_URL_LEN: usize = 2048;

/// Refuses with PAYMENT_REQUIRED unless the tenant's plan in force includes `feature` (for the
/// inbox, on `channel`). With billing off every tenant is on the default plan.
pub async fn require_feature(
    state: &AppState,
    tenant: TenantId,
    feature: Feature,
    channel: Option<Channel>,
) -> ApiResult<()> {
    let row = state.store.tenant(tenant).await?;
    let billing = billing_state_of(&row)?;
    check_feature(
        &state.config.plans,
        &billing,
        state.config.billing_enabled(),
        Utc::now(),
        state.config.billing_grace,
        feature,
        channel,
    )
    .map_err(|refusal| {
        metrics::counter!("leadline_billing_refusals_total", "feature" => refusal.feature.as_str(), "reason" => refusal.reason.as_str())
            .increment(1);
        ApiError::PaymentRequired {
            plan: refusal.plan,
            feature: refusal.feature.as_str(),
            reason: refusal.reason.as_str(),
        }
    })
}

/// Refuses with LIMIT_REACHED (`extensions.limit` = the item) when `amount` more of `item`
/// would pass what the plan in force includes this period and the plan does not bill beyond
/// it. Reads nothing while billing is off (every tenant is on the default plan).
pub async fn require_quota(
    state: &AppState,
    tenant: TenantId,
    item: UsageItem,
    amount: u64,
) -> ApiResult<()> {
    if !state.config.billing_enabled() {
        return Ok(());
    }
    let row = state.store.tenant(tenant).await?;
    let (plan, _) = plan_in_force(state, &row)?;
    if plan.included.of(item).is_none() || plan.metered_price(item).is_some() {
        return Ok(());
    }
    let (from, to) = usage_period(row.billing_current_period_end, Utc::now());
    let used = state.store.usage_used(tenant, item, from, to).await?;
    check_quota(plan, item, used, amount).map_err(|refusal| {
        metrics::counter!("leadline_billing_limits_total", "item" => refusal.item.as_str())
            .increment(1);
        ApiError::LimitReached {
            limit: refusal.item.as_str(),
            message: format!(
                "the {} plan includes {} {} per billing period and {} are used; the count \
                 starts again with the next period, or the owner can change plans",
                refusal.plan,
                refusal.included,
                item_words(refusal.item),
                refusal.used
            ),
        }
    })
}

/// What a person calls an item, in a refusal.
fn item_words(item: UsageItem) -> &'static str {
    match item {
        UsageItem::AiReplies => "AI replies",
        UsageItem::CallMinutes => "call minutes",
        UsageItem::LiveSessions => "live sessions",
        UsageItem::MessagesSent => "messages sent",
        UsageItem::Leads => "new leads",
    }
}

/// Refuses with LIMIT_REACHED (`extensions.limit` = `SEATS`) when the tenant already has as
/// many members as the plan in force allows.
pub async fn require_seat(state: &AppState, tenant: TenantId, members: u64) -> ApiResult<()> {
    if !state.config.billing_enabled() {
        return Ok(());
    }
    let row = state.store.tenant(tenant).await?;
    let (plan, _) = plan_in_force(state, &row)?;
    check_seats(plan, members).map_err(|seats| ApiError::LimitReached {
        limit: "SEATS",
        message: format!(
            "the {} plan allows {seats} members and the team has {members}; remove a member or \
             change plans",
            plan.id
        ),
    })
}

/// The plan in force for a tenant row now, and when its grace ends (PAST_DUE only).
pub fn plan_in_force<'a>(
    state: &'a AppState,
    tenant: &leadline_entity::tenants::Model,
) -> ApiResult<(&'a Plan, Option<DateTime<Utc>>)> {
    let billing = billing_state_of(tenant)?;
    let in_force = entitlement(
        &state.config.plans,
        &billing,
        state.config.billing_enabled(),
        Utc::now(),
        state.config.billing_grace,
    );
    Ok((
        in_force.plan,
        leadline_domain::billing::grace_ends(&billing, state.config.billing_grace),
    ))
}

/// Checks a return URL for Checkout or the portal: absolute `https` (or `http` on a loopback
/// host, for development), with a host, no user info, at most 2048 characters. Refusals name
/// `field`.
pub fn return_url(value: &str, field: &str) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() || value.len() > MAX_URL_LEN {
        return Err(ApiError::bad_input(
            field,
            format!("must be an absolute URL of at most {MAX_URL_LEN} characters"),
        ));
    }
    let parsed = url::Url::parse(value)
        .map_err(|_| ApiError::bad_input(field, "must be an absolute URL"))?;
    let host = parsed.host_str().unwrap_or("");
    let loopback = matches!(host, "localhost" | "127.0.0.1" | "[::1]");
    let scheme_ok = match parsed.scheme() {
        "https" => true,
        "http" => loopback,
        _ => false,
    };
    if !scheme_ok || host.is_empty() {
        return Err(ApiError::bad_input(
            field,
            "must be an https URL (http only for localhost)",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::bad_input(field, "must not carry user info"));
    }
    Ok(value.to_owned())
}

/// A Stripe failure as the API reports it: what may pass later is UNAVAILABLE; the rest is the
/// operator's set-up (an unknown price, a revoked key) and INTERNAL, logged.
pub fn stripe_error(error: leadline_stripe::Error) -> ApiError {
    if error.is_retryable() {
        tracing::warn!(error = %error, "Stripe unavailable");
        ApiError::Unavailable("the payment provider is unavailable; retry shortly".to_owned())
    } else {
        ApiError::Internal(anyhow::Error::new(error).context("Stripe refused a billing request"))
    }
}

fn client(state: &AppState) -> ApiResult<&leadline_stripe::Client> {
    state.billing.client().ok_or_else(|| {
        ApiError::Conflict(
            "billing is off on this instance (no STRIPE_SECRET_KEY): every tenant is on the default plan"
                .to_owned(),
        )
    })
}

/// The tenant's Stripe customer, created once: the `Idempotency-Key` is the tenant's, so
/// concurrent first calls get one customer from Stripe, and the store keeps the first id set.
async fn customer_of(
    state: &AppState,
    tenant: TenantId,
    owner_email: Option<&str>,
) -> ApiResult<String> {
    let row = state.store.tenant(tenant).await?;
    if let Some(existing) = row.stripe_customer_id {
        return Ok(existing);
    }
    let customer = client(state)?
        .create_customer(
            &tenant.to_string(),
            owner_email,
            Some(&row.name),
            &format!("customer:{tenant}"),
        )
        .await
        .map_err(stripe_error)?;
    state.store.set_stripe_customer(tenant, &customer.id).await
}

/// `createCheckoutSession`: a subscription Checkout for `plan_id` (the caller has checked that
/// it is the owner). CONFLICT when billing is off or the tenant already has a live
/// subscription (plans change in the portal, so nobody pays twice).
pub async fn create_checkout_session(
    state: &AppState,
    tenant: TenantId,
    owner_email: Option<&str>,
    plan_id: &str,
    success_url: &str,
    cancel_url: &str,
) -> ApiResult<String> {
    let stripe = client(state)?;
    let plan = state
        .config
        .plans
        .plan(plan_id)
        .ok_or_else(|| ApiError::bad_input("plan", "no such plan"))?;
    if !plan.is_for_sale() {
        return Err(ApiError::bad_input("plan", "this plan is not for sale"));
    }
    let success_url = return_url(success_url, "successUrl")?;
    let cancel_url = return_url(cancel_url, "cancelUrl")?;
    let row = state.store.tenant(tenant).await?;
    let current = billing_state_of(&row)?;
    if matches!(
        current.status,
        leadline_domain::billing::BillingStatus::Active
            | leadline_domain::billing::BillingStatus::Trialing
            | leadline_domain::billing::BillingStatus::PastDue
    ) {
        return Err(ApiError::Conflict(
            "the tenant already has a subscription; change plans in the billing portal".to_owned(),
        ));
    }
    let customer = customer_of(state, tenant, owner_email).await?;
    let line_items = plan
        .prices
        .iter()
        .map(|price| match price.metered {
            Some(_) => LineItem::metered(price.price.clone()),
            None => LineItem::licensed(price.price.clone(), 1),
        })
        .collect();
    // Same tenant, plan and URLs within one window: the same key, so Stripe replays the first
    // session instead of opening another. The URLs are in the key because Stripe refuses a
    // reused key with different parameters.
    let window = Utc::now().timestamp() / CHECKOUT_IDEMPOTENCY_WINDOW_SECONDS;
    let urls = hex_prefix(&Sha256::digest(format!("{success_url}\n{cancel_url}")));
    let mut metadata = std::collections::BTreeMap::new();
    metadata.insert("tenant_id".to_owned(), tenant.to_string());
    metadata.insert("plan".to_owned(), plan.id.clone());
    let session = stripe
        .create_checkout_session(&CheckoutSessionRequest {
            customer,
            line_items,
            success_url,
            cancel_url,
            client_reference_id: Some(tenant.to_string()),
            metadata,
            idempotency_key: format!("checkout:{tenant}:{}:{urls}:{window}", plan.id),
        })
        .await
        .map_err(stripe_error)?;
    Ok(session.url)
}

/// `createBillingPortalSession`: the portal for the tenant's customer (created if it has
/// none yet, so an owner can add a payment method before buying).
pub async fn create_portal_session(
    state: &AppState,
    tenant: TenantId,
    owner_email: Option<&str>,
    return_to: &str,
) -> ApiResult<String> {
    let stripe = client(state)?;
    let return_to = return_url(return_to, "returnUrl")?;
    let customer = customer_of(state, tenant, owner_email).await?;
    let session = stripe
        .create_billing_portal_session(&BillingPortalSessionRequest {
            customer,
            return_url: return_to,
            // A portal session is short-lived and per click: a fresh key each time.
            idempotency_key: format!("portal:{tenant}:{}", uuid::Uuid::now_v7()),
        })
        .await
        .map_err(stripe_error)?;
    Ok(session.url)
}

/// The period usage is counted over: the month of the subscription period that ends at
/// `period_end` when that end is ahead (a monthly plan's whole period), else the calendar month
/// (UTC) of `now`.
pub fn usage_period(
    period_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    use chrono::{Datelike, Months, NaiveDate};
    if let Some(end) = period_end.filter(|end| *end > now) {
        if let Some(start) = end.checked_sub_months(Months::new(1)) {
            if start <= now {
                return (start, end);
            }
        }
    }
    let start = NaiveDate::from_ymd_opt(now.year(), now.month(), 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .unwrap_or(now);
    let end = start.checked_add_months(Months::new(1)).unwrap_or(now);
    (start, end)
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_counted_over_the_billing_month_or_the_calendar_month() {
        let at = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let now = at("2026-12-07T12:00:00Z");
        assert_eq!(
            usage_period(Some(at("2026-12-20T00:00:00Z")), now),
            (at("2026-11-20T00:00:00Z"), at("2026-12-20T00:00:00Z"))
        );
        for stale in [None, Some(at("2026-12-01T00:00:00Z"))] {
            assert_eq!(
                usage_period(stale, now),
                (at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
            );
        }
    }

    #[test]
    fn return_urls_must_be_https_or_loopback_http() {
        for good in [
            "https://app.example.com/billing/ok?session_id={CHECKOUT_SESSION_ID}",
            "http://localhost:3000/ok",
            "http://127.0.0.1/ok",
        ] {
            assert!(return_url(good, "successUrl").is_ok(), "{good}");
        }
        for bad in [
            "",
            "/relative",
            "http://app.example.com/ok",
            "javascript:alert(1)",
            "ftp://example.com/",
            "https://user:pw@example.com/",
        ] {
            let error = return_url(bad, "successUrl").map(|_| ());
            assert!(
                matches!(&error, Err(ApiError::BadUserInput { field, .. }) if field == "successUrl"),
                "{bad}: {error:?}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(return_url(&long, "cancelUrl").is_err());
    }
}
