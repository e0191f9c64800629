//! The fake's webhook half: post-call webhooks signed exactly as ElevenLabs signs them
//! (`ElevenLabs-Signature: t=<unix s>,v0=hex(HMAC-SHA256(secret, t + "." + body))`), and a
//! `post_call_transcription` body built from a recorded conversation.

use super::{FakeElevenLabs, RecordedConversation};
use crate::models::ServerEvent;
use crate::webhook::{signature_header, SIGNATURE_HEADER};

/// Why the fake could not deliver something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FakeError {
    /// The POST did not reach the receiver.
    #[error("webhook delivery failed: {0}")]
    Delivery(String),
}

impl FakeElevenLabs {
    /// Posts `body` to `url` signed with the fake's webhook secret at `timestamp` (unix
    /// seconds); returns the HTTP status the receiver answered.
    pub async fn post_webhook(
        &self,
        url: &str,
        body: &[u8],
        timestamp: i64,
    ) -> Result<u16, FakeError> {
        let header = signature_header(&self.shared.webhook_secret, timestamp, body);
        self.post_webhook_with_header(url, body, Some(&header))
            .await
    }

    /// Posts `body` with any `ElevenLabs-Signature` value (or none): forged, stale, tampered.
    pub async fn post_webhook_with_header(
        &self,
        url: &str,
        body: &[u8],
        header: Option<&str>,
    ) -> Result<u16, FakeError> {
        let mut request = self
            .http
            .post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(header) = header {
            request = request.header(SIGNATURE_HEADER, header);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FakeError::Delivery(e.to_string()))?;
        Ok(response.status().as_u16())
    }

    /// A `post_call_transcription` body for a recorded conversation: the agent's responses and
    /// what the user was heard to say as the transcript, `status: "done"`, and a short analysis.
    pub fn post_call_transcription(
        &self,
        conversation: &RecordedConversation,
        event_timestamp: i64,
    ) -> Vec<u8> {
        let mut transcript = Vec::new();
        for (turn, event) in conversation.sent.iter().enumerate() {
            let (role, message) = match event {
                ServerEvent::AgentResponse { agent_response } => ("agent", agent_response),
                ServerEvent::UserTranscript { user_transcript } => ("user", user_transcript),
                _ => continue,
            };
            transcript.push(serde_json::json!({
                "role": role,
                "message": message,
                "time_in_call_secs": turn,
            }));
        }
        let body = serde_json::json!({
            "type": "post_call_transcription",
            "event_timestamp": event_timestamp,
            "data": {
                "agent_id": conversation.agent_id,
                "conversation_id": conversation.conversation_id,
                "status": "done",
                "transcript": transcript,
                "metadata": {
                    "start_time_unix_secs": event_timestamp,
                    "call_duration_secs": conversation.sent.len(),
                },
                "analysis": {
                    "transcript_summary": "A scripted conversation with the fake agent.",
                    "call_successful": "success",
                    "data_collection_results": {},
                    "evaluation_criteria_results": {},
                },
                "conversation_initiation_client_data": {
                    "dynamic_variables": conversation.dynamic_variables(),
                },
            },
        });
        body.to_string().into_bytes()
    }
}
