//! Test fixtures shared by the live modules' tests: a fixed time and analyses to feed them.

use chrono::{DateTime, TimeZone, Utc};

use super::ViewerActivity;
use crate::analysis::{Analysis, Intent, Language, ProductMatch, Provider, Signal, SignalHit};

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 18, 0, 0)
        .single()
        .unwrap_or_default()
}

pub(super) fn analysis(intent: Intent, confidence: f32) -> Analysis {
    Analysis {
        intent,
        confidence,
        signals: Vec::new(),
        sentiment: 0.0,
        wants_human: false,
        matched_product: None,
        language: Language::English,
        provider: Provider::Offline,
    }
}

pub(super) fn with_signals(mut a: Analysis, signals: &[Signal]) -> Analysis {
    a.signals = signals
        .iter()
        .map(|&signal| SignalHit {
            signal,
            evidence: String::new(),
            start: 0,
            end: 0,
        })
        .collect();
    a
}

pub(super) fn with_product(mut a: Analysis, id: &str) -> Analysis {
    a.matched_product = Some(ProductMatch {
        product_id: id.to_owned(),
        name: id.to_owned(),
        score: 1.0,
    });
    a
}

pub(super) fn with_sentiment(mut a: Analysis, sentiment: f32) -> Analysis {
    a.sentiment = sentiment;
    a
}

pub(super) fn activity() -> ViewerActivity {
    ViewerActivity::new(t0())
}
