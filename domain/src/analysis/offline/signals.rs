//! Buying signals with their evidence: interested, urgent, budget_mentioned, decision_maker,
//! comparing, not_interested, spam (ARCHITECTURE.md §4 scores them).
//!
//! Owns: turning lexicon hits into signals, each with the byte span of the words that show it
//! in the ORIGINAL message. Rules that need the intent are applied here: generic words (`need`,
//! `link`, `today`) count only in a commercial message, a refusal followed by `but … I want it`
//! is not a refusal, a spam message carries no buying signal. Interest the lexicons miss but the
//! intent model is confident about (`take 2 pls`) is reported with the word that weighs most
//! for PURCHASE_INTENT as evidence. Must not: score leads (that is `lead.rs`).

use crate::analysis::{CatalogProduct, Signal, SignalHit};

use super::lexicon::{Cat, Cue, Gate, Hit, Lexicon};
use super::text::{Kind, Tokens};

/// Spam cues must add up to this.
pub(crate) const SPAM_THRESHOLD: f32 = 1.0;

/// Spam evidence: the weighted sum of spam cues, links that are not the tenant's own, and
/// @mentions; plus the span of the strongest cue.
pub(crate) fn spam_score(
    toks: &Tokens<'_>,
    hits: &[Hit],
    products: &[CatalogProduct],
) -> (f32, Option<(usize, usize)>) {
    let mut score = 0.0_f32;
    let mut best: Option<(f32, usize, usize)> = None;
    let note = |w: f32, s: usize, e: usize, best: &mut Option<(f32, usize, usize)>| {
        if best.is_none_or(|b| w > b.0) {
            *best = Some((w, s, e));
        }
    };
    for h in hits {
        if let Cue::Signal {
            signal: Signal::Spam,
            weight,
            ..
        } = h.cue
        {
            if h.negated {
                continue;
            }
            score += weight;
            if let Some((s, e)) = toks.word_span(h.from, h.to) {
                note(weight, s, e, &mut best);
            }
        }
    }
    for tok in &toks.tokens {
        match tok.kind {
            Kind::Url => {
                let url = toks.text.get(tok.start..tok.end).unwrap_or("");
                if !is_own_link(url, products) {
                    score += 0.5;
                    note(0.5, tok.start, tok.end, &mut best);
                }
            }
            Kind::Mention => {
                score += 0.4;
                note(0.4, tok.start, tok.end, &mut best);
            }
            _ => {}
        }
    }
    (score, best.map(|(_, s, e)| (s, e)))
}

/// A link to one of the tenant's own products is not spam (customers paste them back).
fn is_own_link(url: &str, products: &[CatalogProduct]) -> bool {
    let strip = |u: &str| {
        let u = u.trim_end_matches('/');
        let u = u.split_once("://").map_or(u, |(_, rest)| rest);
        u.strip_prefix("www.").unwrap_or(u).to_ascii_lowercase()
    };
    let url = strip(url);
    products
        .iter()
        .filter_map(|p| p.purchase_link.as_deref())
        .any(|link| {
            let link = strip(link);
            let host = link.split('/').next().unwrap_or("");
            !host.is_empty() && url.starts_with(host)
        })
}

/// Byte spans of money amounts: `$90`, `90$`, `90 dollars`, `1000 pesos`, `50usd`.
pub(crate) fn money_amounts(toks: &Tokens<'_>, hits: &[Hit]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for (i, tok) in toks.tokens.iter().enumerate() {
        match tok.kind {
            Kind::Number => {
                let prev = i.checked_sub(1).and_then(|p| toks.tokens.get(p));
                let next = toks.tokens.get(i + 1);
                if let Some(p) = prev.filter(|p| p.kind == Kind::Currency && p.end == tok.start) {
                    spans.push((p.start, tok.end));
                } else if let Some(n) =
                    next.filter(|n| n.kind == Kind::Currency && n.start == tok.end)
                {
                    spans.push((tok.start, n.end));
                } else if let Some(wi) = toks.words.iter().position(|&w| w == i) {
                    let money_word = hits
                        .iter()
                        .find(|h| h.cue == Cue::Cat(Cat::MoneyWord) && h.from == wi + 1);
                    if let Some((_, end)) = money_word.and_then(|h| toks.word_span(h.from, h.to)) {
                        spans.push((tok.start, end));
                    }
                }
            }
            Kind::Word => {
                let norm = toks.norm(i);
                let digits = norm.bytes().take_while(u8::is_ascii_digit).count();
                let unit = norm.get(digits..).unwrap_or("");
                if digits > 0
                    && matches!(
                        unit,
                        "usd" | "mxn" | "eur" | "dls" | "dlls" | "pesos" | "bucks"
                    )
                {
                    spans.push((tok.start, tok.end));
                }
            }
            _ => {}
        }
    }
    spans
}

/// Bytes between two spans (0 when they touch or overlap).
fn gap(a: (usize, usize), b: (usize, usize)) -> usize {
    if b.0 >= a.1 {
        b.0 - a.1
    } else {
        a.0.saturating_sub(b.1)
    }
}

/// What the intent model contributes to signal decisions.
pub(crate) struct IntentView {
    /// The message is a product inquiry or purchase intent, or names a product.
    pub commercial: bool,
    /// Money amounts count as a budget (commercial or general questions; not complaints).
    pub amounts_are_budget: bool,
    /// Purchase intent with confidence ≥ 0.5: the word that weighs most for it.
    pub model_interest_word: Option<usize>,
    /// The message asks for a person: "I need this handled by a supervisor" is no interest,
    /// and "ya no quiero hablar con el bot" no refusal.
    pub asks_person: bool,
}

/// The words of an explicit refusal (`not interested`, `no gracias`, a bare `nah`), unless a
/// contrast follows it with interest — "I don't need another hoodie but I want it" is not one.
/// Known before the intent: the intent model uses it as a feature and never answers
/// PURCHASE_INTENT when it stands.
pub(crate) fn refusal(lex: &Lexicon, toks: &Tokens<'_>, hits: &[Hit]) -> Option<(usize, usize)> {
    let word_count = toks.words.len();
    let no = hits.iter().find_map(|h| match h.cue {
        Cue::Signal {
            signal: Signal::NotInterested,
            gate,
            ..
        } if gate != Gate::WholeMessage || (h.from == 0 && h.to == word_count) => {
            Some((h.from, h.to))
        }
        _ => None,
    })?;
    let later_interest = hits.iter().any(|h| {
        h.from >= no.1
            && !h.negated
            && matches!(
                h.cue,
                Cue::Signal {
                    signal: Signal::Interested,
                    ..
                } | Cue::Cat(Cat::Want)
            )
            && (no.1..h.from).any(|wi| {
                toks.word_token(wi)
                    .is_some_and(|t| lex.is_scope_breaker(t.hash))
            })
    });
    (!later_interest).then_some(no)
}

/// The final signals, ordered by where their evidence starts.
pub(crate) fn finalize(
    lex: &Lexicon,
    toks: &Tokens<'_>,
    hits: &[Hit],
    spam: (f32, Option<(usize, usize)>),
    view: &IntentView,
) -> Vec<SignalHit> {
    let word_count = toks.words.len();
    let mut first: [Option<(usize, usize)>; 7] = [None; 7];
    let slot = |s: Signal| Signal::ALL.iter().position(|x| *x == s).unwrap_or(0);
    for h in hits {
        let Cue::Signal { signal, gate, .. } = h.cue else {
            continue;
        };
        if matches!(signal, Signal::Spam | Signal::NotInterested) || h.negated {
            continue;
        }
        let open = match gate {
            Gate::Always => true,
            Gate::Commercial => view.commercial,
            Gate::WholeMessage => h.from == 0 && h.to == word_count,
        };
        if open && first[slot(signal)].is_none() {
            first[slot(signal)] = Some((h.from, h.to));
        }
    }
    let mut out: Vec<SignalHit> = Vec::new();
    let push = |signal: Signal, span: Option<(usize, usize)>, out: &mut Vec<SignalHit>| {
        if let Some((start, end)) = span {
            if let Some(evidence) = toks.text.get(start..end) {
                out.push(SignalHit {
                    signal,
                    evidence: evidence.to_owned(),
                    start,
                    end,
                });
            }
        }
    };

    let interested = first[slot(Signal::Interested)];
    let not_interested = refusal(lex, toks, hits);
    let is_spam = spam.0 >= SPAM_THRESHOLD;
    if is_spam {
        push(Signal::Spam, spam.1, &mut out);
    }
    let not_interested = not_interested.filter(|_| !view.asks_person);
    if let Some(no) = not_interested {
        push(Signal::NotInterested, toks.word_span(no.0, no.1), &mut out);
    } else if !is_spam && view.commercial && !view.asks_person {
        let interest_span = interested
            .and_then(|(f, t)| toks.word_span(f, t))
            .or_else(|| {
                view.model_interest_word
                    .and_then(|w| toks.word_span(w, w + 1))
            });
        push(Signal::Interested, interest_span, &mut out);
    }
    if !is_spam {
        for signal in [Signal::Urgent, Signal::DecisionMaker, Signal::Comparing] {
            push(
                signal,
                first[slot(signal)].and_then(|(f, t)| toks.word_span(f, t)),
                &mut out,
            );
        }
        let word = first[slot(Signal::BudgetMentioned)].and_then(|(f, t)| toks.word_span(f, t));
        let amounts = money_amounts(toks, hits);
        // A competitor's price ("en temu esta a 100 pesos") is not what the customer can spend.
        let competitor_price = first[slot(Signal::Comparing)].is_some();
        let amount = if (view.amounts_are_budget && !competitor_price) || word.is_some() {
            amounts.first().copied()
        } else {
            None
        };
        let budget = match (word, amount) {
            // "budget is around $100", "$90 de presupuesto": one span over both when they are
            // close, in either order.
            (Some(w), Some(a)) if gap(w, a) <= 24 => Some((w.0.min(a.0), w.1.max(a.1))),
            (Some(w), _) => Some(w),
            (None, a) => a,
        };
        push(Signal::BudgetMentioned, budget, &mut out);
    }
    out.sort_by_key(|h| (h.start, h.end));
    out
}
