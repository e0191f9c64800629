//! The fake's Twirp endpoint: authentication, LiveKit's grant rules, injected failures, and
//! the room/participant/dispatch bookkeeping behind the five methods.
//!
//! The grant rules are written here from LiveKit's server (platforms.md §8), not borrowed from
//! `client::grants_for`, so a client asking for the wrong grants is caught rather than agreed
//! with.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::{events, Failure, FakeRoom, RecordedRequest, Shared, DEFAULT_TRUNK_NUMBER};
use crate::error::status_for_code;
use crate::models::{
    sip_attr, AgentDispatch, AgentDispatchState, CreateAgentDispatchRequest, CreateRoomRequest,
    CreateSipParticipantRequest, DeleteRoomRequest, DisconnectReason, ListAgentDispatchRequest,
    ListAgentDispatchResponse, ListParticipantsRequest, ListParticipantsResponse, ParticipantInfo,
    ParticipantKind, ParticipantState, Room, Rpc, SipParticipantInfo,
};
use crate::token::{self, Claims};

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/twirp/{service}/{method}", post(twirp))
        .fallback(|| async { twirp_error("bad_route", "no such route", BTreeMap::new()) })
        .with_state(shared)
}

fn twirp_error(code: &str, msg: &str, meta: BTreeMap<String, String>) -> Response {
    let status =
        StatusCode::from_u16(status_for_code(code)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"code": code, "msg": msg, "meta": meta}).to_string(),
    )
        .into_response()
}

fn error(code: &str, msg: &str) -> Response {
    twirp_error(code, msg, BTreeMap::new())
}

fn ok(value: &impl serde::Serialize) -> Response {
    match serde_json::to_string(value) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => error("internal", &e.to_string()),
    }
}

async fn twirp(
    State(shared): State<Arc<Shared>>,
    Path((service, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let rpc = Rpc::from_parts(&service, &method);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let verified = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(|t| token::verify(t, &shared.keys, Utc::now()));
    let claims = verified.clone().and_then(Result::ok);
    // Recorded before any check, so refused requests are visible to tests too.
    let json_body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let index = {
        let mut state = shared.lock();
        state.requests.push(RecordedRequest {
            rpc,
            path: format!("/twirp/{service}/{method}"),
            authorization,
            claims: claims.clone(),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: json_body,
            status: 0,
        });
        state.requests.len() - 1
    };
    let response = answer(&shared, rpc, verified, &body).await;
    if let Some(recorded) = shared.lock().requests.get_mut(index) {
        recorded.status = response.status().as_u16();
    }
    response
}

async fn answer(
    shared: &Arc<Shared>,
    rpc: Option<Rpc>,
    verified: Option<Result<Claims, crate::SignatureProblem>>,
    body: &[u8],
) -> Response {
    let Some(rpc) = rpc else {
        return error("bad_route", "no such service or method");
    };
    let claims = match verified {
        None => return error("unauthenticated", "missing Bearer token"),
        Some(Err(problem)) => {
            return error("unauthenticated", &format!("invalid token: {problem}"))
        }
        Some(Ok(claims)) => claims,
    };
    let failure = shared
        .lock()
        .failures
        .get_mut(&rpc)
        .and_then(|queue| queue.pop_front());
    let mut answer_after = None;
    match failure {
        Some(Failure::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::AnswerLost(delay)) => answer_after = Some(delay),
        Some(Failure::Twirp { code, msg, meta }) => return twirp_error(&code, &msg, meta),
        Some(Failure::Raw { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            return (status, body).into_response();
        }
        None => {}
    }
    let response = match rpc {
        Rpc::CreateRoom => with_body(body, |r| create_room(shared, &claims, r)),
        Rpc::DeleteRoom => with_body(body, |r| delete_room(shared, &claims, r)),
        Rpc::ListParticipants => with_body(body, |r| list_participants(shared, &claims, r)),
        Rpc::CreateSipParticipant => with_body(body, |r| create_sip(shared, &claims, r)),
        Rpc::CreateDispatch => with_body(body, |r| create_dispatch(shared, &claims, r)),
        Rpc::ListDispatch => with_body(body, |r| list_dispatch(shared, &claims, r)),
    };
    if let Some(delay) = answer_after {
        tokio::time::sleep(delay).await;
    }
    response
}

fn with_body<T: DeserializeOwned>(body: &[u8], handle: impl FnOnce(T) -> Response) -> Response {
    match serde_json::from_slice::<T>(body) {
        Ok(request) => handle(request),
        Err(e) => error(
            "malformed",
            &format!("the body is not the request JSON: {e}"),
        ),
    }
}

/// LiveKit's `EnsureCreatePermission`.
fn can_create(claims: &Claims) -> bool {
    claims.video_grant().room_create
}

/// LiveKit's `EnsureAdminPermission(room)`: admin of exactly that room.
fn can_admin(claims: &Claims, room: &str) -> bool {
    let video = claims.video_grant();
    video.room_admin && video.room == room
}

/// LiveKit's `EnsureSIPCallPermission`.
fn can_call(claims: &Claims) -> bool {
    claims.sip_grant().call
}

fn denied(what: &str) -> Response {
    error("permission_denied", &format!("{what} permission required"))
}

fn new_room(state: &mut super::State, request: &CreateRoomRequest) -> Room {
    Room {
        sid: state.next_id("RM_"),
        name: request.name.clone(),
        empty_timeout: request.empty_timeout.unwrap_or(300),
        departure_timeout: request.departure_timeout.unwrap_or(20),
        max_participants: request.max_participants.unwrap_or(0),
        creation_time: Utc::now().timestamp(),
        metadata: request.metadata.clone(),
        ..Room::default()
    }
}

/// The room named `name`, created with defaults if absent (joining a room creates it, and so do
/// a SIP dial and an agent dispatch).
fn ensure_room<'a>(state: &'a mut super::State, name: &str) -> &'a mut FakeRoom {
    if !state.rooms.contains_key(name) {
        let room = new_room(state, &CreateRoomRequest::named(name));
        state.rooms.insert(
            name.to_owned(),
            FakeRoom {
                room,
                participants: Vec::new(),
            },
        );
    }
    state.rooms.entry(name.to_owned()).or_default()
}

fn with_counts(room: &FakeRoom) -> Room {
    let mut answer = room.room.clone();
    answer.num_participants = u32::try_from(room.participants.len()).unwrap_or(u32::MAX);
    answer
}

fn create_room(shared: &Arc<Shared>, claims: &Claims, request: CreateRoomRequest) -> Response {
    if !can_create(claims) {
        return denied("roomCreate");
    }
    if request.name.trim().is_empty() {
        return error("invalid_argument", "room name is required");
    }
    let mut state = shared.lock();
    // An existing room is answered as it is, not as an error (LiveKit's behaviour).
    if let Some(existing) = state.rooms.get(&request.name) {
        return ok(&with_counts(existing));
    }
    let room = new_room(&mut state, &request);
    for agent in &request.agents {
        let id = state.next_id("AD_");
        state.dispatches.push(AgentDispatch {
            id,
            agent_name: agent.agent_name.clone(),
            room: request.name.clone(),
            metadata: agent.metadata.clone(),
            state: Some(AgentDispatchState {
                created_at: now_nanos(),
                ..AgentDispatchState::default()
            }),
        });
    }
    state.rooms.insert(
        request.name.clone(),
        FakeRoom {
            room: room.clone(),
            participants: Vec::new(),
        },
    );
    ok(&room)
}

fn delete_room(shared: &Arc<Shared>, claims: &Claims, request: DeleteRoomRequest) -> Response {
    if !can_create(claims) {
        return denied("roomCreate");
    }
    let removed = shared.lock().rooms.remove(&request.room);
    let Some(removed) = removed else {
        return error("not_found", "room not found");
    };
    // LiveKit tells the webhook URL that everyone left (ROOM_DELETED), then that the room
    // finished; in order, off the request's path, like its notifier queue.
    if shared.lock().webhook_url.is_some() {
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let mut room = removed.room.clone();
            room.num_participants = 0;
            let mut bodies: Vec<String> = removed
                .participants
                .into_iter()
                .map(|p| {
                    events::participant_left_body(&shared, &room, p, DisconnectReason::RoomDeleted)
                })
                .collect();
            bodies.push(events::room_finished_body(&shared, &room));
            for body in bodies {
                if let Err(error) = events::post(&shared, body).await {
                    tracing::warn!(%error, "fake LiveKit could not send a webhook");
                }
            }
        });
    }
    ok(&json!({}))
}

fn list_participants(
    shared: &Arc<Shared>,
    claims: &Claims,
    request: ListParticipantsRequest,
) -> Response {
    if !can_admin(claims, &request.room) {
        return denied("roomAdmin on this room");
    }
    let state = shared.lock();
    let Some(room) = state.rooms.get(&request.room) else {
        return error("not_found", "room not found");
    };
    ok(&ListParticipantsResponse {
        participants: room.participants.clone(),
    })
}

fn create_sip(
    shared: &Arc<Shared>,
    claims: &Claims,
    request: CreateSipParticipantRequest,
) -> Response {
    if !can_call(claims) {
        return denied("sip.call");
    }
    if request.sip_call_to.trim().is_empty() {
        return error("invalid_argument", "sip_call_to is required");
    }
    if request.room_name.trim().is_empty() {
        return error("invalid_argument", "room_name is required");
    }
    let mut state = shared.lock();
    if !state.trunks.contains(&request.sip_trunk_id) {
        return error("not_found", "requested sip trunk does not exist");
    }
    let identity = if request.participant_identity.is_empty() {
        format!("sip_{}", request.sip_call_to)
    } else {
        request.participant_identity.clone()
    };
    let sid = state.next_id("PA_");
    let call_id = state.next_id("SCL_");
    let mut attributes = request.participant_attributes.clone();
    attributes.insert(sip_attr::CALL_ID.to_owned(), call_id.clone());
    attributes.insert(sip_attr::TRUNK_ID.to_owned(), request.sip_trunk_id.clone());
    // wait_until_answered answers once the callee picked up; otherwise right after the INVITE.
    let (status, participant_state) = if request.wait_until_answered {
        ("active", ParticipantState::Active)
    } else {
        ("dialing", ParticipantState::Joining)
    };
    attributes.insert(sip_attr::CALL_STATUS.to_owned(), status.to_owned());
    if !request.hide_phone_number {
        attributes.insert(
            sip_attr::PHONE_NUMBER.to_owned(),
            request.sip_call_to.clone(),
        );
        let trunk_number = if request.sip_number.is_empty() {
            DEFAULT_TRUNK_NUMBER.to_owned()
        } else {
            request.sip_number.clone()
        };
        attributes.insert(sip_attr::TRUNK_PHONE_NUMBER.to_owned(), trunk_number);
    }
    let participant = ParticipantInfo {
        sid: sid.clone(),
        identity: identity.clone(),
        name: request.participant_name.clone(),
        state: participant_state,
        kind: ParticipantKind::Sip,
        joined_at: Utc::now().timestamp(),
        metadata: request.participant_metadata.clone(),
        attributes,
        ..ParticipantInfo::default()
    };
    let room = ensure_room(&mut state, &request.room_name);
    room.participants.retain(|p| p.identity != identity);
    room.participants.push(participant);
    ok(&SipParticipantInfo {
        participant_id: sid,
        participant_identity: identity,
        room_name: request.room_name,
        sip_call_id: call_id,
    })
}

fn create_dispatch(
    shared: &Arc<Shared>,
    claims: &Claims,
    request: CreateAgentDispatchRequest,
) -> Response {
    if !can_admin(claims, &request.room) {
        return denied("roomAdmin on this room");
    }
    if request.room.trim().is_empty() {
        return error("invalid_argument", "room is required");
    }
    let mut state = shared.lock();
    ensure_room(&mut state, &request.room);
    let dispatch = AgentDispatch {
        id: state.next_id("AD_"),
        agent_name: request.agent_name,
        room: request.room,
        metadata: request.metadata,
        state: Some(AgentDispatchState {
            created_at: now_nanos(),
            ..AgentDispatchState::default()
        }),
    };
    state.dispatches.push(dispatch.clone());
    ok(&dispatch)
}

fn list_dispatch(
    shared: &Arc<Shared>,
    claims: &Claims,
    request: ListAgentDispatchRequest,
) -> Response {
    if !can_admin(claims, &request.room) {
        return denied("roomAdmin on this room");
    }
    if request.room.trim().is_empty() {
        return error("invalid_argument", "room is required");
    }
    let state = shared.lock();
    if !state.rooms.contains_key(&request.room) {
        return error("not_found", "requested room does not exist");
    }
    let agent_dispatches = state
        .dispatches
        .iter()
        .filter(|d| d.room == request.room)
        .filter(|d| request.dispatch_id.is_empty() || d.id == request.dispatch_id)
        .cloned()
        .collect();
    ok(&ListAgentDispatchResponse { agent_dispatches })
}

fn now_nanos() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or_default()
}
