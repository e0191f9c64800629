//! Shared helpers: a client on the fake, a loopback webhook receiver, and the vector file.

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use leadline_livekit::fake::FakeLiveKit;
use leadline_livekit::Client;
use tokio::sync::mpsc;

/// A client signing with the fake's credentials.
pub fn client(fake: &FakeLiveKit) -> Client {
    Client::new(
        reqwest::Client::new(),
        fake.base_url(),
        fake.credentials().clone(),
    )
    .unwrap()
}

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A loopback endpoint that accepts every POST (200) and hands it to the test.
pub struct Sink {
    pub url: String,
    received: mpsc::UnboundedReceiver<Delivery>,
}

impl Sink {
    pub async fn start() -> Sink {
        let (tx, received) = mpsc::unbounded_channel();
        let router = Router::new()
            .route(
                "/api/webhook/livekit",
                post(
                    |State(tx): State<mpsc::UnboundedSender<Delivery>>,
                     headers: HeaderMap,
                     body: Bytes| async move {
                        let _ = tx.send(Delivery { headers, body });
                        "ok"
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
            url: format!("http://{addr}/api/webhook/livekit"),
            received,
        }
    }

    /// The next delivery, failing the test after 5 s.
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(5), self.received.recv())
            .await
            .expect("a webhook within 5 s")
            .expect("the sink is running")
    }
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
