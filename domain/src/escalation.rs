//! When the AI must hand a conversation to a person, and how urgent the resulting ticket is
//! (ARCHITECTURE.md §4: "Escalate to a human on: explicit request, escalation keyword, negative
//! sentiment with an unresolved issue, N messages without resolution, several open tickets").
//!
//! Owns: the escalation triggers, their order, the thresholds, the tenant-keyword match and the
//! ticket priority. Must not: create the ticket, set the conversation WAITING, notify agents or
//! stop AI replies — the application service does those with the [`Escalation`] returned here.
//!
//! The checks run in a fixed order and the first that fires is the reason, so an agent always
//! sees the most specific cause: what the customer *said* (a request, a keyword) before what we
//! *inferred* (sentiment) before bookkeeping (tickets, turn count).

use crate::analysis::{Analysis, Signal};
use crate::DomainError;

/// Sentiment at or below which an unresolved conversation goes to a person (-1..=1 scale).
pub const NEGATIVE_SENTIMENT_THRESHOLD: f32 = -0.5;

/// Open tickets of the lead from which the conversation goes to a person: two unresolved issues
/// at once mean the AI is not coping.
pub const OPEN_TICKETS_THRESHOLD: u32 = 2;

/// Sentiment at or below which the ticket is URGENT whatever the reason: the customer is
/// furious, and every minute costs the sale and the review.
pub const URGENT_SENTIMENT_THRESHOLD: f32 = -0.8;

/// Why the conversation was handed to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationReason {
    /// The customer asked for a person (`Analysis::wants_human`).
    ExplicitRequest,
    /// The message contains one of the tenant's escalation keywords.
    Keyword,
    /// The customer is upset and the issue is not resolved.
    NegativeSentiment,
    /// The AI has answered `auto_escalate_after_messages` times without resolving the issue.
    TooManyTurns,
    /// The lead already has [`OPEN_TICKETS_THRESHOLD`] or more open tickets.
    SeveralOpenTickets,
}

impl EscalationReason {
    /// Every reason, in the order the checks run.
    pub const ALL: [EscalationReason; 5] = [
        EscalationReason::ExplicitRequest,
        EscalationReason::Keyword,
        EscalationReason::NegativeSentiment,
        EscalationReason::SeveralOpenTickets,
        EscalationReason::TooManyTurns,
    ];

    /// The stable stored name (e.g. `"EXPLICIT_REQUEST"`).
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::ExplicitRequest => "EXPLICIT_REQUEST",
            EscalationReason::Keyword => "KEYWORD",
            EscalationReason::NegativeSentiment => "NEGATIVE_SENTIMENT",
            EscalationReason::TooManyTurns => "TOO_MANY_TURNS",
            EscalationReason::SeveralOpenTickets => "SEVERAL_OPEN_TICKETS",
        }
    }
}

/// How soon a person must look at a ticket; ordered, so `Urgent > High > Medium > Low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TicketPriority {
    /// Whenever convenient.
    Low,
    /// The normal queue.
    Medium,
    /// Before the normal queue.
    High,
    /// Now.
    Urgent,
}

impl TicketPriority {
    /// Every priority, lowest first.
    pub const ALL: [TicketPriority; 4] = [
        TicketPriority::Low,
        TicketPriority::Medium,
        TicketPriority::High,
        TicketPriority::Urgent,
    ];

    /// The stable stored name (`"LOW"`, `"MEDIUM"`, `"HIGH"`, `"URGENT"`).
    pub fn as_str(self) -> &'static str {
        match self {
            TicketPriority::Low => "LOW",
            TicketPriority::Medium => "MEDIUM",
            TicketPriority::High => "HIGH",
            TicketPriority::Urgent => "URGENT",
        }
    }

    /// Parses the stored name (case-insensitive, surrounding spaces ignored).
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let wanted = value.trim().to_ascii_uppercase();
        TicketPriority::ALL
            .into_iter()
            .find(|p| p.as_str() == wanted)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "ticket priority",
                value: value.to_owned(),
            })
    }
}

/// What the escalation check looks at for one inbound message.
#[derive(Debug, Clone, Copy)]
pub struct EscalationInput<'a> {
    /// The customer's message, as received.
    pub message: &'a str,
    /// The analysis of that message.
    pub analysis: &'a Analysis,
    /// The tenant's escalation keywords (`AiSettings::escalation_keywords`).
    pub escalation_keywords: &'a [String],
    /// AI replies already given in this conversation.
    pub ai_turns: u32,
    /// Hand over after this many AI replies (`AiSettings::auto_escalate_after_messages`); `None`
    /// or `Some(0)` turns the count off.
    pub auto_escalate_after_messages: Option<u32>,
    /// Open tickets of this lead.
    pub open_tickets: u32,
    /// Whether the customer's issue is still unresolved (the conversation is not RESOLVED).
    pub unresolved: bool,
}

/// The decision to hand over: why, how urgently, and the keyword that fired if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The first check that fired.
    pub reason: EscalationReason,
    /// The priority of the ticket to open.
    pub priority: TicketPriority,
    /// The keyword that matched, if any: the tenant's keyword as configured (not the message's
    /// spelling). Filled for [`EscalationReason::Keyword`], and also for an explicit request when
    /// a keyword is present too: the offline analyzer sets `wants_human` for tenant keywords as
    /// well, so this is how the agent still learns which keyword it was.
    pub keyword: Option<String>,
}

/// Decides whether a person must take over, checking in this order and stopping at the first hit:
///
/// 1. explicit request — `analysis.wants_human`;
/// 2. keyword — a tenant keyword occurs in the message as whole words (see below);
/// 3. negative sentiment — `sentiment <= NEGATIVE_SENTIMENT_THRESHOLD` and `unresolved`: an
///    upset customer whose issue is closed needs no ticket;
/// 4. several open tickets — `open_tickets >= OPEN_TICKETS_THRESHOLD`;
/// 5. too many turns — `ai_turns >= N` for `auto_escalate_after_messages = Some(N)`, `N > 0`, and
///    `unresolved` (§4 says "N messages *without resolution*"; `Some(0)` means "off", not "always",
///    because escalating every message would make the AI useless, which no tenant means).
///
/// Open tickets come before the turn count because they are the stronger evidence: they are
/// issues the lead already raised, while the count only says the chat is long.
///
/// Keyword match: case-insensitive (Unicode lower case), accents folded like the offline
/// analyzer does (`Garantía` finds `garantia`, also written with a combining accent), and on
/// whole words: the message and the keyword are split into words (runs of letters and digits;
/// each emoji is a word of its own), and the keyword's words must appear consecutively. So
/// `refund` finds `Refund!` and `¿refund?` but not `refunded` or `prefund`, and `cancel my order`
/// finds `Cancel my ORDER.` but not `cancel my orders`. Whole words, because tenants write short
/// keywords (`sue`, `cancel`) whose prefixes and infixes are innocent words (`suede`, `suet`);
/// a tenant who wants `refunded` too adds it. (The offline analyzer's own keyword cue also takes
/// longer forms of long words; when it fires, `wants_human` is set and the escalation is an
/// explicit request carrying no keyword.) Scripts written without spaces (Chinese, Japanese)
/// form one word per run, so a keyword there must be the whole run. Blank keywords never match.
/// The first keyword of the tenant's list that matches is reported.
///
/// A NaN or infinite sentiment is treated as neutral (0) and a finite one is clamped to -1..=1,
/// so a bad provider value can neither trigger nor suppress an escalation.
pub fn check_escalation(input: &EscalationInput) -> Option<Escalation> {
    let sentiment = sane_sentiment(input.analysis.sentiment);
    let keyword = matching_keyword(input.message, input.escalation_keywords);
    let reason = if input.analysis.wants_human {
        EscalationReason::ExplicitRequest
    } else if keyword.is_some() {
        EscalationReason::Keyword
    } else if sentiment <= NEGATIVE_SENTIMENT_THRESHOLD && input.unresolved {
        EscalationReason::NegativeSentiment
    } else if input.open_tickets >= OPEN_TICKETS_THRESHOLD {
        EscalationReason::SeveralOpenTickets
    } else if input.unresolved
        && input
            .auto_escalate_after_messages
            .is_some_and(|n| n > 0 && input.ai_turns >= n)
    {
        EscalationReason::TooManyTurns
    } else {
        return None;
    };
    let urgent_signal = input
        .analysis
        .signals
        .iter()
        .any(|hit| hit.signal == Signal::Urgent);
    Some(Escalation {
        reason,
        priority: priority(reason, sentiment, urgent_signal),
        keyword: keyword.map(str::to_owned),
    })
}

/// The ticket priority, first rule that applies:
///
/// * URGENT when `sentiment <= URGENT_SENTIMENT_THRESHOLD` or the analysis found
///   [`Signal::Urgent`] (`today`, `asap`, `urgente`, ...), whatever the reason. Urgency of the
///   words comes through that signal: the analyzer already detects it with negation and evidence,
///   while a tenant keyword only says "a person must see this", not "now".
/// * HIGH when the customer is upset (`sentiment <= NEGATIVE_SENTIMENT_THRESHOLD`, whatever the
///   reason), or asked for a person while mildly negative (`sentiment < 0`): an annoyed customer
///   who asked and is left waiting is the one most likely to leave.
/// * LOW for too many turns with neutral or positive sentiment: a long but friendly chat can wait.
/// * MEDIUM otherwise (a calm explicit request, a keyword, several open tickets, a long chat
///   with mildly negative sentiment).
fn priority(reason: EscalationReason, sentiment: f32, urgent_signal: bool) -> TicketPriority {
    if sentiment <= URGENT_SENTIMENT_THRESHOLD || urgent_signal {
        TicketPriority::Urgent
    } else if sentiment <= NEGATIVE_SENTIMENT_THRESHOLD
        || (reason == EscalationReason::ExplicitRequest && sentiment < 0.0)
    {
        TicketPriority::High
    } else if reason == EscalationReason::TooManyTurns && sentiment >= 0.0 {
        TicketPriority::Low
    } else {
        TicketPriority::Medium
    }
}

fn sane_sentiment(sentiment: f32) -> f32 {
    if sentiment.is_finite() {
        sentiment.clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// The first keyword whose words occur consecutively among the message's words.
fn matching_keyword<'k>(message: &str, keywords: &'k [String]) -> Option<&'k str> {
    let message_words = words(message);
    keywords.iter().map(String::as_str).find(|keyword| {
        let wanted = words(keyword);
        !wanted.is_empty()
            && message_words
                .windows(wanted.len())
                .any(|w| w == wanted.as_slice())
    })
}

/// Splits text into normalised words: maximal runs of letters/digits, lower-cased, accents
/// folded and combining marks dropped; each emoji (or other pictograph) is a word by itself.
/// Everything else (spaces, punctuation, `¿`, `¡`, apostrophes) separates words.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if is_combining_mark(c) || is_emoji_modifier(c) {
            // Part of the previous letter or emoji; `e` + U+0301 is `é`, which folds to `e`.
            continue;
        }
        if c.is_alphanumeric() {
            for lower in c.to_lowercase() {
                if !is_combining_mark(lower) {
                    current.push(crate::analysis::text_norm::fold_letter(lower));
                }
            }
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        if is_pictograph(c) {
            out.push(c.to_string());
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F)
}

/// Variation selectors, zero-width joiner, skin tones and the keycap mark: they decorate the
/// emoji before them, so `👍🏽` is the word `👍`.
fn is_emoji_modifier(c: char) -> bool {
    matches!(
        c as u32,
        0xFE0E | 0xFE0F | 0x200D | 0x1F3FB..=0x1F3FF | 0x20E3
    )
}

fn is_pictograph(c: char) -> bool {
    matches!(
        c as u32,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Intent, Language, Provider, SignalHit};

    fn analysis(sentiment: f32, wants_human: bool, signals: &[Signal]) -> Analysis {
        Analysis {
            intent: Intent::GeneralQuestion,
            confidence: 0.9,
            signals: signals
                .iter()
                .map(|&signal| SignalHit {
                    signal,
                    evidence: String::new(),
                    start: 0,
                    end: 0,
                })
                .collect(),
            sentiment,
            wants_human,
            matched_product: None,
            language: Language::English,
            provider: Provider::Offline,
        }
    }

    fn kw(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// A neutral input that escalates on nothing; tests change one field at a time.
    fn input<'a>(
        message: &'a str,
        analysis: &'a Analysis,
        keywords: &'a [String],
    ) -> EscalationInput<'a> {
        EscalationInput {
            message,
            analysis,
            escalation_keywords: keywords,
            ai_turns: 0,
            auto_escalate_after_messages: None,
            open_tickets: 0,
            unresolved: true,
        }
    }

    fn reason(input: &EscalationInput) -> Option<EscalationReason> {
        check_escalation(input).map(|e| e.reason)
    }

    #[test]
    fn a_calm_ordinary_message_does_not_escalate() {
        let a = analysis(0.2, false, &[Signal::Interested]);
        let keywords = kw(&["refund"]);
        assert_eq!(
            check_escalation(&input("how much is the hoodie?", &a, &keywords)),
            None
        );
    }

    #[test]
    fn an_explicit_request_escalates() {
        let a = analysis(0.0, true, &[]);
        assert_eq!(
            check_escalation(&input("can I talk to a person", &a, &[])),
            Some(Escalation {
                reason: EscalationReason::ExplicitRequest,
                priority: TicketPriority::Medium,
                keyword: None,
            })
        );
    }

    #[test]
    fn an_explicit_request_comes_first_and_still_names_the_keyword() {
        let a = analysis(-0.9, true, &[]);
        let keywords = kw(&["refund"]);
        let mut i = input("human please, I want a refund", &a, &keywords);
        i.open_tickets = 5;
        i.ai_turns = 10;
        i.auto_escalate_after_messages = Some(3);
        assert_eq!(
            check_escalation(&i),
            Some(Escalation {
                reason: EscalationReason::ExplicitRequest,
                priority: TicketPriority::Urgent,
                keyword: Some("refund".into()),
            })
        );
    }

    #[test]
    fn a_keyword_escalates_and_is_reported_as_configured() {
        let a = analysis(0.1, false, &[]);
        let keywords = kw(&["lawyer", "Refund"]);
        assert_eq!(
            check_escalation(&input("I want a REFUND!", &a, &keywords)),
            Some(Escalation {
                reason: EscalationReason::Keyword,
                priority: TicketPriority::Medium,
                keyword: Some("Refund".into()),
            })
        );
    }

    #[test]
    fn the_first_matching_keyword_of_the_list_is_reported() {
        let a = analysis(0.0, false, &[]);
        let keywords = kw(&["cancel", "refund"]);
        let e = check_escalation(&input("refund or cancel, I don't care", &a, &keywords));
        assert_eq!(e.and_then(|e| e.keyword), Some("cancel".into()));
    }

    #[test]
    fn keywords_match_whole_words_case_insensitively() {
        let keywords = kw(&["refund"]);
        for (message, hit) in [
            ("refund", true),
            ("Refund!", true),
            ("I want my REFUND now", true),
            ("¿refund?", true),
            ("refund.", true),
            ("(refund)", true),
            ("\"refund\"", true),
            ("refund\nplease", true),
            ("refunded", false),
            ("prefund", false),
            ("refunds", false),
            ("re fund", false),
            ("re-fund", false),
            ("", false),
        ] {
            assert_eq!(
                matching_keyword(message, &keywords).is_some(),
                hit,
                "{message:?}"
            );
        }
    }

    #[test]
    fn phrase_keywords_need_their_words_in_order() {
        let keywords = kw(&["cancel my order"]);
        for (message, hit) in [
            ("Please CANCEL my order.", true),
            ("cancel   my\torder", true),
            ("cancel, my order", true),
            ("cancel my orders", false),
            ("my order cancel", false),
            ("cancel my previous order", false),
            ("cancel my", false),
        ] {
            assert_eq!(
                matching_keyword(message, &keywords).is_some(),
                hit,
                "{message:?}"
            );
        }
    }

    #[test]
    fn keywords_are_unicode_aware() {
        for (keyword, message, hit) in [
            ("Garantía", "esto tiene garantia?", true),
            ("garantia", "¿Tiene GARANTÍA?", true),
            ("garantía", "garanti\u{301}a por favor", true),
            ("reembolso", "QUIERO UN REEMBOLSO", true),
            ("reembolso", "reembolsos", false),
            ("niño", "para un NIÑO", true),
            ("Straße", "STRASSE", false),
            ("ñ", "año", false),
            ("😡", "so angry 😡😡", true),
            ("👍", "ok 👍🏽", true),
            ("😡", "so angry", false),
            ("İstanbul", "istanbul", true),
            ("возврат", "Хочу ВОЗВРАТ!", true),
            ("返金", "返金してください", false),
            ("返金", "返金 してください", true),
        ] {
            let keywords = kw(&[keyword]);
            assert_eq!(
                matching_keyword(message, &keywords).is_some(),
                hit,
                "{keyword:?} in {message:?}"
            );
        }
    }

    #[test]
    fn blank_keywords_never_match() {
        let keywords = kw(&["", "   ", "!!", "¿?"]);
        for message in ["", "anything at all", "!!", "¿?"] {
            assert_eq!(matching_keyword(message, &keywords), None, "{message:?}");
        }
    }

    #[test]
    fn negative_sentiment_escalates_only_while_unresolved() {
        for (sentiment, unresolved, expected) in [
            (-0.5, true, Some(EscalationReason::NegativeSentiment)),
            (-0.7, true, Some(EscalationReason::NegativeSentiment)),
            (-1.0, true, Some(EscalationReason::NegativeSentiment)),
            (-0.49, true, None),
            (0.0, true, None),
            (-0.5, false, None),
            (-1.0, false, None),
        ] {
            let a = analysis(sentiment, false, &[]);
            let mut i = input("this is bad", &a, &[]);
            i.unresolved = unresolved;
            assert_eq!(reason(&i), expected, "{sentiment} {unresolved}");
        }
    }

    #[test]
    fn a_keyword_comes_before_negative_sentiment() {
        let a = analysis(-0.6, false, &[]);
        let keywords = kw(&["refund"]);
        assert_eq!(
            reason(&input("refund now", &a, &keywords)),
            Some(EscalationReason::Keyword)
        );
    }

    #[test]
    fn several_open_tickets_escalate_from_two() {
        for (open, expected) in [
            (0, None),
            (1, None),
            (2, Some(EscalationReason::SeveralOpenTickets)),
            (7, Some(EscalationReason::SeveralOpenTickets)),
        ] {
            let a = analysis(0.3, false, &[]);
            let mut i = input("hello again", &a, &[]);
            i.open_tickets = open;
            assert_eq!(reason(&i), expected, "{open}");
            // Open tickets are unresolved issues in themselves: the conversation flag does not matter.
            i.unresolved = false;
            assert_eq!(reason(&i), expected, "{open} (resolved conversation)");
        }
    }

    #[test]
    fn negative_sentiment_comes_before_open_tickets_and_open_tickets_before_turns() {
        let a = analysis(-0.6, false, &[]);
        let mut i = input("meh", &a, &[]);
        i.open_tickets = 3;
        i.ai_turns = 9;
        i.auto_escalate_after_messages = Some(3);
        assert_eq!(reason(&i), Some(EscalationReason::NegativeSentiment));
        let calm = analysis(0.0, false, &[]);
        i.analysis = &calm;
        assert_eq!(reason(&i), Some(EscalationReason::SeveralOpenTickets));
        i.open_tickets = 1;
        assert_eq!(reason(&i), Some(EscalationReason::TooManyTurns));
    }

    #[test]
    fn too_many_turns_escalates_at_n_ai_replies() {
        for (turns, n, expected) in [
            (0, Some(3), None),
            (2, Some(3), None),
            (3, Some(3), Some(EscalationReason::TooManyTurns)),
            (4, Some(3), Some(EscalationReason::TooManyTurns)),
            (0, Some(1), None),
            (1, Some(1), Some(EscalationReason::TooManyTurns)),
            (
                u32::MAX,
                Some(u32::MAX),
                Some(EscalationReason::TooManyTurns),
            ),
            (100, None, None),
            (0, Some(0), None),
            (100, Some(0), None),
        ] {
            let a = analysis(0.0, false, &[]);
            let mut i = input("ok", &a, &[]);
            i.ai_turns = turns;
            i.auto_escalate_after_messages = n;
            assert_eq!(reason(&i), expected, "{turns} turns, N = {n:?}");
        }
    }

    #[test]
    fn too_many_turns_needs_an_unresolved_issue() {
        let a = analysis(0.0, false, &[]);
        let mut i = input("thanks!", &a, &[]);
        i.ai_turns = 10;
        i.auto_escalate_after_messages = Some(3);
        i.unresolved = false;
        assert_eq!(reason(&i), None);
    }

    #[test]
    fn priority_is_urgent_for_fury_or_an_urgent_signal_whatever_the_reason() {
        let keywords = kw(&["refund"]);
        for (a, message, open, turns) in [
            (analysis(-0.8, true, &[]), "human", 0, 0),
            (analysis(-0.8, false, &[]), "refund", 0, 0),
            (analysis(-0.95, false, &[]), "awful", 0, 0),
            (analysis(0.5, true, &[Signal::Urgent]), "human", 0, 0),
            (
                analysis(0.5, false, &[Signal::Urgent]),
                "refund today",
                0,
                0,
            ),
            (
                analysis(0.0, false, &[Signal::Interested, Signal::Urgent]),
                "hi",
                2,
                0,
            ),
            (analysis(0.9, false, &[Signal::Urgent]), "hi", 0, 5),
        ] {
            let mut i = input(message, &a, &keywords);
            i.open_tickets = open;
            i.ai_turns = turns;
            i.auto_escalate_after_messages = Some(5);
            let e = check_escalation(&i);
            assert_eq!(
                e.map(|e| e.priority),
                Some(TicketPriority::Urgent),
                "{message} {}",
                a.sentiment
            );
        }
    }

    #[test]
    fn priority_table() {
        use EscalationReason as R;
        use TicketPriority as P;
        for (reason, sentiment, expected) in [
            (R::ExplicitRequest, 0.5, P::Medium),
            (R::ExplicitRequest, 0.0, P::Medium),
            (R::ExplicitRequest, -0.01, P::High),
            (R::ExplicitRequest, -0.79, P::High),
            (R::ExplicitRequest, -0.8, P::Urgent),
            (R::Keyword, 0.3, P::Medium),
            (R::Keyword, -0.3, P::Medium),
            (R::Keyword, -0.5, P::High),
            (R::NegativeSentiment, -0.5, P::High),
            (R::NegativeSentiment, -0.79, P::High),
            (R::NegativeSentiment, -0.8, P::Urgent),
            (R::SeveralOpenTickets, 0.5, P::Medium),
            (R::SeveralOpenTickets, -0.2, P::Medium),
            (R::SeveralOpenTickets, -0.6, P::High),
            (R::TooManyTurns, 0.0, P::Low),
            (R::TooManyTurns, 0.7, P::Low),
            (R::TooManyTurns, -0.1, P::Medium),
            (R::TooManyTurns, -0.6, P::High),
            (R::TooManyTurns, -1.0, P::Urgent),
        ] {
            assert_eq!(
                priority(reason, sentiment, false),
                expected,
                "{reason:?} {sentiment}"
            );
        }
    }

    #[test]
    fn priorities_flow_through_check_escalation() {
        let a = analysis(0.2, false, &[]);
        let mut i = input("ok", &a, &[]);
        i.ai_turns = 3;
        i.auto_escalate_after_messages = Some(3);
        assert_eq!(
            check_escalation(&i),
            Some(Escalation {
                reason: EscalationReason::TooManyTurns,
                priority: TicketPriority::Low,
                keyword: None,
            })
        );
        let upset = analysis(-0.6, false, &[]);
        let e = check_escalation(&input("this is not ok", &upset, &[]));
        assert_eq!(
            e.map(|e| (e.reason, e.priority)),
            Some((EscalationReason::NegativeSentiment, TicketPriority::High))
        );
        let annoyed = analysis(-0.2, true, &[]);
        let e = check_escalation(&input("agent", &annoyed, &[]));
        assert_eq!(e.map(|e| e.priority), Some(TicketPriority::High));
    }

    #[test]
    fn broken_sentiment_values_are_neutral_or_clamped() {
        for (sentiment, expected) in [
            (f32::NAN, None),
            (f32::INFINITY, None),
            (f32::NEG_INFINITY, None),
            (
                -7.0,
                Some((EscalationReason::NegativeSentiment, TicketPriority::Urgent)),
            ),
            (7.0, None),
        ] {
            let a = analysis(sentiment, false, &[]);
            let e = check_escalation(&input("hmm", &a, &[]));
            assert_eq!(e.map(|e| (e.reason, e.priority)), expected, "{sentiment}");
        }
        let a = analysis(f32::NAN, false, &[]);
        let mut i = input("hmm", &a, &[]);
        i.ai_turns = 2;
        i.auto_escalate_after_messages = Some(2);
        assert_eq!(
            check_escalation(&i).map(|e| e.priority),
            Some(TicketPriority::Low)
        );
    }

    #[test]
    fn priorities_are_ordered_and_round_trip() {
        assert!(TicketPriority::Urgent > TicketPriority::High);
        assert!(TicketPriority::High > TicketPriority::Medium);
        assert!(TicketPriority::Medium > TicketPriority::Low);
        for p in TicketPriority::ALL {
            assert_eq!(TicketPriority::parse(p.as_str()), Ok(p));
            assert_eq!(TicketPriority::parse(&p.as_str().to_lowercase()), Ok(p));
        }
        assert_eq!(TicketPriority::parse(" high "), Ok(TicketPriority::High));
        assert_eq!(
            TicketPriority::parse("critical"),
            Err(DomainError::UnknownVariant {
                kind: "ticket priority",
                value: "critical".into()
            })
        );
        assert!(TicketPriority::parse("").is_err());
    }

    #[test]
    fn reasons_have_stable_names() {
        let names: Vec<&str> = EscalationReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "EXPLICIT_REQUEST",
                "KEYWORD",
                "NEGATIVE_SENTIMENT",
                "SEVERAL_OPEN_TICKETS",
                "TOO_MANY_TURNS"
            ]
        );
    }

    #[test]
    fn weird_messages_and_keywords_never_panic() {
        let pieces = [
            "",
            " ",
            "\u{0}",
            "\u{301}",
            "e\u{301}",
            "ñ",
            "İ",
            "ß",
            "¿",
            "😀",
            "👍🏽",
            "👨‍👩‍👧",
            "❤️",
            "1️⃣",
            "مرحبا",
            "\u{202e}",
            "a",
            "Z9",
        ];
        let keywords: Vec<String> = pieces.iter().map(|s| (*s).to_owned()).collect();
        let a = analysis(0.0, false, &[]);
        for x in pieces {
            for y in pieces {
                let message = format!("{x}{y} {y}{x}");
                let _ = check_escalation(&input(&message, &a, &keywords));
            }
        }
    }
}
