//! The data set and its splits: the quality bars on TEST, the hash rule, the untouched HOLDOUT
//! split and the shipped catalog.

use super::*;

/// The shipped models train on TEST too (issue 17), so these bars are a regression guard, not
/// a measure of quality: that is HOLDOUT's (`leadline eval --split holdout`).
#[test]
fn offline_model_meets_the_quality_bars_on_the_test_split() {
    let report = evaluate(&analyzer(), dataset::TEST_JSONL);
    println!("{}", report.render_text());
    for m in &report.intent_errors {
        println!(
            "intent  {:<17} → {:<17} {:.2}  {}",
            m.expected, m.predicted, m.confidence, m.text
        );
    }
    for m in &report.product_errors {
        println!(
            "product {:<17} → {:<17} {:.2}  {}",
            m.expected, m.predicted, m.confidence, m.text
        );
    }
    assert!(
        report.intent_macro_f1 >= 0.85,
        "intent macro-F1 {:.3}",
        report.intent_macro_f1
    );
    assert!(
        report.product_accuracy >= 0.90,
        "product accuracy {:.3}",
        report.product_accuracy
    );
    assert!(
        report.escalation_recall >= 0.95,
        "escalation recall {:.3}",
        report.escalation_recall
    );
}

fn fnv1a64(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[test]
fn the_split_follows_the_hash_rule_and_does_not_leak() {
    let train = parse_examples(dataset::TRAIN_JSONL).unwrap();
    let test = parse_examples(dataset::TEST_JSONL).unwrap();
    assert!(
        train.len() + test.len() >= 400,
        "{} + {}",
        train.len(),
        test.len()
    );
    assert!(test.len() >= 150, "{}", test.len());
    for ex in &test {
        assert!(
            fnv1a64(&ex.text) % 100 < 38,
            "not a TEST message by the rule: {}",
            ex.text
        );
    }
    for ex in &train {
        assert!(
            fnv1a64(&ex.text) % 100 >= 38,
            "not a TRAIN message by the rule: {}",
            ex.text
        );
        let normalised = ex.text.to_lowercase();
        assert!(
            !test.iter().any(|t| t.text.to_lowercase() == normalised),
            "in both splits: {}",
            ex.text
        );
    }
    for ex in train.iter().chain(&test) {
        assert!(
            ex.intent.is_some()
                && ex.product.is_some()
                && ex.signals.is_some()
                && ex.escalate.is_some()
        );
    }
}

/// The third split (issue 17): messages written for it go to HOLDOUT when
/// `FNV-1a-64("holdout:" + text) % 100 < 30`, decided before the analyzer was changed; the rest
/// of them follow the TRAIN/TEST rule above. Older messages (no `channel` label) keep their
/// place. Nothing that trains or tunes reads HOLDOUT; this test reads only its texts and labels.
#[test]
fn the_holdout_split_follows_its_own_rule_and_shares_nothing() {
    let train = parse_examples(dataset::TRAIN_JSONL).unwrap();
    let test = parse_examples(dataset::TEST_JSONL).unwrap();
    let holdout = parse_examples(dataset::HOLDOUT_JSONL).unwrap();
    let held = |text: &str| fnv1a64(&format!("holdout:{text}")) % 100 < 30;
    assert!(holdout.len() >= 250, "{}", holdout.len());
    for ex in &holdout {
        assert!(
            held(&ex.text),
            "not a HOLDOUT message by the rule: {}",
            ex.text
        );
        assert!(ex.channel.is_some(), "{}", ex.text);
    }
    let lowered: std::collections::HashSet<String> =
        holdout.iter().map(|e| e.text.to_lowercase()).collect();
    for ex in train.iter().chain(&test) {
        if ex.channel.is_some() {
            assert!(!held(&ex.text), "a HOLDOUT message outside it: {}", ex.text);
        }
        assert!(
            !lowered.contains(&ex.text.to_lowercase()),
            "in two splits: {}",
            ex.text
        );
    }
    // The set as issue 17 asks for it: >= 1,500 messages, >= 40 % Spanish, every channel.
    let all: Vec<&EvalExample> = train.iter().chain(&test).chain(&holdout).collect();
    assert!(all.len() >= 1500, "{}", all.len());
    let spanish = all
        .iter()
        .filter(|e| e.language == Some(crate::analysis::Language::Spanish))
        .count();
    assert!(
        spanish * 100 >= all.len() * 40,
        "{spanish} of {}",
        all.len()
    );
    for channel in ["live_chat", "dm", "support_chat", "phone_call"] {
        assert!(
            all.iter()
                .filter(|e| e.channel.as_deref() == Some(channel))
                .count()
                >= 50,
            "{channel}"
        );
    }
}

#[test]
fn shipped_catalog_parses_and_every_labelled_product_exists() {
    let ctx = demo_context().unwrap();
    assert!((8..=12).contains(&ctx.products.len()));
    let names: Vec<&str> = ctx.products.iter().map(|p| p.name.as_str()).collect();
    for ex in parse_examples(dataset::TRAIN_JSONL)
        .unwrap()
        .iter()
        .chain(&parse_examples(dataset::TEST_JSONL).unwrap())
    {
        if let Some(Some(name)) = &ex.product {
            assert!(
                names.contains(&name.as_str()),
                "unknown product label {name}"
            );
        }
    }
}
