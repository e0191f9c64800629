//! Behaviour tests of the offline analyzer: the quality bars on the TEST split, the
//! honesty of the split itself, replies that never invent prices or links, language, signals
//! and evidence, escalation, and robustness on hostile input.

#![allow(clippy::unwrap_used)]

use super::dataset::{self, demo_context};
use super::*;
use crate::analysis::eval::{run, score, EvalReport};
use crate::analysis::{AiSettings, HistoryTurn, ResponseStyle};
use crate::channel::Channel;
use crate::money::Money;

fn analyzer() -> OfflineAnalyzer {
    OfflineAnalyzer::new()
}

fn evaluate(a: &OfflineAnalyzer, jsonl: &str) -> EvalReport {
    let ctx = demo_context().unwrap();
    let examples = parse_examples(jsonl).unwrap();
    let predictions = run(&examples, |text| a.analyze(text, &ctx));
    score(&examples, &predictions, 0.0)
}

/// Every "price-looking" amount in `text`: a number followed by an ISO code (`19.99 USD`) or
/// preceded by a currency sign (`$19.99`).
fn price_mentions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let trimmed = w
            .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '$' && c != '€' && c != '.');
        let trimmed = trimmed.trim_end_matches('.');
        let is_number = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        };
        if is_number(trimmed) {
            if let Some(next) = words.get(i + 1) {
                let code = next.trim_matches(|c: char| !c.is_ascii_alphabetic());
                if code.len() == 3 && iso_currency::Currency::from_code(code).is_some() {
                    out.push(format!("{trimmed} {code}"));
                }
            }
        }
        if let Some(amount) = trimmed.strip_prefix(['$', '€', '£']) {
            if is_number(amount) {
                out.push(trimmed.to_owned());
            }
        }
    }
    out
}

#[test]
fn replies_for_a_product_quote_its_exact_price_and_link_and_no_other_price() {
    let a = analyzer();
    let base = demo_context().unwrap();
    for style in ResponseStyle::ALL {
        for max in [1000, 160, 90] {
            let mut ctx = base.clone();
            ctx.settings.response_style = style;
            ctx.settings.max_reply_chars = max;
            ctx.settings.agent_name = Some("Lía".into());
            for product in &base.products {
                for message in [
                    format!("how much is the {}?", product.name),
                    format!("cuánto cuesta {}", product.name),
                    format!("I want the {}, link pls", product.name),
                ] {
                    let analysis = a.analyze(&message, &ctx);
                    let matched = analysis
                        .matched_product
                        .as_ref()
                        .map(|m| m.product_id.as_str());
                    assert_eq!(matched, Some(product.id.as_str()), "{message}");
                    if !matches!(
                        analysis.intent,
                        Intent::ProductInquiry | Intent::PurchaseIntent
                    ) {
                        continue;
                    }
                    let reply = a.reply(&message, &analysis, &ctx);
                    let price = product.price.display();
                    assert!(
                        reply.text.contains(&price),
                        "{style:?}/{max}: {} lacks {price}",
                        reply.text
                    );
                    if let Some(link) = &product.purchase_link {
                        assert!(
                            reply.text.contains(link.as_str()),
                            "{} lacks {link}",
                            reply.text
                        );
                    } else {
                        assert!(
                            !reply.text.contains("http"),
                            "invented link: {}",
                            reply.text
                        );
                    }
                    assert_eq!(
                        price_mentions(&reply.text),
                        vec![price.clone()],
                        "{}",
                        reply.text
                    );
                    if max >= 160 {
                        assert!(reply.text.chars().count() <= max, "{} > {max}", reply.text);
                    }
                }
            }
        }
    }
}

#[test]
fn a_cap_too_small_for_price_and_link_keeps_both_uncut() {
    let a = analyzer();
    let mut ctx = demo_context().unwrap();
    ctx.settings.max_reply_chars = 20;
    let analysis = a.analyze("hoodie price?", &ctx);
    let reply = a.reply("hoodie price?", &analysis, &ctx);
    assert!(reply.text.contains("49.99 USD"), "{}", reply.text);
    assert!(
        reply
            .text
            .contains("https://shop.leadline.example/p/ocean-hoodie"),
        "{}",
        reply.text
    );
}

#[test]
fn other_replies_respect_max_reply_chars() {
    let a = analyzer();
    let mut ctx = demo_context().unwrap();
    for max in [0, 1, 12, 40, 1000] {
        ctx.settings.max_reply_chars = max;
        for message in [
            "my order never arrived!!",
            "hola",
            "love this stream",
            "do you ship to canada?",
            "price?",
        ] {
            let analysis = a.analyze(message, &ctx);
            let reply = a.reply(message, &analysis, &ctx);
            assert!(reply.text.chars().count() <= max, "{max}: {}", reply.text);
        }
    }
}

#[test]
fn spanish_in_spanish_out() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    for message in [
        "cuanto cuesta la sudadera",
        "¿tienen los tenis en talla 27?",
        "quiero hablar con una persona",
        "mi pedido nunca llegó",
        "me encanta este live",
        "hola",
    ] {
        let analysis = a.analyze(message, &ctx);
        assert_eq!(analysis.language, Language::Spanish, "{message}");
        let reply = a.reply(message, &analysis, &ctx);
        assert_eq!(reply.language, Language::Spanish);
        let lower = reply.text.to_lowercase();
        assert!(
            ["¿", "¡", "aquí", "gracias", "cuesta", "persona", "pedido", "hola", "comprar"]
                .iter()
                .any(|w| lower.contains(w)),
            "not Spanish: {}",
            reply.text
        );
    }
    // The demo descriptions are English: a Spanish reply leaves them out.
    let analysis = a.analyze("cuanto cuesta la sudadera", &ctx);
    assert!(!a
        .reply("cuanto cuesta la sudadera", &analysis, &ctx)
        .text
        .contains("Heavyweight"));
    let analysis = a.analyze("how much is the hoodie", &ctx);
    assert_eq!(analysis.language, Language::English);
    assert!(a
        .reply("how much is the hoodie", &analysis, &ctx)
        .text
        .contains("is 49.99 USD"));
}

#[test]
fn a_message_without_language_cues_follows_the_conversation() {
    let a = analyzer();
    let mut ctx = demo_context().unwrap();
    ctx.history = vec![HistoryTurn {
        speaker: Speaker::Lead,
        text: "hola, quiero info de la sudadera".into(),
    }];
    let analysis = a.analyze("👍", &ctx);
    assert_eq!(analysis.language, Language::Spanish);
}

#[test]
fn escalation_keywords_of_the_tenant_set_wants_human() {
    let a = analyzer();
    let mut ctx = demo_context().unwrap();
    ctx.settings.escalation_keywords = vec!["Garantía".into(), "cancel my order".into()];
    assert!(a.analyze("esto tiene garantia?", &ctx).wants_human);
    assert!(a.analyze("Please CANCEL my order", &ctx).wants_human);
    assert!(!a.analyze("how much is the hoodie", &ctx).wants_human);
    let analysis = a.analyze("quiero hablar con una persona", &ctx);
    assert!(analysis.wants_human);
    assert!(
        a.reply("quiero hablar con una persona", &analysis, &ctx)
            .handoff
    );
}

#[test]
fn not_interested_is_a_signal_and_never_a_purchase_intent() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    for message in [
        "not interested",
        "no me interesa",
        "no gracias",
        "I'm not interested in the hoodie, thanks",
        "no me interesa comprar la sudadera",
        "don't want it, stop messaging me",
    ] {
        let analysis = a.analyze(message, &ctx);
        assert!(
            analysis
                .signals
                .iter()
                .any(|s| s.signal == Signal::NotInterested),
            "{message}: {analysis:?}"
        );
        assert!(
            !analysis
                .signals
                .iter()
                .any(|s| s.signal == Signal::Interested),
            "{message}"
        );
        assert_ne!(analysis.intent, Intent::PurchaseIntent, "{message}");
    }
    let analysis = a.analyze("I don't need another hoodie but I want it anyway", &ctx);
    assert!(!analysis
        .signals
        .iter()
        .any(|s| s.signal == Signal::NotInterested));
}

#[test]
fn signal_evidence_is_the_slice_of_the_message_it_points_to() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    let mut seen = 0;
    let all = parse_examples(dataset::TRAIN_JSONL)
        .unwrap()
        .into_iter()
        .chain(parse_examples(dataset::TEST_JSONL).unwrap());
    for ex in all {
        for hit in a.analyze(&ex.text, &ctx).signals {
            assert_eq!(
                ex.text.get(hit.start..hit.end),
                Some(hit.evidence.as_str()),
                "{}",
                ex.text
            );
            assert!(!hit.evidence.is_empty());
            seen += 1;
        }
    }
    assert!(seen > 100, "only {seen} signals");
    let text = "¿Cuánto? Tengo $90 de presupuesto, lo necesito URGENTE 🙏";
    let analysis = a.analyze(text, &ctx);
    let budget = analysis
        .signals
        .iter()
        .find(|s| s.signal == Signal::BudgetMentioned)
        .unwrap();
    assert!(budget.evidence.contains("$90"), "{budget:?}");
    let urgent = analysis
        .signals
        .iter()
        .find(|s| s.signal == Signal::Urgent)
        .unwrap();
    assert_eq!(urgent.evidence, "URGENTE");
}

#[test]
fn spam_is_flagged_and_carries_no_product_or_buying_signal() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    let analysis = a.analyze(
        "FREE followers 4 ur hoodie page!! check my profile www.getfollowz.xyz",
        &ctx,
    );
    assert!(analysis.signals.iter().any(|s| s.signal == Signal::Spam));
    assert!(analysis.matched_product.is_none());
    assert!(!analysis
        .signals
        .iter()
        .any(|s| s.signal == Signal::Interested));
    // The tenant's own product link is not spam.
    let own = a.analyze(
        "is this the right one? https://shop.leadline.example/p/ocean-hoodie",
        &ctx,
    );
    assert!(!own.signals.iter().any(|s| s.signal == Signal::Spam));
}

#[test]
fn context_supplies_the_product_a_short_question_refers_to() {
    let a = analyzer();
    let mut ctx = demo_context().unwrap();
    ctx.history = vec![
        HistoryTurn {
            speaker: Speaker::Lead,
            text: "do the headphones have noise cancelling?".into(),
        },
        HistoryTurn {
            speaker: Speaker::Ai,
            text: "Yes they do!".into(),
        },
    ];
    let analysis = a.analyze("how much?", &ctx);
    assert_eq!(
        analysis.matched_product.map(|m| m.name),
        Some("Bass Pro Wireless Headphones".into())
    );

    let mut live = demo_context().unwrap();
    live.channel = Channel::Youtube;
    live.products.truncate(1);
    let analysis = a.analyze("price??", &live);
    assert_eq!(
        analysis.matched_product.map(|m| m.product_id),
        Some("ocean-hoodie".into())
    );
}

#[test]
fn auto_escalation_after_n_ai_turns_hands_off() {
    let a = analyzer();
    let mut ctx = demo_context().unwrap();
    ctx.settings.auto_escalate_after_messages = Some(2);
    ctx.history = vec![
        HistoryTurn {
            speaker: Speaker::Lead,
            text: "hi".into(),
        },
        HistoryTurn {
            speaker: Speaker::Ai,
            text: "Hi!".into(),
        },
        HistoryTurn {
            speaker: Speaker::Lead,
            text: "do you ship to canada".into(),
        },
        HistoryTurn {
            speaker: Speaker::Ai,
            text: "Our team will reply".into(),
        },
    ];
    let analysis = a.analyze("hello??", &ctx);
    assert!(a.reply("hello??", &analysis, &ctx).handoff);
}

#[test]
fn a_product_without_link_never_gets_an_invented_one() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    for message in ["I want the soy candle", "quiero la vela, como pago?"] {
        let analysis = a.analyze(message, &ctx);
        assert_eq!(
            analysis.matched_product.as_ref().map(|m| m.name.as_str()),
            Some("Aroma Soy Candle")
        );
        let reply = a.reply(message, &analysis, &ctx);
        assert!(reply.text.contains("18.00 EUR"), "{}", reply.text);
        assert!(
            !reply.text.contains("http") && !reply.text.contains("www"),
            "{}",
            reply.text
        );
    }
}

#[test]
fn analysis_is_deterministic_and_retraining_gives_the_same_model() {
    let a = analyzer();
    // The shipped analyzer trains on TRAIN and TEST together.
    let both = format!("{}\n{}", dataset::TRAIN_JSONL, dataset::TEST_JSONL);
    let b = OfflineAnalyzer::train_from_files(&both, dataset::CATALOG_JSON).unwrap();
    let ctx = demo_context().unwrap();
    for message in [
        "link pls 🙏",
        "cuanto cuesta la sudadera",
        "the serum gave me a rash",
        "hola",
    ] {
        assert_eq!(a.analyze(message, &ctx), a.analyze(message, &ctx));
        assert_eq!(a.analyze(message, &ctx), b.analyze(message, &ctx));
    }
}

#[test]
fn confidence_is_a_probability_and_provider_is_offline() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    for message in ["link pls", "😂", "", "how much is the hoodie??"] {
        let analysis = a.analyze(message, &ctx);
        assert!((0.0..=1.0).contains(&analysis.confidence));
        assert!((-1.0..=1.0).contains(&analysis.sentiment));
        assert_eq!(analysis.provider, Provider::Offline);
    }
}

/// Deterministic pseudo-random strings over an alphabet chosen to hurt: multi-byte letters,
/// combining marks, emoji with modifiers and joiners, RTL text, control characters, URL and
/// money fragments.
#[test]
fn weird_inputs_never_panic() {
    let a = analyzer();
    let mut ctx = demo_context().unwrap();
    ctx.settings.escalation_keywords = vec![
        "ñ".into(),
        "".into(),
        "  ".into(),
        "👍".into(),
        "re fund".into(),
    ];
    let pieces = [
        "",
        " ",
        "\u{0}",
        "\u{301}",
        "e\u{301}",
        "ñ",
        "Ñ",
        "¿",
        "¡",
        "?",
        "!",
        "$",
        "€",
        "9",
        "99.",
        ".5",
        "1,0",
        "😀",
        "👍🏽",
        "❤️",
        "👩\u{200D}💻",
        "\u{200D}",
        "\u{FE0F}",
        "🇲🇽",
        "http://",
        "www.",
        ".com",
        "@",
        "@x",
        "'",
        "’",
        "don't",
        "no",
        "not",
        "human",
        "hoodie",
        "sudadera",
        "link",
        "عربى",
        "中文",
        "\u{202E}",
        "\t",
        "\n",
        "İ",
        "ß",
        "ﬁ",
        "a",
        "aaaaaaaaaaaaaaaaaaaa",
        "-",
        "/",
        "#",
        "%",
    ];
    let mut state: u64 = 0x1234_5678_9abc_def1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..3000 {
        let len = (next() % 12) as usize;
        let text: String = (0..len)
            .map(|_| pieces[(next() % pieces.len() as u64) as usize])
            .collect();
        let analysis = a.analyze(&text, &ctx);
        for hit in &analysis.signals {
            assert_eq!(text.get(hit.start..hit.end), Some(hit.evidence.as_str()));
        }
        let _ = a.reply(&text, &analysis, &ctx);
    }
    for text in ["", "😂😂😂", "🙏", "\u{FE0F}\u{FE0F}", "?!?!", "    "] {
        let analysis = a.analyze(text, &ctx);
        let _ = a.reply(text, &analysis, &ctx);
    }
    // Huge input: analysed up to the cap, still valid spans.
    let huge = "cuánto cuesta la sudadera? ".repeat(20_000) + "quiero hablar con una persona";
    let analysis = a.analyze(&huge, &ctx);
    for hit in &analysis.signals {
        assert_eq!(huge.get(hit.start..hit.end), Some(hit.evidence.as_str()));
    }
    // A catalog with hostile entries.
    ctx.products.push(CatalogProduct {
        id: String::new(),
        name: "🙏".into(),
        description: "$$$ 100 USD".into(),
        keywords: vec![String::new(), "a".into(), "ñ".repeat(300)],
        price: Money::parse(0, "JPY").unwrap(),
        purchase_link: Some(String::new()),
    });
    let analysis = a.analyze("🙏 ñññ", &ctx);
    let _ = a.reply("🙏 ñññ", &analysis, &ctx);
}

#[test]
fn empty_and_emoji_only_messages_are_other_and_do_not_match_products() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    for message in ["", "😂😂😂", "👀"] {
        let analysis = a.analyze(message, &ctx);
        assert!(analysis.matched_product.is_none());
        assert!(
            analysis.signals.is_empty(),
            "{message}: {:?}",
            analysis.signals
        );
    }
}

#[test]
fn settings_with_a_single_product_and_default_context_work() {
    let a = analyzer();
    let ctx = AnalysisContext {
        channel: Channel::Twitch,
        products: Vec::new(),
        history: Vec::new(),
        settings: AiSettings::default(),
    };
    let analysis = a.analyze("price??", &ctx);
    let reply = a.reply("price??", &analysis, &ctx);
    assert!(!reply.text.is_empty());
}

#[test]
fn the_analyzer_can_be_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<OfflineAnalyzer>();
}

mod dev_aids;
mod splits;

/// The learned yes/no models (issue 17) on messages of no split: the escalation model alone hears
/// at least half of a set of frustrated messages in words no rule lists, and stays quiet on plain
/// product questions; the language model alone tells the languages apart; the escalation model
/// did not learn the demo tenant's keywords (a tenant without them is not escalated for a refund question).
#[test]
fn the_learned_models_back_the_rules_up() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    let model_only = a.with_combine(Combine {
        escalate_rules: false,
        ..Combine::default()
    });
    // Frustration in words the request rules may not hold. The model alone escalates most of
    // them, not all: when session 11 wrote the last six (after training, never trained on),
    // it escalated 5 of these 8 — the reason the rules stay the first word.
    let frustrated = [
        "this is the fifth time i write and nobody ever answers me",
        "llevo toda la semana escribiendo y nadie me hace caso",
        "ya es el quinto correo que mando y ni un acuse",
        "i've written four times this week and heard nothing back",
        "me siguen ignorando, que poca seriedad",
        "honestly feels like nobody works there anymore",
        "pregunte el martes, el jueves y hoy, y seguimos igual",
        "it's been days and not a single reply to my messages",
    ];
    let escalated: Vec<&str> = frustrated
        .iter()
        .copied()
        .filter(|text| model_only.analyze(text, &ctx).wants_human)
        .collect();
    assert!(escalated.len() * 2 >= frustrated.len(), "{escalated:?}");
    for text in [
        "what sizes does the cap come in",
        "la sudadera viene en azul?",
    ] {
        assert!(!model_only.analyze(text, &ctx).wants_human, "{text}");
    }
    let language = |text: &str| {
        let toks = text::tokenize(text);
        let mut x = Vec::new();
        labels::language_features(&toks, &mut x);
        let mut z = [0.0_f32; 1];
        a.shared.language.logits_into(&x, &mut z);
        z[0]
    };
    assert!(language("quisiera saber cuando llegaria mi paquetito") > 0.0);
    assert!(language("wondering when my parcel would be arriving") < 0.0);
    let mut no_keywords = ctx.clone();
    no_keywords.settings.escalation_keywords.clear();
    let text = "can i get a refund on the cap?";
    assert!(!a.analyze(text, &no_keywords).wants_human, "{text}");
    assert!(a.analyze(text, &ctx).wants_human, "{text}");
}
