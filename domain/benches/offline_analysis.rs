//! Offline analyzer benchmark: quality on the TEST split (text and JSON report) and HOLDOUT's
//! totals (text), then throughput of `analyze()` over the TEST messages repeated, next to a
//! baseline measured in the same run — a plain lowercase + whitespace-tokenize pass over the
//! same messages — so the figure can be read against what the machine does for the cheapest
//! possible text pass.
//! Uses `std::time::Instant` only (harness = false). Run: `cargo bench -p leadline-domain`.

use std::hint::black_box;
use std::time::Instant;

use leadline_domain::analysis::eval::{parse_examples, run, score};
use leadline_domain::analysis::offline::{dataset, OfflineAnalyzer};

/// Messages analysed per timed round (the test split repeated).
const MESSAGES_PER_ROUND: usize = 200_000;
const ROUNDS: usize = 5;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let analyzer = OfflineAnalyzer::new();
    let training = started.elapsed();
    let ctx = dataset::demo_context()?;
    let examples = parse_examples(dataset::TEST_JSONL)?;
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();

    // Quality on the TEST split (trained on since issue 17: flattering) and on the untouched
    // HOLDOUT split (also warms the catalog cache); HOLDOUT is read here only to report it, so
    // only its totals are printed: the JSON report lists individual mistakes, and nothing may
    // be tuned on HOLDOUT's.
    for (name, jsonl, with_mistakes) in [
        ("TEST", dataset::TEST_JSONL, true),
        ("HOLDOUT", dataset::HOLDOUT_JSONL, false),
    ] {
        let split = parse_examples(jsonl)?;
        let t = Instant::now();
        let predictions = run(&split, |text| analyzer.analyze(text, &ctx));
        let report = score(&split, &predictions, t.elapsed().as_secs_f64());
        println!(
            "== offline analyzer on the {name} split ({} messages) ==",
            split.len()
        );
        print!("{}", report.render_text());
        if with_mistakes {
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    println!(
        "model training at first use: {:.1} ms",
        training.as_secs_f64() * 1e3
    );

    let repeats = MESSAGES_PER_ROUND.div_ceil(texts.len().max(1));
    let mut best_analyze = f64::MAX;
    let mut best_baseline = f64::MAX;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let mut tokens = 0_usize;
        for _ in 0..repeats {
            for text in &texts {
                let lower = black_box(*text).to_lowercase();
                tokens += lower.split_whitespace().count();
            }
        }
        black_box(tokens);
        best_baseline = best_baseline.min(t.elapsed().as_secs_f64());

        let t = Instant::now();
        for _ in 0..repeats {
            for text in &texts {
                black_box(analyzer.analyze(black_box(text), &ctx));
            }
        }
        best_analyze = best_analyze.min(t.elapsed().as_secs_f64());
    }
    let n = (repeats * texts.len()) as f64;
    let analyze_rate = n / best_analyze;
    let baseline_rate = n / best_baseline;
    println!(
        "== throughput, one thread, best of {ROUNDS} rounds of {} messages ==",
        n as u64
    );
    println!("baseline lowercase+split_whitespace: {baseline_rate:>12.0} msg/s");
    println!("OfflineAnalyzer::analyze:            {analyze_rate:>12.0} msg/s");
    println!(
        "analyze / baseline cost ratio:       {:>12.1}x slower",
        baseline_rate / analyze_rate
    );
    println!(
        "bar (>= 50000 msg/s):                {}",
        if analyze_rate >= 50_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    Ok(())
}
