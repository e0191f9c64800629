//! The send gate: the one rule every outbound inbox message passes before any platform client is
//! called (ARCHITECTURE.md §4, "Messaging windows"; platforms.md §4-§5 and the TikTok notes).
//!
//! Owns: which messaging windows each channel has (24 h free-form, WhatsApp templates after it,
//! Meta's 7-day HUMAN_AGENT tag for people only, TikTok's 10 messages per user per day), where
//! their boundaries are, and the words shown to an agent when a send is refused.
//!
//! Must not: read the clock, count messages or look up templates itself — the caller passes `now`,
//! the last inbound time, the count and the template name in a [`SendContext`]; nor call a
//! platform. It returns *how* to send ([`SendMode`]) or *why not* ([`BlockReason`]), and the
//! integration crate turns the mode into the wire format (`messaging_type: MESSAGE_TAG`,
//! `tag: HUMAN_AGENT`, a `template` body, ...).
//!
//! Boundaries: a window of length W opened at `t` is open for `now - t < W` and closed from
//! `now - t == W` on. Platforms do not document which side of the instant they are on, so the
//! strict side is chosen: refusing a message one nanosecond early costs less than a rejected send
//! (WhatsApp 131047, Meta outside-window errors) that the agent only hears about later.

use chrono::{DateTime, Duration, Utc};

use crate::channel::Channel;

/// How long after the customer's last message any reply may be sent (WhatsApp customer service
/// window; Messenger/Instagram standard messaging window; TikTok DM window).
pub const FREE_FORM_WINDOW: Duration = Duration::hours(24);

/// How long after the customer's last message a *human* may still answer on Messenger and
/// Instagram with the `HUMAN_AGENT` message tag.
pub const HUMAN_AGENT_WINDOW: Duration = Duration::days(7);

/// Messages we may send to one TikTok user in any 24 hours (and only inside the 24 h window):
/// TikTok's rule, defined once as [`crate::live::TIKTOK_DMS_PER_USER_PER_DAY`].
pub const TIKTOK_DAILY_LIMIT: u32 = crate::live::TIKTOK_DMS_PER_USER_PER_DAY;

/// Who is about to send the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    /// The AI (offline analyzer or an LLM provider): automated.
    Ai,
    /// A human agent of the tenant, typing in the inbox.
    Agent,
}

/// Everything the gate needs to know about one intended send. Built by the caller; the gate
/// itself reads no clock and no database.
#[derive(Debug, Clone)]
pub struct SendContext {
    /// The channel the message would go out on.
    pub channel: Channel,
    /// Who is sending it.
    pub sender: Sender,
    /// The current time (passed in so the rule stays deterministic).
    pub now: DateTime<Utc>,
    /// When the customer last wrote on this channel (None: never).
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Messages we already sent to this user on this channel in the 24 h before `now` (TikTok limit).
    pub sent_in_last_day: u32,
    /// The tenant's approved WhatsApp template name, if any.
    pub whatsapp_template: Option<String>,
    /// The recipient's number is on the tenant's do-not-contact list (it texted STOP). Read
    /// for SMS (TWILIO), where the opt-out was made.
    pub opted_out: bool,
}

/// How a permitted message must be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendMode {
    /// An ordinary message with any content (`messaging_type: RESPONSE` on Meta).
    FreeForm,
    /// WhatsApp outside the 24 h window: only this approved template may be sent, not the
    /// composed text.
    WhatsAppTemplate {
        /// The template's name as approved in WhatsApp Business Manager.
        name: String,
    },
    /// Messenger/Instagram outside the 24 h window, by a human within 7 days:
    /// `messaging_type: MESSAGE_TAG`, `tag: HUMAN_AGENT`.
    HumanAgentTag,
}

/// Why a message may not be sent now. [`BlockReason::code`] is the stable machine code (GraphQL
/// `extensions.code`, logs); `Display` is the sentence shown to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockReason {
    /// The customer has never written on this channel; every channel here forbids cold outreach
    /// from the inbox.
    NeverContacted,
    /// WhatsApp, more than 24 h since the customer's last message, and the tenant has no approved
    /// template to send instead.
    WindowClosedNoTemplate,
    /// Messenger/Instagram, a human agent, but 7 days or more since the customer's last message.
    HumanAgentWindowClosed,
    /// Messenger/Instagram, more than 24 h since the customer's last message, and the sender is the
    /// AI: Meta reserves the HUMAN_AGENT tag for people.
    AutomatedOutsideWindow,
    /// TikTok, more than 24 h since the customer's last message.
    TikTokWindowClosed,
    /// TikTok, inside the window, but the per-user daily limit is used up.
    TikTokDailyLimit {
        /// The limit that was reached (messages per user per 24 h).
        limit: u32,
    },
    /// The channel has no inbox messaging (voice calls, live-stream platforms).
    ChannelNotSupported,
    /// SMS to a number that opted out (texted STOP): carriers and the law forbid texting it.
    OptedOut,
}

impl BlockReason {
    /// The stable SCREAMING_SNAKE_CASE code (e.g. `"WINDOW_CLOSED_NO_TEMPLATE"`).
    pub fn code(&self) -> &'static str {
        match self {
            BlockReason::NeverContacted => "NEVER_CONTACTED",
            BlockReason::WindowClosedNoTemplate => "WINDOW_CLOSED_NO_TEMPLATE",
            BlockReason::HumanAgentWindowClosed => "HUMAN_AGENT_WINDOW_CLOSED",
            BlockReason::AutomatedOutsideWindow => "AUTOMATED_OUTSIDE_WINDOW",
            BlockReason::TikTokWindowClosed => "TIKTOK_WINDOW_CLOSED",
            BlockReason::TikTokDailyLimit { .. } => "TIKTOK_DAILY_LIMIT",
            BlockReason::ChannelNotSupported => "CHANNEL_NOT_SUPPORTED",
            BlockReason::OptedOut => "OPTED_OUT",
        }
    }
}

impl std::fmt::Display for BlockReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockReason::NeverContacted => f.write_str(
                "The customer has never written to us on this channel, and the platform does not \
                 allow us to message them first.",
            ),
            BlockReason::WindowClosedNoTemplate => f.write_str(
                "More than 24 hours have passed since the customer's last WhatsApp message. \
                 WhatsApp then allows only an approved message template, and none is configured.",
            ),
            BlockReason::HumanAgentWindowClosed => f.write_str(
                "More than 7 days have passed since the customer's last message. Meta allows no \
                 further reply, not even from a person, until the customer writes again.",
            ),
            BlockReason::AutomatedOutsideWindow => f.write_str(
                "More than 24 hours have passed since the customer's last message. Meta then \
                 allows only a human agent to reply (within 7 days), never an automated one.",
            ),
            BlockReason::TikTokWindowClosed => f.write_str(
                "More than 24 hours have passed since the customer's last TikTok message. TikTok \
                 allows no reply until the customer writes again.",
            ),
            BlockReason::TikTokDailyLimit { limit } => write!(
                f,
                "TikTok allows at most {limit} messages to one user in 24 hours, and that many \
                 have already been sent."
            ),
            BlockReason::ChannelNotSupported => {
                f.write_str("This channel does not support inbox messages.")
            }
            BlockReason::OptedOut => f.write_str(
                "The customer's number opted out of text messages (it texted STOP), so nothing \
                 more may be texted to it while it is on the do-not-call list.",
            ),
        }
    }
}

impl std::error::Error for BlockReason {}

named_enum! {
    /// Which way a message went.
    pub enum MessageDirection("message direction") {
        /// From the lead to the tenant.
        Inbound => "INBOUND",
        /// From the tenant (AI, agent or system) to the lead.
        Outbound => "OUTBOUND",
    }
}

named_enum! {
    /// Who wrote a stored message.
    pub enum SenderKind("sender kind") {
        /// The customer.
        Lead => "LEAD",
        /// Our AI.
        Ai => "AI",
        /// A human agent of the tenant.
        Agent => "AGENT",
        /// The platform itself (notices, hand-over messages).
        System => "SYSTEM",
    }
}

named_enum! {
    /// Where a message is on its way to the customer, in the order an outbound message moves
    /// through them (FAILED and BLOCKED aside).
    pub enum DeliveryStatus("delivery status") {
        /// An inbound message we stored.
        Received => "RECEIVED",
        /// Outbound, waiting for its send job.
        Pending => "PENDING",
        /// Accepted by the platform.
        Sent => "SENT",
        /// On the customer's device.
        Delivered => "DELIVERED",
        /// Seen by the customer.
        Read => "READ",
        /// The platform refused or could not deliver it (see `delivery_error`).
        Failed => "FAILED",
        /// Our send gate refused it (outside the messaging window, over a limit); never sent.
        Blocked => "BLOCKED",
    }
}

impl DeliveryStatus {
    /// The statuses of a message the platform accepted: what counts against a per-user limit.
    pub const ACCEPTED: [DeliveryStatus; 3] = [
        DeliveryStatus::Sent,
        DeliveryStatus::Delivered,
        DeliveryStatus::Read,
    ];

    /// Position on the way to the customer: PENDING < SENT < DELIVERED < READ. The others
    /// (RECEIVED, FAILED, BLOCKED) rank last, so no progress report moves past them.
    pub fn rank(self) -> u8 {
        match self {
            DeliveryStatus::Pending => 0,
            DeliveryStatus::Sent => 1,
            DeliveryStatus::Delivered => 2,
            DeliveryStatus::Read => 3,
            DeliveryStatus::Received | DeliveryStatus::Failed | DeliveryStatus::Blocked => 4,
        }
    }

    /// Whether a platform's report of `self` replaces `current`: statuses never move backwards
    /// (a late SENT after READ is ignored, since webhooks arrive out of order). A failure counts
    /// only before the message was delivered; after a failure, a DELIVERED or READ report (the
    /// platform retried and got through) wins, a late SENT does not.
    pub fn supersedes(self, current: DeliveryStatus) -> bool {
        if self == DeliveryStatus::Failed {
            current.rank() < DeliveryStatus::Delivered.rank()
        } else {
            (current == DeliveryStatus::Failed && self != DeliveryStatus::Sent)
                || self.rank() > current.rank()
        }
    }
}

/// Decides whether and how a message may be sent now.
///
/// * WhatsApp, Instagram, Facebook: within [`FREE_FORM_WINDOW`] of the customer's last message,
///   [`SendMode::FreeForm`]. After it, WhatsApp sends the tenant's template (for the AI and for
///   agents alike: a template is pre-approved content, not an automated conversation) or refuses
///   with [`BlockReason::WindowClosedNoTemplate`]; Instagram/Facebook allow only a human
///   [`Sender::Agent`] to use [`SendMode::HumanAgentTag`] within [`HUMAN_AGENT_WINDOW`], and refuse
///   the AI with [`BlockReason::AutomatedOutsideWindow`].
/// * TikTok: [`SendMode::FreeForm`] within the 24 h window while fewer than
///   [`TIKTOK_DAILY_LIMIT`] messages went to this user in the last 24 h.
/// * SMS (TWILIO, a text to the dealership's number): [`SendMode::FreeForm`] once the customer
///   texted us, with no window (a text has none), unless the number opted out
///   ([`BlockReason::OptedOut`]; `opted_out` is read only here).
/// * Web chat: always [`SendMode::FreeForm`] — our own widget, no platform policy.
/// * Any other channel: [`BlockReason::ChannelNotSupported`].
///
/// A customer who never wrote (`last_inbound_at: None`) is [`BlockReason::NeverContacted`] on
/// every platform channel, even with a WhatsApp template: the inbox only answers people who wrote
/// first, and an inbound message is our only evidence that they opted in.
///
/// A `last_inbound_at` after `now` (clock skew between the platform's timestamps and ours) is
/// taken as `now`: the customer has just written, so the window is open.
pub fn decide_send(ctx: &SendContext) -> Result<SendMode, BlockReason> {
    // Exhaustive on purpose: a new channel must decide its window rules here, not inherit one.
    match ctx.channel {
        Channel::WebChat => Ok(SendMode::FreeForm),
        Channel::Whatsapp => {
            let since = time_since_inbound(ctx)?;
            if since < FREE_FORM_WINDOW {
                return Ok(SendMode::FreeForm);
            }
            match &ctx.whatsapp_template {
                // A blank name is a misconfiguration, not a template; sending it would fail at
                // WhatsApp (132001), so it counts as none.
                Some(name) if !name.trim().is_empty() => {
                    Ok(SendMode::WhatsAppTemplate { name: name.clone() })
                }
                _ => Err(BlockReason::WindowClosedNoTemplate),
            }
        }
        Channel::Instagram | Channel::Facebook => {
            let since = time_since_inbound(ctx)?;
            if since < FREE_FORM_WINDOW {
                return Ok(SendMode::FreeForm);
            }
            match ctx.sender {
                // Meta's policy: HUMAN_AGENT is for a person answering; automated use gets the
                // page's messaging restricted. The AI is refused even inside the 7 days.
                Sender::Ai => Err(BlockReason::AutomatedOutsideWindow),
                Sender::Agent if since < HUMAN_AGENT_WINDOW => Ok(SendMode::HumanAgentTag),
                Sender::Agent => Err(BlockReason::HumanAgentWindowClosed),
            }
        }
        Channel::Tiktok => {
            let since = time_since_inbound(ctx)?;
            // Window first: once it is closed, the count no longer matters to the agent.
            if since >= FREE_FORM_WINDOW {
                return Err(BlockReason::TikTokWindowClosed);
            }
            if ctx.sent_in_last_day >= TIKTOK_DAILY_LIMIT {
                return Err(BlockReason::TikTokDailyLimit {
                    limit: TIKTOK_DAILY_LIMIT,
                });
            }
            Ok(SendMode::FreeForm)
        }
        Channel::Twilio => {
            // The opt-out first: it is the customer's standing instruction, whenever they wrote.
            if ctx.opted_out {
                return Err(BlockReason::OptedOut);
            }
            time_since_inbound(ctx)?;
            Ok(SendMode::FreeForm)
        }
        Channel::Youtube | Channel::Twitch | Channel::Livekit => {
            Err(BlockReason::ChannelNotSupported)
        }
    }
}

/// Time since the customer's last message, never negative (a future timestamp counts as `now`).
fn time_since_inbound(ctx: &SendContext) -> Result<Duration, BlockReason> {
    let last = ctx.last_inbound_at.ok_or(BlockReason::NeverContacted)?;
    Ok((ctx.now - last).max(Duration::zero()))
}

#[cfg(test)]
mod state_tests {
    use super::DeliveryStatus as D;
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for d in D::ALL {
            assert_eq!(D::parse(d.as_str()), Ok(d));
        }
        for k in SenderKind::ALL {
            assert_eq!(SenderKind::parse(k.as_str()), Ok(k));
        }
        for m in MessageDirection::ALL {
            assert_eq!(MessageDirection::parse(m.as_str()), Ok(m));
        }
        assert!(D::parse("sent").is_err());
        assert!(SenderKind::parse("CUSTOMER").is_err());
    }

    #[test]
    fn delivery_status_never_moves_backwards() {
        // (report, current, replaces?)
        let table = [
            (D::Sent, D::Pending, true),
            (D::Delivered, D::Sent, true),
            (D::Read, D::Delivered, true),
            (D::Read, D::Pending, true),
            (D::Sent, D::Read, false),
            (D::Sent, D::Delivered, false),
            (D::Delivered, D::Read, false),
            (D::Read, D::Read, false),
            (D::Failed, D::Pending, true),
            (D::Failed, D::Sent, true),
            (D::Failed, D::Delivered, false),
            (D::Failed, D::Read, false),
            (D::Failed, D::Failed, false),
            (D::Delivered, D::Failed, true),
            (D::Read, D::Failed, true),
            (D::Sent, D::Failed, false),
            (D::Sent, D::Blocked, false),
            (D::Read, D::Received, false),
            (D::Failed, D::Blocked, false),
        ];
        for (report, current, replaces) in table {
            assert_eq!(
                report.supersedes(current),
                replaces,
                "{report} over {current}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        // 2023-11-14T22:13:20Z, a fixed instant so every case is reproducible.
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(1_700_000_000)
    }

    fn ctx(channel: Channel, sender: Sender, ago: Option<Duration>) -> SendContext {
        SendContext {
            channel,
            sender,
            now: now(),
            last_inbound_at: ago.map(|d| now() - d),
            sent_in_last_day: 0,
            whatsapp_template: None,
            opted_out: false,
        }
    }

    fn hours(h: i64) -> Option<Duration> {
        Some(Duration::hours(h))
    }

    fn just_under(d: Duration) -> Option<Duration> {
        Some(d - Duration::nanoseconds(1))
    }

    const META: [Channel; 3] = [Channel::Whatsapp, Channel::Instagram, Channel::Facebook];
    const SENDERS: [Sender; 2] = [Sender::Ai, Sender::Agent];

    #[test]
    fn the_windows_have_the_documented_lengths() {
        assert_eq!(FREE_FORM_WINDOW, Duration::seconds(24 * 3600));
        assert_eq!(HUMAN_AGENT_WINDOW, Duration::seconds(7 * 24 * 3600));
        assert_eq!(TIKTOK_DAILY_LIMIT, 10);
    }

    #[test]
    fn meta_channels_reply_free_form_inside_24_hours_for_anyone() {
        for channel in META {
            for sender in SENDERS {
                for ago in [
                    Some(Duration::zero()),
                    hours(1),
                    hours(23),
                    just_under(FREE_FORM_WINDOW),
                ] {
                    assert_eq!(
                        decide_send(&ctx(channel, sender, ago)),
                        Ok(SendMode::FreeForm),
                        "{channel} {sender:?} {ago:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn exactly_24_hours_after_the_last_message_the_window_is_closed() {
        for sender in SENDERS {
            assert_eq!(
                decide_send(&ctx(Channel::Whatsapp, sender, Some(FREE_FORM_WINDOW))),
                Err(BlockReason::WindowClosedNoTemplate)
            );
            assert_eq!(
                decide_send(&ctx(Channel::Tiktok, sender, Some(FREE_FORM_WINDOW))),
                Err(BlockReason::TikTokWindowClosed)
            );
        }
        for channel in [Channel::Instagram, Channel::Facebook] {
            assert_eq!(
                decide_send(&ctx(channel, Sender::Agent, Some(FREE_FORM_WINDOW))),
                Ok(SendMode::HumanAgentTag)
            );
            assert_eq!(
                decide_send(&ctx(channel, Sender::Ai, Some(FREE_FORM_WINDOW))),
                Err(BlockReason::AutomatedOutsideWindow)
            );
        }
    }

    #[test]
    fn whatsapp_outside_the_window_sends_the_template_for_ai_and_agents() {
        for sender in SENDERS {
            for ago in [Some(FREE_FORM_WINDOW), hours(48), Some(Duration::days(365))] {
                let mut c = ctx(Channel::Whatsapp, sender, ago);
                c.whatsapp_template = Some("order_update".into());
                assert_eq!(
                    decide_send(&c),
                    Ok(SendMode::WhatsAppTemplate {
                        name: "order_update".into()
                    }),
                    "{sender:?} {ago:?}"
                );
            }
        }
    }

    #[test]
    fn whatsapp_inside_the_window_ignores_the_template() {
        let mut c = ctx(Channel::Whatsapp, Sender::Ai, hours(2));
        c.whatsapp_template = Some("order_update".into());
        assert_eq!(decide_send(&c), Ok(SendMode::FreeForm));
    }

    #[test]
    fn whatsapp_outside_the_window_without_a_template_is_blocked() {
        for template in [None, Some(String::new()), Some("   ".to_owned())] {
            let mut c = ctx(Channel::Whatsapp, Sender::Agent, hours(25));
            c.whatsapp_template = template.clone();
            assert_eq!(
                decide_send(&c),
                Err(BlockReason::WindowClosedNoTemplate),
                "{template:?}"
            );
        }
    }

    #[test]
    fn meta_agents_use_the_human_agent_tag_until_7_days() {
        for channel in [Channel::Instagram, Channel::Facebook] {
            for ago in [
                hours(25),
                Some(Duration::days(3)),
                just_under(HUMAN_AGENT_WINDOW),
            ] {
                assert_eq!(
                    decide_send(&ctx(channel, Sender::Agent, ago)),
                    Ok(SendMode::HumanAgentTag),
                    "{channel} {ago:?}"
                );
            }
            for ago in [
                Some(HUMAN_AGENT_WINDOW),
                Some(HUMAN_AGENT_WINDOW + Duration::nanoseconds(1)),
                Some(Duration::days(30)),
            ] {
                assert_eq!(
                    decide_send(&ctx(channel, Sender::Agent, ago)),
                    Err(BlockReason::HumanAgentWindowClosed),
                    "{channel} {ago:?}"
                );
            }
        }
    }

    #[test]
    fn the_ai_never_uses_the_human_agent_tag() {
        for channel in [Channel::Instagram, Channel::Facebook] {
            for ago in [
                Some(FREE_FORM_WINDOW),
                Some(Duration::days(3)),
                Some(HUMAN_AGENT_WINDOW),
                Some(Duration::days(30)),
            ] {
                assert_eq!(
                    decide_send(&ctx(channel, Sender::Ai, ago)),
                    Err(BlockReason::AutomatedOutsideWindow),
                    "{channel} {ago:?}"
                );
            }
        }
    }

    #[test]
    fn instagram_and_facebook_ignore_a_whatsapp_template() {
        let mut c = ctx(Channel::Instagram, Sender::Ai, hours(30));
        c.whatsapp_template = Some("order_update".into());
        assert_eq!(decide_send(&c), Err(BlockReason::AutomatedOutsideWindow));
    }

    #[test]
    fn tiktok_allows_nine_sent_and_stops_at_ten() {
        for sender in SENDERS {
            for (sent, expected) in [
                (0, Ok(SendMode::FreeForm)),
                (9, Ok(SendMode::FreeForm)),
                (10, Err(BlockReason::TikTokDailyLimit { limit: 10 })),
                (11, Err(BlockReason::TikTokDailyLimit { limit: 10 })),
                (u32::MAX, Err(BlockReason::TikTokDailyLimit { limit: 10 })),
            ] {
                let mut c = ctx(Channel::Tiktok, sender, hours(1));
                c.sent_in_last_day = sent;
                assert_eq!(decide_send(&c), expected, "{sender:?} sent {sent}");
            }
        }
    }

    #[test]
    fn tiktok_window_closed_wins_over_the_daily_limit() {
        for sent in [0, 9, 10] {
            let mut c = ctx(Channel::Tiktok, Sender::Agent, hours(25));
            c.sent_in_last_day = sent;
            assert_eq!(decide_send(&c), Err(BlockReason::TikTokWindowClosed));
        }
        let c = ctx(Channel::Tiktok, Sender::Ai, just_under(FREE_FORM_WINDOW));
        assert_eq!(decide_send(&c), Ok(SendMode::FreeForm));
    }

    #[test]
    fn tiktok_has_no_human_agent_exception() {
        let c = ctx(Channel::Tiktok, Sender::Agent, Some(Duration::days(2)));
        assert_eq!(decide_send(&c), Err(BlockReason::TikTokWindowClosed));
    }

    #[test]
    fn the_sent_count_only_matters_on_tiktok() {
        for channel in META {
            let mut c = ctx(channel, Sender::Ai, hours(1));
            c.sent_in_last_day = 500;
            assert_eq!(decide_send(&c), Ok(SendMode::FreeForm), "{channel}");
        }
    }

    #[test]
    fn a_customer_who_never_wrote_cannot_be_messaged_first() {
        for channel in [
            Channel::Whatsapp,
            Channel::Instagram,
            Channel::Facebook,
            Channel::Tiktok,
        ] {
            for sender in SENDERS {
                let mut c = ctx(channel, sender, None);
                c.whatsapp_template = Some("order_update".into());
                assert_eq!(
                    decide_send(&c),
                    Err(BlockReason::NeverContacted),
                    "{channel} {sender:?}"
                );
            }
        }
    }

    #[test]
    fn web_chat_is_always_free_form() {
        for sender in SENDERS {
            for ago in [None, hours(1), Some(Duration::days(400)), hours(-5)] {
                let mut c = ctx(Channel::WebChat, sender, ago);
                c.sent_in_last_day = 1000;
                assert_eq!(
                    decide_send(&c),
                    Ok(SendMode::FreeForm),
                    "{sender:?} {ago:?}"
                );
            }
        }
    }

    #[test]
    fn voice_and_live_channels_are_not_supported() {
        for channel in [Channel::Youtube, Channel::Twitch, Channel::Livekit] {
            for sender in SENDERS {
                for ago in [None, hours(1)] {
                    assert_eq!(
                        decide_send(&ctx(channel, sender, ago)),
                        Err(BlockReason::ChannelNotSupported),
                        "{channel} {sender:?} {ago:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_channel_has_a_decision() {
        // Pins the table: which channels can ever send free-form from the inbox.
        for channel in Channel::ALL {
            let sendable = decide_send(&ctx(channel, Sender::Agent, hours(1))).is_ok();
            let expected = matches!(
                channel,
                Channel::Whatsapp
                    | Channel::Instagram
                    | Channel::Facebook
                    | Channel::Tiktok
                    | Channel::WebChat
                    | Channel::Twilio
            );
            assert_eq!(sendable, expected, "{channel}");
        }
    }

    #[test]
    fn sms_answers_anyone_who_texted_at_any_age_unless_the_number_opted_out() {
        for sender in SENDERS {
            for ago in [hours(0), hours(1), Some(Duration::days(90)), hours(-2)] {
                let mut c = ctx(Channel::Twilio, sender, ago);
                assert_eq!(
                    decide_send(&c),
                    Ok(SendMode::FreeForm),
                    "{sender:?} {ago:?}"
                );
                c.opted_out = true;
                assert_eq!(
                    decide_send(&c),
                    Err(BlockReason::OptedOut),
                    "{sender:?} {ago:?}"
                );
            }
            let mut never = ctx(Channel::Twilio, sender, None);
            assert_eq!(decide_send(&never), Err(BlockReason::NeverContacted));
            never.opted_out = true;
            assert_eq!(decide_send(&never), Err(BlockReason::OptedOut));
        }
        // The opt-out is an SMS matter: other channels ignore it.
        let mut whatsapp = ctx(Channel::Whatsapp, Sender::Agent, hours(1));
        whatsapp.opted_out = true;
        assert_eq!(decide_send(&whatsapp), Ok(SendMode::FreeForm));
    }

    #[test]
    fn a_last_message_in_the_future_counts_as_now() {
        for ago in [
            Duration::seconds(-1),
            Duration::hours(-30),
            Duration::days(-10),
        ] {
            for channel in META {
                assert_eq!(
                    decide_send(&ctx(channel, Sender::Ai, Some(ago))),
                    Ok(SendMode::FreeForm),
                    "{channel} {ago:?}"
                );
            }
            let mut c = ctx(Channel::Tiktok, Sender::Ai, Some(ago));
            assert_eq!(decide_send(&c), Ok(SendMode::FreeForm));
            c.sent_in_last_day = 10;
            assert_eq!(
                decide_send(&c),
                Err(BlockReason::TikTokDailyLimit { limit: 10 })
            );
        }
    }

    #[test]
    fn extreme_timestamps_do_not_panic() {
        for last in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            for now in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                for channel in Channel::ALL {
                    let c = SendContext {
                        channel,
                        sender: Sender::Agent,
                        now,
                        last_inbound_at: Some(last),
                        sent_in_last_day: 0,
                        whatsapp_template: None,
                        opted_out: false,
                    };
                    let _ = decide_send(&c);
                }
            }
        }
    }

    #[test]
    fn block_reasons_have_stable_codes_and_readable_sentences() {
        let all = [
            (
                BlockReason::NeverContacted,
                "NEVER_CONTACTED",
                "never written",
            ),
            (
                BlockReason::WindowClosedNoTemplate,
                "WINDOW_CLOSED_NO_TEMPLATE",
                "template",
            ),
            (
                BlockReason::HumanAgentWindowClosed,
                "HUMAN_AGENT_WINDOW_CLOSED",
                "7 days",
            ),
            (
                BlockReason::AutomatedOutsideWindow,
                "AUTOMATED_OUTSIDE_WINDOW",
                "human agent",
            ),
            (
                BlockReason::TikTokWindowClosed,
                "TIKTOK_WINDOW_CLOSED",
                "24 hours",
            ),
            (
                BlockReason::TikTokDailyLimit { limit: 10 },
                "TIKTOK_DAILY_LIMIT",
                "at most 10 messages",
            ),
            (
                BlockReason::ChannelNotSupported,
                "CHANNEL_NOT_SUPPORTED",
                "does not support",
            ),
            (BlockReason::OptedOut, "OPTED_OUT", "texted STOP"),
        ];
        for (reason, code, phrase) in all {
            assert_eq!(reason.code(), code);
            assert!(code.chars().all(|c| c.is_ascii_uppercase() || c == '_'));
            let text = reason.to_string();
            assert!(text.contains(phrase), "{code}: {text}");
            assert!(text.ends_with('.'), "{code}: {text}");
        }
    }
}
