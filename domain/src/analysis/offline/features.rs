//! Feature extraction for the intent model: hashed sparse features of one message.
//!
//! Owns: the feature set — word unigrams (negated words are distinct features), word bigrams
//! with start/end markers, character 3- and 4-grams of each word (robust to typos and
//! inflection), lexicon categories and raw signal cues (negated or not), the request-for-a-person
//! and spam scores, whether a product matched, sentiment and message shape (question, shout,
//! emoji only, length). Words that matched a product are replaced by one `<prod>` placeholder so
//! the model learns "asks about a product", not "asks about hoodies" — it then carries to any
//! tenant's catalog. Hashing into a fixed table keeps the model a flat array with no vocabulary
//! to store. Must not: allocate per feature beyond the output vector (hot path).

use crate::analysis::Signal;

use super::lexicon::{Cue, Hit};
use super::text::{hash_bytes, mix, word_hash, Kind, Tokens};

/// log2 of the number of feature buckets.
pub(crate) const BUCKET_BITS: u32 = 16;
/// Number of feature buckets.
pub(crate) const BUCKETS: usize = 1 << BUCKET_BITS;

/// One active feature: bucket and value.
pub(crate) type Feature = (u32, f32);

const NS_BIAS: u64 = 1;
const NS_WORD: u64 = 2;
const NS_NEG_WORD: u64 = 3;
const NS_BIGRAM: u64 = 4;
const NS_CHAR: u64 = 5;
const NS_CAT: u64 = 6;
const NS_SIGNAL: u64 = 7;
const NS_FLAG: u64 = 8;
const NS_CAT_PAIR: u64 = 9;

fn bucket(h: u64) -> u32 {
    // Fold the high bits in: FNV's low bits alone are weak for short keys.
    let h = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (h >> (64 - BUCKET_BITS)) as u32
}

fn flag(name: &str) -> u32 {
    bucket(hash_bytes(NS_FLAG, name.as_bytes()))
}

/// What the extractor needs besides the tokens.
pub(crate) struct Context<'h> {
    pub hits: &'h [Hit],
    /// Word indices that matched the product.
    pub product_words: &'h [usize],
    pub has_product: bool,
    pub request_score: f32,
    pub spam_score: f32,
    pub sentiment: f32,
    /// An explicit refusal stands (`signals::refusal`).
    pub refusal: bool,
    /// Lengths of the character n-grams taken from each word, inclusive (`TrainParams`).
    pub char_grams: (usize, usize),
}

/// The unigram bucket of word `wi` (used to explain which word weighs most for an intent).
pub(crate) fn word_bucket(toks: &Tokens<'_>, wi: usize, product_words: &[usize]) -> Option<u32> {
    let tok = toks.word_token(wi)?;
    let key = word_key(tok.kind, tok.hash, product_words.contains(&wi));
    let ns = if tok.negated { NS_NEG_WORD } else { NS_WORD };
    Some(bucket(mix(ns, key)))
}

fn word_key(kind: Kind, hash: u64, is_product: bool) -> u64 {
    if is_product {
        word_hash("<prod>")
    } else if kind == Kind::Number {
        word_hash("<num>")
    } else {
        hash
    }
}

/// Fills `out` with the message's features, L2-normalised (the bias stays 1).
pub(crate) fn extract(toks: &Tokens<'_>, ctx: &Context<'_>, out: &mut Vec<Feature>) {
    out.clear();
    let mut wi = 0_usize;
    let mut prev_key = word_hash("^");
    let mut gram = Vec::with_capacity(32);
    let mut questions = 0_u32;
    let mut exclaims = 0_u32;
    let mut shouted = false;
    for tok in &toks.tokens {
        match tok.kind {
            Kind::Word | Kind::Number => {
                let is_product = ctx.product_words.contains(&wi);
                let key = word_key(tok.kind, tok.hash, is_product);
                let ns = if tok.negated { NS_NEG_WORD } else { NS_WORD };
                out.push((bucket(mix(ns, key)), 1.0));
                out.push((bucket(mix(mix(NS_BIGRAM, prev_key), key)), 0.7));
                prev_key = key;
                shouted |= tok.shouted;
                if tok.kind == Kind::Word && !is_product {
                    let norm = toks.norm(toks.words.get(wi).copied().unwrap_or(usize::MAX));
                    if norm.len() >= 3 {
                        gram.clear();
                        gram.push(b'<');
                        gram.extend_from_slice(norm.as_bytes());
                        gram.push(b'>');
                        for n in ctx.char_grams.0..=ctx.char_grams.1 {
                            for window in gram.windows(n) {
                                out.push((bucket(hash_bytes(NS_CHAR + n as u64, window)), 0.35));
                            }
                        }
                    }
                }
                wi += 1;
            }
            Kind::Question => questions += 1,
            Kind::Exclaim => exclaims += 1,
            Kind::Stop => {}
            Kind::Emoji(_) | Kind::Url | Kind::Mention | Kind::Currency | Kind::Symbol => {
                out.push((bucket(mix(NS_WORD, tok.hash)), 1.0));
            }
        }
    }
    out.push((bucket(mix(mix(NS_BIGRAM, prev_key), word_hash("$"))), 0.7));
    // Categories present (negated ones apart), and every pair of them: "want" + "refund" is a
    // complaint, "want" + "link" a purchase — the model learns such conjunctions only if it
    // sees them as features.
    let mut cats: u64 = 0;
    for h in ctx.hits {
        let negated = u64::from(h.negated);
        match h.cue {
            Cue::Cat(cat) => {
                let id = cat.id() * 2 + negated;
                out.push((bucket(mix(NS_CAT, id)), 1.2));
                cats |= 1 << id;
            }
            // Refusals enter through `ctx.refusal`, after the contrast rule.
            Cue::Signal {
                signal: Signal::NotInterested,
                ..
            } => {}
            Cue::Signal { signal, .. } => {
                let id = signal as u64;
                out.push((bucket(mix(NS_SIGNAL, id * 2 + negated)), 1.0));
            }
            Cue::Human { .. } => {}
        }
    }
    for a in 0..64_u64 {
        if cats & (1 << a) == 0 {
            continue;
        }
        for b in (a + 1)..64 {
            if cats & (1 << b) != 0 {
                out.push((bucket(mix(NS_CAT_PAIR, a * 64 + b)), 0.8));
            }
        }
    }
    let words = toks.words.len();
    let mut flags: Vec<(&str, f32)> = Vec::with_capacity(8);
    if ctx.request_score >= 1.0 {
        flags.push(("request", 1.5));
    } else if ctx.request_score >= 0.5 {
        flags.push(("request-weak", 1.0));
    }
    if ctx.refusal {
        flags.push(("refusal", 1.5));
    }
    if ctx.spam_score >= 1.0 {
        flags.push(("spam", 1.5));
    } else if ctx.spam_score >= 0.5 {
        flags.push(("spam-weak", 1.0));
    }
    flags.push(if ctx.has_product {
        ("product", 1.2)
    } else {
        ("no-product", 1.0)
    });
    if ctx.sentiment > 0.2 {
        flags.push(("positive", 2.0 * ctx.sentiment));
    } else if ctx.sentiment < -0.2 {
        flags.push(("negative", -2.0 * ctx.sentiment));
    }
    if questions > 0 {
        flags.push(("question", 1.0));
    }
    if exclaims > 0 {
        flags.push(("exclaim", 1.0));
    }
    if shouted {
        flags.push(("shouted", 1.0));
    }
    flags.push(match words {
        0 => ("len0", 1.0),
        1 => ("len1", 1.0),
        2..=3 => ("len2-3", 1.0),
        4..=7 => ("len4-7", 1.0),
        8..=15 => ("len8-15", 1.0),
        _ => ("len16+", 1.0),
    });
    for (name, value) in flags {
        out.push((flag(name), value));
    }
    let norm = out.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, v) in out.iter_mut() {
            *v /= norm;
        }
    }
    out.push((bucket(NS_BIAS), 1.0));
}
