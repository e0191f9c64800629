//! The fake's Media Streams half: Twilio's side of a `<Connect><Stream>`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::stream::{SplitSink, StreamExt};
use futures::SinkExt;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::media_stream::{
    encode_payload, Dtmf, Inbound, Mark, MediaFormat, MediaPayload, Outbound, StartInfo, StopInfo,
    FRAME_BYTES, FRAME_MS,
};

use super::{FakeTwilio, WebhookError};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Sink = Arc<tokio::sync::Mutex<SplitSink<Socket, Message>>>;

/// The `<Connect><Stream>` of a TwiML answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTwiml {
    /// `url`, unescaped.
    pub url: String,
    /// The `<Parameter>`s, unescaped.
    pub parameters: BTreeMap<String, String>,
}

fn unescape(value: &str) -> String {
    value
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The value of attribute `name` in the tag text `tag` (`<Stream url="…" name="…">`).
fn attribute(tag: &str, name: &str) -> Option<String> {
    for quote in ['"', '\''] {
        let needle = format!(" {name}={quote}");
        if let Some(start) = tag.find(&needle) {
            let value = &tag[start + needle.len()..];
            let end = value.find(quote)?;
            return Some(unescape(&value[..end]));
        }
    }
    None
}

/// Reads the `<Connect><Stream url>` and its `<Parameter>`s out of a TwiML answer, as Twilio
/// does before opening the stream. `None` when the TwiML opens no stream.
pub fn parse_stream_twiml(xml: &str) -> Option<StreamTwiml> {
    let connect = xml.find("<Connect")?;
    let stream_start = connect + xml[connect..].find("<Stream")?;
    let stream_tag_end = stream_start + xml[stream_start..].find('>')?;
    let url = attribute(&xml[stream_start..stream_tag_end], "url")?;
    let body_end = xml[stream_tag_end..]
        .find("</Stream>")
        .map(|i| stream_tag_end + i)
        .unwrap_or(stream_tag_end);
    let mut parameters = BTreeMap::new();
    let mut rest = &xml[stream_tag_end..body_end];
    while let Some(start) = rest.find("<Parameter") {
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + end];
        if let (Some(name), Some(value)) = (attribute(tag, "name"), attribute(tag, "value")) {
            parameters.insert(name, value);
        }
        rest = &rest[start + end..];
    }
    Some(StreamTwiml { url, parameters })
}

#[derive(Default)]
struct Received {
    messages: Vec<Outbound>,
    raw: Vec<String>,
}

/// Twilio's side of one Media Stream, connected to the server under test. Every message the
/// server sends is recorded; marks are echoed back as Twilio does once the audio before them
/// was played (here: at once).
pub struct MediaStreamClient {
    account_sid: String,
    call_sid: String,
    stream_sid: String,
    sink: Sink,
    received: Arc<Mutex<Received>>,
    notify: Arc<Notify>,
    closed: Arc<AtomicBool>,
    sequence: u64,
    chunk: u64,
    timestamp_ms: u64,
    reader: JoinHandle<()>,
}

impl Drop for MediaStreamClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl FakeTwilio {
    /// Opens the stream of call `call_sid` to `ws_url` as Twilio does for `<Connect><Stream>`:
    /// `connected`, then `start` with `custom_parameters` (the TwiML's `<Parameter>`s) and
    /// μ-law 8 kHz mono.
    pub async fn connect_media_stream(
        &self,
        ws_url: &str,
        call_sid: &str,
        custom_parameters: BTreeMap<String, String>,
    ) -> Result<MediaStreamClient, WebhookError> {
        let stream_sid = self.shared.lock().new_sid("MZ");
        MediaStreamClient::connect(
            ws_url,
            &self.shared.account_sid,
            call_sid,
            &stream_sid,
            custom_parameters,
        )
        .await
    }
}

impl MediaStreamClient {
    async fn connect(
        ws_url: &str,
        account_sid: &str,
        call_sid: &str,
        stream_sid: &str,
        custom_parameters: BTreeMap<String, String>,
    ) -> Result<MediaStreamClient, WebhookError> {
        let (socket, _) = tokio_tungstenite::connect_async(ws_url)
            .await
            .map_err(|e| WebhookError::WebSocket(e.to_string()))?;
        let (sink, mut stream) = socket.split();
        let sink: Sink = Arc::new(tokio::sync::Mutex::new(sink));
        let received = Arc::new(Mutex::new(Received::default()));
        let notify = Arc::new(Notify::new());
        let closed = Arc::new(AtomicBool::new(false));
        let reader = {
            let sink = sink.clone();
            let received = received.clone();
            let notify = notify.clone();
            let closed = closed.clone();
            let stream_sid = stream_sid.to_owned();
            tokio::spawn(async move {
                while let Some(Ok(message)) = stream.next().await {
                    let text = match message {
                        Message::Text(text) => text.as_str().to_owned(),
                        Message::Close(_) => break,
                        _ => continue,
                    };
                    let parsed = Outbound::parse(&text).unwrap_or(Outbound::Unknown);
                    if let Outbound::Mark { mark, .. } = &parsed {
                        let echo = Inbound::Mark {
                            sequence_number: String::new(),
                            stream_sid: stream_sid.clone(),
                            mark: mark.clone(),
                        };
                        let _ = sink.lock().await.send(Message::text(echo.to_json())).await;
                    }
                    {
                        let mut got = received.lock().unwrap_or_else(|p| p.into_inner());
                        got.messages.push(parsed);
                        got.raw.push(text);
                    }
                    notify.notify_waiters();
                }
                closed.store(true, Ordering::SeqCst);
                notify.notify_waiters();
            })
        };
        let mut client = MediaStreamClient {
            account_sid: account_sid.to_owned(),
            call_sid: call_sid.to_owned(),
            stream_sid: stream_sid.to_owned(),
            sink,
            received,
            notify,
            closed,
            sequence: 0,
            chunk: 0,
            timestamp_ms: 0,
            reader,
        };
        client
            .send(Inbound::Connected {
                protocol: "Call".to_owned(),
                version: "1.0.0".to_owned(),
            })
            .await?;
        let start = Inbound::Start {
            sequence_number: client.next_sequence(),
            stream_sid: stream_sid.to_owned(),
            start: StartInfo {
                account_sid: account_sid.to_owned(),
                stream_sid: stream_sid.to_owned(),
                call_sid: call_sid.to_owned(),
                tracks: vec!["inbound".to_owned()],
                custom_parameters,
                media_format: MediaFormat::default(),
            },
        };
        client.send(start).await?;
        Ok(client)
    }

    fn next_sequence(&mut self) -> String {
        self.sequence += 1;
        self.sequence.to_string()
    }

    async fn send(&mut self, message: Inbound) -> Result<(), WebhookError> {
        self.send_text(message.to_json()).await
    }

    /// Sends a raw text frame (a malformed message, a future event).
    pub async fn send_text(&mut self, text: String) -> Result<(), WebhookError> {
        self.sink
            .lock()
            .await
            .send(Message::text(text))
            .await
            .map_err(|e| WebhookError::WebSocket(e.to_string()))
    }

    /// `MZ…` of this stream.
    pub fn stream_sid(&self) -> &str {
        &self.stream_sid
    }

    /// `CA…` of its call.
    pub fn call_sid(&self) -> &str {
        &self.call_sid
    }

    /// Sends `mulaw` as the caller's audio: 160-byte (20 ms) `media` frames, the last one
    /// shorter if the length is not a multiple, with running `chunk` and `timestamp`.
    pub async fn send_audio(&mut self, mulaw: &[u8]) -> Result<(), WebhookError> {
        self.send_frames(mulaw, false).await
    }

    /// Like [`Self::send_audio`], one frame every 20 ms as a live call does.
    pub async fn send_audio_paced(&mut self, mulaw: &[u8]) -> Result<(), WebhookError> {
        self.send_frames(mulaw, true).await
    }

    async fn send_frames(&mut self, mulaw: &[u8], paced: bool) -> Result<(), WebhookError> {
        let mut ticker = tokio::time::interval(Duration::from_millis(FRAME_MS));
        for frame in mulaw.chunks(FRAME_BYTES) {
            if paced {
                ticker.tick().await;
            }
            self.chunk += 1;
            let message = Inbound::Media {
                sequence_number: self.next_sequence(),
                stream_sid: self.stream_sid.clone(),
                media: MediaPayload {
                    track: "inbound".to_owned(),
                    chunk: self.chunk.to_string(),
                    timestamp: self.timestamp_ms.to_string(),
                    payload: encode_payload(frame),
                },
            };
            self.timestamp_ms += FRAME_MS;
            self.send(message).await?;
        }
        Ok(())
    }

    /// Sends a `mark` (as Twilio echoes one).
    pub async fn send_mark(&mut self, name: &str) -> Result<(), WebhookError> {
        let message = Inbound::Mark {
            sequence_number: self.next_sequence(),
            stream_sid: self.stream_sid.clone(),
            mark: Mark {
                name: name.to_owned(),
            },
        };
        self.send(message).await
    }

    /// The caller pressed `digit`.
    pub async fn send_dtmf(&mut self, digit: &str) -> Result<(), WebhookError> {
        let message = Inbound::Dtmf {
            sequence_number: self.next_sequence(),
            stream_sid: self.stream_sid.clone(),
            dtmf: Dtmf {
                track: "inbound_track".to_owned(),
                digit: digit.to_owned(),
            },
        };
        self.send(message).await
    }

    /// The call ended: `stop`, then the socket is closed.
    pub async fn stop(&mut self) -> Result<(), WebhookError> {
        let message = Inbound::Stop {
            sequence_number: self.next_sequence(),
            stream_sid: self.stream_sid.clone(),
            stop: StopInfo {
                account_sid: self.account_sid.clone(),
                call_sid: self.call_sid.clone(),
            },
        };
        self.send(message).await?;
        let mut sink = self.sink.lock().await;
        let _ = sink.send(Message::Close(None)).await;
        let _ = sink.close().await;
        Ok(())
    }

    /// Every message the server sent, parsed (unknown ones as `Outbound::Unknown`).
    pub fn received(&self) -> Vec<Outbound> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .messages
            .clone()
    }

    /// Every text frame the server sent, as received.
    pub fn received_raw(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .raw
            .clone()
    }

    /// The μ-law bytes of every `media` the server sent, concatenated (undecodable payloads are
    /// skipped: a test comparing bytes then fails).
    pub fn received_audio(&self) -> Vec<u8> {
        audio_of(&self.received())
    }

    /// How many `clear`s the server sent.
    pub fn clears(&self) -> usize {
        self.received()
            .iter()
            .filter(|m| matches!(m, Outbound::Clear { .. }))
            .count()
    }

    /// The names of the `mark`s the server sent.
    pub fn marks(&self) -> Vec<String> {
        self.received()
            .iter()
            .filter_map(|m| match m {
                Outbound::Mark { mark, .. } => Some(mark.name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Whether the server closed the socket.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Waits until `done` holds for the messages received so far, or `timeout`.
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[Outbound]) -> bool,
    ) -> Result<Vec<Outbound>, WebhookError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            let messages = self.received();
            if done(&messages) {
                return Ok(messages);
            }
            if self.is_closed() {
                return Err(WebhookError::Timeout(
                    "the server closed the stream first".to_owned(),
                ));
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(WebhookError::Timeout(format!(
                    "{} messages received in {timeout:?}",
                    messages.len()
                )));
            }
        }
    }

    /// Waits until at least `bytes` of audio arrived, and returns all of it.
    pub async fn wait_for_audio(
        &self,
        bytes: usize,
        timeout: Duration,
    ) -> Result<Vec<u8>, WebhookError> {
        let messages = self
            .wait_until(timeout, |m| audio_of(m).len() >= bytes)
            .await?;
        Ok(audio_of(&messages))
    }
}

fn audio_of(messages: &[Outbound]) -> Vec<u8> {
    messages
        .iter()
        .filter_map(|m| match m {
            Outbound::Media { media, .. } => {
                crate::media_stream::decode_payload(&media.payload).ok()
            }
            _ => None,
        })
        .flatten()
        .collect()
}
