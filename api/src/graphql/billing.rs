//! Billing in GraphQL (issue 16): the operator's `plans` (public), the tenant's `billing`
//! (plan, status, period, the plan in force, invoices), the owner's `createCheckoutSession`
//! and `createBillingPortalSession`, and `billingUpdated`.
//!
//! Members and keys that may read see `billing`; only a signed-in OWNER opens Checkout or the
//! portal (an admin, agent, API key or customer token is FORBIDDEN). Must not: call Stripe or
//! decide entitlements (`services::billing` does).

use async_graphql::{Context, InputObject, Object, SimpleObject, Subscription};
use chrono::{DateTime, Utc};
use futures::Stream;
use leadline_domain::billing::{self as domain, Plan as DomainPlan};
use leadline_domain::call_analytics::Period;
use leadline_domain::ids::UserId;
use leadline_domain::tenant::Role;

use super::lead_flow::Granularity;
use super::subscription::tenant_events;
use super::types::{mirror_enum, Channel};
use super::{principal, state, tenant_for, AccessGuard};
use crate::auth::Access;
use crate::bus::Event;
use crate::error::{ApiError, ApiResult};
use crate::services::billing as service;

mirror_enum!(
    /// A tenant's billing standing: ACTIVE, TRIALING, PAST_DUE (a payment failed; the plan
    /// stays on for the grace period), CANCELED (the subscription ended; the free plan
    /// applies) or NONE (never subscribed).
    BillingStatus => domain::BillingStatus { Active, Trialing, PastDue, Canceled, None }
);

mirror_enum!(
    /// What is counted per billing period.
    UsageItem => domain::UsageItem { AiReplies, CallMinutes, LiveSessions, MessagesSent, Leads }
);

/// What a plan switches on.
#[derive(SimpleObject)]
pub struct PlanFeatures {
    /// Live-stream selling sessions.
    pub live_selling: bool,
    /// The messaging channels the inbox may send on.
    pub inbox_channels: Vec<Channel>,
    /// The support chat's AI answers.
    pub support_chat: bool,
    /// Payment-reminder calls.
    pub reminder_calls: bool,
    /// The AI phone agent.
    pub phone_agent: bool,
    /// Members allowed (null: no cap).
    pub seats: Option<u32>,
}

/// A quantity a plan includes per period.
#[derive(SimpleObject)]
pub struct IncludedQuantity {
    /// What is counted.
    pub item: UsageItem,
    /// How many per period (null: unlimited).
    pub included: Option<u64>,
}

/// A plan the operator offers.
pub struct Plan(pub DomainPlan);

#[Object]
impl Plan {
    /// Stable id, as `createCheckoutSession(input: {plan})` takes it.
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// What a person reads.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Whether Checkout sells it (it has Stripe prices).
    async fn for_sale(&self) -> bool {
        self.0.is_for_sale()
    }
    /// What it switches on.
    async fn features(&self) -> PlanFeatures {
        let f = &self.0.features;
        PlanFeatures {
            live_selling: f.live_selling,
            inbox_channels: f.inbox_channels.iter().map(|c| (*c).into()).collect(),
            support_chat: f.support_chat,
            reminder_calls: f.reminder_calls,
            phone_agent: f.phone_agent,
            seats: f.seats,
        }
    }
    /// What it includes per period.
    async fn included(&self) -> Vec<IncludedQuantity> {
        domain::UsageItem::ALL
            .into_iter()
            .map(|item| IncludedQuantity {
                item: item.into(),
                included: self.0.included.of(item),
            })
            .collect()
    }
}

/// One of the tenant's own Leadline invoices (what it pays the operator), from Stripe's
/// `invoice.paid` / `invoice.payment_failed` events. Not the reminder calls' `Invoice`.
#[derive(SimpleObject)]
pub struct BillingInvoice {
    /// Stripe's `in_…`.
    pub id: String,
    /// `paid`, `open`, … as Stripe reported it.
    pub status: Option<String>,
    /// Amount due in the currency's smallest unit.
    pub amount_due: Option<i64>,
    /// ISO-4217 code, lower case as Stripe sends it.
    pub currency: Option<String>,
    /// Stripe's page for the invoice (to pay or download it).
    pub hosted_invoice_url: Option<String>,
    /// Whether this event reported a failed payment.
    pub payment_failed: bool,
    /// When Stripe reported it.
    pub at: Option<DateTime<Utc>>,
}

/// Use of one counted item in the current period.
#[derive(SimpleObject)]
pub struct UsageLine {
    /// What is counted.
    pub item: UsageItem,
    /// How many were used in the period.
    pub used: u64,
    /// How many the plan in force includes (null: unlimited).
    pub included: Option<u64>,
    /// How many are left (null: unlimited; 0 when used up).
    pub remaining: Option<u64>,
}

/// The tenant's billing.
#[derive(SimpleObject)]
pub struct Billing {
    /// Whether this instance bills (a Stripe key is configured). Off: every tenant is on the
    /// default plan and nothing is refused for payment.
    pub enabled: bool,
    /// The plan bought (or assigned).
    pub plan: Plan,
    /// The plan whose features apply now: the bought plan while ACTIVE, TRIALING or PAST_DUE
    /// within grace; the free plan otherwise; the default plan when billing is off.
    pub plan_in_force: Plan,
    /// The standing.
    pub status: BillingStatus,
    /// When the current period ends.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether the subscription ends at the period's end (canceled in the portal).
    pub cancel_at_period_end: bool,
    /// When a PAST_DUE tenant's grace period ends (then PAYMENT_REQUIRED).
    pub grace_ends_at: Option<DateTime<Utc>>,
    /// Start of the period `usage` counts (the month of the billing period, or the calendar
    /// month without one).
    pub usage_from: DateTime<Utc>,
    /// End of that period (exclusive).
    pub usage_to: DateTime<Utc>,
    /// Each counted item's use in the period against what the plan in force includes.
    pub usage: Vec<UsageLine>,
    /// The latest invoices, newest first (at most 24).
    pub invoices: Vec<BillingInvoice>,
}

/// One bucket of a usage series.
#[derive(SimpleObject)]
pub struct UsagePoint {
    /// Where the bucket starts (the tenant's local hour or midnight, in UTC).
    pub start: DateTime<Utc>,
    /// How much was used in it.
    pub quantity: u64,
}

/// One item's use over the asked period.
#[derive(SimpleObject)]
pub struct UsageItemSeries {
    /// What is counted.
    pub item: UsageItem,
    /// The whole period's use.
    pub total: u64,
    /// Every bucket of the period, in order (zero where nothing was used).
    pub points: Vec<UsagePoint>,
}

/// The tenant's use of each counted item over a period, for a dashboard's charts.
#[derive(SimpleObject)]
pub struct UsageReport {
    /// Start of the period (included).
    pub from: DateTime<Utc>,
    /// End of the period (excluded).
    pub to: DateTime<Utc>,
    /// The IANA zone the buckets follow (the tenant's `timeZone`, else UTC).
    pub time_zone: String,
    /// One series per item.
    pub items: Vec<UsageItemSeries>,
}

/// Input of `createCheckoutSession`.
#[derive(InputObject)]
pub struct CreateCheckoutSessionInput {
    /// The plan to buy (a `plans` id that is for sale).
    pub plan: String,
    /// Where Stripe sends the owner after paying (https; may contain `{CHECKOUT_SESSION_ID}`).
    pub success_url: String,
    /// Where Stripe sends the owner who backs out (https).
    pub cancel_url: String,
}

/// Input of `createBillingPortalSession`.
#[derive(InputObject)]
pub struct CreateBillingPortalSessionInput {
    /// Where the portal's return link leads (https).
    pub return_url: String,
}

/// Result of `createCheckoutSession`.
#[derive(SimpleObject)]
pub struct CreateCheckoutSessionPayload {
    /// Stripe's hosted Checkout page: redirect the owner to it at once.
    pub url: String,
}

/// Result of `createBillingPortalSession`.
#[derive(SimpleObject)]
pub struct CreateBillingPortalSessionPayload {
    /// Stripe's billing portal (short-lived): redirect the owner to it at once.
    pub url: String,
}

/// The tenant's billing changed.
#[derive(SimpleObject)]
pub struct BillingUpdate {
    /// The plan bought (its id).
    pub plan: String,
    /// The standing.
    pub status: BillingStatus,
    /// When the current period ends.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether the subscription ends at the period's end.
    pub cancel_at_period_end: bool,
    /// When.
    pub at: DateTime<Utc>,
}

/// Most invoices `billing` lists.
const MAX_INVOICES: u64 = 24;

fn plan_of(state: &crate::state::AppState, id: &str) -> Plan {
    let plans = &state.config.plans;
    Plan(plans.plan(id).unwrap_or_else(|| plans.free()).clone())
}

fn invoice(row: leadline_entity::stripe_events::Model) -> BillingInvoice {
    let object = row.payload.pointer("/data/object");
    let text = |key: &str| {
        object
            .and_then(|o| o.get(key))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    BillingInvoice {
        id: text("id").unwrap_or_default(),
        status: text("status"),
        amount_due: object
            .and_then(|o| o.get("amount_due"))
            .and_then(|v| v.as_i64()),
        currency: text("currency"),
        hosted_invoice_url: text("hosted_invoice_url"),
        payment_failed: row.event_type == "invoice.payment_failed",
        at: crate::store::billing::unix_time(row.stripe_created),
    }
}

/// Only a signed-in OWNER manages billing (it spends the organisation's money).
fn owner(ctx: &Context<'_>) -> ApiResult<(uuid::Uuid, leadline_domain::ids::TenantId)> {
    let (user, tenant, role) = principal(ctx).member()?;
    if role != Role::Owner {
        return Err(ApiError::Forbidden("only owners can manage billing".into()));
    }
    Ok((user, tenant))
}

#[derive(Default)]
pub struct BillingQuery;

#[Object]
impl BillingQuery {
    /// The plans this instance offers (public: a pricing page needs no account).
    async fn plans(&self, ctx: &Context<'_>) -> Vec<Plan> {
        state(ctx)
            .config
            .plans
            .plans
            .iter()
            .cloned()
            .map(Plan)
            .collect()
    }

    /// The caller's tenant's billing: plan, status, period, the plan in force and invoices.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn billing(&self, ctx: &Context<'_>) -> async_graphql::Result<Billing> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let app = state(ctx);
        let row = app.store.tenant(tenant_id).await?;
        let (in_force, grace_ends_at) = service::plan_in_force(app, &row)?;
        let invoices = app
            .store
            .invoice_events(tenant_id, MAX_INVOICES)
            .await?
            .into_iter()
            .map(invoice)
            .collect();
        let (usage_from, usage_to) =
            service::usage_period(row.billing_current_period_end, Utc::now());
        let totals = app
            .store
            .usage_totals(tenant_id, usage_from, usage_to)
            .await?;
        let usage = domain::UsageItem::ALL
            .into_iter()
            .map(|item| {
                let used = totals
                    .iter()
                    .find(|(counted, _)| *counted == item)
                    .map_or(0, |(_, total)| *total);
                let included = in_force.included.of(item);
                UsageLine {
                    item: item.into(),
                    used,
                    included,
                    remaining: included.map(|n| n.saturating_sub(used)),
                }
            })
            .collect();
        Ok(Billing {
            enabled: app.config.billing_enabled(),
            plan: plan_of(app, &row.plan),
            plan_in_force: Plan(in_force.clone()),
            status: BillingStatus::from_stored(&row.subscription_status)?,
            current_period_end: row.billing_current_period_end,
            cancel_at_period_end: row.billing_cancel_at_period_end,
            grace_ends_at,
            usage_from,
            usage_to,
            usage,
            invoices,
        })
    }

    /// The tenant's use of each counted item (AI replies, call minutes, live sessions,
    /// messages sent, leads) in `[from, to)`, in HOUR or DAY buckets of the tenant's time zone,
    /// from the usage ledger. At most 366 days, and at most 744 HOUR buckets (BAD_USER_INPUT
    /// otherwise). Counted whether or not billing is on.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Start of the period (included).")] from: DateTime<Utc>,
        #[graphql(desc = "End of the period (excluded).")] to: DateTime<Utc>,
        #[graphql(desc = "Bucket width.", default_with = "Granularity::Day")]
        granularity: Granularity,
    ) -> async_graphql::Result<UsageReport> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        let app = state(ctx);
        let row = app.store.tenant(tenant_id).await?;
        let zone_name = row.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
        let zone = leadline_domain::compliance::parse_time_zone("timeZone", &zone_name)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("stored time zone: {e}")))?;
        let period = Period::new(from, to, granularity.into(), zone).map_err(|e| match e {
            leadline_domain::DomainError::OutOfRange { field, .. } => ApiError::invalid(field, e),
            other => ApiError::invalid("to", other),
        })?;
        let rows = app.store.usage_rows(tenant_id, from, to).await?;
        let starts = period.bucket_starts();
        let items = domain::usage_series(&period, &rows)
            .into_iter()
            .map(|series| UsageItemSeries {
                item: series.item.into(),
                total: series.total,
                points: starts
                    .iter()
                    .zip(series.buckets)
                    .map(|(start, quantity)| UsagePoint {
                        start: *start,
                        quantity,
                    })
                    .collect(),
            })
            .collect();
        Ok(UsageReport {
            from,
            to,
            time_zone: zone_name,
            items,
        })
    }
}

#[derive(Default)]
pub struct BillingMutation;

#[Object]
impl BillingMutation {
    /// Opens a Stripe Checkout for a subscription to `plan` (owners only). The tenant's Stripe
    /// customer is created once and reused; the same tenant, plan and URLs within ten minutes
    /// answer the same session. CONFLICT when billing is off or a subscription exists already
    /// (change plans in the portal). The plan applies once Stripe confirms the payment.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn create_checkout_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The plan and where Stripe sends the owner back.")]
        input: CreateCheckoutSessionInput,
    ) -> async_graphql::Result<CreateCheckoutSessionPayload> {
        let (user, tenant) = owner(ctx)?;
        let app = state(ctx);
        let email = app.store.user(UserId(user)).await?.map(|u| u.email);
        let url = service::create_checkout_session(
            app,
            tenant,
            email.as_deref(),
            input.plan.trim(),
            &input.success_url,
            &input.cancel_url,
        )
        .await?;
        Ok(CreateCheckoutSessionPayload { url })
    }

    /// Opens the Stripe billing portal (owners only): payment methods, invoices, plan changes
    /// and cancellation on Stripe's page. CONFLICT when billing is off.
    #[graphql(guard = "AccessGuard(Access::Administer)")]
    async fn create_billing_portal_session(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Where the portal's return link leads.")]
        input: CreateBillingPortalSessionInput,
    ) -> async_graphql::Result<CreateBillingPortalSessionPayload> {
        let (user, tenant) = owner(ctx)?;
        let app = state(ctx);
        let email = app.store.user(UserId(user)).await?.map(|u| u.email);
        let url = service::create_portal_session(app, tenant, email.as_deref(), &input.return_url)
            .await?;
        Ok(CreateBillingPortalSessionPayload { url })
    }
}

#[derive(Default)]
pub struct BillingSubscription;

#[Subscription]
impl BillingSubscription {
    /// The tenant's plan or billing status changing (after Stripe reports it), on every
    /// replica.
    #[graphql(guard = "AccessGuard(Access::Read)")]
    async fn billing_updated(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<BillingUpdate>>> {
        let tenant_id = tenant_for(ctx, Access::Read)?;
        Ok(tenant_events(ctx, tenant_id, |event| match event {
            Event::BillingUpdated {
                plan,
                status,
                current_period_end,
                cancel_at_period_end,
                at,
            } => Some(BillingUpdate {
                plan: plan.clone(),
                status: (*status).into(),
                current_period_end: *current_period_end,
                cancel_at_period_end: *cancel_at_period_end,
                at: *at,
            }),
            _ => None,
        }))
    }
}
