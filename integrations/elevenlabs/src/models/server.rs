//! What the agent sends on the conversation WebSocket: [`ServerEvent`], each a `type` plus its event object.

use super::*;

/// `conversation_initiation_metadata_event`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConversationInitiationMetadata {
    /// `conv_…`: the id post-call webhooks will carry.
    pub conversation_id: String,
    /// Format of the agent's `audio` (`ulaw_8000` for Twilio pass-through, `pcm_16000`…).
    #[serde(default)]
    pub agent_output_audio_format: String,
    /// Format `user_audio_chunk` must be in.
    #[serde(default)]
    pub user_input_audio_format: String,
}

/// `ulaw_8000`: G.711 μ-law at 8 kHz, what Twilio Media Streams carry (no transcoding needed).
pub const ULAW_8000: &str = "ulaw_8000";
/// `pcm_16000`: 16-bit mono PCM at 16 kHz, the SDK's default.
pub const PCM_16000: &str = "pcm_16000";

/// A frame the agent sent on the conversation WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    /// The conversation started: its id and audio formats.
    ConversationInitiationMetadata(ConversationInitiationMetadata),
    /// Agent speech: base64 in `agent_output_audio_format`, relayed as-is.
    Audio {
        /// Base64 audio, untouched.
        audio_base_64: String,
        /// Orders audio against `interruption` (see [`crate::AudioGate`]).
        event_id: u64,
    },
    /// What the agent said, as text.
    AgentResponse {
        /// The text.
        agent_response: String,
    },
    /// The agent's last response was cut short by an interruption; this is what was heard.
    AgentResponseCorrection {
        /// What the agent meant to say.
        original_agent_response: String,
        /// What it said before being interrupted.
        corrected_agent_response: String,
    },
    /// What the agent heard the user say.
    UserTranscript {
        /// The text.
        user_transcript: String,
    },
    /// The user spoke over the agent: drop audio with `event_id <=` this one and flush the
    /// caller's buffer (Twilio `clear`).
    Interruption {
        /// The last interrupted audio event.
        event_id: u64,
    },
    /// Keep-alive: answer with `pong` and the same `event_id`.
    Ping {
        /// Echo this in the pong.
        event_id: u64,
        /// The server's measured latency, when given.
        ping_ms: Option<u64>,
    },
    /// The agent calls a tool the client implements; answer with `client_tool_result`.
    ClientToolCall {
        /// Which tool.
        tool_name: String,
        /// Echo this in the result.
        tool_call_id: String,
        /// The tool's arguments.
        parameters: serde_json::Value,
    },
    /// Any other `type` (`vad_score`, `agent_tool_response`, `internal_tentative_agent_response`
    /// …): ignore it.
    Unknown {
        /// Its `type`.
        kind: String,
    },
}

#[derive(Deserialize)]
struct AudioEvent {
    audio_base_64: String,
    event_id: u64,
}
#[derive(Deserialize)]
struct AgentResponseEvent {
    agent_response: String,
}
#[derive(Deserialize)]
struct AgentResponseCorrectionEvent {
    #[serde(default)]
    original_agent_response: String,
    #[serde(default)]
    corrected_agent_response: String,
}
#[derive(Deserialize)]
struct UserTranscriptionEvent {
    user_transcript: String,
}
#[derive(Deserialize)]
struct InterruptionEvent {
    event_id: u64,
}
#[derive(Deserialize)]
struct PingEvent {
    event_id: u64,
    #[serde(default)]
    ping_ms: Option<u64>,
}
#[derive(Deserialize)]
struct ClientToolCallEvent {
    tool_name: String,
    tool_call_id: String,
    #[serde(default)]
    parameters: serde_json::Value,
}

/// The server frame's envelope: the `type` and every payload object we know. Unknown keys are
/// skipped by serde without being built, so an unknown event costs one pass over the text.
#[derive(Deserialize)]
struct ServerFrame {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    conversation_initiation_metadata_event: Option<ConversationInitiationMetadata>,
    #[serde(default)]
    audio_event: Option<AudioEvent>,
    #[serde(default)]
    agent_response_event: Option<AgentResponseEvent>,
    #[serde(default)]
    agent_response_correction_event: Option<AgentResponseCorrectionEvent>,
    #[serde(default)]
    user_transcription_event: Option<UserTranscriptionEvent>,
    #[serde(default)]
    interruption_event: Option<InterruptionEvent>,
    #[serde(default)]
    ping_event: Option<PingEvent>,
    #[serde(default)]
    client_tool_call: Option<ClientToolCallEvent>,
}

impl ServerEvent {
    /// Reads a server text frame. An unknown `type` is [`ServerEvent::Unknown`]; non-JSON, a
    /// frame without `type`, or a known type without its payload object is `Decode`.
    pub fn parse(text: &str) -> Result<ServerEvent, Error> {
        let frame: ServerFrame =
            serde_json::from_str(text).map_err(|e| Error::Decode(format!("server frame: {e}")))?;
        let missing =
            |field: &str| Error::Decode(format!("server frame of type {}: no {field}", frame.kind));
        let event = match frame.kind.as_str() {
            "conversation_initiation_metadata" => ServerEvent::ConversationInitiationMetadata(
                frame
                    .conversation_initiation_metadata_event
                    .ok_or_else(|| missing("conversation_initiation_metadata_event"))?,
            ),
            "audio" => {
                let e = frame.audio_event.ok_or_else(|| missing("audio_event"))?;
                ServerEvent::Audio {
                    audio_base_64: e.audio_base_64,
                    event_id: e.event_id,
                }
            }
            "agent_response" => ServerEvent::AgentResponse {
                agent_response: frame
                    .agent_response_event
                    .ok_or_else(|| missing("agent_response_event"))?
                    .agent_response,
            },
            "agent_response_correction" => {
                let e = frame
                    .agent_response_correction_event
                    .ok_or_else(|| missing("agent_response_correction_event"))?;
                ServerEvent::AgentResponseCorrection {
                    original_agent_response: e.original_agent_response,
                    corrected_agent_response: e.corrected_agent_response,
                }
            }
            "user_transcript" => ServerEvent::UserTranscript {
                user_transcript: frame
                    .user_transcription_event
                    .ok_or_else(|| missing("user_transcription_event"))?
                    .user_transcript,
            },
            "interruption" => ServerEvent::Interruption {
                event_id: frame
                    .interruption_event
                    .ok_or_else(|| missing("interruption_event"))?
                    .event_id,
            },
            "ping" => {
                let e = frame.ping_event.ok_or_else(|| missing("ping_event"))?;
                ServerEvent::Ping {
                    event_id: e.event_id,
                    ping_ms: e.ping_ms,
                }
            }
            "client_tool_call" => {
                let e = frame
                    .client_tool_call
                    .ok_or_else(|| missing("client_tool_call"))?;
                ServerEvent::ClientToolCall {
                    tool_name: e.tool_name,
                    tool_call_id: e.tool_call_id,
                    parameters: e.parameters,
                }
            }
            _ => ServerEvent::Unknown { kind: frame.kind },
        };
        Ok(event)
    }

    /// The JSON text frame (the fake's side), in the documented shape.
    pub fn to_json(&self) -> String {
        use serde_json::json;
        let value = match self {
            ServerEvent::ConversationInitiationMetadata(m) => json!({
                "type": "conversation_initiation_metadata",
                "conversation_initiation_metadata_event": m,
            }),
            ServerEvent::Audio {
                audio_base_64,
                event_id,
            } => json!({
                "type": "audio",
                "audio_event": {"audio_base_64": audio_base_64, "event_id": event_id},
            }),
            ServerEvent::AgentResponse { agent_response } => json!({
                "type": "agent_response",
                "agent_response_event": {"agent_response": agent_response},
            }),
            ServerEvent::AgentResponseCorrection {
                original_agent_response,
                corrected_agent_response,
            } => json!({
                "type": "agent_response_correction",
                "agent_response_correction_event": {
                    "original_agent_response": original_agent_response,
                    "corrected_agent_response": corrected_agent_response,
                },
            }),
            ServerEvent::UserTranscript { user_transcript } => json!({
                "type": "user_transcript",
                "user_transcription_event": {"user_transcript": user_transcript},
            }),
            ServerEvent::Interruption { event_id } => json!({
                "type": "interruption",
                "interruption_event": {"event_id": event_id},
            }),
            ServerEvent::Ping { event_id, ping_ms } => json!({
                "type": "ping",
                "ping_event": {"event_id": event_id, "ping_ms": ping_ms},
            }),
            ServerEvent::ClientToolCall {
                tool_name,
                tool_call_id,
                parameters,
            } => json!({
                "type": "client_tool_call",
                "client_tool_call": {
                    "tool_name": tool_name,
                    "tool_call_id": tool_call_id,
                    "parameters": parameters,
                },
            }),
            ServerEvent::Unknown { kind } => json!({ "type": kind }),
        };
        value.to_string()
    }
}
