//! Lead nurture (seed 004 "Lead Nurturing Automation"): the follow-up sequence an AI lead gets
//! while it stays silent — `FOLLOWUP_1` (default one day after enrolment), `FOLLOWUP_2` (three
//! days after enrolment) and `LONG_TERM` (every 30 days after that) — and when it stops.
//!
//! Owns: the stages and their order, the tenant's schedule and its bounds, when each step is
//! due, why a sequence stops, the opt-out words (English and Spanish), and the offline text of
//! a follow-up.
//!
//! Must not: send anything, read the clock or a row: the caller passes `now`, the lead's facts
//! and the schedule, and runs the step.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::Language;
use crate::DomainError;

/// The sequence's name in `nurture_enrollments.sequence` (one sequence per lead today).
pub const SEQUENCE: &str = "DEFAULT";

named_enum! {
    /// Where a lead is in its nurture sequence: the next follow-up it gets.
    pub enum NurtureStage("nurture stage") {
        /// The first follow-up.
        Followup1 => "FOLLOWUP_1",
        /// The second follow-up.
        Followup2 => "FOLLOWUP_2",
        /// The repeating long-term check-in.
        LongTerm => "LONG_TERM",
    }
}

named_enum! {
    /// Whether a nurture sequence still runs.
    pub enum NurtureStatus("nurture status") {
        /// Follow-ups are scheduled.
        Active => "ACTIVE",
        /// No more follow-ups (see the stop reason).
        Stopped => "STOPPED",
    }
}

named_enum! {
    /// Why a nurture sequence stopped.
    pub enum StopReason("nurture stop reason") {
        /// The lead wrote back.
        Replied => "REPLIED",
        /// An appointment was booked with the lead.
        Booked => "BOOKED",
        /// The lead asked not to be contacted ("STOP", "baja").
        OptedOut => "OPTED_OUT",
        /// A member took the lead out of nurture.
        Removed => "REMOVED",
        /// The lead has no channel a follow-up can go out on.
        Unreachable => "UNREACHABLE",
        /// The lead was given to a person (`assignLead` to HUMAN), who follows it up instead.
        AssignedToHuman => "ASSIGNED_TO_HUMAN",
    }
}

named_enum! {
    /// Where a follow-up goes out.
    pub enum NurtureChannel("nurture channel") {
        /// The lead's WhatsApp conversation (a template outside the 24 h window).
        Whatsapp => "WHATSAPP",
        /// A text message to the lead's phone.
        Sms => "SMS",
        /// An e-mail to the lead's address.
        Email => "EMAIL",
    }
}

/// How a lead can be reached for a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reach {
    /// The lead has written on WhatsApp and the conversation is open.
    pub whatsapp: bool,
    /// The lead has a phone number and this deployment can send SMS.
    pub sms: bool,
    /// The lead has an e-mail address.
    pub email: bool,
}

/// The channel a follow-up goes out on: the conversation the lead already has, else a text
/// message, else e-mail; `None` when none is possible.
pub fn pick_channel(reach: Reach) -> Option<NurtureChannel> {
    if reach.whatsapp {
        Some(NurtureChannel::Whatsapp)
    } else if reach.sms {
        Some(NurtureChannel::Sms)
    } else if reach.email {
        Some(NurtureChannel::Email)
    } else {
        None
    }
}

/// A tenant's nurture schedule. Stored as JSON on the tenant; absent: [`NurtureSchedule::default`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NurtureSchedule {
    /// Hours after enrolment of the first follow-up.
    pub followup1_hours: u32,
    /// Hours after enrolment of the second follow-up (after the first).
    pub followup2_hours: u32,
    /// Days between long-term check-ins.
    pub long_term_days: u32,
    /// Whether new AI leads are enrolled.
    pub enabled: bool,
}

impl Default for NurtureSchedule {
    /// One day, three days, every 30 days; off until the dealership turns it on (it messages
    /// leads on the tenant's channels, which a tenant must choose to do).
    fn default() -> Self {
        NurtureSchedule {
            followup1_hours: 24,
            followup2_hours: 72,
            long_term_days: 30,
            enabled: false,
        }
    }
}

/// Longest wait before the first follow-up (30 days).
pub const MAX_FOLLOWUP1_HOURS: u32 = 720;
/// Longest wait before the second follow-up (90 days).
pub const MAX_FOLLOWUP2_HOURS: u32 = 2_160;
/// Longest wait between long-term check-ins.
pub const MAX_LONG_TERM_DAYS: u32 = 365;

impl NurtureSchedule {
    /// A schedule, checked: the first follow-up within 1..=720 h, the second after it and within
    /// 2,160 h, long-term check-ins every 1..=365 days.
    pub fn new(
        followup1_hours: i64,
        followup2_hours: i64,
        long_term_days: i64,
        enabled: bool,
    ) -> Result<Self, DomainError> {
        let within = |field: &'static str, value: i64, min: i64, max: u32| {
            if value < min || value > i64::from(max) {
                Err(DomainError::OutOfRange {
                    field,
                    message: format!("must be between {min} and {max}, got {value}"),
                })
            } else {
                Ok(value as u32)
            }
        };
        let followup1_hours = within("followup1Hours", followup1_hours, 1, MAX_FOLLOWUP1_HOURS)?;
        let followup2_hours = within(
            "followup2Hours",
            followup2_hours,
            i64::from(followup1_hours) + 1,
            MAX_FOLLOWUP2_HOURS,
        )?;
        let long_term_days = within("longTermDays", long_term_days, 1, MAX_LONG_TERM_DAYS)?;
        Ok(NurtureSchedule {
            followup1_hours,
            followup2_hours,
            long_term_days,
            enabled,
        })
    }

    /// When the first follow-up of a lead enrolled at `enrolled_at` is due.
    pub fn first_due(&self, enrolled_at: DateTime<Utc>) -> DateTime<Utc> {
        enrolled_at + Duration::hours(i64::from(self.followup1_hours))
    }

    /// The stage after `sent` and when it is due. `FOLLOWUP_2` is due `followup2Hours` after
    /// enrolment but never sooner than the gap between the two follow-ups after the first one
    /// went out (a late first follow-up does not bring the second one forward); `LONG_TERM`
    /// repeats every `longTermDays` after the last follow-up.
    pub fn after(
        &self,
        sent: NurtureStage,
        enrolled_at: DateTime<Utc>,
        sent_at: DateTime<Utc>,
    ) -> (NurtureStage, DateTime<Utc>) {
        match sent {
            NurtureStage::Followup1 => {
                let gap = i64::from(self.followup2_hours.saturating_sub(self.followup1_hours));
                let due = (enrolled_at + Duration::hours(i64::from(self.followup2_hours)))
                    .max(sent_at + Duration::hours(gap));
                (NurtureStage::Followup2, due)
            }
            NurtureStage::Followup2 | NurtureStage::LongTerm => (
                NurtureStage::LongTerm,
                sent_at + Duration::days(i64::from(self.long_term_days)),
            ),
        }
    }
}

/// Words that, as a whole message or its first word, ask us to stop writing: the carriers'
/// standard opt-out keywords and their Spanish counterparts.
const OPT_OUT_WORDS: [&str; 9] = [
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "baja",
    "alto",
    "parar",
];

/// Whole messages that ask the same in more words.
const OPT_OUT_PHRASES: [&str; 6] = [
    "dar de baja",
    "darme de baja",
    "darse de baja",
    "no me escriban",
    "no more messages",
    "opt out",
];

/// Words that only opt out as the whole message ("cancel my appointment" is not an opt-out).
const WHOLE_MESSAGE_ONLY: [&str; 4] = ["cancel", "end", "quit", "alto"];

/// Whether `text` asks us to stop writing ("STOP", "Baja", "unsubscribe please", "dar de baja").
pub fn is_opt_out(text: &str) -> bool {
    let normalized: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c.is_whitespace() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect();
    let words: Vec<&str> = normalized.split_whitespace().collect();
    let Some(first) = words.first() else {
        return false;
    };
    let whole = words.join(" ");
    if OPT_OUT_PHRASES.contains(&whole.as_str()) {
        return true;
    }
    if words.len() == 1 {
        return OPT_OUT_WORDS.contains(first);
    }
    OPT_OUT_WORDS.contains(first) && !WHOLE_MESSAGE_ONLY.contains(first)
}

/// Twilio's standard opt-out keywords for Messaging: a text that is exactly one of them (any
/// case, surrounding spaces ignored) opts its sender out for good.
pub const CARRIER_OPT_OUT_WORDS: [&str; 6] =
    ["STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPALL"];

/// Whether a text message is one of Twilio's opt-out keywords as the whole message ("stop",
/// " QUIT "), which opts the sender out of follow-ups and calls for good. Narrower than
/// [`is_opt_out`]: "stop texting me" ends the follow-ups but is no carrier opt-out.
pub fn is_carrier_opt_out(text: &str) -> bool {
    let text = text.trim();
    CARRIER_OPT_OUT_WORDS
        .iter()
        .any(|word| word.eq_ignore_ascii_case(text))
}

/// What a follow-up may say about the lead and the dealership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpFacts<'a> {
    /// The lead's name.
    pub lead_name: &'a str,
    /// The agent's name (`tenants.agent_name`).
    pub agent_name: Option<&'a str>,
    /// The dealership's name.
    pub business_name: &'a str,
    /// The language the lead writes in.
    pub language: Language,
}

/// Regions (ISO 3166 alpha-2) whose leads are written to in Spanish when they have not written
/// themselves.
const SPANISH_REGIONS: [&str; 20] = [
    "AR", "BO", "CL", "CO", "CR", "CU", "DO", "EC", "ES", "GQ", "GT", "HN", "MX", "NI", "PA", "PE",
    "PR", "PY", "SV", "UY",
];

/// The language to write to a lead in: the one it wrote in, else its number's region's (or the
/// tenant's default region's), else English.
pub fn language_for(written: Option<Language>, region: Option<&str>) -> Language {
    match (written, region) {
        (Some(language), _) => language,
        (None, Some(region)) if SPANISH_REGIONS.contains(&region.to_ascii_uppercase().as_str()) => {
            Language::Spanish
        }
        _ => Language::English,
    }
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or("")
}

/// The offline follow-up for `stage`: short, personal, one question, and how to stop. Names
/// only what it was given (no prices, no stock it cannot know).
pub fn follow_up_text(stage: NurtureStage, facts: &FollowUpFacts<'_>) -> String {
    compose_follow_up(&offline_body(stage, facts), facts)
}

/// The offline writer's body for `stage` (greeting and question; no signature, no opt-out).
fn offline_body(stage: NurtureStage, facts: &FollowUpFacts<'_>) -> String {
    let name = first_name(facts.lead_name);
    let body = match (facts.language, stage) {
        (Language::English, NurtureStage::Followup1) => format!(
            "Hi {name}, thanks for your interest! Do you have any questions I can answer, or \
             would you like to book a visit or a test drive?"
        ),
        (Language::English, NurtureStage::Followup2) => format!(
            "Hi {name}, just checking in. Are you still looking for a vehicle? I'm happy to help \
             you compare options or set up a time to come by."
        ),
        (Language::English, NurtureStage::LongTerm) => format!(
            "Hi {name}, it's been a while! If you're still thinking about your next vehicle, \
             I'd be glad to help whenever you're ready."
        ),
        (Language::Spanish, NurtureStage::Followup1) => format!(
            "Hola {name}, ¡gracias por tu interés! ¿Tienes alguna pregunta o quieres agendar una \
             visita o una prueba de manejo?"
        ),
        (Language::Spanish, NurtureStage::Followup2) => format!(
            "Hola {name}, solo quería saber cómo vas. ¿Sigues buscando vehículo? Con gusto te \
             ayudo a comparar opciones o a agendar una visita."
        ),
        (Language::Spanish, NurtureStage::LongTerm) => format!(
            "Hola {name}, ¡ha pasado un tiempo! Si sigues pensando en tu próximo vehículo, aquí \
             estoy para ayudarte cuando quieras."
        ),
    };
    body.replace(" ,", ",").replace("  ", " ")
}

/// A follow-up as sent: `body`, then the signature (agent and dealership) and how to opt out in
/// the lead's language. Whoever wrote the body (the offline writer or the tenant's LLM), these
/// two are added here, so no follow-up ever goes out without them.
pub fn compose_follow_up(body: &str, facts: &FollowUpFacts<'_>) -> String {
    let business = facts.business_name.trim();
    let signature = match facts.agent_name.map(str::trim).filter(|a| !a.is_empty()) {
        Some(agent) => format!("{agent}, {business}"),
        None => business.to_owned(),
    };
    let stop = match facts.language {
        Language::English => "Reply STOP to opt out.",
        Language::Spanish => "Responde BAJA para no recibir más mensajes.",
    };
    format!("{} — {signature}. {stop}", body.trim())
}

/// Longest body a written follow-up may have, in characters: with the signature and the
/// opt-out it stays within about three SMS segments.
pub const MAX_FOLLOW_UP_BODY_CHARS: usize = 320;

/// Why a follow-up body written by a model is not sent (the offline writer's is sent instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FollowUpRejection {
    /// Nothing but whitespace.
    #[error("the follow-up is empty")]
    Empty,
    /// Over [`MAX_FOLLOW_UP_BODY_CHARS`].
    #[error("the follow-up has {0} characters, more than {MAX_FOLLOW_UP_BODY_CHARS}")]
    TooLong(usize),
    /// A link: the facts hold none, so any link is invented.
    #[error("the follow-up contains a link")]
    Link,
    /// A digit or a currency sign: the facts hold no price, stock, date or number, so any
    /// figure is invented.
    #[error("the follow-up names a figure ({0:?}) it was not given")]
    Figure(String),
    /// Written in another language than the lead's.
    #[error("the follow-up is in {found}, the lead's language is {wanted}")]
    Language {
        /// The lead's language.
        wanted: &'static str,
        /// The language the body reads as.
        found: &'static str,
    },
}

/// Checks a body a model wrote for a follow-up to the lead of `facts`. `written_in` is the
/// language the body reads as (the caller's detector decides; the domain has no IO but also no
/// opinion on detection). A follow-up goes out unprompted, so it may only say what it was
/// given: no link, no figure (price, stock, date), the lead's language, short. Returns the
/// trimmed body.
pub fn check_follow_up_body<'b>(
    body: &'b str,
    facts: &FollowUpFacts<'_>,
    written_in: Language,
) -> Result<&'b str, FollowUpRejection> {
    let body = body.trim();
    if body.is_empty() {
        return Err(FollowUpRejection::Empty);
    }
    let chars = body.chars().count();
    if chars > MAX_FOLLOW_UP_BODY_CHARS {
        return Err(FollowUpRejection::TooLong(chars));
    }
    let lower = body.to_lowercase();
    if [
        "http://", "https://", "www.", ".com", ".mx", ".es", ".net", ".org",
    ]
    .iter()
    .any(|marker| lower.contains(marker))
    {
        return Err(FollowUpRejection::Link);
    }
    if let Some(figure) = body.split_whitespace().find(|word| {
        word.chars()
            .any(|c| c.is_ascii_digit() || "$€£¥".contains(c))
    }) {
        return Err(FollowUpRejection::Figure(figure.to_owned()));
    }
    if written_in != facts.language {
        return Err(FollowUpRejection::Language {
            wanted: facts.language.code(),
            found: written_in.code(),
        });
    }
    Ok(body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn only_twilios_opt_out_words_as_the_whole_text_are_a_carrier_opt_out() {
        for yes in [
            "STOP",
            "stop",
            " Quit ",
            "unsubscribe",
            "CANCEL",
            "end",
            "StopAll",
        ] {
            assert!(is_carrier_opt_out(yes), "{yes}");
            assert!(is_opt_out(yes), "{yes} also ends the follow-ups");
        }
        for no in [
            "stop texting me",
            "cancel my appointment",
            "baja",
            "STOP!",
            "",
            "the end?",
        ] {
            assert!(!is_carrier_opt_out(no), "{no}");
        }
    }

    #[test]
    fn the_default_schedule_is_one_day_three_days_then_monthly() {
        let schedule = NurtureSchedule::default();
        let enrolled = at("2026-12-01T10:00:00Z");
        assert_eq!(schedule.first_due(enrolled), at("2026-12-02T10:00:00Z"));
        let (stage, due) = schedule.after(
            NurtureStage::Followup1,
            enrolled,
            at("2026-12-02T10:00:05Z"),
        );
        assert_eq!(stage, NurtureStage::Followup2);
        assert_eq!(due, at("2026-12-04T10:00:05Z"));
        let (stage, due) = schedule.after(NurtureStage::Followup2, enrolled, due);
        assert_eq!(
            (stage, due),
            (NurtureStage::LongTerm, at("2027-01-03T10:00:05Z"))
        );
        let (stage, again) = schedule.after(NurtureStage::LongTerm, enrolled, due);
        assert_eq!(
            (stage, again),
            (NurtureStage::LongTerm, at("2027-02-02T10:00:05Z"))
        );
        assert!(!schedule.enabled);
    }

    #[test]
    fn a_late_first_follow_up_does_not_bring_the_second_forward() {
        let schedule = NurtureSchedule::new(24, 72, 30, true).unwrap();
        let enrolled = at("2026-12-01T00:00:00Z");
        // Sent five days late: the second waits the two-day gap from then.
        let (_, due) = schedule.after(
            NurtureStage::Followup1,
            enrolled,
            at("2026-12-07T00:00:00Z"),
        );
        assert_eq!(due, at("2026-12-09T00:00:00Z"));
    }

    #[test]
    fn schedules_are_bounded_and_ordered() {
        assert!(NurtureSchedule::new(1, 2, 1, true).is_ok());
        assert!(NurtureSchedule::new(720, 2_160, 365, false).is_ok());
        for (f1, f2, lt, field) in [
            (0, 72, 30, "followup1Hours"),
            (721, 2_000, 30, "followup1Hours"),
            (24, 24, 30, "followup2Hours"),
            (24, 2_161, 30, "followup2Hours"),
            (24, 72, 0, "longTermDays"),
            (24, 72, 366, "longTermDays"),
            (-5, 72, 30, "followup1Hours"),
        ] {
            match NurtureSchedule::new(f1, f2, lt, true) {
                Err(DomainError::OutOfRange { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{f1} {f2} {lt}: {other:?}"),
            }
        }
    }

    #[test]
    fn opt_outs_in_english_and_spanish_are_recognised() {
        for yes in [
            "STOP",
            "stop",
            " Stop. ",
            "STOP please",
            "Unsubscribe",
            "BAJA",
            "baja por favor",
            "Dar de baja",
            "darme de baja!",
            "cancel",
            "Opt-out",
        ] {
            assert!(is_opt_out(yes), "{yes:?}");
        }
        for no in [
            "",
            "   ",
            "Can you stop by tomorrow?",
            "I want to cancel my appointment",
            "bajar el precio?",
            "nonstop",
            "the end of the month works",
            "Hola, quiero información",
        ] {
            assert!(!is_opt_out(no), "{no:?}");
        }
    }

    #[test]
    fn follow_ups_are_personal_sign_off_and_say_how_to_stop() {
        let facts = FollowUpFacts {
            lead_name: "Ana María López",
            agent_name: Some("Sofia"),
            business_name: "Sunset Motors",
            language: Language::Spanish,
        };
        for stage in NurtureStage::ALL {
            let text = follow_up_text(stage, &facts);
            assert!(text.starts_with("Hola Ana,"), "{text}");
            assert!(text.contains("Sofia, Sunset Motors"), "{text}");
            assert!(
                text.ends_with("BAJA para no recibir más mensajes."),
                "{text}"
            );
        }
        let english = follow_up_text(
            NurtureStage::Followup1,
            &FollowUpFacts {
                lead_name: "Bob",
                agent_name: None,
                business_name: "Sunset Motors",
                language: Language::English,
            },
        );
        assert!(english.starts_with("Hi Bob,"), "{english}");
        assert!(english.contains("— Sunset Motors. Reply STOP"), "{english}");
        assert_ne!(
            follow_up_text(NurtureStage::Followup1, &facts),
            follow_up_text(NurtureStage::Followup2, &facts)
        );
    }

    fn ana() -> FollowUpFacts<'static> {
        FollowUpFacts {
            lead_name: "Ana Torres",
            agent_name: Some("Sofia"),
            business_name: "Sunset Motors",
            language: Language::Spanish,
        }
    }

    #[test]
    fn a_written_body_gets_the_signature_and_the_opt_out_added() {
        let text = compose_follow_up("  Hola Ana, ¿sigues buscando auto?  ", &ana());
        assert_eq!(
            text,
            "Hola Ana, ¿sigues buscando auto? — Sofia, Sunset Motors. Responde BAJA para no \
             recibir más mensajes."
        );
    }

    #[test]
    fn a_plain_body_in_the_lead_s_language_is_accepted_trimmed() {
        assert_eq!(
            check_follow_up_body(
                " Hola Ana, ¿te ayudo a agendar una visita? ",
                &ana(),
                Language::Spanish
            ),
            Ok("Hola Ana, ¿te ayudo a agendar una visita?")
        );
    }

    #[test]
    fn a_body_that_says_what_it_was_not_given_is_rejected() {
        let facts = ana();
        let es = Language::Spanish;
        assert_eq!(
            check_follow_up_body("   ", &facts, es),
            Err(FollowUpRejection::Empty)
        );
        let long = "a".repeat(MAX_FOLLOW_UP_BODY_CHARS + 1);
        assert_eq!(
            check_follow_up_body(&long, &facts, es),
            Err(FollowUpRejection::TooLong(MAX_FOLLOW_UP_BODY_CHARS + 1))
        );
        for link in [
            "Mira https://sunset.example/ofertas",
            "Visita www.sunset-motors.mx",
            "sunsetmotors.com tiene ofertas",
        ] {
            assert_eq!(
                check_follow_up_body(link, &facts, es),
                Err(FollowUpRejection::Link),
                "{link}"
            );
        }
        for (body, figure) in [
            ("El Civic 2024 sigue disponible", "2024"),
            ("Te lo dejamos en $18,000", "$18,000"),
            ("Solo quedan 3 unidades", "3"),
        ] {
            assert_eq!(
                check_follow_up_body(body, &facts, es),
                Err(FollowUpRejection::Figure(figure.to_owned())),
                "{body}"
            );
        }
        assert_eq!(
            check_follow_up_body(
                "Hi Ana, still looking for a car?",
                &facts,
                Language::English
            ),
            Err(FollowUpRejection::Language {
                wanted: "es",
                found: "en"
            })
        );
    }

    #[test]
    fn the_lead_s_own_conversation_comes_first_then_sms_then_mail() {
        let all = Reach {
            whatsapp: true,
            sms: true,
            email: true,
        };
        assert_eq!(pick_channel(all), Some(NurtureChannel::Whatsapp));
        assert_eq!(
            pick_channel(Reach {
                whatsapp: false,
                ..all
            }),
            Some(NurtureChannel::Sms)
        );
        assert_eq!(
            pick_channel(Reach {
                email: true,
                ..Reach::default()
            }),
            Some(NurtureChannel::Email)
        );
        assert_eq!(pick_channel(Reach::default()), None);
    }

    #[test]
    fn a_lead_is_written_to_in_its_own_language_else_its_region_s() {
        assert_eq!(
            language_for(Some(Language::English), Some("MX")),
            Language::English
        );
        assert_eq!(language_for(None, Some("mx")), Language::Spanish);
        assert_eq!(language_for(None, Some("US")), Language::English);
        assert_eq!(language_for(None, None), Language::English);
    }

    #[test]
    fn stage_names_round_trip() {
        for stage in NurtureStage::ALL {
            assert_eq!(NurtureStage::parse(stage.as_str()), Ok(stage));
        }
        assert!(StopReason::parse("replied").is_err());
    }
}
