//! `leadline eval [FILE.jsonl] [--catalog CATALOG.json] [--split train|test|holdout]
//! [--provider offline|anthropic|openai] [--json]`: runs one AI provider over labelled messages
//! and prints the metrics of `leadline_domain::analysis::eval` (intent macro-F1 and every class,
//! product accuracy, every signal, escalation, language, throughput — overall and per language).
//! Without FILE it runs the shipped splits, each reported on its own: TRAIN and TEST (what the
//! offline models learn from since issue 17's second pass, so their figures are flattering) and
//! HOLDOUT (read by nothing that trains or tunes: the honest figure); `--split` picks one. With FILE,
//! `--catalog` is required; the shipped data defaults to the shipped demo catalog.
//!
//! `leadline eval --task replies [FILE.jsonl]` scores the offline provider's suggested replies
//! (`leadline_domain::analysis::reply_eval`; default file `domain/data/analysis/replies.jsonl`):
//! language match, grounding (every price and link verbatim from the catalog) and whether an
//! attribute question was answered from the description or honestly declined. Each message is
//! answered on its labelled channel (live chat as YouTube, DMs as Instagram, support chat as
//! WEB_CHAT, phone calls as LiveKit). With `--split train|test|holdout` the replies to that
//! analysis split's messages are scored instead (language and grounding only).
//!
//! The messages are analysed as the demo tenant the shipped splits were labelled for: web chat,
//! no history, the catalog given, and the demo escalation keywords unless
//! `--escalation-keywords` names others. `offline` needs nothing; `anthropic` and `openai` read
//! their key and base URL through `Config` (`ANTHROPIC_API_KEY` / `ANTHROPIC_API_BASE`,
//! `OPENAI_API_KEY` / `OPENAI_API_BASE`), send up to `--concurrency` requests at once with the
//! llm crate's retries (no offline fallback: a message the provider did not answer is reported
//! and left out of the scores, and the exit code is 1), and print a progress line to stderr
//! every 50 messages. Throughput (`messagesPerSecond`) is the examples divided by the wall time
//! measured here, around the analysis only (the offline model is trained before the clock starts).
//!
//! `leadline eval --task call-outcome FILE.jsonl [--split dev|test] [--json]` scores the offline
//! call-outcome classifier (`leadline_domain::call_outcome`) on labelled call transcripts (the
//! shipped set is `domain/data/calls/outcomes.jsonl`): accuracy, macro-F1, per-class scores, the
//! confusion matrix, accuracy per language, and the misclassified ids. Only `--provider offline`
//! exists for this task so far.
//!
//! Exit codes: 0 done; 1 some messages were not answered (or the provider refused the key);
//! 2 unreadable or invalid input files or configuration, with a message naming the file and line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use futures::StreamExt;
use leadline_domain::analysis::eval::{
    parse_catalog, parse_examples, score, EvalExample, EvalReport,
};
use leadline_domain::analysis::offline::{dataset, OfflineAnalyzer};
use leadline_domain::analysis::reply_eval::{parse_reply_examples, score_replies, ReplyExample};
use leadline_domain::analysis::{AiSettings, Analysis, AnalysisContext, CatalogProduct, Provider};
use leadline_domain::channel::Channel;
use leadline_domain::ids::TenantId;
use leadline_llm::{
    estimated_cost_micros, ApiKey, LlmError, LlmProvider, LlmRequestConfig, RetryPolicy, Usage,
};

use crate::config::Config;

/// A progress line every this many messages (LLM providers).
const PROGRESS_EVERY: usize = 50;

/// Arguments of `leadline eval`.
#[derive(clap::Args)]
pub(super) struct EvalArgs {
    /// Labelled messages, one JSON object per line: {"text", "intent"?, "product"?, "signals"?,
    /// "escalate"?, "lang"?, "channel"?} (see domain/data/analysis/README.md). Optional for
    /// `intent` and `replies` (then the shipped data), required for `call-outcome`.
    file: Option<PathBuf>,
    /// What is evaluated: message analysis (`intent`, the default), suggested replies
    /// (`replies`) or the outcome of payment reminder calls (`call-outcome`).
    #[arg(long, value_enum, default_value_t = EvalTask::Intent)]
    task: EvalTask,
    /// The catalog the messages talk about (`intent` and `replies`; required with FILE, else
    /// the shipped demo catalog): a JSON array of {name, description, priceMicros, currency,
    /// purchaseLink, keywords}.
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Only the examples of this split (`intent` without FILE: `train`, `test` or `holdout`;
    /// `replies`: the replies to that analysis split's messages; `call-outcome`: `dev` or
    /// `test`; default all, each reported on its own).
    #[arg(long)]
    split: Option<String>,
    /// Who answers.
    #[arg(long, value_enum, default_value_t = EvalProvider::Offline)]
    provider: EvalProvider,
    /// Model for anthropic/openai (default: the provider's default model).
    #[arg(long)]
    model: Option<String>,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Requests in flight at once for anthropic/openai.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    concurrency: u16,
    /// Escalation keywords of the tenant the messages were labelled for, comma-separated
    /// (default: the demo tenant's, which the shipped splits use).
    #[arg(long, value_delimiter = ',')]
    escalation_keywords: Option<Vec<String>>,
}

/// What `eval` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum EvalTask {
    /// Intent, products, signals, escalation and language of chat messages.
    Intent,
    /// Language, grounding and attribute answers of the offline provider's replies.
    Replies,
    /// The customer's answer in payment-reminder call transcripts.
    CallOutcome,
}

/// The providers `eval` can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum EvalProvider {
    /// The built-in offline analyzer.
    Offline,
    /// Anthropic Messages (ANTHROPIC_API_KEY).
    Anthropic,
    /// OpenAI Chat Completions (OPENAI_API_KEY).
    Openai,
}

/// Runs `leadline eval`.
pub(super) fn run(args: &EvalArgs) -> ExitCode {
    match args.task {
        EvalTask::CallOutcome => call_outcome(args),
        EvalTask::Replies => replies(args),
        EvalTask::Intent => intent(args),
    }
}

/// The labelled sets to score: the file given, else the shipped splits (or the one named).
fn intent_sets(args: &EvalArgs) -> Result<Vec<(String, Vec<EvalExample>)>, String> {
    if let Some(file) = &args.file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let examples = parse_examples(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        if examples.is_empty() {
            return Err(format!("{}: no examples", file.display()));
        }
        return Ok(vec![(file.display().to_string(), examples)]);
    }
    let shipped = [
        ("train", dataset::TRAIN_JSONL),
        ("test", dataset::TEST_JSONL),
        ("holdout", dataset::HOLDOUT_JSONL),
    ];
    if let Some(split) = &args.split {
        if !shipped.iter().any(|(name, _)| name == split) {
            return Err(format!(
                "unknown split {split:?}: use train, test or holdout"
            ));
        }
    }
    shipped
        .into_iter()
        .filter(|(name, _)| args.split.as_deref().is_none_or(|s| s == *name))
        .map(|(name, text)| {
            parse_examples(text)
                .map(|examples| (name.to_owned(), examples))
                .map_err(|e| format!("shipped {name} split: {e}"))
        })
        .collect()
}

/// A FILE of one's own talks about one's own catalog, so it needs `--catalog`; the shipped data
/// defaults to the shipped catalog it was labelled for.
fn catalog(args: &EvalArgs) -> Result<Vec<CatalogProduct>, String> {
    match (&args.catalog, &args.file) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            parse_catalog(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, Some(_)) => Err("--catalog CATALOG.json is required with FILE".to_owned()),
        (None, None) => {
            parse_catalog(dataset::CATALOG_JSON).map_err(|e| format!("shipped catalog: {e}"))
        }
    }
}

/// `--task intent`: every set scored and reported on its own.
fn intent(args: &EvalArgs) -> ExitCode {
    let loaded = intent_sets(args).and_then(|sets| Ok((sets, catalog(args)?)));
    let (sets, products) = match loaded {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("leadline eval: {message}");
            return ExitCode::from(2);
        }
    };
    let keywords = args.escalation_keywords.clone().unwrap_or_else(|| {
        dataset::ESCALATION_KEYWORDS
            .iter()
            .map(|k| (*k).to_owned())
            .collect()
    });
    let ctx = AnalysisContext {
        channel: Channel::WebChat,
        products,
        history: Vec::new(),
        settings: AiSettings {
            escalation_keywords: keywords
                .into_iter()
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty())
                .collect(),
            ..AiSettings::default()
        },
    };
    let mut reports: Vec<(String, EvalReport)> = Vec::new();
    let mut unanswered_any = false;
    for (name, examples) in sets {
        let outcome = match args.provider {
            EvalProvider::Offline => Ok(offline(&examples, &ctx)),
            EvalProvider::Anthropic | EvalProvider::Openai => llm(args, &examples, &ctx),
        };
        let run = match outcome {
            Ok(run) => run,
            Err(Failure { message, code }) => {
                eprintln!("leadline eval: {message}");
                return ExitCode::from(code);
            }
        };
        let (scored, predictions): (Vec<EvalExample>, Vec<Analysis>) = examples
            .into_iter()
            .zip(run.predictions)
            .filter_map(|(example, prediction)| prediction.map(|p| (example, p)))
            .unzip();
        let unanswered = run.total - scored.len();
        let mut report = score(&scored, &predictions, run.elapsed_seconds);
        // Throughput counts every message sent, answered or not: they all took the time.
        report.messages_per_second = if run.elapsed_seconds > 0.0 {
            run.total as f64 / run.elapsed_seconds
        } else {
            0.0
        };
        if unanswered > 0 {
            unanswered_any = true;
            eprintln!(
                "leadline eval: {name}: {unanswered} of {} messages were not answered and are not scored",
                run.total
            );
        }
        reports.push((name, report));
    }
    if args.json {
        // One file: its report as the object; the shipped splits: one report per split name.
        let json = match (&args.file, reports.as_slice()) {
            (Some(_), [(_, report)]) => serde_json::to_value(report),
            _ => reports
                .iter()
                .map(|(name, r)| serde_json::to_value(r).map(|v| (name.clone(), v)))
                .collect::<Result<serde_json::Map<_, _>, _>>()
                .map(serde_json::Value::Object),
        };
        match json {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("leadline eval: cannot encode the report: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        for (name, report) in &reports {
            let note = match name.as_str() {
                "train" | "test" => " (the models learn from it: flattering)",
                "holdout" => " (nothing trains or tunes on it: the honest figure)",
                _ => "",
            };
            println!("== {name}{note} ==");
            print!("{}", report.render_text());
        }
    }
    if unanswered_any {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// `--task replies`: the offline provider's replies, scored.
fn replies(args: &EvalArgs) -> ExitCode {
    if args.provider != EvalProvider::Offline {
        eprintln!("leadline eval: --task replies runs only with --provider offline for now");
        return ExitCode::from(2);
    }
    let text = match &args.file {
        Some(file) => match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("leadline eval: cannot read {}: {e}", file.display());
                return ExitCode::from(2);
            }
        },
        None => dataset::REPLIES_JSONL.to_owned(),
    };
    // `--split`: the replies to a shipped analysis split's messages, scored for language and
    // grounding (those lines carry no attribute expectation).
    let parsed = match &args.split {
        Some(_) if args.file.is_some() => Err("--split and FILE exclude each other".to_owned()),
        Some(_) => intent_sets(args).map(|sets| {
            sets.into_iter()
                .flat_map(|(_, examples)| examples)
                .filter_map(|e| {
                    Some(ReplyExample {
                        lang: e.language?.code().to_owned(),
                        text: e.text,
                        channel: e.channel,
                        attribute: None,
                        must_contain: Vec::new(),
                    })
                })
                .collect()
        }),
        None => parse_reply_examples(&text).map_err(|e| e.to_string()),
    };
    let loaded = parsed.and_then(|examples| Ok((examples, catalog(args)?)));
    let (examples, products) = match loaded {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("leadline eval: {message}");
            return ExitCode::from(2);
        }
    };
    let analyzer = OfflineAnalyzer::new();
    let base = AnalysisContext {
        channel: Channel::WebChat,
        products: products.clone(),
        history: Vec::new(),
        settings: AiSettings {
            escalation_keywords: dataset::ESCALATION_KEYWORDS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            ..AiSettings::default()
        },
    };
    let answers: Vec<_> = examples
        .iter()
        .map(|example| {
            let ctx = AnalysisContext {
                channel: match example.channel.as_deref() {
                    Some("live_chat") => Channel::Youtube,
                    Some("dm") => Channel::Instagram,
                    Some("phone_call") => Channel::Livekit,
                    _ => Channel::WebChat,
                },
                ..base.clone()
            };
            let analysis = analyzer.analyze(&example.text, &ctx);
            analyzer.reply(&example.text, &analysis, &ctx)
        })
        .collect();
    let report = score_replies(&examples, &answers, &products);
    if args.json {
        match serde_json::to_string(&report) {
            Ok(json) => println!("{json}"),
            Err(error) => {
                eprintln!("leadline eval: cannot encode the report: {error}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", report.render_text());
    }
    ExitCode::SUCCESS
}

/// Why `eval` stopped, and with which exit code.
struct Failure {
    message: String,
    code: u8,
}

/// The predictions (None: not answered) and the time they took.
struct Run {
    predictions: Vec<Option<Analysis>>,
    total: usize,
    elapsed_seconds: f64,
}

fn offline(examples: &[EvalExample], ctx: &AnalysisContext) -> Run {
    // Trains the model (first use in the process) before the clock starts.
    let analyzer = OfflineAnalyzer::new();
    let started = Instant::now();
    let predictions = examples
        .iter()
        .map(|example| Some(analyzer.analyze(&example.text, ctx)))
        .collect();
    Run {
        predictions,
        total: examples.len(),
        elapsed_seconds: started.elapsed().as_secs_f64(),
    }
}

fn llm(args: &EvalArgs, examples: &[EvalExample], ctx: &AnalysisContext) -> Result<Run, Failure> {
    let config = Config::from_env().map_err(|error| Failure {
        message: format!("configuration error: {error:#}"),
        code: 2,
    })?;
    let (kind, key, base, variable) = match args.provider {
        EvalProvider::Anthropic => (
            Provider::Anthropic,
            config.anthropic_api_key.clone(),
            config.anthropic_api_base.clone(),
            "ANTHROPIC_API_KEY",
        ),
        _ => (
            Provider::Openai,
            config.openai_api_key.clone(),
            config.openai_api_base.clone(),
            "OPENAI_API_KEY",
        ),
    };
    let key = key.ok_or_else(|| Failure {
        message: format!("{variable} is not set"),
        code: 2,
    })?;
    crate::telemetry::init_logging(config.log_json, &config.log_filter);
    let setup = |message: String| Failure { message, code: 2 };
    let http = reqwest::Client::builder()
        .build()
        .map_err(|e| setup(format!("cannot build the HTTP client: {e}")))?;
    let provider = LlmProvider::for_kind(kind, http, base, config.ai_timeout)
        .map_err(|e| setup(format!("cannot configure the provider: {e}")))?;
    let model = args
        .model
        .clone()
        .unwrap_or_else(|| provider.default_model().to_owned());
    let cfg = LlmRequestConfig::from_settings(
        TenantId(uuid::Uuid::nil()),
        ApiKey::new(key),
        model.clone(),
        &ctx.settings,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure {
            message: format!("cannot start the async runtime: {e}"),
            code: 1,
        })?;
    let policy = RetryPolicy::default();
    let total = examples.len();
    runtime.block_on(async {
        let started = Instant::now();
        let mut answers = futures::stream::iter(examples.iter().enumerate())
            .map(|(index, example)| {
                let (provider, policy, cfg) = (&provider, &policy, &cfg);
                async move {
                    let retried = policy
                        .run(|_| provider.analyze(&example.text, ctx, cfg))
                        .await;
                    (index, retried.result)
                }
            })
            .buffered(usize::from(args.concurrency));
        let mut predictions = Vec::with_capacity(total);
        let mut usage = Usage::default();
        let mut done = 0;
        while let Some((index, result)) = answers.next().await {
            done += 1;
            match result {
                Ok(outcome) => {
                    usage.input_tokens += outcome.usage.input_tokens;
                    usage.output_tokens += outcome.usage.output_tokens;
                    predictions.push(Some(outcome.value));
                }
                Err(LlmError::Unauthorized(_)) => {
                    return Err(Failure {
                        message: format!("the provider refused the key in {variable}"),
                        code: 1,
                    });
                }
                Err(error) => {
                    eprintln!("leadline eval: message {} not answered: {error}", index + 1);
                    predictions.push(None);
                }
            }
            if done % PROGRESS_EVERY == 0 || done == total {
                eprintln!("leadline eval: {done}/{total} messages");
            }
        }
        let elapsed_seconds = started.elapsed().as_secs_f64();
        let cost = estimated_cost_micros(&model, usage).map_or_else(
            || "not priced".to_owned(),
            |micros| format!("about {:.4} USD", micros as f64 / 1e6),
        );
        eprintln!(
            "leadline eval: {model}: {} input and {} output tokens, {cost}",
            usage.input_tokens, usage.output_tokens
        );
        Ok(Run {
            predictions,
            total,
            elapsed_seconds,
        })
    })
}

/// `--task call-outcome`: the offline classifier over labelled transcripts.
fn call_outcome(args: &EvalArgs) -> ExitCode {
    if args.provider != EvalProvider::Offline {
        eprintln!(
            "leadline eval: --task call-outcome runs only with --provider offline for now \
             (the LLM providers do not classify call transcripts yet)"
        );
        return ExitCode::from(2);
    }
    let Some(file) = &args.file else {
        eprintln!("leadline eval: --task call-outcome needs FILE.jsonl (domain/data/calls/outcomes.jsonl)");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("leadline eval: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let report = match leadline_domain::call_outcome::eval::evaluate_call_outcomes(
        &text,
        args.split.as_deref(),
    ) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("leadline eval: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("leadline eval: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print!("{}", report.render_text());
    }
    ExitCode::SUCCESS
}
