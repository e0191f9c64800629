//! Days and amounts a customer names, resolved without a clock.
//!
//! Owns: reading `tomorrow` / `mañana`, `pasado mañana`, weekdays (`on Friday`, `el viernes`:
//! the next one, 1–7 days ahead), days of the month (`the 15th`, `el 15`, `el día 20`: this
//! month's unless already past, then next month's, clamped to the month's last day), `March 15`
//! / `15 de marzo`, `end of the month` / `fin de mes` and `in 3 days` / `en 3 días` against the
//! `today` the caller passes; and amounts: `$120`, `120 dollars`, `120 pesos`, `1,200.50`,
//! `ciento veinte pesos`, `two hundred dollars`, or a bare number right after a verb of paying
//! (`I'll pay the 150`, `le pago los 500`).
//! Must not: read the clock, or guess a currency the invoice does not suggest — `$` and bare
//! numbers are the invoice's currency, because `$` is the dollar's and the peso's sign alike.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::words::Word;
use crate::money::Money;

/// A day found in a line: words `from..to`, the day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DayHit {
    pub from: usize,
    pub to: usize,
    pub date: NaiveDate,
}

/// An amount found in a line: words `from..to`, the money.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AmountHit {
    pub from: usize,
    pub to: usize,
    pub money: Money,
}

fn weekday(word: &str) -> Option<Weekday> {
    Some(match word {
        "monday" | "lunes" => Weekday::Mon,
        "tuesday" | "martes" => Weekday::Tue,
        "wednesday" | "miercoles" => Weekday::Wed,
        "thursday" | "jueves" => Weekday::Thu,
        "friday" | "viernes" => Weekday::Fri,
        "saturday" | "sabado" => Weekday::Sat,
        "sunday" | "domingo" => Weekday::Sun,
        _ => return None,
    })
}

fn month(word: &str) -> Option<u32> {
    Some(match word {
        "january" | "enero" => 1,
        "february" | "febrero" => 2,
        "march" | "marzo" => 3,
        "april" | "abril" => 4,
        "may" | "mayo" => 5,
        "june" | "junio" => 6,
        "july" | "julio" => 7,
        "august" | "agosto" => 8,
        "september" | "septiembre" | "setiembre" => 9,
        "october" | "octubre" => 10,
        "november" | "noviembre" => 11,
        "december" | "diciembre" => 12,
        _ => return None,
    })
}

fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

/// `day` of `year-month`, clamped to the month's last day (`the 31st` in April is the 30th).
fn clamped(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    let last = last_day_of_month(year, month)?;
    NaiveDate::from_ymd_opt(year, month, day.min(last.day()))
}

fn next_month(today: NaiveDate) -> Option<(i32, u32)> {
    if today.month() == 12 {
        Some((today.year().checked_add(1)?, 1))
    } else {
        Some((today.year(), today.month() + 1))
    }
}

/// The next `day` of a month on or after `today`.
fn day_of_month(today: NaiveDate, day: u32) -> Option<NaiveDate> {
    if !(1..=31).contains(&day) {
        return None;
    }
    if day >= today.day() {
        clamped(today.year(), today.month(), day)
    } else {
        let (y, m) = next_month(today)?;
        clamped(y, m, day)
    }
}

/// `day` of `month`, this year unless already past.
fn month_day(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    if !(1..=31).contains(&day) {
        return None;
    }
    let this_year = clamped(today.year(), month, day)?;
    if this_year >= today {
        Some(this_year)
    } else {
        clamped(today.year().checked_add(1)?, month, day)
    }
}

/// A small whole number written with digits (`15`, `15th`).
fn small_number(w: &Word) -> Option<u32> {
    let micros = w.micros?;
    if micros % 1_000_000 != 0 {
        return None;
    }
    u32::try_from(micros / 1_000_000).ok()
}

/// Every later day named in `words` (today's words are lexicon cues, not dates).
pub(crate) fn days(words: &[Word], today: NaiveDate) -> Vec<DayHit> {
    let mut out = Vec::new();
    let norm = |i: usize| words.get(i).map_or("", |w| w.norm.as_str());
    let mut i = 0;
    while i < words.len() {
        let w = norm(i);
        let mut found: Option<(usize, NaiveDate)> = None;
        if w == "tomorrow" {
            found = today.succ_opt().map(|d| (1, d));
        } else if w == "day" && norm(i + 1) == "after" && norm(i + 2) == "tomorrow" {
            found = today.checked_add_signed(Duration::days(2)).map(|d| (3, d));
        } else if w == "pasado" && norm(i + 1) == "manana" {
            found = today.checked_add_signed(Duration::days(2)).map(|d| (2, d));
        } else if w == "manana" {
            // `esta mañana` is this morning, `en la mañana` / `por la mañana` a time of day.
            let before = i.checked_sub(1).map_or("", norm);
            if !matches!(before, "esta" | "la" | "pasado" | "de") {
                found = today.succ_opt().map(|d| (1, d));
            }
        } else if let Some(wd) = weekday(w) {
            let ahead = (i64::from(wd.num_days_from_monday())
                - i64::from(today.weekday().num_days_from_monday()))
            .rem_euclid(7);
            let ahead = if ahead == 0 { 7 } else { ahead };
            found = today
                .checked_add_signed(Duration::days(ahead))
                .map(|d| (1, d));
        } else if let Some(m) = month(w) {
            // `March 15`, `May 3rd`; `may` alone is a verb far more often than a month.
            if let Some(day) = words.get(i + 1).and_then(small_number) {
                found = month_day(today, m, day).map(|d| (2, d));
            }
        } else if (w == "end" && norm(i + 1) == "of")
            || (w == "fin" && matches!(norm(i + 1), "de" | "del"))
        {
            let span = if norm(i + 2) == "the" { 4 } else { 3 };
            if matches!(norm(i + span - 1), "month" | "mes") {
                found = last_day_of_month(today.year(), today.month()).map(|d| (span, d));
            }
        } else if matches!(w, "in" | "en") {
            let n = words.get(i + 1).and_then(small_number);
            if let Some(n) = n.filter(|n| *n <= 60) {
                if matches!(norm(i + 2), "days" | "dias") {
                    found = today
                        .checked_add_signed(Duration::days(i64::from(n)))
                        .map(|d| (3, d));
                }
            }
        } else if let Some(day) = words.get(i).and_then(small_number) {
            // `the 15th`, `el 15`, `el día 20`, `15 de marzo`, `on the 3rd`; not `15 dollars`.
            let before = i.checked_sub(1).map_or("", norm);
            let ordinal = words.get(i).is_some_and(|w| w.ordinal);
            let month_after = if matches!(norm(i + 1), "de" | "of") {
                month(norm(i + 2))
            } else {
                None
            };
            if let Some(m) = month_after {
                found = month_day(today, m, day).map(|d| (3, d));
            } else if ordinal || matches!(before, "el" | "the" | "dia" | "on") {
                let currency_after = currency_word(norm(i + 1)).is_some();
                if !currency_after {
                    found = day_of_month(today, day).map(|d| (1, d));
                }
            }
        }
        match found {
            Some((len, date)) if date >= today => {
                out.push(DayHit {
                    from: i,
                    to: i + len,
                    date,
                });
                i += len;
            }
            _ => i += 1,
        }
    }
    out
}

/// What a currency word names: a code, or "the invoice's peso".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CurrencyWord {
    Code(&'static str),
    Peso,
}

fn currency_word(word: &str) -> Option<CurrencyWord> {
    Some(match word {
        "dollars" | "dollar" | "dolares" | "dolar" | "bucks" | "usd" | "dlls" | "dls" => {
            CurrencyWord::Code("USD")
        }
        "euros" | "euro" | "eur" => CurrencyWord::Code("EUR"),
        "pesos" | "peso" | "mxn" | "varos" => CurrencyWord::Peso,
        _ => return None,
    })
}

/// Currencies called `peso` (and written `$`): a peso amount is in the invoice's currency when
/// it is one of these, else Mexican pesos.
const PESOS: &[&str] = &["MXN", "COP", "CLP", "ARS", "UYU", "DOP", "CUP", "PHP"];

fn resolve_currency(word: Option<CurrencyWord>, invoice: &str) -> String {
    let invoice = invoice.trim().to_ascii_uppercase();
    match word {
        None => invoice,
        Some(CurrencyWord::Code(code)) => code.to_owned(),
        Some(CurrencyWord::Peso) if PESOS.contains(&invoice.as_str()) => invoice,
        Some(CurrencyWord::Peso) => "MXN".to_owned(),
    }
}

/// Value of a number word: (value, kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumWord {
    /// Adds to the group (`twenty`, `cinco`, `doscientos`).
    Add(i64),
    /// Multiplies the group (`hundred`).
    Hundred,
    /// Closes a group of thousands (`thousand`, `mil`).
    Thousand,
}

fn number_word(word: &str) -> Option<NumWord> {
    use NumWord::*;
    let v = match word {
        "one" | "uno" | "un" | "una" => 1,
        "two" | "dos" => 2,
        "three" | "tres" => 3,
        "four" | "cuatro" => 4,
        "five" | "cinco" => 5,
        "six" | "seis" => 6,
        "seven" | "siete" => 7,
        "eight" | "ocho" => 8,
        "nine" | "nueve" => 9,
        "ten" | "diez" => 10,
        "eleven" | "once" => 11,
        "twelve" | "doce" => 12,
        "thirteen" | "trece" => 13,
        "fourteen" | "catorce" => 14,
        "fifteen" | "quince" => 15,
        "sixteen" | "dieciseis" => 16,
        "seventeen" | "diecisiete" => 17,
        "eighteen" | "dieciocho" => 18,
        "nineteen" | "diecinueve" => 19,
        "twenty" | "veinte" => 20,
        "veintiuno" | "veintiun" => 21,
        "veintidos" => 22,
        "veintitres" => 23,
        "veinticuatro" => 24,
        "veinticinco" => 25,
        "veintiseis" => 26,
        "veintisiete" => 27,
        "veintiocho" => 28,
        "veintinueve" => 29,
        "thirty" | "treinta" => 30,
        "forty" | "cuarenta" => 40,
        "fifty" | "cincuenta" => 50,
        "sixty" | "sesenta" => 60,
        "seventy" | "setenta" => 70,
        "eighty" | "ochenta" => 80,
        "ninety" | "noventa" => 90,
        "cien" | "ciento" => 100,
        "doscientos" | "doscientas" => 200,
        "trescientos" | "trescientas" => 300,
        "cuatrocientos" | "cuatrocientas" => 400,
        "quinientos" | "quinientas" => 500,
        "seiscientos" | "seiscientas" => 600,
        "setecientos" | "setecientas" => 700,
        "ochocientos" | "ochocientas" => 800,
        "novecientos" | "novecientas" => 900,
        "hundred" => return Some(Hundred),
        "thousand" | "mil" => return Some(Thousand),
        _ => return None,
    };
    Some(Add(v))
}

/// A number spelled out from word `at` (`ciento veinte`, `two hundred and fifty`, `dos mil
/// quinientos`, `a hundred`): (whole units, words used). A lone article (`un`, `una`, `a`) is
/// not a number.
fn spelled_number(words: &[Word], at: usize) -> Option<(i64, usize)> {
    let (mut total, mut group, mut used, mut seen) = (0_i64, 0_i64, 0_usize, 0_usize);
    let mut i = at;
    while let Some(w) = words.get(i) {
        let n = w.norm.as_str();
        let next_is_scale = words
            .get(i + 1)
            .and_then(|n| number_word(&n.norm))
            .is_some_and(|k| matches!(k, NumWord::Hundred | NumWord::Thousand));
        match number_word(n) {
            Some(NumWord::Add(v)) => group = group.checked_add(v)?,
            Some(NumWord::Hundred) => group = group.max(1).checked_mul(100)?,
            Some(NumWord::Thousand) => {
                total = total.checked_add(group.max(1).checked_mul(1000)?)?;
                group = 0;
            }
            None if n == "a" && seen == 0 && next_is_scale => {}
            None if matches!(n, "and" | "y")
                && seen > 0
                && words
                    .get(i + 1)
                    .is_some_and(|n| number_word(&n.norm).is_some()) => {}
            None => break,
        }
        if number_word(n).is_some() {
            seen += 1;
            used = i + 1 - at;
        }
        i += 1;
        if i - at > 12 {
            break;
        }
    }
    let first_is_article = words
        .get(at)
        .is_some_and(|w| matches!(w.norm.as_str(), "un" | "una" | "uno" | "one"));
    if seen == 0 || (seen == 1 && first_is_article) {
        return None;
    }
    Some((total.checked_add(group)?, used))
}

/// A number at word `at`, written with digits or spelled out: (micros, words used).
fn number_at(words: &[Word], at: usize) -> Option<(i64, usize)> {
    let w = words.get(at)?;
    if w.ordinal {
        return None;
    }
    if let Some(m) = w.micros {
        return Some((m, 1));
    }
    let (units, used) = spelled_number(words, at)?;
    Some((units.checked_mul(1_000_000)?, used))
}

/// Words a verb of paying may be separated from its amount by (`pay the 150`, `le pago los
/// 500`, `send like $60`).
const FILLERS: &[&str] = &[
    "the", "los", "las", "you", "u", "le", "les", "like", "about", "only", "just", "solo", "nomas",
    "unos", "como", "it", "lo",
];

/// Verbs of paying after which a bare number is an amount.
fn pay_verb(word: &str) -> bool {
    matches!(
        word,
        "pay"
            | "send"
            | "transfer"
            | "deposit"
            | "give"
            | "pago"
            | "deposito"
            | "transfiero"
            | "mando"
            | "doy"
            | "dar"
            | "abono"
            | "pagar"
            | "depositar"
            | "transferir"
    )
}

/// Every amount the words state. `invoice_currency` is the invoice's ISO-4217 code.
pub(crate) fn amounts(words: &[Word], invoice_currency: &str) -> Vec<AmountHit> {
    let mut out = Vec::new();
    let norm = |i: usize| words.get(i).map_or("", |w| w.norm.as_str());
    let mut i = 0;
    while i < words.len() {
        // `$120`: the sign, then the number.
        if matches!(norm(i), "$" | "€" | "£") {
            if let Some((micros, used)) = number_at(words, i + 1) {
                let code = match norm(i) {
                    "€" => Some(CurrencyWord::Code("EUR")),
                    "£" => Some(CurrencyWord::Code("GBP")),
                    _ => None,
                };
                if let Ok(money) = Money::parse(micros, &resolve_currency(code, invoice_currency)) {
                    out.push(AmountHit {
                        from: i,
                        to: i + 1 + used,
                        money,
                    });
                }
                i += 1 + used;
                continue;
            }
        }
        if let Some((micros, used)) = number_at(words, i) {
            let after = norm(i + used);
            let word = currency_word(after);
            // A bare number counts right after a verb of paying, unless it is a day (`pay
            // the 15th`, `le pago el 15`).
            let mut back = i;
            while back > 0 && FILLERS.contains(&norm(back - 1)) && i - back < 2 {
                back -= 1;
            }
            let after_verb = back > 0 && pay_verb(norm(back - 1));
            let day_like = (matches!(norm(i.wrapping_sub(1)), "el" | "the" | "dia")
                && micros <= 31_000_000)
                || matches!(after, "de" | "of" | "days" | "dias");
            if word.is_some() || (after_verb && !day_like) {
                if let Ok(money) = Money::parse(micros, &resolve_currency(word, invoice_currency)) {
                    out.push(AmountHit {
                        from: i,
                        to: i + used + usize::from(word.is_some()),
                        money,
                    });
                }
            }
            i += used;
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::words::split;
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    fn first_day(line: &str, today: &str) -> Option<NaiveDate> {
        days(&split(line), day(today)).first().map(|d| d.date)
    }

    fn first_amount(line: &str, currency: &str) -> Option<String> {
        amounts(&split(line), currency)
            .first()
            .map(|a| a.money.display())
    }

    #[test]
    fn relative_days_resolve_against_today() {
        // 2024-03-12 is a Tuesday.
        let t = "2024-03-12";
        assert_eq!(first_day("tomorrow", t), Some(day("2024-03-13")));
        assert_eq!(first_day("mañana temprano", t), Some(day("2024-03-13")));
        assert_eq!(first_day("esta mañana", t), None);
        assert_eq!(first_day("pasado mañana", t), Some(day("2024-03-14")));
        assert_eq!(first_day("on Friday", t), Some(day("2024-03-15")));
        assert_eq!(first_day("el martes", t), Some(day("2024-03-19")));
        assert_eq!(first_day("the 15th", t), Some(day("2024-03-15")));
        assert_eq!(first_day("el 5", t), Some(day("2024-04-05")));
        assert_eq!(first_day("el 31", "2024-04-02"), Some(day("2024-04-30")));
        assert_eq!(first_day("el 20 de mayo", t), Some(day("2024-05-20")));
        assert_eq!(first_day("March 1st", t), Some(day("2025-03-01")));
        assert_eq!(
            first_day("at the end of the month", t),
            Some(day("2024-03-31"))
        );
        assert_eq!(
            first_day("a fin de mes", "2024-12-05"),
            Some(day("2024-12-31"))
        );
        assert_eq!(first_day("en 3 días", t), Some(day("2024-03-15")));
        assert_eq!(first_day("15 dollars", t), None);
    }

    #[test]
    fn amounts_take_the_invoice_currency_unless_named() {
        assert_eq!(
            first_amount("I'll send $200", "USD").as_deref(),
            Some("200.00 USD")
        );
        assert_eq!(
            first_amount("$1,200.50", "MXN").as_deref(),
            Some("1200.50 MXN")
        );
        assert_eq!(
            first_amount("120 dollars", "MXN").as_deref(),
            Some("120.00 USD")
        );
        assert_eq!(
            first_amount("120 pesos", "COP").as_deref(),
            Some("120.00 COP")
        );
        assert_eq!(
            first_amount("120 pesos", "USD").as_deref(),
            Some("120.00 MXN")
        );
        assert_eq!(
            first_amount("ciento veinte pesos", "MXN").as_deref(),
            Some("120.00 MXN")
        );
        assert_eq!(
            first_amount("le puedo dar dos mil quinientos", "MXN").as_deref(),
            Some("2500.00 MXN")
        );
        assert_eq!(
            first_amount("two hundred and fifty dollars", "USD").as_deref(),
            Some("250.00 USD")
        );
        assert_eq!(
            first_amount("I'll pay the 150 today", "USD").as_deref(),
            Some("150.00 USD")
        );
        assert_eq!(first_amount("le pago el 15", "MXN"), None);
        assert_eq!(first_amount("una factura", "MXN"), None);
        assert_eq!(first_amount("I have 3 kids", "USD"), None);
    }
}
