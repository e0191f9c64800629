//! Turns a model's structured answer (the tool input / schema JSON) into the domain's `Analysis`
//! and `Reply`, and refuses answers that are malformed, out of range or not grounded.
//!
//! Rules, each because a model can break it even under a schema:
//! - required fields missing or mistyped, an unknown intent or language, confidence outside 0..=1
//!   or sentiment outside -1..=1: `LlmError::Decode` (the whole answer is suspect);
//! - a signal name we do not know: that hit is dropped (the rest of the answer stands);
//! - evidence that is not in the message: located by searching its text (exact, then ignoring
//!   case); a span that cannot be found is dropped, so every `SignalHit` points at real bytes;
//! - a product id outside the catalog: no match rather than a made-up product;
//! - the tenant's escalation keywords force `wants_human`, whatever the model said;
//! - a reply mentioning a price or link other than the matched product's exact `Money::display()`
//!   price and `purchase_link`: `LlmError::Ungrounded`. The reply is refused, never repaired:
//!   the caller falls back to a template or a human.
//!
//! Pure functions; no IO.

use serde::Deserialize;
use serde_json::Value;

use leadline_domain::analysis::{
    Analysis, AnalysisContext, Intent, Language, ProductMatch, Provider, Reply, Signal, SignalHit,
};
use leadline_domain::money::Money;

use crate::error::LlmError;
use crate::prompt::matched_product;

#[derive(Debug, Deserialize)]
struct RawAnalysis {
    intent: String,
    confidence: f64,
    sentiment: f64,
    signals: Vec<RawSignal>,
    wants_human: bool,
    matched_product_id: Option<String>,
    // Required by our schema, but tolerated when a model leaves it out: the intent confidence
    // then stands in for the match score.
    #[serde(default)]
    product_match_score: Option<f64>,
    language: String,
}

#[derive(Debug, Deserialize)]
struct RawSignal {
    signal: String,
    evidence: String,
    // Not in our schema (models are poor at byte offsets) but honoured when sent and correct.
    #[serde(default)]
    start: Option<usize>,
    #[serde(default)]
    end: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct RawReply {
    text: String,
    handoff: bool,
}

/// Builds a validated `Analysis` of `message` from a model's structured answer.
pub fn parse_analysis(
    answer: Value,
    message: &str,
    ctx: &AnalysisContext,
    provider: Provider,
) -> Result<Analysis, LlmError> {
    let raw: RawAnalysis =
        serde_json::from_value(answer).map_err(|e| LlmError::Decode(format!("analysis: {e}")))?;
    let intent =
        Intent::parse(&raw.intent).map_err(|e| LlmError::Decode(format!("analysis: {e}")))?;
    let confidence = in_range("confidence", raw.confidence, 0.0, 1.0)?;
    let sentiment = in_range("sentiment", raw.sentiment, -1.0, 1.0)?;
    let language = match raw.language.trim().to_ascii_lowercase().as_str() {
        "en" | "english" => Language::English,
        "es" | "spanish" | "español" => Language::Spanish,
        other => {
            return Err(LlmError::Decode(format!(
                "analysis: unknown language {other:?}"
            )))
        }
    };

    let mut signals: Vec<SignalHit> = Vec::new();
    for hit in raw.signals {
        let Ok(signal) = Signal::parse(&hit.signal) else {
            tracing::warn!(signal = %hit.signal, "dropping unknown signal from model output");
            continue;
        };
        if signals.iter().any(|s| s.signal == signal) {
            continue;
        }
        let span = match (hit.start, hit.end) {
            (Some(start), Some(end))
                if message.get(start..end) == Some(hit.evidence.as_str()) && start < end =>
            {
                Some((start, end))
            }
            _ => locate(message, &hit.evidence),
        };
        match span {
            Some((start, end)) => signals.push(SignalHit {
                signal,
                evidence: message[start..end].to_owned(),
                start,
                end,
            }),
            None => tracing::debug!(
                signal = signal.as_str(),
                "dropping signal whose evidence is not in the message"
            ),
        }
    }

    let matched_product = match raw
        .matched_product_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
    {
        None => None,
        Some(id) => match ctx.products.iter().find(|p| p.id == id) {
            Some(product) => {
                let score = raw.product_match_score.unwrap_or(f64::from(confidence));
                Some(ProductMatch {
                    product_id: product.id.clone(),
                    name: product.name.clone(),
                    score: score.clamp(0.0, 1.0) as f32,
                })
            }
            None => {
                tracing::warn!(
                    product_id = id,
                    "model matched a product outside the catalog; ignoring it"
                );
                None
            }
        },
    };

    let wants_human =
        raw.wants_human || mentions_escalation_keyword(message, &ctx.settings.escalation_keywords);

    Ok(Analysis {
        intent,
        confidence,
        signals,
        sentiment,
        wants_human,
        matched_product,
        language,
        provider,
    })
}

/// Builds a validated `Reply` to `message` from a model's structured answer.
pub fn parse_reply(
    answer: Value,
    analysis: &Analysis,
    ctx: &AnalysisContext,
    provider: Provider,
) -> Result<Reply, LlmError> {
    let raw: RawReply =
        serde_json::from_value(answer).map_err(|e| LlmError::Decode(format!("reply: {e}")))?;
    let text = raw.text.trim();
    if text.is_empty() {
        return Err(LlmError::Decode("reply: empty text".into()));
    }

    let product = matched_product(analysis, ctx);
    let price = product.map(|p| p.price.display());
    let allowed: Vec<&str> = price
        .iter()
        .map(String::as_str)
        .chain(product.and_then(|p| p.purchase_link.as_deref()))
        .collect();
    if let Some(mention) = ungrounded_mention(text, &allowed) {
        return Err(LlmError::Ungrounded(format!("reply mentions {mention}")));
    }

    let text = fit(text, ctx.settings.max_reply_chars);
    // Cutting happens only at sentence or word boundaries, so it cannot turn an allowed price
    // into another one; the check runs again anyway because it is cheap.
    if let Some(mention) = ungrounded_mention(&text, &allowed) {
        return Err(LlmError::Ungrounded(format!(
            "shortened reply mentions {mention}"
        )));
    }

    Ok(Reply {
        text,
        handoff: raw.handoff || analysis.wants_human,
        language: analysis.language,
        provider,
    })
}

fn in_range(field: &str, value: f64, min: f64, max: f64) -> Result<f32, LlmError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(value as f32)
    } else {
        Err(LlmError::Decode(format!(
            "analysis: {field} {value} outside {min}..={max}"
        )))
    }
}

/// Byte span of `evidence` in `message`: exact first, then ignoring case. Quotes and surrounding
/// whitespace the model added are ignored.
pub(crate) fn locate(message: &str, evidence: &str) -> Option<(usize, usize)> {
    let needle = evidence
        .trim()
        .trim_matches(|c: char| "\"'“”‘’«»".contains(c))
        .trim();
    if needle.is_empty() {
        return None;
    }
    if let Some(start) = message.find(needle) {
        return Some((start, start + needle.len()));
    }
    // Case-insensitive, char by char, so byte offsets stay those of the original message even
    // when lower-casing would change a character's length.
    for (start, _) in message.char_indices() {
        let mut rest = message[start..].char_indices();
        let mut end = start;
        let mut matched = true;
        for wanted in needle.chars() {
            match rest.next() {
                Some((offset, got)) if got.to_lowercase().eq(wanted.to_lowercase()) => {
                    end = start + offset + got.len_utf8();
                }
                _ => {
                    matched = false;
                    break;
                }
            }
        }
        if matched {
            return Some((start, end));
        }
    }
    None
}

fn mentions_escalation_keyword(message: &str, keywords: &[String]) -> bool {
    keywords
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .any(|k| locate(message, k).is_some())
}

/// Shortens `text` to at most `max_chars` characters, at the last sentence end that keeps at
/// least half of the budget, else at the last word boundary, else hard.
fn fit(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars || max_chars == 0 {
        return text.to_owned();
    }
    let cut = text
        .char_indices()
        .nth(max_chars)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..cut];
    let sentence_end = head
        .char_indices()
        .filter(|&(i, c)| {
            matches!(c, '.' | '!' | '?' | '…')
                && text[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_none_or(char::is_whitespace)
        })
        .map(|(i, c)| i + c.len_utf8())
        .next_back();
    if let Some(end) = sentence_end.filter(|&end| head[..end].chars().count() * 2 >= max_chars) {
        return head[..end].trim_end().to_owned();
    }
    if let Some((i, _)) = head.char_indices().rfind(|(_, c)| c.is_whitespace()) {
        if i > 0 {
            return head[..i].trim_end().to_owned();
        }
    }
    head.to_owned()
}

const CURRENCY_SYMBOLS: &str = "$€£¥₹₩₽₺₱¢₦₴₪฿";
const CURRENCY_WORDS: &[&str] = &[
    "dollar", "dollars", "dólar", "dólares", "dolar", "dolares", "euro", "euros", "peso", "pesos",
    "pound", "pounds", "buck", "bucks", "cent", "cents", "centavo", "centavos", "yen", "reais",
    "real", "quid", "libras", "usd", "eur", "mxn", "gbp", "cop", "ars", "clp", "pen", "brl", "cad",
    "aud",
];

/// The first price or link in `text` that is not one of `allowed` (quoted exactly, at token
/// boundaries), described for the error message.
pub(crate) fn ungrounded_mention(text: &str, allowed: &[&str]) -> Option<String> {
    let masked = mask_allowed(text, allowed);
    if let Some(url) = find_link(&masked) {
        return Some(format!("the link {url:?}"));
    }
    find_price(&masked).map(|price| format!("the price {price:?}"))
}

/// `text` with each exact, boundary-delimited occurrence of an allowed string blanked out.
fn mask_allowed(text: &str, allowed: &[&str]) -> String {
    let mut masked = text.to_owned();
    for value in allowed.iter().filter(|v| !v.is_empty()) {
        let mut from = 0;
        while let Some(pos) = masked[from..].find(value) {
            let start = from + pos;
            let end = start + value.len();
            let before_ok = masked[..start]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || "(\"'«“¿¡:".contains(c));
            // Closing punctuation may follow, as long as the token really ends there:
            // "https://x/a." ends a sentence, "https://x/a.html" is another link.
            let after = masked[end..].trim_start_matches(|c: char| ".,;:!?)]}\"'»”…".contains(c));
            let after_ok = after.chars().next().is_none_or(char::is_whitespace);
            if before_ok && after_ok {
                masked.replace_range(start..end, &" ".repeat(value.len()));
            }
            from = end;
        }
    }
    masked
}

fn find_link(text: &str) -> Option<String> {
    const TLDS: &[&str] = &[
        "com", "net", "org", "io", "co", "shop", "store", "app", "mx", "es", "ly", "me", "link",
        "info", "biz", "us", "uk",
    ];
    for raw in text.split_whitespace() {
        let token = raw
            .trim_matches(|c: char| "()[]{}<>\"'«»“”,;!?¿¡".contains(c))
            .trim_end_matches(['.', ':']);
        let lower = token.to_lowercase();
        if lower.contains("://") || lower.starts_with("www.") {
            return Some(token.to_owned());
        }
        // Bare domains ("shop.example.com/buy", "example.com"): a dotted host whose last label is
        // letters, with a path or a well-known top-level domain.
        let (host, has_path) = match lower.split_once('/') {
            Some((host, _)) => (host, true),
            None => (lower.as_str(), false),
        };
        let labels: Vec<&str> = host.split('.').collect();
        let well_formed = labels.len() >= 2
            && labels
                .iter()
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let tld = labels.last().copied().unwrap_or_default();
        if well_formed
            && tld.len() >= 2
            && tld.chars().all(|c| c.is_ascii_alphabetic())
            && (has_path || TLDS.contains(&tld))
        {
            return Some(token.to_owned());
        }
    }
    None
}

fn find_price(text: &str) -> Option<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].1.is_ascii_digit() {
            i += 1;
            continue;
        }
        // A number: digits with inner '.' or ',' separators.
        let start = i;
        let mut end = i;
        while end < chars.len() && (chars[end].1.is_ascii_digit() || ".,".contains(chars[end].1)) {
            end += 1;
        }
        while end > start && ".,".contains(chars[end - 1].1) {
            end -= 1;
        }
        let byte_start = chars[start].0;
        let byte_end = chars.get(end).map_or(text.len(), |(b, _)| *b);
        let number = &text[byte_start..byte_end];
        if is_currency_context(&text[..byte_start], true)
            || is_currency_context(&text[byte_end..], false)
        {
            return Some(number.to_owned());
        }
        i = end.max(start + 1);
    }
    None
}

/// Whether the text right before (`before == true`) or right after a number names a currency:
/// a symbol (`$19`, `19€`, `US$ 19`), an ISO-4217 code in capitals (`USD 19`, `19 MXN`), or a
/// currency word (`19 dollars`, `19 pesos`).
fn is_currency_context(side: &str, before: bool) -> bool {
    let trimmed = if before {
        side.trim_end()
    } else {
        side.trim_start()
    };
    // At most one space between the number and its currency.
    let gap = side.len() - trimmed.len();
    if gap > 1 {
        return false;
    }
    let edge = if before {
        trimmed.chars().next_back()
    } else {
        trimmed.chars().next()
    };
    if edge.is_some_and(|c| CURRENCY_SYMBOLS.contains(c)) {
        return true;
    }
    let word: String = if before {
        let rev: String = trimmed
            .chars()
            .rev()
            .take_while(|c| c.is_alphabetic())
            .collect();
        rev.chars().rev().collect()
    } else {
        trimmed.chars().take_while(|c| c.is_alphabetic()).collect()
    };
    if word.is_empty() {
        return false;
    }
    let is_iso_code = word.chars().count() == 3
        && word.chars().all(|c| c.is_ascii_uppercase())
        && Money::parse(0, &word).is_ok();
    is_iso_code || CURRENCY_WORDS.contains(&word.to_lowercase().as_str())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use leadline_domain::analysis::{AiSettings, CatalogProduct};
    use leadline_domain::channel::Channel;
    use serde_json::json;

    fn ctx() -> AnalysisContext {
        AnalysisContext {
            channel: Channel::Whatsapp,
            products: vec![CatalogProduct {
                id: "p-1".into(),
                name: "Trail Shoe".into(),
                description: "Light shoe".into(),
                keywords: vec!["shoe".into()],
                price: Money::parse(89_990_000, "USD").expect("valid money"),
                purchase_link: Some("https://shop.example/trail".into()),
            }],
            history: Vec::new(),
            settings: AiSettings {
                escalation_keywords: vec!["Abogado".into()],
                max_reply_chars: 80,
                ..AiSettings::default()
            },
        }
    }

    fn answer() -> Value {
        json!({"intent": "PURCHASE_INTENT", "confidence": 0.92, "sentiment": 0.4,
               "signals": [{"signal": "urgent", "evidence": "TODAY"},
                           {"signal": "budget_mentioned", "evidence": "not in the message"},
                           {"signal": "interested", "evidence": "want the trail shoe", "start": 2, "end": 21},
                           {"signal": "very_interested", "evidence": "want"}],
               "wants_human": false, "matched_product_id": "p-1", "product_match_score": 0.8, "language": "en"})
    }

    const MESSAGE: &str = "I want the trail shoe today";

    #[test]
    fn valid_answer_becomes_an_analysis_with_spans_checked_against_the_message() {
        let analysis = parse_analysis(answer(), MESSAGE, &ctx(), Provider::Openai).expect("valid");
        assert_eq!(analysis.intent, Intent::PurchaseIntent);
        assert_eq!(analysis.provider, Provider::Openai);
        assert_eq!(
            analysis.signals.len(),
            2,
            "unfindable evidence and unknown signals are dropped"
        );
        let urgent = &analysis.signals[0];
        assert_eq!(
            (
                urgent.signal,
                urgent.evidence.as_str(),
                urgent.start,
                urgent.end
            ),
            (Signal::Urgent, "today", 22, 27)
        );
        let interested = &analysis.signals[1];
        assert_eq!(
            &MESSAGE[interested.start..interested.end],
            "want the trail shoe"
        );
        assert_eq!(
            analysis.matched_product.map(|m| (m.product_id, m.score)),
            Some(("p-1".into(), 0.8))
        );
        assert!(!analysis.wants_human);
    }

    #[test]
    fn wrong_offsets_are_recomputed_and_escalation_keywords_force_a_human() {
        let mut value = answer();
        value["signals"] =
            json!([{"signal": "interested", "evidence": "trail shoe", "start": 0, "end": 3}]);
        value["matched_product_id"] = json!("p-999");
        let message = "Quiero hablar con un abogado sobre la trail shoe";
        let analysis = parse_analysis(value, message, &ctx(), Provider::Anthropic).expect("valid");
        let hit = &analysis.signals[0];
        assert_eq!(&message[hit.start..hit.end], "trail shoe");
        assert!(analysis.wants_human, "keyword match ignores case");
        assert_eq!(
            analysis.matched_product, None,
            "ids outside the catalog are not matches"
        );
    }

    #[test]
    fn malformed_or_out_of_range_answers_are_decode_errors() {
        let cases = [
            json!({"intent": "PURCHASE_INTENT"}),
            json!("just text"),
            {
                let mut v = answer();
                v["intent"] = json!("BUYING");
                v
            },
            {
                let mut v = answer();
                v["confidence"] = json!(1.5);
                v
            },
            {
                let mut v = answer();
                v["sentiment"] = json!(-2);
                v
            },
            {
                let mut v = answer();
                v["language"] = json!("fr");
                v
            },
            {
                let mut v = answer();
                v["confidence"] = json!("high");
                v
            },
        ];
        for case in cases {
            let result = parse_analysis(case.clone(), MESSAGE, &ctx(), Provider::Openai);
            assert!(
                matches!(result, Err(LlmError::Decode(_))),
                "{case} gave {result:?}"
            );
        }
    }

    #[test]
    fn locate_is_exact_first_then_case_insensitive_with_original_offsets() {
        assert_eq!(locate("Precio ÉL hoy", "él"), Some((7, 10)));
        assert_eq!(locate("abc", "\"b\""), Some((1, 2)));
        assert_eq!(locate("abc", "  "), None);
        assert_eq!(locate("abc", "abcd"), None);
    }

    fn analysis_with_match() -> Analysis {
        parse_analysis(answer(), MESSAGE, &ctx(), Provider::Anthropic).expect("valid")
    }

    #[test]
    fn replies_may_quote_the_matched_products_exact_price_and_link() {
        let reply = parse_reply(
            json!({"text": "The Trail Shoe is 89.99 USD. Buy it at https://shop.example/trail.", "handoff": false}),
            &analysis_with_match(),
            &ctx(),
            Provider::Anthropic,
        )
        .expect("grounded");
        assert_eq!(
            reply.text,
            "The Trail Shoe is 89.99 USD. Buy it at https://shop.example/trail."
        );
        assert_eq!(reply.language, Language::English);
    }

    #[test]
    fn invented_prices_and_links_are_refused() {
        let invented = [
            "It costs $79.",
            "It is 79.99 USD today.",
            "It is 189.99 USD today.",
            "Only 80 dollars!",
            "Cuesta 1.500 pesos.",
            "Price: USD 89.99",
            "It is 89.99 USD, see https://shop.example/trail-sale",
            "Buy at https://shop.example/trail.html",
            "Visit www.example.com",
            "Go to shop.example.com/deal",
            "Costs €89.99",
        ];
        for text in invented {
            let result = parse_reply(
                json!({"text": text, "handoff": false}),
                &analysis_with_match(),
                &ctx(),
                Provider::Openai,
            );
            assert!(
                matches!(result, Err(LlmError::Ungrounded(_))),
                "{text:?} gave {result:?}"
            );
        }
        // Without a matched product no price at all may be quoted.
        let mut unmatched = analysis_with_match();
        unmatched.matched_product = None;
        let result = parse_reply(
            json!({"text": "It is 89.99 USD.", "handoff": false}),
            &unmatched,
            &ctx(),
            Provider::Openai,
        );
        assert!(matches!(result, Err(LlmError::Ungrounded(_))));
    }

    #[test]
    fn ordinary_numbers_are_not_prices() {
        for text in [
            "We have 3 sizes, from 38 to 45.",
            "Open 9 to 5, Mon-Fri. See e.g. our FAQ.",
            "Ships in 2-3 days, 100% cotton.",
        ] {
            assert_eq!(ungrounded_mention(text, &[]), None, "{text}");
        }
    }

    #[test]
    fn long_replies_are_cut_at_a_sentence_and_handoff_follows_the_analysis() {
        let mut analysis = analysis_with_match();
        analysis.wants_human = true;
        let text = "Thanks for asking about the Trail Shoe. It is light and comfortable. It is great on rocky trails too.";
        let reply = parse_reply(
            json!({"text": text, "handoff": false}),
            &analysis,
            &ctx(),
            Provider::Openai,
        )
        .expect("ok");
        assert_eq!(
            reply.text,
            "Thanks for asking about the Trail Shoe. It is light and comfortable."
        );
        assert!(reply.handoff);
        assert!(matches!(
            parse_reply(
                json!({"text": "  ", "handoff": false}),
                &analysis,
                &ctx(),
                Provider::Openai
            ),
            Err(LlmError::Decode(_))
        ));
        assert!(matches!(
            parse_reply(json!({"text": "hi"}), &analysis, &ctx(), Provider::Openai),
            Err(LlmError::Decode(_))
        ));
    }
}
