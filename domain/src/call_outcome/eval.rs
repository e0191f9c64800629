//! Evaluation of a call-outcome classifier against labelled transcripts: parsing the eval file,
//! scoring any provider's answers (the offline classifier here, an LLM provider in the api) and
//! the offline classifier's own run, which `leadline eval --task call-outcome` prints.
//!
//! Owns: the line format — `{"id", "language", "split", "today", "currency"?, "transcript":
//! [{"speaker", "text"}], "expected", "promised_date"?, "promised_amount"?}` with amounts
//! written as `"200.00 USD"` — and the metrics: accuracy, per-class precision/recall/F1,
//! macro-F1 over the five classes, the confusion matrix, accuracy per language, precision and
//! recall of the promised day and amount, and every misclassified id.
//! Conventions (as in `analysis::eval`): a ratio whose denominator is zero is 0 (the counts sit
//! next to it); macro-F1 averages the classes present in the labels or the predictions.
//! Must not: read files or clocks — the caller passes the text.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{classify_call_outcome, OutcomeGuess, TranscriptLine};
use crate::calls::CustomerResponse;
use crate::money::{Money, MICROS_PER_UNIT};

/// Why an eval file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallOutcomeEvalError {
    /// A line is not a valid example (1-based line number).
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    /// No example matched (an empty file, or a split nothing is in).
    #[error("no examples{}", split.as_deref().map(|s| format!(" in split {s:?}")).unwrap_or_default())]
    Empty { split: Option<String> },
}

/// One labelled call.
#[derive(Debug, Clone, PartialEq)]
pub struct CallOutcomeExample {
    pub id: String,
    /// `en`, `es` or `mixed`.
    pub language: String,
    /// `dev` (rules may be tuned on it) or `test` (held out).
    pub split: String,
    /// The call's day, against which relative days resolve.
    pub today: NaiveDate,
    /// The invoice's currency (ISO-4217).
    pub currency: String,
    pub transcript: Vec<TranscriptLine>,
    pub expected: CustomerResponse,
    pub promised_date: Option<NaiveDate>,
    pub promised_amount: Option<Money>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    id: String,
    language: String,
    split: String,
    today: String,
    #[serde(default)]
    currency: Option<String>,
    transcript: Vec<TranscriptLine>,
    expected: String,
    #[serde(default)]
    promised_date: Option<String>,
    #[serde(default)]
    promised_amount: Option<String>,
}

fn date(value: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|e| format!("date {value:?}: {e}"))
}

/// Reads `"200.00 USD"` / `"1500 MXN"`.
fn money(value: &str) -> Result<Money, String> {
    let bad = || format!("amount {value:?}: write it as \"200.00 USD\"");
    let (number, code) = value.trim().split_once(' ').ok_or_else(bad)?;
    let (units, frac) = number.split_once('.').unwrap_or((number, ""));
    if units.is_empty()
        || frac.len() > 6
        || !units.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let units: i64 = units.parse().map_err(|_| bad())?;
    let frac_micros: i64 = format!("{frac:0<6}").parse().map_err(|_| bad())?;
    let micros = units
        .checked_mul(MICROS_PER_UNIT)
        .and_then(|m| m.checked_add(frac_micros))
        .ok_or_else(bad)?;
    Money::parse(micros, code.trim()).map_err(|e| e.to_string())
}

/// Parses an eval file (JSON Lines; blank lines and lines starting with `//` are skipped).
pub fn parse_call_outcome_examples(
    jsonl: &str,
) -> Result<Vec<CallOutcomeExample>, CallOutcomeEvalError> {
    let mut out = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let err = |message: String| CallOutcomeEvalError::Line {
            line: i + 1,
            message,
        };
        let raw: RawExample = serde_json::from_str(trimmed).map_err(|e| err(e.to_string()))?;
        if !matches!(raw.split.as_str(), "dev" | "test") {
            return Err(err(format!(
                "split {:?}: use \"dev\" or \"test\"",
                raw.split
            )));
        }
        let currency = raw.currency.unwrap_or_else(|| "USD".to_owned());
        // The currency must be a real code: amounts are read in it.
        Money::parse(0, &currency).map_err(|e| err(e.to_string()))?;
        out.push(CallOutcomeExample {
            expected: CustomerResponse::parse(&raw.expected).map_err(|e| err(e.to_string()))?,
            today: date(&raw.today).map_err(err)?,
            promised_date: raw
                .promised_date
                .as_deref()
                .map(date)
                .transpose()
                .map_err(err)?,
            promised_amount: raw
                .promised_amount
                .as_deref()
                .map(money)
                .transpose()
                .map_err(err)?,
            id: raw.id,
            language: raw.language,
            split: raw.split,
            currency,
            transcript: raw.transcript,
        });
    }
    Ok(out)
}

/// Precision, recall and F1 of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Examples labelled with the class.
    pub support: usize,
    /// Examples predicted as the class.
    pub predicted: usize,
}

/// Rows are the labels, columns the predictions, both in [`CustomerResponse::ALL`] order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutcomeConfusion {
    pub labels: Vec<String>,
    pub rows: Vec<Vec<usize>>,
}

/// Accuracy on one language's calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LanguageAccuracy {
    pub language: String,
    pub examples: usize,
    pub accuracy: f64,
}

/// A call the classifier got wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Misclassified {
    pub id: String,
    pub language: String,
    pub expected: String,
    pub predicted: String,
    pub confidence: f32,
}

/// How well a promised field (day or amount) was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldMetrics {
    /// Examples whose label has the field.
    pub labelled: usize,
    /// Examples whose prediction has it.
    pub predicted: usize,
    /// Both have it, with the same value.
    pub correct: usize,
    pub precision: f64,
    pub recall: f64,
}

/// The scores of one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CallOutcomeReport {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub per_class: Vec<OutcomeClassMetrics>,
    pub confusion_matrix: OutcomeConfusion,
    pub per_language: Vec<LanguageAccuracy>,
    pub promised_date: FieldMetrics,
    pub promised_amount: FieldMetrics,
    /// Every wrong answer, in file order.
    pub misclassified: Vec<Misclassified>,
}

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn class_metrics(label: &str, tp: usize, fp: usize, fn_: usize) -> OutcomeClassMetrics {
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    OutcomeClassMetrics {
        label: label.to_owned(),
        precision,
        recall,
        f1,
        support: tp + fn_,
        predicted: tp + fp,
    }
}

fn field<T: PartialEq>(pairs: impl Iterator<Item = (Option<T>, Option<T>)>) -> FieldMetrics {
    let (mut labelled, mut predicted, mut correct) = (0, 0, 0);
    for (gold, guess) in pairs {
        labelled += usize::from(gold.is_some());
        predicted += usize::from(guess.is_some());
        correct += usize::from(gold.is_some() && gold == guess);
    }
    FieldMetrics {
        labelled,
        predicted,
        correct,
        precision: ratio(correct, predicted),
        recall: ratio(correct, labelled),
    }
}

/// Scores `predictions` (one per example, same order; extra items on either side are ignored).
pub fn score_call_outcomes(
    examples: &[CallOutcomeExample],
    predictions: &[OutcomeGuess],
) -> CallOutcomeReport {
    let k = CustomerResponse::ALL.len();
    let idx = |r: CustomerResponse| {
        CustomerResponse::ALL
            .iter()
            .position(|x| *x == r)
            .unwrap_or(0)
    };
    let mut rows = vec![vec![0_usize; k]; k];
    let mut languages: Vec<(String, usize, usize)> = Vec::new();
    let mut misclassified = Vec::new();
    for (ex, guess) in examples.iter().zip(predictions) {
        if let Some(cell) = rows
            .get_mut(idx(ex.expected))
            .and_then(|r| r.get_mut(idx(guess.response)))
        {
            *cell += 1;
        }
        let right = ex.expected == guess.response;
        match languages.iter_mut().find(|(l, _, _)| *l == ex.language) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += usize::from(right);
            }
            None => languages.push((ex.language.clone(), 1, usize::from(right))),
        }
        if !right {
            misclassified.push(Misclassified {
                id: ex.id.clone(),
                language: ex.language.clone(),
                expected: ex.expected.as_str().to_owned(),
                predicted: guess.response.as_str().to_owned(),
                confidence: guess.confidence,
            });
        }
    }
    let per_class: Vec<OutcomeClassMetrics> = CustomerResponse::ALL
        .iter()
        .enumerate()
        .map(|(c, r)| {
            let tp = rows.get(c).and_then(|row| row.get(c)).copied().unwrap_or(0);
            let row: usize = rows.get(c).map_or(0, |row| row.iter().sum());
            let col: usize = rows.iter().filter_map(|row| row.get(c)).sum();
            class_metrics(r.as_str(), tp, col - tp, row - tp)
        })
        .collect();
    let active: Vec<f64> = per_class
        .iter()
        .filter(|m| m.support > 0 || m.predicted > 0)
        .map(|m| m.f1)
        .collect();
    let macro_f1 = if active.is_empty() {
        0.0
    } else {
        active.iter().sum::<f64>() / active.len() as f64
    };
    let n: usize = rows.iter().flatten().sum();
    let diagonal: usize = (0..k)
        .filter_map(|c| rows.get(c).and_then(|r| r.get(c)))
        .sum();
    languages.sort_by(|a, b| a.0.cmp(&b.0));
    let pairs = || examples.iter().zip(predictions);
    CallOutcomeReport {
        examples: n,
        accuracy: ratio(diagonal, n),
        macro_f1,
        per_class,
        confusion_matrix: OutcomeConfusion {
            labels: CustomerResponse::ALL
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            rows,
        },
        per_language: languages
            .into_iter()
            .map(|(language, examples, right)| LanguageAccuracy {
                accuracy: ratio(right, examples),
                language,
                examples,
            })
            .collect(),
        promised_date: field(pairs().map(|(e, g)| (e.promised_date, g.promised_date))),
        promised_amount: field(
            pairs().map(|(e, g)| (e.promised_amount.clone(), g.promised_amount.clone())),
        ),
        misclassified,
    }
}

/// Runs the offline classifier over an eval file and scores it. `split` keeps only the
/// examples of that split (`"dev"`, `"test"`); `None` scores them all.
pub fn evaluate_call_outcomes(
    jsonl: &str,
    split: Option<&str>,
) -> Result<CallOutcomeReport, CallOutcomeEvalError> {
    let examples: Vec<CallOutcomeExample> = parse_call_outcome_examples(jsonl)?
        .into_iter()
        .filter(|e| split.is_none_or(|s| e.split == s))
        .collect();
    if examples.is_empty() {
        return Err(CallOutcomeEvalError::Empty {
            split: split.map(str::to_owned),
        });
    }
    let predictions: Vec<OutcomeGuess> = examples
        .iter()
        .map(|e| classify_call_outcome(&e.transcript, e.today, &e.currency))
        .collect();
    Ok(score_call_outcomes(&examples, &predictions))
}

impl CallOutcomeReport {
    /// A plain-text rendering for terminals and CI logs.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "call outcome: accuracy {:.3}, macro-F1 {:.3} ({} examples)",
            self.accuracy, self.macro_f1, self.examples
        );
        let _ = writeln!(
            s,
            "  {:<16} {:>9} {:>9} {:>9} {:>8} {:>9}",
            "class", "precision", "recall", "F1", "support", "predicted"
        );
        for m in &self.per_class {
            let _ = writeln!(
                s,
                "  {:<16} {:>9.3} {:>9.3} {:>9.3} {:>8} {:>9}",
                m.label, m.precision, m.recall, m.f1, m.support, m.predicted
            );
        }
        let _ = writeln!(s, "confusion matrix (rows: labelled, columns: predicted):");
        let _ = write!(s, "  {:<16}", "");
        for l in &self.confusion_matrix.labels {
            let short: String = l.chars().take(8).collect();
            let _ = write!(s, " {short:>8}");
        }
        let _ = writeln!(s);
        for (label, row) in self
            .confusion_matrix
            .labels
            .iter()
            .zip(&self.confusion_matrix.rows)
        {
            let _ = write!(s, "  {label:<16}");
            for v in row {
                let _ = write!(s, " {v:>8}");
            }
            let _ = writeln!(s);
        }
        for l in &self.per_language {
            let _ = writeln!(
                s,
                "language {}: accuracy {:.3} ({} examples)",
                l.language, l.accuracy, l.examples
            );
        }
        for (name, f) in [
            ("promised date", &self.promised_date),
            ("promised amount", &self.promised_amount),
        ] {
            let _ = writeln!(
                s,
                "{name}: precision {:.3}, recall {:.3} ({} right of {} labelled, {} predicted)",
                f.precision, f.recall, f.correct, f.labelled, f.predicted
            );
        }
        if !self.misclassified.is_empty() {
            let _ = writeln!(s, "misclassified:");
            for m in &self.misclassified {
                let _ = writeln!(
                    s,
                    "  {} ({}): expected {}, got {} ({:.2})",
                    m.id, m.language, m.expected, m.predicted, m.confidence
                );
            }
        }
        s
    }
}
