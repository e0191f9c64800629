//! Billing rows: a tenant's Stripe customer and subscription state (columns of `tenants`) and
//! `stripe_events`, every verified Stripe event stored once by its id.
//!
//! Owns the transactions billing needs: the customer id set once per tenant (a conditional
//! UPDATE, so two concurrent checkouts keep one customer), an event stored with its job in one
//! transaction (a redelivery inserts nothing and enqueues nothing), and a subscription report
//! applied under the tenant row's lock with its audit row (never an older report over a newer
//! one: `domain::billing::next_state` decides). Must not call Stripe or decide entitlements.
//!
//! Not tenant-scoped, deliberately: [`Store::tenant_by_stripe_customer`] (a webhook names only
//! the customer) and [`Store::store_stripe_event`] / [`Store::stripe_event`] (an event is
//! stored before, or without, a tenant).

use chrono::{DateTime, Utc};
use leadline_domain::billing::{BillingState, BillingStatus, SubscriptionReport, Transition};
use leadline_domain::ids::TenantId;
use leadline_entity::{stripe_events, tenants};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

use super::audit::{self, AuditEntry};
use super::columns::Stored;
use super::{now, Store};
use crate::auth::Actor;
use crate::error::{ApiError, ApiResult};
use crate::jobs::{self, NewJob};

/// The job that applies one stored Stripe event.
pub const STRIPE_EVENT_JOB: &str = "billing_stripe_event";

/// The invoice event types kept for `billing.invoices`.
pub const INVOICE_EVENTS: [&str; 2] = ["invoice.paid", "invoice.payment_failed"];

/// Reads the billing columns of a tenant row as the domain's state. An unknown stored status
/// is INTERNAL (ARCHITECTURE.md §7: never a silent default).
pub fn billing_state_of(tenant: &tenants::Model) -> ApiResult<BillingState> {
    let status = BillingStatus::stored(&tenant.subscription_status)?;
    Ok(BillingState {
        plan: tenant.plan.clone(),
        status,
        subscription_id: tenant.stripe_subscription_id.clone(),
        current_period_end: tenant.billing_current_period_end,
        cancel_at_period_end: tenant.billing_cancel_at_period_end,
        past_due_since: tenant.billing_past_due_since,
        synced_at: tenant.billing_synced_at,
    })
}

/// A verified event to store.
#[derive(Debug, Clone)]
pub struct NewStripeEvent {
    /// `evt_…`.
    pub id: String,
    /// The tenant it belongs to, when one matched.
    pub tenant_id: Option<TenantId>,
    /// `type`.
    pub event_type: String,
    /// The object it is about.
    pub object_id: Option<String>,
    /// `created`.
    pub stripe_created: i64,
    /// `livemode`.
    pub livemode: bool,
    /// The whole event.
    pub payload: serde_json::Value,
    /// Whether the billing job should apply it (a type billing acts on, for a known tenant).
    pub apply: bool,
}

/// What applying a subscription report did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// `applied`, `stale` or `other_subscription`.
    pub outcome: &'static str,
    /// The tenant row after the change, when the status or plan changed (to publish).
    pub changed: Option<tenants::Model>,
}

impl Store {
    /// The tenant whose Stripe customer is `customer` (not tenant-scoped: a webhook names only
    /// the customer).
    pub async fn tenant_by_stripe_customer(
        &self,
        customer: &str,
    ) -> ApiResult<Option<tenants::Model>> {
        Ok(tenants::Entity::find()
            .filter(tenants::Column::StripeCustomerId.eq(customer))
            .one(&self.db)
            .await?)
    }

    /// Sets the tenant's Stripe customer unless it has one; returns the one it has now. Two
    /// concurrent checkouts both create (the same, thanks to the idempotency key) customer, and
    /// only the first UPDATE writes.
    pub async fn set_stripe_customer(&self, tenant: TenantId, customer: &str) -> ApiResult<String> {
        tenants::Entity::update_many()
            .col_expr(tenants::Column::StripeCustomerId, Expr::value(customer))
            .filter(tenants::Column::Id.eq(tenant.uuid()))
            .filter(tenants::Column::StripeCustomerId.is_null())
            .exec(&self.db)
            .await?;
        self.tenant(tenant)
            .await?
            .stripe_customer_id
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("stripe customer not stored")))
    }

    /// Stores a verified event once, with its job in the same transaction. `false`: it was
    /// stored already (a redelivery) and nothing changed.
    pub async fn store_stripe_event(&self, event: NewStripeEvent) -> ApiResult<bool> {
        let tx = self.db.begin().await?;
        let inserted = stripe_events::Entity::insert(stripe_events::ActiveModel {
            id: Set(event.id.clone()),
            tenant_id: Set(event.tenant_id.map(|t| t.uuid())),
            event_type: Set(event.event_type),
            object_id: Set(event.object_id),
            stripe_created: Set(event.stripe_created),
            livemode: Set(event.livemode),
            payload: Set(event.payload),
            received_at: Set(now()),
            processed_at: Set(None),
            outcome: Set(if event.apply {
                None
            } else {
                Some("ignored".to_owned())
            }),
        })
        .on_conflict(
            OnConflict::column(stripe_events::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&tx)
        .await?;
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if let (true, Some(tenant)) = (event.apply, event.tenant_id) {
            jobs::enqueue(
                &tx,
                NewJob::new(
                    tenant.uuid(),
                    STRIPE_EVENT_JOB,
                    serde_json::json!({ "eventId": event.id }),
                )
                .idempotent(format!("stripe:{}", event.id)),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A stored event of this tenant.
    pub async fn stripe_event(
        &self,
        tenant: TenantId,
        event_id: &str,
    ) -> ApiResult<stripe_events::Model> {
        stripe_events::Entity::find_by_id(event_id.to_owned())
            .filter(stripe_events::Column::TenantId.eq(tenant.uuid()))
            .one(&self.db)
            .await?
            .ok_or(ApiError::NotFound("stripe event"))
    }

    /// Records what the job did with an event that changed nothing.
    pub async fn mark_stripe_event(&self, event_id: &str, outcome: &str) -> ApiResult<()> {
        stripe_events::Entity::update_many()
            .col_expr(stripe_events::Column::Outcome, Expr::value(outcome))
            .col_expr(stripe_events::Column::ProcessedAt, Expr::value(now()))
            .filter(stripe_events::Column::Id.eq(event_id))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Applies a subscription report to the tenant under its row lock (PostgreSQL; SQLite has
    /// one writer): `domain::billing::next_state` decides, the row and an audit entry for a
    /// status or plan change are written together, and the event is marked with the outcome.
    pub async fn apply_subscription_report(
        &self,
        tenant: TenantId,
        event_id: &str,
        customer: &str,
        report: &SubscriptionReport,
    ) -> ApiResult<Applied> {
        let tx = self.db.begin().await?;
        let mut query = tenants::Entity::find_by_id(tenant.uuid());
        if self.is_postgres() {
            query = query.lock_exclusive();
        }
        let row = query.one(&tx).await?.ok_or(ApiError::NotFound("tenant"))?;
        let current = billing_state_of(&row)?;
        let (outcome, changed) = match leadline_domain::billing::next_state(&current, report) {
            Transition::Stale => ("stale", None),
            Transition::OtherSubscription => ("other_subscription", None),
            Transition::Apply {
                state,
                status_changed,
            } => {
                let at = now();
                let updated = tenants::Entity::update(tenants::ActiveModel {
                    id: Set(row.id),
                    plan: Set(state.plan.clone()),
                    subscription_status: Set(state.status.as_str().to_owned()),
                    stripe_customer_id: Set(Some(customer.to_owned())),
                    stripe_subscription_id: Set(state.subscription_id.clone()),
                    billing_current_period_end: Set(state.current_period_end),
                    billing_cancel_at_period_end: Set(state.cancel_at_period_end),
                    billing_past_due_since: Set(state.past_due_since),
                    billing_synced_at: Set(state.synced_at),
                    updated_at: Set(at),
                    ..Default::default()
                })
                .exec(&tx)
                .await?;
                if status_changed {
                    audit::record(
                        &tx,
                        row.id,
                        Actor::default(),
                        AuditEntry {
                            action: "billing.status_changed",
                            target_type: "tenant",
                            target_id: Some(row.id.to_string()),
                            details: serde_json::json!({
                                "from": { "plan": current.plan, "status": current.status.as_str() },
                                "to": { "plan": state.plan, "status": state.status.as_str() },
                                "subscription": state.subscription_id,
                                "stripeEvent": event_id,
                            }),
                        },
                    )
                    .await?;
                }
                ("applied", status_changed.then_some(updated))
            }
        };
        stripe_events::Entity::update_many()
            .col_expr(stripe_events::Column::Outcome, Expr::value(outcome))
            .col_expr(stripe_events::Column::ProcessedAt, Expr::value(now()))
            .filter(stripe_events::Column::Id.eq(event_id))
            .exec(&tx)
            .await?;
        tx.commit().await?;
        Ok(Applied { outcome, changed })
    }

    /// The tenant's latest invoice events, newest first (at most `limit`).
    pub async fn invoice_events(
        &self,
        tenant: TenantId,
        limit: u64,
    ) -> ApiResult<Vec<stripe_events::Model>> {
        Ok(stripe_events::Entity::find()
            .filter(stripe_events::Column::TenantId.eq(tenant.uuid()))
            .filter(stripe_events::Column::EventType.is_in(INVOICE_EVENTS))
            .order_by_desc(stripe_events::Column::StripeCreated)
            .order_by_desc(stripe_events::Column::ReceivedAt)
            .limit(limit)
            .all(&self.db)
            .await?)
    }
}

/// Unix seconds as a UTC time (`None` for a value out of chrono's range).
pub fn unix_time(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

impl Store {
    /// Tenants on one of `plans` with a subscription in force (ACTIVE, TRIALING or PAST_DUE)
    /// and a Stripe customer: the ones whose metered usage is reported.
    pub async fn tenants_on_plans(&self, plans: &[String]) -> ApiResult<Vec<TenantId>> {
        let ids: Vec<uuid::Uuid> = tenants::Entity::find()
            .select_only()
            .column(tenants::Column::Id)
            .filter(tenants::Column::Plan.is_in(plans.iter().map(String::as_str)))
            .filter(tenants::Column::SubscriptionStatus.is_in([
                BillingStatus::Active.as_str(),
                BillingStatus::Trialing.as_str(),
                BillingStatus::PastDue.as_str(),
            ]))
            .filter(tenants::Column::StripeCustomerId.is_not_null())
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(ids.into_iter().map(TenantId).collect())
    }

    /// The seats a tenant's plan counts: its members, and the invites still pending (each may
    /// become a member).
    pub async fn seats_taken(&self, tenant: TenantId) -> ApiResult<(u64, u64)> {
        let tenant_id = tenant.uuid();
        let members = leadline_entity::memberships::Entity::find()
            .filter(leadline_entity::memberships::Column::TenantId.eq(tenant_id))
            .count(&self.db)
            .await?;
        let invites = leadline_entity::invites::Entity::find()
            .filter(leadline_entity::invites::Column::TenantId.eq(tenant_id))
            .filter(leadline_entity::invites::Column::AcceptedAt.is_null())
            .filter(leadline_entity::invites::Column::RevokedAt.is_null())
            .filter(leadline_entity::invites::Column::ExpiresAt.gt(super::now()))
            .count(&self.db)
            .await?;
        Ok((members, invites))
    }
}
