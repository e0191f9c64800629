//! Shared helpers: a client on the fake, the clock, and a loopback webhook route that runs the
//! crate's `Receiver` as the api's route will.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use leadline_elevenlabs::fake::FakeElevenLabs;
use leadline_elevenlabs::{Client, PostCallEvent, Receiver, WebhookError};
use tokio::sync::mpsc;

/// A client on the fake with its key.
pub fn client(fake: &FakeElevenLabs) -> Client {
    fake.settings()
        .client(reqwest::Client::new())
        .unwrap()
        .with_timeout(Duration::from_millis(500))
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A webhook route verifying with `secret`: 200 and the event on success, 401 on a signature
/// problem, 400 on an undecodable body.
pub struct WebhookSink {
    pub url: String,
    received: mpsc::UnboundedReceiver<Result<PostCallEvent, WebhookError>>,
}

impl WebhookSink {
    pub async fn start(secret: &str) -> WebhookSink {
        let receiver = Receiver::new(secret).unwrap();
        let (tx, received) = mpsc::unbounded_channel();
        let router = Router::new()
            .route(
                "/api/webhook/elevenlabs",
                post(
                    move |State(tx): State<
                        mpsc::UnboundedSender<Result<PostCallEvent, WebhookError>>,
                    >,
                          headers: HeaderMap,
                          body: Bytes| async move {
                        let outcome = receiver.receive(&headers, &body, now());
                        let status = match &outcome {
                            Ok(_) => StatusCode::OK,
                            Err(WebhookError::Decode(_)) => StatusCode::BAD_REQUEST,
                            Err(_) => StatusCode::UNAUTHORIZED,
                        };
                        let _ = tx.send(outcome);
                        status
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
        WebhookSink {
            url: format!("http://{addr}/api/webhook/elevenlabs"),
            received,
        }
    }

    pub async fn next(&mut self) -> Result<PostCallEvent, WebhookError> {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("a webhook within 5 s")
            .expect("the sink is running")
    }
}
