//! Development aids, ignored by default: cross-validation on TRAIN and the tuning mistakes.

use super::*;

/// Development aid, run with `--ignored --nocapture`: 5-fold cross-validation on the TRAIN
/// split only. This is where hyper-parameters and lexicon changes were judged.
#[test]
#[ignore = "development aid: prints cross-validation figures on the train split"]
fn cross_validation_on_the_train_split() {
    let train = parse_examples(dataset::TRAIN_JSONL).unwrap();
    let catalog = parse_catalog(dataset::CATALOG_JSON).unwrap();
    let ctx = demo_context().unwrap();
    let cross_validate = |params: TrainParams| {
        let folds = 5;
        let mut examples = Vec::new();
        let mut predictions = Vec::new();
        for fold in 0..folds {
            let (held, kept): (Vec<_>, Vec<_>) = train
                .iter()
                .cloned()
                .enumerate()
                .partition(|(i, _)| i % folds == fold);
            let kept: Vec<EvalExample> = kept.into_iter().map(|(_, e)| e).collect();
            let held: Vec<EvalExample> = held.into_iter().map(|(_, e)| e).collect();
            let a = OfflineAnalyzer::train_with(&kept, &catalog, params, LabelParams::default());
            predictions.extend(run(&held, |t| a.analyze(t, &ctx)));
            examples.extend(held);
        }
        score(&examples, &predictions, 0.0)
    };
    let grid = std::env::var("LEADLINE_CV_GRID").is_ok();
    for epochs in if grid { vec![15, 30, 60] } else { Vec::new() } {
        for learning_rate in [0.1, 0.4, 1.0] {
            for l2 in [0.0, 1e-4, 1e-3] {
                let params = TrainParams {
                    epochs,
                    learning_rate,
                    l2,
                    ..TrainParams::default()
                };
                let r = cross_validate(params);
                println!(
                    "epochs {epochs:>3} lr {learning_rate:<4} l2 {l2:<6} macro-F1 {:.3}",
                    r.intent_macro_f1
                );
            }
        }
    }
    let report = cross_validate(TrainParams::default());
    println!("{}", report.render_text());
    // Reliability of the confidence: accuracy per confidence band (expected calibration error).
    let wrong: Vec<f32> = report.intent_errors.iter().map(|m| m.confidence).collect();
    let mut all_conf: Vec<(f32, bool)> = Vec::new();
    {
        let folds = 5;
        for fold in 0..folds {
            let (held, kept): (Vec<_>, Vec<_>) = train
                .iter()
                .cloned()
                .enumerate()
                .partition(|(i, _)| i % folds == fold);
            let kept: Vec<EvalExample> = kept.into_iter().map(|(_, e)| e).collect();
            let a = OfflineAnalyzer::train_with(
                &kept,
                &catalog,
                TrainParams::default(),
                LabelParams::default(),
            );
            for (_, e) in held {
                let p = a.analyze(&e.text, &ctx);
                all_conf.push((p.confidence, Some(p.intent) == e.intent));
            }
        }
    }
    let mut ece = 0.0;
    for band in 0..5 {
        let (lo, hi) = (band as f32 * 0.2, band as f32 * 0.2 + 0.2);
        let in_band: Vec<&(f32, bool)> = all_conf
            .iter()
            .filter(|(c, _)| *c >= lo && (*c < hi || band == 4))
            .collect();
        if in_band.is_empty() {
            continue;
        }
        let acc = in_band.iter().filter(|(_, ok)| *ok).count() as f32 / in_band.len() as f32;
        let conf = in_band.iter().map(|(c, _)| c).sum::<f32>() / in_band.len() as f32;
        ece += (acc - conf).abs() * in_band.len() as f32 / all_conf.len() as f32;
        println!(
            "confidence {lo:.1}-{hi:.1}: n {:>3}, mean confidence {conf:.2}, accuracy {acc:.2}",
            in_band.len()
        );
    }
    println!(
        "expected calibration error {ece:.3} ({} wrong)",
        wrong.len()
    );
    // Temperature minimising the out-of-fold log-loss of the untempered model.
    let mut oof: Vec<([f32; CLASSES], usize)> = Vec::new();
    for fold in 0..5 {
        let (held, kept): (Vec<_>, Vec<_>) = train
            .iter()
            .cloned()
            .enumerate()
            .partition(|(i, _)| i % 5 == fold);
        let kept: Vec<EvalExample> = kept.into_iter().map(|(_, e)| e).collect();
        let params = TrainParams {
            temperature: 1.0,
            ..TrainParams::default()
        };
        let a = OfflineAnalyzer::train_with(&kept, &catalog, params, LabelParams::default());
        for (_, e) in held {
            if let Some(intent) = e.intent {
                oof.push((a.logits(&e.text, &ctx), class_of(intent)));
            }
        }
    }
    let nll = |t: f32| {
        oof.iter()
            .map(|(z, y)| {
                let m = z.iter().copied().fold(f32::MIN, f32::max);
                let sum: f32 = z.iter().map(|v| ((v - m) / t).exp()).sum();
                -(((z[*y] - m) / t) - sum.ln())
            })
            .sum::<f32>()
            / oof.len() as f32
    };
    let best = (1..=30)
        .map(|i| i as f32 * 0.05)
        .fold((1.0_f32, f32::MAX), |b, t| {
            if nll(t) < b.1 {
                (t, nll(t))
            } else {
                b
            }
        });
    println!(
        "log-loss at T=1: {:.3}; best temperature {:.2} (log-loss {:.3})",
        nll(1.0),
        best.0,
        best.1
    );
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
}

/// Development aid: the escalation and signal mistakes on TRAIN and TEST, the splits tuning may
/// read (never HOLDOUT). `cargo test -p leadline-domain -- --ignored tuning_mistakes --nocapture`
#[test]
#[ignore]
fn tuning_mistakes() {
    let a = analyzer();
    let ctx = demo_context().unwrap();
    for jsonl in [dataset::TRAIN_JSONL, dataset::TEST_JSONL] {
        for ex in parse_examples(jsonl).unwrap() {
            let got = a.analyze(&ex.text, &ctx);
            if let Some(esc) = ex.escalate {
                if esc != got.wants_human {
                    println!("escalate {esc:<5} got {:<5} {}", got.wants_human, ex.text);
                }
            }
            if let Some(gold) = &ex.signals {
                for s in crate::analysis::Signal::ALL {
                    let g = gold.contains(&s);
                    let p = got.signals.iter().any(|h| h.signal == s);
                    if g != p {
                        println!("signal {:<16} want {g:<5} {}", s.as_str(), ex.text);
                    }
                }
            }
        }
    }
}

/// The rules alone, as before the learned yes/no models: the same-run baseline of the
/// cross-validation below.
fn rules_only() -> Combine {
    Combine {
        escalate_add: f32::INFINITY,
        escalate_rules: true,
        intent_rules: true,
        signal_keep: [0.0; 7],
        signal_add: [f32::INFINITY; 7],
        language_weight: 0.0,
        language_margin: 0.0,
    }
}

fn one_line(name: &str, r: &EvalReport) -> String {
    let signals: Vec<String> = r
        .per_signal
        .iter()
        .map(|m| format!("{} {:.3}", m.label, m.f1))
        .collect();
    format!(
        "{name:<28} intent {:.3} | esc R {:.3} P {:.3} | lang {:.3} | signals micro {:.3}: {}",
        r.intent_macro_f1,
        r.escalation_recall,
        r.escalation_precision,
        r.language_accuracy,
        r.signal_f1,
        signals.join(", ")
    )
}

/// Development aid: 5-fold cross-validation over TRAIN ∪ TEST (never HOLDOUT), the figure used
/// to judge training the shipped models on both splits and to choose how the learned yes/no
/// models combine with the rules (`Combine`). Each fold trains once; the combinations are
/// scored on the same out-of-fold predictions. `LEADLINE_CV_GRID=1` also sweeps thresholds.
#[test]
#[ignore = "development aid: cross-validation over train and test"]
fn cross_validation_on_train_and_test() {
    let mut pool = parse_examples(dataset::TRAIN_JSONL).unwrap();
    let train_len = pool.len();
    pool.extend(parse_examples(dataset::TEST_JSONL).unwrap());
    // `LEADLINE_CV_FRESH=744,495`: the examples after the first 744 of TRAIN and 495 of TEST
    // were written after the lexicons, so the rules' figures on them are not flattered; they
    // are scored apart too.
    let fresh_from: Vec<usize> = std::env::var("LEADLINE_CV_FRESH")
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.parse().ok())
        .collect();
    let is_fresh = |i: usize| match fresh_from.as_slice() {
        [a, b] => (i >= *a && i < train_len) || i >= train_len + *b,
        _ => false,
    };
    let catalog = parse_catalog(dataset::CATALOG_JSON).unwrap();
    let ctx = demo_context().unwrap();
    let folds = 5;
    let label_params = |v: &str| {
        let mut p = LabelParams::default();
        for part in v.split(',').filter(|s| !s.is_empty()) {
            if let Some((k, x)) = part.split_once('=') {
                let x: f32 = x.parse().unwrap();
                match k {
                    "epochs" => p.epochs = x as usize,
                    "lr" => p.learning_rate = x,
                    "l2" => p.l2 = x,
                    "pw" => p.max_positive_weight = x,
                    _ => panic!("unknown {k}"),
                }
            }
        }
        p
    };
    let lp = label_params(&std::env::var("LEADLINE_CV_LABELS").unwrap_or_default());
    println!("label params {lp:?}");
    let mut analyzers = Vec::new();
    let mut helds = Vec::new();
    let mut fresh = Vec::new();
    for fold in 0..folds {
        let (held, kept): (Vec<_>, Vec<_>) = pool
            .iter()
            .cloned()
            .enumerate()
            .partition(|(i, _)| i % folds == fold);
        let kept: Vec<EvalExample> = kept.into_iter().map(|(_, e)| e).collect();
        fresh.extend(held.iter().map(|(i, _)| is_fresh(*i)));
        let held: Vec<EvalExample> = held.into_iter().map(|(_, e)| e).collect();
        analyzers.push(OfflineAnalyzer::train_with(
            &kept,
            &catalog,
            TrainParams::default(),
            lp,
        ));
        helds.push(held);
    }
    let evaluate = |combine: Combine| {
        let mut examples = Vec::new();
        let mut predictions = Vec::new();
        for (a, held) in analyzers.iter().zip(&helds) {
            let a = a.with_combine(combine);
            predictions.extend(run(held, |t| a.analyze(t, &ctx)));
            examples.extend(held.iter().cloned());
        }
        if fresh.iter().any(|f| *f) {
            let (fe, fp): (Vec<EvalExample>, Vec<_>) = examples
                .iter()
                .cloned()
                .zip(predictions.iter().cloned())
                .zip(&fresh)
                .filter(|(_, f)| **f)
                .map(|(ep, _)| ep)
                .unzip();
            println!("{}", one_line("  fresh only", &score(&fe, &fp, 0.0)));
        }
        score(&examples, &predictions, 0.0)
    };
    let baseline = evaluate(rules_only());
    println!("{}", one_line("rules only (baseline)", &baseline));
    let report = evaluate(Combine::default());
    println!("{}", one_line("default combine", &report));
    let c = Combine {
        intent_rules: false,
        ..Combine::default()
    };
    println!("{}", one_line("no intent overrides", &evaluate(c)));
    if std::env::var("LEADLINE_CV_INTEREST").is_ok() {
        for keep in [0.0, 0.1, 0.2, 0.3, 0.4, 0.5] {
            for add in [0.5, 0.7, 0.9] {
                let mut c = Combine::default();
                c.signal_keep[0] = keep;
                c.signal_add[0] = add;
                println!(
                    "{}",
                    one_line(&format!("interest keep {keep} add {add}"), &evaluate(c))
                );
            }
        }
    }
    if std::env::var("LEADLINE_CV_GRID").is_ok() {
        for esc in [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] {
            let c = Combine {
                escalate_add: esc,
                ..Combine::default()
            };
            println!("{}", one_line(&format!("escalate_add {esc}"), &evaluate(c)));
        }
        for t in [0.3, 0.5, 0.7, 0.8, 0.9] {
            let c = Combine {
                escalate_add: t,
                escalate_rules: false,
                signal_keep: [t; 7],
                signal_add: [t; 7],
                ..Combine::default()
            };
            println!("{}", one_line(&format!("models alone {t}"), &evaluate(c)));
        }
        for keep in [0.0, 0.05, 0.1, 0.2, 0.3, 0.4] {
            for add in [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 2.0] {
                let c = Combine {
                    signal_keep: [keep; 7],
                    signal_add: [add; 7],
                    ..Combine::default()
                };
                println!(
                    "{}",
                    one_line(&format!("keep {keep} add {add}"), &evaluate(c))
                );
            }
        }
        for w in [0.0, 0.5, 1.0, 2.0, 4.0] {
            for m in [0.0, 0.25, 0.5, 1.0] {
                let c = Combine {
                    language_weight: w,
                    language_margin: m,
                    ..Combine::default()
                };
                println!(
                    "{}",
                    one_line(&format!("lang w {w} margin {m}"), &evaluate(c))
                );
            }
        }
    }
    // Intent hyper-parameters: `LEADLINE_CV_INTENT="epochs=30,lr=0.1,l2=0.001;epochs=60"`.
    for spec in std::env::var("LEADLINE_CV_INTENT")
        .unwrap_or_default()
        .split(';')
        .filter(|s| !s.is_empty())
    {
        let mut params = TrainParams::default();
        for part in spec.split(',') {
            if let Some((k, x)) = part.split_once('=') {
                let x: f32 = x.parse().unwrap();
                match k {
                    "epochs" => params.epochs = x as usize,
                    "lr" => params.learning_rate = x,
                    "l2" => params.l2 = x,
                    "t" => params.temperature = x,
                    _ => panic!("unknown {k}"),
                }
            }
        }
        let mut examples = Vec::new();
        let mut predictions = Vec::new();
        for fold in 0..folds {
            let (held, kept): (Vec<_>, Vec<_>) = pool
                .iter()
                .cloned()
                .enumerate()
                .partition(|(i, _)| i % folds == fold);
            let kept: Vec<EvalExample> = kept.into_iter().map(|(_, e)| e).collect();
            let held: Vec<EvalExample> = held.into_iter().map(|(_, e)| e).collect();
            let a = OfflineAnalyzer::train_with(&kept, &catalog, params, LabelParams::default());
            predictions.extend(run(&held, |t| a.analyze(t, &ctx)));
            examples.extend(held);
        }
        println!("{}", one_line(spec, &score(&examples, &predictions, 0.0)));
    }
    println!("{}", report.render_text());
    if std::env::var("LEADLINE_CV_MISTAKES").is_ok() {
        for m in &report.intent_errors {
            println!(
                "intent  {:<17} → {:<17} {:.2}  {}",
                m.expected, m.predicted, m.confidence, m.text
            );
        }
    }
}

/// Parses `key=value,…` into training settings: `epochs`, `lr`, `l2`, `t`, `avg` (0/1),
/// `cmin`/`cmax` (character n-gram lengths) for the intent model and the shared features;
/// `lepochs`, `llr`, `ll2`, `pw`, `lavg` for the yes/no models. An empty spec is the default.
fn training_settings(spec: &str) -> (TrainParams, LabelParams) {
    let mut p = TrainParams::default();
    let mut lp = LabelParams::default();
    for part in spec.split(',').filter(|s| !s.is_empty() && *s != "base") {
        let (k, x) = part.split_once('=').unwrap();
        let x: f32 = x.parse().unwrap();
        match k {
            "epochs" => p.epochs = x as usize,
            "lr" => p.learning_rate = x,
            "l2" => p.l2 = x,
            "t" => p.temperature = x,
            "avg" => p.average = x > 0.0,
            "cmin" => p.char_grams.0 = x as usize,
            "cmax" => p.char_grams.1 = x as usize,
            "lepochs" => lp.epochs = x as usize,
            "llr" => lp.learning_rate = x,
            "ll2" => lp.l2 = x,
            "pw" => lp.max_positive_weight = x,
            "lavg" => lp.average = x > 0.0,
            _ => panic!("unknown {k}"),
        }
    }
    (p, lp)
}

/// Development aid: 5-fold cross-validation over TRAIN ∪ TEST (never HOLDOUT) of several
/// training settings, each with the default `Combine`, on all messages and on the fresh ones
/// (`LEADLINE_CV_FRESH`, as above). `LEADLINE_CV_SPECS="base;avg=1,lavg=1;cmax=5"`.
#[test]
#[ignore = "development aid: cross-validation of training settings"]
fn cross_validation_of_training_settings() {
    let mut pool = parse_examples(dataset::TRAIN_JSONL).unwrap();
    let train_len = pool.len();
    pool.extend(parse_examples(dataset::TEST_JSONL).unwrap());
    let fresh_from: Vec<usize> = std::env::var("LEADLINE_CV_FRESH")
        .unwrap_or_default()
        .split(',')
        .filter_map(|v| v.parse().ok())
        .collect();
    let is_fresh = |i: usize| match fresh_from.as_slice() {
        [a, b] => (i >= *a && i < train_len) || i >= train_len + *b,
        _ => false,
    };
    let catalog = parse_catalog(dataset::CATALOG_JSON).unwrap();
    let ctx = demo_context().unwrap();
    // `LEADLINE_CV_EXTRA=a,b,with` (or `without`): the examples after the first `a` of TRAIN and
    // `b` of TEST are never scored, and are added to every fold's training (`with`) or left out
    // (`without`) — whether a new batch helps on the messages that were there before it.
    let extra_spec: Vec<String> = std::env::var("LEADLINE_CV_EXTRA")
        .unwrap_or_default()
        .split(',')
        .map(str::to_owned)
        .collect();
    let (extra_from, extra_with) = match extra_spec.as_slice() {
        [a, b, mode] => (
            Some((a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap())),
            mode == "with",
        ),
        _ => (None, false),
    };
    let is_extra = |i: usize| match extra_from {
        Some((a, b)) => (i >= a && i < train_len) || i >= train_len + b,
        None => false,
    };
    let specs = std::env::var("LEADLINE_CV_SPECS").unwrap_or_else(|_| "base".to_owned());
    let mistakes = std::env::var("LEADLINE_CV_MISTAKES").is_ok();
    for spec in specs.split(';').filter(|s| !s.is_empty()) {
        let (params, label_params) = training_settings(spec);
        let started = std::time::Instant::now();
        let mut examples = Vec::new();
        let mut predictions = Vec::new();
        let mut fresh = Vec::new();
        for fold in 0..5 {
            let (held, kept): (Vec<_>, Vec<_>) = pool
                .iter()
                .cloned()
                .enumerate()
                .filter(|(i, _)| extra_with || !is_extra(*i))
                .partition(|(i, _)| i % 5 == fold && !is_extra(*i));
            let kept: Vec<EvalExample> = kept.into_iter().map(|(_, e)| e).collect();
            fresh.extend(held.iter().map(|(i, _)| is_fresh(*i)));
            let held: Vec<EvalExample> = held.into_iter().map(|(_, e)| e).collect();
            let a = OfflineAnalyzer::train_with(&kept, &catalog, params, label_params);
            predictions.extend(run(&held, |t| a.analyze(t, &ctx)));
            examples.extend(held);
        }
        let all = score(&examples, &predictions, 0.0);
        println!(
            "{} ({:.1} s)",
            one_line(spec, &all),
            started.elapsed().as_secs_f64()
        );
        for sub in &all.per_language {
            println!(
                "{}",
                one_line(&format!("  {}", sub.subset.as_deref().unwrap_or("?")), sub)
            );
        }
        if fresh.iter().any(|f| *f) {
            let (fe, fp): (Vec<EvalExample>, Vec<_>) = examples
                .iter()
                .cloned()
                .zip(predictions.iter().cloned())
                .zip(&fresh)
                .filter(|(_, f)| **f)
                .map(|(ep, _)| ep)
                .unzip();
            println!("{}", one_line("  fresh only", &score(&fe, &fp, 0.0)));
        }
        if mistakes {
            for (e, p) in examples.iter().zip(&predictions) {
                if let Some(esc) = e.escalate {
                    if esc != p.wants_human {
                        println!("  escalate want {esc:<5} {}", e.text);
                    }
                }
                if let Some(gold) = &e.signals {
                    for s in crate::analysis::Signal::ALL {
                        let g = gold.contains(&s);
                        if g != p.signals.iter().any(|h| h.signal == s) {
                            println!("  signal {:<16} want {g:<5} {}", s.as_str(), e.text);
                        }
                    }
                }
            }
            for m in &all.intent_errors {
                println!(
                    "  intent {:<17} → {:<17} {:.2}  {}",
                    m.expected, m.predicted, m.confidence, m.text
                );
            }
        }
    }
}

/// Report aid: the shipped analyzer's figures on the untouched HOLDOUT split — totals, per
/// class, per signal and per language only; its individual mistakes are never printed, so
/// nothing can be tuned on them. Run it only to report, never between tuning steps.
#[test]
#[ignore = "report aid: HOLDOUT totals"]
fn holdout_totals() {
    let report = evaluate(&analyzer(), dataset::HOLDOUT_JSONL);
    println!("{}", report.render_text());
}
