//! Shared helpers: a client on the fake, the clock, the shared vectors, and a loopback webhook
//! route that runs the crate's `Receiver` as the api's route will.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use leadline_stripe::fake::FakeStripe;
use leadline_stripe::{Client, Event, Receiver, WebhookError};
use tokio::sync::mpsc;

/// A client on the fake with its key and a short timeout.
pub fn client(fake: &FakeStripe) -> Client {
    fake.settings()
        .client()
        .unwrap()
        .with_timeout(Duration::from_secs(2))
}

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The text of `shared/vectors/<name>`, found beside an ancestor of this crate.
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

type Outcome = Result<Event, WebhookError>;

/// A webhook route verifying with `secrets`: 200 and the event on success, 400 otherwise (as
/// Stripe's docs answer a signature failure).
pub struct WebhookSink {
    pub url: String,
    received: mpsc::UnboundedReceiver<Outcome>,
}

impl WebhookSink {
    pub async fn start(secrets: Vec<String>) -> WebhookSink {
        let receiver = Receiver::new(secrets).unwrap();
        let (tx, received) = mpsc::unbounded_channel();
        let router = Router::new()
            .route(
                "/api/webhooks/stripe",
                post(
                    move |State(tx): State<mpsc::UnboundedSender<Outcome>>,
                          headers: HeaderMap,
                          body: Bytes| async move {
                        let outcome = receiver.receive_headers(&headers, &body, now());
                        let status = if outcome.is_ok() {
                            StatusCode::OK
                        } else {
                            StatusCode::BAD_REQUEST
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
            url: format!("http://{addr}/api/webhooks/stripe"),
            received,
        }
    }

    pub async fn next(&mut self) -> Outcome {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("a webhook within 5 s")
            .expect("the sink is running")
    }
}
