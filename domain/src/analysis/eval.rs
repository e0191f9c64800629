//! Evaluation of an analyzer against labelled messages: parsing the eval files, running any
//! analyzer over them and scoring the answers.
//!
//! Owns: the eval line format — one JSON object per line, `{"text", "intent"?, "product"?,
//! "signals"?, "escalate"?, "lang"?, "channel"?}`, where an absent label is not scored and a `product` of
//! `null` or `"none"` means no product should match — the catalog format (a JSON array of
//! `{name, description, priceMicros, currency, purchaseLink, keywords}`), and the metrics:
//! per-intent precision/recall/F1, macro-F1, confusion matrix, product-match accuracy, signal
//! micro-F1 (and per signal), escalation recall and precision, language accuracy, throughput —
//! overall and again per labelled language (`per_language`).
//! Conventions: a ratio whose denominator is zero is reported as 0 (the counts sit next to it);
//! macro-F1 averages the classes that occur in the labels or the predictions.
//! Must not: read clocks or files — the caller passes the text and the elapsed time.
//! Nor import `offline`: the analyzer reads its shipped data through this module's parsers, so
//! the arrow runs offline → eval → `text_norm` (the letter folding both share).

use serde::{Deserialize, Deserializer, Serialize};

use crate::analysis::text_norm::fold_letter;
use crate::analysis::{Analysis, CatalogProduct, Intent, Language, Signal};
use crate::money::Money;

/// Why an eval file or catalog could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A line of an eval file is not a valid example (1-based line number).
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    /// The catalog is not a valid JSON array of products.
    #[error("catalog: {0}")]
    Catalog(String),
}

/// One labelled message. `None` means "not labelled, not scored".
#[derive(Debug, Clone, PartialEq)]
pub struct EvalExample {
    pub text: String,
    pub intent: Option<Intent>,
    /// `Some(None)`: no product should match; `Some(Some(name))`: that product's name.
    pub product: Option<Option<String>>,
    pub signals: Option<Vec<Signal>>,
    pub escalate: Option<bool>,
    pub language: Option<Language>,
    /// Where such a message is written (`live_chat`, `dm`, `support_chat`, `phone_call`):
    /// describes the set's coverage; not scored.
    pub channel: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    text: String,
    #[serde(default)]
    intent: Option<String>,
    #[serde(default, deserialize_with = "present")]
    product: Option<Option<String>>,
    #[serde(default)]
    signals: Option<Vec<String>>,
    #[serde(default)]
    escalate: Option<bool>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    channel: Option<String>,
}

/// Distinguishes an explicit `null` (Some(None)) from an absent field (None, via `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Parses an eval file (JSON Lines; blank lines and lines starting with `//` are skipped).
pub fn parse_examples(jsonl: &str) -> Result<Vec<EvalExample>, EvalError> {
    let mut out = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let err = |message: String| EvalError::Line {
            line: line_no,
            message,
        };
        let raw: RawExample = serde_json::from_str(trimmed).map_err(|e| err(e.to_string()))?;
        let intent = raw
            .intent
            .as_deref()
            .map(Intent::parse)
            .transpose()
            .map_err(|e| err(e.to_string()))?;
        let signals = raw
            .signals
            .map(|list| {
                list.iter()
                    .map(|s| Signal::parse(s))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map_err(|e| err(e.to_string()))?;
        let product = raw.product.map(|p| {
            p.map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty() && !name.eq_ignore_ascii_case("none"))
        });
        let language = match raw.lang.as_deref() {
            None => None,
            Some("en") => Some(Language::English),
            Some("es") => Some(Language::Spanish),
            Some(other) => {
                return Err(err(format!(
                    "unknown language {other:?} (use \"en\" or \"es\")"
                )))
            }
        };
        out.push(EvalExample {
            text: raw.text,
            intent,
            product,
            signals,
            escalate: raw.escalate,
            language,
            channel: raw.channel,
        });
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProduct {
    name: String,
    #[serde(default)]
    description: String,
    price_micros: i64,
    currency: String,
    #[serde(default)]
    purchase_link: Option<String>,
    #[serde(default)]
    keywords: Vec<String>,
}

/// A product id from its name: lower-case ASCII letters and digits joined by dashes.
fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        let c = fold_letter(c);
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Parses a catalog file. Product ids are slugs of the names (`Ocean Hoodie` → `ocean-hoodie`,
/// suffixed `-2`, `-3` on a clash); prices go through `Money::parse`.
pub fn parse_catalog(json: &str) -> Result<Vec<CatalogProduct>, EvalError> {
    let raw: Vec<RawProduct> =
        serde_json::from_str(json).map_err(|e| EvalError::Catalog(e.to_string()))?;
    let mut out: Vec<CatalogProduct> = Vec::with_capacity(raw.len());
    for p in raw {
        let price = Money::parse(p.price_micros, &p.currency)
            .map_err(|e| EvalError::Catalog(format!("{}: {e}", p.name)))?;
        let base = slug(&p.name);
        let mut id = base.clone();
        let mut n = 2;
        while out.iter().any(|q| q.id == id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        out.push(CatalogProduct {
            id,
            name: p.name,
            description: p.description,
            keywords: p.keywords,
            price,
            purchase_link: p.purchase_link.filter(|l| !l.trim().is_empty()),
        });
    }
    Ok(out)
}

/// Runs `analyze` over every example, in order.
pub fn run<F: FnMut(&str) -> Analysis>(examples: &[EvalExample], mut analyze: F) -> Vec<Analysis> {
    examples.iter().map(|e| analyze(&e.text)).collect()
}

/// Precision, recall and F1 of one class (or signal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassMetrics {
    pub label: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// How many labelled examples have this class.
    pub support: usize,
    /// How many predictions said this class.
    pub predicted: usize,
}

/// Counts of (labelled, predicted) intents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfusionMatrix {
    /// Class names, the order of both rows and columns.
    pub labels: Vec<String>,
    /// `rows[labelled][predicted]`.
    pub rows: Vec<Vec<usize>>,
}

/// One wrong answer, for reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mistake {
    pub text: String,
    pub expected: String,
    pub predicted: String,
    pub confidence: f32,
}

/// Everything an evaluation measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalReport {
    pub examples: usize,
    pub intent_scored: usize,
    pub intent_accuracy: f64,
    pub intent_macro_f1: f64,
    pub per_class: Vec<ClassMetrics>,
    pub confusion_matrix: ConfusionMatrix,
    pub product_scored: usize,
    pub product_accuracy: f64,
    pub signal_scored: usize,
    pub signal_precision: f64,
    pub signal_recall: f64,
    /// Micro-averaged over all signals.
    pub signal_f1: f64,
    pub per_signal: Vec<ClassMetrics>,
    pub escalation_scored: usize,
    /// Examples labelled `escalate: true`.
    pub escalation_positives: usize,
    pub escalation_precision: f64,
    pub escalation_recall: f64,
    pub language_scored: usize,
    pub language_accuracy: f64,
    /// Wall time the caller measured for producing the predictions.
    pub elapsed_seconds: f64,
    pub messages_per_second: f64,
    /// Wrong intents (at most `MAX_MISTAKES`).
    pub intent_errors: Vec<Mistake>,
    /// Wrong product matches (at most `MAX_MISTAKES`).
    pub product_errors: Vec<Mistake>,
    /// The subset this report covers: `None` for all examples, else a language code.
    pub subset: Option<String>,
    /// The same metrics over the examples labelled with each language (English, Spanish), when
    /// this is the report of all examples.
    pub per_language: Vec<EvalReport>,
}

/// Cap on the mistakes a report lists.
pub const MAX_MISTAKES: usize = 100;

fn ratio(num: usize, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

fn metrics(label: &str, tp: usize, fp: usize, fn_: usize) -> ClassMetrics {
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    ClassMetrics {
        label: label.to_owned(),
        precision,
        recall,
        f1,
        support: tp + fn_,
        predicted: tp + fp,
    }
}

/// Scores `predictions` (one per example, same order) against the labels, overall and per
/// labelled language. `elapsed_seconds` is the time the caller measured for producing them (0
/// when unknown: throughput is then 0).
pub fn score(
    examples: &[EvalExample],
    predictions: &[Analysis],
    elapsed_seconds: f64,
) -> EvalReport {
    let mut report = score_subset(examples, predictions, elapsed_seconds);
    for language in [Language::English, Language::Spanish] {
        let (ex, pred): (Vec<EvalExample>, Vec<Analysis>) = examples
            .iter()
            .zip(predictions)
            .filter(|(e, _)| e.language == Some(language))
            .map(|(e, p)| (e.clone(), p.clone()))
            .unzip();
        if ex.is_empty() {
            continue;
        }
        let mut sub = score_subset(&ex, &pred, 0.0);
        sub.subset = Some(language.code().to_owned());
        report.per_language.push(sub);
    }
    report
}

fn score_subset(
    examples: &[EvalExample],
    predictions: &[Analysis],
    elapsed_seconds: f64,
) -> EvalReport {
    let k = Intent::ALL.len();
    let mut confusion = vec![vec![0_usize; k]; k];
    let idx = |i: Intent| Intent::ALL.iter().position(|x| *x == i).unwrap_or(0);
    let mut intent_errors = Vec::new();
    let mut product_errors = Vec::new();
    let (mut product_scored, mut product_right) = (0, 0);
    let mut signal_counts = vec![(0_usize, 0_usize, 0_usize); Signal::ALL.len()];
    let mut signal_scored = 0;
    let (mut esc_scored, mut esc_tp, mut esc_fp, mut esc_fn) = (0, 0, 0, 0);
    let (mut lang_scored, mut lang_right) = (0, 0);

    for (ex, pred) in examples.iter().zip(predictions) {
        if let Some(gold) = ex.intent {
            if let Some(cell) = confusion
                .get_mut(idx(gold))
                .and_then(|row| row.get_mut(idx(pred.intent)))
            {
                *cell += 1;
            }
            if gold != pred.intent && intent_errors.len() < MAX_MISTAKES {
                intent_errors.push(Mistake {
                    text: ex.text.clone(),
                    expected: gold.as_str().to_owned(),
                    predicted: pred.intent.as_str().to_owned(),
                    confidence: pred.confidence,
                });
            }
        }
        if let Some(gold) = &ex.product {
            product_scored += 1;
            let predicted = pred.matched_product.as_ref().map(|m| m.name.as_str());
            let right = match (gold.as_deref(), predicted) {
                (None, None) => true,
                (Some(g), Some(p)) => g.trim().eq_ignore_ascii_case(p.trim()),
                _ => false,
            };
            if right {
                product_right += 1;
            } else if product_errors.len() < MAX_MISTAKES {
                product_errors.push(Mistake {
                    text: ex.text.clone(),
                    expected: gold.clone().unwrap_or_else(|| "none".into()),
                    predicted: predicted.unwrap_or("none").to_owned(),
                    confidence: pred.matched_product.as_ref().map_or(0.0, |m| m.score),
                });
            }
        }
        if let Some(gold) = &ex.signals {
            signal_scored += 1;
            for (slot, signal) in Signal::ALL.iter().enumerate() {
                let g = gold.contains(signal);
                let p = pred.signals.iter().any(|h| h.signal == *signal);
                if let Some(c) = signal_counts.get_mut(slot) {
                    match (g, p) {
                        (true, true) => c.0 += 1,
                        (false, true) => c.1 += 1,
                        (true, false) => c.2 += 1,
                        (false, false) => {}
                    }
                }
            }
        }
        if let Some(gold) = ex.escalate {
            esc_scored += 1;
            match (gold, pred.wants_human) {
                (true, true) => esc_tp += 1,
                (false, true) => esc_fp += 1,
                (true, false) => esc_fn += 1,
                (false, false) => {}
            }
        }
        if let Some(gold) = ex.language {
            lang_scored += 1;
            lang_right += usize::from(gold == pred.language);
        }
    }

    let per_class: Vec<ClassMetrics> = Intent::ALL
        .iter()
        .enumerate()
        .map(|(c, intent)| {
            let tp = confusion
                .get(c)
                .and_then(|r| r.get(c))
                .copied()
                .unwrap_or(0);
            let row: usize = confusion.get(c).map_or(0, |r| r.iter().sum());
            let col: usize = confusion.iter().filter_map(|r| r.get(c)).sum();
            metrics(intent.as_str(), tp, col - tp, row - tp)
        })
        .collect();
    let active: Vec<&ClassMetrics> = per_class
        .iter()
        .filter(|m| m.support > 0 || m.predicted > 0)
        .collect();
    let intent_macro_f1 = if active.is_empty() {
        0.0
    } else {
        active.iter().map(|m| m.f1).sum::<f64>() / active.len() as f64
    };
    let intent_scored: usize = confusion.iter().flatten().sum();
    let diagonal: usize = (0..k)
        .filter_map(|c| confusion.get(c).and_then(|r| r.get(c)))
        .sum();

    let per_signal: Vec<ClassMetrics> = Signal::ALL
        .iter()
        .zip(&signal_counts)
        .map(|(s, &(tp, fp, fn_))| metrics(s.as_str(), tp, fp, fn_))
        .collect();
    let (tp, fp, fn_) = signal_counts
        .iter()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let micro = metrics("all", tp, fp, fn_);
    let escalation = metrics("escalate", esc_tp, esc_fp, esc_fn);
    let n = predictions.len().min(examples.len());

    EvalReport {
        examples: n,
        intent_scored,
        intent_accuracy: ratio(diagonal, intent_scored),
        intent_macro_f1,
        per_class,
        confusion_matrix: ConfusionMatrix {
            labels: Intent::ALL.iter().map(|i| i.as_str().to_owned()).collect(),
            rows: confusion,
        },
        product_scored,
        product_accuracy: ratio(product_right, product_scored),
        signal_scored,
        signal_precision: micro.precision,
        signal_recall: micro.recall,
        signal_f1: micro.f1,
        per_signal,
        escalation_scored: esc_scored,
        escalation_positives: esc_tp + esc_fn,
        escalation_precision: escalation.precision,
        escalation_recall: escalation.recall,
        language_scored: lang_scored,
        language_accuracy: ratio(lang_right, lang_scored),
        elapsed_seconds,
        messages_per_second: if elapsed_seconds > 0.0 {
            n as f64 / elapsed_seconds
        } else {
            0.0
        },
        intent_errors,
        product_errors,
        subset: None,
        per_language: Vec::new(),
    }
}

impl EvalReport {
    /// A plain-text rendering for terminals and CI logs.
    pub fn render_text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let _ = writeln!(s, "examples: {}", self.examples);
        let _ = writeln!(
            s,
            "intent: macro-F1 {:.3}, accuracy {:.3} ({} scored)",
            self.intent_macro_f1, self.intent_accuracy, self.intent_scored
        );
        let _ = writeln!(
            s,
            "  {:<18} {:>9} {:>9} {:>9} {:>8} {:>9}",
            "class", "precision", "recall", "F1", "support", "predicted"
        );
        for m in &self.per_class {
            let _ = writeln!(
                s,
                "  {:<18} {:>9.3} {:>9.3} {:>9.3} {:>8} {:>9}",
                m.label, m.precision, m.recall, m.f1, m.support, m.predicted
            );
        }
        let _ = writeln!(s, "confusion matrix (rows: labelled, columns: predicted):");
        let short: Vec<String> = self
            .confusion_matrix
            .labels
            .iter()
            .map(|l| l.chars().take(7).collect())
            .collect();
        let _ = write!(s, "  {:<18}", "");
        for l in &short {
            let _ = write!(s, " {l:>7}");
        }
        let _ = writeln!(s);
        for (label, row) in self
            .confusion_matrix
            .labels
            .iter()
            .zip(&self.confusion_matrix.rows)
        {
            let _ = write!(s, "  {label:<18}");
            for v in row {
                let _ = write!(s, " {v:>7}");
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(
            s,
            "product match accuracy: {:.3} ({} scored)",
            self.product_accuracy, self.product_scored
        );
        let _ = writeln!(
            s,
            "signals: micro P {:.3} R {:.3} F1 {:.3} ({} scored)",
            self.signal_precision, self.signal_recall, self.signal_f1, self.signal_scored
        );
        for m in &self.per_signal {
            let _ = writeln!(
                s,
                "  {:<18} {:>9.3} {:>9.3} {:>9.3} {:>8} {:>9}",
                m.label, m.precision, m.recall, m.f1, m.support, m.predicted
            );
        }
        let _ = writeln!(
            s,
            "escalation (wantsHuman): recall {:.3}, precision {:.3} ({} positives of {} scored)",
            self.escalation_recall,
            self.escalation_precision,
            self.escalation_positives,
            self.escalation_scored
        );
        let _ = writeln!(
            s,
            "language accuracy: {:.3} ({} scored)",
            self.language_accuracy, self.language_scored
        );
        let _ = writeln!(
            s,
            "throughput: {:.0} messages/s ({:.4} s)",
            self.messages_per_second, self.elapsed_seconds
        );
        for sub in &self.per_language {
            s.push_str(&sub.render_language());
        }
        s
    }

    /// The compact per-language section: every class and signal F1, escalation and language.
    fn render_language(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let name = self.subset.as_deref().unwrap_or("all");
        let _ = writeln!(
            s,
            "-- language {name}: {} examples, intent macro-F1 {:.3}, accuracy {:.3}",
            self.examples, self.intent_macro_f1, self.intent_accuracy
        );
        let row = |m: &ClassMetrics| {
            format!(
                "  {:<18} P {:.3} R {:.3} F1 {:.3} ({} / {})\n",
                m.label, m.precision, m.recall, m.f1, m.support, m.predicted
            )
        };
        for m in self.per_class.iter().chain(&self.per_signal) {
            s.push_str(&row(m));
        }
        let _ = writeln!(
            s,
            "  escalation recall {:.3} precision {:.3} ({} positives); product {:.3}; language {:.3}",
            self.escalation_recall,
            self.escalation_precision,
            self.escalation_positives,
            self.product_accuracy,
            self.language_accuracy
        );
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::analysis::{Language, ProductMatch, Provider, SignalHit};

    fn analysis(
        intent: Intent,
        product: Option<&str>,
        signals: &[Signal],
        human: bool,
    ) -> Analysis {
        Analysis {
            intent,
            confidence: 0.9,
            signals: signals
                .iter()
                .map(|s| SignalHit {
                    signal: *s,
                    evidence: String::new(),
                    start: 0,
                    end: 0,
                })
                .collect(),
            sentiment: 0.0,
            wants_human: human,
            matched_product: product.map(|p| ProductMatch {
                product_id: p.into(),
                name: p.into(),
                score: 1.0,
            }),
            language: Language::English,
            provider: Provider::Offline,
        }
    }

    #[test]
    fn lines_parse_with_absent_null_and_none_labels() {
        let text = r#"{"text":"a","intent":"praise","product":null,"signals":["spam"],"escalate":true,"lang":"es"}
{"text":"b","product":"none"}

{"text":"c","product":"Ocean Hoodie"}
{"text":"d"}"#;
        let ex = parse_examples(text).unwrap();
        assert_eq!(ex.len(), 4);
        assert_eq!(ex[0].intent, Some(Intent::Praise));
        assert_eq!(ex[0].product, Some(None));
        assert_eq!(ex[0].signals, Some(vec![Signal::Spam]));
        assert_eq!(ex[0].language, Some(Language::Spanish));
        assert_eq!(ex[1].product, Some(None));
        assert_eq!(ex[2].product, Some(Some("Ocean Hoodie".into())));
        assert_eq!(ex[3].product, None);
        assert_eq!(ex[3].intent, None);
        let bad = parse_examples("{\"text\":\"x\",\"intent\":\"BUYING\"}");
        assert!(matches!(bad, Err(EvalError::Line { line: 1, .. })));
    }

    #[test]
    fn catalogs_parse_into_products_with_slug_ids() {
        let json = r#"[{"name":"Ocean Hoodie","description":"d","priceMicros":49990000,"currency":"usd","purchaseLink":"https://x.example/h","keywords":["hoodie"]},
                       {"name":"Ocean  Hoodie!","priceMicros":1,"currency":"EUR"}]"#;
        let cat = parse_catalog(json).unwrap();
        assert_eq!(cat[0].id, "ocean-hoodie");
        assert_eq!(cat[0].price.display(), "49.99 USD");
        assert_eq!(cat[1].id, "ocean-hoodie-2");
        assert_eq!(cat[1].purchase_link, None);
        assert!(parse_catalog(r#"[{"name":"x","priceMicros":1,"currency":"XYZ"}]"#).is_err());
    }

    /// Four examples, computed by hand:
    /// labels    P  P  C  O ; predictions P  C  C  P
    /// PRODUCT_INQUIRY: tp 1, fp 1, fn 1 → P 0.5, R 0.5, F1 0.5
    /// COMPLAINT:       tp 1, fp 1, fn 0 → P 0.5, R 1,   F1 2/3
    /// OTHER:           tp 0, fp 0, fn 1 → 0, 0, 0
    /// macro-F1 over the three classes present = (0.5 + 2/3 + 0) / 3 = 0.3889
    #[test]
    fn metrics_match_a_hand_computed_example() {
        let ex = |intent, product: Option<Option<&str>>, signals: &[Signal], esc| EvalExample {
            text: "t".into(),
            intent: Some(intent),
            product: product.map(|p| p.map(str::to_owned)),
            signals: Some(signals.to_vec()),
            escalate: Some(esc),
            language: None,
            channel: None,
        };
        use Intent::*;
        use Signal::*;
        let examples = vec![
            ex(ProductInquiry, Some(Some("Hoodie")), &[Interested], false),
            ex(ProductInquiry, Some(None), &[Interested, Urgent], true),
            ex(Complaint, None, &[], true),
            ex(Other, Some(Some("Cap")), &[Spam], false),
        ];
        let predictions = vec![
            analysis(ProductInquiry, Some("hoodie"), &[Interested], false),
            analysis(Complaint, Some("Cap"), &[Interested], true),
            analysis(Complaint, None, &[NotInterested], false),
            analysis(ProductInquiry, None, &[Spam], true),
        ];
        let r = score(&examples, &predictions, 2.0);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert_eq!(r.intent_scored, 4);
        assert!(close(r.intent_accuracy, 0.5));
        let pi = &r.per_class[0];
        assert!(close(pi.precision, 0.5) && close(pi.recall, 0.5) && close(pi.f1, 0.5));
        let co = &r.per_class[3];
        assert!(close(co.precision, 0.5) && close(co.recall, 1.0) && close(co.f1, 2.0 / 3.0));
        assert!(close(r.intent_macro_f1, (0.5 + 2.0 / 3.0) / 3.0));
        assert_eq!(r.confusion_matrix.rows[0], vec![1, 0, 0, 1, 0, 0]);
        assert_eq!(r.confusion_matrix.rows[5], vec![1, 0, 0, 0, 0, 0]);
        // Products: 3 scored (the third has no label); right: "hoodie" (case-insensitive) only.
        assert_eq!(r.product_scored, 3);
        assert!(close(r.product_accuracy, 1.0 / 3.0));
        // Signals: tp = interested×2 + spam = 3; fp = not_interested = 1; fn = urgent = 1.
        assert!(
            close(r.signal_precision, 0.75)
                && close(r.signal_recall, 0.75)
                && close(r.signal_f1, 0.75)
        );
        // Escalation: tp 1 (2nd), fn 1 (3rd), fp 1 (4th).
        assert_eq!(r.escalation_positives, 2);
        assert!(close(r.escalation_recall, 0.5) && close(r.escalation_precision, 0.5));
        assert!(close(r.messages_per_second, 2.0));
        let json = serde_json::to_value(&r).unwrap();
        for key in [
            "intentMacroF1",
            "productAccuracy",
            "signalF1",
            "escalationRecall",
            "messagesPerSecond",
            "perClass",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert!(r.render_text().contains("macro-F1 0.389"));
    }
}
