//! `FakeIrc`: Twitch chat over WebSocket on loopback (platforms.md §2.1).
//!
//! Per connection it requires the login in order — `CAP REQ` with `twitch.tv/tags` and
//! `twitch.tv/commands`, `PASS oauth:<token>`, `NICK <login>`, `JOIN #<channel>` — answering as
//! Twitch does (`CAP * ACK`, the `001`…`376` welcome in one multi-line frame, the JOIN echo with
//! NAMES/USERSTATE/ROOMSTATE in one frame). A wrong token gets
//! `NOTICE * :Login authentication failed` and a closed socket; anything out of order is recorded
//! as a protocol error and closes the socket.
//!
//! Tests script it: tagged PRIVMSGs (queued until a connection has joined the channel, so lines
//! sent during a reconnect arrive after the re-join), `PING`, `RECONNECT`, or an abrupt drop of
//! every socket. It records logins, joins, PONGs and what the bot said (PRIVMSG) with times.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::any;
use axum::Router;
use futures::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::{lock, serve};
use crate::irc::{escape_tag_value, lines, IrcMessage};

/// The token the fake accepts unless started with another.
pub const DEFAULT_TOKEN: &str = "fakechattoken0123456789";

/// A viewer's message to script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedMessage {
    /// Sender login.
    pub login: String,
    /// Tag `display-name`.
    pub display_name: String,
    /// Tag `user-id`.
    pub user_id: String,
    /// Tag `id`.
    pub id: String,
    /// The text.
    pub text: String,
    /// Tag `badges` (`moderator/1,subscriber/12`).
    pub badges: String,
    /// Tag `first-msg`.
    pub first_msg: bool,
    /// Tag `mod`.
    pub moderator: bool,
    /// Tag `subscriber`.
    pub subscriber: bool,
}

impl ScriptedMessage {
    /// A plain message from `login` with derived display name, user id and message id.
    pub fn new(login: &str, text: &str) -> Self {
        Self {
            login: login.to_ascii_lowercase(),
            display_name: login.to_owned(),
            user_id: format!("{}", login.bytes().map(u64::from).sum::<u64>() + 1_000),
            id: format!("msg-{login}-{}", text.len()),
            text: text.to_owned(),
            badges: String::new(),
            first_msg: false,
            moderator: false,
            subscriber: false,
        }
    }

    /// Sets the message id.
    pub fn with_id(mut self, id: &str) -> Self {
        self.id = id.to_owned();
        self
    }

    /// The tagged PRIVMSG line for `channel`.
    pub fn line(&self, channel: &str) -> String {
        let flag = |b: bool| if b { "1" } else { "0" };
        let tags = [
            ("badge-info", ""),
            ("badges", self.badges.as_str()),
            ("color", "#1E90FF"),
            ("display-name", self.display_name.as_str()),
            ("emotes", ""),
            ("first-msg", flag(self.first_msg)),
            ("flags", ""),
            ("id", self.id.as_str()),
            ("mod", flag(self.moderator)),
            ("returning-chatter", "0"),
            ("room-id", "11148817"),
            ("subscriber", flag(self.subscriber)),
            ("tmi-sent-ts", "1594556065407"),
            ("turbo", "0"),
            ("user-id", self.user_id.as_str()),
            ("user-type", ""),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", escape_tag_value(v)))
        .collect::<Vec<_>>()
        .join(";");
        let login = &self.login;
        format!(
            "@{tags} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{} :{}",
            channel.trim_start_matches('#'),
            self.text
        )
    }
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// Connection number (1-based, in accept order).
    pub connection: u64,
    /// The NICK.
    pub nick: String,
    /// When.
    pub at: Instant,
}

/// A JOIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    /// Connection number.
    pub connection: u64,
    /// Channel without `#`.
    pub channel: String,
    /// When.
    pub at: Instant,
}

/// A PRIVMSG the bot sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    /// Connection number.
    pub connection: u64,
    /// Channel without `#`.
    pub channel: String,
    /// The text.
    pub text: String,
    /// Its tags (e.g. `reply-parent-msg-id`).
    pub tags: Vec<(String, String)>,
    /// Arrival on tokio's clock.
    pub at: Instant,
}

/// A PONG the bot sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pong {
    /// Connection number.
    pub connection: u64,
    /// Its parameter.
    pub text: String,
    /// When.
    pub at: Instant,
}

/// Everything the fake observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IrcLog {
    /// WebSocket connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open: u64,
    /// Successful logins.
    pub logins: Vec<Login>,
    /// JOINs.
    pub joins: Vec<Join>,
    /// PRIVMSGs from the bot.
    pub said: Vec<Said>,
    /// PONGs from the bot.
    pub pongs: Vec<Pong>,
    /// Out-of-order or malformed client lines, and refused logins.
    pub protocol_errors: Vec<String>,
    /// Every client line, in order, with its connection (the PASS line is masked).
    pub received: Vec<(u64, String)>,
}

enum Action {
    Send(String),
    Drop,
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Action>,
    joined: Option<String>,
}

#[derive(Default)]
struct IrcState {
    /// Tokens accepted besides the one the server started with (other bots).
    extra_tokens: Vec<String>,
    conns: Vec<Conn>,
    queued: VecDeque<(String, String)>,
    log: IrcLog,
}

struct IrcShared {
    token: String,
    state: Mutex<IrcState>,
    changed: watch::Sender<u64>,
}

impl IrcShared {
    fn update<R>(&self, f: impl FnOnce(&mut IrcState) -> R) -> R {
        let result = f(&mut lock(&self.state));
        self.changed.send_modify(|v| *v += 1);
        result
    }
}

/// The fake chat server.
pub struct FakeIrc {
    url: String,
    shared: Arc<IrcShared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for FakeIrc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeIrc").field("url", &self.url).finish()
    }
}

impl Drop for FakeIrc {
    fn drop(&mut self) {
        self.drop_connections();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl FakeIrc {
    /// Starts a server accepting [`DEFAULT_TOKEN`].
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with_token(DEFAULT_TOKEN).await
    }

    /// Starts a server accepting only `token` (without `oauth:`).
    pub async fn start_with_token(token: &str) -> std::io::Result<Self> {
        let shared = Arc::new(IrcShared {
            token: token.to_owned(),
            state: Mutex::new(IrcState::default()),
            changed: watch::channel(0).0,
        });
        let router = Router::new()
            .route("/", any(upgrade))
            .with_state(Arc::clone(&shared));
        let (addr, shutdown) = serve(router).await?;
        Ok(Self {
            url: format!("ws://{addr}"),
            shared,
            shutdown: Some(shutdown),
        })
    }

    /// Also accepts `token` (another bot's, e.g. a tenant's own), from now on.
    pub fn accept_token(&self, token: &str) {
        lock(&self.shared.state).extra_tokens.push(token.to_owned());
    }

    /// `ws://127.0.0.1:<port>`: what `TWITCH_IRC_URL` should be.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The token the fake accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Sends a viewer's message to `channel` (or queues it until someone has joined it).
    pub fn privmsg(&self, channel: &str, message: &ScriptedMessage) {
        let channel = channel.trim_start_matches('#').to_owned();
        self.to_channel(&channel, message.line(&channel));
    }

    /// Sends `line` to every connection joined to `channel` (or queues it).
    pub fn to_channel(&self, channel: &str, line: String) {
        self.shared.update(|state| {
            let targets: Vec<&Conn> = state
                .conns
                .iter()
                .filter(|c| c.joined.as_deref() == Some(channel))
                .collect();
            if targets.is_empty() {
                state.queued.push_back((channel.to_owned(), line));
            } else {
                for conn in targets {
                    let _ = conn.tx.send(Action::Send(line.clone()));
                }
            }
        });
    }

    /// Sends `PING :tmi.twitch.tv` to every open connection.
    pub fn ping(&self) {
        self.broadcast("PING :tmi.twitch.tv");
    }

    /// Sends `PING :tmi.twitch.tv` and, like Twitch, drops every connection that has not
    /// answered with a PONG within `within` (recorded as a protocol error). The handle resolves
    /// to true as soon as every connection answered, or to false at the deadline.
    pub fn ping_expecting_pong(&self, within: Duration) -> tokio::task::JoinHandle<bool> {
        let pongs_of =
            |log: &IrcLog, id: u64| log.pongs.iter().filter(|p| p.connection == id).count();
        let before: Vec<(u64, usize)> = {
            let state = lock(&self.shared.state);
            state
                .conns
                .iter()
                .map(|c| (c.id, pongs_of(&state.log, c.id)))
                .collect()
        };
        let mut changes = self.shared.changed.subscribe();
        self.ping();
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let deadline = Instant::now() + within;
            loop {
                let silent: Vec<u64> = {
                    let state = lock(&shared.state);
                    before
                        .iter()
                        .filter(|(id, n)| pongs_of(&state.log, *id) <= *n)
                        .map(|(id, _)| *id)
                        .collect()
                };
                if silent.is_empty() {
                    return true;
                }
                if tokio::time::timeout_at(deadline, changes.changed())
                    .await
                    .is_err()
                {
                    shared.update(|state| {
                        for id in silent {
                            if let Some(at) = state.conns.iter().position(|c| c.id == id) {
                                let _ = state.conns.remove(at).tx.send(Action::Drop);
                            }
                            state
                                .log
                                .protocol_errors
                                .push(format!("connection {id}: no PONG within {within:?}"));
                        }
                    });
                    return false;
                }
            }
        })
    }

    /// Sends `:tmi.twitch.tv RECONNECT` to every open connection. Those connections count as
    /// leaving: later scripted messages wait for the next JOIN instead of going to a socket the
    /// client is abandoning.
    pub fn reconnect(&self) {
        self.shared.update(|state| {
            for conn in &mut state.conns {
                let _ = conn
                    .tx
                    .send(Action::Send(":tmi.twitch.tv RECONNECT".to_owned()));
                conn.joined = None;
            }
        });
    }

    /// Sends a raw line to every open connection.
    pub fn broadcast(&self, line: &str) {
        self.shared.update(|state| {
            for conn in &state.conns {
                let _ = conn.tx.send(Action::Send(line.to_owned()));
            }
        });
    }

    /// Drops every socket abruptly (no close frame), like a network failure. Scripted messages
    /// from now on wait for the next JOIN.
    pub fn drop_connections(&self) {
        self.shared.update(|state| {
            for conn in state.conns.drain(..) {
                let _ = conn.tx.send(Action::Drop);
            }
        });
    }

    /// A snapshot of everything observed.
    pub fn log(&self) -> IrcLog {
        lock(&self.shared.state).log.clone()
    }

    /// Waits until `condition` holds on the log, at most `limit` (tokio time); returns whether
    /// it held.
    pub async fn wait_until(&self, limit: Duration, condition: impl Fn(&IrcLog) -> bool) -> bool {
        let mut changes = self.shared.changed.subscribe();
        let deadline = Instant::now() + limit;
        loop {
            if condition(&self.log()) {
                return true;
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                _ => return condition(&self.log()),
            }
        }
    }
}

async fn upgrade(State(shared): State<Arc<IrcShared>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| connection(socket, shared))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Cap,
    Pass,
    Nick,
    Join,
    Ready,
}

/// What one client line asks the connection to do.
enum Step {
    Reply(Vec<String>),
    ReplyAndClose(Vec<String>),
}

async fn connection(socket: WebSocket, shared: Arc<IrcShared>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = shared.update(|state| {
        state.log.connections += 1;
        state.log.open += 1;
        let id = state.log.connections;
        state.conns.push(Conn {
            id,
            tx,
            joined: None,
        });
        id
    });
    let (mut sink, mut stream) = socket.split();
    let mut stage = Stage::Cap;
    let mut pass = String::new();
    let mut nick = String::new();
    'serve: loop {
        tokio::select! {
            frame = stream.next() => {
                let text = match frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break 'serve,
                    Some(Ok(_)) => continue,
                };
                for line in lines(text.as_str()) {
                    let step = client_line(&shared, id, line, &mut stage, &mut pass, &mut nick);
                    let (replies, close) = match step {
                        Step::Reply(replies) => (replies, false),
                        Step::ReplyAndClose(replies) => (replies, true),
                    };
                    for reply in replies {
                        if sink.send(Message::Text(reply.into())).await.is_err() {
                            break 'serve;
                        }
                    }
                    if close {
                        let _ = sink.close().await;
                        break 'serve;
                    }
                }
            }
            action = rx.recv() => match action {
                Some(Action::Send(line)) => {
                    if sink.send(Message::Text(line.into())).await.is_err() {
                        break 'serve;
                    }
                }
                Some(Action::Drop) | None => break 'serve,
            },
        }
    }
    shared.update(|state| {
        state.conns.retain(|c| c.id != id);
        state.log.open -= 1;
    });
}

fn client_line(
    shared: &IrcShared,
    id: u64,
    line: &str,
    stage: &mut Stage,
    pass: &mut String,
    nick: &mut String,
) -> Step {
    let masked = if line.starts_with("PASS ") {
        "PASS oauth:***".to_owned()
    } else {
        line.to_owned()
    };
    shared.update(|state| state.log.received.push((id, masked)));
    let Ok(message) = IrcMessage::parse(line) else {
        return protocol_error(shared, id, format!("unparseable line {line:?}"));
    };
    let now = Instant::now();
    match (*stage, message.command.as_str()) {
        (Stage::Cap, "CAP") => {
            let caps = message.trailing().unwrap_or_default();
            let wanted = caps.split(' ').collect::<Vec<_>>();
            if message.param(0) != Some("REQ")
                || !wanted.contains(&"twitch.tv/tags")
                || !wanted.contains(&"twitch.tv/commands")
            {
                return protocol_error(shared, id, format!("bad CAP request {line:?}"));
            }
            *stage = Stage::Pass;
            Step::Reply(vec![format!(":tmi.twitch.tv CAP * ACK :{caps}")])
        }
        (Stage::Pass, "PASS") => {
            *pass = message.param(0).unwrap_or_default().to_owned();
            *stage = Stage::Nick;
            Step::Reply(Vec::new())
        }
        (Stage::Nick, "NICK") => {
            *nick = message.param(0).unwrap_or_default().to_owned();
            let offered = pass.strip_prefix("oauth:");
            let accepted = offered == Some(shared.token.as_str())
                || offered.is_some_and(|t| lock(&shared.state).extra_tokens.iter().any(|x| x == t));
            if !accepted {
                shared.update(|state| {
                    state
                        .log
                        .protocol_errors
                        .push(format!("connection {id}: login refused"))
                });
                return Step::ReplyAndClose(vec![
                    ":tmi.twitch.tv NOTICE * :Login authentication failed".to_owned(),
                ]);
            }
            shared.update(|state| {
                state.log.logins.push(Login {
                    connection: id,
                    nick: nick.clone(),
                    at: now,
                })
            });
            *stage = Stage::Join;
            let n = nick.as_str();
            // One frame, several lines: clients must split on \r\n (platforms.md §2.1).
            Step::Reply(vec![[
                format!(":tmi.twitch.tv 001 {n} :Welcome, GLHF!"),
                format!(":tmi.twitch.tv 002 {n} :Your host is tmi.twitch.tv"),
                format!(":tmi.twitch.tv 003 {n} :This server is rather new"),
                format!(":tmi.twitch.tv 004 {n} :-"),
                format!(":tmi.twitch.tv 375 {n} :-"),
                format!(":tmi.twitch.tv 372 {n} :You are in a maze of twisty passages, all alike."),
                format!(":tmi.twitch.tv 376 {n} :>"),
            ]
            .join("\r\n")])
        }
        (Stage::Join | Stage::Ready, "JOIN") => {
            let Some(channel) = message.param(0).and_then(|c| c.strip_prefix('#')) else {
                return protocol_error(shared, id, format!("bad JOIN {line:?}"));
            };
            let channel = channel.to_owned();
            let n = nick.clone();
            let pending = shared.update(|state| {
                state.log.joins.push(Join {
                    connection: id,
                    channel: channel.clone(),
                    at: now,
                });
                if let Some(conn) = state.conns.iter_mut().find(|c| c.id == id) {
                    conn.joined = Some(channel.clone());
                }
                let (mine, others): (Vec<_>, Vec<_>) =
                    state.queued.drain(..).partition(|(c, _)| *c == channel);
                state.queued = others.into();
                mine.into_iter().map(|(_, line)| line).collect::<Vec<_>>()
            });
            *stage = Stage::Ready;
            let mut replies = vec![[
                format!(":{n}!{n}@{n}.tmi.twitch.tv JOIN #{channel}"),
                format!(":{n}.tmi.twitch.tv 353 {n} = #{channel} :{n}"),
                format!(":{n}.tmi.twitch.tv 366 {n} #{channel} :End of /NAMES list"),
                format!("@badge-info=;badges=;color=;display-name={n};emote-sets=0;mod=0;subscriber=0;user-type= :tmi.twitch.tv USERSTATE #{channel}"),
                format!("@emote-only=0;followers-only=-1;r9k=0;room-id=11148817;slow=0;subs-only=0 :tmi.twitch.tv ROOMSTATE #{channel}"),
            ]
            .join("\r\n")];
            replies.extend(pending);
            Step::Reply(replies)
        }
        (Stage::Ready, "PRIVMSG") => {
            let channel = message
                .param(0)
                .unwrap_or_default()
                .trim_start_matches('#')
                .to_owned();
            let joined = shared.update(|state| {
                state
                    .conns
                    .iter()
                    .any(|c| c.id == id && c.joined.as_deref() == Some(channel.as_str()))
            });
            if !joined {
                return protocol_error(shared, id, format!("PRIVMSG to unjoined #{channel}"));
            }
            shared.update(|state| {
                state.log.said.push(Said {
                    connection: id,
                    channel,
                    text: message.trailing().unwrap_or_default().to_owned(),
                    tags: message.tags.clone(),
                    at: now,
                })
            });
            Step::Reply(Vec::new())
        }
        (Stage::Join | Stage::Ready, "PONG") => {
            shared.update(|state| {
                state.log.pongs.push(Pong {
                    connection: id,
                    text: message.trailing().unwrap_or_default().to_owned(),
                    at: now,
                })
            });
            Step::Reply(Vec::new())
        }
        (_, "PING") => Step::Reply(vec![format!(
            ":tmi.twitch.tv PONG tmi.twitch.tv :{}",
            message.trailing().unwrap_or("tmi.twitch.tv")
        )]),
        (Stage::Ready, "PART") => Step::Reply(Vec::new()),
        (stage, command) => protocol_error(
            shared,
            id,
            format!("unexpected {command} at stage {stage:?}"),
        ),
    }
}

fn protocol_error(shared: &IrcShared, id: u64, text: String) -> Step {
    shared.update(|state| {
        state
            .log
            .protocol_errors
            .push(format!("connection {id}: {text}"))
    });
    Step::ReplyAndClose(vec![format!(":tmi.twitch.tv NOTICE * :{text}")])
}
