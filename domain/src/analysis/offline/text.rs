//! Tokenizer and normaliser of the offline analyzer.
//!
//! Owns: splitting a message into tokens that remember their byte span in the ORIGINAL message
//! (so signal evidence can point back into it), and one canonical spelling per word: lower case,
//! accents folded (`cuánto` → `cuanto`, `ñ` → `n`), runs of a repeated letter squeezed to one
//! (`pleeease` → `please`, `holaaa` → `hola`; digits are never squeezed), apostrophes dropped
//! (`don't` → `dont`) and common chat spellings mapped to one form (`u` → `you`, `kiero` →
//! `quiero`). Lexicon entries go through the same function, so both sides always agree.
//! Emoji become tokens of a coarse class (positive, negative, laugh, …), URLs and @mentions one
//! token each. It must never panic: every slice is taken on a char boundary.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::analysis::text_norm::fold_letter as fold;

/// Only this many bytes of a message are analysed. Chat messages are short; the cap bounds the
/// cost of a pathological (megabyte) message. Evidence spans stay valid: they index the original.
pub(crate) const MAX_ANALYSED_BYTES: usize = 8 * 1024;
/// Hard cap on tokens per message, for the same reason.
pub(crate) const MAX_TOKENS: usize = 512;

/// FNV-1a over bytes: stable across runs and platforms (the model's feature buckets depend on it).
pub(crate) fn hash_bytes(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Hash of a normalised word (seed 0): the key of every lexicon table.
pub(crate) fn word_hash(norm: &str) -> u64 {
    hash_bytes(0, norm.as_bytes())
}

/// Combines two hashes (order matters).
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    (a.rotate_left(23) ^ b).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// A hasher for keys that already are good 64-bit hashes: std's SipHash would hash them again,
/// which is most of the cost of a lexicon lookup on the hot path.
#[derive(Default, Clone, Copy)]
pub(crate) struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash_bytes(self.0, bytes);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by pre-computed hashes.
pub(crate) type HashedMap<V> = HashMap<u64, V, BuildHasherDefault<PreHashed>>;

/// Coarse meaning of an emoji, enough for intent and sentiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EmojiClass {
    Positive,
    Negative,
    Laugh,
    Pray,
    Money,
    Wave,
    Neutral,
}

impl EmojiClass {
    fn norm(self) -> &'static str {
        match self {
            EmojiClass::Positive => ":pos:",
            EmojiClass::Negative => ":neg:",
            EmojiClass::Laugh => ":lol:",
            EmojiClass::Pray => ":pray:",
            EmojiClass::Money => ":money:",
            EmojiClass::Wave => ":wave:",
            EmojiClass::Neutral => ":emoji:",
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Word,
    Number,
    Emoji(EmojiClass),
    /// `?` or `¿`.
    Question,
    /// `!` or `¡`.
    Exclaim,
    /// `.`, `,`, `;`, `:` and friends: they end a negation scope.
    Stop,
    /// `$`, `€`, `£`, `¥`.
    Currency,
    Symbol,
    Url,
    Mention,
}

impl Kind {
    /// Words and numbers: what phrases are made of.
    pub(crate) fn is_wordlike(self) -> bool {
        matches!(self, Kind::Word | Kind::Number)
    }
}

/// One token: its kind, its span in the original message and its normalised form.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub kind: Kind,
    /// Byte offset in the original message (inclusive).
    pub start: usize,
    /// Byte offset in the original message (exclusive).
    pub end: usize,
    norm_start: u32,
    norm_end: u32,
    /// `word_hash` of the normalised form.
    pub hash: u64,
    /// Inside the scope of a negator (`not`, `no`, `nunca`, …); set by the lexicon.
    pub negated: bool,
    /// The original was written in capitals (two letters or more).
    pub shouted: bool,
}

/// A tokenised message.
#[derive(Debug)]
pub(crate) struct Tokens<'a> {
    /// The original message (not truncated).
    pub text: &'a str,
    buf: String,
    pub tokens: Vec<Token>,
    /// Indices (into `tokens`) of the word-like tokens, in order.
    pub words: Vec<usize>,
}

impl Tokens<'_> {
    /// The normalised form of token `i`.
    pub(crate) fn norm(&self, i: usize) -> &str {
        self.tokens
            .get(i)
            .and_then(|t| self.buf.get(t.norm_start as usize..t.norm_end as usize))
            .unwrap_or("")
    }

    /// The normalised form of the `wi`-th word.
    pub(crate) fn word(&self, wi: usize) -> &str {
        self.words.get(wi).map_or("", |&i| self.norm(i))
    }

    /// The `wi`-th word token.
    pub(crate) fn word_token(&self, wi: usize) -> Option<&Token> {
        self.words.get(wi).and_then(|&i| self.tokens.get(i))
    }

    /// Byte span in the original message covering words `from..to` (exclusive).
    pub(crate) fn word_span(&self, from: usize, to: usize) -> Option<(usize, usize)> {
        let first = self.word_token(from)?;
        let last = self.word_token(to.checked_sub(1)?)?;
        Some((first.start, last.end))
    }

    fn push(&mut self, kind: Kind, start: usize, end: usize, norm: &str, shouted: bool) {
        let norm_start = self.buf.len();
        self.buf.push_str(norm);
        self.push_normalised(kind, start, end, norm_start, shouted);
    }

    fn push_normalised(
        &mut self,
        kind: Kind,
        start: usize,
        end: usize,
        norm_start: usize,
        shouted: bool,
    ) {
        let norm_end = self.buf.len();
        let hash = word_hash(self.buf.get(norm_start..norm_end).unwrap_or(""));
        if kind.is_wordlike() {
            self.words.push(self.tokens.len());
        }
        self.tokens.push(Token {
            kind,
            start,
            end,
            norm_start: norm_start as u32,
            norm_end: norm_end as u32,
            hash,
            negated: false,
            shouted,
        });
    }
}

/// Largest char boundary `<= at`.
fn floor_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let mut i = at;
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F)
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '`' | '´')
}

/// Emoji modifiers that belong to the emoji before them (variation selectors, skin tones, ZWJ).
fn is_emoji_modifier(c: char) -> bool {
    matches!(
        c as u32,
        0xFE0E | 0xFE0F | 0x200D | 0x1F3FB..=0x1F3FF | 0x20E3
    )
}

/// Pictographs we treat as emoji.
fn emoji_class(c: char) -> Option<EmojiClass> {
    let cp = c as u32;
    let in_emoji_block = matches!(
        cp,
        0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0x2B00..=0x2BFF | 0x2300..=0x23FF | 0x3030 | 0x303D
    );
    if !in_emoji_block {
        return None;
    }
    let class = match cp {
        // smiling/heart-eyes faces, hearts, fire, 100, raised hands, clap, thumbs up, sparkles,
        // party, stars, muscle, check mark, OK hand, hugging
        0x1F600..=0x1F601
        | 0x1F603..=0x1F604
        | 0x1F606
        | 0x1F60A..=0x1F60E
        | 0x1F618
        | 0x1F970
        | 0x1F973
        | 0x1F929
        | 0x1F63B
        | 0x1F917
        | 0x2764
        | 0x2665
        | 0x1F493..=0x1F49F
        | 0x1F9E1
        | 0x1F90D
        | 0x1F5A4
        | 0x1F525
        | 0x1F4AF
        | 0x1F64C
        | 0x1F44F
        | 0x1F44D
        | 0x2728
        | 0x1F389
        | 0x2B50
        | 0x1F31F
        | 0x1F4AA
        | 0x2705
        | 0x1F44C => EmojiClass::Positive,
        // angry, pouting, eye-roll, thumbs down, unamused, sad, crying, poo, vomiting, cross
        0x1F620..=0x1F621
        | 0x1F624
        | 0x1F92C
        | 0x1F644
        | 0x1F44E
        | 0x1F612
        | 0x1F614
        | 0x1F61E..=0x1F61F
        | 0x1F615
        | 0x1F622
        | 0x1F623
        | 0x1F629
        | 0x1F62B
        | 0x1F4A9
        | 0x1F92E
        | 0x1F922
        | 0x274C => EmojiClass::Negative,
        0x1F602 | 0x1F923 | 0x1F639 | 0x1F605 => EmojiClass::Laugh,
        0x1F64F => EmojiClass::Pray,
        0x1F4B8 | 0x1F4B0 | 0x1F911 | 0x1F4B5 | 0x1F4B2 | 0x1F4B3 => EmojiClass::Money,
        0x1F44B => EmojiClass::Wave,
        _ => EmojiClass::Neutral,
    };
    Some(class)
}

/// Top-level domains that make `word.tld` a link rather than two words.
const TLDS: &[&str] = &[
    "com", "net", "org", "io", "co", "ly", "me", "gg", "xyz", "shop", "store", "app", "biz", "tv",
    "us", "mx", "es", "ar", "cl", "pe", "uk", "de", "fr", "site", "online", "club", "top", "link",
];

/// If the whitespace-delimited `chunk` is a URL (`https://…`, `www.…`, `name.tld/…`), its length
/// in bytes without trailing punctuation.
fn url_len(chunk: &str) -> Option<usize> {
    let trimmed = chunk.trim_end_matches(['.', ',', '!', '?', ')', ';', ':']);
    if trimmed.len() < 4 {
        return None;
    }
    let lower = trimmed.to_ascii_lowercase();
    if lower.contains("://") || lower.starts_with("www.") {
        return Some(trimmed.len());
    }
    let host = lower.split('/').next().unwrap_or("");
    let mut parts = host.rsplit('.');
    let tld = parts.next().unwrap_or("");
    let name = parts.next().unwrap_or("");
    let looks_like_host = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && TLDS.contains(&tld);
    looks_like_host.then_some(trimmed.len())
}

/// Chat spellings mapped to one canonical word (keys are already squeezed and folded).
fn canonical(word: &str) -> Option<&'static str> {
    Some(match word {
        // English
        "u" => "you",
        "ur" => "your",
        "r" => "are",
        "pls" | "plz" | "plez" | "pleas" | "pleaz" => "please",
        "thx" | "thanx" | "thnx" | "tnx" | "ty" | "tysm" | "thanku" => "thanks",
        "wana" => "want",
        "gime" => "give",
        "gona" => "going",
        "rn" => "now",
        "hw" => "how",
        "ppl" => "people",
        "msg" => "message",
        "bday" => "birthday",
        "gf" => "girlfriend",
        "bf" => "boyfriend",
        "pic" => "picture",
        "cuz" | "coz" | "bc" => "because",
        // Spanish
        "q" | "k" | "ke" | "qe" => "que",
        "xq" | "pq" | "porq" | "xk" => "porque",
        "tb" | "tmb" | "tmbn" => "tambien",
        "kiero" => "quiero",
        "kieres" => "quieres",
        "dnd" | "dnde" => "donde",
        "xfa" | "porfis" | "xfavor" | "porfs" => "porfa",
        "grax" | "grasias" | "graxias" => "gracias",
        "ola" => "hola",
        "aki" => "aqui",
        "bn" => "bien",
        "pa" => "para",
        "toy" => "estoy",
        "cuant" => "cuanto",
        _ => return None,
    })
}

/// Normalises one word (letters, digits, inner apostrophes) into `out`.
fn normalise_word_into(word: &str, out: &mut String) {
    let start = out.len();
    let mut last: Option<char> = None;
    for c in word.chars() {
        if is_apostrophe(c) || is_combining_mark(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            if is_combining_mark(lower) {
                continue;
            }
            let f = fold(lower);
            // Squeeze letter runs ("sooo" → "so"); digits keep their runs ("100").
            if f.is_alphabetic() && last == Some(f) {
                continue;
            }
            last = Some(f);
            out.push(f);
        }
    }
    if let Some(canon) = out.get(start..).and_then(canonical) {
        out.truncate(start);
        out.push_str(canon);
    }
}

/// The canonical form of a single word or phrase (words joined by one space), as lexicon tables
/// and the product index store it.
pub(crate) fn normalise_phrase(phrase: &str) -> Vec<String> {
    let toks = tokenize(phrase);
    toks.words
        .iter()
        .map(|&i| toks.norm(i).to_owned())
        .collect()
}

/// Splits `text` into tokens. Never panics; analyses at most `MAX_ANALYSED_BYTES`.
pub(crate) fn tokenize(text: &str) -> Tokens<'_> {
    let limit = floor_boundary(text, MAX_ANALYSED_BYTES);
    let src = text.get(..limit).unwrap_or("");
    let mut toks = Tokens {
        text,
        buf: String::with_capacity(src.len() + 16),
        tokens: Vec::with_capacity(src.len() / 3 + 2),
        words: Vec::with_capacity(src.len() / 4 + 2),
    };
    let mut i = 0;
    let mut chunk_start = true;
    while i < src.len() && toks.tokens.len() < MAX_TOKENS {
        let Some(c) = src.get(i..).and_then(|s| s.chars().next()) else {
            break;
        };
        let clen = c.len_utf8();
        if c.is_whitespace() {
            chunk_start = true;
            i += clen;
            continue;
        }
        if chunk_start {
            chunk_start = false;
            let rest = src.get(i..).unwrap_or("");
            let chunk_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            if let Some(len) = rest.get(..chunk_end).and_then(url_len) {
                toks.push(Kind::Url, i, i + len, "<url>", false);
                i += len;
                continue;
            }
        }
        if c.is_alphanumeric() {
            let end = word_end(src, i);
            let word = src.get(i..end).unwrap_or("");
            let kind = if word
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
            {
                Kind::Number
            } else {
                Kind::Word
            };
            let letters = word.chars().filter(|c| c.is_alphabetic()).count();
            let shouted = letters >= 2 && word.chars().all(|c| !c.is_lowercase());
            let norm_start = toks.buf.len();
            normalise_word_into(word, &mut toks.buf);
            toks.push_normalised(kind, i, end, norm_start, shouted);
            i = end;
            continue;
        }
        if c == '@' {
            let end = mention_end(src, i + clen);
            if end > i + clen {
                toks.push(Kind::Mention, i, end, "<mention>", false);
                i = end;
                continue;
            }
        }
        if let Some(class) = emoji_class(c) {
            let mut end = i + clen;
            // Swallow modifiers and zero-width-joined sequences (👍🏽, ❤️, 👩‍💻) into one token.
            while let Some(next) = src.get(end..).and_then(|s| s.chars().next()) {
                if is_emoji_modifier(next) {
                    end += next.len_utf8();
                    if next == '\u{200D}' {
                        if let Some(joined) = src.get(end..).and_then(|s| s.chars().next()) {
                            end += joined.len_utf8();
                        }
                    }
                } else {
                    break;
                }
            }
            toks.push(Kind::Emoji(class), i, end, class.norm(), false);
            i = end;
            continue;
        }
        let kind_norm = match c {
            '?' | '¿' => Some((Kind::Question, "?")),
            '!' | '¡' => Some((Kind::Exclaim, "!")),
            '.' | ',' | ';' | ':' | '…' | '(' | ')' | '"' | '“' | '”' => {
                Some((Kind::Stop, "."))
            }
            '$' => Some((Kind::Currency, "$")),
            '€' => Some((Kind::Currency, "€")),
            '£' => Some((Kind::Currency, "£")),
            '¥' => Some((Kind::Currency, "¥")),
            '%' => Some((Kind::Symbol, "%")),
            '#' => Some((Kind::Symbol, "#")),
            '&' => Some((Kind::Symbol, "&")),
            '/' => Some((Kind::Symbol, "/")),
            '+' => Some((Kind::Symbol, "+")),
            _ => None,
        };
        if let Some((kind, norm)) = kind_norm {
            toks.push(kind, i, i + clen, norm, false);
        }
        // Anything else (modifiers on their own, control characters, dashes) only separates.
        i += clen;
    }
    toks
}

/// End of the word starting at `start`: letters and digits, apostrophes between letters
/// (`don't`), decimal separators between digits (`5.3`, `1,000`), combining accents.
fn word_end(src: &str, start: usize) -> usize {
    let mut end = start;
    let mut prev: Option<char> = None;
    let mut iter = src.get(start..).unwrap_or("").char_indices().peekable();
    while let Some((off, c)) = iter.next() {
        let next = iter.peek().map(|&(_, n)| n);
        let keep = c.is_alphanumeric()
            || is_combining_mark(c)
            || (is_apostrophe(c)
                && prev.is_some_and(char::is_alphanumeric)
                && next.is_some_and(char::is_alphabetic))
            || (matches!(c, '.' | ',')
                && prev.is_some_and(|p| p.is_ascii_digit())
                && next.is_some_and(|n| n.is_ascii_digit()));
        if !keep {
            break;
        }
        end = start + off + c.len_utf8();
        prev = Some(c);
    }
    end
}

fn mention_end(src: &str, from: usize) -> usize {
    let mut end = from;
    for c in src.get(from..).unwrap_or("").chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' {
            end += c.len_utf8();
        } else {
            break;
        }
    }
    end
}

/// Light, language-agnostic stemmer for product matching: both the catalog and the message go
/// through it, so it only has to be consistent, not linguistically right. `ies` → `y`, then a
/// final `s`, then a final `e` (so `cases`/`case`, `colores`/`color`, `headphones`/`headphone`
/// meet); words of three letters or fewer are left alone.
pub(crate) fn stem(word: &str) -> &str {
    if word.len() <= 3 || !word.is_ascii() {
        return word;
    }
    let mut w = word;
    if let Some(base) = w.strip_suffix('s') {
        if !base.ends_with('s') && !base.ends_with('u') && !base.ends_with('i') {
            w = base;
        }
    }
    if w.len() > 3 {
        if let Some(base) = w.strip_suffix('e') {
            w = base;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norms(text: &str) -> Vec<String> {
        let t = tokenize(text);
        (0..t.tokens.len()).map(|i| t.norm(i).to_owned()).collect()
    }

    #[test]
    fn words_are_lowercased_folded_and_squeezed() {
        assert_eq!(
            norms("Cuánto CUESTA la sudaderaaa??"),
            ["cuanto", "cuesta", "la", "sudadera", "?", "?"]
        );
        assert_eq!(
            norms("pleeease u r the best"),
            ["please", "you", "are", "the", "best"]
        );
        assert_eq!(norms("don't 100 5.3"), ["dont", "100", "5.3"]);
        assert_eq!(norms("kiero uno xfa"), ["quiero", "uno", "porfa"]);
    }

    #[test]
    fn spans_point_into_the_original_message() {
        let text = "¿Cuánto cuesta? 😍😍 https://x.co/a, ok";
        let t = tokenize(text);
        for tok in &t.tokens {
            assert!(text.get(tok.start..tok.end).is_some());
        }
        let kinds: Vec<Kind> = t.tokens.iter().map(|t| t.kind).collect();
        assert!(kinds.contains(&Kind::Url));
        assert_eq!(
            t.tokens
                .iter()
                .filter(|t| t.kind == Kind::Emoji(EmojiClass::Positive))
                .count(),
            2
        );
        let first_word = t.word_token(0).map(|tok| &text[tok.start..tok.end]);
        assert_eq!(first_word, Some("Cuánto"));
    }

    #[test]
    fn decomposed_accents_fold_like_composed_ones() {
        assert_eq!(norms("cuan\u{0301}to"), ["cuanto"]);
    }

    #[test]
    fn stemmer_meets_singular_and_plural() {
        for (a, b) in [
            ("case", "cases"),
            ("color", "colores"),
            ("headphone", "headphones"),
            ("sudadera", "sudaderas"),
        ] {
            assert_eq!(stem(a), stem(b), "{a} / {b}");
        }
        assert_eq!(stem("tenis"), "tenis");
    }
}
