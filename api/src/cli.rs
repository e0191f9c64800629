//! The `leadline` command line: `serve` (default), `migrate`, `schema`, `worker`, `eval`, `demo`,
//! `rotate-secrets`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::app::{shutdown_signal, Application};
use crate::config::Config;

mod demo;
mod demo_calls;
mod eval;

/// Leadline: the headless GraphQL platform for AI-assisted sales conversations.
#[derive(Parser)]
#[command(name = "leadline", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default). Configuration comes from the environment; with none, it
    /// uses the SQLite file leadline.db and the in-process event bus on 127.0.0.1:8080.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Evaluate an AI provider on labelled messages and print the metrics, e.g.
    /// `leadline eval domain/data/analysis/test.jsonl --catalog domain/data/analysis/catalog.json`.
    /// Needs no database.
    Eval(eval::EvalArgs),
    /// Run only the job workers (no HTTP), e.g. as extra processes beside `serve` replicas.
    Worker,
    /// A walk-through with no accounts on a fresh embedded database and loopback fakes.
    /// `leadline demo` (or `demo live`): YouTube and Twitch chats replaying a scripted stream, a
    /// summary line a second and a table at the end, e.g. `leadline demo --seconds 30`.
    /// `leadline demo calls`: three payment-reminder calls through a LiveKit fake (a promise, a
    /// dispute, a busy line) with the agent's reports, then a table of their effects.
    Demo(demo::DemoArgs),
    /// Re-seal every stored secret (channel secrets and tokens, the generated JWT key) with the
    /// current LEADLINE_SECRET_KEY, reporting rows per table; afterwards the keys listed in
    /// LEADLINE_SECRET_KEYS_OLD (and an old key file) can be removed. Safe while servers run.
    RotateSecrets,
}

/// Runs the command line; the process exit code says whether it worked.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", crate::graphql::sdl());
        return ExitCode::SUCCESS;
    }
    if let Some(Command::Eval(args)) = &cli.command {
        return eval::run(args);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("leadline: configuration error: {error:#}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init_logging(config.log_json, &config.log_filter);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("leadline: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(config).await,
            Command::Worker => worker(config).await,
            Command::Demo(args) => demo::run(config, &args).await,
            Command::RotateSecrets => rotate_secrets(config).await,
            Command::Schema | Command::Eval(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("leadline: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(config = ?config, "starting");
    let app = Application::build(config).await?;
    let addr = app.local_addr()?;
    // Tests and scripts read this line to find the port when LEADLINE_ADDR ends in :0.
    println!("leadline listening on http://{addr}");
    println!("GraphiQL: http://{addr}/graphql");
    tracing::info!(%addr, bus = app.state().bus.backend_name(), "serving");
    app.run_until(shutdown_signal()).await
}

async fn worker(mut config: Config) -> anyhow::Result<()> {
    // The worker binds no public port; port 0 keeps it from clashing with a `serve` on this host.
    config.addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    let app = Application::build(config).await?;
    let pool = crate::workers::worker_pool(app.state());
    println!("leadline worker {} running", app.state().jobs.worker_id());
    pool.run(shutdown_signal()).await;
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(&config).await?;
    store.migrate().await?;
    crate::store::sealing::log_sealed(&store.seal_existing_secrets().await?);
    println!(
        "migrations applied to {}",
        crate::config::redact_url(&config.database_url)
    );
    Ok(())
}

async fn rotate_secrets(config: Config) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(&config).await?;
    store.migrate().await?;
    let current = store.sealer().current_key_id().to_owned();
    println!(
        "re-sealing secrets with key `{current}` (keys available: {})",
        store.sealer().key_ids().join(", ")
    );
    let report = store
        .rotate_secrets(&mut |table, rows| println!("  {table}: {rows} rows read"))
        .await?;
    for (table, counts) in &report {
        println!(
            "{table}: {} rows, {} re-sealed from older keys, {} sealed from plain text",
            counts.rows, counts.resealed, counts.sealed
        );
    }
    println!("every secret is now sealed with key `{current}`; older keys can be removed");
    Ok(())
}
