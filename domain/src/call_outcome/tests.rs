//! Behaviour of the call-outcome classifier and its eval: negation, agent lines, dates and
//! amounts, Spanish spelling, degenerate transcripts, a 10,000-case no-panic run, and the
//! quality floor on the held-out split.

#![allow(clippy::unwrap_used)]

use super::eval::{evaluate_call_outcomes, parse_call_outcome_examples, CallOutcomeEvalError};
use super::*;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// 2024-03-12 is a Tuesday.
const TODAY: &str = "2024-03-12";

fn classify(lines: &[(&str, &str)]) -> OutcomeGuess {
    let transcript: Vec<TranscriptLine> = lines
        .iter()
        .map(|(who, text)| match *who {
            "A" => TranscriptLine::agent(*text),
            _ => TranscriptLine::customer(*text),
        })
        .collect();
    classify_call_outcome(&transcript, day(TODAY), "USD")
}

fn customer(text: &str) -> CustomerResponse {
    classify(&[
        ("A", "Hi, I'm an AI assistant calling about your invoice."),
        ("C", text),
    ])
    .response
}

use CustomerResponse::*;

#[test]
fn plain_answers_in_english_and_spanish() {
    for (text, want) in [
        ("I'll pay today", WillPayToday),
        ("Pago hoy", WillPayToday),
        ("Hoy mismo transfiero", WillPayToday),
        ("I already paid", AlreadyPaid),
        ("Ya pagué", AlreadyPaid),
        ("Ya lo pagué la semana pasada", AlreadyPaid),
        ("This is wrong, I never received anything", Dispute),
        ("No reconozco esa factura", Dispute),
        ("Está mal el monto", Dispute),
        ("Can you call me back later?", Other),
    ] {
        assert_eq!(customer(text), want, "{text}");
    }
}

#[test]
fn negated_statements_do_not_count() {
    assert_ne!(customer("I haven't paid"), AlreadyPaid);
    assert_ne!(customer("No he pagado todavía"), AlreadyPaid);
    assert_eq!(customer("I won't pay today"), Other);
    assert_eq!(customer("Hoy no puedo pagar"), Other);
    assert_eq!(customer("I don't think I can pay today"), Other);
    assert_eq!(
        customer("I'm not disputing it, I just can't pay yet"),
        Other
    );
    // A negated `paid` does not stop a promise in the same breath.
    assert_eq!(
        customer("I haven't paid yet, but I'll do it today"),
        WillPayToday
    );
    assert_eq!(customer("No he pagado, pero hoy le deposito"), WillPayToday);
    // `No, ya pagué` without its comma is still a payment.
    assert_eq!(customer("no ya pague"), AlreadyPaid);
    assert_eq!(customer("no I already paid that"), AlreadyPaid);
}

#[test]
fn agent_lines_never_decide() {
    let agent_only = classify(&[
        (
            "A",
            "Will you pay today? If you already paid, or think the charge is wrong, tell me.",
        ),
        (
            "A",
            "I'll pay today, I already paid, this is wrong: those are the usual answers.",
        ),
    ]);
    assert_eq!(agent_only.response, NoAnswer);
    assert_eq!(agent_only.answered_by, None);
    let guess = classify(&[
        (
            "A",
            "Can you pay today? Some customers already paid; if so, please ignore this.",
        ),
        ("C", "I'm driving right now, call me later."),
        (
            "A",
            "Understood. So no payment today, and the amount is not wrong?",
        ),
    ]);
    assert_eq!(guess.response, Other);
    assert!(guess.promised_date.is_none());
}

#[test]
fn the_last_word_counts() {
    assert_eq!(
        classify(&[
            ("C", "I think I paid that."),
            ("C", "No wait, it bounced. I'll pay it today.")
        ])
        .response,
        WillPayToday
    );
    assert_eq!(
        customer("I'll pay it today. Oh wait, my wife already paid it yesterday."),
        AlreadyPaid
    );
    assert_eq!(
        customer("Pagué la mitad, y hoy le pago lo que falta"),
        WillPayToday
    );
}

#[test]
fn days_resolve_against_the_call_day() {
    let t = day(TODAY);
    let promised = |text: &str| classify(&[("C", text)]).promised_date;
    assert_eq!(promised("I'll pay it today"), Some(t));
    assert_eq!(
        promised("Hoy no, pero mañana le pago sin falta"),
        Some(day("2024-03-13"))
    );
    assert_eq!(promised("I can pay on Friday"), Some(day("2024-03-15")));
    assert_eq!(promised("Le pago el viernes"), Some(day("2024-03-15")));
    assert_eq!(promised("I'll pay on the 15th"), Some(day("2024-03-15")));
    assert_eq!(promised("Le deposito el 5"), Some(day("2024-04-05")));
    assert_eq!(promised("I already paid on the 5th"), None);
    assert_eq!(promised("Call me back on Friday"), None);
}

#[test]
fn amounts_are_read_when_the_customer_states_them() {
    let amount = |text: &str, currency: &str| {
        classify_call_outcome(&[TranscriptLine::customer(text)], day(TODAY), currency)
            .promised_amount
            .map(|m| m.display())
    };
    assert_eq!(
        amount("I'll send $120 today", "USD").as_deref(),
        Some("120.00 USD")
    );
    assert_eq!(
        amount("I can pay 120 dollars today", "USD").as_deref(),
        Some("120.00 USD")
    );
    assert_eq!(
        amount("Hoy le deposito 120 pesos", "MXN").as_deref(),
        Some("120.00 MXN")
    );
    assert_eq!(
        amount("Hoy le pago ciento veinte pesos", "MXN").as_deref(),
        Some("120.00 MXN")
    );
    assert_eq!(
        amount("Hoy le mando $1,500.50 y lo demás el viernes", "MXN").as_deref(),
        Some("1500.50 MXN")
    );
    assert_eq!(amount("I'll pay it today", "USD"), None);
    // An amount already paid is not a promise.
    assert_eq!(amount("I paid $50 last week", "USD"), None);
    // An unknown invoice currency cannot carry an amount, and does not fail the call.
    let guess = classify_call_outcome(
        &[TranscriptLine::customer("I'll pay $20 today")],
        day(TODAY),
        "XYZ",
    );
    assert_eq!(
        (guess.response, guess.promised_amount),
        (WillPayToday, None)
    );
}

#[test]
fn spanish_reads_with_or_without_accents_and_in_capitals() {
    for text in ["Ya pagué", "ya pague", "YA PAGUÉ", "Ya pague\u{301}"] {
        assert_eq!(customer(text), AlreadyPaid, "{text}");
    }
    for text in ["Mañana le pago", "manana le pago", "MAÑANA LE PAGO"] {
        let guess = classify(&[("C", text)]);
        assert_eq!(guess.response, Other, "{text}");
        assert_eq!(guess.promised_date, Some(day("2024-03-13")), "{text}");
    }
}

#[test]
fn empty_and_unanswered_calls_are_no_answer() {
    let empty = classify_call_outcome(&[], day(TODAY), "USD");
    assert_eq!(empty.response, NoAnswer);
    assert!((0.0..=1.0).contains(&empty.confidence));
    assert_eq!(classify(&[("C", "")]).response, NoAnswer);
    assert_eq!(classify(&[("C", "[inaudible]")]).response, NoAnswer);
    assert_eq!(
        classify(&[("C", "Hello? Hello? I can't hear you")]).response,
        NoAnswer
    );
    let voicemail = classify(&[
        (
            "C",
            "Hi, you've reached Sam. Leave a message after the beep.",
        ),
        (
            "A",
            "Hi Sam, please call us back about your invoice; you can pay today online.",
        ),
    ]);
    assert_eq!(voicemail.response, NoAnswer);
    assert_eq!(voicemail.answered_by, Some(AnsweredBy::Machine));
    assert!(!voicemail.evidence.is_empty());
    // A voicemail greeting that says `pay` is still a greeting.
    assert_eq!(
        classify(&[("C", "You've reached PayRight, please leave a message")]).response,
        NoAnswer
    );
}

#[test]
fn wrong_numbers_are_not_disputes() {
    assert_eq!(customer("Sorry, wrong number"), Other);
    assert_eq!(
        customer("Número equivocado, aquí no vive nadie con ese nombre"),
        Other
    );
}

#[test]
fn evidence_quotes_the_customer_and_the_guess_makes_a_valid_outcome() {
    let guess = classify(&[
        ("A", "Could you pay the $89.99 today?"),
        ("C", "Sí, hoy mismo lo pago, $89.99."),
    ]);
    assert_eq!(guess.response, WillPayToday);
    assert!(
        guess.evidence.iter().any(|e| e.contains("lo pago")),
        "{guess:?}"
    );
    assert!(guess.confidence > 0.5 && guess.confidence <= 1.0);
    let outcome = guess.to_call_outcome();
    let due = Money::parse(89_990_000, "USD").unwrap();
    assert_eq!(outcome.validate(&due, day(TODAY)), Ok(()));
}

/// xorshift64*: a fixed-seed generator so the no-panic run is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn arbitrary_transcripts_never_panic() {
    // Pieces that exercise every path: cue words, negators, numbers, separators, brackets,
    // accents, combining marks, emoji, odd scripts, control characters and long runs.
    const PIECES: &[&str] = &[
        "pay",
        "paid",
        "today",
        "hoy",
        "mañana",
        "ya",
        "no",
        "not",
        "never",
        "pagué",
        "wrong",
        "$",
        "€",
        "£",
        "1,200.50",
        "99999999999999999999",
        "0.0000001",
        "15th",
        "el",
        "the",
        "31",
        "0",
        "ciento",
        "mil",
        "mil mil mil mil",
        "a hundred",
        "y",
        "and",
        "dollars",
        "pesos",
        ".",
        ",",
        "?",
        "¿",
        "[",
        "]",
        "[inaudible",
        "'",
        "’",
        "e\u{301}",
        "\u{301}",
        "🙏",
        "👍🏽",
        "日本",
        "ß",
        "İ",
        "\u{0}",
        "\u{202e}",
        "\t",
        "\n",
        " ",
        "viernes",
        "friday",
        "end of the month",
        "fin de mes",
        "in 60 days",
        "en 99 días",
        "december 31",
        "leave a message",
        "next week",
        "hoy no",
        "can't",
        "I'll",
        "le pago",
        "pasado mañana",
        "de baja",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let days = [
        day("2024-02-29"),
        day("2024-12-31"),
        day("2025-01-31"),
        NaiveDate::MAX,
        NaiveDate::MIN,
    ];
    for case in 0..10_000 {
        let lines = rng.below(6);
        let mut transcript = Vec::with_capacity(lines);
        for _ in 0..lines {
            let mut text = String::new();
            for _ in 0..rng.below(14) {
                let piece = PIECES.get(rng.below(PIECES.len())).copied().unwrap_or("");
                text.push_str(piece);
                if rng.below(3) > 0 {
                    text.push(' ');
                }
            }
            if rng.below(50) == 0 {
                // A pathological line, beyond the reading caps.
                text = "pago hoy 1 ".repeat(2_000);
            }
            transcript.push(if rng.below(2) == 0 {
                TranscriptLine::agent(text)
            } else {
                TranscriptLine::customer(text)
            });
        }
        let today = days.get(rng.below(days.len())).copied().unwrap_or_default();
        let currency = ["USD", "MXN", "JPY", "", "xyz"]
            .get(rng.below(5))
            .copied()
            .unwrap_or("");
        let guess = classify_call_outcome(&transcript, today, currency);
        assert!(
            (0.0..=1.0).contains(&guess.confidence),
            "case {case}: {guess:?}"
        );
        assert!(guess.evidence.len() <= MAX_EVIDENCE);
        if let Some(d) = guess.promised_date {
            assert!(d >= today, "case {case}: a promise before the call");
        }
    }
}

#[test]
fn the_eval_file_parses_and_has_what_the_issue_asks() {
    let examples = parse_call_outcome_examples(dataset::OUTCOMES_JSONL).unwrap();
    assert!(examples.len() >= 150);
    let count =
        |f: &dyn Fn(&eval::CallOutcomeExample) -> bool| examples.iter().filter(|e| f(e)).count();
    assert!(count(&|e| e.language == "en") >= 60);
    assert!(count(&|e| e.language == "es") >= 60);
    for class in CustomerResponse::ALL {
        assert!(count(&|e| e.expected == class) >= 25, "{class:?}");
    }
    let mut ids: Vec<&str> = examples.iter().map(|e| e.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), examples.len(), "ids are unique");
}

/// FNV-1a-64, the split rule of `domain/data/calls/README.md`.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[test]
fn the_split_follows_the_hash_rule() {
    for e in parse_call_outcome_examples(dataset::OUTCOMES_JSONL).unwrap() {
        let want = if fnv1a(&e.id) % 100 < 40 {
            "test"
        } else {
            "dev"
        };
        assert_eq!(e.split, want, "{}", e.id);
    }
}

#[test]
fn eval_lines_are_checked() {
    let ok = r#"{"id":"a","language":"en","split":"dev","today":"2024-03-12","transcript":[{"speaker":"CUSTOMER","text":"I'll pay $5 today"}],"expected":"WILL_PAY_TODAY","promised_date":"2024-03-12","promised_amount":"5.00 USD"}"#;
    let r = evaluate_call_outcomes(ok, None).unwrap();
    assert_eq!((r.examples, r.accuracy), (1, 1.0));
    assert_eq!((r.promised_amount.correct, r.promised_date.correct), (1, 1));
    for bad in [
        ok.replace("WILL_PAY_TODAY", "MAYBE"),
        ok.replace("\"dev\"", "\"train\""),
        ok.replace("5.00 USD", "five dollars"),
        ok.replace("2024-03-12\",\"transcript", "12/03/2024\",\"transcript"),
        ok.replace("CUSTOMER", "CALLER"),
    ] {
        assert!(
            matches!(
                evaluate_call_outcomes(&bad, None),
                Err(CallOutcomeEvalError::Line { line: 1, .. })
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        evaluate_call_outcomes(ok, Some("test")),
        Err(CallOutcomeEvalError::Empty { .. })
    ));
}

/// Five examples by hand: labels W W A D N, predictions W A A O N.
/// WILL_PAY_TODAY P 1 R 0.5 F1 2/3; ALREADY_PAID P 0.5 R 1 F1 2/3; DISPUTE 0; NO_ANSWER 1;
/// OTHER 0 (predicted once, never labelled). Macro-F1 over the five = (2/3 + 2/3 + 1) / 5.
#[test]
fn metrics_match_a_hand_computed_example() {
    let ex = |id: &str, expected| eval::CallOutcomeExample {
        id: id.into(),
        language: if id < "c" { "en".into() } else { "es".into() },
        split: "dev".into(),
        today: day(TODAY),
        currency: "USD".into(),
        transcript: vec![],
        expected,
        promised_date: None,
        promised_amount: None,
    };
    let guess = |response| OutcomeGuess {
        response,
        confidence: 0.5,
        promised_date: None,
        promised_amount: None,
        answered_by: None,
        evidence: vec![],
    };
    let examples = [
        ex("a", WillPayToday),
        ex("b", WillPayToday),
        ex("c", AlreadyPaid),
        ex("d", Dispute),
        ex("e", NoAnswer),
    ];
    let predictions = [
        guess(WillPayToday),
        guess(AlreadyPaid),
        guess(AlreadyPaid),
        guess(Other),
        guess(NoAnswer),
    ];
    let r = eval::score_call_outcomes(&examples, &predictions);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(r.accuracy, 0.6));
    assert!(close(r.per_class[0].f1, 2.0 / 3.0) && close(r.per_class[1].f1, 2.0 / 3.0));
    assert!(close(r.macro_f1, (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 5.0));
    assert_eq!(r.confusion_matrix.rows[0], vec![1, 1, 0, 0, 0]);
    assert_eq!(r.confusion_matrix.rows[2], vec![0, 0, 0, 0, 1]);
    let ids: Vec<&str> = r.misclassified.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["b", "d"]);
    assert!(close(r.per_language[0].accuracy, 0.5) && close(r.per_language[1].accuracy, 2.0 / 3.0));
    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "macroF1",
        "perClass",
        "confusionMatrix",
        "perLanguage",
        "misclassified",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert!(r.render_text().contains("macro-F1 0.467"));
}

/// The quality floor, on the held-out split only (rules were changed looking at `dev` alone).
/// Reproduce the figures with
/// `cargo test -p leadline-domain --all-features call_outcome_quality -- --nocapture`.
#[test]
fn call_outcome_quality_on_the_held_out_split() {
    let dev = evaluate_call_outcomes(dataset::OUTCOMES_JSONL, Some("dev")).unwrap();
    let test = evaluate_call_outcomes(dataset::OUTCOMES_JSONL, Some("test")).unwrap();
    println!("DEV\n{}\nTEST\n{}", dev.render_text(), test.render_text());
    assert!(test.accuracy >= FLOOR_ACCURACY, "{}", test.render_text());
    assert!(test.macro_f1 >= FLOOR_MACRO_F1, "{}", test.render_text());
}

/// Measured on `test` when the floor was set: accuracy 0.978 (89 of 91), macro-F1 0.979; `dev`
/// was 1.000 after tuning. The floor sits a little under, so a small regression fails.
const FLOOR_ACCURACY: f64 = 0.95;
const FLOOR_MACRO_F1: f64 = 0.95;
