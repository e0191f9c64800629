//! Loopback fakes of Twitch (feature `fake`) for this crate's tests and the api's end-to-end
//! tests: `FakeIrc` (chat over WebSocket, point `TWITCH_IRC_URL` at `url()`), `FakeHelix`
//! (point `TWITCH_API_BASE` at `base_url()`), and `eventsub` builders of correctly signed
//! webhook deliveries.
//!
//! Each server binds `127.0.0.1:0`, speaks the wire format of platforms.md §2, records what it
//! received (with tokio-clock times, exact under `tokio::time::pause`), and can be told to fail.
//! Not for production: it trusts its caller, keeps everything in memory, and stops when dropped.

pub mod eventsub;
pub mod helix;
pub mod irc;

use std::sync::{Mutex, MutexGuard};

pub use helix::FakeHelix;
pub use irc::FakeIrc;

/// Locks, ignoring poisoning: a panicking test must not turn every later request into a panic.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Serves `router` on `127.0.0.1:0` until the returned sender fires or is dropped.
pub(crate) async fn serve(
    router: axum::Router,
) -> std::io::Result<(std::net::SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stop.await;
            })
            .await;
        if let Err(error) = served {
            tracing::warn!(%error, "fake Twitch server stopped with an error");
        }
    });
    Ok((addr, shutdown))
}
