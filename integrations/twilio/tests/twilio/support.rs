//! Shared helpers: a client on the fake, a loopback webhook receiver, a media-stream echo
//! server, and the vector file.

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use futures::{SinkExt, StreamExt};
use leadline_twilio::fake::FakeTwilio;
use leadline_twilio::media_stream::{Inbound, Outbound};
use leadline_twilio::Client;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// A client on the fake with its credentials.
pub fn client(fake: &FakeTwilio) -> Client {
    fake.settings().client(reqwest::Client::new()).unwrap()
}

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A loopback endpoint that accepts every POST under `/hooks/…`, answers `reply` as TwiML and
/// hands the delivery to the test.
pub struct Sink {
    pub base: String,
    received: mpsc::UnboundedReceiver<Delivery>,
}

impl Sink {
    pub async fn start(reply: &'static str) -> Sink {
        let (tx, received) = mpsc::unbounded_channel();
        let router = Router::new()
            .route(
                "/hooks/{name}",
                post(
                    move |State(tx): State<mpsc::UnboundedSender<Delivery>>,
                          uri: axum::http::Uri,
                          headers: HeaderMap,
                          body: Bytes| async move {
                        let _ = tx.send(Delivery {
                            path: uri.to_string(),
                            headers,
                            body,
                        });
                        ([("content-type", "text/xml")], reply)
                    },
                ),
            )
            .with_state(tx);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Sink {
            base: format!("http://{addr}"),
            received,
        }
    }

    pub fn url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base)
    }

    /// The next delivery, failing the test after 5 s.
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("a webhook within 5 s")
            .expect("the sink is running")
    }
}

/// What the echo server saw.
#[derive(Debug, Default, Clone)]
pub struct EchoLog {
    pub inbound: Vec<Inbound>,
}

/// A tiny bridge stand-in: a WebSocket server that echoes every `media` payload back as an
/// outbound `media` (re-wrapped, not re-encoded), sends a `mark` after each, a `clear` on
/// `dtmf`, and reports every inbound message once the stream stops.
pub async fn echo_server() -> (String, tokio::sync::oneshot::Receiver<EchoLog>) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (done, log) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let mut seen = EchoLog::default();
        let mut stream_sid = String::new();
        while let Some(Ok(message)) = ws.next().await {
            let Message::Text(text) = message else {
                continue;
            };
            let inbound = Inbound::parse(text.as_str()).unwrap();
            seen.inbound.push(inbound.clone());
            match inbound {
                Inbound::Start {
                    stream_sid: sid, ..
                } => stream_sid = sid,
                Inbound::Media { media, .. } => {
                    let out = Outbound::media_base64(&stream_sid, media.payload.clone());
                    ws.send(Message::text(out.to_json())).await.unwrap();
                    let mark = Outbound::mark(&stream_sid, &format!("chunk-{}", media.chunk));
                    ws.send(Message::text(mark.to_json())).await.unwrap();
                }
                Inbound::Dtmf { .. } => {
                    ws.send(Message::text(Outbound::clear(&stream_sid).to_json()))
                        .await
                        .unwrap();
                }
                Inbound::Stop { .. } => break,
                _ => {}
            }
        }
        let _ = done.send(seen);
    });
    (format!("ws://{addr}/media"), log)
}

/// `shared/vectors/<name>`: looked for beside every ancestor of the crate, so it is found from
/// the main checkout, a worktree, or CI's clone with `shared/` beside it. Missing fails the test.
pub fn vector_file(name: &str) -> String {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for dir in manifest.ancestors() {
        let path = dir.join("shared").join("vectors").join(name);
        if let Ok(text) = std::fs::read_to_string(&path) {
            return text;
        }
    }
    panic!(
        "shared/vectors/{name} must exist beside an ancestor of {}",
        manifest.display()
    );
}

/// A header map with one `X-Twilio-Signature`.
pub fn signed(signature: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("x-twilio-signature", signature.parse().unwrap());
    headers
}

/// The form body of `params`, encoded as Twilio posts it.
/// (`application/x-www-form-urlencoded`, spaces as `+`, as reqwest's `.form` writes it).
pub fn form_body(params: &[(String, String)]) -> Vec<u8> {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out.into_bytes()
}

fn encode(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Pairs from string slices.
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}
