//! Loopback fakes of the Graph API (feature `fake`), for this crate's tests, for
//! `leadline-whatsapp`'s fake (built on [`GraphCore`]) and for the api's end-to-end tests (point
//! `META_API_BASE` at `base_url()`).
//!
//! The core is an axum server on `127.0.0.1:0` that:
//! - records every request (method, path, query, headers, JSON body, status answered);
//! - checks the access token (`Authorization: Bearer` or `access_token=`) and answers Graph's
//!   exact error envelope (`{"error":{"message","type","code","error_subcode","fbtrace_id"}}`);
//! - injects failures for the next N requests ([`Failure`]: 429 + `Retry-After`, 500, 401, bare
//!   404, any Graph error, delays that trip client timeouts, malformed 200 bodies);
//! - builds webhooks signed with `X-Hub-Signature-256` exactly as Graph does ([`SignedWebhook`]).
//!
//! Product fakes (`FakeMeta` here, `FakeWhatsApp` in leadline-whatsapp) add the routes, request
//! validation and realistic ids. Not for production: everything is in memory and the server
//! stops when the fake is dropped.

// Handlers return `Err(Response)` to answer early; boxing a test server's responses buys nothing.
#![allow(clippy::result_large_err)]

mod messenger;

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::signature;

pub use messenger::FakeMeta;

/// A failure to inject into the next request(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 with the product's throttling code, and `Retry-After: <secs>` when given.
    RateLimited {
        /// Value of the `Retry-After` header.
        retry_after_secs: Option<u64>,
    },
    /// HTTP 500 with the product's "unknown error" code.
    ServerError,
    /// HTTP 401, code 190 (invalid or expired token).
    Unauthorized,
    /// A bare HTTP 404 with a non-Graph body, as a misrouted proxy answers.
    NotFound,
    /// Any Graph error envelope with this status.
    GraphError {
        /// HTTP status.
        status: u16,
        /// `error.code`.
        code: i64,
        /// `error.error_subcode`.
        subcode: Option<i64>,
        /// `error.message`.
        message: String,
        /// `error.error_data.details`.
        details: Option<String>,
    },
    /// Wait this long, then answer normally (trips client timeouts).
    Delay(Duration),
    /// HTTP 200 with a body that is not JSON.
    MalformedBody,
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Headers, names lower-cased (repeated headers: the last value).
    pub headers: BTreeMap<String, String>,
    /// The body parsed as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
    /// The status answered; `None` while pending or if the client went away.
    pub status: Option<u16>,
}

impl RecordedRequest {
    /// A header's value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A webhook body and the headers Graph would send with it.
#[derive(Debug, Clone)]
pub struct SignedWebhook {
    /// `Content-Type: application/json` and `X-Hub-Signature-256: sha256=<hex>`.
    pub headers: http::HeaderMap,
    /// The exact bytes that were signed: post them unchanged.
    pub body: Vec<u8>,
    /// The id of the message the webhook carries (`mid` / `wamid`), when it carries one.
    pub message_id: Option<String>,
}

/// What differs between Graph products in the core's answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreConfig {
    /// The only access token accepted.
    pub access_token: String,
    /// The app secret webhooks are signed with.
    pub app_secret: String,
    /// Code of injected 429s (WhatsApp 130429; Messenger 613).
    pub throttle_code: i64,
    /// Message of injected 429s.
    pub throttle_message: &'static str,
    /// Code of injected 500s (WhatsApp 131000; Messenger 2).
    pub server_error_code: i64,
    /// Message of injected 500s.
    pub server_error_message: &'static str,
}

/// The state shared by a product fake's handlers and its test handle.
#[derive(Debug)]
pub struct GraphCore {
    config: CoreConfig,
    failures: Mutex<VecDeque<Failure>>,
    requests: Mutex<Vec<RecordedRequest>>,
    counter: AtomicU64,
}

/// Locks a mutex, ignoring poisoning: a panicking test thread must not turn every later request
/// into a second panic.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl GraphCore {
    /// A core with `config`.
    pub fn new(config: CoreConfig) -> Arc<Self> {
        Arc::new(Self {
            config,
            failures: Mutex::new(VecDeque::new()),
            requests: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
        })
    }

    /// The only access token accepted.
    pub fn access_token(&self) -> &str {
        &self.config.access_token
    }

    /// The app secret webhooks are signed with.
    pub fn app_secret(&self) -> &str {
        &self.config.app_secret
    }

    /// Injects `failure` into each of the next `n` requests (after any already queued).
    pub fn fail_next(&self, n: usize, failure: Failure) {
        lock(&self.failures).extend(std::iter::repeat_n(failure, n));
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    /// A fresh sequence number (for ids).
    pub fn next_id(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Records a request and applies the next injected failure. `Ok(index)`: go on and answer,
    /// then call [`GraphCore::finish`]. `Err(response)`: answer this (already recorded as
    /// answered).
    pub async fn intake(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<usize, Response> {
        let index = self.record(method, uri, headers, body);
        let failure = lock(&self.failures).pop_front();
        let response = match failure {
            None => return Ok(index),
            Some(Failure::Delay(delay)) => {
                tokio::time::sleep(delay).await;
                return Ok(index);
            }
            Some(Failure::RateLimited { retry_after_secs }) => {
                let mut response = graph_error(
                    StatusCode::TOO_MANY_REQUESTS,
                    self.config.throttle_code,
                    None,
                    self.config.throttle_message,
                    None,
                );
                if let Some(secs) = retry_after_secs {
                    response
                        .headers_mut()
                        .insert("retry-after", HeaderValue::from(secs));
                }
                response
            }
            Some(Failure::ServerError) => graph_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                self.config.server_error_code,
                None,
                self.config.server_error_message,
                None,
            ),
            Some(Failure::Unauthorized) => invalid_token(),
            Some(Failure::NotFound) => (
                StatusCode::NOT_FOUND,
                [("content-type", "text/html")],
                "<html><body>Not Found</body></html>",
            )
                .into_response(),
            Some(Failure::GraphError {
                status,
                code,
                subcode,
                message,
                details,
            }) => graph_error(
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                code,
                subcode,
                &message,
                details.as_deref(),
            ),
            Some(Failure::MalformedBody) => (
                StatusCode::OK,
                [("content-type", "application/json")],
                "{\"messaging_product\":",
            )
                .into_response(),
        };
        Err(self.finish(index, response))
    }

    /// Checks the access token like Graph: `Authorization: Bearer <token>` or `access_token=`.
    /// The refusal is Graph's 401 code 190 envelope.
    pub fn authorize(&self, headers: &HeaderMap, uri: &Uri) -> Result<(), Response> {
        let bearer = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let query_token = uri.query().and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("access_token="))
        });
        match bearer.or(query_token) {
            Some(token)
                if bool::from(token.as_bytes().ct_eq(self.config.access_token.as_bytes())) =>
            {
                Ok(())
            }
            _ => Err(invalid_token()),
        }
    }

    /// Notes the status of `response` on request `index` and passes it through.
    pub fn finish(&self, index: usize, response: Response) -> Response {
        if let Some(request) = lock(&self.requests).get_mut(index) {
            request.status = Some(response.status().as_u16());
        }
        response
    }

    /// Signs `body` with the app secret as Graph does.
    pub fn sign(&self, body: Vec<u8>, message_id: Option<String>) -> SignedWebhook {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        let signature = signature::sign_hub_signature_256(&self.config.app_secret, &body);
        if let Ok(value) = http::HeaderValue::from_str(&signature) {
            headers.insert(signature::HEADER, value);
        }
        SignedWebhook {
            headers,
            body,
            message_id,
        }
    }

    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> usize {
        let headers = headers
            .iter()
            .filter_map(|(name, value)| {
                Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
            })
            .collect();
        let mut requests = lock(&self.requests);
        requests.push(RecordedRequest {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers,
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
            status: None,
        });
        requests.len() - 1
    }
}

/// A running fake server; stops when dropped.
#[derive(Debug)]
pub struct Running {
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Running {
    /// Serves `router` on `127.0.0.1:0`.
    pub async fn start(router: axum::Router) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (shutdown, stop) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await;
            if let Err(error) = served {
                tracing::warn!(%error, "fake Graph server stopped with an error");
            }
        });
        Ok(Self {
            base_url,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Graph's error envelope with `status`. `type` is `OAuthException`, as Graph sends for almost
/// every messaging error (platforms.md §4, §5).
pub fn graph_error(
    status: StatusCode,
    code: i64,
    subcode: Option<i64>,
    message: &str,
    details: Option<&str>,
) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AfakeTraceId0123456789",
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    if let Some(details) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    (status, axum::Json(json!({ "error": error }))).into_response()
}

/// 400 code 100: a missing or invalid parameter.
pub fn invalid_parameter(message: &str) -> Response {
    graph_error(StatusCode::BAD_REQUEST, 100, None, message, None)
}

/// 400 code 100 subcode 33: the object in the path does not exist (Graph's wording).
pub fn unknown_object(method: &Method, id: &str) -> Response {
    let verb = method.as_str().to_ascii_lowercase();
    graph_error(
        StatusCode::BAD_REQUEST,
        100,
        Some(33),
        &format!(
            "Unsupported {verb} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
        ),
        None,
    )
}

/// 401 code 190.
pub fn invalid_token() -> Response {
    graph_error(
        StatusCode::UNAUTHORIZED,
        190,
        None,
        "Invalid OAuth access token - Cannot parse access token",
        None,
    )
}

/// 400 code 2500: a path Graph does not know.
pub fn unknown_path(path: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        2500,
        None,
        &format!("Unknown path components: {path}"),
        None,
    )
}

/// Splits `/{version}/{rest...}`, checking the version looks like Graph's (`v21.0`).
pub fn versioned_path(path: &str) -> Option<(&str, Vec<&str>)> {
    let mut parts = path.trim_matches('/').split('/');
    let version = parts.next()?;
    let numbers = version.strip_prefix('v')?;
    let valid = numbers
        .split('.')
        .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    valid.then(|| (version, parts.collect()))
}

/// Seconds since the epoch, for webhook timestamps.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn versioned_paths_need_a_graph_version() {
        assert_eq!(
            versioned_path("/v21.0/123/messages"),
            Some(("v21.0", vec!["123", "messages"]))
        );
        assert_eq!(versioned_path("/123/messages"), None);
        assert_eq!(versioned_path("/vX/123"), None);
    }

    #[test]
    fn signed_webhooks_verify_with_the_shared_checker() {
        let core = GraphCore::new(CoreConfig {
            access_token: "t".into(),
            app_secret: "s3cret".into(),
            throttle_code: 613,
            throttle_message: "m",
            server_error_code: 2,
            server_error_message: "m",
        });
        let signed = core.sign(b"{\"object\":\"page\",\"entry\":[]}".to_vec(), None);
        assert_eq!(
            signature::verify_hub_signature_256(&signed.headers, &signed.body, &["s3cret"]),
            Ok(())
        );
    }
}
