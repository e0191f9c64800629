//! Serde mirrors of ElevenLabs' wire format (platforms.md §7), field names exactly as sent:
//!
//! - REST: the signed-URL answer, the Twilio outbound-call request and answer;
//! - the conversation WebSocket: [`ClientMessage`] (what we send, including the `type`-less
//!   `user_audio_chunk` frame) and [`ServerEvent`] (what the agent sends, each as `type` plus a
//!   `<type>_event` object — except `client_tool_call`, whose object is named `client_tool_call`);
//! - post-call webhooks: [`PostCallEvent`].
//!
//! Unknown event types and unknown fields are tolerated everywhere (ElevenLabs adds events such
//! as `vad_score` without notice); only a *known* type whose payload is malformed is an error.
//! Post-call webhook fields are partly UNCONFIRMED, so every field there is optional and the
//! whole `data` object is also kept raw.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// `GET /v1/convai/conversation/get-signed-url` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct SignedUrlResponse {
    /// `wss://…&conversation_signature=…` (expiry UNCONFIRMED: use it at once).
    pub signed_url: String,
}

/// One value of `dynamic_variables` (fills `{{name}}` in the agent's prompt): ElevenLabs accepts
/// strings, numbers and booleans.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DynamicVariable {
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Number(f64),
    /// A string.
    String(String),
}

impl From<&str> for DynamicVariable {
    fn from(v: &str) -> Self {
        DynamicVariable::String(v.to_owned())
    }
}
impl From<String> for DynamicVariable {
    fn from(v: String) -> Self {
        DynamicVariable::String(v)
    }
}
impl From<i64> for DynamicVariable {
    fn from(v: i64) -> Self {
        DynamicVariable::Integer(v)
    }
}
impl From<i32> for DynamicVariable {
    fn from(v: i32) -> Self {
        DynamicVariable::Integer(v.into())
    }
}
impl From<u32> for DynamicVariable {
    fn from(v: u32) -> Self {
        DynamicVariable::Integer(v.into())
    }
}
impl From<f64> for DynamicVariable {
    fn from(v: f64) -> Self {
        DynamicVariable::Number(v)
    }
}
impl From<bool> for DynamicVariable {
    fn from(v: bool) -> Self {
        DynamicVariable::Bool(v)
    }
}

/// `conversation_config_override.agent.prompt`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct PromptOverride {
    /// The system prompt replacing the agent's.
    pub prompt: String,
}

/// `conversation_config_override.agent` (each override must be enabled in the agent's security
/// settings, or ElevenLabs refuses the conversation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct AgentOverride {
    /// A prompt replacing the agent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptOverride>,
    /// The first thing the agent says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_message: Option<String>,
    /// Language code (`en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// `conversation_config_override.tts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct TtsOverride {
    /// The voice to speak with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_id: Option<String>,
}

/// `conversation_config_override`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct ConversationConfigOverride {
    /// Agent overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentOverride>,
    /// Voice overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tts: Option<TtsOverride>,
}

/// The body of the `conversation_initiation_client_data` frame (sent first on every
/// conversation) and of `conversation_initiation_client_data` in an outbound-call request.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct ConversationInitiation {
    /// Values for the prompt's `{{variables}}` (a call's lead name, invoice amount…).
    #[serde(default)]
    pub dynamic_variables: BTreeMap<String, DynamicVariable>,
    /// Per-conversation overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_config_override: Option<ConversationConfigOverride>,
    /// Passed through to a custom LLM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_llm_extra_body: Option<serde_json::Value>,
}

impl ConversationInitiation {
    /// Adds one dynamic variable.
    pub fn with_variable(mut self, name: &str, value: impl Into<DynamicVariable>) -> Self {
        self.dynamic_variables.insert(name.to_owned(), value.into());
        self
    }
}

/// A frame we send on the conversation WebSocket.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// `{"type":"conversation_initiation_client_data", …}`: must be the first frame.
    ConversationInitiationClientData(ConversationInitiation),
    /// `{"user_audio_chunk":"<base64>"}` — no `type` field. The string is sent as given.
    UserAudioChunk(String),
    /// `{"type":"pong","event_id":n}`: the answer to a `ping`.
    Pong {
        /// The ping's `event_id`.
        event_id: u64,
    },
    /// `{"type":"client_tool_result","tool_call_id","result","is_error"}`.
    ClientToolResult {
        /// The `client_tool_call`'s id.
        tool_call_id: String,
        /// What the tool returned (a string in the docs' example; any JSON is passed on).
        result: serde_json::Value,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// `{"type":"user_message","text"}`: text as if the user said it.
    UserMessage {
        /// The text.
        text: String,
    },
    /// `{"type":"contextual_update","text"}`: context for the agent that needs no answer.
    ContextualUpdate {
        /// The text.
        text: String,
    },
    /// `{"type":"user_activity"}`: the user is active (holds off the agent's turn).
    UserActivity,
    /// Any other frame (only produced by [`ClientMessage::parse`], for the fake).
    Unknown {
        /// Its `type`, or empty when it had none.
        kind: String,
    },
}

#[derive(Serialize)]
struct InitFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    init: &'a ConversationInitiation,
}

/// Whether `value` can be put between JSON quotes as-is: the base64 alphabet (standard or
/// URL-safe) and padding. This is the whole validation of relayed audio: no decode.
pub fn is_base64_text(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

/// `{"user_audio_chunk":"<base64>"}` built by concatenation: audio is relayed many times a
/// second, and the payload (already checked by [`is_base64_text`]) needs no escaping.
pub(crate) fn audio_frame(base64: &str) -> String {
    const HEAD: &str = "{\"user_audio_chunk\":\"";
    let mut frame = String::with_capacity(HEAD.len() + base64.len() + 2);
    frame.push_str(HEAD);
    frame.push_str(base64);
    frame.push_str("\"}");
    frame
}

impl ClientMessage {
    /// The JSON text frame.
    pub fn to_json(&self) -> String {
        use serde_json::json;
        let value = match self {
            ClientMessage::ConversationInitiationClientData(init) => {
                return serde_json::to_string(&InitFrame {
                    kind: "conversation_initiation_client_data",
                    init,
                })
                // Serialising plain maps, strings and numbers cannot fail; if it ever did, an
                // empty init frame is still the right first frame.
                .unwrap_or_else(|_| {
                    r#"{"type":"conversation_initiation_client_data"}"#.to_owned()
                });
            }
            ClientMessage::UserAudioChunk(b64) if is_base64_text(b64) => return audio_frame(b64),
            ClientMessage::UserAudioChunk(b64) => json!({ "user_audio_chunk": b64 }),
            ClientMessage::Pong { event_id } => json!({"type": "pong", "event_id": event_id}),
            ClientMessage::ClientToolResult {
                tool_call_id,
                result,
                is_error,
            } => json!({
                "type": "client_tool_result",
                "tool_call_id": tool_call_id,
                "result": result,
                "is_error": is_error,
            }),
            ClientMessage::UserMessage { text } => json!({"type": "user_message", "text": text}),
            ClientMessage::ContextualUpdate { text } => {
                json!({"type": "contextual_update", "text": text})
            }
            ClientMessage::UserActivity => json!({"type": "user_activity"}),
            ClientMessage::Unknown { kind } => json!({ "type": kind }),
        };
        value.to_string()
    }

    /// Reads a client frame (the fake's side). A frame with `user_audio_chunk` and no `type` is
    /// audio; an unknown `type` is [`ClientMessage::Unknown`]; non-JSON or a known type with a
    /// malformed body is `Decode`.
    pub fn parse(text: &str) -> Result<ClientMessage, Error> {
        #[derive(Deserialize)]
        struct Frame {
            #[serde(rename = "type", default)]
            kind: Option<String>,
            #[serde(default)]
            user_audio_chunk: Option<String>,
            #[serde(default)]
            event_id: Option<u64>,
            #[serde(default)]
            tool_call_id: Option<String>,
            #[serde(default)]
            result: Option<serde_json::Value>,
            #[serde(default)]
            is_error: Option<bool>,
            #[serde(default)]
            text: Option<String>,
        }
        let bad = |what: &str| Error::Decode(format!("client frame: {what}"));
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::Decode(format!("client frame: {e}")))?;
        let frame: Frame =
            serde_json::from_value(value.clone()).map_err(|e| Error::Decode(e.to_string()))?;
        let Some(kind) = frame.kind else {
            return match frame.user_audio_chunk {
                Some(audio) => Ok(ClientMessage::UserAudioChunk(audio)),
                None => Ok(ClientMessage::Unknown {
                    kind: String::new(),
                }),
            };
        };
        Ok(match kind.as_str() {
            "conversation_initiation_client_data" => {
                let init: ConversationInitiation =
                    serde_json::from_value(value).map_err(|e| Error::Decode(e.to_string()))?;
                ClientMessage::ConversationInitiationClientData(init)
            }
            "pong" => ClientMessage::Pong {
                event_id: frame.event_id.ok_or_else(|| bad("pong without event_id"))?,
            },
            "client_tool_result" => ClientMessage::ClientToolResult {
                tool_call_id: frame
                    .tool_call_id
                    .ok_or_else(|| bad("client_tool_result without tool_call_id"))?,
                result: frame.result.unwrap_or(serde_json::Value::Null),
                is_error: frame.is_error.unwrap_or(false),
            },
            "user_message" => ClientMessage::UserMessage {
                text: frame.text.unwrap_or_default(),
            },
            "contextual_update" => ClientMessage::ContextualUpdate {
                text: frame.text.unwrap_or_default(),
            },
            "user_activity" => ClientMessage::UserActivity,
            _ => ClientMessage::Unknown { kind },
        })
    }
}

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

/// A post-call webhook's `type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostCallEventType {
    /// `post_call_transcription`: transcript, analysis and metadata.
    PostCallTranscription,
    /// `post_call_audio`: the call's audio (base64, field name UNCONFIRMED).
    PostCallAudio,
    /// `call_initiation_failure`: the call never started (busy, no answer…).
    CallInitiationFailure,
    /// Any other type.
    Unknown(String),
}

impl PostCallEventType {
    fn from_wire(kind: &str) -> Self {
        match kind {
            "post_call_transcription" => PostCallEventType::PostCallTranscription,
            "post_call_audio" => PostCallEventType::PostCallAudio,
            "call_initiation_failure" => PostCallEventType::CallInitiationFailure,
            other => PostCallEventType::Unknown(other.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            PostCallEventType::PostCallTranscription => "post_call_transcription",
            PostCallEventType::PostCallAudio => "post_call_audio",
            PostCallEventType::CallInitiationFailure => "call_initiation_failure",
            PostCallEventType::Unknown(other) => other,
        }
    }
}

/// One turn of `data.transcript`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct TranscriptTurn {
    /// `agent` or `user`.
    #[serde(default)]
    pub role: String,
    /// What was said (null for tool-only turns).
    #[serde(default)]
    pub message: Option<String>,
    /// Seconds since the call started.
    #[serde(default)]
    pub time_in_call_secs: Option<f64>,
}

/// `data.metadata` (UNCONFIRMED beyond `call_duration_secs`; everything else kept raw).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct CallMetadata {
    /// Unix seconds the call started.
    #[serde(default)]
    pub start_time_unix_secs: Option<i64>,
    /// How long the call lasted.
    #[serde(default)]
    pub call_duration_secs: Option<f64>,
    /// The other fields, as sent.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// `data.analysis` (UNCONFIRMED beyond the named fields).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct CallAnalysis {
    /// A summary of the conversation.
    #[serde(default)]
    pub transcript_summary: Option<String>,
    /// `success`, `failure` or `unknown` as judged by the agent's success criteria.
    #[serde(default)]
    pub call_successful: Option<String>,
    /// Data collection results by item id (shape UNCONFIRMED: kept raw).
    #[serde(default)]
    pub data_collection_results: BTreeMap<String, serde_json::Value>,
    /// Evaluation criteria results by id (shape UNCONFIRMED: kept raw).
    #[serde(default)]
    pub evaluation_criteria_results: BTreeMap<String, serde_json::Value>,
}

/// `data` of a post-call webhook. Every field is optional: which ones each type carries is
/// partly UNCONFIRMED, and the full object is kept in [`PostCallEvent::raw_data`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
pub struct PostCallData {
    /// The agent.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// `conv_…`, as in `conversation_initiation_metadata` and the outbound-call answer.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// `done`, `failed`…
    #[serde(default)]
    pub status: Option<String>,
    /// The turns, in order.
    #[serde(default)]
    pub transcript: Vec<TranscriptTurn>,
    /// Duration and the like.
    #[serde(default)]
    pub metadata: Option<CallMetadata>,
    /// The agent's analysis.
    #[serde(default)]
    pub analysis: Option<CallAnalysis>,
    /// `call_initiation_failure`: why (UNCONFIRMED name).
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// `post_call_audio`: the base64 audio (UNCONFIRMED name).
    #[serde(default)]
    pub full_audio: Option<String>,
}

/// A verified post-call webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct PostCallEvent {
    /// `type`.
    pub kind: PostCallEventType,
    /// `event_timestamp` (unix seconds), when present.
    pub event_timestamp: Option<i64>,
    /// `data`, typed.
    pub data: PostCallData,
    /// `data`, as sent.
    pub raw_data: serde_json::Value,
}

impl PostCallEvent {
    /// Parses a (verified) body. Only a non-object body or a missing `type` is an error; any
    /// field of the wrong shape inside `data` is left out of [`PostCallEvent::data`] rather than
    /// failing the whole event (it stays in `raw_data`).
    pub fn parse(raw_body: &[u8]) -> Result<PostCallEvent, Error> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            event_timestamp: Option<serde_json::Value>,
            #[serde(default)]
            data: serde_json::Value,
        }
        let envelope: Envelope = serde_json::from_slice(raw_body)
            .map_err(|e| Error::Decode(format!("post-call webhook: {e}")))?;
        let data = lenient_data(&envelope.data);
        Ok(PostCallEvent {
            kind: PostCallEventType::from_wire(&envelope.kind),
            event_timestamp: envelope.event_timestamp.as_ref().and_then(|t| {
                t.as_i64()
                    .or_else(|| t.as_f64().map(|f| f as i64))
                    .or_else(|| t.as_str().and_then(|s| s.trim().parse().ok()))
            }),
            data,
            raw_data: envelope.data,
        })
    }
}

/// `data` field by field, so one unexpected shape (a string where a number was expected) loses
/// that field only.
fn lenient_data(value: &serde_json::Value) -> PostCallData {
    fn field<T: serde::de::DeserializeOwned + Default>(v: &serde_json::Value, name: &str) -> T {
        v.get(name)
            .cloned()
            .and_then(|f| serde_json::from_value(f).ok())
            .unwrap_or_default()
    }
    let transcript = value
        .get("transcript")
        .and_then(|t| t.as_array())
        .map(|turns| {
            turns
                .iter()
                .filter_map(|turn| serde_json::from_value(turn.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    PostCallData {
        agent_id: field(value, "agent_id"),
        conversation_id: field(value, "conversation_id"),
        status: field(value, "status"),
        transcript,
        metadata: field(value, "metadata"),
        analysis: field(value, "analysis"),
        failure_reason: field(value, "failure_reason"),
        full_audio: field(value, "full_audio"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_server_frames_parse() {
        let frames = [
            (
                r#"{"type":"conversation_initiation_metadata","conversation_initiation_metadata_event":{"conversation_id":"conv_1","agent_output_audio_format":"ulaw_8000","user_input_audio_format":"ulaw_8000"}}"#,
                ServerEvent::ConversationInitiationMetadata(ConversationInitiationMetadata {
                    conversation_id: "conv_1".into(),
                    agent_output_audio_format: ULAW_8000.into(),
                    user_input_audio_format: ULAW_8000.into(),
                }),
            ),
            (
                r#"{"type":"audio","audio_event":{"audio_base_64":"AAEC","event_id":7}}"#,
                ServerEvent::Audio {
                    audio_base_64: "AAEC".into(),
                    event_id: 7,
                },
            ),
            (
                r#"{"type":"ping","ping_event":{"event_id":12,"ping_ms":50}}"#,
                ServerEvent::Ping {
                    event_id: 12,
                    ping_ms: Some(50),
                },
            ),
            (
                r#"{"type":"client_tool_call","client_tool_call":{"tool_name":"transfer","tool_call_id":"tc_1","parameters":{"reason":"billing"}}}"#,
                ServerEvent::ClientToolCall {
                    tool_name: "transfer".into(),
                    tool_call_id: "tc_1".into(),
                    parameters: serde_json::json!({"reason": "billing"}),
                },
            ),
            (
                r#"{"type":"vad_score","vad_score_event":{"vad_score":0.9}}"#,
                ServerEvent::Unknown {
                    kind: "vad_score".into(),
                },
            ),
        ];
        for (text, expected) in frames {
            assert_eq!(ServerEvent::parse(text), Ok(expected.clone()), "{text}");
            assert_eq!(ServerEvent::parse(&expected.to_json()), Ok(expected));
        }
        assert!(ServerEvent::parse(r#"{"type":"audio"}"#).is_err());
        assert!(ServerEvent::parse("not json").is_err());
    }

    #[test]
    fn audio_frames_have_no_type_and_round_trip() {
        let frame = ClientMessage::UserAudioChunk("AAEC/+==".into()).to_json();
        assert_eq!(frame, r#"{"user_audio_chunk":"AAEC/+=="}"#);
        assert_eq!(
            ClientMessage::parse(&frame),
            Ok(ClientMessage::UserAudioChunk("AAEC/+==".into()))
        );
        // Text that is not base64 is still escaped properly, never spliced in raw.
        let odd = ClientMessage::UserAudioChunk("a\"b".into()).to_json();
        assert_eq!(
            ClientMessage::parse(&odd),
            Ok(ClientMessage::UserAudioChunk("a\"b".into()))
        );
    }

    #[test]
    fn init_frame_carries_type_and_dynamic_variables() {
        let init = ConversationInitiation::default()
            .with_variable("customer_name", "Alice")
            .with_variable("amount_due", 42)
            .with_variable("vip", true);
        let json = ClientMessage::ConversationInitiationClientData(init.clone()).to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(value["type"], "conversation_initiation_client_data");
        assert_eq!(value["dynamic_variables"]["customer_name"], "Alice");
        assert_eq!(value["dynamic_variables"]["amount_due"], 42);
        assert_eq!(value["dynamic_variables"]["vip"], true);
        assert_eq!(
            ClientMessage::parse(&json),
            Ok(ClientMessage::ConversationInitiationClientData(init))
        );
    }
}
