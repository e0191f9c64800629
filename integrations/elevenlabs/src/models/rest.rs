//! REST bodies: the Twilio outbound-call request and its answer.

use super::*;

/// `POST /v1/convai/twilio/outbound-call` request: ElevenLabs dials `to_number` from the Twilio
/// number imported as `agent_phone_number_id` and runs the agent on it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct OutboundCall {
    /// The agent to run.
    pub agent_id: String,
    /// The imported phone number to call from.
    pub agent_phone_number_id: String,
    /// E.164 number to call.
    pub to_number: String,
    /// Dynamic variables and overrides for the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_initiation_client_data: Option<ConversationInitiation>,
    /// Whether ElevenLabs asks Twilio to record the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_recording_enabled: Option<bool>,
}

/// `POST /v1/convai/twilio/outbound-call` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct OutboundCallResponse {
    /// Whether the call was placed.
    #[serde(default)]
    pub success: bool,
    /// ElevenLabs' message.
    #[serde(default)]
    pub message: String,
    /// `conv_…`, when a conversation was created.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Twilio's `CA…` (camelCase on the wire, unlike every other field).
    #[serde(default, rename = "callSid")]
    pub call_sid: Option<String>,
}
