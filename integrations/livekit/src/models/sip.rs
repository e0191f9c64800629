//! SIP: the `sip.*` attributes of a SIP participant and `CreateSIPParticipant`.

use super::*;

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
