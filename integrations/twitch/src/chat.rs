//! `ChatConnection`: the bot's seat in one Twitch channel over IRC-over-WebSocket
//! (platforms.md §2.1), as a stream of [`ChatEvent`]s plus a paced `say`.
//!
//! Login is `CAP REQ :twitch.tv/tags twitch.tv/commands`, `PASS oauth:<token>`, `NICK <login>`,
//! then — once the server's `001` welcome arrived — `JOIN #<channel>`, done when the server
//! echoes our JOIN. A background task then:
//! - turns `PRIVMSG` lines into [`ChatEvent::Message`] (tags parsed by `irc::ChatMessage`);
//! - answers `PING` with `PONG` at once (the keepalive is not a chat message and is not paced);
//! - on `RECONNECT`, a closed or failed socket, or a silent one (no traffic for `idle_timeout`;
//!   Twitch PINGs about every 5 minutes), reconnects with exponential backoff, logs in and
//!   re-JOINs, reporting [`ChatEvent::Reconnecting`] then [`ChatEvent::Joined`];
//! - sends queued `say`s no faster than the [`SendPacer`] allows. The pacer lives across
//!   reconnects because Twitch counts per user, not per connection. Messages queued while the
//!   socket is down go out after the re-join.
//!
//! Credentials come per connection, so one process holds connections for many tenants. This
//! module never retries a refused login (`NOTICE * :Login authentication failed`): that ends the
//! connection with [`DisconnectReason::LoginFailed`] and the supervisor asks the tenant to
//! reconnect the account. Dropping the `ChatConnection` (or calling `close`) ends the task, and
//! every `ChatSender` clone then gets `TwitchError::Closed`.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{SinkExt, Stream, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout_at, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::backoff::{BackoffConfig, ReconnectBackoff};
use crate::error::TwitchError;
use crate::irc::{lines, ChatMessage, IrcMessage};
use crate::pacer::{PacerConfig, SendPacer};

/// Twitch's chat WebSocket (`TWITCH_IRC_URL` overrides it).
pub const DEFAULT_IRC_URL: &str = "wss://irc-ws.chat.twitch.tv:443";
/// Twitch refuses longer chat messages (platforms.md §2.1).
pub const MAX_MESSAGE_CHARS: usize = 500;
/// The capabilities requested: tags (user ids, message ids, badges) and commands (RECONNECT,
/// NOTICE, USERSTATE...).
pub const CAPABILITIES: &str = "twitch.tv/tags twitch.tv/commands";

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The bot account's chat login. `Debug` never shows the token.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatCredentials {
    login: String,
    token: String,
}

impl ChatCredentials {
    /// `login` is the bot's Twitch login; `token` a user access token with `chat:read` and
    /// `chat:edit`, with or without the `oauth:` prefix.
    pub fn new(login: &str, token: &str) -> Self {
        Self {
            login: login.trim().to_ascii_lowercase(),
            token: token
                .trim()
                .strip_prefix("oauth:")
                .unwrap_or(token.trim())
                .to_owned(),
        }
    }

    /// The bot's login.
    pub fn login(&self) -> &str {
        &self.login
    }
}

impl fmt::Debug for ChatCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatCredentials")
            .field("login", &self.login)
            .field("token", &"<redacted>")
            .finish()
    }
}

/// Where and how to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConfig {
    /// `wss://irc-ws.chat.twitch.tv:443` or a fake's `ws://127.0.0.1:<port>`.
    pub url: String,
    /// The channel's login, without `#` (lower-cased on use).
    pub channel: String,
    /// Send limits (normal user unless the bot is a moderator there).
    pub pacer: PacerConfig,
    /// Reconnect delays.
    pub backoff: BackoffConfig,
    /// Consecutive failed reconnects before giving up (`None`: never give up).
    pub max_reconnect_attempts: Option<u32>,
    /// Limit for connect + login + join.
    pub login_timeout: Duration,
    /// Reconnect when nothing arrives for this long.
    pub idle_timeout: Duration,
    /// Messages waiting for the pacer before `say` refuses more.
    pub max_queued: usize,
    /// Events buffered for a slow consumer.
    pub event_buffer: usize,
}

impl ChatConfig {
    /// Defaults: normal-user pacing, 1 s → 60 s backoff without limit, 10 s login timeout,
    /// 6 min idle timeout, 50 queued messages, 1,024 buffered events.
    pub fn new(url: impl Into<String>, channel: &str) -> Self {
        Self {
            url: url.into(),
            channel: channel.trim().trim_start_matches('#').to_ascii_lowercase(),
            pacer: PacerConfig::user(),
            backoff: BackoffConfig::default(),
            max_reconnect_attempts: None,
            login_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(360),
            max_queued: 50,
            event_buffer: 1_024,
        }
    }
}

/// Why the connection is being re-established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReconnectReason {
    /// The server sent `RECONNECT`.
    ServerRequested,
    /// The socket closed.
    SocketClosed,
    /// Reading or writing failed.
    SocketError(String),
    /// Nothing arrived for `idle_timeout`.
    Idle,
    /// The previous reconnect attempt failed.
    ConnectFailed(String),
}

/// Why the connection ended for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// `close` was called or the connection was dropped.
    Closed,
    /// Twitch refused the login (bad or expired token, missing scope).
    LoginFailed(String),
    /// `max_reconnect_attempts` consecutive reconnects failed.
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: ReconnectReason,
    },
}

/// What happens on the connection, in order.
// `Message` is by far the most frequent variant, so boxing it to shrink the rare ones would add
// an allocation per chat line for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// Logged in and joined (first on every (re)connection).
    Joined {
        /// The channel.
        channel: String,
        /// 1 for the first connection, 2 after the first reconnect, ...
        session: u32,
    },
    /// A viewer's message.
    Message(ChatMessage),
    /// A server `NOTICE` (e.g. `msg_ratelimit`, `msg_duplicate`, `msg_banned`).
    Notice {
        /// Tag `msg-id`.
        msg_id: Option<String>,
        /// The text.
        text: String,
    },
    /// The connection was lost; the next attempt comes after `delay`.
    Reconnecting {
        /// Why.
        reason: ReconnectReason,
        /// Consecutive attempt number (1-based).
        attempt: u32,
        /// The wait before it.
        delay: Duration,
    },
    /// The connection ended for good; no event follows.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
    },
}

/// A message waiting for the pacer.
#[derive(Debug)]
struct Outgoing {
    line: String,
    ack: oneshot::Sender<Result<(), TwitchError>>,
}

enum Command {
    Say(Outgoing),
    Close,
}

/// A cloneable handle to send into the channel.
#[derive(Clone)]
pub struct ChatSender {
    channel: String,
    commands: mpsc::Sender<Command>,
}

impl fmt::Debug for ChatSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatSender")
            .field("channel", &self.channel)
            .finish()
    }
}

impl ChatSender {
    /// Sends `text` to the channel: queued, paced, and resolved once written to the socket.
    /// Line breaks become spaces (they would end the IRC line and smuggle in a command); empty
    /// or over-long (> 500 chars) text is refused before queueing; a full queue is `RateLimited`.
    pub async fn say(&self, text: &str) -> Result<(), TwitchError> {
        let text = validate_text(text)?;
        let line = IrcMessage::new("PRIVMSG", &[&format!("#{}", self.channel), &text]).to_line();
        self.enqueue(line).await
    }

    /// Like `say`, as a threaded reply to message `parent_id` (`@reply-parent-msg-id=`).
    pub async fn reply(&self, parent_id: &str, text: &str) -> Result<(), TwitchError> {
        let text = validate_text(text)?;
        let line = IrcMessage::new("PRIVMSG", &[&format!("#{}", self.channel), &text])
            .with_tag("reply-parent-msg-id", parent_id)
            .to_line();
        self.enqueue(line).await
    }

    async fn enqueue(&self, line: String) -> Result<(), TwitchError> {
        let (ack, done) = oneshot::channel();
        self.commands
            .send(Command::Say(Outgoing { line, ack }))
            .await
            .map_err(|_| TwitchError::Closed)?;
        done.await.map_err(|_| TwitchError::Closed)?
    }
}

/// Checks and cleans chat text: CR/LF → space, trimmed, 1..=500 characters.
pub(crate) fn validate_text(text: &str) -> Result<String, TwitchError> {
    let clean = text.replace(['\r', '\n'], " ").trim().to_owned();
    if clean.is_empty() {
        return Err(TwitchError::Rejected {
            status: 0,
            code: "empty_message".to_owned(),
            message: "the chat message is empty".to_owned(),
        });
    }
    let chars = clean.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(TwitchError::Rejected {
            status: 0,
            code: "message_too_long".to_owned(),
            message: format!("{chars} characters; Twitch allows {MAX_MESSAGE_CHARS}"),
        });
    }
    Ok(clean)
}

/// One live chat connection. Also a `Stream` of [`ChatEvent`]s.
pub struct ChatConnection {
    events: mpsc::Receiver<ChatEvent>,
    sender: ChatSender,
    task: JoinHandle<()>,
}

impl fmt::Debug for ChatConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatConnection")
            .field("channel", &self.sender.channel)
            .finish()
    }
}

impl ChatConnection {
    /// Connects, logs in and joins; fails fast (`Unauthorized` for a refused token, `Transient`
    /// for network trouble or a timeout) so the caller learns about bad credentials at once.
    /// From then on reconnects are automatic. The first event is `Joined { session: 1 }`.
    pub async fn connect(
        config: ChatConfig,
        credentials: ChatCredentials,
    ) -> Result<Self, TwitchError> {
        let (socket, leftover) = establish(&config, &credentials).await?;
        let (events_tx, events) = mpsc::channel(config.event_buffer.max(1));
        let (commands_tx, commands) = mpsc::channel(config.max_queued.max(1));
        let sender = ChatSender {
            channel: config.channel.clone(),
            commands: commands_tx,
        };
        let _ = events_tx
            .send(ChatEvent::Joined {
                channel: config.channel.clone(),
                session: 1,
            })
            .await;
        let runner = Runner {
            pacer: SendPacer::new(config.pacer),
            backoff: ReconnectBackoff::new(config.backoff),
            config,
            credentials,
            events: events_tx,
            commands,
            outbox: VecDeque::new(),
            sessions: 1,
        };
        let task = tokio::spawn(runner.run(socket, leftover));
        Ok(Self {
            events,
            sender,
            task,
        })
    }

    /// The next event; `None` after `Disconnected`.
    pub async fn next_event(&mut self) -> Option<ChatEvent> {
        self.events.recv().await
    }

    /// A handle to send with (cloneable, usable from other tasks).
    pub fn sender(&self) -> ChatSender {
        self.sender.clone()
    }

    /// `sender().say(text)`.
    pub async fn say(&self, text: &str) -> Result<(), TwitchError> {
        self.sender.say(text).await
    }

    /// Closes the socket, fails queued messages with `Closed`, and waits for the task to end.
    /// Events not yet read are dropped.
    pub async fn close(self) {
        let _ = self.sender.commands.send(Command::Close).await;
        drop(self.events);
        let _ = self.task.await;
    }
}

impl Stream for ChatConnection {
    type Item = ChatEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ChatEvent>> {
        self.events.poll_recv(cx)
    }
}

/// How one socket's life ended.
enum SessionEnd {
    Closed,
    Lost(ReconnectReason),
    LoginFailed(String),
}

/// The background task's state.
struct Runner {
    config: ChatConfig,
    credentials: ChatCredentials,
    events: mpsc::Sender<ChatEvent>,
    commands: mpsc::Receiver<Command>,
    pacer: SendPacer,
    backoff: ReconnectBackoff,
    outbox: VecDeque<Outgoing>,
    sessions: u32,
}

impl Runner {
    async fn run(mut self, mut socket: Socket, mut leftover: Vec<String>) {
        loop {
            let end = self.drive(&mut socket, std::mem::take(&mut leftover)).await;
            // Best effort: a dead socket cannot be closed politely, and must not hang us.
            let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
            let mut reason = match end {
                SessionEnd::Closed => return self.finish(DisconnectReason::Closed).await,
                SessionEnd::LoginFailed(text) => {
                    return self.finish(DisconnectReason::LoginFailed(text)).await
                }
                SessionEnd::Lost(reason) => reason,
            };
            loop {
                if let Some(max) = self.config.max_reconnect_attempts {
                    if self.backoff.attempt() >= max {
                        let attempts = self.backoff.attempt();
                        return self
                            .finish(DisconnectReason::GaveUp {
                                attempts,
                                last: reason,
                            })
                            .await;
                    }
                }
                let delay = self.backoff.next_delay();
                tracing::info!(channel = %self.config.channel, ?reason, ?delay, "Twitch chat reconnecting");
                let attempt = self.backoff.attempt();
                if !self
                    .emit(ChatEvent::Reconnecting {
                        reason: reason.clone(),
                        attempt,
                        delay,
                    })
                    .await
                    || self.wait_or_close(delay).await
                {
                    return self.finish(DisconnectReason::Closed).await;
                }
                match establish(&self.config, &self.credentials).await {
                    Ok((fresh, lines)) => {
                        socket = fresh;
                        leftover = lines;
                        self.backoff.reset();
                        self.sessions += 1;
                        let joined = ChatEvent::Joined {
                            channel: self.config.channel.clone(),
                            session: self.sessions,
                        };
                        if !self.emit(joined).await {
                            return self.finish(DisconnectReason::Closed).await;
                        }
                        break;
                    }
                    Err(TwitchError::Unauthorized(text)) => {
                        return self.finish(DisconnectReason::LoginFailed(text)).await
                    }
                    Err(error) => reason = ReconnectReason::ConnectFailed(error.to_string()),
                }
            }
        }
    }

    /// Reads, answers and sends on one socket until it ends.
    async fn drive(&mut self, socket: &mut Socket, leftover: Vec<String>) -> SessionEnd {
        for line in leftover {
            if let Some(end) = self.handle_line(socket, &line).await {
                return end;
            }
        }
        let mut last_traffic = Instant::now();
        loop {
            // Send whatever the pacer allows right now before waiting on anything.
            while !self.outbox.is_empty() && self.pacer.try_acquire(Instant::now()).is_ok() {
                if let Some(end) = self.send_next(socket).await {
                    return end;
                }
            }
            let send_at = (!self.outbox.is_empty()).then(|| self.pacer.next_slot(Instant::now()));
            let idle_at = last_traffic + self.config.idle_timeout;
            tokio::select! {
                frame = socket.next() => {
                    last_traffic = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            for line in lines(text.as_str()) {
                                if let Some(end) = self.handle_line(socket, line).await {
                                    return end;
                                }
                            }
                        }
                        Some(Ok(Message::Close(_))) | None => {
                            return SessionEnd::Lost(ReconnectReason::SocketClosed)
                        }
                        // WebSocket pings are answered by tungstenite; binary frames are not IRC.
                        Some(Ok(_)) => {}
                        Some(Err(error)) => {
                            return SessionEnd::Lost(ReconnectReason::SocketError(error.to_string()))
                        }
                    }
                }
                command = self.commands.recv() => match command {
                    Some(Command::Say(outgoing)) => self.outbox.push_back(outgoing),
                    Some(Command::Close) | None => return SessionEnd::Closed,
                },
                // The slot has come: the loop's head sends.
                () = sleep_until(send_at.unwrap_or(idle_at)), if send_at.is_some() => {}
                () = sleep_until(idle_at) => return SessionEnd::Lost(ReconnectReason::Idle),
                // The `ChatConnection` was dropped: nobody reads events, so stop even if some
                // `ChatSender` clone is still alive.
                () = self.events.closed() => return SessionEnd::Closed,
            }
        }
    }

    /// Writes the head of the outbox (a pacer token is already spent); `Some` ends the session.
    async fn send_next(&mut self, socket: &mut Socket) -> Option<SessionEnd> {
        let outgoing = self.outbox.pop_front()?;
        match socket
            .send(Message::Text(outgoing.line.clone().into()))
            .await
        {
            Ok(()) => {
                let _ = outgoing.ack.send(Ok(()));
                None
            }
            Err(error) => {
                // Unknown whether it left: keep it for the next socket rather than lose a reply
                // (a rare duplicate beats a silent drop).
                self.outbox.push_front(outgoing);
                Some(SessionEnd::Lost(ReconnectReason::SocketError(
                    error.to_string(),
                )))
            }
        }
    }

    /// Handles one server line; `Some` ends the session.
    async fn handle_line(&mut self, socket: &mut Socket, line: &str) -> Option<SessionEnd> {
        let message = match IrcMessage::parse(line) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, "unparseable Twitch IRC line ignored");
                return None;
            }
        };
        match message.command.as_str() {
            "PING" => {
                let pong =
                    IrcMessage::new("PONG", &[message.trailing().unwrap_or("tmi.twitch.tv")]);
                if let Err(error) = socket.send(Message::Text(pong.to_line().into())).await {
                    return Some(SessionEnd::Lost(ReconnectReason::SocketError(
                        error.to_string(),
                    )));
                }
            }
            "RECONNECT" => return Some(SessionEnd::Lost(ReconnectReason::ServerRequested)),
            "PRIVMSG" => {
                if let Some(chat) = ChatMessage::from_irc(&message) {
                    if !self.emit(ChatEvent::Message(chat)).await {
                        return Some(SessionEnd::Closed);
                    }
                }
            }
            "NOTICE" => {
                let text = message.trailing().unwrap_or_default().to_owned();
                if is_login_failure(&text) {
                    return Some(SessionEnd::LoginFailed(text));
                }
                let notice = ChatEvent::Notice {
                    msg_id: message.tag("msg-id").map(str::to_owned),
                    text,
                };
                if !self.emit(notice).await {
                    return Some(SessionEnd::Closed);
                }
            }
            _ => {}
        }
        None
    }

    /// Waits `delay` while taking `say`s into the outbox; true if asked to close meanwhile.
    async fn wait_or_close(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                () = sleep_until(until) => return false,
                command = self.commands.recv() => match command {
                    Some(Command::Say(outgoing)) => self.outbox.push_back(outgoing),
                    Some(Command::Close) | None => return true,
                },
                () = self.events.closed() => return true,
            }
        }
    }

    /// Delivers an event; false when nobody listens any more (the connection was dropped).
    async fn emit(&self, event: ChatEvent) -> bool {
        self.events.send(event).await.is_ok()
    }

    async fn finish(mut self, reason: DisconnectReason) {
        tracing::info!(channel = %self.config.channel, ?reason, "Twitch chat connection ended");
        self.commands.close();
        while let Ok(Command::Say(outgoing)) = self.commands.try_recv() {
            self.outbox.push_back(outgoing);
        }
        for outgoing in self.outbox.drain(..) {
            let _ = outgoing.ack.send(Err(TwitchError::Closed));
        }
        let _ = self.events.send(ChatEvent::Disconnected { reason }).await;
    }
}

/// `NOTICE * :Login authentication failed` / `:Improperly formatted auth` (platforms.md §2.1).
fn is_login_failure(text: &str) -> bool {
    text.contains("Login authentication failed") || text.contains("Improperly formatted auth")
}

/// Connects, logs in and joins; returns the socket and any lines that followed the JOIN echo in
/// the same frame (they must not be lost).
async fn establish(
    config: &ChatConfig,
    credentials: &ChatCredentials,
) -> Result<(Socket, Vec<String>), TwitchError> {
    let deadline = Instant::now() + config.login_timeout;
    let (mut socket, _) = timeout_at(
        deadline,
        tokio_tungstenite::connect_async(config.url.as_str()),
    )
    .await
    .map_err(|_| TwitchError::Transient("connecting to Twitch chat timed out".to_owned()))?
    .map_err(|e| TwitchError::Transient(format!("connecting to Twitch chat failed: {e}")))?;
    let login = [
        IrcMessage::new("CAP", &["REQ", CAPABILITIES]).to_line(),
        format!("PASS oauth:{}", credentials.token),
        IrcMessage::new("NICK", &[credentials.login()]).to_line(),
    ];
    for line in login {
        send_line(&mut socket, line).await?;
    }
    expect(&mut socket, deadline, |message| message.command == "001").await?;
    send_line(
        &mut socket,
        IrcMessage::new("JOIN", &[&format!("#{}", config.channel)]).to_line(),
    )
    .await?;
    let channel = format!("#{}", config.channel);
    let leftover = expect(&mut socket, deadline, |message| {
        message.command == "JOIN"
            && message.nick() == Some(credentials.login())
            && message.param(0) == Some(channel.as_str())
    })
    .await?;
    Ok((socket, leftover))
}

async fn send_line(socket: &mut Socket, line: String) -> Result<(), TwitchError> {
    socket
        .send(Message::Text(line.into()))
        .await
        .map_err(|e| TwitchError::Transient(format!("writing to Twitch chat failed: {e}")))
}

/// Reads until a line satisfies `done` (answering PINGs, failing on a login NOTICE); returns the
/// lines after it in the same frame.
async fn expect(
    socket: &mut Socket,
    deadline: Instant,
    done: impl Fn(&IrcMessage) -> bool,
) -> Result<Vec<String>, TwitchError> {
    loop {
        let frame = timeout_at(deadline, socket.next())
            .await
            .map_err(|_| TwitchError::Transient("Twitch chat login timed out".to_owned()))?;
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => {
                return Err(TwitchError::Transient(
                    "Twitch chat closed the socket during login".to_owned(),
                ))
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(TwitchError::Transient(format!("Twitch chat: {e}"))),
        };
        let all: Vec<&str> = lines(text.as_str()).collect();
        for (i, line) in all.iter().enumerate() {
            let Ok(message) = IrcMessage::parse(line) else {
                continue;
            };
            if message.command == "NOTICE" && is_login_failure(message.trailing().unwrap_or("")) {
                return Err(TwitchError::Unauthorized(
                    message.trailing().unwrap_or_default().to_owned(),
                ));
            }
            if message.command == "PING" {
                let pong =
                    IrcMessage::new("PONG", &[message.trailing().unwrap_or("tmi.twitch.tv")]);
                send_line(socket, pong.to_line()).await?;
            }
            if done(&message) {
                return Ok(all[i + 1..].iter().map(|l| (*l).to_owned()).collect());
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_is_cleaned_and_bounded() {
        assert_eq!(
            validate_text(" hi\r\nPRIVMSG #other :spam ").unwrap(),
            "hi  PRIVMSG #other :spam"
        );
        assert!(matches!(
            validate_text(" \n "),
            Err(TwitchError::Rejected { ref code, .. }) if code == "empty_message"
        ));
        assert!(
            validate_text(&"é".repeat(500)).is_ok(),
            "500 characters, not bytes"
        );
        assert!(matches!(
            validate_text(&"a".repeat(501)),
            Err(TwitchError::Rejected { status: 0, ref code, .. }) if code == "message_too_long"
        ));
    }

    #[test]
    fn credentials_hide_the_token_and_normalise() {
        let credentials = ChatCredentials::new(" LeadBot ", "oauth:s3cret");
        assert_eq!(credentials.login(), "leadbot");
        assert_eq!(credentials.token, "s3cret");
        assert!(!format!("{credentials:?}").contains("s3cret"));
        assert_eq!(ChatConfig::new("ws://x", "#MyChannel").channel, "mychannel");
    }
}
