//! Calls: the lifecycle every voice call goes through (payment reminders over LiveKit SIP, the
//! dealership phone agent over Twilio), what a call ended with, the invoice context a reminder
//! call carries, the agent's prompt and the retry policy.
//!
//! Owns: the state machine and the meaning of each state. Must not: know which provider placed
//! the call or how its webhooks look (the api maps provider events onto [`CallStatus`]), read a
//! clock (every time comes in as an argument), or decide whether a call may be dialled at all
//! (that is [`crate::compliance`]).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::Language;
use crate::money::Money;
use crate::DomainError;

/// Where a call is in its life.
///
/// ```text
/// QUEUED → DIALING → RINGING → IN_PROGRESS → COMPLETED
///    │        └─────────┴──────────┴──→ NO_ANSWER | BUSY | VOICEMAIL | FAILED | CANCELED
///    └──→ BLOCKED | CANCELED | FAILED
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallStatus {
    /// Waiting for its job (possibly deferred to the calling window).
    Queued,
    /// The dial request went to the provider.
    Dialing,
    /// The callee's phone is ringing.
    Ringing,
    /// Someone (or a machine) picked up and the agent is talking.
    InProgress,
    /// The call was answered and has ended.
    Completed,
    /// Nobody picked up.
    NoAnswer,
    /// The line was busy.
    Busy,
    /// An answering machine took the call.
    Voicemail,
    /// The provider could not place the call.
    Failed,
    /// Cancelled by a person before it ended.
    Canceled,
    /// Refused by the compliance gate; never dialled.
    Blocked,
}

/// What applying an event to a call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The call moves to this status.
    Moved(CallStatus),
    /// The event is late or repeated (the call is already there or further on): nothing changes.
    Ignored,
}

impl CallStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CallStatus; 11] = [
        CallStatus::Queued,
        CallStatus::Dialing,
        CallStatus::Ringing,
        CallStatus::InProgress,
        CallStatus::Completed,
        CallStatus::NoAnswer,
        CallStatus::Busy,
        CallStatus::Voicemail,
        CallStatus::Failed,
        CallStatus::Canceled,
        CallStatus::Blocked,
    ];

    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Queued => "QUEUED",
            CallStatus::Dialing => "DIALING",
            CallStatus::Ringing => "RINGING",
            CallStatus::InProgress => "IN_PROGRESS",
            CallStatus::Completed => "COMPLETED",
            CallStatus::NoAnswer => "NO_ANSWER",
            CallStatus::Busy => "BUSY",
            CallStatus::Voicemail => "VOICEMAIL",
            CallStatus::Failed => "FAILED",
            CallStatus::Canceled => "CANCELED",
            CallStatus::Blocked => "BLOCKED",
        }
    }

    /// Reads a stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "call status",
                value: value.to_owned(),
            })
    }

    /// Whether the call is over: no event changes it any more.
    pub fn is_terminal(self) -> bool {
        self.rank() == 4
    }

    /// Whether the callee's line was reached by a person or machine (for connect rates).
    pub fn connected(self) -> bool {
        matches!(
            self,
            CallStatus::InProgress | CallStatus::Completed | CallStatus::Voicemail
        )
    }

    /// Progress along the lifecycle; an event never lowers it.
    fn rank(self) -> u8 {
        match self {
            CallStatus::Queued => 0,
            CallStatus::Dialing => 1,
            CallStatus::Ringing => 2,
            CallStatus::InProgress => 3,
            _ => 4,
        }
    }

    /// Applies an event that says the call is now `to`.
    ///
    /// Late or repeated events (a `RINGING` after `IN_PROGRESS`, a second `room_finished`) are
    /// [`Transition::Ignored`], because providers retry webhooks and deliver them out of order.
    /// A forward move the lifecycle does not have (`QUEUED → COMPLETED`, `IN_PROGRESS → BUSY`,
    /// `RINGING → BLOCKED`) is an error: it means the caller mapped an event wrongly.
    pub fn apply(self, to: CallStatus) -> Result<Transition, DomainError> {
        if self == to || self.is_terminal() || to.rank() < self.rank() {
            return Ok(Transition::Ignored);
        }
        use CallStatus::*;
        let allowed = match (self, to) {
            // Only a call that was never dialled can be refused by the gate.
            (Queued, Blocked) => true,
            (_, Blocked) => false,
            (_, Canceled | Failed) => true,
            (Queued, Dialing) => true,
            (Queued, _) => false,
            (Dialing | Ringing, Ringing | InProgress | NoAnswer | Busy | Voicemail) => true,
            (InProgress, Completed | Voicemail) => true,
            _ => false,
        };
        if allowed {
            Ok(Transition::Moved(to))
        } else {
            Err(DomainError::OutOfRange {
                field: "status",
                message: format!("a call cannot go from {} to {}", self.as_str(), to.as_str()),
            })
        }
    }
}

/// Who answered, as the voice agent or the provider's machine detection tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AnsweredBy {
    Human,
    Machine,
}

impl AnsweredBy {
    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AnsweredBy::Human => "HUMAN",
            AnsweredBy::Machine => "MACHINE",
        }
    }

    /// Reads a stored name.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        [AnsweredBy::Human, AnsweredBy::Machine]
            .into_iter()
            .find(|a| a.as_str() == value)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "answered by",
                value: value.to_owned(),
            })
    }
}

/// The customer's answer to a payment-reminder call (the seed's categories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomerResponse {
    WillPayToday,
    AlreadyPaid,
    Dispute,
    NoAnswer,
    Other,
}

impl CustomerResponse {
    /// Every response.
    pub const ALL: [CustomerResponse; 5] = [
        CustomerResponse::WillPayToday,
        CustomerResponse::AlreadyPaid,
        CustomerResponse::Dispute,
        CustomerResponse::NoAnswer,
        CustomerResponse::Other,
    ];

    /// The stable stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerResponse::WillPayToday => "WILL_PAY_TODAY",
            CustomerResponse::AlreadyPaid => "ALREADY_PAID",
            CustomerResponse::Dispute => "DISPUTE",
            CustomerResponse::NoAnswer => "NO_ANSWER",
            CustomerResponse::Other => "OTHER",
        }
    }

    /// Reads a stored name (also the seed's lower-case form, `will_pay_today`).
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let upper = value.trim().to_ascii_uppercase();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == upper)
            .ok_or_else(|| DomainError::UnknownVariant {
                kind: "customer response",
                value: value.to_owned(),
            })
    }
    /// How this outcome moves the lead's score, with the signal it is recorded under: a promise
    /// to pay today is the strongest buying-side signal a reminder call gets, a report of
    /// payment a mild one (it still needs checking), a dispute a negative one. `None`: the call
    /// said nothing about the customer (no answer, or something else).
    pub fn score_effect(self) -> Option<(i32, &'static str)> {
        match self {
            CustomerResponse::WillPayToday => Some((15, "payment_promised")),
            CustomerResponse::AlreadyPaid => Some((5, "reports_paid")),
            CustomerResponse::Dispute => Some((-10, "invoice_disputed")),
            CustomerResponse::NoAnswer | CustomerResponse::Other => None,
        }
    }

    /// Whether the outcome needs a person: a dispute opens a ticket.
    pub fn opens_ticket(self) -> bool {
        self == CustomerResponse::Dispute
    }
}

/// What a payment-reminder call ended with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOutcome {
    /// The customer's answer.
    pub customer_response: CustomerResponse,
    /// Free notes from the agent.
    pub notes: Option<String>,
    /// The day the customer promised to pay, if they gave one.
    pub promised_date: Option<NaiveDate>,
    /// The amount they promised, if they gave one.
    pub promised_amount: Option<Money>,
    /// Person or machine.
    pub answered_by: Option<AnsweredBy>,
}

/// Longest accepted outcome note, in characters.
pub const MAX_NOTES_CHARS: usize = 2_000;

impl CallOutcome {
    /// Checks an outcome against the invoice it answers: a promised amount is in the invoice's
    /// currency and not above what is due, a promise is not dated before the call, and a
    /// machine cannot promise anything.
    pub fn validate(&self, amount_due: &Money, call_day: NaiveDate) -> Result<(), DomainError> {
        if let Some(notes) = &self.notes {
            if notes.chars().count() > MAX_NOTES_CHARS {
                return Err(DomainError::OutOfRange {
                    field: "notes",
                    message: format!("at most {MAX_NOTES_CHARS} characters"),
                });
            }
        }
        if let Some(amount) = &self.promised_amount {
            if amount.currency_code() != amount_due.currency_code() {
                return Err(DomainError::OutOfRange {
                    field: "promisedAmount",
                    message: format!(
                        "must be in the invoice's currency, {}",
                        amount_due.currency_code()
                    ),
                });
            }
            if amount.amount_micros() > amount_due.amount_micros() {
                return Err(DomainError::OutOfRange {
                    field: "promisedAmount",
                    message: format!("is more than the amount due, {}", amount_due.display()),
                });
            }
        }
        if self.promised_date.is_some_and(|d| d < call_day) {
            return Err(DomainError::OutOfRange {
                field: "promisedDate",
                message: "is before the call".into(),
            });
        }
        let promises = self.promised_date.is_some() || self.promised_amount.is_some();
        if self.answered_by == Some(AnsweredBy::Machine) && promises {
            return Err(DomainError::OutOfRange {
                field: "answeredBy",
                message: "an answering machine cannot promise a payment".into(),
            });
        }
        Ok(())
    }
}

/// Everything the voice agent is told about the invoice it calls about (the seed's
/// `CallContext`, with money as [`Money`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallContext {
    pub customer_name: String,
    pub invoice_number: String,
    pub original_amount: Money,
    pub amount_due: Money,
    /// `YYYY-MM-DD`.
    pub due_date: NaiveDate,
    /// Days from the call's day to the due date; negative when overdue.
    pub days_until_due: i64,
    pub is_overdue: bool,
    pub payment_methods: Vec<String>,
    pub company_name: String,
    /// E.164 number customers can call with questions.
    pub support_phone: Option<String>,
}

/// The invoice facts a [`CallContext`] is built from.
#[derive(Debug, Clone)]
pub struct InvoiceFacts {
    pub customer_name: String,
    pub invoice_number: String,
    pub original_amount: Money,
    pub amount_due: Money,
    pub due_date: NaiveDate,
    pub payment_methods: Vec<String>,
    pub company_name: String,
    pub support_phone: Option<String>,
}

impl CallContext {
    /// The context on `today` (the recipient's local date): days until due and overdue are
    /// derived, never stored, so a call retried tomorrow tells tomorrow's truth.
    pub fn new(facts: InvoiceFacts, today: NaiveDate) -> Self {
        let days_until_due = (facts.due_date - today).num_days();
        Self {
            customer_name: facts.customer_name,
            invoice_number: facts.invoice_number,
            original_amount: facts.original_amount,
            amount_due: facts.amount_due,
            due_date: facts.due_date,
            days_until_due,
            is_overdue: days_until_due < 0,
            payment_methods: facts.payment_methods,
            company_name: facts.company_name,
            support_phone: facts.support_phone,
        }
    }
}

/// The voice agent's instructions for a payment-reminder call, in the customer's language.
///
/// Seven parts, as in the seed: who is calling (and that it is an AI — always said, in every
/// language, because callers must not be misled about talking to a machine), the customer, the
/// invoice, the goals, the payment methods, the support contact, and how to report the answer.
pub fn reminder_prompt(context: &CallContext, language: Language) -> String {
    let text = match language {
        Language::English => &ENGLISH,
        Language::Spanish => &SPANISH,
    };
    let due = match context.days_until_due {
        0 => text.due_today.to_owned(),
        d if d > 0 => text.due_in.replace("{n}", &d.to_string()),
        d => text.overdue_by.replace("{n}", &(-d).to_string()),
    };
    let methods = if context.payment_methods.is_empty() {
        text.no_methods.to_owned()
    } else {
        context.payment_methods.join(", ")
    };
    let support = match &context.support_phone {
        Some(phone) => text.support.replace("{phone}", phone),
        None => text.no_support.to_owned(),
    };
    let mut out = String::with_capacity(1_400);
    // 1. Company identification, and the AI disclosure.
    out.push_str(&text.identity.replace("{company}", &context.company_name));
    out.push_str("\n\n");
    // 2 and 3. The customer and the invoice.
    out.push_str(text.customer_heading);
    out.push('\n');
    for (label, value) in [
        (text.name, context.customer_name.clone()),
        (text.invoice_number, context.invoice_number.clone()),
        (text.amount_due, context.amount_due.display()),
        (text.original_amount, context.original_amount.display()),
        (
            text.due_date,
            format!("{} ({due})", context.due_date.format("%Y-%m-%d")),
        ),
    ] {
        out.push_str(&format!("- {label}: {value}\n"));
    }
    out.push('\n');
    // 4. Goals.
    out.push_str(text.goals);
    out.push_str("\n\n");
    // 5. Payment methods.
    out.push_str(&format!("{}: {methods}\n\n", text.methods_heading));
    // 6. Support contact.
    out.push_str(&support);
    out.push_str("\n\n");
    // 7. How to report the answer.
    out.push_str(text.report);
    out.push('\n');
    out
}

struct PromptText {
    identity: &'static str,
    customer_heading: &'static str,
    name: &'static str,
    invoice_number: &'static str,
    amount_due: &'static str,
    original_amount: &'static str,
    due_date: &'static str,
    due_today: &'static str,
    due_in: &'static str,
    overdue_by: &'static str,
    goals: &'static str,
    methods_heading: &'static str,
    no_methods: &'static str,
    support: &'static str,
    no_support: &'static str,
    report: &'static str,
}

const ENGLISH: PromptText = PromptText {
    identity: "You are an AI voice assistant making a professional payment reminder call on behalf of {company}. Say at the start of the call that you are an automated AI assistant calling for {company}, and say so again whenever you are asked.",
    customer_heading: "Customer information:",
    name: "Name",
    invoice_number: "Invoice number",
    amount_due: "Amount due",
    original_amount: "Original amount",
    due_date: "Due date",
    due_today: "due today",
    due_in: "due in {n} days",
    overdue_by: "overdue by {n} days",
    goals: "Your goals:\n1. Politely remind the customer about their outstanding invoice.\n2. Confirm they received the invoice.\n3. Ask whether they have questions about the charges.\n4. Find out when and how they intend to pay.\nNever threaten, never ask for card numbers or passwords, and end the call politely if the customer asks you to.",
    methods_heading: "Available payment methods",
    no_methods: "ask the customer to contact support for payment options",
    support: "If the customer has questions you cannot answer, give them the support phone number: {phone}.",
    no_support: "If the customer has questions you cannot answer, tell them the company will follow up in writing.",
    report: "When the call ends, report the customer's answer as exactly one of: WILL_PAY_TODAY, ALREADY_PAID, DISPUTE, NO_ANSWER, OTHER; with the promised payment date (YYYY-MM-DD) and amount if they gave them, short notes, and whether a HUMAN or a MACHINE answered.",
};

const SPANISH: PromptText = PromptText {
    identity: "Eres un asistente de voz con inteligencia artificial que hace una llamada profesional de recordatorio de pago en nombre de {company}. Di al comienzo de la llamada que eres un asistente automático de inteligencia artificial que llama de parte de {company}, y repítelo siempre que te lo pregunten.",
    customer_heading: "Datos del cliente:",
    name: "Nombre",
    invoice_number: "Número de factura",
    amount_due: "Importe pendiente",
    original_amount: "Importe original",
    due_date: "Fecha de vencimiento",
    due_today: "vence hoy",
    due_in: "vence en {n} días",
    overdue_by: "vencida hace {n} días",
    goals: "Tus objetivos:\n1. Recordar con amabilidad al cliente su factura pendiente.\n2. Confirmar que recibió la factura.\n3. Preguntar si tiene dudas sobre los cargos.\n4. Averiguar cuándo y cómo piensa pagar.\nNunca amenaces, nunca pidas números de tarjeta ni contraseñas, y termina la llamada con cortesía si el cliente lo pide.",
    methods_heading: "Formas de pago disponibles",
    no_methods: "pide al cliente que contacte con soporte para conocer las formas de pago",
    support: "Si el cliente tiene dudas que no puedes resolver, dale el teléfono de soporte: {phone}.",
    no_support: "Si el cliente tiene dudas que no puedes resolver, dile que la empresa le responderá por escrito.",
    report: "Al terminar la llamada, informa la respuesta del cliente como exactamente una de: WILL_PAY_TODAY, ALREADY_PAID, DISPUTE, NO_ANSWER, OTHER; con la fecha (AAAA-MM-DD) y el importe prometidos si los dio, notas breves, y si contestó una persona (HUMAN) o una máquina (MACHINE).",
};

/// When unanswered calls are tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// Time from the end of one attempt to the next.
    pub spacing: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, two hours apart: enough to catch someone after a meeting, few enough
    /// not to harass.
    fn default() -> Self {
        Self {
            max_attempts: 3,
            spacing: Duration::hours(2),
        }
    }
}

impl RetryPolicy {
    /// When to try again after an attempt that ended as `status` at `ended_at`, being the
    /// `attempts`-th attempt; `None` when the call is not retried. Only NO_ANSWER, BUSY and
    /// VOICEMAIL are retried; the retry still goes through the compliance gate, which may
    /// defer or block it.
    pub fn next_attempt(
        &self,
        status: CallStatus,
        attempts: u32,
        ended_at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let retryable = matches!(
            status,
            CallStatus::NoAnswer | CallStatus::Busy | CallStatus::Voicemail
        );
        (retryable && attempts < self.max_attempts).then(|| ended_at + self.spacing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_move_the_score_by_what_they_say_and_only_a_dispute_opens_a_ticket() {
        assert_eq!(
            CustomerResponse::WillPayToday.score_effect(),
            Some((15, "payment_promised"))
        );
        assert!(CustomerResponse::AlreadyPaid
            .score_effect()
            .is_some_and(|(d, _)| d > 0));
        assert!(CustomerResponse::Dispute
            .score_effect()
            .is_some_and(|(d, _)| d < 0));
        assert_eq!(CustomerResponse::NoAnswer.score_effect(), None);
        assert_eq!(CustomerResponse::Other.score_effect(), None);
        let ticketing: Vec<_> = CustomerResponse::ALL
            .into_iter()
            .filter(|r| r.opens_ticket())
            .collect();
        assert_eq!(ticketing, vec![CustomerResponse::Dispute]);
    }

    fn usd(micros: i64) -> Money {
        Money::parse(micros, "USD").unwrap_or_else(|e| panic!("{e}"))
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"))
    }

    fn context(due: &str, today: &str, support: Option<&str>, methods: &[&str]) -> CallContext {
        CallContext::new(
            InvoiceFacts {
                customer_name: "John Doe".into(),
                invoice_number: "INV-001".into(),
                original_amount: usd(1_000_000_000),
                amount_due: usd(750_500_000),
                due_date: date(due),
                payment_methods: methods.iter().map(|m| (*m).to_owned()).collect(),
                company_name: "Acme Corp".into(),
                support_phone: support.map(str::to_owned),
            },
            date(today),
        )
    }

    #[test]
    fn the_happy_path_moves_forward_one_step_at_a_time() {
        use CallStatus::*;
        let mut status = Queued;
        for next in [Dialing, Ringing, InProgress, Completed] {
            assert_eq!(status.apply(next).ok(), Some(Transition::Moved(next)));
            status = next;
        }
        assert!(status.is_terminal());
    }

    #[test]
    fn late_and_duplicate_events_never_move_a_call_backwards() {
        use CallStatus::*;
        // A RINGING webhook that arrives after the call was answered.
        assert_eq!(InProgress.apply(Ringing).ok(), Some(Transition::Ignored));
        // A redelivered participant_joined.
        assert_eq!(InProgress.apply(InProgress).ok(), Some(Transition::Ignored));
        // Anything after the end, including another end.
        for terminal in CallStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for any in CallStatus::ALL {
                assert_eq!(terminal.apply(any).ok(), Some(Transition::Ignored));
            }
        }
    }

    #[test]
    fn states_can_be_skipped_forward_when_a_provider_does() {
        use CallStatus::*;
        // SIP answered without a ringing attribute; a busy line never rings.
        assert_eq!(
            Dialing.apply(InProgress).ok(),
            Some(Transition::Moved(InProgress))
        );
        assert_eq!(Dialing.apply(Busy).ok(), Some(Transition::Moved(Busy)));
        assert_eq!(
            Ringing.apply(NoAnswer).ok(),
            Some(Transition::Moved(NoAnswer))
        );
        assert_eq!(
            InProgress.apply(Voicemail).ok(),
            Some(Transition::Moved(Voicemail))
        );
        assert_eq!(
            Queued.apply(Canceled).ok(),
            Some(Transition::Moved(Canceled))
        );
        assert_eq!(Ringing.apply(Failed).ok(), Some(Transition::Moved(Failed)));
    }

    #[test]
    fn moves_the_lifecycle_lacks_are_errors() {
        use CallStatus::*;
        for (from, to) in [
            (Queued, Completed),
            (Queued, Ringing),
            (Dialing, Blocked),
            (Ringing, Completed),
            (InProgress, Busy),
            (InProgress, NoAnswer),
        ] {
            assert!(from.apply(to).is_err(), "{from:?} -> {to:?}");
        }
    }

    #[test]
    fn statuses_and_responses_round_trip_their_stored_names() {
        for status in CallStatus::ALL {
            assert_eq!(CallStatus::parse(status.as_str()).ok(), Some(status));
        }
        for response in CustomerResponse::ALL {
            assert_eq!(
                CustomerResponse::parse(response.as_str()).ok(),
                Some(response)
            );
        }
        assert_eq!(
            CustomerResponse::parse("will_pay_today").ok(),
            Some(CustomerResponse::WillPayToday)
        );
        assert!(CallStatus::parse("RINGING ").is_err());
        assert!(CustomerResponse::parse("maybe").is_err());
    }

    #[test]
    fn context_derives_days_until_due_and_overdue_from_the_call_day() {
        let soon = context("2024-02-15", "2024-02-10", None, &[]);
        assert_eq!((soon.days_until_due, soon.is_overdue), (5, false));
        let today = context("2024-02-15", "2024-02-15", None, &[]);
        assert_eq!((today.days_until_due, today.is_overdue), (0, false));
        let late = context("2024-02-15", "2024-03-01", None, &[]);
        assert_eq!((late.days_until_due, late.is_overdue), (-15, true));
    }

    #[test]
    fn outcomes_are_checked_against_the_invoice() {
        let due = usd(100_000_000);
        let day = date("2024-02-10");
        let promise =
            |amount: Option<Money>, on: Option<&str>, by: Option<AnsweredBy>| CallOutcome {
                customer_response: CustomerResponse::WillPayToday,
                notes: None,
                promised_date: on.map(date),
                promised_amount: amount,
                answered_by: by,
            };
        assert!(promise(Some(usd(100_000_000)), Some("2024-02-10"), None)
            .validate(&due, day)
            .is_ok());
        assert!(promise(Some(usd(100_000_001)), None, None)
            .validate(&due, day)
            .is_err());
        let euros = Money::parse(1_000_000, "EUR").unwrap_or_else(|e| panic!("{e}"));
        assert!(promise(Some(euros), None, None)
            .validate(&due, day)
            .is_err());
        assert!(promise(None, Some("2024-02-09"), None)
            .validate(&due, day)
            .is_err());
        assert!(promise(None, Some("2024-02-11"), Some(AnsweredBy::Machine))
            .validate(&due, day)
            .is_err());
        let long = CallOutcome {
            notes: Some("x".repeat(MAX_NOTES_CHARS + 1)),
            ..promise(None, None, None)
        };
        assert!(long.validate(&due, day).is_err());
    }

    #[test]
    fn retries_only_unanswered_calls_up_to_the_limit() {
        let policy = RetryPolicy {
            max_attempts: 3,
            spacing: Duration::minutes(30),
        };
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        for status in [
            CallStatus::NoAnswer,
            CallStatus::Busy,
            CallStatus::Voicemail,
        ] {
            assert_eq!(
                policy.next_attempt(status, 1, at),
                Some(at + Duration::minutes(30))
            );
            assert_eq!(policy.next_attempt(status, 3, at), None);
        }
        for status in [
            CallStatus::Completed,
            CallStatus::Failed,
            CallStatus::Canceled,
            CallStatus::Blocked,
        ] {
            assert_eq!(policy.next_attempt(status, 1, at), None);
        }
    }

    /// The prompts are compared with files a person can read and review; regenerate them with
    /// `UPDATE_GOLDEN=1 cargo test -p leadline-domain prompt`.
    fn golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/prompts")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap_or_else(|e| panic!("{e}"));
        }
        let expected =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(actual, expected, "{name} differs from its golden file");
    }

    #[test]
    fn reminder_prompt_matches_its_golden_files_in_english_and_spanish() {
        let upcoming = context(
            "2024-02-15",
            "2024-02-10",
            Some("+14155550123"),
            &["credit_card", "bank_transfer"],
        );
        golden(
            "reminder_en_upcoming.txt",
            &reminder_prompt(&upcoming, Language::English),
        );
        golden(
            "reminder_es_upcoming.txt",
            &reminder_prompt(&upcoming, Language::Spanish),
        );
        let overdue = context("2024-02-15", "2024-02-20", None, &[]);
        golden(
            "reminder_en_overdue.txt",
            &reminder_prompt(&overdue, Language::English),
        );
        golden(
            "reminder_es_overdue.txt",
            &reminder_prompt(&overdue, Language::Spanish),
        );
    }

    #[test]
    fn every_prompt_says_the_caller_is_an_ai_and_quotes_amounts_verbatim() {
        let ctx = context("2024-02-15", "2024-02-10", None, &["cash"]);
        for (language, disclosure) in [
            (Language::English, "AI"),
            (Language::Spanish, "inteligencia artificial"),
        ] {
            let prompt = reminder_prompt(&ctx, language);
            assert!(prompt.contains(disclosure), "{prompt}");
            assert!(prompt.contains("750.50 USD") && prompt.contains("1000.00 USD"));
            assert!(prompt.contains("INV-001") && prompt.contains("Acme Corp"));
        }
    }
}
