//! Plan parsing, the status transitions and the grace period.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

fn state(plan: &str, status: BillingStatus) -> BillingState {
    BillingState {
        plan: plan.to_owned(),
        status,
        subscription_id: Some("sub_1".to_owned()),
        current_period_end: None,
        cancel_at_period_end: false,
        past_due_since: None,
        synced_at: None,
    }
}

fn report(sub: &str, status: &str, read_at: i64) -> SubscriptionReport {
    SubscriptionReport {
        subscription_id: sub.to_owned(),
        stripe_status: status.to_owned(),
        plan: Some("PRO".to_owned()),
        current_period_end: Some(at(read_at + 30 * 86_400)),
        cancel_at_period_end: false,
        read_at: at(read_at),
    }
}

fn apply(current: &BillingState, report: &SubscriptionReport) -> BillingState {
    match next_state(current, report) {
        Transition::Apply { state, .. } => state,
        other => panic!("expected Apply, got {other:?}"),
    }
}

#[test]
fn the_builtin_catalog_parses_and_names_its_default_and_free_plans() {
    let parsed = PlanCatalog::from_json(BUILTIN);
    assert!(parsed.is_ok(), "{parsed:?}");
    let catalog = PlanCatalog::builtin();
    assert_eq!(catalog.default().id, "UNLIMITED");
    assert_eq!(catalog.free().id, "FREE");
    assert!(Feature::ALL.into_iter().all(|f| catalog.default().has(f)));
    assert!(!catalog.free().has(Feature::LiveSelling));
    assert_eq!(
        catalog
            .plan_for_prices(["price_unknown", "price_pro_monthly"])
            .map(|p| p.id.as_str()),
        Some("PRO")
    );
    assert_eq!(catalog.free().included.of(UsageItem::AiReplies), Some(100));
    assert_eq!(catalog.default().included.of(UsageItem::Leads), None);
}

#[test]
fn a_broken_plans_file_is_refused_with_what_is_wrong() {
    let cases = [
        ("not json", "not a valid plans file"),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[]}"#,
            "at least one plan",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"A","name":"A","features":{},"colour":1}]}"#,
            "unknown field",
        ),
        (
            r#"{"defaultPlan":"B","freePlan":"A","plans":[{"id":"A","name":"A","features":{}}]}"#,
            "defaultPlan \"B\" is not a plan",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"A","name":"A","features":{}},{"id":"A","name":"B","features":{}}]}"#,
            "appears twice",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"a b","name":"A","features":{}}]}"#,
            "must be 1-40",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"A","name":"A","features":{"inboxChannels":["YOUTUBE"]}}]}"#,
            "not an inbox channel",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"A","name":"A","prices":[{"price":"prod_1"}],"features":{}}]}"#,
            "not a Stripe price id",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"A","name":"A","prices":[{"price":"price_1","metered":"AI_REPLIES"}],"features":{}}]}"#,
            "meterEventName",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"A","name":"A","prices":[{"price":"price_1"}],"features":{}},{"id":"B","name":"B","prices":[{"price":"price_1"}],"features":{}}]}"#,
            "belongs to two plans",
        ),
        (
            r#"{"defaultPlan":"A","freePlan":"A","plans":[{"id":"A","name":"A","features":{},"included":{"aiReplies":-1}}]}"#,
            "not a valid plans file",
        ),
    ];
    for (text, expected) in cases {
        let error = PlanCatalog::from_json(text)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{text}: {error}");
    }
}

#[test]
fn stripe_statuses_map_to_ours() {
    for (stripe, ours) in [
        ("active", BillingStatus::Active),
        ("trialing", BillingStatus::Trialing),
        ("past_due", BillingStatus::PastDue),
        ("unpaid", BillingStatus::PastDue),
        ("paused", BillingStatus::PastDue),
        ("canceled", BillingStatus::Canceled),
        ("incomplete", BillingStatus::None),
        ("incomplete_expired", BillingStatus::None),
        ("something_new", BillingStatus::None),
    ] {
        assert_eq!(status_from_stripe(stripe), ours, "{stripe}");
    }
}

#[test]
fn an_older_report_never_replaces_a_newer_state() {
    let none = BillingState {
        subscription_id: None,
        ..state("FREE", BillingStatus::None)
    };
    let canceled = apply(&none, &report("sub_1", "canceled", 2_000));
    assert_eq!(canceled.status, BillingStatus::Canceled);
    assert_eq!(
        next_state(&canceled, &report("sub_1", "active", 1_000)),
        Transition::Stale
    );
    // The same moment is not older: a retry of the same read applies (and changes nothing).
    assert!(matches!(
        next_state(&canceled, &report("sub_1", "canceled", 2_000)),
        Transition::Apply {
            status_changed: false,
            ..
        }
    ));
}

#[test]
fn status_changes_are_flagged_and_plans_follow_the_prices() {
    let none = BillingState {
        subscription_id: None,
        ..state("FREE", BillingStatus::None)
    };
    match next_state(&none, &report("sub_1", "active", 10)) {
        Transition::Apply {
            state,
            status_changed,
        } => {
            assert!(status_changed);
            assert_eq!(state.plan, "PRO");
            assert_eq!(state.status, BillingStatus::Active);
            assert_eq!(state.subscription_id.as_deref(), Some("sub_1"));
            assert_eq!(state.synced_at, Some(at(10)));
        }
        other => panic!("{other:?}"),
    }
    let mut unknown_prices = report("sub_1", "active", 20);
    unknown_prices.plan = None;
    let kept = apply(&state("STARTER", BillingStatus::Active), &unknown_prices);
    assert_eq!(kept.plan, "STARTER");
}

#[test]
fn past_due_keeps_when_it_began_until_it_is_paid() {
    let active = state("PRO", BillingStatus::Active);
    let owed = apply(&active, &report("sub_1", "past_due", 100));
    assert_eq!(owed.past_due_since, Some(at(100)));
    let redelivered = apply(&owed, &report("sub_1", "past_due", 500));
    assert_eq!(redelivered.past_due_since, Some(at(100)));
    let paid = apply(&redelivered, &report("sub_1", "active", 600));
    assert_eq!(paid.past_due_since, None);
    assert_eq!(paid.status, BillingStatus::Active);
}

#[test]
fn an_ended_subscription_does_not_end_a_newer_live_one() {
    let mut live = state("PRO", BillingStatus::Active);
    live.subscription_id = Some("sub_new".to_owned());
    assert_eq!(
        next_state(&live, &report("sub_old", "canceled", 50)),
        Transition::OtherSubscription
    );
    // A new live subscription replaces an ended one.
    let mut ended = state("PRO", BillingStatus::Canceled);
    ended.subscription_id = Some("sub_old".to_owned());
    let replaced = apply(&ended, &report("sub_new", "active", 60));
    assert_eq!(replaced.subscription_id.as_deref(), Some("sub_new"));
}

#[test]
fn billing_off_puts_everyone_on_the_default_plan() {
    let catalog = PlanCatalog::builtin();
    let canceled = state("FREE", BillingStatus::Canceled);
    for feature in Feature::ALL {
        assert_eq!(
            check_feature(
                &catalog,
                &canceled,
                false,
                at(0),
                Duration::days(3),
                feature,
                None
            ),
            Ok(())
        );
    }
}

#[test]
fn grace_runs_from_the_failed_payment_then_the_free_plan_applies() {
    let catalog = PlanCatalog::builtin();
    let grace = Duration::days(3);
    let mut owed = state("PRO", BillingStatus::PastDue);
    owed.past_due_since = Some(at(0));
    let live = |now| {
        check_feature(
            &catalog,
            &owed,
            true,
            now,
            grace,
            Feature::LiveSelling,
            None,
        )
    };
    assert_eq!(live(at(3 * 86_400 - 1)), Ok(()));
    assert_eq!(
        live(at(3 * 86_400)),
        Err(Refusal {
            plan: "FREE".to_owned(),
            feature: Feature::LiveSelling,
            reason: RefusalReason::PastDue,
        })
    );
    assert_eq!(grace_ends(&owed, grace), Some(at(3 * 86_400)));
    // What the free plan includes stays on.
    assert_eq!(
        check_feature(
            &catalog,
            &owed,
            true,
            at(10 * 86_400),
            grace,
            Feature::SupportChat,
            None
        ),
        Ok(())
    );
    // Zero grace: refused at once.
    assert!(check_feature(
        &catalog,
        &owed,
        true,
        at(0),
        Duration::zero(),
        Feature::PhoneAgent,
        None
    )
    .is_err());
}

#[test]
fn refusals_say_whether_the_plan_lacks_it_or_the_payment_lapsed() {
    let catalog = PlanCatalog::builtin();
    let now = at(0);
    let grace = Duration::days(3);
    let starter = state("STARTER", BillingStatus::Active);
    assert_eq!(
        check_feature(
            &catalog,
            &starter,
            true,
            now,
            grace,
            Feature::PhoneAgent,
            None
        )
        .map_err(|r| (r.plan, r.reason)),
        Err(("STARTER".to_owned(), RefusalReason::NotOnPlan))
    );
    assert_eq!(
        check_feature(
            &catalog,
            &starter,
            true,
            now,
            grace,
            Feature::ReminderCalls,
            None
        ),
        Ok(())
    );
    let canceled = state("PRO", BillingStatus::Canceled);
    assert_eq!(
        check_feature(
            &catalog,
            &canceled,
            true,
            now,
            grace,
            Feature::LiveSelling,
            None
        )
        .map_err(|r| (r.plan, r.reason)),
        Err(("FREE".to_owned(), RefusalReason::Canceled))
    );
    let never = BillingState {
        subscription_id: None,
        ..state("FREE", BillingStatus::None)
    };
    assert_eq!(
        check_feature(
            &catalog,
            &never,
            true,
            now,
            grace,
            Feature::LiveSelling,
            None
        )
        .map_err(|r| r.reason),
        Err(RefusalReason::NotOnPlan)
    );
    // Inbox channels are per channel.
    assert_eq!(
        check_feature(
            &catalog,
            &never,
            true,
            now,
            grace,
            Feature::InboxChannels,
            Some(Channel::Whatsapp)
        ),
        Ok(())
    );
    assert!(check_feature(
        &catalog,
        &never,
        true,
        now,
        grace,
        Feature::InboxChannels,
        Some(Channel::Instagram)
    )
    .is_err());
    let trial = state("PRO", BillingStatus::Trialing);
    assert_eq!(
        check_feature(
            &catalog,
            &trial,
            true,
            now,
            grace,
            Feature::PhoneAgent,
            None
        ),
        Ok(())
    );
}

#[test]
fn an_included_quantity_caps_use_unless_the_plan_bills_beyond_it() {
    let catalog = PlanCatalog::builtin();
    let starter = catalog.plan("STARTER").expect("starter");
    let pro = catalog.plan("PRO").expect("pro");
    let unlimited = catalog.default();
    // Within what is included, up to the last unit.
    assert_eq!(check_quota(starter, UsageItem::AiReplies, 1_999, 1), Ok(()));
    // One past it: refused, naming the plan, item and figures.
    assert_eq!(
        check_quota(starter, UsageItem::AiReplies, 2_000, 1),
        Err(QuotaRefusal {
            plan: "STARTER".into(),
            item: UsageItem::AiReplies,
            included: 2_000,
            used: 2_000,
        })
    );
    // A call of 5 minutes does not fit in the last 2.
    assert!(check_quota(starter, UsageItem::CallMinutes, 298, 5).is_err());
    // PRO bills AI replies by meter: past the included 10,000 they go on.
    assert_eq!(pro.metered_items(), vec![UsageItem::AiReplies]);
    assert_eq!(check_quota(pro, UsageItem::AiReplies, 50_000, 1), Ok(()));
    // …but its leads are capped.
    assert!(check_quota(pro, UsageItem::Leads, 20_000, 1).is_err());
    // No included quantity: unlimited.
    assert_eq!(
        check_quota(unlimited, UsageItem::Leads, u64::MAX, 1),
        Ok(())
    );
    assert!(unlimited.metered_items().is_empty());
}

#[test]
fn seats_cap_members_only_where_the_plan_says() {
    let catalog = PlanCatalog::builtin();
    let free = catalog.plan("FREE").expect("free");
    assert_eq!(check_seats(free, 1), Ok(()));
    assert_eq!(check_seats(free, 2), Err(2));
    assert_eq!(check_seats(catalog.default(), 10_000), Ok(()));
}

#[test]
fn usage_is_cut_into_the_tenants_local_days() {
    use crate::call_analytics::{Granularity, Period};
    let zone: chrono_tz::Tz = "America/Mexico_City".parse().expect("zone");
    // Mexico City is UTC-6: local 6 and 7 December.
    let from = at(1_765_000_800); // 2025-12-06T06:00:00Z = local midnight of the 6th
    let to = from + Duration::days(2);
    let period = Period::new(from, to, Granularity::Day, zone).expect("period");
    let rows = vec![
        (UsageItem::AiReplies, from, 1),
        // 23:30 local on the 6th: still the first day although it is the 7th in UTC.
        (
            UsageItem::AiReplies,
            from + Duration::minutes(23 * 60 + 30),
            2,
        ),
        (UsageItem::CallMinutes, from + Duration::hours(30), 5),
        // Outside the period: ignored.
        (UsageItem::AiReplies, to, 100),
        (UsageItem::AiReplies, from - Duration::seconds(1), 100),
    ];
    let series = usage_series(&period, &rows);
    assert_eq!(series.len(), UsageItem::ALL.len());
    let ai = series
        .iter()
        .find(|s| s.item == UsageItem::AiReplies)
        .expect("ai");
    assert_eq!((ai.total, ai.buckets.clone()), (3, vec![3, 0]));
    let minutes = series
        .iter()
        .find(|s| s.item == UsageItem::CallMinutes)
        .expect("minutes");
    assert_eq!((minutes.total, minutes.buckets.clone()), (5, vec![0, 5]));
    let leads = series
        .iter()
        .find(|s| s.item == UsageItem::Leads)
        .expect("leads");
    assert_eq!((leads.total, leads.buckets.clone()), (0, vec![0, 0]));
}

#[test]
fn an_sms_reply_needs_the_phone_agent_and_a_message_reply_its_channel() {
    assert_eq!(reply_feature(Channel::Twilio), (Feature::PhoneAgent, None));
    for channel in [
        Channel::Whatsapp,
        Channel::Instagram,
        Channel::Facebook,
        Channel::Tiktok,
    ] {
        assert_eq!(
            reply_feature(channel),
            (Feature::InboxChannels, Some(channel))
        );
    }
    // The shipped catalog: the plans with the phone agent may text, the others may not.
    let catalog = PlanCatalog::builtin();
    let texts = |id: &str| catalog.plan(id).is_some_and(|p| p.has(Feature::PhoneAgent));
    assert!(texts("UNLIMITED") && texts("PRO"));
    assert!(!texts("FREE") && !texts("STARTER"));
}
