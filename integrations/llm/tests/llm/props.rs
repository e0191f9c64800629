//! Property tests (10,000 cases each) of the structured-output parsers: a model's answer is
//! untrusted input, so `parse_analysis` and `parse_reply` must never panic on any JSON, any
//! message text (multi-byte, case-changing characters included) and any tenant settings, and
//! what they accept must hold their promises: evidence spans point at the message's own bytes,
//! scores are in range, products come from the catalog, replies fit the length cap.

use leadline_domain::analysis::{
    AiSettings, Analysis, AnalysisContext, CatalogProduct, Intent, Language, ProductMatch,
    Provider, Signal,
};
use leadline_domain::channel::Channel;
use leadline_domain::money::Money;
use leadline_llm::output::{parse_analysis, parse_reply};
use proptest::prelude::*;
use serde_json::{json, Value};

const CASES: u32 = 10_000;

/// A JSON value of any shape (what a model that ignores the schema may send).
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Message text mixing ASCII, accents, characters whose case changes their length (`İ`, `ẞ`,
/// `ﬃ`), currency signs and digits.
fn message() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,60}",
        "[a-zA-Z0-9 .,$€İıẞßﬃ?¿!áÉ]{0,60}",
        Just("I want the Trail Shoe for $89.99 at https://shop.example/trail".to_owned()),
    ]
}

fn number(min: f64, max: f64) -> BoxedStrategy<Value> {
    prop_oneof![
        4 => (min..=max).prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        1 => any_json(),
    ]
    .boxed()
}

/// A model answer shaped like our analysis schema, with random and sometimes wrong fields.
fn analysis_answer(message: String) -> BoxedStrategy<Value> {
    let intents: Vec<&'static str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
    let signals: Vec<&'static str> = Signal::ALL.iter().map(|s| s.as_str()).collect();
    let len = message.len();
    let evidence = prop_oneof![
        ".{0,10}",
        (0..=len, 0..=len).prop_map(move |(a, b)| {
            message
                .get(a.min(b)..a.max(b))
                .unwrap_or_default()
                .to_uppercase()
        }),
    ];
    let signal = (
        prop_oneof![prop::sample::select(signals), Just("made_up")],
        evidence,
        prop::option::of(0usize..80),
        prop::option::of(0usize..80),
    )
        .prop_map(|(signal, evidence, start, end)| {
            json!({"signal": signal, "evidence": evidence, "start": start, "end": end})
        });
    (
        prop_oneof![prop::sample::select(intents), Just("shopping")],
        number(0.0, 1.0),
        number(-1.0, 1.0),
        prop::collection::vec(signal, 0..4),
        any::<bool>(),
        prop::option::of(prop_oneof![
            Just("p-1"),
            Just("p-2"),
            Just(" p-1 "),
            Just("")
        ]),
        prop::option::of(number(-2.0, 2.0)),
        prop_oneof![Just("en"), Just("ES"), Just("español"), Just("fr")],
    )
        .prop_map(
            |(intent, confidence, sentiment, signals, wants_human, product, score, language)| {
                json!({
                    "intent": intent,
                    "confidence": confidence,
                    "sentiment": sentiment,
                    "signals": signals,
                    "wants_human": wants_human,
                    "matched_product_id": product,
                    "product_match_score": score,
                    "language": language,
                })
            },
        )
        .boxed()
}

fn context(keywords: Vec<String>, max_reply_chars: usize) -> AnalysisContext {
    AnalysisContext {
        channel: Channel::Whatsapp,
        products: vec![CatalogProduct {
            id: "p-1".into(),
            name: "Trail Shoe".into(),
            description: "Light shoe".into(),
            keywords: vec!["shoe".into()],
            price: Money::parse(89_990_000, "USD").unwrap(),
            purchase_link: Some("https://shop.example/trail".into()),
        }],
        history: Vec::new(),
        settings: AiSettings {
            escalation_keywords: keywords,
            max_reply_chars,
            ..AiSettings::default()
        },
    }
}

fn analysis(matched: bool, wants_human: bool) -> Analysis {
    Analysis {
        intent: Intent::ALL[0],
        confidence: 0.5,
        signals: Vec::new(),
        sentiment: 0.0,
        wants_human,
        matched_product: matched.then(|| ProductMatch {
            product_id: "p-1".into(),
            name: "Trail Shoe".into(),
            score: 0.9,
        }),
        language: Language::English,
        provider: Provider::Anthropic,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn analyses_never_panic_and_point_at_real_bytes(
        (message, answer) in message().prop_flat_map(|m| {
            let answer = prop_oneof![4 => analysis_answer(m.clone()), 1 => any_json()];
            (Just(m), answer)
        }),
        keywords in prop::collection::vec(".{0,6}", 0..3),
    ) {
        let ctx = context(keywords, 1000);
        if let Ok(analysis) = parse_analysis(answer, &message, &ctx, Provider::Anthropic) {
            prop_assert!((0.0..=1.0).contains(&analysis.confidence));
            prop_assert!((-1.0..=1.0).contains(&analysis.sentiment));
            for hit in &analysis.signals {
                prop_assert!(hit.start < hit.end);
                prop_assert_eq!(message.get(hit.start..hit.end), Some(hit.evidence.as_str()));
            }
            if let Some(product) = &analysis.matched_product {
                prop_assert_eq!(product.product_id.as_str(), "p-1");
                prop_assert!((0.0..=1.0).contains(&product.score));
            }
        }
    }

    #[test]
    fn replies_never_panic_and_fit_the_cap(
        text in prop_oneof![
            message(),
            "[a-zA-Z .!?…]{0,120}",
            Just("It is $89.99 at https://shop.example/trail. Also see www.other.example!".to_owned()),
        ],
        handoff in prop_oneof![any::<bool>().prop_map(Value::Bool), any_json()],
        junk in prop::option::of(any_json()),
        matched in any::<bool>(),
        wants_human in any::<bool>(),
        max_reply_chars in 0usize..200,
    ) {
        let answer = match junk {
            Some(junk) => junk,
            None => json!({"text": text, "handoff": handoff}),
        };
        let ctx = context(Vec::new(), max_reply_chars);
        let analysis = analysis(matched, wants_human);
        if let Ok(reply) = parse_reply(answer, &analysis, &ctx, Provider::Openai) {
            prop_assert!(!reply.text.is_empty());
            if max_reply_chars > 0 {
                prop_assert!(reply.text.chars().count() <= max_reply_chars, "{:?}", reply.text);
            }
            prop_assert!(reply.handoff || !wants_human);
        }
    }
}
