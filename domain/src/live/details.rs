//! The purchase-details heuristic behind the score's specificity component: does a chat message
//! name a price, a size or a quantity? Word lists for the languages we answer in.
//!
//! Owns: the word and phrase tables and [`mentions_price_size_or_quantity`]. Must not: score
//! (that is [`super::score`]) or classify intents (that is [`crate::analysis`]).

/// Words (lower case, whole tokens) that name a price, a size or a quantity, in the languages we
/// answer in (English, Spanish). Single letters like "s"/"m"/"l" are left out on purpose: they are
/// too common in chat to mean a size.
const DETAIL_WORDS: &[&str] = &[
    // price
    "price", "prices", "pricing", "cost", "costs", "usd", "eur", "dollars", "bucks", "precio",
    "precios", "cuesta", "cuestan", "cuánto", "cuanto", "cuánta", "pesos", "euros", "dólares",
    // size
    "size", "sizes", "sizing", "xs", "xl", "xxl", "xxxl", "small", "medium", "large", "talla",
    "tallas", "mediana", "grande", // quantity
    "quantity", "pieces", "pcs", "units", "pair", "pairs", "dozen", "cantidad", "piezas",
    "unidades", "docena", "par",
];

/// Phrases (lower case, substrings) that ask for a price.
const DETAIL_PHRASES: &[&str] = &["how much", "qué precio", "que precio"];

/// Whether a chat message mentions a price, a size or a quantity: a currency sign, a number
/// ("2 of them", "size 10", "49.99"), or one of a short list of words. A cheap, explainable
/// heuristic on purpose: it only feeds the specificity component, which is capped.
///
/// `@mentions`, `#hashtags` and links are skipped, so "@user123" is not a quantity.
pub fn mentions_price_size_or_quantity(message: &str) -> bool {
    let lower = message.to_lowercase();
    if DETAIL_PHRASES.iter().any(|p| lower.contains(p)) {
        return true;
    }
    lower
        .split_whitespace()
        .filter(|t| !t.starts_with('@') && !t.starts_with('#') && !t.contains("://"))
        .any(|token| {
            token.contains(['$', '€', '£'])
                || token.chars().any(|c| c.is_ascii_digit())
                || token
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|word| DETAIL_WORDS.contains(&word))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- detail heuristic ----

    #[test]
    fn detail_heuristic_table() {
        let yes = [
            "how much is it?",
            "HOW MUCH",
            "$50?",
            "is it under 40€",
            "I want 2",
            "size 10 please",
            "do you have XL",
            "what's the price",
            "¿cuánto cuesta?",
            "¿qué talla?",
            "3 pairs",
            "49.99?",
            "x2",
        ];
        let no = [
            "hello",
            "love this stream",
            "@user123 hi",
            "#ad1 nice",
            "see https://x.io/a1",
            "is it soft",
            "m or l",
            "",
        ];
        for m in yes {
            assert!(
                mentions_price_size_or_quantity(m),
                "{m:?} should mention details"
            );
        }
        for m in no {
            assert!(
                !mentions_price_size_or_quantity(m),
                "{m:?} should not mention details"
            );
        }
    }
}
