//! Cue phrases of the call-outcome classifier, English and Spanish, and the one pass that finds
//! them in a line with their negation.
//!
//! Owns: the phrase tables and the tiny pattern language they are written in — words separated
//! by spaces; `a|b` either word; `pag~` any word starting with `pag`; `..` up to two words of
//! anything; `^` the start of a clause. Entries are written naturally (`pagué`, `I'll`) and go
//! through [`super::words::normalise`], like transcripts, so both sides agree. The phrases are
//! general payment-call vocabulary written for this project.
//! Must not: decide an outcome — `super::classify` weighs the hits.

use std::sync::OnceLock;

use super::words::{normalise, Word};

/// What a phrase says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cue {
    /// The invoice is paid (`I already paid`, `ya lo pagué`).
    Paid,
    /// The charge itself is contested (`that's wrong`, `no reconozco esa factura`).
    Dispute,
    /// A verb of paying now or later (`I'll pay`, `le deposito`): the time next to it decides
    /// between WILL_PAY_TODAY and a later promise.
    Promise,
    /// Today, without a date to compute (`tonight`, `as we speak`, `hoy mismo`, `al rato`).
    Today,
    /// `now` / `ahorita`: today only next to a promise (`I'm driving right now` is not one).
    Now,
    /// Some later time without a date (`next week`, `la otra semana`, `payday`).
    Later,
    /// Someone pays the customer (`I get paid today`, `me pagan el viernes`): a later time
    /// when it is not today, and never a statement that the invoice is paid.
    Payday,
    /// The call reached someone else (`wrong number`, `número equivocado`): OTHER, and the
    /// `wrong` in it is not a dispute.
    WrongNumber,
    /// An explicit `not today` (`hoy no`).
    NotToday,
    /// A voicemail, answering-machine or carrier message.
    Voicemail,
    /// The line is bad (`I can't hear you`, `no se oye`): not an answer.
    NoHear,
}

/// One phrase found in a line: words `from..to` (indices into the line's words).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub cue: Cue,
    pub weight: f32,
    pub from: usize,
    pub to: usize,
    /// A negator (`not`, `never`, `no`, `ni`) stands in the four words before the phrase, in
    /// its clause (`I don't think I can pay`).
    pub negated: bool,
    /// For [`Cue::Paid`]: the speaker only believes it (`I thought I paid`, `pensé que ya`).
    pub hedged: bool,
}

/// (phrase, cue, weight). Weights: 1.0 decides on its own, less needs company.
const PHRASES: &[(&str, Cue, f32)] = &[
    // --- ALREADY_PAID, English
    ("already paid", Cue::Paid, 1.0),
    ("paid already", Cue::Paid, 1.0),
    ("paid it|that|this|those|them|the|on|online|last|yesterday|in|at|over|with|by|off|when", Cue::Paid, 1.0),
    ("i|we|she|he|they|husband|wife paid", Cue::Paid, 1.0),
    ("ive|weve|has|have|had|been paid", Cue::Paid, 1.0),
    ("its|was|were|is paid", Cue::Paid, 1.0),
    ("paid", Cue::Paid, 0.8),
    ("took|taken care of", Cue::Paid, 0.8),
    ("i|we settled", Cue::Paid, 1.0),
    ("sent|mailed the|that|a payment|check", Cue::Paid, 1.0),
    ("i|we sent|mailed", Cue::Paid, 0.8),
    ("autopay", Cue::Paid, 1.0),
    ("auto pay", Cue::Paid, 1.0),
    ("came|went out of my account", Cue::Paid, 1.0),
    ("went out already", Cue::Paid, 1.0),
    ("covered it", Cue::Paid, 0.6),
    ("bill pay", Cue::Paid, 0.6),
    ("confirmation number|email", Cue::Paid, 0.5),
    ("i have|got the receipt", Cue::Paid, 0.5),
    ("all clear", Cue::Paid, 0.5),
    // --- ALREADY_PAID, Spanish
    ("pagué", Cue::Paid, 1.0),
    ("pagamos", Cue::Paid, 0.8),
    ("ya se pagó", Cue::Paid, 1.0),
    ("pagado|pagada", Cue::Paid, 1.0),
    ("liquidé|liquidamos", Cue::Paid, 1.0),
    ("transferí|deposité|abonado", Cue::Paid, 1.0),
    ("hice|hicimos|hizo el|la|un pago|depósito|transferencia|abono", Cue::Paid, 1.0),
    ("ya lo|la hice", Cue::Paid, 0.8),
    ("ya les|le pagué", Cue::Paid, 1.0),
    ("cargo automático", Cue::Paid, 1.0),
    ("domiciliado|domiciliada", Cue::Paid, 1.0),
    ("ya está cubiert~", Cue::Paid, 0.8),
    ("tengo el comprobante", Cue::Paid, 0.5),
    ("comprobante|captura|recibo", Cue::Paid, 0.2),
    // --- DISPUTE, English
    ("wrong", Cue::Dispute, 1.0),
    ("mistake|error|incorrect|misread|fraud", Cue::Dispute, 1.0),
    ("not right|correct|mine", Cue::Dispute, 1.0),
    ("isnt|wasnt|not done right", Cue::Dispute, 1.0),
    ("never|didnt received|receive|got|get|ordered|order|hired|signed|asked|did|used|use|authorize|authorized", Cue::Dispute, 1.0),
    ("did not received|receive|get|order|sign|ask|use|authorize", Cue::Dispute, 1.0),
    ("dont recognize", Cue::Dispute, 1.0),
    ("not .. recognize", Cue::Dispute, 1.0),
    ("no way", Cue::Dispute, 0.6),
    ("dispute|disputing|contest|contesting|overcharged", Cue::Dispute, 1.0),
    ("charged|billed me twice", Cue::Dispute, 1.0),
    ("double charged", Cue::Dispute, 1.0),
    ("is|its double", Cue::Dispute, 0.8),
    ("cancelled|canceled|froze my", Cue::Dispute, 0.8),
    ("cancelled|canceled", Cue::Dispute, 0.5),
    ("moved out", Cue::Dispute, 0.7),
    ("i returned", Cue::Dispute, 0.7),
    ("returned that|the|it", Cue::Dispute, 0.5),
    ("not paying for|until", Cue::Dispute, 0.9),
    ("not going|gonna .. pay for", Cue::Dispute, 0.9),
    ("not paying .. extra|difference|fee|full", Cue::Dispute, 1.0),
    ("wasnt|not my fault", Cue::Dispute, 0.8),
    ("broke|damaged", Cue::Dispute, 0.6),
    ("supposed to cover", Cue::Dispute, 0.6),
    ("dont owe", Cue::Dispute, 0.6),
    ("do not owe", Cue::Dispute, 0.6),
    // --- DISPUTE, Spanish
    ("no reconozco", Cue::Dispute, 1.0),
    ("no me corresponde", Cue::Dispute, 1.0),
    ("está|esta mal", Cue::Dispute, 1.0),
    ("mal el|la monto|cuenta|cobro|cargo|factura|recibo", Cue::Dispute, 1.0),
    ("equivocad~|equivocaron|error|fraude|inflado|inflada", Cue::Dispute, 1.0),
    ("no es mi|mío|mía|mio|mia", Cue::Dispute, 1.0),
    ("nunca .. recibí|saqué|pedí|contraté|firmé|instalaron|autoricé", Cue::Dispute, 1.0),
    ("no .. recibí|pedí|contraté|firmé|autoricé|hicieron|instalaron", Cue::Dispute, 1.0),
    ("no autoricé", Cue::Dispute, 1.0),
    ("cobraron dos veces", Cue::Dispute, 1.0),
    ("doble cobro", Cue::Dispute, 1.0),
    ("no estoy de acuerdo", Cue::Dispute, 1.0),
    ("no coincide", Cue::Dispute, 1.0),
    ("imposible", Cue::Dispute, 0.7),
    ("no puede ser", Cue::Dispute, 0.7),
    ("de baja", Cue::Dispute, 0.8),
    ("cancelé|congelé", Cue::Dispute, 0.8),
    ("ya no tengo ese|el servicio", Cue::Dispute, 1.0),
    ("devolví", Cue::Dispute, 0.7),
    ("no les|le debo", Cue::Dispute, 0.6),
    ("no debo", Cue::Dispute, 0.6),
    ("no voy a pagar un|una|algo|por", Cue::Dispute, 1.0),
    ("queja|aclaración|reclamación", Cue::Dispute, 0.8),
    ("no tienen por qué", Cue::Dispute, 0.8),
    ("que no usé|hicieron|pedí", Cue::Dispute, 0.8),
    // --- Promises, English
    ("pay|paying", Cue::Promise, 1.0),
    ("ill|will|gonna|can|could|me|to send|transfer|deposit|wire|zelle|settle", Cue::Promise, 1.0),
    ("send|sending|transfer|deposit it|the|that|you|through", Cue::Promise, 1.0),
    ("ill|will|well|gonna|can|me|to|im .. do|doing|get|getting|take|taking it|this|that|care|rest", Cue::Promise, 1.0),
    ("i promise", Cue::Promise, 1.0),
    ("do|pay|send the rest|remainder|balance", Cue::Promise, 1.0),
    ("for sure", Cue::Promise, 0.6),
    ("definitely", Cue::Promise, 0.6),
    // --- Promises, Spanish
    ("le|lo|la|se|te|les|yo|los|las pago|deposito|transfiero|mando|envío|liquido|abono|doy", Cue::Promise, 1.0),
    ("^ pago", Cue::Promise, 1.0),
    ("transfiero|liquido|mando", Cue::Promise, 1.0),
    ("pago hoy", Cue::Promise, 1.0),
    ("pagar~|depositar~|transferir~|liquidar~|abonar~|mandar~", Cue::Promise, 1.0),
    ("pagaré|depositaré|transferiré", Cue::Promise, 1.0),
    ("hago la|el transferencia|depósito|pago", Cue::Promise, 1.0),
    ("lo|la hago", Cue::Promise, 1.0),
    ("estoy pagando", Cue::Promise, 1.0),
    ("paso al banco", Cue::Promise, 1.0),
    ("paso a|al .. pagar|recepción|caja", Cue::Promise, 1.0),
    ("le puedo dar", Cue::Promise, 1.0),
    ("sin falta", Cue::Promise, 0.6),
    ("se lo|la prometo", Cue::Promise, 1.0),
    // --- Today / now
    ("today|tonight", Cue::Today, 1.0),
    ("this afternoon|evening|morning", Cue::Today, 1.0),
    ("as we speak", Cue::Today, 1.0),
    ("before they close", Cue::Today, 0.6),
    ("lunch break", Cue::Today, 0.6),
    ("after lunch", Cue::Today, 0.6),
    ("in an hour", Cue::Today, 0.6),
    ("hoy", Cue::Today, 1.0),
    ("hoy mismo", Cue::Today, 1.0),
    ("al rato", Cue::Today, 1.0),
    ("esta tarde|noche|mañana", Cue::Today, 1.0),
    ("en cuanto salga|llegue", Cue::Today, 0.8),
    ("now", Cue::Now, 1.0),
    ("ahorita|ahora", Cue::Now, 1.0),
    // --- Later, without a date
    ("next week|month", Cue::Later, 1.0),
    ("payday", Cue::Later, 1.0),
    ("get|gets|got|getting paid", Cue::Payday, 1.0),
    ("my check", Cue::Later, 0.6),
    ("until next", Cue::Later, 1.0),
    ("otra|próxima semana", Cue::Later, 1.0),
    ("semana|mes que entra|viene", Cue::Later, 1.0),
    ("quincena", Cue::Later, 1.0),
    ("cuando me paguen|pagan|depositen", Cue::Later, 1.0),
    ("cuando cobre", Cue::Later, 1.0),
    ("me pagan", Cue::Payday, 0.6),
    // --- Not today
    ("not today", Cue::NotToday, 1.0),
    ("hoy no", Cue::NotToday, 1.0),
    // --- Voicemail and carrier messages
    ("leave .. message|name", Cue::Voicemail, 1.0),
    ("leave it at the beep", Cue::Voicemail, 1.0),
    ("after the tone|beep", Cue::Voicemail, 1.0),
    ("youve reached", Cue::Voicemail, 1.0),
    ("you have reached", Cue::Voicemail, 1.0),
    ("not available", Cue::Voicemail, 1.0),
    ("unavailable", Cue::Voicemail, 1.0),
    ("voicemail|mailbox", Cue::Voicemail, 1.0),
    ("record your message", Cue::Voicemail, 1.0),
    ("cant come to the phone", Cue::Voicemail, 1.0),
    ("thank you for calling", Cue::Voicemail, 1.0),
    ("office hours", Cue::Voicemail, 1.0),
    ("say your name", Cue::Voicemail, 1.0),
    ("deje|deja|déjame|dejame|déjeme su|tu mensaje|nombre", Cue::Voicemail, 1.0),
    ("después del tono", Cue::Voicemail, 1.0),
    ("buzón", Cue::Voicemail, 1.0),
    ("no está disponible", Cue::Voicemail, 1.0),
    ("no puedo contestar", Cue::Voicemail, 1.0),
    ("fuera del área", Cue::Voicemail, 1.0),
    ("se encuentra apagado", Cue::Voicemail, 1.0),
    ("ha llamado a", Cue::Voicemail, 1.0),
    ("estás llamando a", Cue::Voicemail, 1.0),
    ("no podemos atenderle|atenderte", Cue::Voicemail, 1.0),
    ("grabe su mensaje", Cue::Voicemail, 1.0),
    ("intente más tarde", Cue::Voicemail, 1.0),
    ("gracias por llamar", Cue::Voicemail, 1.0),
    ("nuestro horario", Cue::Voicemail, 1.0),
    // --- The wrong person: not a dispute of the invoice
    ("wrong number", Cue::WrongNumber, 1.0),
    ("número equivocado", Cue::WrongNumber, 1.0),
    ("equivocado|equivocada de número", Cue::WrongNumber, 1.0),
    ("no one|nobody here by that name", Cue::WrongNumber, 1.0),
    ("no vive", Cue::WrongNumber, 1.0),
    // --- A bad line
    ("cant|cannot hear anything|you|nothing", Cue::NoHear, 1.0),
    ("cant|cannot hear", Cue::NoHear, 1.0),
    ("no se escucha|oye nada", Cue::NoHear, 1.0),
    ("no se escucha|oye", Cue::NoHear, 1.0),
    ("no le|te escucho|oigo", Cue::NoHear, 1.0),
];

/// Words that open a negation scope. `sin` is not one (`sin falta` is a promise), nor is `ya`.
const NEGATORS: &[&str] = &[
    "not", "never", "dont", "wont", "cant", "cannot", "havent", "hasnt", "hadnt", "didnt",
    "doesnt", "isnt", "wasnt", "arent", "aint", "wouldnt", "couldnt", "shouldnt", "no", "nunca",
    "jamas", "tampoco", "ni",
];

/// After an English `no`, these words show it answers a question (`no, I already paid` written
/// without a comma) instead of negating what follows.
const NO_ANSWER_FOLLOWERS: &[&str] = &[
    "i", "we", "it", "that", "thats", "sir", "maam", "thanks", "thank", "no", "yes", "yeah",
];

/// `I thought I paid`, `pensé que ya lo había pagado`: a belief, not a statement of payment.
const HEDGES: &[&str] = &[
    "thought", "think", "pense", "pensaba", "crei", "creia", "creo", "remember", "acuerdo", "if",
];

/// Ends a negation scope: `no, ya pagué` written without a comma is not `no pagué`.
const SCOPE_BREAKERS: &[&str] = &["ya", "yeah", "yes", "si"];

#[derive(Debug)]
enum Slot {
    /// Any of these words; `(prefix, true)` accepts any word starting with `prefix`.
    Words(Vec<(String, bool)>),
    /// Up to two words of anything.
    Gap,
    /// The start of a clause.
    ClauseStart,
}

#[derive(Debug)]
struct Pattern {
    slots: Vec<Slot>,
    cue: Cue,
    weight: f32,
}

fn compile() -> Vec<Pattern> {
    PHRASES
        .iter()
        .map(|&(phrase, cue, weight)| Pattern {
            slots: phrase
                .split_whitespace()
                .map(|slot| match slot {
                    ".." => Slot::Gap,
                    "^" => Slot::ClauseStart,
                    s => Slot::Words(
                        s.split('|')
                            .map(|alt| (normalise(alt.trim_end_matches('~')), alt.ends_with('~')))
                            .collect(),
                    ),
                })
                .collect(),
            cue,
            weight,
        })
        .collect()
}

fn patterns() -> &'static [Pattern] {
    static PATTERNS: OnceLock<Vec<Pattern>> = OnceLock::new();
    PATTERNS.get_or_init(compile)
}

/// The end (exclusive) of a match of `slots` starting at word `at`, all in one clause.
fn match_at(slots: &[Slot], words: &[Word], at: usize, clause: u32) -> Option<usize> {
    let Some((first, rest)) = slots.split_first() else {
        return Some(at);
    };
    match first {
        Slot::ClauseStart => {
            let starts = at == 0 || words.get(at - 1).is_none_or(|w| w.clause != clause);
            if starts {
                match_at(rest, words, at, clause)
            } else {
                None
            }
        }
        Slot::Gap => (0..=2).find_map(|skip| {
            let next = at + skip;
            if skip > 0 && words.get(next - 1).is_none_or(|w| w.clause != clause) {
                return None;
            }
            match_at(rest, words, next, clause)
        }),
        Slot::Words(options) => {
            let w = words.get(at).filter(|w| w.clause == clause)?;
            let fits = options.iter().any(|(o, prefix)| {
                if *prefix {
                    w.norm.starts_with(o.as_str())
                } else {
                    *o == w.norm
                }
            });
            if fits {
                match_at(rest, words, at + 1, clause)
            } else {
                None
            }
        }
    }
}

/// Whether a negator governs the phrase starting at word `from`.
fn negated(words: &[Word], from: usize) -> bool {
    let Some(clause) = words.get(from).map(|w| w.clause) else {
        return false;
    };
    for back in 1..=4 {
        let Some(i) = from.checked_sub(back) else {
            break;
        };
        let Some(w) = words.get(i).filter(|w| w.clause == clause) else {
            break;
        };
        if SCOPE_BREAKERS.contains(&w.norm.as_str()) {
            break;
        }
        if NEGATORS.contains(&w.norm.as_str()) {
            let answers = w.norm == "no"
                && words
                    .get(i + 1)
                    .is_some_and(|n| NO_ANSWER_FOLLOWERS.contains(&n.norm.as_str()));
            if !answers {
                return true;
            }
        }
    }
    false
}

fn hedged(words: &[Word], from: usize) -> bool {
    let Some(clause) = words.get(from).map(|w| w.clause) else {
        return false;
    };
    words
        .get(..from)
        .unwrap_or(&[])
        .iter()
        .rev()
        .take_while(|w| w.clause == clause)
        .any(|w| HEDGES.contains(&w.norm.as_str()))
}

/// Every phrase of the tables found in `words`. Where phrases of the same cue overlap, the one
/// that starts first and is longest wins, so `already paid it` counts once.
pub(crate) fn find(words: &[Word]) -> Vec<Hit> {
    let mut hits: Vec<Hit> = Vec::new();
    for at in 0..words.len() {
        let Some(clause) = words.get(at).map(|w| w.clause) else {
            continue;
        };
        for p in patterns() {
            let Some(to) = match_at(&p.slots, words, at, clause) else {
                continue;
            };
            if to <= at {
                continue;
            }
            let overlaps = hits
                .iter()
                .any(|h| h.cue == p.cue && h.from < to && at < h.to);
            if overlaps {
                // Keep the longer of two overlapping phrases of one cue.
                if let Some(h) = hits
                    .iter_mut()
                    .find(|h| h.cue == p.cue && h.from == at && h.to < to)
                {
                    h.to = to;
                    h.weight = h.weight.max(p.weight);
                }
                continue;
            }
            hits.push(Hit {
                cue: p.cue,
                weight: p.weight,
                from: at,
                to,
                negated: negated(words, at),
                hedged: hedged(words, at),
            });
        }
    }
    // `I get paid today` is the customer's salary, not the invoice.
    let paydays: Vec<(usize, usize)> = hits
        .iter()
        .filter(|h| h.cue == Cue::Payday)
        .map(|h| (h.from, h.to))
        .collect();
    let wrong_numbers: Vec<(usize, usize)> = hits
        .iter()
        .filter(|h| h.cue == Cue::WrongNumber)
        .map(|h| (h.from, h.to))
        .collect();
    let inside =
        |spans: &[(usize, usize)], h: &Hit| spans.iter().any(|&(f, t)| h.from < t && f < h.to);
    hits.retain(|h| match h.cue {
        Cue::Paid => !inside(&paydays, h),
        Cue::Dispute => !inside(&wrong_numbers, h),
        _ => true,
    });
    hits
}

#[cfg(test)]
mod tests {
    use super::super::words::split;
    use super::*;

    fn cues(line: &str) -> Vec<(Cue, bool)> {
        find(&split(line))
            .into_iter()
            .map(|h| (h.cue, h.negated))
            .collect()
    }

    #[test]
    fn every_pattern_compiles_to_words() {
        for p in patterns() {
            assert!(!p.slots.is_empty(), "{p:?}");
        }
    }

    #[test]
    fn negation_reaches_three_words_back_within_a_clause() {
        assert!(cues("I haven't paid yet").contains(&(Cue::Paid, true)));
        assert!(cues("no he pagado").contains(&(Cue::Paid, true)));
        assert!(cues("No, ya pagué").contains(&(Cue::Paid, false)));
        assert!(cues("no ya pague").contains(&(Cue::Paid, false)));
        assert!(cues("no I already paid").contains(&(Cue::Paid, false)));
        assert!(cues("I won't pay today").contains(&(Cue::Promise, true)));
    }
}
