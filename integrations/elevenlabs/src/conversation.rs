//! One live conversation with an ElevenLabs agent over its WebSocket (platforms.md §7): open
//! it, send the `conversation_initiation_client_data` frame first, wait for
//! `conversation_initiation_metadata`, then hand out a [`ConversationSender`] and a
//! [`ConversationReceiver`] so the bridge's two directions run independently.
//!
//! Design choices, and why:
//!
//! - **Writer task.** Every outgoing frame goes through a bounded channel to one task that owns
//!   the socket's write half. The sender is therefore `Clone` (the Twilio side, a tool runner
//!   and the receiver's pong can all send) and sending never holds a lock across a socket write.
//!   The bound gives back-pressure: a stalled agent slows the relay instead of growing memory.
//! - **Audio relay without re-encoding.** Twilio hands the bridge μ-law as base64 and an agent
//!   configured with `ulaw_8000` wants exactly those bytes as base64, so
//!   [`ConversationSender::send_audio_base64`] takes the `&str` as received and only checks it
//!   is base64 text (so it can go between JSON quotes unescaped); the frame is built by
//!   concatenation. Agent audio comes back as the `audio_base_64` string, untouched.
//! - **Pings.** By default the receiver answers every `ping` with its `pong` itself (through the
//!   same writer), because a missed pong ends the conversation and the bridge has nothing to
//!   decide about it; the `Ping` event is still yielded, for latency metrics. With
//!   [`ConversationOptions::answer_pings`] off, the caller must call
//!   [`ConversationSender::pong`].
//! - **Interruptions.** The receiver runs an [`AudioGate`]: after `interruption{event_id}` it
//!   drops `audio` with `event_id <=` that id, as ElevenLabs' SDK does, so late frames of the
//!   interrupted turn are never played. The `Interruption` event is yielded so the bridge sends
//!   Twilio `clear`. Turn [`ConversationOptions::gate_audio`] off to see every frame.
//! - **Tolerance.** Unknown event types are yielded as `ServerEvent::Unknown` (to be ignored);
//!   frames that cannot be read at all (non-JSON, a known type without its payload) are logged,
//!   counted and skipped — the conversation is worth more than one bad frame.

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine as _;
use futures::stream::{SplitStream, StreamExt};
use futures::SinkExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::Error;
use crate::models::{
    audio_frame, is_base64_text, ClientMessage, ConversationInitiation,
    ConversationInitiationMetadata, ServerEvent,
};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a conversation is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationOptions {
    /// Answer `ping` with `pong` inside the receiver (default `true`; see the module docs).
    pub answer_pings: bool,
    /// Drop audio of interrupted turns inside the receiver (default `true`).
    pub gate_audio: bool,
    /// How long opening the socket may take.
    pub connect_timeout: Duration,
    /// How long to wait for `conversation_initiation_metadata` after the init frame.
    pub metadata_timeout: Duration,
    /// How many outgoing frames may wait for the socket (20 ms audio frames: 256 ≈ 5 s).
    pub send_buffer: usize,
}

impl Default for ConversationOptions {
    fn default() -> Self {
        ConversationOptions {
            answer_pings: true,
            gate_audio: true,
            connect_timeout: Duration::from_secs(10),
            metadata_timeout: Duration::from_secs(10),
            send_buffer: 256,
        }
    }
}

/// ElevenLabs' interruption rule (the SDK's `last_interrupt_id`): once `interruption{event_id}`
/// arrived, `audio` with `event_id <= event_id` belongs to the interrupted turn and is dropped.
/// Ids only grow, so the highest interruption seen is kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AudioGate {
    last_interrupt_id: Option<u64>,
}

impl AudioGate {
    /// A gate that admits everything until the first interruption.
    pub fn new() -> Self {
        AudioGate::default()
    }

    /// Records an interruption.
    pub fn interrupt(&mut self, event_id: u64) {
        self.last_interrupt_id = Some(self.last_interrupt_id.map_or(event_id, |i| i.max(event_id)));
    }

    /// Whether audio with `event_id` should be played.
    pub fn admits(&self, event_id: u64) -> bool {
        self.last_interrupt_id.is_none_or(|last| event_id > last)
    }

    /// Feeds one event: records interruptions, and answers whether the event should be passed
    /// on (`false` only for audio of an interrupted turn).
    pub fn pass(&mut self, event: &ServerEvent) -> bool {
        match event {
            ServerEvent::Interruption { event_id } => {
                self.interrupt(*event_id);
                true
            }
            ServerEvent::Audio { event_id, .. } => self.admits(*event_id),
            _ => true,
        }
    }

    /// The highest interruption seen.
    pub fn last_interrupt_id(&self) -> Option<u64> {
        self.last_interrupt_id
    }
}

/// An open conversation: the metadata ElevenLabs answered, and the two halves.
#[derive(Debug)]
pub struct Conversation {
    metadata: ConversationInitiationMetadata,
    sender: ConversationSender,
    receiver: ConversationReceiver,
}

impl Conversation {
    /// `conversation_initiation_metadata`: id and audio formats.
    pub fn metadata(&self) -> &ConversationInitiationMetadata {
        &self.metadata
    }

    /// `conv_…`: the id post-call webhooks will carry.
    pub fn conversation_id(&self) -> &str {
        &self.metadata.conversation_id
    }

    /// The sending half (also reachable from the split).
    pub fn sender(&self) -> &ConversationSender {
        &self.sender
    }

    /// The receiving half, for a single-task caller.
    pub fn receiver(&mut self) -> &mut ConversationReceiver {
        &mut self.receiver
    }

    /// The two halves, to run each direction of a bridge on its own task.
    pub fn split(self) -> (ConversationSender, ConversationReceiver) {
        (self.sender, self.receiver)
    }
}

/// Opens the conversation at `url` (a signed URL from [`crate::Client::signed_url`], or a public
/// agent's [`crate::Client::public_conversation_url`]), sends `init` as the first frame, and
/// waits for `conversation_initiation_metadata`. Events that arrive before it are kept for the
/// receiver. A handshake refused with an HTTP status is classified like a REST answer; a socket
/// closed before the metadata is `Unavailable` for close codes 1011/1013 (server error, try
/// again later) and `Rejected` otherwise (close-code semantics are UNCONFIRMED; the code and
/// reason are in the message).
pub async fn connect(
    url: &str,
    init: &ConversationInitiation,
    options: ConversationOptions,
) -> Result<Conversation, Error> {
    let opened = tokio::time::timeout(
        options.connect_timeout,
        tokio_tungstenite::connect_async(url),
    )
    .await
    .map_err(|_| Error::Transport("opening the conversation WebSocket timed out".to_owned()))?;
    let (socket, _) = opened.map_err(Error::from_websocket)?;
    let (mut sink, mut stream) = socket.split();

    // The init frame goes out before the writer task exists, so nothing can overtake it.
    let init_frame = ClientMessage::ConversationInitiationClientData(init.clone()).to_json();
    sink.send(Message::text(init_frame))
        .await
        .map_err(Error::from_websocket)?;

    let mut pending = VecDeque::new();
    let mut malformed = 0;
    let metadata = tokio::time::timeout(options.metadata_timeout, async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => match ServerEvent::parse(text.as_str()) {
                    Ok(ServerEvent::ConversationInitiationMetadata(metadata)) => {
                        return Ok(metadata)
                    }
                    Ok(other) => pending.push_back(other),
                    Err(e) => {
                        malformed += 1;
                        tracing::warn!(error = %e, "skipping an unreadable ElevenLabs frame");
                    }
                },
                Some(Ok(Message::Close(frame))) => return Err(closed_early(frame)),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Error::from_websocket(e)),
                None => return Err(closed_early(None)),
            }
        }
    })
    .await
    .map_err(|_| {
        Error::Transport("no conversation_initiation_metadata before the timeout".to_owned())
    })??;

    let (tx, rx) = mpsc::channel(options.send_buffer.max(1));
    tokio::spawn(write_frames(sink, rx));
    let sender = ConversationSender { tx };
    let receiver = ConversationReceiver {
        stream,
        pending,
        pong: options.answer_pings.then(|| sender.clone()),
        gate: options.gate_audio.then(AudioGate::new),
        dropped_audio: 0,
        malformed,
        close: None,
        done: false,
    };
    Ok(Conversation {
        metadata,
        sender,
        receiver,
    })
}

fn closed_early(frame: Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> Error {
    let (code, reason) = frame
        .map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))
        .unwrap_or((1005, String::new()));
    let message = format!("conversation closed before it started ({code}: {reason})");
    match code {
        1011 | 1013 => Error::Unavailable { status: 0, message },
        _ => Error::Rejected { status: 0, message },
    }
}

/// The writer task: frames in channel order until the channel closes (every sender dropped) or
/// a `Close` is sent or the socket fails. Dropping the receiver of the channel is how senders
/// learn that the conversation is over.
async fn write_frames(
    mut sink: futures::stream::SplitSink<Socket, Message>,
    mut rx: mpsc::Receiver<Message>,
) {
    while let Some(message) = rx.recv().await {
        let closing = matches!(message, Message::Close(_));
        if let Err(e) = sink.send(message).await {
            tracing::debug!(error = %e, "ElevenLabs conversation write failed; stopping the writer");
            return;
        }
        if closing {
            break;
        }
    }
    let _ = sink.close().await;
}

/// The sending half of a conversation. Cheap to clone; every method fails with `Closed` once
/// the socket is gone.
#[derive(Debug, Clone)]
pub struct ConversationSender {
    tx: mpsc::Sender<Message>,
}

impl ConversationSender {
    async fn send_text(&self, text: String) -> Result<(), Error> {
        self.tx
            .send(Message::text(text))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Sends one `user_audio_chunk` whose payload is `base64` exactly as given (Twilio's
    /// `media.payload` for an agent on `ulaw_8000`): no decode, no re-encode. `Validation` when
    /// it is not base64 text.
    pub async fn send_audio_base64(&self, base64: &str) -> Result<(), Error> {
        if !is_base64_text(base64) {
            return Err(Error::Validation {
                message: "user_audio_chunk must be base64".to_owned(),
            });
        }
        self.send_text(audio_frame(base64)).await
    }

    /// Sends raw audio bytes (in the conversation's `user_input_audio_format`) as one
    /// `user_audio_chunk`, base64-encoding them.
    pub async fn send_audio(&self, bytes: &[u8]) -> Result<(), Error> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
        self.send_text(audio_frame(&encoded)).await
    }

    /// Answers a `ping` (only needed with [`ConversationOptions::answer_pings`] off).
    pub async fn pong(&self, event_id: u64) -> Result<(), Error> {
        self.send(&ClientMessage::Pong { event_id }).await
    }

    /// Answers a `client_tool_call` with the same `tool_call_id`.
    pub async fn client_tool_result(
        &self,
        tool_call_id: &str,
        result: impl Into<serde_json::Value>,
        is_error: bool,
    ) -> Result<(), Error> {
        self.send(&ClientMessage::ClientToolResult {
            tool_call_id: tool_call_id.to_owned(),
            result: result.into(),
            is_error,
        })
        .await
    }

    /// Sends text as if the user said it.
    pub async fn user_message(&self, text: &str) -> Result<(), Error> {
        self.send(&ClientMessage::UserMessage {
            text: text.to_owned(),
        })
        .await
    }

    /// Gives the agent context that needs no answer (the caller was put on hold…).
    pub async fn contextual_update(&self, text: &str) -> Result<(), Error> {
        self.send(&ClientMessage::ContextualUpdate {
            text: text.to_owned(),
        })
        .await
    }

    /// Tells the agent the user is active.
    pub async fn user_activity(&self) -> Result<(), Error> {
        self.send(&ClientMessage::UserActivity).await
    }

    /// Sends any client frame.
    pub async fn send(&self, message: &ClientMessage) -> Result<(), Error> {
        self.send_text(message.to_json()).await
    }

    /// Ends the conversation: a normal close frame after every frame already queued.
    pub async fn close(&self) -> Result<(), Error> {
        self.tx
            .send(Message::Close(None))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Whether the writer has stopped (socket closed or failed).
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The receiving half of a conversation.
pub struct ConversationReceiver {
    stream: SplitStream<Socket>,
    pending: VecDeque<ServerEvent>,
    pong: Option<ConversationSender>,
    gate: Option<AudioGate>,
    dropped_audio: u64,
    malformed: u64,
    close: Option<(u16, String)>,
    done: bool,
}

impl std::fmt::Debug for ConversationReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationReceiver")
            .field("pending", &self.pending.len())
            .field("answer_pings", &self.pong.is_some())
            .field("gate", &self.gate)
            .field("dropped_audio", &self.dropped_audio)
            .field("malformed", &self.malformed)
            .field("close", &self.close)
            .finish()
    }
}

impl ConversationReceiver {
    /// The next event; `Ok(None)` once the conversation closed normally. Pings are answered and
    /// interrupted audio dropped here unless turned off (see the module docs). A transport
    /// failure is returned once, then `Ok(None)`.
    pub async fn recv(&mut self) -> Result<Option<ServerEvent>, Error> {
        loop {
            let event = match self.pending.pop_front() {
                Some(event) => event,
                None => match self.next_frame().await? {
                    Some(event) => event,
                    None => return Ok(None),
                },
            };
            if let Some(gate) = &mut self.gate {
                if !gate.pass(&event) {
                    self.dropped_audio += 1;
                    continue;
                }
            }
            if let (ServerEvent::Ping { event_id, .. }, Some(pong)) = (&event, &self.pong) {
                // A pong that cannot be sent means the writer is gone; the next read says why.
                let _ = pong.pong(*event_id).await;
            }
            return Ok(Some(event));
        }
    }

    async fn next_frame(&mut self) -> Result<Option<ServerEvent>, Error> {
        while !self.done {
            match self.stream.next().await {
                Some(Ok(Message::Text(text))) => match ServerEvent::parse(text.as_str()) {
                    Ok(event) => return Ok(Some(event)),
                    Err(e) => {
                        self.malformed += 1;
                        tracing::warn!(error = %e, "skipping an unreadable ElevenLabs frame");
                    }
                },
                // Keep reading after a close: tungstenite sends its close reply from the next
                // read, and only then does the server see a clean shutdown.
                Some(Ok(Message::Close(frame))) => {
                    self.close = Some(
                        frame
                            .map(|f| (u16::from(f.code), f.reason.as_str().to_owned()))
                            .unwrap_or((u16::from(CloseCode::Status), String::new())),
                    );
                }
                // Binary frames are not part of the protocol; WebSocket pings are answered by
                // tungstenite itself.
                Some(Ok(_)) => {}
                // After a close frame, the end of the socket is the normal end.
                Some(Err(_)) if self.close.is_some() => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Err(Error::from_websocket(e));
                }
                None => self.done = true,
            }
        }
        Ok(None)
    }

    /// Audio events dropped by the gate so far.
    pub fn dropped_audio(&self) -> u64 {
        self.dropped_audio
    }

    /// Unreadable frames skipped so far.
    pub fn malformed_frames(&self) -> u64 {
        self.malformed
    }

    /// The close code and reason ElevenLabs sent, once it closed (for logs: their meaning is
    /// UNCONFIRMED).
    pub fn close_reason(&self) -> Option<&(u16, String)> {
        self.close.as_ref()
    }

    /// The receiver as a stream of events, ending when the conversation closes.
    pub fn into_stream(self) -> impl futures::Stream<Item = Result<ServerEvent, Error>> + Send {
        futures::stream::unfold(self, |mut receiver| async move {
            match receiver.recv().await {
                Ok(Some(event)) => Some((Ok(event), receiver)),
                Ok(None) => None,
                Err(e) => Some((Err(e), receiver)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_drops_audio_up_to_the_interruption() {
        let audio = |event_id| ServerEvent::Audio {
            audio_base_64: String::new(),
            event_id,
        };
        let mut gate = AudioGate::new();
        assert!(gate.pass(&audio(1)));
        assert!(gate.pass(&audio(7)));
        assert!(gate.pass(&ServerEvent::Interruption { event_id: 7 }));
        assert!(!gate.pass(&audio(6)));
        assert!(!gate.pass(&audio(7)));
        assert!(gate.pass(&audio(8)));
        // An older interruption arriving late does not reopen the gate.
        gate.interrupt(3);
        assert_eq!(gate.last_interrupt_id(), Some(7));
        assert!(!gate.admits(5));
    }
}
