//! Agent dispatches: `CreateDispatch`/`ListDispatch` and their state.

use super::*;

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
