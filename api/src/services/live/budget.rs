//! The live agent's shared budgets, spent atomically (ARCHITECTURE.md §4): replies per session
//! and per viewer (with the viewer cooldown), Twitch whispers per bot account and day, YouTube
//! quota per Google project and Pacific day, TikTok DMs per viewer and day.
//!
//! The platform budgets are limited by the operator's ceilings ([`session_limits`]), and counted
//! per credential (`credentials::BudgetScope`): the operator's bot and project once for every
//! tenant, a tenant's own bot and project apart.
//!
//! A reply is first decided by `domain::live::decide_reply` on a snapshot, then *reserved* here:
//! every counter it touches is checked and charged in one atomic step — a Lua script in Redis
//! when `REDIS_URL` is set, else one database transaction (`store::live_budget`) — so two
//! replicas (or the reader and a manual reply) can never both spend the last unit. A failed send
//! is refunded; a sent reply moves the viewer's cooldown start to the send time.
//!
//! When the budget store cannot be reached the spend is refused (`BUDGET_UNAVAILABLE`): staying
//! silent is the safe failure, overspending a platform budget is not.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use leadline_domain::ids::TenantId;
use leadline_domain::live::{LiveLimits, SkipReason};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};
use crate::services::redis_conn::RedisConn;
use crate::store::live_budget::{CounterSpend, CounterValue, SpendOutcome};
use crate::store::Store;

/// Checks every counter (first refusal wins, in request order), then charges them all.
/// KEYS: counter hashes {u = used, l = last spend in Unix ms}. ARGV[1] = now (ms); then four
/// per key: cost, limit, cooldown ms (0: none), time to live ms. Mirrors
/// `store::live_budget::check_counter` exactly; the tests run both against the same bounds.
const SPEND_SCRIPT: &str = r"
local now = tonumber(ARGV[1])
for i = 1, #KEYS do
  local b = 1 + (i - 1) * 4
  local cost = tonumber(ARGV[b + 1])
  local limit = tonumber(ARGV[b + 2])
  local cooldown = tonumber(ARGV[b + 3])
  local used = tonumber(redis.call('HGET', KEYS[i], 'u') or '0')
  if used + cost > limit then return {'refused', tostring(i), '0'} end
  if cooldown > 0 then
    local last = redis.call('HGET', KEYS[i], 'l')
    if last then
      local elapsed = now - tonumber(last)
      if elapsed < cooldown then return {'refused', tostring(i), tostring(cooldown - elapsed)} end
    end
  end
end
local out = {'spent'}
for i = 1, #KEYS do
  local b = 1 + (i - 1) * 4
  local cost = tonumber(ARGV[b + 1])
  local cooldown = tonumber(ARGV[b + 3])
  local ttl = tonumber(ARGV[b + 4])
  local last = redis.call('HGET', KEYS[i], 'l') or ''
  local used = redis.call('HINCRBY', KEYS[i], 'u', cost)
  if cooldown > 0 then redis.call('HSET', KEYS[i], 'l', tostring(now)) end
  redis.call('PEXPIRE', KEYS[i], ttl)
  table.insert(out, tostring(used))
  table.insert(out, last)
end
return out
";

/// Gives a spend back. ARGV per key: cost, cooldown ms, previous last ('' = none).
const REFUND_SCRIPT: &str = r"
for i = 1, #KEYS do
  local b = (i - 1) * 3
  local cost = tonumber(ARGV[b + 1])
  local cooldown = tonumber(ARGV[b + 2])
  local previous = ARGV[b + 3]
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local used = redis.call('HINCRBY', KEYS[i], 'u', -cost)
    if used < 0 then redis.call('HSET', KEYS[i], 'u', 0) end
    if cooldown > 0 then
      if previous == '' then redis.call('HDEL', KEYS[i], 'l') else redis.call('HSET', KEYS[i], 'l', previous) end
    end
  end
end
return 1
";

/// Sets a counter's last spend (only if the counter still exists).
const TOUCH_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'l', ARGV[1]) end
return 1
";

/// Reads counters: per key, used and last ('' = none).
const READ_SCRIPT: &str = r"
local out = {}
for i = 1, #KEYS do
  table.insert(out, redis.call('HGET', KEYS[i], 'u') or '0')
  table.insert(out, redis.call('HGET', KEYS[i], 'l') or '')
end
return out
";

// One per process: the size difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Database(Store),
    Redis {
        redis: RedisConn,
        spend: redis::Script,
        refund: redis::Script,
        touch: redis::Script,
        read: redis::Script,
    },
}

/// The shared budgets (see the module docs). Cheap to share in an `Arc`.
pub struct LiveBudget {
    backend: Backend,
}

impl std::fmt::Debug for LiveBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.backend {
            Backend::Database(_) => "database",
            Backend::Redis { .. } => "redis",
        };
        f.debug_struct("LiveBudget")
            .field("backend", &backend)
            .finish()
    }
}

/// A spend that went through: refund it if the send fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    spends: Vec<CounterSpend>,
    previous_last_at_ms: Vec<Option<i64>>,
    /// Per counter, its value after the spend.
    pub used_after: Vec<i64>,
}

impl Reservation {
    /// The counters charged.
    pub fn spends(&self) -> &[CounterSpend] {
        &self.spends
    }
}

/// A refused spend: which counter and, for a cooldown, how long until it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// Index of the refusing counter in the request.
    pub index: usize,
    /// Milliseconds until a cooldown ends (0 for a limit).
    pub retry_in_ms: i64,
}

impl LiveBudget {
    /// Budgets kept in the database (no Redis configured).
    pub fn database(store: Store) -> Self {
        Self {
            backend: Backend::Database(store),
        }
    }

    /// Budgets kept in Redis at `url`, keys under `prefix`.
    pub fn redis(url: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self {
            backend: Backend::Redis {
                redis: RedisConn::new(url, prefix)?,
                spend: redis::Script::new(SPEND_SCRIPT),
                refund: redis::Script::new(REFUND_SCRIPT),
                touch: redis::Script::new(TOUCH_SCRIPT),
                read: redis::Script::new(READ_SCRIPT),
            },
        })
    }

    /// Charges all of `spends` or none (see the module docs).
    pub async fn reserve(
        &self,
        spends: Vec<CounterSpend>,
        now: DateTime<Utc>,
    ) -> ApiResult<Result<Reservation, Refusal>> {
        let outcome = match &self.backend {
            Backend::Database(store) => store.spend_live_budget(&spends, now).await?,
            Backend::Redis { redis, spend, .. } => {
                let keys: Vec<String> = spends.iter().map(|s| redis.key(&s.key)).collect();
                let mut args = vec![now.timestamp_millis().to_string()];
                for s in &spends {
                    let ttl = (s.expires_at - now).num_milliseconds().max(1_000);
                    args.extend([
                        s.cost.to_string(),
                        s.limit.to_string(),
                        s.cooldown_ms.to_string(),
                        ttl.to_string(),
                    ]);
                }
                let out: Vec<String> = redis.run(spend, &keys, &args).await.map_err(unavailable)?;
                parse_spend(&out)?
            }
        };
        Ok(match outcome {
            SpendOutcome::Spent {
                previous_last_at_ms,
                used_after,
            } => Ok(Reservation {
                spends,
                previous_last_at_ms,
                used_after,
            }),
            SpendOutcome::Refused { index, retry_in_ms } => Err(Refusal { index, retry_in_ms }),
        })
    }

    /// Gives a reservation back (its send failed).
    pub async fn refund(&self, reservation: &Reservation) -> ApiResult<()> {
        match &self.backend {
            Backend::Database(store) => {
                store
                    .refund_live_budget(&reservation.spends, &reservation.previous_last_at_ms)
                    .await
            }
            Backend::Redis { redis, refund, .. } => {
                let keys: Vec<String> = reservation
                    .spends
                    .iter()
                    .map(|s| redis.key(&s.key))
                    .collect();
                let mut args = Vec::new();
                for (s, previous) in reservation
                    .spends
                    .iter()
                    .zip(&reservation.previous_last_at_ms)
                {
                    args.extend([
                        s.cost.to_string(),
                        s.cooldown_ms.to_string(),
                        previous.map(|p| p.to_string()).unwrap_or_default(),
                    ]);
                }
                redis
                    .run::<i64>(refund, &keys, &args)
                    .await
                    .map_err(unavailable)?;
                Ok(())
            }
        }
    }

    /// Moves the cooldown counters of a reservation to `sent_at`.
    pub async fn sent(&self, reservation: &Reservation, sent_at: DateTime<Utc>) -> ApiResult<()> {
        for spend in reservation.spends.iter().filter(|s| s.cooldown_ms > 0) {
            match &self.backend {
                Backend::Database(store) => store.touch_live_budget(&spend.key, sent_at).await?,
                Backend::Redis { redis, touch, .. } => {
                    redis
                        .run::<i64>(
                            touch,
                            &[redis.key(&spend.key)],
                            &[sent_at.timestamp_millis().to_string()],
                        )
                        .await
                        .map_err(unavailable)?;
                }
            }
        }
        Ok(())
    }

    /// Deletes counters whose day or session is over (the database keeps them until swept; Redis
    /// expires its keys on its own). Returns how many were deleted.
    pub async fn sweep(&self, now: DateTime<Utc>) -> ApiResult<u64> {
        match &self.backend {
            Backend::Database(store) => store.sweep_live_budget(now).await,
            Backend::Redis { .. } => Ok(0),
        }
    }

    /// The current values of `keys` (absent: zero).
    pub async fn values(
        &self,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> ApiResult<HashMap<String, CounterValue>> {
        match &self.backend {
            Backend::Database(store) => store.live_budget_values(keys, now).await,
            Backend::Redis { redis, read, .. } => {
                if keys.is_empty() {
                    return Ok(HashMap::new());
                }
                let full: Vec<String> = keys.iter().map(|k| redis.key(k)).collect();
                let out: Vec<String> = redis.run(read, &full, &[]).await.map_err(unavailable)?;
                let mut values = HashMap::new();
                for (key, pair) in keys.iter().zip(out.chunks(2)) {
                    let used = pair.first().and_then(|u| u.parse().ok()).unwrap_or(0);
                    let last_at_ms = pair.get(1).and_then(|l| l.parse().ok());
                    values.insert(key.clone(), CounterValue { used, last_at_ms });
                }
                Ok(values)
            }
        }
    }
}

fn unavailable(error: anyhow::Error) -> ApiError {
    tracing::warn!(%error, "live budget store unavailable");
    ApiError::Unavailable("the live budget store cannot be reached".into())
}

fn parse_spend(out: &[String]) -> ApiResult<SpendOutcome> {
    let bad = || {
        ApiError::Internal(anyhow::anyhow!(
            "unexpected answer from the live budget script"
        ))
    };
    match out.first().map(String::as_str) {
        Some("refused") => {
            let index: usize = out.get(1).and_then(|i| i.parse().ok()).ok_or_else(bad)?;
            let retry_in_ms = out.get(2).and_then(|r| r.parse().ok()).ok_or_else(bad)?;
            Ok(SpendOutcome::Refused {
                index: index.checked_sub(1).ok_or_else(bad)?,
                retry_in_ms,
            })
        }
        Some("spent") => {
            let mut used_after = Vec::new();
            let mut previous_last_at_ms = Vec::new();
            for pair in out[1..].chunks(2) {
                used_after.push(pair.first().and_then(|u| u.parse().ok()).ok_or_else(bad)?);
                previous_last_at_ms.push(pair.get(1).and_then(|l| l.parse().ok()));
            }
            Ok(SpendOutcome::Spent {
                previous_last_at_ms,
                used_after,
            })
        }
        _ => Err(bad()),
    }
}

const SESSION_KEY: &str = "live:session:";
const WHISPERS_KEY: &str = "twitch:whispers:";
const QUOTA_KEY: &str = "youtube:quota:";

/// The limit warnings a reservation crossed (quota at 80 %, whispers exhausted, session replies
/// exhausted), from the counters' values right after the spend — exact even when other replicas
/// spend at the same time, so each warning fires once.
pub fn spend_warnings(
    reservation: &Reservation,
    limits: &LiveLimits,
) -> Vec<leadline_domain::live::LimitWarning> {
    use leadline_domain::live::{limit_warnings, ReplyCounters};
    let mut before = ReplyCounters::default();
    let mut after = ReplyCounters::default();
    let to_u32 = |v: i64| u32::try_from(v.max(0)).unwrap_or(u32::MAX);
    for (spend, used) in reservation.spends.iter().zip(&reservation.used_after) {
        let (b, a) = (to_u32(used - spend.cost), to_u32(*used));
        if spend.key.starts_with(SESSION_KEY) {
            (before.session_replies, after.session_replies) = (b, a);
        } else if spend.key.starts_with(WHISPERS_KEY) {
            (before.whispers_used_today, after.whispers_used_today) = (b, a);
        } else if spend.key.starts_with(QUOTA_KEY) {
            (
                before.youtube_units_used_today,
                after.youtube_units_used_today,
            ) = (b, a);
        }
    }
    limit_warnings(&before, &after, limits)
}

/// How long session and viewer counters live after their last spend (sessions last hours).
const SESSION_COUNTER_TTL_HOURS: i64 = 48;

fn end_of_day_plus(day: NaiveDate, now: DateTime<Utc>) -> DateTime<Utc> {
    // Two days after the day began (any time zone): surely over, cheap to compute.
    day.and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc() + Duration::days(2))
        .unwrap_or(now + Duration::days(2))
}

/// The session's reply counter.
pub fn session_spend(session_id: Uuid, limits: &LiveLimits, now: DateTime<Utc>) -> CounterSpend {
    CounterSpend {
        key: format!("{SESSION_KEY}{session_id}"),
        cost: 1,
        limit: i64::from(limits.max_replies_per_session),
        cooldown_ms: 0,
        expires_at: now + Duration::hours(SESSION_COUNTER_TTL_HOURS),
    }
}

/// One viewer's reply counter in a session, with the cooldown.
pub fn viewer_spend(
    session_id: Uuid,
    author_id: &str,
    limits: &LiveLimits,
    now: DateTime<Utc>,
) -> CounterSpend {
    CounterSpend {
        key: format!("live:viewer:{session_id}:{author_id}"),
        cost: 1,
        limit: i64::from(limits.max_replies_per_viewer),
        cooldown_ms: limits.viewer_cooldown.num_milliseconds().max(0),
        expires_at: now + Duration::hours(SESSION_COUNTER_TTL_HOURS),
    }
}

/// The whisper counter of a Twitch bot for today (UTC day). `owner` is the bot's
/// [`BudgetScope`](super::credentials::BudgetScope)-qualified name
/// (`TwitchAccess::whisper_owner`): the operator's bot is one counter shared by every tenant, a
/// tenant's own bot one of its own. `limits` are the session's limits under the operator's
/// ceilings ([`session_limits`]).
pub fn whisper_spend(owner: &str, limits: &LiveLimits, now: DateTime<Utc>) -> CounterSpend {
    let day = leadline_domain::live::whisper_day(now);
    CounterSpend {
        key: whisper_key(owner, now),
        cost: 1,
        limit: i64::from(limits.whispers_per_day),
        cooldown_ms: 0,
        expires_at: end_of_day_plus(day, now),
    }
}

/// The YouTube quota counter of a Google project for today (Pacific day); `owner` is the
/// project's scope-qualified name (`YoutubeAccess::quota_owner`). `cost` is one of `limits`'
/// costs, which [`session_limits`] always sets to the operator's.
pub fn youtube_spend(
    owner: &str,
    cost: u32,
    limits: &LiveLimits,
    now: DateTime<Utc>,
) -> CounterSpend {
    let day = leadline_domain::live::youtube_quota_day(now);
    CounterSpend {
        key: youtube_quota_key(owner, now),
        cost: i64::from(cost),
        limit: i64::from(limits.youtube_daily_quota),
        cooldown_ms: 0,
        expires_at: end_of_day_plus(day, now),
    }
}

/// The key of a project's YouTube quota counter for the Pacific day of `now`.
pub fn youtube_quota_key(owner: &str, now: DateTime<Utc>) -> String {
    let day = leadline_domain::live::youtube_quota_day(now);
    format!("{QUOTA_KEY}{owner}:{day}")
}

/// The key of a bot's whisper counter for the UTC day of `now`.
pub fn whisper_key(owner: &str, now: DateTime<Utc>) -> String {
    let day = leadline_domain::live::whisper_day(now);
    format!("{WHISPERS_KEY}{owner}:{day}")
}

/// The limits a session's budgets are spent against: what it stored, with the shared budgets
/// lowered to the operator's ceilings and the operator's unit costs (`LiveCeilings::apply`).
/// Every spend and every limit shown goes through here, so a session stored with a higher
/// value (before the ceilings, or before the operator lowered them) cannot exceed them.
pub fn session_limits(
    ceilings: &leadline_domain::live::LiveCeilings,
    session: &leadline_entity::live_sessions::Model,
) -> LiveLimits {
    ceilings.apply(&crate::store::live::limits_from_json(&session.limits))
}

/// TikTok's per-viewer DM cap for today (`per_day`: the operator's ceiling, default 10 as in
/// `leadline_tiktok::dm_rules`). DMs go out through the tenant's own TikTok connection, so the
/// counter is the tenant's.
pub fn tiktok_dm_spend(
    tenant_id: TenantId,
    open_id: &str,
    per_day: u32,
    now: DateTime<Utc>,
) -> CounterSpend {
    let day = now.date_naive();
    CounterSpend {
        key: format!("tiktok:dm:{tenant_id}:{open_id}:{day}"),
        cost: 1,
        limit: i64::from(per_day),
        cooldown_ms: 0,
        expires_at: end_of_day_plus(day, now),
    }
}

/// The skip reason for a refused automatic reply whose spends were
/// `[session, viewer, route budget…]` (the order `decide_reply` checks them in).
pub fn reply_refusal_reason(refusal: Refusal, route_budget: SkipReason) -> SkipReason {
    match refusal.index {
        0 => SkipReason::SessionLimit,
        1 if refusal.retry_in_ms > 0 => SkipReason::ViewerCooldown {
            retry_in_secs: ((refusal.retry_in_ms + 999) / 1000).max(1),
        },
        1 => SkipReason::ViewerLimit,
        _ => route_budget,
    }
}
