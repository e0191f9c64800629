//! Post-call webhooks: [`PostCallEvent`]; partly UNCONFIRMED fields, so all optional and the raw `data` kept.

use super::*;

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
