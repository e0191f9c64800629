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

mod dispatch;
mod room;
mod sip;
mod webhook;

pub use dispatch::*;
pub use room::*;
pub use sip::*;
pub use webhook::*;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
