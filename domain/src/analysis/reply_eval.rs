//! Evaluation of suggested replies (`leadline eval --task replies`): is each reply in the
//! language of the message it answers, is it grounded (every price and link in it is one of the
//! catalog's, verbatim — nothing invented), and was an attribute question answered from the
//! description or honestly declined.
//!
//! Owns: the reply eval line format — `{"text", "lang", "channel"?, "attribute"?, "mustContain"?}`
//! where `attribute` is `"answered"` (then every `mustContain` string must be in the reply,
//! accents and case aside) or `"declined"` (the reply must say the description does not tell) —
//! and the three scores. Its language check is its own small function-word count, independent of
//! any analyzer's lexicon, so a provider cannot pass by agreeing with itself.
//! Must not: import `offline` (the caller passes the replies) or read clocks or files.

use serde::{Deserialize, Serialize};

use crate::analysis::text_norm::fold_letter;
use crate::analysis::{CatalogProduct, Language, Reply};

use super::eval::EvalError;

/// What an attribute question should get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttributeExpectation {
    /// The description holds the answer: the reply gives it.
    Answered,
    /// The description is silent: the reply says so.
    Declined,
}

/// One message whose reply is scored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReplyExample {
    pub text: String,
    /// The language the reply must be in (`en` or `es`).
    pub lang: String,
    /// Where the message was written (`live_chat`, `dm`, `support_chat`, `phone_call`).
    #[serde(default)]
    pub channel: Option<String>,
    #[serde(default)]
    pub attribute: Option<AttributeExpectation>,
    /// Words an answered attribute question's reply must contain.
    #[serde(default)]
    pub must_contain: Vec<String>,
}

impl ReplyExample {
    /// The expected language.
    pub fn language(&self) -> Option<Language> {
        match self.lang.as_str() {
            "en" => Some(Language::English),
            "es" => Some(Language::Spanish),
            _ => None,
        }
    }
}

/// Parses a reply eval file (JSON Lines; blank lines and `//` lines are skipped).
pub fn parse_reply_examples(jsonl: &str) -> Result<Vec<ReplyExample>, EvalError> {
    let mut out = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let err = |message: String| EvalError::Line {
            line: i + 1,
            message,
        };
        let example: ReplyExample =
            serde_json::from_str(trimmed).map_err(|e| err(e.to_string()))?;
        if example.language().is_none() {
            return Err(err(format!(
                "unknown language {:?} (use \"en\" or \"es\")",
                example.lang
            )));
        }
        out.push(example);
    }
    Ok(out)
}

/// One reply that failed a check, for reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyFailure {
    pub text: String,
    pub reply: String,
    /// `language`, `grounding` or `attribute`, with what was wrong.
    pub reason: String,
}

/// The scores of a reply evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyReport {
    pub examples: usize,
    /// Replies in the language of their message.
    pub language_accuracy: f64,
    /// Replies whose every price and link is the catalog's, verbatim.
    pub grounding: f64,
    /// Attribute questions scored.
    pub attribute_scored: usize,
    /// Attribute questions answered when the description holds the answer, declined otherwise.
    pub attribute_accuracy: f64,
    pub failures: Vec<ReplyFailure>,
}

const SPANISH_WORDS: &[&str] = &[
    "el",
    "la",
    "los",
    "las",
    "es",
    "de",
    "del",
    "que",
    "por",
    "para",
    "con",
    "tu",
    "te",
    "su",
    "se",
    "una",
    "un",
    "aqui",
    "puedes",
    "puede",
    "cuesta",
    "gracias",
    "hola",
    "si",
    "dice",
    "tiene",
    "viene",
    "nuestro",
    "nuestra",
    "equipo",
    "persona",
    "y",
    "en",
    "lo",
    "me",
    "mas",
    "algo",
    "ayudo",
    "pedido",
    "precio",
    "comprarlo",
    "enlace",
    "lamento",
    "numero",
];
const ENGLISH_WORDS: &[&str] = &[
    "the", "is", "it", "you", "your", "can", "here", "thanks", "thank", "our", "team", "with",
    "for", "its", "of", "and", "to", "a", "we", "i", "buy", "link", "order", "price", "hi", "help",
    "yes", "doesn", "t", "say", "someone", "anything", "else", "sorry", "what", "which",
];

/// The reply's language by its function words (product names, links and prices removed).
fn reply_language(text: &str, catalog: &[CatalogProduct]) -> Option<Language> {
    let mut rest = text.to_owned();
    for p in catalog {
        rest = rest.replace(p.name.trim(), " ");
        if let Some(link) = &p.purchase_link {
            rest = rest.replace(link.as_str(), " ");
        }
    }
    let marks = rest
        .chars()
        .filter(|c| matches!(c, '¿' | '¡' | 'ñ' | 'á' | 'é' | 'í' | 'ó' | 'ú'))
        .count();
    let words = fold_words(&rest);
    let es = words
        .iter()
        .filter(|w| SPANISH_WORDS.contains(&w.as_str()))
        .count()
        + marks;
    let en = words
        .iter()
        .filter(|w| ENGLISH_WORDS.contains(&w.as_str()))
        .count();
    match es.cmp(&en) {
        std::cmp::Ordering::Greater => Some(Language::Spanish),
        std::cmp::Ordering::Less => Some(Language::English),
        std::cmp::Ordering::Equal => None,
    }
}

fn fold_words(text: &str) -> Vec<String> {
    let folded: String = text
        .chars()
        .flat_map(char::to_lowercase)
        .map(fold_letter)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    folded.split_whitespace().map(str::to_owned).collect()
}

/// What in `text` is not from the catalog: a link that is no product's, a price that is no
/// product's display, or any currency-symbol amount (catalog prices never use symbols).
fn ungrounded(text: &str, catalog: &[CatalogProduct]) -> Vec<String> {
    let mut wrong = Vec::new();
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let trim = |t: &str| {
        t.trim_end_matches(['.', ',', ';', ':', '!', '?', ')'])
            .to_owned()
    };
    for (i, raw) in tokens.iter().enumerate() {
        let tok = trim(raw);
        if tok.starts_with("http://") || tok.starts_with("https://") {
            if !catalog
                .iter()
                .any(|p| p.purchase_link.as_deref() == Some(tok.as_str()))
            {
                wrong.push(tok.clone());
            }
            continue;
        }
        if tok.starts_with(['$', '€', '£', '¥'])
            && tok.chars().nth(1).is_some_and(|c| c.is_ascii_digit())
        {
            wrong.push(tok.clone());
            continue;
        }
        let is_amount = tok.chars().next().is_some_and(|c| c.is_ascii_digit())
            && tok
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
        let currency = tokens.get(i + 1).map(|t| trim(t));
        if let (true, Some(code)) = (is_amount, currency) {
            if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
                let quoted = format!("{tok} {code}");
                if !catalog.iter().any(|p| p.price.display() == quoted) {
                    wrong.push(quoted);
                }
            }
        }
    }
    wrong
}

/// Declining phrases: the reply said the description does not tell.
const DECLINES: &[&str] = &[
    "doesn t say",
    "does not say",
    "no dice",
    "no indica",
    "no menciona",
];

fn attribute_ok(example: &ReplyExample, reply: &str) -> Option<bool> {
    let expected = example.attribute?;
    let words = fold_words(reply).join(" ");
    let declined = DECLINES.iter().any(|d| words.contains(d));
    Some(match expected {
        AttributeExpectation::Declined => declined,
        AttributeExpectation::Answered => {
            !declined
                && example
                    .must_contain
                    .iter()
                    .all(|m| words.contains(&fold_words(m).join(" ")))
        }
    })
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Scores `replies` (one per example, same order) against `catalog`.
pub fn score_replies(
    examples: &[ReplyExample],
    replies: &[Reply],
    catalog: &[CatalogProduct],
) -> ReplyReport {
    let (mut lang_ok, mut grounded, mut attr_scored, mut attr_ok) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut fail = |ex: &ReplyExample, reply: &Reply, reason: String| {
        failures.push(ReplyFailure {
            text: ex.text.clone(),
            reply: reply.text.clone(),
            reason,
        });
    };
    for (ex, reply) in examples.iter().zip(replies) {
        let detected = reply_language(&reply.text, catalog);
        if detected.is_some() && detected == ex.language() {
            lang_ok += 1;
        } else {
            fail(
                ex,
                reply,
                format!("language: wanted {}, read {detected:?}", ex.lang),
            );
        }
        let wrong = ungrounded(&reply.text, catalog);
        if wrong.is_empty() {
            grounded += 1;
        } else {
            fail(
                ex,
                reply,
                format!("grounding: not in the catalog: {}", wrong.join(", ")),
            );
        }
        if let Some(ok) = attribute_ok(ex, &reply.text) {
            attr_scored += 1;
            if ok {
                attr_ok += 1;
            } else {
                fail(ex, reply, format!("attribute: expected {:?}", ex.attribute));
            }
        }
    }
    let n = examples.len().min(replies.len());
    ReplyReport {
        examples: n,
        language_accuracy: ratio(lang_ok, n),
        grounding: ratio(grounded, n),
        attribute_scored: attr_scored,
        attribute_accuracy: ratio(attr_ok, attr_scored),
        failures,
    }
}

impl ReplyReport {
    /// A plain-text rendering.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(s, "replies: {}", self.examples);
        let _ = writeln!(s, "language match: {:.3}", self.language_accuracy);
        let _ = writeln!(
            s,
            "grounding (prices and links verbatim): {:.3}",
            self.grounding
        );
        let _ = writeln!(
            s,
            "attribute answered or declined: {:.3} ({} scored)",
            self.attribute_accuracy, self.attribute_scored
        );
        for f in &self.failures {
            let _ = writeln!(s, "  {}: {} → {}", f.reason, f.text, f.reply);
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::analysis::eval::parse_catalog;
    use crate::analysis::Provider;

    fn catalog() -> Vec<CatalogProduct> {
        parse_catalog(r#"[{"name":"Ocean Hoodie","description":"Cotton hoodie.","priceMicros":49990000,"currency":"USD","purchaseLink":"https://shop.example/h","keywords":["hoodie"]}]"#).unwrap()
    }

    fn reply(text: &str) -> Reply {
        Reply {
            text: text.into(),
            handoff: false,
            language: Language::English,
            provider: Provider::Offline,
        }
    }

    #[test]
    fn a_good_reply_passes_every_check_and_bad_ones_fail_the_right_one() {
        let examples = parse_reply_examples(
            r#"{"text":"es de algodon la sudadera?","lang":"es","attribute":"answered","mustContain":["algodón"]}
{"text":"is it waterproof","lang":"en","attribute":"declined"}
{"text":"cuanto cuesta","lang":"es"}
{"text":"price?","lang":"en"}"#,
        )
        .unwrap();
        let replies = [
            reply("Es de algodón. Ocean Hoodie cuesta 49.99 USD. Puedes comprarlo aquí: https://shop.example/h"),
            reply("The product description doesn't say whether it's waterproof. The Ocean Hoodie is 49.99 USD."),
            // English answer to a Spanish question, with an invented price.
            reply("The Ocean Hoodie is 39.99 USD."),
            // An invented link and a symbol price.
            reply("It's $10, buy it at https://elsewhere.example/x"),
        ];
        let r = score_replies(&examples, &replies, &catalog());
        assert_eq!(r.examples, 4);
        assert!((r.language_accuracy - 0.75).abs() < 1e-9, "{r:#?}");
        assert!((r.grounding - 0.5).abs() < 1e-9, "{r:#?}");
        assert_eq!(r.attribute_scored, 2);
        assert!((r.attribute_accuracy - 1.0).abs() < 1e-9);
        assert!(r.render_text().contains("language match: 0.750"));
        assert!(parse_reply_examples(r#"{"text":"x","lang":"fr"}"#).is_err());
    }
}
