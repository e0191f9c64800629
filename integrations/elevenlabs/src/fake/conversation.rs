//! The fake's conversation WebSocket: checks the signature, requires the init frame first,
//! answers `conversation_initiation_metadata`, plays the agent's script, and records every
//! client frame and protocol violation.
//!
//! Two tasks per conversation: a reader that records and checks every client frame as it
//! arrives (so a violation is noticed even while the script waits), and the script runner. They
//! meet in the shared state: the runner registers a ping or tool call as outstanding *before*
//! sending it, and waits on the fake's `Notify` until the reader records the answer.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::sync::oneshot;

use super::{AgentScript, RecordedConversation, Shared, Step, ToolResult};
use crate::models::{ClientMessage, ConversationInitiationMetadata, ServerEvent, ULAW_8000};

/// WebSocket close code for a policy violation (RFC 6455): what the fake answers to a client
/// that does not start with the init frame.
const POLICY_VIOLATION: u16 = 1008;

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"detail": {"status": code, "message": message}});
    (status, Json(body)).into_response()
}

pub(crate) async fn upgrade(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let agent_id = query.get("agent_id").cloned().unwrap_or_default();
    let agent = {
        let state = shared.lock();
        let Some(agent) = state.agents.get(&agent_id).cloned() else {
            return refuse(StatusCode::NOT_FOUND, "agent_not_found", "Agent not found");
        };
        let signed = query
            .get("conversation_signature")
            .is_some_and(|sig| state.signatures.get(sig) == Some(&agent_id));
        if !(signed || agent.public) {
            return refuse(
                StatusCode::FORBIDDEN,
                "invalid_signature",
                "A valid conversation_signature is required for this agent",
            );
        }
        agent
    };
    ws.on_upgrade(move |socket| run(shared, agent, socket))
}

/// What only this conversation's two tasks share.
#[derive(Default)]
struct Live {
    outstanding_pings: BTreeSet<u64>,
    outstanding_tools: BTreeSet<String>,
    heard: Vec<u8>,
    echoed: usize,
}

type Sink = Arc<tokio::sync::Mutex<SplitSink<WebSocket, Message>>>;

#[derive(Clone)]
struct Conv {
    shared: Shared,
    index: usize,
    id: String,
    live: Arc<Mutex<Live>>,
    sink: Sink,
}

impl Conv {
    fn record(&self, f: impl FnOnce(&mut RecordedConversation)) {
        if let Some(conversation) = self.shared.lock().conversations.get_mut(self.index) {
            f(conversation);
        }
        self.shared.changed.notify_waiters();
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn violation(&self, what: String) {
        self.shared.violation(Some(&self.id), what);
    }

    async fn send(&self, event: ServerEvent) -> bool {
        let sent = self
            .sink
            .lock()
            .await
            .send(Message::text(event.to_json()))
            .await
            .is_ok();
        if sent {
            self.record(|c| c.sent.push(event));
        }
        sent
    }

    async fn close(&self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        let mut sink = self.sink.lock().await;
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    }

    /// Waits until `done` holds on the shared state, or `timeout`. `true` if it held.
    async fn wait(&self, timeout: Duration, done: impl Fn(&Conv) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            if done(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return done(self);
            }
        }
    }
}

async fn run(shared: Shared, agent: AgentScript, socket: WebSocket) {
    let (index, id) = {
        let mut state = shared.lock();
        let n = state.next();
        let id = format!("conv_fake_{n}");
        state.conversations.push(RecordedConversation {
            conversation_id: id.clone(),
            agent_id: agent.agent_id.clone(),
            ..RecordedConversation::default()
        });
        (state.conversations.len() - 1, id)
    };
    let (sink, stream) = socket.split();
    let conv = Conv {
        shared,
        index,
        id,
        live: Arc::new(Mutex::new(Live::default())),
        sink: Arc::new(tokio::sync::Mutex::new(sink)),
    };
    let (init_tx, init_rx) = oneshot::channel();
    let reader = tokio::spawn(read_frames(conv.clone(), stream, init_tx));

    match tokio::time::timeout(agent.step_timeout, init_rx).await {
        Ok(Ok(true)) => play(&conv, &agent).await,
        // The reader recorded why (a wrong first frame, or the socket closed).
        Ok(_) => {
            conv.close(
                POLICY_VIOLATION,
                "conversation_initiation_client_data must come first",
            )
            .await
        }
        Err(_) => {
            conv.violation("no conversation_initiation_client_data in time".to_owned());
            conv.close(
                POLICY_VIOLATION,
                "conversation_initiation_client_data must come first",
            )
            .await;
        }
    }
    let _ = reader.await;
    conv.record(|c| c.closed = true);
}

async fn play(conv: &Conv, agent: &AgentScript) {
    let metadata = ServerEvent::ConversationInitiationMetadata(ConversationInitiationMetadata {
        conversation_id: conv.id.clone(),
        agent_output_audio_format: ULAW_8000.to_owned(),
        user_input_audio_format: ULAW_8000.to_owned(),
    });
    if !conv.send(metadata).await {
        return;
    }
    let mut event_id = 0_u64;
    let mut last_audio = 0_u64;
    let mut tool_calls = 0_u64;
    for step in &agent.steps {
        let event = match step {
            Step::Audio(bytes) => {
                event_id += 1;
                last_audio = event_id;
                ServerEvent::Audio {
                    audio_base_64: base64::engine::general_purpose::STANDARD.encode(bytes),
                    event_id,
                }
            }
            Step::AgentResponse(text) => ServerEvent::AgentResponse {
                agent_response: text.clone(),
            },
            Step::AgentResponseCorrection {
                original,
                corrected,
            } => ServerEvent::AgentResponseCorrection {
                original_agent_response: original.clone(),
                corrected_agent_response: corrected.clone(),
            },
            Step::UserTranscript(text) => ServerEvent::UserTranscript {
                user_transcript: text.clone(),
            },
            Step::WaitForAudio(bytes) => {
                let heard = conv
                    .wait(agent.step_timeout, |c| c.live().heard.len() >= *bytes)
                    .await;
                if !heard {
                    let got = conv.live().heard.len();
                    conv.violation(format!("expected {bytes} bytes of user audio, got {got}"));
                }
                continue;
            }
            Step::EchoHeard => {
                let text = {
                    let mut live = conv.live();
                    let start = live.echoed.min(live.heard.len());
                    let text = String::from_utf8_lossy(&live.heard[start..]).into_owned();
                    live.echoed = live.heard.len();
                    text
                };
                ServerEvent::UserTranscript {
                    user_transcript: text,
                }
            }
            Step::Interruption => ServerEvent::Interruption {
                event_id: last_audio,
            },
            Step::Ping { ping_ms } => {
                event_id += 1;
                let id = event_id;
                conv.live().outstanding_pings.insert(id);
                if !conv
                    .send(ServerEvent::Ping {
                        event_id: id,
                        ping_ms: *ping_ms,
                    })
                    .await
                {
                    return;
                }
                let answered = conv
                    .wait(agent.step_timeout, |c| {
                        !c.live().outstanding_pings.contains(&id)
                    })
                    .await;
                if !answered {
                    conv.live().outstanding_pings.remove(&id);
                    conv.violation(format!("no pong for ping {id}"));
                }
                continue;
            }
            Step::ToolCall {
                tool_name,
                parameters,
            } => {
                tool_calls += 1;
                let tool_call_id = format!("tc_{tool_calls}");
                conv.live().outstanding_tools.insert(tool_call_id.clone());
                let call = ServerEvent::ClientToolCall {
                    tool_name: tool_name.clone(),
                    tool_call_id: tool_call_id.clone(),
                    parameters: parameters.clone(),
                };
                if !conv.send(call).await {
                    return;
                }
                let answered = conv
                    .wait(agent.step_timeout, |c| {
                        !c.live().outstanding_tools.contains(&tool_call_id)
                    })
                    .await;
                if !answered {
                    conv.live().outstanding_tools.remove(&tool_call_id);
                    conv.violation(format!("no client_tool_result for {tool_call_id}"));
                }
                continue;
            }
            Step::UnknownEvent(kind) => ServerEvent::Unknown { kind: kind.clone() },
            Step::Raw(text) => {
                let _ = conv
                    .sink
                    .lock()
                    .await
                    .send(Message::text(text.clone()))
                    .await;
                continue;
            }
            Step::Sleep(delay) => {
                tokio::time::sleep(*delay).await;
                continue;
            }
            Step::Close => {
                conv.record(|c| c.script_finished = true);
                conv.close(1000, "").await;
                return;
            }
        };
        if !conv.send(event).await {
            return;
        }
    }
    conv.record(|c| c.script_finished = true);
}

async fn read_frames(
    conv: Conv,
    mut stream: SplitStream<WebSocket>,
    init_tx: oneshot::Sender<bool>,
) {
    let mut init_tx = Some(init_tx);
    while let Some(Ok(message)) = stream.next().await {
        let text = match message {
            Message::Text(text) => text.as_str().to_owned(),
            Message::Close(_) => break,
            Message::Binary(_) => {
                conv.violation("binary frame (the protocol is JSON text)".to_owned());
                continue;
            }
            _ => continue,
        };
        let parsed = match ClientMessage::parse(&text) {
            Ok(parsed) => parsed,
            Err(e) => {
                conv.violation(format!("unreadable client frame: {e}"));
                continue;
            }
        };
        if let Some(tx) = init_tx.take() {
            if let ClientMessage::ConversationInitiationClientData(init) = &parsed {
                let init = init.clone();
                conv.record(|c| {
                    c.init = Some(init);
                    c.client_frames.push(parsed);
                });
                let _ = tx.send(true);
                continue;
            }
            let what = match &parsed {
                ClientMessage::UserAudioChunk(_) => "audio before init".to_owned(),
                other => format!("{} before init", kind_of(other)),
            };
            conv.violation(what);
            conv.record(|c| c.client_frames.push(parsed));
            let _ = tx.send(false);
            // The runner closes with 1008; keep draining until the client goes.
            continue;
        }
        handle(&conv, parsed);
    }
    // The socket is gone: a runner still waiting for init must not wait out its timeout.
    if let Some(tx) = init_tx.take() {
        conv.violation("closed before conversation_initiation_client_data".to_owned());
        let _ = tx.send(false);
    }
}

fn kind_of(message: &ClientMessage) -> String {
    match message {
        ClientMessage::ConversationInitiationClientData(_) => "conversation_initiation_client_data",
        ClientMessage::UserAudioChunk(_) => "user_audio_chunk",
        ClientMessage::Pong { .. } => "pong",
        ClientMessage::ClientToolResult { .. } => "client_tool_result",
        ClientMessage::UserMessage { .. } => "user_message",
        ClientMessage::ContextualUpdate { .. } => "contextual_update",
        ClientMessage::UserActivity => "user_activity",
        ClientMessage::Unknown { kind } => return format!("unknown frame '{kind}'"),
    }
    .to_owned()
}

fn handle(conv: &Conv, message: ClientMessage) {
    let mut violation = None;
    match &message {
        ClientMessage::ConversationInitiationClientData(_) => {
            violation = Some("a second conversation_initiation_client_data".to_owned());
        }
        ClientMessage::UserAudioChunk(b64) => {
            match base64::engine::general_purpose::STANDARD.decode(b64) {
                Ok(bytes) => conv.live().heard.extend_from_slice(&bytes),
                Err(_) => violation = Some("user_audio_chunk is not base64".to_owned()),
            }
            let b64 = b64.clone();
            conv.record(|c| c.user_audio_chunks.push(b64));
        }
        ClientMessage::Pong { event_id } => {
            if conv.live().outstanding_pings.remove(event_id) {
                let id = *event_id;
                conv.record(|c| c.pongs.push(id));
            } else {
                violation = Some(format!(
                    "pong for event_id {event_id}, which was not pinged"
                ));
            }
        }
        ClientMessage::ClientToolResult {
            tool_call_id,
            result,
            is_error,
        } => {
            if conv.live().outstanding_tools.remove(tool_call_id) {
                let recorded = ToolResult {
                    tool_call_id: tool_call_id.clone(),
                    result: result.clone(),
                    is_error: *is_error,
                };
                conv.record(|c| c.tool_results.push(recorded));
            } else {
                violation = Some(format!(
                    "client_tool_result for tool_call_id '{tool_call_id}', which was not called"
                ));
            }
        }
        ClientMessage::UserMessage { text } => {
            let text = text.clone();
            conv.record(|c| c.user_messages.push(text));
        }
        ClientMessage::ContextualUpdate { text } => {
            let text = text.clone();
            conv.record(|c| c.contextual_updates.push(text));
        }
        ClientMessage::UserActivity => conv.record(|c| c.user_activity += 1),
        ClientMessage::Unknown { .. } => {
            violation = Some(format!("{} from the client", kind_of(&message)));
        }
    }
    conv.record(|c| c.client_frames.push(message));
    if let Some(what) = violation {
        conv.violation(what);
    }
}
