//! Test harness: spawn the real `leadline` binary on port 0 with a fresh database, talk to it
//! over HTTP and graphql-transport-ws.
//!
//! Backend selection (set by `.ci/run`):
//! - default: the embedded backend (a fresh SQLite file per app, in-process bus);
//! - `LEADLINE_TEST_BACKEND=postgres` with `LEADLINE_TEST_DATABASE_URL` (an admin URL; a new
//!   database is created per app) and `LEADLINE_TEST_REDIS_URL` (a unique key prefix per app).
//!   Under `CI=true` a missing URL fails the run instead of silently testing less.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

/// Which backends this run uses: the one test kit's (`store::testkit`), shared with the api's
/// tests and the benches.
pub use leadline_api::store::testkit::TestBackend as Backend;

pub fn backend() -> Backend {
    leadline_api::store::testkit::test_backend().expect("the test backend's settings")
}

/// True on the Postgres+Redis pass. Tests that only make sense with a shared database and
/// Redis (several processes, Redis outages) return early otherwise, saying so.
pub fn scale_out(test: &str) -> Option<(String, String)> {
    match backend() {
        Backend::Postgres {
            admin_url,
            redis_url,
        } => Some((admin_url, redis_url)),
        Backend::Embedded => {
            eprintln!(
                "{test}: runs on the Postgres+Redis pass only (LEADLINE_TEST_BACKEND=postgres)"
            );
            None
        }
    }
}

/// A fresh database URL for one test.
pub async fn fresh_database() -> (String, Option<String>, PathBuf) {
    let dir = std::env::temp_dir().join(format!("leadline-test-{}", Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    match backend() {
        Backend::Embedded => (
            format!("sqlite://{}?mode=rwc", dir.join("leadline.db").display()),
            None,
            dir,
        ),
        Backend::Postgres {
            admin_url,
            redis_url,
        } => {
            let url =
                leadline_api::store::testkit::create_postgres_database(&admin_url, "leadline_test")
                    .await
                    .expect("create the test database");
            (url, Some(redis_url), dir)
        }
    }
}

/// The sealing key file the harness gives every process of a PostgreSQL database (one per
/// database name, so replicas and proxied URLs of one database share it); `None` for SQLite.
pub fn postgres_key_file(database_url: &str) -> Option<PathBuf> {
    if !database_url.starts_with("postgres") {
        return None;
    }
    let name = database_url.rsplit('/').next()?.split('?').next()?;
    Some(std::env::temp_dir().join(format!("leadline-{name}.key")))
}

/// A running server.
pub struct TestApp {
    pub base: String,
    pub addr: String,
    /// Holds the server log (`server.log`) and the SQLite file.
    pub dir: PathBuf,
    pub http: reqwest::Client,
    /// Where the server writes mail without `SMTP_URL`: `outbox/` beside the SQLite file, or in
    /// the working directory on PostgreSQL.
    pub outbox: PathBuf,
    /// The server process; dropping it kills the server.
    _child: Child,
}

/// Options for [`spawn_with`].
#[derive(Default, Clone)]
pub struct SpawnOptions {
    pub database_url: Option<String>,
    pub redis_url: Option<Option<String>>,
    pub redis_prefix: Option<String>,
    pub env: Vec<(String, String)>,
}

impl SpawnOptions {
    /// The same process without job workers. A second replica in a test that reads the first's
    /// outbox runs none, so every mail job (an invite, say) runs on the first and lands there.
    pub fn without_workers(mut self) -> Self {
        self.env.push(("LEADLINE_WORKERS".into(), "0".into()));
        self
    }
}

/// A fresh app on a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_with(SpawnOptions::default()).await
}

/// An app with explicit database/Redis/env (for several processes on one database).
pub async fn spawn_with(options: SpawnOptions) -> TestApp {
    let (database_url, redis_url, dir) = match &options.database_url {
        Some(url) => {
            let dir =
                std::env::temp_dir().join(format!("leadline-test-{}", Uuid::now_v7().simple()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            (url.clone(), options.redis_url.clone().flatten(), dir)
        }
        None => {
            let (db, redis, dir) = fresh_database().await;
            (db, options.redis_url.clone().unwrap_or(redis), dir)
        }
    };
    let redis_prefix = options
        .redis_prefix
        .clone()
        .unwrap_or_else(|| format!("test-{}", Uuid::now_v7().simple()));
    let log = std::fs::File::create(dir.join("server.log")).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_leadline"));
    command
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", &database_url)
        .env("LEADLINE_ADDR", "127.0.0.1:0")
        .env("LEADLINE_REDIS_PREFIX", &redis_prefix)
        .env("RUST_LOG", "info,sqlx=warn,sea_orm=warn")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true);
    if let Some(url) = &redis_url {
        command.env("REDIS_URL", url);
    }
    if let Some(key_file) = postgres_key_file(&database_url) {
        // Replicas of one database must share the sealing key; each process runs in its own
        // directory, so point them all at one key file per database (SQLite keeps its default,
        // beside the database file).
        command.env("LEADLINE_SECRET_KEY_FILE", key_file);
    }
    for (k, v) in &options.env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("spawn leadline");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.strip_prefix("leadline listening on http://") {
                return Some(rest.trim().to_owned());
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
    .unwrap_or_else(|| {
        panic!(
            "server did not start; see {}",
            dir.join("server.log").display()
        )
    });
    let _ = (&redis_url, &redis_prefix);
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let outbox = database_url
        .strip_prefix("sqlite://")
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .and_then(|file| {
            std::path::Path::new(file)
                .parent()
                .map(|p| p.join("outbox"))
        })
        .unwrap_or_else(|| dir.join("outbox"));
    let app = TestApp {
        base: format!("http://{addr}"),
        addr,
        outbox,
        dir,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        _child: child,
    };
    app.wait_ready(Duration::from_secs(30)).await;
    app
}

impl TestApp {
    /// Waits until `/readyz` answers 200.
    pub async fn wait_ready(&self, limit: Duration) {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Ok(r) = self.http.get(format!("{}/readyz", self.base)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{} never became ready; see {}",
            self.base,
            self.dir.join("server.log").display()
        );
    }

    /// Sends a GraphQL operation; returns the whole JSON response.
    pub async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request");
        response.json().await.expect("json body")
    }

    /// Like [`graphql`] but fails the test on any error, returning `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let response = self.graphql(Some(token), query, variables).await;
        assert!(
            response.get("errors").is_none(),
            "unexpected errors: {response:#}"
        );
        response["data"].clone()
    }

    /// Polls `query` until `done` holds on its data (workers and other replicas act
    /// asynchronously), failing after 30 s with the last answer.
    pub async fn eventually(
        &self,
        token: &str,
        query: &str,
        variables: Value,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        leadline_api::store::testkit::eventually(
            what,
            Duration::from_secs(30),
            Duration::from_millis(100),
            || async {
                let data = self.ok(token, query, variables.clone()).await;
                if done(&data) {
                    Ok(data)
                } else {
                    Err(data)
                }
            },
        )
        .await
        .unwrap_or_else(|timed_out| panic!("{timed_out}"))
    }

    /// Signs up a new tenant and returns its owner's token.
    pub async fn sign_up(&self, slug: &str) -> String {
        let response = self
            .graphql(
                None,
                "mutation($input: SignUpInput!) { signUp(input: $input) { token } }",
                json!({"input": {"email": format!("owner@{slug}.test"), "password": "correct horse battery", "tenantName": slug, "tenantSlug": slug}}),
            )
            .await;
        response["data"]["signUp"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("sign up failed: {response:#}"))
            .to_owned()
    }

    /// Creates a lead and returns its id.
    pub async fn create_lead(&self, token: &str, name: &str) -> String {
        let data = self
            .ok(
                token,
                "mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } } }",
                json!({"input": {"name": name}}),
            )
            .await;
        data["createLead"]["lead"]["id"]
            .as_str()
            .expect("lead id")
            .to_owned()
    }

    /// The messages in the app's outbox folder (`SMTP_URL` unset: `outbox/` beside the database,
    /// or in the working directory on PostgreSQL — both are `dir` here) addressed to `email`,
    /// oldest first, as raw RFC 5322 text.
    pub fn mails_to(&self, email: &str) -> Vec<String> {
        let header = format!("To: {email}");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.outbox)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        // File names are UUID v7s: sorting them sorts by time written.
        files.sort();
        files
            .into_iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .filter(|text| {
                text.lines()
                    .any(|line| line.trim().eq_ignore_ascii_case(&header))
            })
            .collect()
    }

    /// Waits (the `send_email` job runs on a worker) until `email` has at least `count`
    /// messages; all of them, oldest first.
    pub async fn wait_for_mails(&self, email: &str, count: usize) -> Vec<String> {
        let started = std::time::Instant::now();
        loop {
            let mails = self.mails_to(email);
            if mails.len() >= count {
                return mails;
            }
            if started.elapsed() > Duration::from_secs(20) {
                panic!(
                    "{email} got {} of {count} e-mails; see {}",
                    mails.len(),
                    self.dir.join("server.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The newest message to `email` (waiting for the first one).
    pub async fn last_mail_to(&self, email: &str) -> String {
        self.wait_for_mails(email, 1)
            .await
            .pop()
            .unwrap_or_default()
    }

    /// Makes `email` a member of the owner's tenant with `role` the only way there is: an
    /// invite, its code read from the mail, and acceptance. Returns the member's token and user id.
    pub async fn member(&self, owner: &str, email: &str, role: &str) -> (String, String) {
        self.ok(
            owner,
            "mutation($input: InviteMemberInput!) { inviteMember(input: $input) { invite { id } } }",
            json!({"input": {"email": email, "role": role}}),
        )
        .await;
        let code = self.invite_code(email).await;
        let accepted = self
            .graphql(
                None,
                "mutation($input: AcceptInviteInput!) { acceptInvite(input: $input) { token } }",
                json!({"input": {"code": code, "password": "member password 1"}}),
            )
            .await;
        let token = accepted["data"]["acceptInvite"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("accept failed: {accepted}"))
            .to_owned();
        let me = self.ok(&token, "{ me { user { id } } }", json!({})).await;
        let user_id = me["me"]["user"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (token, user_id)
    }

    /// The invite code in the newest invite e-mail to `email`.
    pub async fn invite_code(&self, email: &str) -> String {
        self.secret_mailed_to(email, "Invite code: ").await
    }

    /// The secret after `marker` in the newest message to `email` that has one, waiting for it
    /// (an address may also hold other mail, such as its verification message).
    pub async fn secret_mailed_to(&self, email: &str, marker: &str) -> String {
        let started = std::time::Instant::now();
        loop {
            let found = self.mails_to(email).into_iter().rev().find_map(|mail| {
                mail.lines()
                    .find_map(|line| line.strip_prefix(marker))
                    .map(|secret| secret.trim().to_owned())
            });
            if let Some(secret) = found {
                return secret;
            }
            if started.elapsed() > Duration::from_secs(20) {
                panic!(
                    "no {marker:?} mailed to {email}; see {}",
                    self.dir.join("server.log").display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens an authenticated graphql-transport-ws connection.
    pub async fn ws(&self, token: &str) -> Result<WsClient, String> {
        WsClient::connect(&self.addr, json!({ "token": token })).await
    }
}

/// The secret after `marker` ("Invite code: ", "Verification token: ") in a mailed message.
pub fn mailed_secret(message: &str, marker: &str) -> String {
    message
        .lines()
        .find_map(|line| line.strip_prefix(marker))
        .unwrap_or_else(|| panic!("no {marker:?} in {message}"))
        .trim()
        .to_owned()
}

/// Polls `attempt` every 50 ms until it answers `Ok`, failing the test after `limit` with its
/// last `Err`: the test kit's `eventually`, for what the test cannot ask GraphQL (a fake's
/// recordings, a port, a table). Answers from the API poll with [`TestApp::eventually`].
pub async fn wait_for<T, E, F, Fut>(what: &str, limit: Duration, attempt: F) -> T
where
    E: std::fmt::Debug,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    leadline_api::store::testkit::eventually(what, limit, Duration::from_millis(50), attempt)
        .await
        .unwrap_or_else(|timed_out| panic!("{timed_out}"))
}

/// The first error's `extensions.code`.
pub fn error_code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("<none>")
}

/// A graphql-transport-ws client.
pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

/// What a subscription delivered.
#[derive(Debug)]
pub enum WsEvent {
    Next(Value),
    Error(Value),
    Complete,
    /// The socket closed (code and reason, shown when a test fails).
    #[allow(dead_code)]
    Closed(String),
}

impl WsClient {
    /// Connects and completes `connection_init` with `payload`.
    pub async fn connect(addr: &str, payload: Value) -> Result<Self, String> {
        let mut request = format!("ws://{addr}/graphql/ws")
            .into_client_request()
            .map_err(|e| e.to_string())?;
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().map_err(|_| "header")?,
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .map_err(|e| e.to_string())?;
        socket
            .send(Message::Text(
                json!({"type": "connection_init", "payload": payload})
                    .to_string()
                    .into(),
            ))
            .await
            .map_err(|e| e.to_string())?;
        let mut client = Self { socket, next_id: 1 };
        match client.read(Duration::from_secs(10)).await {
            Some(Ok(message)) if message["type"] == "connection_ack" => Ok(client),
            Some(Ok(message)) => Err(format!("unexpected {message}")),
            Some(Err(closed)) => Err(closed),
            None => Err("no connection_ack".into()),
        }
    }

    async fn read(&mut self, limit: Duration) -> Option<Result<Value, String>> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let message = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .ok()?;
            match message {
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).ok()?;
                    if value["type"] == "ping" {
                        let _ = self
                            .socket
                            .send(Message::Text(json!({"type": "pong"}).to_string().into()))
                            .await;
                        continue;
                    }
                    return Some(Ok(value));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Some(Err(frame
                        .map(|f| format!("{} {}", f.code, f.reason))
                        .unwrap_or_else(|| "closed".into())))
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Some(Err(e.to_string())),
                None => return Some(Err("closed".into())),
            }
        }
    }

    /// Starts a subscription; returns its id.
    pub async fn subscribe(&mut self, query: &str, variables: Value) -> String {
        let id = self.next_id.to_string();
        self.next_id += 1;
        self.socket
            .send(Message::Text(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}).to_string().into()))
            .await
            .expect("send subscribe");
        // The server registers with the bus while handling `subscribe`, which has no ack in the
        // protocol; give it a moment before the test causes events.
        tokio::time::sleep(Duration::from_millis(300)).await;
        id
    }

    /// The next event for any subscription within `limit`; `None` if nothing came.
    pub async fn next_event(&mut self, limit: Duration) -> Option<WsEvent> {
        match self.read(limit).await? {
            Ok(message) => Some(match message["type"].as_str() {
                Some("next") => WsEvent::Next(message["payload"].clone()),
                Some("error") => WsEvent::Error(message["payload"].clone()),
                Some("complete") => WsEvent::Complete,
                _ => WsEvent::Error(message),
            }),
            Err(closed) => Some(WsEvent::Closed(closed)),
        }
    }
}

/// A TCP proxy between the server and a backend (Postgres) that a test can cut and restore, to
/// simulate an outage without touching the shared database server.
pub struct TcpProxy {
    /// `127.0.0.1:<port>` to point the server at.
    pub addr: String,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `target` (host:port).
    pub async fn start(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = {
            let (up, links) = (up.clone(), links.clone());
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        // Down: accept and hang up at once, as a dead backend's host would.
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().unwrap().push(task.abort_handle());
                }
            })
        };
        Self {
            addr,
            up,
            links,
            accept,
        }
    }

    /// Cuts every open connection and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// `url` with its `host:port` replaced by `authority` (e.g. to route through a [`TcpProxy`]),
/// and the original `host:port`.
pub fn swap_authority(url: &str, authority: &str) -> (String, String) {
    let start = url
        .find('@')
        .map(|i| i + 1)
        .unwrap_or_else(|| url.find("://").unwrap() + 3);
    let end = url[start..].find('/').map_or(url.len(), |i| start + i);
    let original = url[start..end].to_owned();
    (
        format!("{}{}{}", &url[..start], authority, &url[end..]),
        original,
    )
}

impl WsClient {
    /// The data of the next `next` message whose data satisfies `wanted`, skipping others,
    /// within `limit`; `None` when nothing matched in time. An error or a closed socket fails
    /// the test (with what came).
    pub async fn next_data_where(
        &mut self,
        limit: Duration,
        wanted: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return None;
            }
            match self.next_event(left).await? {
                WsEvent::Next(payload) => {
                    if let Some(errors) = payload.get("errors") {
                        panic!("subscription error: {errors}");
                    }
                    if wanted(&payload["data"]) {
                        return Some(payload["data"].clone());
                    }
                }
                other => panic!("expected data, got {other:?}"),
            }
        }
    }

    /// Every `next` data message until nothing arrives for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut seen = Vec::new();
        while let Some(WsEvent::Next(payload)) = self.next_event(quiet).await {
            seen.push(payload["data"].clone());
        }
        seen
    }
}

impl WsClient {
    /// Ends the operation `id` from the client side (a `complete` message).
    pub async fn complete(&mut self, id: &str) {
        self.socket
            .send(Message::Text(
                json!({"id": id, "type": "complete"}).to_string().into(),
            ))
            .await
            .expect("send complete");
    }

    /// Sends a raw text frame (for malformed or oversized messages).
    pub async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.socket
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }
}
