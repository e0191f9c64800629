//! Rooms and participants: `CreateRoom`/`DeleteRoom`/`ListParticipants` and what they answer.

use super::*;

/// An agent to dispatch when a room is created (`RoomAgentDispatch`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomAgentDispatch {
    /// The worker's registered agent name.
    #[serde(default, alias = "agentName")]
    pub agent_name: String,
    /// Job metadata.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
}

/// `CreateRoomRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRoomRequest {
    /// Room name (unique in the project).
    #[serde(default)]
    pub name: String,
    /// Seconds an empty room is kept.
    #[serde(
        default,
        alias = "emptyTimeout",
        skip_serializing_if = "Option::is_none"
    )]
    pub empty_timeout: Option<u32>,
    /// Seconds the room is kept after the last participant left.
    #[serde(
        default,
        alias = "departureTimeout",
        skip_serializing_if = "Option::is_none"
    )]
    pub departure_timeout: Option<u32>,
    /// Participant cap.
    #[serde(
        default,
        alias = "maxParticipants",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_participants: Option<u32>,
    /// Room metadata.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Agents dispatched when the room is created.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agents: Vec<RoomAgentDispatch>,
}

impl CreateRoomRequest {
    /// A room named `name` with LiveKit's defaults.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

/// `Room`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// `RM_...`.
    #[serde(default)]
    pub sid: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Seconds an empty room is kept.
    #[serde(default, alias = "emptyTimeout", deserialize_with = "flex::u32")]
    pub empty_timeout: u32,
    /// Seconds kept after the last departure.
    #[serde(default, alias = "departureTimeout", deserialize_with = "flex::u32")]
    pub departure_timeout: u32,
    /// Participant cap (0: none).
    #[serde(default, alias = "maxParticipants", deserialize_with = "flex::u32")]
    pub max_participants: u32,
    /// Creation, Unix seconds.
    #[serde(
        default,
        alias = "creationTime",
        deserialize_with = "flex::i64",
        serialize_with = "flex::i64_as_string"
    )]
    pub creation_time: i64,
    /// Metadata.
    #[serde(default)]
    pub metadata: String,
    /// Participants now.
    #[serde(default, alias = "numParticipants", deserialize_with = "flex::u32")]
    pub num_participants: u32,
    /// Publishers now.
    #[serde(default, alias = "numPublishers", deserialize_with = "flex::u32")]
    pub num_publishers: u32,
    /// Whether it is being recorded.
    #[serde(default, alias = "activeRecording")]
    pub active_recording: bool,
}

/// `DeleteRoomRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteRoomRequest {
    /// Room name.
    #[serde(default)]
    pub room: String,
}

/// `ListParticipantsRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListParticipantsRequest {
    /// Room name.
    #[serde(default)]
    pub room: String,
}

/// `ListParticipantsResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListParticipantsResponse {
    /// The participants.
    #[serde(default)]
    pub participants: Vec<ParticipantInfo>,
}

/// `ParticipantInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInfo {
    /// `PA_...`.
    #[serde(default)]
    pub sid: String,
    /// Identity (for our dial-outs: the `participant_identity` we chose).
    #[serde(default)]
    pub identity: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// State.
    #[serde(default)]
    pub state: ParticipantState,
    /// Kind (`SIP` for a phone leg).
    #[serde(default)]
    pub kind: ParticipantKind,
    /// Join time, Unix seconds.
    #[serde(
        default,
        alias = "joinedAt",
        deserialize_with = "flex::i64",
        serialize_with = "flex::i64_as_string"
    )]
    pub joined_at: i64,
    /// Metadata.
    #[serde(default)]
    pub metadata: String,
    /// Attributes (`sip.*` for SIP participants).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Why it left (`participant_left`).
    #[serde(default, alias = "disconnectReason")]
    pub disconnect_reason: DisconnectReason,
}

impl ParticipantInfo {
    /// Whether this is a telephone leg.
    pub fn is_sip(&self) -> bool {
        self.kind == ParticipantKind::Sip
    }

    /// The `sip.*` attributes, when this is a SIP participant.
    pub fn sip(&self) -> Option<SipAttributes> {
        self.is_sip()
            .then(|| SipAttributes::from_attributes(&self.attributes))
    }
}
