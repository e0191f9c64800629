//! What we send on the conversation WebSocket: the init frame with its dynamic variables and overrides, audio chunks, pongs and tool results.

use super::*;

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
