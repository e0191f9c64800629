//! Webhook events as LiveKit posts them (`WebhookEvent` and its event names).

use super::*;

/// Webhook event names (`WebhookEvent.event`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `room_started`.
    RoomStarted,
    /// `room_finished`: the room closed (every participant gone, or deleted).
    RoomFinished,
    /// `participant_joined`: for a SIP participant, the callee answered.
    ParticipantJoined,
    /// `participant_left`.
    ParticipantLeft,
    /// `participant_connection_aborted`.
    ParticipantConnectionAborted,
    /// `track_published`.
    TrackPublished,
    /// `track_unpublished`.
    TrackUnpublished,
    /// `egress_started`.
    EgressStarted,
    /// `egress_updated`.
    EgressUpdated,
    /// `egress_ended`.
    EgressEnded,
    /// `ingress_started`.
    IngressStarted,
    /// `ingress_ended`.
    IngressEnded,
    /// Any other name, kept as received.
    Other(String),
}

impl EventKind {
    /// Parses an event name.
    pub fn from_name(name: &str) -> Self {
        match name {
            "room_started" => EventKind::RoomStarted,
            "room_finished" => EventKind::RoomFinished,
            "participant_joined" => EventKind::ParticipantJoined,
            "participant_left" => EventKind::ParticipantLeft,
            "participant_connection_aborted" => EventKind::ParticipantConnectionAborted,
            "track_published" => EventKind::TrackPublished,
            "track_unpublished" => EventKind::TrackUnpublished,
            "egress_started" => EventKind::EgressStarted,
            "egress_updated" => EventKind::EgressUpdated,
            "egress_ended" => EventKind::EgressEnded,
            "ingress_started" => EventKind::IngressStarted,
            "ingress_ended" => EventKind::IngressEnded,
            other => EventKind::Other(other.to_owned()),
        }
    }

    /// The event name.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::RoomStarted => "room_started",
            EventKind::RoomFinished => "room_finished",
            EventKind::ParticipantJoined => "participant_joined",
            EventKind::ParticipantLeft => "participant_left",
            EventKind::ParticipantConnectionAborted => "participant_connection_aborted",
            EventKind::TrackPublished => "track_published",
            EventKind::TrackUnpublished => "track_unpublished",
            EventKind::EgressStarted => "egress_started",
            EventKind::EgressUpdated => "egress_updated",
            EventKind::EgressEnded => "egress_ended",
            EventKind::IngressStarted => "ingress_started",
            EventKind::IngressEnded => "ingress_ended",
            EventKind::Other(other) => other,
        }
    }
}

impl Default for EventKind {
    fn default() -> Self {
        EventKind::Other(String::new())
    }
}

impl Serialize for EventKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(EventKind::from_name(
            &Option::<String>::deserialize(deserializer)?.unwrap_or_default(),
        ))
    }
}

/// `WebhookEvent` as LiveKit posts it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// What happened.
    #[serde(default)]
    pub event: EventKind,
    /// `EV_...`: unique per event, the deduplication key (LiveKit retries deliveries).
    #[serde(default)]
    pub id: String,
    /// When, Unix seconds.
    #[serde(
        default,
        alias = "createdAt",
        deserialize_with = "flex::i64",
        serialize_with = "flex::i64_as_string"
    )]
    pub created_at: i64,
    /// The room (every room and participant event).
    #[serde(default)]
    pub room: Option<Room>,
    /// The participant (participant and track events).
    #[serde(default)]
    pub participant: Option<ParticipantInfo>,
    /// The track (track events), as sent.
    #[serde(default)]
    pub track: Option<serde_json::Value>,
    /// Egress events' payload, as sent.
    #[serde(default, alias = "egressInfo")]
    pub egress_info: Option<serde_json::Value>,
    /// Ingress events' payload, as sent.
    #[serde(default, alias = "ingressInfo")]
    pub ingress_info: Option<serde_json::Value>,
    /// Events LiveKit dropped before this one (its queue was full).
    #[serde(default, alias = "numDropped", deserialize_with = "flex::i64")]
    pub num_dropped: i64,
}

impl WebhookEvent {
    /// The room's name, if the event has a room.
    pub fn room_name(&self) -> Option<&str> {
        self.room
            .as_ref()
            .map(|r| r.name.as_str())
            .filter(|n| !n.is_empty())
    }

    /// The participant, when it is a SIP leg.
    pub fn sip_participant(&self) -> Option<&ParticipantInfo> {
        self.participant.as_ref().filter(|p| p.is_sip())
    }
}
