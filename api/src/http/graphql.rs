//! GraphQL over HTTP and WebSocket. The POST handler reads the body itself so every transport
//! failure — wrong content type, oversized or malformed body, bad credentials — gets a JSON error
//! with a 4xx status instead of a framework default. The WebSocket handler upgrades with the
//! body limit as its message limit and hands every operation to
//! [`SocketExecutor`](crate::graphql::socket::SocketExecutor), which re-authorises it.

use async_graphql::http::{GraphiQLSource, ALL_WEBSOCKET_PROTOCOLS};
use async_graphql::{BatchRequest, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Body;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use futures::{SinkExt, StreamExt};
use http::{header, HeaderMap, StatusCode};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::HttpState;
use crate::auth::{authenticate, bearer, ClientIp};
use crate::error::ApiError;
use crate::graphql::socket::{SocketExecutor, SocketSession};

/// Most operations accepted in one batched request.
const MAX_BATCH: usize = 10;

/// GraphiQL, wired to the subscription endpoint; a 404 when introspection is off (production),
/// since GraphiQL is an explorer of the schema.
pub async fn graphiql(State(state): State<HttpState>) -> Response {
    if !state.app.config.introspection {
        return ApiError::NotFound("route").into_response();
    }
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Leadline GraphiQL")
            .finish(),
    )
    .into_response()
}

fn transport_error(status: StatusCode, error: ApiError) -> Response {
    (
        status,
        Json(serde_json::json!({ "errors": [error.to_json()] })),
    )
        .into_response()
}

/// The peer address, or — only when the deployment says a proxy it trusts sits in front — the
/// last `X-Forwarded-For` entry, the one that proxy appended. Earlier entries are client-supplied
/// and could be forged to dodge limits.
fn client_ip(headers: &HeaderMap, peer: SocketAddr, trust_forwarded_for: bool) -> IpAddr {
    if trust_forwarded_for {
        let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(ip) = forwarded
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok())
        {
            return ip;
        }
    }
    peer.ip()
}

/// `POST /graphql`.
pub async fn graphql_post(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return transport_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::bad_input("content-type", "send the request as application/json"),
        );
    }
    let limit = state.app.config.max_body_bytes;
    let too_large = || {
        transport_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::bad_input(
                "body",
                format!("the request body is larger than {limit} bytes"),
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return too_large();
    };
    // Decide single vs batch on the first byte: serde's untagged form would read `[]` as an
    // empty single request (structs deserialize from sequences too) and answer 200 with errors.
    let parsed = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => {
            serde_json::from_slice::<Vec<async_graphql::Request>>(&bytes).map(BatchRequest::Batch)
        }
        _ => serde_json::from_slice::<async_graphql::Request>(&bytes).map(BatchRequest::Single),
    };
    let request = match parsed {
        Ok(request) => request,
        Err(error) => {
            return transport_error(
                StatusCode::BAD_REQUEST,
                ApiError::bad_input("body", format!("not a GraphQL request in JSON: {error}")),
            );
        }
    };
    if let BatchRequest::Batch(items) = &request {
        if items.len() > MAX_BATCH || items.is_empty() {
            return transport_error(
                StatusCode::BAD_REQUEST,
                ApiError::bad_input(
                    "body",
                    format!("send 1 to {MAX_BATCH} operations per batch"),
                ),
            );
        }
        if let Err(error) = crate::graphql::cost::check_batch(items) {
            return transport_error(StatusCode::BAD_REQUEST, error);
        }
    }
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if authorization.is_some() && bearer(authorization).is_none() {
        return ApiError::Unauthenticated("use Authorization: Bearer <token or API key>".into())
            .into_response();
    }
    let principal =
        match authenticate(&state.app.store, &state.app.tokens, bearer(authorization)).await {
            Ok(principal) => principal,
            Err(error) => return error.into_response(),
        };
    let response = state
        .schema
        .execute_batch(request.data(principal).data(ClientIp(client_ip(
            &headers,
            peer,
            state.app.config.trust_forwarded_for,
        ))))
        .await;
    Json(response).into_response()
}

/// The initial read buffer of a GraphQL socket (see `graphql_ws`).
const SOCKET_READ_BUFFER_BYTES: usize = 4 * 1024;

/// `GET /graphql/ws`: graphql-transport-ws (and the legacy graphql-ws). The token comes in the
/// `connection_init` payload as `{"token": "…"}` or `{"Authorization": "Bearer …"}`; a missing
/// or bad token, or one more socket than its principal may hold, closes the socket (1002, with
/// the reason). Messages larger than the body limit close it with 1009.
pub async fn graphql_ws(
    State(state): State<HttpState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // The same rule as POST, so per-IP limits (sign-up, visitors) hold on sockets too.
    let ip = ClientIp(client_ip(
        &headers,
        peer,
        state.app.config.trust_forwarded_for,
    ));
    let limit = state.app.config.max_body_bytes;
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        // The socket's read buffer is allocated up front (128 KiB by default) and lives as long
        // as the socket; graphql-ws messages are small, and a larger one grows it as needed (up
        // to the limits below). At 10,000 idle sockets this is most of the server's memory.
        .read_buffer_size(SOCKET_READ_BUFFER_BYTES)
        .max_message_size(limit)
        .max_frame_size(limit)
        .on_upgrade(move |socket| serve_socket(socket, state, protocol, ip))
        .into_response()
}

async fn serve_socket(
    socket: WebSocket,
    state: HttpState,
    protocol: GraphQLProtocol,
    ip: ClientIp,
) {
    let limit = state.app.config.max_body_bytes;
    let executor = SocketExecutor::new(state.schema.clone(), state.app.clone());
    let (mut sink, stream) = socket.split();
    let too_large = Arc::new(AtomicBool::new(false));
    let flag = too_large.clone();
    let stream = stream.inspect(move |item| {
        if let Err(error) = item {
            if is_too_large(error) {
                flag.store(true, Ordering::SeqCst);
            }
        }
    });
    GraphQLWebSocket::new_with_pair(&mut sink, stream, executor, protocol)
        .on_connection_init(move |payload| connection_init(state, ip, payload))
        .serve()
        .await;
    if too_large.load(Ordering::SeqCst) {
        metrics::counter!("leadline_ws_refused_total", "reason" => "message_size").increment(1);
        let _ = sink
            .send(Message::Close(Some(CloseFrame {
                code: 1009,
                reason: format!("messages are limited to {limit} bytes").into(),
            })))
            .await;
    }
}

/// Whether a socket read failed because the message (or a frame) was over the limit.
fn is_too_large(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<tungstenite::Error>())
        .is_some_and(|error| matches!(error, tungstenite::Error::Capacity(_)))
}

/// Authenticates `connection_init` and takes the socket's place in its principal's count. The
/// connection keeps the credential, never the principal: each operation resolves it afresh.
async fn connection_init(
    state: HttpState,
    ip: ClientIp,
    payload: serde_json::Value,
) -> async_graphql::Result<Data> {
    let token = payload
        .get("token")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .or_else(|| {
            ["Authorization", "authorization"]
                .iter()
                .find_map(|key| payload.get(*key).and_then(|v| v.as_str()))
                .and_then(|value| bearer(Some(value)).map(str::to_owned))
        });
    let Some(token) = token else {
        return Err(async_graphql::Error::new(
            "connection_init must carry a token",
        ));
    };
    let refuse = |error: ApiError| async_graphql::Error::new(error.public_message());
    let principal = authenticate(&state.app.store, &state.app.tokens, Some(&token))
        .await
        .map_err(refuse)?;
    let slot = state.sockets.open(&principal).map_err(refuse)?;
    let session = SocketSession::new(token, &principal, state.app.config.ws_max_operations, slot)
        .map_err(refuse)?;
    let mut data = Data::default();
    data.insert(session);
    data.insert(ip);
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_used_only_when_trusted_and_only_its_last_entry() {
        let peer: SocketAddr = "10.0.0.5:4000"
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            http::HeaderValue::from_static("6.6.6.6, 203.0.113.9"),
        );
        assert_eq!(client_ip(&headers, peer, false), peer.ip());
        assert_eq!(client_ip(&headers, peer, true).to_string(), "203.0.113.9");
        headers.insert("x-forwarded-for", http::HeaderValue::from_static("garbage"));
        assert_eq!(client_ip(&headers, peer, true), peer.ip());
        assert_eq!(client_ip(&HeaderMap::new(), peer, true), peer.ip());
    }
}
