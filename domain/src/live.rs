//! The live-stream sales agent's rules (ARCHITECTURE.md §4, "Live agent" and "Live lead score";
//! seed 000): how hot a chatting viewer is, and whether the agent may answer a chat message now,
//! by which route.
//!
//! Owns: the four-component live lead score and its explanation, the reply decision with its
//! per-viewer / per-session / per-day limits, the platform budgets (Twitch whispers, YouTube
//! quota units), the one-shot limit warnings and the whisper priority. Must not: read or write
//! counters, talk to a platform, generate reply text or decide TikTok's DM window — the live
//! session service loads the counters, calls these functions with `now`, sends, and records the
//! result (TikTok's 24 h window and 10-a-day rule stay in [`crate::messaging`]).
//!
//! Everything here is a plain function of its arguments, so every rule and boundary is pinned by
//! the table tests at the bottom.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::{Analysis, Intent, Signal};
use crate::channel::Channel;
use crate::lead::Temperature;
use crate::DomainError;

// ---------------------------------------------------------------------------------------------
// Live lead score
// ---------------------------------------------------------------------------------------------

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

/// Words (lower case, whole tokens) that name a price, a size or a quantity, in the languages we
/// answer in (English, Spanish). Single letters like "s"/"m"/"l" are left out on purpose: they are
/// too common in chat to mean a size.
const DETAIL_WORDS: &[&str] = &[
    // price
    "price", "prices", "pricing", "cost", "costs", "usd", "eur", "dollars", "bucks", "precio",
    "precios", "cuesta", "cuestan", "cuánto", "cuanto", "cuánta", "pesos", "euros", "dólares",
    // size
    "size", "sizes", "sizing", "xs", "xl", "xxl", "xxxl", "small", "medium", "large", "talla",
    "tallas", "mediana", "grande", // quantity
    "quantity", "pieces", "pcs", "units", "pair", "pairs", "dozen", "cantidad", "piezas",
    "unidades", "docena", "par",
];

/// Phrases (lower case, substrings) that ask for a price.
const DETAIL_PHRASES: &[&str] = &["how much", "qué precio", "que precio"];

/// Whether a chat message mentions a price, a size or a quantity: a currency sign, a number
/// ("2 of them", "size 10", "49.99"), or one of a short list of words. A cheap, explainable
/// heuristic on purpose: it only feeds the specificity component, which is capped.
///
/// `@mentions`, `#hashtags` and links are skipped, so "@user123" is not a quantity.
pub fn mentions_price_size_or_quantity(message: &str) -> bool {
    let lower = message.to_lowercase();
    if DETAIL_PHRASES.iter().any(|p| lower.contains(p)) {
        return true;
    }
    lower
        .split_whitespace()
        .filter(|t| !t.starts_with('@') && !t.starts_with('#') && !t.contains("://"))
        .any(|token| {
            token.contains(['$', '€', '£'])
                || token.chars().any(|c| c.is_ascii_digit())
                || token
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|word| DETAIL_WORDS.contains(&word))
        })
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

// ---------------------------------------------------------------------------------------------
// Reply decision
// ---------------------------------------------------------------------------------------------

/// The live platforms the agent chats on; each has its own reply routes and budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LivePlatform {
    /// YouTube Live chat: public messages only, each insert costs quota units.
    Youtube,
    /// Twitch IRC chat: free public messages; whispers are capped per day.
    Twitch,
    /// TikTok Live: comments are read-only for us, answers go by DM.
    Tiktok,
}

impl LivePlatform {
    /// Every live platform.
    pub const ALL: [LivePlatform; 3] = [
        LivePlatform::Youtube,
        LivePlatform::Twitch,
        LivePlatform::Tiktok,
    ];

    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LivePlatform::Youtube => "YOUTUBE",
            LivePlatform::Twitch => "TWITCH",
            LivePlatform::Tiktok => "TIKTOK",
        }
    }

    /// The live platform of a channel, if the channel streams live.
    pub fn from_channel(channel: Channel) -> Option<Self> {
        match channel {
            Channel::Youtube => Some(LivePlatform::Youtube),
            Channel::Twitch => Some(LivePlatform::Twitch),
            Channel::Tiktok => Some(LivePlatform::Tiktok),
            _ => None,
        }
    }

    /// The channel this platform's leads and messages belong to.
    pub fn channel(self) -> Channel {
        match self {
            LivePlatform::Youtube => Channel::Youtube,
            LivePlatform::Twitch => Channel::Twitch,
            LivePlatform::Tiktok => Channel::Tiktok,
        }
    }

    /// The route a reply actually takes here, given the session's preference. A preference is a
    /// session-wide setting while each platform offers only some routes, so it is mapped instead
    /// of refused: YouTube can only post in chat (Public); Twitch's private route is the whisper
    /// (Whisper or Dm → Whisper); TikTok's API cannot post live comments, so always Dm.
    pub fn route_for(self, preferred: Route) -> Route {
        match self {
            LivePlatform::Youtube => Route::Public,
            LivePlatform::Twitch => match preferred {
                Route::Public => Route::Public,
                Route::Whisper | Route::Dm => Route::Whisper,
            },
            LivePlatform::Tiktok => Route::Dm,
        }
    }
}

/// How a reply reaches the viewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Route {
    /// A message in the stream's public chat, seen by every viewer.
    Public,
    /// A Twitch whisper (private, [`LiveLimits::whispers_per_day`]).
    Whisper,
    /// A direct message (TikTok; its window and per-user limit are [`crate::messaging`]'s).
    Dm,
}

impl Route {
    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Public => "PUBLIC",
            Route::Whisper => "WHISPER",
            Route::Dm => "DM",
        }
    }
}

/// A YouTube Data API call the live agent makes, for quota accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum YoutubeCall {
    /// `liveChatMessages.list` (polling the chat).
    List,
    /// `liveChatMessages.insert` (posting a reply).
    Insert,
}

/// The live agent's limits for one session (ARCHITECTURE.md §4 defaults; each session can tune
/// the anti-spam limits and lower the shared budgets, then [`LiveCeilings::check`] and
/// [`LiveLimits::validate`] before storing, and [`LiveCeilings::apply`] before spending).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveLimits {
    /// Least analysis confidence (0..=1) for an automatic reply: a wrong public answer in front
    /// of the whole stream costs more than a missed one.
    pub min_confidence: f32,
    /// Most replies to one viewer in one session, so the bot never looks like it is stalking.
    pub max_replies_per_viewer: u32,
    /// Least time between two replies to one viewer.
    pub viewer_cooldown: Duration,
    /// Most replies in one session, so the chat never looks bot-run.
    pub max_replies_per_session: u32,
    /// Twitch whispers per day per bot account (a hard platform limit).
    pub whispers_per_day: u32,
    /// YouTube Data API quota units per day for the project.
    pub youtube_daily_quota: u32,
    /// Units one `liveChatMessages.insert` costs. A fact about Google's API, so the operator's
    /// (`LiveCeilings::apply` overwrites it): a tenant that could set it could spend the shared
    /// project's quota for free.
    pub youtube_insert_cost: u32,
    /// Units one `liveChatMessages.list` costs (the operator's, like the insert cost).
    pub youtube_list_cost: u32,
}

/// Default least confidence for an automatic reply (ARCHITECTURE.md §4).
pub const DEFAULT_MIN_CONFIDENCE: f32 = 0.70;
/// Default replies per viewer per session (ARCHITECTURE.md §4).
pub const DEFAULT_MAX_REPLIES_PER_VIEWER: u32 = 3;
/// Default seconds between replies to one viewer (ARCHITECTURE.md §4).
pub const DEFAULT_VIEWER_COOLDOWN_SECS: i64 = 30;
/// Default replies per session (ARCHITECTURE.md §4).
pub const DEFAULT_MAX_REPLIES_PER_SESSION: u32 = 100;
/// Default Twitch whispers per day (ARCHITECTURE.md §4; seed: "HARD LIMIT").
pub const DEFAULT_WHISPERS_PER_DAY: u32 = 40;
/// Default YouTube quota units per day (ARCHITECTURE.md §4).
pub const DEFAULT_YOUTUBE_DAILY_QUOTA: u32 = 10_000;
/// Default units per `liveChatMessages.insert` (ARCHITECTURE.md §4, from the seed).
pub const DEFAULT_YOUTUBE_INSERT_COST: u32 = 50;
/// Default units per `liveChatMessages.list` (ARCHITECTURE.md §4).
pub const DEFAULT_YOUTUBE_LIST_COST: u32 = 5;

impl Default for LiveLimits {
    /// The ARCHITECTURE.md §4 defaults: 0.70, 3 per viewer, 30 s, 100 per session, 40 whispers,
    /// 10,000 units with list 5 / insert 50.
    fn default() -> Self {
        Self {
            min_confidence: DEFAULT_MIN_CONFIDENCE,
            max_replies_per_viewer: DEFAULT_MAX_REPLIES_PER_VIEWER,
            viewer_cooldown: Duration::seconds(DEFAULT_VIEWER_COOLDOWN_SECS),
            max_replies_per_session: DEFAULT_MAX_REPLIES_PER_SESSION,
            whispers_per_day: DEFAULT_WHISPERS_PER_DAY,
            youtube_daily_quota: DEFAULT_YOUTUBE_DAILY_QUOTA,
            youtube_insert_cost: DEFAULT_YOUTUBE_INSERT_COST,
            youtube_list_cost: DEFAULT_YOUTUBE_LIST_COST,
        }
    }
}

/// Upper bound for the per-viewer, per-session and whisper settings: far above any real stream,
/// low enough that a typo (an extra zero or two) is caught.
pub const MAX_COUNT_SETTING: u32 = 10_000;
/// Upper bound for the YouTube daily quota setting (Google grants extensions, not unlimited).
pub const MAX_YOUTUBE_QUOTA: u32 = 1_000_000;
/// Upper bound for one YouTube call's unit cost.
pub const MAX_YOUTUBE_CALL_COST: u32 = 10_000;

impl LiveLimits {
    /// Refuses settings outside sane ranges, naming the (GraphQL) field: confidence 0..=1 and
    /// finite, cooldown 0 s..=1 h, per-viewer / per-session / whispers 0..=10,000 (0 switches that
    /// path off), quota 0..=1,000,000, unit costs 1..=10,000 (a free call would make the quota
    /// meaningless).
    pub fn validate(&self) -> Result<(), DomainError> {
        let out = |field: &'static str, message: String| DomainError::OutOfRange { field, message };
        if !(0.0..=1.0).contains(&self.min_confidence) {
            return Err(out(
                "minConfidence",
                format!("must be between 0 and 1, got {}", self.min_confidence),
            ));
        }
        if self.viewer_cooldown < Duration::zero() || self.viewer_cooldown > Duration::hours(1) {
            return Err(out(
                "viewerCooldown",
                format!(
                    "must be between 0 and 3600 seconds, got {}",
                    self.viewer_cooldown.num_seconds()
                ),
            ));
        }
        let counts = [
            ("maxRepliesPerViewer", self.max_replies_per_viewer),
            ("maxRepliesPerSession", self.max_replies_per_session),
            ("whispersPerDay", self.whispers_per_day),
        ];
        for (field, value) in counts {
            if value > MAX_COUNT_SETTING {
                return Err(out(
                    field,
                    format!("must be at most {MAX_COUNT_SETTING}, got {value}"),
                ));
            }
        }
        if self.youtube_daily_quota > MAX_YOUTUBE_QUOTA {
            return Err(out(
                "youtubeDailyQuota",
                format!(
                    "must be at most {MAX_YOUTUBE_QUOTA}, got {}",
                    self.youtube_daily_quota
                ),
            ));
        }
        let costs = [
            ("youtubeInsertCost", self.youtube_insert_cost),
            ("youtubeListCost", self.youtube_list_cost),
        ];
        for (field, value) in costs {
            if value == 0 || value > MAX_YOUTUBE_CALL_COST {
                return Err(out(
                    field,
                    format!("must be between 1 and {MAX_YOUTUBE_CALL_COST}, got {value}"),
                ));
            }
        }
        Ok(())
    }

    /// Quota units one YouTube call costs under these limits.
    pub fn youtube_cost(&self, call: YoutubeCall) -> u32 {
        match call {
            YoutubeCall::List => self.youtube_list_cost,
            YoutubeCall::Insert => self.youtube_insert_cost,
        }
    }
}

/// The operator's ceilings for the platform budgets every tenant shares (operator
/// configuration, never tenant input): whispers per Twitch bot and day, YouTube quota units per
/// Google project and Pacific day, the unit costs Google charges per call, and TikTok DMs per
/// viewer and day.
///
/// A session's limits may only *lower* a ceiling: [`LiveCeilings::check`] refuses a higher value
/// when the session is configured (refused rather than silently clamped, so a creator never
/// believes they have a budget they do not), and [`LiveCeilings::apply`] lowers whatever is
/// stored before anything is spent, so a session stored before the ceilings existed (or before
/// the operator lowered them) cannot exceed them either. The unit costs are not limits at all:
/// they are facts about Google's API, so `apply` always replaces them with the operator's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveCeilings {
    /// Most whispers one Twitch bot account sends per (UTC) day.
    pub whispers_per_day: u32,
    /// Most YouTube Data API units one Google project spends per Pacific day.
    pub youtube_daily_quota: u32,
    /// Units one `liveChatMessages.insert` costs.
    pub youtube_insert_cost: u32,
    /// Units one `liveChatMessages.list` costs.
    pub youtube_list_cost: u32,
    /// Most TikTok DMs one viewer receives per day.
    pub tiktok_dms_per_viewer_per_day: u32,
}

/// TikTok's documented cap on direct messages to one user per day.
pub const DEFAULT_TIKTOK_DMS_PER_VIEWER_PER_DAY: u32 = 10;
/// Upper bound for the TikTok DM ceiling (a sanity bound for the operator's setting).
pub const MAX_TIKTOK_DMS_PER_VIEWER_PER_DAY: u32 = 1_000;

impl Default for LiveCeilings {
    /// The platforms' documented numbers: 40 whispers a day for an unverified bot, 10,000
    /// units a day per project with insert 50 / list 5, 10 DMs a day per TikTok user.
    fn default() -> Self {
        Self {
            whispers_per_day: DEFAULT_WHISPERS_PER_DAY,
            youtube_daily_quota: DEFAULT_YOUTUBE_DAILY_QUOTA,
            youtube_insert_cost: DEFAULT_YOUTUBE_INSERT_COST,
            youtube_list_cost: DEFAULT_YOUTUBE_LIST_COST,
            tiktok_dms_per_viewer_per_day: DEFAULT_TIKTOK_DMS_PER_VIEWER_PER_DAY,
        }
    }
}

impl LiveCeilings {
    /// Refuses ceilings the session limits could not live under: each within the same sane
    /// ranges as [`LiveLimits::validate`] (so the default limits, which take the ceilings, are
    /// always valid), and unit costs of at least 1. Named by the field, for the start-up error.
    pub fn validate(&self) -> Result<(), DomainError> {
        let out = |field: &'static str, message: String| DomainError::OutOfRange { field, message };
        let bounded = [
            (
                "whispersPerDay",
                self.whispers_per_day,
                0,
                MAX_COUNT_SETTING,
            ),
            (
                "youtubeDailyQuota",
                self.youtube_daily_quota,
                0,
                MAX_YOUTUBE_QUOTA,
            ),
            (
                "youtubeInsertCost",
                self.youtube_insert_cost,
                1,
                MAX_YOUTUBE_CALL_COST,
            ),
            (
                "youtubeListCost",
                self.youtube_list_cost,
                1,
                MAX_YOUTUBE_CALL_COST,
            ),
            (
                "tiktokDmsPerViewerPerDay",
                self.tiktok_dms_per_viewer_per_day,
                0,
                MAX_TIKTOK_DMS_PER_VIEWER_PER_DAY,
            ),
        ];
        for (field, value, min, max) in bounded {
            if value < min || value > max {
                return Err(out(
                    field,
                    format!("must be between {min} and {max}, got {value}"),
                ));
            }
        }
        Ok(())
    }

    /// The limits a session gets when it sets none: the ARCHITECTURE.md §4 defaults, with the
    /// shared budgets at the operator's ceilings and the operator's unit costs.
    pub fn default_limits(&self) -> LiveLimits {
        self.apply(&LiveLimits {
            whispers_per_day: self.whispers_per_day,
            youtube_daily_quota: self.youtube_daily_quota,
            ..LiveLimits::default()
        })
    }

    /// Refuses session limits above a ceiling, naming the (GraphQL) field and the ceiling.
    /// Costs are not checked here: they are not the session's to set (see [`Self::apply`]).
    pub fn check(&self, limits: &LiveLimits) -> Result<(), DomainError> {
        let shared = [
            (
                "whispersPerDay",
                limits.whispers_per_day,
                self.whispers_per_day,
            ),
            (
                "youtubeDailyQuota",
                limits.youtube_daily_quota,
                self.youtube_daily_quota,
            ),
        ];
        for (field, value, ceiling) in shared {
            if value > ceiling {
                return Err(DomainError::OutOfRange {
                    field,
                    message: format!(
                        "must be at most {ceiling} (this server's ceiling for a shared platform budget), got {value}"
                    ),
                });
            }
        }
        Ok(())
    }

    /// The limits budgets are actually spent against: the session's shared-budget limits
    /// lowered to the ceilings, and the operator's unit costs whatever the session stored.
    pub fn apply(&self, limits: &LiveLimits) -> LiveLimits {
        LiveLimits {
            whispers_per_day: limits.whispers_per_day.min(self.whispers_per_day),
            youtube_daily_quota: limits.youtube_daily_quota.min(self.youtube_daily_quota),
            youtube_insert_cost: self.youtube_insert_cost,
            youtube_list_cost: self.youtube_list_cost,
            ..*limits
        }
    }
}

/// Whether a YouTube call still fits in today's quota: used + cost ≤ quota (exactly at the quota
/// is allowed — the quota is what Google lets us spend). The session service asks this before
/// each poll too, so running out stops polling cleanly instead of failing with 403.
pub fn youtube_call_allowed(units_used_today: u32, call: YoutubeCall, limits: &LiveLimits) -> bool {
    units_used_today.saturating_add(limits.youtube_cost(call)) <= limits.youtube_daily_quota
}

/// What has been spent so far, as the reply decision needs it: one viewer's replies in this
/// session, the session's replies, and today's platform budgets (the caller resets the daily ones
/// at the platform's reset time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyCounters {
    /// Replies sent to this viewer in this session.
    pub viewer_replies: u32,
    /// When this viewer was last replied to in this session.
    pub viewer_last_reply_at: Option<DateTime<Utc>>,
    /// Replies sent in this session, to anyone.
    pub session_replies: u32,
    /// Twitch whispers sent today by this bot account.
    pub whispers_used_today: u32,
    /// YouTube quota units spent today (polls and replies).
    pub youtube_units_used_today: u32,
}

impl ReplyCounters {
    /// Counts a reply that was sent by `route` on `platform` at `now`: the viewer's and session's
    /// counts, the viewer's cooldown start, and the route's budget (a whisper, or a YouTube
    /// insert's units). Keeping this next to [`decide_reply`] means spending and checking can
    /// never disagree about what a reply costs.
    pub fn record_reply(
        &mut self,
        platform: LivePlatform,
        route: Route,
        limits: &LiveLimits,
        now: DateTime<Utc>,
    ) {
        self.viewer_replies = self.viewer_replies.saturating_add(1);
        self.viewer_last_reply_at = Some(now);
        self.session_replies = self.session_replies.saturating_add(1);
        match (platform, route) {
            (LivePlatform::Twitch, Route::Whisper) => {
                self.whispers_used_today = self.whispers_used_today.saturating_add(1);
            }
            (LivePlatform::Youtube, Route::Public) => {
                self.record_youtube_call(YoutubeCall::Insert, limits)
            }
            _ => {}
        }
    }

    /// Counts the units of a YouTube call (e.g. each chat poll).
    pub fn record_youtube_call(&mut self, call: YoutubeCall, limits: &LiveLimits) {
        self.youtube_units_used_today = self
            .youtube_units_used_today
            .saturating_add(limits.youtube_cost(call));
    }
}

/// Why the agent stays silent on a message. Every skip is recorded with its [`SkipReason::code`],
/// so a creator can see why a question went unanswered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The intent is neither PRODUCT_INQUIRY nor PURCHASE_INTENT.
    NotAnIntent,
    /// The analysis is less sure than [`LiveLimits::min_confidence`] (or its confidence is NaN).
    LowConfidence,
    /// The message is not about a product of this session's catalogue, so there is nothing
    /// true to say (replies never invent products or prices).
    UnknownProduct,
    /// The viewer already got [`LiveLimits::max_replies_per_viewer`] replies this session.
    ViewerLimit,
    /// The viewer was answered less than [`LiveLimits::viewer_cooldown`] ago.
    ViewerCooldown {
        /// Whole seconds (rounded up, at least 1) until a reply would be allowed.
        retry_in_secs: i64,
    },
    /// The session already sent [`LiveLimits::max_replies_per_session`] replies.
    SessionLimit,
    /// No Twitch whispers left today and no public fallback allowed.
    WhisperBudgetExhausted,
    /// Today's YouTube quota cannot pay for another insert.
    QuotaExhausted,
    /// The TikTok viewer already got today's DMs (TikTok's per-user daily cap).
    DmDailyLimit,
    /// The creator switched the agent off for this session.
    AgentDisabled,
    /// The message is the bot's own (answering ourselves would loop).
    OwnMessage,
    /// The message was already handled (a platform redelivery or a repeated poll page).
    Duplicate,
}

impl SkipReason {
    /// The stable stored name, e.g. `"VIEWER_COOLDOWN"`.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::NotAnIntent => "NOT_AN_INTENT",
            SkipReason::LowConfidence => "LOW_CONFIDENCE",
            SkipReason::UnknownProduct => "UNKNOWN_PRODUCT",
            SkipReason::ViewerLimit => "VIEWER_LIMIT",
            SkipReason::ViewerCooldown { .. } => "VIEWER_COOLDOWN",
            SkipReason::SessionLimit => "SESSION_LIMIT",
            SkipReason::WhisperBudgetExhausted => "WHISPER_BUDGET_EXHAUSTED",
            SkipReason::QuotaExhausted => "QUOTA_EXHAUSTED",
            SkipReason::DmDailyLimit => "DM_DAILY_LIMIT",
            SkipReason::AgentDisabled => "AGENT_DISABLED",
            SkipReason::OwnMessage => "OWN_MESSAGE",
            SkipReason::Duplicate => "DUPLICATE",
        }
    }
}

/// Everything [`decide_reply`] looks at for one chat message.
#[derive(Debug, Clone, Copy)]
pub struct ReplyInput<'a> {
    /// The message's analysis (intent, confidence).
    pub analysis: &'a Analysis,
    /// The matched product is in this session's catalogue.
    pub product_known: bool,
    /// The creator has the agent switched on for this session.
    pub agent_enabled: bool,
    /// The message was sent by our own bot account.
    pub own_message: bool,
    /// The message was already processed (same platform message id).
    pub duplicate: bool,
    /// Where the stream runs: decides the routes and which budget a reply spends.
    pub platform: LivePlatform,
    /// The session's preferred route (mapped by [`LivePlatform::route_for`]).
    pub preferred: Route,
    /// When no whisper is left, answer in public chat instead of staying silent. A session
    /// setting: some creators want product talk kept out of chat.
    pub allow_public_fallback: bool,
    /// What has been spent so far.
    pub counters: &'a ReplyCounters,
    /// The session's limits.
    pub limits: &'a LiveLimits,
    /// The current time (domain code never reads the clock).
    pub now: DateTime<Utc>,
}

/// The outcome for one chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Answer, by this (platform-resolved) route; then [`ReplyCounters::record_reply`].
    Reply {
        /// The route the reply must take.
        route: Route,
    },
    /// Stay silent, for this reason.
    Skip(SkipReason),
}

/// Decides whether the live agent answers a chat message, and how (ARCHITECTURE.md §4).
///
/// The checks run in a fixed order and the first failing one is the reason, so the recorded
/// reason is the most fundamental one:
/// 1. not a viewer message to act on: [`SkipReason::OwnMessage`], [`SkipReason::Duplicate`];
/// 2. the creator's switch: [`SkipReason::AgentDisabled`];
/// 3. the message itself: intent ([`SkipReason::NotAnIntent`]), confidence ≥ `min_confidence`
///    ([`SkipReason::LowConfidence`]; exactly the threshold replies), product known
///    ([`SkipReason::UnknownProduct`]);
/// 4. the anti-spam limits: session ([`SkipReason::SessionLimit`]), then viewer count
///    ([`SkipReason::ViewerLimit`]), then viewer cooldown ([`SkipReason::ViewerCooldown`]);
/// 5. the route's budget. Twitch whisper with none left: falls back to Public when
///    `allow_public_fallback` (public Twitch chat is free and unlimited), else
///    [`SkipReason::WhisperBudgetExhausted`]. YouTube public: the insert must fit the quota
///    ([`SkipReason::QuotaExhausted`]; landing exactly on the quota is allowed). Twitch public
///    has no budget; TikTok DM's window and per-user limit are checked by
///    [`crate::messaging`] when the DM is sent.
pub fn decide_reply(input: &ReplyInput) -> Decision {
    let limits = input.limits;
    let counters = input.counters;
    let skip = Decision::Skip;

    if input.own_message {
        return skip(SkipReason::OwnMessage);
    }
    if input.duplicate {
        return skip(SkipReason::Duplicate);
    }
    if !input.agent_enabled {
        return skip(SkipReason::AgentDisabled);
    }
    if !matches!(
        input.analysis.intent,
        Intent::ProductInquiry | Intent::PurchaseIntent
    ) {
        return skip(SkipReason::NotAnIntent);
    }
    // A NaN confidence is low, never high.
    let confidence = input.analysis.confidence;
    if confidence.is_nan() || confidence < limits.min_confidence {
        return skip(SkipReason::LowConfidence);
    }
    if !input.product_known {
        return skip(SkipReason::UnknownProduct);
    }
    if counters.session_replies >= limits.max_replies_per_session {
        return skip(SkipReason::SessionLimit);
    }
    if counters.viewer_replies >= limits.max_replies_per_viewer {
        return skip(SkipReason::ViewerLimit);
    }
    if let Some(last) = counters.viewer_last_reply_at {
        let elapsed = input.now - last;
        if elapsed < limits.viewer_cooldown {
            return skip(SkipReason::ViewerCooldown {
                retry_in_secs: retry_in_secs(limits.viewer_cooldown, elapsed),
            });
        }
    }

    match input.platform.route_for(input.preferred) {
        Route::Whisper => {
            if counters.whispers_used_today < limits.whispers_per_day {
                Decision::Reply {
                    route: Route::Whisper,
                }
            } else if input.allow_public_fallback {
                Decision::Reply {
                    route: Route::Public,
                }
            } else {
                skip(SkipReason::WhisperBudgetExhausted)
            }
        }
        Route::Public if input.platform == LivePlatform::Youtube => {
            if youtube_call_allowed(
                counters.youtube_units_used_today,
                YoutubeCall::Insert,
                limits,
            ) {
                Decision::Reply {
                    route: Route::Public,
                }
            } else {
                skip(SkipReason::QuotaExhausted)
            }
        }
        route => Decision::Reply { route },
    }
}

/// Seconds until the cooldown ends, rounded up and at least 1 (a "retry in 0 s" would invite a
/// retry that is still refused). When the last reply lies in the future (clock skew between
/// workers) it is at most the full cooldown, never longer.
fn retry_in_secs(cooldown: Duration, elapsed: Duration) -> i64 {
    let remaining_ms = (cooldown - elapsed.max(Duration::zero())).num_milliseconds();
    ((remaining_ms + 999) / 1000).max(1)
}

/// A budget threshold that was just crossed, for a one-time notification to the creator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitWarning {
    /// YouTube quota use reached 80 %: polling and replies will stop soon.
    QuotaAt80Percent {
        /// Units used now.
        used: u32,
        /// The daily quota.
        limit: u32,
    },
    /// The last Twitch whisper of the day was used.
    WhispersExhausted,
    /// The session's last automatic reply was sent.
    SessionRepliesExhausted,
}

impl LimitWarning {
    /// The stable stored name, e.g. `"QUOTA_AT_80_PERCENT"`.
    pub fn code(&self) -> &'static str {
        match self {
            LimitWarning::QuotaAt80Percent { .. } => "QUOTA_AT_80_PERCENT",
            LimitWarning::WhispersExhausted => "WHISPERS_EXHAUSTED",
            LimitWarning::SessionRepliesExhausted => "SESSION_REPLIES_EXHAUSTED",
        }
    }
}

/// The warnings whose threshold lies between `before` (not reached) and `after` (reached), in a
/// fixed order (quota, whispers, session). Comparing the counters around one spend makes each
/// warning fire exactly once, without a "warned already" flag; a daily reset (after < before)
/// crosses nothing. A limit of 0 (path switched off) never warns: it was reached from the start.
pub fn limit_warnings(
    before: &ReplyCounters,
    after: &ReplyCounters,
    limits: &LiveLimits,
) -> Vec<LimitWarning> {
    let mut warnings = Vec::new();
    // used ≥ 80 % of quota, in integers: used × 5 ≥ quota × 4.
    let quota_80 = |used: u32| u64::from(used) * 5 >= u64::from(limits.youtube_daily_quota) * 4;
    if !quota_80(before.youtube_units_used_today) && quota_80(after.youtube_units_used_today) {
        warnings.push(LimitWarning::QuotaAt80Percent {
            used: after.youtube_units_used_today,
            limit: limits.youtube_daily_quota,
        });
    }
    let crossed = |b: u32, a: u32, limit: u32| b < limit && a >= limit;
    if crossed(
        before.whispers_used_today,
        after.whispers_used_today,
        limits.whispers_per_day,
    ) {
        warnings.push(LimitWarning::WhispersExhausted);
    }
    if crossed(
        before.session_replies,
        after.session_replies,
        limits.max_replies_per_session,
    ) {
        warnings.push(LimitWarning::SessionRepliesExhausted);
    }
    warnings
}

/// The order in which scarce whispers are handed out (higher first): the seed's advice is to
/// "reserve whispers for hot leads only". It is `2 × total` (0..=200), plus 1 when the viewer has
/// stated a purchase intent (purchase ≥ [`PURCHASE_INTENT_POINTS`]), so a higher temperature
/// always ranks first (the live bands are contiguous ranges of `total`) and, at equal totals, a
/// declared buyer beats chatter.
pub fn whisper_priority(score: &LiveScore) -> u8 {
    let total = score.total.clamp(0, 100);
    let buyer = i32::from(score.purchase >= PURCHASE_INTENT_POINTS);
    u8::try_from(total * 2 + buyer).unwrap_or(u8::MAX)
}

/// The YouTube quota day `at` falls in. Google resets every project's quota "at midnight Pacific
/// time" (platforms.md §1), so the day is the America/Los_Angeles calendar date, DST included:
/// a fixed UTC-8 would move the reset by an hour for half of the year.
pub fn youtube_quota_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
}

/// The day Twitch's whisper budget is counted in. Twitch documents "40 per day" without a reset
/// time, so we count UTC calendar days: one boundary every replica agrees on.
pub fn whisper_day(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive()
}

/// Whether a Twitch reply to this viewer should be a whisper rather than a public line: whispers
/// are scarce (40 a day per bot), so they go to hot leads first. A viewer needs a HOT score
/// ([`whisper_priority`] at least that of a HOT total); once three quarters of the day's whispers
/// are spent, only VERY_HOT viewers still get one, so the last whispers are kept for the hottest.
/// Everyone else is answered in public chat, which costs nothing.
pub fn prefers_whisper(score: &LiveScore, whispers_used_today: u32, whispers_per_day: u32) -> bool {
    let remaining = whispers_per_day.saturating_sub(whispers_used_today);
    if remaining == 0 {
        return false;
    }
    let scarce = u64::from(remaining) * 4 <= u64::from(whispers_per_day);
    let needed = if scarce {
        VERY_HOT_MIN_TOTAL
    } else {
        HOT_MIN_TOTAL
    };
    i32::from(whisper_priority(score)) >= needed * 2
}

/// The least live total that is HOT ([`Temperature::for_live_score`]).
pub const HOT_MIN_TOTAL: i32 = 51;
/// The least live total that is VERY_HOT ([`Temperature::for_live_score`]).
pub const VERY_HOT_MIN_TOTAL: i32 = 76;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Language, ProductMatch, Provider, SignalHit};
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 1, 18, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn analysis(intent: Intent, confidence: f32) -> Analysis {
        Analysis {
            intent,
            confidence,
            signals: Vec::new(),
            sentiment: 0.0,
            wants_human: false,
            matched_product: None,
            language: Language::English,
            provider: Provider::Offline,
        }
    }

    fn with_signals(mut a: Analysis, signals: &[Signal]) -> Analysis {
        a.signals = signals
            .iter()
            .map(|&signal| SignalHit {
                signal,
                evidence: String::new(),
                start: 0,
                end: 0,
            })
            .collect();
        a
    }

    fn with_product(mut a: Analysis, id: &str) -> Analysis {
        a.matched_product = Some(ProductMatch {
            product_id: id.to_owned(),
            name: id.to_owned(),
            score: 1.0,
        });
        a
    }

    fn with_sentiment(mut a: Analysis, sentiment: f32) -> Analysis {
        a.sentiment = sentiment;
        a
    }

    fn activity() -> ViewerActivity {
        ViewerActivity::new(t0())
    }

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

    // ---- detail heuristic ----

    #[test]
    fn detail_heuristic_table() {
        let yes = [
            "how much is it?",
            "HOW MUCH",
            "$50?",
            "is it under 40€",
            "I want 2",
            "size 10 please",
            "do you have XL",
            "what's the price",
            "¿cuánto cuesta?",
            "¿qué talla?",
            "3 pairs",
            "49.99?",
            "x2",
        ];
        let no = [
            "hello",
            "love this stream",
            "@user123 hi",
            "#ad1 nice",
            "see https://x.io/a1",
            "is it soft",
            "m or l",
            "",
        ];
        for m in yes {
            assert!(
                mentions_price_size_or_quantity(m),
                "{m:?} should mention details"
            );
        }
        for m in no {
            assert!(
                !mentions_price_size_or_quantity(m),
                "{m:?} should not mention details"
            );
        }
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

    // ---- operator ceilings ----

    fn ceilings(whispers: u32, quota: u32) -> LiveCeilings {
        LiveCeilings {
            whispers_per_day: whispers,
            youtube_daily_quota: quota,
            ..LiveCeilings::default()
        }
    }

    #[test]
    fn default_ceilings_are_the_platforms_documented_numbers_and_valid() {
        let c = LiveCeilings::default();
        assert_eq!(c.whispers_per_day, 40);
        assert_eq!(c.youtube_daily_quota, 10_000);
        assert_eq!(c.youtube_insert_cost, 50);
        assert_eq!(c.youtube_list_cost, 5);
        assert_eq!(c.tiktok_dms_per_viewer_per_day, 10);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.default_limits(), LiveLimits::default());
    }

    #[test]
    fn session_limits_may_lower_a_ceiling_but_never_raise_it() {
        let c = ceilings(3, 600);
        let at = |whispers, quota| LiveLimits {
            whispers_per_day: whispers,
            youtube_daily_quota: quota,
            ..LiveLimits::default()
        };
        // Table: (whispers, quota) → refusing field.
        let cases = [
            (0, 0, None),
            (3, 600, None),
            (2, 100, None),
            (4, 600, Some("whispersPerDay")),
            (10_000, 600, Some("whispersPerDay")),
            (3, 601, Some("youtubeDailyQuota")),
            (u32::MAX, u32::MAX, Some("whispersPerDay")),
        ];
        for (whispers, quota, refused) in cases {
            match (c.check(&at(whispers, quota)), refused) {
                (Ok(()), None) => {}
                (Err(DomainError::OutOfRange { field, message }), Some(want)) => {
                    assert_eq!(field, want);
                    assert!(message.contains("at most"), "{message}");
                }
                (other, want) => panic!("({whispers}, {quota}): {other:?}, wanted {want:?}"),
            }
        }
        let refused = c.check(&at(10_000, 1)).map_err(|e| e.to_string());
        assert_eq!(
            refused,
            Err("whispersPerDay: must be at most 3 (this server's ceiling for a shared platform budget), got 10000".into())
        );
    }

    #[test]
    fn stored_limits_are_spent_under_the_ceilings_with_the_operators_costs() {
        let c = LiveCeilings {
            youtube_insert_cost: 20,
            ..ceilings(3, 600)
        };
        // An old session stored generous limits and a cheap insert.
        let stored = LiveLimits {
            whispers_per_day: 10_000,
            youtube_daily_quota: 1_000_000,
            youtube_insert_cost: 1,
            youtube_list_cost: 1,
            max_replies_per_viewer: 7,
            ..LiveLimits::default()
        };
        let spent = c.apply(&stored);
        assert_eq!(spent.whispers_per_day, 3);
        assert_eq!(spent.youtube_daily_quota, 600);
        assert_eq!(spent.youtube_insert_cost, 20);
        assert_eq!(spent.youtube_list_cost, 5);
        // The anti-spam limits are the session's own.
        assert_eq!(spent.max_replies_per_viewer, 7);
        // A lower session limit stays lower.
        let modest = LiveLimits {
            whispers_per_day: 1,
            youtube_daily_quota: 100,
            ..LiveLimits::default()
        };
        assert_eq!(c.apply(&modest).whispers_per_day, 1);
        assert_eq!(c.apply(&modest).youtube_daily_quota, 100);
        // With the operator's costs a reply needs its real price.
        assert!(!youtube_call_allowed(
            590,
            YoutubeCall::Insert,
            &c.apply(&stored)
        ));
    }

    #[test]
    fn the_default_limits_take_the_ceilings_so_they_always_pass_the_check() {
        for c in [ceilings(0, 0), ceilings(3, 60), LiveCeilings::default()] {
            let limits = c.default_limits();
            assert_eq!(limits.whispers_per_day, c.whispers_per_day);
            assert_eq!(limits.youtube_daily_quota, c.youtube_daily_quota);
            assert_eq!(c.check(&limits), Ok(()));
            assert_eq!(limits.validate(), Ok(()));
        }
    }

    #[test]
    fn ceilings_outside_sane_ranges_are_refused_naming_the_setting() {
        let cases = [
            (
                LiveCeilings {
                    youtube_insert_cost: 0,
                    ..LiveCeilings::default()
                },
                "youtubeInsertCost",
            ),
            (
                LiveCeilings {
                    youtube_list_cost: 0,
                    ..LiveCeilings::default()
                },
                "youtubeListCost",
            ),
            (
                LiveCeilings {
                    whispers_per_day: MAX_COUNT_SETTING + 1,
                    ..LiveCeilings::default()
                },
                "whispersPerDay",
            ),
            (
                LiveCeilings {
                    youtube_daily_quota: MAX_YOUTUBE_QUOTA + 1,
                    ..LiveCeilings::default()
                },
                "youtubeDailyQuota",
            ),
            (
                LiveCeilings {
                    tiktok_dms_per_viewer_per_day: MAX_TIKTOK_DMS_PER_VIEWER_PER_DAY + 1,
                    ..LiveCeilings::default()
                },
                "tiktokDmsPerViewerPerDay",
            ),
        ];
        for (c, want) in cases {
            match c.validate() {
                Err(DomainError::OutOfRange { field, .. }) => assert_eq!(field, want),
                other => panic!("{c:?}: {other:?}"),
            }
        }
    }

    // ---- limits ----

    #[test]
    fn default_limits_are_the_architecture_defaults_and_valid() {
        let l = LiveLimits::default();
        assert_eq!(l.min_confidence, 0.70);
        assert_eq!(l.max_replies_per_viewer, 3);
        assert_eq!(l.viewer_cooldown, Duration::seconds(30));
        assert_eq!(l.max_replies_per_session, 100);
        assert_eq!(l.whispers_per_day, 40);
        assert_eq!(l.youtube_daily_quota, 10_000);
        assert_eq!(l.youtube_insert_cost, 50);
        assert_eq!(l.youtube_list_cost, 5);
        assert_eq!(l.validate(), Ok(()));
    }

    #[test]
    fn validate_accepts_range_edges_and_rejects_beyond() {
        let d = LiveLimits::default();
        let ok = [
            LiveLimits {
                min_confidence: 0.0,
                ..d
            },
            LiveLimits {
                min_confidence: 1.0,
                ..d
            },
            LiveLimits {
                viewer_cooldown: Duration::zero(),
                ..d
            },
            LiveLimits {
                viewer_cooldown: Duration::hours(1),
                ..d
            },
            LiveLimits {
                max_replies_per_viewer: 0,
                ..d
            },
            LiveLimits {
                max_replies_per_session: 10_000,
                ..d
            },
            LiveLimits {
                whispers_per_day: 10_000,
                ..d
            },
            LiveLimits {
                youtube_daily_quota: 0,
                ..d
            },
            LiveLimits {
                youtube_daily_quota: 1_000_000,
                ..d
            },
            LiveLimits {
                youtube_insert_cost: 20,
                ..d
            },
            LiveLimits {
                youtube_list_cost: 10_000,
                ..d
            },
        ];
        for l in ok {
            assert_eq!(l.validate(), Ok(()), "{l:?}");
        }
        let bad = [
            (
                LiveLimits {
                    min_confidence: -0.01,
                    ..d
                },
                "minConfidence",
            ),
            (
                LiveLimits {
                    min_confidence: 1.01,
                    ..d
                },
                "minConfidence",
            ),
            (
                LiveLimits {
                    min_confidence: f32::NAN,
                    ..d
                },
                "minConfidence",
            ),
            (
                LiveLimits {
                    viewer_cooldown: Duration::seconds(-1),
                    ..d
                },
                "viewerCooldown",
            ),
            (
                LiveLimits {
                    viewer_cooldown: Duration::seconds(3601),
                    ..d
                },
                "viewerCooldown",
            ),
            (
                LiveLimits {
                    max_replies_per_viewer: 10_001,
                    ..d
                },
                "maxRepliesPerViewer",
            ),
            (
                LiveLimits {
                    max_replies_per_session: 10_001,
                    ..d
                },
                "maxRepliesPerSession",
            ),
            (
                LiveLimits {
                    whispers_per_day: 10_001,
                    ..d
                },
                "whispersPerDay",
            ),
            (
                LiveLimits {
                    youtube_daily_quota: 1_000_001,
                    ..d
                },
                "youtubeDailyQuota",
            ),
            (
                LiveLimits {
                    youtube_insert_cost: 0,
                    ..d
                },
                "youtubeInsertCost",
            ),
            (
                LiveLimits {
                    youtube_list_cost: 0,
                    ..d
                },
                "youtubeListCost",
            ),
            (
                LiveLimits {
                    youtube_list_cost: 10_001,
                    ..d
                },
                "youtubeListCost",
            ),
        ];
        for (l, want) in bad {
            match l.validate() {
                Err(DomainError::OutOfRange { field, .. }) => assert_eq!(field, want, "{l:?}"),
                other => panic!("{l:?}: expected OutOfRange({want}), got {other:?}"),
            }
        }
    }

    #[test]
    fn youtube_call_allowed_at_exactly_the_quota() {
        let l = LiveLimits::default();
        assert!(youtube_call_allowed(9_950, YoutubeCall::Insert, &l));
        assert!(!youtube_call_allowed(9_951, YoutubeCall::Insert, &l));
        assert!(youtube_call_allowed(9_995, YoutubeCall::List, &l));
        assert!(!youtube_call_allowed(9_996, YoutubeCall::List, &l));
        assert!(
            !youtube_call_allowed(u32::MAX, YoutubeCall::List, &l),
            "no overflow"
        );
    }

    #[test]
    fn record_reply_spends_the_routes_budget() {
        let l = LiveLimits::default();
        let later = t0() + Duration::seconds(42);
        let cases = [
            (LivePlatform::Youtube, Route::Public, 0, 50),
            (LivePlatform::Twitch, Route::Whisper, 1, 0),
            (LivePlatform::Twitch, Route::Public, 0, 0),
            (LivePlatform::Tiktok, Route::Dm, 0, 0),
        ];
        for (platform, route, whispers, units) in cases {
            let mut c = ReplyCounters::default();
            c.record_reply(platform, route, &l, later);
            assert_eq!(c.viewer_replies, 1);
            assert_eq!(c.session_replies, 1);
            assert_eq!(c.viewer_last_reply_at, Some(later));
            assert_eq!(c.whispers_used_today, whispers, "{platform:?} {route:?}");
            assert_eq!(c.youtube_units_used_today, units, "{platform:?} {route:?}");
        }
        let mut c = ReplyCounters::default();
        c.record_youtube_call(YoutubeCall::List, &l);
        assert_eq!(c.youtube_units_used_today, 5);
    }

    // ---- decide_reply ----

    struct Case {
        analysis: Analysis,
        product_known: bool,
        agent_enabled: bool,
        own_message: bool,
        duplicate: bool,
        platform: LivePlatform,
        preferred: Route,
        allow_public_fallback: bool,
        counters: ReplyCounters,
        limits: LiveLimits,
        now: DateTime<Utc>,
    }

    impl Case {
        fn ok() -> Self {
            Self {
                analysis: analysis(Intent::ProductInquiry, 0.9),
                product_known: true,
                agent_enabled: true,
                own_message: false,
                duplicate: false,
                platform: LivePlatform::Twitch,
                preferred: Route::Public,
                allow_public_fallback: false,
                counters: ReplyCounters::default(),
                limits: LiveLimits::default(),
                now: t0(),
            }
        }

        fn decide(&self) -> Decision {
            decide_reply(&ReplyInput {
                analysis: &self.analysis,
                product_known: self.product_known,
                agent_enabled: self.agent_enabled,
                own_message: self.own_message,
                duplicate: self.duplicate,
                platform: self.platform,
                preferred: self.preferred,
                allow_public_fallback: self.allow_public_fallback,
                counters: &self.counters,
                limits: &self.limits,
                now: self.now,
            })
        }
    }

    const PUBLIC: Decision = Decision::Reply {
        route: Route::Public,
    };

    #[test]
    fn happy_path_replies_publicly() {
        assert_eq!(Case::ok().decide(), PUBLIC);
    }

    #[test]
    fn only_product_inquiry_and_purchase_intent_are_answered() {
        for intent in Intent::ALL {
            let case = Case {
                analysis: analysis(intent, 0.95),
                ..Case::ok()
            };
            let want = match intent {
                Intent::ProductInquiry | Intent::PurchaseIntent => PUBLIC,
                _ => Decision::Skip(SkipReason::NotAnIntent),
            };
            assert_eq!(case.decide(), want, "{intent:?}");
        }
    }

    #[test]
    fn confidence_threshold_is_inclusive_and_nan_is_low() {
        let cases = [
            (0.70, PUBLIC),
            (0.71, PUBLIC),
            (1.0, PUBLIC),
            (0.699_99, Decision::Skip(SkipReason::LowConfidence)),
            (0.0, Decision::Skip(SkipReason::LowConfidence)),
            (f32::NAN, Decision::Skip(SkipReason::LowConfidence)),
        ];
        for (confidence, want) in cases {
            let case = Case {
                analysis: analysis(Intent::PurchaseIntent, confidence),
                ..Case::ok()
            };
            assert_eq!(case.decide(), want, "confidence {confidence}");
        }
    }

    #[test]
    fn unknown_product_is_skipped() {
        let case = Case {
            product_known: false,
            ..Case::ok()
        };
        assert_eq!(case.decide(), Decision::Skip(SkipReason::UnknownProduct));
    }

    #[test]
    fn own_duplicate_and_disabled_are_skipped_first() {
        let low = analysis(Intent::Other, 0.1);
        let own = Case {
            own_message: true,
            duplicate: true,
            agent_enabled: false,
            analysis: low.clone(),
            ..Case::ok()
        };
        assert_eq!(own.decide(), Decision::Skip(SkipReason::OwnMessage));
        let dup = Case {
            duplicate: true,
            agent_enabled: false,
            analysis: low.clone(),
            ..Case::ok()
        };
        assert_eq!(dup.decide(), Decision::Skip(SkipReason::Duplicate));
        let off = Case {
            agent_enabled: false,
            analysis: low,
            ..Case::ok()
        };
        assert_eq!(off.decide(), Decision::Skip(SkipReason::AgentDisabled));
    }

    #[test]
    fn message_checks_run_in_order() {
        let not_intent_low = Case {
            analysis: analysis(Intent::Praise, 0.1),
            product_known: false,
            ..Case::ok()
        };
        assert_eq!(
            not_intent_low.decide(),
            Decision::Skip(SkipReason::NotAnIntent)
        );
        let low_unknown = Case {
            analysis: analysis(Intent::ProductInquiry, 0.1),
            product_known: false,
            ..Case::ok()
        };
        assert_eq!(
            low_unknown.decide(),
            Decision::Skip(SkipReason::LowConfidence)
        );
        let unknown_over_limits = Case {
            product_known: false,
            counters: ReplyCounters {
                session_replies: 100,
                viewer_replies: 3,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(
            unknown_over_limits.decide(),
            Decision::Skip(SkipReason::UnknownProduct)
        );
    }

    #[test]
    fn third_reply_allowed_fourth_refused() {
        let third = Case {
            counters: ReplyCounters {
                viewer_replies: 2,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(third.decide(), PUBLIC);
        let fourth = Case {
            counters: ReplyCounters {
                viewer_replies: 3,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(fourth.decide(), Decision::Skip(SkipReason::ViewerLimit));
    }

    #[test]
    fn cooldown_29s_refused_30s_allowed() {
        let at = |secs: i64, millis: i64| Case {
            counters: ReplyCounters {
                viewer_replies: 1,
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            now: t0() + Duration::seconds(secs) + Duration::milliseconds(millis),
            ..Case::ok()
        };
        let cooldown = |retry_in_secs| Decision::Skip(SkipReason::ViewerCooldown { retry_in_secs });
        assert_eq!(at(0, 0).decide(), cooldown(30));
        assert_eq!(at(1, 0).decide(), cooldown(29));
        assert_eq!(at(29, 0).decide(), cooldown(1));
        assert_eq!(at(29, 999).decide(), cooldown(1), "rounded up, never 0");
        assert_eq!(at(29, 1).decide(), cooldown(1));
        assert_eq!(at(30, 0).decide(), PUBLIC);
        assert_eq!(at(3_600, 0).decide(), PUBLIC);
        // Clock skew: the last reply is "in the future"; wait at most the full cooldown.
        assert_eq!(at(-10, 0).decide(), cooldown(30));
    }

    #[test]
    fn zero_cooldown_never_waits() {
        let case = Case {
            counters: ReplyCounters {
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            limits: LiveLimits {
                viewer_cooldown: Duration::zero(),
                ..LiveLimits::default()
            },
            ..Case::ok()
        };
        assert_eq!(case.decide(), PUBLIC);
    }

    #[test]
    fn hundredth_session_reply_allowed_then_session_limit() {
        let with = |n| Case {
            counters: ReplyCounters {
                session_replies: n,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(with(99).decide(), PUBLIC);
        assert_eq!(with(100).decide(), Decision::Skip(SkipReason::SessionLimit));
        assert_eq!(
            with(u32::MAX).decide(),
            Decision::Skip(SkipReason::SessionLimit)
        );
    }

    #[test]
    fn session_limit_is_reported_before_viewer_limits() {
        let case = Case {
            counters: ReplyCounters {
                session_replies: 100,
                viewer_replies: 3,
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(case.decide(), Decision::Skip(SkipReason::SessionLimit));
        let viewer_then_cooldown = Case {
            counters: ReplyCounters {
                viewer_replies: 3,
                viewer_last_reply_at: Some(t0()),
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(
            viewer_then_cooldown.decide(),
            Decision::Skip(SkipReason::ViewerLimit)
        );
    }

    #[test]
    fn zero_limits_switch_replies_off() {
        let per_viewer = Case {
            limits: LiveLimits {
                max_replies_per_viewer: 0,
                ..LiveLimits::default()
            },
            ..Case::ok()
        };
        assert_eq!(per_viewer.decide(), Decision::Skip(SkipReason::ViewerLimit));
        let per_session = Case {
            limits: LiveLimits {
                max_replies_per_session: 0,
                ..LiveLimits::default()
            },
            ..Case::ok()
        };
        assert_eq!(
            per_session.decide(),
            Decision::Skip(SkipReason::SessionLimit)
        );
    }

    #[test]
    fn routes_are_resolved_per_platform() {
        let cases = [
            (LivePlatform::Youtube, Route::Public, Route::Public),
            (LivePlatform::Youtube, Route::Whisper, Route::Public),
            (LivePlatform::Youtube, Route::Dm, Route::Public),
            (LivePlatform::Twitch, Route::Public, Route::Public),
            (LivePlatform::Twitch, Route::Whisper, Route::Whisper),
            (LivePlatform::Twitch, Route::Dm, Route::Whisper),
            (LivePlatform::Tiktok, Route::Public, Route::Dm),
            (LivePlatform::Tiktok, Route::Whisper, Route::Dm),
            (LivePlatform::Tiktok, Route::Dm, Route::Dm),
        ];
        for (platform, preferred, want) in cases {
            assert_eq!(
                platform.route_for(preferred),
                want,
                "{platform:?} {preferred:?}"
            );
            let case = Case {
                platform,
                preferred,
                ..Case::ok()
            };
            assert_eq!(case.decide(), Decision::Reply { route: want });
        }
    }

    #[test]
    fn whisper_budget_last_one_used_then_fallback_or_skip() {
        let with = |used, fallback, preferred| Case {
            preferred,
            allow_public_fallback: fallback,
            counters: ReplyCounters {
                whispers_used_today: used,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        let whisper = Decision::Reply {
            route: Route::Whisper,
        };
        assert_eq!(with(39, false, Route::Whisper).decide(), whisper);
        assert_eq!(
            with(40, false, Route::Whisper).decide(),
            Decision::Skip(SkipReason::WhisperBudgetExhausted)
        );
        assert_eq!(with(40, true, Route::Whisper).decide(), PUBLIC);
        assert_eq!(
            with(40, true, Route::Dm).decide(),
            PUBLIC,
            "Twitch DM is a whisper"
        );
        // Public Twitch replies never touch the whisper budget.
        assert_eq!(with(40, false, Route::Public).decide(), PUBLIC);
    }

    #[test]
    fn youtube_reply_needs_quota_for_one_insert() {
        let with = |used| Case {
            platform: LivePlatform::Youtube,
            counters: ReplyCounters {
                youtube_units_used_today: used,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(with(0).decide(), PUBLIC);
        assert_eq!(with(9_950).decide(), PUBLIC, "remaining == insert cost");
        assert_eq!(
            with(9_951).decide(),
            Decision::Skip(SkipReason::QuotaExhausted)
        );
        assert_eq!(
            with(10_000).decide(),
            Decision::Skip(SkipReason::QuotaExhausted)
        );
        // The configurable cost (official reference: 20) moves the boundary.
        let cheaper = Case {
            limits: LiveLimits {
                youtube_insert_cost: 20,
                ..LiveLimits::default()
            },
            ..with(9_980)
        };
        assert_eq!(cheaper.decide(), PUBLIC);
        // Quota is YouTube's: a Twitch public reply ignores it.
        let twitch = Case {
            platform: LivePlatform::Twitch,
            ..with(10_000)
        };
        assert_eq!(twitch.decide(), PUBLIC);
    }

    #[test]
    fn tiktok_dm_has_no_budget_here() {
        let case = Case {
            platform: LivePlatform::Tiktok,
            counters: ReplyCounters {
                whispers_used_today: 1_000,
                youtube_units_used_today: 1_000_000,
                ..ReplyCounters::default()
            },
            ..Case::ok()
        };
        assert_eq!(case.decide(), Decision::Reply { route: Route::Dm });
    }

    #[test]
    fn skip_codes_are_stable_and_distinct() {
        let all = [
            (SkipReason::NotAnIntent, "NOT_AN_INTENT"),
            (SkipReason::LowConfidence, "LOW_CONFIDENCE"),
            (SkipReason::UnknownProduct, "UNKNOWN_PRODUCT"),
            (SkipReason::ViewerLimit, "VIEWER_LIMIT"),
            (
                SkipReason::ViewerCooldown { retry_in_secs: 5 },
                "VIEWER_COOLDOWN",
            ),
            (SkipReason::SessionLimit, "SESSION_LIMIT"),
            (
                SkipReason::WhisperBudgetExhausted,
                "WHISPER_BUDGET_EXHAUSTED",
            ),
            (SkipReason::QuotaExhausted, "QUOTA_EXHAUSTED"),
            (SkipReason::AgentDisabled, "AGENT_DISABLED"),
            (SkipReason::OwnMessage, "OWN_MESSAGE"),
            (SkipReason::Duplicate, "DUPLICATE"),
        ];
        for (reason, code) in all {
            assert_eq!(reason.code(), code);
        }
        let mut codes: Vec<&str> = all.iter().map(|(r, _)| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn platform_and_route_names_and_channels() {
        for p in LivePlatform::ALL {
            assert_eq!(LivePlatform::from_channel(p.channel()), Some(p));
            let json = serde_json::to_string(&p).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
        }
        assert_eq!(LivePlatform::from_channel(Channel::Whatsapp), None);
        for r in [Route::Public, Route::Whisper, Route::Dm] {
            let json = serde_json::to_string(&r).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }

    // ---- limit_warnings ----

    #[test]
    fn quota_80_percent_warning_fires_once_on_crossing() {
        let l = LiveLimits::default();
        let units = |u| ReplyCounters {
            youtube_units_used_today: u,
            ..ReplyCounters::default()
        };
        assert_eq!(limit_warnings(&units(7_950), &units(7_999), &l), vec![]);
        assert_eq!(
            limit_warnings(&units(7_999), &units(8_000), &l),
            vec![LimitWarning::QuotaAt80Percent {
                used: 8_000,
                limit: 10_000
            }]
        );
        assert_eq!(
            limit_warnings(&units(7_960), &units(8_010), &l),
            vec![LimitWarning::QuotaAt80Percent {
                used: 8_010,
                limit: 10_000
            }]
        );
        assert_eq!(
            limit_warnings(&units(8_000), &units(8_050), &l),
            vec![],
            "already above"
        );
        assert_eq!(
            limit_warnings(&units(9_000), &units(0), &l),
            vec![],
            "daily reset"
        );

        // Walking the counter up by real spends emits exactly one warning.
        let mut c = ReplyCounters::default();
        let mut emitted = Vec::new();
        for _ in 0..200 {
            let before = c;
            c.record_reply(LivePlatform::Youtube, Route::Public, &l, t0());
            emitted.extend(limit_warnings(&before, &c, &l));
        }
        let quota: Vec<_> = emitted
            .iter()
            .filter(|w| matches!(w, LimitWarning::QuotaAt80Percent { .. }))
            .collect();
        assert_eq!(quota.len(), 1);
    }

    #[test]
    fn quota_80_percent_uses_exact_integer_arithmetic() {
        // 80 % of 999 is 799.2: 799 is below, 800 is at or above.
        let l = LiveLimits {
            youtube_daily_quota: 999,
            ..LiveLimits::default()
        };
        let units = |u| ReplyCounters {
            youtube_units_used_today: u,
            ..ReplyCounters::default()
        };
        assert_eq!(limit_warnings(&units(0), &units(799), &l), vec![]);
        assert_eq!(limit_warnings(&units(799), &units(800), &l).len(), 1);
        let huge = LiveLimits {
            youtube_daily_quota: u32::MAX,
            ..LiveLimits::default()
        };
        assert_eq!(
            limit_warnings(&units(0), &units(u32::MAX), &huge).len(),
            1,
            "no overflow"
        );
        let off = LiveLimits {
            youtube_daily_quota: 0,
            ..LiveLimits::default()
        };
        assert_eq!(
            limit_warnings(&units(0), &units(50), &off),
            vec![],
            "quota 0 never warns"
        );
    }

    #[test]
    fn whisper_and_session_exhaustion_warn_on_the_last_one_only() {
        let l = LiveLimits::default();
        let c = |whispers, session| ReplyCounters {
            whispers_used_today: whispers,
            session_replies: session,
            ..ReplyCounters::default()
        };
        assert_eq!(limit_warnings(&c(38, 98), &c(39, 99), &l), vec![]);
        assert_eq!(
            limit_warnings(&c(39, 99), &c(40, 100), &l),
            vec![
                LimitWarning::WhispersExhausted,
                LimitWarning::SessionRepliesExhausted
            ]
        );
        assert_eq!(limit_warnings(&c(40, 100), &c(41, 101), &l), vec![]);
        assert_eq!(limit_warnings(&c(40, 100), &c(0, 100), &l), vec![], "reset");
        let off = LiveLimits {
            whispers_per_day: 0,
            max_replies_per_session: 0,
            ..l
        };
        assert_eq!(limit_warnings(&c(0, 0), &c(1, 1), &off), vec![]);
    }

    #[test]
    fn warning_codes_are_stable() {
        assert_eq!(
            LimitWarning::QuotaAt80Percent { used: 1, limit: 1 }.code(),
            "QUOTA_AT_80_PERCENT"
        );
        assert_eq!(LimitWarning::WhispersExhausted.code(), "WHISPERS_EXHAUSTED");
        assert_eq!(
            LimitWarning::SessionRepliesExhausted.code(),
            "SESSION_REPLIES_EXHAUSTED"
        );
    }

    // ---- whisper_priority ----

    #[test]
    fn whisper_priority_ranks_temperature_then_declared_buyers() {
        let score = |total, purchase| LiveScore {
            total,
            purchase,
            engagement: 0,
            specificity: 0,
            sentiment: 0,
            temperature: Temperature::for_live_score(total),
        };
        assert_eq!(whisper_priority(&score(0, 0)), 0);
        assert_eq!(whisper_priority(&score(100, 40)), 201);
        assert_eq!(whisper_priority(&score(50, 0)), 100);
        assert_eq!(whisper_priority(&score(50, 25)), 101);
        assert!(whisper_priority(&score(50, 25)) < whisper_priority(&score(51, 0)));
        assert_eq!(whisper_priority(&score(-5, 0)), 0, "clamped");
        assert_eq!(whisper_priority(&score(500, 40)), 201, "clamped");
        // Any hotter band outranks every score of a colder band.
        for a in 0..=100 {
            for b in 0..=100 {
                for (pa, pb) in [(0, 40), (40, 0)] {
                    let (sa, sb) = (score(a, pa), score(b, pb));
                    if sa.temperature > sb.temperature {
                        assert!(whisper_priority(&sa) > whisper_priority(&sb), "{a} vs {b}");
                    }
                }
            }
        }
    }

    // ---- quota day, whisper day, whisper preference ----

    #[test]
    fn youtube_quota_day_turns_at_pacific_midnight_with_dst() {
        // Winter (PST, UTC-8): 07:59 UTC is still the previous Pacific day, 08:00 the next.
        let winter = |h, m| {
            Utc.with_ymd_and_hms(2026, 1, 15, h, m, 0)
                .single()
                .unwrap_or_default()
        };
        assert_eq!(
            youtube_quota_day(winter(7, 59)),
            NaiveDate::from_ymd_opt(2026, 1, 14).unwrap_or_default()
        );
        assert_eq!(
            youtube_quota_day(winter(8, 0)),
            NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default()
        );
        // Summer (PDT, UTC-7): the boundary is 07:00 UTC.
        let summer = |h, m| {
            Utc.with_ymd_and_hms(2026, 7, 15, h, m, 0)
                .single()
                .unwrap_or_default()
        };
        assert_eq!(
            youtube_quota_day(summer(6, 59)),
            NaiveDate::from_ymd_opt(2026, 7, 14).unwrap_or_default()
        );
        assert_eq!(
            youtube_quota_day(summer(7, 0)),
            NaiveDate::from_ymd_opt(2026, 7, 15).unwrap_or_default()
        );
        assert_eq!(
            whisper_day(summer(6, 59)),
            NaiveDate::from_ymd_opt(2026, 7, 15).unwrap_or_default()
        );
    }

    fn score_of(total: i32, purchase: i32) -> LiveScore {
        LiveScore {
            total,
            purchase,
            engagement: 0,
            specificity: 0,
            sentiment: 0,
            temperature: Temperature::for_live_score(total),
        }
    }

    #[test]
    fn whispers_go_to_hot_viewers_and_the_last_quarter_to_very_hot_ones() {
        // Plenty left: HOT (51) whispers, WARM (50) does not.
        assert!(prefers_whisper(&score_of(51, 0), 0, 40));
        assert!(!prefers_whisper(&score_of(50, 0), 0, 40));
        // 11 left of 40 is not scarce yet (11 × 4 = 44 > 40); 10 left is.
        assert!(prefers_whisper(&score_of(60, 0), 29, 40));
        assert!(!prefers_whisper(&score_of(60, 0), 30, 40));
        assert!(!prefers_whisper(&score_of(75, 25), 30, 40));
        assert!(prefers_whisper(&score_of(76, 0), 30, 40));
        // None left: nobody, however hot.
        assert!(!prefers_whisper(&score_of(100, 40), 40, 40));
        assert!(!prefers_whisper(&score_of(100, 40), 0, 0));
    }
}
