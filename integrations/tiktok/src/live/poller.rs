//! [`LiveCommentPoller`]: reads one room's comments page after page, with the same shape as
//! `leadline_youtube::LiveChatPoller` so the api can drive both the same way.
//!
//! Two halves:
//! - a pure state machine (`next_step`, `on_page`, `on_error`) that takes `now` as an argument
//!   and says what to do: fetch with this cursor, wait until this instant, or stop;
//! - an async driver (`poll`) that sleeps with `tokio::time::sleep_until` and calls the client.
//!   Time is tokio's clock, so tests run it under `tokio::time::pause` and never really sleep.
//!
//! Invariants:
//! - the cursor only moves forward: a page that was answered is never asked for again, and an
//!   answer without a cursor keeps the last one (rather than restarting from the oldest);
//! - no request before `poll_interval_ms` after the previous answer, with a floor
//!   (`PollerConfig::min_interval`, 1 s) so a wrapper answering 0 cannot cause a busy loop —
//!   also while `has_more` is set: the wrapper's pacing wins over catching up fast;
//! - `is_live: false` ends the poller once the page has no more comments behind it
//!   (`has_more: false`), so comments made just before the end are still read;
//! - after the end or a final error no more requests are made. It does not retry on its own:
//!   `poll` returns the error and the caller decides.

use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;
use crate::live::client::{CommentsPage, LiveClient, LiveCredentials};
use crate::live::LiveComment;

/// Tuning for a poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollerConfig {
    /// The wait used when a page carries no `poll_interval_ms`, and after a retryable error.
    pub default_interval: Duration,
    /// A floor under the wrapper's interval.
    pub min_interval: Duration,
}

impl Default for PollerConfig {
    fn default() -> Self {
        Self {
            default_interval: Duration::from_secs(2),
            min_interval: Duration::from_secs(1),
        }
    }
}

/// Why a poller stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEnd {
    /// The wrapper said `is_live: false` and had no more comments.
    Ended,
    /// A final error: unknown room, credentials refused, a request the wrapper will refuse again.
    Failed(Error),
}

/// The request the state machine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommentsRequest {
    /// The room.
    pub room_id: String,
    /// The cursor (`None` on the first call of a new poller).
    pub cursor: Option<String>,
}

/// What the state machine wants next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollStep {
    /// Send this request now.
    Fetch(CommentsRequest),
    /// Not before this instant.
    WaitUntil(Instant),
    /// Finished; make no more requests.
    Stopped(LiveEnd),
}

/// The result of one `poll`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollBatch {
    /// New comments, oldest first.
    pub comments: Vec<LiveComment>,
    /// Comments of this page dropped as malformed.
    pub skipped: usize,
    /// Whether a request was made.
    pub requested: bool,
    /// Set when the LIVE is over; the comments above are still new.
    pub ended: Option<LiveEnd>,
    /// The earliest instant of the next request, while the LIVE goes on.
    pub next_poll_at: Option<Instant>,
}

/// Polls one room. See the module docs for the invariants.
#[derive(Debug, Clone)]
pub struct LiveCommentPoller {
    room_id: String,
    config: PollerConfig,
    cursor: Option<String>,
    not_before: Option<Instant>,
    ended: Option<LiveEnd>,
}

impl LiveCommentPoller {
    /// A poller that starts from the room's oldest retained comment (no cursor).
    pub fn new(room_id: impl Into<String>, config: PollerConfig) -> Self {
        Self::resume(room_id, config, None)
    }

    /// A poller that continues from a persisted cursor (e.g. after the session moved to another
    /// replica), so nothing is read twice.
    pub fn resume(
        room_id: impl Into<String>,
        config: PollerConfig,
        cursor: Option<String>,
    ) -> Self {
        Self {
            room_id: room_id.into(),
            config,
            cursor: cursor.filter(|c| !c.is_empty()),
            not_before: None,
            ended: None,
        }
    }

    /// The room being polled.
    pub fn room_id(&self) -> &str {
        &self.room_id
    }

    /// The cursor the next request will carry (persist it to resume elsewhere).
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    /// Why the poller stopped, once it has.
    pub fn ended(&self) -> Option<&LiveEnd> {
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
            _ => PollStep::Fetch(CommentsRequest {
                room_id: self.room_id.clone(),
                cursor: self.cursor.clone(),
            }),
        }
    }

    /// Takes in a page received at `now`: moves to its cursor, schedules the next request
    /// `poll_interval_ms` later (floored), and notes the end. Returns the batch.
    pub fn on_page(&mut self, page: CommentsPage, now: Instant) -> PollBatch {
        if let Some(cursor) = page.cursor.filter(|c| !c.is_empty()) {
            self.cursor = Some(cursor);
        }
        let interval = page
            .poll_interval
            .unwrap_or(self.config.default_interval)
            .max(self.config.min_interval);
        self.not_before = Some(now + interval);
        if !page.is_live && !page.has_more {
            self.ended = Some(LiveEnd::Ended);
        }
        PollBatch {
            comments: page.comments,
            skipped: page.skipped,
            requested: true,
            ended: self.ended.clone(),
            next_poll_at: self.ended.is_none().then_some(now + interval),
        }
    }

    /// Takes in a failed request at `now`. The cursor stays (the page was not read); the next
    /// request waits at least the default interval, or `retry_after` when longer. Errors that
    /// will not go away (`!is_retryable()`) stop the poller.
    pub fn on_error(&mut self, error: &Error, now: Instant) {
        if !error.is_retryable() {
            self.ended = Some(LiveEnd::Failed(error.clone()));
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

    /// Waits until the next request is allowed, makes it, and returns the new comments. After
    /// the end it returns at once with `requested: false` and the reason in `ended`.
    pub async fn poll(
        &mut self,
        client: &LiveClient,
        credentials: &LiveCredentials,
    ) -> Result<PollBatch, Error> {
        loop {
            match self.next_step(Instant::now()) {
                PollStep::Stopped(end) => {
                    return Ok(PollBatch {
                        comments: Vec::new(),
                        skipped: 0,
                        requested: false,
                        ended: Some(end),
                        next_poll_at: None,
                    })
                }
                PollStep::WaitUntil(due) => tokio::time::sleep_until(due).await,
                PollStep::Fetch(request) => {
                    let result = client
                        .live_comments(credentials, &request.room_id, request.cursor.as_deref())
                        .await;
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

    fn page(
        cursor: Option<&str>,
        interval_ms: Option<u64>,
        is_live: bool,
        has_more: bool,
    ) -> CommentsPage {
        CommentsPage {
            comments: Vec::new(),
            skipped: 0,
            cursor: cursor.map(str::to_owned),
            has_more,
            poll_interval: interval_ms.map(Duration::from_millis),
            is_live,
            request_id: None,
        }
    }

    fn fetch_cursor(step: PollStep) -> Option<String> {
        match step {
            PollStep::Fetch(request) => request.cursor,
            other => panic!("expected a fetch, got {other:?}"),
        }
    }

    #[test]
    fn the_cursor_moves_forward_and_the_interval_is_waited() {
        let t0 = Instant::now();
        let mut poller = LiveCommentPoller::new("room-1", PollerConfig::default());
        assert_eq!(fetch_cursor(poller.next_step(t0)), None);
        let batch = poller.on_page(page(Some("A"), Some(3_000), true, false), t0);
        assert_eq!(batch.next_poll_at, Some(t0 + Duration::from_millis(3_000)));
        assert_eq!(
            poller.next_step(t0 + Duration::from_millis(2_999)),
            PollStep::WaitUntil(t0 + Duration::from_millis(3_000))
        );
        let t1 = t0 + Duration::from_millis(3_000);
        assert_eq!(fetch_cursor(poller.next_step(t1)).as_deref(), Some("A"));
        // No cursor in the answer: keep the last one, never restart from the oldest.
        poller.on_page(page(None, None, true, false), t1);
        assert_eq!(poller.cursor(), Some("A"));
        assert_eq!(
            poller.next_step(t1),
            PollStep::WaitUntil(t1 + Duration::from_secs(2)),
            "no interval given: the default"
        );
    }

    #[test]
    fn a_zero_interval_is_raised_to_the_floor_even_with_more_waiting() {
        let t0 = Instant::now();
        let mut poller = LiveCommentPoller::new("r", PollerConfig::default());
        poller.on_page(page(Some("A"), Some(0), true, true), t0);
        assert_eq!(
            poller.next_step(t0),
            PollStep::WaitUntil(t0 + Duration::from_secs(1))
        );
    }

    #[test]
    fn not_live_ends_the_poller_once_nothing_more_is_waiting() {
        let t0 = Instant::now();
        let mut poller = LiveCommentPoller::new("r", PollerConfig::default());
        let batch = poller.on_page(page(Some("A"), Some(1_000), false, true), t0);
        assert_eq!(batch.ended, None, "drain what was said before the end");
        let t1 = t0 + Duration::from_secs(1);
        let batch = poller.on_page(page(Some("B"), Some(1_000), false, false), t1);
        assert_eq!(batch.ended, Some(LiveEnd::Ended));
        assert_eq!(batch.next_poll_at, None);
        assert_eq!(
            poller.next_step(t1 + Duration::from_secs(60)),
            PollStep::Stopped(LiveEnd::Ended)
        );
    }

    #[test]
    fn errors_keep_the_cursor_and_back_off_or_stop() {
        let t0 = Instant::now();
        let mut poller = LiveCommentPoller::resume("r", PollerConfig::default(), Some("P".into()));
        poller.on_error(
            &Error::RateLimited {
                retry_after: Some(Duration::from_secs(30)),
            },
            t0,
        );
        assert_eq!(
            poller.next_step(t0 + Duration::from_secs(29)),
            PollStep::WaitUntil(t0 + Duration::from_secs(30))
        );
        let t1 = t0 + Duration::from_secs(30);
        assert_eq!(fetch_cursor(poller.next_step(t1)).as_deref(), Some("P"));
        poller.on_error(&Error::Transient("500".into()), t1);
        assert_eq!(
            poller.next_step(t1),
            PollStep::WaitUntil(t1 + Duration::from_secs(2))
        );
        let gone = Error::NotFound("room".into());
        poller.on_error(&gone, t1);
        assert_eq!(
            poller.next_step(t1 + Duration::from_secs(3600)),
            PollStep::Stopped(LiveEnd::Failed(gone))
        );
    }
}
