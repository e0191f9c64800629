//! Serde mirrors of LiveKit's wire format (platforms.md §8): Twirp requests and responses of
//! `livekit.RoomService`, `livekit.SIP` and `livekit.AgentDispatchService`, and webhook events.
//!
//! Requests are written in snake_case (the proto names, which Twirp accepts) and read in either
//! casing, so the fake can decode what any SDK sends. Responses and webhooks are read in
//! snake_case (Twirp's default) or camelCase (protojson's default, and what webhooks use): each
//! field has its camelCase alias. Protojson writes int64 as strings and enums as names; both
//! forms and the plain numbers are accepted ([`flex`]). Unknown fields are ignored and unknown
//! enum values are kept in an `Other` variant, so a newer LiveKit never breaks parsing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Lenient readers and protojson writers for numbers and durations.
pub mod flex {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(i64),
        Unsigned(u64),
        Float(f64),
        Text(String),
    }

    fn to_i64<E: serde::de::Error>(number: Option<Number>) -> Result<i64, E> {
        match number {
            None => Ok(0),
            Some(Number::Int(n)) => Ok(n),
            Some(Number::Unsigned(n)) => i64::try_from(n).map_err(E::custom),
            // protojson never writes int64 as a float; a whole float is still the same number.
            Some(Number::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            Some(Number::Float(f)) => Err(E::custom(format!("{f} is not an integer"))),
            Some(Number::Text(t)) if t.trim().is_empty() => Ok(0),
            Some(Number::Text(t)) => t
                .trim()
                .parse::<i64>()
                .map_err(|_| E::custom(format!("{t:?} is not an integer"))),
        }
    }

    /// An int64 written as a number, a string (protojson), or absent/null (0).
    pub fn i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        to_i64(Option::<Number>::deserialize(deserializer)?)
    }

    /// A uint32 written as a number or a string, or absent/null (0).
    pub fn u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
        let n = to_i64(Option::<Number>::deserialize(deserializer)?)?;
        u32::try_from(n).map_err(serde::de::Error::custom)
    }

    /// Writes an int64 the protojson way: as a string.
    pub fn i64_as_string<S: Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&value.to_string())
    }

    /// Writes a protobuf `Duration` (`"30s"`, `"1.500s"`).
    pub fn duration<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(d) if d.subsec_millis() == 0 => {
                serializer.serialize_str(&format!("{}s", d.as_secs()))
            }
            Some(d) => {
                serializer.serialize_str(&format!("{}.{:03}s", d.as_secs(), d.subsec_millis()))
            }
        }
    }

    /// Reads a protobuf `Duration` (`"30s"`, `"1.5s"`) or a number of seconds.
    pub fn opt_duration<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        let seconds = match Option::<Number>::deserialize(deserializer)? {
            None => return Ok(None),
            Some(Number::Int(n)) => n as f64,
            Some(Number::Unsigned(n)) => n as f64,
            Some(Number::Float(f)) => f,
            Some(Number::Text(t)) => {
                let text = t.trim();
                let text = text.strip_suffix('s').unwrap_or(text);
                text.parse::<f64>()
                    .map_err(|_| serde::de::Error::custom(format!("{t:?} is not a duration")))?
            }
        };
        Duration::try_from_secs_f64(seconds)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EnumValue {
    Number(i64),
    Name(String),
}

/// A protobuf enum as LiveKit writes it: its name (protojson) or its number, with unknown values
/// kept verbatim.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, default $default:ident {
            $($(#[$vmeta:meta])* $variant:ident = $number:literal => $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this crate does not know (a newer LiveKit), kept as received.
            Other(String),
        }

        impl $name {
            /// The protobuf name (`Other` keeps what was received).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }

            /// The value of a protobuf name.
            pub fn from_name(name: &str) -> Self {
                match name {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The value of a protobuf number.
            pub fn from_number(number: i64) -> Self {
                match number {
                    $($number => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(match Option::<EnumValue>::deserialize(deserializer)? {
                    None => $name::$default,
                    Some(EnumValue::Number(n)) => $name::from_number(n),
                    Some(EnumValue::Name(text)) => $name::from_name(&text),
                })
            }
        }
    };
}

wire_enum! {
    /// `ParticipantInfo.Kind`.
    ParticipantKind, default Standard {
        /// A regular client (protojson omits it: the default).
        #[default]
        Standard = 0 => "STANDARD",
        /// An ingress.
        Ingress = 1 => "INGRESS",
        /// An egress.
        Egress = 2 => "EGRESS",
        /// A telephone leg (inbound or outbound SIP call).
        Sip = 3 => "SIP",
        /// An agent worker.
        Agent = 4 => "AGENT",
    }
}

wire_enum! {
    /// `ParticipantInfo.State`.
    ParticipantState, default Joining {
        /// Signalling connected (the default).
        #[default]
        Joining = 0 => "JOINING",
        /// Joined the room.
        Joined = 1 => "JOINED",
        /// Media established: for SIP, the callee answered.
        Active = 2 => "ACTIVE",
        /// Left.
        Disconnected = 3 => "DISCONNECTED",
    }
}

wire_enum! {
    /// `DisconnectReason` of a participant that left; for SIP it tells why a call ended.
    DisconnectReason, default UnknownReason {
        /// No reason given (the default).
        #[default]
        UnknownReason = 0 => "UNKNOWN_REASON",
        /// The client (for SIP: the callee) hung up.
        ClientInitiated = 1 => "CLIENT_INITIATED",
        /// Another participant joined with the same identity.
        DuplicateIdentity = 2 => "DUPLICATE_IDENTITY",
        /// The server is shutting down.
        ServerShutdown = 3 => "SERVER_SHUTDOWN",
        /// Removed through RemoveParticipant.
        ParticipantRemoved = 4 => "PARTICIPANT_REMOVED",
        /// The room was deleted.
        RoomDeleted = 5 => "ROOM_DELETED",
        /// Client state mismatch.
        StateMismatch = 6 => "STATE_MISMATCH",
        /// Could not join.
        JoinFailure = 7 => "JOIN_FAILURE",
        /// Migrated to another node.
        Migration = 8 => "MIGRATION",
        /// The signalling connection closed.
        SignalClose = 9 => "SIGNAL_CLOSE",
        /// The room closed.
        RoomClosed = 10 => "ROOM_CLOSED",
        /// SIP: the callee did not answer in time.
        UserUnavailable = 11 => "USER_UNAVAILABLE",
        /// SIP: the callee rejected the call (busy, declined).
        UserRejected = 12 => "USER_REJECTED",
        /// SIP: the trunk failed.
        SipTrunkFailure = 13 => "SIP_TRUNK_FAILURE",
        /// The connection timed out.
        ConnectionTimeout = 14 => "CONNECTION_TIMEOUT",
        /// Media failed.
        MediaFailure = 15 => "MEDIA_FAILURE",
    }
}

impl DisconnectReason {
    /// How a SIP leg's dial failed, read from why it left: `USER_REJECTED` (busy, declined) and
    /// `USER_UNAVAILABLE` (no answer in time). Other reasons are not dial failures.
    pub fn sip_dial_failure(&self) -> Option<crate::SipDialFailure> {
        match self {
            DisconnectReason::UserRejected => Some(crate::SipDialFailure::Busy),
            DisconnectReason::UserUnavailable => Some(crate::SipDialFailure::NoAnswer),
            _ => None,
        }
    }
}

/// A Twirp method this crate calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rpc {
    /// `livekit.RoomService/CreateRoom`.
    CreateRoom,
    /// `livekit.RoomService/DeleteRoom`.
    DeleteRoom,
    /// `livekit.RoomService/ListParticipants`.
    ListParticipants,
    /// `livekit.SIP/CreateSIPParticipant`.
    CreateSipParticipant,
    /// `livekit.AgentDispatchService/CreateDispatch`.
    CreateDispatch,
    /// `livekit.AgentDispatchService/ListDispatch`.
    ListDispatch,
}

impl Rpc {
    /// Every method, for tables and tests.
    pub const ALL: [Rpc; 6] = [
        Rpc::CreateRoom,
        Rpc::DeleteRoom,
        Rpc::ListParticipants,
        Rpc::CreateSipParticipant,
        Rpc::CreateDispatch,
        Rpc::ListDispatch,
    ];

    /// The Twirp service (`livekit.SIP`, not `SIPService`).
    pub fn service(self) -> &'static str {
        match self {
            Rpc::CreateRoom | Rpc::DeleteRoom | Rpc::ListParticipants => "livekit.RoomService",
            Rpc::CreateSipParticipant => "livekit.SIP",
            Rpc::CreateDispatch | Rpc::ListDispatch => "livekit.AgentDispatchService",
        }
    }

    /// The Twirp method name.
    pub fn method(self) -> &'static str {
        match self {
            Rpc::CreateRoom => "CreateRoom",
            Rpc::DeleteRoom => "DeleteRoom",
            Rpc::ListParticipants => "ListParticipants",
            Rpc::CreateSipParticipant => "CreateSIPParticipant",
            Rpc::CreateDispatch => "CreateDispatch",
            Rpc::ListDispatch => "ListDispatch",
        }
    }

    /// `/twirp/<service>/<method>`.
    pub fn path(self) -> String {
        format!("/twirp/{}/{}", self.service(), self.method())
    }

    /// The method at `service`/`method`, if this crate knows it.
    pub fn from_parts(service: &str, method: &str) -> Option<Rpc> {
        Rpc::ALL
            .into_iter()
            .find(|rpc| rpc.service() == service && rpc.method() == method)
    }
}

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

/// Values of the `sip.callStatus` attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SipCallStatus {
    /// Dialling (no answer from the network yet).
    Dialing,
    /// The callee's phone is ringing.
    Ringing,
    /// The callee answered; the call is live.
    Active,
    /// Outbound DTMF is being sent after the answer.
    Automation,
    /// The call has ended.
    Hangup,
    /// A value this crate does not know, kept as received.
    Other(String),
}

impl SipCallStatus {
    /// Parses the attribute value.
    pub fn from_name(name: &str) -> Self {
        match name {
            "dialing" => SipCallStatus::Dialing,
            "ringing" => SipCallStatus::Ringing,
            "active" => SipCallStatus::Active,
            "automation" => SipCallStatus::Automation,
            "hangup" => SipCallStatus::Hangup,
            other => SipCallStatus::Other(other.to_owned()),
        }
    }

    /// The attribute value.
    pub fn as_str(&self) -> &str {
        match self {
            SipCallStatus::Dialing => "dialing",
            SipCallStatus::Ringing => "ringing",
            SipCallStatus::Active => "active",
            SipCallStatus::Automation => "automation",
            SipCallStatus::Hangup => "hangup",
            SipCallStatus::Other(other) => other,
        }
    }
}

/// Attribute names LiveKit SIP sets on a SIP participant.
pub mod sip_attr {
    /// LiveKit's SIP call id (`SCL_...`).
    pub const CALL_ID: &str = "sip.callID";
    /// The trunk provider's SIP Call-ID.
    pub const CALL_ID_FULL: &str = "sip.callIDFull";
    /// `dialing`, `ringing`, `active`, `automation`, `hangup`.
    pub const CALL_STATUS: &str = "sip.callStatus";
    /// The external number (the callee on dial-outs); absent with `hide_phone_number`.
    pub const PHONE_NUMBER: &str = "sip.phoneNumber";
    /// The trunk used.
    pub const TRUNK_ID: &str = "sip.trunkID";
    /// The trunk's own number; absent with `hide_phone_number`.
    pub const TRUNK_PHONE_NUMBER: &str = "sip.trunkPhoneNumber";
    /// The dispatch rule (inbound calls).
    pub const RULE_ID: &str = "sip.ruleID";
}

/// The `sip.*` attributes of a SIP participant, typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SipAttributes {
    /// `sip.callID`.
    pub call_id: Option<String>,
    /// `sip.callIDFull`.
    pub call_id_full: Option<String>,
    /// `sip.callStatus`.
    pub call_status: Option<SipCallStatus>,
    /// `sip.phoneNumber`.
    pub phone_number: Option<String>,
    /// `sip.trunkID`.
    pub trunk_id: Option<String>,
    /// `sip.trunkPhoneNumber`.
    pub trunk_phone_number: Option<String>,
    /// `sip.ruleID`.
    pub rule_id: Option<String>,
}

impl SipAttributes {
    /// Reads the `sip.*` attributes (empty values count as absent).
    pub fn from_attributes(attributes: &BTreeMap<String, String>) -> Self {
        let get = |name: &str| {
            attributes
                .get(name)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        Self {
            call_id: get(sip_attr::CALL_ID),
            call_id_full: get(sip_attr::CALL_ID_FULL),
            call_status: get(sip_attr::CALL_STATUS).map(|s| SipCallStatus::from_name(&s)),
            phone_number: get(sip_attr::PHONE_NUMBER),
            trunk_id: get(sip_attr::TRUNK_ID),
            trunk_phone_number: get(sip_attr::TRUNK_PHONE_NUMBER),
            rule_id: get(sip_attr::RULE_ID),
        }
    }
}

/// `CreateSIPParticipantRequest`: dial `sip_call_to` through a trunk into a room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSipParticipantRequest {
    /// Outbound trunk (`ST_...`): `LIVEKIT_SIP_TRUNK_ID`.
    #[serde(default, alias = "sipTrunkId")]
    pub sip_trunk_id: String,
    /// The number to dial, E.164.
    #[serde(default, alias = "sipCallTo")]
    pub sip_call_to: String,
    /// Caller id to present, when the trunk has several numbers.
    #[serde(default, alias = "sipNumber", skip_serializing_if = "String::is_empty")]
    pub sip_number: String,
    /// Room the callee joins.
    #[serde(default, alias = "roomName")]
    pub room_name: String,
    /// The callee's participant identity.
    #[serde(
        default,
        alias = "participantIdentity",
        skip_serializing_if = "String::is_empty"
    )]
    pub participant_identity: String,
    /// The callee's display name.
    #[serde(
        default,
        alias = "participantName",
        skip_serializing_if = "String::is_empty"
    )]
    pub participant_name: String,
    /// The callee's participant metadata.
    #[serde(
        default,
        alias = "participantMetadata",
        skip_serializing_if = "String::is_empty"
    )]
    pub participant_metadata: String,
    /// Extra attributes on the callee's participant (LiveKit adds `sip.*`).
    #[serde(
        default,
        alias = "participantAttributes",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub participant_attributes: BTreeMap<String, String>,
    /// DTMF to send after the answer (`w` = 0.5 s pause).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dtmf: String,
    /// Play a dial tone in the room while ringing.
    #[serde(default, alias = "playDialtone")]
    pub play_dialtone: bool,
    /// Extra SIP headers on the INVITE.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// How long to let it ring.
    #[serde(
        default,
        alias = "ringingTimeout",
        serialize_with = "flex::duration",
        deserialize_with = "flex::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub ringing_timeout: Option<Duration>,
    /// Hang up after this long.
    #[serde(
        default,
        alias = "maxCallDuration",
        serialize_with = "flex::duration",
        deserialize_with = "flex::opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub max_call_duration: Option<Duration>,
    /// Answer only once the callee picked up (or the dial failed): the request takes as long as
    /// the ringing, so the client uses its longer answer timeout.
    #[serde(
        default,
        alias = "waitUntilAnswered",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub wait_until_answered: bool,
    /// Keep the numbers out of the participant's attributes.
    #[serde(
        default,
        alias = "hidePhoneNumber",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub hide_phone_number: bool,
    /// Noise cancellation on the callee's audio.
    #[serde(
        default,
        alias = "krispEnabled",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub krisp_enabled: bool,
}

/// `SIPParticipantInfo`: the answer to CreateSIPParticipant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SipParticipantInfo {
    /// `PA_...`.
    #[serde(default, alias = "participantId")]
    pub participant_id: String,
    /// The callee's identity.
    #[serde(default, alias = "participantIdentity")]
    pub participant_identity: String,
    /// The room.
    #[serde(default, alias = "roomName")]
    pub room_name: String,
    /// LiveKit's SIP call id (`SCL_...`), also `sip.callID` in webhooks: the call's LiveKit id.
    #[serde(default, alias = "sipCallId")]
    pub sip_call_id: String,
}

/// `CreateAgentDispatchRequest`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateAgentDispatchRequest {
    /// The worker's registered agent name: `LIVEKIT_AGENT_NAME`.
    #[serde(default, alias = "agentName")]
    pub agent_name: String,
    /// The room (the field is `room`, not `room_name`).
    #[serde(default)]
    pub room: String,
    /// Job metadata: a JSON document for our agents.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metadata: String,
}

/// `ListAgentDispatchRequest`: the dispatches of a room (all of them without a `dispatch_id`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAgentDispatchRequest {
    /// The room.
    #[serde(default)]
    pub room: String,
    /// One dispatch only, when set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dispatch_id: String,
}

/// `ListAgentDispatchResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAgentDispatchResponse {
    /// The room's dispatches.
    #[serde(default, alias = "agentDispatches")]
    pub agent_dispatches: Vec<AgentDispatch>,
}

impl CreateAgentDispatchRequest {
    /// A dispatch of `agent_name` into `room` with `metadata` serialised as JSON.
    pub fn with_json_metadata(
        agent_name: impl Into<String>,
        room: impl Into<String>,
        metadata: &impl Serialize,
    ) -> Result<Self, crate::Error> {
        let metadata = serde_json::to_string(metadata).map_err(|e| {
            crate::Error::Decode(format!("the dispatch metadata is not serialisable: {e}"))
        })?;
        Ok(Self {
            agent_name: agent_name.into(),
            room: room.into(),
            metadata,
        })
    }
}

/// `AgentDispatchState`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentDispatchState {
    /// Jobs started for the dispatch, as sent.
    #[serde(default)]
    pub jobs: Vec<serde_json::Value>,
    /// Creation, Unix nanoseconds.
    #[serde(
        default,
        alias = "createdAt",
        deserialize_with = "flex::i64",
        serialize_with = "flex::i64_as_string"
    )]
    pub created_at: i64,
    /// Deletion, Unix nanoseconds (0: live).
    #[serde(
        default,
        alias = "deletedAt",
        deserialize_with = "flex::i64",
        serialize_with = "flex::i64_as_string"
    )]
    pub deleted_at: i64,
}

/// `AgentDispatch`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentDispatch {
    /// `AD_...`.
    #[serde(default)]
    pub id: String,
    /// Agent name.
    #[serde(default, alias = "agentName")]
    pub agent_name: String,
    /// Room.
    #[serde(default)]
    pub room: String,
    /// Metadata as sent.
    #[serde(default)]
    pub metadata: String,
    /// Jobs and times.
    #[serde(default)]
    pub state: Option<AgentDispatchState>,
}

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn responses_parse_in_both_casings_with_int64_strings() {
        let snake: Room = serde_json::from_str(
            r#"{"sid":"RM_1","name":"call-1","empty_timeout":300,"creation_time":"1700000000","num_participants":2}"#,
        )
        .unwrap();
        let camel: Room = serde_json::from_str(
            r#"{"sid":"RM_1","name":"call-1","emptyTimeout":300,"creationTime":1700000000,"numParticipants":"2"}"#,
        )
        .unwrap();
        assert_eq!(snake, camel);
        assert_eq!(snake.creation_time, 1_700_000_000);
        let sip: SipParticipantInfo = serde_json::from_str(
            r#"{"participantId":"PA_1","participantIdentity":"pstn","roomName":"r","sipCallId":"SCL_1"}"#,
        )
        .unwrap();
        assert_eq!(sip.sip_call_id, "SCL_1");
    }

    #[test]
    fn enums_read_names_numbers_and_unknown_values() {
        let p: ParticipantInfo = serde_json::from_str(
            r#"{"kind":3,"state":"ACTIVE","disconnectReason":"USER_REJECTED"}"#,
        )
        .unwrap();
        assert!(p.is_sip());
        assert_eq!(p.state, ParticipantState::Active);
        assert_eq!(p.disconnect_reason, DisconnectReason::UserRejected);
        assert_eq!(
            p.disconnect_reason.sip_dial_failure(),
            Some(crate::SipDialFailure::Busy)
        );
        assert_eq!(
            DisconnectReason::UserUnavailable.sip_dial_failure(),
            Some(crate::SipDialFailure::NoAnswer)
        );
        assert_eq!(DisconnectReason::ClientInitiated.sip_dial_failure(), None);
        let q: ParticipantInfo = serde_json::from_str(r#"{"kind":"ROBOT","state":9}"#).unwrap();
        assert_eq!(q.kind, ParticipantKind::Other("ROBOT".into()));
        assert_eq!(q.state, ParticipantState::Other("9".into()));
        let absent: ParticipantInfo = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.kind, ParticipantKind::Standard);
        assert_eq!(absent.state, ParticipantState::Joining);
    }

    #[test]
    fn sip_requests_write_snake_case_and_protobuf_durations() {
        let request = CreateSipParticipantRequest {
            sip_trunk_id: "ST_1".into(),
            sip_call_to: "+15551234567".into(),
            room_name: "call-1".into(),
            participant_identity: "pstn-1".into(),
            ringing_timeout: Some(Duration::from_secs(30)),
            max_call_duration: Some(Duration::from_millis(1500)),
            wait_until_answered: true,
            ..Default::default()
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"sip_trunk_id":"ST_1","sip_call_to":"+15551234567",
                "room_name":"call-1","participant_identity":"pstn-1","play_dialtone":false,
                "ringing_timeout":"30s","max_call_duration":"1.500s","wait_until_answered":true})
        );
        let back: CreateSipParticipantRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, request);
        let camel: CreateSipParticipantRequest = serde_json::from_str(
            r#"{"sipTrunkId":"ST_1","sipCallTo":"+1555","roomName":"r","ringingTimeout":"2.5s"}"#,
        )
        .unwrap();
        assert_eq!(camel.ringing_timeout, Some(Duration::from_millis(2500)));
    }

    #[test]
    fn rpc_paths_name_the_right_services() {
        assert_eq!(
            Rpc::CreateSipParticipant.path(),
            "/twirp/livekit.SIP/CreateSIPParticipant"
        );
        assert_eq!(
            Rpc::from_parts("livekit.AgentDispatchService", "CreateDispatch"),
            Some(Rpc::CreateDispatch)
        );
        assert_eq!(
            Rpc::from_parts("livekit.SIPService", "CreateSIPParticipant"),
            None
        );
    }
}
