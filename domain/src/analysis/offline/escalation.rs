//! Does the customer want a person? An explicit request (`can I talk to a real person`,
//! `pásame con un asesor`, `human please`) or one of the tenant's escalation keywords.
//!
//! Owns: the weighted combination of request cues (a contact verb, a person noun, a wish, a
//! mention of the bot) and the tenant-keyword match. A request needs cues that add up to 1: a
//! strong noun (`human`, `agent`) and a verb, or a weak noun (`someone`) with a verb and a wish;
//! a strong noun alone counts only when it is (almost) the whole message. Negated cues
//! (`I don't need a human`) do not count. Must not: decide the hand-off policy (counts, tickets)
//! — `reply` and the application services do that.

use super::lexicon::{Cue, Hit};
use super::text::{tokenize, Tokens};

/// Score from which a message is an explicit request for a person.
pub(crate) const REQUEST_THRESHOLD: f32 = 1.0;

/// Sum of the request cues found in the message (each word counted once, longest phrase first).
pub(crate) fn request_score(toks: &Tokens<'_>, hits: &[Hit]) -> f32 {
    let mut cues: Vec<(usize, usize, f32, bool)> = hits
        .iter()
        .filter(|h| !h.negated)
        .filter_map(|h| match h.cue {
            Cue::Human { weight, strong, .. } => Some((h.from, h.to, weight, strong)),
            _ => None,
        })
        .collect();
    // Longest first so `real person` counts once rather than as `real` + `person`.
    cues.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
    let mut taken: Vec<(usize, usize)> = Vec::new();
    let mut score = 0.0;
    let mut strong = false;
    for (from, to, weight, is_strong) in cues {
        if taken.iter().any(|&(f, t)| from < t && f < to) {
            continue;
        }
        taken.push((from, to));
        score += weight;
        strong |= is_strong;
    }
    if strong && toks.words.len() <= 3 {
        score += 0.5;
    }
    score
}

/// Whether a cue of being ignored or asking again is in the message (not negated).
pub(crate) fn frustrated(hits: &[Hit]) -> bool {
    hits.iter().any(|h| {
        !h.negated
            && matches!(
                h.cue,
                Cue::Human {
                    frustration: true,
                    ..
                }
            )
    })
}

/// Byte span of the first tenant escalation keyword found in the message. Keywords are
/// normalised like messages (case, accents, letter runs); the last word of a keyword also
/// matches longer forms of itself when it has five letters or more (`refund` finds `refunded`,
/// `reembolso` finds `reembolsos`).
pub(crate) fn keyword_span(toks: &Tokens<'_>, keywords: &[String]) -> Option<(usize, usize)> {
    for keyword in keywords {
        let kw = tokenize(keyword);
        let n = kw.words.len();
        if n == 0 || n > toks.words.len() {
            continue;
        }
        for start in 0..=(toks.words.len() - n) {
            let all = (0..n).all(|k| {
                let (Some(m), Some(w)) = (toks.word_token(start + k), kw.word_token(k)) else {
                    return false;
                };
                if m.hash == w.hash {
                    return true;
                }
                let wanted = kw.word(k);
                k == n - 1
                    && wanted.chars().count() >= 5
                    && toks.word(start + k).starts_with(wanted)
            });
            if all {
                return toks.word_span(start, start + n);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::lexicon::Lexicon;
    use super::*;

    fn score(text: &str) -> f32 {
        let lex = Lexicon::new();
        let mut toks = tokenize(text);
        lex.mark_negation(&mut toks);
        let mut hits = Vec::new();
        lex.scan(&toks, &mut hits);
        request_score(&toks, &hits)
    }

    #[test]
    fn explicit_requests_reach_the_threshold() {
        for text in [
            "can I talk to a real person",
            "quiero hablar con una persona",
            "pásame con un asesor por favor",
            "human please",
            "me comunican con soporte?",
        ] {
            assert!(score(text) >= REQUEST_THRESHOLD, "{text}: {}", score(text));
        }
    }

    #[test]
    fn mentions_that_are_not_requests_stay_below() {
        for text in [
            "alguien de mexico?",
            "I don't need to talk to a human",
            "the agent was nice",
            "call me maybe",
        ] {
            assert!(score(text) < REQUEST_THRESHOLD, "{text}: {}", score(text));
        }
    }

    #[test]
    fn tenant_keywords_match_whole_words_and_longer_forms() {
        let keywords = vec!["Refund".to_owned(), "cancel my order".to_owned()];
        let text = "I was REFUNDED twice?";
        let toks = tokenize(text);
        assert_eq!(
            keyword_span(&toks, &keywords).map(|(s, e)| &text[s..e]),
            Some("REFUNDED")
        );
        assert_eq!(
            keyword_span(&tokenize("please cancel my order"), &keywords),
            Some((7, 22))
        );
        assert_eq!(keyword_span(&tokenize("refun"), &keywords), None);
    }
}
