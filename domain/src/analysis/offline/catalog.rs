//! Product matching: which catalog product a message is about, with a score in 0..=1.
//!
//! Owns: an index of a tenant's catalog (name, keywords, description, plus a small built-in
//! English/Spanish dictionary of product nouns, so `audífonos` finds `headphones`) and the match
//! of a tokenised message against it. Tolerance: accents and letter runs (the tokenizer), plurals
//! (a shared light stemmer), typos (bounded Damerau edit distance through a symmetric-deletion
//! index, so no message word is compared with every term), glued words (`yogamat`).
//! Weights say how much a term identifies its product: a single-word keyword or name (0.9)
//! matches on its own, a word of a multi-word name or keyword (0.5) or of the description (0.25)
//! only together with another; a term shared by several products is split between them.
//! Must not: allocate per term at match time — the index is built once per catalog and cached.

use crate::analysis::CatalogProduct;

use super::lexicon::Lexicon;
use super::text::{hash_bytes, normalise_phrase, stem, word_hash, HashedMap, Tokens};

const SINGLE_WORD: f32 = 0.9;
const MULTI_WORD: f32 = 0.5;
const DESCRIPTION: f32 = 0.25;
/// Translations from the built-in dictionary count a little less than the tenant's own words.
const TRANSLATION: f32 = 0.8;
const FUZZY_ONE: f32 = 0.8;
const FUZZY_TWO: f32 = 0.7;
/// A product matches when its score reaches this (a single keyword, a typo of one, or two
/// weaker terms do; one description word does not).
pub(crate) const MATCH_THRESHOLD: f32 = 0.6;

#[derive(Debug, Clone, Copy)]
struct Posting {
    product: u32,
    weight: f32,
}

#[derive(Debug)]
struct Term {
    text: Box<[char]>,
    postings: Vec<Posting>,
}

/// A catalog indexed for matching. Build once per catalog version (`OfflineAnalyzer` caches it).
#[derive(Debug)]
pub(crate) struct PreparedCatalog {
    terms: Vec<Term>,
    exact: HashedMap<u32>,
    /// Symmetric-deletion index: a term, and the term with one (and, for long terms, two)
    /// characters deleted → term ids.
    deletions: HashedMap<Vec<u32>>,
    products: usize,
}

/// The best product for a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProductHit {
    /// Index into the catalog slice the index was built from.
    pub index: usize,
    pub score: f32,
    /// Indices (into `Tokens::words`) of the words that matched it.
    pub words: Vec<usize>,
}

fn deletions_of(text: &[char], out: &mut Vec<u64>) {
    let mut buf = String::with_capacity(text.len() * 2);
    for skip in 0..text.len() {
        buf.clear();
        buf.extend(
            text.iter()
                .enumerate()
                .filter(|&(i, _)| i != skip)
                .map(|(_, c)| *c),
        );
        out.push(word_hash(&buf));
    }
}

fn deletions2_of(text: &[char], out: &mut Vec<u64>) {
    let mut buf = String::with_capacity(text.len() * 2);
    for a in 0..text.len() {
        for b in (a + 1)..text.len() {
            buf.clear();
            buf.extend(
                text.iter()
                    .enumerate()
                    .filter(|&(i, _)| i != a && i != b)
                    .map(|(_, c)| *c),
            );
            out.push(word_hash(&buf));
        }
    }
}

/// Optimal-string-alignment distance (Damerau with adjacent transpositions), or `None` when it
/// exceeds `max`.
fn osa_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut prev2 = vec![0_usize; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut cur = vec![0_usize; w];
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(prev2[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

impl PreparedCatalog {
    /// Indexes `products` (their order is kept: hits refer to it).
    pub(crate) fn build(products: &[CatalogProduct], lex: &Lexicon) -> Self {
        let mut cat = PreparedCatalog {
            terms: Vec::new(),
            exact: HashedMap::default(),
            deletions: HashedMap::default(),
            products: products.len(),
        };
        for (pi, product) in products.iter().enumerate() {
            let pi = pi as u32;
            cat.add_text(pi, &product.name, lex, true);
            for keyword in &product.keywords {
                cat.add_text(pi, keyword, lex, false);
            }
            for word in normalise_phrase(&product.description) {
                cat.add_word(pi, &word, DESCRIPTION, lex);
            }
        }
        // A term several products share identifies none of them well.
        for term in &mut cat.terms {
            let mut seen: Vec<u32> = term.postings.iter().map(|p| p.product).collect();
            seen.sort_unstable();
            seen.dedup();
            let share = seen.len().max(1) as f32;
            for p in &mut term.postings {
                p.weight /= share;
            }
        }
        let mut variants = Vec::new();
        for (id, term) in cat.terms.iter().enumerate() {
            if term.text.len() < 4 {
                continue;
            }
            variants.clear();
            variants.push(word_hash(&term.text.iter().collect::<String>()));
            deletions_of(&term.text, &mut variants);
            if term.text.len() >= 7 {
                deletions2_of(&term.text, &mut variants);
            }
            for &v in &variants {
                let ids = cat.deletions.entry(v).or_default();
                if !ids.contains(&(id as u32)) {
                    ids.push(id as u32);
                }
            }
        }
        cat
    }

    /// Adds a name or keyword: its words, the words glued pairwise (`yoga mat` → `yogamat`),
    /// and dictionary translations. A one-word text weighs 0.9; in a longer keyword each word
    /// weighs 0.5 (`phone` of `phone case` is not the product). In a longer NAME the first and
    /// last words weigh 0.9 — that is where the head noun sits (`Wireless Headphones`, `Curso de
    /// Marketing`) — and the words between 0.5 (`Armor Phone Case`).
    fn add_text(&mut self, product: u32, text: &str, lex: &Lexicon, is_name: bool) {
        let words: Vec<String> = normalise_phrase(text)
            .into_iter()
            .filter(|w| !lex.is_stopword(word_hash(w)))
            .collect();
        let last = words.len().saturating_sub(1);
        for (i, word) in words.iter().enumerate() {
            let edge = is_name && (i == 0 || i == last);
            let weight = if words.len() <= 1 || edge {
                SINGLE_WORD
            } else {
                MULTI_WORD
            };
            self.add_word(product, word, weight, lex);
            for translation in lex.translations(word) {
                self.add_word(product, translation, weight * TRANSLATION, lex);
            }
        }
        for pair in words.windows(2) {
            if let [a, b] = pair {
                self.add_word(product, &format!("{a}{b}"), SINGLE_WORD, lex);
            }
        }
    }

    fn add_word(&mut self, product: u32, word: &str, weight: f32, lex: &Lexicon) {
        let h = word_hash(word);
        if word.chars().count() < 2
            || word.chars().all(|c| c.is_ascii_digit())
            || lex.is_stopword(h)
        {
            return;
        }
        let stemmed = stem(word);
        let key = word_hash(stemmed);
        let id = match self.exact.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.terms.len() as u32;
                self.terms.push(Term {
                    text: stemmed.chars().collect(),
                    postings: Vec::new(),
                });
                self.exact.insert(key, id);
                id
            }
        };
        let Some(term) = self.terms.get_mut(id as usize) else {
            return;
        };
        match term.postings.iter_mut().find(|p| p.product == product) {
            Some(p) => p.weight = p.weight.max(weight),
            None => term.postings.push(Posting { product, weight }),
        }
    }

    /// The best-scoring product at or above `MATCH_THRESHOLD`, ties to the earlier product.
    pub(crate) fn best_match(&self, toks: &Tokens<'_>, lex: &Lexicon) -> Option<ProductHit> {
        if self.products == 0 {
            return None;
        }
        let mut raw = vec![0.0_f32; self.products];
        // (product, term) pairs already counted: a repeated word does not count twice.
        let mut counted: Vec<(u32, u32)> = Vec::new();
        let mut contributions: Vec<(usize, u32)> = Vec::new();
        let mut variants = Vec::new();
        for wi in 0..toks.words.len() {
            let Some(tok) = toks.word_token(wi) else {
                continue;
            };
            let word = toks.word(wi);
            if word.len() < 2 || lex.is_stopword(tok.hash) {
                continue;
            }
            let stemmed = stem(word);
            let mut found: Vec<(u32, f32)> = Vec::new();
            if let Some(&id) = self.exact.get(&word_hash(stemmed)) {
                found.push((id, 1.0));
            } else if !lex.is_known_word(tok.hash) {
                self.fuzzy_lookup(stemmed, &mut variants, &mut found);
            }
            for (id, quality) in found {
                let Some(term) = self.terms.get(id as usize) else {
                    continue;
                };
                for p in &term.postings {
                    if counted.contains(&(p.product, id)) {
                        continue;
                    }
                    counted.push((p.product, id));
                    if let Some(r) = raw.get_mut(p.product as usize) {
                        *r += p.weight * quality;
                    }
                    contributions.push((wi, p.product));
                }
            }
        }
        let (best, &best_raw) =
            raw.iter().enumerate().fold(
                (0, &0.0_f32),
                |acc, (i, r)| if *r > *acc.1 { (i, r) } else { acc },
            );
        let score = 1.0 - (-1.6 * best_raw).exp();
        if score < MATCH_THRESHOLD {
            return None;
        }
        let words = contributions
            .iter()
            .filter(|(_, p)| *p as usize == best)
            .map(|(w, _)| *w)
            .collect();
        Some(ProductHit {
            index: best,
            score,
            words,
        })
    }

    /// Terms within the allowed edit distance of `word`: none below four letters; at four
    /// letters one inserted or dropped letter; one edit up to seven; two from eight. The first
    /// letter must agree (typos rarely hit it, and it keeps `what` away from `hat`).
    fn fuzzy_lookup(&self, word: &str, variants: &mut Vec<u64>, found: &mut Vec<(u32, f32)>) {
        let chars: Vec<char> = word.chars().collect();
        let len = chars.len();
        if len < 4 {
            return;
        }
        let max = if len >= 8 { 2 } else { 1 };
        variants.clear();
        variants.push(word_hash(word));
        deletions_of(&chars, variants);
        if max == 2 {
            deletions2_of(&chars, variants);
        }
        for v in variants.iter() {
            let Some(ids) = self.deletions.get(v) else {
                continue;
            };
            for &id in ids {
                if found.iter().any(|(f, _)| *f == id) {
                    continue;
                }
                let Some(term) = self.terms.get(id as usize) else {
                    continue;
                };
                if term.text.first() != chars.first() {
                    continue;
                }
                if len == 4 && term.text.len() == len {
                    continue;
                }
                if let Some(d) = osa_distance(&chars, &term.text, max) {
                    if d > 0 {
                        found.push((id, if d == 1 { FUZZY_ONE } else { FUZZY_TWO }));
                    }
                }
            }
        }
    }
}

/// A fingerprint of everything matching depends on (cache key of prepared catalogs).
pub(crate) fn fingerprint(products: &[CatalogProduct]) -> u64 {
    let mut h = hash_bytes(products.len() as u64, b"catalog");
    for p in products {
        h = hash_bytes(h, p.id.as_bytes());
        h = hash_bytes(h, p.name.as_bytes());
        h = hash_bytes(h, p.description.as_bytes());
        for k in &p.keywords {
            h = hash_bytes(h, k.as_bytes());
            h = hash_bytes(h, b"\x1f");
        }
        h = hash_bytes(h, b"\x1e");
    }
    h
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::text::tokenize;
    use super::*;
    use crate::money::Money;

    fn product(name: &str, description: &str, keywords: &[&str]) -> CatalogProduct {
        CatalogProduct {
            id: name.to_lowercase().replace(' ', "-"),
            name: name.into(),
            description: description.into(),
            keywords: keywords.iter().map(|k| (*k).to_owned()).collect(),
            price: Money::parse(1_000_000, "USD").unwrap(),
            purchase_link: None,
        }
    }

    fn catalog() -> Vec<CatalogProduct> {
        vec![
            product(
                "Ocean Hoodie",
                "Cotton pullover in ocean blue",
                &["hoodie", "sudadera"],
            ),
            product(
                "Bass Pro Wireless Headphones",
                "Over-ear headphones with noise cancelling",
                &[],
            ),
            product("Yoga Mat Pro", "Non-slip mat", &["yoga mat", "tapete"]),
            product("Classic Baseball Cap", "Cotton cap", &["cap", "gorra"]),
        ]
    }

    fn best(text: &str) -> Option<String> {
        let lex = Lexicon::new();
        let products = catalog();
        let cat = PreparedCatalog::build(&products, &lex);
        cat.best_match(&tokenize(text), &lex)
            .and_then(|h| products.get(h.index).map(|p| p.name.clone()))
    }

    #[test]
    fn matches_tolerate_typos_plurals_accents_and_spanish() {
        assert_eq!(best("hoddie price?").as_deref(), Some("Ocean Hoodie"));
        assert_eq!(best("SUDADERAS??").as_deref(), Some("Ocean Hoodie"));
        assert_eq!(
            best("los audífonos tienen bluetooth").as_deref(),
            Some("Bass Pro Wireless Headphones")
        );
        assert_eq!(
            best("headphnes battery").as_deref(),
            Some("Bass Pro Wireless Headphones")
        );
        assert_eq!(best("yogamat size").as_deref(), Some("Yoga Mat Pro"));
        assert_eq!(
            best("gorras negras").as_deref(),
            Some("Classic Baseball Cap")
        );
    }

    #[test]
    fn common_words_and_weak_terms_do_not_match() {
        assert_eq!(best("what time is it"), None);
        assert_eq!(best("I love cotton"), None);
        assert_eq!(best(""), None);
    }

    #[test]
    fn osa_distance_counts_transpositions_as_one_edit() {
        let a: Vec<char> = "hodie".chars().collect();
        let b: Vec<char> = "hoide".chars().collect();
        assert_eq!(osa_distance(&a, &b, 2), Some(1));
        assert_eq!(osa_distance(&a, &"x".chars().collect::<Vec<_>>(), 1), None);
    }
}
