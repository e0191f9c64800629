//! The bridge: one Twilio Media Stream relayed to one ElevenLabs conversation, in real time.
//!
//! [`Bridge::run`] takes Twilio's side as a stream of text frames in and a sink of text frames
//! out, so it runs over the HTTP server's WebSocket, a test's channels, or a benchmark's, alike.
//!
//! 1. **Admission.** The first frames must be `connected` and `start` (within
//!    [`START_TIMEOUT`]); `start.customParameters.token` must be a valid media-stream token for
//!    this very `CallSid`, the call must exist and not be over, and its one stream must not be
//!    claimed yet (a replayed token opens nothing). Otherwise the socket is closed and nothing
//!    else happens: no conversation, no write.
//! 2. **Conversation.** The tenant's inbound agent (its outbound agent on a call we placed to a
//!    lead; `caller_*` then name the callee), through a fresh signed URL, with the dynamic
//!    variables `agent_name`, `dealership_name`, `caller_name`, `caller_phone`, `lead_status`,
//!    `lead_notes`, `caller_known`. If it cannot be opened the caller is handed to the human
//!    operator instead of hearing silence.
//! 3. **Relay.** Caller audio goes out as `user_audio_chunk` carrying Twilio's base64 payload
//!    untouched; agent `audio` comes back as Twilio `media` carrying the agent's base64
//!    untouched (μ-law 8 kHz both ways: the agent is configured `ulaw_8000`). `interruption`
//!    becomes `clear` (the crate's gate also drops the interrupted turn's late audio). Pings are
//!    answered by the crate. Transcript lines are stored and published by a separate task, so a
//!    slow database never delays audio. Tool calls run on their own tasks for the same reason.
//! 4. **End.** When either side ends, the other is closed: `stop` or a dropped Twilio socket
//!    closes the conversation; the conversation's end closes the Twilio socket.

use std::time::{Duration, Instant};

use futures::{Sink, SinkExt, Stream, StreamExt};
use leadline_domain::ids::TenantId;
use leadline_elevenlabs::models::ServerEvent;
use leadline_elevenlabs::{ConversationInitiation, ConversationOptions};
use leadline_twilio::media_stream::{Inbound, Outbound, StartInfo};
use leadline_twilio::UpdateCall;
use serde_json::json;
use tokio::sync::mpsc;

use super::outbound::outbound_agent_id;
use super::tools::{run_tool, ToolCall};
use super::{dial_operator, elevenlabs_client, inbound_agent_id, twilio_client, TOKEN_PARAMETER};
use crate::state::AppState;

/// How long Twilio has to send `start` after connecting.
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Transcript lines waiting for the database; beyond it lines are dropped (and counted) rather
/// than slowing the call.
const TRANSCRIPT_BUFFER: usize = 256;

/// How a bridged stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeEnd {
    /// Refused before anything was opened (why, for the log).
    Refused(&'static str),
    /// Twilio said `stop` or closed the socket (the caller hung up, or a transfer ended the
    /// stream).
    TwilioEnded,
    /// The agent ended the conversation.
    AgentEnded,
    /// The conversation could not be opened; the caller was sent to the operator.
    AgentUnavailable,
}

/// The bridge's shared parts (cheap to clone).
#[derive(Clone)]
pub struct Bridge {
    state: AppState,
}

/// An admitted stream.
struct Admitted {
    tool_call: ToolCall,
    stream_sid: String,
}

impl Bridge {
    /// A bridge over the app's state (store, tokens, bus, config).
    pub fn new(state: AppState) -> Self {
        Self { state }
    }

    /// Reads `connected`/`start` and checks the token; `None` refuses the stream.
    async fn admit<I>(&self, incoming: &mut I) -> Result<Admitted, &'static str>
    where
        I: Stream<Item = String> + Unpin,
    {
        let start = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(text) = incoming.next().await {
                match Inbound::parse(&text) {
                    Ok(Inbound::Connected { .. }) | Ok(Inbound::Unknown) => continue,
                    Ok(Inbound::Start { start, .. }) => return Ok(start),
                    Ok(_) => return Err("media before start"),
                    Err(_) => return Err("unreadable frame before start"),
                }
            }
            Err("closed before start")
        })
        .await
        .map_err(|_| "no start in time")??;
        let StartInfo {
            call_sid,
            stream_sid,
            custom_parameters,
            media_format,
            ..
        } = start;
        if !media_format.is_mulaw_8k_mono() {
            return Err("not μ-law 8 kHz mono");
        }
        let token = custom_parameters
            .get(TOKEN_PARAMETER)
            .ok_or("no call token")?;
        let claims = self
            .state
            .tokens
            .verify_media_stream(token)
            .map_err(|_| "invalid or expired call token")?;
        if claims.csid != call_sid {
            return Err("the token is for another call");
        }
        let tenant_id = TenantId(claims.tid);
        let claimed = self
            .state
            .store
            .claim_media_stream(tenant_id, claims.sub, &stream_sid)
            .await
            .map_err(|_| "the call is gone")?;
        if !claimed {
            return Err("the call's stream was opened already");
        }
        Ok(Admitted {
            tool_call: ToolCall {
                tenant_id,
                call_id: claims.sub,
                call_sid,
            },
            stream_sid,
        })
    }

    /// The init frame: who is calling and who answers.
    async fn initiation(
        &self,
        call: &ToolCall,
    ) -> crate::error::ApiResult<(String, ConversationInitiation)> {
        let store = &self.state.store;
        let tenant = store.tenant(call.tenant_id).await?;
        let row = store.call(call.tenant_id, call.call_id).await?;
        let lead = match row.lead_id {
            Some(id) => store.lead(call.tenant_id, id).await.ok(),
            None => None,
        };
        // The call we placed talks to the outbound agent; the callee is the lead we rang.
        let outbound = row.direction == "OUTBOUND";
        let agent_id = if outbound {
            outbound_agent_id(&tenant)
        } else {
            inbound_agent_id(&tenant)
        }
        .ok_or_else(|| crate::error::ApiError::Conflict("no agent is set for this call".into()))?
        .to_owned();
        let their_number = if outbound {
            Some(row.to_number.clone())
        } else {
            row.from_number.clone()
        };
        // A lead created for this call is named after its number: not a name to greet with.
        let caller_name = lead
            .as_ref()
            .map(|l| l.name.clone())
            .filter(|name| Some(name.as_str()) != their_number.as_deref())
            .unwrap_or_default();
        let init = ConversationInitiation::default()
            .with_variable(
                "agent_name",
                tenant
                    .agent_name
                    .clone()
                    .unwrap_or_else(|| "Alex".to_owned()),
            )
            .with_variable(
                "dealership_name",
                tenant
                    .dealership_name
                    .clone()
                    .unwrap_or_else(|| tenant.name.clone()),
            )
            .with_variable("caller_known", !caller_name.is_empty())
            .with_variable("caller_name", caller_name)
            .with_variable("caller_phone", their_number.unwrap_or_default())
            .with_variable(
                "lead_status",
                lead.as_ref().map(|l| l.status.clone()).unwrap_or_default(),
            )
            .with_variable(
                "lead_notes",
                lead.as_ref()
                    .and_then(|l| l.notes.clone())
                    .map(|n| n.chars().take(500).collect::<String>())
                    .unwrap_or_default(),
            );
        Ok((agent_id, init))
    }

    /// Sends the caller to the operator when the agent cannot take the call.
    async fn hand_to_operator(&self, call: &ToolCall) {
        let result = async {
            let tenant = self.state.store.tenant(call.tenant_id).await?;
            let twiml = dial_operator(&tenant).to_xml();
            twilio_client(&self.state)?
                .update_call(&call.call_sid, &UpdateCall::Twiml(twiml))
                .await
                .map_err(|e| crate::error::ApiError::Unavailable(e.to_string()))?;
            if let Some(number) = tenant.human_operator_number {
                let (saved, entry) = self
                    .state
                    .store
                    .mark_call_transferred(
                        call.tenant_id,
                        call.call_id,
                        &number,
                        Some("the AI agent was unavailable".into()),
                    )
                    .await?;
                super::publish(&self.state, &saved, entry);
            }
            Ok::<_, crate::error::ApiError>(())
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(error = ?error, call = %call.call_id, "could not hand an unanswered call to the operator");
        }
    }

    /// Runs one stream to its end. `incoming` yields Twilio's text frames; `outgoing` takes the
    /// frames for Twilio and is closed when the bridge ends.
    pub async fn run<I, O>(&self, mut incoming: I, mut outgoing: O) -> BridgeEnd
    where
        I: Stream<Item = String> + Unpin + Send,
        O: Sink<String> + Unpin + Send,
        O::Error: std::fmt::Display,
    {
        let admitted = match self.admit(&mut incoming).await {
            Ok(admitted) => admitted,
            Err(why) => {
                metrics::counter!("leadline_phone_agent_streams_total", "outcome" => "refused")
                    .increment(1);
                tracing::info!(why, "media stream refused");
                let _ = outgoing.close().await;
                return BridgeEnd::Refused(why);
            }
        };
        let call = admitted.tool_call;
        let stream_sid = admitted.stream_sid;
        let opened = async {
            let (agent_id, init) = self.initiation(&call).await?;
            let client = elevenlabs_client(&self.state)?;
            client
                .connect_agent(&agent_id, &init, ConversationOptions::default())
                .await
                .map_err(|e| crate::error::ApiError::Unavailable(e.to_string()))
        }
        .await;
        let conversation = match opened {
            Ok(conversation) => conversation,
            Err(error) => {
                metrics::counter!("leadline_phone_agent_streams_total", "outcome" => "agent_unavailable")
                    .increment(1);
                tracing::warn!(error = ?error, call = %call.call_id, "the agent's conversation could not be opened");
                self.hand_to_operator(&call).await;
                let _ = outgoing.close().await;
                return BridgeEnd::AgentUnavailable;
            }
        };
        if let Err(error) = self
            .state
            .store
            .set_agent_conversation(call.tenant_id, call.call_id, conversation.conversation_id())
            .await
        {
            tracing::warn!(error = ?error, call = %call.call_id, "the conversation id was not stored");
        }
        metrics::counter!("leadline_phone_agent_streams_total", "outcome" => "bridged")
            .increment(1);
        let (sender, mut receiver) = conversation.split();

        // Transcript lines: stored and published off the audio path.
        let (lines_tx, mut lines_rx) = mpsc::channel::<serde_json::Value>(TRANSCRIPT_BUFFER);
        let persister = {
            let state = self.state.clone();
            let call = call.clone();
            tokio::spawn(async move {
                while let Some(line) = lines_rx.recv().await {
                    if let Err(error) = crate::services::calls::append_transcript(
                        &state,
                        call.tenant_id,
                        call.call_id,
                        vec![line],
                    )
                    .await
                    {
                        tracing::warn!(error = ?error, call = %call.call_id, "a transcript line was not stored");
                    }
                }
            })
        };
        let line = |speaker: &str, text: &str| {
            let sent = lines_tx.try_send(json!({
                "speaker": speaker,
                "text": text,
                "at": chrono::Utc::now().to_rfc3339(),
            }));
            if sent.is_err() {
                metrics::counter!("leadline_phone_agent_transcript_dropped_total").increment(1);
            }
        };

        // Caller → agent.
        let upstream = {
            let sender = sender.clone();
            async move {
                while let Some(text) = incoming.next().await {
                    match Inbound::parse(&text) {
                        Ok(Inbound::Media { media, .. }) => {
                            match sender.send_audio_base64(&media.payload).await {
                                Ok(()) => {}
                                Err(leadline_elevenlabs::Error::Closed) => break,
                                // A payload that is not base64 is dropped, not the call.
                                Err(error) => tracing::debug!(%error, "dropping a media frame"),
                            }
                        }
                        Ok(Inbound::Stop { .. }) => break,
                        Ok(Inbound::Dtmf { dtmf, .. }) => {
                            let _ = sender
                                .contextual_update(&format!("The caller pressed {}.", dtmf.digit))
                                .await;
                        }
                        // `connected`, `start` again, marks, future events: nothing to relay.
                        Ok(_) => {}
                        Err(error) => {
                            tracing::debug!(%error, "skipping an unreadable media-stream frame")
                        }
                    }
                }
            }
        };

        // Agent → caller.
        let downstream = async {
            loop {
                let event = match receiver.recv().await {
                    Ok(Some(event)) => event,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::info!(%error, call = %call.call_id, "the agent's conversation failed");
                        break;
                    }
                };
                let frame = match event {
                    ServerEvent::Audio { audio_base_64, .. } => {
                        Outbound::media_base64(&stream_sid, audio_base_64).to_json()
                    }
                    ServerEvent::Interruption { .. } => Outbound::clear(&stream_sid).to_json(),
                    ServerEvent::AgentResponse { agent_response } => {
                        line("AGENT", &agent_response);
                        continue;
                    }
                    ServerEvent::UserTranscript { user_transcript } => {
                        line("CUSTOMER", &user_transcript);
                        continue;
                    }
                    ServerEvent::AgentResponseCorrection {
                        corrected_agent_response,
                        ..
                    } => {
                        line(
                            "AGENT",
                            &format!("(interrupted) {corrected_agent_response}"),
                        );
                        continue;
                    }
                    ServerEvent::ClientToolCall {
                        tool_name,
                        tool_call_id,
                        parameters,
                    } => {
                        let state = self.state.clone();
                        let call = call.clone();
                        let sender = sender.clone();
                        tokio::spawn(async move {
                            let started = Instant::now();
                            let (result, is_error) =
                                run_tool(&state, &call, &tool_name, &parameters).await;
                            // A bounded label: the tool name comes from the agent.
                            let label = match tool_name.as_str() {
                                super::SCHEDULE_APPOINTMENT => super::SCHEDULE_APPOINTMENT,
                                super::TRANSFER_TO_HUMAN => super::TRANSFER_TO_HUMAN,
                                _ => "unknown",
                            };
                            metrics::histogram!("leadline_phone_agent_tool_seconds", "tool" => label)
                                .record(started.elapsed().as_secs_f64());
                            if let Err(error) = sender
                                .client_tool_result(&tool_call_id, result, is_error)
                                .await
                            {
                                tracing::info!(%error, tool = %tool_name, "a tool result could not be sent");
                            }
                        });
                        continue;
                    }
                    // Pings are answered by the receiver; metadata and unknown events need nothing.
                    _ => continue,
                };
                if let Err(error) = outgoing.send(frame).await {
                    tracing::info!(%error, call = %call.call_id, "the Twilio side went away");
                    break;
                }
            }
        };

        let end = tokio::select! {
            _ = upstream => BridgeEnd::TwilioEnded,
            _ = downstream => BridgeEnd::AgentEnded,
        };
        // Close both sides, whichever ended: the conversation after what is queued, Twilio's
        // socket with a close frame.
        let _ = sender.close().await;
        drop(sender);
        let _ = outgoing.close().await;
        drop(lines_tx);
        let _ = persister.await;
        tracing::info!(call = %call.call_id, end = ?end, "media stream ended");
        end
    }
}
