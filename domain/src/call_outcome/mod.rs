//! The offline call-outcome classifier (issue #14): when a payment-reminder call ends with a
//! transcript but no reported outcome, what did the customer answer?
//!
//! `classify_call_outcome(transcript, today, invoice_currency)` reads the CUSTOMER lines only —
//! the agent says every trigger phrase itself (`can you pay today?`, `if you already paid…`), so
//! agent lines never count — and returns one of the seed's [`CustomerResponse`]s with a
//! confidence, the promised day and amount when the customer named them, whether a person or a
//! machine answered, and the customer's own words that decided it.
//!
//! How: each customer line is split into normalised words (`words`: case and accents folded,
//! sentences and clauses kept), cue phrases are found with their negation (`lexicon`: `I haven't
//! paid`, `no he pagado`, `I won't pay today`), and days and amounts are read against the
//! `today` and invoice currency passed in (`extract`). A verb of paying counts as
//! WILL_PAY_TODAY only next to a today-time (`I'll pay it tonight`, `hoy le deposito`); next to
//! a later day it is a promise for later, which is OTHER with that day. Later customer lines
//! weigh more, and when the customer says both that they paid and that they will pay today, the
//! last statement wins (self-corrections, partial payments). A dispute wins over a promise (a
//! person must review it) but not over a stronger statement of payment. Voicemail greetings,
//! carrier messages and calls where the customer only said `hello?` are NO_ANSWER.
//!
//! The eval set is `domain/data/calls/outcomes.jsonl` (see its README for the labelling guide
//! and how the dev/test split was made); [`eval`] scores any provider against it.
//!
//! Must not: do IO, read a clock or randomness (`today` is an argument), or panic on any input.
//! Known limits: a bare `yes` to the agent's `can you pay today?` is not read as a promise (the
//! agent's words never decide); `next Friday` is the coming Friday.

mod extract;
mod lexicon;
mod words;

pub mod eval;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calls::{AnsweredBy, CallOutcome, CustomerResponse};
use crate::money::Money;

use self::extract::{AmountHit, DayHit};
use self::lexicon::{Cue, Hit};
use self::words::Word;

/// The eval set shipped with the classifier (`domain/data/calls/`).
pub mod dataset {
    /// Labelled payment-reminder transcripts, English and Spanish, with a `split` field
    /// (`dev` / `test`).
    pub const OUTCOMES_JSONL: &str = include_str!("../../data/calls/outcomes.jsonl");
}

/// Who said a line of a call transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CallSpeaker {
    /// The voice agent (ours).
    #[serde(alias = "agent")]
    Agent,
    /// Whoever or whatever answered the phone: the customer, a relative, a voicemail greeting.
    #[serde(alias = "customer")]
    Customer,
}

/// One turn of a call transcript, in call order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub speaker: CallSpeaker,
    pub text: String,
}

impl TranscriptLine {
    /// A line said by the agent.
    pub fn agent(text: impl Into<String>) -> Self {
        Self {
            speaker: CallSpeaker::Agent,
            text: text.into(),
        }
    }

    /// A line said by the customer's side.
    pub fn customer(text: impl Into<String>) -> Self {
        Self {
            speaker: CallSpeaker::Customer,
            text: text.into(),
        }
    }
}

/// The classifier's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeGuess {
    /// The customer's answer.
    pub response: CustomerResponse,
    /// How sure the classifier is, 0..=1.
    pub confidence: f32,
    /// The day the customer promised to pay: the call's day for WILL_PAY_TODAY, the named day
    /// for a later promise.
    pub promised_date: Option<NaiveDate>,
    /// The amount the customer promised, when they named one.
    pub promised_amount: Option<Money>,
    /// A machine (voicemail, carrier message) or a person; `None` when nothing was said.
    pub answered_by: Option<AnsweredBy>,
    /// The customer's words that decided it, verbatim (at most four short phrases).
    pub evidence: Vec<String>,
}

impl OutcomeGuess {
    /// The outcome to store for the call. The notes say the classifier decided it, with the
    /// evidence, so a person reading the call knows no one reported it.
    pub fn to_call_outcome(&self) -> CallOutcome {
        self.to_call_outcome_by("offline")
    }

    /// [`OutcomeGuess::to_call_outcome`] naming who classified it (`offline`, `by Anthropic`…).
    pub fn to_call_outcome_by(&self, classifier: &str) -> CallOutcome {
        let notes = if self.evidence.is_empty() {
            format!("classified {classifier} from the transcript")
        } else {
            format!(
                "classified {classifier} from the transcript: \"{}\"",
                self.evidence.join("\", \"")
            )
        };
        CallOutcome {
            customer_response: self.response,
            notes: Some(notes),
            promised_date: self.promised_date,
            promised_amount: self.promised_amount.clone(),
            answered_by: self.answered_by,
        }
    }
}

/// Only this many lines of a transcript are read; a reminder call has a few dozen at most.
pub const MAX_LINES: usize = 300;
/// A class needs this much evidence to be chosen over OTHER.
const THRESHOLD: f32 = 0.6;
/// Evidence kept per answer.
const MAX_EVIDENCE: usize = 4;
/// Longest evidence phrase, in characters.
const MAX_EVIDENCE_CHARS: usize = 80;

/// Words that are not an answer: greetings and noises said before a line drops.
const FILLER: &[&str] = &[
    "hello", "hi", "hey", "hola", "bueno", "alo", "diga", "digame", "hmm", "hm", "uh", "um", "eh",
    "mm", "ah", "oh", "yes", "si",
];

/// One customer line, analysed.
struct Line<'a> {
    text: &'a str,
    words: Vec<Word>,
    hits: Vec<Hit>,
    days: Vec<DayHit>,
    amounts: Vec<AmountHit>,
}

impl Line<'_> {
    fn span(&self, from: usize, to: usize) -> String {
        let (Some(first), Some(last)) = (
            self.words.get(from),
            to.checked_sub(1).and_then(|t| self.words.get(t)),
        ) else {
            return String::new();
        };
        let text = self.text.get(first.start..last.end).unwrap_or("");
        text.chars().take(MAX_EVIDENCE_CHARS).collect()
    }

    fn clause(&self, word: usize) -> Option<u32> {
        self.words.get(word).map(|w| w.clause)
    }

    fn sentence(&self, word: usize) -> Option<u32> {
        self.words.get(word).map(|w| w.sentence)
    }

    /// Words inside an explicit `not today` / `hoy no`.
    fn in_not_today(&self, word: usize) -> bool {
        self.hits
            .iter()
            .any(|h| h.cue == Cue::NotToday && h.from <= word && word < h.to)
    }

    fn is_voicemail(&self) -> bool {
        self.hits.iter().any(|h| h.cue == Cue::Voicemail)
    }

    /// Words that could be an answer: not greetings, noises, or a clause complaining about the
    /// line (`I can't hear you`).
    fn substantive_words(&self) -> usize {
        let bad_line: Vec<u32> = self
            .hits
            .iter()
            .filter(|h| h.cue == Cue::NoHear)
            .filter_map(|h| self.clause(h.from))
            .collect();
        let covered = |i: usize| {
            self.clause(i).is_some_and(|c| bad_line.contains(&c))
                || self
                    .hits
                    .iter()
                    .any(|h| h.cue == Cue::Voicemail && h.from <= i && i < h.to)
        };
        self.words
            .iter()
            .enumerate()
            .filter(|(i, w)| !covered(*i) && !FILLER.contains(&w.norm.as_str()))
            .count()
    }
}

/// Where a statement was made: (customer line rank, clause), for "the last word counts".
type Position = (usize, u32);

/// What a promise to pay was next to.
enum When {
    Today,
    Later(Option<NaiveDate>),
    Unsaid,
}

/// Scores and the places that support them, accumulated over the customer's lines.
#[derive(Default)]
struct Tally {
    paid: f32,
    dispute: f32,
    today: f32,
    other: f32,
    last_paid: Option<Position>,
    last_today: Option<Position>,
    last_later: Option<Position>,
    /// (line, sentence, first word of the promise) of each promise for today.
    today_promises: Vec<(usize, u32, usize)>,
    /// (line, sentence, first word of the promise, day) of each promise for later.
    later_promises: Vec<(usize, u32, usize, Option<NaiveDate>)>,
    /// (line, from, to, response it supports).
    evidence: Vec<(usize, usize, usize, CustomerResponse)>,
}

/// Classifies a payment-reminder call from its transcript. `today` is the call's day in the
/// customer's time zone (relative days resolve against it); `invoice_currency` is the ISO-4217
/// code of the invoice the call is about (`$` and bare amounts are in it). Pure and
/// deterministic; never panics.
pub fn classify_call_outcome(
    transcript: &[TranscriptLine],
    today: NaiveDate,
    invoice_currency: &str,
) -> OutcomeGuess {
    let lines: Vec<Line<'_>> = transcript
        .iter()
        .take(MAX_LINES)
        .filter(|l| l.speaker == CallSpeaker::Customer)
        .map(|l| {
            let words = words::split(&l.text);
            let hits = lexicon::find(&words);
            let days = extract::days(&words, today);
            let amounts = extract::amounts(&words, invoice_currency);
            Line {
                text: &l.text,
                words,
                hits,
                days,
                amounts,
            }
        })
        .collect();

    let voicemail: Vec<&Line<'_>> = lines.iter().filter(|l| l.is_voicemail()).collect();
    let spoken: Vec<&Line<'_>> = lines
        .iter()
        .filter(|l| !l.is_voicemail() && l.substantive_words() > 0)
        .collect();
    if spoken.is_empty() {
        return no_answer(&lines, &voicemail);
    }

    let tally = tally(&spoken);
    let (response, score) = decide(&tally);
    let runner_up = [
        (CustomerResponse::AlreadyPaid, tally.paid),
        (CustomerResponse::Dispute, tally.dispute),
        (CustomerResponse::WillPayToday, tally.today),
        (CustomerResponse::Other, tally.other),
    ]
    .into_iter()
    .filter(|(r, _)| *r != response)
    .map(|(_, s)| s)
    .fold(0.0_f32, f32::max);
    let confidence = if response == CustomerResponse::Other && score == 0.0 {
        // Nothing the customer said points anywhere: OTHER by default, and unsure of it.
        (0.5 - 0.3 * runner_up / THRESHOLD).clamp(0.2, 0.5)
    } else {
        (0.5 + 0.45 * (score - runner_up) / (score + runner_up + 0.5)).clamp(0.05, 0.99)
    };

    let (promised_date, promised_amount) = promise(&tally, &spoken, response, today);
    let evidence = tally
        .evidence
        .iter()
        .filter(|(_, _, _, r)| *r == response)
        .filter_map(|&(line, from, to, _)| spoken.get(line).map(|l| l.span(from, to)))
        .filter(|s| !s.is_empty())
        .fold(Vec::new(), |mut acc: Vec<String>, s| {
            if !acc.contains(&s) && acc.len() < MAX_EVIDENCE {
                acc.push(s);
            }
            acc
        });
    OutcomeGuess {
        response,
        confidence,
        promised_date,
        promised_amount,
        answered_by: Some(AnsweredBy::Human),
        evidence,
    }
}

/// Nobody engaged: a machine when a greeting or carrier message was heard.
fn no_answer(lines: &[Line<'_>], voicemail: &[&Line<'_>]) -> OutcomeGuess {
    let evidence: Vec<String> = voicemail
        .iter()
        .flat_map(|l| {
            l.hits
                .iter()
                .filter(|h| h.cue == Cue::Voicemail)
                .map(|h| l.span(h.from, h.to))
        })
        .filter(|s| !s.is_empty())
        .take(MAX_EVIDENCE)
        .collect();
    let (answered_by, confidence) = if !voicemail.is_empty() {
        (Some(AnsweredBy::Machine), 0.9)
    } else if lines.iter().any(|l| !l.words.is_empty()) {
        // Someone said `hello?` and the line dropped: a person, most likely, but no answer.
        (None, 0.75)
    } else {
        (None, 0.95)
    };
    OutcomeGuess {
        response: CustomerResponse::NoAnswer,
        confidence,
        promised_date: None,
        promised_amount: None,
        answered_by,
        evidence,
    }
}

fn tally(spoken: &[&Line<'_>]) -> Tally {
    let mut t = Tally::default();
    let n = spoken.len();
    for (rank, line) in spoken.iter().enumerate() {
        // Later lines weigh up to half again as much: customers correct themselves.
        let recency = 1.0 + 0.5 * rank as f32 / (n.max(2) - 1) as f32;
        let mut weak_promise = false;
        for h in &line.hits {
            let clause = line.clause(h.from).unwrap_or(0);
            let pos = (rank, clause);
            match h.cue {
                Cue::Paid if h.hedged => {}
                Cue::Paid if h.negated => t.other += 0.5 * recency,
                Cue::Paid => {
                    t.paid += h.weight * recency;
                    t.last_paid = t.last_paid.max(Some(pos));
                    t.evidence
                        .push((rank, h.from, h.to, CustomerResponse::AlreadyPaid));
                }
                Cue::Dispute if h.negated => {}
                Cue::Dispute => {
                    t.dispute += h.weight * recency;
                    t.evidence
                        .push((rank, h.from, h.to, CustomerResponse::Dispute));
                }
                Cue::Promise => {
                    let sentence = line.sentence(h.from).unwrap_or(0);
                    match when(line, h) {
                        When::Today if h.negated => {
                            t.other += recency;
                            t.evidence
                                .push((rank, h.from, h.to, CustomerResponse::Other));
                        }
                        When::Today => {
                            t.today += h.weight * recency;
                            t.last_today = t.last_today.max(Some(pos));
                            t.today_promises.push((rank, sentence, h.from));
                            t.evidence
                                .push((rank, h.from, h.to, CustomerResponse::WillPayToday));
                        }
                        When::Later(_) if h.negated => t.other += 0.5 * recency,
                        When::Later(day) => {
                            t.other += h.weight * recency;
                            t.last_later = t.last_later.max(Some(pos));
                            t.later_promises.push((rank, sentence, h.from, day));
                            t.evidence
                                .push((rank, h.from, h.to, CustomerResponse::Other));
                        }
                        When::Unsaid if h.negated => t.other += 0.5 * recency,
                        When::Unsaid => weak_promise = true,
                    }
                }
                Cue::Today if !h.negated && !line.in_not_today(h.from) => {
                    let sentence = line.sentence(h.from);
                    let promise_near = line
                        .hits
                        .iter()
                        .any(|p| p.cue == Cue::Promise && line.sentence(p.from) == sentence);
                    if !promise_near {
                        t.today += 0.3 * recency;
                    }
                }
                Cue::Today | Cue::NotToday => {
                    t.other += recency;
                    t.evidence
                        .push((rank, h.from, h.to, CustomerResponse::Other));
                }
                Cue::Later | Cue::Payday => t.other += 0.3 * recency,
                Cue::WrongNumber => {
                    t.other += h.weight * recency;
                    t.evidence
                        .push((rank, h.from, h.to, CustomerResponse::Other));
                }
                Cue::Now | Cue::Voicemail | Cue::NoHear => {}
            }
        }
        if weak_promise {
            // `I'll pay it` with no time: leaning to today, not enough on its own.
            t.today += 0.3 * recency;
        }
    }
    t
}

/// The time a promise is next to: its clause first, then its sentence.
fn when(line: &Line<'_>, promise: &Hit) -> When {
    let clause = line.clause(promise.from);
    let sentence = line.sentence(promise.from);
    when_within(line, |i| line.clause(i) == clause)
        .or_else(|| when_within(line, |i| line.sentence(i) == sentence))
        .unwrap_or(When::Unsaid)
}

/// The time said among the words `same` accepts, if any; today wins over a later day
/// (`$200 this afternoon and the rest next week` is a payment today).
fn when_within(line: &Line<'_>, same: impl Fn(usize) -> bool) -> Option<When> {
    let today = line.hits.iter().any(|h| {
        matches!(h.cue, Cue::Today | Cue::Now)
            && !h.negated
            && same(h.from)
            && !line.in_not_today(h.from)
    });
    if today {
        return Some(When::Today);
    }
    let day = line.days.iter().find(|d| same(d.from)).map(|d| d.date);
    let later = line
        .hits
        .iter()
        .any(|h| matches!(h.cue, Cue::Later | Cue::Payday) && same(h.from));
    (day.is_some() || later).then_some(When::Later(day))
}

fn decide(t: &Tally) -> (CustomerResponse, f32) {
    if t.dispute >= THRESHOLD && t.dispute >= t.paid {
        return (CustomerResponse::Dispute, t.dispute);
    }
    if t.paid >= THRESHOLD && t.today >= THRESHOLD {
        // Both said: the last statement is the answer (`I paid half, the rest today`; `I'll
        // pay today — oh wait, my wife paid it`).
        return if t.last_paid > t.last_today {
            (CustomerResponse::AlreadyPaid, t.paid)
        } else {
            (CustomerResponse::WillPayToday, t.today)
        };
    }
    if t.paid >= THRESHOLD {
        // `I sent part of it last week, I'll do the rest on the 20th`: still owing, and
        // promising for later.
        return if t.last_later > t.last_paid {
            (CustomerResponse::Other, t.other)
        } else {
            (CustomerResponse::AlreadyPaid, t.paid)
        };
    }
    if t.today >= THRESHOLD {
        return (CustomerResponse::WillPayToday, t.today);
    }
    (CustomerResponse::Other, t.other)
}

/// The promised day and amount for the chosen response.
fn promise(
    t: &Tally,
    spoken: &[&Line<'_>],
    response: CustomerResponse,
    today: NaiveDate,
) -> (Option<NaiveDate>, Option<Money>) {
    let pays_today = t.today >= THRESHOLD;
    match response {
        CustomerResponse::WillPayToday => (Some(today), amount_for(spoken, &t.today_promises)),
        CustomerResponse::Dispute if pays_today => {
            (Some(today), amount_for(spoken, &t.today_promises))
        }
        CustomerResponse::Dispute | CustomerResponse::Other => {
            let later: Vec<(usize, u32, usize)> = t
                .later_promises
                .iter()
                .map(|&(l, s, w, _)| (l, s, w))
                .collect();
            let day = t.later_promises.iter().rev().find_map(|p| p.3);
            (day, amount_for(spoken, &later))
        }
        CustomerResponse::AlreadyPaid | CustomerResponse::NoAnswer => (None, None),
    }
}

/// The amount stated with a promise: in the promise's sentence (the first after the verb, else
/// the first), or in the next sentence when it is a bare amount (`Can I pay half today? Like
/// $60.`). The latest promise with an amount wins.
fn amount_for(spoken: &[&Line<'_>], promises: &[(usize, u32, usize)]) -> Option<Money> {
    promises.iter().rev().find_map(|&(line, sentence, word)| {
        let l = spoken.get(line)?;
        let in_sentence = |s: u32| {
            l.amounts
                .iter()
                .filter(move |a| l.sentence(a.from) == Some(s))
        };
        let here = in_sentence(sentence)
            .find(|a| a.from > word)
            .or_else(|| in_sentence(sentence).next());
        if let Some(a) = here {
            return Some(a.money.clone());
        }
        let next = sentence + 1;
        let next_has_cue = l.hits.iter().any(|h| {
            matches!(h.cue, Cue::Paid | Cue::Dispute | Cue::Promise)
                && l.sentence(h.from) == Some(next)
        });
        if next_has_cue {
            return None;
        }
        in_sentence(next).next().map(|a| a.money.clone())
    })
}
