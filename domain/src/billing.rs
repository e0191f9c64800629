//! Billing rules (issue 16): the operator's plans as data, a tenant's billing status and how it
//! moves when Stripe reports a subscription, the grace period of a failed payment, and the
//! entitlement decision every gated operation asks for.
//!
//! Owns: [`PlanCatalog`] (parsed and validated from the operator's JSON plans file, or the
//! built-in default), [`BillingStatus`] and [`status_from_stripe`], [`next_state`] (which
//! subscription report may replace the stored one, never an older one), and [`entitlement`] /
//! [`check_feature`] (may this tenant use this feature now, and if not, why).
//!
//! Must not: talk to Stripe, read files or the clock. The api reads the plans file and passes
//! its text to [`PlanCatalog::from_json`]; `now` is always an argument.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::channel::Channel;
use crate::DomainError;

named_enum! {
    /// A tenant's billing standing, as shown to it and stored on its row.
    pub enum BillingStatus("billing status") {
        /// Paid and current.
        Active => "ACTIVE",
        /// In a trial: the plan's features are on.
        Trialing => "TRIALING",
        /// A renewal payment failed; the plan stays on for the grace period, then stops.
        PastDue => "PAST_DUE",
        /// The subscription ended: the tenant is back on the free plan.
        Canceled => "CANCELED",
        /// Never subscribed (or the first payment was never made): the free plan.
        None => "NONE",
    }
}

named_enum! {
    /// What a plan may switch on, checked at the point of use.
    pub enum Feature("plan feature") {
        /// Live-stream selling sessions (`startLiveSession`).
        LiveSelling => "LIVE_SELLING",
        /// The inbox's outbound messages on a messaging channel (the plan lists which).
        InboxChannels => "INBOX_CHANNELS",
        /// The support chat's AI answers.
        SupportChat => "SUPPORT_CHAT",
        /// Payment-reminder calls.
        ReminderCalls => "REMINDER_CALLS",
        /// The dealership AI phone agent.
        PhoneAgent => "PHONE_AGENT",
        /// Members of the tenant (the plan caps how many).
        Seats => "SEATS",
    }
}

named_enum! {
    /// What is counted per billing period.
    pub enum UsageItem("usage item") {
        /// AI-written replies (inbox, live, support).
        AiReplies => "AI_REPLIES",
        /// Billed call minutes (reminder calls and the phone agent).
        CallMinutes => "CALL_MINUTES",
        /// Live sessions started.
        LiveSessions => "LIVE_SESSIONS",
        /// Outbound messages sent.
        MessagesSent => "MESSAGES_SENT",
        /// Leads created.
        Leads => "LEADS",
    }
}

/// One Stripe price of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanPrice {
    /// `price_…` in the operator's Stripe account.
    pub price: String,
    /// For a metered price: the usage it bills, reported as meter events named
    /// `meterEventName`. Absent: a licensed price bought with quantity 1.
    #[serde(default)]
    pub metered: Option<UsageItem>,
    /// The meter's `event_name` (required with `metered`).
    #[serde(default)]
    pub meter_event_name: Option<String>,
}

/// What a plan switches on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanFeatures {
    /// Live-stream selling.
    #[serde(default)]
    pub live_selling: bool,
    /// The messaging channels the inbox may send on (WHATSAPP, INSTAGRAM, FACEBOOK, TIKTOK).
    #[serde(default)]
    pub inbox_channels: Vec<Channel>,
    /// The support chat's AI.
    #[serde(default)]
    pub support_chat: bool,
    /// Payment-reminder calls.
    #[serde(default)]
    pub reminder_calls: bool,
    /// The AI phone agent.
    #[serde(default)]
    pub phone_agent: bool,
    /// Members allowed (absent: no cap).
    #[serde(default)]
    pub seats: Option<u32>,
}

/// Quantities included per billing period; absent means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Included {
    /// AI replies.
    #[serde(default)]
    pub ai_replies: Option<u64>,
    /// Call minutes.
    #[serde(default)]
    pub call_minutes: Option<u64>,
    /// Live sessions.
    #[serde(default)]
    pub live_sessions: Option<u64>,
    /// Outbound messages.
    #[serde(default)]
    pub messages_sent: Option<u64>,
    /// Leads created.
    #[serde(default)]
    pub leads: Option<u64>,
}

impl Included {
    /// The included quantity of `item` (`None`: unlimited).
    pub fn of(&self, item: UsageItem) -> Option<u64> {
        match item {
            UsageItem::AiReplies => self.ai_replies,
            UsageItem::CallMinutes => self.call_minutes,
            UsageItem::LiveSessions => self.live_sessions,
            UsageItem::MessagesSent => self.messages_sent,
            UsageItem::Leads => self.leads,
        }
    }
}

/// One plan an operator sells (or gives).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Plan {
    /// Stable id (`PRO`): stored on the tenant, sent by `createCheckoutSession`.
    pub id: String,
    /// What a person reads.
    pub name: String,
    /// The Stripe prices Checkout subscribes to (empty: not for sale).
    #[serde(default)]
    pub prices: Vec<PlanPrice>,
    /// What it switches on.
    pub features: PlanFeatures,
    /// What is included per period.
    #[serde(default)]
    pub included: Included,
}

impl Plan {
    /// Whether the plan switches `feature` on (for [`Feature::InboxChannels`], on at least one
    /// channel; use [`Plan::allows_channel`] for a particular one; seats are a cap, not a
    /// switch, so always on).
    pub fn has(&self, feature: Feature) -> bool {
        match feature {
            Feature::LiveSelling => self.features.live_selling,
            Feature::InboxChannels => !self.features.inbox_channels.is_empty(),
            Feature::SupportChat => self.features.support_chat,
            Feature::ReminderCalls => self.features.reminder_calls,
            Feature::PhoneAgent => self.features.phone_agent,
            Feature::Seats => true,
        }
    }

    /// Whether the inbox may send on `channel`.
    pub fn allows_channel(&self, channel: Channel) -> bool {
        self.features.inbox_channels.contains(&channel)
    }

    /// Whether Checkout can sell it.
    pub fn is_for_sale(&self) -> bool {
        !self.prices.is_empty()
    }

    /// The metered price that bills `item` beyond what is included, if the plan has one.
    pub fn metered_price(&self, item: UsageItem) -> Option<&PlanPrice> {
        self.prices.iter().find(|p| p.metered == Some(item))
    }

    /// The items this plan reports to Stripe as usage.
    pub fn metered_items(&self) -> Vec<UsageItem> {
        UsageItem::ALL
            .iter()
            .copied()
            .filter(|item| self.metered_price(*item).is_some())
            .collect()
    }
}

/// The operator's plans: the plans file (`LEADLINE_PLANS`) or [`PlanCatalog::builtin`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanCatalog {
    /// The plan of every tenant while billing is off (no `STRIPE_SECRET_KEY`).
    pub default_plan: String,
    /// The plan of a tenant without a subscription (NONE, CANCELED, PAST_DUE after grace)
    /// while billing is on.
    pub free_plan: String,
    /// Every plan, in the order `plans` lists them.
    pub plans: Vec<Plan>,
}

/// The built-in plans: an unlimited plan for instances that do not bill (so nothing changes
/// for them), a free plan, and two plans for sale whose price ids the operator replaces.
const BUILTIN: &str = include_str!("../data/billing/plans.json");

fn catalog_error(message: impl Into<String>) -> DomainError {
    DomainError::OutOfRange {
        field: "plans",
        message: message.into(),
    }
}

impl PlanCatalog {
    /// Parses and checks a plans file (JSON, see `domain/data/billing/plans.json`): unknown
    /// fields, duplicate plan ids or prices, a missing default or free plan, a metered price
    /// without its meter event name, a non-messaging inbox channel are all refused, naming what
    /// is wrong.
    pub fn from_json(text: &str) -> Result<PlanCatalog, DomainError> {
        let catalog: PlanCatalog = serde_json::from_str(text)
            .map_err(|e| catalog_error(format!("not a valid plans file: {e}")))?;
        catalog.validate()?;
        Ok(catalog)
    }

    /// The built-in catalog.
    pub fn builtin() -> PlanCatalog {
        // The shipped file is pinned by a test, so this parse cannot fail at run time; a broken
        // edit fails `cargo test` before it ships. Fallback keeps the function total anyway.
        PlanCatalog::from_json(BUILTIN).unwrap_or_else(|_| PlanCatalog {
            default_plan: "UNLIMITED".to_owned(),
            free_plan: "UNLIMITED".to_owned(),
            plans: vec![Plan {
                id: "UNLIMITED".to_owned(),
                name: "Unlimited".to_owned(),
                prices: Vec::new(),
                features: PlanFeatures {
                    live_selling: true,
                    inbox_channels: vec![
                        Channel::Whatsapp,
                        Channel::Instagram,
                        Channel::Facebook,
                        Channel::Tiktok,
                    ],
                    support_chat: true,
                    reminder_calls: true,
                    phone_agent: true,
                    seats: None,
                },
                included: Included::default(),
            }],
        })
    }

    fn validate(&self) -> Result<(), DomainError> {
        if self.plans.is_empty() {
            return Err(catalog_error("at least one plan is needed"));
        }
        let mut ids = std::collections::BTreeSet::new();
        let mut prices = std::collections::BTreeSet::new();
        for plan in &self.plans {
            let id_ok = !plan.id.is_empty()
                && plan.id.len() <= 40
                && plan
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !id_ok {
                return Err(catalog_error(format!(
                    "plan id {:?} must be 1-40 of A-Z, 0-9 and _",
                    plan.id
                )));
            }
            if !ids.insert(plan.id.as_str()) {
                return Err(catalog_error(format!("plan id {} appears twice", plan.id)));
            }
            if plan.name.trim().is_empty() {
                return Err(catalog_error(format!("plan {} has no name", plan.id)));
            }
            for channel in &plan.features.inbox_channels {
                if !matches!(
                    channel,
                    Channel::Whatsapp | Channel::Instagram | Channel::Facebook | Channel::Tiktok
                ) {
                    return Err(catalog_error(format!(
                        "plan {}: {} is not an inbox channel",
                        plan.id,
                        channel.as_str()
                    )));
                }
            }
            for price in &plan.prices {
                if !price.price.starts_with("price_") {
                    return Err(catalog_error(format!(
                        "plan {}: {:?} is not a Stripe price id (price_…)",
                        plan.id, price.price
                    )));
                }
                if !prices.insert(price.price.as_str()) {
                    return Err(catalog_error(format!(
                        "price {} belongs to two plans (a subscription must name one plan)",
                        price.price
                    )));
                }
                let named = price
                    .meter_event_name
                    .as_deref()
                    .is_some_and(|n| !n.trim().is_empty());
                if price.metered.is_some() != named {
                    return Err(catalog_error(format!(
                        "plan {}: price {} needs both `metered` and `meterEventName`, or neither",
                        plan.id, price.price
                    )));
                }
            }
        }
        for (field, id) in [
            ("defaultPlan", &self.default_plan),
            ("freePlan", &self.free_plan),
        ] {
            if self.plan(id).is_none() {
                return Err(catalog_error(format!("{field} {id:?} is not a plan")));
            }
        }
        Ok(())
    }

    /// The plan with this id.
    pub fn plan(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    /// The plan one of whose prices is `price`.
    pub fn plan_for_price(&self, price: &str) -> Option<&Plan> {
        self.plans
            .iter()
            .find(|p| p.prices.iter().any(|pr| pr.price == price))
    }

    /// The plan a Stripe subscription with these item prices is on: the first price that
    /// belongs to a plan decides.
    pub fn plan_for_prices<'a>(&self, prices: impl IntoIterator<Item = &'a str>) -> Option<&Plan> {
        prices.into_iter().find_map(|p| self.plan_for_price(p))
    }

    /// The plan every tenant is on while billing is off.
    pub fn default(&self) -> &Plan {
        match self.plan(&self.default_plan).or_else(|| self.plans.first()) {
            Some(plan) => plan,
            None => unreachable_plan(),
        }
    }

    /// The plan of a tenant without a subscription while billing is on.
    pub fn free(&self) -> &Plan {
        self.plan(&self.free_plan).unwrap_or_else(|| self.default())
    }
}

/// `validate` refuses an empty catalog, so there is always a first plan; this is only the
/// type-level answer for a catalog built by hand without one.
fn unreachable_plan() -> &'static Plan {
    static EMPTY: std::sync::OnceLock<Plan> = std::sync::OnceLock::new();
    EMPTY.get_or_init(|| Plan {
        id: "NONE".to_owned(),
        name: "No plan".to_owned(),
        prices: Vec::new(),
        features: PlanFeatures {
            live_selling: false,
            inbox_channels: Vec::new(),
            support_chat: false,
            reminder_calls: false,
            phone_agent: false,
            seats: Some(1),
        },
        included: Included::default(),
    })
}

/// Reads a Stripe subscription status (platforms.md §9) as ours: `active` → ACTIVE, `trialing`
/// → TRIALING, `past_due`/`unpaid`/`paused` → PAST_DUE (a payment is owed; the grace period
/// applies from when it started), `canceled` → CANCELED, `incomplete`/`incomplete_expired` and
/// anything unknown → NONE (no first payment, so nothing was bought).
pub fn status_from_stripe(stripe_status: &str) -> BillingStatus {
    match stripe_status {
        "active" => BillingStatus::Active,
        "trialing" => BillingStatus::Trialing,
        "past_due" | "unpaid" | "paused" => BillingStatus::PastDue,
        "canceled" => BillingStatus::Canceled,
        _ => BillingStatus::None,
    }
}

/// A tenant's stored billing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingState {
    /// The plan bought (or the free plan's id).
    pub plan: String,
    /// The status.
    pub status: BillingStatus,
    /// The subscription this state comes from.
    pub subscription_id: Option<String>,
    /// When the current period ends.
    pub current_period_end: Option<DateTime<Utc>>,
    /// Whether the subscription ends at the period's end.
    pub cancel_at_period_end: bool,
    /// Since when a payment is owed (PAST_DUE only).
    pub past_due_since: Option<DateTime<Utc>>,
    /// When the applied subscription state was read from Stripe: a report read earlier never
    /// replaces it.
    pub synced_at: Option<DateTime<Utc>>,
}

/// A subscription as Stripe reported it, at `read_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionReport {
    /// `sub_…`.
    pub subscription_id: String,
    /// Stripe's status string.
    pub stripe_status: String,
    /// The plan its prices map to (`None`: none of the catalog's prices).
    pub plan: Option<String>,
    /// The period end.
    pub current_period_end: Option<DateTime<Utc>>,
    /// `cancel_at_period_end`.
    pub cancel_at_period_end: bool,
    /// When this state was read (a retrieve's time, or the event's `created`).
    pub read_at: DateTime<Utc>,
}

/// What [`next_state`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Store this state; `status_changed` says whether to audit and publish a status change.
    Apply {
        /// The new state.
        state: BillingState,
        /// Whether the status (or plan) differs from before.
        status_changed: bool,
    },
    /// The report is older than what is stored: nothing changes.
    Stale,
    /// The report is about another subscription of the tenant that must not replace the one
    /// in force (an ended one while another is live).
    OtherSubscription,
}

fn is_live(status: BillingStatus) -> bool {
    matches!(
        status,
        BillingStatus::Active | BillingStatus::Trialing | BillingStatus::PastDue
    )
}

/// Applies a subscription report to the stored state. Rules:
/// - a report read before the stored one's `synced_at` is [`Transition::Stale`] (Stripe does
///   not deliver events in order);
/// - a report about a different subscription replaces the stored one only if it is live or the
///   stored one is not ([`Transition::OtherSubscription`] otherwise), so an old canceled
///   subscription's late event never ends a new one;
/// - PAST_DUE keeps the moment it began (`past_due_since`), so redeliveries do not restart the
///   grace period; any other status clears it;
/// - the plan is the one the subscription's prices name (kept when they name none), also once
///   it ended: the tenant sees which plan was canceled, and [`entitlement`] puts it on the free
///   plan.
pub fn next_state(current: &BillingState, report: &SubscriptionReport) -> Transition {
    if current.synced_at.is_some_and(|at| report.read_at < at) {
        return Transition::Stale;
    }
    let status = status_from_stripe(&report.stripe_status);
    let same = current.subscription_id.as_deref() == Some(report.subscription_id.as_str());
    if !same && current.subscription_id.is_some() && is_live(current.status) && !is_live(status) {
        return Transition::OtherSubscription;
    }
    let plan = report.plan.clone().unwrap_or_else(|| current.plan.clone());
    let past_due_since = match status {
        BillingStatus::PastDue => current
            .past_due_since
            .filter(|_| current.status == BillingStatus::PastDue && same)
            .or(Some(report.read_at)),
        _ => None,
    };
    let state = BillingState {
        plan,
        status,
        subscription_id: Some(report.subscription_id.clone()),
        current_period_end: report.current_period_end,
        cancel_at_period_end: report.cancel_at_period_end,
        past_due_since,
        synced_at: Some(report.read_at),
    };
    let status_changed = state.status != current.status || state.plan != current.plan;
    Transition::Apply {
        state,
        status_changed,
    }
}

/// When a PAST_DUE tenant's grace ends.
pub fn grace_ends(state: &BillingState, grace: Duration) -> Option<DateTime<Utc>> {
    match state.status {
        BillingStatus::PastDue => state.past_due_since.map(|since| since + grace),
        _ => None,
    }
}

/// Why a feature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// The plan in force does not include it.
    NotOnPlan,
    /// The subscription ended; the free plan does not include it.
    Canceled,
    /// A payment is owed and the grace period is over.
    PastDue,
}

impl RefusalReason {
    /// The stable name (`extensions.reason`).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::NotOnPlan => "NOT_ON_PLAN",
            RefusalReason::Canceled => "CANCELED",
            RefusalReason::PastDue => "PAST_DUE",
        }
    }
}

/// A refused feature: what the frontend shows and where it sends the owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The plan in force (its id).
    pub plan: String,
    /// The feature asked for.
    pub feature: Feature,
    /// Why.
    pub reason: RefusalReason,
}

/// The plan in force for a tenant, and why it is that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement<'a> {
    /// The plan whose features and quantities apply now.
    pub plan: &'a Plan,
    /// Why the bought plan is not in force, when it is not.
    pub lapsed: Option<RefusalReason>,
}

/// The plan in force: with billing off, the catalog's default for everyone; with billing on,
/// the bought plan while ACTIVE, TRIALING or PAST_DUE within `grace`, else the free plan.
pub fn entitlement<'a>(
    catalog: &'a PlanCatalog,
    state: &BillingState,
    billing_on: bool,
    now: DateTime<Utc>,
    grace: Duration,
) -> Entitlement<'a> {
    if !billing_on {
        return Entitlement {
            plan: catalog.default(),
            lapsed: None,
        };
    }
    let bought = catalog.plan(&state.plan);
    let lapsed = match state.status {
        BillingStatus::Active | BillingStatus::Trialing => None,
        BillingStatus::PastDue => match grace_ends(state, grace) {
            Some(end) if now >= end => Some(RefusalReason::PastDue),
            _ => None,
        },
        BillingStatus::Canceled => Some(RefusalReason::Canceled),
        BillingStatus::None => Some(RefusalReason::NotOnPlan),
    };
    match (lapsed, bought) {
        (None, Some(plan)) => Entitlement { plan, lapsed: None },
        (None, None) => Entitlement {
            plan: catalog.free(),
            lapsed: None,
        },
        (Some(reason), _) => Entitlement {
            plan: catalog.free(),
            lapsed: Some(reason),
        },
    }
}

/// What the plan must include for the inbox to send a reply on `channel`: a text (TWILIO) goes
/// out from the dealership's Twilio number, which only the phone agent brings, so
/// [`Feature::PhoneAgent`]; any other channel is [`Feature::InboxChannels`] on that channel.
pub fn reply_feature(channel: Channel) -> (Feature, Option<Channel>) {
    match channel {
        Channel::Twilio => (Feature::PhoneAgent, None),
        other => (Feature::InboxChannels, Some(other)),
    }
}

/// May the tenant use `feature` now (and, for the inbox, on `channel`)? A refusal names the
/// plan in force and why: the bought plan lapsed (CANCELED, PAST_DUE after grace) when it
/// would have allowed it, else NOT_ON_PLAN.
pub fn check_feature(
    catalog: &PlanCatalog,
    state: &BillingState,
    billing_on: bool,
    now: DateTime<Utc>,
    grace: Duration,
    feature: Feature,
    channel: Option<Channel>,
) -> Result<(), Refusal> {
    let allows = |plan: &Plan| match (feature, channel) {
        (Feature::InboxChannels, Some(channel)) => plan.allows_channel(channel),
        _ => plan.has(feature),
    };
    let in_force = entitlement(catalog, state, billing_on, now, grace);
    if allows(in_force.plan) {
        return Ok(());
    }
    let bought_allows = catalog.plan(&state.plan).is_some_and(allows);
    let reason = match in_force.lapsed {
        Some(reason @ (RefusalReason::Canceled | RefusalReason::PastDue)) if bought_allows => {
            reason
        }
        _ => RefusalReason::NotOnPlan,
    };
    Err(Refusal {
        plan: in_force.plan.id.clone(),
        feature,
        reason,
    })
}

/// An included quantity used up on a plan that does not bill beyond it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaRefusal {
    /// The plan in force (its id).
    pub plan: String,
    /// The item used up.
    pub item: UsageItem,
    /// What the plan includes per period.
    pub included: u64,
    /// What the period has used.
    pub used: u64,
}

/// May `amount` more of `item` be used, with `used` already used this period? Unlimited (no
/// included quantity) and metered items (billed beyond what is included) always may; otherwise
/// the included quantity is a hard cap.
pub fn check_quota(
    plan: &Plan,
    item: UsageItem,
    used: u64,
    amount: u64,
) -> Result<(), QuotaRefusal> {
    let Some(included) = plan.included.of(item) else {
        return Ok(());
    };
    if plan.metered_price(item).is_some() || used.saturating_add(amount) <= included {
        return Ok(());
    }
    Err(QuotaRefusal {
        plan: plan.id.clone(),
        item,
        included,
        used,
    })
}

/// May one more member join, with `members` already in the tenant? A refusal is the plan's
/// seat cap; a plan without `seats` has none.
pub fn check_seats(plan: &Plan, members: u64) -> Result<(), u32> {
    match plan.features.seats {
        Some(seats) if members >= u64::from(seats) => Err(seats),
        _ => Ok(()),
    }
}

/// One item's use over a period, bucket by bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageSeries {
    /// What is counted.
    pub item: UsageItem,
    /// The whole period's use.
    pub total: u64,
    /// The use in each of the period's buckets, in order (`Period::bucket_starts`).
    pub buckets: Vec<u64>,
}

/// Cuts ledger rows `(item, when, quantity)` into `period`'s buckets: one series per item, in
/// [`UsageItem::ALL`] order, every bucket present (zero where nothing was used). Rows outside
/// the period are ignored.
pub fn usage_series(
    period: &crate::call_analytics::Period,
    rows: &[(UsageItem, DateTime<Utc>, u64)],
) -> Vec<UsageSeries> {
    let starts = period.bucket_starts();
    let mut series: Vec<UsageSeries> = UsageItem::ALL
        .iter()
        .map(|item| UsageSeries {
            item: *item,
            total: 0,
            buckets: vec![0; starts.len()],
        })
        .collect();
    for (item, at, quantity) in rows {
        if !period.contains(*at) {
            continue;
        }
        let Some(bucket) = starts.partition_point(|start| start <= at).checked_sub(1) else {
            continue;
        };
        if let Some(line) = series.iter_mut().find(|s| s.item == *item) {
            line.total = line.total.saturating_add(*quantity);
            if let Some(slot) = line.buckets.get_mut(bucket) {
                *slot = slot.saturating_add(*quantity);
            }
        }
    }
    series
}

#[cfg(test)]
mod tests;
