//! The fake's webhooks: protojson bodies (camelCase, int64 as strings, enum names, defaults
//! omitted) built from its rooms and participants, signed like LiveKit's `URLNotifier` (bare JWT
//! in `Authorization`, valid 5 minutes, claim `sha256` of the body) and posted with
//! `Content-Type: application/webhook+json`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Map, Value};

use super::{FakeLiveKit, Shared};
use crate::models::{
    sip_attr, DisconnectReason, EventKind, ParticipantInfo, ParticipantKind, ParticipantState,
    Room, SipCallStatus,
};
use crate::webhook;

/// One webhook the fake sent (or tried to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentWebhook {
    /// Where it went.
    pub url: String,
    /// The raw body.
    pub body: String,
    /// The `Authorization` header (a bare JWT).
    pub authorization: String,
    /// The receiver's HTTP status, `None` if it could not be reached.
    pub status: Option<u16>,
}

/// Why the fake could not send a webhook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// `set_webhook_url` was never called.
    #[error("no webhook URL is set")]
    NoUrl,
    /// No such room.
    #[error("no room named {0}")]
    UnknownRoom(String),
    /// No such participant in the room.
    #[error("no participant {0} in that room")]
    UnknownParticipant(String),
    /// Signing failed.
    #[error("could not sign: {0}")]
    Sign(String),
    /// The receiver could not be reached.
    #[error("could not deliver: {0}")]
    Send(String),
}

fn room_json(room: &Room) -> Value {
    let mut map = Map::new();
    map.insert("sid".into(), json!(room.sid));
    map.insert("name".into(), json!(room.name));
    if room.empty_timeout != 0 {
        map.insert("emptyTimeout".into(), json!(room.empty_timeout));
    }
    if room.departure_timeout != 0 {
        map.insert("departureTimeout".into(), json!(room.departure_timeout));
    }
    if room.max_participants != 0 {
        map.insert("maxParticipants".into(), json!(room.max_participants));
    }
    map.insert("creationTime".into(), json!(room.creation_time.to_string()));
    if !room.metadata.is_empty() {
        map.insert("metadata".into(), json!(room.metadata));
    }
    if room.num_participants != 0 {
        map.insert("numParticipants".into(), json!(room.num_participants));
    }
    Value::Object(map)
}

fn participant_json(participant: &ParticipantInfo) -> Value {
    let mut map = Map::new();
    map.insert("sid".into(), json!(participant.sid));
    map.insert("identity".into(), json!(participant.identity));
    if participant.state != ParticipantState::Joining {
        map.insert("state".into(), json!(participant.state.as_str()));
    }
    map.insert("joinedAt".into(), json!(participant.joined_at.to_string()));
    if !participant.name.is_empty() {
        map.insert("name".into(), json!(participant.name));
    }
    if !participant.metadata.is_empty() {
        map.insert("metadata".into(), json!(participant.metadata));
    }
    if participant.kind != ParticipantKind::Standard {
        map.insert("kind".into(), json!(participant.kind.as_str()));
    }
    if !participant.attributes.is_empty() {
        map.insert("attributes".into(), json!(participant.attributes));
    }
    if participant.disconnect_reason != DisconnectReason::UnknownReason {
        map.insert(
            "disconnectReason".into(),
            json!(participant.disconnect_reason.as_str()),
        );
    }
    Value::Object(map)
}

fn event_body(
    shared: &Shared,
    event: &EventKind,
    room: &Room,
    participant: Option<&ParticipantInfo>,
) -> String {
    let id = shared.lock().next_id("EV_");
    let mut map = Map::new();
    map.insert("event".into(), json!(event.as_str()));
    map.insert("room".into(), room_json(room));
    if let Some(participant) = participant {
        map.insert("participant".into(), participant_json(participant));
    }
    map.insert("id".into(), json!(id));
    map.insert(
        "createdAt".into(),
        json!(Utc::now().timestamp().to_string()),
    );
    Value::Object(map).to_string()
}

pub(super) fn room_finished_body(shared: &Shared, room: &Room) -> String {
    event_body(shared, &EventKind::RoomFinished, room, None)
}

/// `participant_left` of `participant` (removed from `room` by the caller) for `reason`.
pub(super) fn participant_left_body(
    shared: &Shared,
    room: &Room,
    mut participant: ParticipantInfo,
    reason: DisconnectReason,
) -> String {
    participant.state = ParticipantState::Disconnected;
    participant.disconnect_reason = reason;
    if participant.kind == ParticipantKind::Sip {
        participant
            .attributes
            .insert(sip_attr::CALL_STATUS.to_owned(), "hangup".to_owned());
    }
    event_body(
        shared,
        &EventKind::ParticipantLeft,
        room,
        Some(&participant),
    )
}

/// Signs `body` with the fake's credentials and posts it to the webhook URL.
pub(super) async fn post(shared: &Arc<Shared>, body: String) -> Result<SentWebhook, WebhookError> {
    let url = shared
        .lock()
        .webhook_url
        .clone()
        .ok_or(WebhookError::NoUrl)?;
    let authorization = webhook::sign(&shared.credentials, body.as_bytes(), Utc::now())
        .map_err(|e| WebhookError::Sign(e.to_string()))?;
    let sent = shared
        .http
        .post(&url)
        .header(http::header::AUTHORIZATION, &authorization)
        .header(http::header::CONTENT_TYPE, webhook::CONTENT_TYPE)
        .body(body.clone())
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let status = sent.as_ref().ok().map(|r| r.status().as_u16());
    let record = SentWebhook {
        url,
        body,
        authorization,
        status,
    };
    shared.lock().webhooks.push(record.clone());
    match sent {
        Ok(_) => Ok(record),
        Err(e) => Err(WebhookError::Send(e.to_string())),
    }
}

impl FakeLiveKit {
    /// The `Authorization` value LiveKit would send with `body` now.
    pub fn sign_webhook(&self, body: &str) -> Result<String, crate::Error> {
        webhook::sign(&self.shared.credentials, body.as_bytes(), Utc::now())
    }

    /// Signs and posts any body to the webhook URL.
    pub async fn send_webhook(&self, body: impl Into<String>) -> Result<SentWebhook, WebhookError> {
        post(&self.shared, body.into()).await
    }

    /// The SIP participant `identity` of `room` reaches `status` (`ringing`, `active`...); sends
    /// `participant_joined` with its `sip.*` attributes, state ACTIVE once answered.
    pub async fn sip_participant_joined(
        &self,
        room: &str,
        identity: &str,
        status: SipCallStatus,
    ) -> Result<SentWebhook, WebhookError> {
        let body = {
            let (room_info, participant) = {
                let mut state = self.shared.lock();
                let fake_room = state
                    .rooms
                    .get_mut(room)
                    .ok_or_else(|| WebhookError::UnknownRoom(room.to_owned()))?;
                let participant = fake_room
                    .participants
                    .iter_mut()
                    .find(|p| p.identity == identity)
                    .ok_or_else(|| WebhookError::UnknownParticipant(identity.to_owned()))?;
                participant
                    .attributes
                    .insert(sip_attr::CALL_STATUS.to_owned(), status.as_str().to_owned());
                participant.state = if status == SipCallStatus::Active {
                    ParticipantState::Active
                } else {
                    ParticipantState::Joined
                };
                let participant = participant.clone();
                let mut room_info = fake_room.room.clone();
                room_info.num_participants =
                    u32::try_from(fake_room.participants.len()).unwrap_or(u32::MAX);
                (room_info, participant)
            };
            event_body(
                &self.shared,
                &EventKind::ParticipantJoined,
                &room_info,
                Some(&participant),
            )
        };
        post(&self.shared, body).await
    }

    /// The callee answers: [`FakeLiveKit::sip_participant_joined`] with `active`.
    pub async fn answer_call(
        &self,
        room: &str,
        identity: &str,
    ) -> Result<SentWebhook, WebhookError> {
        self.sip_participant_joined(room, identity, SipCallStatus::Active)
            .await
    }

    /// `identity` leaves `room` for `reason` (`CLIENT_INITIATED` when the callee hangs up,
    /// `USER_REJECTED` for busy, `USER_UNAVAILABLE` for no answer); sends `participant_left`.
    pub async fn hang_up(
        &self,
        room: &str,
        identity: &str,
        reason: DisconnectReason,
    ) -> Result<SentWebhook, WebhookError> {
        let (room_info, participant) = {
            let mut state = self.shared.lock();
            let fake_room = state
                .rooms
                .get_mut(room)
                .ok_or_else(|| WebhookError::UnknownRoom(room.to_owned()))?;
            let index = fake_room
                .participants
                .iter()
                .position(|p| p.identity == identity)
                .ok_or_else(|| WebhookError::UnknownParticipant(identity.to_owned()))?;
            let participant = fake_room.participants.remove(index);
            let mut room_info = fake_room.room.clone();
            room_info.num_participants =
                u32::try_from(fake_room.participants.len()).unwrap_or(u32::MAX);
            (room_info, participant)
        };
        let body = participant_left_body(&self.shared, &room_info, participant, reason);
        post(&self.shared, body).await
    }

    /// `room` closes (everyone gone): it is removed and `room_finished` is sent.
    pub async fn finish_room(&self, room: &str) -> Result<SentWebhook, WebhookError> {
        let removed = self
            .shared
            .lock()
            .rooms
            .remove(room)
            .ok_or_else(|| WebhookError::UnknownRoom(room.to_owned()))?;
        let body = room_finished_body(&self.shared, &removed.room);
        post(&self.shared, body).await
    }
}
