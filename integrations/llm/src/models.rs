//! Serde mirrors of the two wire formats (platforms.md §10), shared by the clients and the fakes.
//!
//! They mirror only what Leadline sends and reads. Enums the provider may extend (stop reasons,
//! finish reasons, content block types, roles) carry an `Unknown` catch-all so a new value never
//! breaks decoding; optional response fields default when absent. Nothing here decides what an
//! answer means: that is `analysis.rs`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Anthropic Messages API (`POST /v1/messages`).
pub mod anthropic {
    use super::*;

    /// The request body.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct MessagesRequest {
        /// Model name, e.g. `claude-sonnet-4-5`.
        pub model: String,
        /// Output token budget (required by the API).
        pub max_tokens: u32,
        /// The system prompt (a string; the API also accepts a text-block array).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub system: Option<String>,
        /// The conversation, starting with a user turn.
        pub messages: Vec<Message>,
        /// Sampling temperature, 0..=1 for Anthropic.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub temperature: Option<f32>,
        /// Tools the model may (or must) call.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub tools: Vec<Tool>,
        /// How the model must use the tools.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tool_choice: Option<ToolChoice>,
    }

    /// One turn of the conversation.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Message {
        /// `user` or `assistant`.
        pub role: Role,
        /// A plain string or a list of content blocks.
        pub content: MessageContent,
    }

    /// Who speaks a turn.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        /// The customer side (our prompt).
        User,
        /// The model.
        Assistant,
        /// A role this crate does not know.
        #[serde(other)]
        Unknown,
    }

    /// Message content: the API accepts either form.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    pub enum MessageContent {
        /// Shorthand for one text block.
        Text(String),
        /// Explicit blocks.
        Blocks(Vec<ContentBlock>),
    }

    /// A content block of a request or response.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ContentBlock {
        /// Plain text.
        Text {
            /// The text.
            text: String,
        },
        /// The model calls a tool; `input` follows the tool's `input_schema`.
        ToolUse {
            /// `toolu_...`.
            id: String,
            /// The tool's name.
            name: String,
            /// The arguments, a JSON object.
            input: Value,
        },
        /// Our answer to a tool call, in the next user turn.
        ToolResult {
            /// The `id` of the `tool_use` block answered.
            tool_use_id: String,
            /// The result.
            content: String,
            /// Whether the tool failed.
            #[serde(default)]
            is_error: bool,
        },
        /// Block types this crate ignores (thinking, server_tool_use, ...).
        #[serde(other)]
        Unknown,
    }

    /// A tool definition.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Tool {
        /// `[a-zA-Z0-9_-]{1,64}`.
        pub name: String,
        /// What the tool is for; the model reads it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// JSON Schema of the input (an object schema).
        pub input_schema: Value,
    }

    /// `tool_choice`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ToolChoice {
        /// The model decides.
        Auto,
        /// The model must call some tool.
        Any,
        /// The model must call this tool (how Leadline forces structured output).
        Tool {
            /// The tool's name.
            name: String,
        },
        /// The model must not call tools.
        None,
    }

    /// The response body of a successful call.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct MessagesResponse {
        /// `msg_...`.
        pub id: String,
        /// Always `message`.
        #[serde(rename = "type", default)]
        pub kind: String,
        /// Always `assistant`.
        pub role: Role,
        /// The model that answered (may be a dated snapshot name).
        pub model: String,
        /// Text and tool-use blocks, in order.
        pub content: Vec<ContentBlock>,
        /// Why generation stopped.
        #[serde(default)]
        pub stop_reason: Option<StopReason>,
        /// The stop sequence hit, if any.
        #[serde(default)]
        pub stop_sequence: Option<String>,
        /// Token counts.
        pub usage: Usage,
    }

    /// `stop_reason`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum StopReason {
        /// Natural end.
        EndTurn,
        /// Output budget exhausted: the answer is partial.
        MaxTokens,
        /// A stop sequence was hit.
        StopSequence,
        /// The model called a tool.
        ToolUse,
        /// A long-running turn was paused.
        PauseTurn,
        /// The model refused.
        Refusal,
        /// The context window is full.
        ModelContextWindowExceeded,
        /// A reason this crate does not know.
        #[serde(other)]
        Unknown,
    }

    /// `usage` of a response.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
    pub struct Usage {
        /// Prompt tokens.
        pub input_tokens: u64,
        /// Generated tokens.
        pub output_tokens: u64,
        /// Tokens written to the prompt cache (Leadline does not enable caching).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cache_creation_input_tokens: Option<u64>,
        /// Tokens read from the prompt cache.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub cache_read_input_tokens: Option<u64>,
    }

    /// The error body: `{"type":"error","error":{"type":..,"message":..},"request_id":..}`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ErrorResponse {
        /// Always `error`.
        #[serde(rename = "type", default)]
        pub kind: String,
        /// The error itself.
        pub error: ErrorDetail,
        /// `req_...`, when sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub request_id: Option<String>,
    }

    /// `error` of an error body. The type stays a string: new types must not break decoding.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ErrorDetail {
        /// `invalid_request_error`, `authentication_error`, `rate_limit_error`,
        /// `overloaded_error`, ...
        #[serde(rename = "type")]
        pub kind: String,
        /// Human-readable text.
        #[serde(default)]
        pub message: String,
    }
}

/// OpenAI Chat Completions API (`POST /v1/chat/completions`).
pub mod openai {
    use super::*;

    /// The request body.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ChatRequest {
        /// Model name, e.g. `gpt-4o-mini`.
        pub model: String,
        /// The conversation (system first).
        pub messages: Vec<ChatMessage>,
        /// Output token budget (the current name; `max_tokens` is deprecated).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_completion_tokens: Option<u32>,
        /// Sampling temperature, 0..=2.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub temperature: Option<f32>,
        /// Output format; Leadline uses `json_schema` with `strict: true`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub response_format: Option<ResponseFormat>,
    }

    /// One message of the conversation.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ChatMessage {
        /// Who speaks.
        pub role: ChatRole,
        /// The text (null on assistant tool-call turns).
        #[serde(default)]
        pub content: Option<String>,
    }

    /// `role` of a message.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum ChatRole {
        /// Instructions.
        System,
        /// Instructions (newer name for system on reasoning models).
        Developer,
        /// Our prompt.
        User,
        /// The model.
        Assistant,
        /// A tool result.
        Tool,
        /// A role this crate does not know.
        #[serde(other)]
        Unknown,
    }

    /// `response_format`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ResponseFormat {
        /// Free text.
        Text,
        /// Any JSON object.
        JsonObject,
        /// JSON matching a schema.
        JsonSchema {
            /// The schema and its name.
            json_schema: JsonSchemaFormat,
        },
    }

    /// `response_format.json_schema`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct JsonSchemaFormat {
        /// `[a-zA-Z0-9_-]{1,64}`.
        pub name: String,
        /// What the output is for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
        /// The JSON Schema. With `strict`, every object needs `additionalProperties: false` and
        /// all its properties required.
        pub schema: Value,
        /// Constrained decoding on.
        #[serde(default)]
        pub strict: bool,
    }

    /// The response body of a successful call.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ChatCompletion {
        /// `chatcmpl-...`.
        pub id: String,
        /// Always `chat.completion`.
        #[serde(default)]
        pub object: String,
        /// Unix seconds.
        #[serde(default)]
        pub created: i64,
        /// The model that answered (often a dated snapshot name).
        pub model: String,
        /// The answers; Leadline asks for one.
        pub choices: Vec<Choice>,
        /// Token counts (absent on some error-ish answers).
        #[serde(default)]
        pub usage: Option<Usage>,
    }

    /// One answer.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Choice {
        /// Position in `choices`.
        #[serde(default)]
        pub index: u32,
        /// Why generation stopped.
        #[serde(default)]
        pub finish_reason: Option<FinishReason>,
        /// The assistant message.
        pub message: AssistantMessage,
    }

    /// The assistant message of a choice.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct AssistantMessage {
        /// Always `assistant`.
        pub role: ChatRole,
        /// The text; for `json_schema` output, the JSON as a string.
        #[serde(default)]
        pub content: Option<String>,
        /// Set instead of `content` when the model refuses.
        #[serde(default)]
        pub refusal: Option<String>,
        /// Tool calls, when tools were offered (Leadline does not offer any).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub tool_calls: Option<Vec<ToolCall>>,
    }

    /// A tool call of an assistant message.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ToolCall {
        /// `call_...`.
        pub id: String,
        /// Always `function`.
        #[serde(rename = "type", default)]
        pub kind: String,
        /// The call.
        pub function: FunctionCall,
    }

    /// `tool_calls[].function`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct FunctionCall {
        /// The function's name.
        pub name: String,
        /// The arguments as a JSON string, which may be invalid JSON.
        pub arguments: String,
    }

    /// `finish_reason`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum FinishReason {
        /// Natural end.
        Stop,
        /// Output budget exhausted: the answer is partial.
        Length,
        /// The model called tools.
        ToolCalls,
        /// Output withheld by the content filter.
        ContentFilter,
        /// Legacy function call.
        FunctionCall,
        /// A reason this crate does not know.
        #[serde(other)]
        Unknown,
    }

    /// `usage` of a response.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
    pub struct Usage {
        /// Input tokens.
        pub prompt_tokens: u64,
        /// Output tokens.
        pub completion_tokens: u64,
        /// Their sum.
        #[serde(default)]
        pub total_tokens: u64,
    }

    /// The error body: `{"error":{"message":..,"type":..,"param":..,"code":..}}`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ErrorResponse {
        /// The error itself.
        pub error: ErrorDetail,
    }

    /// `error` of an error body; `param` and `code` are nullable.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    pub struct ErrorDetail {
        /// Human-readable text.
        #[serde(default)]
        pub message: String,
        /// `invalid_request_error`, `server_error`, ...
        #[serde(rename = "type", default)]
        pub kind: Option<String>,
        /// The offending parameter.
        #[serde(default)]
        pub param: Option<String>,
        /// `invalid_api_key`, `rate_limit_exceeded`, `insufficient_quota`, ...
        #[serde(default)]
        pub code: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_response_of_platforms_md_decodes_and_unknown_values_are_tolerated(
    ) -> serde_json::Result<()> {
        let body = r#"{"id":"msg_01","type":"message","role":"assistant","model":"claude-x",
            "content":[{"type":"thinking","thinking":"hm"},{"type":"text","text":".."},
                       {"type":"tool_use","id":"toolu_01A","name":"lookup_order","input":{"order_id":"42"}}],
            "stop_reason":"some_future_reason","stop_sequence":null,
            "usage":{"input_tokens":512,"output_tokens":64,"cache_creation_input_tokens":0,"cache_read_input_tokens":0}}"#;
        let response: anthropic::MessagesResponse = serde_json::from_str(body)?;
        assert_eq!(response.content[0], anthropic::ContentBlock::Unknown);
        assert_eq!(response.stop_reason, Some(anthropic::StopReason::Unknown));
        assert_eq!(response.usage.input_tokens, 512);
        assert!(
            matches!(&response.content[2], anthropic::ContentBlock::ToolUse { name, .. } if name == "lookup_order")
        );
        Ok(())
    }

    #[test]
    fn anthropic_request_serializes_tool_choice_and_skips_empty_fields() -> serde_json::Result<()> {
        let request = anthropic::MessagesRequest {
            model: "m".into(),
            max_tokens: 10,
            system: None,
            messages: vec![anthropic::Message {
                role: anthropic::Role::User,
                content: anthropic::MessageContent::Text("hi".into()),
            }],
            temperature: None,
            tools: Vec::new(),
            tool_choice: Some(anthropic::ToolChoice::Tool { name: "t".into() }),
        };
        let json = serde_json::to_value(&request)?;
        assert_eq!(
            json,
            serde_json::json!({"model":"m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],
                               "tool_choice":{"type":"tool","name":"t"}})
        );
        Ok(())
    }

    #[test]
    fn openai_response_of_platforms_md_decodes() -> serde_json::Result<()> {
        let body = r#"{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",
            "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"refusal":null,
            "tool_calls":[{"id":"call_abc","type":"function","function":{"name":"lookup_order","arguments":"{\"order_id\":\"42\"}"}}]}}],
            "usage":{"prompt_tokens":100,"completion_tokens":20,"total_tokens":120}}"#;
        let response: openai::ChatCompletion = serde_json::from_str(body)?;
        assert_eq!(
            response.choices[0].finish_reason,
            Some(openai::FinishReason::ToolCalls)
        );
        assert_eq!(response.usage.map(|u| u.total_tokens), Some(120));
        let error: openai::ErrorResponse = serde_json::from_str(
            r#"{"error":{"message":"..","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        )?;
        assert_eq!(error.error.code.as_deref(), Some("context_length_exceeded"));
        Ok(())
    }
}
