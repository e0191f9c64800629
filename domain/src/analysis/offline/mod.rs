//! The offline analyzer: Leadline's embedded AI provider (ARCHITECTURE.md §2, "AI: offline
//! classifier + templates"). Pure, deterministic, English and Spanish.
//!
//! `analyze` runs one pass over the message: tokenize and normalise (`text`), find lexicon
//! phrases with negation scopes (`lexicon`), match the catalog (`catalog`), score the request
//! for a person (`escalation`) and spam, compute sentiment, classify the intent with a softmax
//! regression over hashed word / character n-gram / lexicon features (`features`, `model`),
//! then settle the signals with evidence spans (`signals`) and the language. Learned yes/no
//! models over the same features (`labels`) back the rules up: the escalation model hands a
//! customer to a person the request rules miss (frustration in words no list holds), the signal
//! models add a signal they are sure of, and a character n-gram model decides the language of
//! messages the language lexicon cannot (`Combine` holds how). `reply` fills templates.
//!
//! The models are trained when the first analyzer is created, from the TRAIN and TEST splits
//! shipped in `domain/data/analysis/` (compiled in with `include_str!`), and shared by every
//! analyzer of the process afterwards. Training takes about 0.3 s in an optimised build (a few
//! seconds unoptimised) and is deterministic (fixed epochs and shuffle seeds), so the same build
//! always has the same weights.
//!
//! How the splits were made: see `domain/data/analysis/README.md` — TRAIN and TEST by one hash
//! rule, HOLDOUT by another, each decided before any model saw the messages. Hyper-parameters,
//! the temperature and the `Combine` thresholds were chosen by 5-fold cross-validation over
//! TRAIN ∪ TEST (`cross_validation_on_train_and_test`); HOLDOUT is read by no training or
//! tuning step, only by `leadline eval`. Caveat: the lexicons were written while reading TRAIN
//! and TEST, so cross-validation flatters the rules; HOLDOUT's figures are the honest ones.
//!
//! Must not: do IO, read clocks or randomness, or panic on any input.

mod attributes;
mod catalog;
mod escalation;
mod features;
mod labels;
mod lexicon;
mod model;
mod reply;
mod signals;
mod text;

use std::sync::{Arc, Mutex, OnceLock};

use crate::analysis::eval::{parse_catalog, parse_examples, EvalError, EvalExample};
use crate::analysis::{
    Analysis, AnalysisContext, CatalogProduct, Intent, Language, ProductMatch, Provider, Reply,
    Signal, Speaker,
};

use self::catalog::PreparedCatalog;
use self::features::Feature;
use self::labels::{LabelModel, LabelParams};
use self::lexicon::{Hit, Lexicon};
use self::model::{IntentModel, TrainParams, CLASSES};

/// The data shipped with the analyzer (`domain/data/analysis/`).
pub mod dataset {
    use crate::analysis::eval::{parse_catalog, EvalError};
    use crate::analysis::{AiSettings, AnalysisContext};
    use crate::channel::Channel;

    /// The demo catalog: eleven products with English and Spanish keywords.
    pub const CATALOG_JSON: &str = include_str!("../../../data/analysis/catalog.json");
    /// Labelled messages the model trains on.
    pub const TRAIN_JSONL: &str = include_str!("../../../data/analysis/train.jsonl");
    /// Labelled messages held out for evaluation only.
    pub const TEST_JSONL: &str = include_str!("../../../data/analysis/test.jsonl");
    /// The untouched split: written with issue 17's messages and assigned by its own hash rule;
    /// no training, cross-validation or tuning step reads it (only `leadline eval`, the
    /// benchmark and the split-rule test). Its figures are the honest ones.
    pub const HOLDOUT_JSONL: &str = include_str!("../../../data/analysis/holdout.jsonl");
    /// Messages whose suggested replies are scored (`leadline eval --task replies`).
    pub const REPLIES_JSONL: &str = include_str!("../../../data/analysis/replies.jsonl");
    /// The escalation keywords of the demo tenant the eval files were labelled with.
    pub const ESCALATION_KEYWORDS: &[&str] = &[
        "refund",
        "reembolso",
        "chargeback",
        "lawyer",
        "abogado",
        "denuncia",
        "profeco",
    ];

    /// The context the eval files were labelled for: the demo catalog, no history, the demo
    /// tenant's escalation keywords, web chat.
    pub fn demo_context() -> Result<AnalysisContext, EvalError> {
        Ok(AnalysisContext {
            channel: Channel::WebChat,
            products: parse_catalog(CATALOG_JSON)?,
            history: Vec::new(),
            settings: AiSettings {
                escalation_keywords: ESCALATION_KEYWORDS
                    .iter()
                    .map(|k| (*k).to_owned())
                    .collect(),
                ..AiSettings::default()
            },
        })
    }
}

/// Probability from which a purchase intent counts as interest even without an interest phrase.
const MODEL_INTEREST_CONFIDENCE: f32 = 0.5;
/// Prepared catalogs kept per analyzer model (tenants × catalog versions in use at once).
const CATALOG_CACHE_SIZE: usize = 32;
/// Score given to the only product of a one-product catalog (a live session selling one item)
/// when a product question names none: "price?" during that stream is about it.
const SOLE_PRODUCT_SCORE: f32 = 0.5;
/// Score factor for a product carried over from the recent conversation.
const HISTORY_FACTOR: f32 = 0.8;
/// How many recent turns are searched for the product being discussed.
const HISTORY_TURNS: usize = 4;

/// Label columns of the learned yes/no model: escalation, then `Signal::ALL` in order.
const LABELS: usize = 1 + Signal::ALL.len();
/// The escalation column.
const ESCALATE: usize = 0;

struct Shared {
    lexicon: Lexicon,
    model: IntentModel,
    /// Escalation and the signals, learned (`labels`).
    labels: LabelModel,
    /// Spanish (logit > 0) or English, learned from character n-grams.
    language: LabelModel,
    /// The character n-gram lengths the models were trained with.
    char_grams: (usize, usize),
    catalogs: Mutex<Vec<(u64, Arc<PreparedCatalog>)>>,
}

/// How the learned yes/no models are combined with the rules. Chosen by 5-fold
/// cross-validation over TRAIN ∪ TEST (`cross_validation_on_train_and_test`), never HOLDOUT.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Combine {
    /// Probability from which the escalation model alone hands the customer to a person (the
    /// request and keyword rules still do on their own).
    pub escalate_add: f32,
    /// Whether the request and keyword rules escalate (off only to measure the model alone).
    pub escalate_rules: bool,
    /// Whether the intent overrides apply (a plain request for a person is a general
    /// question; a request is never a purchase or inquiry) — off only to measure them.
    pub intent_rules: bool,
    /// Per signal (`Signal::ALL` order): a signal the rules found stands unless the model gives
    /// it less than this.
    pub signal_keep: [f32; 7],
    /// Per signal: probability from which the model alone reports it (with the word that
    /// weighs most for it as evidence).
    pub signal_add: [f32; 7],
    /// Weight of the language model's logit next to the language lexicon's score.
    pub language_weight: f32,
    /// A language score nearer 0 than this is no clear cue: the conversation's language
    /// decides.
    pub language_margin: f32,
}

impl Default for Combine {
    fn default() -> Self {
        Self {
            escalate_add: 0.4,
            escalate_rules: true,
            intent_rules: true,
            // The signal models alone are weaker than the rules on the rare signals (urgent,
            // budget: 20 examples each), so they veto nothing and add only when sure. Interest,
            // with 200 examples, is learned well enough to overrule the rules: the interest the
            // rules read into a message stands only when the model gives it 0.5, and the model
            // adds it from 0.7 (the rules' false interest is issue 17's complaint).
            signal_keep: [0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            signal_add: [0.7, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9],
            language_weight: 1.0,
            language_margin: 0.5,
        }
    }
}

/// The offline analyzer. Cheap to create and clone after the first one (the trained model is
/// shared); safe to use from many threads.
#[derive(Clone)]
pub struct OfflineAnalyzer {
    shared: Arc<Shared>,
    combine: Combine,
}

impl std::fmt::Debug for OfflineAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineAnalyzer").finish_non_exhaustive()
    }
}

impl Default for OfflineAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

static SHIPPED: OnceLock<Arc<Shared>> = OnceLock::new();

/// Everything one pass over a message finds before the intent is known.
struct Scan<'t> {
    toks: text::Tokens<'t>,
    hits: Vec<Hit>,
    product: Option<catalog::ProductHit>,
    request: f32,
    spam: (f32, Option<(usize, usize)>),
    sentiment: f32,
    /// Words of an explicit refusal that stands (see `signals::refusal`).
    refusal: Option<(usize, usize)>,
}

impl OfflineAnalyzer {
    /// The analyzer trained on the shipped TRAIN and TEST splits (never HOLDOUT). The first
    /// call in a process trains it (about 0.3 s optimised); later calls share it.
    pub fn new() -> Self {
        let shared = SHIPPED.get_or_init(|| {
            // The shipped files are checked by tests; should one ever fail to parse, the
            // analyzer still works (untrained models: lexicon rules only) rather than panic.
            let mut examples = parse_examples(dataset::TRAIN_JSONL).unwrap_or_default();
            examples.extend(parse_examples(dataset::TEST_JSONL).unwrap_or_default());
            let catalog = parse_catalog(dataset::CATALOG_JSON).unwrap_or_default();
            Arc::new(Self::train_shared(
                &examples,
                &catalog,
                TrainParams::default(),
                LabelParams::default(),
            ))
        });
        OfflineAnalyzer {
            shared: Arc::clone(shared),
            combine: Combine::default(),
        }
    }

    /// An analyzer trained on other labelled data (examples without an intent label are
    /// skipped); `catalog` is the one the examples talk about, used for the product feature.
    /// Escalation labels are read as the demo tenant's (`dataset::ESCALATION_KEYWORDS`): a
    /// message its keywords escalate teaches the escalation model nothing, so that model learns
    /// the need for a person, not one tenant's keyword list.
    pub fn train(examples: &[EvalExample], catalog: &[CatalogProduct]) -> Self {
        Self::train_with(
            examples,
            catalog,
            TrainParams::default(),
            LabelParams::default(),
        )
    }

    pub(crate) fn train_with(
        examples: &[EvalExample],
        catalog: &[CatalogProduct],
        params: TrainParams,
        label_params: LabelParams,
    ) -> Self {
        OfflineAnalyzer {
            shared: Arc::new(Self::train_shared(examples, catalog, params, label_params)),
            combine: Combine::default(),
        }
    }

    /// The same trained models combined with the rules another way (cross-validation aid).
    #[cfg(test)]
    pub(crate) fn with_combine(&self, combine: Combine) -> Self {
        OfflineAnalyzer {
            shared: Arc::clone(&self.shared),
            combine,
        }
    }

    /// Parses a JSON-lines training file and a catalog, then trains.
    pub fn train_from_files(train_jsonl: &str, catalog_json: &str) -> Result<Self, EvalError> {
        Ok(Self::train(
            &parse_examples(train_jsonl)?,
            &parse_catalog(catalog_json)?,
        ))
    }

    fn train_shared(
        examples: &[EvalExample],
        catalog: &[CatalogProduct],
        params: TrainParams,
        label_params: LabelParams,
    ) -> Shared {
        let lexicon = Lexicon::new();
        let prepared = PreparedCatalog::build(catalog, &lexicon);
        let keywords: Vec<String> = dataset::ESCALATION_KEYWORDS
            .iter()
            .map(|k| (*k).to_owned())
            .collect();
        let mut data: Vec<(Vec<Feature>, usize)> = Vec::with_capacity(examples.len());
        let mut label_data: Vec<(Vec<Feature>, Vec<Option<bool>>)> =
            Vec::with_capacity(examples.len());
        let mut language_data: Vec<(Vec<Feature>, Vec<Option<bool>>)> =
            Vec::with_capacity(examples.len());
        for ex in examples {
            let scan = Self::scan_with(&lexicon, &prepared, &ex.text, catalog);
            let mut x = Vec::new();
            Self::features_of(&scan, params.char_grams, &mut x);
            if let Some(intent) = ex.intent {
                data.push((x.clone(), class_of(intent)));
            }
            let by_keyword = escalation::keyword_span(&scan.toks, &keywords).is_some();
            let mut y = vec![None; LABELS];
            if let Some(slot) = y.get_mut(ESCALATE) {
                *slot = ex.escalate.filter(|_| !by_keyword);
            }
            if let Some(gold) = &ex.signals {
                for (k, s) in Signal::ALL.iter().enumerate() {
                    if let Some(slot) = y.get_mut(1 + k) {
                        *slot = Some(gold.contains(s));
                    }
                }
            }
            label_data.push((x, y));
            if let Some(lang) = ex.language {
                let mut lx = Vec::new();
                labels::language_features(&scan.toks, &mut lx);
                language_data.push((lx, vec![Some(lang == Language::Spanish)]));
            }
        }
        let model = IntentModel::train(&data, params);
        let labels = LabelModel::train(&label_data, LABELS, label_params);
        let language = LabelModel::train(&language_data, 1, label_params);
        Shared {
            lexicon,
            model,
            labels,
            language,
            char_grams: params.char_grams,
            catalogs: Mutex::new(Vec::new()),
        }
    }

    fn scan_with<'t>(
        lex: &Lexicon,
        prepared: &PreparedCatalog,
        message: &'t str,
        products: &[CatalogProduct],
    ) -> Scan<'t> {
        let mut toks = text::tokenize(message);
        lex.mark_negation(&mut toks);
        let mut hits = Vec::with_capacity(16);
        lex.scan(&toks, &mut hits);
        let product = prepared.best_match(&toks, lex);
        let request = escalation::request_score(&toks, &hits);
        let spam = signals::spam_score(&toks, &hits, products);
        let sentiment = lex.sentiment(&toks);
        let refusal = signals::refusal(lex, &toks, &hits);
        Scan {
            toks,
            hits,
            product,
            request,
            spam,
            sentiment,
            refusal,
        }
    }

    fn features_of(scan: &Scan<'_>, char_grams: (usize, usize), out: &mut Vec<Feature>) {
        let empty: &[usize] = &[];
        let product_words = scan.product.as_ref().map_or(empty, |p| p.words.as_slice());
        let ctx = features::Context {
            hits: &scan.hits,
            product_words,
            has_product: scan.product.is_some(),
            request_score: scan.request,
            spam_score: scan.spam.0,
            sentiment: scan.sentiment,
            refusal: scan.refusal.is_some(),
            char_grams,
        };
        features::extract(&scan.toks, &ctx, out);
    }

    /// The prepared index of `products`, from the cache or built now.
    fn prepared(&self, products: &[CatalogProduct]) -> Arc<PreparedCatalog> {
        let key = catalog::fingerprint(products);
        if let Ok(cache) = self.shared.catalogs.lock() {
            if let Some((_, c)) = cache.iter().find(|(k, _)| *k == key) {
                return Arc::clone(c);
            }
        }
        let built = Arc::new(PreparedCatalog::build(products, &self.shared.lexicon));
        // A poisoned lock only costs the cache, never the answer.
        if let Ok(mut cache) = self.shared.catalogs.lock() {
            if !cache.iter().any(|(k, _)| *k == key) {
                if cache.len() >= CATALOG_CACHE_SIZE {
                    cache.remove(0);
                }
                cache.push((key, Arc::clone(&built)));
            }
        }
        built
    }

    /// Analyses one message: intent with confidence, signals with evidence spans, sentiment,
    /// whether the customer wants a person, the matched product and the language.
    pub fn analyze(&self, message: &str, ctx: &AnalysisContext) -> Analysis {
        let lex = &self.shared.lexicon;
        let prepared = self.prepared(&ctx.products);
        let scan = Self::scan_with(lex, &prepared, message, &ctx.products);
        let mut x = Vec::with_capacity(128);
        Self::features_of(&scan, self.shared.char_grams, &mut x);
        let probs = self.shared.model.probabilities(&x);
        let asks_person = scan.request >= escalation::REQUEST_THRESHOLD;
        // A request for a person with no grievance in it (no frustration cue, no problem word,
        // no negative tone) is a general question by the labelling guide, whatever the model
        // learned from the many angry requests.
        let plain_request = asks_person
            && !escalation::frustrated(&scan.hits)
            && scan.sentiment >= 0.0
            && !scan
                .hits
                .iter()
                .any(|h| !h.negated && h.cue == lexicon::Cue::Cat(lexicon::Cat::Problem));
        let (intent, confidence) = choose_intent(
            &probs,
            scan.refusal.is_some(),
            asks_person && self.combine.intent_rules,
            plain_request && self.combine.intent_rules,
        );

        // Commercial by the intent only: a product named in a tracking question or a complaint
        // ("did my hoodie ship yet?") is no interest in buying it.
        let commercial = matches!(intent, Intent::ProductInquiry | Intent::PurchaseIntent);
        let model_interest_word = (intent == Intent::PurchaseIntent
            && confidence >= MODEL_INTEREST_CONFIDENCE)
            .then(|| self.strongest_word(&scan, class_of(Intent::PurchaseIntent)))
            .flatten();
        let view = signals::IntentView {
            commercial,
            amounts_are_budget: matches!(
                intent,
                Intent::ProductInquiry | Intent::PurchaseIntent | Intent::GeneralQuestion
            ),
            model_interest_word,
            asks_person,
        };
        let rule_hits = signals::finalize(lex, &scan.toks, &scan.hits, scan.spam, &view);
        let mut z = [0.0_f32; LABELS];
        self.shared.labels.logits_into(&x, &mut z);
        let signal_hits = self.learned_signals(&scan, rule_hits, &z, &view, scan.refusal.is_some());
        let is_spam = signal_hits.iter().any(|h| h.signal == Signal::Spam);

        let by_rule = scan.request >= escalation::REQUEST_THRESHOLD
            || escalation::keyword_span(&scan.toks, &ctx.settings.escalation_keywords).is_some();
        let wants_human = (self.combine.escalate_rules && by_rule)
            || labels::sigmoid(z[ESCALATE]) >= self.combine.escalate_add;

        let matched_product = if is_spam {
            None
        } else {
            scan.product
                .as_ref()
                .and_then(|hit| product_match(&ctx.products, hit.index, hit.score))
                .or_else(|| self.product_from_context(intent, ctx, &prepared))
        };

        let language = self.language(&scan.toks, ctx);
        Analysis {
            intent,
            confidence,
            signals: signal_hits,
            sentiment: scan.sentiment,
            wants_human,
            matched_product,
            language,
            provider: Provider::Offline,
        }
    }

    /// The reply to send for `analysis`: in its language, in the tenant's style and length,
    /// answering an attribute question about the matched product from its description (or
    /// saying the description does not tell), then quoting its real price and link. `message`
    /// is the customer's text, which the attribute question is read from.
    pub fn reply(&self, message: &str, analysis: &Analysis, ctx: &AnalysisContext) -> Reply {
        reply::build(message, analysis, ctx, &self.shared.lexicon)
    }

    /// The intent logits of a message (development aid: calibration).
    #[cfg(test)]
    pub(crate) fn logits(&self, message: &str, ctx: &AnalysisContext) -> [f32; CLASSES] {
        let prepared = self.prepared(&ctx.products);
        let scan = Self::scan_with(&self.shared.lexicon, &prepared, message, &ctx.products);
        let mut x = Vec::new();
        Self::features_of(&scan, self.shared.char_grams, &mut x);
        self.shared.model.logits(&x)
    }

    /// The rules' signals, each kept unless the signal model all but rules it out, plus those
    /// the model alone is confident of (evidence: the word that weighs most for the signal).
    /// The rules' exclusions still hold: a spam message carries no buying signal, a refusal no
    /// interest, and a request for a person no interest.
    fn learned_signals(
        &self,
        scan: &Scan<'_>,
        rule_hits: Vec<crate::analysis::SignalHit>,
        z: &[f32; LABELS],
        view: &signals::IntentView,
        refused: bool,
    ) -> Vec<crate::analysis::SignalHit> {
        let p = |k: usize| labels::sigmoid(z.get(1 + k).copied().unwrap_or(f32::NEG_INFINITY));
        let mut out: Vec<crate::analysis::SignalHit> = rule_hits
            .into_iter()
            .filter(|h| {
                Signal::ALL
                    .iter()
                    .position(|s| *s == h.signal)
                    .is_none_or(|k| p(k) >= self.combine.signal_keep.get(k).copied().unwrap_or(0.0))
            })
            .collect();
        for (k, signal) in Signal::ALL.iter().enumerate() {
            let add = self
                .combine
                .signal_add
                .get(k)
                .copied()
                .unwrap_or(f32::INFINITY);
            if p(k) < add || out.iter().any(|h| h.signal == *signal) {
                continue;
            }
            if *signal == Signal::Interested && (refused || view.asks_person) {
                continue;
            }
            let Some(wi) = self.strongest_label_word(scan, 1 + k) else {
                continue;
            };
            if let Some((start, end)) = scan.toks.word_span(wi, wi + 1) {
                if let Some(evidence) = scan.toks.text.get(start..end) {
                    out.push(crate::analysis::SignalHit {
                        signal: *signal,
                        evidence: evidence.to_owned(),
                        start,
                        end,
                    });
                }
            }
        }
        if out.iter().any(|h| h.signal == Signal::Spam) {
            out.retain(|h| matches!(h.signal, Signal::Spam | Signal::NotInterested));
        }
        if out.iter().any(|h| h.signal == Signal::NotInterested) {
            out.retain(|h| h.signal != Signal::Interested);
        }
        out.sort_by_key(|h| (h.start, h.end));
        out
    }

    /// The word whose unigram weighs most for label column `label` of the yes/no model.
    fn strongest_label_word(&self, scan: &Scan<'_>, label: usize) -> Option<usize> {
        let empty: &[usize] = &[];
        let product_words = scan.product.as_ref().map_or(empty, |p| p.words.as_slice());
        (0..scan.toks.words.len())
            .filter_map(|wi| {
                features::word_bucket(&scan.toks, wi, product_words)
                    .map(|b| (wi, self.shared.labels.weight(b, label)))
            })
            .filter(|(_, w)| *w > 0.0)
            .fold(None, |best: Option<(usize, f32)>, (wi, w)| match best {
                Some((_, bw)) if bw >= w => best,
                _ => Some((wi, w)),
            })
            .map(|(wi, _)| wi)
    }

    /// The word whose unigram weighs most for `class` (evidence of model-detected interest).
    fn strongest_word(&self, scan: &Scan<'_>, class: usize) -> Option<usize> {
        let empty: &[usize] = &[];
        let product_words = scan.product.as_ref().map_or(empty, |p| p.words.as_slice());
        (0..scan.toks.words.len())
            .filter_map(|wi| {
                features::word_bucket(&scan.toks, wi, product_words)
                    .map(|b| (wi, self.shared.model.weight(b, class)))
            })
            .filter(|(_, w)| *w > 0.0)
            .fold(None, |best: Option<(usize, f32)>, (wi, w)| match best {
                Some((_, bw)) if bw >= w => best,
                _ => Some((wi, w)),
            })
            .map(|(wi, _)| wi)
    }

    /// A product the message does not name but the context implies: the one discussed in the
    /// last few turns, or the only product on sale.
    fn product_from_context(
        &self,
        intent: Intent,
        ctx: &AnalysisContext,
        prepared: &PreparedCatalog,
    ) -> Option<ProductMatch> {
        if !matches!(
            intent,
            Intent::ProductInquiry | Intent::PurchaseIntent | Intent::Complaint
        ) {
            return None;
        }
        let lex = &self.shared.lexicon;
        for turn in ctx.history.iter().rev().take(HISTORY_TURNS) {
            if turn.speaker == Speaker::System {
                continue;
            }
            let mut toks = text::tokenize(&turn.text);
            lex.mark_negation(&mut toks);
            if let Some(hit) = prepared.best_match(&toks, lex) {
                return product_match(&ctx.products, hit.index, hit.score * HISTORY_FACTOR);
            }
        }
        if ctx.products.len() == 1 && intent != Intent::Complaint {
            return product_match(&ctx.products, 0, SOLE_PRODUCT_SCORE);
        }
        None
    }

    /// English or Spanish from the message's cues (the language lexicon's score plus the
    /// character n-gram model's logit); a message without clear cues (`ok`, `👍`) takes the
    /// language of the customer's latest message that has some, else its own leaning, else
    /// English.
    fn language(&self, toks: &text::Tokens<'_>, ctx: &AnalysisContext) -> Language {
        let score = |toks: &text::Tokens<'_>| self.language_score(toks);
        let margin = self.combine.language_margin.max(f32::MIN_POSITIVE);
        let decide = |score: f32| {
            if score >= margin {
                Some(Language::Spanish)
            } else if score <= -margin {
                Some(Language::English)
            } else {
                None
            }
        };
        let own = score(toks);
        decide(own)
            .or_else(|| {
                ctx.history
                    .iter()
                    .rev()
                    .filter(|t| t.speaker == Speaker::Lead)
                    .take(HISTORY_TURNS)
                    .find_map(|t| decide(score(&text::tokenize(&t.text))))
            })
            .unwrap_or(if own > 0.0 {
                Language::Spanish
            } else {
                Language::English
            })
    }

    /// Positive for Spanish, negative for English; 0 for a message without words.
    fn language_score(&self, toks: &text::Tokens<'_>) -> f32 {
        let lexical = self.shared.lexicon.language_score(toks);
        if !toks.tokens.iter().any(|t| t.kind == text::Kind::Word) {
            return lexical;
        }
        let mut lx = Vec::with_capacity(64);
        labels::language_features(toks, &mut lx);
        let mut z = [0.0_f32; 1];
        self.shared.language.logits_into(&lx, &mut z);
        lexical + self.combine.language_weight * z[0]
    }
}

fn product_match(products: &[CatalogProduct], index: usize, score: f32) -> Option<ProductMatch> {
    products.get(index).map(|p| ProductMatch {
        product_id: p.id.clone(),
        name: p.name.clone(),
        score: score.clamp(0.0, 1.0),
    })
}

fn class_of(intent: Intent) -> usize {
    Intent::ALL
        .iter()
        .position(|i| *i == intent)
        .unwrap_or(CLASSES - 1)
}

/// The most probable intent; an explicit refusal ("no me interesa") is never a purchase intent,
/// and a request for a person ("quiero que me atienda una persona") is neither a purchase
/// intent nor a product inquiry (the labelling guide files it under general questions, or a
/// complaint when it is one), so then the runner-up is taken, renormalised without them; a
/// plain request (`plain_request`) is a general question. The confidence is the chosen class's
/// share of the allowed classes' probability.
fn choose_intent(
    probs: &[f32; CLASSES],
    refused: bool,
    asks_person: bool,
    plain_request: bool,
) -> (Intent, f32) {
    let purchase = class_of(Intent::PurchaseIntent);
    let inquiry = class_of(Intent::ProductInquiry);
    let general = class_of(Intent::GeneralQuestion);
    let allowed =
        |k: usize| !(refused && k == purchase) && !(asks_person && (k == purchase || k == inquiry));
    // Ties go to the earlier class: deterministic.
    let best = probs
        .iter()
        .enumerate()
        .filter(|(k, _)| allowed(*k) && !(plain_request && *k != general))
        .fold(None, |acc: Option<(usize, f32)>, (k, p)| match acc {
            Some((_, bp)) if bp >= *p => acc,
            _ => Some((k, *p)),
        })
        .map_or(CLASSES - 1, |(k, _)| k);
    let mass: f32 = probs
        .iter()
        .enumerate()
        .filter(|(k, _)| allowed(*k))
        .map(|(_, p)| p)
        .sum();
    let p = probs.get(best).copied().unwrap_or(0.0);
    let confidence = if mass > 0.0 { p / mass } else { 0.0 };
    let intent = Intent::ALL.get(best).copied().unwrap_or(Intent::Other);
    (intent, confidence.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests;
