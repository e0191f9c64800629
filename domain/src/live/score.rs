//! The live lead score (ARCHITECTURE.md §4, "Live lead score"): how hot a chatting viewer is,
//! from four capped components, and a one-line explanation of a change.
//!
//! Owns: the component caps and points, [`ViewerActivity`] (the running summary a score is
//! computed from), [`live_score`] and [`score_reason`]. Must not: decide replies or spend budgets
//! (see [`super::decision`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::details::mentions_price_size_or_quantity;
use crate::analysis::{Analysis, Intent, Signal};
use crate::lead::Temperature;

/// Most points the purchase-signal component can give (ARCHITECTURE.md §4).
pub const PURCHASE_MAX: i32 = 40;
/// Most points the engagement component can give (ARCHITECTURE.md §4).
pub const ENGAGEMENT_MAX: i32 = 30;
/// Most points the specificity component can give (ARCHITECTURE.md §4).
pub const SPECIFICITY_MAX: i32 = 20;
/// Most points the sentiment component can give (ARCHITECTURE.md §4).
pub const SENTIMENT_MAX: i32 = 10;

/// Points per PURCHASE_INTENT message: one clear "I want to buy" makes a viewer at least WARM on
/// its own, two reach the component's cap.
pub const PURCHASE_INTENT_POINTS: i32 = 25;
/// Points per PRODUCT_INQUIRY message ("how much", "link?" — the seed counts them as purchase
/// signals), up to [`PRODUCT_INQUIRY_POINTS_CAP`], so questions alone never outrank a buyer.
pub const PRODUCT_INQUIRY_POINTS: i32 = 5;
/// Most purchase points product inquiries can add together.
pub const PRODUCT_INQUIRY_POINTS_CAP: i32 = 15;

/// Purchase points a signal adds (positive) or takes off the capped total (negative), counted
/// once per viewer however often it was seen: repeating "urgent!!" is not more urgent.
pub fn signal_purchase_points(signal: Signal) -> i32 {
    match signal {
        Signal::BudgetMentioned => 10,
        Signal::Urgent => 10,
        Signal::DecisionMaker => 5,
        Signal::Interested => 5,
        Signal::Comparing => 3,
        Signal::NotInterested => -15,
        // A spammer is never a lead, whatever else they typed.
        Signal::Spam => -PURCHASE_MAX,
    }
}

/// Engagement points after `n` messages (index = messages, last entry for all above): each new
/// message adds less (10, 6, 5, 4, 3, 2), so chatting is rewarded but flooding the chat is not.
pub const ENGAGEMENT_BY_MESSAGES: [i32; 7] = [0, 10, 16, 21, 25, 28, 30];

/// Specificity points for naming a first product: the viewer knows what they want.
pub const FIRST_PRODUCT_POINTS: i32 = 10;
/// Specificity points for each further distinct product, up to [`PRODUCTS_POINTS_CAP`]: comparing
/// two or three products is specific, asking about the whole catalogue is browsing.
pub const EXTRA_PRODUCT_POINTS: i32 = 3;
/// Most specificity points products can give together.
pub const PRODUCTS_POINTS_CAP: i32 = 15;
/// Specificity points for having mentioned a price, a size or a quantity: purchase details.
pub const DETAILS_POINTS: i32 = 10;

/// Everything the live score is computed from: one viewer's chat during one live session.
///
/// It is a running summary (not the message log), so the session service can keep it in a row or
/// in memory and update it with [`ViewerActivity::record`] per message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewerActivity {
    /// Chat messages seen from this viewer.
    pub messages: u32,
    /// Messages analysed as PURCHASE_INTENT.
    pub purchase_intents: u32,
    /// Messages analysed as PRODUCT_INQUIRY.
    pub product_inquiries: u32,
    /// How many distinct products the viewer's messages matched (always `products_asked.len()`).
    pub distinct_products_asked: u32,
    /// Ids of the distinct products the viewer's messages matched, first seen first. Kept so that
    /// asking twice about the same hoodie does not count as two products.
    pub products_asked: Vec<String>,
    /// Every distinct signal seen from this viewer, first seen first.
    pub signals: Vec<Signal>,
    /// The viewer mentioned a price, a size or a quantity at least once (sticky).
    pub mentioned_price_or_size_or_quantity: bool,
    /// Sum of the finite message sentiments (each clamped to -1..=1).
    pub sentiment_sum: f32,
    /// How many sentiments are in `sentiment_sum` (NaN and infinite ones are not).
    pub sentiment_count: u32,
    /// When the viewer's first message was seen.
    pub first_seen: DateTime<Utc>,
    /// When the viewer's latest message was seen.
    pub last_seen: DateTime<Utc>,
}

impl ViewerActivity {
    /// A viewer with no messages yet, first seen at `at` (scores COLD).
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            messages: 0,
            purchase_intents: 0,
            product_inquiries: 0,
            distinct_products_asked: 0,
            products_asked: Vec::new(),
            signals: Vec::new(),
            mentioned_price_or_size_or_quantity: false,
            sentiment_sum: 0.0,
            sentiment_count: 0,
            first_seen: at,
            last_seen: at,
        }
    }

    /// Folds one analysed chat message into the summary.
    ///
    /// Counters only grow (saturating), so the score never drops because of bookkeeping; a NaN
    /// or infinite sentiment from a misbehaving provider is ignored rather than poisoning the
    /// mean; messages may arrive out of order (polling), so `first_seen`/`last_seen` are a min/max.
    pub fn record(&mut self, analysis: &Analysis, message: &str, at: DateTime<Utc>) {
        self.messages = self.messages.saturating_add(1);
        match analysis.intent {
            Intent::PurchaseIntent => {
                self.purchase_intents = self.purchase_intents.saturating_add(1)
            }
            Intent::ProductInquiry => {
                self.product_inquiries = self.product_inquiries.saturating_add(1)
            }
            _ => {}
        }
        if let Some(product) = &analysis.matched_product {
            if !self.products_asked.iter().any(|p| p == &product.product_id) {
                self.products_asked.push(product.product_id.clone());
            }
        }
        self.distinct_products_asked = u32::try_from(self.products_asked.len()).unwrap_or(u32::MAX);
        for hit in &analysis.signals {
            if !self.signals.contains(&hit.signal) {
                self.signals.push(hit.signal);
            }
        }
        let budget = analysis
            .signals
            .iter()
            .any(|hit| hit.signal == Signal::BudgetMentioned);
        if budget || mentions_price_size_or_quantity(message) {
            self.mentioned_price_or_size_or_quantity = true;
        }
        if analysis.sentiment.is_finite() {
            self.sentiment_sum += analysis.sentiment.clamp(-1.0, 1.0);
            self.sentiment_count = self.sentiment_count.saturating_add(1);
        }
        self.first_seen = self.first_seen.min(at);
        self.last_seen = self.last_seen.max(at);
    }

    /// Mean sentiment in -1..=1, or `None` when there is no usable sentiment yet.
    pub fn mean_sentiment(&self) -> Option<f32> {
        if self.sentiment_count == 0 {
            return None;
        }
        // Precision loss for counts above 2^24 is irrelevant for a mean.
        let mean = self.sentiment_sum / self.sentiment_count as f32;
        mean.is_finite().then(|| mean.clamp(-1.0, 1.0))
    }
}

/// A viewer's live lead score with its parts, so a dashboard can show *why* a viewer is hot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveScore {
    /// Sum of the four components, 0..=100.
    pub total: i32,
    /// Purchase signals, 0..=[`PURCHASE_MAX`].
    pub purchase: i32,
    /// Engagement, 0..=[`ENGAGEMENT_MAX`].
    pub engagement: i32,
    /// Specificity, 0..=[`SPECIFICITY_MAX`].
    pub specificity: i32,
    /// Sentiment, 0..=[`SENTIMENT_MAX`].
    pub sentiment: i32,
    /// The live band of `total` ([`Temperature::for_live_score`]).
    pub temperature: Temperature,
}

/// Scores a viewer 0..=100 (ARCHITECTURE.md §4) from four components, each clamped to its cap:
///
/// * purchase (40): [`PURCHASE_INTENT_POINTS`] per PURCHASE_INTENT message, plus
///   [`PRODUCT_INQUIRY_POINTS`] per PRODUCT_INQUIRY (at most [`PRODUCT_INQUIRY_POINTS_CAP`]), plus
///   the positive [`signal_purchase_points`] of each distinct signal, capped at 40; then the
///   negative signals (`not_interested`, `spam`) are taken off that capped value, so a viewer
///   cannot out-shout a "not interested" with enthusiasm beyond the cap;
/// * engagement (30): [`ENGAGEMENT_BY_MESSAGES`] — diminishing returns per message;
/// * specificity (20): [`FIRST_PRODUCT_POINTS`] for the first product named,
///   [`EXTRA_PRODUCT_POINTS`] per further distinct product (products at most
///   [`PRODUCTS_POINTS_CAP`]), plus [`DETAILS_POINTS`] once a price, size or quantity was mentioned;
/// * sentiment (10): the mean sentiment mapped linearly from -1..=1 to 0..=10 (rounded); with no
///   usable sentiment (none yet, NaN) it is neutral, 5.
///
/// Every component is monotone: more intents, positive signals, messages, products or details
/// never lower it; a higher mean sentiment never lowers it.
pub fn live_score(activity: &ViewerActivity) -> LiveScore {
    let purchase = purchase_points(activity);
    let engagement = engagement_points(activity.messages);
    let specificity = specificity_points(activity);
    let sentiment = sentiment_points(activity.mean_sentiment());
    let total = purchase + engagement + specificity + sentiment;
    LiveScore {
        total,
        purchase,
        engagement,
        specificity,
        sentiment,
        temperature: Temperature::for_live_score(total),
    }
}

fn purchase_points(activity: &ViewerActivity) -> i32 {
    // i64 so that u32::MAX intents cannot overflow before the clamp.
    let intents = i64::from(activity.purchase_intents) * i64::from(PURCHASE_INTENT_POINTS);
    let inquiries = (i64::from(activity.product_inquiries) * i64::from(PRODUCT_INQUIRY_POINTS))
        .min(i64::from(PRODUCT_INQUIRY_POINTS_CAP));
    // Each signal counts once, even if the caller's list repeats it.
    let signals = Signal::ALL
        .into_iter()
        .filter(|s| activity.signals.contains(s))
        .map(signal_purchase_points);
    let (positive, negative): (Vec<i32>, Vec<i32>) = signals.partition(|&p| p > 0);
    let positive_sum: i64 = positive.iter().map(|&p| i64::from(p)).sum();
    let capped = (intents + inquiries + positive_sum).min(i64::from(PURCHASE_MAX));
    let negative_sum: i64 = negative.iter().map(|&p| i64::from(p)).sum();
    clamp_to(capped + negative_sum, PURCHASE_MAX)
}

fn engagement_points(messages: u32) -> i32 {
    let last = ENGAGEMENT_BY_MESSAGES.len() - 1;
    let index = usize::try_from(messages).unwrap_or(last).min(last);
    ENGAGEMENT_BY_MESSAGES[index].min(ENGAGEMENT_MAX)
}

fn specificity_points(activity: &ViewerActivity) -> i32 {
    let products = match activity.distinct_products_asked {
        0 => 0,
        n => {
            let extra = i64::from(n - 1) * i64::from(EXTRA_PRODUCT_POINTS);
            (i64::from(FIRST_PRODUCT_POINTS) + extra).min(i64::from(PRODUCTS_POINTS_CAP))
        }
    };
    let details = if activity.mentioned_price_or_size_or_quantity {
        i64::from(DETAILS_POINTS)
    } else {
        0
    };
    clamp_to(products + details, SPECIFICITY_MAX)
}

fn sentiment_points(mean: Option<f32>) -> i32 {
    let neutral = SENTIMENT_MAX / 2;
    match mean {
        Some(m) if m.is_finite() => {
            // (m + 1) / 2 maps -1..=1 onto 0..=1; the clamp keeps the cast in range.
            let points = ((m.clamp(-1.0, 1.0) + 1.0) / 2.0 * SENTIMENT_MAX as f32).round() as i32;
            points.clamp(0, SENTIMENT_MAX)
        }
        _ => neutral,
    }
}

fn clamp_to(value: i64, max: i32) -> i32 {
    // The clamp makes the conversion infallible; `unwrap_or` keeps clippy's `unwrap_used` quiet.
    i32::try_from(value.clamp(0, i64::from(max))).unwrap_or(max)
}

/// A one-line explanation of a score change for the `LeadScoreChanged` event and the lead's
/// timeline, naming every component that moved, in a fixed order, e.g.
/// `"purchase +25 (0->25), specificity +10 (0->10); total 15->50 (COLD->WARM)"`.
/// When nothing moved: `"no change (total 15, COLD)"`.
pub fn score_reason(before: &LiveScore, after: &LiveScore) -> String {
    let parts = [
        ("purchase", before.purchase, after.purchase),
        ("engagement", before.engagement, after.engagement),
        ("specificity", before.specificity, after.specificity),
        ("sentiment", before.sentiment, after.sentiment),
    ];
    let moved: Vec<String> = parts
        .iter()
        .filter(|(_, b, a)| b != a)
        .map(|(name, b, a)| format!("{name} {:+} ({b}->{a})", a - b))
        .collect();
    if moved.is_empty() && before.total == after.total {
        return format!(
            "no change (total {}, {})",
            after.total,
            after.temperature.as_str()
        );
    }
    let temperature = if before.temperature == after.temperature {
        after.temperature.as_str().to_owned()
    } else {
        format!(
            "{}->{}",
            before.temperature.as_str(),
            after.temperature.as_str()
        )
    };
    let moved = if moved.is_empty() {
        "no component moved".to_owned()
    } else {
        moved.join(", ")
    };
    format!(
        "{moved}; total {}->{} ({temperature})",
        before.total, after.total
    )
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::analysis::Signal;
    use crate::live::fixtures::*;

    // ---- ViewerActivity::record ----

    #[test]
    fn new_viewer_has_nothing_and_scores_cold_neutral() {
        let a = activity();
        assert_eq!(a.messages, 0);
        assert_eq!(a.first_seen, t0());
        assert_eq!(a.last_seen, t0());
        let s = live_score(&a);
        assert_eq!(
            (
                s.purchase,
                s.engagement,
                s.specificity,
                s.sentiment,
                s.total
            ),
            (0, 0, 0, 5, 5)
        );
        assert_eq!(s.temperature, Temperature::Cold);
    }

    #[test]
    fn record_counts_intents_messages_and_times() {
        let mut a = activity();
        a.record(
            &analysis(Intent::PurchaseIntent, 0.9),
            "buy",
            t0() + Duration::seconds(20),
        );
        a.record(
            &analysis(Intent::ProductInquiry, 0.9),
            "what colors",
            t0() + Duration::seconds(10),
        );
        a.record(
            &analysis(Intent::Praise, 0.9),
            "love it",
            t0() - Duration::seconds(5),
        );
        assert_eq!(a.messages, 3);
        assert_eq!(a.purchase_intents, 1);
        assert_eq!(a.product_inquiries, 1);
        assert_eq!(a.first_seen, t0() - Duration::seconds(5));
        assert_eq!(a.last_seen, t0() + Duration::seconds(20));
    }

    #[test]
    fn record_counts_distinct_products_and_signals_once() {
        let mut a = activity();
        let hoodie = with_product(analysis(Intent::ProductInquiry, 0.9), "hoodie");
        let cap = with_product(analysis(Intent::Praise, 0.9), "cap");
        let urgent = with_signals(
            analysis(Intent::Other, 0.9),
            &[Signal::Urgent, Signal::Urgent],
        );
        a.record(&hoodie, "hoodie?", t0());
        a.record(&hoodie, "the hoodie?", t0());
        a.record(&cap, "nice cap", t0());
        a.record(&urgent, "now!", t0());
        a.record(&urgent, "now!!", t0());
        assert_eq!(
            a.products_asked,
            vec!["hoodie".to_owned(), "cap".to_owned()]
        );
        assert_eq!(a.distinct_products_asked, 2);
        assert_eq!(a.signals, vec![Signal::Urgent]);
    }

    #[test]
    fn record_sets_details_from_text_or_budget_signal_and_keeps_it() {
        let mut a = activity();
        a.record(&analysis(Intent::Other, 0.9), "hello", t0());
        assert!(!a.mentioned_price_or_size_or_quantity);
        let budget = with_signals(analysis(Intent::Other, 0.9), &[Signal::BudgetMentioned]);
        a.record(&budget, "within my means", t0());
        assert!(a.mentioned_price_or_size_or_quantity);
        a.record(&analysis(Intent::Other, 0.9), "bye", t0());
        assert!(a.mentioned_price_or_size_or_quantity, "sticky");

        let mut b = activity();
        b.record(
            &analysis(Intent::ProductInquiry, 0.9),
            "do you have it in XL?",
            t0(),
        );
        assert!(b.mentioned_price_or_size_or_quantity);
    }

    #[test]
    fn record_ignores_nan_and_infinite_sentiment_and_clamps_out_of_range() {
        let mut a = activity();
        a.record(
            &with_sentiment(analysis(Intent::Other, 0.9), f32::NAN),
            "x",
            t0(),
        );
        a.record(
            &with_sentiment(analysis(Intent::Other, 0.9), f32::INFINITY),
            "x",
            t0(),
        );
        assert_eq!(a.sentiment_count, 0);
        assert_eq!(a.mean_sentiment(), None);
        a.record(
            &with_sentiment(analysis(Intent::Other, 0.9), 5.0),
            "x",
            t0(),
        );
        assert_eq!(a.sentiment_count, 1);
        assert_eq!(a.mean_sentiment(), Some(1.0));
        assert_eq!(a.messages, 3, "messages with bad sentiment still count");
    }

    #[test]
    fn record_saturates_instead_of_overflowing() {
        let mut a = activity();
        a.messages = u32::MAX;
        a.purchase_intents = u32::MAX;
        a.record(&analysis(Intent::PurchaseIntent, 0.9), "buy", t0());
        assert_eq!(a.messages, u32::MAX);
        assert_eq!(a.purchase_intents, u32::MAX);
        let s = live_score(&a);
        assert_eq!(s.purchase, PURCHASE_MAX);
        assert_eq!(s.engagement, ENGAGEMENT_MAX);
    }

    // ---- live_score components ----

    #[test]
    fn purchase_component_table() {
        let cases: &[(u32, u32, &[Signal], i32)] = &[
            (0, 0, &[], 0),
            (1, 0, &[], 25),
            (2, 0, &[], 40),
            (0, 1, &[], 5),
            (0, 3, &[], 15),
            (0, 10, &[], 15),
            (0, 0, &[Signal::BudgetMentioned], 10),
            (0, 0, &[Signal::Urgent], 10),
            (0, 0, &[Signal::DecisionMaker], 5),
            (0, 0, &[Signal::Interested], 5),
            (0, 0, &[Signal::Comparing], 3),
            (1, 0, &[Signal::BudgetMentioned], 35),
            (1, 0, &[Signal::BudgetMentioned, Signal::Urgent], 40),
            (1, 0, &[Signal::Urgent, Signal::Urgent], 35),
            (1, 0, &[Signal::NotInterested], 10),
            (0, 0, &[Signal::NotInterested], 0),
            (5, 5, &[Signal::Urgent, Signal::NotInterested], 25),
            (5, 5, &[Signal::Urgent, Signal::Spam], 0),
        ];
        for &(intents, inquiries, signals, want) in cases {
            let mut a = activity();
            a.purchase_intents = intents;
            a.product_inquiries = inquiries;
            a.signals = signals.to_vec();
            assert_eq!(
                live_score(&a).purchase,
                want,
                "intents {intents}, inquiries {inquiries}, signals {signals:?}"
            );
        }
    }

    #[test]
    fn engagement_component_has_diminishing_returns_and_cap() {
        let want = [0, 10, 16, 21, 25, 28, 30, 30, 30];
        for (messages, &w) in want.iter().enumerate() {
            let mut a = activity();
            a.messages = u32::try_from(messages).unwrap_or_default();
            assert_eq!(live_score(&a).engagement, w, "{messages} messages");
        }
        let steps: Vec<i32> = ENGAGEMENT_BY_MESSAGES
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect();
        assert!(
            steps.windows(2).all(|w| w[1] <= w[0]),
            "diminishing: {steps:?}"
        );
        assert_eq!(ENGAGEMENT_BY_MESSAGES.last(), Some(&ENGAGEMENT_MAX));
    }

    #[test]
    fn specificity_component_table() {
        let cases = [
            (0, false, 0),
            (0, true, 10),
            (1, false, 10),
            (2, false, 13),
            (3, false, 15),
            (9, false, 15),
            (1, true, 20),
            (9, true, 20),
            (u32::MAX, true, 20),
        ];
        for (products, details, want) in cases {
            let mut a = activity();
            a.distinct_products_asked = products;
            a.mentioned_price_or_size_or_quantity = details;
            assert_eq!(
                live_score(&a).specificity,
                want,
                "{products} products, {details}"
            );
        }
    }

    #[test]
    fn sentiment_component_maps_mean_minus_one_to_one_onto_zero_to_ten() {
        let cases = [
            (-1.0, 0),
            (-0.5, 3), // 2.5 rounds away from zero
            (0.0, 5),
            (0.2, 6),
            (0.5, 8), // 7.5 rounds away from zero
            (1.0, 10),
        ];
        for (mean, want) in cases {
            let mut a = activity();
            a.sentiment_sum = mean;
            a.sentiment_count = 1;
            assert_eq!(live_score(&a).sentiment, want, "mean {mean}");
        }
    }

    #[test]
    fn sentiment_nan_infinite_or_out_of_range_sum_is_safe() {
        let mut a = activity();
        a.sentiment_sum = f32::NAN;
        a.sentiment_count = 3;
        assert_eq!(live_score(&a).sentiment, 5, "NaN is neutral");
        a.sentiment_sum = f32::NEG_INFINITY;
        assert_eq!(live_score(&a).sentiment, 5, "infinite is neutral");
        a.sentiment_sum = 100.0;
        a.sentiment_count = 1;
        assert_eq!(live_score(&a).sentiment, 10, "clamped high");
        a.sentiment_sum = -100.0;
        assert_eq!(live_score(&a).sentiment, 0, "clamped low");
        a.sentiment_sum = 0.7;
        a.sentiment_count = 0;
        assert_eq!(live_score(&a).sentiment, 5, "no count is neutral");
    }

    #[test]
    fn components_clamp_and_total_is_their_sum_at_most_100() {
        let mut a = activity();
        a.messages = 1_000;
        a.purchase_intents = 1_000;
        a.product_inquiries = 1_000;
        a.distinct_products_asked = 1_000;
        a.mentioned_price_or_size_or_quantity = true;
        a.signals = Signal::ALL
            .into_iter()
            .filter(|s| !matches!(s, Signal::NotInterested | Signal::Spam))
            .collect();
        a.sentiment_sum = 1_000.0;
        a.sentiment_count = 1_000;
        let s = live_score(&a);
        assert_eq!(
            (
                s.purchase,
                s.engagement,
                s.specificity,
                s.sentiment,
                s.total
            ),
            (40, 30, 20, 10, 100)
        );
        assert_eq!(s.temperature, Temperature::VeryHot);
    }

    #[test]
    fn temperature_follows_live_bands() {
        // 1 intent (25) + 1 message (10) + 1 product (10) + neutral (5) = 50 → WARM.
        let mut a = activity();
        a.record(
            &with_product(analysis(Intent::PurchaseIntent, 0.9), "hoodie"),
            "buy",
            t0(),
        );
        let s = live_score(&a);
        assert_eq!(s.total, 50);
        assert_eq!(s.temperature, Temperature::Warm);
        // + an inquiry (5) + a size (10) + a message (6) → 71 HOT.
        a.record(&analysis(Intent::ProductInquiry, 0.9), "in XL?", t0());
        let s = live_score(&a);
        assert_eq!((s.purchase, s.total), (30, 71));
        assert_eq!(s.temperature, Temperature::Hot);
    }

    #[test]
    fn score_is_monotone_in_every_positive_input() {
        // Grid over the inputs: raising any one never lowers any component or the total.
        let base = |i: u32, q: u32, m: u32, p: u32, d: bool, s: f32| {
            let mut a = activity();
            a.purchase_intents = i;
            a.product_inquiries = q;
            a.messages = m;
            a.distinct_products_asked = p;
            a.mentioned_price_or_size_or_quantity = d;
            a.sentiment_sum = s;
            a.sentiment_count = 1;
            live_score(&a)
        };
        let sentiments = [-1.0, -0.6, -0.1, 0.0, 0.3, 0.9, 1.0];
        for i in 0..4 {
            for q in 0..5 {
                for m in 0..9 {
                    for p in 0..5 {
                        for d in [false, true] {
                            for (k, &s) in sentiments.iter().enumerate() {
                                let now = base(i, q, m, p, d, s);
                                let ups = [
                                    base(i + 1, q, m, p, d, s),
                                    base(i, q + 1, m, p, d, s),
                                    base(i, q, m + 1, p, d, s),
                                    base(i, q, m, p + 1, d, s),
                                    base(i, q, m, p, true, s),
                                    base(i, q, m, p, d, sentiments[(k + 1).min(6)]),
                                ];
                                for up in ups {
                                    assert!(up.total >= now.total);
                                    assert!(up.purchase >= now.purchase);
                                    assert!(up.engagement >= now.engagement);
                                    assert!(up.specificity >= now.specificity);
                                    assert!(up.sentiment >= now.sentiment);
                                    assert!(up.temperature >= now.temperature);
                                    assert!((0..=100).contains(&up.total));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn positive_signals_never_lower_and_negative_signals_never_raise_purchase() {
        for intents in 0..3 {
            for signal in Signal::ALL {
                let mut a = activity();
                a.purchase_intents = intents;
                a.signals = vec![Signal::Interested];
                let before = live_score(&a).purchase;
                a.signals.push(signal);
                let after = live_score(&a).purchase;
                if signal_purchase_points(signal) >= 0 {
                    assert!(after >= before, "{signal:?}");
                } else {
                    assert!(after <= before, "{signal:?}");
                }
            }
        }
    }

    #[test]
    fn record_never_lowers_the_score_for_positive_messages() {
        let mut a = activity();
        let mut last = live_score(&a);
        let messages = [
            (
                with_product(analysis(Intent::ProductInquiry, 0.9), "hoodie"),
                "hoodie?",
            ),
            (analysis(Intent::ProductInquiry, 0.9), "how much"),
            (
                with_signals(analysis(Intent::PurchaseIntent, 0.9), &[Signal::Urgent]),
                "buy now",
            ),
            (
                with_product(analysis(Intent::Other, 0.9), "cap"),
                "and the cap",
            ),
            (analysis(Intent::PurchaseIntent, 0.9), "link pls"),
        ];
        for (an, text) in messages {
            a.record(&an, text, t0());
            let now = live_score(&a);
            assert!(
                now.total >= last.total,
                "{text}: {} < {}",
                now.total,
                last.total
            );
            last = now;
        }
        assert_eq!(last.temperature, Temperature::VeryHot);
    }

    // ---- score_reason ----

    #[test]
    fn score_reason_names_moved_components_in_order() {
        let before = LiveScore {
            total: 15,
            purchase: 0,
            engagement: 10,
            specificity: 0,
            sentiment: 5,
            temperature: Temperature::Cold,
        };
        let after = LiveScore {
            total: 50,
            purchase: 25,
            engagement: 10,
            specificity: 10,
            sentiment: 5,
            temperature: Temperature::Warm,
        };
        assert_eq!(
            score_reason(&before, &after),
            "purchase +25 (0->25), specificity +10 (0->10); total 15->50 (COLD->WARM)"
        );
        let down = LiveScore {
            total: 12,
            sentiment: 2,
            ..before
        };
        assert_eq!(
            score_reason(&before, &down),
            "sentiment -3 (5->2); total 15->12 (COLD)"
        );
        assert_eq!(score_reason(&before, &before), "no change (total 15, COLD)");
    }
}
