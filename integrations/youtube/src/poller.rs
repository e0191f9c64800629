//! `LiveChatPoller`: reads one live chat page after page, the way platforms.md §1 prescribes —
//! the first call returns the history, every later call passes the last `nextPageToken` and
//! comes no sooner than the last `pollingIntervalMillis` after the previous answer.
//!
//! Two halves:
//! - a pure state machine (`next_step`, `on_page`, `on_error`) that takes `now` as an argument
//!   and says what to do: fetch with this token, wait until this instant, or stop;
//! - an async driver (`poll`) that sleeps with `tokio::time::sleep_until` and calls the client.
//!   Time is tokio's clock, so tests run it under `tokio::time::pause` and never really sleep.
//!
//! Invariants: a page token that was answered is never sent again (the poller only moves
//! forward); no request is made before the instant the API allowed; after an offline marker, a
//! `chatEndedEvent` or a final error the poller makes no more requests. It does not retry on its
//! own — `poll` returns the error and the supervisor decides — and it does not count quota: every
//! `poll` that returns `Err`, or `Ok` with `requested == true`, made exactly one
//! `liveChatMessages.list` call for the caller to charge to its quota counter (the api counts it
//! across replicas: `services::live::budget`).

use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Client, Credentials, ListMessagesRequest};
use crate::error::YoutubeError;
use crate::models::{LiveChatMessage, LiveChatMessageListResponse, MessageType};

/// Tuning for a poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerConfig {
    /// The wait used when a page carries no `pollingIntervalMillis`.
    pub default_interval: Duration,
    /// A floor under the API's interval: an answer of 0 ms (seen while a stream goes offline)
    /// must not turn into a busy loop burning 5 units a call.
    pub min_interval: Duration,
    /// `maxResults` (200..=2000); `None` keeps the API default of 500.
    pub max_results: Option<u32>,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(5),
            min_interval: Duration::from_secs(1),
            max_results: None,
        }
    }
}

/// Why a poller stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEnd {
    /// The page carried `offlineAt` (RFC 3339): the stream went offline.
    Offline {
        /// When.
        offline_at: String,
    },
    /// The page carried a `chatEndedEvent`.
    ChatEnded,
    /// A final error: chat gone or ended, credentials refused, quota spent, or a request the API
    /// will refuse again (e.g. `invalidPageToken`).
    Failed(YoutubeError),
}

/// What the state machine wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollStep {
    /// Send this request now.
    Fetch(ListMessagesRequest),
    /// Not before this instant.
    WaitUntil(Instant),
    /// Finished; make no more requests.
    Stopped(ChatEnd),
}

/// The result of one `poll`.
#[derive(Debug, Clone, PartialEq)]
pub struct PollBatch {
    /// New messages, oldest first (all types; filter with `MessageType::is_viewer_text`).
    pub messages: Vec<LiveChatMessage>,
    /// Whether a request was made (and so costs a list call of quota).
    pub requested: bool,
    /// Set when the chat is over; the messages above are still new.
    pub ended: Option<ChatEnd>,
    /// The earliest instant of the next request, while the chat goes on.
    pub next_poll_at: Option<Instant>,
}

/// Polls one live chat. See the module docs for the invariants.
#[derive(Debug, Clone)]
pub struct LiveChatPoller {
    live_chat_id: String,
    config: PollerConfig,
    page_token: Option<String>,
    not_before: Option<Instant>,
    ended: Option<ChatEnd>,
}

impl LiveChatPoller {
    /// A poller that starts with the chat's history (no page token).
    pub fn new(live_chat_id: impl Into<String>, config: PollerConfig) -> Self {
        Self::resume(live_chat_id, config, None)
    }

    /// A poller that continues from a persisted `nextPageToken` (e.g. after the session moved to
    /// another replica), so nothing is read twice.
    pub fn resume(
        live_chat_id: impl Into<String>,
        config: PollerConfig,
        page_token: Option<String>,
    ) -> Self {
        Self {
            live_chat_id: live_chat_id.into(),
            config,
            page_token,
            not_before: None,
            ended: None,
        }
    }

    /// The chat being polled.
    pub fn live_chat_id(&self) -> &str {
        &self.live_chat_id
    }

    /// The token the next request will carry (persist it to resume elsewhere).
    pub fn page_token(&self) -> Option<&str> {
        self.page_token.as_deref()
    }

    /// Why the poller stopped, once it has.
    pub fn ended(&self) -> Option<&ChatEnd> {
        self.ended.as_ref()
    }

    /// The earliest instant of the next request (`None`: at once, or stopped).
    pub fn not_before(&self) -> Option<Instant> {
        self.not_before
    }

    /// What to do at `now`.
    pub fn next_step(&self, now: Instant) -> PollStep {
        if let Some(end) = &self.ended {
            return PollStep::Stopped(end.clone());
        }
        match self.not_before {
            Some(due) if now < due => PollStep::WaitUntil(due),
            _ => PollStep::Fetch(ListMessagesRequest {
                live_chat_id: self.live_chat_id.clone(),
                page_token: self.page_token.clone(),
                max_results: self.config.max_results,
            }),
        }
    }

    /// Takes in a page received at `now`: moves to its `nextPageToken`, schedules the next
    /// request `pollingIntervalMillis` later, and notes the end of the chat. Returns the batch.
    pub fn on_page(&mut self, page: LiveChatMessageListResponse, now: Instant) -> PollBatch {
        if let Some(token) = page.next_page_token.filter(|t| !t.is_empty()) {
            self.page_token = Some(token);
        }
        let interval = page
            .polling_interval_millis
            .map(Duration::from_millis)
            .unwrap_or(self.config.default_interval)
            .max(self.config.min_interval);
        self.not_before = Some(now + interval);
        if let Some(offline_at) = page.offline_at {
            self.ended = Some(ChatEnd::Offline { offline_at });
        } else if page
            .items
            .iter()
            .any(|m| m.snippet.kind == MessageType::ChatEnded)
        {
            self.ended = Some(ChatEnd::ChatEnded);
        }
        PollBatch {
            messages: page.items,
            requested: true,
            ended: self.ended.clone(),
            next_poll_at: self.ended.is_none().then_some(now + interval),
        }
    }

    /// Takes in a failed request at `now`. The token stays (the page was not read); the next
    /// request waits at least the last interval, or `retry_after` when longer. Errors that will
    /// not go away (`!is_retryable()`) stop the poller.
    pub fn on_error(&mut self, error: &YoutubeError, now: Instant) {
        if !error.is_retryable() {
            self.ended = Some(ChatEnd::Failed(error.clone()));
            return;
        }
        let interval = self
            .config
            .default_interval
            .max(self.config.min_interval)
            .max(error.retry_after().unwrap_or(Duration::ZERO));
        let due = now + interval;
        self.not_before = Some(self.not_before.map_or(due, |prev| prev.max(due)));
    }

    /// Waits until the next request is allowed, makes it, and returns the new messages. After
    /// the end it returns at once with `requested: false` and the reason in `ended`.
    pub async fn poll(
        &mut self,
        client: &Client,
        credentials: &Credentials,
    ) -> Result<PollBatch, YoutubeError> {
        loop {
            match self.next_step(Instant::now()) {
                PollStep::Stopped(end) => {
                    return Ok(PollBatch {
                        messages: Vec::new(),
                        requested: false,
                        ended: Some(end),
                        next_poll_at: None,
                    })
                }
                PollStep::WaitUntil(due) => tokio::time::sleep_until(due).await,
                PollStep::Fetch(request) => {
                    let result = client.list_messages(credentials, &request).await;
                    let now = Instant::now();
                    return match result {
                        Ok(page) => Ok(self.on_page(page, now)),
                        Err(error) => {
                            self.on_error(&error, now);
                            Err(error)
                        }
                    };
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::models::Snippet;

    fn page(
        token: Option<&str>,
        interval_ms: Option<u64>,
        ids: &[&str],
    ) -> LiveChatMessageListResponse {
        LiveChatMessageListResponse {
            next_page_token: token.map(str::to_owned),
            polling_interval_millis: interval_ms,
            items: ids
                .iter()
                .map(|id| LiveChatMessage {
                    id: (*id).to_owned(),
                    ..LiveChatMessage::default()
                })
                .collect(),
            ..LiveChatMessageListResponse::default()
        }
    }

    fn fetch_token(step: PollStep) -> Option<String> {
        match step {
            PollStep::Fetch(request) => request.page_token,
            other => panic!("expected a fetch, got {other:?}"),
        }
    }

    #[test]
    fn the_machine_moves_forward_through_tokens_and_waits_the_interval() {
        let t0 = Instant::now();
        let mut poller = LiveChatPoller::new("chat-1", PollerConfig::default());
        assert_eq!(
            fetch_token(poller.next_step(t0)),
            None,
            "first call reads history"
        );

        let batch = poller.on_page(page(Some("A"), Some(2_000), &["m1", "m2"]), t0);
        assert_eq!(batch.messages.len(), 2);
        assert_eq!(batch.next_poll_at, Some(t0 + Duration::from_millis(2_000)));
        assert_eq!(
            poller.next_step(t0 + Duration::from_millis(1_999)),
            PollStep::WaitUntil(t0 + Duration::from_millis(2_000))
        );
        let t1 = t0 + Duration::from_millis(2_000);
        assert_eq!(fetch_token(poller.next_step(t1)).as_deref(), Some("A"));

        // A page without a new token keeps the last one rather than falling back to history.
        poller.on_page(page(None, Some(3_000), &[]), t1);
        let t2 = t1 + Duration::from_millis(3_000);
        assert_eq!(fetch_token(poller.next_step(t2)).as_deref(), Some("A"));
        poller.on_page(page(Some("B"), None, &["m3"]), t2);
        assert_eq!(
            poller.next_step(t2 + Duration::from_millis(4_999)),
            PollStep::WaitUntil(t2 + Duration::from_secs(5)),
            "no interval given: the default"
        );
        assert_eq!(poller.page_token(), Some("B"));
    }

    #[test]
    fn a_zero_interval_is_raised_to_the_floor() {
        let t0 = Instant::now();
        let mut poller = LiveChatPoller::new("c", PollerConfig::default());
        poller.on_page(page(Some("A"), Some(0), &[]), t0);
        assert_eq!(
            poller.next_step(t0),
            PollStep::WaitUntil(t0 + Duration::from_secs(1))
        );
    }

    #[test]
    fn offline_and_chat_ended_stop_the_poller_after_delivering_the_page() {
        let t0 = Instant::now();
        let mut poller = LiveChatPoller::new("c", PollerConfig::default());
        let mut offline = page(Some("A"), Some(1_000), &["last"]);
        offline.offline_at = Some("2024-01-01T11:00:00Z".into());
        let batch = poller.on_page(offline, t0);
        assert_eq!(batch.messages.len(), 1);
        let end = ChatEnd::Offline {
            offline_at: "2024-01-01T11:00:00Z".into(),
        };
        assert_eq!(batch.ended, Some(end.clone()));
        assert_eq!(batch.next_poll_at, None);
        assert_eq!(
            poller.next_step(t0 + Duration::from_secs(60)),
            PollStep::Stopped(end)
        );

        let mut poller = LiveChatPoller::new("c", PollerConfig::default());
        let mut ended = page(Some("A"), Some(1_000), &["bye"]);
        ended.items[0].snippet = Snippet {
            kind: MessageType::ChatEnded,
            ..Snippet::default()
        };
        assert_eq!(poller.on_page(ended, t0).ended, Some(ChatEnd::ChatEnded));
    }

    #[test]
    fn errors_keep_the_token_and_back_off_or_stop() {
        let t0 = Instant::now();
        let mut poller = LiveChatPoller::new("c", PollerConfig::default());
        poller.on_page(page(Some("A"), Some(1_000), &[]), t0);
        let t1 = t0 + Duration::from_secs(1);
        poller.on_error(
            &YoutubeError::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
            },
            t1,
        );
        assert_eq!(
            poller.next_step(t1 + Duration::from_secs(29)),
            PollStep::WaitUntil(t1 + Duration::from_secs(30))
        );
        let t2 = t1 + Duration::from_secs(30);
        assert_eq!(fetch_token(poller.next_step(t2)).as_deref(), Some("A"));
        poller.on_error(&YoutubeError::Transient("503".into()), t2);
        assert_eq!(
            poller.next_step(t2),
            PollStep::WaitUntil(t2 + Duration::from_secs(5))
        );

        let quota = YoutubeError::QuotaExceeded {
            reason: "quotaExceeded".into(),
        };
        poller.on_error(&quota, t2);
        assert_eq!(
            poller.next_step(t2 + Duration::from_secs(3600)),
            PollStep::Stopped(ChatEnd::Failed(quota))
        );
    }

    #[test]
    fn a_resumed_poller_continues_from_the_persisted_token() {
        let poller = LiveChatPoller::resume("c", PollerConfig::default(), Some("persisted".into()));
        assert_eq!(
            fetch_token(poller.next_step(Instant::now())).as_deref(),
            Some("persisted")
        );
    }
}
