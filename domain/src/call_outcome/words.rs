//! Word splitting for call transcripts.
//!
//! Owns: turning one transcript line into normalised words that remember their byte span in the
//! ORIGINAL line (evidence quotes the customer verbatim), the sentence and clause each word is
//! in, and the numbers written with digits. Normalisation is the offline analyzer's: lower case,
//! accents folded with [`crate::analysis::offline::fold_letter`] (`pagué` → `pague`, `mañana`
//! → `manana`), apostrophes dropped (`I'll` → `ill`, `haven't` → `havent`), so lexicon entries
//! written with or without accents meet the same words. Text in square brackets (`[inaudible]`,
//! `[se corta la llamada]`) is a transcriber's note, not speech, and is skipped.
//! Must not: panic on any input — every slice is taken on a char boundary — or look at more than
//! [`MAX_LINE_BYTES`] of a line.

use crate::analysis::text_norm::fold_letter;

/// Only this many bytes of a line are read: a spoken turn is short, and the cap bounds the cost
/// of a pathological transcript.
pub(crate) const MAX_LINE_BYTES: usize = 4 * 1024;
/// Hard cap on words per line, for the same reason.
pub(crate) const MAX_WORDS: usize = 400;

/// One word of a line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Word {
    /// Normalised spelling (see the module docs); `$`, `€` and `£` stand as their own words.
    pub norm: String,
    /// Byte offset in the original line (inclusive).
    pub start: usize,
    /// Byte offset in the original line (exclusive).
    pub end: usize,
    /// Index of the sentence (split at `.`, `?`, `!`).
    pub sentence: u32,
    /// Index of the clause (split at any punctuation and before `but` / `pero`): negation
    /// scopes and phrases never cross one.
    pub clause: u32,
    /// The value in micros, when the word is a number written with digits (`120`, `1,200`,
    /// `89.99`, `15th`).
    pub micros: Option<i64>,
    /// An ordinal written with digits (`15th`, `1st`).
    pub ordinal: bool,
}

/// Words that open a new clause: what follows a contrast is a new statement (`I can't pay
/// today, but I'll pay Friday`; `hoy no puedo pero el viernes sí`).
const CONTRASTS: &[&str] = &["but", "pero", "although", "aunque", "sino"];

/// Splits `line` into words. Never panics.
pub(crate) fn split(line: &str) -> Vec<Word> {
    let mut limit = line.len().min(MAX_LINE_BYTES);
    while limit > 0 && !line.is_char_boundary(limit) {
        limit -= 1;
    }
    let src = line.get(..limit).unwrap_or("");
    let mut words: Vec<Word> = Vec::new();
    let (mut sentence, mut clause) = (0_u32, 0_u32);
    let mut in_brackets = false;
    let mut iter = src.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if words.len() >= MAX_WORDS {
            break;
        }
        if in_brackets {
            if c == ']' {
                in_brackets = false;
                clause += 1;
            }
            continue;
        }
        if c.is_alphanumeric() {
            let end = word_end(src, i);
            let raw = src.get(i..end).unwrap_or("");
            let norm = normalise(raw);
            if CONTRASTS.contains(&norm.as_str()) {
                clause += 1;
            }
            let (micros, ordinal) = number(raw);
            words.push(Word {
                norm,
                start: i,
                end,
                sentence,
                clause,
                micros,
                ordinal,
            });
            // Skip the rest of the word.
            while iter.peek().is_some_and(|&(j, _)| j < end) {
                iter.next();
            }
            continue;
        }
        match c {
            '[' => in_brackets = true,
            '.' | '?' | '!' | '¿' | '¡' | '…' => {
                sentence += 1;
                clause += 1;
            }
            ',' | ';' | ':' | '(' | ')' | '"' | '“' | '”' | '—' | '–' => clause += 1,
            '$' | '€' | '£' => words.push(Word {
                norm: c.to_string(),
                start: i,
                end: i + c.len_utf8(),
                sentence,
                clause,
                micros: None,
                ordinal: false,
            }),
            _ => {}
        }
    }
    words
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '`' | '´')
}

/// End of the word starting at `start`: letters and digits, apostrophes between letters
/// (`don't`), separators between digits (`1,200`, `89.99`).
fn word_end(src: &str, start: usize) -> usize {
    let mut end = start;
    let mut prev: Option<char> = None;
    let mut iter = src.get(start..).unwrap_or("").char_indices().peekable();
    while let Some((off, c)) = iter.next() {
        let next = iter.peek().map(|&(_, n)| n);
        let keep = c.is_alphanumeric()
            || matches!(c as u32, 0x0300..=0x036F)
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

/// The canonical spelling of one word.
pub(crate) fn normalise(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if is_apostrophe(c) {
            continue;
        }
        for lower in c.to_lowercase() {
            // Combining accents (a decomposed `é`) fold away like precomposed ones.
            if !matches!(lower as u32, 0x0300..=0x036F) {
                out.push(fold_letter(lower));
            }
        }
    }
    out
}

/// Reads a number written with digits, in micros: `120`, `1,200`, `1.200` (Spanish thousands),
/// `89.99`, `89,99` (Spanish decimals), `15th`. A separator followed by exactly three digits
/// groups thousands; otherwise it is the decimal point. `None` when it is not a number or
/// overflows.
fn number(raw: &str) -> (Option<i64>, bool) {
    let digits_end = raw
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map_or(raw.len(), |(i, _)| i);
    let (num, suffix) = raw.split_at(digits_end);
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit()) {
        return (None, false);
    }
    let ordinal = matches!(suffix, "st" | "nd" | "rd" | "th" | "o" | "º" | "ª");
    if !suffix.is_empty() && !ordinal {
        return (None, false);
    }
    let groups: Vec<&str> = num.split(['.', ',']).collect();
    let last = groups.last().copied().unwrap_or("");
    let has_decimals = groups.len() > 1 && last.len() != 3;
    let (int_groups, frac) = if has_decimals {
        (&groups[..groups.len() - 1], last)
    } else {
        (&groups[..], "")
    };
    let mut units: i64 = 0;
    for g in int_groups {
        for d in g.bytes() {
            units = match units
                .checked_mul(10)
                .and_then(|u| u.checked_add(i64::from(d - b'0')))
            {
                Some(u) => u,
                None => return (None, false),
            };
        }
    }
    let mut micros = match units.checked_mul(1_000_000) {
        Some(m) => m,
        None => return (None, false),
    };
    let mut scale = 100_000_i64;
    for d in frac.bytes().take(6) {
        micros = micros.saturating_add(i64::from(d - b'0') * scale);
        scale /= 10;
    }
    (Some(micros), ordinal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_keep_their_spans_and_clauses() {
        let line = "No, ya pagué. But I'll pay $1,200.50 today";
        let w = split(line);
        let norms: Vec<&str> = w.iter().map(|w| w.norm.as_str()).collect();
        assert_eq!(
            norms,
            ["no", "ya", "pague", "but", "ill", "pay", "$", "1,200.50", "today"]
        );
        assert_eq!(&line[w[2].start..w[2].end], "pagué");
        assert_ne!(w[0].clause, w[1].clause);
        assert_ne!(w[2].clause, w[3].clause);
        assert_eq!(w[3].sentence, w[4].sentence);
        assert_eq!(w[7].micros, Some(1_200_500_000));
    }

    #[test]
    fn numbers_read_english_and_spanish_separators() {
        assert_eq!(number("120"), (Some(120_000_000), false));
        assert_eq!(number("1.200"), (Some(1_200_000_000), false));
        assert_eq!(number("89,99"), (Some(89_990_000), false));
        assert_eq!(number("15th"), (Some(15_000_000), true));
        assert_eq!(number("abc"), (None, false));
        assert_eq!(number("99999999999999999999999"), (None, false));
    }

    #[test]
    fn bracketed_notes_are_not_speech() {
        assert!(split("[inaudible]").is_empty());
        assert_eq!(split("hello [noise] there").len(), 2);
    }
}
