//! Benchmark (not a test): one server process holding `BENCH_SOCKETS` (default 10,000)
//! subscribed graphql-transport-ws sockets, and one event that every one of them must receive.
//!
//! The server is the real binary (`CARGO_BIN_EXE_leadline`) in its own process on the embedded
//! default (SQLite file, in-process bus), so its resident memory (`VmRSS` from `/proc`) is the
//! server's alone, not the clients'. Every socket subscribes to the tenant-wide
//! `leadScoreChanged`; each round is one `adjustLeadScore` over HTTP, and its figure is the time
//! from just before the mutation is sent to the moment the **last** socket receives the event.
//!
//! Baselines in the same run, on the same server process:
//! - latency: the same rounds with a single subscribed socket (the mutation and one delivery,
//!   no fan-out), measured before the crowd connects;
//! - memory: the server's RSS with no socket open (after a warm-up request), so the figure per
//!   socket is `(RSS with every socket idle − that) / sockets`.
//!
//! ```text
//! cargo bench --bench many_sockets
//! ```
//! Knobs: `BENCH_SOCKETS` (default 10000, at most 10000: the per-principal socket ceiling),
//! `BENCH_ROUNDS` (default 100), `BENCH_CONNECT_CONCURRENCY` (default 64). Exits 1 when an
//! event is lost or duplicated on any socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_number, graphql, next_message, percentile, subscribed_socket};
use futures::StreamExt;
use serde_json::json;
use tokio::sync::mpsc;

/// The server's resident set in KiB, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// One event on one socket.
struct Arrival {
    socket: usize,
    round: usize,
    at: Instant,
}

/// One subscribed socket; each event's round number goes to `arrivals`. Resolves once the
/// subscription is sent (the probe rounds then prove it live).
async fn subscriber(
    addr: &str,
    token: &str,
    index: usize,
    arrivals: mpsc::UnboundedSender<Arrival>,
) -> tokio::task::JoinHandle<()> {
    let mut socket = subscribed_socket(
        addr,
        token,
        "subscription { leadScoreChanged { reason } }",
        json!({}),
    )
    .await;
    tokio::spawn(async move {
        while let Some((value, at)) = next_message(&mut socket).await {
            match value["type"].as_str() {
                Some("next") => {
                    let round = value["payload"]["data"]["leadScoreChanged"]["reason"]
                        .as_str()
                        .and_then(|r| r.strip_prefix("round-"))
                        .and_then(|n| n.parse().ok());
                    if let Some(round) = round {
                        let _ = arrivals.send(Arrival {
                            socket: index,
                            round,
                            at,
                        });
                    }
                }
                Some("error") | Some("complete") => {
                    eprintln!("subscription ended: {value}");
                    return;
                }
                _ => {}
            }
        }
    })
}

/// Per-round outcome: the time to the last socket, and how many deliveries were missing or
/// repeated.
struct Rounds {
    to_last: Vec<Duration>,
    lost: usize,
    duplicates: usize,
}

/// Where each round's mutation goes: the server, the owner's token and the watched lead.
struct Target<'a> {
    http: &'a reqwest::Client,
    addr: &'a str,
    token: &'a str,
    lead: &'a str,
}

/// Runs `rounds` mutations one after another, rounds numbered from `first`; each waits until
/// every one of `sockets` has the event (or 10 s pass). A socket hearing a round twice counts as
/// a duplicate; events of earlier rounds (the probes) are ignored.
async fn run_rounds(
    target: &Target<'_>,
    first: usize,
    rounds: usize,
    sockets: usize,
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
) -> Rounds {
    let mut out = Rounds {
        to_last: Vec::with_capacity(rounds),
        lost: 0,
        duplicates: 0,
    };
    let mut heard = vec![usize::MAX; sockets];
    for round in first..first + rounds {
        let started = Instant::now();
        adjust(target, round).await;
        let mut got = 0;
        let mut last = started;
        while got < sockets {
            match tokio::time::timeout(Duration::from_secs(10), arrivals.recv()).await {
                Ok(Some(a)) if a.round >= first && a.socket < sockets => {
                    if heard[a.socket] == a.round || a.round < round {
                        out.duplicates += 1;
                    } else if a.round == round {
                        heard[a.socket] = round;
                        got += 1;
                        last = last.max(a.at);
                    }
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
        out.lost += sockets - got;
        out.to_last.push(last.saturating_duration_since(started));
    }
    // Anything of these rounds still queued is a repeat.
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Ok(a) = arrivals.try_recv() {
        if a.round >= first {
            out.duplicates += 1;
        }
    }
    out
}

/// One score change whose reason names the round.
async fn adjust(target: &Target<'_>, round: usize) {
    // Up and down by one keeps the score off its clamps, so every round moves it.
    let delta = if round % 2 == 0 { 1 } else { -1 };
    graphql(
        target.http,
        target.addr,
        Some(target.token),
        &format!(
            "mutation {{ adjustLeadScore(input: {{leadId: \"{}\", delta: {delta}, signal: \"bench\", reason: \"round-{round}\"}}) {{ lead {{ id }} }} }}",
            target.lead
        ),
        json!({}),
    )
    .await;
}

/// Probes until every one of `sockets` has heard one (a subscription goes live a moment after
/// its `subscribe` message); gives up after 100 probes.
async fn until_all_live(
    target: &Target<'_>,
    first: usize,
    sockets: usize,
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
) -> usize {
    let mut live = vec![false; sockets];
    let mut count = 0;
    for probe in first..first + 100 {
        adjust(target, probe).await;
        let deadline = Instant::now() + Duration::from_secs(2);
        while count < sockets {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, arrivals.recv()).await {
                Ok(Some(a)) => {
                    if let Some(seen) = live.get_mut(a.socket) {
                        if !*seen {
                            *seen = true;
                            count += 1;
                        }
                    }
                }
                _ => break,
            }
        }
        if count == sockets {
            break;
        }
    }
    count
}

fn print_rounds(name: &str, rounds: &Rounds) -> Duration {
    let mut sorted = rounds.to_last.clone();
    sorted.sort();
    let p99 = percentile(&sorted, 0.99);
    println!(
        "  {name:<28} rounds {:>4}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  lost {} duplicates {}",
        sorted.len(),
        percentile(&sorted, 0.50).as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        sorted.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        rounds.lost,
        rounds.duplicates
    );
    p99
}

#[tokio::main]
async fn main() {
    let sockets = env_number("BENCH_SOCKETS", 10_000).clamp(1, 10_000);
    let rounds = env_number("BENCH_ROUNDS", 100).max(1);
    let connect_concurrency = env_number("BENCH_CONNECT_CONCURRENCY", 64).max(1);

    let dir = std::env::temp_dir().join(format!("leadline-bench-sockets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_leadline"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
        )
        .env("LEADLINE_ADDR", &addr)
        .env("LEADLINE_WORKERS", "0")
        .env("LEADLINE_WS_MAX_SOCKETS_PER_PRINCIPAL", "10000")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start the server binary");
    let pid = server.id().expect("server pid");

    let http = reqwest::Client::new();
    let healthy = async {
        for _ in 0..600 {
            if let Ok(r) = http.get(format!("http://{addr}/healthz")).send().await {
                if r.status().is_success() {
                    return true;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    assert!(healthy.await, "the server did not come up on {addr}");

    let owner = graphql(&http, &addr, None,
        "mutation { signUp(input: {email: \"bench@sockets.test\", password: \"correct horse battery\", tenantName: \"Bench\", tenantSlug: \"bench-sockets\"}) { token } }", json!({}))
        .await["signUp"]["token"].as_str().expect("token").to_owned();
    let lead = graphql(
        &http,
        &addr,
        Some(&owner),
        "mutation { createLead(input: {name: \"Watched\"}) { lead { id } } }",
        json!({}),
    )
    .await["createLead"]["lead"]["id"]
        .as_str()
        .expect("lead")
        .to_owned();

    let target = Target {
        http: &http,
        addr: &addr,
        token: &owner,
        lead: &lead,
    };
    // Baseline: one socket, the same rounds.
    let (tx, mut rx) = mpsc::unbounded_channel();
    let single = subscriber(&addr, &owner, 0, tx).await;
    assert_eq!(
        until_all_live(&target, 0, 1, &mut rx).await,
        1,
        "the socket goes live"
    );
    let baseline = run_rounds(&target, 1_000, rounds, 1, &mut rx).await;
    single.abort();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_idle_server = rss_kib(pid);

    eprintln!("opening {sockets} subscribed sockets ({connect_concurrency} at a time)…");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let opened = Arc::new(AtomicUsize::new(0));
    let open_started = Instant::now();
    let handles: Vec<_> = futures::stream::iter(0..sockets)
        .map(|index| {
            let (addr, owner, tx, opened) =
                (addr.clone(), owner.clone(), tx.clone(), opened.clone());
            async move {
                let handle = subscriber(&addr, &owner, index, tx).await;
                let n = opened.fetch_add(1, Ordering::Relaxed) + 1;
                if n % 2000 == 0 {
                    eprintln!("  {n} open");
                }
                // The reader runs on its own; keep what stops it.
                handle.abort_handle()
            }
        })
        .buffer_unordered(connect_concurrency)
        .collect()
        .await;
    drop(tx);
    let open_took = open_started.elapsed();
    let live = until_all_live(&target, 1_000_000, sockets, &mut rx).await;
    assert_eq!(live, sockets, "every socket hears a probe");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_with_sockets = rss_kib(pid);

    let crowd = run_rounds(&target, 2_000_000, rounds, sockets, &mut rx).await;
    let rss_after_rounds = rss_kib(pid);

    println!(
        "many_sockets (SQLite + in-process bus, one server process): {sockets} subscribed sockets, {rounds} rounds, opened in {:.1} s",
        open_took.as_secs_f64()
    );
    let base_p99 = print_rounds("one socket (baseline)", &baseline);
    let crowd_p99 = print_rounds(&format!("{sockets} sockets, to the last"), &crowd);
    println!(
        "  ratio crowd/baseline: p99 latency {:.1}x",
        crowd_p99.as_secs_f64() / base_p99.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    let per_socket = rss_with_sockets.saturating_sub(rss_idle_server) as f64 / sockets as f64;
    println!(
        "  server RSS: {rss_idle_server} KiB with no socket (baseline), {rss_with_sockets} KiB with {sockets} idle sockets, {rss_after_rounds} KiB after the rounds; {per_socket:.1} KiB per idle socket"
    );

    for handle in handles {
        handle.abort();
    }
    let _ = server.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    if crowd.lost > 0 || crowd.duplicates > 0 || baseline.lost > 0 {
        eprintln!("FAILED: events were lost or duplicated");
        std::process::exit(1);
    }
}
